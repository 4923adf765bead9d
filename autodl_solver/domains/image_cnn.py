"""The solver's image network: a pretrained 2-D backbone fine-tuned any-time (``image_cnn``).

A :class:`~autodl_solver.domains.vision_trainer.VisionNetLearner` whose
network is a backbone from :mod:`~autodl_solver.domains.vision_backbones` and
a linear head on the pooled features. Input size, schedule, checkpointing,
loss and flips are the base's.

Backbone ``"auto"`` (the default) picks by measurement
(``benchmarks/image_backbone.py``, ``benchmarks/results/image_backbone.md``):

* colour images: EfficientNet-Lite0 with the ImageNet weights that ship
  offline (pretrained features matter most on natural photos);
* one-channel images (digits, scans): ResNet-18 — from scratch unless its
  ImageNet weights resolve — which trains about 1.5x more images per second
  at 32 px on this CPU and reached a higher NAUC on MNIST-5000 in the same time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .registry import register
from .vision_backbones import build_image_backbone
from .vision_trainer import VisionNetConfig, VisionNetLearner


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
