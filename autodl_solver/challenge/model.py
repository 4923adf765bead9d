"""The drop-in AutoDL 2019 ``model.py``: ``Model(metadata)``, ``train``, ``test``, ``done_training``.

The official ingestion program (``docs/protocol.md`` §1.2) does
``from model import Model`` with this folder (or an unzipped submission whose
root ``model.py`` re-exports this class) on ``sys.path``, so this module only
uses absolute imports of ``autodl_solver``.

* ``__init__`` is not timed: it reads the settings, seeds every generator,
  imports the heavy modules, builds the any-time :class:`Engine` (and so the
  learner portfolio) and warms up torch (winners' lesson 1).
* ``train`` starts the engine clock on its first call and runs the engine
  until it has a new best validated model (lesson 5), leaving time to
  predict the test set. The engine keeps the seconds the next best model
  needs to predict (its members' measured predict cost); this class keeps
  the rest of a ``test`` call and of ingestion's handling of its output
  (the call minus the engine's prediction, plus the time until the next
  ``train``), measured on earlier calls. Reserving the whole slowest recent
  call here as well counted the prediction twice: on a 300k-row table at
  T = 30 s one 2.2 s test call (after a GBDT round) kept 3.8 s back while
  the best model (an MLP) predicted in 0.3 s, and the run ended with 5.2 s
  unused. The only safety margin is the engine's (``safety_margin_s`` +
  ``safety_fraction`` x T before the deadline given to it); this class kept
  another 0.5 s, which at T = 20-30 s alone was 2 % of T idle.
* ``test`` converts the test set once (lesson 3) and predicts it with the
  best model. A large test set is read progressively when its size is known
  (from ``X.data/test/metadata.textproto`` beside the train subset): the
  first call reads for at most 0.5 s and, when that was not all, predicts
  the rows read so far (the others get the mean of those predictions), so
  the first prediction does not wait for the whole test set; the next call
  reads the rest (within the time left) and predicts every row. Nothing ever escapes: an exception is logged with its
  traceback and the last good prediction, or a neutral all-zero one of the
  right shape, is returned (lesson 9).

Settings, in order of precedence: the environment variables
``AUTODL_SOLVER_METHOD`` / ``AUTODL_SOLVER_SEED`` / ``AUTODL_SOLVER_PRIOR``,
then the file ``autodl_solver_config.json`` (keys ``method``, ``seed``,
``config``, a mapping of :class:`~autodl_solver.anytime.config.EngineConfig`
overrides, and ``prior``) beside this file, at the submission root or in the
working directory, then the defaults (``"solver"``, seed 0, no prior).
A prior is a T-NAML prior file (:mod:`autodl_solver.naml.prior`): it puts
the learner the transferred controller prefers first and overrides some
learner config fields (``autodl-solver run --prior FILE``).
"""
from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from autodl_solver.data.dataset import Dataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.errors import AutoDLInputError, NoPredictionError

logger = logging.getLogger("autodl_solver.challenge.model")

SETTINGS_FILE = "autodl_solver_config.json"
METHOD_ENV = "AUTODL_SOLVER_METHOD"
SEED_ENV = "AUTODL_SOLVER_SEED"
PRIOR_ENV = "AUTODL_SOLVER_PRIOR"
#: When set, the engine's round log is kept at this path (``anytime.callbacks.RoundLogWriter``).
ROUND_LOG_ENV = "AUTODL_SOLVER_ROUND_LOG"
DEFAULT_METHOD = "solver"
#: Budget assumed when ``train`` gets no ``remaining_time_budget`` (the official default T).
DEFAULT_TIME_BUDGET = 1200.0
#: Seconds kept for ``test`` before anything was measured (the first call also converts the test set).
FIRST_TEST_RESERVE_S = 2.0
#: Reserve = ``TEST_RESERVE_FACTOR`` x the slowest recent test overhead (a call beyond the engine's prediction,
#: plus ingestion's time until the next ``train``). The safety margin is the engine's own (``safety_margin_s`` +
#: ``safety_fraction`` x T, kept free before the deadline this class gives it); a second one here kept 0.5 s
#: more of every run idle (see the module docstring).
TEST_RESERVE_FACTOR = 1.5
#: Seconds the first ``test`` call may spend converting a test set of known size before it predicts the
#: rows read so far; the next call reads the rest, and the ``train`` call between them returns at once so
#: that it comes seconds later, not after the next better model (fortunes categories at T = 300 s, in an
#: exploratory run before this rule: a partial NAUC of 0.29 at 2.4 s stood until 28 s; with it,
#: ``text_T300_v3``: 0.41 at 2.46 s, the whole set 0.50 at 2.85 s). One short partial prediction gains ALC; more would
#: delay the first full one (measured: 300k rows, ``benchmarks/official_path.py``).
TEST_READ_SLICE_S = 0.5
#: Consecutive failures of ``engine.train`` after which training stops.
MAX_TRAIN_FAILURES = 2


def settings_paths() -> list[Path]:
    """Where ``autodl_solver_config.json`` is looked for, first match wins."""
    here = Path(__file__).resolve().parent
    candidates = [here / SETTINGS_FILE, here.parents[1] / SETTINGS_FILE]  # beside model.py; submission root
    shim = sys.modules.get("model")
    shim_file = getattr(shim, "__file__", None)
    if shim_file:
        candidates.insert(1, Path(shim_file).resolve().parent / SETTINGS_FILE)
    candidates.append(Path.cwd() / SETTINGS_FILE)
    unique: list[Path] = []
    for path in candidates:
        if path not in unique:
            unique.append(path)
    return unique


def load_settings() -> dict[str, Any]:
    """The method, seed and config overrides ``Model`` runs with.

    Returns
    -------
    dict
        ``{"method": str, "seed": int, "config": dict, "prior": str or None, "source": str}``.

    Raises
    ------
    AutoDLInputError
        If the settings file is not a JSON object of known keys, or a seed is
        not an integer.
    """
    settings: dict[str, Any] = {"method": DEFAULT_METHOD, "seed": 0, "config": {}, "prior": None,
                                "source": "defaults"}
    for path in settings_paths():
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise AutoDLInputError(path, f"expected a JSON object with method/seed/config ({exc})") from None
            if not isinstance(data, dict) or set(data) - {"method", "seed", "config", "prior"}:
                raise AutoDLInputError(path, "expected a JSON object with only the keys method, seed, config, prior")
            settings.update({k: v for k, v in data.items() if v is not None})
            settings["source"] = str(path)
            break
    if os.environ.get(METHOD_ENV):
        settings["method"] = os.environ[METHOD_ENV]
    if os.environ.get(SEED_ENV):
        settings["seed"] = os.environ[SEED_ENV]
    if os.environ.get(PRIOR_ENV):
        settings["prior"] = os.environ[PRIOR_ENV]
    if settings["prior"] is not None and not isinstance(settings["prior"], str):
        raise AutoDLInputError("prior", f"expected the path of a T-NAML prior file, got {settings['prior']!r}")
    try:
        settings["seed"] = int(settings["seed"])
    except (TypeError, ValueError):
        raise AutoDLInputError("seed", f"expected an integer, got {settings['seed']!r}") from None
    if not isinstance(settings["config"], dict):
        raise AutoDLInputError("config", f"expected a JSON object of overrides, got {settings['config']!r}")
    return settings


def setup_logging() -> None:
    """Show the solver's INFO log on stderr when nobody configured logging.

    The official ingestion program configures only its own logger, so
    without this the engine's rounds and the model's decisions would be
    invisible in a challenge run's log.
    """
    package = logging.getLogger("autodl_solver")
    # only a handler that writes somewhere counts: ingestion attaches a recorder of errors to this logger
    # while the model runs, and the model's log must still reach ingestion.log
    if any(isinstance(h, logging.StreamHandler) for h in package.handlers) or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.INFO)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (same seed, same result on CPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # torch-free install: the learners that need it are not registered
        pass


def warm_up(domain: str) -> None:
    """Pay one-off start-up costs now, while the clock is not running.

    A first torch op initialises the thread pools (and CUDA when present);
    TensorFlow is imported for the dataset adapter and kept off the GPU; on
    speech, one tiny librosa call compiles its numba kernels (about 17 s in a
    fresh environment, 1.5 s per process after).
    """
    try:
        import torch

        a = torch.ones(64, 64)
        (a @ a).sum().item()
        if torch.cuda.is_available():
            torch.ones(8, device="cuda").sum().item()
    except ImportError:
        pass
    from autodl_solver.challenge.tf_adapter import hide_gpus_from_tensorflow

    hide_gpus_from_tensorflow()
    if domain == "speech":
        try:
            import librosa

            librosa.feature.mfcc(y=np.zeros(4000, np.float32), sr=16000, n_mfcc=13)
        except Exception:  # noqa: BLE001 - warm-up only; the speech learner reports real errors
            logger.debug("librosa warm-up failed", exc_info=True)


class Model:
    """The AutoDL 2019 submission: an any-time solver behind the official API.

    Parameters
    ----------
    metadata : Metadata or official ``AutoDLMetadata``
        Metadata of the training set.

    Attributes
    ----------
    done_training : bool
        Set once more training cannot help or no time is left; the ingestion
        loop then calls ``test`` once more and stops.
    engine : Engine
        The any-time engine (portfolio, validation, best checkpoint).
    settings : dict
        Method, seed and config overrides in use (see :func:`load_settings`).
    """

    def __init__(self, metadata: Any) -> None:
        setup_logging()
        self.done_training = False
        from autodl_solver.challenge.tf_dataset import sibling_test_count

        self._test_count = sibling_test_count(metadata)  # None: unknown, the test set is read to its end
        self.metadata = Metadata.from_official(metadata)
        self.settings = load_settings()
        seed_everything(self.settings["seed"])
        from autodl_solver.anytime.callbacks import Callback, LoggingCallback, RoundLogWriter
        from autodl_solver.anytime.config import EngineConfig
        from autodl_solver.anytime.engine import Engine
        from autodl_solver.domains.inference import infer_domain

        self.domain = infer_domain(self.metadata)
        warm_up(self.domain)
        config = EngineConfig().update(self.settings["config"])
        learners, scheduling = None, None
        if self.settings.get("prior"):
            from autodl_solver.naml.prior import build_prior_portfolio, scheduling_prior

            built = build_prior_portfolio(self.settings["prior"], self.settings["method"], self.metadata,
                                          seed=int(config.seed if config.seed is not None else self.settings["seed"]))
            if built is not None:
                learners, engine_overrides = built
                config = config.update(engine_overrides or {})
                # the controller's choice reaches the scheduler through the same interface as the fitted prior
                scheduling = scheduling_prior(self.settings["prior"], self.metadata)
        callbacks: list[Callback] = [LoggingCallback()]
        if os.environ.get(ROUND_LOG_ENV):
            callbacks.append(RoundLogWriter(os.environ[ROUND_LOG_ENV]))
        self.engine = Engine(self.metadata, learners, method=self.settings["method"], config=config,
                             seed=self.settings["seed"], callbacks=callbacks, prior=scheduling)
        logger.info("Model: %s domain, method %s, seed %d (settings from %s)", self.domain,
                    self.settings["method"], self.settings["seed"], self.settings["source"])
        self._deadline_wall: Optional[float] = None
        self._train_source: Any = None
        self._train_data: Optional[Dataset] = None
        self._test_source: Any = None
        self._test_data: Optional[Dataset] = None
        self._last_prediction: Optional[np.ndarray] = None
        self._test_costs: list[float] = []  # overheads of test calls that read no new test rows
        self._read_costs: list[float] = []  # the same, of calls that read test rows (used while none of those)
        self._last_test: Optional[tuple[float, float, bool]] = None  # (end, overhead, read rows) of the last call
        self._partial_done = False  # one partial first prediction at most
        self._complete_next = False  # the last test() was partial: the next train() returns at once
        self._train_failures = 0
        self.n_train_calls = 0
        self.n_test_calls = 0

    # ------------------------------------------------------------------ train
    def train(self, dataset: Any, remaining_time_budget: Optional[float] = None) -> None:
        """Train until a new best validated model exists or the time is up.

        Parameters
        ----------
        dataset : tf.data.Dataset or Dataset
            The training set (the same object on every call).
        remaining_time_budget : float, optional
            Seconds left in the budget (``None``: 1200 from the first call).
        """
        self.n_train_calls += 1
        self._record_test_overhead()
        if self.done_training:
            return
        if self._complete_next:
            # the last prediction filled the unread test rows with a mean: let ingestion call test() again
            # now, which reads them all, instead of after the next better model (seconds to minutes later)
            self._complete_next = False
            return
        now = time.time()
        try:
            if self._deadline_wall is None:
                budget = DEFAULT_TIME_BUDGET if remaining_time_budget is None else float(remaining_time_budget)
                self._deadline_wall = now + budget
                if budget <= 0:
                    logger.warning("Model.train: no time budget left (%.2f s); not training", budget)
                    self.done_training = True
                    return
                self.engine.start_clock(budget, start=now)
            if remaining_time_budget is not None:
                # Ingestion's clock started a little before ours: trust the smaller deadline.
                self._deadline_wall = min(self._deadline_wall, now + float(remaining_time_budget))
            remaining = self._deadline_wall - now
            reserve = self._test_reserve_s()
            if remaining <= reserve:
                logger.info("Model.train: %.2f s left, %.2f s kept for test: training is over", remaining, reserve)
                self.done_training = True
                return
            self._set_train_data(dataset)
            # The engine clock reads time.time(), so wall deadlines are engine deadlines.
            improved = self.engine.train(self._deadline_wall - reserve)
            self._train_failures = 0
            if not improved:
                # Every learner is done or retired, or nothing fits before the (fixed) deadline:
                # later calls could not do better.
                reason = "every learner is done or retired, or time is up" if self.engine.done else \
                    "no learner's next round fits before the deadline"
                logger.info("Model.train: no better model to come (%s); done", reason)
                self.done_training = True
            elif self.engine.done:
                # engine.done also holds when no round fits before the deadline (the engine logs which
                # learners were refused for time): not "every learner is done"
                logger.info("Model.train: nothing more to train (every learner is done or retired, or no round "
                            "fits before the deadline)")
                self.done_training = True
        except Exception:  # noqa: BLE001 - never let ingestion fail: log and keep the last prediction
            self._train_failures += 1
            logger.exception("Model.train failed (%d in a row)", self._train_failures)
            if self._train_failures >= MAX_TRAIN_FAILURES:
                self.done_training = True

    def _set_train_data(self, dataset: Any) -> None:
        if self._train_data is not None and dataset is self._train_source:
            return
        from autodl_solver.challenge.tf_adapter import TFDatasetAdapter

        self._train_source = dataset
        self._train_data = TFDatasetAdapter(dataset, self.metadata, sample_count=self.metadata.size(),
                                            has_labels=True)
        self.engine.set_train_data(self._train_data)

    def _record_test_overhead(self) -> None:
        """Add the last test call's overhead, with ingestion's time since it returned, to the measured ones."""
        if self._last_test is None:
            return
        end, overhead, read = self._last_test
        self._last_test = None
        (self._read_costs if read else self._test_costs).append(overhead + max(0.0, time.time() - end))

    def _test_reserve_s(self) -> float:
        """Seconds a ``test`` call and ingestion need beyond the engine's prediction (see the module docstring)."""
        costs = self._test_costs or self._read_costs  # a call that read test rows says little of the next ones
        if not costs:
            return FIRST_TEST_RESERVE_S
        return TEST_RESERVE_FACTOR * max(costs[-3:])

    # ------------------------------------------------------------------- test
    def test(self, dataset: Any, remaining_time_budget: Optional[float] = None) -> np.ndarray:
        """Predict the test set with the best model so far.

        Parameters
        ----------
        dataset : tf.data.Dataset or Dataset
            The test set (labels all zero); converted once and cached.
        remaining_time_budget : float, optional
            Seconds left (informational).

        Returns
        -------
        numpy.ndarray
            Finite float32 scores of shape ``(n_test, output_dim)``: the best
            model's, else the last good prediction, else zeros.
        """
        self.n_test_calls += 1
        began = time.time()
        partial, read, predict_s = False, True, 0.0
        try:
            data = self._get_test_data(dataset)
            read = not getattr(data, "complete", False)
            rows = self._readable_rows(data, remaining_time_budget)
            partial = rows is not data
            tic = time.time()
            prediction = self.engine.predict_test(rows)
            predict_s = time.time() - tic  # the engine reserves this part itself
            if prediction is None:
                raise NoPredictionError("the engine has no validated model yet")
            if partial:
                prediction = _fill_unread(np.asarray(prediction, np.float32), len(data))
            self._last_prediction = self._checked(prediction, len(data))
        except NoPredictionError as exc:
            logger.info("Model.test: %s; returning the %s prediction", exc,
                        "last" if self._last_prediction is not None else "neutral")
        except Exception:  # noqa: BLE001 - return the previous predictions instead of failing
            logger.exception("Model.test failed; returning the %s prediction",
                             "last" if self._last_prediction is not None else "neutral")
        finally:
            if not partial:  # a partial call's cost says nothing about predicting the whole set
                end = time.time()
                self._last_test = (end, end - began - predict_s, read)
        if self._last_prediction is not None:
            return self._last_prediction.copy()  # the caller may keep or change it
        return np.zeros((self._n_test(), self.metadata.output_dim), np.float32)

    def _get_test_data(self, dataset: Any) -> Dataset:
        if self._test_data is None or dataset is not self._test_source:
            from autodl_solver.challenge.tf_adapter import TFDatasetAdapter

            self._test_source = dataset
            self._test_data = TFDatasetAdapter(dataset, self.metadata, sample_count=self._test_count,
                                               has_labels=False)
        return self._test_data

    def _readable_rows(self, data: Dataset, remaining_time_budget: Optional[float]) -> Dataset:
        """``data`` once it is all read, else the rows read within this call's slice (see the module doc)."""
        from autodl_solver.challenge.tf_adapter import TFDatasetAdapter

        if not isinstance(data, TFDatasetAdapter) or self._test_count is None or data.complete:
            return data
        # one partial prediction at most: the first call reads for a slice, later calls read all they can
        slice_s = TEST_READ_SLICE_S if not self._partial_done and not self.done_training else float("inf")
        if remaining_time_budget is not None:
            slice_s = min(slice_s, max(0.0, float(remaining_time_budget) - self._test_reserve_s()))
        if data.read_for(slice_s):
            return data
        self._partial_done = self._complete_next = True
        logger.info("Model.test: %d of %d test rows read so far; the others get the mean prediction of those",
                    data.n_read, len(data))
        if data.n_read == 0:
            raise NoPredictionError("no test row read yet")
        return data.prefix(data.n_read)

    def _n_test(self) -> int:
        """Number of test examples, or what could be read of them."""
        if self._test_data is None:
            return 0
        try:
            return len(self._test_data)
        except Exception:  # noqa: BLE001 - an unreadable test set: the rows read so far
            logger.exception("Model.test: cannot count the test examples")
            return int(getattr(self._test_data, "n_read", 0))

    def _checked(self, prediction: Any, n_test: int) -> np.ndarray:
        """``prediction`` as finite float32 ``(n_test, output_dim)``, else an error."""
        out = np.asarray(prediction, dtype=np.float32)
        expected = (n_test, self.metadata.output_dim)
        if out.shape != expected:
            raise AutoDLInputError("prediction", f"shape {out.shape}, expected {expected}")
        if not np.all(np.isfinite(out)):
            logger.warning("Model.test: replacing %d non-finite scores", int(np.count_nonzero(~np.isfinite(out))))
            out = np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0)
        return out


def _fill_unread(prediction: np.ndarray, n_total: int) -> np.ndarray:
    """The predictions of the rows read, then their mean for the ``n_total - len`` rows not read yet."""
    full = np.empty((n_total, prediction.shape[1]), np.float32)
    full[:len(prediction)] = prediction
    full[len(prediction):] = prediction.mean(axis=0)
    return full
