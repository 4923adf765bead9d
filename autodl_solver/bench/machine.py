"""Machine and version facts recorded beside every benchmark number, and where benchmarks read and write.

Besides the machine, every record names the code. Run from a source
checkout (:data:`REPO_ROOT`: the folder holding the package folder
``autodl_solver/`` also holds ``benchmarks/``), that is ``git_commit`` (short
hash of ``HEAD``) and ``git_dirty`` (whether ``git status --porcelain`` lists
any change, tracked or untracked and not ignored), both read in that
checkout, wherever the process runs from. Run from an installed package (a
wheel: no checkout beside it), there is no tree to read: ``git_commit`` and
``git_dirty`` are ``None`` and ``installed_package`` holds the package's
version.

Folders (:func:`default_dirs`): from a checkout, ``benchmarks/results`` and
``benchmarks/work`` in it, as always; from an installed package,
``./bench_results`` and ``./bench_work`` under the current directory.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

#: The folder holding the package folder ``autodl_solver/`` (a checkout's top, or site-packages).
PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def find_checkout(top: Path = PACKAGE_PARENT) -> Optional[Path]:
    """``top`` when it is a source checkout (``benchmarks/`` beside ``autodl_solver/``), else ``None``."""
    return top if (top / "benchmarks").is_dir() and (top / "autodl_solver").is_dir() else None


#: The repository checkout the package was imported from, whose git state is recorded; ``None`` for an
#: installed package (see :func:`git_state`).
REPO_ROOT: Optional[Path] = find_checkout()

#: The benchmarks' result folder, relative to the repository root (ignored by :func:`git_state`).
RESULTS_PATH = "benchmarks/results"

#: Folder names under the current directory used by an installed package (no checkout).
INSTALLED_RESULTS, INSTALLED_WORK = "bench_results", "bench_work"

#: The official AutoDL samples, ``../shared/autodl_samples`` beside the checkout (optional: the datasets
#: read from it are skipped when it is absent); ``None`` for an installed package.
SHARED_SAMPLES: Optional[Path] = None if REPO_ROOT is None else REPO_ROOT.parent / "shared" / "autodl_samples"


def default_dirs() -> tuple[Path, Path]:
    """``(results, work)``: the checkout's ``benchmarks/results`` and ``benchmarks/work``, or, for an installed
    package, ``./bench_results`` and ``./bench_work`` under the current directory (absolute)."""
    if REPO_ROOT is not None:
        return REPO_ROOT / "benchmarks" / "results", REPO_ROOT / "benchmarks" / "work"
    cwd = Path.cwd()
    return cwd / INSTALLED_RESULTS, cwd / INSTALLED_WORK


def package_version() -> str:
    """The version of the ``autodl_solver`` package these modules belong to."""
    from autodl_solver import __version__

    return __version__


def installed_state() -> dict:
    """The provenance of a run from an installed package: no commit, no tree, the package's version."""
    return {"git_commit": None, "git_dirty": None, "installed_package": package_version()}


def git_state(repo: Optional[Path] = None) -> dict:
    """``{"git_commit": short hash or "", "git_dirty": bool or None}`` of the checkout ``repo``.

    Parameters
    ----------
    repo : path, optional
        A folder inside the repository (default :data:`REPO_ROOT`). Git runs
        there (``cwd=``), not in the process's working directory. With no
        ``repo`` and no checkout (an installed package), no git runs: the
        result is :func:`installed_state` (``git_commit`` and ``git_dirty``
        ``None``, plus ``installed_package``, the package's version).

    ``git_dirty`` is ``True`` when ``git status --porcelain`` lists anything
    (a modified, staged, deleted or untracked-and-not-ignored file) outside
    ``benchmarks/results/`` (the benchmarks' own outputs), ``False``
    on a clean tree and ``None`` when it cannot be told (no git, not a
    checkout).
    """
    if repo is None and REPO_ROOT is None:
        return installed_state()
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

    ``repo``: the checkout whose commit is recorded (default :data:`REPO_ROOT`; see :func:`git_state`,
    which also tells what an installed package records instead).
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
