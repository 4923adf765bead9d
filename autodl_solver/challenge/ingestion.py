"""The AutoDL 2019 ingestion program (official ``ingestion.py`` v20191204).

Runs a code submission (``model.py`` with ``Model(metadata)``, ``train``,
``test``, ``done_training``) on one dataset and writes, in ``output_dir``,
exactly the files the official program writes: ``start.txt`` (pid, task name,
budget, start time, then one timestamp per prediction), the predictions
``<task>.predict_<k>`` and ``end.txt``. The sequence is the official one:

1. ``dataset_dir`` holds exactly one ``*.data`` entry;
2. the train and test pipelines are built before the clock starts;
3. ``Model(train_metadata)`` is created under a 20-minute ``SIGALRM`` timer that
   does not count in the budget;
4. ``start = time.time()``; ``start.txt`` is written;
5. the core loop: ``done_training`` is checked at the top only, ``test()``
   follows every ``train()``, ``None`` stops, a wrong shape is a failure, the
   timestamp is written before the prediction file, and the loop stops when
   the budget is spent (ingestion never interrupts ``train``/``test``: the
   scoring program kills it at ``start + T``);
6. ``end.txt``; the outputs are copied to ``score_dir`` when given.

Differences that do not change what a model or the scorer sees: every file
is written atomically (the official appends to ``start.txt`` in place), the
model gets our :class:`~autodl_solver.data.metadata.Metadata` (which answers
the official ``AutoDLMetadata`` methods), and bad input (no or several
``*.data``, a dataset name starting with ``.``, ``--output_dir`` naming a
file, a non-positive budget) is a one-line
:class:`~autodl_solver.errors.AutoDLInputError` instead of a traceback.

Data errors are caught before the model is built: every record is read once
(:func:`~autodl_solver.data.verify.verify_dataset`: CRC, parse, shape and
counts against the metadata, images decoded when the record files total at
most :data:`FULL_DECODE_BYTES`), so a truncated, bit-flipped or empty record
file, a wrong ``sample_count`` or a shape that does not match the records is
one ``error: <file>: ...`` line and exit status 2, not an all-zero run.
During the loop every exception logged at ERROR level (the model's own
``logger.exception`` included) is recorded: a data error found then (an
:class:`~autodl_solver.errors.AutoDLInputError`, TensorFlow's
``DataLossError``) also ends with exit status 2, any other logged failure
with exit status 1 and an ``error: ingestion failed: ...`` line on stderr,
after ``end.txt`` is written.

Run it as ``python -m autodl_solver.challenge.ingestion --dataset_dir=...
--output_dir=... --code_dir=... [--score_dir=...] [--time_budget=...]`` or
``autodl-solver ingest``.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import math
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from ..errors import AutoDLError, AutoDLInputError

VERSION = "v20191204"
#: Model import + constructor limit (seconds); not counted in the budget.
INIT_TIME_BUDGET = 20 * 60
#: How TensorFlow hands the datasets to the model: TF2 eager, or TF1 graph mode as in 2019.
TF_MODES = ("eager", "graph")
#: The official default budget T (seconds).
DEFAULT_TIME_BUDGET = 1200
#: Environment variable that tells our own model.py which method to run.
METHOD_ENV = "AUTODL_SOLVER_METHOD"
#: Record files up to this total size get every image decoded by the data check before the run.
FULL_DECODE_BYTES = 64 * 2**20
#: Names of TensorFlow exceptions that mean the records themselves are bad.
_TF_DATA_ERRORS = {"DataLossError", "InvalidArgumentError"}

logger = logging.getLogger("autodl_solver.ingestion")


class ModelApiError(Exception):
    """The model object lacks ``train`` or ``test``."""


class BadPredictionShapeError(Exception):
    """``test()`` returned an array whose shape is not (test examples, classes)."""


class TimeoutException(Exception):
    """The model initialization exceeded its time limit."""


class _StderrHandler(logging.StreamHandler):
    """A stream handler writing to whatever ``sys.stderr`` is at the time (in-process CLI calls swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _setup_logging() -> None:
    """Official-looking log lines on stderr, once."""
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s ingestion.py: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def find_data_entry(dataset_dir: str | os.PathLike) -> str:
    """The single ``*.data`` entry of ``dataset_dir`` (the official ``basename``).

    Raises
    ------
    AutoDLInputError
        If the folder is missing or holds zero or several ``*.data`` entries.
    """
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise AutoDLInputError(dataset_dir, "dataset folder not found (expected a folder holding one <name>.data)")
    names = sorted(p.name for p in dataset_dir.glob("*.data"))
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise AutoDLInputError(
            dataset_dir, f"expected exactly one '*.data' dataset, found {len(names)} ({found})"
        )
    from ..data.verify import check_dataset_name

    check_dataset_name(names[0][: -len(".data")], dataset_dir / names[0])
    return names[0]


def check_output_dir(output_dir: str | os.PathLike, flag: str = "--output_dir") -> Path:
    """``output_dir`` as a Path if it is a folder or can be created as one, else :class:`AutoDLInputError`.

    Nothing is created: a path that exists as a file, or whose nearest
    existing parent is a file or not writable, is refused before anything starts.
    """
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise AutoDLInputError(path, f"{flag} exists and is not a folder; expected a folder (or a path to create)")
    parent = path
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise AutoDLInputError(parent, f"is a file, so {flag} {str(path)!r} cannot be created; expected a folder")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise AutoDLInputError(parent, f"is not writable, so {flag} {str(path)!r} cannot be written")
    return path


def check_method(method: Optional[str], code_dir: str | os.PathLike | None = None) -> Optional[str]:
    """Refuse an unknown ``--method`` before anything starts (only for our packaged ``model.py``).

    A submission's own ``model.py`` (another ``code_dir``) may read the
    variable as it likes, so its methods are not checked.
    """
    if method is None:
        return None
    if code_dir is not None and Path(code_dir).resolve() != default_code_dir():
        return method
    from ..domains.methods import check_method as registry_check_method

    try:
        return registry_check_method(method)  # METHODS or learner:<registered name>
    except AutoDLInputError as exc:
        raise AutoDLInputError("--method", exc.problem) from None


def check_data(data_entry: str | os.PathLike, solution: str | os.PathLike | None = None, *,
               check_solution: bool = True) -> None:
    """Read every record of ``data_entry`` (``X.data``) once; raise its first problem.

    Images are decoded when the record files total at most
    :data:`FULL_DECODE_BYTES`; above that, only their headers (size) are read.
    """
    from ..data.verify import record_bytes, verify_dataset

    data_entry = Path(data_entry)
    decode = record_bytes(data_entry) <= FULL_DECODE_BYTES
    report = verify_dataset(data_entry, decode_images=decode, first_only=True, solution=solution,
                            check_solution=check_solution)
    report.raise_first()


def check_time_budget(time_budget: Any) -> float:
    """``time_budget`` as a positive finite float, else :class:`AutoDLInputError`."""
    try:
        value = float(time_budget)
    except (TypeError, ValueError):
        raise AutoDLInputError("time_budget", f"expected a positive number of seconds, got {time_budget!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise AutoDLInputError("time_budget", f"expected a positive number of seconds, got {time_budget!r}")
    return value


def default_code_dir() -> Path:
    """Our packaged solver: the folder of ``autodl_solver/challenge/model.py``."""
    return Path(__file__).resolve().parent


@contextlib.contextmanager
def _time_limit(seconds: float, what: str) -> Iterator[None]:
    """The official ``Timer.time_limit``: ``SIGALRM`` after ``seconds``.

    Signals only reach the main thread; elsewhere the limit is not enforced
    (logged), which only matters when ingestion is run from a thread.
    """
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    if not use_alarm:
        logger.warning("%s: not in the main thread, the %d s limit is not enforced.", what, seconds)

    def on_alarm(signum, frame):
        raise TimeoutException("Timed out!")

    previous = signal.signal(signal.SIGALRM, on_alarm) if use_alarm else None
    if use_alarm:
        signal.alarm(int(math.ceil(seconds)))
    began = time.time()
    try:
        yield
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        spent = time.time() - began
        logger.info("%s success, time spent so far %s sec", what, spent)
    if spent >= seconds:
        raise TimeoutException(f"Timed out for the process: {what}!")


@contextlib.contextmanager
def _submission_on_path(code_dir: Path, ingestion_program_dir: Optional[Path]) -> Iterator[None]:
    """Put the submission first on ``sys.path``; restore path and ``model`` after."""
    saved_path = list(sys.path)
    saved_model = sys.modules.pop("model", None)
    sys.path[:0] = [str(code_dir), str(code_dir / "AutoDL_sample_code_submission")]
    if ingestion_program_dir is not None:
        sys.path.append(str(ingestion_program_dir))  # the official appends it
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path[:] = saved_path
        sys.modules.pop("model", None)
        if saved_model is not None:
            sys.modules["model"] = saved_model


def _import_model_class(code_dir: Path):
    """``from model import Model``, importing ``model`` afresh.

    Our packaged solver is imported as ``autodl_solver.challenge.model`` and
    aliased to ``model``: putting the package folder itself on ``sys.path``
    would let its module names shadow top-level modules for the whole process.
    """
    if code_dir == default_code_dir() and (code_dir / "model.py").is_file():
        module = importlib.import_module("autodl_solver.challenge.model")
        sys.modules["model"] = module
    from model import Model  # noqa: E402  (the participant's model.py)

    return Model


def enter_graph_mode() -> None:
    """Switch this process's TensorFlow to TF1 graph mode, as the 2019 platform ran (TF 1.13).

    Raises
    ------
    AutoDLInputError
        When TensorFlow has already run eagerly in this process and cannot
        switch any more.
    """
    import tensorflow as tf

    tf.compat.v1.disable_v2_behavior()
    if tf.executing_eagerly():
        raise AutoDLInputError("--tf_mode", "graph mode needs a fresh process (TensorFlow already ran eagerly here)")
    logger.info("TensorFlow in graph mode (tf.compat.v1.disable_v2_behavior), as the 2019 platform")


def _build_subsets(dataset_dir: Path, basename: str):
    from ..data.textproto import read_metadata
    from .tf_dataset import OfficialDataset

    data_root = dataset_dir / basename
    subsets = []
    for subset in ("train", "test"):
        subset_dir = data_root / subset
        if not subset_dir.is_dir():
            raise AutoDLInputError(subset_dir, f"missing; a dataset needs {basename}/train and {basename}/test")
        subsets.append(OfficialDataset(subset_dir, read_metadata(subset_dir)))
    return subsets


def _copy_outputs(output_dir: Path, score_dir: Path) -> None:
    """``cp -R output_dir/* score_dir`` (skipped when both are the same folder)."""
    score_dir.mkdir(parents=True, exist_ok=True)
    if score_dir.resolve() == output_dir.resolve():
        return
    for entry in sorted(output_dir.iterdir()):
        if entry.name.startswith("."):  # the shell glob skips hidden files (our temporaries)
            continue
        target = score_dir / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, target)


def run_ingestion(
    dataset_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    code_dir: str | os.PathLike | None = None,
    score_dir: str | os.PathLike | None = None,
    time_budget: float = DEFAULT_TIME_BUDGET,
    ingestion_program_dir: str | os.PathLike | None = None,
    *,
    init_time_budget: float = INIT_TIME_BUDGET,
    check_records: bool = True,
    tf_mode: str = "eager",
) -> int:
    """Run a submission on a dataset, as the official ingestion program.

    Parameters
    ----------
    dataset_dir : str or os.PathLike
        Folder holding exactly one ``<name>.data`` (with ``train/`` and ``test/``).
    output_dir : str or os.PathLike
        Receives ``start.txt``, ``<name>.predict_<k>`` and ``end.txt``.
    code_dir : str or os.PathLike, optional
        Folder of the submission's ``model.py``; default our packaged solver.
    score_dir : str or os.PathLike, optional
        When given, everything in ``output_dir`` is copied there at the end.
    time_budget : float
        The budget T in seconds for the train/test loop (official default 1200).
    ingestion_program_dir : str or os.PathLike, optional
        Appended to ``sys.path`` as the official does (for helper modules).
    init_time_budget : float
        Limit on importing ``model`` and calling ``Model(metadata)`` (20 min).
    check_records : bool
        Read every record before starting (:func:`check_data`); ``run``
        passes False because it has just done so.
    tf_mode : {"eager", "graph"}
        ``"graph"`` runs the way the 2019 platform did (TensorFlow 1.13):
        ``tf.compat.v1.disable_v2_behavior()`` before the datasets are built,
        so the model receives graph-mode ``tf.compat.v1.data`` datasets. It
        must come before any TensorFlow op in the process (a fresh process,
        as ``python -m autodl_solver.challenge.ingestion --tf_mode graph``).

    Returns
    -------
    int
        0 when the loop ended normally (``ingestion_success: 1``) and nothing
        was logged at ERROR level with an exception, 1 when the model failed
        (an exception, a bad prediction shape, no model, or an exception the
        model caught and logged).

    Raises
    ------
    AutoDLInputError
        Bad input found before the clock starts: no or several ``*.data``,
        a dataset name starting with '.', a missing subset or metadata, a
        record file that is cut short, corrupt or does not match the
        metadata, ``output_dir`` naming a file, a non-positive
        ``time_budget``; or a data error met during the run (raised after
        ``end.txt`` is written).
    """
    status, _ = _ingest(dataset_dir, output_dir, code_dir, score_dir, time_budget, ingestion_program_dir,
                        init_time_budget=init_time_budget, check_records=check_records, tf_mode=tf_mode)
    return status


def _ingest(dataset_dir, output_dir, code_dir, score_dir, time_budget, ingestion_program_dir, *,
            init_time_budget: float, check_records: bool, tf_mode: str = "eager") -> tuple[int, Optional[str]]:
    """:func:`run_ingestion`, also returning the cause of a failure (``None`` when it succeeded)."""
    _setup_logging()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if tf_mode not in TF_MODES:
        raise AutoDLInputError("--tf_mode", f"expected one of {', '.join(TF_MODES)}, got {tf_mode!r}")
    checked = check_time_budget(time_budget)
    if isinstance(time_budget, bool) or not isinstance(time_budget, int):
        time_budget = checked  # an int stays an int: start.txt then says 1200, as the official default
    dataset_dir, output_dir = Path(dataset_dir), Path(output_dir)
    code_dir = Path(code_dir).resolve() if code_dir is not None else default_code_dir()
    if not code_dir.is_dir():
        raise AutoDLInputError(code_dir, "code folder not found (expected the folder of model.py)")
    program_dir = Path(ingestion_program_dir).resolve() if ingestion_program_dir else None
    basename = find_data_entry(dataset_dir)
    check_output_dir(output_dir)
    if score_dir is not None:
        check_output_dir(score_dir, "--score_dir")
    if check_records:
        check_data(dataset_dir / basename, check_solution=False)
    output_dir.mkdir(parents=True, exist_ok=True)

    logger.info("*" * 48)
    logger.info("******** Processing dataset %s ********", basename[:-5].capitalize())
    logger.info("*" * 48)
    if tf_mode == "graph":
        enter_graph_mode()
    logger.info("Reading training set and test set...")
    d_train, d_test = _build_subsets(dataset_dir, basename)
    test_meta = d_test.get_metadata()
    expected_shape = (test_meta.size(), test_meta.get_output_size())

    recorder = _ErrorRecorder()
    with _submission_on_path(code_dir, program_dir), recorder.attached():
        status = _run_model(
            code_dir, output_dir, basename, d_train, d_test, expected_shape,
            time_budget, init_time_budget, Path(score_dir) if score_dir is not None else None,
        )
    if recorder.data_error is not None:
        raise recorder.data_error
    if recorder.failure is not None:
        return 1, recorder.failure
    return status, None if status == 0 else "see the log above"


class _ErrorRecorder(logging.Handler):
    """Remembers what was logged at ERROR level with an exception during the run.

    Attached to the package logger (the model's and the engine's records
    propagate there) and to the ingestion logger. A data error (an
    :class:`AutoDLInputError` anywhere in the exception chain, a TensorFlow
    ``DataLossError``/``InvalidArgumentError``, or a record flagged
    ``autodl_data_error`` such as the adapter's count mismatch) wins over
    any other failure.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.data_error: Optional[AutoDLInputError] = None
        self.failure: Optional[str] = None

    @contextlib.contextmanager
    def attached(self) -> Iterator["_ErrorRecorder"]:
        loggers = [logging.getLogger("autodl_solver"), logger]
        for each in loggers:
            each.addHandler(self)
        try:
            yield self
        finally:
            for each in loggers:
                each.removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        flagged = getattr(record, "autodl_data_error", None)
        if flagged is not None and self.data_error is None:
            self.data_error = AutoDLInputError(*flagged)
            return
        if record.levelno < logging.ERROR or not record.exc_info or record.exc_info[1] is None:
            return
        exc = record.exc_info[1]
        data = _data_error(exc)
        if data is not None:
            if self.data_error is None:
                self.data_error = data
        elif self.failure is None:
            self.failure = f"{record.getMessage().splitlines()[0]}: {type(exc).__name__}: {exc}"


def _data_error(exc: Optional[BaseException]) -> Optional[AutoDLInputError]:
    """The data error in ``exc``'s chain (ours, or TensorFlow's about the records), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, AutoDLInputError):
            return exc
        if type(exc).__name__ in _TF_DATA_ERRORS and type(exc).__module__.startswith("tensorflow"):
            from .tf_adapter import tf_error_message

            return AutoDLInputError("tf.data records",
                                    f"TensorFlow could not read the dataset: {tf_error_message(exc)}")
        exc = exc.__cause__ or exc.__context__
    return None


def _run_model(code_dir, output_dir, basename, d_train, d_test, expected_shape,
               time_budget, init_time_budget, score_dir) -> int:
    from .prediction_files import (
        append_timestamp, prediction_filename, write_end_file, write_prediction, write_start_file,
    )

    model = None
    try:
        with _time_limit(init_time_budget, "Initialization"):
            logger.info("Creating model...this process should not exceed %d min.", init_time_budget // 60)
            Model = _import_model_class(code_dir)
            # Train and test metadata differ only in sample_count.
            model = Model(d_train.get_metadata())
    except TimeoutException:
        logger.info("[-] Initialization phase exceeded time budget. Move to train/predict phase")
    except Exception as exc:
        logger.error("Failed to initializing model.")
        logger.error("Encountered exception:\n%s", exc, exc_info=True)

    start = time.time()
    logger.info("===== Start core part of ingestion program. Version: %s =====", VERSION)
    start_file = output_dir / "start.txt"
    write_start_file(start_file, ingestion_pid=os.getpid(), task_name=basename.split(".")[0],
                     time_budget=time_budget, start_time=start)

    success = True
    try:
        if model is None:
            raise ModelApiError("The model could not be created (see the error above).")
        for attr in ("train", "test"):
            if not hasattr(model, attr):
                raise ModelApiError(f"Your model object doesn't have the method `{attr}`. "
                                    "Please implement it in model.py.")
        use_done_training = hasattr(model, "done_training")
        if not use_done_training:
            logger.warning("Your model object doesn't have an attribute `done_training`. But this is "
                           "necessary for ingestion program to know whether the model has done training "
                           "and to decide whether to proceed more training. Please add this attribute "
                           "to your model.")
        k = 0
        while not (use_done_training and model.done_training):
            logger.info("Begin training the model...")
            model.train(d_train.get_dataset(), remaining_time_budget=start + time_budget - time.time())
            logger.info("Finished training the model.")
            logger.info("Begin testing the model by making predictions on test set...")
            prediction = model.test(d_test.get_dataset(), remaining_time_budget=start + time_budget - time.time())
            logger.info("Finished making predictions.")
            if prediction is None:
                logger.info("The method model.test returned `None`. Stop train/predict process.")
                break
            shape = getattr(prediction, "shape", None)
            if shape is None or tuple(shape) != expected_shape:
                raise BadPredictionShapeError(
                    f"Bad prediction shape! Expected {expected_shape} but got "
                    f"{tuple(shape) if shape is not None else type(prediction).__name__}."
                )
            append_timestamp(start_file, k, time.time())  # the timestamp comes before the file
            write_prediction(output_dir / prediction_filename(basename[:-5], k), prediction)
            k += 1
            logger.info("[+] %d predictions made, time spent so far %.2f sec", k, time.time() - start)
            remaining = start + time_budget - time.time()
            logger.info("[+] Time left %.2f sec", remaining)
            if remaining <= 0:
                break
    except Exception as exc:
        success = False
        logger.info("Failed to run ingestion.")
        logger.error("Encountered exception:\n%s", exc, exc_info=True)

    end_time = time.time()
    write_end_file(output_dir / "end.txt", ingestion_duration=end_time - start,
                   ingestion_success=success, end_time=end_time)
    logger.info("Wrote the file end.txt marking the end of ingestion.")
    if success:
        logger.info("[+] Done. Ingestion program successfully terminated.")
        logger.info("[+] Overall time spent %5.2f sec ", end_time - start)
    else:
        logger.info("[-] Done, but encountered some errors during ingestion.")
        logger.info("[-] Overall time spent %5.2f sec ", end_time - start)
    if score_dir is not None:
        _copy_outputs(output_dir, score_dir)
    logger.info("[Ingestion terminated]")
    return 0 if success else 1


def build_parser(parser: Optional[argparse.ArgumentParser] = None) -> argparse.ArgumentParser:
    """The official command-line flags (``--flag value`` or ``--flag=value``)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m autodl_solver.challenge.ingestion",
        description="AutoDL 2019 ingestion program: run model.py on one dataset and write predictions.",
    )
    parser.add_argument("--dataset_dir", required=True, help="folder holding exactly one <name>.data")
    parser.add_argument("--output_dir", required=True, help="where start.txt, predictions and end.txt go")
    parser.add_argument("--code_dir", default=None,
                        help="folder of the submission's model.py (default: this package's solver)")
    parser.add_argument("--score_dir", default=None, help="copy every output there at the end")
    parser.add_argument("--time_budget", type=float, default=DEFAULT_TIME_BUDGET,
                        help=f"train/test budget T in seconds (default {DEFAULT_TIME_BUDGET})")
    parser.add_argument("--ingestion_program_dir", default=None,
                        help="appended to sys.path, as the official program does")
    parser.add_argument("--no_data_check", action="store_true",
                        help="skip reading every record before the run (autodl-solver run has done it)")
    parser.add_argument("--tf_mode", choices=TF_MODES, default="eager",
                        help="eager (TF2, default) or graph: TF1 graph-mode datasets, as the 2019 platform "
                             "(TensorFlow 1.13) gave them to model.py")
    return parser


def main_from_args(args: argparse.Namespace) -> int:
    """Run ingestion from parsed flags (shared by ``__main__`` and ``autodl-solver ingest``)."""
    dataset_dir, code_dir = args.dataset_dir, args.code_dir
    # The official CodaLab rewrite of the worker's directory names.
    if code_dir and dataset_dir.endswith("run/input") and code_dir.endswith("run/program"):
        dataset_dir = dataset_dir.replace("run/input", "run/input_data")
        code_dir = code_dir.replace("run/program", "run/submission")
    status, cause = _ingest(dataset_dir, args.output_dir, code_dir, args.score_dir, args.time_budget,
                            args.ingestion_program_dir, init_time_budget=INIT_TIME_BUDGET,
                            check_records=not getattr(args, "no_data_check", False),
                            tf_mode=getattr(args, "tf_mode", "eager"))
    if status != 0:
        print(f"error: ingestion failed: {cause}", file=sys.stderr, flush=True)
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m autodl_solver.challenge.ingestion``: exit 0 ok, 1 model failure, 2 bad input."""
    args = build_parser().parse_args(argv)
    try:
        return main_from_args(args)
    except AutoDLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
