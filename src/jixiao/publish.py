"""`merge` end to end: check and consolidate, write the 汇总表 to a temporary file, read it back
and reconcile it with the inputs, and only then rename it into place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .check import FileReport
from .errors import MergeRefused
from .fileio import atomic_path
from .merge import Consolidated, default_output_name, prepare_merge
from .reconcile import reconcile
from .render import write_summary
from .roster import Roster
from .spec import DEFAULT_FORM


@dataclass
class MergeResult:
    path: Path
    consolidated: Consolidated
    reports: list[FileReport]
    reconciliation: list[str]


def merge_files(paths, output: str | Path | None = None, *, roster: Roster | None = None,
                department: str | None = None, year: int | None = None, skip_invalid: bool = False,
                form: str = DEFAULT_FORM, progress=None, workers: int | None = None) -> MergeResult:
    """The library call behind `jixiao merge`. Raises MergeRefused or ReconciliationError;
    in either case no output file is created or changed."""
    consolidated, reports, files = prepare_merge(paths, roster=roster, department=department, year=year,
                                                 skip_invalid=skip_invalid, form=form, progress=progress,
                                                 workers=workers)
    if output is None or Path(output).is_dir():
        output = Path(output or ".") / default_output_name(consolidated.department, consolidated.year,
                                                               consolidated.spec)
    output = Path(output)
    if any(output.resolve() == f.resolve() for f in files):
        raise MergeRefused(f"输出文件 {output} 是输入文件之一：请换一个输出文件名", reason="output")
    with atomic_path(output) as tmp:
        write_summary(consolidated, tmp)
        lines = reconcile(consolidated, tmp)
    return MergeResult(output, consolidated, reports, lines)
