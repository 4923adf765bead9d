"""Column standardisation with missing-value indicators: the tabular MLP's and every linear learner's input scaling."""
from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from .torch_utils import as_numpy


class Standardizer:
    """Column standardisation with a missing-value mask (fitted on the rows seen).

    Parameters
    ----------
    clip : float
        Standardised values are clipped to ``[-clip, clip]`` (outliers and
        huge raw values cannot blow up a network).
    """

    def __init__(self, clip: float = 10.0) -> None:
        self.clip = float(clip)
        self.mean_: Optional[np.ndarray] = None
        self.std_: Optional[np.ndarray] = None
        self.nan_cols_: Optional[np.ndarray] = None

    def fit(self, x: np.ndarray) -> "Standardizer":
        """Fit mean and std on ``x`` (NaN ignored); the mask columns are fixed by the first fit."""
        x64 = np.asarray(x, np.float64)
        x64 = np.where(np.isfinite(x64), x64, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            mean = np.nanmean(x64, axis=0) if len(x64) else np.zeros(x64.shape[1])
            std = np.nanstd(x64, axis=0) if len(x64) else np.ones(x64.shape[1])
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        self.mean_, self.std_ = mean, std
        if self.nan_cols_ is None:
            self.nan_cols_ = np.flatnonzero(np.isnan(x64).any(axis=0)).astype(np.int64)
        return self

    @property
    def out_dim(self) -> int:
        """Width of :meth:`transform`'s output."""
        return int(len(self.mean_) + len(self.nan_cols_))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised, clipped, missing -> 0, plus the 0/1 missing indicators; float32."""
        x64 = np.asarray(x, np.float64)
        missing = ~np.isfinite(x64)
        with np.errstate(invalid="ignore", over="ignore"):
            z = np.clip((x64 - self.mean_) / self.std_, -self.clip, self.clip)
        z[missing] = 0.0
        return np.hstack([z, missing[:, self.nan_cols_].astype(np.float64)]).astype(np.float32)

    def state(self) -> dict[str, Any]:
        """Plain state (tensors), for a learner's ``state_dict``."""
        import torch

        return {"mean": torch.from_numpy(self.mean_.copy()), "std": torch.from_numpy(self.std_.copy()),
                "nan_cols": torch.from_numpy(self.nan_cols_.copy()), "clip": self.clip}

    def load(self, state: dict[str, Any]) -> "Standardizer":
        """Inverse of :meth:`state`."""
        self.mean_ = as_numpy(state["mean"]).astype(np.float64)
        self.std_ = as_numpy(state["std"]).astype(np.float64)
        self.nan_cols_ = as_numpy(state["nan_cols"]).astype(np.int64)
        self.clip = float(state["clip"])
        return self
