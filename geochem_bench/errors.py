"""The package's one exception base and its shared subclasses.

Every error a user can cause (an unknown task, a malformed config, a corrupt download, an
invalid prediction or result record) derives from :class:`GeochemBenchError`, so the command
line catches exactly these and prints their message, while a bug still shows its traceback.
Each class also derives from the built-in exception it refines (``KeyError``, ``ValueError``,
``FileNotFoundError``, ``RuntimeError``), so code written against the built-ins keeps working.
Messages say what was wrong and what to do.
"""

from __future__ import annotations


class GeochemBenchError(Exception):
    """Base of every error geochem-bench raises on purpose."""


class UnknownNameError(GeochemBenchError, KeyError):
    """A task, scene, baseline, element or submission name that is not known."""

    def __str__(self) -> str:
        # KeyError quotes its message; show it as written.
        return str(self.args[0]) if self.args else ""


class InvalidInputError(GeochemBenchError, ValueError):
    """An input that fails a check: a config, split file, record, array or option."""


class InvalidPrediction(InvalidInputError):
    """A prediction that cannot be scored; the message says what is wrong and how to fix it."""


class SceneNotFoundError(GeochemBenchError, FileNotFoundError):
    """A scene's files are not under the data root, and downloading was not allowed."""
