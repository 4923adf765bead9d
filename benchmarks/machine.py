"""Machine and version facts recorded beside every benchmark number.

Besides the machine, every record names the code: ``git_commit`` (short hash
of ``HEAD``) and ``git_dirty`` (whether ``git status --porcelain`` lists any
change, tracked or untracked and not ignored), both read in the repository
that holds this ``benchmarks`` package, wherever the process runs from.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

#: The repository checkout holding this ``benchmarks`` package.
REPO_ROOT = Path(__file__).resolve().parents[1]


#: The benchmarks' result folder, relative to the repository root (ignored by :func:`git_state`).
RESULTS_PATH = "benchmarks/results"


def git_state(repo: Optional[Path] = None) -> dict:
    """``{"git_commit": short hash or "", "git_dirty": bool or None}`` of the checkout ``repo``.

    Parameters
    ----------
    repo : path, optional
        A folder inside the repository (default :data:`REPO_ROOT`). Git runs
        there (``cwd=``), not in the process's working directory.

    ``git_dirty`` is ``True`` when ``git status --porcelain`` lists anything
    (a modified, staged, deleted or untracked-and-not-ignored file) outside
    ``benchmarks/results/`` (the benchmarks' own outputs), ``False``
    on a clean tree and ``None`` when it cannot be told (no git, not a
    checkout).
    """
    cwd = str(REPO_ROOT if repo is None else repo)

    def git(*args: str) -> Optional[str]:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                                  timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = (git("rev-parse", "--short", "HEAD") or "").strip()
    # the benchmarks' own outputs are not code: a run that wrote results/ leaves the next one's tree clean
    status = git("status", "--porcelain", "--", ".", f":(exclude){RESULTS_PATH}")
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status.strip())}


def _installed_tensorflow() -> Optional[str]:
    """TensorFlow's version from its package metadata: importing it costs seconds, and the runs import their own."""
    from importlib import metadata

    for dist in ("tensorflow", "tensorflow-cpu", "tensorflow-gpu"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _affinity() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def machine_info(repo: Optional[Path] = None) -> dict:
    """CPU model, core count, memory, GPU (if any), Python and key package versions, git commit and dirtiness.

    ``repo``: the checkout whose commit is recorded (default :data:`REPO_ROOT`; see :func:`git_state`).
    """
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as fh:
            mem_gib = round(int(fh.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for mod in ("numpy", "torch", "sklearn", "lightgbm", "tensorflow"):
        version = _installed_tensorflow() if mod == "tensorflow" and mod not in sys.modules else None
        try:
            versions[mod] = version or __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a missing package is just not listed
            pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # noqa: BLE001
        pass
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        # Pinning (taskset) and thread caps change the numbers: record them.
        "cpus_used": _affinity(),
        "thread_caps": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ},
        "memory_gib": mem_gib,
        "gpu": gpu,
        "python": platform.python_version(),
        "versions": versions,
        **git_state(repo),
    }
