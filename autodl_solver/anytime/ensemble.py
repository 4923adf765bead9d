"""Greedy ensemble selection (Caruana et al., 2004) over the learners' validation predictions.

Selection is forward and *with replacement*: start from the best single
learner, then repeatedly add the learner (possibly one already in) whose
addition maximises the validation NAUC of the blend, for at most
``ensemble_max`` steps; the best prefix wins and the weights are the
selection counts. Only learners whose validation score is at least
``ensemble_accept_ratio`` times the best one may enter (the AutoDL winners'
0.97 rule), and the blend is used only when it beats the best single learner.

Blending. Learners emit scores on different scales (softmax probabilities,
sigmoid probabilities, margins), so the default blend is **rank**: each
member's scores are mapped, column by column, to their position among that
member's own validation scores (a mid-rank empirical CDF, linearly
interpolated between validation values, with a tiny monotone tail outside
their range so that no ties are created). The mapping is fixed after
selection, so a prediction does not depend on the batch it is made in (a
batch-wise rank would). ``mean`` averages raw scores instead.

Measured choice (H5a, 2 CPU cores): ``autodl_solver.testing.make_dataset``
data of all five domains, multi-class and multi-label, 5 classes, seeds 0-2
(30 cases); 700 training examples of which 100 form the hold-out, 400 test
examples; summary features (raw tabular values, per-channel image
statistics, frame means/stds, token histograms, binned speech spectra) with
Gaussian noise added so that the tasks are not trivial; four scikit-learn
members (logistic regression, Gaussian naive Bayes, 7-NN, a depth-4 random
forest). Mean test NAUC of the selected model: ``rank`` 0.9182, ``mean``
0.9173, best single learner 0.9159; ``rank`` was better in 13 cases, equal in
12 and worse in 5. The gain is small but consistent, and the rank blend is
the safer one when members' scales differ, so it is the default.
Reproduce with ``python -m benchmarks.ensemble_blend`` (output in
``benchmarks/results/ensemble_blend.txt``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from .validation import validation_nauc

__all__ = ["Selection", "rank_reference", "rank_normalise", "blend", "greedy_selection", "acceptance_threshold"]

#: Size of the tail that keeps out-of-range scores apart (< one rank step of a 1000-row hold-out).
_TAIL = 1e-4


@dataclass
class Selection:
    """A blend of learners: ``members`` maps a learner key to its weight (weights sum to 1)."""

    members: dict[int, float]
    score: float
    #: learner key -> its validation scores sorted per column (the ``rank`` reference)
    refs: dict[int, np.ndarray] = field(default_factory=dict)
    mode: str = "rank"


def rank_reference(val_pred: np.ndarray) -> np.ndarray:
    """Per-column sorted copy of a learner's validation scores (float64)."""
    return np.sort(np.asarray(val_pred, dtype=np.float64), axis=0)


def rank_normalise(pred: np.ndarray, ref_sorted: np.ndarray) -> np.ndarray:
    """Map scores to their mid-rank position among ``ref_sorted`` (per column), in about [0, 1].

    Monotone increasing in each column, so a single member's AUC is unchanged.
    """
    pred = np.asarray(pred, dtype=np.float64)
    n_ref = ref_sorted.shape[0]
    out = np.empty(pred.shape, np.float64)
    for j in range(pred.shape[1]):
        ref = ref_sorted[:, j]
        values, first = np.unique(ref, return_index=True)
        counts = np.diff(np.append(first, n_ref))
        midrank = (first + (counts - 1) / 2.0 + 0.5) / n_ref
        x = pred[:, j]
        col = np.interp(x, values, midrank)
        span = float(values[-1] - values[0]) or 1.0
        outside = x - np.clip(x, values[0], values[-1])
        out[:, j] = col + _TAIL * np.tanh(outside / span)
    return out


def blend(preds: Sequence[np.ndarray], weights: Sequence[float], mode: str,
          refs: Optional[Sequence[Optional[np.ndarray]]] = None) -> np.ndarray:
    """Weighted blend of member predictions (float32). One member: its raw scores."""
    if len(preds) == 1:
        return np.asarray(preds[0], dtype=np.float32)
    total = np.zeros(np.shape(preds[0]), np.float64)
    for i, (p, w) in enumerate(zip(preds, weights)):
        if mode == "rank":
            ref = refs[i] if refs is not None else None
            if ref is None:
                raise ValueError(f"mode 'rank' needs the rank reference of member {i} (refs)")
            part = rank_normalise(p, ref)
        else:
            part = np.asarray(p, dtype=np.float64)
        total += float(w) * part
    return (total / float(sum(weights))).astype(np.float32)


def acceptance_threshold(best: float, ratio: float) -> float:
    """Lowest validation score a learner needs to enter the blend (``ratio * best`` for best > 0)."""
    return best * ratio if best > 0 else best - (1.0 - ratio) * abs(best)


def greedy_selection(val_preds: Mapping[int, np.ndarray], y_val: np.ndarray, scores: Mapping[int, float], *,
                     max_size: int = 5, accept_ratio: float = 0.97, mode: str = "rank",
                     min_gain: float = 1e-9) -> Optional[Selection]:
    """Caruana selection with replacement; ``None`` unless a blend beats the best single learner.

    Parameters
    ----------
    val_preds : mapping key -> array (n_val, k)
        Each candidate learner's latest validation scores (finite).
    y_val : array (n_val, k)
        Validation labels.
    scores : mapping key -> float
        Each candidate's validation NAUC (of ``val_preds``).
    max_size : int
        Most selection steps (members counted with repetition).
    accept_ratio : float
        See :func:`acceptance_threshold`.
    mode : {"rank", "mean"}
        Blend (see the module docstring).
    min_gain : float
        The blend must beat the best single score by more than this.
    """
    keys = [k for k in val_preds if k in scores]
    if len(keys) < 2 or max_size < 2:
        return None
    best_key = max(keys, key=lambda k: (scores[k], -k))
    best = float(scores[best_key])
    floor = acceptance_threshold(best, accept_ratio)
    pool = sorted(k for k in keys if scores[k] >= floor)
    if len(pool) < 2:
        return None
    refs = {k: rank_reference(val_preds[k]) for k in pool} if mode == "rank" else {}
    parts = {k: (rank_normalise(val_preds[k], refs[k]) if mode == "rank"
                 else np.asarray(val_preds[k], dtype=np.float64)) for k in pool}
    counts = {best_key: 1}
    total = parts[best_key].copy()
    size = 1
    best_counts, best_score = dict(counts), best
    for _ in range(max_size - 1):
        step_key: Optional[int] = None
        step_score = -np.inf
        for k in pool:
            s = validation_nauc(y_val, (total + parts[k]) / (size + 1))
            if s > step_score:
                step_key, step_score = k, s
        if step_key is None:  # every blend scored NaN (NaN predictions): nothing to add
            break
        counts[step_key] = counts.get(step_key, 0) + 1
        total += parts[step_key]
        size += 1
        if step_score > best_score + 1e-12:
            best_counts, best_score = dict(counts), step_score
    if len(best_counts) < 2 or best_score <= best + min_gain:
        return None
    n = float(sum(best_counts.values()))
    return Selection(members={k: c / n for k, c in sorted(best_counts.items())}, score=float(best_score),
                     refs={k: refs[k] for k in best_counts} if mode == "rank" else {}, mode=mode)
