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
``*.data``, a non-positive budget) is a one-line
:class:`~autodl_solver.errors.AutoDLInputError` instead of a traceback.

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
#: The official default budget T (seconds).
DEFAULT_TIME_BUDGET = 1200
#: Environment variable that tells our own model.py which method to run.
METHOD_ENV = "AUTODL_SOLVER_METHOD"

logger = logging.getLogger("autodl_solver.ingestion")


class ModelApiError(Exception):
    """The model object lacks ``train`` or ``test``."""


class BadPredictionShapeError(Exception):
    """``test()`` returned an array whose shape is not (test examples, classes)."""


class TimeoutException(Exception):
    """The model initialization exceeded its time limit."""


def _setup_logging() -> None:
    """Official-looking log lines on stderr, once."""
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
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
    return names[0]


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

    Returns
    -------
    int
        0 when the loop ended normally (``ingestion_success: 1``), 1 when the
        model failed (an exception, a bad prediction shape, no model).

    Raises
    ------
    AutoDLInputError
        Bad input found before the clock starts: no or several ``*.data``,
        a missing subset or metadata, a non-positive ``time_budget``.
    """
    _setup_logging()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    checked = check_time_budget(time_budget)
    if isinstance(time_budget, bool) or not isinstance(time_budget, int):
        time_budget = checked  # an int stays an int: start.txt then says 1200, as the official default
    dataset_dir, output_dir = Path(dataset_dir), Path(output_dir)
    code_dir = Path(code_dir).resolve() if code_dir is not None else default_code_dir()
    if not code_dir.is_dir():
        raise AutoDLInputError(code_dir, "code folder not found (expected the folder of model.py)")
    program_dir = Path(ingestion_program_dir).resolve() if ingestion_program_dir else None
    basename = find_data_entry(dataset_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    logger.info("*" * 48)
    logger.info("******** Processing dataset %s ********", basename[:-5].capitalize())
    logger.info("*" * 48)
    logger.info("Reading training set and test set...")
    d_train, d_test = _build_subsets(dataset_dir, basename)
    test_meta = d_test.get_metadata()
    expected_shape = (test_meta.size(), test_meta.get_output_size())

    with _submission_on_path(code_dir, program_dir):
        return _run_model(
            code_dir, output_dir, basename, d_train, d_test, expected_shape,
            time_budget, init_time_budget, Path(score_dir) if score_dir is not None else None,
        )


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
    return parser


def main_from_args(args: argparse.Namespace) -> int:
    """Run ingestion from parsed flags (shared by ``__main__`` and ``autodl-solver ingest``)."""
    dataset_dir, code_dir = args.dataset_dir, args.code_dir
    # The official CodaLab rewrite of the worker's directory names.
    if code_dir and dataset_dir.endswith("run/input") and code_dir.endswith("run/program"):
        dataset_dir = dataset_dir.replace("run/input", "run/input_data")
        code_dir = code_dir.replace("run/program", "run/submission")
    return run_ingestion(dataset_dir, args.output_dir, code_dir=code_dir, score_dir=args.score_dir,
                         time_budget=args.time_budget, ingestion_program_dir=args.ingestion_program_dir)


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
