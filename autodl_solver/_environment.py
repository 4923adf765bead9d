"""Process-wide settings that must be in place before heavy imports.

* ``HF_HUB_OFFLINE=1`` unless the user set it: a hub id then fails at once
  instead of after 25 s of retries (this machine has no route to the hub).
* ``TF_CPP_MIN_LOG_LEVEL=2``: TensorFlow's C++ start-up chatter is noise.
* Triton is made unavailable (``sys.modules["triton"] = None``) unless
  ``AUTODL_SOLVER_ALLOW_TRITON=1``: with tensorflow-cpu 2.21 already loaded,
  importing triton (which torch 2.14 does when the first optimiser pulls in
  ``torch._dynamo``) segfaults the process (measured here). The official
  ingestion program imports TensorFlow before ``model.py``, so this is the
  common case. We never call ``torch.compile``, and eager torch runs on CPU
  and CUDA without triton.
* The fastText numpy-2 shim (``fasttext-wheel==0.9.2`` calls
  ``np.array(..., copy=False)``, which numpy 2 refuses); applied lazily by
  :func:`patch_fasttext` when fastText is first used.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if os.environ.get("AUTODL_SOLVER_ALLOW_TRITON") != "1" and "triton" not in sys.modules:
    sys.modules["triton"] = None  # type: ignore[assignment]  # import of triton -> ImportError


def patch_fasttext() -> None:
    """Make ``fasttext-wheel==0.9.2`` work under numpy 2 (idempotent)."""
    import numpy as np
    import fasttext.FastText as ft

    if getattr(ft.np, "_autodl_patched", False):
        return

    class _NumpyCompat:
        _autodl_patched = True

        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def array(obj, *args, copy=True, **kwargs):
            if copy is False:
                return np.asarray(obj, *args, **kwargs)
            return np.array(obj, *args, copy=copy, **kwargs)

    ft.np = _NumpyCompat()
