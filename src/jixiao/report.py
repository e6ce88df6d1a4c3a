"""Findings → the terminal (rich) and JSON. (The annotated copy is annotate.py.)"""

from __future__ import annotations

import json

from .check import FileReport
from .findings import ERROR

SEVERITY_TEXT = {"error": "错误", "warning": "提示"}


def to_json(reports: list[FileReport]) -> str:
    """The `check --json` document: one array of findings."""
    return json.dumps([f.to_dict() for r in reports for f in r.findings], ensure_ascii=False, indent=1)


def verdict_line(report: FileReport) -> str:
    if not report.readable:
        return f"{report.path.name}：无法读取"
    if report.errors:
        return f"{report.path.name}：有错误（{report.errors} 个错误，{report.warnings} 个提示）"
    return f"{report.path.name}：通过" + (f"（{report.warnings} 个提示）" if report.warnings else "")


COMPACT_FROM = 10   # more files than this: errors as plain lines, warnings counted


def print_reports(reports: list[FileReport], console, show_warnings: bool = True,
                  compact: bool | None = None) -> None:
    """Findings grouped by file, each file ending with its verdict line. A table per file for a
    few files; for a batch, each error on one line and the warnings counted (a wall of 30,000
    warnings helps nobody: --json and --annotate carry them all)."""
    from rich.markup import escape
    from rich.table import Table

    compact = len(reports) > COMPACT_FROM if compact is None else compact
    if compact:
        # One print for the whole batch: rich costs milliseconds per call, and a batch has thousands of lines.
        lines = []
        for report in reports:
            style = "red" if report.errors else "green"
            errors = [f for f in report.findings if f.severity == ERROR]
            if errors or not report.readable:
                lines.append(f"[bold]{escape(str(report.path))}[/]")
                lines.extend(f"  [red]✗[/] {escape(f.where or '（文件）')} {f.rule} {escape(f.message)}" for f in errors)
            lines.append(f"[{style}]{escape(verdict_line(report))}[/]")
        console.print("\n".join(lines))
        return
    for report in reports:
        style = "red" if report.errors else "green"
        shown = [f for f in report.findings if show_warnings or f.severity == ERROR]
        console.rule(f"[bold]{escape(str(report.path))}", style=style)
        if shown:
            table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
            table.add_column("位置", no_wrap=True)
            table.add_column("规则", no_wrap=True)
            table.add_column("级别", no_wrap=True)
            table.add_column("说明", ratio=1)
            for f in shown:
                color = "red" if f.severity == ERROR else "yellow"
                table.add_row(escape(f.where or "（文件）"), f.rule, f"[{color}]{SEVERITY_TEXT[f.severity]}[/]",
                              escape(f.message))
            console.print(table)
        console.print(f"[{style}]{escape(verdict_line(report))}[/]")
