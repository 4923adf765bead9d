"""autodl_solver: an any-time AutoDL solver.

Public API (imported lazily so that ``import autodl_solver`` stays cheap):
``AutoDLClassifier``, ``Dataset``, ``ArrayDataset``, ``Metadata``,
``load_dataset``, ``infer_domain``, ``nauc``, ``alc``.
"""
from __future__ import annotations

from . import _environment  # noqa: F401  (sets HF/TF environment before heavy imports)

__version__ = "0.1.0"

_LAZY = {
    "AutoDLClassifier": ("autodl_solver.api", "AutoDLClassifier"),
    "Dataset": ("autodl_solver.data.dataset", "Dataset"),
    "ArrayDataset": ("autodl_solver.data.dataset", "ArrayDataset"),
    "Metadata": ("autodl_solver.data.metadata", "Metadata"),
    "load_dataset": ("autodl_solver.data.reader", "load_dataset"),
    "infer_domain": ("autodl_solver.domains.inference", "infer_domain"),
    "nauc": ("autodl_solver.challenge.scoring", "nauc"),
    "alc": ("autodl_solver.challenge.scoring", "alc"),
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'autodl_solver' has no attribute {name!r}")
