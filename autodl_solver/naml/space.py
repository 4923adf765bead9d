"""The T-NAML search space: an ordered list of discrete decisions read from YAML.

A space file (``configs/naml/space.yaml``) holds a ``name`` and a list of
``decisions``, each with a ``name`` and its ``choices``. A decision's
choices are either one list shared by every task, or a mapping
``modality -> list`` (the embedding module: text tasks pick among text
encoders, image tasks among image ones). The controller has one softmax
head per decision over the union of the choices and masks out those of
other modalities.

The child model (:mod:`autodl_solver.naml.child`) reads the twelve decisions
of the paper's supplementary Table 1 by name (:data:`REQUIRED`), so a space
must declare all of them; their choices are free. The space's
:attr:`SearchSpace.fingerprint` is the sha256 of the canonical JSON of the
parsed space: every checkpoint and result records it, and a controller
refuses to load into a different space.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..errors import AutoDLInputError

#: Decisions the child model reads, in Table 1's order.
REQUIRED = ("embedding", "fine_tune", "hidden_layers", "layer_size", "activation", "normalization", "dropout",
            "deep_lr", "deep_reg", "wide_lr", "wide_reg", "train_samples")
#: Embedding modules the child knows, by modality.
EMBEDDINGS = {"text": ("minilm", "fasttext", "hashed"), "image": ("efficientnet_lite0", "pixels"),
              "tabular": ("standardized", "quantiles"), "speech": ("clip_stats", "logmel_grid"),
              "video": ("frame_pixels",)}
MODALITIES = tuple(EMBEDDINGS)
#: The "regularisation" choice that switches a tower off (Table 1: "disable deep/wide tower").
DISABLE = "disable"

_ENUMS = {"activation": ("relu", "swish"), "normalization": ("none", "batch", "layer"), "fine_tune": (False, True)}


def fingerprint_mismatch(saved_name: Any, saved_fingerprint: str, space: "SearchSpace", what: str) -> str:
    """The message of a refused load: ``what`` was saved for another search space than ``space``.

    Parameters
    ----------
    saved_name : str or None
        The space name recorded with the saved object.
    saved_fingerprint : str
        Its recorded fingerprint.
    space : SearchSpace
        The space it was asked to load into.
    what : str
        What was saved (``"the controller"``).

    Returns
    -------
    str
        Names both fingerprints; when the names agree, says that the space
        file changed since (choices added, such as a new modality's
        embedding modules), so the saved object must be retrained or loaded
        with the space it was trained on.
    """
    same = saved_name == space.name
    why = (f"the space of that name ({space.source or space.name}) has changed since {what} was saved (other "
           "choices; configs/naml/space.yaml, for one, gained the tabular, speech and video embedding modules), so "
           "its decision heads no longer fit: retrain it, or pass the space file it was trained on" if same else
           f"pass the space file it was trained on ({saved_name!r})")
    return (f"search space fingerprint mismatch: {what} was saved for space {saved_name!r} (fingerprint "
            f"{str(saved_fingerprint)[:12]}…), this space is {space.name!r} (fingerprint {space.fingerprint[:12]}…); "
            f"{why}")


@dataclass(frozen=True)
class Decision:
    """One design choice the controller makes.

    Attributes
    ----------
    name : str
        Decision name (a key of the sampled configuration).
    choices : tuple
        Every choice, in head order (for per-modality decisions, modality by modality).
    modality_of : tuple of (str or None)
        For each choice, the only modality that may take it (``None``: every modality).
    """

    name: str
    choices: tuple
    modality_of: tuple

    def __len__(self) -> int:
        return len(self.choices)

    def allowed(self, modality: str) -> list[int]:
        """Indices of the choices a task of ``modality`` may take."""
        return [i for i, m in enumerate(self.modality_of) if m is None or m == modality]


@dataclass(frozen=True)
class SearchSpace:
    """An ordered tuple of :class:`Decision` with a fingerprint.

    Attributes
    ----------
    name : str
        The space's name (from the file).
    decisions : tuple of Decision
        In the order the controller takes them.
    source : str
        The file it was read from (``""`` when built from a dict).
    """

    name: str
    decisions: tuple
    source: str = ""

    def __len__(self) -> int:
        return len(self.decisions)

    @property
    def names(self) -> list[str]:
        """Decision names, in order."""
        return [d.name for d in self.decisions]

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-able form (what the fingerprint hashes)."""
        out = []
        for d in self.decisions:
            if all(m is None for m in d.modality_of):
                out.append({"name": d.name, "choices": list(d.choices)})
            else:
                by: dict[str, list] = {}
                for c, m in zip(d.choices, d.modality_of):
                    by.setdefault(m, []).append(c)
                out.append({"name": d.name, "choices": by})
        return {"name": self.name, "decisions": out}

    @property
    def fingerprint(self) -> str:
        """sha256 hex digest of the canonical JSON of :meth:`to_dict`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def masks(self, modality: str) -> list[np.ndarray]:
        """Per decision, a boolean array: which choices ``modality`` may take."""
        if modality not in MODALITIES:
            raise AutoDLInputError("modality", f"got {modality!r}, expected one of {MODALITIES}")
        out = []
        for d in self.decisions:
            mask = np.zeros(len(d), bool)
            mask[d.allowed(modality)] = True
            out.append(mask)
        return out

    def decode(self, actions: Sequence[int]) -> dict[str, Any]:
        """The configuration (decision name -> choice) of a list of choice indices."""
        if len(actions) != len(self.decisions):
            raise AutoDLInputError("actions", f"{len(actions)} actions for a space of {len(self.decisions)} decisions")
        return {d.name: d.choices[int(a)] for d, a in zip(self.decisions, actions)}

    def encode(self, config: Mapping[str, Any]) -> list[int]:
        """Choice indices of a configuration (inverse of :meth:`decode`)."""
        out = []
        for d in self.decisions:
            if d.name not in config:
                raise AutoDLInputError("config", f"missing decision {d.name!r}")
            value = config[d.name]
            matches = [i for i, c in enumerate(d.choices) if c == value and type(c) is type(value)] or \
                [i for i, c in enumerate(d.choices) if c == value]
            if not matches:
                raise AutoDLInputError(f"config.{d.name}", f"got {value!r}, expected one of {list(d.choices)}")
            out.append(matches[0])
        return out

    def sample_uniform(self, rng: np.random.Generator, modality: str) -> list[int]:
        """Choice indices drawn uniformly among those ``modality`` may take (random search)."""
        return [int(rng.choice(d.allowed(modality))) for d in self.decisions]

    def size(self, modality: str) -> int:
        """Number of configurations a task of ``modality`` can get."""
        return int(np.prod([len(d.allowed(modality)) for d in self.decisions], dtype=np.float64))


def _parse_decision(raw: Any, where: str) -> Decision:
    if not isinstance(raw, Mapping) or "name" not in raw or "choices" not in raw:
        raise AutoDLInputError(where, "expected a mapping with 'name' and 'choices'")
    name = raw["name"]
    if not isinstance(name, str) or not name:
        raise AutoDLInputError(f"{where}.name", f"expected a non-empty string, got {name!r}")
    extra = sorted(set(raw) - {"name", "choices"})
    if extra:
        raise AutoDLInputError(f"{where} ({name})", f"unknown keys {extra}; expected only name, choices")
    raw_choices = raw["choices"]
    choices: list = []
    modality_of: list = []
    if isinstance(raw_choices, Mapping):
        for modality, values in raw_choices.items():
            if modality not in MODALITIES:
                raise AutoDLInputError(f"{where} ({name}).choices",
                                       f"unknown modality {modality!r}, expected some of {MODALITIES}")
            if not isinstance(values, list) or not values:
                raise AutoDLInputError(f"{where} ({name}).choices.{modality}", "expected a non-empty list")
            choices += values
            modality_of += [modality] * len(values)
    elif isinstance(raw_choices, list) and raw_choices:
        choices, modality_of = list(raw_choices), [None] * len(raw_choices)
    else:
        raise AutoDLInputError(f"{where} ({name}).choices", "expected a non-empty list or a mapping modality -> list")
    if len({json.dumps(c) for c in zip(choices, modality_of)}) != len(choices):
        raise AutoDLInputError(f"{where} ({name}).choices", f"duplicate choices in {choices}")
    _check_values(name, choices, modality_of, f"{where} ({name}).choices")
    return Decision(name, tuple(choices), tuple(modality_of))


def _check_values(name: str, choices: list, modality_of: list, where: str) -> None:
    """The child model's expectations on the values of the decisions it reads."""
    def bad(expected: str) -> AutoDLInputError:
        return AutoDLInputError(where, f"got {choices}, expected {expected}")

    if name == "embedding":
        for c, m in zip(choices, modality_of):
            allowed = EMBEDDINGS.get(m, ()) if m else tuple(x for v in EMBEDDINGS.values() for x in v)
            if c not in allowed:
                raise AutoDLInputError(where, f"unknown embedding module {c!r} for {m or 'any'} tasks; "
                                              f"expected one of {allowed}")
        if any(m is None for m in modality_of):
            raise bad(f"a mapping modality -> modules ({', '.join(f'{m}: [...]' for m in MODALITIES)})")
    elif name in _ENUMS:
        if any(c not in _ENUMS[name] or isinstance(c, bool) != isinstance(_ENUMS[name][0], bool) for c in choices):
            raise bad(f"values among {list(_ENUMS[name])}")
    elif name in ("hidden_layers", "layer_size", "train_samples"):
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in choices):
            raise bad("positive integers")
    elif name in ("dropout",):
        if any(isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 <= c < 1 for c in choices):
            raise bad("rates in [0, 1)")
    elif name in ("deep_lr", "wide_lr"):
        if any(isinstance(c, bool) or not isinstance(c, (int, float)) or c <= 0 for c in choices):
            raise bad("positive learning rates")
    elif name in ("deep_reg", "wide_reg"):
        if any(c != DISABLE and (isinstance(c, bool) or not isinstance(c, (int, float)) or c < 0) for c in choices):
            raise bad(f"non-negative weights or {DISABLE!r}")


def space_from_dict(data: Any, source: str = "space") -> SearchSpace:
    """A :class:`SearchSpace` from the parsed YAML/JSON form (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise AutoDLInputError(source, "expected a mapping with 'name' and 'decisions'")
    extra = sorted(set(data) - {"name", "decisions"})
    if extra:
        raise AutoDLInputError(source, f"unknown keys {extra}; expected only name, decisions")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise AutoDLInputError(f"{source}: name", f"expected a non-empty string, got {name!r}")
    raw = data.get("decisions")
    if not isinstance(raw, list) or not raw:
        raise AutoDLInputError(f"{source}: decisions", "expected a non-empty list of decisions")
    decisions = tuple(_parse_decision(r, f"{source}: decisions[{i}]") for i, r in enumerate(raw))
    names = [d.name for d in decisions]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise AutoDLInputError(f"{source}: decisions", f"duplicate decision names {dup}")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise AutoDLInputError(f"{source}: decisions", f"missing decisions {missing} (the child model reads all of "
                                                        f"{list(REQUIRED)})")
    return SearchSpace(name, decisions, source)


def default_space_path(tiny: bool = False) -> Path:
    """``configs/naml/space.yaml`` (or ``tiny_space.yaml``) of this repository."""
    here = Path(__file__).resolve()
    name = "tiny_space.yaml" if tiny else "space.yaml"
    for root in (here.parents[1] / "configs", here.parents[2] / "configs"):
        if (root / "naml" / name).is_file():
            return root / "naml" / name
    return here.parents[2] / "configs" / "naml" / name


def load_space(path: Optional[str | os.PathLike] = None) -> SearchSpace:
    """Read and validate a space file (default ``configs/naml/space.yaml``).

    Raises
    ------
    AutoDLInputError
        Naming the file and the field when the file is missing, not YAML,
        or not a valid space.
    """
    import yaml

    path = Path(path) if path is not None else default_space_path()
    if not path.is_file():
        raise AutoDLInputError(path, "search space file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(path, f"not valid YAML ({exc.__class__.__name__})") from None
    return space_from_dict(data, str(path))
