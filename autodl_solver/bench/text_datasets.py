"""Text datasets available offline, in AutoDL format.

* ``O1``: the public AutoNLP sample in ``../shared/autodl_samples/O1`` (raw
  AutoNLP files), converted with
  :func:`~autodl_solver.data.converters.from_autonlp`, its split kept.
* ``fortunes_categories``: topic classification of the English Debian
  fortune cookies (packages ``fortunes`` + ``fortunes-min``,
  ``/usr/share/games/fortunes``). The class is the file a cookie comes from
  (``computers``, ``people``, ``science`` …); the categories holding at
  least :data:`MIN_COOKIES` distinct cookies are kept (29 here), at most
  400 cookies each (seeded sample). Hard: docs/environment.md §3 measured
  TF-IDF + logistic regression at 0.38 accuracy.
* ``fortunes_language``: language identification over the eight fortune
  languages :data:`LANGUAGES` (``fortunes-de/-es/-it/-pl/-ru/-cs/-br``),
  600 cookies each (seeded sample).

Fortune files hold cookies separated by lines holding only ``%``. The
folders are full of duplicates: every file has a ``.u8`` twin (a symlink, or
an empty file in ``pl/``), the top-level Italian names link into ``it/``,
``cz/`` links into ``cs/`` and ``sk/`` into ``cs/klasik-sk``. Files are
therefore read once per real path (links counted in ``duplicate_files``),
``.dat`` index files, empty files and sub-folders (``off/``: offensive
cookies) are skipped, and ``klasik-sk`` (Slovak) is left out of ``cs``.
Cookies are decoded one by one with a fallback chain: UTF-8, then the
language's legacy encoding (KOI8-R for Russian, ISO-8859-2 for Polish and
Czech, cp1252 otherwise), then Latin-1, which never fails; the number of
cookies that needed each fallback is reported (the Debian packages installed
here are all UTF-8, so it is 0 in practice). A cookie text met twice in one
class is kept once; one met in two classes is dropped, as its label would be
ambiguous.

The chosen cookies go to a temporary folder of ``.txt`` files with a
``labels.csv`` and a ``label.name``; the project's own
:func:`~autodl_solver.data.converters.from_text_folder` tokenises them
(whitespace, ``language="EN"``: no language here is Chinese), builds the
vocabulary, makes the seeded stratified 70/30 split and writes the dataset.
Every random choice comes from ``numpy.random.default_rng(seed)``, so a
rebuild is byte-identical. On one core (``taskset -c 1``) building took
3.3 s for ``fortunes_categories`` (29 classes of 150-400, 9,237 cookies,
46,182 tokens in the vocabulary; 9.0 MB; 43 files read, 82 texts shared by two
categories dropped), 1.9 s for ``fortunes_language`` (8 x 600 = 4,800 cookies
drawn from 91,700; 7.1 MB) and 0.7 s for ``O1`` (9,613 sentences, 2 classes;
4.8 MB). :func:`build` prints these facts on stderr and returns ``None``
with a message when the fortunes folder (or the shared O1 sample) is absent.
"""
from __future__ import annotations

import csv
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from autodl_solver.errors import AutoDLInputError

from .machine import SHARED_SAMPLES  # ../shared/autodl_samples beside the checkout; None for an installed package

FORTUNES = Path("/usr/share/games/fortunes")

#: Classes of ``fortunes_language`` -> the fortunes sub-folder holding them ("" = the top level, English).
LANGUAGES: dict[str, str] = {"en": "", "de": "de", "es": "es", "it": "it", "pl": "pl", "ru": "ru", "cs": "cs",
                             "pt-BR": ""}
#: Top-level files that are not English (``fortunes-br`` installs its one file there).
PORTUGUESE_FILES = ("brasil",)
#: Files of a language folder left out: ``klasik-sk`` is Slovak (``sk/`` links to it).
EXCLUDED: dict[str, tuple[str, ...]] = {"cs": ("klasik-sk",)}
#: Legacy encodings tried after UTF-8, per language; Latin-1 comes last and never fails.
FALLBACKS: dict[str, tuple[str, ...]] = {"ru": ("koi8-r",), "pl": ("iso-8859-2",), "cs": ("iso-8859-2",)}
DEFAULT_FALLBACKS = ("cp1252",)
#: A category of ``fortunes_categories`` needs at least this many distinct cookies.
MIN_COOKIES = 150
#: Default cookies per class (a class with fewer keeps all of them).
CAPS = {"fortunes_categories": 400, "fortunes_language": 600}
ALL = ("O1", "fortunes_categories", "fortunes_language")


# ------------------------------------------------------------------- reading
def decode_cookie(raw: bytes, fallbacks: Sequence[str] = DEFAULT_FALLBACKS) -> tuple[str, Optional[str]]:
    """Text of ``raw`` and the fallback encoding used (``None`` when it is UTF-8).

    ``fallbacks`` are tried in order after UTF-8; Latin-1 ends the chain
    because every byte string is valid Latin-1.
    """
    for encoding in ("utf-8", *fallbacks):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, (None if encoding == "utf-8" else encoding)
    return raw.decode("latin-1"), "latin-1"


def split_cookies(raw: bytes) -> list[bytes]:
    """The cookies of a fortune file: blocks between lines holding only ``%``, stripped, empty ones dropped."""
    cookies, current = [], []
    for line in raw.splitlines():
        if line.strip() == b"%":
            cookies.append(b"\n".join(current))
            current = []
        else:
            current.append(line)
    cookies.append(b"\n".join(current))
    return [c.strip() for c in cookies if c.strip()]


def cookie_files(folder: Path) -> tuple[list[Path], int]:
    """Distinct fortune files of ``folder`` (real paths, sorted) and the number of duplicate entries skipped.

    An entry is a duplicate when its real path was already listed (``.u8``
    links) or is an empty file (``pl/*.u8``). Entries resolving outside
    ``folder`` (top-level links into ``it/``) belong to another folder and
    are neither listed nor counted; ``.dat`` indexes and sub-folders are
    ignored.
    """
    folder = Path(folder)
    seen: dict[Path, None] = {}
    duplicates = 0
    for entry in sorted(folder.iterdir()):
        real = entry.resolve()
        if not real.is_file() or real.name.endswith(".dat") or entry.name.endswith(".dat"):
            continue
        if real.parent != folder.resolve():
            continue
        if real in seen or real.stat().st_size == 0:
            duplicates += 1
            continue
        seen[real] = None
    return sorted(seen), duplicates


@dataclass
class Corpus:
    """Distinct cookies per class, and what reading them took.

    Attributes
    ----------
    texts : dict
        Class name -> its cookies (decoded, NFC, in file order), each once.
    files : int
        Fortune files read.
    duplicate_files : int
        Entries skipped as links to (or empty twins of) a file already read.
    cookies : int
        Cookies parsed, before removing repeats.
    fallback : Counter
        Encoding -> number of cookies that were not UTF-8 and needed it.
    repeated : int
        Cookies dropped because the same text was already in their class.
    ambiguous : int
        Distinct texts dropped because they occur in more than one class.
    """

    texts: dict[str, list[str]]
    files: int = 0
    duplicate_files: int = 0
    cookies: int = 0
    fallback: Counter = field(default_factory=Counter)
    repeated: int = 0
    ambiguous: int = 0


def read_corpus(groups: dict[str, list[Path]], fallbacks: Optional[dict[str, Sequence[str]]] = None,
                duplicate_files: int = 0) -> Corpus:
    """Read the files of each class into a :class:`Corpus` (see the module docstring for the rules)."""
    fallbacks = fallbacks or {}
    corpus = Corpus({}, duplicate_files=duplicate_files)
    for label, paths in groups.items():
        texts: dict[str, None] = {}
        for path in paths:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise AutoDLInputError(path, f"cannot be read: {exc}") from None
            corpus.files += 1
            for chunk in split_cookies(raw):
                text, used = decode_cookie(chunk, fallbacks.get(label, DEFAULT_FALLBACKS))
                corpus.cookies += 1
                if used:
                    corpus.fallback[used] += 1
                # NFC and \n line ends so that the same cookie typed two ways is one text.
                text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
                if text in texts:
                    corpus.repeated += 1
                texts[text] = None
        corpus.texts[label] = list(texts)
    owners = Counter(t for texts in corpus.texts.values() for t in texts)
    shared = {t for t, n in owners.items() if n > 1}
    corpus.ambiguous = len(shared)
    corpus.texts = {k: [t for t in v if t not in shared] for k, v in corpus.texts.items()}
    return corpus


def category_corpus(source: Path = FORTUNES, min_cookies: int = MIN_COOKIES) -> Corpus:
    """English fortune categories (one class per top-level file) with at least ``min_cookies`` cookies."""
    source = Path(source)
    paths, duplicates = cookie_files(source)
    groups = {p.name: [p] for p in paths if p.name not in PORTUGUESE_FILES}
    corpus = read_corpus(groups, duplicate_files=duplicates)
    corpus.texts = {k: v for k, v in sorted(corpus.texts.items()) if len(v) >= min_cookies}
    return corpus


def language_corpus(source: Path = FORTUNES) -> Corpus:
    """Cookies of each of :data:`LANGUAGES` (a language whose folder is missing is left out)."""
    source = Path(source)
    groups: dict[str, list[Path]] = {}
    duplicates = 0
    top, top_duplicates = cookie_files(source)
    for language, sub in LANGUAGES.items():
        if sub:
            if not (source / sub).is_dir():
                continue
            paths, skipped = cookie_files(source / sub)
            duplicates += skipped
            paths = [p for p in paths if p.name not in EXCLUDED.get(language, ())]
        elif language == "pt-BR":
            paths = [p for p in top if p.name in PORTUGUESE_FILES]
        else:
            paths = [p for p in top if p.name not in PORTUGUESE_FILES]
        if paths:
            groups[language] = paths
    return read_corpus(groups, FALLBACKS, duplicate_files=duplicates + top_duplicates)


def sample(corpus: Corpus, cap: int, seed: int) -> list[tuple[str, int]]:
    """At most ``cap`` cookies per class (seeded, without replacement) as ``(text, class index)``, shuffled.

    Shuffled so that records are not grouped by class: an any-time learner
    reading the first examples first must see every class.
    """
    rng = np.random.default_rng(seed)
    docs = []
    for index, texts in enumerate(corpus.texts.values()):
        chosen = (np.sort(rng.choice(len(texts), size=cap, replace=False)) if len(texts) > cap
                  else np.arange(len(texts)))
        docs.extend((texts[i], index) for i in chosen)
    return [docs[i] for i in rng.permutation(len(docs))]


# ------------------------------------------------------------------- building
def _write_text_dataset(docs: Sequence[tuple[str, int]], class_names: Sequence[str], root: Path, stem: str,
                        seed: int) -> Path:
    from autodl_solver.data.converters import from_text_folder

    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{stem}_txt_", dir=root) as tmp:
        folder = Path(tmp)
        rows = []
        for i, (text, label) in enumerate(docs):
            name = f"doc_{i:05d}.txt"
            (folder / name).write_text(text + "\n", encoding="utf-8")
            rows.append([name, str(label)])
        with open(folder / "labels.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["FileName", "Labels"])
            writer.writerows(rows)
        (folder / "label.name").write_text("\n".join(class_names) + "\n", encoding="utf-8")
        result = from_text_folder(folder, root, stem, language="EN", test_size=0.3, seed=seed, overwrite=True)
    return result.path


def _report(stem: str, corpus: Optional[Corpus], n_docs: int, path: Path, seconds: float) -> None:
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    line = f"[text] {stem}: {n_docs} documents"
    if corpus is not None:
        fallback = ", ".join(f"{k} {v}" for k, v in sorted(corpus.fallback.items())) or "none"
        line += (f", {len(corpus.texts)} classes; read {corpus.files} files ({corpus.duplicate_files} duplicate "
                 f"entries skipped), {corpus.cookies} cookies ({corpus.repeated} repeats, {corpus.ambiguous} "
                 f"ambiguous dropped); decoding fallbacks: {fallback}")
    print(f"{line}; built in {seconds:.1f} s, {size / 1e6:.1f} MB", file=sys.stderr, flush=True)


def build(name: str, root: Path, seed: int = 42, cap: Optional[int] = None,
          source: Optional[Path] = None) -> Optional[Path]:
    """The dataset dir of ``name`` in AutoDL format (built under ``root`` once); ``None`` if its source is absent.

    Parameters
    ----------
    name : str
        One of :data:`ALL`.
    root : path
        Datasets are built in ``root/<name>`` (reused when complete); a cap
        other than the default goes to ``root/<name>_c<cap>``.
    seed : int
        Seed of the per-class sample, the shuffle and the 70/30 split.
    cap : int, optional
        Cookies per class (default :data:`CAPS`); not used by ``O1``.
    source : path, optional
        The fortunes folder (default :data:`FORTUNES`), or the folder holding
        ``O1`` (default the shared samples).
    """
    if name not in ALL:
        raise AutoDLInputError("dataset", f"got {name!r}, expected one of {ALL}")
    root = Path(root)
    start = time.perf_counter()
    if name == "O1":
        samples = Path(source) if source is not None else SHARED_SAMPLES
        raw = None if samples is None else samples / "O1"
        if raw is None or not raw.is_dir():
            where = raw or "../shared/autodl_samples/O1 (beside a checkout; none for an installed package)"
            print(f"[text] O1: {where} is absent; dataset skipped", file=sys.stderr, flush=True)
            return None
        if (root / "O1" / "O1.solution").exists():
            return root / "O1"
        from autodl_solver.data.converters import from_autonlp

        result = from_autonlp(raw, root, "O1", overwrite=True)
        _report("O1", None, result.num_train + result.num_test, result.path, time.perf_counter() - start)
        return result.path
    source = Path(source) if source is not None else FORTUNES
    if not source.is_dir():
        print(f"[text] {name}: {source} is absent (apt-get install fortunes fortunes-min fortunes-de ...); "
              "dataset skipped", file=sys.stderr, flush=True)
        return None
    cap = CAPS[name] if cap is None else int(cap)
    if cap < 1:
        raise AutoDLInputError("cap", f"got {cap}, expected a positive number of cookies per class")
    stem = name if cap == CAPS[name] else f"{name}_c{cap}"
    if (root / stem / f"{stem}.solution").exists():
        return root / stem
    corpus = category_corpus(source) if name == "fortunes_categories" else language_corpus(source)
    if len(corpus.texts) < 2:
        raise AutoDLInputError(source, f"gives {len(corpus.texts)} class(es) for {name}; expected at least 2")
    docs = sample(corpus, cap, seed)
    path = _write_text_dataset(docs, list(corpus.texts), root, stem, seed)
    _report(stem, corpus, len(docs), path, time.perf_counter() - start)
    return path

