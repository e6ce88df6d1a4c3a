"""Rules a form switches on (V-14, V-16, V-19) and the 成本指标 a national-style form expects (C-04),
on a variant of the Shanghai form built here: 成本指标 as a 一级 with its own 二级, as 财预〔2021〕101号
has it. Each rule fails at its cell, stays silent on the clean return, and is silent on the
Shanghai form, which does not switch it on."""

from __future__ import annotations

import tomllib

import pytest

from helpers import clean_project, findings_of, rules_at, unit_data
from jixiao.samples import fill_template
from jixiao.spec import parse_form, templates_dir
from jixiao.template import TemplateRequest, write_template
from jixiao.roster import Unit

I, P = "绩效指标", "项目信息"
COST = {"level1": "成本指标", "meaning": "cost", "presence": "warning", "missing_rule": "C-04",
        "example": "经济成本指标 人均培训成本 ≤800元",
        "level2": [{"name": "经济成本指标", "meaning": "cost"}, {"name": "社会成本指标", "meaning": "social_cost"},
                   {"name": "生态环境成本指标", "meaning": "ecological_cost"}]}


@pytest.fixture(scope="module")
def national_spec():
    data = tomllib.loads((templates_dir() / "sh-project.toml").read_text(encoding="utf-8"))
    data["form"]["id"] = "national-test"
    data["rules"] = {"enable": ["V-14", "V-16", "V-19"]}
    output = data["hierarchy"][0]
    output["level2"] = [l2 for l2 in output["level2"] if l2["name"] != "成本指标"]
    data["hierarchy"].insert(0, COST)
    data["level_maps"] = [{"from_form": "sh-project", "from": ["产出指标", "成本指标"], "to": ["成本指标", "经济成本指标"]}]
    return parse_form(data, source="national-test.toml", folder=templates_dir())


def cost_project(**overrides) -> dict:
    """The clean project of the other rule tests, with a cost indicator and a state (not a direction)
    as its social effect: what a national-style form accepts silently."""
    project = clean_project(**overrides)
    project["indicators"][4] = {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "培训长效机制", "指标值": "健全"}
    project["indicators"] = [*project["indicators"],
                             {"一级指标": "产出指标", "二级指标": "成本指标", "三级指标": "人均培训成本", "指标值": "≤800(元)"}]
    return project


def national_return(tmp_path, spec, project):
    template = tmp_path / "310001_t.xlsx"
    write_template(spec, TemplateRequest(Unit("310001", "上海市欧美同学会"), "上海市示例主管部门", 2023), template)
    return fill_template(template, unit_data(project), tmp_path / "310001_return.xlsx", spec)


def found(tmp_path, spec, project):
    """The findings of a return of the test form (checked in process: the form has no spec file)."""
    from jixiao.reader import read_workbook
    from jixiao.rules import Context, check_submissions

    sub = read_workbook(national_return(tmp_path, spec, project), spec)
    return check_submissions([sub], spec, Context(None, "上海市示例主管部门", 2023)).findings[0]


def test_the_clean_return_with_a_cost_indicator_passes(tmp_path, national_spec):
    findings = found(tmp_path, national_spec, cost_project())
    assert findings == [], [(f.rule, f.where, f.message) for f in findings]


def test_a_shanghai_cost_indicator_is_carried_into_the_national_cost_level(tmp_path, national_spec):
    path = national_return(tmp_path, national_spec, cost_project())
    import openpyxl

    rows = [r for r in openpyxl.load_workbook(path)[I].iter_rows(min_row=3, values_only=True) if r[0]]
    assert ("成本指标", "经济成本指标", "人均培训成本") in {r[1:4] for r in rows}


def test_c04_no_cost_indicator(tmp_path, national_spec):
    findings = found(tmp_path, national_spec, clean_project())
    (c04,) = [f for f in findings if f.rule == "C-04"]
    assert (c04.where, c04.severity) == (f"{P}!A3", "warning")
    assert c04.message == ("项目“培训项目”没有成本指标：请按成本控制要求设置成本指标，"
                           "写明成本控制数（如“经济成本指标 人均培训成本 ≤800元”）")


def test_v14_cost_as_a_percentage(tmp_path, national_spec):
    project = cost_project()
    project["indicators"][-1]["三级指标"], project["indicators"][-1]["指标值"] = "成本控制率", "≤100(%)"
    findings = found(tmp_path, national_spec, project)
    assert ("V-14", f"{I}!F9") in rules_at(findings)
    (v14,) = [f for f in findings if f.rule == "V-14"]
    assert "成本控制率" in v14.message and "≤100(%)" in v14.message and "成本控制数" in v14.message


def test_v16_direction_only_values_once_per_project(tmp_path, national_spec):
    project = cost_project()
    project["indicators"][4]["指标值"] = "有所提升"
    project["indicators"].append({"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "服务能力",
                                  "指标值": "进一步提高"})
    findings = found(tmp_path, national_spec, project)
    (v16,) = [f for f in findings if f.rule == "V-16"]
    assert v16.where == f"{I}!F7" and "2 条" in v16.message and "有所提升" in v16.message


def test_v19_a_deadline_written_as_a_bare_duration(tmp_path, national_spec):
    project = cost_project()
    project["indicators"][3]["指标值"] = "24(小时)"
    findings = found(tmp_path, national_spec, project)
    assert ("V-19", f"{I}!F6") in rules_at(findings)
    assert "V-02" not in {f.rule for f in findings}          # V-19 says it more precisely
    (v19,) = [f for f in findings if f.rule == "V-19"]
    assert "≤24(小时)" in v19.message


def test_v19_a_month_range(tmp_path, national_spec):
    project = cost_project()
    project["indicators"][3]["指标值"] = "1-12月"
    assert ("V-19", f"{I}!F6") in rules_at(found(tmp_path, national_spec, project))


def test_none_of_them_on_the_shanghai_form(tmp_path, templates, roster):
    from helpers import make_return

    project = clean_project()
    project["indicators"][3]["指标值"] = "24(小时)"
    project["indicators"][4]["指标值"] = "有所提升"
    project["indicators"].append({"一级指标": "产出指标", "二级指标": "成本指标", "三级指标": "成本控制率",
                                  "指标值": "≤100(%)"})
    path = make_return(tmp_path, templates["310001"], unit_data(project))
    rules = {f.rule for f in findings_of(path, roster=roster, department="上海市示例主管部门", year=2023)}
    assert not rules & {"V-14", "V-16", "V-19", "C-04"} and "V-02" in rules
