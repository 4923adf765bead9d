"""Shared fixtures: the official sample datasets beside the repo (skipped when absent)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "autodl_samples"


@pytest.fixture(scope="session")
def shared_samples() -> Path:
    """``../shared/autodl_samples``; skips the test when it is not there."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/autodl_samples is not available")
    return SAMPLES


@pytest.fixture(scope="session")
def sample_dataset(shared_samples):
    """Factory: ``sample_dataset("miniciao")`` -> path of that sample dataset dir (skips when missing)."""

    def get(name: str) -> Path:
        path = shared_samples / name
        if not path.exists():
            pytest.skip(f"sample dataset {name} is not available")
        return path

    return get
