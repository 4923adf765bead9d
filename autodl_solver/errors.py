"""Errors that reach the user as one clear line.

Every check on user input (a dataset folder, a metadata file, a record, a
prediction file, a budget) raises :class:`AutoDLInputError` with the file or
field at fault and what was expected. The CLI prints ``error: <message>`` and
exits with status 2 instead of showing a traceback.
"""
from __future__ import annotations

import os


class AutoDLError(Exception):
    """Base class of the errors this package raises on purpose."""


class AutoDLInputError(AutoDLError, ValueError):
    """Bad input: names the file or field at fault and what was expected.

    Parameters
    ----------
    where : str or os.PathLike
        The file, folder or field that is wrong (for example
        ``"mini1.data/train/metadata.textproto"`` or ``"time_budget"``).
    problem : str
        What is wrong and what was expected, as one sentence.
    """

    def __init__(self, where: str | os.PathLike, problem: str) -> None:
        self.where = os.fspath(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}")


class NoPredictionError(AutoDLError, RuntimeError):
    """Raised when no learner could produce any prediction at all."""
