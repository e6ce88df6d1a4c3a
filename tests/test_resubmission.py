"""The resubmission loop in the collection: `status`, `status --xlsx` and the 汇总表's 报送情况 say
how much a unit's latest file changed against the one before (the same changes `jixiao diff`
lists, from the ledger's snapshots: no file is read twice), and count answered warnings (已说明)
apart from the others."""

from __future__ import annotations

import io
import json
import re
import sqlite3

import openpyxl
import pytest
from rich.console import Console
from typer.testing import CliRunner

import jixiao.ledger as ledger_mod
from jixiao.annotate import annotate
from jixiao.check import check_files
from jixiao.cli import app
from jixiao.diff import diff_files
from jixiao.ledger import SCHEMA_VERSION, Ledger, ledger_path
from jixiao.publish import merge_files
from jixiao.render import STATUS_SHEET
from jixiao.report import verdict_line
from jixiao.spec import load_form
from jixiao.roster import load_roster
from jixiao.status import (CHANGES_SHEET, REMINDER_SHEET, collection_status, print_status, status_json,
                           write_status_xlsx)

from helpers import clean_project, make_return, put, unit_data  # noqa: E402
from test_explanations import answer  # noqa: E402 - the unit fills 单位说明 the same way

DEPT, YEAR = "上海市示例主管部门", 2023
NEW_GOAL = "全年举办业务培训12次，培训基层人员800人次。"


@pytest.fixture
def resent(tmp_path, templates, fixed_returns):
    """310002 sends a clean return, then a second one: one goal rewritten and a project added
    (inserted before the first, so every row below it moved). 310001 sends one file only."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_return(tmp_path / "a", templates["310002"], unit_data(clean_project()))
    second = make_return(tmp_path / "b", templates["310002"],
                         unit_data(clean_project("宣传项目"), clean_project(年度总体目标=NEW_GOAL)))
    inbox = tmp_path / "inbox"
    put(first, inbox, "310002_第一次.xlsx", hours=1)
    put(second, inbox, "310002_第二次.xlsx", hours=5)
    put(fixed_returns["310001"], inbox, hours=2)
    return inbox, first, second


def by_code(report) -> dict:
    return {r.unit.code: r for r in report.rows}


def test_status_counts_the_changes_diff_lists(resent, roster):
    inbox, first, second = resent
    row = by_code(collection_status(inbox, roster))["310002"]
    expected = diff_files(first, second)
    assert row.changes.changes == expected and row.changed == len(expected)
    goal = [c for c in expected if c.change == "changed"]
    assert [(c.field, c.new) for c in goal] == [("年度总体目标", NEW_GOAL)]           # the moved rows are not changes
    assert row.changes.previous.path == "310002_第一次.xlsx" and row.changes.latest.path == "310002_第二次.xlsx"
    one = by_code(collection_status(inbox, roster))["310001"]
    assert one.changes is None and one.changed is None                                # one file: nothing to compare


def test_changes_come_from_the_ledger_not_from_reading_again(resent, roster, monkeypatch):
    inbox, first, second = resent
    expected = len(diff_files(first, second))
    collection_status(inbox, roster)

    def read(*args, **kwargs):
        raise AssertionError("a file was read again")

    monkeypatch.setattr(ledger_mod, "read_and_check", read)
    monkeypatch.setattr("jixiao.diff.read_workbook", read)
    assert by_code(collection_status(inbox, roster))["310002"].changed == expected


def test_a_third_file_is_compared_with_the_second(resent, roster, tmp_path, templates):
    inbox, _, second = resent
    (tmp_path / "c").mkdir()
    third = make_return(tmp_path / "c", templates["310002"],
                        unit_data(clean_project("宣传项目"), clean_project(年度总体目标=NEW_GOAL, 当年财政拨款="90000.00",
                                                                      年度其他资金="30000.00")))
    put(third, inbox, "310002_第三次.xlsx", hours=9)
    row = by_code(collection_status(inbox, roster))["310002"]
    assert row.changes.previous.path == "310002_第二次.xlsx"
    assert {(c.field, c.old, c.new) for c in row.changes.changes} == {
        ("当年财政拨款", "100,000.00", "90,000.00"), ("年度其他资金", "20,000.00", "30,000.00")}


def test_the_same_file_sent_twice_has_no_changes(tmp_path, roster, fixed_returns):
    inbox = tmp_path / "inbox"
    put(fixed_returns["310002"], inbox, hours=1)
    put(fixed_returns["310002"], inbox, "310002_再发一次.xlsx", hours=3)
    row = by_code(collection_status(inbox, roster))["310002"]
    assert row.changes is not None and row.changed == 0


def test_status_json_gives_the_count_and_the_previous_file(resent, roster):
    inbox, first, second = resent
    units = {u["unit_code"]: u for u in json.loads(status_json(collection_status(inbox, roster)))["units"]}
    assert units["310002"]["changes"] == len(diff_files(first, second))
    assert units["310002"]["previous_file"] == "310002_第一次.xlsx"
    assert units["310001"]["changes"] is None and units["310001"]["previous_file"] is None
    assert units["310003"]["changes"] is None                                         # nothing sent


def test_terminal_status_shows_the_changes(resent, roster_path):
    inbox, first, second = resent
    n = len(diff_files(first, second))
    result = CliRunner().invoke(app, ["status", str(inbox), "--roster", str(roster_path)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "310002" in x)
    assert f"较上一份文件变化 {n} 处" in line and "已说明 0" in line
    buffer = io.StringIO()
    print_status(collection_status(inbox, load_roster(roster_path)),
                 Console(file=buffer, width=250, force_terminal=True, color_system=None))
    table = buffer.getvalue().splitlines()
    header = next(x for x in table if "单位编码" in x)
    assert "已说明" in header and "变更" in header
    row = re.split("[│┃]", next(x for x in table if "310002" in x))
    cells = [c.strip() for c in re.split("[│┃]", header)]
    assert row[cells.index("变更")].strip() == str(n)


def test_reminder_workbook_has_the_counts_and_a_change_sheet(resent, roster, tmp_path):
    inbox, first, second = resent
    report = collection_status(inbox, roster)
    path = write_status_xlsx(report, tmp_path / "催报.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == [REMINDER_SHEET, CHANGES_SHEET]
    ws = wb[REMINDER_SHEET]
    header = [c.value for c in ws[3]]
    rows = {r[1]: r for r in ws.iter_rows(min_row=4, values_only=True)}
    expected = diff_files(first, second)
    assert rows["310002"][header.index("变更数")] == len(expected)
    assert rows["310001"][header.index("变更数")] is None
    assert rows["310002"][header.index("已说明数")] == 0
    sheet = wb[CHANGES_SHEET]
    header = [c.value for c in sheet[3]]
    assert header == ["序号", "单位编码", "单位名称", "工作表", "内容", "字段", "变化", "原内容", "新内容"]
    body = list(sheet.iter_rows(min_row=4, values_only=True))
    group = body[0]
    assert group[1] == "310002" and "310002_第一次.xlsx" in group[3] and "310002_第二次.xlsx" in group[3]
    assert f"共 {len(expected)} 处变化" in group[3]
    changes = body[1:]
    assert [r[0] for r in changes] == list(range(1, len(expected) + 1))
    assert ("年度总体目标", "修改", NEW_GOAL) in {(r[5], r[6], r[8]) for r in changes}
    added = [r for r in changes if r[6] == "新增"]
    assert added and all(r[7] in (None, "") and r[8] for r in added)
    # The sheet prints like the others: landscape, title and header on every page, header frozen.
    assert sheet.page_setup.orientation == "landscape" and sheet.freeze_panes == "A4"
    assert sheet.print_title_rows.replace("$", "") == "1:3"


def test_no_change_sheet_when_nobody_sent_twice(tmp_path, roster, fixed_returns):
    inbox = tmp_path / "inbox"
    put(fixed_returns["310002"], inbox, hours=1)
    wb = openpyxl.load_workbook(write_status_xlsx(collection_status(inbox, roster), tmp_path / "催报.xlsx"))
    assert CHANGES_SHEET not in wb.sheetnames


def test_answered_warnings_are_counted_apart(tmp_path, roster, seed_returns, fixed_returns):
    """310002 corrects its annotated copy and answers one warning: status, the ledger, the verdict
    line and 报送情况 count it as 已说明, not as 提示."""
    spec = load_form()
    (report,) = check_files([fixed_returns["310002"]], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
    warned = next(f for f in report.findings if f.severity == "warning")
    copy = annotate(report, spec, tmp_path / "copies")
    back = answer(copy, tmp_path, {warned.rule: "预算压减，目标随之调整，已与主管部门沟通。"}, "310002_说明.xlsx")
    inbox = tmp_path / "inbox"
    put(fixed_returns["310002"], inbox, hours=1)
    put(back, inbox, hours=4)
    row = by_code(collection_status(inbox, roster, department=DEPT, year=YEAR))["310002"]
    assert row.file == back.name and row.explained == 1 and row.warnings == report.warnings - 1
    assert row.changed == 0                                  # the copy's data sheets are the return's
    (again,) = check_files([inbox / back.name], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
    assert verdict_line(again).endswith(f"通过（{report.warnings - 1} 个提示，1 个已说明）")
    with sqlite3.connect(ledger_path(inbox)) as conn:
        stored = conn.execute("SELECT c.warnings, c.explained FROM checks c JOIN files f ON f.id = c.file_id "
                              "WHERE f.path = ?", (back.name,)).fetchall()
    assert (report.warnings - 1, 1) in stored
    units = {u["unit_code"]: u for u in json.loads(status_json(collection_status(inbox, roster)))["units"]}
    assert units["310002"]["explained"] == 1
    result = merge_files([inbox], tmp_path / "汇总.xlsx", roster=roster, department=DEPT, year=YEAR)
    status = {u.unit.code: u for u in result.consolidated.units}["310002"]
    assert (status.warnings, status.explained, status.changes) == (report.warnings - 1, 1, 0)


def test_status_sheet_of_the_summary_has_the_columns(resent, roster, tmp_path):
    inbox, first, second = resent
    result = merge_files([inbox], tmp_path / "汇总.xlsx", roster=roster, skip_invalid=True)
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(result.path)[STATUS_SHEET].iter_rows()]
    col = {h: i for i, h in enumerate(rows[1])}
    assert col["已说明数"] == col["提示数"] + 1 and col["变更数"] == col["已说明数"] + 1
    unit = {r[col["单位编码"]]: r for r in rows[2:] if r[col["单位编码"]]}
    assert unit["310002"][col["变更数"]] == len(diff_files(first, second))
    assert unit["310001"][col["变更数"]] is None and unit["310003"][col["已说明数"]] is None
    assert any(isinstance(r[0], str) and "变更数是单位最新文件与其上一份文件相比" in r[0] for r in rows)


def test_a_ledger_of_the_previous_schema_is_upgraded(resent, roster, monkeypatch):
    inbox, first, second = resent
    monkeypatch.setattr(ledger_mod, "MIGRATIONS", ledger_mod.MIGRATIONS[:3])
    Ledger.open(inbox).close()                                   # a folder the previous version kept
    monkeypatch.undo()
    with sqlite3.connect(ledger_path(inbox)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    row = by_code(collection_status(inbox, roster))["310002"]
    assert row.changed == len(diff_files(first, second))
    with sqlite3.connect(ledger_path(inbox)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT COUNT(*) FROM checks WHERE content IS NULL").fetchone()[0] == 0


def test_files_checked_before_snapshots_cannot_be_compared(resent, roster, tmp_path):
    """A verdict recorded without a snapshot (by the previous version, under the same rules) is
    kept; the changes are then unknown, and every output says so instead of showing 0."""
    inbox, *_ = resent
    collection_status(inbox, roster)
    with sqlite3.connect(ledger_path(inbox)) as conn:
        conn.execute("UPDATE checks SET content = NULL WHERE file_id = "
                     "(SELECT id FROM files WHERE path = '310002_第一次.xlsx')")
    report = collection_status(inbox, roster)
    row = by_code(report)["310002"]
    assert row.changes is not None and row.changed is None
    units = {u["unit_code"]: u for u in json.loads(status_json(report))["units"]}
    assert units["310002"]["changes"] is None and units["310002"]["previous_file"] == "310002_第一次.xlsx"
    sheet = openpyxl.load_workbook(write_status_xlsx(report, tmp_path / "催报.xlsx"))[CHANGES_SHEET]
    (group,) = list(sheet.iter_rows(min_row=4, values_only=True))
    assert "无法比较" in group[3]
