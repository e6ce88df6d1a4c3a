"""The other seed forms as specifications: the Tianjin 项目绩效目标表 (seed 002, 万元) and the
整体支出绩效目标申报表 (seed 003), each through templates → fill → check → merge."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from helpers import edit_cells, findings_of, rules_at
from jixiao.check import check_files
from jixiao.publish import merge_files
from jixiao.roster import load_roster
from jixiao.samples import apply_fixes, fill_template, load_seed, load_units_plan, samples_dir, translate
from jixiao.spec import load_form
from jixiao.template import write_templates
from jixiao.values import parse_value

ROUNDS = {r["form"]: r for r in load_units_plan()["round"]}


def _round(tmp_path_factory, form: str, fixed: bool):
    plan = ROUNDS[form]
    spec = load_form(form)
    roster = load_roster(samples_dir() / plan["roster"])
    folder = tmp_path_factory.mktemp(form)
    templates = write_templates(roster, plan["department"], plan["year"], folder / "t", form=form)
    unit = plan["units"][0]
    data = load_seed(unit["seed"])
    if fixed:
        data = apply_fixes(translate(data, spec), unit["code"], plan.get("fix", []))
    template = next(p for p in templates if p.name.startswith(unit["code"]))
    path = fill_template(template, data, folder / template.name, spec)
    return path, roster, plan


@pytest.fixture(scope="module")
def tianjin(tmp_path_factory):
    return _round(tmp_path_factory, "tj-project", fixed=False)


@pytest.fixture(scope="module")
def overall_raw(tmp_path_factory):
    return _round(tmp_path_factory, "sh-overall", fixed=False)


@pytest.fixture(scope="module")
def overall_fixed(tmp_path_factory):
    return _round(tmp_path_factory, "sh-overall", fixed=True)


def _check(path, roster, plan):
    return findings_of(path, roster=roster, department=plan["department"], year=plan["year"], form=plan["form"])


# --- Tianjin ----------------------------------------------------------------------------------------

def test_tianjin_template_has_its_own_columns(tianjin):
    path, _, _ = tianjin
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["填报说明", "项目信息", "绩效指标", "代码表", "_meta"]
    assert [c.value for c in wb["项目信息"][2]][:6] == ["项目名称", "预算数", "其中财政资金", "其他资金", "资金用途", "绩效目标"]
    assert "绩效指标描述" in [c.value for c in wb["绩效指标"][2]]
    assert path.name.endswith("2023年度项目绩效目标表.xlsx")


def test_tianjin_seed_passes_with_its_real_anomalies_as_warnings(tianjin):
    findings = _check(*tianjin)
    assert [f for f in findings if f.severity == "error"] == []
    found = rules_at(findings)
    assert ("H-05", "绩效指标!D43") in found                     # 生态效益指标 for a social effect
    assert ("V-17", "绩效指标!G5") in found                      # 12月 — months or December?
    assert sum(1 for f in findings if f.rule == "V-20") == 5    # 描述 copies 三级, once per project
    assert any(f.rule == "V-02" for f in findings)              # values with no operator


def test_tianjin_budget_identity_is_checked(tianjin, tmp_path):
    path, roster, plan = tianjin
    broken = edit_cells(Path(shutil.copy(path, tmp_path / path.name)), {("项目信息", "C3"): 250})
    found = rules_at(_check(broken, roster, plan))
    assert ("F-02", "项目信息!B3") in found


def test_tianjin_merge_reproduces_the_seed(tianjin, tmp_path):
    path, roster, plan = tianjin
    result = merge_files([path], tmp_path, roster=roster, department=plan["department"], year=plan["year"],
                         form="tj-project")
    c = result.consolidated
    assert c.totals()["annual_total"] == Decimal("439.30")
    assert sum(len(p.indicators) for p in c.projects) == 49
    official = {(p.name, i.name): i.official for p in c.projects for i in p.indicators}
    assert official[("2023年度办公用房租金", "办公用房租赁费用")] == "≤254.3万元"
    seed = load_seed(ROUNDS["tj-project"]["units"][0]["seed"])
    for project in seed["projects"]:
        for ind in project["indicators"]:
            want, have = parse_value(ind["指标值"]), parse_value(official[(project["项目名称"], ind["三级指标"])])
            assert (have.op or "=", have.number, have.unit, have.kind) == (want.op or "=", want.number, want.unit, want.kind)
    wb = openpyxl.load_workbook(result.path)
    titles = [r[0] for r in wb["申报表"].iter_rows(values_only=True) if r[0] and str(r[0]).endswith("项目绩效目标表")]
    assert titles[0] == "1.2023年度办公用房租金项目绩效目标表" and len(titles) == 5


# --- 整体支出 ------------------------------------------------------------------------------------------

def test_overall_template_has_the_task_sheet(overall_raw):
    path, _, _ = overall_raw
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["填报说明", "部门信息", "绩效指标", "年度重点任务", "代码表", "_meta"]
    assert "项目名称" not in [c.value for c in wb["绩效指标"][2]]


def test_overall_seed_errors_are_its_real_anomalies(overall_raw):
    findings = _check(*overall_raw)
    errors = {(f.rule, f.where) for f in findings if f.severity == "error"}
    # nine 投入管理 二级 rows with neither 三级 nor 指标值 (the first row holds the form's instruction).
    empty_values = {w for r, w in errors if r == "P-01" and w.startswith("绩效指标!E")}
    assert len(empty_values) == 9
    assert ("H-08", "绩效指标!C3") in rules_at(findings)
    # 侨界人士满意度 = 100, with no unit.
    assert ("V-04", "绩效指标!F20") in errors
    assert {r for r, _ in errors} <= {"P-01", "V-04"}


def test_overall_fixed_passes_and_merges(overall_fixed, tmp_path):
    path, roster, plan = overall_fixed
    assert [f for f in _check(path, roster, plan) if f.severity == "error"] == []
    result = merge_files([path], tmp_path, roster=roster, department=plan["department"], year=plan["year"],
                         form="sh-overall")
    (dept,) = result.consolidated.projects
    assert result.path.name == "上海市闵行区示例主管部门2020年度整体支出绩效目标汇总表.xlsx"
    assert dept.values["annual_total"] == Decimal("126.01")
    assert dept.values["basic"] + dept.values["project_spending"] == Decimal("126.01")
    tasks = dept.children["tasks"]
    assert len(tasks) == 8 and tasks[0]["content"] == "区侨联换届，党组筹备"
    assert len(dept.indicators) == 13
    wb = openpyxl.load_workbook(result.path)
    cells = [v for row in wb["申报表"].iter_rows(values_only=True) for v in row if v]
    assert "《上海市闵行区归国华侨联合会整体支出绩效目标申报表》" in cells
    assert "区侨联换届，党组筹备" in cells


def test_overall_budget_structure_identity(overall_fixed, tmp_path):
    path, roster, plan = overall_fixed
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    edit_cells(copy, {("部门信息", "H3"): 70})                 # 基本支出 76.67 → 70
    assert ("F-11", "部门信息!E3") in rules_at(_check(copy, roster, plan))


def test_overall_allows_one_record_and_whole_counts(overall_fixed, tmp_path):
    path, roster, plan = overall_fixed
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    edit_cells(copy, {("部门信息", "A4"): "另一个部门", ("部门信息", "B3"): "一个"})
    found = rules_at(_check(copy, roster, plan))
    assert ("P-13", "部门信息!A4") in found
    assert ("P-14", "部门信息!B3") in found


def test_checking_with_the_wrong_form_says_so(tianjin):
    path, roster, plan = tianjin
    findings = findings_of(path, form="sh-project")
    assert "S-06" in {f.rule for f in findings}


def test_overall_accepts_both_names_the_form_uses(overall_fixed, tmp_path):
    """The 整体支出 table says 效果指标 and its 说明6 says 效益指标: either is right, without a warning."""
    path, roster, plan = overall_fixed
    copy = Path(shutil.copy(path, tmp_path / path.name))
    wb = openpyxl.load_workbook(copy)
    rows = [r for r in wb["绩效指标"].iter_rows(min_row=3) if r[0].value == "效果指标"]
    for row in rows:
        row[0].value = "效益指标"
    wb.save(copy)
    findings = _check(copy, roster, plan)
    assert rows and not [f for f in findings if f.rule in ("H-01", "H-07", "C-01")]


# --- every stage from the spec: budgets, the 汇总表's words, every table annotated ------------------

def test_tianjin_budget_prefills_and_locks_its_own_amounts(tmp_path):
    from jixiao.roster import load_budget

    plan = ROUNDS["tj-project"]
    roster = load_roster(samples_dir() / plan["roster"])
    budget_file = tmp_path / "预算.csv"
    budget_file.write_text("单位编码,项目名称,预算数,其中财政资金,其他资金\n"
                           "564301,2023年度办公用房租金,254.30,254.30,\n"
                           "564301,机关运行保障经费,40.00,38.00,2.00\n", encoding="utf-8")
    budget = load_budget(budget_file, roster, "tj-project")
    assert [r.values for r in budget["564301"]] == [
        {"name": "2023年度办公用房租金", "annual_total": Decimal("254.30"), "fiscal": Decimal("254.30")},
        {"name": "机关运行保障经费", "annual_total": Decimal("40.00"), "fiscal": Decimal("38.00"),
         "other": Decimal("2.00")}]
    (template, *_) = write_templates(roster, plan["department"], plan["year"], tmp_path / "t", budget=budget,
                                     form="tj-project")
    ws = openpyxl.load_workbook(template)["项目信息"]
    assert [ws.cell(3, c).value for c in range(1, 5)] == ["2023年度办公用房租金", 254.3, 254.3, None]
    assert [ws.cell(4, c).value for c in range(1, 5)] == ["机关运行保障经费", 40, 38, 2]
    assert all(ws.cell(3, c).protection.locked for c in (1, 2, 3))
    assert ws.cell(3, 2).fill.fgColor.rgb == "FFEDEDED"
    # A changed prefilled 预算数 is found like any prefill change.
    edit_cells(template, {("项目信息", "B4"): 45})
    found = rules_at(findings_of(template, form="tj-project"))
    assert ("S-12", "项目信息!B4") in found


def test_tianjin_budget_must_keep_its_identity(tmp_path):
    from jixiao.errors import InputError
    from jixiao.roster import load_budget

    roster = load_roster(samples_dir() / ROUNDS["tj-project"]["roster"])
    budget_file = tmp_path / "预算.csv"
    budget_file.write_text("单位编码,项目名称,预算数,其中财政资金,其他资金\n564301,机关运行保障经费,40.00,30.00,2.00\n",
                           encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_budget(budget_file, roster, "tj-project")
    assert info.value.problems == ["预算.csv 第 2 行：预算数 40.00 ≠ 其中财政资金＋其他资金 32.00"]


def test_tianjin_summary_names_its_amount_and_unit_on_every_sheet(tianjin, tmp_path):
    path, roster, plan = tianjin
    result = merge_files([path], tmp_path, roster=roster, department=plan["department"], year=plan["year"],
                         form="tj-project")
    wb = openpyxl.load_workbook(result.path)
    text = {ws.title: [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
            for ws in wb.worksheets}
    assert "预算数" in text["汇总"] and any("金额单位：万元" in v for v in text["汇总"])
    assert "年度资金申请总额" not in " ".join(v for values in text.values() for v in values)
    assert "预算数（万元）" in text["报送情况"]
    assert "预算数" in text["申报表"] and "单位：万元" in text["申报表"]
    assert any("预算数 439.30 万元" in line for line in result.reconciliation)


def test_overall_annotated_copy_keeps_every_table(overall_raw, tmp_path):
    from jixiao.annotate import annotate

    path, roster, plan = overall_raw
    (report,) = check_files([path], roster=roster, department=plan["department"], year=plan["year"],
                            form="sh-overall", keep_cells=True)
    copy = annotate(report, load_form("sh-overall"), tmp_path / "copies")
    wb = openpyxl.load_workbook(copy)
    tasks = [r for r in wb["年度重点任务"].iter_rows(min_row=3, values_only=True) if any(r)]
    assert len(tasks) == 8 and tasks[0][:2] == ("任务1", "区侨联换届，党组筹备")
    indicators = [r for r in wb["绩效指标"].iter_rows(min_row=3, values_only=True) if any(r)]
    assert len(indicators) == 22
    # The copy is a return of its own: checked again, it finds the same.
    (again,) = check_files([copy], roster=roster, department=plan["department"], year=plan["year"],
                           form="sh-overall", keep_cells=True)
    assert sorted((f.rule, f.where) for f in again.findings if f.rule != "S-15") == \
        sorted((f.rule, f.where) for f in report.findings if f.rule != "S-15")


def test_overall_missing_input_indicators_are_named_as_the_form_names_them(overall_fixed, tmp_path):
    path, roster, plan = overall_fixed
    findings = _check(path, roster, plan)
    (c02,) = [f for f in findings if f.rule == "C-02"]
    assert c02.message.startswith("部门（单位）“上海市闵行区归国华侨联合会”没有投入管理指标：建议增加一条投入管理指标")
    assert "满意度" not in c02.message
