"""Real tabular datasets available offline, converted to the AutoDL format.

Every source ships inside an installed package (no download): scikit-learn,
palmerpenguins, vega_datasets and statsmodels. Each builder returns
``(x, y, feature_names, label_names)`` with class ids in ``y``; categorical
columns are one-hot encoded and missing values stay NaN (the learners handle
them). Conversion uses the project's own :func:`from_arrays` with a seeded
70/30 split, so a rerun builds byte-identical datasets.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np


def _frame_to_xy(df, label: str):
    import pandas as pd

    y_raw = df[label]
    keep = y_raw.notna()
    df, y_raw = df[keep], y_raw[keep]
    feats = pd.get_dummies(df.drop(columns=[label]), dummy_na=False, dtype=float)
    classes = sorted(y_raw.astype(str).unique())
    y = y_raw.astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy()
    return feats.to_numpy(dtype=np.float32), y, list(feats.columns), classes


def breast_cancer():
    from sklearn.datasets import load_breast_cancer

    b = load_breast_cancer()
    return b.data.astype(np.float32), b.target, list(b.feature_names), list(b.target_names)


def wine():
    from sklearn.datasets import load_wine

    b = load_wine()
    return b.data.astype(np.float32), b.target, list(b.feature_names), list(b.target_names)


def penguins():
    from palmerpenguins import load_penguins

    return _frame_to_xy(load_penguins(), "species")


def seattle_weather():
    from vega_datasets import data

    df = data.seattle_weather()
    date = df.pop("date")
    df["month"] = date.dt.month
    df["dayofyear"] = date.dt.dayofyear
    return _frame_to_xy(df, "weather")


def fair_affairs():
    import statsmodels.api as sm

    df = sm.datasets.fair.load_pandas().data
    df["had_affair"] = (df.pop("affairs") > 0).map({True: "yes", False: "no"})
    return _frame_to_xy(df, "had_affair")


BUILDERS: dict[str, Callable] = {
    "breast_cancer": breast_cancer,
    "wine": wine,
    "penguins": penguins,
    "seattle_weather": seattle_weather,
    "fair_affairs": fair_affairs,
}


def build(name: str, root: Path, seed: int = 42) -> Path:
    """Build (or reuse) dataset ``name`` in AutoDL format under ``root``; returns its dataset dir."""
    from autodl_solver.data.converters import from_arrays

    target = Path(root) / name
    if (target / f"{name}.solution").exists():
        return target
    x, y, _, label_names = BUILDERS[name]()
    return from_arrays(x, y, root, name, test_size=0.3, seed=seed, label_names=label_names, overwrite=True).path
