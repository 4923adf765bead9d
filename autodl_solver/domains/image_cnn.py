"""The solver's image network: a pretrained 2-D backbone fine-tuned any-time (``image_cnn``).

A :class:`~autodl_solver.domains.vision_trainer.VisionNetLearner` whose
network is a backbone from :mod:`~autodl_solver.domains.vision_backbones`
(EfficientNet-Lite0 with its packaged ImageNet weights by default; ResNet-18,
with ImageNet weights when they resolve, by config) and a linear head on the
pooled features. Input size, schedule, checkpointing, loss and flips are the
base's.

Why EfficientNet-Lite0 by default: it is the one backbone with ImageNet
weights offline here, and ``benchmarks/results/image_backbone.md`` measured it
against a from-scratch ResNet-18 on this CPU (see that file for the numbers).
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

    backbone: str = "efficientnet_lite0"


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
        trunk, dim, source = build_image_backbone(cfg.backbone, channels, cfg.pretrained, cfg.weights_path)
        return image_head(trunk, dim, self.output_dim), source
