"""Findings → the terminal (rich) and JSON. (The annotated copy is annotate.py.)"""

from __future__ import annotations

import json

from rich.cells import cell_len

from .check import FileReport
from .findings import ERROR
from .terminal import json_safe, lines, one_line, shown
from .text import export_safe, shown_path

SEVERITY_TEXT = {"error": "错误", "warning": "提示"}


def to_json(reports: list[FileReport]) -> str:
    """The `check --json` document: one array of findings.

    Safe by design for whoever opens it as a table: it is valid UTF-8 whatever the file names
    (undecodable bytes as \\xNN), and every text that starts like a formula (= + - @, tab, CR) is
    prefixed with ' (OWASP's advice against CSV injection), so a spreadsheet importing it shows
    text, never runs it."""
    return json_safe(json.dumps(export_safe([f.to_dict() for r in reports for f in r.findings]),
                                ensure_ascii=False, indent=1))


def verdict_line(report: FileReport) -> str:
    name = shown_path(report.path.name)
    if not report.readable:
        return f"{name}：无法读取"
    answered = f"，{report.explained} 个已说明" if report.explained else ""
    if report.errors:
        return f"{name}：有错误（{report.errors} 个错误，{report.warnings} 个提示{answered}）"
    if report.warnings or report.explained:
        return f"{name}：通过（{report.warnings} 个提示{answered}）"
    return f"{name}：通过"


COMPACT_FROM = 10   # more files than this: errors as plain lines, warnings counted
MARK = {ERROR: "[red]✗[/]", "warning": "[yellow]![/]"}


def finding_line(f) -> str:
    """One finding on one line, every word of it: location, rule, severity, message (markup-safe)."""
    return (f"  {MARK[f.severity]} {shown(one_line(f.where or '（文件）'))} {f.rule} "
            f"{SEVERITY_TEXT[f.severity]}：{shown(one_line(f.message))}")


def print_reports(reports: list[FileReport], console, show_warnings: bool = True,
                  compact: bool | None = None) -> None:
    """Findings grouped by file, each file ending with its verdict line. A table per file for a
    few files on a wide terminal; one line per finding at narrow width or into a file or pipe
    (nothing is ever cut short); for a batch, each error on one line and the warnings counted
    (a wall of 30,000 warnings helps nobody: --json and --annotate carry them all)."""
    from rich.table import Table

    compact = len(reports) > COMPACT_FROM if compact is None else compact
    if compact:
        # One print for the whole batch: rich costs milliseconds per call, and a batch has thousands of lines.
        out = []
        for report in reports:
            style = "red" if report.errors else "green"
            errors = [f for f in report.findings if f.severity == ERROR]
            if errors or not report.readable:
                out.append(f"[bold]{shown(one_line(shown_path(report.path)))}[/]")
                out.extend(f"  [red]✗[/] {shown(one_line(f.where or '（文件）'))} {f.rule} {shown(one_line(f.message))}"
                           for f in errors)
            out.append(f"[{style}]{shown(one_line(verdict_line(report)))}[/]")
        console.print("\n".join(out))
        return
    as_lines = lines(console)
    for report in reports:
        style = "red" if report.errors else "green"
        shown_findings = [f for f in report.findings if show_warnings or f.severity == ERROR]
        title = shown(one_line(shown_path(report.path)))
        if as_lines or cell_len(shown_path(report.path)) + 8 > console.width:
            console.print(f"[bold]{title}[/]")
        else:
            console.rule(f"[bold]{title}", style=style)
        if shown_findings and as_lines:
            console.print("\n".join(finding_line(f) for f in shown_findings))
        elif shown_findings:
            table = Table(show_header=True, header_style="bold", expand=True, show_lines=False)
            table.add_column("位置", overflow="fold")
            table.add_column("规则", no_wrap=True, overflow="fold")
            table.add_column("级别", no_wrap=True, overflow="fold")
            table.add_column("说明", ratio=1, overflow="fold")
            for f in shown_findings:
                color = "red" if f.severity == ERROR else "yellow"
                table.add_row(shown(f.where or "（文件）"), f.rule, f"[{color}]{SEVERITY_TEXT[f.severity]}[/]",
                              shown(f.message))
            console.print(table)
        console.print(f"[{style}]{shown(one_line(verdict_line(report)))}[/]")
