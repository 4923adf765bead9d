"""Word vectors for a text network's embedding layer: from a fastText file, or trained on the task's text.

* :func:`load_word_vectors` reads a user-supplied fastText model: a ``.bin``
  (``fasttext.load_model``; words outside its dictionary still get a vector
  from their character n-grams) or a ``.vec`` text file, optionally gzipped
  (first line ``"<count> <dim>"``, then ``"<word> v1 ... v<dim>"`` per line,
  as the ``cc.<lang>.300.vec`` files the AutoDL image shipped). A ``.vec``
  file is streamed: only the requested words are kept, so a 2-million-word
  file costs one pass and a few MB.
* :func:`train_word_vectors` trains fastText's unsupervised skipgram on the
  task's own training documents (through a temporary file, removed
  afterwards) and returns the vectors of the requested words;
  :func:`train_fasttext_vectors` and :func:`model_vectors` are its two steps,
  for callers that keep the model to look up later words.

Every function returns ``(matrix, found)``: a float32 ``(len(words), dim)``
matrix whose rows of words without a vector are zero, and how many words
had one (for ``.bin`` and trained models: words in the model's dictionary;
the others still get an n-gram vector when the model has n-grams).
"""
from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from ...errors import AutoDLInputError

__all__ = ["load_word_vectors", "train_word_vectors", "train_fasttext_vectors", "model_vectors"]


def _fasttext() -> Any:
    from ..._environment import patch_fasttext

    patch_fasttext()  # fasttext-wheel 0.9.2 under numpy 2
    import fasttext

    return fasttext


def model_vectors(model: Any, words: Sequence[str], dim: int) -> tuple[np.ndarray, int]:
    """Vectors of ``words`` from a loaded fastText model, and how many are in its dictionary.

    Parameters
    ----------
    model : fasttext model
        From ``fasttext.load_model`` or :func:`train_fasttext_vectors`.
    words : sequence of str
        The words wanted, in order.
    dim : int
        Expected vector size (must be the model's).
    """
    if int(model.get_dimension()) != int(dim):
        raise AutoDLInputError("fastText model", f"has {model.get_dimension()}-dimensional vectors, expected {dim}")
    out = np.zeros((len(words), int(dim)), np.float32)
    found = 0
    for i, word in enumerate(words):
        if not word or any(c.isspace() for c in word):
            continue  # fastText words never hold whitespace; such a query would be split
        if model.get_word_id(word) >= 0:
            found += 1
        out[i] = model.get_word_vector(word)  # n-gram vector (or zeros) for words outside the dictionary
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0), found


def _read_vec(path: Path, words: Sequence[str], dim: int) -> tuple[np.ndarray, int]:
    wanted: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        wanted.setdefault(word, []).append(i)
    out = np.zeros((len(words), int(dim)), np.float32)
    seen: set[str] = set()
    opener = gzip.open if path.suffix == ".gz" else open
    expected = f"a fastText .vec file: a first line '<count> {dim}', then '<word>' and {dim} numbers per line"
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            header = f.readline().split()
            if len(header) != 2 or not all(h.isdigit() for h in header):
                raise AutoDLInputError(path, f"line 1 is not '<count> <dim>'; expected {expected}")
            if int(header[1]) != int(dim):
                raise AutoDLInputError(path, f"holds {header[1]}-dimensional vectors, expected {dim}")
            for number, line in enumerate(f, start=2):
                # cheap test on the word first: most lines of a big file are words we do not need
                word, _, rest = line.rstrip("\n").rstrip(" ").partition(" ")
                if word not in wanted or word in seen:
                    continue
                try:
                    vector = np.asarray(rest.split(" "), dtype=np.float32)
                except ValueError:
                    raise AutoDLInputError(path, f"line {number} holds a value that is not a number; "
                                                 f"expected {expected}") from None
                if vector.shape != (int(dim),):
                    raise AutoDLInputError(path, f"line {number} has {vector.size} values, expected {dim}")
                out[wanted[word]] = vector
                seen.add(word)
                if len(seen) == len(wanted):
                    break  # every word found: no need to read the rest of the file
    except (OSError, EOFError, UnicodeError) as exc:
        raise AutoDLInputError(path, f"cannot be read ({type(exc).__name__}: {exc}); expected {expected}") from None
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0), sum(len(wanted[w]) for w in seen)


def load_word_vectors(path: Union[str, os.PathLike], words: Sequence[str], dim: int) -> tuple[np.ndarray, int]:
    """The vectors of ``words`` from a fastText ``.bin`` model or ``.vec`` (``.vec.gz``) text file.

    Parameters
    ----------
    path : path
        The vectors file. ``.bin`` is loaded with fastText; anything else is
        read as the ``.vec`` text format (gzipped when it ends in ``.gz``).
    words : sequence of str
        The words wanted, in order.
    dim : int
        The vector size the caller's embedding layer has.

    Returns
    -------
    (ndarray, int)
        float32 ``(len(words), dim)`` (zero rows for words without a vector) and the number of words found.

    Raises
    ------
    AutoDLInputError
        The file is missing, unreadable, of another dimension, or not in the expected format.
    """
    path = Path(path)
    if not path.is_file():
        raise AutoDLInputError(path, "no such file; expected fastText word vectors (.bin or .vec)")
    if path.suffix == ".bin":
        _fasttext()
        try:
            from fasttext.FastText import _FastText

            model = _FastText(model_path=str(path))  # load_model without its stderr notice
        except (ValueError, RuntimeError, OSError, MemoryError) as exc:
            raise AutoDLInputError(path, f"is not a fastText .bin model ({type(exc).__name__}: {exc})") from None
        if int(model.get_dimension()) != int(dim):
            raise AutoDLInputError(path, f"holds {model.get_dimension()}-dimensional vectors, expected {dim}")
        return model_vectors(model, words, dim)
    return _read_vec(path, words, dim)


def train_fasttext_vectors(docs: Sequence[str], dim: int, epochs: int, seed: int = 0, threads: int = 1,
                           min_count: int = 1, bucket: int = 50000) -> Any:
    """A fastText skipgram model trained on ``docs`` (one document per line, words split on whitespace).

    Parameters
    ----------
    docs : sequence of str
        The training documents.
    dim, epochs : int
        Vector size and passes over the text.
    seed : int
        fastText's seed (with ``threads=1`` the model is then deterministic).
    threads : int
        fastText's training threads.
    min_count : int
        Words seen fewer times are not in the dictionary (they still get n-gram vectors).
    bucket : int
        Hash buckets of the character n-grams (memory: ``bucket * dim`` floats).

    Returns
    -------
    fasttext model, or None
        None when the documents hold no word at all.
    """
    lines = [" ".join(d.split()) for d in docs]
    if not any(lines):
        return None
    fasttext = _fasttext()
    with tempfile.TemporaryDirectory(prefix="autodl_vectors_") as tmp:
        path = os.path.join(tmp, "text.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        params = dict(model="skipgram", dim=int(dim), epoch=max(1, int(epochs)), minCount=max(1, int(min_count)),
                      thread=max(1, int(threads)), bucket=int(bucket), minn=3, maxn=6, verbose=0)
        # fasttext-wheel 0.9.2's Python API has no seed argument; newer ones do
        try:
            return fasttext.train_unsupervised(path, seed=int(seed), **params)
        except TypeError:
            return fasttext.train_unsupervised(path, **params)


def train_word_vectors(docs: Sequence[str], words: Sequence[str], dim: int, epochs: int, seed: int = 0,
                       threads: int = 1) -> tuple[np.ndarray, int]:
    """Vectors of ``words`` from a fastText skipgram trained on the task's own ``docs``.

    Parameters
    ----------
    docs : sequence of str
        Training documents, words separated by whitespace.
    words : sequence of str
        The words wanted, in order.
    dim, epochs, seed, threads : int
        See :func:`train_fasttext_vectors`.

    Returns
    -------
    (ndarray, int)
        float32 ``(len(words), dim)`` and the number of words in the trained model's dictionary.
    """
    model = train_fasttext_vectors(docs, dim, epochs, seed=seed, threads=threads)
    if model is None:
        return np.zeros((len(words), int(dim)), np.float32), 0
    return model_vectors(model, words, dim)
