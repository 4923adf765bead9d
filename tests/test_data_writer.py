"""Writing official AutoDL datasets: round trips through our reader and through TensorFlow's official parse."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autodl_solver.data import protos
from autodl_solver.data.metadata import Metadata
from autodl_solver.data.reader import AutoDLSubset, load_dataset
from autodl_solver.data.writer import write_dataset
from autodl_solver.errors import AutoDLInputError

RNG = np.random.default_rng(7)
AWKWARD = ["", "it's", 'say "hi"', "back\\slash", "ünïcödé", "日本語", "tab\tin", "new\nline", "'", "\\"]


def _image(h: int, w: int, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def _one_hot(k: int, n: int) -> np.ndarray:
    y = np.zeros(n)
    y[k] = 1
    return y


def _cases():
    """name -> (metadata, train pairs, test pairs): one per kind the format supports."""
    cases = {}
    meta = Metadata(output_dim=3, sequence_size=1, row_count=5, col_count=4, raw_num_channels=3)
    pairs = [(RNG.random((1, 5, 4, 3), dtype=np.float32), _one_hot(i % 3, 3)) for i in range(7)]
    cases["dense_image"] = (meta, pairs[:5], pairs[5:])
    meta = Metadata(output_dim=2, sequence_size=-1, raw_num_channels=1, is_sequence=True)
    pairs = [(RNG.normal(size=(n, 1, 1, 1)).astype(np.float32), _one_hot(n % 2, 2)) for n in (1, 37, 16000, 5)]
    cases["speech"] = (meta, pairs[:3], pairs[3:])
    vocab = {token: i for i, token in enumerate(AWKWARD)}
    meta = Metadata(output_dim=2, sequence_size=-1, raw_num_channels=1, channel_to_index=vocab)
    pairs = [(RNG.integers(0, len(vocab), (n, 1, 1, 1)).astype(np.float32), _one_hot(n % 2, 2)) for n in (3, 8, 1)]
    cases["text"] = (meta, pairs[:2], pairs[2:])
    meta = Metadata(output_dim=3, row_count=6, col_count=9, format="COMPRESSED", raw_num_channels=3)
    pairs = [([_image(6, 9, "PNG")], np.array([1, 0, 1.0])) for _ in range(4)]
    cases["png"] = (meta, pairs[:3], pairs[3:])
    meta = Metadata(output_dim=2, row_count=-1, col_count=-1, format="COMPRESSED")
    pairs = [([_image(h, w, "JPEG")], _one_hot(h % 2, 2)) for h, w in ((20, 30), (33, 17), (8, 8))]
    cases["jpeg"] = (meta, pairs[:2], pairs[2:])
    meta = Metadata(output_dim=2, sequence_size=-1, row_count=12, col_count=16, format="COMPRESSED",
                    raw_num_channels=1)
    pairs = [([_image(12, 16, "JPEG") for _ in range(n)], _one_hot(n % 2, 2)) for n in (4, 2, 3)]
    cases["video"] = (meta, pairs[:2], pairs[2:])
    meta = Metadata(output_dim=3, row_count=1, col_count=10, format="SPARSE", raw_num_channels=1)
    pairs = [({"col": [0, 4, 9], "row": [0, 0, 0], "channel": [0, 0, 0], "value": [1.5, -2.0, 3.25]},
              np.array([0.5, 0.0, 0.75])),
             ({"col": [2], "row": [0], "channel": [0], "value": [7.0]}, _one_hot(1, 3)),
             ({"col": [1, 3], "row": [0, 0], "channel": [0, 0], "value": [0.5, 0.25]}, _one_hot(2, 3))]
    cases["sparse_tabular"] = (meta, pairs[:2], pairs[2:])
    meta = Metadata(output_dim=2, sequence_size=-1, format="SPARSE", raw_num_channels=1,
                    channel_to_index={"a": 0, "b": 1, "c": 2})
    pairs = [({"col": [0] * n, "row": [0] * n, "channel": RNG.integers(0, 3, n), "value": [1.0] * n},
              _one_hot(n % 2, 2)) for n in (4, 1, 6)]
    cases["sparse_text"] = (meta, pairs[:2], pairs[2:])
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("written")
    names = {"png": ["cat", "dog", "it's \"x\""]}
    for name, (meta, train, test) in CASES.items():
        write_dataset(out, name, meta, iter(train), (p for p in test), label_names=names.get(name))
    return out


def _expected_x(meta: Metadata, x):
    """What our reader must return for an example written as ``x``."""
    if meta.format == "DENSE":
        return np.asarray(x, np.float32)
    if meta.format == "COMPRESSED":
        mode = {1: "L", 3: "RGB"}[meta.num_channels]
        frames = []
        for blob in x:
            image = Image.open(io.BytesIO(blob))
            if mode == "L":
                image.draft("L", image.size)  # libjpeg's own greyscale output, as TensorFlow
            frames.append(np.asarray(image.convert(mode), np.float32) * np.float32(1 / 255))
        return np.stack([f if f.ndim == 3 else f[:, :, None] for f in frames])
    if meta.col_count > meta.num_channels:
        dense = np.zeros((1, 1, meta.col_count, 1), np.float32)
        dense[0, 0, x["col"], 0] = x["value"]
        return dense
    return np.asarray(x["channel"], np.float32).reshape(-1, 1, 1, 1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip(written, name):
    meta, train, test = CASES[name]
    data = load_dataset(written / name)
    assert data.name == name and data.root == written / name
    for subset, pairs in ((data.train, train), (data.test, test)):
        assert len(subset) == len(pairs) == subset.metadata.sample_count
        xs, ys = subset.take(0, len(subset))
        for got, (x, _) in zip(xs, pairs):
            np.testing.assert_array_equal(got, _expected_x(meta, x))
    assert np.array_equal(data.train.labels(), np.stack([y for _, y in train]).astype(np.float32))
    assert data.test.labels() is None  # labels go only to the solution
    np.testing.assert_array_equal(data.solution, np.stack([y for _, y in test]))
    back = data.train.metadata
    assert back.replace(sample_count=0, name="") == meta.replace(
        sample_count=0, name="", label_to_index=back.label_to_index)
    assert back.channel_to_index == meta.channel_to_index  # awkward tokens survive


def test_layout_ids_and_files(written):
    root = written / "png"
    assert sorted(p.name for p in root.iterdir()) == ["png.data", "png.solution", "png_label.name",
                                                      "png_public.info"]
    assert (root / "png.data" / "train" / "sample-png-train.tfrecord").is_file()
    assert (root / "png_label.name").read_text(encoding="utf-8").splitlines() == ["cat", "dog", "it's \"x\""]
    assert load_dataset(root).train.metadata.label_to_index == {"cat": 0, "dog": 1, "it's \"x\"": 2}
    assert (root / "png_public.info").read_text().startswith("domain : image\nsample_num : 4\n")
    assert (root / "png.solution").read_text() == "1 0 1\n"  # '%.0f' for 0/1 labels
    assert (written / "sparse_tabular" / "sparse_tabular.solution").read_text() == "0 0 1\n"
    data = load_dataset(root)
    test_ctx = protos.SequenceExample.FromString(data.test.record_bytes(0)).context.feature
    assert list(test_ctx["id"].int64_list.value) == [0]
    assert len(test_ctx["label_index"].int64_list.value) == len(test_ctx["label_score"].float_list.value) == 0
    assert test_ctx["label_index"].WhichOneof("kind") == "int64_list"  # present but empty, as the toolkit
    train_ids = [protos.SequenceExample.FromString(data.train.record_bytes(i)).context.feature["id"]
                 .int64_list.value[0] for i in range(3)]
    assert train_ids == [1, 2, 3]  # n_test + i
    example = protos.SequenceExample.FromString(data.train.record_bytes(0))
    stored = example.feature_lists.feature_list["0_compressed"].feature[0].bytes_list.value[0]
    assert stored == CASES["png"][1][0][0][0]  # original bytes, not re-encoded


def test_confidences_use_g_format(tmp_path):
    meta = Metadata(output_dim=2)
    path = write_dataset(tmp_path, "conf", meta, [(np.zeros((1, 1, 1, 1)), [0.25, 1])],
                         [(np.zeros((1, 1, 1, 1)), [0.5, 0.125])])
    assert (path / "conf.solution").read_text() == "0.5 0.125\n"
    assert load_dataset(path).train.labels().tolist() == [[0.25, 1.0]]


@pytest.mark.parametrize("subset, bad, problem", [
    ("train", (np.zeros((1, 5, 4, 1)), [1, 0, 0]), r"shape \(1, 5, 4, 1\), expected \(T, 5, 4, 3\)"),
    ("train", (np.zeros((2, 5, 4, 3)), [1, 0, 0]), r"2 time steps, expected sequence_size = 1"),
    ("test", (np.zeros((1, 5, 4, 3)), [1, 0]), r"labels have shape \(2,\), expected \(3,\)"),
    ("test", (np.zeros((1, 5, 4, 3)), [np.nan, 0, 1]), r"labels must be finite"),
    ("train", (np.zeros((1, 5, 4, 3)),), r"expected an \(x, labels\) pair"),
])
def test_bad_example_leaves_nothing(tmp_path, subset, bad, problem):
    meta = CASES["dense_image"][0]
    good = [(np.zeros((1, 5, 4, 3)), [1, 0, 0])] * 3
    pairs = {"train": list(good), "test": list(good)}
    pairs[subset].insert(2, bad)
    with pytest.raises(AutoDLInputError, match=rf"{subset} example 2: .*{problem}"):
        write_dataset(tmp_path, "bad", meta, pairs["train"], pairs["test"])
    assert list(tmp_path.iterdir()) == []  # no dataset, no temporary folder


@pytest.mark.parametrize("case, x, problem", [
    ("png", [b"junk"], "step 0 is not a readable image"),
    ("png", [_image(5, 9, "PNG")], r"step 0 image is 5x9, expected 6x9"),
    ("png", _image(6, 9, "PNG"), "must be a list of encoded images"),
    ("png", [], r"0 images, expected sequence_size = 1"),
    ("sparse_tabular", {"col": [10], "value": [1.0]}, r"'col' index 10 outside 0..9"),
    ("sparse_tabular", {"col": [1, 2], "value": [1.0]}, r"'value' has 1 entries, 'col' has 2"),
    ("sparse_tabular", {"row": [0]}, "must be a dict with keys"),
    ("sparse_text", {"channel": [-1]}, "non-negative integers"),
])
def test_bad_compressed_and_sparse(tmp_path, case, x, problem):
    meta = CASES[case][0]
    with pytest.raises(AutoDLInputError, match=rf"train example 0: .*{problem}"):
        write_dataset(tmp_path, "bad", meta, [(x, _one_hot(0, meta.output_dim))], [])


def test_overwrite_and_bad_arguments(tmp_path):
    meta = Metadata(output_dim=2)
    pair = [(np.ones((1, 1, 1, 1)), [1, 0])]
    path = write_dataset(tmp_path, "d", meta, pair, pair)
    with pytest.raises(AutoDLInputError, match="already exists; pass overwrite=True"):
        write_dataset(tmp_path, "d", meta, pair, pair)
    write_dataset(tmp_path, "d", meta, pair * 3, pair, overwrite=True)
    assert len(load_dataset(path).train) == 3
    with pytest.raises(AutoDLInputError, match="label_names: 1 names, expected output_dim = 2"):
        write_dataset(tmp_path, "e", meta, pair, pair, label_names=["a"])
    with pytest.raises(AutoDLInputError, match="name"):
        write_dataset(tmp_path, "../up", meta, pair, pair)
    with pytest.raises(AutoDLInputError, match="DENSE data needs a fixed row_count"):
        write_dataset(tmp_path, "f", Metadata(output_dim=2, row_count=-1), pair, pair)


def test_dataset_reads_with_autodlsubset_directly(written):
    subset = AutoDLSubset(written / "video" / "video.data" / "train")
    (x0, x1), _ = subset.take(0, 2)
    assert x0.shape == (4, 12, 16, 1) and x1.shape == (2, 12, 16, 1)


# -------------------------------------------------- TensorFlow official parse

_OFFICIAL = textwrap.dedent(r"""
    import sys
    import numpy as np
    import tensorflow as tf                      # TensorFlow first, then our protos
    from autodl_solver.data import protos
    from autodl_solver.data.textproto import read_metadata

    def parse(meta, proto):
        # The starting kit's AutoDLDataset._parse_function (dataset.py @ f95faf5), TF2 spelling.
        seq, (row, col), ch = meta.get_sequence_size(), meta.get_matrix_size(0), meta.get_num_channels(0)
        features = {}
        if meta.is_sparse(0):
            for key in ("sparse_col_index", "sparse_row_index", "sparse_channel_index"):
                features["0_" + key] = tf.io.VarLenFeature(tf.int64)
            features["0_sparse_value"] = tf.io.VarLenFeature(tf.float32)
        elif meta.is_compressed(0):
            features["0_compressed"] = tf.io.VarLenFeature(tf.string)
        else:
            features["0_dense_input"] = tf.io.FixedLenSequenceFeature(meta.get_tensor_size(0), dtype=tf.float32)
        ctx, feats = tf.io.parse_single_sequence_example(
            proto, context_features={"label_index": tf.io.VarLenFeature(tf.int64),
                                     "label_score": tf.io.VarLenFeature(tf.float32)},
            sequence_features=features)
        if "0_dense_input" in feats:
            x = tf.reshape(feats["0_dense_input"], [seq, row, col, ch])
        elif "0_compressed" in feats:
            decode = lambda b: tf.image.convert_image_dtype(tf.image.decode_image(b, channels=ch), tf.float32)
            x = tf.map_fn(decode, feats["0_compressed"].values, fn_output_signature=tf.float32)
        else:
            col_i, val = feats["0_sparse_col_index"].values, feats["0_sparse_value"].values
            if col > ch:
                x = tf.reshape(tf.concat([tf.reshape(tf.cast(col_i, tf.float32), [-1, 1]),
                                          tf.reshape(val, [-1, 1])], 1), [1, -1, 2, 1])
            else:
                x = tf.cast(tf.reshape(feats["0_sparse_channel_index"].values, [-1, 1, 1, 1]), tf.float32)
        idx = tf.reshape(ctx["label_index"].values, [-1, 1])
        y = tf.sparse.to_dense(tf.sparse.SparseTensor(idx, ctx["label_score"].values, (meta.get_output_size(),)),
                               validate_indices=False)
        return x, y

    out = {}
    for subset_dir in sys.argv[2:]:
        meta = read_metadata(subset_dir)
        files = sorted(tf.io.gfile.glob(subset_dir + "/sample*"))
        for i, proto in enumerate(tf.data.TFRecordDataset(files)):
            x, y = parse(meta, proto)
            out[f"{subset_dir}|{i}|x"], out[f"{subset_dir}|{i}|y"] = x.numpy(), y.numpy()
            theirs = tf.train.SequenceExample.FromString(proto.numpy())   # both classes in one process
            ours = protos.SequenceExample.FromString(proto.numpy())
            assert protos.SequenceExample.FromString(theirs.SerializeToString()) == ours
    np.savez(sys.argv[1], **out)
""")


@pytest.mark.tensorflow
@pytest.mark.slow
def test_tensorflow_official_parse_matches(written, tmp_path):
    pytest.importorskip("tensorflow")
    subsets = [written / n / f"{n}.data" / s for n in sorted(CASES) for s in ("train", "test")]
    result = tmp_path / "official.npz"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", _OFFICIAL, str(result)] + [str(s) for s in subsets],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    official = np.load(result)
    for subset_dir in subsets:
        ours = AutoDLSubset(subset_dir)
        meta = ours.metadata
        for i in range(len(ours)):
            x_ours, y_ours = ours.example(i)
            x_tf, y_tf = official[f"{subset_dir}|{i}|x"], official[f"{subset_dir}|{i}|y"]
            np.testing.assert_array_equal(y_ours, y_tf)  # test records: zeros in both
            if meta.format == "SPARSE" and meta.col_count > meta.num_channels:
                dense = np.zeros((1, 1, meta.col_count, 1), np.float32)  # official (col, value) pairs
                dense[0, 0, x_tf[0, :, 0, 0].astype(int), 0] = x_tf[0, :, 1, 0]
                x_tf = dense
            assert x_ours.shape == x_tf.shape, subset_dir
            if subset_dir.parts[-3] in ("jpeg", "video"):  # libjpeg settings differ by a grey level or two
                assert np.abs(x_ours - x_tf).max() <= 8 / 255 and np.abs(x_ours - x_tf).mean() < 2 / 255
            else:
                np.testing.assert_array_equal(x_ours, x_tf, err_msg=str(subset_dir))
    n_records = sum(len(AutoDLSubset(s)) for s in subsets)
    assert n_records > 0 and len(official.files) == 2 * n_records  # TF parsed every record
