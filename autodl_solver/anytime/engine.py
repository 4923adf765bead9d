"""The any-time engine: trains a portfolio of learners in rounds under a wall-clock budget.

Round logic
-----------
:meth:`Engine.train` runs rounds until a **new best validated model** exists
(then it returns ``True`` at once, so the caller can predict: any-time) or
until no learner can be admitted before the deadline (``False``). One round:

1. **Pick a learner** (``anytime/scheduler.py``): the admissible round with
   the highest expected ALC gain per second, a hold-out gain ``delta``
   landing at time ``t`` being worth ``delta * (1 - t~(t))`` on the
   challenge's log time axis. Untried learners are valued from the
   scheduling prior (``anytime/prior.py``, fitted from recorded runs; without
   one they are probed first, in portfolio order); measured costs replace the
   prior once a learner ran. A learner whose first round is expected to take
   more than ``max_first_round_fraction`` of T on this device is skipped
   (logged), unless it is the only one. Failed, ``done`` and retired learners
   (no gain on their own best for ``patience`` rounds) are skipped.
2. **Admission control.** A learner is admitted only if
   ``next_cost_s() * cost_inflation * overrun`` plus the estimated cost of
   reading its new rows fits in the time left after reserving the validation
   and test prediction costs and the safety margin (``overrun`` is the
   learner's last measured actual/estimated cost ratio). When no full
   increment fits, a learner that honours ``budget_s`` (``budget_aware``) may
   run a **shortened** one sized to the time left (at least
   ``partial_min_fraction`` of the full one), so the budget is used to the
   end; any other learner whose increment does not fit is never started.
3. **Train** ``learner.fit(pool, budget_s)`` where ``budget_s`` is the time it
   may use before the reserve, capped at ``round_budget_factor`` times its
   expected cost (a learner whose cost explodes stops there and is
   re-estimated from its measured cost); the pool's row window lets its k-th round read
   at most ``first_rows * row_growth**k`` rows, so the first prediction only
   needs the first chunk.
4. **Validate** on the hold-out with the official NAUC. A learner that
   raises, or returns predictions of the wrong shape or with NaN/inf, is
   reported (``on_learner_error``), marked failed and never used again; the
   last good best model is kept.
5. **Best model.** The candidate is the best single learner or, when it beats
   it, the greedy ensemble of the learners' latest validation predictions
   (``anytime/ensemble.py``). With ``gate_on_validation`` it becomes the new
   best only if it beats the previous best by ``min_improvement`` (and, when
   it drops a member of the best model, by more than one pair flip of the
   hold-out: on a 20-example hold-out a one-pair "gain" is a coin toss), so
   an emitted prediction is never worse on validation than the one before;
   without it (the seed paper's baselines) every successful round's learner
   becomes the model. One tie counts as better: when the best model is a
   single learner and its next round, on more training rows or after more
   training, scores at least as well, it is emitted again (a saturated
   hold-out, NAUC 1.0, cannot rank the later model higher, and the first one
   would be kept for the rest of the run). And when a member of a best
   blend trains on but the swap is refused, the same blend with that
   member's new round is tried: it keeps every member, so it needs only
   ``min_improvement``.

A new best is emitted (``train`` returns) once ``prediction_gap_ratio`` times
the last test-prediction cost has passed since the previous one, or at once
when nothing else can run. :meth:`Engine.predict_test` caches the test set and
the prediction of each best-model version.

Learners cannot be rolled back: a learner that gets worse after being part of
the best model keeps its new state (learners keep their own best checkpoint),
but the cached test prediction of the emitted version is not recomputed.

Corrupt test rows
-----------------
A test set read with placeholders for undecodable input (``AutoDLSubset``
with ``on_corrupt="skip"`` puts zero images) lists those rows in
``Dataset.corrupt_rows``. :meth:`Engine.prepare_test` notes them (one
``logging`` warning with their count) and :meth:`Engine.predict_test` gives
them a **neutral prediction** instead of the model's score of a blank image:
the class prior, i.e. the mean of the training labels the pool has read so far
(without the hold-out), or, before any was read, 0.5 per class for
multi-label data and ``1/output_dim`` otherwise. A constant row sits in the
middle of each class's ranking, which is what NAUC sees. :meth:`Engine.predict`
on raw arrays is unchanged.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from ..data.dataset import Dataset
from ..data.metadata import Metadata
from ..errors import AutoDLInputError, NoPredictionError
from .callbacks import Callback, RoundInfo
from .clock import Clock, check_budget
from .config import EngineConfig
from .data_pool import DataPool
from .ensemble import Selection, blend, greedy_selection, rank_reference
from .learner import Learner
from .prior import LearnerPrior, SchedulingPrior, example_units, load_prior
from .scheduler import Choice, RoundOption, Scheduler
from .validation import pair_flip, validation_nauc

__all__ = ["Engine"]

logger = logging.getLogger(__name__)
_MIN_COST_S = 1e-3  # floor of cost estimates in the gain-per-second priority


@dataclass
class _Slot:
    """The engine's bookkeeping for one learner."""

    index: int
    name: str
    learner: Learner
    rounds: int = 0
    rows: int = 0  # rows read in the last round
    failed: bool = False
    retired: bool = False
    error: Optional[str] = None
    score: Optional[float] = None  # latest validation NAUC
    best_own: float = -math.inf
    stall: int = 0
    gain_ema: float = 0.0
    overrun: float = 1.0
    predict_s_per_row: float = 0.0
    val_pred: Optional[np.ndarray] = None
    prior: Optional[LearnerPrior] = None
    fit_costs: list[float] = field(default_factory=list)  # measured seconds of each round
    skipped: Optional[str] = None  # why the scheduler never runs it
    # (round seconds, seconds left, reserve by term, shortest shortened round or None if it cannot be shortened)
    # when its next round last did not fit; formatted only if the run logs it, not on every admission
    refused: Optional[tuple[float, float, dict[str, float], Optional[float]]] = None
    # (best-model version, state_dict, score, validation prediction) taken before a best-model member
    # trains again, so that Engine.fit can hand back the members as they were when they were best
    snapshot: Optional[tuple] = None
    # (test inputs, prediction) of the learner's current state: a blend member that did not train since is
    # not predicted again (a GBDT's 3.5 s on 60k rows was paid at every later blend); dropped when it fits
    test_pred: Optional[tuple] = None
    test_predict_s: float = 0.0  # measured seconds of its last test prediction
    # most seconds a round of it ran past its budget (a budget-aware learner stops at its next step: a
    # per-frame video network's step was 0.3 s): later rounds get that much less, so the margin is not eaten
    late_s: float = 0.0

    @property
    def usable(self) -> bool:
        return not self.failed and self.val_pred is not None


class Engine:
    """Any-time training of a learner portfolio (see the module docstring for the round logic).

    Parameters
    ----------
    metadata : Metadata
        Metadata of the training set.
    learners : sequence of Learner, optional
        The portfolio, cheap to strong. ``None`` builds it with
        ``autodl_solver.domains.methods.build_portfolio(method, metadata, seed)``,
        whose engine-config overrides are applied on top of ``config``.
    method : str
        Registry method used when ``learners`` is None.
    config : EngineConfig, optional
        Engine settings (defaults when None).
    seed : int
        Seed of the hold-out split and of the registry's learners
        (``config.seed`` wins when set).
    callbacks : sequence of Callback
        Receive the run's events.
    prior : SchedulingPrior, optional
        The scheduling prior to use instead of the one ``config.scheduler_prior``
        names (the interface any prior source feeds: a fitted file, T-NAML).
    """

    def __init__(self, metadata: Metadata, learners: Optional[Sequence[Learner]] = None, *, method: str = "solver",
                 config: Optional[EngineConfig] = None, seed: int = 0, callbacks: Sequence[Callback] = (),
                 prior: Optional[SchedulingPrior] = None) -> None:
        config = config or EngineConfig()
        config.validate()
        self.seed = int(config.seed if config.seed is not None else seed)
        if learners is None:
            from ..domains.methods import build_portfolio

            learners, overrides = build_portfolio(method, metadata, seed=self.seed)
            config = config.update(overrides or {})
        learners = list(learners)
        if not learners:
            raise AutoDLInputError("learners", "expected at least one learner")
        for i, learner in enumerate(learners):
            for attr in ("fit", "predict", "next_cost_s"):
                if not callable(getattr(learner, attr, None)):
                    raise AutoDLInputError(f"learners[{i}]", f"{type(learner).__name__} has no {attr}() method")
        self.metadata = metadata
        self.method = method
        self.config = config
        self.callbacks: list[Callback] = list(callbacks)
        self._slots = [_Slot(i, n, l) for i, (n, l) in enumerate(zip(_unique_names(learners), learners))]
        self.clock: Optional[Clock] = None
        self.pool: Optional[DataPool] = None
        self.history: list[RoundInfo] = []
        self.learning_curve: list[dict[str, Any]] = []
        self.best_score: Optional[float] = None
        self.best_learner: Optional[str] = None
        self._best: Optional[Selection] = None
        self._best_rows: dict[int, int] = {}  # training rows of each best-model member when it became best
        self._best_rounds: dict[int, int] = {}  # training rounds of each best-model member when it became best
        self._version = 0
        self._emitted = 0
        self._last_emit: Optional[float] = None
        self._deadline = math.inf
        self._margin = config.safety_margin_s
        self._refusals_logged = False  # "no round fits" is said once per run
        self._val: Optional[tuple[list[np.ndarray], np.ndarray]] = None
        self._test_ref: Optional[Dataset] = None
        self._test_xs: Optional[list[np.ndarray]] = None
        self._test_size = 0
        self._test_corrupt = np.zeros(0, np.int64)  # test rows that get the neutral prediction
        self._pred_cache: Optional[tuple[int, np.ndarray]] = None
        self._predict_cost_s = 0.0
        self.domain = _domain_of(metadata)
        self.device = _device_kind()
        self.prior: Optional[SchedulingPrior] = prior if prior is not None else _resolve_prior(config.scheduler_prior)
        for slot in self._slots:
            if self.prior is not None:
                slot.prior = self.prior.get(self.domain, getattr(slot.learner, "name", "") or slot.name, self.device)
        self.scheduler: Optional[Scheduler] = None
        self.last_choice: Optional[Choice] = None
        self._keep_best_states = False  # Engine.fit only (see restore_best)

    # ---------------------------------------------------------------- setup
    @property
    def learner_names(self) -> list[str]:
        """Unique names of the portfolio's learners, in order."""
        return [s.name for s in self._slots]

    @property
    def learners(self) -> list[Learner]:
        """The portfolio's learners, in order."""
        return [s.learner for s in self._slots]

    # Set once the run started (set_train_data, start_clock, the first round); a call before is a bug.
    @property
    def _train_pool(self) -> DataPool:
        if self.pool is None:
            raise RuntimeError("the engine has no training data: call set_train_data() first")
        return self.pool

    @property
    def _run_clock(self) -> Clock:
        if self.clock is None:
            raise RuntimeError("the engine's clock is not started: call start_clock() first")
        return self.clock

    @property
    def _round_scheduler(self) -> Scheduler:
        if self.scheduler is None:
            raise RuntimeError("the engine's clock is not started: call start_clock() first")
        return self.scheduler

    @property
    def _holdout(self) -> tuple[list[np.ndarray], np.ndarray]:
        if self._val is None:
            raise RuntimeError("the hold-out is read with the first round")
        return self._val

    def set_train_data(self, dataset: Dataset) -> None:
        """Wrap the training set in a :class:`DataPool` (nothing is read yet)."""
        if int(dataset.metadata.output_dim) != int(self.metadata.output_dim):
            raise AutoDLInputError("train", f"output_dim {dataset.metadata.output_dim} differs from the engine's "
                                   f"metadata ({self.metadata.output_dim})")
        self.pool = DataPool(dataset, self.config, seed=self.seed)
        self._val = None

    def start_clock(self, time_budget: float, start: Optional[float] = None) -> Clock:
        """Start the budget (``start`` defaults to now) and fire ``on_start``."""
        self.clock = Clock(time_budget, start)
        self._deadline = self.clock.deadline
        self._margin = self.config.safety_margin_s + self.config.safety_fraction * self.clock.time_budget
        self.scheduler = Scheduler(self.clock.time_budget, lookahead=self.config.lookahead_rounds)
        self._notify("on_start")
        return self.clock

    def prepare_test(self, test: Dataset) -> list[np.ndarray]:
        """Read the test set once and cache it (later calls with the same object are free)."""
        if test is not self._test_ref:
            if int(test.metadata.output_dim) != int(self.metadata.output_dim):
                raise AutoDLInputError("test", f"output_dim {test.metadata.output_dim} differs from the training "
                                       f"set's ({self.metadata.output_dim})")
            xs, _ = test.take(0, len(test))
            self._test_xs = [np.asarray(x, dtype=np.float32) for x in xs]
            self._test_ref, self._test_size, self._pred_cache = test, len(self._test_xs), None
            # read after take(): a lazy reader knows its corrupt rows only once they were decoded
            rows = sorted({int(i) for i in getattr(test, "corrupt_rows", ()) if 0 <= int(i) < self._test_size})
            self._test_corrupt = np.asarray(rows, np.int64)
            if rows:
                logger.warning("%d test row(s) had corrupt input (first: %s); they get the neutral "
                               "class-prior prediction", len(rows), rows[:5])
        return self._test_xs if self._test_xs is not None else []

    # ------------------------------------------------------------- training
    def train(self, deadline: Optional[float] = None) -> bool:
        """Run rounds until a new best model is ready (True) or nothing more can run (False).

        Parameters
        ----------
        deadline : float, optional
            Epoch seconds to stop by; defaults to the clock's deadline (a
            clock is started from it when none was).
        """
        if self.pool is None:
            raise AutoDLInputError("train", "call set_train_data(dataset) before train()")
        if self.clock is None:
            if deadline is None:
                raise AutoDLInputError("time_budget", "call start_clock(time_budget) or pass a deadline")
            self.start_clock(check_budget(float(deadline) - time.time()))
        self._deadline = self._run_clock.deadline if deadline is None else float(deadline)
        while True:
            now = time.time()
            if now >= self._deadline:
                return False
            if self._pending() and self._gap_ok(now):
                return self._emit(now)
            choice = None if self._stopped() else self._select(now)
            if choice is None:
                if self._pending():
                    return self._emit(now)
                self._log_refusals(now)
                return False
            self._run_round(*choice)

    @property
    def done(self) -> bool:
        """True once the deadline passed, or no learner can run and no new best waits to be emitted."""
        if self.clock is None or self.pool is None:
            return False
        now = time.time()
        if now >= self._deadline:
            return True
        if self._pending():
            return False
        if self._stopped():
            return True
        if self._options(now, idle=True):
            return False
        self._log_refusals(now)
        return True

    def fit(self, train: Dataset, time_budget: float, test: Optional[Dataset] = None) -> "Engine":
        """Library loop: train under ``time_budget`` seconds, predicting ``test`` at each new best."""
        check_budget(time_budget)
        self.set_train_data(train)
        self.start_clock(time_budget)
        try:
            if test is not None:
                self.prepare_test(test)
            self._keep_best_states = True
            while not self.done:
                if not self.train():
                    break
                if test is not None:
                    prediction = self.predict_test(test)
                    self._notify("on_prediction", prediction, self._run_clock.elapsed())
            self.restore_best()
        finally:
            self._keep_best_states = False
            self._notify("on_end")
        return self

    def restore_best(self) -> list[str]:
        """Give the best model's members back the state they had when it was chosen; the names restored.

        A member trained on after the best model was chosen may have got
        worse on the hold-out (a learner whose own early stopping restarts on
        more rows). The challenge path is unaffected (its predictions were
        written when they were best), but a library user predicts after
        ``fit``: :meth:`fit` snapshots a member's ``state_dict`` before it
        trains again and calls this at the end. Learners without
        ``state_dict`` keep their latest state.
        """
        restored: list[str] = []
        if self._best is None:
            return restored
        for key in self._best.members:
            slot = self._slots[key]
            snap = slot.snapshot
            if snap is None or snap[0] != self._version or slot.failed:
                continue
            if slot.score is not None and slot.score >= snap[2]:
                continue
            slot.test_pred = None
            try:
                slot.learner.load_state_dict(snap[1])
            except Exception as exc:  # noqa: BLE001 - keep the latest state, say why
                logger.warning("learner %s: its best-model state could not be restored (%s)", slot.name, exc)
                continue
            slot.score, slot.val_pred = snap[2], snap[3]
            restored.append(slot.name)
        if restored:
            logger.info("restored the best model's state of %s (they got worse after it was chosen)",
                        ", ".join(restored))
        return restored

    # ----------------------------------------------------------- prediction
    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        """Scores ``(len(xs), output_dim)`` float32 of the best model (a learner or a blend).

        Raises :class:`NoPredictionError` before any learner was fitted, or
        when every learner of the best model and every fallback failed.
        """
        return self._predict(xs, cache=False)

    def _predict(self, xs: Sequence[np.ndarray], cache: bool) -> np.ndarray:
        """:meth:`predict`; with ``cache`` (the test set) each member's scores are kept until it trains again."""
        if len(xs) == 0:  # never blame a learner for an empty batch
            self._prediction_selection()
            return np.zeros((0, self.metadata.output_dim), np.float32)
        while True:
            selection = self._prediction_selection()
            preds, failed = [], False
            for key in selection.members:
                slot = self._slots[key]
                try:
                    preds.append(self._member_prediction(slot, xs, cache))
                except Exception as exc:  # a learner failing at predict time: drop it and fall back
                    self._fail(slot, exc)
                    failed = True
                    break
            if not failed:
                refs = [selection.refs.get(k) for k in selection.members]
                return blend(preds, list(selection.members.values()), selection.mode, refs)

    def _member_prediction(self, slot: _Slot, xs: Sequence[np.ndarray], cache: bool) -> np.ndarray:
        """The slot's scores on ``xs``; with ``cache`` (the test set) kept until the learner trains again.

        Scores larger than ``config.test_cache_mb`` are not kept (each learner
        holds at most one such array): that member is predicted again, and the
        reserve counts it as such.
        """
        if cache and slot.test_pred is not None and slot.test_pred[0] is xs:
            return slot.test_pred[1]
        tic = time.perf_counter()
        pred = _checked(slot.learner.predict(xs), len(xs), self.metadata.output_dim)
        if cache:
            slot.test_predict_s = time.perf_counter() - tic
            keep = pred.nbytes <= self.config.test_cache_mb * 2 ** 20
            slot.test_pred = (xs, pred) if keep else None
        return pred

    def predict_test(self, test: Dataset) -> np.ndarray:
        """Predict the (cached) test set; reuses the prediction until the best model changes."""
        xs = self.prepare_test(test)
        if self._pred_cache is not None and self._pred_cache[0] == self._version:
            return self._pred_cache[1].copy()
        tic = time.perf_counter()
        try:
            prediction = self._predict(xs, cache=True)
        except NoPredictionError:
            if self._pred_cache is None:
                raise
            return self._pred_cache[1].copy()  # every model failed: keep the last good prediction
        self._predict_cost_s = time.perf_counter() - tic
        if len(self._test_corrupt):
            prediction = np.array(prediction)  # a copy: never write into an array a learner may hold
            prediction[self._test_corrupt] = self._neutral_prediction()
        self._last_emit = time.time()  # the gap to the next prediction counts from the end of this one
        self._pred_cache = (self._version, prediction)
        return prediction.copy()

    def _neutral_prediction(self) -> np.ndarray:
        """The class prior ``(output_dim,)`` given to corrupt test rows (see the module docstring)."""
        k = int(self.metadata.output_dim)
        pool = self.pool
        if pool is not None and pool.train_rows_read > 0:  # never trigger a read just for this
            # cached rows only (at most the current window); get() also bumps pool.requested, which
            # the engine resets with set_window() before each round, so round accounting is unaffected
            _, y = pool.get(pool.train_rows_read)
            if len(y):
                return y.mean(axis=0).astype(np.float32)
        multilabel = self.metadata.multilabel
        if multilabel is None and pool is not None and pool.rows_read > 0:
            multilabel = pool.multilabel
        return np.full(k, 0.5 if multilabel or k == 1 else 1.0 / k, np.float32)

    # ---------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """Fitted state: learners' state_dicts, the blend's weights, names (``weights_only``-safe)."""
        import torch

        states = {}
        for slot in self._slots:
            if slot.failed or slot.rounds == 0:
                continue
            try:
                states[slot.index] = slot.learner.state_dict()
            except NotImplementedError:
                continue
        selection = self._prediction_selection()
        if not set(selection.members) <= set(states):
            fallback = self._candidate(lambda s: s.index in states)
            if fallback is None:
                raise NotImplementedError("no fitted learner of this engine supports state_dict()")
            selection = fallback
        return {
            "format": 1,
            "method": self.method,
            "names": self.learner_names,
            "learners": {self._slots[k].name: v for k, v in states.items()},
            "members": [[self._slots[k].name, float(w)] for k, w in selection.members.items()],
            "blend": selection.mode,
            "refs": {self._slots[k].name: torch.from_numpy(np.ascontiguousarray(r)) for k, r in selection.refs.items()},
            "best_score": None if self.best_score is None else float(self.best_score),
            "best_learner": self.best_learner,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` into an engine built with the same portfolio."""
        by_name = {s.name: s for s in self._slots}
        for key in ("learners", "members", "blend"):
            if key not in state:
                raise AutoDLInputError("state", f"missing key {key!r}; not an Engine.state_dict()")
        for name, learner_state in state["learners"].items():
            if name not in by_name:
                raise AutoDLInputError("state",
                                       f"learner {name!r} is not in this engine's portfolio {self.learner_names}")
            by_name[name].test_pred = None
            by_name[name].learner.load_state_dict(learner_state)
            by_name[name].rounds = max(by_name[name].rounds, 1)
        members, refs = {}, {}
        for name, weight in state["members"]:
            if name not in state["learners"]:
                raise AutoDLInputError("state", f"blend member {name!r} has no saved learner state")
            members[by_name[name].index] = float(weight)
            if name in state.get("refs", {}):
                refs[by_name[name].index] = np.asarray(state["refs"][name], dtype=np.float64)
        if state["blend"] == "rank" and len(members) > 1 and set(refs) != set(members):
            raise AutoDLInputError("state", "a rank blend needs the validation references ('refs') of every member")
        score = state.get("best_score")
        self._best = Selection(members=members, score=-math.inf if score is None else float(score), refs=refs,
                               mode=str(state["blend"]))
        self.best_score, self.best_learner = score, state.get("best_learner")
        self._version += 1
        self._emitted = self._version

    # -------------------------------------------------------------- reports
    def learner_summary(self) -> list[dict[str, Any]]:
        """One dict per learner: name, rounds, fit seconds, done, scores, failed, retired, skipped, error."""
        return [{"name": s.name, "rounds": s.rounds, "time_s": round(float(sum(s.fit_costs)), 4),
                 "done": _is_done(s.learner),
                 "val_score": s.score, "best_score": None if s.best_own == -math.inf else s.best_own,
                 "failed": s.failed, "retired": s.retired, "error": s.error, "skipped": s.skipped,
                 "prior": s.prior is not None} for s in self._slots]

    # ============================================================ internals
    def _notify(self, event: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    def _pending(self) -> bool:
        return self._version > self._emitted

    def _gap_ok(self, now: float) -> bool:
        return (self._last_emit is None
                or now - self._last_emit >= self.config.prediction_gap_ratio * self._predict_cost_s)

    def _emit(self, now: float) -> bool:
        self._emitted, self._last_emit = self._version, now
        return True

    def _stopped(self) -> bool:
        cfg = self.config
        if cfg.max_rounds is not None and len(self.history) >= cfg.max_rounds:
            return True
        return cfg.target_score is not None and self.best_score is not None and self.best_score >= cfg.target_score

    def _window(self, slot: _Slot) -> int:
        rows = self.config.first_rows * self.config.row_growth ** min(slot.rounds, 60)
        return int(min(rows, self._train_pool.n_total))

    def _expected_cost(self, slot: _Slot) -> float:
        """Seconds of the slot's next fit: measured once it ran, else the prior's, else the learner's own guess."""
        cost = float(slot.learner.next_cost_s())
        if slot.rounds == 0 and slot.prior is not None:
            rows = min(self.config.first_rows, self.pool.n_total) if self.pool is not None else self.config.first_rows
            cost = slot.prior.first_cost_s(rows * example_units(self.metadata.tensor_shape))
        return cost

    def _options(self, now: float, idle: bool = False) -> list[RoundOption]:
        """Every admissible next round; with ``idle``, shortened rounds under ``partial_min_fraction`` too.

        The fraction keeps slivers of a long round from competing with real rounds. Once nothing with an
        expected gain fits, the time a sliver would use is idle otherwise (:meth:`_select`): on a 300k-row
        table at T = 30 s the MLP's 2.6 s sliver was refused for being under a fifth of its 18 s round, and
        `tabular_linear`, with no expected gain, took the time; at T = 300 s the transformer's next round on
        fortunes_categories had 51 s after its reserve, and 28 % of T went unused.
        """
        open_slots = [s for s in self._slots if not self._skip(s)]
        return [o for o in (self._admission(s, now, idle=idle) for s in open_slots) if o is not None]

    def _admission(self, slot: _Slot, now: float, idle: bool = False) -> Optional[RoundOption]:
        """The slot's next round when it fits (a shortened one for a budget-aware learner), else None.

        ``idle``: no other round fits, so a shortened round needs only ``min_partial_s``.
        """
        slot.refused = None
        if slot.failed or slot.retired or slot.skipped:
            return None
        try:
            if slot.learner.done:
                return None
            cost = self._expected_cost(slot)  # what the scheduler values the round at
            admit_cost = cost
            if slot.rounds == 0 and not getattr(slot.learner, "budget_aware", False):
                # a learner that cannot stop by itself is admitted on the larger of the prior's and its own
                # estimate: the prior was fitted on other data, and an overrun here would pass the deadline
                admit_cost = max(cost, float(slot.learner.next_cost_s()))
        except Exception as exc:
            self._fail(slot, exc)
            return None
        if not (math.isfinite(cost) and math.isfinite(admit_cost)) or cost < 0:
            self._fail(slot, ValueError(f"next_cost_s() returned {admit_cost!r}, expected a finite number >= 0"))
            return None
        cfg = self.config
        infl = cfg.cost_inflation
        budget = self._deadline - now - self._reserve(slot) - slot.late_s
        expected_rows = min(self._window(slot), max(cfg.first_rows, int(slot.rows * cfg.row_growth)))
        read = infl * self._train_pool.seconds_per_row * max(0, expected_rows - self._train_pool.train_rows_read)
        full = cost * infl * slot.overrun + read
        full_admit = admit_cost * infl * slot.overrun + read
        growth = None
        if len(slot.fit_costs) >= 2 and slot.fit_costs[-2] > 0.05:
            growth = slot.fit_costs[-1] / slot.fit_costs[-2]
        best = self._best.members.get(slot.index, 0.0) if self._best is not None else 0.0
        total = sum(self._best.members.values()) if self._best is not None else 1.0
        option = RoundOption(key=slot.index, name=slot.name, rounds=slot.rounds, cost_s=full, budget_s=budget,
                             score=slot.score, gain_ema=slot.gain_ema, cost_growth=growth, prior=slot.prior,
                             member_weight=best / max(total, 1e-12), full_cost_s=full,
                             rows_fraction=min(1.0, slot.rows / max(self._train_pool.n_total, 1)))
        if full_admit <= budget:
            # the fit may use the time left, but no more than a multiple of what it should cost
            option.budget_s = min(budget, max(cfg.round_budget_factor * admit_cost * infl * slot.overrun,
                                              full_admit + 2.0))
            return option
        shortened = budget - read
        # before any prediction exists, a shortened first round is better than none (the prior may be wrong)
        enough = idle or self._best is None or shortened >= cfg.partial_min_fraction * (full - read)
        if getattr(slot.learner, "budget_aware", False) and shortened >= cfg.min_partial_s and enough:
            option.partial, option.cost_s, option.budget_s = True, budget, shortened
            return option
        shortest = max(cfg.min_partial_s,
                       0.0 if self._best is None or idle else cfg.partial_min_fraction * (full - read))
        slot.refused = (full_admit, budget, self._reserve_terms(slot),
                        shortest if getattr(slot.learner, "budget_aware", False) else None)
        return None

    def _log_refusals(self, now: float) -> None:
        """Say once, when nothing more runs before the deadline, why each open learner's round did not fit."""
        if self._refusals_logged:
            return
        open_slots = [s for s in self._slots if not (s.failed or s.retired or s.skipped) and s.refused]
        if open_slots and self._deadline - now > self.config.safety_margin_s:
            self._refusals_logged = True
            logger.info("no round fits before the deadline (%.1f s left): %s", self._deadline - now, "; ".join(
                f"{s.name}: next round {need:.1f} s > {left:.1f} s left after reserving {sum(kept.values()):.1f} s"
                f" ({', '.join(f'{term} {v:.1f}' for term, v in kept.items())})"
                + (", and it cannot be shortened" if shortest is None else
                   f", and a shortened one needs {shortest:.1f} s" if left > 0 else "")
                for s in open_slots if s.refused is not None for need, left, kept, shortest in [s.refused]))

    def _reserve(self, slot: _Slot) -> float:
        """Seconds kept after a round: validation, test prediction, safety margin (:meth:`_reserve_terms`)."""
        return sum(self._reserve_terms(slot).values())

    def _reserve_terms(self, slot: _Slot) -> dict[str, float]:
        """The reserve after the slot's round, term by term (inflated seconds; the margin as it is).

        The test prediction after the slot's round predicts the slot and
        reuses the cached scores of every member that did not train since
        (:meth:`_member_prediction`); one other member without cached scores
        may join the new blend, so the dearest of those is counted too. (The
        last whole prediction's time was counted before: a blend's 3.7 s,
        most of it a GBDT that would not be predicted again, held back 5.8 s
        of T = 30 s on a 300k-row table.)
        """
        n_val = len(self._val[0]) if self._val is not None else self._train_pool.holdout_size
        partner = max((self._test_cost(s) for s in self._slots if s is not slot and s.usable
                       and (s.test_pred is None or s.test_pred[0] is not self._test_xs)), default=0.0)
        infl = self.config.cost_inflation
        return {"validation": infl * slot.predict_s_per_row * n_val, "test": infl * self._test_cost(slot),
                "partner": infl * partner, "margin": self._margin}

    def _test_cost(self, slot: _Slot) -> float:
        """Seconds of the slot's next test prediction: its last measured one, or its hold-out rate per row."""
        return max(slot.test_predict_s, slot.predict_s_per_row * self._test_size)

    def _skip(self, slot: _Slot) -> bool:
        """Whether the slot's first round cannot pay back on this device (decided once, logged)."""
        if slot.skipped:
            return True
        if slot.rounds > 0 or slot.failed or self.clock is None:
            return False
        others = [s for s in self._slots if s is not slot and not s.failed and not s.skipped]
        if not others:
            return False  # the only learner left: it runs if it fits
        try:
            cost = self._expected_cost(slot)
        except Exception:  # noqa: BLE001 - _admission reports the learner's error
            return False
        limit = self.config.max_first_round_fraction * self.clock.time_budget
        if math.isfinite(cost) and cost > limit:
            source = "prior" if slot.prior is not None else "its own estimate"
            slot.skipped = (f"first round expected {cost:.1f} s ({source}) > {self.config.max_first_round_fraction:g}"
                            f" x T = {limit:.1f} s on {self.device}")
            logger.info("learner %s not run: %s", slot.name, slot.skipped)
            return True
        return False

    def _select(self, now: float) -> Optional[tuple[_Slot, float, float]]:
        elapsed = now - self._run_clock.start
        trained = [(s.score, s.rounds, s.prior) for s in self._slots if s.usable and s.score is not None]
        default = self.prior.domain_scale(self.domain) if self.prior is not None else 1.0
        scale = self._round_scheduler.scale(trained, default)
        horizon = self._deadline - self._run_clock.start - self._margin
        choice = self._round_scheduler.choose(self._options(now), elapsed, self.best_score, scale, horizon)
        if choice is None or choice.rate <= 0:  # nothing with an expected gain: slivers may use the time
            choice = self._round_scheduler.choose(self._options(now, idle=True), elapsed, self.best_score, scale,
                                                  horizon)
        self.last_choice = choice
        if choice is None:
            return None
        slot = self._slots[choice.option.key]
        return slot, choice.option.budget_s, self._expected_cost(slot)

    def _run_round(self, slot: _Slot, budget_s: float, cost_s: float) -> None:
        pool = self._train_pool
        pool.read_first()
        if self._val is None:
            self._val = pool.validation()
        pool.set_window(self._window(slot))
        choice = (self.last_choice
                  if self.last_choice is not None and self.last_choice.option.key == slot.index else None)
        if self._keep_best_states:
            self._snapshot(slot)
            # the snapshot's time comes out of the round's budget, never out of the deadline
            budget_s = min(budget_s, self._deadline - time.time() - self._reserve(slot))
            if budget_s <= 0:
                return
        error: Optional[BaseException] = None
        tic = time.perf_counter()
        slot.test_pred = None  # whatever fit does to the learner, its old test scores are not its own
        try:
            slot.learner.fit(pool, budget_s)
        except Exception as exc:
            error = exc
        fit_s = time.perf_counter() - tic
        slot.fit_costs.append(fit_s)
        if slot.rounds == 0 and slot.prior is not None and fit_s > 10 * max(cost_s, 0.05):
            # INFO, not WARNING: a first round in a fresh process also pays one-off start-up (torch optimisers)
            logger.info("learner %s: first round took %.2f s, %.0fx its prior (%.2f s); re-estimated from the "
                        "measured cost", slot.name, fit_s, fit_s / max(cost_s, 0.05), cost_s)
        slot.rounds += 1
        slot.rows = max(slot.rows, pool.requested)  # a learner reusing rows it holds asks for none
        if fit_s > budget_s:
            logger.warning("learner %s used %.2f s of a %.2f s budget", slot.name, fit_s, budget_s)
            slot.late_s = max(slot.late_s, fit_s - budget_s)
        partial = choice is not None and choice.option.partial
        if slot.rounds > 1 and cost_s > 0 and not partial:  # the first estimate is a guess; later ones measured
            slot.overrun = min(max(fit_s / max(cost_s, 0.05), 1.0), 4.0)
        if error is None:
            try:
                self._validate(slot)
            except Exception as exc:
                error = exc
        if error is not None:
            self._fail(slot, error)
        improved = error is None and self._refresh_best(slot)
        info = RoundInfo(index=len(self.history), learner=slot.name, elapsed_s=self._run_clock.elapsed(), fit_s=fit_s,
                         budget_s=budget_s, val_score=None if error else slot.score, n_rows=slot.rows,
                         improved=improved, best_score=self.best_score, best_learner=self.best_learner,
                         error=None if error is None else f"{type(error).__name__}: {error}",
                         reason=choice.reason if choice is not None else None,
                         partial=bool(choice is not None and choice.option.partial))
        self.history.append(info)
        if improved and self._best is not None:
            rows = max(self._slots[k].rows for k in self._best.members)
            failed = {s.name: s.error for s in self._slots if s.failed}
            self.learning_curve.append({"elapsed_s": info.elapsed_s, "val_score": self.best_score,
                                        "learner": self.best_learner, "n_rows": rows, "failed_learners": failed})
        self._notify("on_round_end", info)
        if improved:
            self._notify("on_improvement", info)

    def _snapshot(self, slot: _Slot) -> None:
        """Keep a best-model member's state before it trains again (once per best-model version)."""
        if self._best is None or slot.index not in self._best.members or slot.score is None:
            return
        if slot.snapshot is not None and slot.snapshot[0] == self._version:
            return
        import copy

        try:
            state = copy.deepcopy(slot.learner.state_dict())
        except NotImplementedError:
            return
        except Exception as exc:  # noqa: BLE001 - a snapshot is a convenience, never a failure
            logger.debug("learner %s: no snapshot (%s)", slot.name, exc)
            return
        slot.snapshot = (self._version, state, slot.score, slot.val_pred)

    def _validate(self, slot: _Slot) -> None:
        xs, y = self._holdout
        tic = time.perf_counter()
        pred = _checked(slot.learner.predict(xs), len(xs), self.metadata.output_dim)
        slot.predict_s_per_row = (time.perf_counter() - tic) / max(1, len(xs))
        score = validation_nauc(y, pred)
        previous = 0.0 if slot.score is None else slot.score
        gain = score - previous
        slot.gain_ema = gain if slot.score is None else 0.5 * slot.gain_ema + 0.5 * gain
        slot.score, slot.val_pred = score, pred
        if score > slot.best_own + self.config.min_improvement:
            slot.best_own, slot.stall = score, 0
        else:
            slot.stall += 1
            own = getattr(slot.learner, "patience", None)
            patience = own if own is not None else self.config.patience
            if patience is not None and slot.stall >= patience:
                slot.retired = True

    def _fail(self, slot: _Slot, exc: BaseException) -> None:
        slot.failed, slot.error = True, f"{type(exc).__name__}: {exc}"
        # a WARNING of the engine's own, so a crash is seen on the library path too (no callback needed)
        logger.warning("learner %s failed and is skipped: %s", slot.name, slot.error)
        self._notify("on_learner_error", slot.name, exc)

    def _candidate(self, allowed=lambda slot: True) -> Optional[Selection]:
        """Best single usable learner, or the greedy ensemble when it beats it."""
        usable = [s for s in self._slots if s.usable and allowed(s)]
        scores = {s.index: s.score for s in usable if s.score is not None}  # a usable learner was scored
        preds = {s.index: s.val_pred for s in usable if s.val_pred is not None}
        if not scores:
            return None
        best = max(scores, key=lambda k: (scores[k], -k))
        mode = self.config.ensemble_blend
        candidate = Selection(members={best: 1.0}, score=scores[best], mode=mode)
        if self.config.ensemble and len(usable) >= 2:
            ensemble = greedy_selection(preds, self._holdout[1], scores, max_size=self.config.ensemble_max,
                                        accept_ratio=self.config.ensemble_accept_ratio, mode=mode)
            if ensemble is not None and ensemble.score > candidate.score:
                candidate = ensemble
        return candidate

    def _refresh_best(self, slot: _Slot) -> bool:
        if slot.score is None:  # called after a successful validation only
            return False
        alone = Selection(members={slot.index: 1.0}, score=slot.score, mode=self.config.ensemble_blend)
        candidate = alone
        if self.config.gate_on_validation:
            found = self._candidate()
            if found is None:
                return False
            candidate = found
            if self.best_score is not None and candidate.score <= self.best_score + self._switch_margin(candidate):
                if self._tied_after_more_training(slot):
                    candidate = alone
                else:
                    refreshed = self._refreshed_blend(slot)
                    if refreshed is None or refreshed.score <= self.best_score + self.config.min_improvement:
                        return False
                    candidate = refreshed
        self._best = candidate
        self._best_rows = {k: self._slots[k].rows for k in candidate.members}
        self._best_rounds = {k: self._slots[k].rounds for k in candidate.members}
        self.best_score = float(candidate.score)
        self.best_learner = self._label(candidate)
        self._version += 1
        return True

    def _switch_margin(self, candidate: Selection) -> float:
        """How much ``candidate`` must beat the best model by on the hold-out to replace it.

        ``min_improvement``, and, for a candidate that drops a member of the
        best model (another learner instead of it, not a blend with it), also
        one **pair flip**: the largest change a single swapped
        positive/negative pair makes to the hold-out NAUC. On a tiny hold-out
        (spoken words: 21 clips, 2 per class) one flip is 0.0053 NAUC, and a
        switch on it is a coin toss that, measured, cost 0.013 ALC when the
        first round of a CNN read 1.0 against the linear model's 0.995
        (``benchmarks/results/members_T60.md`` as of commit 1f31a33). A blend
        that keeps the best model's members is a hedge, not a swap, and needs
        no more than ``min_improvement``. The step is set by the column with
        the fewest positive/negative pairs: it falls below ``min_improvement``
        only when every class has dozens of positives in the hold-out, and a
        class with one or two keeps it large.
        """
        margin = self.config.min_improvement
        if self._best is None or set(self._best.members) <= set(candidate.members):
            return margin
        return max(margin, pair_flip(self._holdout[1]) + 1e-9)  # + float slack: exactly one flip is not enough

    def _refreshed_blend(self, slot: _Slot) -> Optional[Selection]:
        """The best blend with its weights kept and ``slot``, one of its members, as it is after this round.

        When a member of the best blend trains on, the swap to it alone (or
        to another blend) can be refused by :meth:`_switch_margin` on a tiny
        hold-out, and the blend would keep the member's first round for the
        rest of the run: measured on ``moving_digits_n300`` at T = 60 s, the
        3-D CNN's third round (hold-out 0.9912 alone against the blend's
        0.9896, less than one pair flip) was not emitted, and the blend of
        its first round stood from 5 s to 53 s. The same blend with the
        member's new round keeps every member: a hedge that needs only
        ``min_improvement``, like any blend that keeps the best's members.
        """
        best = self._best
        if best is None or len(best.members) < 2 or slot.index not in best.members:
            return None
        members = [self._slots[k] for k in best.members]
        preds = [m.val_pred for m in members if m.usable and m.val_pred is not None]
        if len(preds) < len(members):
            return None
        mode = best.mode
        refs = {m.index: rank_reference(p) for m, p in zip(members, preds)} if mode == "rank" else {}
        pred = blend(preds, list(best.members.values()), mode, [refs[m.index] for m in members] if refs else None)
        return Selection(members=dict(best.members), score=validation_nauc(self._holdout[1], pred), refs=refs,
                         mode=mode)

    def _tied_after_more_training(self, slot: _Slot) -> bool:
        """Whether ``slot`` alone is the best model and just tied its score after more training.

        A hold-out that saturates (NAUC 1.0 on easy tasks: fortunes language
        ID reaches 0.9999 on the first 500 documents) can no longer rank the
        model of a larger training window, or of more training steps on the
        same rows, above the first one, and the first one would be kept for
        the rest of the run. At a tie the same learner trained further is the
        better bet, so it is emitted again.
        """
        if self._best is None or set(self._best.members) != {slot.index} or slot.score is None:
            return False
        grew = (slot.rows > self._best_rows.get(slot.index, slot.rows)
                or slot.rounds > self._best_rounds.get(slot.index, slot.rounds))
        # never worse on validation than the emitted one
        return grew and self.best_score is not None and slot.score >= self.best_score

    def _label(self, selection: Selection) -> str:
        if len(selection.members) == 1:
            return self._slots[next(iter(selection.members))].name
        parts = "+".join(f"{self._slots[k].name}:{w:.2f}" for k, w in selection.members.items())
        return f"ensemble({parts})"

    def _prediction_selection(self) -> Selection:
        """The best model, or the best fallback when one of its learners failed since."""
        if self._best is None:
            raise NoPredictionError("no learner has been fitted yet: call train() first")
        if not any(self._slots[k].failed for k in self._best.members):
            return self._best
        fallback = self._candidate()
        if fallback is None:
            raise NoPredictionError("every learner of the best model failed and no other learner is usable")
        return fallback


def _checked(pred: Any, n: int, output_dim: int) -> np.ndarray:
    """Learner output as float32 ``(n, output_dim)``, finite, or a ValueError saying what is wrong."""
    try:
        arr = np.asarray(pred, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"predict() returned something that is not a numeric array ({exc})") from None
    if arr.shape != (n, output_dim):
        raise ValueError(f"predict() returned shape {arr.shape}, expected {(n, output_dim)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("predict() returned NaN or inf")
    return arr


def _unique_names(learners: Sequence[Learner]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for learner in learners:
        base = getattr(learner, "name", "") or type(learner).__name__
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return names


def _is_done(learner: Learner) -> Optional[bool]:
    """``learner.done``, or None when asking raises (a broken learner is reported elsewhere)."""
    try:
        return bool(learner.done)
    except Exception:  # noqa: BLE001
        return None


def _domain_of(metadata: Metadata) -> str:
    """The inferred domain, or ``"unknown"`` for shapes the inferrer refuses (the scheduler then has no prior)."""
    from ..domains.inference import infer_domain

    try:
        return infer_domain(metadata)
    except Exception:  # noqa: BLE001 - a custom portfolio may run on any shape
        return "unknown"


def _device_kind() -> str:
    """``"cuda"`` when torch sees a GPU, else ``"cpu"`` (the scheduling prior is per device).

    Torch learners import torch in their constructors, before the engine is
    built; when nothing imported it, no learner can use a GPU, and importing
    it here (seconds) would only slow a tabular run down.
    """
    import sys

    torch = sys.modules.get("torch")
    if torch is None:
        return "cpu"
    try:
        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # noqa: BLE001 - a broken CUDA set-up trains on the CPU
        return "cpu"


def _resolve_prior(setting: Optional[str]) -> Optional[SchedulingPrior]:
    """The prior named by ``EngineConfig.scheduler_prior`` ('auto', 'off' or a path)."""
    if setting is None or str(setting).lower() in ("off", "none", "false"):
        return None
    return load_prior(None if setting == "auto" else setting)
