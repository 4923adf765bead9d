"""Metadata defaults and the official AutoDLMetadata methods."""
import pytest

from autodl_solver.data.labels import class_frequencies, is_multilabel
from autodl_solver.data.metadata import Metadata
from autodl_solver.errors import AutoDLInputError


def test_official_channel_default():
    assert Metadata(output_dim=2, format="COMPRESSED").num_channels == 3
    assert Metadata(output_dim=2, format="DENSE").num_channels == 1
    assert Metadata(output_dim=2, format="DENSE", raw_num_channels=4).num_channels == 4


def test_official_methods():
    m = Metadata(output_dim=10, sample_count=82, sequence_size=1, row_count=32, col_count=32,
                 format="COMPRESSED", label_to_index={"cat": 3})
    assert m.get_tensor_shape() == (1, 32, 32, 3)
    assert m.get_tensor_size(0) == (32, 32, 3)
    assert m.get_matrix_size(0) == (32, 32)
    assert m.get_output_size() == 10 and m.size() == 82
    assert m.is_compressed(0) and not m.is_sparse(0)
    assert m.get_sequence_size() == 1 and m.get_bundle_size() == 1
    assert m.class_names[3] == "cat" and m.class_names[0] == "0"


def test_variable_dims_and_none_shape():
    m = Metadata(output_dim=2, sequence_size=-1, row_count=1, col_count=1)
    assert m.tensor_shape == (-1, 1, 1, 1)
    assert m.shape == (None, 1, 1, 1)


def test_from_official_round_trip():
    m = Metadata(output_dim=3, sample_count=5, sequence_size=-1, channel_to_index={"a": 0, "b": 1})
    again = Metadata.from_official(m.replace())  # our object passes through
    assert again == m
    assert Metadata.from_dict(m.to_dict()) == m


@pytest.mark.parametrize("field, kwargs", [
    ("output_dim", {"output_dim": 0}),
    ("format", {"output_dim": 2, "format": "JPEG"}),
    ("row_count", {"output_dim": 2, "row_count": 0}),
    ("sequence_size", {"output_dim": 2, "sequence_size": -2}),
])
def test_bad_fields_name_the_field(field, kwargs):
    with pytest.raises(AutoDLInputError, match=field):
        Metadata(**kwargs)


def test_multilabel_detection():
    assert not is_multilabel([[0, 1], [1, 0]])
    assert is_multilabel([[1, 1], [1, 0]])
    assert is_multilabel([[0, 0], [1, 0]])   # an all-zero row is not softmax-compatible
    assert not is_multilabel([[0.0, 0.0]][:0])
    assert list(class_frequencies([[0, 1], [1, 1]])) == [1, 2]
