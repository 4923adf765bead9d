"""The learner registry: one factory, per-learner default configs (timm-style).

Register a learner class with its domains and its config dataclass::

    @register("tabular_gbdt", domains=("tabular",), default_config=GBDTConfig)
    class GBDTLearner(Learner): ...

then build it by name with :func:`create` and list names with
:func:`list_learners`. Which *methods* exist (``solver``, the baselines,
``learner:<name>``) and the learners each runs is
:mod:`autodl_solver.domains.methods`; this module only knows learners.

The built-in learners live in the sub-packages ``tabular``, ``vision``,
``speech``, ``text`` and ``baselines``: importing one registers its learners,
and the first lookup here imports them all (:func:`_load_builtins`).

Configuration: the dataclass defaults are the single source of truth; a YAML
file in ``configs/`` may override them (a mapping ``learner name -> {field:
value}``, see ``configs/tabular.yaml``), and explicit overrides (CLI flags,
``methods.build_portfolio(config_overrides=...)``) override both. Unknown fields, and
values of the wrong type for the field's annotation, are an
:class:`~autodl_solver.errors.AutoDLInputError`. A registered class built directly
(``GBDTLearner(metadata)``) gets the same resolution: :func:`register` sets its
``_config_factory`` (read by ``Learner._default_config``).
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from ..anytime.learner import Learner
from ..config_paths import config_dirs
from ..data.metadata import Metadata
from ..errors import AutoDLInputError
from .inference import DOMAINS


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
        entry = LearnerEntry(name, cls, domains, default_config, file)
        _REGISTRY[name] = entry
        # LearnerClass(metadata) resolves its config as create() does (see Learner._default_config)
        cls._config_factory = functools.partial(_resolve, entry)
        return cls

    return decorator


def _load_builtins() -> None:
    """Import the built-in learners: importing a sub-package registers its learners.

    Done on first use rather than at import, so that importing the registry (or the CLI) stays cheap.
    """
    global _builtins_loaded
    if not _builtins_loaded:
        from . import baselines, speech, tabular, text, vision  # noqa: F401  (each registers its learners)

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
# config_dirs (autodl_solver/config_paths.py): where the YAML files are looked up, first match wins.
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


class _WrongType(Exception):
    """A value does not match a field's annotation (internal to :func:`_coerce`)."""


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def _coerce(value: Any, hint: Any) -> Any:
    """``value`` checked against the annotation ``hint``; lists become tuples for tuple fields.

    Ints are accepted for floats (kept as they are), ``None`` only for
    ``Optional`` fields; ``bool`` is not taken for a number. Raises
    :class:`_WrongType` on a mismatch; annotations it does not know are not checked.
    """
    if hint is Any or hint is object:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or (hasattr(types, "UnionType") and origin is getattr(types, "UnionType")):
        for arm in args:
            if arm is type(None):
                if value is None:
                    return None
                continue
            try:
                return _coerce(value, arm)
            except _WrongType:
                pass
        raise _WrongType
    if origin is typing.Literal:
        if value not in args:
            raise _WrongType
        return value
    if value is None:
        raise _WrongType
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _WrongType
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _WrongType
        return value
    if hint is bool or hint is str:
        if not isinstance(value, hint):
            raise _WrongType
        return value
    if hint is tuple or origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _WrongType
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = args[0] if args else Any
            return tuple(_coerce(v, item) for v in value)
        if len(args) != len(value):
            raise _WrongType
        return tuple(_coerce(v, a) for v, a in zip(value, args))
    if hint is list or origin is list:
        if not isinstance(value, list):
            raise _WrongType
        return [_coerce(v, args[0]) for v in value] if args else value
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise _WrongType
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        raise _WrongType
    return value


def _apply(config: Any, overrides: Mapping[str, Any], where: str, name: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(config)}
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise AutoDLInputError(where, f"unknown config fields {unknown}; expected some of {sorted(names)}")
    hints = typing.get_type_hints(type(config))
    changes = {}
    for key, value in overrides.items():
        default = getattr(config, key)
        hint = hints.get(key, Any)
        try:
            value = _coerce(value, hint)
        except _WrongType:
            raise AutoDLInputError(where, f"learner {name!r}, field {key!r}: expected {_type_name(hint)}, "
                                          f"got {type(value).__name__} {value!r}") from None
        # YAML has no tuples; keep the dataclass's type for sequences.
        if isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        changes[key] = value
    return dataclasses.replace(config, **changes)


def _resolve(entry: LearnerEntry, overrides: Optional[Mapping[str, Any]] = None,
             config_dir: Optional[Path] = None) -> Any:
    """Dataclass defaults < the YAML section < ``overrides``, for one entry (see :func:`load_config`)."""
    name = entry.name
    if entry.default_config is None:
        if overrides:
            raise AutoDLInputError(name, f"learner {name!r} has no configurable fields")
        return None
    config = entry.default_config()
    from_yaml, path = _yaml_overrides(entry, config_dir)
    if from_yaml:
        config = _apply(config, from_yaml, f"{path}: {name}", name)
    if overrides:
        config = _apply(config, overrides, f"config of {name}", name)
    return config


def load_config(name: str, overrides: Optional[Mapping[str, Any]] = None, config_dir: Optional[Path] = None) -> Any:
    """The config of learner ``name``: dataclass defaults < YAML file < ``overrides``.

    Returns ``None`` for a learner registered without a config class (then
    ``overrides`` must be empty). A value whose type does not match the
    field's annotation is an :class:`~autodl_solver.errors.AutoDLInputError`
    naming the file (or ``config of <name>`` for overrides), the learner, the
    field and the expected type; ints are accepted for floats, lists for tuples
    (converted), ``None`` only for ``Optional`` fields.

    A registered class built directly (``LearnerClass(metadata)``) gets
    ``load_config(name)`` too (``Learner._default_config``).
    """
    return _resolve(get_entry(name), overrides, config_dir)


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
