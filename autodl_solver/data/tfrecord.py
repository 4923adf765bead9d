"""TFRecord files without TensorFlow: framing, CRCs, an offset index, a writer.

A TFRecord file is a sequence of records, each framed as::

    uint64 length            (little endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

with ``masked_crc(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)``
(TensorFlow ``core/lib/hash/crc32c.h``; the CRC is Castagnoli's CRC-32C).
Only uncompressed files are handled: that is what the AutoDL format uses.

:func:`index_records` scans the headers only (12 bytes per record, then a
seek past the data), so random access to record *i* costs one seek and one
read. Every failure names the file and the record index.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Iterable, Iterator

import crc32c as _crc32c
import numpy as np

from ..errors import AutoDLInputError

_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


def masked_crc32c(data: bytes | memoryview) -> int:
    """TensorFlow's masked CRC-32C of ``data``."""
    crc = _crc32c.crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


@dataclass(frozen=True)
class RecordIndex:
    """Where each record of one file lies: data offsets and lengths (int64 arrays)."""

    path: Path
    offsets: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets)


def _read_header(handle: BinaryIO, path: Path, index: int, position: int) -> int | None:
    """Read and check one record header; ``None`` at a clean end of file."""
    header = handle.read(_HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise AutoDLInputError(path, f"record {index} at byte {position}: truncated header "
                                     f"({len(header)} of {_HEADER.size} bytes); the file is cut short")
    length, length_crc = _HEADER.unpack(header)
    if masked_crc32c(header[:8]) != length_crc:
        raise AutoDLInputError(path, f"record {index} at byte {position}: corrupt length field "
                                     "(CRC mismatch); not a TFRecord file or damaged")
    return length


def index_records(path: str | os.PathLike) -> RecordIndex:
    """Scan the record headers of a TFRecord file (the data is not read).

    Raises
    ------
    AutoDLInputError
        When a header is corrupt or the file ends inside a record.
    """
    path = Path(path)
    size = path.stat().st_size
    offsets: list[int] = []
    lengths: list[int] = []
    with open(path, "rb") as handle:
        position = 0
        while True:
            length = _read_header(handle, path, len(offsets), position)
            if length is None:
                break
            data_start = position + _HEADER.size
            end = data_start + length + _FOOTER.size
            if end > size:
                raise AutoDLInputError(path, f"record {len(offsets)} at byte {position}: truncated "
                                             f"(needs {end} bytes, file has {size}); the file is cut short")
            offsets.append(data_start)
            lengths.append(length)
            handle.seek(end)
            position = end
    return RecordIndex(path, np.asarray(offsets, np.int64), np.asarray(lengths, np.int64))


def read_record_at(handle: BinaryIO, path: Path, index: int, offset: int, length: int,
                   *, verify: bool = True) -> bytes:
    """Read the data of record ``index`` (found by :func:`index_records`) and check its CRC."""
    handle.seek(offset)
    blob = handle.read(length + _FOOTER.size)
    if len(blob) < length + _FOOTER.size:
        raise AutoDLInputError(path, f"record {index}: truncated data; the file is cut short")
    data = blob[:length]
    if verify and masked_crc32c(data) != _FOOTER.unpack_from(blob, length)[0]:
        raise AutoDLInputError(path, f"record {index}: corrupt data (CRC mismatch)")
    return data


def iter_records(path: str | os.PathLike, *, verify: bool = True) -> Iterator[bytes]:
    """Yield the data of every record of a TFRecord file, in order, checking CRCs."""
    path = Path(path)
    with open(path, "rb") as handle:
        index = position = 0
        while True:
            length = _read_header(handle, path, index, position)
            if length is None:
                return
            blob = handle.read(length + _FOOTER.size)
            if len(blob) < length + _FOOTER.size:
                raise AutoDLInputError(path, f"record {index} at byte {position}: truncated data; "
                                             "the file is cut short")
            data = blob[:length]
            if verify and masked_crc32c(data) != _FOOTER.unpack_from(blob, length)[0]:
                raise AutoDLInputError(path, f"record {index} at byte {position}: corrupt data (CRC mismatch)")
            yield data
            index += 1
            position += _HEADER.size + length + _FOOTER.size


def frame_record(data: bytes) -> bytes:
    """The bytes of one framed record (header, data, footer)."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


class TFRecordWriter:
    """Append records to an open binary file.

    Parameters
    ----------
    handle : binary file object
        Opened by the caller (typically :func:`~autodl_solver.utils.atomic.atomic_open`
        in ``"wb"`` mode, so a failed write leaves nothing behind).
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.count = 0

    def write(self, data: bytes) -> None:
        """Write one record."""
        self._handle.write(frame_record(data))
        self.count += 1


def write_records(path: str | os.PathLike, records: Iterable[bytes]) -> int:
    """Write ``records`` to ``path`` atomically; return how many were written."""
    from ..utils.atomic import atomic_open

    with atomic_open(path, "wb") as handle:
        writer = TFRecordWriter(handle)
        for data in records:
            writer.write(data)
    return writer.count
