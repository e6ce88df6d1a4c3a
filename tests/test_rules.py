"""Every content rule: a real workbook that fails it (at the right cell) and the clean one that passes.

Rows of the clean return (tests/helpers.clean_project): 项目信息 row 3 is the project;
绩效指标 rows 3–8 are 数量(次), 数量(人次), 质量(%), 时效(date), 社会效益(qual), 满意度(%).
"""

from __future__ import annotations

import datetime as dt

import pytest

from helpers import clean_project, edit_cells, findings_of, make_return, rules_at, unit_data
from jixiao.findings import RULES

P, I = "项目信息", "绩效指标"
CTX = dict(department="上海市示例主管部门", year=2023)


def without(level2: str) -> dict:
    project = clean_project()
    project["indicators"] = [i for i in project["indicators"] if i["二级指标"] != level2]
    return unit_data(project)


def with_indicator(**indicator) -> dict:
    project = clean_project()
    project["indicators"].append({"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "新增指标",
                                  "指标值": "≥1(个)", **indicator})
    return unit_data(project)


# (case id, data or None for the clean return, cell edits, expected (rule, where), severity)
CASES = [
    ("P-01", None, {(P, "N3"): None}, ("P-01", f"{P}!N3"), "error"),
    ("P-02", unit_data(clean_project(), clean_project()), {}, ("P-02", f"{P}!A4"), "error"),
    ("P-03", None, {(P, "B3"): "专项经费"}, ("P-03", f"{P}!B3"), "error"),
    ("P-04", None, {(P, "D3"): "2023-13-45"}, ("P-04", f"{P}!D3"), "error"),
    ("P-04 year 0001", None, {(P, "D3"): "0001-01-01"}, ("P-04", f"{P}!D3"), "error"),
    ("P-04 year 9999", None, {(P, "E3"): dt.date(9999, 12, 31)}, ("P-04", f"{P}!E3"), "error"),
    ("P-05", None, {(P, "D3"): dt.date(2023, 9, 1), (P, "E3"): dt.date(2023, 6, 30)}, ("P-05", f"{P}!E3"), "error"),
    ("P-06", None, {(P, "D3"): dt.date(2021, 1, 1), (P, "E3"): dt.date(2021, 12, 31)}, ("P-06", f"{P}!D3"), "error"),
    ("P-07", None, {(P, "N3"): "培训项目"}, ("P-07", f"{P}!N3"), "warning"),
    ("P-08", None, {(P, "J3"): "=100000+0"}, ("P-08", f"{P}!J3"), "error"),
    ("P-08 text", None, {(P, "N3"): '=HYPERLINK("http://x","点我")'}, ("P-08", f"{P}!N3"), "error"),
    ("P-09", None, {(P, "N3"): "<p>全年举办业务培训12次，培训600人次。</p>"}, ("P-09", f"{P}!N3"), "warning"),
    ("P-10", None, {(P, "N3"): "全年举办业务培训12次" + "长" * 2000}, ("P-10", f"{P}!N3"), "warning"),
    ("P-11", None, {(P, "J3"): "#REF!"}, ("P-11", f"{P}!J3"), "error"),
    ("P-12", None, {(I, "D8"): "收益人员满意度"}, ("P-12", f"{I}!D8"), "warning"),
    ("P-15", None, {(I, "D3"): "举办培训\u200b次数"}, ("P-15", f"{I}!D3"), "warning"),
    ("P-15 amount", None, {(P, "J3"): "100000\ufeff"}, ("P-15", f"{P}!J3"), "warning"),
    ("F-01 text", None, {(P, "J3"): "七十万"}, ("F-01", f"{P}!J3"), "error"),
    ("F-01 negative", None, {(P, "K3"): -5}, ("F-01", f"{P}!K3"), "error"),
    ("F-01 decimals", None, {(P, "L3"): 20000.005}, ("F-01", f"{P}!L3"), "error"),
    ("F-12", None, {(P, "J3"): "100,000.00"}, ("F-12", f"{P}!J3"), "warning"),
    ("F-13", None, {(P, "I3"): "100000000000000.01", (P, "J3"): "100000000000000.01", (P, "L3"): 0},
     ("F-13", f"{P}!I3"), "error"),
    ("F-02", None, {(P, "J3"): 90000}, ("F-02", f"{P}!I3"), "error"),
    ("F-03", None, {(P, "F3"): 500000, (P, "G3"): 400000, (P, "H3"): 0}, ("F-03", f"{P}!F3"), "error"),
    ("F-04", None, {(P, "F3"): 100000, (P, "G3"): 100000, (P, "H3"): 0}, ("F-04", f"{P}!I3"), "error"),
    ("F-06", None, {(P, "F3"): 200000, (P, "G3"): 180000, (P, "H3"): 20000}, ("F-06", f"{P}!F3"), "warning"),
    ("F-10", None, {(P, "I3"): 500, (P, "J3"): 400, (P, "L3"): 100}, ("F-10", f"{P}!I3"), "warning"),
    ("H-01", None, {(I, "B3"): "产出类"}, ("H-01", f"{I}!B3"), "error"),
    ("H-02", None, {(I, "C7"): "仁云双益指标"}, ("H-02", f"{I}!C7"), "error"),
    ("H-04", None, {(I, "D3"): "举办培训次数指标"}, ("H-04", f"{I}!D3"), "warning"),
    ("H-05", None, {(I, "D7"): "参训人员满意度"}, ("H-05", f"{I}!D7"), "warning"),
    ("H-06", None, {(I, "D4"): "举办培训次数"}, ("H-06", f"{I}!D4"), "warning"),
    ("H-07", None, {(I, "C6"): "进度指标"}, ("H-07", f"{I}!C6"), "warning"),
    ("H-09", None, {(I, "A3"): "不存在的项目"}, ("H-09", f"{I}!A3"), "error"),
    ("C-01", without("社会效益指标"), {}, ("C-01", f"{P}!A3"), "error"),
    ("C-02", without("服务对象满意度指标"), {}, ("C-02", f"{P}!A3"), "warning"),
    ("C-03", without("时效指标"), {}, ("C-03", f"{P}!A3"), "warning"),
    ("C-05", unit_data(clean_project(indicators=clean_project()["indicators"][4:])), {}, ("C-05", f"{P}!A3"),
     "warning"),
    ("C-06", None, {(P, "N3"): "全年举办业务培训15次，培训基层人员600人次。"}, ("C-06", f"{P}!N3"), "warning"),
    ("C-07", unit_data(clean_project(indicators=[])), {}, ("C-07", f"{P}!A3"), "error"),
    ("V-01", None, {(I, "E3"): "约"}, ("V-01", f"{I}!E3"), "error"),
    ("V-02", None, {(I, "E3"): None}, ("V-02", f"{I}!E3"), "warning"),
    ("V-03", None, {(I, "E7"): "≥"}, ("V-03", f"{I}!F7"), "error"),
    ("V-04", None, {(I, "G3"): None}, ("V-04", f"{I}!G3"), "error"),
    ("V-05", None, {(I, "F5"): "120"}, ("V-05", f"{I}!F5"), "error"),
    ("V-06", None, {(I, "F5"): "100"}, ("V-06", f"{I}!F5"), "warning"),
    ("V-07", None, {(I, "E8"): "＝"}, ("V-07", f"{I}!E8"), "warning"),
    ("V-08", None, {(I, "F8"): "70"}, ("V-08", f"{I}!F8"), "warning"),
    ("V-09", None, {(I, "E8"): None, (I, "F8"): "满意", (I, "G8"): None}, ("V-09", f"{I}!F8"), "warning"),
    ("V-10", None, {(I, "E3"): None, (I, "F3"): "较多", (I, "G3"): None}, ("V-10", f"{I}!F3"), "warning"),
    ("V-11", with_indicator(二级指标="成本指标", 三级指标="培训费用", 指标值="≥10(万元)"), {}, ("V-11", f"{I}!E9"),
     "warning"),
    ("V-12", with_indicator(三级指标="会议天数", 指标值="≤4(天)"), {}, ("V-12", f"{I}!E9"), "warning"),
    ("V-13", None, {(I, "E5"): None, (I, "F5"): "高", (I, "G5"): None}, ("V-13", f"{I}!F5"), "warning"),
    ("V-17", None, {(I, "F6"): "12月"}, ("V-17", f"{I}!F6"), "warning"),
    ("V-15", None, {(I, "F6"): "2024年12月底前"}, ("V-15", f"{I}!F6"), "warning"),
    ("V-18", None, {(I, "F7"): "较2022年有所提升"}, ("V-18", f"{I}!F7"), "warning"),
    ("V-21", None, {(I, "E3"): None, (I, "F3"): "≥12次", (I, "G3"): None}, ("V-21", f"{I}!F3"), "warning"),
    ("V-22", None, {(I, "G7"): "次"}, ("V-22", f"{I}!G7"), "warning"),
]


@pytest.fixture
def unit_template(templates):
    return templates["310001"]


def test_clean_return_passes_every_rule(tmp_path, unit_template, roster):
    path = make_return(tmp_path, unit_template, unit_data())
    assert findings_of(path, roster=roster, **CTX) == []


@pytest.mark.parametrize("case,data,edits,expected,severity", CASES, ids=[c[0] for c in CASES])
def test_rule_fails_at_its_cell(tmp_path, unit_template, roster, case, data, edits, expected, severity):
    path = make_return(tmp_path, unit_template, data or unit_data())
    if edits:
        edit_cells(path, edits)
    findings = findings_of(path, roster=roster, **CTX)
    assert expected in rules_at(findings), [(f.rule, f.where, f.message) for f in findings]
    hit = next(f for f in findings if (f.rule, f.where) == expected)
    assert hit.severity == severity == RULES[hit.rule].severity or hit.severity == severity
    assert hit.message and "{" not in hit.message


# Near misses that must pass: the rule's boundary, seen from the valid side.
PASSES = [
    ("V-05 growth rate may exceed 100%", {(I, "D5"): "参训人数增长率", (I, "F5"): "120"}, "V-05"),
    ("V-06 =100% is fine", {(I, "E5"): "＝", (I, "F5"): "100"}, "V-06"),
    ("V-02 typed = is accepted", {(I, "E3"): "="}, "V-01"),
    ("F-12 number typed as number", {(P, "J3"): 100000}, "F-12"),
    ("F-02 blank parts count as zero", {(P, "K3"): None}, "F-02"),
    ("P-04 text dates are dates", {(P, "D3"): "2023年1月1日", (P, "E3"): "2023/12/31"}, "P-04"),
    ("P-06 multi-year project covering the year", {(P, "D3"): dt.date(2022, 7, 1), (P, "E3"): dt.date(2024, 6, 30)}, "P-06"),
    ("P-04 dates far from the year are still dates", {(P, "D3"): "1950-01-01", (P, "E3"): "2150-12-31"}, "P-04"),
    ("F-13 15 significant digits", {(P, "I3"): "9999999999999.99", (P, "J3"): "9999999999999.99", (P, "L3"): 0},
     "F-13"),
    ("P-15 visible spaces are not invisible", {(I, "D3"): "举办\u00a0培训\u3000次数"}, "P-15"),
    ("H-07 spaced label is the label", {(I, "C8"): "服务对象满意度 指标"}, "H-02"),
    ("V-08 at the floor", {(I, "F8"): "80"}, "V-08"),
]


@pytest.mark.parametrize("case,edits,rule", PASSES, ids=[p[0] for p in PASSES])
def test_rule_passes_at_its_boundary(tmp_path, unit_template, roster, case, edits, rule):
    path = edit_cells(make_return(tmp_path, unit_template, unit_data()), edits)
    findings = findings_of(path, roster=roster, **CTX)
    assert rule not in {f.rule for f in findings}, [(f.rule, f.where, f.message) for f in findings]
    assert not [f for f in findings if f.severity == "error"], [(f.rule, f.where, f.message) for f in findings]


def test_parse_error_is_not_also_reported_as_empty(tmp_path, unit_template, roster):
    path = edit_cells(make_return(tmp_path, unit_template, unit_data()), {(P, "J3"): "七十万"})
    cells = [(f.rule, f.where) for f in findings_of(path, roster=roster, **CTX)]
    assert ("F-01", f"{P}!J3") in cells and ("P-01", f"{P}!J3") not in cells


def test_f02_message_diagnoses_a_tranche_typed_in_the_wrong_year(seed_returns, roster):
    findings = findings_of(seed_returns["310002"], roster=roster, **CTX)
    (f02,) = [f for f in findings if f.rule == "F-02"]
    assert f02.where == f"{P}!I14"
    assert "429,100.00" in f02.message and "当年财政拨款" in f02.message


# Rules that only the other forms (or optional rules) can trigger; tests/test_forms.py and
# tests/test_optional_rules.py have their cases.
OTHER_FORMS_ONLY = {"H-08", "V-20", "F-11", "P-13", "P-14", "V-14", "V-16", "V-19", "C-04"}
# Rules no client (nor openpyxl, which cuts a cell at 32,767 characters) can make: the hostile
# corpus builds their files at the zip level (tests/test_hostile.py).
HOSTILE_ONLY = {"P-16"}


def test_every_rule_has_a_failing_case():
    tested = {c[3][0] for c in CASES}
    content_rules = {r for r in RULES if r[0] in "PFHVC"}
    assert content_rules - tested == OTHER_FORMS_ONLY | HOSTILE_ONLY
