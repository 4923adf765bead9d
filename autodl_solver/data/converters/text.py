"""Text -> AutoDL text dataset (DENSE, one token index per time step).

Two sources:

* the AutoNLP format (``X/X.data/{meta.json, train.data, test.data,
  train.solution}`` + ``X/X.solution``, one document per line), converted as
  the toolkit's ``nlp_to_tfrecords.py`` does, its split kept;
* a folder of ``.txt`` files (one document per file) with a
  ``*labels*.csv`` or one sub-folder per class, split with the seeded split.

The tensor of a document is ``(T, 1, 1, 1)`` holding token indices; the
vocabulary (token -> index, first-seen order over train then test, as the
toolkit) is ``channel_to_index``, which is what makes the official domain rule
say "text". Fixes of the toolkit's quirks (docs/protocol.md §7.8):

* Chinese is tokenised per character for ``ZH`` **and** ``CH`` (meta.json
  documents ``CH``; the toolkit only tested ``ZH`` and split Chinese on
  spaces); whitespace characters are not tokens.
* English splits on spaces and drops empty strings, so a line ending with a
  space adds no ``''`` token to the vocabulary.
* An empty document (no token) becomes one step holding :data:`EMPTY_TOKEN`,
  a token added to the end of the vocabulary only when some document is
  empty, because a zero-length tensor breaks most learners.
* Files of the folder source are decoded as UTF-8 (a BOM is allowed); those
  that are not valid UTF-8 are decoded as cp1252, else latin-1, with a warning
  and their list returned in ``stats["encoding_fallback"]``.
"""
from __future__ import annotations

import json
import os
import unicodedata
import warnings
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from ...errors import AutoDLInputError
from ..metadata import Metadata
from .common import (ConversionResult, check_output, collect_labeled_files, default_name, label_vector,
                     sanitize_name, split_items, write)
from .split import DEFAULT_SEED, DEFAULT_TEST_SIZE

EMPTY_TOKEN = "<empty>"
LANGUAGES = ("EN", "ZH")
#: A corpus whose non-space characters are at least this share CJK is Chinese.
CJK_THRESHOLD = 0.3


def normalise_language(language: Optional[str], where: str = "language") -> Optional[str]:
    """``EN`` or ``ZH`` (``CH``, ``CN`` and ``ZH-*`` are read as ``ZH``); ``None``/``auto`` stays ``None``."""
    if language is None or str(language).strip().lower() in ("", "auto"):
        return None
    value = str(language).strip().upper()
    if value in ("ZH", "CH", "CN", "ZH-CN", "ZH-TW", "ZH_CN", "ZH_TW"):
        return "ZH"
    if value == "EN":
        return "EN"
    raise AutoDLInputError(where, f"got {language!r}, expected EN or ZH (CH accepted)")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0xF900 <= code <= 0xFAFF or 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF)


def detect_language(texts: Iterable[str]) -> str:
    """``ZH`` when at least 30 % of non-space characters are CJK, else ``EN``."""
    cjk = total = 0
    for text in texts:
        for char in text:
            if not char.isspace():
                total += 1
                cjk += _is_cjk(char)
    return "ZH" if total and cjk / total >= CJK_THRESHOLD else "EN"


def tokenize(text: str, language: str, *, spaces_only: bool = False) -> list[str]:
    """Tokens of one document.

    ``ZH``: one token per non-whitespace character. ``EN``: split on
    whitespace (on single spaces only when ``spaces_only``, as the toolkit does
    for AutoNLP lines) with empty strings dropped.
    """
    if language == "ZH":
        return [c for c in text if not c.isspace()]
    parts = text.split(" ") if spaces_only else text.split()
    return [t for t in parts if t]


def encode_corpus(docs: Sequence[list[str]]) -> tuple[dict[str, int], list[np.ndarray]]:
    """Vocabulary in first-seen order and each document as a ``(T, 1, 1, 1)`` index tensor."""
    vocabulary: dict[str, int] = {}
    for tokens in docs:
        for token in tokens:
            if token not in vocabulary:
                vocabulary[token] = len(vocabulary)
    empty_index = None
    if any(not tokens for tokens in docs):
        key = EMPTY_TOKEN
        while key in vocabulary:  # never merge the padding token with a real one
            key = f"<{key}>"
        empty_index = vocabulary[key] = len(vocabulary)
    tensors = []
    for tokens in docs:
        ids = [vocabulary[t] for t in tokens] if tokens else [empty_index]
        tensors.append(np.asarray(ids, np.float32).reshape(-1, 1, 1, 1))
    return vocabulary, tensors


def _text_metadata(output_dim: int, vocabulary: dict[str, int], name: str) -> Metadata:
    return Metadata(output_dim=output_dim, sequence_size=-1, row_count=1, col_count=1, raw_num_channels=1,
                    format="DENSE", channel_to_index=vocabulary, name=name, is_sequence=True)


# ------------------------------------------------------------------ AutoNLP
def _read_lines(path: Path) -> list[str]:
    """One document per line; only the empty string after a final newline is dropped."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise AutoDLInputError(path, "is missing (AutoNLP format needs meta.json, train.data, "
                                     "train.solution, test.data and ../X.solution)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(path, f"cannot be read as UTF-8 text: {exc}") from None
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _read_solution(path: Path, output_dim: int, n: int) -> np.ndarray:
    rows = _read_lines(path)
    if len(rows) != n:
        raise AutoDLInputError(path, f"has {len(rows)} rows, expected {n} (one per document)")
    try:
        y = np.array([[float(v) for v in row.split()] for row in rows], np.float32).reshape(n, -1)
    except ValueError:
        raise AutoDLInputError(path, f"expected {n} rows of {output_dim} numbers") from None
    if y.shape[1] != output_dim:
        raise AutoDLInputError(path, f"has {y.shape[1]} columns, expected class_num={output_dim}")
    if not np.all(np.isfinite(y)) or y.min() < 0 or y.max() > 1:
        raise AutoDLInputError(path, "label values must be within [0, 1]")
    return y


def from_autonlp(src: str | os.PathLike, out_dir: str | os.PathLike, name: Optional[str] = None, *,
                 language: Optional[str] = None, overwrite: bool = False) -> ConversionResult:
    """Convert an AutoNLP dataset, keeping its train/test split.

    Parameters
    ----------
    src : path
        The folder ``X`` holding ``X.data/`` and ``X.solution`` (the
        ``X.data`` folder itself is accepted too).
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str, optional
        Dataset name (default: ``X``).
    language : {"EN", "ZH"}, optional
        Overrides ``meta.json``'s ``language`` (``CH`` is read as ``ZH``);
        without either, detected from the share of CJK characters. A
        declared language that disagrees with the detected one is kept, with
        a warning.
    overwrite : bool
        Replace an existing ``out_dir/name``.

    Returns
    -------
    ConversionResult
        ``stats`` holds the language and the number of empty documents.
    """
    src = Path(src)
    if src.suffix == ".data" and src.is_dir():
        data_dir, base = src, src.stem
        solution = src.parent / f"{base}.solution"
    else:
        found = sorted(p for p in src.glob("*.data") if p.is_dir()) if src.is_dir() else []
        if len(found) != 1:
            raise AutoDLInputError(src,
                                   "expected an AutoNLP folder X holding exactly one X.data/ folder and X.solution")
        data_dir, base = found[0], found[0].stem
        solution = src / f"{base}.solution"
    name = name or sanitize_name(base)
    check_output(out_dir, name, overwrite)
    meta_path = data_dir / "meta.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8-sig"))
        output_dim = int(meta["class_num"])
    except FileNotFoundError:
        raise AutoDLInputError(meta_path, "is missing") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise AutoDLInputError(meta_path,
                               f"expected JSON with class_num, train_num, test_num, language: {exc}") from None
    train_docs, test_docs = _read_lines(data_dir / "train.data"), _read_lines(data_dir / "test.data")
    detected = detect_language(train_docs[:2000])
    lang = (normalise_language(language, "language")
            or normalise_language(meta.get("language"), f"{meta_path} (language)") or detected)
    if lang != detected:
        warnings.warn(f"{meta_path}: language is {lang} but the text looks {detected}; "
                      f"tokenising as {lang} (pass language= to override)")
    for subset, docs in (("train", train_docs), ("test", test_docs)):
        declared = meta.get(f"{subset}_num")
        if declared is not None and int(declared) != len(docs):
            warnings.warn(f"{meta_path}: {subset}_num={declared} but {subset}.data has {len(docs)} lines")
    train_y = _read_solution(data_dir / "train.solution", output_dim, len(train_docs))
    test_y = _read_solution(solution, output_dim, len(test_docs))
    tokens = [tokenize(d, lang, spaces_only=True) for d in train_docs + test_docs]
    vocabulary, tensors = encode_corpus(tokens)
    metadata = _text_metadata(output_dim, vocabulary, name)
    stats = {"language": lang, "empty_documents": sum(1 for t in tokens if not t), "vocabulary_size": len(vocabulary)}
    n = len(train_docs)
    return write(out_dir, name, metadata, zip(tensors[:n], train_y), zip(tensors[n:], test_y),
                 overwrite=overwrite, stats=stats)


# ------------------------------------------------------------------ folder of .txt
def read_text_file(path: Path) -> tuple[str, Optional[str]]:
    """Text of a file and the fallback encoding used (``None`` for UTF-8)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AutoDLInputError(path, f"cannot be read: {exc}") from None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"  # never fails: every byte is a character


def _is_text_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".txt"


def from_text_folder(src: str | os.PathLike, out_dir: str | os.PathLike, name: Optional[str] = None, *,
                     language: Optional[str] = None, output_dim: Optional[int] = None,
                     test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED,
                     overwrite: bool = False) -> ConversionResult:
    """Convert a folder of labelled ``.txt`` documents into an AutoDL text dataset.

    Parameters
    ----------
    src : path
        Folder with ``.txt`` files and a ``*labels*.csv`` (optionally
        ``label.name``), or one sub-folder of ``.txt`` files per class.
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str, optional
        Dataset name (default: the folder name).
    language : {"EN", "ZH", "auto"}, optional
        Tokenisation; detected from the share of CJK characters when not given.
    output_dim : int, optional
        Number of classes when the labels do not say it.
    test_size, seed : float, int
        Seeded stratified split when the labels have no ``subset`` column.
    overwrite : bool
        Replace an existing ``out_dir/name``.

    Returns
    -------
    ConversionResult
        ``stats`` holds ``language``, ``encoding_fallback`` (files not valid
        UTF-8) and ``empty_documents``.
    """
    name = name or default_name(src)
    check_output(out_dir, name, overwrite)
    lang = normalise_language(language)
    found = collect_labeled_files(src, _is_text_file, "text files (.txt)", output_dim,
                                  accept_listed=lambda p: p.is_file())
    train, test = split_items(found.items, found.output_dim, test_size, seed, str(src))
    texts, fallback = [], []
    for it in train + test:
        text, used = read_text_file(it.path)
        # NFC so that a character typed two ways is one token.
        texts.append(unicodedata.normalize("NFC", text))
        if used:
            fallback.append(str(it.path))
    if fallback:
        warnings.warn(f"{src}: {len(fallback)} file(s) are not valid UTF-8 and were decoded as cp1252/latin-1, "
                      f"e.g. {fallback[0]}")
    lang = lang or detect_language(texts)
    tokens = [tokenize(t, lang) for t in texts]
    vocabulary, tensors = encode_corpus(tokens)
    metadata = _text_metadata(found.output_dim, vocabulary, name)
    if found.label_names:
        metadata.label_to_index = {n: i for i, n in enumerate(found.label_names)}
    labels = [label_vector(it.label_index, it.label_score, found.output_dim) for it in train + test]
    n = len(train)
    stats = {"language": lang, "encoding_fallback": fallback, "empty_documents": sum(1 for t in tokens if not t),
             "vocabulary_size": len(vocabulary)}
    return write(out_dir, name, metadata, zip(tensors[:n], labels[:n]), zip(tensors[n:], labels[n:]),
                 overwrite=overwrite, label_names=found.label_names, stats=stats)
