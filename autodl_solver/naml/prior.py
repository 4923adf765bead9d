"""A T-NAML prior for the solver: export a controller's most likely configuration, map it onto learners.

:func:`export_prior` writes a prior file (JSON, atomically): the search
space's name and fingerprint, the task, its modality, the controller's most
likely configuration for it (greedy decoding) and the choice probabilities
along that path.

:func:`solver_settings` turns a prior into what the solver can use: which
registered learner goes first and overrides of real fields of the
registered learners' config dataclasses. The mapping (the child's towers
have counterparts among the solver's learners, its hyper-parameters mostly
do not, so only the ones with a clear counterpart are mapped):

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
wide_reg λ             ``C = 1 / (λ · 1000)`` clipped to [0.01, 100] for the
                       bag-of-tokens linear models (``text_linear``,
                       ``vision_linear``): sklearn's ``C`` is an inverse
                       L2 weight on the summed loss, λ a weight on the mean
                       loss, 1000 a nominal number of training rows; λ = 0
                       gives 100
deep_reg λ             the same ``C`` for the linear models on frozen
                       embeddings (``text_embed_linear``, ``image_embed_linear``)
deep_lr                ``text_fasttext.lr`` clipped to [0.05, 1.0];
                       ``image_cnn.lr`` clipped to [0.001, 0.1]
layer_size             ``text_fasttext.dim`` clipped to [16, 128]
=====================  =========================================================

Placement (the prior file's optional ``placement`` key): ``"after_opener"``
(default) puts the prior's learner right after the portfolio's first
learner — the cheap opener that gives the first prediction within seconds,
which AutoDL's ALC rewards most — unless it is the opener itself;
``"first"`` puts it before everything. The controller optimises accuracy
per trial and knows nothing of cost: on O1 at T = 60 s on a shared core,
``"first"`` put the frozen-MiniLM learner first and no prediction came
before the budget ran out (``benchmarks/results/naml_experiment.md``). The
rest of the portfolio keeps its order. :func:`build_prior_portfolio` builds the learners with
:func:`~autodl_solver.domains.methods.build_portfolio` (the overrides go
through its ``config_overrides``) and reorders them; the challenge
``model.py`` calls it when ``AUTODL_SOLVER_PRIOR`` (``autodl-solver run
--prior FILE``) or the settings key ``prior`` names a prior file.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_write_text
from .space import DISABLE

logger = logging.getLogger(__name__)

FORMAT = "autodl_solver.naml.prior/1"
#: Where the prior's learner goes in the portfolio (see the module docstring).
PLACEMENTS = ("after_opener", "first")
#: Nominal training rows that turn a per-example weight into sklearn's C.
NOMINAL_ROWS = 1000


def export_prior(path: str | os.PathLike, controller: Any, task: str, source: str = "",
                 placement: str = "after_opener") -> dict[str, Any]:
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
    """
    if placement not in PLACEMENTS:
        raise AutoDLInputError("placement", f"got {placement!r}, expected one of {PLACEMENTS}")
    actions = controller.most_likely(task)
    space = controller.space
    probs = controller.probabilities(task, actions)
    prior = {"format": FORMAT, "space_name": space.name, "space_fingerprint": space.fingerprint, "task": task,
             "modality": controller.task_modality[task], "config": space.decode(actions),
             "probability": {d.name: float(p[a]) for d, p, a in zip(space.decisions, probs, actions)},
             "source": source, "placement": placement}
    atomic_write_text(path, json.dumps(prior, indent=1))
    return prior


def read_prior(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a prior file (an :class:`AutoDLInputError` naming it when it is not one)."""
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
    needed = ("embedding", "fine_tune", "deep_lr", "deep_reg", "wide_reg", "layer_size")
    if prior.get("modality") not in ("text", "image") or not isinstance(config, dict) or \
            any(k not in config for k in needed):
        raise AutoDLInputError(path, f"expected 'modality' text or image and a 'config' with {list(needed)}")
    if prior.setdefault("placement", "after_opener") not in PLACEMENTS:
        raise AutoDLInputError(path, f"placement {prior['placement']!r}: expected one of {PLACEMENTS}")
    return prior


def _c_from(weight: Any) -> float:
    if weight == DISABLE:
        return 0.01
    weight = float(weight)
    return 100.0 if weight <= 0 else float(min(100.0, max(0.01, 1.0 / (weight * NOMINAL_ROWS))))


def _clip(value: Any, lo: float, hi: float) -> float:
    return float(min(hi, max(lo, float(value))))


def solver_settings(prior: Mapping[str, Any]) -> dict[str, Any]:
    """``{"domain", "first", "config_overrides"}`` for the solver (see the module docstring's table)."""
    c = prior["config"]
    deep_off = c["deep_reg"] == DISABLE
    if prior["modality"] == "text":
        if deep_off:
            first = "text_linear"
        elif c["embedding"] == "minilm":
            first = "text_embed_linear"
        else:
            first = "text_fasttext"
        overrides = {"text_linear": {"C": _c_from(c["wide_reg"])},
                     "text_fasttext": {"lr": _clip(c["deep_lr"], 0.05, 1.0),
                                       "dim": int(_clip(c["layer_size"], 16, 128))},
                     "text_embed_linear": {"C": _c_from(c["deep_reg"])}}
    else:
        overrides = {"vision_linear": {"C": _c_from(c["wide_reg"])},
                     "image_embed_linear": {"C": _c_from(c["deep_reg"])},
                     "image_cnn": {"lr": _clip(c["deep_lr"], 0.001, 0.1)}}
        if deep_off or c["embedding"] == "pixels":
            first = "vision_linear"
        elif c["fine_tune"]:
            first = "image_cnn"
            overrides["image_cnn"]["backbone"] = "efficientnet_lite0"
        else:
            first = "image_embed_linear"
    return {"domain": prior["modality"], "first": first, "config_overrides": overrides}


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


def scheduling_prior(prior_path: str | os.PathLike, metadata: Any, base: Any = None) -> Any:
    """The T-NAML prior as a scheduling prior: the interface the fitted prior feeds (``anytime/prior.py``).

    The controller says which learner is best for this task, not what it
    costs: the returned :class:`~autodl_solver.anytime.prior.SchedulingPrior`
    is ``base`` (the fitted prior, or an empty one) with the preferred
    learner's expected NAUC fraction raised to the highest any learner of the
    domain reaches after the same round, so the scheduler probes it as soon
    as its (fitted or measured) cost pays back. Its cost stays the fitted one;
    without a fitted entry for it, the engine falls back to probing it first.

    Parameters
    ----------
    prior_path : path
        A T-NAML prior file.
    metadata : Metadata
        The training set's metadata (its domain must be the prior's modality).
    base : SchedulingPrior, optional
        The fitted prior to start from (default: the packaged one).
    """
    import dataclasses

    from ..anytime.prior import SchedulingPrior, load_prior
    from ..domains.inference import infer_domain

    prior = read_prior(prior_path)
    domain = infer_domain(metadata)
    base = load_prior() if base is None else base
    out = SchedulingPrior(entries=dict(base.entries) if base else {}, scale=dict(base.scale) if base else {},
                          source=f"{getattr(base, 'source', '')} + T-NAML {prior_path}",
                          commit=getattr(base, "commit", ""), runs=getattr(base, "runs", ()))
    if domain != prior["modality"]:
        return out
    first = solver_settings(prior)["first"]
    same = [e for e in out.entries.values() if e.domain == domain]
    for entry in [e for e in same if e.learner == first]:
        rounds = max(len(e.scores) for e in same)
        raised = tuple(max([entry.score(k)] + [e.score(k) for e in same]) for k in range(1, rounds + 1))
        out.entries[(entry.domain, entry.learner, entry.device)] = dataclasses.replace(entry, scores=raised)
    return out
