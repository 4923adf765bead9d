"""Text rebuilt from token indices: vocabulary table, OOV, empty-string token, Chinese, truncation."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.text.text_vocab import UNK, build_table, document_tokens, documents, is_chinese


def seq(*ids: float) -> np.ndarray:
    return np.asarray(ids, np.float32).reshape(-1, 1, 1, 1)


def text_meta(vocab: dict) -> Metadata:
    return Metadata(output_dim=2, sequence_size=-1, row_count=1, col_count=1, raw_num_channels=1,
                    channel_to_index=vocab)


def test_rebuild_english_with_the_official_empty_string_token():
    # the toolkit's split(' ') of lines ending with a space puts '' in the vocabulary
    vocab = {"a": 0, "good": 1, "film": 2, "": 3, ".": 4}
    table = build_table(text_meta(vocab))
    docs = documents([seq(0, 1, 2, 4, 3), seq(3), seq(1, 3, 3, 2)], table)
    assert docs == ["a good film .", "", "good film"]


def test_out_of_vocabulary_indices_become_unk():
    table = build_table({"x": 0, "y": 2})  # index 1 is a hole in the vocabulary
    assert document_tokens(seq(0, 1, 2, 3, -1, 1e9, 0.5, np.nan), table) == ["x", UNK, "y", UNK, UNK, UNK, UNK, UNK]


def test_missing_vocabulary_falls_back_to_index_tokens_with_one_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = build_table(text_meta({}))
        docs = documents([seq(5, 7, 5), seq(-3)], table)
    assert len([w for w in caught if issubclass(w.category, UserWarning)]) == 1
    assert table.missing_vocabulary
    assert docs == ["t5 t7 t5", UNK]


def test_bad_vocabulary_entries_are_ignored_and_first_token_wins():
    table = build_table({"a": 0, "b": 0, "c": -4, "d": 1.5, "e": 1})
    assert document_tokens(seq(0, 1), table) == ["a", "e"]


def test_chinese_detection_and_per_character_documents():
    zh = {"我": 0, "喜": 1, "欢": 2, "这": 3, "部": 4, "电": 5, "影": 6, "": 7}
    table = build_table(zh)
    assert is_chinese(table) and is_chinese(zh)
    assert documents([seq(0, 1, 2, 7, 3, 4, 5, 6)], table) == ["我喜欢这部电影"]
    en = build_table({"the": 0, "movie": 1, "is": 2, "great": 3})
    assert not is_chinese(en)
    assert documents([seq(0, 1, 2, 3)], en) == ["the movie is great"]
    assert documents([seq(0, 1)], en, chinese=True) == ["themovie"]
    # single-letter English tokens are not Chinese (the official "keys of length 1" test would say so)
    assert not is_chinese({c: i for i, c in enumerate("abcdefghij")})
    with pytest.warns(UserWarning, match="no text vocabulary"):
        assert not is_chinese(build_table({}))  # no vocabulary: nothing to call Chinese


def test_empty_documents_and_truncation():
    table = build_table({"w0": 0, "w1": 1})
    empty = np.zeros((0, 1, 1, 1), np.float32)
    assert documents([empty], table) == [""]
    long_doc = seq(*([0, 1] * 5000))
    assert documents([long_doc], table, max_tokens=3) == ["w0 w1 w0"]
    assert len(documents([long_doc], table)[0].split()) == 10000


@pytest.mark.parametrize("shape", [(3,), (3, 1, 1, 1), (1, 3, 1, 1)])
def test_any_layout_of_the_indices_is_read_in_order(shape):
    table = build_table({"a": 0, "b": 1, "c": 2})
    assert document_tokens(np.arange(3, dtype=np.float32).reshape(shape), table) == ["a", "b", "c"]
