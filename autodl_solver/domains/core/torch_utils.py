"""Small torch helpers shared by the torch learners: device, seeding, state copies.

Torch is imported lazily so that importing :mod:`autodl_solver.domains`
(and the GBDT learner) does not pay torch's import time.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator, Optional

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch


def import_torch() -> None:
    """Import torch and what its optimisers import lazily, so a learner pays it in ``__init__``.

    Building the first ``torch.optim`` optimiser imports ``torch._dynamo``
    (about 1.7 s here); the AutoDL protocol does not time ``__init__``, so
    learners call this from their constructor, keeping the first ``fit`` fast.
    """
    import torch
    import torch._dynamo  # noqa: F401


def device(prefer: Optional[str] = None) -> "torch.device":
    """The torch device learners train on: CUDA when present, CPU otherwise.

    Parameters
    ----------
    prefer : str, optional
        ``"cpu"`` or ``"cuda"`` (or ``"cuda:1"`` …) to force a device; ``None``
        or ``"auto"`` picks CUDA when available.
    """
    import torch

    if prefer not in (None, "", "auto"):
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def seeded(seed: int, dev: Optional["torch.device"] = None) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the caller's RNG afterwards.

    Weight initialisation and dropout draw from torch's global generator; forking
    it keeps a learner deterministic for its seed without disturbing anyone
    else's random stream.
    """
    import torch

    devices = []
    if dev is not None and dev.type == "cuda":
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed) & 0xFFFF_FFFF)
        yield


def cpu_state(module: "torch.nn.Module") -> dict[str, "torch.Tensor"]:
    """A detached CPU copy of ``module.state_dict()`` (safe for ``torch.load(weights_only=True)``)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def to_tensor(array: np.ndarray, dev: "torch.device") -> "torch.Tensor":
    """A float32 tensor on ``dev`` from a numpy array (no copy on CPU when possible)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(dev)


def numpy_state(state: dict[str, Any]) -> dict[str, Any]:
    """Convert numpy arrays in a (nested) state dict to tensors, leaving other values alone."""
    import torch

    def convert(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(value))
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    return convert(state)


def as_numpy(value: Any) -> np.ndarray:
    """A numpy array from a tensor or array-like found in a loaded state dict."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
