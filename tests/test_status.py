"""Tests for jixiao.status: per-unit collection status, JSON, and the printable 催报 sheet."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

import jixiao.ledger as ledger_mod
from jixiao.check import Checked, check_files
from jixiao.ledger import Ledger, LedgerError
from jixiao.roster import Roster, Unit
from jixiao.status import (OTHERS_SHEET, REMINDER_SHEET, reminder_columns, collection_status, status_json,
                           write_status_xlsx)

from helpers import T0, put  # noqa: E402 - shared with the other collection tests


@pytest.fixture
def inbox(tmp_path, seed_returns, fixed_returns) -> Path:
    """310001 returned a file with errors, 310002 a valid one, 310003 nothing yet."""
    folder = tmp_path / "inbox"
    put(seed_returns["310001"], folder, hours=1)
    put(fixed_returns["310002"], folder, hours=2)
    return folder


def rows(report) -> dict:
    return {r.unit.code: r for r in report.rows}


def test_one_row_per_roster_unit(inbox, roster, seed_returns, fixed_returns):
    report = collection_status(inbox, roster)
    assert [r.unit.code for r in report.rows] == [u.code for u in roster.units]
    by = rows(report)
    assert by["310001"].status == "有错误" and by["310002"].status == "通过" and by["310003"].status == "未报送"
    assert by["310003"].entry is None and by["310003"].file == "" and by["310003"].received is None
    assert by["310001"].file == seed_returns["310001"].name
    assert by["310001"].received == dt.datetime.fromtimestamp(T0 + 3600).astimezone()
    # Counts are those of `check` with the same roster.
    for code, source in (("310001", seed_returns["310001"]), ("310002", fixed_returns["310002"])):
        (checked,) = check_files([inbox / source.name], roster=roster)
        assert (by[code].errors, by[code].warnings) == (checked.errors, checked.warnings)
        assert by[code].projects == checked.submission.counts["projects"]
        assert by[code].indicators == checked.submission.counts["indicators"]
    assert by["310001"].errors > 0 and by["310001"].projects == 11
    assert "请修改后重新报送" in by["310001"].action and "尚未报送" in by["310003"].action
    assert by["310002"].action == ""
    assert report.others == []
    assert (report.count("通过"), report.count("有错误"), report.count("未报送")) == (1, 1, 1)
    assert report.department == "上海市示例主管部门" and report.year == 2023      # from the files' _meta
    assert report.summary_line() == "应报 3 家：通过 1，有错误 1，未报送 1"
    assert [r.unit.code for r in report.reminder_order()] == ["310003", "310001", "310002"]


def test_rerun_reads_nothing(inbox, roster, monkeypatch):
    collection_status(inbox, roster)
    calls = []
    monkeypatch.setattr(ledger_mod, "read_and_check", lambda paths, *a, **k: calls.append(paths) or Checked([], []))
    report = collection_status(inbox, roster)
    assert calls == [] and report.scan.checked == 0 and report.scan.cached == 2
    assert rows(report)["310002"].status == "通过"


def test_corrected_resubmission_counts(inbox, roster, seed_returns, fixed_returns):
    collection_status(inbox, roster)
    name = seed_returns["310001"].name.replace(".xlsx", " (1).xlsx")
    put(fixed_returns["310001"], inbox, name, hours=48)
    report = collection_status(inbox, roster)
    row = rows(report)["310001"]
    assert row.status == "通过" and row.file == name
    assert [e.path for e in row.superseded] == [seed_returns["310001"].name]
    assert report.scan.checked == 1


def test_latest_file_decides_even_when_it_is_worse(inbox, roster, seed_returns):
    put(seed_returns["310002"], inbox, "310002_再次报送.xlsx", hours=72)     # a newer file, with errors
    row = rows(collection_status(inbox, roster))["310002"]
    assert row.status == "有错误" and row.file == "310002_再次报送.xlsx"


def test_another_units_template_counts_for_its_meta_unit(tmp_path, roster, templates, fixed_returns):
    folder = tmp_path / "inbox"
    put(fixed_returns["310001"], folder, templates["310003"].name)     # 310001's workbook, 310003's name
    by = rows(collection_status(folder, roster))
    assert by["310001"].status == "通过" and by["310001"].file == templates["310003"].name
    assert by["310001"].warnings > 0                                       # S-15 says so
    assert by["310003"].status == "未报送"


def test_files_of_no_roster_unit_are_listed(inbox, fixed_returns):
    roster = Roster([Unit("310001", "上海市欧美同学会", "王老师", "021-00000001"),
                     Unit("310003", "上海市归国华侨联合会", "张老师", "021-00000003")])
    (inbox / "说明.xlsx").write_text("单位,项目\n", encoding="utf-8")
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(inbox / "自制表格.xlsx"))
    wb.add_worksheet("Sheet1").write_string(0, 0, "项目")
    wb.close()
    report = collection_status(inbox, roster)
    assert [r.unit.code for r in report.rows] == ["310001", "310003"]
    others = {o.path: o for o in report.others}
    assert set(others) == {fixed_returns["310002"].name, "说明.xlsx", "自制表格.xlsx"}
    assert others[fixed_returns["310002"].name].unit_code == "310002"
    assert "不在报送名单中" in others[fixed_returns["310002"].name].reason
    assert others[fixed_returns["310002"].name].verdict == "有错误"         # S-09 under this roster
    assert others["说明.xlsx"].verdict == "无法读取" and others["说明.xlsx"].reason.startswith("无法读取")
    assert "_meta" in others["自制表格.xlsx"].reason
    assert report.summary_line().endswith("名单外文件 3 份")


def test_status_json(inbox, roster):
    doc = json.loads(status_json(collection_status(inbox, roster, year=2023)))
    assert doc["summary"] == {"units": 3, "ok": 1, "invalid": 1, "missing": 1, "other_files": 0}
    assert doc["year"] == 2023 and doc["department"] == "上海市示例主管部门"
    unit = {u["unit_code"]: u for u in doc["units"]}
    assert unit["310003"] == {"unit_code": "310003", "unit_name": "上海市归国华侨联合会", "contact": "张老师",
                              "phone": "021-00000003", "status": "未报送", "file": None, "received": None,
                              "verdict": None, "errors": 0, "warnings": 0, "explained": 0, "previous_file": None,
                              "changes": None, "projects": 0, "indicators": 0, "problem": None,
                              "superseded": []}
    assert unit["310001"]["status"] == "有错误" and unit["310001"]["problem"]
    assert dt.datetime.fromisoformat(unit["310001"]["received"]).timestamp() == T0 + 3600
    assert doc["other_files"] == [] and doc["notes"] == []


def test_reminder_workbook(inbox, roster, tmp_path):
    (inbox / "说明.xlsx").write_text("a,b\n", encoding="utf-8")
    report = collection_status(inbox, roster)
    target = tmp_path / "out" / "催报.xlsx"
    assert write_status_xlsx(report, target, roster) == target
    assert [p.name for p in target.parent.iterdir()] == ["催报.xlsx"]      # atomic: no temporary left
    wb = openpyxl.load_workbook(target)
    assert wb.sheetnames == [REMINDER_SHEET, OTHERS_SHEET]
    ws = wb[REMINDER_SHEET]
    assert ws["A1"].value == "上海市示例主管部门2023年度项目绩效目标报送情况（催报）"
    assert "应报 3 家" in ws["A2"].value
    assert [c.value for c in ws[3]] == [label for label, _ in reminder_columns(report)]
    assert [c.value for c in ws[3]][-2:] == ["项目数", "指标数"]
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert [(r[1], r[5]) for r in body] == [("310003", "未报送"), ("310001", "有错误"), ("310002", "通过")]
    assert body[0][3:5] == ["张老师", "021-00000003"]                       # contacts from the roster
    assert body[1][3:5] == ["王老师", "021-00000001"]
    assert body[1][7] == report.rows[0].file and body[1][9] == report.rows[0].errors
    assert body[1][8] == dt.datetime.fromtimestamp(T0 + 3600)
    # printable: A4 landscape at 100% (text stays 10 pt; wide tables go on over pages with the units'
    # columns repeated), title and header repeated on every page, header frozen
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.scale in (None, 100)
    assert ws.print_title_rows.replace("$", "") == "1:3" and ws.freeze_panes == "A4"
    assert ws.print_title_cols.replace("$", "") == "A:C"
    others = [[c.value for c in row] for row in wb[OTHERS_SHEET].iter_rows(min_row=4)]
    assert [(r[1], r[4]) for r in others] == [("说明.xlsx", "无法读取")]


def test_reminder_workbook_uses_given_roster_contacts(inbox, roster, tmp_path):
    report = collection_status(inbox, roster)
    updated = Roster([Unit(u.code, u.name, u.contact + "（新）", "13800000000") for u in roster.units])
    target = write_status_xlsx(report, tmp_path / "催报.xlsx", updated)
    ws = openpyxl.load_workbook(target)[REMINDER_SHEET]
    assert {row[3].value for row in ws.iter_rows(min_row=4)} == {"王老师（新）", "李老师（新）", "张老师（新）"}
    assert OTHERS_SHEET not in openpyxl.load_workbook(target).sheetnames


def test_user_text_is_never_a_formula(tmp_path, roster, fixed_returns):
    folder = tmp_path / "inbox"
    put(fixed_returns["310001"], folder, "=HYPERLINK(1).xlsx")
    report = collection_status(folder, roster)
    target = write_status_xlsx(report, tmp_path / "催报.xlsx")
    ws = openpyxl.load_workbook(target)[REMINDER_SHEET]
    cell = next(row[7] for row in ws.iter_rows(min_row=4) if row[1].value == "310001")
    assert cell.value == "=HYPERLINK(1).xlsx" and cell.data_type == "s"


def test_folder_that_cannot_hold_a_ledger(inbox, roster, monkeypatch):
    def refuse(cls, folder):
        raise LedgerError(f"无法在 {folder} 中建立报送台账（Permission denied）")

    monkeypatch.setattr(Ledger, "open", classmethod(refuse))
    report = collection_status(inbox, roster)
    assert report.scan.ledger is None and "临时台账" in report.notes[0]
    assert rows(report)["310002"].status == "通过"
    assert json.loads(status_json(report))["notes"] == report.notes
