"""Where the package's configuration files are looked up: one leaf, so that every layer may import it.

``autodl_solver/configs/`` (an installed package's copy of ``configs/``, see
``pyproject.toml``) first, then the repository's ``configs/`` folder beside
``autodl_solver/`` (a source checkout). The learner YAMLs
(``domains/registry.py``) and the scheduling prior (``anytime/prior.py``)
both come from here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional


def config_dirs() -> list[Path]:
    """Where config files are looked up, first match wins: the package's copy, then the repository's."""
    here = Path(__file__).resolve()
    return [here.parent / "configs", here.parents[1] / "configs"]


def find_config(name: str) -> Optional[Path]:
    """The first ``<dir>/<name>`` of :func:`config_dirs` that is a file, or None."""
    for folder in config_dirs():
        path = folder / name
        if path.is_file():
            return path
    return None
