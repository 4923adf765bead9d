"""Registration of learners: the table, the :func:`register` decorator and config resolution.

A leaf of ``domains/``: learner modules import :func:`register` from here, and
:mod:`autodl_solver.domains.registry` (the lookups, which imports the built-in
learner sub-packages on first use) imports this module, so the registry and the
learners never import each other. See :mod:`autodl_solver.domains.registry`
for how configs resolve (dataclass defaults < ``configs/<file>.yaml`` < explicit
overrides, each value checked against the field's annotation).
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from ..config_paths import config_dirs
from ..errors import AutoDLInputError
from .inference import DOMAINS

__all__ = ["LearnerEntry", "register"]


@dataclass(frozen=True)
class LearnerEntry:
    """What the registry knows about one learner."""

    name: str
    cls: type
    domains: tuple[str, ...]
    default_config: Optional[type]
    config_file: str


_REGISTRY: dict[str, LearnerEntry] = {}


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
