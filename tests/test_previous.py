"""Last year as the baseline (issue 17): a 2023 collection merged, its 汇总表 the starting point of the
2024 templates; returns checked against it; a plain pasted table and hostile files as last year's file;
the 汇总表 comparing every indicator with last year's. Real workbooks made by the code, read back."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings, strategies as st

from jixiao.check import check_files
from jixiao.contract import FIRST_DATA_ROW, HIGHER, LOWER, NEW, SAME
from jixiao.demo import run_round
from jixiao.errors import InputError
from jixiao.ledger import context_of
from jixiao.previous import compare, load_previous
from jixiao.publish import merge_files
from jixiao.roster import load_roster
from jixiao.samples import apply_fixes, load_seed, load_units_plan, review_carried, samples_dir, translate
from jixiao.spec import load_form
from jixiao.template import write_templates
from jixiao.values import IndicatorValue, parse_value

PLAN = load_units_plan()["round"][0]
DEPT = PLAN["department"]
JIXIAO = [sys.executable, "-m", "jixiao.cli"]


@pytest.fixture(scope="module")
def year2023(tmp_path_factory):
    """The demo's first round: 2023, sh-project, two units' corrected returns merged."""
    folder = tmp_path_factory.mktemp("y2023")
    result = run_round(PLAN, folder / "round", say=lambda _line: None)
    return result.merge.path


@pytest.fixture(scope="module")
def roster():
    return load_roster(samples_dir() / PLAN["roster"])


def _templates(tmp_path, summary, roster, form):
    spec = load_form(form)
    baseline = load_previous(summary, spec)
    paths = write_templates(roster, DEPT, 2024, tmp_path / "模板", form=form, previous=baseline)
    return spec, baseline, {p.name.split("_", 1)[0]: p for p in paths}


def _review(template, code, spec, out, changes=()):
    seed = next(u["seed"] for u in PLAN["units"] if u["code"] == code)
    data = apply_fixes(translate(load_seed(seed), spec), code, PLAN.get("fix", []))
    return review_carried(template, data, out, spec, list(changes))


def _sheet_rows(path, sheet):
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    return ws, [r for r in ws.iter_rows(min_row=FIRST_DATA_ROW + 1, values_only=True) if any(v is not None for v in r)]


# --- the templates start from last year ------------------------------------------------------------

def test_2024_templates_hold_each_units_recurring_projects_and_indicators(tmp_path, year2023, roster):
    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    recurring = set(spec.recurring)
    last_year = openpyxl.load_workbook(year2023)
    summary = [r for r in last_year["汇总"].iter_rows(min_row=4, values_only=True) if r[-2] == "明细"]
    detail = list(last_year["绩效指标明细"].iter_rows(min_row=2, values_only=True))
    for code in ("310001", "310002"):
        expected = [r[2] for r in summary if r[-1] == code and r[3] in recurring]
        assert expected, code
        ws, rows = _sheet_rows(templates[code], spec.projects.name)
        names = [r[spec.projects.column("name")] for r in rows]
        assert names == expected
        for r in rows:          # 性质 and 类别 carried, this year's dates, no amounts
            assert r[spec.projects.column("nature")] in recurring
            assert r[spec.projects.column("category")]
            assert r[spec.projects.column("start")].year == 2024
            assert r[spec.projects.column("annual_total")] is None
            assert len(r[spec.projects.column("goal")]) > 10      # read back from the 申报表 blocks
        ws, ind_rows = _sheet_rows(templates[code], spec.indicators.name)
        want = [(r[3], r[6], r[10]) for r in detail if r[1] == code and r[3] in expected]
        ref_col = spec.reference_at()
        assert ws.cell(FIRST_DATA_ROW, ref_col + 1).value == spec.previous_label()
        got = [(r[spec.indicators.column("project")], r[spec.indicators.column("level3")], r[ref_col]) for r in ind_rows]
        assert got == want
        # editable carried values, a locked reference column
        first = FIRST_DATA_ROW + 1
        assert ws.cell(first, spec.indicators.column("value") + 1).protection.locked is False
        assert ws.cell(first, ref_col + 1).protection.locked is True
        notes = [c.value for c in openpyxl.load_workbook(templates[code])["填报说明"]["A"] if c.value]
        assert any("上年" in n and "核对" in n for n in notes)
    # the third unit has no 2023 data: a blank template
    _ws, rows = _sheet_rows(templates["310003"], spec.projects.name)
    assert rows == []
    assert baseline.skipped_projects > 0          # the one-off projects of 2023 are not carried
    assert baseline.year == 2023 and baseline.unmatched(roster) == 0


def test_an_unchanged_return_has_no_warning_against_last_year(tmp_path, year2023, roster):
    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    ret = _review(templates["310002"], "310002", spec, tmp_path / "310002.xlsx")
    [report] = check_files([ret], roster=roster, department=DEPT, year=2024, previous=baseline)
    assert report.errors == 0, [f.message for f in report.findings if f.severity == "error"]
    assert [f for f in report.findings if f.rule.startswith("Y-")] == []


def test_one_lowered_target_gets_exactly_one_warning_at_its_cell(tmp_path, year2023, roster):
    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    ws, rows = _sheet_rows(templates["310002"], spec.indicators.name)
    project, level3 = rows[0][0], rows[0][spec.indicators.column("level3")]
    last = rows[0][spec.reference_at()]
    assert last == "≥4.00(次)"
    ret = _review(templates["310002"], "310002", spec, tmp_path / "310002.xlsx",
                  [{"project": project, "indicator": level3, "field": "value", "value": "3"}])
    [report] = check_files([ret], roster=roster, department=DEPT, year=2024, previous=baseline)
    found = [f for f in report.findings if f.rule.startswith("Y-")]
    assert [(f.rule, f.where) for f in found] == [("Y-01", f"{spec.indicators.name}!F{FIRST_DATA_ROW + 1}")]
    assert last in found[0].message and "理由" in found[0].message
    # without the baseline: no such warning
    [plain] = check_files([ret], roster=roster, department=DEPT, year=2024)
    assert not [f for f in plain.findings if f.rule.startswith("Y-")]


def test_dropped_indicator_and_dropped_project_are_warned_once(tmp_path, year2023, roster):
    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    path = tmp_path / "310002.xlsx"
    _review(templates["310002"], "310002", spec, path)
    wb = openpyxl.load_workbook(path)
    rec, ind = wb[spec.projects.name], wb[spec.indicators.name]
    dropped = rec.cell(FIRST_DATA_ROW + 2, 1).value           # the second project: delete it and its rows
    for col in range(1, len(spec.projects.fields) + 1):
        rec.cell(FIRST_DATA_ROW + 2, col).value = None
    kept_project = ind.cell(FIRST_DATA_ROW + 1, 1).value
    gone = ind.cell(FIRST_DATA_ROW + 2, 4).value               # one indicator of the first project
    for row in range(FIRST_DATA_ROW + 1, FIRST_DATA_ROW + 40):
        if ind.cell(row, 1).value == dropped or row == FIRST_DATA_ROW + 2:
            for col in range(1, len(spec.indicators.fields) + 2):
                ind.cell(row, col).value = None
    wb.save(path)
    [report] = check_files([path], roster=roster, department=DEPT, year=2024, previous=baseline)
    found = sorted((f.rule, f.message) for f in report.findings if f.rule.startswith("Y-"))
    assert [r for r, _ in found] == ["Y-02", "Y-03"]
    assert gone in found[0][1] and kept_project in found[0][1]
    assert dropped in found[1][1]


def test_the_summary_compares_with_last_year_only_with_a_baseline(tmp_path, year2023, roster):
    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    ws, rows = _sheet_rows(templates["310002"], spec.indicators.name)
    lowered = [{"project": rows[0][0], "indicator": rows[0][3], "field": "value", "value": "3"}]
    _review(templates["310002"], "310002", spec, inbox / templates["310002"].name, lowered)
    _review(templates["310001"], "310001", spec, inbox / templates["310001"].name)
    result = merge_files([inbox], tmp_path / "汇总.xlsx", roster=roster, department=DEPT, year=2024,
                         previous=baseline)
    wb = openpyxl.load_workbook(result.path, data_only=True)
    detail = list(wb["绩效指标明细"].iter_rows(values_only=True))
    header = detail[0]
    words = [r[header.index("与上年比较")] for r in detail[1:]]
    assert words.count(LOWER) == 1 and set(words) <= {SAME, LOWER, HIGHER, NEW, "调整"}
    assert words.count(SAME) > 50
    row = next(r for r in detail[1:] if r[header.index("与上年比较")] == LOWER)
    assert row[header.index(spec.previous_label())] == "≥4.00(次)"
    summary = list(wb["汇总"].iter_rows(min_row=3, values_only=True))
    col = summary[0].index("比上年降低")
    totals = [r for r in summary if r[-2] == "合计"]
    assert totals[0][col] == 1
    # no baseline: the layout of before
    plain = merge_files([inbox], tmp_path / "汇总2.xlsx", roster=roster, department=DEPT, year=2024)
    wb = openpyxl.load_workbook(plain.path)
    assert "与上年比较" not in next(wb["绩效指标明细"].iter_rows(values_only=True))
    assert "比上年降低" not in list(wb["汇总"].iter_rows(min_row=3, max_row=3, values_only=True))[0]


def test_the_baseline_is_part_of_the_ledger_context(year2023):
    spec = load_form("sh-project")
    baseline = load_previous(year2023, spec)
    assert context_of(spec, None, DEPT, 2024)[0] != context_of(spec, None, DEPT, 2024, baseline)[0]


# --- another hierarchy: sh-project 2023 → cn-2021 ---------------------------------------------------

def test_sh_project_cost_indicators_move_to_the_national_cost_level(tmp_path, year2023, roster):
    spec, baseline, templates = _templates(tmp_path, year2023, roster, "cn-2021")
    assert baseline.moved and baseline.moved[0][:4] == ("产出指标", "成本指标", "成本指标", "经济成本指标")
    ws, rows = _sheet_rows(templates["310001"], spec.indicators.name)
    pairs = {(r[1], r[2]) for r in rows}
    assert ("产出指标", "成本指标") not in pairs and ("成本指标", "经济成本指标") in pairs
    assert all(spec.level2(l1, l2) is not None for l1, l2 in pairs)
    notes = " ".join(c.value for c in openpyxl.load_workbook(templates["310001"])["填报说明"]["A"] if c.value)
    assert "产出指标/成本指标 → 成本指标/经济成本指标" in notes
    ret = _review(templates["310001"], "310001", spec, tmp_path / "310001.xlsx")
    [report] = check_files([ret], roster=roster, department=DEPT, year=2024, form="cn-2021", previous=baseline)
    assert report.errors == 0
    assert not [f for f in report.findings if f.rule.startswith("Y-")]   # the moved ones match last year's


# --- a pasted plain table as last year's file --------------------------------------------------------

def _plain_table(path: Path, header, rows, title_rows=0):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "上年指标"
    for _ in range(title_rows):
        ws.append(["某部门2023年绩效目标"])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_a_pasted_plain_table_works_as_last_years_file(tmp_path, roster):
    path = _plain_table(tmp_path / "paste.xlsx",
                        ["实施单位", "项目名称", "一级指标", "二级指标", "三级指标", "指标值"],
                        [["上海市欧美同学会", "宣传工作经费", "产出指标", "数量指标", "发布信息量", "≥150(篇)"],
                         ["上海市欧美同学会", "宣传工作经费", "满意度指标", "服务对象满意度指标", "会员满意度", "≥90%"],
                         ["上海市欧美同学会", "宣传工作经费", "产出指标", "时效指标", "发布及时性", "及时"]], title_rows=1)
    spec = load_form("sh-project")
    baseline = load_previous(path, spec)
    assert any("项目性质" in a for a in baseline.assumed) and any("实施单位" in a for a in baseline.assumed)
    paths = write_templates(roster, DEPT, 2024, tmp_path / "模板", previous=baseline)
    ws, rows = _sheet_rows(paths[0], spec.indicators.name)
    ref = spec.reference_at()
    assert [(r[3], r[4], r[5], r[6], r[ref]) for r in rows] == [
        ("发布信息量", "≥", "150", "篇", "≥150(篇)"), ("会员满意度", "≥", "90", "%", "≥90(%)"),
        ("发布及时性", None, "及时", None, "及时")]
    _ws, projects = _sheet_rows(paths[1], spec.projects.name)
    assert projects == []


def test_split_value_columns_and_codes_as_numbers(tmp_path):
    path = _plain_table(tmp_path / "split.xlsx",
                        ["单位编码", "项目名称", "项目性质", "一级指标", "二级指标", "三级指标", "运算符", "指标值", "计量单位"],
                        [[310001, "甲", "经常性项目", "产出指标", "数量指标", "次数", "≥", 12, "次"],
                         [310001, "乙", "其他一次性项目", "产出指标", "数量指标", "次数", "≥", 3, "次"]])
    baseline = load_previous(path, load_form("sh-project"))
    assert list(baseline.units) == [("code", "310001")]
    [p] = baseline.units[("code", "310001")]
    assert p.name == "甲" and p.indicators[0].official == "≥12(次)"
    assert baseline.skipped_projects == 1 and baseline.assumed == ()


# --- hostile files: findings, never a traceback --------------------------------------------------------

def _hostile(tmp_path, kind) -> Path:
    path = tmp_path / f"{kind}.xlsx"
    if kind == "not-a-zip":
        path.write_text("单位编码,项目名称\n1,2\n", encoding="utf-8")
    elif kind == "truncated":
        good = _plain_table(tmp_path / "good.xlsx", ["单位编码", "项目名称", "一级指标", "二级指标", "三级指标", "指标值"],
                            [["1", "甲", "产出指标", "数量指标", "次数", "≥1(次)"]])
        path.write_bytes(good.read_bytes()[:700])
    elif kind == "missing-columns":
        _plain_table(path, ["单位编码", "项目名称", "三级指标"], [["1", "甲", "次数"]])
    elif kind == "no-table":
        _plain_table(path, ["名称", "金额"], [["甲", 1]])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "huge":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (400 * 1024 * 1024) + b"</a>")
    elif kind == "folder":
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["not-a-zip", "truncated", "missing-columns", "no-table", "empty", "huge", "folder"])
def test_a_hostile_file_is_one_chinese_sentence(tmp_path, kind):
    path = _hostile(tmp_path, kind)
    with pytest.raises(InputError) as exc:
        load_previous(path, load_form("sh-project"))
    [problem] = exc.value.problems
    assert path.name in problem and "上年" in problem
    assert "Traceback" not in problem and "Error" not in problem.replace("InputError", "")
    assert "模板" not in problem and "…" not in problem      # advice for last year's file, not for a unit's return


def test_the_command_line_says_it_in_one_line_and_exits_2(tmp_path, roster):
    bad = _hostile(tmp_path, "missing-columns")
    run = subprocess.run([*JIXIAO, "templates", str(samples_dir() / PLAN["roster"]), "--dept", DEPT, "--year", "2024",
                          "-o", str(tmp_path / "out"), "--previous", str(bad)], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert "缺少列" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_cli_templates_check_and_init_with_previous(tmp_path, year2023):
    roster_file = samples_dir() / PLAN["roster"]
    run = subprocess.run([*JIXIAO, "init", str(tmp_path / "c"), "--roster", str(roster_file), "--dept", DEPT,
                          "--year", "2024", "--previous", str(year2023)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    settings_text = (tmp_path / "c" / "jixiao.toml").read_text(encoding="utf-8")
    assert f'previous = "{year2023.name}"' in settings_text
    assert (tmp_path / "c" / year2023.name).read_bytes() == year2023.read_bytes()
    run = subprocess.run([*JIXIAO, "-C", str(tmp_path / "c"), "templates"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "经常性项目" in run.stdout and "从上年开始填" in run.stdout
    templates = sorted((tmp_path / "c" / "模板").glob("*.xlsx"))
    spec = load_form("sh-project")
    ws, rows = _sheet_rows(templates[1], spec.indicators.name)
    inbox = tmp_path / "c" / "收件箱"
    _review(templates[1], "310002", spec, inbox / templates[1].name,
            [{"project": rows[0][0], "indicator": rows[0][3], "field": "value", "value": "3"}])
    run = subprocess.run([*JIXIAO, "-C", str(tmp_path / "c"), "check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Y-01" in run.stdout and "≥4.00(次)" in run.stdout
    run = subprocess.run([*JIXIAO, "-C", str(tmp_path / "c"), "merge"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


# --- comparing two values ---------------------------------------------------------------------------------

numbers = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


def _q(op, n, unit="次"):
    return parse_value(f"{op}{n}({unit})")


@settings(max_examples=200, deadline=None)
@given(numbers, numbers, st.sampled_from(["≥", ">", "="]))
def test_a_floor_is_lowered_exactly_when_its_number_falls(before, now, op):
    word = compare(_q(op, before), _q(op, now))
    assert word == (SAME if now == before else LOWER if now < before else HIGHER)


@settings(max_examples=200, deadline=None)
@given(numbers, numbers, st.sampled_from(["≤", "<"]))
def test_a_ceiling_is_lowered_exactly_when_its_number_rises(before, now, op):
    word = compare(_q(op, before), _q(op, now))
    assert word == (SAME if now == before else LOWER if now > before else HIGHER)


def test_text_replacing_a_number_is_lowered_and_other_changes_cannot_be_ranked():
    assert compare(_q("≥", Decimal(90), "%"), parse_value("提升")) == LOWER
    assert compare(_q("≥", Decimal(90), "%"), _q("≥", Decimal(80), "人")) == "调整"
    assert compare(_q("≥", Decimal(90), "%"), _q("≤", Decimal(80), "%")) == "调整"
    assert compare(parse_value("及时"), parse_value("及时")) == SAME
    assert compare(parse_value("及时"), parse_value("按时")) == "调整"
    assert isinstance(parse_value("≥90%"), IndicatorValue)


def test_the_annotated_copy_keeps_last_years_column_and_a_reason_answers_the_warning(tmp_path, year2023, roster):
    from jixiao.annotate import check_and_annotate
    from jixiao.samples import answer_warnings

    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    ws, rows = _sheet_rows(templates["310002"], spec.indicators.name)
    (tmp_path / "in").mkdir()
    ret = _review(templates["310002"], "310002", spec, tmp_path / "in" / templates["310002"].name,
                  [{"project": rows[0][0], "indicator": rows[0][3], "field": "value", "value": "3"}])
    [report], [copy] = check_and_annotate([ret], tmp_path / "out", roster=roster, department=DEPT, year=2024,
                                          previous=baseline)
    ws, copied = _sheet_rows(copy, spec.indicators.name)
    ref = spec.reference_at()
    assert ws.cell(FIRST_DATA_ROW, ref + 1).value == spec.previous_label()
    assert [r[ref] for r in copied] == [r[ref] for r in rows]
    answer_warnings(copy, [{"rule": "Y-01", "text": "会议改为线上合并召开，次数减少。"}])
    [again] = check_files([copy], roster=roster, department=DEPT, year=2024, previous=baseline)
    [y01] = [f for f in again.findings if f.rule == "Y-01"]
    assert y01.explained and "线上" in y01.explanation


def test_the_reference_column_is_never_data_and_the_columns_after_it_are_read_where_they_are(tmp_path, year2023,
                                                                                         roster):
    from jixiao.reader import read_workbook

    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    path = tmp_path / "310002.xlsx"
    _review(templates["310002"], "310002", spec, path)
    wb = openpyxl.load_workbook(path)
    ws = wb[spec.indicators.name]
    at = spec.reference_at()
    assert ws.cell(FIRST_DATA_ROW, at + 1).value == spec.previous_label()
    assert ws.cell(FIRST_DATA_ROW, at + 2).value == spec.indicators.label("note")
    ws.cell(FIRST_DATA_ROW + 1, at + 2).value = "全年召开次数"
    ws.cell(FIRST_DATA_ROW + 1, at + 1).value = "≥1(次)"          # a unit overwrites last year's value: ignored
    wb.save(path)
    sub = read_workbook(path, spec)
    table = sub.indicators
    assert table.reference_col == at and not [f for f in sub.findings if f.rule in ("S-20", "S-22")]
    first = dict(zip(spec.indicators.ids, table.rows[0][1]))
    assert first["note"] == "全年召开次数" and "≥1(次)" not in first.values()
    [report] = check_files([path], roster=roster, department=DEPT, year=2024, previous=baseline)
    assert not [f for f in report.findings if f.rule.startswith("Y-")]


def test_last_years_file_of_this_year_is_pointed_out(tmp_path, year2023):
    run = subprocess.run([*JIXIAO, "templates", str(samples_dir() / PLAN["roster"]), "--dept", DEPT, "--year", "2023",
                          "-o", str(tmp_path / "out"), "--previous", str(year2023)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2023 年度" in run.stderr and "选错" in run.stderr


def test_a_sheet_past_the_row_limit_is_refused_not_cut(tmp_path, monkeypatch):
    import jixiao.previous as previous

    monkeypatch.setattr(previous, "MAX_ROWS", 5)
    rows = [["1", "甲", "产出指标", "数量指标", f"次数{i}", "≥1(次)"] for i in range(20)]
    path = _plain_table(tmp_path / "long.xlsx", ["单位编码", "项目名称", "一级指标", "二级指标", "三级指标", "指标值"], rows)
    with pytest.raises(InputError) as exc:
        load_previous(path, load_form("sh-project"))
    assert "超过 5 行" in exc.value.problems[0]


def test_the_national_cost_level_maps_back_into_the_shanghai_form(tmp_path):
    path = _plain_table(tmp_path / "cn.xlsx", ["单位编码", "项目名称", "一级指标", "二级指标", "三级指标", "指标值"],
                        [["310001", "甲", "成本指标", "经济成本指标", "人均成本", "≤800(元)"],
                         ["310001", "甲", "成本指标", "社会成本指标", "噪声影响", "无"]])
    baseline = load_previous(path, load_form("sh-project"))
    [p] = baseline.units[("code", "310001")]
    assert [(i.level1, i.level2) for i in p.indicators] == [("产出指标", "成本指标"), ("成本指标", "社会成本指标")]
    assert baseline.moved == (("成本指标", "经济成本指标", "产出指标", "成本指标", 1),)   # the other is left to H-01


def test_a_form_without_projects_says_that_last_year_is_for_project_forms(tmp_path):
    path = _plain_table(tmp_path / "p.xlsx", ["单位编码", "项目名称", "一级指标", "二级指标", "三级指标", "指标值"],
                        [["312001", "甲", "产出指标", "数量指标", "次数", "≥1(次)"]])
    with pytest.raises(InputError) as exc:
        load_previous(path, load_form("sh-overall"))
    assert "只用于项目表单" in exc.value.problems[0]


def test_in_worker_processes_the_baseline_goes_once_and_gives_the_same_findings(tmp_path, year2023, roster):
    from jixiao.annotate import check_and_annotate
    from jixiao.check import PARALLEL_FROM

    spec, baseline, templates = _templates(tmp_path, year2023, roster, "sh-project")
    ws, rows = _sheet_rows(templates["310002"], spec.indicators.name)
    ret = _review(templates["310002"], "310002", spec, tmp_path / "one.xlsx",
                  [{"project": rows[0][0], "indicator": rows[0][3], "field": "value", "value": "3"}])
    inbox = tmp_path / "many"
    inbox.mkdir()
    files = []
    for i in range(PARALLEL_FROM + 2):
        files.append(inbox / f"310002_{i:02d}.xlsx")
        shutil.copyfile(ret, files[-1])
    serial = check_files(files, roster=roster, department=DEPT, year=2024, previous=baseline, workers=1)
    parallel = check_files(files, roster=roster, department=DEPT, year=2024, previous=baseline, workers=2)
    assert [r.findings for r in serial] == [r.findings for r in parallel]
    assert all(sum(f.rule == "Y-01" for f in r.findings) == 1 for r in parallel)
    reports, copies = check_and_annotate(files, tmp_path / "out", roster=roster, department=DEPT, year=2024,
                                         previous=baseline, workers=2)
    ws, copied = _sheet_rows(copies[-1], spec.indicators.name)
    assert [r[spec.reference_at()] for r in copied] == [r[spec.reference_at()] for r in rows]
