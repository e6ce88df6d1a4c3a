"""An untouched template is not a return (S-23): check, status and merge never call it 通过."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from helpers import edit_cells, findings_of, make_return, put, unit_data
from jixiao.check import FAILED, check_files
from jixiao.cli import app
from jixiao.errors import MergeRefused
from jixiao.merge import STATUS_BAD as MERGE_BAD, STATUS_OK as MERGE_OK
from jixiao.publish import merge_files
from jixiao.roster import load_budget
from jixiao.spec import available_forms
from jixiao.status import STATUS_BAD, STATUS_OK, collection_status
from jixiao.template import write_templates

DEPT, YEAR = "上海市示例主管部门", 2023
CTX = dict(department=DEPT, year=YEAR)


@pytest.fixture(scope="module")
def budget_template(tmp_path_factory, roster):
    folder = tmp_path_factory.mktemp("budget")
    csv = folder / "budget.csv"
    csv.write_text("单位编码,项目名称,项目性质,项目类别,年度资金申请总额,当年财政拨款,上年结转资金,年度其他资金\n"
                   "310001,培训项目,经常性专项业务费,特定目标类,120000,100000,0,20000\n", encoding="utf-8")
    paths = write_templates(roster, DEPT, YEAR, folder / "t", budget=load_budget(csv, roster))
    return next(p for p in paths if p.name.startswith("310001"))


@pytest.mark.parametrize("form", available_forms())
def test_an_untouched_template_of_every_form_is_an_error(form, roster, tmp_path):
    (path, *_) = write_templates(roster, DEPT, YEAR, tmp_path, form=form)
    (report,) = check_files([path], roster=roster, form=form, **CTX)
    assert report.verdict == FAILED
    assert [(f.rule, f.severity) for f in report.findings] == [("S-23", "error")]
    assert report.findings[0].message.startswith("模板尚未填写：")
    assert report.findings[0].message.endswith("请填写后再报送")


def test_only_the_prefilled_rows_as_sent_is_untouched(budget_template, roster):
    findings = findings_of(budget_template, roster=roster, **CTX)
    # One finding, not one per empty cell of the prefilled row (dates, goal, no indicators …).
    assert [f.rule for f in findings] == ["S-23"]
    assert "预算预填的 1 个项目外没有填写任何内容" in findings[0].message


def test_anything_typed_makes_it_a_return(budget_template, roster, copy_of, tmp_path):
    path = edit_cells(copy_of(budget_template), {("项目信息", "D3"): "2023-01-01"})
    rules = {f.rule for f in findings_of(path, roster=roster, **CTX)}
    assert "S-23" not in rules and "C-07" in rules          # a return, still with its own errors
    (tmp_path / "filled").mkdir()
    filled = make_return(tmp_path / "filled", budget_template, unit_data())
    assert findings_of(filled, roster=roster, **CTX) == []


def test_check_exits_1_on_an_untouched_template(templates, tmp_path):
    result = CliRunner().invoke(app, ["check", str(templates["310003"])])
    assert result.exit_code == 1, result.output
    assert "S-23" in result.output and "模板尚未填写" in result.output
    assert "通过 0，有错误 1" in result.output


def test_status_never_shows_an_untouched_template_as_passed(templates, fixed_returns, roster, tmp_path):
    inbox = tmp_path / "收件箱"
    put(fixed_returns["310001"], inbox)
    put(templates["310003"], inbox)                         # sent straight back, untouched
    report = collection_status(inbox, roster, **CTX)
    by_code = {r.unit.code: r for r in report.rows}
    assert by_code["310001"].status == STATUS_OK
    assert by_code["310003"].status == STATUS_BAD
    assert "模板尚未填写" in by_code["310003"].action


def test_merge_does_not_count_an_untouched_template_as_reported(templates, fixed_returns, roster, tmp_path):
    inbox = tmp_path / "收件箱"
    put(fixed_returns["310001"], inbox)
    put(templates["310003"], inbox)
    with pytest.raises(MergeRefused) as refused:
        merge_files([inbox], tmp_path / "汇总.xlsx", roster=roster, **CTX)
    assert [f.rule for r in refused.value.reports for f in r.findings if f.severity == "error"] == ["S-23"]
    result = merge_files([inbox], tmp_path / "汇总.xlsx", roster=roster, skip_invalid=True, **CTX)
    status = {u.unit.code: u for u in result.consolidated.units}
    assert status["310001"].status == MERGE_OK
    assert status["310003"].status == MERGE_BAD and status["310003"].projects == 0
