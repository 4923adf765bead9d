"""Text rebuilt from AutoDL token-index tensors through the metadata vocabulary.

An AutoDL text example is a float32 ``(L, 1, 1, 1)`` tensor of token indices
and the train metadata's ``channel_to_index`` map is the vocabulary (token ->
index, ``docs/protocol.md`` §2.1 and §3). Text learners want strings
back, which is what this module gives:

* :func:`build_table` — the index -> token table. The official toolkit's
  quirk (§7.8): AutoNLP lines end with a space, so ``line.split(' ')`` puts an
  empty-string token in the vocabulary (all O1 lines carry one); that token
  rebuilds to nothing (no double space). Indices that are negative, not
  integers, beyond the table or absent from the vocabulary become
  :data:`UNK`. A missing vocabulary is not an error: each index becomes the
  token ``t<idx>`` (one warning), which a bag-of-words model uses just as well.
* :func:`documents` — one string per example, tokens joined with spaces, or
  with no separator for Chinese (as the official Baseline 3 does), after
  truncation to a cap of tokens (the first ``max_tokens``: a TF-IDF model
  gains little from the tail of very long documents and pays for all of it).
* :func:`is_chinese` — the share of CJK characters among sampled tokens
  (the converter's :func:`~autodl_solver.data.converters.text.detect_language`
  rule), rather than the official "first 100 keys have length 1" test, which
  calls a vocabulary of English letters Chinese.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from ...data.converters.text import detect_language
from ...data.metadata import Metadata

#: Runs of anything but letters and digits (Unicode letters included, underscore excluded).
_NON_ALNUM = re.compile(r"[\W_]+")

#: What an out-of-vocabulary index rebuilds to.
UNK = "<unk>"
#: Tokens sampled by :func:`is_chinese`.
SAMPLE_TOKENS = 2000


@dataclass
class TokenTable:
    """Index -> token lookup.

    Attributes
    ----------
    tokens : ndarray of object
        ``tokens[i]`` is the token of index ``i`` (:data:`UNK` for holes;
        ``""`` for the official empty-string token). Empty when
        ``missing_vocabulary``.
    missing_vocabulary : bool
        No vocabulary was given: index ``i`` rebuilds to ``"t<i>"``.
    """

    tokens: np.ndarray
    missing_vocabulary: bool = False

    def __len__(self) -> int:
        return len(self.tokens)

    def lookup(self, indices: np.ndarray) -> list[str]:
        """Tokens of a 1-D array of (float) indices; bad indices give :data:`UNK`, empty tokens are dropped."""
        flat = np.asarray(indices, np.float64).reshape(-1)
        ok = np.isfinite(flat) & (flat >= 0) & (flat == np.round(flat))
        ids = np.where(ok, flat, -1).astype(np.int64)
        if self.missing_vocabulary:
            out = [f"t{i}" if i >= 0 else UNK for i in ids.tolist()]
            return out
        ids[ids >= len(self.tokens)] = -1
        # one fancy-indexing pass over the object array (documents can hold thousands of tokens)
        picked = self.tokens[np.maximum(ids, 0)]
        picked[ids < 0] = UNK
        return [t for t in picked.tolist() if t != ""]


def build_table(vocabulary: Union[Metadata, Mapping[str, int], None]) -> TokenTable:
    """The index -> token table of a vocabulary (or of a Metadata's ``vocabulary``).

    Parameters
    ----------
    vocabulary : Metadata or mapping of token -> index or None
        Entries whose index is negative or not an integer are ignored; when
        two tokens share an index the first one wins. An empty or missing
        vocabulary gives a table that maps ``i`` to ``"t<i>"`` (with one
        ``UserWarning``).
    """
    if isinstance(vocabulary, Metadata):
        vocabulary = vocabulary.vocabulary
    usable: dict[int, str] = {}
    for token, index in (vocabulary or {}).items():
        try:
            i = int(index)
        except (TypeError, ValueError):
            continue
        if i >= 0 and i == index and i not in usable:
            usable[i] = str(token)
    if not usable:
        warnings.warn("the metadata has no text vocabulary (channel_to_index is empty): "
                      "token indices are used as the tokens 't<index>'", UserWarning, stacklevel=2)
        return TokenTable(np.empty(0, object), missing_vocabulary=True)
    tokens = np.full(max(usable) + 1, UNK, dtype=object)
    for i, token in usable.items():
        tokens[i] = token
    return TokenTable(tokens)


def _sample_tokens(source: Union[TokenTable, Mapping[str, int], Iterable[str]], n: int) -> list[str]:
    if isinstance(source, TokenTable):
        items: Iterable[str] = source.tokens.tolist()
    elif isinstance(source, Metadata):
        items = source.vocabulary.keys()
    elif isinstance(source, Mapping):
        items = source.keys()
    else:
        items = source
    out: list[str] = []
    for token in items:
        if token and token != UNK:
            out.append(str(token))
            if len(out) >= n:
                break
    return out


def is_chinese(source: Union[TokenTable, Metadata, Mapping[str, int], Iterable[str]],
               sample: int = SAMPLE_TOKENS) -> bool:
    """Whether the text is Chinese: at least 30 % CJK among the characters of ``sample`` tokens.

    Parameters
    ----------
    source : TokenTable, Metadata, vocabulary mapping, or iterable of str
        Tokens to sample (a vocabulary's keys, or documents).
    sample : int
        How many non-empty tokens (or documents) are looked at.
    """
    tokens = _sample_tokens(source, int(sample))
    return bool(tokens) and detect_language(tokens) == "ZH"


def document_tokens(x: np.ndarray, table: TokenTable, max_tokens: Optional[int] = None) -> list[str]:
    """The tokens of one example: its first ``max_tokens`` indices (all when ``None``) looked up in ``table``."""
    flat = np.asarray(x).reshape(-1)
    if max_tokens is not None and max_tokens > 0:
        flat = flat[: int(max_tokens)]
    return table.lookup(flat)


def documents(xs: Sequence[np.ndarray], table: TokenTable, chinese: Optional[bool] = None,
              max_tokens: Optional[int] = None) -> list[str]:
    """One string per example.

    Parameters
    ----------
    xs : sequence of arrays
        Token-index tensors, usually ``(L, 1, 1, 1)``; zero-length ones give ``""``.
    table : TokenTable
        From :func:`build_table`.
    chinese : bool, optional
        Join tokens without a separator; ``None`` decides with :func:`is_chinese` on the table.
    max_tokens : int, optional
        Truncate each example to its first ``max_tokens`` tokens.
    """
    if chinese is None:
        chinese = is_chinese(table)
    sep = "" if chinese else " "
    return [sep.join(document_tokens(x, table, max_tokens)) for x in xs]


def clean_alphanumeric(text: str, per_character: bool = False) -> str:
    """Keep letters and digits only: every other run of characters becomes one space.

    ``per_character`` puts a space between all kept characters (Chinese, one token per character).
    """
    kept = _NON_ALNUM.sub(" ", text).strip()
    if per_character:
        return " ".join(c for c in kept if not c.isspace())
    return kept
