"""Protocol-buffer messages of the AutoDL format, built without TensorFlow.

Two groups of messages are defined here, in code, in a *private*
:class:`~google.protobuf.descriptor_pool.DescriptorPool` under the package
``autodl_solver.wire``:

* the ``tf.train`` example messages (``SequenceExample``, ``Example``,
  ``Features``, ``Feature``, ``FeatureList``, ``FeatureLists``, ``BytesList``,
  ``FloatList``, ``Int64List``), wire-compatible with TensorFlow's
  ``tensorflow/core/example/{example,feature}.proto`` (proto3, same field
  numbers, packed repeated floats and int64s);
* the official ``data.proto`` of the AutoDL starting kit (proto2):
  ``DataSpecification`` and ``MatrixSpec`` with the official defaults
  (``sequence_size`` 1, ``num_channels`` -1, ``format`` DENSE), which is what
  ``metadata.textproto`` holds.

A private pool and package name mean these classes never collide with
TensorFlow's ``tensorflow.*`` messages when both live in one process, in
either import order. The field *names* are the official ones, so
``google.protobuf.text_format`` reads and writes the official text.

The module also holds fast codecs for the one hot path of the format: a
``FeatureList`` whose steps are float lists of equal length (DENSE data, and
speech or text with one value per step, where per-step Python objects would
cost seconds per example).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "autodl_solver.wire"

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED


def _field(msg, name: str, number: int, ftype: int, label: int = _OPTIONAL, *,
           type_name: Optional[str] = None, default: Optional[str] = None,
           packed: bool = False, oneof: Optional[int] = None) -> None:
    f = msg.field.add(name=name, number=number, type=ftype, label=label)
    if type_name:
        f.type_name = f".{PACKAGE}.{type_name}"
    if default is not None:
        f.default_value = default
    if packed:
        f.options.packed = True
    if oneof is not None:
        f.oneof_index = oneof


def _map_entry(msg, entry_name: str, value_type: int, value_type_name: Optional[str] = None) -> None:
    """Add the synthetic ``XxxEntry`` nested message that a ``map<string, V>`` field uses."""
    entry = msg.nested_type.add(name=entry_name)
    entry.options.map_entry = True
    _field(entry, "key", 1, _F.TYPE_STRING)
    _field(entry, "value", 2, value_type, type_name=value_type_name)


def _example_file() -> descriptor_pb2.FileDescriptorProto:
    """``tensorflow/core/example/{feature,example}.proto`` (proto3), renamed package."""
    fd = descriptor_pb2.FileDescriptorProto(name="autodl_solver/wire/example.proto",
                                            package=PACKAGE, syntax="proto3")
    m = fd.message_type.add(name="BytesList")
    _field(m, "value", 1, _F.TYPE_BYTES, _REPEATED)
    m = fd.message_type.add(name="FloatList")
    _field(m, "value", 1, _F.TYPE_FLOAT, _REPEATED, packed=True)
    m = fd.message_type.add(name="Int64List")
    _field(m, "value", 1, _F.TYPE_INT64, _REPEATED, packed=True)
    m = fd.message_type.add(name="Feature")
    m.oneof_decl.add(name="kind")
    _field(m, "bytes_list", 1, _F.TYPE_MESSAGE, type_name="BytesList", oneof=0)
    _field(m, "float_list", 2, _F.TYPE_MESSAGE, type_name="FloatList", oneof=0)
    _field(m, "int64_list", 3, _F.TYPE_MESSAGE, type_name="Int64List", oneof=0)
    m = fd.message_type.add(name="Features")
    _map_entry(m, "FeatureEntry", _F.TYPE_MESSAGE, "Feature")
    _field(m, "feature", 1, _F.TYPE_MESSAGE, _REPEATED, type_name="Features.FeatureEntry")
    m = fd.message_type.add(name="FeatureList")
    _field(m, "feature", 1, _F.TYPE_MESSAGE, _REPEATED, type_name="Feature")
    m = fd.message_type.add(name="FeatureLists")
    _map_entry(m, "FeatureListEntry", _F.TYPE_MESSAGE, "FeatureList")
    _field(m, "feature_list", 1, _F.TYPE_MESSAGE, _REPEATED, type_name="FeatureLists.FeatureListEntry")
    m = fd.message_type.add(name="Example")
    _field(m, "features", 1, _F.TYPE_MESSAGE, type_name="Features")
    m = fd.message_type.add(name="SequenceExample")
    _field(m, "context", 1, _F.TYPE_MESSAGE, type_name="Features")
    _field(m, "feature_lists", 2, _F.TYPE_MESSAGE, type_name="FeatureLists")
    return fd


def _data_file() -> descriptor_pb2.FileDescriptorProto:
    """The ``MatrixSpec`` and ``DataSpecification`` of the official ``data.proto`` (proto2)."""
    fd = descriptor_pb2.FileDescriptorProto(name="autodl_solver/wire/data.proto",
                                            package=PACKAGE, syntax="proto2")
    m = fd.message_type.add(name="MatrixSpec")
    fmt = m.enum_type.add(name="Format")
    for name, number in (("DENSE", 0), ("SPARSE", 1), ("COMPRESSED", 2)):
        fmt.value.add(name=name, number=number)
    _field(m, "col_count", 1, _F.TYPE_INT32)
    _field(m, "row_count", 2, _F.TYPE_INT32)
    _field(m, "is_sequence_col", 3, _F.TYPE_BOOL)
    _field(m, "is_sequence_row", 4, _F.TYPE_BOOL)
    _field(m, "has_locality_col", 5, _F.TYPE_BOOL)
    _field(m, "has_locality_row", 6, _F.TYPE_BOOL)
    _field(m, "is_sparse", 7, _F.TYPE_BOOL)  # deprecated in the official proto
    _field(m, "format", 8, _F.TYPE_ENUM, type_name="MatrixSpec.Format", default="DENSE")
    _field(m, "num_channels", 9, _F.TYPE_INT32, default="-1")
    m = fd.message_type.add(name="DataSpecification")
    for entry in ("LabelToIndexMapEntry", "FeatureToIndexMapEntry", "ChannelToIndexMapEntry"):
        _map_entry(m, entry, _F.TYPE_INT32)
    _field(m, "matrix_spec", 1, _F.TYPE_MESSAGE, _REPEATED, type_name="MatrixSpec")
    _field(m, "is_sequence", 2, _F.TYPE_BOOL)
    _field(m, "output_dim", 3, _F.TYPE_INT32)
    _field(m, "label_to_index_map", 4, _F.TYPE_MESSAGE, _REPEATED,
           type_name="DataSpecification.LabelToIndexMapEntry")
    _field(m, "feature_to_index_map", 5, _F.TYPE_MESSAGE, _REPEATED,
           type_name="DataSpecification.FeatureToIndexMapEntry")
    _field(m, "channel_to_index_map", 6, _F.TYPE_MESSAGE, _REPEATED,
           type_name="DataSpecification.ChannelToIndexMapEntry")
    _field(m, "sequence_size", 7, _F.TYPE_INT32, default="1")
    _field(m, "sample_count", 8, _F.TYPE_INT32)
    return fd


POOL = descriptor_pool.DescriptorPool()
POOL.Add(_example_file())
POOL.Add(_data_file())


def _cls(name: str):
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))


BytesList = _cls("BytesList")
FloatList = _cls("FloatList")
Int64List = _cls("Int64List")
Feature = _cls("Feature")
Features = _cls("Features")
FeatureList = _cls("FeatureList")
FeatureLists = _cls("FeatureLists")
Example = _cls("Example")
SequenceExample = _cls("SequenceExample")
MatrixSpec = _cls("MatrixSpec")
DataSpecification = _cls("DataSpecification")

# ------------------------------------------------------------ wire helpers


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return ``(value, next_pos)``.

    Raises
    ------
    ValueError
        When the buffer ends inside the varint or it is longer than 10 bytes.
    """
    result = shift = 0
    for i in range(pos, min(pos + 10, len(buf))):
        byte = buf[i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i + 1
        shift += 7
    raise ValueError("truncated or over-long varint")


def len_field(number: int, payload: bytes) -> bytes:
    """Encode a length-delimited field (wire type 2): tag, length, payload."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def float_feature_list_bytes(steps: np.ndarray) -> bytes:
    """Serialize a ``FeatureList`` of float-list steps from a ``(T, n)`` array.

    Equivalent to building ``FeatureList(feature=[Feature(float_list=
    FloatList(value=row)) for row in steps])`` and serializing it, but in
    numpy: every step has the same header bytes, so the records of a
    160 000-step speech example cost microseconds, not seconds.
    """
    steps = np.ascontiguousarray(steps, dtype="<f4")
    n_steps, n_values = steps.shape
    # Step = FeatureList field 1 holding a Feature; Feature = field 2 (float_list)
    # holding a FloatList; FloatList = field 1, packed floats (omitted when empty).
    float_list_header = _varint(1 << 3 | 2) + _varint(4 * n_values) if n_values else b""
    float_list_len = len(float_list_header) + 4 * n_values
    feature_header = _varint(2 << 3 | 2) + _varint(float_list_len)
    step_header = _varint(1 << 3 | 2) + _varint(len(feature_header) + float_list_len)
    header = np.frombuffer(step_header + feature_header + float_list_header, np.uint8)
    rows = np.empty((n_steps, len(header) + 4 * n_values), np.uint8)
    rows[:, : len(header)] = header
    rows[:, len(header):] = steps.view(np.uint8).reshape(n_steps, 4 * n_values)
    return rows.tobytes()


def float_feature_list_array(feature_list) -> Optional[np.ndarray]:
    """Read a ``FeatureList`` of equal-length float lists as a ``(T, n)`` float32 array.

    Returns ``None`` when the steps are not all float lists of one length
    (the caller then reads them one by one and reports what is wrong).
    """
    n_steps = len(feature_list.feature)
    if n_steps == 0:
        return np.zeros((0, 0), np.float32)
    raw = feature_list.SerializeToString()
    if len(raw) % n_steps:
        return None
    step_len = len(raw) // n_steps
    try:
        tag, pos = read_varint(raw, 0)
        size, pos = read_varint(raw, pos)
        if tag != (1 << 3 | 2) or pos + size != step_len:
            return None
        if size == 0:
            return None  # a Feature with no kind set
        tag, pos = read_varint(raw, pos)
        size, pos = read_varint(raw, pos)
        if tag != (2 << 3 | 2) or pos + size != step_len:
            return None
        if size == 0:
            n_values, header_len = 0, pos
        else:
            tag, pos = read_varint(raw, pos)
            size, pos = read_varint(raw, pos)
            if tag != (1 << 3 | 2) or pos + size != step_len or size % 4:
                return None
            n_values, header_len = size // 4, pos
    except ValueError:
        return None
    rows = np.frombuffer(raw, np.uint8).reshape(n_steps, step_len)
    if n_steps > 1 and not np.array_equal(rows[:, :header_len],
                                          np.broadcast_to(rows[0, :header_len], (n_steps, header_len))):
        return None
    return rows[:, header_len:].copy().view("<f4").astype(np.float32, copy=False).reshape(n_steps, n_values)


def context_span(prefix: bytes) -> Optional[tuple[int, int]]:
    """Where the ``context`` (field 1) of a serialized ``SequenceExample`` lies.

    Parameters
    ----------
    prefix : bytes
        The first bytes of the record (11 are enough).

    Returns
    -------
    (start, size) or None
        ``record[start:start + size]`` is the serialized ``Features``;
        ``None`` when the record does not begin with field 1 (TensorFlow
        writes the context first; the caller then parses the whole record).
    """
    try:
        tag, pos = read_varint(prefix, 0)
        if tag != (1 << 3 | 2):
            return None
        size, pos = read_varint(prefix, pos)
    except ValueError:
        return None
    return pos, size
