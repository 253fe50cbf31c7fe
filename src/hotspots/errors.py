"""The hotspots error hierarchy.

Every error the library raises on purpose is a ``HotspotsError``; each subclass also inherits
the built-in exception a caller would naturally catch. Messages name the thing and the value.
"""

from __future__ import annotations

SHOWN_CHARACTERS = 40
"""Characters of a given value a message repeats: a value of thousands (a URL's parameter, a
setting) is named by its start and its length, so the message stays one readable line."""


def shown(value: str, *, quote: bool = True) -> str:
    """``value`` as a message names it: ``repr`` (or as is, ``quote=False``), its first
    ``SHOWN_CHARACTERS`` characters followed by ``... (N characters)`` when longer."""
    if len(value) <= SHOWN_CHARACTERS:
        return repr(value) if quote else value
    start = value[:SHOWN_CHARACTERS]
    return f"{repr(start) if quote else start}... ({len(value)} characters)"


class HotspotsError(Exception):
    """Base class of every error hotspots raises on purpose."""


class ConfigError(HotspotsError, ValueError):
    """A setting, flag or spec value is not valid (names the setting and the value)."""


class InputFileError(HotspotsError, ValueError):
    """An input file cannot be read at all: empty, binary, undecodable, no header, ..."""


class ColumnNotFoundError(InputFileError, KeyError):
    """A column the mapping needs is not in the file."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class DataValidationError(HotspotsError, ValueError):
    """The data could be read but is not fit for use (too many rejects, wrong precision, ...)."""


class NotFittedError(HotspotsError, ValueError, AttributeError):
    """A forecaster was used before ``fit`` (same bases as sklearn's NotFittedError)."""


class UnknownCategoryError(HotspotsError, KeyError):
    """A category that is not in a panel or model."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class ModelNotFoundError(HotspotsError, LookupError):
    """No model of that name or version in the registry."""


class IntegrityError(HotspotsError, RuntimeError):
    """A stored artifact does not match its checksum or is incomplete."""


class RecordUnreadableError(HotspotsError, RuntimeError):
    """A model's served record (its snapshots, events or patrols) cannot be read or used
    for a figure asked of it; names the model, the figure and why."""


class ClusterError(HotspotsError, RuntimeError):
    """The Dask cluster cannot finish a run: a task's worker was lost, no worker is left, or a
    task killed every worker that ran it (names the task, the worker and the spec given up)."""


class TooManyRejectsError(DataValidationError):
    """More rows were rejected than the ceiling allows; ``report`` says which and why."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report
