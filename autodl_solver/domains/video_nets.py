"""The solver's video networks: frame-wise 2-D backbone + temporal convolution, and 3-D ResNets.

* ``video_frames`` (AutoCLINT's video model, ``notes/winners.md`` §2.1): the
  image backbone runs on each of the sampled frames, the per-frame features
  go through a residual 1-D temporal convolution (kernel ``temporal_kernel``)
  and are averaged over time, then a linear head. Motion is seen through the
  temporal convolution of frame features.
* ``video_3d``: torchvision's ``r3d_18`` / ``mc3_18`` / ``r2plus1d_18``
  (DeepWisdom used MC3-18) on the whole ``(channels, frames, H, W)`` clip,
  Kinetics-400 weights when they resolve offline (they do not on this
  machine: then from scratch, which is slow on a CPU).

Both are :class:`~autodl_solver.domains.vision_trainer.VisionNetLearner`
subclasses: frames, input size, schedule and checkpointing are the base's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .registry import register
from .vision_backbones import build_image_backbone, build_video_backbone
from .vision_trainer import VisionNetConfig, VisionNetLearner


@dataclass
class VideoFramesConfig(VisionNetConfig):
    """Frame-wise 2-D backbone settings (``configs/video.yaml``); smaller frames and batches than images."""

    backbone: str = "resnet18"
    max_side: int = 32
    max_side_cuda: int = 112
    max_frames: int = 4
    batch_size: int = 16
    temporal_kernel: int = 3
    prior_step_s: float = 1.0


@dataclass
class Video3DConfig(VisionNetConfig):
    """3-D ResNet settings (``configs/video.yaml``)."""

    backbone: str = "mc3_18"
    max_side: int = 32
    max_side_cuda: int = 112
    max_frames: int = 4
    batch_size: int = 16
    prior_step_s: float = 2.0


def _linear_head(dim: int, output_dim: int) -> Any:
    import torch.nn as nn

    head = nn.Linear(dim, output_dim)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    return head


@register("video_frames", domains=("video",), default_config=VideoFramesConfig, config_file="video.yaml")
class VideoFramesLearner(VisionNetLearner):
    """2-D backbone per frame + residual temporal convolution + mean over time."""

    video = True

    def build_network(self, channels: int) -> tuple[Any, str]:
        import torch.nn as nn

        cfg = self.config
        trunk, dim, source = build_image_backbone(cfg.backbone, channels, cfg.pretrained, cfg.weights_path)
        k = int(cfg.temporal_kernel)
        output_dim = self.output_dim

        class FramesNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.trunk = trunk
                self.temporal = nn.Conv1d(dim, dim, kernel_size=k, padding=k // 2)
                nn.init.zeros_(self.temporal.weight)  # starts as the identity (residual): a frame-average model
                nn.init.zeros_(self.temporal.bias)
                self.head = _linear_head(dim, output_dim)

            def forward(self, x):
                n, f = x.shape[:2]
                feats = self.trunk(x.reshape(n * f, *x.shape[2:])).reshape(n, f, -1).transpose(1, 2)  # (n, D, F)
                feats = feats + self.temporal(feats)
                return self.head(feats.mean(dim=2))

        return FramesNet(), source


@register("video_3d", domains=("video",), default_config=Video3DConfig, config_file="video.yaml")
class Video3DLearner(VisionNetLearner):
    """A torchvision 3-D ResNet on the whole clip."""

    video = True

    def build_network(self, channels: int) -> tuple[Any, str]:
        import torch.nn as nn

        cfg = self.config
        trunk, dim, source = build_video_backbone(cfg.backbone, channels, cfg.pretrained, cfg.weights_path)
        head = _linear_head(dim, self.output_dim)

        class ClipNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.trunk = trunk
                self.head = head

            def forward(self, x):  # (n, F, C, H, W) -> (n, C, F, H, W)
                return self.head(self.trunk(x.transpose(1, 2)))

        return ClipNet(), source
