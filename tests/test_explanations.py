"""Answering a warning: the annotated copy's 校验结果 sheet has a 单位说明 beside each warning; a
return that carries an answer makes that warning 已说明 (still a warning), matched by rule and content,
not by cell; an answer beside an error changes nothing."""

from __future__ import annotations

import json
import shutil

import openpyxl

from jixiao.annotate import ERROR_NOT_EXPLAINED, annotate
from jixiao.check import check_files
from jixiao.findings import Finding
from jixiao.report import to_json
from jixiao.rules import explained
from jixiao.spec import load_form

DEPT, YEAR = "上海市示例主管部门", 2023


def answer(copy, tmp_path, answers: dict[str, str], name: str):
    """The unit fills 单位说明 beside the findings of the given rules and returns the copy."""
    wb = openpyxl.load_workbook(copy)
    ws = wb["校验结果"]
    header = [c.value for c in ws[4]]
    rule_col, text_col = header.index("规则") + 1, header.index("单位说明") + 1
    for row in range(5, ws.max_row + 1):
        rule = ws.cell(row, rule_col).value
        if rule in answers and not ws.cell(row, text_col).value:
            ws.cell(row, text_col).value = answers.pop(rule)
    out = tmp_path / name
    wb.save(out)
    return out


def test_an_answered_warning_is_explained_and_an_answered_error_is_not(tmp_path, seed_returns, roster):
    spec = load_form()
    (report,) = check_files([seed_returns["310001"]], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
    copy = annotate(report, spec, tmp_path / "copies")
    ws = openpyxl.load_workbook(copy)["校验结果"]
    header = [c.value for c in ws[4]]
    assert header[-2:] == ["单位说明", "定位键"] and ws.column_dimensions["I"].hidden
    rows = list(ws.iter_rows(min_row=5, values_only=True))
    assert {r[7] for r in rows if r[1] == "错误"} == {ERROR_NOT_EXPLAINED}
    back = answer(copy, tmp_path, {"F-06": "会员代表大会的项目资金总额含上一届筹备费用，已与财政确认。",
                                   "H-02": "这是错误，说明也没用"}, copy.name)
    (again,) = check_files([back], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
    f06 = [f for f in again.findings if f.rule == "F-06"]
    assert [f.explained for f in f06] == [True, False]          # the first F-06 was answered, not the second
    assert f06[0].severity == "warning" and "上一届筹备费用" in f06[0].explanation
    assert again.explained == 1 and again.warnings == report.warnings - 1
    (h02,) = [f for f in again.findings if f.rule == "H-02"]
    assert h02.severity == "error" and not h02.explained
    assert again.errors == report.errors
    # --json: the answered warning says so; the others keep exactly the seven keys.
    data = json.loads(to_json([again]))
    answered = [d for d in data if d.get("explained")]
    assert len(answered) == 1 and answered[0]["explanation"].startswith("会员代表大会")
    assert all(set(d) == {"file", "sheet", "cell", "field", "rule", "severity", "message"}
               for d in data if not d.get("explained"))
    # The next annotated copy shows the unit's words beside that warning.
    again_copy = annotate(again, spec, tmp_path / "copies2")
    rows = list(openpyxl.load_workbook(again_copy)["校验结果"].iter_rows(min_row=5, values_only=True))
    assert any(r[5] == "F-06" and r[7] and "上一届筹备费用" in r[7] for r in rows)


def test_an_answer_follows_its_warning_when_rows_move():
    """By rule and content key, not by cell: the same warning two rows further down is still answered."""
    key = "projects:会员代表大会:project_total"
    moved = Finding("f.xlsx", "项目信息", "F7", "项目资金总额", "F-06", "warning", "…", key=key)
    other = Finding("f.xlsx", "项目信息", "F5", "项目资金总额", "F-06", "warning", "…", key="projects:别的:project_total")
    out = explained([moved, other], {("F-06", key): "理由"})
    assert [f.explained for f in out] == [True, False] and out[0].explanation == "理由"


def test_a_copy_without_answers_reads_like_the_return(tmp_path, seed_returns, roster):
    (report,) = check_files([seed_returns["310002"]], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
    copy = annotate(report, load_form(), tmp_path)
    returned = shutil.copy(copy, tmp_path / seed_returns["310002"].name)
    (again,) = check_files([returned], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
    assert sorted((f.rule, f.where) for f in again.findings) == sorted((f.rule, f.where) for f in report.findings)
    assert again.explained == 0
