"""TFRecord framing and the protobuf messages, checked against TensorFlow where it matters."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import crc32c
import numpy as np
import pytest

from autodl_solver.data import protos
from autodl_solver.data.tfrecord import (frame_record, index_records, iter_records, masked_crc32c,
                                         read_record_at, write_records)
from autodl_solver.errors import AutoDLInputError



# ----------------------------------------------------------------- CRC


def test_crc32c_is_castagnoli_and_mask_formula():
    # Standard CRC-32C check value (RFC 3720 appendix B.4).
    assert crc32c.crc32c(b"123456789") == 0xE3069283
    for data in (b"", b"a", b"123456789", bytes(range(256))):
        crc = crc32c.crc32c(data)
        expected = ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) % 2**32
        assert masked_crc32c(data) == expected
    assert masked_crc32c(b"") == 0xA282EAD8  # crc of nothing is 0


def test_frame_layout():
    framed = frame_record(b"hello")
    length, length_crc = struct.unpack("<QI", framed[:12])
    assert length == 5 and length_crc == masked_crc32c(framed[:8])
    assert framed[12:17] == b"hello"
    assert struct.unpack("<I", framed[17:])[0] == masked_crc32c(b"hello")


# ------------------------------------------------------- read / write


@pytest.fixture
def records():
    rng = np.random.default_rng(0)
    return [b""] + [rng.bytes(int(n)) for n in rng.integers(1, 3000, size=20)]


def test_round_trip_and_index(tmp_path, records):
    path = tmp_path / "data.tfrecord"
    assert write_records(path, records) == len(records)
    assert list(iter_records(path)) == records
    index = index_records(path)
    assert len(index) == len(records)
    with open(path, "rb") as handle:
        for i in (5, 0, 20, 3):  # random access in any order
            assert read_record_at(handle, path, i, int(index.offsets[i]), int(index.lengths[i])) == records[i]


def test_empty_file_has_no_records(tmp_path):
    path = tmp_path / "empty.tfrecord"
    path.write_bytes(b"")
    assert list(iter_records(path)) == [] and len(index_records(path)) == 0


@pytest.mark.parametrize("cut", [5, 12 + 100, -2])
def test_truncated_file_names_file_and_record(tmp_path, records, cut):
    path = tmp_path / "cut.tfrecord"
    write_records(path, records[:3])
    full = path.read_bytes()
    keep = len(frame_record(records[0])) + len(frame_record(records[1]))
    # cut inside record 2: in its header, in its data, or in its footer
    path.write_bytes(full[: keep + cut] if cut > 0 else full[:cut])
    with pytest.raises(AutoDLInputError, match=r"cut\.tfrecord.*record 2.*cut short"):
        index_records(path)
    with pytest.raises(AutoDLInputError, match=r"record 2.*cut short"):
        list(iter_records(path))


def test_corrupt_data_and_length_are_detected(tmp_path, records):
    path = tmp_path / "bad.tfrecord"
    write_records(path, records[:4])
    blob = bytearray(path.read_bytes())
    index = index_records(path)
    blob[int(index.offsets[2]) + 1] ^= 0xFF  # flip a data byte of record 2
    path.write_bytes(bytes(blob))
    with pytest.raises(AutoDLInputError, match=r"bad\.tfrecord: record 2.*CRC"):
        list(iter_records(path))
    with open(path, "rb") as handle, pytest.raises(AutoDLInputError, match="record 2.*CRC"):
        read_record_at(handle, path, 2, int(index.offsets[2]), int(index.lengths[2]))
    blob[0] ^= 0x01  # the length of record 0
    path.write_bytes(bytes(blob))
    with pytest.raises(AutoDLInputError, match="record 0.*length"):
        index_records(path)


def test_reads_official_sample_files(shared_samples):
    samples = shared_samples
    train = samples / "mini1" / "mini1.data" / "train" / "sample-train-50-lines"
    assert len(index_records(train)) == 50
    first = next(iter_records(train))
    example = protos.SequenceExample.FromString(first)
    assert len(example.feature_lists.feature_list["0_dense_input"].feature[0].float_list.value) == 28 * 28
    shards = sorted((samples / "mini-mnist").glob("*.tfrecord"))
    assert [len(index_records(p)) for p in shards] == [50, 50]


# ------------------------------------------------------------ protos


def test_data_specification_defaults_and_fields():
    spec = protos.DataSpecification()
    assert spec.sequence_size == 1 and not spec.HasField("sequence_size")
    matrix = protos.MatrixSpec()
    assert matrix.num_channels == -1 and matrix.format == protos.MatrixSpec.DENSE == 0
    assert (protos.MatrixSpec.SPARSE, protos.MatrixSpec.COMPRESSED) == (1, 2)
    # field numbers of the official data.proto (starting kit @ f95faf5)
    numbers = {f.name: f.number for f in protos.DataSpecification.DESCRIPTOR.fields}
    assert numbers == {"matrix_spec": 1, "is_sequence": 2, "output_dim": 3, "label_to_index_map": 4,
                       "feature_to_index_map": 5, "channel_to_index_map": 6, "sequence_size": 7,
                       "sample_count": 8}
    numbers = {f.name: f.number for f in protos.MatrixSpec.DESCRIPTOR.fields}
    assert numbers == {"col_count": 1, "row_count": 2, "is_sequence_col": 3, "is_sequence_row": 4,
                       "has_locality_col": 5, "has_locality_row": 6, "is_sparse": 7, "format": 8,
                       "num_channels": 9}
    spec.label_to_index_map["cat"] = 3  # a real map<string, int32>
    assert dict(spec.label_to_index_map) == {"cat": 3}


def test_private_pool_and_package():
    from google.protobuf import descriptor_pool

    assert protos.SequenceExample.DESCRIPTOR.full_name == "autodl_solver.wire.SequenceExample"
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindMessageTypeByName("autodl_solver.wire.SequenceExample")


def test_fast_float_feature_list_codec_matches_protobuf():
    rng = np.random.default_rng(1)
    for shape in [(7, 3), (1, 0), (300, 1), (2, 784), (3, 40)]:
        steps = rng.normal(size=shape).astype(np.float32)
        reference = protos.FeatureList(feature=[protos.Feature(float_list=protos.FloatList(value=row))
                                                for row in steps])
        assert protos.float_feature_list_bytes(steps) == reference.SerializeToString()
        back = protos.float_feature_list_array(reference)
        np.testing.assert_array_equal(back, steps)
    ragged = protos.FeatureList(feature=[protos.Feature(float_list=protos.FloatList(value=[1.0] * n))
                                         for n in (2, 3)])
    assert protos.float_feature_list_array(ragged) is None  # caller falls back and reports
    mixed = protos.FeatureList(feature=[protos.Feature(int64_list=protos.Int64List(value=[1]))])
    assert protos.float_feature_list_array(mixed) is None


# ------------------------------------------------------- TensorFlow

_TF_SCRIPT = textwrap.dedent(r"""
    import json, sys
    import numpy as np
    order, work = sys.argv[1], sys.argv[2]
    if order == "ours-first":
        from autodl_solver.data import protos
        from autodl_solver.data.tfrecord import iter_records, write_records
        import tensorflow as tf
    else:
        import tensorflow as tf
        from autodl_solver.data import protos
        from autodl_solver.data.tfrecord import iter_records, write_records
    out = {}
    # 1. the message declarations agree with TensorFlow's, field by field
    def fields(desc):
        return sorted((f.name, f.number, f.type, f.is_repeated, f.message_type.name if f.message_type else None,
                       f.is_packed, f.containing_oneof.name if f.containing_oneof else None)
                      for f in desc.fields)
    names = ["BytesList", "FloatList", "Int64List", "Feature", "Features", "FeatureList",
             "FeatureLists", "Example", "SequenceExample"]
    out["same_fields"] = {n: fields(getattr(protos, n).DESCRIPTOR) == fields(getattr(tf.train, n).DESCRIPTOR)
                          for n in names}
    # 2. TF writes, we read
    rng = np.random.default_rng(0)
    payloads = [b""] + [rng.bytes(int(k)) for k in rng.integers(1, 5000, 10)]
    with tf.io.TFRecordWriter(work + "/tf.tfrecord") as w:
        for p in payloads:
            w.write(p)
    out["tf_to_ours"] = list(iter_records(work + "/tf.tfrecord")) == payloads
    # 3. we write, TF reads (and checks our CRCs)
    write_records(work + "/ours.tfrecord", payloads)
    out["ours_to_tf"] = [r.numpy() for r in tf.data.TFRecordDataset(work + "/ours.tfrecord")] == payloads
    # 4. one SequenceExample both ways
    seq = protos.SequenceExample()
    seq.context.feature["label_index"].int64_list.value.extend([1, 3])
    seq.context.feature["label_score"].float_list.value.extend([1.0, 0.5])
    steps = seq.feature_lists.feature_list["0_dense_input"].feature
    for t in range(3):
        steps.add().float_list.value.extend([t, t + 0.5])
    seq.feature_lists.feature_list["0_compressed"].feature.add().bytes_list.value.append(b"\x00\xff")
    theirs = tf.train.SequenceExample.FromString(seq.SerializeToString())
    out["seq_tf_parse"] = (list(theirs.context.feature["label_score"].float_list.value) == [1.0, 0.5]
                           and theirs.feature_lists.feature_list["0_dense_input"].feature[2].float_list.value[1] == 2.5)
    out["seq_back"] = protos.SequenceExample.FromString(theirs.SerializeToString()) == seq
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.tensorflow
@pytest.mark.slow
@pytest.mark.parametrize("order", ["ours-first"])
def test_against_tensorflow(tmp_path, order):
    """Our protos imported before TensorFlow; the other order (TensorFlow first) runs in
    tests/test_data_writer.py::test_tensorflow_official_parse_matches, one TF start-up each."""
    pytest.importorskip("tensorflow")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-c", _TF_SCRIPT, order, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT "):])
    assert all(result["same_fields"].values()), result["same_fields"]
    assert result["tf_to_ours"] and result["ours_to_tf"]
    assert result["seq_tf_parse"] and result["seq_back"]
