"""Which methods exist, and which learners each runs: the solver's portfolios and the baselines.

A *method* is what ``--method`` names (:data:`METHODS`, or ``learner:<name>``
for one registered learner alone); :func:`build_portfolio` turns a method and
a dataset's metadata into learners (built by :mod:`~.registry`) and the engine
settings it needs. The learners themselves are known by
:mod:`autodl_solver.domains.registry` only; this module imports it, never the
other way round.

The solver's portfolios, cheap to strong
---------------------------------------

The engine tries the learners roughly in this order, so the first one must
give a prediction fast (AutoDL's ALC weights the first minute heavily; see
``docs/winners.md`` §7 lesson 1).

* **tabular**: ``tabular_linear`` (logistic regression, about 10 ms on 500
  rows), ``tabular_gbdt`` (its first call is a 10-round LightGBM on at most
  500 rows, capped at 1 s, then continued boosting on growing rows) and
  ``tabular_mlp`` (the seed's 2x256 MLP, an ensemble member: every winning
  team replaced the MLP by a GBDT but kept it as a second opinion). The
  linear model earned its place by measurement (``benchmarks/gbdt_choice.py``,
  portfolio table, in the real engine on four real datasets, as recorded in
  ``benchmarks/results/gbdt_choice.md``): adding it to GBDT + MLP raised
  breast_cancer's final test NAUC and ALC by about 0.002 and moved the
  others by at most 0.0005 (the run-to-run spread); putting it first gave
  the best ALC on three of the four (0.0006 below on breast_cancer) and a
  final NAUC of 1.0 instead of 0.998 and 0.969 on wine and penguins. On a
  validation tie the engine keeps the learner that got there first, and
  there the simpler model is the better bet.
* **image**: ``vision_linear`` (logistic regression on 16-px pixels, a first
  prediction in about a second), ``image_embed_linear`` (frozen
  EfficientNet-Lite0 features) and ``image_cnn`` (a fine-tuned backbone).
* **video**: ``vision_linear`` (shrunk frames and their differences),
  ``video_c3d`` (a small 3-D CNN, seconds per round on a CPU),
  ``video_frames`` (per-frame 2-D CNN + temporal convolution) and ``video_3d``
  (torchvision's 3-D ResNets). Measured in ``benchmarks/results/vision_T300.md``.
* **speech**: ``speech_linear`` (logistic regression on MFCC / log-mel
  statistics) then ``speech_cnn`` (a log-mel CNN on growing crops); see
  ``benchmarks/results/speech_T300.md``.
* **text**: ``text_linear`` (TF-IDF words + character n-grams, logistic
  regression; a first prediction in about a second), ``text_fasttext`` (a
  cheap second opinion for the blend) and ``text_transformer`` (MiniLM-L6
  fine-tuned in growing rounds), which carries the final score: on O1 at
  T = 1200 s its hold-out NAUC climbs from 0.83 at 47 s to 0.88 at 320 s
  while TF-IDF stops at 0.77 (``benchmarks/results/text_T1200.md``, commit
  8842367). The word CNN (``text_cnn``) was in the portfolio of an earlier
  run (commit da24a3b, ALC 0.8424) and is not any more:
  it spent about 40 s of the first 130 s on O1 without ever entering the
  best model (hold-out 0.71 at best, 0.59 on fortunes categories), and that
  time delays the transformer where ALC weighs it most. Earlier candidates
  (``benchmarks/results/text_portfolio.md``, in-process, T = 90 s): the generic
  baselines scored ALC 0.06 / 0.02 on fortunes categories / O1, frozen
  MiniLM embeddings (``text_embed_linear``) delayed everything else.
* Every domain: names not (yet) registered are skipped, and an empty result
  falls back to the generic portfolio (Baselines 1 and 2).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ..anytime.learner import Learner
from ..data.metadata import Metadata
from ..errors import AutoDLInputError
from .inference import DOMAINS, infer_domain
from .registry import create, get_entry, list_learners, load_config

#: The methods a user can ask for (``build_portfolio``).
METHODS = ("solver", "baseline0", "baseline1", "baseline2", "baseline3", "mlp", "autospeech_baseline",
           "autonlp_baseline0", "autonlp_baseline1", "autonlp_baseline2")

#: Prefix of a single-learner method: ``learner:<name>`` runs one registered learner alone with the normal
#: engine (hold-out, gating), e.g. to compare a portfolio with its best member.
SINGLE_LEARNER_PREFIX = "learner:"

#: Engine settings for the seed paper's baselines: no hold-out, every
#: prediction emitted, no ensembling (they are compared as the paper ran them).
BASELINE_ENGINE = {"holdout": False, "gate_on_validation": False, "ensemble": False}

#: Works on every shape; used where a domain has no learners of its own yet.
GENERIC_PORTFOLIO: tuple[str, ...] = ("baseline1", "baseline2")

#: Per-domain portfolios (learner names, cheap first).
SOLVER_PORTFOLIOS: dict[str, tuple[str, ...]] = {
    "tabular": ("tabular_linear", "tabular_gbdt", "tabular_mlp"),
    "image": ("vision_linear", "image_embed_linear", "image_cnn"),
    "video": ("vision_linear", "video_c3d", "video_frames", "video_3d"),
    "text": ("text_linear", "text_fasttext", "text_transformer"),
    "speech": ("speech_linear", "speech_cnn"),
}


#: The seed's AutoDL "Baseline 3" (seed §4.4): "a combination of the winner
#: solutions of AutoCV (kakaobrain), AutoNLP (upwind flys) and AutoSpeech
#: (PASA NJU), using domain inference [...]. On tabular datasets [...] a fully
#: connected neural network with 2 hidden layers of 256 neurons." Here each
#: winner is stood for by the learners of this package that follow its recipe
#: (``docs/winners.md``): kakaobrain's AutoCLINT = a fine-tuned ResNet-style
#: CNN on images (``image_cnn``) and per-frame CNN + temporal convolution on
#: video (``video_frames``); upwind flys = a TF-IDF linear model first, then a
#: CNN on word vectors (``text_linear``, ``text_cnn``); PASA NJU = logistic
#: regression on MFCC statistics first, then a CNN on the spectrogram
#: (``speech_linear``, ``speech_cnn``); the 2x256 MLP on tabular data. None of
#: the solver's extra learners (frozen embeddings, GBDT, 3-D ResNets).
BASELINE3_PORTFOLIOS: dict[str, tuple[str, ...]] = {
    "tabular": ("tabular_mlp",),
    "image": ("image_cnn",),
    "video": ("video_frames",),
    "text": ("text_linear", "text_cnn"),
    "speech": ("speech_linear", "speech_cnn"),
}


def baseline3_portfolio(domain: str) -> list[str]:
    """Learner names of the seed's Baseline 3 on ``domain`` (registered ones only, else the generic portfolio)."""
    return _registered(domain, BASELINE3_PORTFOLIOS)


def solver_portfolio(domain: str) -> list[str]:
    """Learner names the solver runs on ``domain`` (registered ones only, else the generic portfolio)."""
    return _registered(domain, SOLVER_PORTFOLIOS)


def _registered(domain: str, portfolios: dict[str, tuple[str, ...]]) -> list[str]:
    if domain not in DOMAINS:
        raise AutoDLInputError("domain", f"got {domain!r}, expected one of {DOMAINS}")
    registered = set(list_learners())
    names = [n for n in portfolios.get(domain, ()) if n in registered]
    return names or list(GENERIC_PORTFOLIO)


#: Methods that dispatch on the inferred domain, so they run on every one.
_ANY_DOMAIN_METHODS = ("solver", "baseline3")


def method_learner(method: str) -> str:
    """The registered learner a single-learner method runs (``mlp`` is ``tabular_mlp``, ``learner:X`` is X)."""
    if method.startswith(SINGLE_LEARNER_PREFIX):
        return method[len(SINGLE_LEARNER_PREFIX):]
    return "tabular_mlp" if method == "mlp" else method


def check_method(method: str) -> str:
    """``method`` when it names a method (:data:`METHODS` or ``learner:<registered name>``), else an error."""
    if not isinstance(method, str):
        raise AutoDLInputError("method", f"expected a method name, got {method!r}")
    if method.startswith(SINGLE_LEARNER_PREFIX):
        get_entry(method_learner(method))
        return method
    if method not in METHODS:
        raise AutoDLInputError("method", f"got {method!r}, expected one of {METHODS} or "
                                         f"'{SINGLE_LEARNER_PREFIX}<learner>' (learners: {list_learners()})")
    return method


def method_domains(method: str) -> tuple[str, ...]:
    """Domains ``method`` runs on (``("any",)``: all of them).

    Raises :class:`~autodl_solver.errors.AutoDLInputError` (``"method"``) for
    an unknown method and (``"learner"``) when its learner is not registered.
    """
    check_method(method)
    if method in _ANY_DOMAIN_METHODS:
        return ("any",)
    return tuple(get_entry(method_learner(method)).domains)


def build_portfolio(
    method: str,
    metadata: Metadata,
    seed: int = 0,
    config_overrides: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> tuple[list[Learner], dict[str, Any]]:
    """The learners of ``method`` for this dataset, cheap to strong, and engine overrides.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`. ``"solver"``: the domain's portfolio
        (:data:`SOLVER_PORTFOLIOS`); ``"baseline0/1/2"``: the
        seed paper's baseline alone, with :data:`BASELINE_ENGINE`;
        ``"autospeech_baseline"`` / ``"autonlp_baseline0"``: the seed's
        AutoSpeech baseline / AutoNLP Baseline 0 (TF-IDF + SVM), likewise;
        ``"mlp"``: the 2x256 MLP alone with the normal engine; ``"learner:<name>"``:
        any registered learner alone with the normal engine;
        ``"baseline3"``: the seed's AutoDL Baseline 3, domain inference
        dispatching to the winner-style learners of each domain (the 2x256
        MLP on tabular data), with the normal engine; ``"autonlp_baseline1"``
        / ``"autonlp_baseline2"``: the seed's Kim-CNN AutoNLP baselines.
    metadata : Metadata
        The training set's metadata (its shape decides the domain).
    seed : int
        Seed given to every learner.
    config_overrides : mapping, optional
        ``{learner name: {field: value}}`` applied on top of the configs.

    Returns
    -------
    (list of Learner, dict)
        The learners, and settings the engine must override (empty for the
        normal engine).
    """
    check_method(method)
    overrides = dict(config_overrides or {})
    for key, value in overrides.items():
        get_entry(key)  # a misspelt learner name is an error, not a silent no-op
        if not isinstance(value, Mapping):
            raise AutoDLInputError("config_overrides", f"{key}: expected a mapping of field -> value")
    if method == "solver":
        names = solver_portfolio(infer_domain(metadata))
        engine: dict[str, Any] = {}
    elif method == "baseline3":
        names, engine = baseline3_portfolio(infer_domain(metadata)), {}
    elif method == "mlp" or method.startswith(SINGLE_LEARNER_PREFIX):
        names, engine = [method_learner(method)], {}
        accepted, domain = method_domains(method), infer_domain(metadata)
        if "any" not in accepted and domain not in accepted:
            raise AutoDLInputError("method", f"{method!r} runs on {', '.join(accepted)} datasets; this one is {domain}")
    else:
        names, engine = [method], dict(BASELINE_ENGINE)
        accepted, domain = method_domains(method), infer_domain(metadata)
        if "any" not in accepted and domain not in accepted:
            raise AutoDLInputError("method", f"{method!r} runs on {', '.join(accepted)} datasets; this one is {domain}")
    learners = [create(n, metadata, load_config(n, overrides.get(n)), seed=seed) for n in names]
    return learners, engine
