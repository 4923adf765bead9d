"""Ingestion and scoring together, as on CodaLab: ``autodl-solver run``.

:func:`run_challenge` starts the ingestion program in a child process
(``python -m autodl_solver.challenge.ingestion``) and runs the scoring program
beside it in this process, in live mode: the scorer waits for ``start.txt``,
scores each new prediction as it appears, and kills ingestion when
``start_time + T`` passes (the official time-limit enforcement; predictions
made so far still count). The outputs are laid out as::

    <output_dir>/predictions/   start.txt, <task>.predict_<k>, end.txt
    <output_dir>/scores/        scores.txt, learning-curve-<task>.png, detailed_results.html
    <output_dir>/ingestion.log  the ingestion program's log
    <output_dir>/round_log.json the engine's round log (with ``progress=True``, see :class:`RunProgress`)

With ``progress=True`` (``autodl-solver run`` unless ``--quiet``) a live
progress line on stderr follows the run: elapsed / budget, predictions so
far, best NAUC so far and the learner being trained (from the child's round
log). On a terminal it is one line redrawn in place (tqdm); otherwise (a log
file, a pipe) one line per scored prediction.

Before anything is created or started, every input is checked and a bad one
is one :class:`~autodl_solver.errors.AutoDLInputError`: the budget, the
method (for our packaged ``model.py``), ``output_dir`` (not a file), the
dataset name (not starting with ``.``), the code folder, the solution (one
row per test record) and every record of the dataset (read once, no
TensorFlow: :func:`~autodl_solver.challenge.ingestion.check_data`). After
the run, a failure of ingestion is in the result's ``error`` (status 2 for a
data error met during the run, 1 for any other failure, with the cause from
the ingestion program's last ``error:`` line or its log).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional, TextIO

from ..errors import AutoDLError, AutoDLInputError
from .ingestion import (DEFAULT_TIME_BUDGET, METHOD_ENV, check_data, check_method, check_output_dir,
                        check_time_budget, default_code_dir, find_data_entry)

#: Variable naming a T-NAML prior file for our ``model.py`` (``challenge/model.py`` reads it).
PRIOR_ENV = "AUTODL_SOLVER_PRIOR"

#: Variable naming where our ``model.py`` keeps the engine's round log (``challenge/model.py``'s
#: ``ROUND_LOG_ENV``; the progress line reads the learner being trained from it).
ROUND_LOG_ENV = "AUTODL_SOLVER_ROUND_LOG"
#: The round log's file in ``output_dir`` when the variable is not set already.
ROUND_LOG_FILE = "round_log.json"

#: Seconds to let ingestion finish its own end (end.txt, copies) after scoring.
_EXIT_GRACE_S = 30.0


def resolve_dataset(dataset: str | os.PathLike) -> tuple[Path, Path]:
    """The ingestion ``dataset_dir`` and the ``X.data`` folder of ``dataset``.

    ``dataset`` is either a folder holding exactly one ``X.data`` or the
    ``X.data`` folder itself (then its parent is the dataset folder).

    Raises
    ------
    AutoDLInputError
        When ``dataset`` is neither.
    """
    from ..data.verify import check_dataset_name

    path = Path(dataset)
    if path.is_dir() and path.name.endswith(".data") and (path / "train").is_dir():
        check_dataset_name(path.name[: -len(".data")], path)
        return path.parent, path
    if not path.is_dir():
        raise AutoDLInputError(path, "dataset folder not found (expected X.data or a folder holding one X.data)")
    entry = find_data_entry(path)
    return path, path / entry


def _staged_dir(folder: Path, link_name: str, target: Path) -> Path:
    """``folder`` holding only a symlink ``link_name`` -> ``target`` (made afresh)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_symlink() or entry.is_file():
            entry.unlink()
    (folder / link_name).symlink_to(target.resolve())
    return folder


def _locate_inputs(dataset: str | os.PathLike,
                   solution_dir: Optional[str | os.PathLike]) -> tuple[Path, Path, Path, str]:
    """``(dataset_dir, X.data, X.solution, task)``, checked but nothing created."""
    dataset_dir, data_entry = resolve_dataset(dataset)
    task = data_entry.name[: -len(".data")]
    if solution_dir is not None:
        folder = Path(solution_dir)
        if not folder.is_dir():
            raise AutoDLInputError(folder, "--solution_dir not found (expected the folder of the X.solution file)")
        found = sorted(folder.glob("*.solution"))
        if len(found) != 1:
            raise AutoDLInputError(folder, f"expected exactly one '*.solution' file, found {len(found)} "
                                           f"({', '.join(p.name for p in found) or 'none'})")
        return dataset_dir, data_entry, found[0], task
    solution = data_entry.parent / f"{task}.solution"
    if not solution.is_file():
        raise AutoDLInputError(
            data_entry.parent, f"no {task}.solution beside {data_entry.name}; pass --solution_dir (the folder of "
                               "the solution)"
        )
    return dataset_dir, data_entry, solution, task


def _stage_inputs(dataset_dir: Path, data_entry: Path, solution: Path, output_dir: Path,
                  solution_given: bool) -> tuple[Path, Path]:
    """Folders with exactly one ``X.data`` and one ``X.solution`` (staged as links when needed)."""
    if len(list(dataset_dir.glob("*.data"))) != 1:
        # X.data was named directly but has siblings: ingestion must see only it.
        dataset_dir = _staged_dir(output_dir / "input_data", data_entry.name, data_entry)
    parent = solution.parent
    if solution_given or [p.name for p in parent.glob("*.solution")] == [solution.name]:
        return dataset_dir, parent
    return dataset_dir, _staged_dir(output_dir / "reference_data", solution.name, solution)


def _clear_previous_run(prediction_dir: Path, score_dir: Path) -> None:
    """Remove the files a previous run left: the scorer would read a stale ``start.txt``."""
    for folder in (prediction_dir, score_dir):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            stale = entry.name in ("start.txt", "end.txt", "scores.txt", "detailed_results.html") or (
                ".predict_" in entry.name or entry.name.startswith("learning-curve-")
            )
            if stale and entry.is_file():
                entry.unlink()


class RunProgress:
    """The live progress of ``autodl-solver run`` on a stream (stderr by default).

    Fed by the scoring program's loop (:func:`~.learning_curve.observe_scoring`:
    each new prediction once it is scored) and by the child's round log (the
    learner being trained). On a terminal, one line is redrawn in place every
    ``refresh_s`` (with tqdm when it is installed, else a ``\\r`` line); on
    anything else one line per scored prediction, then a last line.

    Parameters
    ----------
    time_budget : float
        T, for ``elapsed / T``.
    prediction_dir : path
        Ingestion's output folder (``start.txt`` gives the start time).
    round_log : path, optional
        The child's round log (JSON with a ``rounds`` list); none: no learner shown.
    stream : file, optional
        Default ``sys.stderr``.
    tty : bool, optional
        Force the terminal (redrawn line) or the line-per-prediction form;
        default ``stream.isatty()``.
    """

    def __init__(self, time_budget: float, prediction_dir: str | os.PathLike, *,
                 round_log: Optional[str | os.PathLike] = None, stream: Optional[TextIO] = None,
                 tty: Optional[bool] = None, refresh_s: float = 0.5) -> None:
        self.time_budget = float(time_budget)
        self.prediction_dir = Path(prediction_dir)
        self.round_log = None if round_log is None else Path(round_log)
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            try:
                tty = bool(self.stream.isatty())
            except (AttributeError, ValueError):
                tty = False
        self.tty = tty
        self.refresh_s = float(refresh_s)
        self.n_predictions = 0
        self.best_nauc: Optional[float] = None
        self.last_nauc: Optional[float] = None
        self.learner: Optional[str] = None  #: trained in the last logged round
        self.best_learner: Optional[str] = None  #: the engine's best model after it (what predicts)
        self._launched = time.time()
        self._start_time: Optional[float] = None
        self._log_mtime: Optional[float] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._bar = None
        self._width = 0

    # ------------------------------------------------------------ sources
    def start_time(self) -> Optional[float]:
        """``start_time`` of ``start.txt`` once ingestion wrote it."""
        if self._start_time is None:
            from .prediction_files import START_FILE, read_start_file

            path = self.prediction_dir / START_FILE
            if path.is_file():
                try:
                    self._start_time = float(read_start_file(path)["start_time"])
                except (AutoDLError, KeyError, OSError, ValueError):
                    return None  # being written: next look
        return self._start_time

    def elapsed(self) -> Optional[float]:
        """Seconds since ingestion's start (``None`` before ``start.txt``)."""
        start = self.start_time()
        return None if start is None else max(0.0, time.time() - start)

    def read_round_log(self) -> None:
        """The last round's learner and best model, when the round log changed."""
        if self.round_log is None:
            return
        try:
            mtime = self.round_log.stat().st_mtime
        except OSError:
            return
        if mtime == self._log_mtime:
            return
        try:
            rounds = json.loads(self.round_log.read_text(encoding="utf-8")).get("rounds") or []
        except (OSError, ValueError, AttributeError):
            return  # replaced atomically, so rarely; next look
        self._log_mtime = mtime
        if rounds and isinstance(rounds[-1], dict):
            self.learner = rounds[-1].get("learner") or self.learner
            self.best_learner = rounds[-1].get("best_learner") or self.best_learner

    # ------------------------------------------------------------ text
    def status(self) -> str:
        """The progress line's text (without the bar)."""
        elapsed = self.elapsed()
        if elapsed is None:
            return f"starting ingestion ({time.time() - self._launched:.1f} s)"
        parts = [f"{min(elapsed, self.time_budget):.1f} s / {self.time_budget:g} s",
                 f"{self.n_predictions} prediction{'' if self.n_predictions == 1 else 's'}"]
        if self.best_nauc is not None:
            parts.append(f"best NAUC {self.best_nauc:.4f}")
        if self.learner:
            parts.append(f"training {self.learner}")
        return ", ".join(parts)

    def _prediction_line(self, point) -> str:
        line = (f"[{point.timestamp:7.1f} s / {self.time_budget:g} s] prediction {point.k}: "
                f"NAUC {point.nauc:.4f} (best {self.best_nauc:.4f}")
        if self.best_learner:
            line += f", model {self.best_learner}"
        if self.learner:
            line += f", training {self.learner}"
        return line + ")"

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stream: progress is not worth failing the run

    def _draw(self) -> None:
        """Redraw the terminal line (under the lock)."""
        self.read_round_log()
        if self._bar is not None:
            elapsed = self.elapsed()
            self._bar.n = round(min(elapsed or 0.0, self.time_budget), 1)
            text = self.status()
            self._bar.set_postfix_str(text.split(", ", 1)[1] if ", " in text and elapsed is not None else text,
                                      refresh=False)
            self._bar.refresh()
            return
        text = "run: " + self.status()
        self._write("\r" + text.ljust(self._width))
        self._width = len(text)

    # ------------------------------------------------------------ events
    def start(self) -> "RunProgress":
        """Begin (on a terminal: the redraw thread)."""
        if self.tty:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=self.time_budget, file=self.stream, desc="run", unit="s", leave=True,
                                 dynamic_ncols=True, mininterval=0,
                                 bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:g} s{postfix}")
            self._thread = threading.Thread(target=self._loop, name="autodl-run-progress", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.refresh_s):
            with self._lock:
                self._draw()

    def on_scored(self, scorer, points) -> None:
        """:func:`~.learning_curve.observe_scoring` callback: new predictions were scored."""
        with self._lock:
            self.read_round_log()
            for point in points:
                self.n_predictions += 1
                self.last_nauc = float(point.nauc)
                self.best_nauc = self.last_nauc if self.best_nauc is None else max(self.best_nauc, self.last_nauc)
                if not self.tty:
                    self._write(self._prediction_line(point) + "\n")
            if self.tty:
                self._draw()

    def close(self) -> None:
        """Stop redrawing; end the line (terminal) or write the last line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self.read_round_log()
            if self.tty:
                self._draw()
                if self._bar is not None:
                    self._bar.close()
                    self._bar = None
                else:
                    self._write("\n")
            elif self.start_time() is not None:  # never started: the error line says why, alone
                best = "none" if self.best_nauc is None else f"{self.best_nauc:.4f}"
                elapsed = min(self.elapsed() or 0.0, self.time_budget)
                self._write(f"run: done at {elapsed:.1f} s / {self.time_budget:g} s: {self.n_predictions} "
                            f"prediction{'' if self.n_predictions == 1 else 's'}, best NAUC {best}\n")


def _child_env(method: Optional[str], prior: Optional[str] = None,
               round_log: Optional[Path] = None) -> dict[str, str]:
    env = dict(os.environ)
    if round_log is not None and not env.get(ROUND_LOG_ENV):
        env[ROUND_LOG_ENV] = str(round_log)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # The child must import this very package, installed or not.
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
    if method:
        env[METHOD_ENV] = method
    else:
        env.pop(METHOD_ENV, None)
    if prior:
        env[PRIOR_ENV] = str(Path(prior).resolve())  # the child runs in another working directory
    else:
        env.pop(PRIOR_ENV, None)
    return env


def _wait_for_start(process: subprocess.Popen, start_file: Path, log_path: Path) -> None:
    """Block until ingestion wrote ``start.txt``; explain when it exited first."""
    while not start_file.exists():
        if process.poll() is not None:
            tail = _log_tail(log_path)
            if process.returncode == 2 and tail.startswith("error: "):
                # Bad input found by ingestion: hand its one line on.
                where, _, problem = tail[len("error: "):].partition(": ")
                raise AutoDLInputError(where, problem)
            raise AutoDLError(f"ingestion exited (status {process.returncode}) before starting: {tail}")
        time.sleep(0.05)


def _log_tail(log_path: Path) -> str:
    try:
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1].strip() if lines else "(empty log)"


def _stop(process: subprocess.Popen, grace_s: float) -> None:
    """End the ingestion process group (the child and anything it spawned).

    After a normal end ingestion gets ``grace_s`` to finish writing (end.txt,
    the copy to the score folder); after an error or an interrupt, none.
    """
    if process.poll() is None and grace_s > 0:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only what we started
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def run_challenge(
    dataset_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    code_dir: str | os.PathLike | None = None,
    time_budget: float = DEFAULT_TIME_BUDGET,
    method: Optional[str] = None,
    score_dir: str | os.PathLike | None = None,
    solution_dir: str | os.PathLike | None = None,
    *,
    poll_interval: float = 1.0,
    verbose: bool = True,
    prior: Optional[str | os.PathLike] = None,
    check_records: bool = True,
    progress: bool = False,
    progress_stream: Optional[TextIO] = None,
    tf_mode: str = "eager",
) -> dict[str, Any]:
    """Run ingestion (child process) and live scoring (this process) on one dataset.

    Parameters
    ----------
    dataset_dir : str or os.PathLike
        A folder holding one ``X.data``, or the ``X.data`` folder itself.
    output_dir : str or os.PathLike
        Receives ``predictions/``, ``scores/`` and ``ingestion.log``.
    code_dir : str or os.PathLike, optional
        Folder of the submission's ``model.py``; default our packaged solver.
    time_budget : float
        The budget T in seconds (official default 1200).
    method : str, optional
        Passed to our ``model.py`` as the ``AUTODL_SOLVER_METHOD`` variable.
    score_dir : str or os.PathLike, optional
        Default ``<output_dir>/scores``.
    solution_dir : str or os.PathLike, optional
        Folder of ``X.solution``; default the folder beside ``X.data``.
    poll_interval : float
        Seconds between the scorer's looks at the prediction folder.
    verbose : bool
        Print the summary (:func:`format_summary`) on stdout at the end.
    prior : str or os.PathLike, optional
        A T-NAML prior file, passed to our ``model.py`` as the
        ``AUTODL_SOLVER_PRIOR`` variable (checked here first).

    Returns
    -------
    dict
        ``alc``, ``scores`` (what :func:`run_scoring` returned),
        ``ingestion_success`` (bool; False when it failed or was killed),
        ``ingestion_returncode``, ``killed`` (bool), ``prediction_dir``,
        ``score_dir``, ``log``.

    check_records : bool
        Read every record before starting (default); False skips it (the
        child ingestion then does not check either).
    progress : bool
        Show the live progress (:class:`RunProgress`) on ``progress_stream``
        (default stderr); the child then keeps its round log at
        ``$AUTODL_SOLVER_ROUND_LOG`` or ``<output_dir>/round_log.json``.
    tf_mode : {"eager", "graph"}
        How the child ingestion hands the datasets to ``model.py``: TF2 eager
        (default) or TF1 graph mode, as the 2019 platform did
        (:func:`~autodl_solver.challenge.ingestion.run_ingestion`).

    Returns also ``error``: ``None``, or ``{"status": 2 or 1, "message": str}``
    when ingestion met a data error (2) or failed otherwise (1); the ``run``
    command prints the message as its ``error:`` line and exits with it.

    Raises
    ------
    AutoDLInputError
        Bad dataset (layout, name, records, counts, shapes), solution, budget,
        method, ``output_dir`` or code folder, found before anything is
        created; or bad input found by ingestion before its start.
    """
    from .prediction_files import read_end_file
    from .score_program import run_scoring

    from .ingestion import TF_MODES

    time_budget = check_time_budget(time_budget)
    if tf_mode not in TF_MODES:
        raise AutoDLInputError("--tf_mode", f"expected one of {', '.join(TF_MODES)}, got {tf_mode!r}")
    code_dir = Path(code_dir).resolve() if code_dir is not None else default_code_dir()
    check_method(method, code_dir)
    if prior is not None:
        from ..naml.prior import read_prior

        read_prior(prior)  # a bad prior is a one-line error now, not a failed ingestion later
    output_dir = check_output_dir(output_dir).resolve()
    if score_dir is not None:
        check_output_dir(score_dir, "--score_dir")
    solution_given = solution_dir is not None
    dataset_dir, data_entry, solution, task = _locate_inputs(dataset_dir, solution_dir)
    if not (code_dir / "model.py").is_file():
        raise AutoDLInputError(code_dir, "no model.py in the code folder")
    if check_records:
        check_data(data_entry, solution)  # every record, the counts and the solution's size: before anything
    else:
        from ..data.reader import read_solution
        from ..data.textproto import read_metadata

        read_solution(solution, expected_rows=read_metadata(data_entry / "test").sample_count)
    dataset_dir, solution_dir = _stage_inputs(dataset_dir, data_entry, solution, output_dir, solution_given)
    prediction_dir = output_dir / "predictions"
    score_dir = Path(score_dir) if score_dir is not None else output_dir / "scores"
    _clear_previous_run(prediction_dir, score_dir)
    prediction_dir.mkdir(parents=True, exist_ok=True)
    score_dir.mkdir(parents=True, exist_ok=True)
    log_path = output_dir / "ingestion.log"

    command = [
        sys.executable, "-m", "autodl_solver.challenge.ingestion",
        f"--dataset_dir={dataset_dir}", f"--output_dir={prediction_dir}",
        f"--code_dir={code_dir}", f"--score_dir={score_dir}", f"--time_budget={time_budget}",
        "--no_data_check",  # checked just above (or skipped on purpose)
        f"--tf_mode={tf_mode}",
    ]
    round_log = None
    if not os.environ.get(ROUND_LOG_ENV) and (output_dir / ROUND_LOG_FILE).is_file():
        (output_dir / ROUND_LOG_FILE).unlink()  # a previous run's: its learners are not this run's
    if progress:
        round_log = Path(os.environ.get(ROUND_LOG_ENV) or output_dir / ROUND_LOG_FILE)
    with open(log_path, "wb") as log:
        env = _child_env(method, None if prior is None else os.fspath(prior), round_log)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    scored = False
    watch = None
    try:
        if progress:
            from .learning_curve import observe_scoring

            watch = RunProgress(time_budget, prediction_dir, round_log=round_log, stream=progress_stream).start()
        _wait_for_start(process, prediction_dir / "start.txt", log_path)
        if watch is None:
            scores = run_scoring(solution_dir, prediction_dir, score_dir, poll_interval=poll_interval,
                                 ingestion_process=process)
        else:
            with observe_scoring(prediction_dir, watch.on_scored):
                scores = run_scoring(solution_dir, prediction_dir, score_dir, poll_interval=poll_interval,
                                     ingestion_process=process)
        scored = True
    finally:
        if watch is not None:
            watch.close()
        _stop(process, _EXIT_GRACE_S if scored else 0.0)
    end_file = prediction_dir / "end.txt"
    success = False
    if end_file.is_file():
        success = bool(read_end_file(end_file).get("ingestion_success", 0))
    killed = bool(scores.get("time_limit_exceeded")) or not end_file.is_file()
    result = {
        "task": task,
        "alc": float(scores["score"]),
        "scores": scores,
        "ingestion_success": success,
        "ingestion_returncode": process.returncode,
        "killed": killed,
        "prediction_dir": prediction_dir,
        "score_dir": score_dir,
        "log": log_path,
        "error": ingestion_error(process.returncode, log_path, success=success, killed=killed),
    }
    if verbose:
        print("\n".join(format_summary(result)), flush=True)
    return result


#: A traceback's last line naming a data error (ours or TensorFlow's about the records).
_DATA_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?(AutoDLInputError|DataLossError): (.+)$")


def ingestion_error(returncode: Optional[int], log_path: Path, *, success: bool,
                    killed: bool) -> Optional[dict[str, Any]]:
    """What went wrong in a finished ingestion, from its exit status and log; ``None`` if nothing.

    The ingestion program ends a failure with one ``error: ...`` line
    (status 2: a data error, 1: another failure). When it was killed at the
    budget before it could say so, a data error's traceback in the log
    (``AutoDLInputError: ...`` or TensorFlow's ``DataLossError: ...``) still counts.
    """
    try:
        lines = [line.rstrip() for line in log_path.read_text(errors="replace").splitlines()]
    except OSError:
        lines = []
    said = [line[len("error: "):] for line in lines if line.startswith("error: ")]
    if returncode == 2 and said:
        return {"status": 2, "message": said[-1]}
    if returncode == 1:
        message = said[-1] if said else f"ingestion failed (exit status 1); see {log_path}"
        if not message.startswith("ingestion failed"):
            message = f"ingestion failed: {message}"
        return {"status": 1, "message": f"{message} (log: {log_path})"}
    for line in lines if killed else ():
        match = _DATA_ERROR_LINE.match(line.strip())
        if match:
            prefix = ("" if match.group(1) == "AutoDLInputError"
                      else "tf.data records: TensorFlow could not read the dataset: ")
            return {"status": 2, "message": prefix + match.group(2)}
    if returncode not in (0, None) and not killed:
        return {"status": 1, "message": f"ingestion exited with status {returncode}; see {log_path}"}
    if not killed and not success:
        return {"status": 1, "message": f"ingestion reported a failure (ingestion_success: 0); see {log_path}"}
    return None


def format_summary(result: dict[str, Any]) -> list[str]:
    """The lines ``autodl-solver run`` prints: ALC, per-prediction NAUC, first time."""
    scores = result["scores"]
    naucs = list(scores.get("nauc_scores") or [])
    times = list(scores.get("timestamps") or [])
    lines = [f"ALC: {result['alc']:.6f}"]
    if times:
        lines.append(f"first prediction at: {float(times[0]):.2f} s")
    else:
        lines.append("first prediction at: none (no prediction was made)")
    for k, (t, s) in enumerate(zip(times, naucs)):
        lines.append(f"prediction {k}: t = {float(t):.2f} s, NAUC = {float(s):.6f}")
    if result["killed"]:
        lines.append(f"warning: ingestion was stopped at the time budget (see {result['log']})")
    elif not result["ingestion_success"]:
        lines.append(f"warning: ingestion failed; predictions made before the failure were scored "
                     f"(see {result['log']})")
    lines.append(f"scores: {result['score_dir']}")
    return lines
