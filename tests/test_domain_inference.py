"""The official domain rule, one test per branch (docs/protocol.md §1.5)."""
import pytest

from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.inference import DOMAINS, infer_domain


def meta(seq, row, col, ch=1, vocab=None, fmt="DENSE"):
    return Metadata(output_dim=2, sequence_size=seq, row_count=row, col_count=col, raw_num_channels=ch,
                    channel_to_index=vocab or {}, format=fmt)


@pytest.mark.parametrize(
    "shape, vocab, expected",
    [
        ((1, 1, 24, 1), None, "tabular"),        # seq 1, row 1
        ((1, 2000, 1, 1), None, "tabular"),      # seq 1, col 1
        ((1, 1, 1, 1), None, "tabular"),         # seq 1, row = col = 1
        ((1, 32, 32, 3), None, "image"),         # seq 1, neither 1
        ((1, -1, -1, 3), None, "image"),         # variable image size (Monkeys)
        ((-1, 1, 1, 1), {"a": 0}, "text"),       # variable sequence + vocabulary
        ((500, 1, 1, 1), {"a": 0}, "text"),      # fixed sequence + vocabulary
        ((-1, 1, 1, 1), None, "speech"),         # variable sequence, no vocabulary
        ((16000, 1, 1, 1), None, "speech"),      # fixed sequence, no vocabulary
        ((181, 60, 80, 1), None, "video"),       # Kreatur
        ((-1, 112, 112, 3), None, "video"),      # variable frame count
        ((10, 1, 64, 1), None, "video"),         # seq > 1 and only one of row/col is 1: official rule says video
        ((10, 1, 64, 1), {"a": 0}, "video"),     # vocabulary does not matter unless row == col == 1
    ],
)
def test_every_branch(shape, vocab, expected):
    assert infer_domain(meta(*shape, vocab=vocab)) == expected
    assert expected in DOMAINS


def test_uses_only_shape_and_vocabulary():
    a = meta(1, 28, 28, 1)
    b = a.replace(output_dim=100, sample_count=7, label_to_index={"x": 0})
    assert infer_domain(a) == infer_domain(b) == "image"
