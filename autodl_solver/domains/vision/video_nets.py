"""The solver's video networks: a small 3-D CNN, frame-wise 2-D backbone + temporal convolution, 3-D ResNets.

* ``video_c3d``: a small 3-D CNN from scratch (three conv-BN-ReLU-maxpool
  blocks of 16/32/64 filters, each pool halving time and space, averaged
  over time onto a 2x2 grid, a linear head; Adam) on up to 8 frames. The
  grid measured better than global pooling on moving digits (hold-out NAUC
  0.92 vs 0.87 after the first 30 steps): the head sees where things are.
  The seed's Baseline 2 (3-D convolutions, no normalisation) scored
  ALC 0.92 on the moving-digit videos where the frame-wise networks needed
  minutes on this CPU: spatio-temporal filters see motion directly and a
  small one trains in seconds. This is that idea with batch norm, more
  filters and the trainer's checkpointing.
* ``video_frames`` (AutoCLINT's video model, ``docs/winners.md`` §2.1): the
  image backbone runs on each of the sampled frames, the per-frame features
  go through a residual 1-D temporal convolution (kernel ``temporal_kernel``)
  and are averaged over time, then a linear head. Motion is seen through the
  temporal convolution of frame features.
* ``video_3d``: torchvision's ``r3d_18`` / ``mc3_18`` / ``r2plus1d_18``
  (DeepWisdom used MC3-18) on the whole ``(channels, frames, H, W)`` clip,
  Kinetics-400 weights when they resolve offline (they do not on this
  machine: then from scratch, which is slow on a CPU).

All are :class:`~autodl_solver.domains.core.vision_trainer.VisionNetLearner`
subclasses: frames, input size, schedule and checkpointing are the base's.
Flips are off for video by default: mirroring a clip swaps left and right
motion, which may be what the classes are about.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.vision_trainer import VisionNetConfig, VisionNetLearner
from ..registration import register
from .vision_backbones import build_image_backbone, build_video_backbone


@dataclass
class VideoC3DConfig(VisionNetConfig):
    """Small 3-D CNN settings (``configs/video.yaml``).

    ``widths`` are the filters of the blocks; ``pooled`` the (rows, cols)
    grid the last block is averaged onto.
    """

    backbone: str = "c3d_small"
    widths: tuple[int, ...] = (16, 32, 64)
    pooled: tuple[int, int] = (2, 2)
    max_side: int = 48
    max_side_cuda: int = 112
    min_side: int = 16
    max_frames: int = 8
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup_steps: int = 10
    flip: str = "off"
    prior_step_s: float = 0.1


@dataclass
class VideoFramesConfig(VisionNetConfig):
    """Frame-wise 2-D backbone settings (``configs/video.yaml``); smaller frames and batches than images."""

    backbone: str = "resnet18"
    max_side: int = 32
    max_side_cuda: int = 112
    max_frames: int = 4
    batch_size: int = 16
    flip: str = "off"
    temporal_kernel: int = 3
    prior_step_s: float = 1.0


@dataclass
class Video3DConfig(VideoFramesConfig):
    """3-D ResNet settings (``configs/video.yaml``): the frame-wise input settings, a 3-D backbone.

    ``temporal_kernel`` is unused here (the 3-D convolutions see time).
    """

    backbone: str = "mc3_18"
    prior_step_s: float = 2.0


def _linear_head(dim: int, output_dim: int) -> Any:
    import torch.nn as nn

    head = nn.Linear(dim, output_dim)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    return head


def small_c3d(channels: int, widths: tuple[int, ...], output_dim: int, pooled: tuple[int, int] = (1, 1)) -> Any:
    """``(n, F, C, H, W)`` -> logits: conv3d-BN-ReLU-maxpool blocks, global average pooling, linear head.

    Every pool halves time and space (``ceil_mode``: a size-1 axis stays 1).
    """
    import torch.nn as nn

    layers: list[Any] = []
    width_in = channels
    for i, width in enumerate(widths):
        layers += [nn.Conv3d(width_in, width, kernel_size=3, padding=1, bias=False), nn.BatchNorm3d(width),
                   nn.ReLU(inplace=True), nn.MaxPool3d(2, ceil_mode=True)]
        width_in = width
    # average over time; keep a coarse (rows x cols) grid so the head sees where things are
    layers += [nn.AdaptiveAvgPool3d((1, *pooled)), nn.Flatten()]
    trunk = nn.Sequential(*layers)
    head = _linear_head(width_in * pooled[0] * pooled[1], output_dim)

    class C3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trunk = trunk
            self.head = head

        def forward(self, x):  # (n, F, C, H, W) -> (n, C, F, H, W)
            return self.head(self.trunk(x.transpose(1, 2)))

    return C3D()


@register("video_c3d", domains=("video",), default_config=VideoC3DConfig, config_file="video.yaml")
class VideoC3DLearner(VisionNetLearner):
    """A small 3-D CNN trained from scratch (see the module docstring)."""

    video = True

    def build_network(self, channels: int) -> tuple[Any, str]:
        cfg = self.config
        return small_c3d(channels, tuple(cfg.widths), self.output_dim, tuple(cfg.pooled)), "scratch (small network)"


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
