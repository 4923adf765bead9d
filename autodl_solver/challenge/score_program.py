"""The AutoDL scoring program (``score.py`` v20191219), as a function.

:func:`run_scoring` follows the official control flow (``docs/protocol.md`` §4.4):
it waits for ingestion's ``start.txt``, then until ``start_time + T`` scores
each new ``<task>.predict_<k>`` and rewrites its outputs, stops early when
``end.txt`` appears, stops an ingestion still running at ``T`` (predictions
made so far count), and ends with a final scoring pass. ``final_only=True``
skips the live part and scores a finished run.

Outputs in ``score_dir``, each written atomically:

* ``scores.txt``: ``score: <ALC>`` first, then ``Duration``, ``timestamps``,
  ``nauc_scores`` and, for one-hot solutions, ``accuracy`` (Python reprs,
  YAML-readable, as the official file);
* ``learning-curve-<task>.png``;
* ``detailed_results.html`` (auto-refresh while live, none at the end).
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional, Union

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_write_text
from . import prediction_files as pf
from .learning_curve import LearningCurve, RunScorer
from .plots import figure_name, plot_learning_curve
from .report_html import DETAILED_RESULTS, write_detailed_results
from .scoring import DEFAULT_T0

PathLike = Union[str, os.PathLike]
logger = logging.getLogger(__name__)

SCORES_FILE = "scores.txt"

__all__ = ["SCORES_FILE", "format_scores_text", "run_scoring"]


def format_scores_text(curve: LearningCurve, accuracies: Optional[list] = None) -> str:
    """The content of ``scores.txt``, ``score:`` first as in ``score.py``.

    ``score`` is the unclipped ALC; ``Duration`` the time of the last
    prediction (0 when none).
    """
    lines = [
        f"score: {curve.alc()}",
        f"Duration: {curve.duration}",
        f"timestamps: {list(curve.timestamps)}",
        f"nauc_scores: {list(curve.scores)}",
    ]
    if accuracies is not None:
        lines.append(f"accuracy: {list(accuracies)}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ processes
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as dead
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_our_child(pid: int) -> bool:
    """Whether ``pid`` is a child of this process (Linux ``/proc``; else False)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid()
    except (OSError, IndexError, ValueError):
        return False


def _terminate_child_pid(pid: int, grace_s: float) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


class _Ingestion:
    """What the scorer knows about the ingestion process and may do to it."""

    def __init__(self, process: Optional[subprocess.Popen], kill: Optional[Callable[[], None]], grace_s: float):
        self.process = process
        self.kill_callable = kill
        self.grace_s = grace_s
        self.pid: Optional[int] = None  # from start.txt

    def exited(self) -> bool:
        """True only when we know for sure that ingestion has ended."""
        return self.process is not None and self.process.poll() is not None

    @property
    def returncode(self) -> Optional[int]:
        """The exit status of the process we started (None: not ours, or still running)."""
        return None if self.process is None else self.process.returncode

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        if self.pid is not None:
            return _pid_alive(self.pid)
        return self.kill_callable is not None  # unknown: assume it runs

    def stop(self) -> bool:
        """Terminate ingestion (kill after ``grace_s``); False when not ours to stop."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(self.grace_s)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            return True
        if self.kill_callable is not None:
            self.kill_callable()
            return True
        # Only a child of ours: never another user's process, never ourselves
        # (in-process ingestion writes our own pid).
        if self.pid is not None and self.pid != os.getpid() and _is_our_child(self.pid):
            _terminate_child_pid(self.pid, self.grace_s)
            return True
        return False


# -------------------------------------------------------------------- helpers
def _wait_for_start(start_path: Path, wait_start_s: float, poll_interval: float, ingestion: _Ingestion) -> dict:
    deadline = time.monotonic() + wait_start_s
    while True:
        if start_path.is_file():
            try:
                return pf.read_start_file(start_path)
            except AutoDLInputError:
                # Official ingestion writes start.txt non-atomically: retry a
                # half-written one until the deadline.
                if time.monotonic() >= deadline:
                    raise
        if ingestion.exited():
            raise AutoDLInputError(
                start_path, f"ingestion exited (status {ingestion.returncode}) without writing it"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AutoDLInputError(
                start_path, f"not written within {wait_start_s:g} s; expected ingestion to start and write it"
            )
        time.sleep(min(poll_interval, remaining))


def _write_outputs(score_dir: Path, scorer: RunScorer, time_budget: float, t0: float, *,
                   running: bool, message: Optional[str] = None) -> LearningCurve:
    curve = scorer.curve(time_budget, t0)
    png = score_dir / figure_name(scorer.task_name)
    plot_learning_curve(curve, png)
    accuracies = scorer.accuracy_scores
    write_detailed_results(score_dir / DETAILED_RESULTS, [png], running=running, curve=curve,
                           accuracies=accuracies, message=message)
    atomic_write_text(score_dir / SCORES_FILE, format_scores_text(curve, accuracies))
    return curve


# ----------------------------------------------------------------------- main
def run_scoring(
    solution_dir: PathLike,
    prediction_dir: PathLike,
    score_dir: PathLike,
    *,
    poll_interval: float = 1.0,
    wait_start_s: float = 1800.0,
    ingestion_process: Optional[subprocess.Popen] = None,
    kill_ingestion: Optional[Callable[[], None]] = None,
    final_only: bool = False,
    grace_s: float = 5.0,
    t0: float = DEFAULT_T0,
) -> dict:
    """Score an ingestion run, live (official control flow) or after the fact.

    Parameters
    ----------
    solution_dir : str or os.PathLike
        Folder with exactly one ``<task>.solution``; the task name is its
        name up to the first dot.
    prediction_dir : str or os.PathLike
        Ingestion's output folder: ``start.txt``, ``<task>.predict_<k>``,
        ``end.txt``.
    score_dir : str or os.PathLike
        Where ``scores.txt``, ``learning-curve-<task>.png`` and
        ``detailed_results.html`` go (created if needed).
    poll_interval : float, default 1.0
        Seconds between looks at ``prediction_dir`` (live mode).
    wait_start_s : float, default 1800
        How long to wait for ``start.txt`` (live mode), as ``score.py``.
    ingestion_process : subprocess.Popen, optional
        The running ingestion. Terminated (then killed after ``grace_s``)
        if still alive at ``start_time + T``; its early exit without
        ``end.txt`` also ends the live loop.
    kill_ingestion : callable, optional
        Called instead at ``T`` when there is no ``ingestion_process``.
        With neither, the ``ingestion_pid`` of ``start.txt`` is stopped only
        when it is a child of this process.
    final_only : bool, default False
        Skip waiting and the live loop: score what is in ``prediction_dir``
        (``start.txt`` must exist).
    grace_s : float, default 5
        Seconds between terminate and kill.
    t0 : float, default 60

    Returns
    -------
    dict
        ``task_name``, ``score`` (ALC as in ``scores.txt``), ``alc_clipped``,
        ``duration``, ``timestamps``, ``nauc_scores``, ``accuracy`` (list or
        None), ``time_budget``, ``num_predictions``, ``time_limit_exceeded``,
        ``ingestion_ended`` (``end.txt`` seen), ``ingestion_success`` (from
        ``end.txt``, or None), ``score_dir``.

    Raises
    ------
    AutoDLInputError
        Naming the folder or file at fault: not exactly one solution file,
        unreadable solution, ``start.txt`` missing (after ``wait_start_s``
        in live mode) or malformed, a prediction of the wrong shape or with
        NaN, a prediction without its timestamp line.
    """
    prediction_dir = Path(prediction_dir)
    score_dir = Path(score_dir)
    scorer = RunScorer(pf.find_solution_file(solution_dir), prediction_dir)
    start_path = prediction_dir / pf.START_FILE
    end_path = prediction_dir / pf.END_FILE
    ingestion = _Ingestion(ingestion_process, kill_ingestion, grace_s)
    score_dir.mkdir(parents=True, exist_ok=True)
    time_limit_exceeded = False
    message = None

    if final_only:
        info = pf.read_start_file(start_path)
    else:
        write_detailed_results(score_dir / DETAILED_RESULTS, running=True)
        info = _wait_for_start(start_path, wait_start_s, poll_interval, ingestion)
        ingestion.pid = info.get("ingestion_pid")
        deadline = info["start_time"] + info["time_budget"]
        logger.info("ingestion started; scoring %s until %.1f s after its start", scorer.task_name,
                    info["time_budget"])
        while time.time() < deadline:
            if end_path.is_file():
                logger.info("end.txt found: ingestion has finished")
                break
            if ingestion.exited():
                logger.warning("ingestion exited (status %s) without writing end.txt",
                               ingestion.returncode)
                break
            # strict=False: a prediction whose timestamp line is not readable
            # yet waits for the next poll.
            if scorer.update(strict=False):
                curve = _write_outputs(score_dir, scorer, info["time_budget"], t0, running=True)
                logger.info("%d predictions, NAUC of the last %.4f, ALC so far %.4f",
                            len(curve), curve.final_score, curve.alc())
            time.sleep(max(0.0, min(poll_interval, deadline - time.time())))
        else:
            if not end_path.is_file() and ingestion.alive():
                time_limit_exceeded = True
                stopped = ingestion.stop()
                message = ("Time limit exceeded: ingestion was still running at the end of the time budget"
                           + (" and was stopped" if stopped else "") + "; predictions made so far are scored.")
                logger.warning(message)

    # Final pass: every prediction must now have its timestamp (update lists
    # the files before reading start.txt, so one written meanwhile has it).
    scorer.update(strict=True)
    info = pf.read_start_file(start_path)
    end_info = pf.read_end_file(end_path) if end_path.is_file() else {}
    success = end_info.get("ingestion_success")
    if success == 0:
        message = "Ingestion reported a failure (ingestion_success: 0); predictions made so far are scored."
        logger.error(message)
    curve = _write_outputs(score_dir, scorer, info["time_budget"], t0, running=False, message=message)
    logger.info("final ALC for %s: %.4f", scorer.task_name, curve.alc())
    return {
        "task_name": scorer.task_name,
        "score": curve.alc(),
        "alc_clipped": curve.alc(clip=True),
        "duration": curve.duration,
        "timestamps": list(curve.timestamps),
        "nauc_scores": list(curve.scores),
        "accuracy": scorer.accuracy_scores,
        "time_budget": curve.time_budget,
        "num_predictions": len(curve),
        "time_limit_exceeded": time_limit_exceeded,
        "ingestion_ended": end_path.is_file(),
        "ingestion_success": success,
        "score_dir": str(score_dir),
    }
