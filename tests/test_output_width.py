"""Readable output at any width: no finding or status row is ever cut; user text reaching the
terminal carries no control characters."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from helpers import clean_project, edit_cells, make_return, put, unit_data
from jixiao.check import check_files
from jixiao.cli import app
from jixiao.report import print_reports
from jixiao.status import collection_status, print_status
from jixiao.terminal import clean, shown
from jixiao.text import clean as text_clean

DEPT, YEAR = "上海市示例主管部门", 2023


def console(width: int, terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, force_terminal=terminal, color_system=None, highlight=False,
                   soft_wrap=True), buffer


def chinese(text: str) -> Counter:
    return Counter(ch for ch in text if "\u4e00" <= ch <= "\u9fff")


@pytest.fixture(scope="module")
def f02_report(seed_returns, roster):
    (report,) = check_files([seed_returns["310002"]], roster=roster, department=DEPT, year=YEAR)
    return report


@pytest.mark.parametrize("width,terminal", [(60, True), (80, True), (99, True), (200, False), (80, False)])
def test_narrow_or_piped_prints_every_finding_in_full_on_its_line(f02_report, width, terminal):
    c, buffer = console(width, terminal)
    print_reports([f02_report], c)
    text = buffer.getvalue()
    lines = text.splitlines()
    for f in f02_report.findings:
        assert any(f.rule in line and f.message in line and f.where in line for line in lines), f.message
    assert "…" not in text


@pytest.mark.parametrize("width", [100, 140])
def test_wide_terminal_tables_fold_instead_of_cutting(f02_report, width):
    c, buffer = console(width, True)
    print_reports([f02_report], c)
    text = buffer.getvalue()
    assert "┃" in text or "│" in text                       # a table
    assert "…" not in text
    wanted = chinese("".join(f.message for f in f02_report.findings))
    assert not wanted - chinese(text), "characters of a message are missing"


@pytest.fixture(scope="module")
def status_report(tmp_path_factory, seed_returns, fixed_returns, roster):
    inbox = tmp_path_factory.mktemp("inbox")
    put(seed_returns["310001"], inbox)
    put(fixed_returns["310002"], inbox, hours=1)
    return collection_status(inbox, roster)


@pytest.mark.parametrize("width,terminal", [(80, True), (200, False), (60, False)])
def test_status_rows_are_whole_lines_when_narrow_or_piped(status_report, width, terminal):
    c, buffer = console(width, terminal)
    print_status(status_report, c)
    text = buffer.getvalue()
    assert "…" not in text
    for row in status_report.rows:
        line = next(line for line in text.splitlines() if row.unit.code in line)
        assert row.unit.name in line and row.status in line and (row.file in line)
        if row.entry and row.entry.problem:
            assert row.entry.problem in line          # the message of the first error, in full


@pytest.mark.parametrize("width", [100, 160])
def test_status_table_on_a_wide_terminal_is_never_cut(status_report, width):
    c, buffer = console(width, True)
    print_status(status_report, c)
    text = buffer.getvalue()
    assert "…" not in text
    wanted = chinese("".join(r.unit.name + r.file for r in status_report.rows))
    assert not wanted - chinese(text)


def test_cli_at_80_columns_into_a_pipe_keeps_the_f02_advice(seed_returns):
    result = CliRunner().invoke(app, ["check", str(seed_returns["310002"])], env={"COLUMNS": "80"})
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "F-02" in line)
    assert line.startswith("  ✗ 项目信息!I14 F-02 错误：") and line.endswith("请核对当年财政拨款")


# --- control characters ------------------------------------------------------------------------------

HOSTILE = "培训\x1b]52;c;ZXZpbA==\x07项目\x1b[2J\x9b31m\r覆盖"


def test_clean_removes_c0_c1_and_escape_but_keeps_tab_and_newline():
    assert clean(HOSTILE) == "培训]52;c;ZXZpbA==项目[2J31m覆盖"
    assert clean("a\tb\nc\x00d\x7fe\x85f") == "a\tb\ncdef"
    assert shown("[bold]x\x1b") == "\\[bold]x"
    assert clean("bad\udcffname") == "bad\ufffdname"


def with_controls(path: Path, placeholder: str) -> Path:
    """Put HOSTILE into the workbook where `placeholder` is, as Excel stores control characters
    (_xHHHH_) — openpyxl refuses to write them itself."""
    import zipfile

    escaped = "".join(f"_x{ord(ch):04X}_" if ord(ch) < 0x20 else ch for ch in HOSTILE)
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in parts.items():
        if name.endswith(".xml"):
            parts[name] = data.replace(placeholder.encode(), escaped.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def test_no_escape_sequence_reaches_the_terminal(tmp_path, templates, roster_path):
    folder = tmp_path / "收件箱"
    folder.mkdir()
    name = "310001_\x1b[31m红色\x1b[0m.xlsx"
    path = make_return(folder, templates["310001"], unit_data(clean_project("培训项目")), name)
    path = with_controls(edit_cells(path, {("绩效指标", "A3"): "占位项目名称"}), "占位项目名称")   # H-09 quotes it
    runner = CliRunner()
    for args in (["check", str(path)], ["check", str(folder)], ["status", str(folder), "--roster", str(roster_path)]):
        for columns in ("80", "200"):
            result = runner.invoke(app, args, env={"COLUMNS": columns})
            assert result.exit_code in (0, 1), result.output
            for ch in ("\x1b", "\x9b", "\x07", "\r"):
                assert ch not in result.output, (args, repr(result.output))
            assert "红色" in result.output and "ZXZpbA==" in result.output
    data = runner.invoke(app, ["check", str(path), "--json"]).stdout
    assert "\x1b" not in data and "\x9b" not in data
    # The data: one normal form in every stage (jixiao.text.clean): the controls are gone from the
    # text the rules quote, and P-15 names them at their cell.
    findings = json.loads(data)
    assert any(text_clean(HOSTILE) in d["message"] for d in findings if d["rule"] == "H-09"), data
    assert any(d["rule"] == "P-15" and "U+001B" in d["message"] and d["cell"] == "A3" for d in findings), data
