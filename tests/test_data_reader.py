"""Reading official AutoDL datasets: the samples, the parse rules and every kind of bad input."""
from __future__ import annotations

import io
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autodl_solver.data import protos
from autodl_solver.data.reader import AutoDLSubset, load_dataset, read_solution
from autodl_solver.data.textproto import metadata_to_text, parse_metadata, read_metadata
from autodl_solver.data.tfrecord import write_records
from autodl_solver.errors import AutoDLInputError


@pytest.fixture
def samples(shared_samples) -> Path:
    """../shared/autodl_samples (the conftest fixture skips when it is absent)."""
    return shared_samples


def _raw_images(subset: AutoDLSubset, i: int) -> list[bytes]:
    example = protos.SequenceExample.FromString(subset.record_bytes(i))
    return [b for f in example.feature_lists.feature_list["0_compressed"].feature for b in f.bytes_list.value]


def _pil(blob: bytes, mode: str = "RGB") -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(blob)).convert(mode), np.float32) / 255.0


# ------------------------------------------------------------ samples


def test_miniciao(samples):
    data = load_dataset(samples / "miniciao")
    assert (data.name, len(data.train), len(data.test)) == ("miniciao", 82, 18)
    meta = data.train.metadata
    assert meta.tensor_shape == (1, 32, 32, 3) and meta.format == "COMPRESSED" and meta.output_dim == 10
    assert meta.multilabel is None and meta.name == "miniciao"
    assert data.label_names[:3] == ["airplane", "automobile", "bird"]
    xs, ys = data.train.take(0, 82)
    assert all(x.shape == (1, 32, 32, 3) and x.dtype == np.float32 for x in xs)
    assert ys.shape == (82, 10) and np.all(ys.sum(1) == 1)
    for i in (0, 41, 81):  # pixels are the PNG's, scaled to [0, 1]
        blob = _raw_images(data.train, i)
        assert Image.open(io.BytesIO(blob[0])).format == "PNG"
        np.testing.assert_allclose(xs[i][0], _pil(blob[0]), atol=1e-6)
    assert data.train.has_labels and not data.test.has_labels
    xs_test, ys_test = data.test.take(0, 18)
    assert ys_test is None and len(xs_test) == 18
    assert data.solution.shape == (18, 10)
    assert data.solution.sum(0)[[2, 9]].tolist() == [0, 0]  # known: no positives for classes 2 and 9


def test_monkeys_variable_size_jpeg(samples):
    data = load_dataset(samples / "Monkeys")
    assert (len(data.train), len(data.test)) == (26, 4)
    assert data.train.metadata.tensor_shape == (1, -1, -1, 3)
    xs, ys = data.train.take(0, 26)
    sizes = {x.shape[1:3] for x in xs}
    assert len(sizes) > 5 and all(x.shape[0] == 1 and x.shape[3] == 3 for x in xs)
    assert min(min(s) for s in sizes) >= 100 and max(max(s) for s in sizes) <= 800
    for i in (0, 13, 25):
        blob = _raw_images(data.train, i)[0]
        assert Image.open(io.BytesIO(blob)).format == "JPEG"
        np.testing.assert_allclose(xs[i][0], _pil(blob), atol=1e-6)  # same decoder: exact
    assert ys.shape == (26, 10)
    assert sorted(np.flatnonzero(data.solution.sum(0))) == [2, 3, 7]
    assert data.label_names is None


def test_mini1_dense_and_leaked_test_labels(samples):
    data = load_dataset(samples / "mini1")
    meta = data.train.metadata
    # metadata omits sequence_size and num_channels: official defaults 1 and -1 -> 1
    assert (meta.sequence_size, meta.raw_num_channels, meta.num_channels) == (1, -1, 1)
    assert data.train.files[0].name == "sample-train-50-lines"
    xs, ys = data.train.take(0, 50)
    stacked = np.stack(xs)
    assert stacked.shape == (50, 1, 28, 28, 1)
    assert stacked.min() == 0.0 and stacked.max() == 1.0 and 0.05 < stacked.mean() < 0.25  # MNIST ink
    assert (ys.sum(0) == [4, 7, 4, 7, 4, 4, 5, 4, 4, 7]).all()
    # test records keep the true label_index with score 0.0: zero label vectors, no labels
    context = protos.SequenceExample.FromString(data.test.record_bytes(0)).context.feature
    leaked = list(context["label_index"].int64_list.value)
    assert leaked == [int(np.argmax(data.solution[0]))]
    assert list(context["label_score"].float_list.value) == [0.0]
    assert not np.any(data.test.label_matrix()) and data.test.labels() is None


def test_mini_mnist_two_shards(samples):
    subset = AutoDLSubset(samples / "mini-mnist")
    assert [p.name for p in subset.files] == ["mnist-00000-of-00002.tfrecord", "mnist-00001-of-00002.tfrecord"]
    assert len(subset) == 100 and subset.metadata.sample_count == 50
    first, y1 = subset.take(0, 50)
    second, y2 = subset.take(50, 100)  # byte-identical shards
    assert all(np.array_equal(a, b) for a, b in zip(first, second)) and np.array_equal(y1, y2)
    across, _ = subset.take(48, 52)  # one slice spanning both files
    assert np.array_equal(across[2], first[0])


def test_xdata_dir_and_chunks(samples):
    data = load_dataset(samples / "mini1" / "mini1.data")
    assert data.solution is not None and data.root == samples / "mini1"
    chunks = list(data.train.chunks(16))
    assert [len(x) for x, _ in chunks] == [16, 16, 16, 2]
    assert np.array_equal(np.concatenate([y for _, y in chunks]), data.train.labels())


# --------------------------------------------- synthetic subsets (raw records)

META = """is_sequence: false
sample_count: {count}
sequence_size: {seq}
output_dim: 3
matrix_spec {{
  col_count: {col}
  row_count: {row}
  num_channels: {ch}
  format: {fmt}
}}
"""


def _record(lists: dict, labels=(), scores=None) -> bytes:
    example = protos.SequenceExample()
    example.context.feature["label_index"].int64_list.value.extend(labels)
    example.context.feature["label_score"].float_list.value.extend(
        [1.0] * len(labels) if scores is None else scores)
    for key, steps in lists.items():
        feature_list = example.feature_lists.feature_list[key]
        for kind, values in steps:
            getattr(feature_list.feature.add(), kind).value.extend(values)
    return example.SerializeToString()


def _subset(folder: Path, records: list[bytes], fmt="DENSE", seq=1, row=2, col=2, ch=1) -> Path:
    folder.mkdir(parents=True)
    (folder / "metadata.textproto").write_text(
        META.format(count=len(records), seq=seq, row=row, col=col, ch=ch, fmt=fmt))
    write_records(folder / "sample-x-train.tfrecord", records)
    return folder


def _png(color, size=(4, 4)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def test_dense_variable_sequence(tmp_path):
    records = [_record({"0_dense_input": [("float_list", [t] * 4) for t in range(n)]}, [n % 3])
               for n in (1, 5, 2)]
    subset = AutoDLSubset(_subset(tmp_path / "s", records, seq=-1))
    xs, ys = subset.take(0, 3)
    assert [x.shape for x in xs] == [(1, 2, 2, 1), (5, 2, 2, 1), (2, 2, 2, 1)]
    assert np.array_equal(xs[1][:, 0, 0, 0], np.arange(5))
    assert ys.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 1]]


def test_label_scores_become_confidences(tmp_path):
    records = [_record({"0_dense_input": [("float_list", [0] * 4)]}, [0, 2], [0.25, 1.0])]
    assert AutoDLSubset(_subset(tmp_path / "s", records)).labels().tolist() == [[0.25, 0, 1.0]]


def test_video_frames_and_resize_to_first_frame(tmp_path):
    frames = [_png((255, 0, 0), (6, 4)), _png((0, 255, 0), (6, 4)), _png((0, 0, 255), (3, 2))]
    records = [_record({"0_compressed": [("bytes_list", [f]) for f in frames]}, [1])]
    subset = AutoDLSubset(_subset(tmp_path / "s", records, "COMPRESSED", seq=-1, row=-1, col=-1, ch=3))
    (x,), _ = subset.take(0, 1)
    assert x.shape == (3, 4, 6, 3)  # PIL (width 6, height 4) -> rows 4, cols 6
    assert np.allclose(x[0, ..., 0], 1) and np.allclose(x[1, ..., 1], 1)
    assert np.allclose(x[2, ..., 2], 1)  # the 3x2 frame resized to 6x4, colour kept


def test_grayscale_channel_conversion(tmp_path):
    records = [_record({"0_compressed": [("bytes_list", [_png((200, 100, 50))])]}, [0])]
    subset = AutoDLSubset(_subset(tmp_path / "s", records, "COMPRESSED", row=4, col=4, ch=1))
    (x,), _ = subset.take(0, 1)
    luma = (200 * 299 + 100 * 587 + 50 * 114) / 1000
    assert x.shape == (1, 4, 4, 1) and abs(x[0, 0, 0, 0] * 255 - luma) <= 1


def test_sparse_tabular_is_densified_and_sparse_text_is_tokens(tmp_path):
    sparse = {"0_sparse_col_index": [("int64_list", [0, 3])], "0_sparse_row_index": [("int64_list", [0, 0])],
              "0_sparse_channel_index": [("int64_list", [0, 0])], "0_sparse_value": [("float_list", [1.5, -2])]}
    tab = AutoDLSubset(_subset(tmp_path / "tab", [_record(sparse, [1])], "SPARSE", row=1, col=5, ch=1))
    (x,), _ = tab.take(0, 1)
    assert x.shape == (1, 1, 5, 1) and x[0, 0, :, 0].tolist() == [1.5, 0, 0, -2, 0]
    text = {"0_sparse_channel_index": [("int64_list", [7, 2, 9])], "0_sparse_value": [("float_list", [1, 1, 1])]}
    txt = AutoDLSubset(_subset(tmp_path / "txt", [_record(text, [0])], "SPARSE", seq=-1, row=1, col=1, ch=1))
    (x,), _ = txt.take(0, 1)
    assert x.shape == (3, 1, 1, 1) and x.ravel().tolist() == [7, 2, 9]


def test_lazy_decoding_and_on_corrupt(tmp_path):
    good = [_record({"0_compressed": [("bytes_list", [_png((9, 9, 9))])]}, [k]) for k in range(3)]
    bad = _record({"0_compressed": [("bytes_list", [b"not an image"])]}, [2])
    folder = _subset(tmp_path / "s", good[:2] + [bad] + good[2:], "COMPRESSED", row=4, col=4, ch=3)
    subset = AutoDLSubset(folder)
    xs, ys = subset.take(0, 2)  # the corrupt record 2 is never decoded
    assert len(xs) == 2
    assert subset.labels().argmax(1).tolist() == [0, 1, 2, 2]  # labels read without decoding images
    with pytest.raises(AutoDLInputError, match=r"sample-x-train\.tfrecord: record 2 \(example 2\): image 0"):
        subset.take(2, 3)
    skipping = AutoDLSubset(folder, on_corrupt="skip")
    with pytest.warns(UserWarning, match="record 2"):
        xs, _ = skipping.take(1, 4)
    assert xs[1].shape == (1, 4, 4, 3) and not xs[1].any() and xs[0].any()
    with pytest.raises(AutoDLInputError, match="on_corrupt"):
        AutoDLSubset(folder, on_corrupt="ignore")


# ------------------------------------------------------- records vs metadata


@pytest.mark.parametrize("record, problem", [
    (_record({"0_dense_input": [("float_list", [1, 2, 3])]}, [0]),
     r"0_dense_input step 0 has 3 values, expected .* = 4"),
    (_record({"0_dense_input": [("float_list", [0] * 4)] * 2}, [0]),
     r"2 0_dense_input steps, expected sequence_size = 1"),
    (_record({"0_dense_input": [("int64_list", [0] * 4)]}, [0]),
     r"0_dense_input step 0 is a int64_list, expected a float_list"),
    (_record({"0_dense_input": [("float_list", [0] * 4)]}, [3]), r"label index 3 outside 0..2"),
    (_record({"0_dense_input": [("float_list", [0] * 4)]}, [1, 2], [1.0]), r"2 label_index values but 1 label_score"),
    (b"\xff\xff\xff", r"not a serialized SequenceExample"),
])
def test_record_not_matching_metadata(tmp_path, record, problem):
    good = _record({"0_dense_input": [("float_list", [0] * 4)]}, [0])
    subset = AutoDLSubset(_subset(tmp_path / "s", [good, record]))
    subset.take(0, 1)
    with pytest.raises(AutoDLInputError, match=r"sample-x-train\.tfrecord: record 1 \(example 1\): " + problem):
        subset.take(0, 2)


def test_compressed_size_must_match_fixed_metadata(tmp_path):
    records = [_record({"0_compressed": [("bytes_list", [_png((1, 2, 3), (5, 4))])]}, [0])]
    subset = AutoDLSubset(_subset(tmp_path / "s", records, "COMPRESSED", row=4, col=4, ch=3))
    with pytest.raises(AutoDLInputError, match=r"image 0 is 4x5, expected 4x4"):
        subset.take(0, 1)


def test_truncated_record_file(tmp_path):
    folder = _subset(tmp_path / "s", [_record({"0_dense_input": [("float_list", [0] * 4)]}, [0])] * 3)
    path = folder / "sample-x-train.tfrecord"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(AutoDLInputError, match=r"sample-x-train\.tfrecord: record 2 .*cut short"):
        len(AutoDLSubset(folder))


# ---------------------------------------------------------------- metadata


def test_metadata_defaults_and_official_quoting():
    meta = parse_metadata("output_dim: 2\nmatrix_spec { row_count: 3 col_count: 4 format: COMPRESSED }\n"
                          "label_to_index_map { key: 'it\\'s' value: 1 }\n"
                          'label_to_index_map { key: "plain" value: 0 }\n')
    assert meta.tensor_shape == (1, 3, 4, 3) and meta.raw_num_channels == -1
    assert meta.label_to_index == {"it's": 1, "plain": 0} and meta.class_names == ["plain", "it's"]


@pytest.mark.parametrize("text, problem", [
    ("output_dim: 3\n", "no matrix_spec"),
    ("matrix_spec { row_count: 1 col_count: 1 }\n", "no output_dim"),
    ("output_dim: 3\nmatrix_spec { row_count: 1 }\n", "no col_count"),
    ("output_dim: 3\nmatrix_spec { row_count: 1 col_count: 1 }\nmatrix_spec { row_count: 1 col_count: 1 }\n",
     "2 matrix_spec bundles"),
    ("output_dim: 0\nmatrix_spec { row_count: 1 col_count: 1 }\n", "field output_dim"),
    ("output_dim: 3\nmatrix_spec { row_count: 1 col_count: 1 format: JPEG }\n", "malformed"),
    ("output_dim: 3\nbogus_field: 1\n", "malformed"),
    ("output_dim: 3 matrix_spec {", "malformed"),
])
def test_bad_metadata_names_the_file(tmp_path, text, problem):
    folder = tmp_path / "X.data" / "train"
    folder.mkdir(parents=True)
    (folder / "metadata.textproto").write_text(text)
    with pytest.raises(AutoDLInputError, match=r"X\.data/train/metadata\.textproto: .*" + problem):
        read_metadata(folder)


def test_missing_metadata(tmp_path):
    (tmp_path / "s").mkdir()
    with pytest.raises(AutoDLInputError, match=r"s/metadata\.textproto: metadata file not found"):
        AutoDLSubset(tmp_path / "s")


def test_metadata_text_round_trip_with_awkward_keys():
    meta = parse_metadata("output_dim: 2\nsequence_size: -1\nmatrix_spec { row_count: 1 col_count: 1 }\n")
    vocab = {"": 0, "it's": 1, 'say "hi"': 2, "back\\slash": 3, "ünï 日本": 4, "tab\there": 5, "\x00": 6}
    meta = meta.replace(channel_to_index=vocab, label_to_index={"a'b": 0, "c": 1}, sample_count=7)
    back = parse_metadata(metadata_to_text(meta), name=meta.name)
    assert back == meta


# ------------------------------------------------------------- dataset dirs


def _copy(samples: Path, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(samples / name, tmp_path / name))


def test_dataset_dir_needs_exactly_one_data_entry(tmp_path, samples):
    (tmp_path / "empty").mkdir()
    with pytest.raises(AutoDLInputError, match=r"empty: expected exactly one '\*\.data' entry .* found 0"):
        load_dataset(tmp_path / "empty")
    root = _copy(samples, "mini1", tmp_path)
    shutil.copytree(root / "mini1.data", root / "other.data")
    with pytest.raises(AutoDLInputError, match=r"found 2: \['mini1\.data', 'other\.data'\]"):
        load_dataset(root)
    with pytest.raises(AutoDLInputError, match="dataset not found"):
        load_dataset(tmp_path / "nowhere")


def test_test_count_and_solution_checks(tmp_path, samples):
    root = _copy(samples, "mini1", tmp_path)
    solution = root / "mini1.solution"
    lines = solution.read_text().splitlines()
    solution.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(AutoDLInputError, match=r"mini1\.solution: 9 rows, expected 10"):
        load_dataset(root)
    solution.write_text("\n".join(lines[:-1] + ["nan " * 10]) + "\n")
    with pytest.raises(AutoDLInputError, match=r"mini1\.solution: NaN in row 9"):
        load_dataset(root)
    solution.write_text("\n".join(ln + " 0" for ln in lines) + "\n")
    with pytest.raises(AutoDLInputError, match=r"11 columns, expected output_dim = 10"):
        load_dataset(root)
    solution.unlink()
    assert load_dataset(root).solution is None
    meta = root / "mini1.data" / "test" / "metadata.textproto"
    meta.write_text(meta.read_text().replace("sample_count: 10", "sample_count: 12"))
    with pytest.raises(AutoDLInputError, match=r"test/metadata\.textproto: sample_count is 12 but .* 10"):
        load_dataset(root)


def test_read_solution_shapes(tmp_path):
    path = tmp_path / "x.solution"
    path.write_text("1\n0\n1\n")
    assert read_solution(path).shape == (3, 1)
    path.write_text("0 1 0\n")
    assert read_solution(path).shape == (3, 1)  # official loadtxt quirk without output_dim
    assert read_solution(path, expected_rows=1, output_dim=3).shape == (1, 3)
    path.write_text("0 1\n1 x\n")
    with pytest.raises(AutoDLInputError, match=r"x\.solution: not a numeric matrix"):
        read_solution(path)
    path.write_text("")
    assert read_solution(path, output_dim=4).shape == (0, 4)
    with pytest.raises(AutoDLInputError, match="solution file not found"):
        read_solution(tmp_path / "none.solution")


def test_no_record_files(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "metadata.textproto").write_text(META.format(count=0, seq=1, row=1, col=1, ch=1, fmt="DENSE"))
    (folder / "notes.txt").write_text("x")
    with pytest.raises(AutoDLInputError, match=r"no record files .* found \['metadata\.textproto', 'notes\.txt'\]"):
        AutoDLSubset(folder)


def test_no_warning_on_clean_reads(samples):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_dataset(samples / "miniciao").train.take(0, 5)
