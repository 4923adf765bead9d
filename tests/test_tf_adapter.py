"""TFDatasetAdapter: progressive, cached reading of the official tf.data pipeline (eager and graph mode)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autodl_solver.challenge.tf_adapter import TFDatasetAdapter
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.errors import AutoDLInputError

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

REPO = Path(__file__).resolve().parents[1]


def _arrays(n=300, shape=(1, 4, 5, 2), k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    y = np.eye(k, dtype=np.float32)[np.arange(n) % k]
    return x, y


def _meta(n, shape=(1, 4, 5, 2), k=3, **kw):
    seq, row, col, ch = shape
    return Metadata(output_dim=k, sample_count=n, sequence_size=seq, row_count=row, col_count=col,
                    raw_num_channels=ch, **kw)


def test_fixed_shape_reads_progressively_and_caches():
    x, y = _arrays()
    adapter = TFDatasetAdapter(tf.data.Dataset.from_tensor_slices((x, y)), _meta(300), sample_count=300,
                               batch_size=64)
    xs, ys = adapter.take(0, 10)
    assert adapter.n_read == 64  # one batch, not the whole set
    assert len(xs) == 10 and xs[0].dtype == np.float32 and xs[0].shape == (1, 4, 5, 2)
    np.testing.assert_array_equal(np.stack(xs), x[:10])
    np.testing.assert_array_equal(ys, y[:10])
    again, _ = adapter.take(0, 10)
    assert again[3] is xs[3]  # served from the cache
    xs, ys = adapter.take(100, 200)
    assert adapter.n_read == 256
    np.testing.assert_array_equal(np.stack(xs), x[100:200])
    np.testing.assert_array_equal(ys, y[100:200])
    assert len(adapter) == 300 and adapter.has_labels
    xs, _ = adapter.take(250, 400)  # clamped to the sample count
    assert len(xs) == 50
    np.testing.assert_array_equal(adapter.labels(), y)


def test_read_for_stops_at_its_slice_and_prefix_is_a_view_of_what_was_read():
    x, y = _arrays()
    adapter = TFDatasetAdapter(tf.data.Dataset.from_tensor_slices((x, np.zeros_like(y))), _meta(300),
                               sample_count=300, has_labels=False, batch_size=64)
    assert not adapter.read_for(0.0)  # a zero slice still reads one chunk, never the whole set
    assert adapter.n_read == 64 and not adapter.complete
    view = adapter.prefix(adapter.n_read)
    assert len(view) == 64 and not view.has_labels and view is not adapter.prefix(64)
    xs, labels = view.take(0, 500)  # clamped to the view
    assert labels is None and len(xs) == 64
    np.testing.assert_array_equal(np.stack(xs), x[:64])
    assert view.take(100, 200)[0] == []
    assert adapter.read_for(60.0) and adapter.complete and adapter.n_read == 300
    ours = TFDatasetAdapter(ArrayDataset(x, y, _meta(300)), _meta(300))
    assert ours.complete and ours.read_for(0.0)  # our own datasets are read lazily by themselves


def test_variable_shapes_are_read_per_element_with_one_iterator():
    starts = []
    lengths = [3, 7, 1, 5, 2, 9, 4]

    def gen():
        starts.append(1)
        for i, t in enumerate(lengths):
            yield np.full((t, 1, 1, 1), i, np.float32), np.eye(2, dtype=np.float32)[i % 2]

    ds = tf.data.Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec((None, 1, 1, 1), tf.float32), tf.TensorSpec((2,), tf.float32)))
    meta = Metadata(output_dim=2, sample_count=len(lengths), sequence_size=-1)
    adapter = TFDatasetAdapter(ds, meta, sample_count=len(lengths))
    xs, ys = adapter.take(0, 2)
    assert adapter.n_read == 2
    xs, ys = adapter.take(1, 6)
    assert [e.shape[0] for e in xs] == lengths[1:6]
    assert [float(e[0, 0, 0, 0]) for e in xs] == [1, 2, 3, 4, 5]
    assert len(adapter) == len(lengths)
    adapter.take(0, len(lengths))
    assert len(starts) == 1  # never restarted from element 0


def test_test_set_without_labels_and_unknown_length():
    x, _ = _arrays(n=70)
    zeros = np.zeros((70, 3), np.float32)
    adapter = TFDatasetAdapter(tf.data.Dataset.from_tensor_slices((x, zeros)), _meta(70), batch_size=32)
    assert adapter.has_labels is False
    assert adapter.n_read == 32
    assert len(adapter) == 70  # unknown length: read to the end
    xs, ys = adapter.take(60, 70)
    assert ys is None and len(xs) == 10
    np.testing.assert_array_equal(np.stack(xs), x[60:])
    explicit = TFDatasetAdapter(tf.data.Dataset.from_tensor_slices((x, zeros)), _meta(70), has_labels=False)
    assert explicit.take(0, 3)[1] is None and explicit.n_read <= 128


def test_shorter_dataset_than_sample_count_shrinks_length():
    x, y = _arrays(n=20)
    adapter = TFDatasetAdapter(tf.data.Dataset.from_tensor_slices((x, y)), _meta(25), sample_count=25)
    xs, ys = adapter.take(0, 25)
    assert len(xs) == 20 and ys.shape == (20, 3)
    assert len(adapter) == 20


def test_our_dataset_passes_through_without_tensorflow_reads():
    x, y = _arrays(n=12)
    inner = ArrayDataset(x, y, _meta(12))
    adapter = TFDatasetAdapter(inner, inner.metadata)
    assert len(adapter) == 12 and adapter.has_labels
    xs, ys = adapter.take(2, 5)
    np.testing.assert_array_equal(np.stack(xs), x[2:5])
    np.testing.assert_array_equal(ys, y[2:5])


def test_sparse_tabular_pairs_become_dense_rows():
    pairs = [np.array([[0, 1.5], [3, -2.0]], np.float32), np.array([[4, 7.0]], np.float32)]

    def gen():
        for i, p in enumerate(pairs):
            yield p.reshape(1, -1, 2, 1), np.eye(2, dtype=np.float32)[i]

    ds = tf.data.Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec((1, None, 2, 1), tf.float32), tf.TensorSpec((2,), tf.float32)))
    meta = Metadata(output_dim=2, sample_count=2, col_count=5, format="SPARSE")
    xs, _ = TFDatasetAdapter(ds, meta, sample_count=2).take(0, 2)
    assert xs[0].shape == (1, 1, 5, 1)
    np.testing.assert_array_equal(xs[0].ravel(), [1.5, 0, 0, -2.0, 0])
    np.testing.assert_array_equal(xs[1].ravel(), [0, 0, 0, 0, 7.0])


def test_bad_arguments_are_one_line_errors():
    x, y = _arrays(n=4)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    with pytest.raises(AutoDLInputError, match="batch_size"):
        TFDatasetAdapter(ds, _meta(4), batch_size=0)
    with pytest.raises(AutoDLInputError, match="dataset"):
        TFDatasetAdapter(None, _meta(4))
    with pytest.raises(AutoDLInputError, match="take"):
        TFDatasetAdapter(ds, _meta(4)).take(3, 1)


def _mini1(shared_samples):
    root = shared_samples / "mini1" / "mini1.data"
    if not root.is_dir():
        pytest.skip("mini1 sample not available")
    return root


def test_official_pipeline_on_mini1(shared_samples):
    from autodl_solver.challenge.tf_dataset import build_official_dataset
    from autodl_solver.data.textproto import read_metadata

    root = _mini1(shared_samples)
    meta = read_metadata(root / "train")
    train = TFDatasetAdapter(build_official_dataset(root / "train", meta), meta, sample_count=meta.size())
    xs, ys = train.take(0, 50)
    assert len(xs) == 50 and xs[0].shape == (1, 28, 28, 1)
    assert ys.shape == (50, 10) and np.all(ys.sum(axis=1) == 1)
    test_meta = read_metadata(root / "test")
    test = TFDatasetAdapter(build_official_dataset(root / "test", test_meta), test_meta)
    assert not test.has_labels and len(test) == 10


GRAPH_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    tf.compat.v1.disable_v2_behavior()
    from autodl_solver.challenge.tf_adapter import TFDatasetAdapter
    from autodl_solver.data.metadata import Metadata
    out = {"eager": tf.executing_eagerly()}
    x = np.arange(40 * 6, dtype=np.float32).reshape(40, 1, 2, 3, 1)
    y = np.eye(4, dtype=np.float32)[np.arange(40) % 4]
    meta = Metadata(output_dim=4, sample_count=40, row_count=2, col_count=3)
    adapter = TFDatasetAdapter(tf.compat.v1.data.Dataset.from_tensor_slices((x, y)), meta, sample_count=40,
                               batch_size=16)
    xs, ys = adapter.take(5, 9)
    out["first_read"] = adapter.n_read
    out["ok_values"] = bool(np.array_equal(np.stack(xs), x[5:9]) and np.array_equal(ys, y[5:9]))
    out["len"] = len(adapter)
    out["all"] = bool(np.array_equal(np.stack(adapter.take(0, 40)[0]), x))
    if len(sys.argv) > 1:
        from pathlib import Path
        from autodl_solver.challenge.tf_dataset import build_official_dataset
        from autodl_solver.data.textproto import read_metadata
        root = Path(sys.argv[1])
        m = read_metadata(root / "test")
        test = TFDatasetAdapter(build_official_dataset(root / "test", m), m)
        out["mini1_test"] = [len(test), test.has_labels, list(test.take(0, 1)[0][0].shape)]
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.slow
def test_graph_mode_in_subprocess():
    shared = REPO.parent / "shared" / "autodl_samples" / "mini1" / "mini1.data"
    args = [sys.executable, "-c", GRAPH_SCRIPT] + ([str(shared)] if shared.is_dir() else [])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["eager"] is False
    assert out["first_read"] == 16 and out["ok_values"] and out["all"] and out["len"] == 40
    if "mini1_test" in out:
        assert out["mini1_test"] == [10, False, [1, 28, 28, 1]]




def test_corrupt_records_are_one_clear_data_error(tmp_path):
    from autodl_solver.data.tfrecord import write_records

    path = tmp_path / "sample-x.tfrecord"
    write_records(path, [b"a" * 40, b"b" * 40])
    data = bytearray(path.read_bytes())
    data[20] ^= 1  # inside the first record's data
    path.write_bytes(bytes(data))
    records = tf.data.TFRecordDataset(str(path)).map(
        lambda r: (tf.zeros((1, 4, 5, 2)), tf.zeros((3,))))
    adapter = TFDatasetAdapter(records, _meta(2), sample_count=2)
    with pytest.raises(AutoDLInputError, match=r"^tf.data records: TensorFlow could not read the dataset: "
                                               r"corrupted record at 12$"):  # byte offset of the data
        adapter.take(0, 2)


def test_fewer_elements_than_sample_count_is_flagged_as_a_data_error(caplog):
    x, y = _arrays(n=5)
    adapter = TFDatasetAdapter(tf.data.Dataset.from_tensor_slices((x, y)), _meta(8), sample_count=8)
    with caplog.at_level("WARNING", logger="autodl_solver.challenge.tf_adapter"):
        assert len(adapter.take(0, 8)[0]) == 5
    flagged = [r.autodl_data_error for r in caplog.records if hasattr(r, "autodl_data_error")]
    assert flagged == [("metadata sample_count", "the dataset has 5 elements, the metadata sample_count says 8")]
