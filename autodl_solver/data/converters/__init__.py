"""Converters from raw sources into the AutoDL format.

Each converter validates its source, then streams examples into
:func:`autodl_solver.data.writer.write_dataset`, which writes
``out_dir/<name>/{<name>.data/{train,test}, <name>.solution, <name>_label.name}``
atomically (a failed conversion leaves nothing behind). Each returns a
:class:`ConversionResult`.

=============  ==========================================  ========================
kind           function                                    stored tensor / format
=============  ==========================================  ========================
``arrays``     :func:`from_arrays` (numpy, or a ``.npz``)   as given, DENSE
``images``     :func:`from_image_folder`                   (1, H, W, C) COMPRESSED
``video``      :func:`from_video_folder`                   (T, H, W, C) COMPRESSED
``speech``     :func:`from_audio_folder`                   (-1, 1, 1, 1) DENSE 16 kHz
``text``       :func:`from_text_folder`                    (-1, 1, 1, 1) DENSE ids
``autonlp``    :func:`from_autonlp`                        (-1, 1, 1, 1) DENSE ids
``tabular``    :func:`from_csv`                            (1, 1, F, 1) DENSE
``automl``     :func:`from_automl`                         (1, 1, F, 1) DENSE
=============  ==========================================  ========================

Sources without a train/test split are split with :func:`split_indices`
(seeded, stratified by the first label; 20 % test, seed 42 by default).
"""
from __future__ import annotations

import os
from typing import Any, Callable

from .arrays import from_arrays
from .common import ConversionResult
from .image import from_image_folder
from .speech import from_audio_folder, from_wav_folder
from .split import first_labels, split_indices
from .tabular import from_automl, from_csv
from .text import EMPTY_TOKEN, detect_language, from_autonlp, from_text_folder, tokenize
from .video import from_video_folder


def from_npz(src: str | os.PathLike, out_dir: str | os.PathLike, name: str | None = None,
             **options: Any) -> ConversionResult:
    """Convert a ``.npz`` holding ``x``, ``y`` and optionally ``x_test``, ``y_test``.

    Other keyword options go to :func:`from_arrays`; ``name`` defaults to the file stem.
    """
    import numpy as np

    from ...errors import AutoDLInputError
    from .common import default_name

    try:
        with np.load(src, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as exc:
        raise AutoDLInputError(src, f"cannot be read as a .npz archive: {exc}") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise AutoDLInputError(src,
                                   f"has no array {key!r} (found {sorted(arrays)}); expected x, y[, x_test, y_test]")
    return from_arrays(arrays["x"], arrays["y"], out_dir, name or default_name(src),
                       x_test=arrays.get("x_test"), y_test=arrays.get("y_test"), **options)


#: ``kind`` of ``autodl-solver convert`` -> converter taking ``(src, out_dir, name, **options)``.
CONVERTERS: dict[str, Callable[..., ConversionResult]] = {
    "arrays": from_npz,
    "images": from_image_folder,
    "video": from_video_folder,
    "speech": from_audio_folder,
    "text": from_text_folder,
    "autonlp": from_autonlp,
    "tabular": from_csv,
    "automl": from_automl,
}


def convert(kind: str, src: str | os.PathLike, out_dir: str | os.PathLike, name: str | None = None,
            **options: Any) -> ConversionResult:
    """Run the converter for ``kind`` (a key of :data:`CONVERTERS`).

    Options a converter does not take raise :class:`TypeError`; the CLI only
    passes the ones each kind accepts.
    """
    from ...errors import AutoDLInputError

    if kind not in CONVERTERS:
        raise AutoDLInputError("kind", f"got {kind!r}, expected one of {sorted(CONVERTERS)}")
    return CONVERTERS[kind](src, out_dir, name, **options)


__all__ = [
    "CONVERTERS", "ConversionResult", "EMPTY_TOKEN", "convert", "detect_language", "first_labels",
    "from_arrays", "from_audio_folder", "from_automl", "from_autonlp", "from_csv", "from_image_folder",
    "from_npz", "from_text_folder", "from_video_folder", "from_wav_folder", "split_indices", "tokenize",
]
