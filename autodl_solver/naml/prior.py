"""A T-NAML prior for the solver: export a controller's most likely configuration, map it onto learners.

:func:`export_prior` writes a prior file (JSON, atomically): the search
space's name and fingerprint, the task, its modality, the controller's most
likely configuration for it (greedy decoding) and the choice probabilities
along that path.

:func:`solver_settings` turns a prior into what the solver can use: which
registered learner goes first and overrides of real fields of the
registered learners' config dataclasses. Only the learner the most likely
configuration maps onto gets overrides, and only the settings that mean
the same in the child and in it: the penalty weights of the same
objective. The child trains with proximal Adagrad, the solver's networks
with Adam or SGD, so the learning rates are not mapped, nor the sizes
chosen with them (a 7 x 128 ``tabular_mlp`` from the child's depth and
width overfit seattle_weather's hold-out; ``text_fasttext`` at the child's
rate 0.05 read 0.20-0.31 on 500-5,966 documents of fortunes_categories,
against 0.27-0.65 at its own 0.5). The mapping:

=====================  =========================================================
T-NAML choice          solver setting
=====================  =========================================================
deep tower disabled    the wide tower alone is a linear model on the bag of
                       tokens / pixels: ``text_linear`` / ``vision_linear`` first
embedding ``minilm``   ``text_embed_linear`` first (frozen MiniLM + LR)
``fasttext``/``hashed`` ``text_fasttext`` first (mean bag of word vectors + linear)
``efficientnet_lite0`` ``image_embed_linear`` first; with ``fine_tune``:
                       ``image_cnn`` (a fine-tuned backbone) with
                       ``backbone: efficientnet_lite0``
``pixels``             ``vision_linear`` first
wide_reg λ             the linear learner's ``C = 1 / (λ · 1000)`` when it is
                       the configuration's (``text_linear``, ``vision_linear``):
                       sklearn's ``C`` is an inverse L2 weight on the summed
                       loss, λ a weight on the mean loss, 1000 a nominal number
                       of training rows; kept within a factor
                       :data:`C_BAND` of the learner's default (λ = 0 gives
                       the band's top: the child stops after a bounded number
                       of steps, so it is not unregularised)
deep_reg λ             the same ``C`` for the linear models on frozen
                       embeddings (``text_embed_linear``, ``image_embed_linear``)
=====================  =========================================================

The tabular, speech and video modalities (their children read dense inputs
through the same deep tower, :mod:`~autodl_solver.naml.tasks`):

=========================  =====================================================
T-NAML choice              solver setting
=========================  =====================================================
tabular, deep tower off    ``tabular_linear`` first (the wide tower is a linear
                           model on per-feature quantile bins); ``C`` from
                           wide_reg as above
tabular, deep tower on     ``tabular_mlp`` first (either embedding: an MLP on
                           the table; the solver's MLP standardises, it has no
                           quantile input, so the embedding is not mapped);
                           ``dropout`` = dropout (both put it after every
                           hidden layer), ``weight_decay`` = deep_reg λ
                           clipped to [0, 0.1] (torch Adam's coupled weight
                           decay adds λ·w to the gradient: the same
                           mean-loss + λ/2·‖w‖² objective as the child's
                           proximal L2 step); its size stays the solver's
speech, deep tower off     ``speech_linear`` first, ``C`` from wide_reg
speech, ``clip_stats``     ``speech_linear`` first (logistic regression on the
                           same clip statistics; the solver has no network on
                           them), ``C`` from deep_reg
speech, ``logmel_grid``    ``speech_cnn`` first (a network trained from scratch
                           on the log-mel spectrogram), ``weight_decay`` =
                           deep_reg λ clipped to [0, 0.1] (Adam, as above)
video, deep tower off      ``vision_linear`` first (its video input is the
                           child's: shrunk frames and their differences),
                           ``C`` from wide_reg
video, deep tower on       ``video_c3d`` first (the solver's small network
                           trained from scratch on shrunk clips),
                           ``weight_decay`` = deep_reg λ clipped to [0, 0.1]
=========================  =====================================================

``tabular_gbdt``, ``video_frames`` and ``video_3d`` have no child
counterpart and are never put forward; activation, normalisation, the
learning rates, the sizes (hidden_layers, layer_size) and train_samples
are not mapped. When the policy's mass prefers another learner than the
most likely configuration's, that learner goes first with its own
settings.

Placement (the prior file's optional ``placement`` key): ``"after_opener"``
(default) puts the prior's learner right after the portfolio's first
learner — the cheap opener that gives the first prediction within seconds,
which AutoDL's ALC rewards most — unless it is the opener itself;
``"first"`` puts it before everything. A controller trained on the paper's
accuracy reward knows nothing of cost: on O1 at T = 60 s on a shared core,
``"first"`` put the frozen-MiniLM learner first and no prediction came
before the budget ran out (``benchmarks/results/naml_experiment.md``). The
rest of the portfolio keeps its order. :func:`build_prior_portfolio` builds the learners with
:func:`~autodl_solver.domains.methods.build_portfolio` (the overrides go
through its ``config_overrides``) and reorders them; the challenge
``model.py`` calls it when ``AUTODL_SOLVER_PRIOR`` (``autodl-solver run
--prior FILE``) or the settings key ``prior`` names a prior file.

What the controller knows of cost and gain (optional keys, written by
:func:`export_prior` when it is given the transfer's trial records; a file
without them still loads and behaves as before):

* ``learners``: per solver learner that the controller's configurations map
  onto (the table above), ``probability`` (the policy's mass on
  configurations mapping to it, from ``samples`` seeded draws) and, over the
  transfer trials that mapped to it, ``trials``, ``valid_accuracy`` (the
  best), ``valid_accuracy_median``, ``seconds`` (median measured cost: the
  child's seconds plus its feature share, :mod:`~autodl_solver.naml.reward`)
  and ``seconds_per_row`` (median of cost / rows read);
* ``measured``: the same numbers for the most likely configuration itself
  (its trials during transfer, or one child trained at export when it was
  never sampled and the task cache is given);
* ``reward``: the reward the controller was trained with; ``device``: where
  the children ran (``"cpu"``).

:func:`scheduling_prior` turns these into the scheduler's
:class:`~autodl_solver.anytime.prior.LearnerPrior` entries (see there).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import statistics
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..anytime.prior import SchedulingPrior
from ..errors import AutoDLInputError
from ..utils.atomic import atomic_write_text
from .space import DISABLE, EMBEDDINGS

logger = logging.getLogger(__name__)

FORMAT = "autodl_solver.naml.prior/1"
#: Where the prior's learner goes in the portfolio (see the module docstring).
PLACEMENTS = ("after_opener", "first")
#: Nominal training rows that turn a per-example weight into sklearn's C.
NOMINAL_ROWS = 1000
#: Policy draws that estimate the controller's mass per solver learner.
SAMPLES = 256
#: Keys of one ``learners`` / ``measured`` entry that must be finite non-negative numbers when present.
_STAT_KEYS = ("probability", "trials", "valid_accuracy", "valid_accuracy_median", "seconds", "seconds_per_row")


#: The learner of each modality that a configuration without a deep tower maps onto (the wide tower alone).
LINEAR_LEARNERS = {"text": "text_linear", "image": "vision_linear", "tabular": "tabular_linear",
                   "speech": "speech_linear", "video": "vision_linear"}


def learner_for(modality: str, config: Mapping[str, Any]) -> str:
    """The solver learner a T-NAML configuration maps onto (the module docstring's tables).

    Parameters
    ----------
    modality : str
        One of :data:`~autodl_solver.naml.space.MODALITIES`.
    config : mapping
        A configuration (decision name -> choice); ``deep_reg``,
        ``embedding`` and ``fine_tune`` are read.

    Returns
    -------
    str
        A registered learner of the solver's ``modality`` domain.
    """
    if modality not in LINEAR_LEARNERS:
        raise AutoDLInputError("modality", f"got {modality!r}, expected one of {sorted(LINEAR_LEARNERS)}")
    if config["deep_reg"] == DISABLE:
        return LINEAR_LEARNERS[modality]
    embedding = config["embedding"]
    if modality == "text":
        return "text_embed_linear" if embedding == "minilm" else "text_fasttext"
    if modality == "image":
        if embedding == "pixels":
            return "vision_linear"
        return "image_cnn" if config["fine_tune"] else "image_embed_linear"
    if modality == "tabular":
        return "tabular_mlp"
    if modality == "speech":
        return "speech_cnn" if embedding == "logmel_grid" else "speech_linear"
    return "video_c3d"


def _cost(record: Mapping[str, Any]) -> tuple[float, Optional[float]]:
    """(seconds, seconds per row) of a trial record (seconds with its feature share)."""
    from .reward import cost_seconds

    seconds, _ = cost_seconds(record)
    rows = record.get("rows")
    return seconds, (seconds / float(rows) if isinstance(rows, (int, float)) and rows > 0 else None)


def _stats(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``trials``, best and median ``valid_accuracy``, median ``seconds`` and ``seconds_per_row`` of trials."""
    accuracy = [float(r["valid_accuracy"]) for r in records]
    costs = [_cost(r) for r in records]
    per_row = [c for _, c in costs if c is not None]
    out: dict[str, Any] = {"trials": len(records), "valid_accuracy": max(accuracy),
                           "valid_accuracy_median": statistics.median(accuracy),
                           "seconds": statistics.median(c for c, _ in costs)}
    if per_row:
        out["seconds_per_row"] = statistics.median(per_row)
    return out


def _usable(records: Optional[Iterable[Mapping[str, Any]]], task: str) -> list[Mapping[str, Any]]:
    """The task's trial records with a finite accuracy and no error."""
    out = []
    for r in records or ():
        acc = r.get("valid_accuracy")
        if r.get("task", task) == task and "error" not in r and isinstance(acc, (int, float)) and math.isfinite(acc):
            out.append(r)
    return out


def learner_mass(controller: Any, task: str, samples: int = SAMPLES, seed: int = 0) -> dict[str, float]:
    """The controller's probability of each solver learner for ``task``, from ``samples`` seeded policy draws."""
    import numpy as np

    rng = np.random.default_rng(seed)
    modality = controller.task_modality[task]
    counts: dict[str, int] = {}
    for _ in range(max(1, int(samples))):
        name = learner_for(modality, controller.space.decode(controller.sample(task, rng)))
        counts[name] = counts.get(name, 0) + 1
    total = sum(counts.values())
    return {k: v / total for k, v in sorted(counts.items())}


def export_prior(path: str | os.PathLike, controller: Any, task: str, source: str = "",
                 placement: str = "after_opener", records: Optional[Iterable[Mapping[str, Any]]] = None,
                 reward: Any = None, task_path: Optional[str | os.PathLike] = None, samples: int = SAMPLES,
                 seed: int = 0) -> dict[str, Any]:
    """Write the prior of ``task`` from ``controller`` to ``path`` and return it.

    Parameters
    ----------
    path : path
        The prior file (JSON).
    controller : Controller
        A (transferred) controller that knows ``task``.
    task : str
        The task whose most likely configuration is exported.
    source : str
        Where the controller came from (recorded).
    placement : {"after_opener", "first"}
        Where the solver puts the prior's learner.
    records : iterable of dict, optional
        The transfer's trial records (:func:`~autodl_solver.naml.trials.run_search`):
        with them the file carries ``learners`` and ``measured`` (the module
        docstring); without them only the configuration and its choice
        probabilities, as before.
    reward : Reward, optional
        The reward the controller was trained with (recorded).
    task_path : path, optional
        The task's cache: when the most likely configuration was never
        tried, one child of it is trained here to measure it.
    samples, seed : int
        Policy draws (and their seed) that estimate each learner's probability.
    """
    if placement not in PLACEMENTS:
        raise AutoDLInputError("placement", f"got {placement!r}, expected one of {PLACEMENTS}")
    actions = controller.most_likely(task)
    space = controller.space
    probs = controller.probabilities(task, actions)
    config = space.decode(actions)
    modality = controller.task_modality[task]
    prior: dict[str, Any] = {
        "format": FORMAT, "space_name": space.name, "space_fingerprint": space.fingerprint, "task": task,
        "modality": modality, "config": config,
        "probability": {d.name: float(p[a]) for d, p, a in zip(space.decisions, probs, actions)},
        "source": source, "placement": placement}
    if reward is not None:
        prior["reward"] = reward.to_dict() if hasattr(reward, "to_dict") else {"kind": str(reward)}
    if records is not None or task_path is not None:
        prior.update(_cost_and_gain(controller, task, config, _usable(records, task), task_path, samples, seed))
    atomic_write_text(path, json.dumps(prior, indent=1))
    return prior


def _cost_and_gain(controller: Any, task: str, config: dict, records: list, task_path: Any, samples: int,
                   seed: int) -> dict[str, Any]:
    """The ``learners``, ``measured`` and ``device`` keys of a prior file."""
    modality = controller.task_modality[task]
    mass = learner_mass(controller, task, samples, seed)
    by_learner: dict[str, list] = {}
    for r in records:
        by_learner.setdefault(learner_for(modality, r["config"]), []).append(r)
    learners = {name: {"probability": mass.get(name, 0.0), **(_stats(by_learner[name]) if name in by_learner
                                                              else {"trials": 0})}
                for name in sorted(set(mass) | set(by_learner))}
    same = [r for r in records if dict(r["config"]) == config]
    how = "transfer trials"
    if not same and task_path is not None:
        from .trials import run_trial

        result = run_trial(str(task_path), config, seed=seed)
        if "error" not in result and math.isfinite(float(result.get("valid_accuracy", float("nan")))):
            same, how = [result], "one child trained at export"
    measured = {**_stats(same), "how": how} if same else {"trials": 0}
    return {"learners": learners, "measured": measured, "device": "cpu"}


def _fail(path: Path, what: str) -> AutoDLInputError:
    return AutoDLInputError(path, what)


def _check_config(path: Path, modality: str, config: Mapping[str, Any]) -> None:
    """The configuration's values must be ones the T-NAML child knows (a prior of another space fails here)."""
    from .space import _check_values

    for name, value in config.items():
        try:
            _check_values(name, [value], [modality] if name == "embedding" else [None], f"config.{name}")
        except AutoDLInputError as exc:
            raise _fail(path, f"config.{name}: {exc.problem} (a prior of another search space?)") from None


def _check_stats(path: Path, key: str, entry: Any) -> None:
    if not isinstance(entry, Mapping):
        raise _fail(path, f"{key}: expected a mapping of numbers, got {type(entry).__name__}")
    for name in _STAT_KEYS:
        if name not in entry:
            continue
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise _fail(path, f"{key}.{name}: got {value!r}, expected a finite number >= 0")


def read_prior(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a prior file (an :class:`AutoDLInputError` naming it when it is not one).

    Checked: the format, the modality, the configuration's values (against
    what the T-NAML child knows: a file of another space or a hand-edited
    one fails), the placement, and every number of the optional ``learners``
    and ``measured`` entries (finite, non-negative). Files written before
    those keys existed load unchanged.
    """
    path = Path(path)
    if not path.is_file():
        raise AutoDLInputError(path, "prior file not found")
    try:
        prior = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AutoDLInputError(path, f"not a JSON prior file ({exc.__class__.__name__})") from None
    if not isinstance(prior, dict) or prior.get("format") != FORMAT:
        raise AutoDLInputError(path, f"expected a T-NAML prior (format {FORMAT!r}, from `autodl-solver naml "
                                     f"transfer --prior-out`)")
    config = prior.get("config")
    needed = ("embedding", "fine_tune", "deep_lr", "deep_reg", "wide_reg", "layer_size") + (
        ("hidden_layers", "dropout") if prior.get("modality") == "tabular" else ())  # every tabular child has them
    if prior.get("modality") not in EMBEDDINGS or not isinstance(config, dict) or \
            any(k not in config for k in needed):
        raise AutoDLInputError(path, f"expected 'modality' one of {sorted(EMBEDDINGS)} and a 'config' with "
                                     f"{list(needed)}")
    _check_config(path, prior["modality"], config)
    if prior.setdefault("placement", "after_opener") not in PLACEMENTS:
        raise AutoDLInputError(path, f"placement {prior['placement']!r}: expected one of {PLACEMENTS}")
    learners = prior.get("learners", {})
    if not isinstance(learners, Mapping):
        raise _fail(path, "learners: expected a mapping learner -> numbers")
    for name, entry in learners.items():
        _check_stats(path, f"learners.{name}", entry)
    if "measured" in prior:
        _check_stats(path, "measured", prior["measured"])
    return prior


#: How far (a factor either way) a mapped ``C`` may move from the learner's registered default.
C_BAND = 3.0


def _c_from(weight: Any, learner: str) -> float:
    """``learner``'s ``C`` for an L2 weight λ: ``1 / (λ · NOMINAL_ROWS)``, kept within :data:`C_BAND` of its default.

    The conversion is approximate (λ weights the child's mean loss over a
    bounded number of Adagrad steps, so even λ = 0 is regularised by the
    steps it stops at), and the defaults were measured on the benchmarks:
    the prior nudges the penalty, it does not replace it. Unbounded, λ = 0
    gave ``text_linear``'s SVM C = 100, which took 15 s instead of 4 s on
    fortunes_categories' 4,000 rows and read a lower hold-out NAUC (0.788
    against 0.800); within a factor 10 (C = 3) it still read 0.791 in 5.1 s.
    """
    from ..domains.registry import load_config

    default = float(load_config(learner).C)
    if weight == DISABLE:  # no such tower: the strongest penalty the band allows
        return default / C_BAND
    weight = float(weight)
    return _clip(1.0 / (weight * NOMINAL_ROWS) if weight > 0 else math.inf, default / C_BAND, default * C_BAND)


def _clip(value: Any, lo: float, hi: float) -> float:
    return float(min(hi, max(lo, float(value))))


def _weight_decay(weight: Any) -> float:
    """Adam's ``weight_decay`` of the deep tower's L2 weight λ (0 without a deep tower), clipped to [0, 0.1]."""
    return 0.0 if weight == DISABLE else _clip(weight, 0.0, 0.1)


def preferred_learner(prior: Mapping[str, Any]) -> str:
    """The learner the prior puts forward: the one the policy gives the most mass, else the most likely one's.

    The most likely configuration is decoded step by step (greedy), so its
    learner is not always the one the policy prefers overall (several
    likely configurations may share another learner); with ``learners``
    probabilities in the file the largest one wins, ties going to the most
    likely configuration's learner.
    """
    greedy = learner_for(prior["modality"], prior["config"])
    mass = {k: float(v.get("probability", 0.0)) for k, v in (prior.get("learners") or {}).items()}
    if not mass:
        return greedy
    return max(mass, key=lambda k: (mass[k], k == greedy))


def _penalties(learner: str, c: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration's penalty settings on ``learner``, the learner it maps onto (the module docstring)."""
    if learner in ("text_linear", "vision_linear", "tabular_linear"):
        return {"C": _c_from(c["wide_reg"], learner)}
    if learner == "speech_linear":  # it reads the clip statistics: the tower that read them sets its C
        return {"C": _c_from(c["wide_reg"] if c["deep_reg"] == DISABLE else c["deep_reg"], learner)}
    if learner in ("text_embed_linear", "image_embed_linear"):
        return {"C": _c_from(c["deep_reg"], learner)}
    if learner == "tabular_mlp":
        return {"dropout": _clip(c["dropout"], 0.0, 0.9), "weight_decay": _weight_decay(c["deep_reg"])}
    if learner in ("speech_cnn", "video_c3d"):
        return {"weight_decay": _weight_decay(c["deep_reg"])}
    return {}  # text_fasttext, image_cnn: their rates and sizes are not the child's (see the module docstring)


def solver_settings(prior: Mapping[str, Any]) -> dict[str, Any]:
    """``{"domain", "first", "config_overrides"}`` for the solver (see the module docstring's tables).

    Only the learner the most likely configuration maps onto gets
    overrides, and only its penalty settings: the configuration's
    hyper-parameters describe that one model, not the portfolio's others
    (a configuration without a deep tower set ``text_fasttext``'s rate and
    size and ``text_embed_linear``'s C before), and its learning rates and
    sizes were chosen with the child's optimiser (a 7 x 128 ``tabular_mlp``
    from them overfit seattle_weather under the solver's Adam).
    """
    c = prior["config"]
    modality = prior["modality"]
    first = preferred_learner(prior)
    target = learner_for(modality, c)
    overrides: dict[str, dict[str, Any]] = {}
    penalties = _penalties(target, c)
    if penalties:
        overrides[target] = penalties
    if first == "image_cnn":  # the only backbone the child fine-tunes: the choice of model, not a rate
        overrides.setdefault("image_cnn", {})["backbone"] = "efficientnet_lite0"
    return {"domain": modality, "first": first, "config_overrides": overrides}


def build_prior_portfolio(prior_path: str | os.PathLike, method: str, metadata: Any,
                          seed: int = 0) -> Optional[tuple[list, dict[str, Any]]]:
    """The solver's learners with the prior applied, or ``None`` when the prior does not apply.

    A prior applies to the ``"solver"`` method on a dataset of the prior's
    modality; otherwise (a warning is logged) the caller builds the usual
    portfolio.

    Returns
    -------
    (list of Learner, dict) or None
        The learners (the prior's learner placed as its ``placement`` says,
        built even if the domain's portfolio does not list it) and the engine overrides of
        :func:`~autodl_solver.domains.methods.build_portfolio`.
    """
    from ..domains.inference import infer_domain
    from ..domains.methods import build_portfolio
    from ..domains.registry import create, load_config

    prior = read_prior(prior_path)
    domain = infer_domain(metadata)
    if method != "solver" or domain != prior["modality"]:
        logger.warning("prior %s (%s) ignored: it applies to the solver method on %s data, this run is %s on %s",
                       prior_path, prior.get("task"), prior["modality"], method, domain)
        return None
    settings = solver_settings(prior)
    overrides = settings["config_overrides"]
    learners, engine = build_portfolio(method, metadata, seed=seed, config_overrides=overrides)
    names = [getattr(learner, "name", type(learner).__name__) for learner in learners]
    first = settings["first"]
    learner = learners.pop(names.index(first)) if first in names else \
        create(first, metadata, load_config(first, overrides.get(first)), seed=seed)
    at = 0 if prior["placement"] == "first" or names[0] == first else 1
    learners.insert(at, learner)
    logger.info("prior %s (task %s): %s at position %d, overrides %s", prior_path, prior.get("task"), first, at,
                overrides)
    return learners, engine


@dataclasses.dataclass
class TransferPrior(SchedulingPrior):
    """A :class:`~autodl_solver.anytime.prior.SchedulingPrior` built from a T-NAML prior file.

    The engine reads it as any scheduling prior (``get``, ``domain_scale``);
    the extra fields say what the controller chose, for the caller and the
    logs.

    Attributes
    ----------
    first : str
        The preferred learner (:func:`preferred_learner`); ``""`` when the
        prior does not apply to the data's domain.
    config_overrides : dict
        Learner -> config fields (:func:`solver_settings`).
    placement : str
        Where the preferred learner goes in the portfolio.
    expected : dict
        Learner -> ``{"first_cost_s_per_row", "score", "source"}``: the
        entries this prior added or changed and where their numbers came from.
    """

    first: str = ""
    config_overrides: dict = dataclasses.field(default_factory=dict)
    placement: str = "after_opener"
    expected: dict = dataclasses.field(default_factory=dict)


def scheduling_prior(prior_path: str | os.PathLike, metadata: Any, base: Any = None) -> TransferPrior:
    """The T-NAML prior as a scheduling prior: the interface the fitted prior feeds (``anytime/prior.py``).

    Starting from ``base`` (the fitted prior, or an empty one):

    * **Gain of the preferred learner** (:func:`preferred_learner`): its
      expected NAUC fraction after each round is raised to the highest any
      learner of the domain reaches after that round (the controller says it
      is the best learner for this task), so the scheduler probes it as soon
      as its cost pays back.
    * **Cost and gain of learners without a fitted entry**, where the file
      has ``learners`` measurements (a file of :func:`export_prior` given the
      transfer's records): a new entry whose first round costs the measured
      ``seconds_per_row`` times its rows (``cost_slope`` 1 on the engine's
      units, rows x example size, so ``log_cost`` is
      ``log(seconds_per_row / example size)``) and whose expected NAUC
      fraction is the learner's best validation accuracy over the best of any
      learner in the transfer trials (raised as above for the preferred
      one). Without such an entry the engine would probe the learner first
      and blind, which is how the frozen-MiniLM learner ate O1's budget.
    * Fitted entries keep their fitted cost: it was measured in the solver's
      own rounds on this device, the T-NAML child is a proxy (it trains on
      cached features, charged their extraction share).

    The measurements are of children on the CPU, so the new entries are
    for ``device`` ``"cpu"`` (the file's ``device``); on another device the
    engine finds none and measures.

    Parameters
    ----------
    prior_path : path
        A T-NAML prior file.
    metadata : Metadata
        The training set's metadata (its domain must be the prior's modality).
    base : SchedulingPrior, optional
        The fitted prior to start from (default: the packaged one, or none
        when ``AUTODL_SOLVER_SCHEDULER_PRIOR`` is ``off``).

    Returns
    -------
    TransferPrior
        ``base``'s entries with the changes above; when the data's domain is
        not the prior's modality, ``base``'s entries unchanged and
        ``first`` empty.
    """
    from ..anytime.prior import example_units, load_prior
    from ..domains.inference import infer_domain

    prior = read_prior(prior_path)
    domain = infer_domain(metadata)
    base = load_prior() if base is None else base
    out = TransferPrior(entries=dict(base.entries) if base else {}, scale=dict(base.scale) if base else {},
                        source=f"{getattr(base, 'source', '')} + T-NAML {prior_path}",
                        commit=getattr(base, "commit", ""), runs=getattr(base, "runs", ()),
                        placement=prior["placement"])
    if domain != prior["modality"]:
        return out
    settings = solver_settings(prior)
    out.first, out.config_overrides = settings["first"], settings["config_overrides"]
    _add_measured(out, prior, domain, example_units(metadata.tensor_shape), out.first)
    _raise_preferred(out, domain, out.first)
    return out


def _add_measured(out: TransferPrior, prior: Mapping[str, Any], domain: str, units: int, first: str) -> None:
    """Entries for measured learners the fitted prior lacks (see :func:`scheduling_prior`).

    The preferred learner's numbers come from ``measured`` (its most likely
    configuration) when ``learners`` has none for it.
    """
    from ..anytime.prior import LearnerPrior

    device = str(prior.get("device", "cpu"))
    learners = {k: dict(v) for k, v in (prior.get("learners") or {}).items()}
    measured = prior.get("measured") or {}
    if "seconds_per_row" in measured and "seconds_per_row" not in learners.get(first, {}) and \
            learner_for(prior["modality"], prior["config"]) == first:
        learners.setdefault(first, {}).update({k: measured[k] for k in _STAT_KEYS if k in measured})
    best = max([float(v["valid_accuracy"]) for v in learners.values() if "valid_accuracy" in v], default=0.0)
    for name, stats in sorted(learners.items()):
        per_row, accuracy = stats.get("seconds_per_row"), stats.get("valid_accuracy")
        if (domain, name, device) in out.entries or per_row is None or accuracy is None or best <= 0:
            continue
        score = min(1.0, float(accuracy) / best)
        out.entries[(domain, name, device)] = LearnerPrior(
            domain=domain, learner=name, device=device, log_cost=math.log(max(float(per_row), 1e-9) / max(units, 1)),
            cost_slope=1.0, scores=(score,), cum_cost=(1.0,), n_runs=int(stats.get("trials", 0)))
        out.expected[name] = {"first_cost_s_per_row": float(per_row), "score": score, "source": "T-NAML trials"}


def _raise_preferred(out: TransferPrior, domain: str, first: str) -> None:
    """The preferred learner's expected NAUC fractions raised to the domain's best after each round."""
    same = [e for e in out.entries.values() if e.domain == domain]
    for entry in [e for e in same if e.learner == first]:
        rounds = max(len(e.scores) for e in same)
        raised = tuple(max([entry.score(k)] + [e.score(k) for e in same]) for k in range(1, rounds + 1))
        out.entries[(entry.domain, entry.learner, entry.device)] = dataclasses.replace(entry, scores=raised)
        out.expected.setdefault(first, {}).update(score=raised[0], raised=True)
