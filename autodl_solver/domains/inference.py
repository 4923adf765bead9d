"""Domain inference from the tensor shape: the official rule.

``DataBrowser.infer_domain`` in the starting kit and ``infer_domain`` in the
organisers' Baseline 3 (docs/protocol.md §1.5)::

    sequence_size == 1:  tabular if row == 1 or col == 1 else image
    otherwise:           text if row == col == 1 and a vocabulary exists,
                         speech if row == col == 1 without one,
                         video otherwise

A variable sequence (``-1``) counts as "not 1", as in the official code.
"""
from __future__ import annotations

from ..data.metadata import Metadata

DOMAINS = ("tabular", "image", "video", "text", "speech")


def infer_domain(metadata: Metadata) -> str:
    """Return one of ``tabular``, ``image``, ``video``, ``text``, ``speech``.

    Parameters
    ----------
    metadata : Metadata
        Only the tensor shape and the vocabulary are read.
    """
    sequence_size, row_count, col_count, _ = metadata.tensor_shape
    if sequence_size == 1:
        return "tabular" if (row_count == 1 or col_count == 1) else "image"
    if row_count == 1 and col_count == 1:
        return "text" if len(metadata.channel_to_index) > 0 else "speech"
    return "video"
