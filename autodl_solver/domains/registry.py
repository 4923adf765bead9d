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
and the first lookup here imports them all (:func:`_load_builtins`). The table
and :func:`register` live in the leaf :mod:`autodl_solver.domains.registration`
(re-exported here), which is what the learner modules import: the learners
never import this module, so there is no import cycle.

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

from pathlib import Path
from typing import Any, Mapping, Optional

from ..anytime.learner import Learner
from ..config_paths import config_dirs  # noqa: F401  (part of this module's API: where the YAMLs are looked up)
from ..data.metadata import Metadata
from ..errors import AutoDLInputError
from .inference import DOMAINS
from .registration import _REGISTRY, LearnerEntry, _resolve, register

__all__ = ["LearnerEntry", "register", "get_entry", "list_learners", "load_config", "create", "config_dirs"]

_builtins_loaded = False


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
