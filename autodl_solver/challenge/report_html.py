"""``detailed_results.html``: the scorer's learning-curve page.

As in ``score.py``, the page embeds the PNG figures as base64 ``<img>`` and
reloads itself every 5 seconds while the run is live (``<meta
http-equiv="refresh" content="5">``); the final write has no refresh. It
adds a small table of the predictions' times and scores.
"""
from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Optional, Sequence, Union

from ..utils.atomic import atomic_write_text
from .learning_curve import LearningCurve

PathLike = Union[str, os.PathLike]

__all__ = ["DETAILED_RESULTS", "REFRESH_SECONDS", "render_detailed_results", "write_detailed_results"]

DETAILED_RESULTS = "detailed_results.html"
REFRESH_SECONDS = 5
_WAITING = (
    "Starting training process... <br> Please be patient. "
    "Learning curves will be generated when first predictions are made."
)


def _image_tag(png: bytes) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;charset=utf-8;base64,{encoded}"/><br>'


def _table(curve: LearningCurve, accuracies: Optional[Sequence[float]]) -> str:
    head = "<tr><th>#</th><th>time (s)</th><th>NAUC</th>"
    head += "<th>accuracy</th></tr>" if accuracies is not None else "</tr>"
    rows = []
    for i, (t, s) in enumerate(zip(curve.timestamps, curve.scores)):
        cells = f"<td>{i}</td><td>{t:.2f}</td><td>{s:.4f}</td>"
        if accuracies is not None:
            cells += f"<td>{accuracies[i]:.4f}</td>"
        rows.append(f"<tr>{cells}</tr>")
    summary = (
        f"<p>ALC: {curve.alc():.4f} ({len(curve)} predictions, time budget {curve.time_budget:g} s)</p>"
    )
    return summary + '<table border="1" cellpadding="3">' + head + "".join(rows) + "</table>"


def render_detailed_results(
    images: Sequence[bytes],
    *,
    running: bool,
    curve: Optional[LearningCurve] = None,
    accuracies: Optional[Sequence[float]] = None,
    message: Optional[str] = None,
) -> str:
    """The HTML text of the page.

    Parameters
    ----------
    images : sequence of bytes
        PNG contents, embedded in order.
    running : bool
        Add the 5 s auto-refresh (the run is still going).
    curve : LearningCurve, optional
        Adds the ALC and a table of the predictions; with no prediction yet
        the page shows the official waiting message.
    accuracies : sequence of float, optional
        An accuracy column (one-hot tasks).
    message : str, optional
        A line of status text (escaped), for example a time-limit note.
    """
    head = f'<html><head> <meta http-equiv="refresh" content="{REFRESH_SECONDS}"> </head>' if running else "<html>"
    parts = [head, "<body><pre>"]
    if message:
        parts.append(html.escape(message) + "<br>")
    if (curve is None or len(curve) == 0) and not images:
        parts.append(_WAITING)
    for png in images:
        parts.append(_image_tag(png))
    parts.append("</pre>")
    if curve is not None and len(curve):
        parts.append(_table(curve, accuracies))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_detailed_results(
    path: PathLike,
    png_paths: Sequence[PathLike] = (),
    *,
    running: bool,
    curve: Optional[LearningCurve] = None,
    accuracies: Optional[Sequence[float]] = None,
    message: Optional[str] = None,
) -> None:
    """Write the page atomically; ``png_paths`` that do not exist are skipped.

    See :func:`render_detailed_results` for the other parameters.
    """
    images = [Path(p).read_bytes() for p in png_paths if Path(p).is_file()]
    text = render_detailed_results(images, running=running, curve=curve, accuracies=accuracies, message=message)
    atomic_write_text(path, text)
