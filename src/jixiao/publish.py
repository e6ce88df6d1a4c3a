"""`merge` end to end: check and consolidate, write the 汇总表 to a temporary file, read it back
and reconcile it with the inputs, and only then rename it into place."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .check import FileReport
from .errors import MergeRefused, OutputError
from .fileio import atomic_path
from .ledger import refuse_overwriting_inputs
from .merge import Consolidated, default_output_name, prepare_merge
from .reconcile import reconcile
from .render import write_summary
from .roster import Roster
from .spec import DEFAULT_FORM
from .text import shown_path


@dataclass
class MergeResult:
    path: Path
    consolidated: Consolidated
    reports: list[FileReport]
    reconciliation: list[str]
    notes: list[str] = field(default_factory=list)      # e.g. a collection folder's ledger was rebuilt


def merge_files(paths, output: str | Path | None = None, *, roster: Roster | None = None,
                department: str | None = None, year: int | None = None, skip_invalid: bool = False,
                form: str = DEFAULT_FORM, progress=None, workers: int | None = None,
                previous=None) -> MergeResult:
    """The library call behind `jixiao merge`. Raises MergeRefused or ReconciliationError;
    in either case no output file is created or changed."""
    consolidated, reports, files = prepare_merge(paths, roster=roster, department=department, year=year,
                                                 skip_invalid=skip_invalid, form=form, progress=progress,
                                                 workers=workers, previous=previous)
    if output is None or Path(output).is_dir():
        # The name is made from 主管部门, which `_meta` carries and a unit can forge: it is one safe
        # name (default_output_name), and the 汇总表 lands in the folder the user named, always.
        folder = Path(output or ".")
        output = folder / default_output_name(consolidated.department, consolidated.year, consolidated.spec)
        if output.resolve().parent != folder.resolve():
            raise MergeRefused(f"汇总表的文件名“{shown_path(output.name)}”不在输出文件夹中：请用 -o 指定文件名",
                               reason="output")
    output = Path(output)
    if any(output.resolve() == f.resolve() for f in files):
        raise MergeRefused(f"输出文件 {shown_path(output)} 是输入文件之一：请换一个输出文件名", reason="output")
    try:
        refuse_overwriting_inputs(output, [p for p in map(Path, paths) if p.is_dir()], roster)
    except OutputError as exc:
        raise MergeRefused(str(exc), reason="output") from None
    with atomic_path(output) as tmp:
        write_summary(consolidated, tmp)
        lines = reconcile(consolidated, tmp)
    return MergeResult(output, consolidated, reports, lines, list(consolidated.notes))
