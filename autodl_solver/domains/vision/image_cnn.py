"""The solver's image network: a pretrained 2-D backbone fine-tuned any-time (``image_cnn``).

A :class:`~autodl_solver.domains.core.vision_trainer.VisionNetLearner` whose
network is a backbone from :mod:`~autodl_solver.domains.vision.vision_backbones` and
a linear head on the pooled features. Input size, schedule, checkpointing,
loss and flips are the base's.

Backbone ``"auto"`` (the default), measured with ``benchmarks/image_backbone.py``
(``benchmarks/results/image_backbone.md``, each backbone alone for 120 s on one core):

* one-channel images (digits, scans): ResNet-18 — from scratch unless its
  ImageNet weights resolve — which trains 1.2x more images per second than
  EfficientNet-Lite0 at 32 px and reached test NAUC 0.9962 vs 0.9909 on
  MNIST-5000 (hold-out 0.9967 vs 0.9964);
* colour images: EfficientNet-Lite0 with the ImageNet weights that ship
  offline. On miniciao (82 training images, 18 test) the evidence is thin and
  split: hold-out NAUC 0.64 vs 0.22 for it, test NAUC 0.40 vs 0.46 against
  it; the choice rests on the hold-out and on AutoCLINT's experience that
  ImageNet transfer drives natural-image scores (``docs/winners.md`` §2.1).

Input size: ``max_side`` 64 on CPU from ``benchmarks/results/vision_throughput_cpu.md``
(one core: about 80 training images/s at 64 px against 20 at 128 px, so a
5-minute budget affords several passes over a few thousand images at 64 px
and barely one at 128); 128 on CUDA as AutoCLINT used on its GPUs (not
measured here: no GPU was available).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.vision_trainer import VisionNetConfig, VisionNetLearner
from ..registration import register
from .vision_backbones import build_image_backbone


@dataclass
class ImageCNNConfig(VisionNetConfig):
    """:class:`VisionNetConfig` with the image defaults (``configs/image.yaml`` overrides them)."""

    backbone: str = "auto"


def image_head(trunk: Any, dim: int, output_dim: int) -> Any:
    """``(n, F, C, H, W)`` -> logits: the first frame through ``trunk``, then a linear layer."""
    import torch.nn as nn

    class ImageNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trunk = trunk
            self.head = nn.Linear(dim, output_dim)
            nn.init.xavier_uniform_(self.head.weight)
            nn.init.zeros_(self.head.bias)

        def forward(self, x):
            return self.head(self.trunk(x[:, 0]))

    return ImageNet()


@register("image_cnn", domains=("image",), default_config=ImageCNNConfig)
class ImageCNNLearner(VisionNetLearner):
    """Fine-tuned 2-D backbone on single images (see the module docstring)."""

    video = False

    def build_network(self, channels: int) -> tuple[Any, str]:
        cfg = self.config
        trunk, dim, source = build_image_backbone(self.backbone_for(channels), channels, cfg.pretrained,
                                                  cfg.weights_path)
        return image_head(trunk, dim, self.output_dim), source

    def backbone_for(self, channels: int) -> str:
        """The backbone name: the config's, or the ``"auto"`` choice of the module docstring."""
        if self.config.backbone != "auto":
            return self.config.backbone
        return "efficientnet_lite0" if channels == 3 else "resnet18"
