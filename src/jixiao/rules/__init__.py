"""Submissions → findings: `_meta` and the locked content, typed frames, pandera schemas built
from the FormSpec, then the cross-field and cross-table rules of DESIGN.md and reference/domain.md.

Every rule works on all rows of all files at once (the file is a column), so checking a thousand
workbooks costs one pandera call per table, not a thousand. Each rule function declares the ids it
reports (@emits); RULE_FUNCTIONS lists them all, and tests check that together with the reader they
cover the catalogue exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pandas as pd

from ..findings import WARNING, Finding
from ..frames import build_frames
from ..reader import Submission
from ..spec import FormSpec
from .base import DEPT_TAG, Context, dept_key
from .completeness import completeness
from .history import check_history
from .indicators import validate_indicators
from .meta import check_filled, check_meta
from .projects import validate_projects
from .schema import schema_findings

RULE_FUNCTIONS = (check_meta, check_filled, build_frames, schema_findings, validate_projects, validate_indicators, completeness,
                  check_history)
# Findings that only repeat that a cell is unusable, which another finding already says (formula, #REF!, …).
_ECHOES = ("P-01", "V-03")

__all__ = ["Batch", "Context", "DEPT_TAG", "RULE_FUNCTIONS", "check_submissions", "dept_key"]


@dataclass
class Batch:
    """Findings per submission index, plus the typed tables (merge consolidates these)."""
    findings: dict[int, list[Finding]]
    frames: dict[str, pd.DataFrame]
    previous: object = None       # the baseline (previous.Baseline) the files were checked against

    @property
    def projects(self) -> pd.DataFrame:
        return self.frames["projects"]

    @property
    def indicators(self) -> pd.DataFrame:
        return self.frames["indicators"]


def check_submissions(subs: list[Submission], spec: FormSpec, ctx: Context) -> Batch:
    """All rules over all submissions at once; reader findings included, in a stable order."""
    out: dict[int, list[Finding]] = {i: list(s.findings) for i, s in enumerate(subs)}
    unfilled: set[str] = set()
    for i, sub in enumerate(subs):
        if sub.readable:
            out[i].extend(check_meta(sub, spec, ctx))
            blank_form = check_filled(sub, spec)
            if blank_form:
                out[i].extend(blank_form)
                unfilled.add(sub.file)
    bad: set[tuple[str, str, str]] = set()
    frames = build_frames(subs, spec, out, bad)
    projects = frames["projects"]
    found = validate_projects(projects, subs, spec, ctx)
    found += validate_indicators(frames["indicators"], projects, subs, spec, ctx)
    found += check_history(frames["indicators"], projects, subs, spec, ctx)
    for table in spec.extra_tables:
        found += schema_findings(frames[table.key], subs, table, spec)
    index_of = {s.file: i for i, s in enumerate(subs)}
    for f in found:
        if f.rule in _ECHOES and (f.file, f.sheet, f.cell) in bad:
            continue
        if f.file in unfilled:
            continue        # an untouched template: S-23 says it all (not each empty cell of the prefill)
        out[index_of[f.file]].append(f)
    # Errors first, then warnings; each in the workbook's sheet order, then by row and column.
    sheet_order = {name: i for i, name in enumerate(["", "_meta", *(s.name for s in spec.data_sheets)])}
    for i, findings in out.items():
        findings.sort(key=lambda f: (f.severity != "error", sheet_order.get(f.sheet, 9), cell_key(f.cell), f.rule))
        if subs[i].explanations:
            out[i] = explained(findings, subs[i].explanations)
        for table in subs[i].tables.values():
            table.__dict__.pop("_by_row", None)        # the lookup content keys used; not worth pickling
    return Batch(out, frames, ctx.previous)


def explained(findings: list[Finding], explanations: dict[tuple[str, str], str]) -> list[Finding]:
    """Warnings the unit has answered on the 校验结果 sheet, matched by rule and content key (not by
    cell, so that they survive moved rows), become 已说明; an error is never explained away."""
    return [replace(f, explained=True, explanation=explanations[(f.rule, f.key)])
            if f.severity == WARNING and (f.rule, f.key) in explanations else f for f in findings]


def cell_key(cell: str) -> tuple:
    """A1 → (row, column), for ordering findings as the unit reads the sheet."""
    m = re.match(r"([A-Z]+)(\d+)", cell or "")
    if not m:
        return (0, 0)
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return (int(m[2]), col)
