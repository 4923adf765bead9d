"""The learner registry: one factory, per-learner default configs (timm-style).

Register a learner class with its domains and its config dataclass::

    @register("tabular_gbdt", domains=("tabular",), default_config=GBDTConfig)
    class GBDTLearner(Learner): ...

then build it by name with :func:`create`, list names with
:func:`list_learners`, and build a whole method's portfolio with
:func:`build_portfolio`.

Configuration: the dataclass defaults are the single source of truth; a YAML
file in ``configs/`` may override them (a mapping ``learner name -> {field:
value}``, see ``configs/tabular.yaml``), and explicit overrides (CLI flags,
``build_portfolio(config_overrides=...)``) override both. Unknown fields are
an :class:`~autodl_solver.errors.AutoDLInputError`.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ..anytime.learner import Learner
from ..data.metadata import Metadata
from ..errors import AutoDLInputError
from .inference import DOMAINS, infer_domain

#: The methods a user can ask for (``build_portfolio``).
METHODS = ("solver", "baseline0", "baseline1", "baseline2", "baseline3", "mlp", "autospeech_baseline",
           "autonlp_baseline0", "autonlp_baseline1", "autonlp_baseline2")

#: Prefix of a single-learner method: ``learner:<name>`` runs one registered learner alone with the normal
#: engine (hold-out, gating), e.g. to compare a portfolio with its best member.
SINGLE_LEARNER_PREFIX = "learner:"

#: Engine settings for the seed paper's baselines: no hold-out, every
#: prediction emitted, no ensembling (they are compared as the paper ran them).
BASELINE_ENGINE = {"holdout": False, "gate_on_validation": False, "ensemble": False}

#: Modules that register the built-in learners (imported on first use).
_BUILTIN_MODULES = (
    "autodl_solver.domains.baselines.baselines",
    "autodl_solver.domains.tabular.tabular_gbdt",
    "autodl_solver.domains.tabular.tabular_mlp",
    "autodl_solver.domains.tabular.tabular_linear",
    "autodl_solver.domains.vision.vision_linear",
    "autodl_solver.domains.vision.image_cnn",
    "autodl_solver.domains.vision.video_nets",
    "autodl_solver.domains.baselines.autospeech_baseline",
    "autodl_solver.domains.speech.speech_linear",
    "autodl_solver.domains.speech.speech_cnn",
    "autodl_solver.domains.text.text_linear",
    "autodl_solver.domains.baselines.autonlp_baselines",
    "autodl_solver.domains.text.text_fasttext",
    "autodl_solver.domains.text.text_embed_linear",
    "autodl_solver.domains.text.text_transformer",
    "autodl_solver.domains.text.text_cnn",
)


@dataclass(frozen=True)
class LearnerEntry:
    """What the registry knows about one learner."""

    name: str
    cls: type
    domains: tuple[str, ...]
    default_config: Optional[type]
    config_file: str


_REGISTRY: dict[str, LearnerEntry] = {}
_builtins_loaded = False


def register(
    name: str,
    domains: Sequence[str] = ("any",),
    default_config: Optional[type] = None,
    config_file: Optional[str] = None,
) -> Callable[[type], type]:
    """Class decorator adding a :class:`~autodl_solver.anytime.learner.Learner` to the registry.

    Parameters
    ----------
    name : str
        Registry name (unique).
    domains : sequence of str
        Domains the learner accepts, from ``tabular, image, video, text,
        speech``, or ``("any",)``.
    default_config : dataclass type, optional
        The learner's config class; its defaults are the defaults.
    config_file : str, optional
        YAML file in ``configs/`` holding overrides under the key ``name``;
        default ``baselines.yaml`` for ``"any"`` learners, else
        ``<first domain>.yaml``.
    """
    domains = tuple(domains)
    for d in domains:
        if d != "any" and d not in DOMAINS:
            raise AutoDLInputError("domains", f"unknown domain {d!r} for learner {name!r}; expected {DOMAINS} or 'any'")
    if default_config is not None and not dataclasses.is_dataclass(default_config):
        raise AutoDLInputError("default_config", f"learner {name!r}: expected a dataclass type")
    file = config_file or ("baselines.yaml" if "any" in domains else f"{domains[0]}.yaml")

    def decorator(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name].cls is not cls:
            raise AutoDLInputError("name", f"a learner named {name!r} is already registered")
        cls.name = name
        cls.domains = domains
        cls.default_config = default_config
        _REGISTRY[name] = LearnerEntry(name, cls, domains, default_config, file)
        return cls

    return decorator


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)
        _builtins_loaded = True


def get_entry(name: str) -> LearnerEntry:
    """The registry entry of ``name`` (``AutoDLInputError('learner', ...)`` when unknown)."""
    _load_builtins()
    if name not in _REGISTRY:
        raise AutoDLInputError("learner", f"unknown learner {name!r}; registered: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def list_learners(domain: Optional[str] = None) -> list[str]:
    """Registered learner names, sorted; with ``domain``, those accepting it (``"any"`` included)."""
    _load_builtins()
    if domain is not None and domain not in DOMAINS:
        raise AutoDLInputError("domain", f"got {domain!r}, expected one of {DOMAINS}")
    return sorted(n for n, e in _REGISTRY.items() if domain is None or domain in e.domains or "any" in e.domains)


# ------------------------------------------------------------------- configs
def config_dirs() -> list[Path]:
    """Where YAML configs are looked up, first match wins.

    ``autodl_solver/configs/`` (an installed package's copy) then the
    repository's ``configs/`` folder.
    """
    here = Path(__file__).resolve()
    return [here.parents[1] / "configs", here.parents[2] / "configs"]


def _yaml_overrides(entry: LearnerEntry, config_dir: Optional[Path]) -> tuple[dict[str, Any], str]:
    import yaml

    dirs = [Path(config_dir)] if config_dir is not None else config_dirs()
    for d in dirs:
        path = d / entry.config_file
        if path.is_file():
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise AutoDLInputError(path, f"not valid YAML ({exc.__class__.__name__})") from None
            if not isinstance(data, dict):
                raise AutoDLInputError(path, "expected a mapping of learner name -> {field: value}")
            section = data.get(entry.name) or {}
            if not isinstance(section, dict):
                raise AutoDLInputError(path, f"{entry.name}: expected a mapping of field -> value")
            return dict(section), str(path)
    return {}, ""


def _apply(config: Any, overrides: Mapping[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise AutoDLInputError(where, f"unknown config fields {unknown}; expected some of {sorted(names)}")
    changes = {}
    for key, value in overrides.items():
        default = getattr(config, key)
        # YAML has no tuples; keep the dataclass's type for sequences.
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        changes[key] = value
    return dataclasses.replace(config, **changes)


def load_config(name: str, overrides: Optional[Mapping[str, Any]] = None, config_dir: Optional[Path] = None) -> Any:
    """The config of learner ``name``: dataclass defaults < YAML file < ``overrides``.

    Returns ``None`` for a learner registered without a config class (then
    ``overrides`` must be empty).
    """
    entry = get_entry(name)
    if entry.default_config is None:
        if overrides:
            raise AutoDLInputError(name, f"learner {name!r} has no configurable fields")
        return None
    config = entry.default_config()
    from_yaml, path = _yaml_overrides(entry, config_dir)
    if from_yaml:
        config = _apply(config, from_yaml, f"{path}: {name}")
    if overrides:
        config = _apply(config, overrides, f"config of {name}")
    return config


def create(name: str, metadata: Metadata, config: Any = None, seed: int = 0) -> Learner:
    """Build learner ``name`` for a dataset.

    Parameters
    ----------
    name : str
        A registered name (:func:`list_learners`).
    metadata : Metadata
        The training set's metadata.
    config : dataclass instance or mapping, optional
        The full config, or a mapping of field overrides applied on top of
        :func:`load_config`; ``None`` means :func:`load_config` as is.
    seed : int
        The learner's seed.
    """
    entry = get_entry(name)
    if config is None or isinstance(config, Mapping):
        config = load_config(name, config)
    elif entry.default_config is not None and not isinstance(config, entry.default_config):
        raise AutoDLInputError("config", f"learner {name!r} expects a {entry.default_config.__name__}, "
                                         f"got {type(config).__name__}")
    return entry.cls(metadata, config=config, seed=seed)


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
        One of :data:`METHODS`. ``"solver"``: the domain's portfolio from
        :mod:`autodl_solver.domains.methods`; ``"baseline0/1/2"``: the
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
    from .methods import baseline3_portfolio, solver_portfolio

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
