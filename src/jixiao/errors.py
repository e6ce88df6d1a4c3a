"""Every exception the library raises on purpose, in one place.

Each carries a complete Chinese message that says what to change. None names a command-line
option: the CLI (and the web page) add their own hint where one helps, from the exception's fields.
"""

from __future__ import annotations


class SpecError(ValueError):
    """A form specification (or its layout) is malformed."""


class InputError(ValueError):
    """A roster or budget file cannot be used; .problems holds one message per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class UsageError(ValueError):
    """Bad input to a command: a path that does not exist, no workbook found, a bad value."""


class OutputError(OSError):
    """An output could not be put in place; the message says what to do."""


class LedgerError(UsageError):
    """The ledger cannot be opened or written; the message says what to do."""


class Unreadable(Exception):
    """A file cannot be read as a workbook; the message says why."""


class MergeRefused(Exception):
    """Inputs with errors, or that contradict each other: nothing was written.

    `reason` tells the caller what would help: "errors" (the files in `reports` have errors; they
    can be left out), "department" / "year" (inputs disagree; name the one wanted), "undetermined"
    (no valid input says which department or year), "empty", "duplicate", "output"."""

    def __init__(self, message: str, reports: list | None = None, reason: str = ""):
        super().__init__(message)
        self.reports = reports or []
        self.reason = reason


class ReconciliationError(Exception):
    """The written 汇总表 does not reproduce the inputs; it was not put in place."""
