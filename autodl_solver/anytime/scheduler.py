"""Which learner gets the next round: the one whose expected ALC gain per second is highest.

The rule
--------
ALC is the area under the best-so-far hold-out NAUC on the log time axis
``t~(t) = log(1 + t/t0) / log(1 + T/t0)`` (``challenge/scoring.py``). A
gain ``delta`` of the best NAUC that lands at time ``t`` adds
``delta * (1 - t~(t))`` to that area (the step holds until T). So a round
that costs ``c`` seconds from now and is expected to raise the best score
by ``delta`` is worth ``delta * (1 - t~(now + c)) / c`` per second, and the
scheduler picks the round with the highest such rate.

A strong learner may only pass the best after a few rounds (a CNN whose
first round scores below the linear model), so each option is valued over
a short **lookahead**: running it ``m = 1..lookahead`` rounds in a row, the
rate is the best over ``m`` of ``gain_m * (1 - t~(now + C_m)) / C_m``
(``C_m`` the cumulative cost, rounds past the horizon not counted).

Where the numbers come from
---------------------------
* **Cost** of the next round: the learner's own ``next_cost_s()`` once it
  ran (measured); for an untried learner, the scheduling prior's first-round
  cost for its domain, device and input size (``anytime/prior.py``); costs of
  later rounds grow by the learner's measured growth (or the prior's).
* **Score** after ``m`` more rounds: an untried learner reaches the prior's
  NAUC fraction of round ``m`` times the dataset's scale (estimated from the
  learners that ran: a learner at ``s`` after ``k`` rounds with prior
  fraction ``r_k`` says the scale is ``s / r_k``); a trained learner adds
  the prior's per-round increments, averaged with its own measured recent
  gain (decaying by ``gain_decay`` per round) when it has both.
* **Headroom** of the best model's learner after its first round: when it
  landed far below the prior's fraction times the scale, the prior's
  increments (fitted on datasets where it saturated at once) say nothing of
  this one, so each further round is expected to close half the gap to
  that target, whichever is larger. Measured on TF-IDF (``text_linear``): its prior,
  fitted where one round on 500 documents reaches 0.996 of the best, expected
  +0.004 from a second round; on O1 the second round gives 0.45 -> 0.57 in
  0.4 s, and it waited 24 s behind the transformer at T = 300 s. Only the
  best model's learner gets this: a learner far below the best may be just
  a bad match for the data (``video_frames`` at 0.01 on a video set), and
  the measured rule takes over from its second round anyway. The exception
  is a learner whose first round read only a small share of the rows
  (``few_rows``, a quarter): the prior's increments were fitted where round
  one saw every row, so they say nothing of what more rows give. On a
  300k-row table at T = 30 s GBDT's first round on 500 rows scored 0.61,
  below the linear model's 0.64, and its prior expected nothing more: it
  waited 9 s while the linear model doubled to 128k rows for +0.005, then
  went 0.61 -> 0.93 on 1k-8k rows. Its headroom (half the gap to the
  prior's target) is only worth a round when it projects above the best,
  so a weak learner on a large set still waits.
* Without a prior for a learner the scheduler falls back to the measured
  rule of earlier versions: an untried learner is probed first (portfolio
  order), a trained one continues while its own gains last.

When every option's expected gain is zero (nothing is expected to beat the
best), the cheapest improving learner keeps its rounds (ties broken by
recent gain per second, then score, then portfolio order), so the budget is
still used while anything might improve.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from ..metrics import transform_time
from .prior import LearnerPrior

__all__ = ["RoundOption", "Choice", "Scheduler", "log_time"]

_MIN_COST_S = 1e-3


def log_time(t: float, time_budget: float, t0: float = 60.0) -> float:
    """The challenge's log time axis ``t~(t)`` (``metrics.transform_time``), clipped to [0, 1].

    A non-positive budget gives 1.0 (no time left), and negative times count as 0.
    """
    if time_budget <= 0:
        return 1.0
    return min(1.0, max(0.0, float(transform_time(max(t, 0.0), time_budget, t0))))


@dataclass
class RoundOption:
    """One admissible next round, as the engine describes it to the scheduler.

    Attributes
    ----------
    key : int
        The learner's position in the portfolio (also the last tie-breaker).
    name : str
        The learner's name (for logs).
    rounds : int
        Rounds it already ran.
    cost_s : float
        Expected seconds of this round (fit, reading new rows, validation), inflated.
    budget_s : float
        The fit budget the engine will pass.
    score : float or None
        Its latest hold-out NAUC.
    gain_ema : float
        Exponential average of its recent hold-out gains (meaningful from round 2).
    cost_growth : float or None
        Measured ratio of its last two round costs (None before two rounds).
    prior : LearnerPrior or None
        Its scheduling prior on this domain and device.
    member_weight : float
        Its weight in the current best model (0 when not a member).
    partial : bool
        A shortened increment sized to the time left (its gain is scaled down).
    full_cost_s : float
        Expected seconds of the full increment (``cost_s`` when not partial).
    rows_fraction : float
        Share of the training rows its last round read (1.0 when it saw them all).
    """

    key: int
    name: str
    rounds: int
    cost_s: float
    budget_s: float
    score: Optional[float] = None
    gain_ema: float = 0.0
    cost_growth: Optional[float] = None
    prior: Optional[LearnerPrior] = None
    member_weight: float = 0.0
    partial: bool = False
    full_cost_s: float = 0.0
    rows_fraction: float = 1.0


@dataclass
class Choice:
    """The chosen option, its expected ALC rate and why."""

    option: RoundOption
    rate: float
    expected_gain: float
    reason: str


class Scheduler:
    """The expected-ALC-gain-per-second rule (see the module docstring).

    Parameters
    ----------
    time_budget : float
        T of the run (seconds).
    t0 : float
        The log axis constant (the challenge's 60 s).
    lookahead : int
        Rounds in a row each option is valued over.
    gain_decay : float
        Factor by which a measured per-round gain shrinks each further round.
    few_rows : float
        A learner whose first round read less than this share of the training
        rows is valued from its headroom, member of the best model or not.
    """

    def __init__(self, time_budget: float, t0: float = 60.0, lookahead: int = 6, gain_decay: float = 0.5,
                 few_rows: float = 0.25) -> None:
        self.time_budget = float(time_budget)
        self.few_rows = float(few_rows)
        self.t0 = float(t0)
        self.lookahead = int(lookahead)
        self.gain_decay = float(gain_decay)

    # ------------------------------------------------------------- scale
    @staticmethod
    def scale(trained: Sequence[tuple[float, int, Optional[LearnerPrior]]], default: float) -> float:
        """The dataset's best reachable NAUC, from ``(score, rounds, prior)`` of the learners that ran.

        Optimistic by design: never below ``default`` (the domain's median best
        NAUC in the recorded runs). A learner that does much worse here than
        on the recorded datasets (logistic regression on pixels of natural
        images) says little about what the others can reach; taking its score
        as the scale made every untried learner look worthless (miniciao at
        T = 300 s: the frozen-feature learner that gives 0.76 waited 160 s).
        """
        estimates = [s / p.score(k) for s, k, p in trained if p is not None and p.score(k) > 0.05 and s > 0]
        observed = [s for s, _, _ in trained]
        return min(1.0, max([default] + estimates + observed))

    # ------------------------------------------------------------ values
    def value(self, option: RoundOption, now_s: float, best: Optional[float], scale: float,
              horizon_s: float) -> tuple[float, float, str]:
        """``(rate, expected gain, reason)`` of one option; ``rate`` is ``inf`` for an untried learner without prior."""
        prior = option.prior
        if option.rounds == 0 and prior is None:
            return math.inf, 0.0, "untried, no prior: probed first"
        costs, scores = self._projection(option, scale)
        if option.partial and option.full_cost_s > 0:
            # a shortened round gives a part of the full round's gain (its first step only)
            fraction = min(1.0, option.cost_s / option.full_cost_s)
            base = option.score if option.score is not None else 0.0
            scores[0] = base + fraction * (scores[0] - base)
            costs, scores = costs[:1], scores[:1]
        floor = 0.0 if best is None else best
        rate, gain_at, steps = 0.0, 0.0, 0
        for m, (cost, score) in enumerate(zip(costs, scores), start=1):
            if now_s + cost > horizon_s and m > 1:
                break
            own = score - (option.score if option.score is not None else 0.0)
            gain = max(score - floor, option.member_weight * own, 0.0)
            r = gain * (1.0 - log_time(now_s + cost, self.time_budget, self.t0)) / max(cost, _MIN_COST_S)
            if r > rate:
                rate, gain_at, steps = r, gain, m
        source = "prior" if option.rounds == 0 else ("measured+prior" if prior is not None else "measured")
        reason = f"{source}: +{gain_at:.4f} NAUC in {steps} round(s)" if steps else f"{source}: no expected gain"
        return rate, gain_at, reason

    def _projection(self, option: RoundOption, scale: float) -> tuple[list[float], list[float]]:
        """Cumulative costs and expected scores after 1..lookahead more rounds."""
        prior, k0 = option.prior, option.rounds
        costs, scores = [], []
        if k0 == 0:  # untried: everything from the prior (value() never projects an untried option without one)
            assert prior is not None
            first = max(option.cost_s, _MIN_COST_S)
            for m in range(1, self.lookahead + 1):
                costs.append(first * prior.cost_ratio(m) / max(prior.cost_ratio(1), 1e-9))
                scores.append(prior.score(m) * scale)
            return costs, scores
        if option.cost_growth is not None:
            growth = option.cost_growth
        elif prior is not None:
            a, b = prior.cost_ratio(k0), prior.cost_ratio(k0 + 1)
            c = prior.cost_ratio(k0 + 2)
            growth = (c - b) / max(b - a, 1e-9)
        else:
            growth = 2.0
        growth = min(max(growth, 1.0), 3.0)
        score = option.score if option.score is not None else 0.0
        measured = max(option.gain_ema, 0.0) if k0 >= 2 else 0.5 * max(1.0 - score, 0.0)
        total, step_cost = 0.0, max(option.cost_s, _MIN_COST_S)
        for m in range(1, self.lookahead + 1):
            total += step_cost
            step_cost *= growth
            own = measured * self.gain_decay ** (m - 1)
            if prior is not None:
                from_prior = max(prior.score(k0 + m) - prior.score(k0 + m - 1), 0.0) * scale
                if k0 >= 2:
                    own = 0.5 * (own + from_prior)
                elif option.member_weight > 0 or option.rows_fraction < self.few_rows:  # headroom (docstring)
                    own = max(from_prior, 0.5 * max(prior.score(k0 + m) * scale - score, 0.0))
                else:
                    own = from_prior
            score = min(1.0, score + own)
            costs.append(total)
            scores.append(score)
        return costs, scores

    # ------------------------------------------------------------ choice
    def choose(self, options: Sequence[RoundOption], now_s: float, best: Optional[float], scale: float,
               horizon_s: float) -> Optional[Choice]:
        """The option with the highest expected ALC gain per second (see the module docstring)."""
        if not options:
            return None
        scored = []
        for option in options:
            rate, gain, reason = self.value(option, now_s, best, scale, horizon_s)
            # ties (no expected gain anywhere): recent gain per second, score, portfolio order
            tie = max(option.gain_ema, 0.0) / max(option.cost_s, _MIN_COST_S) if option.rounds else 0.0
            untried_first = -option.key if math.isinf(rate) else 0
            key = (rate, untried_first, tie, option.score if option.score is not None else -math.inf, -option.key)
            scored.append((key, Choice(option, rate, gain, reason)))
        return max(scored, key=lambda item: item[0])[1]
