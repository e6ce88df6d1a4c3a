"""`diff`: what changed between two returns of one unit, keyed by content, never by row."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import clean_project, make_return, unit_data
from jixiao.diff import ADDED, CHANGED, REMOVED, diff_files

P, I = "项目信息", "绩效指标"


def changes(tmp_path, template, before: dict, after: dict):
    a = make_return(tmp_path, template, before, name="old.xlsx")
    b = make_return(tmp_path, template, after, name="new.xlsx")
    return diff_files(a, b)


def triples(found):
    return {(c.table, c.key, c.field, c.change, json.dumps(c.old, ensure_ascii=False),
             json.dumps(c.new, ensure_ascii=False)) for c in found}


def test_the_seed_and_its_correction(seed_returns, fixed_returns):
    """The demo's 市科协 unit corrected one amount: one change, at its field, with both values."""
    (change,) = diff_files(seed_returns["310002"], fixed_returns["310002"])
    assert (change.table, change.key, change.field, change.change, change.old, change.new) == (
        P, "市科协机构及常委会会议费", "当年财政拨款", CHANGED, "179,550.00", "249,550.00")


def test_a_corrected_level_is_a_change_of_that_level(seed_returns, fixed_returns):
    found = diff_files(seed_returns["310001"], fixed_returns["310001"])
    assert (I, "留学人员之家运行保障费 / 效益指标 / 仁云双益指标 / 统战政策方针传达度", "二级指标", CHANGED,
            "仁云双益指标", "社会效益指标") in {(c.table, c.key, c.field, c.change, c.old, c.new) for c in found}
    assert not [c for c in found if c.change != CHANGED]
    assert len(found) == 3


def test_the_same_file_has_no_changes(seed_returns):
    assert diff_files(seed_returns["310001"], seed_returns["310001"]) == []


def test_an_inserted_row_is_one_addition_not_a_shifted_table(tmp_path, templates):
    before = unit_data(clean_project())
    after = copy.deepcopy(before)
    after["projects"][0]["indicators"].insert(0, {"一级指标": "产出指标", "二级指标": "质量指标",
                                                  "三级指标": "培训资料合格率", "指标值": "≥90(%)"})
    (change,) = changes(tmp_path, templates["310001"], before, after)
    assert (change.table, change.change, change.key) == (I, ADDED, "培训项目 / 产出指标 / 质量指标 / 培训资料合格率")
    assert change.new["指标值"] == "90" and change.old is None


def test_rows_in_another_order_are_no_change(tmp_path, templates):
    before = unit_data(clean_project(), clean_project("会议项目"))
    after = copy.deepcopy(before)
    after["projects"].reverse()
    for p in after["projects"]:
        p["indicators"].reverse()
    assert changes(tmp_path, templates["310001"], before, after) == []


def test_a_renamed_project_is_one_rename(tmp_path, templates):
    before = unit_data(clean_project("培训项目"), clean_project("会议项目", 年度总体目标="全年召开会议4次，参会人员200人次。"))
    after = copy.deepcopy(before)
    after["projects"][0]["项目名称"] = "业务培训项目"
    (change,) = changes(tmp_path, templates["310001"], before, after)
    assert (change.table, change.key, change.field, change.change, change.old, change.new) == (
        P, "培训项目", "项目名称", CHANGED, "培训项目", "业务培训项目")


def test_two_projects_with_the_same_content_renamed_are_not_guessed(tmp_path, templates):
    before = unit_data(clean_project("甲项目"), clean_project("乙项目"))
    after = unit_data(clean_project("丙项目"), clean_project("丁项目"))
    found = changes(tmp_path, templates["310001"], before, after)
    assert sorted(c.change for c in found if c.table == P) == [ADDED, ADDED, REMOVED, REMOVED]


def test_repeated_indicators_are_told_apart_by_their_order(tmp_path, templates):
    project = clean_project()
    project["indicators"].append(dict(project["indicators"][0]))          # the same indicator twice
    before = unit_data(project)
    after = copy.deepcopy(before)
    after["projects"][0]["indicators"][-1]["指标值"] = "≥15(次)"
    (change,) = changes(tmp_path, templates["310001"], before, after)
    assert change.key == "培训项目 / 产出指标 / 数量指标 / 举办培训次数（第 2 条）" and change.field == "指标值"


def test_json_shape(tmp_path, templates):
    before = unit_data(clean_project())
    after = copy.deepcopy(before)
    after["projects"][0]["年度总体目标"] = "全年举办业务培训12次，培训基层人员800人次，提升业务能力。"
    (change,) = changes(tmp_path, templates["310001"], before, after)
    assert set(change.to_dict()) == {"table", "key", "field", "change", "old", "new"}


# --- random edits to a filled template: diff reports exactly those edits ---------------------------

PROJECT_FIELDS = {"年度总体目标": ["全年完成培训任务，提升基层业务能力。", "全年培训600人次，合格率95%以上。"],
                  "项目性质": ["经常性专项业务费", "其他经常性项目"]}
INDICATOR_VALUES = ["≥12(次)", "≥20(次)", "=100(%)", "及时", "有效提升", "≤5(天)"]


@st.composite
def edit_lists(draw):
    n = draw(st.integers(min_value=1, max_value=5))
    return [draw(st.one_of(
        st.tuples(st.just("project_field"), st.integers(0, 1), st.sampled_from(sorted(PROJECT_FIELDS)),
                  st.integers(0, 1)),
        st.tuples(st.just("value"), st.integers(0, 1), st.integers(0, 5), st.sampled_from(INDICATOR_VALUES)),
        st.tuples(st.just("insert"), st.integers(0, 1), st.integers(0, 6), st.integers(0, 9)),
        st.tuples(st.just("delete"), st.integers(0, 1), st.integers(0, 5), st.just(0)),
        st.tuples(st.just("shuffle"), st.integers(0, 1), st.randoms(use_true_random=False), st.just(0)),
    )) for _ in range(n)]


def apply(data: dict, edits) -> None:
    """The edits, made to the unit data as a person would make them in the workbook."""
    for kind, p, a, b in edits:
        project = data["projects"][p]
        inds = project["indicators"]
        if kind == "project_field":
            project[a] = PROJECT_FIELDS[a][b]
        elif kind == "value" and a < len(inds):
            inds[a]["指标值"] = b
        elif kind == "insert" and not any(i["三级指标"] == f"新增指标{b}" for i in inds):
            inds.insert(min(a, len(inds)), {"一级指标": "产出指标", "二级指标": "质量指标",
                                            "三级指标": f"新增指标{b}", "指标值": "≥1(个)"})
        elif kind == "delete" and a < len(inds) and len(inds) > 1:
            inds.pop(a)
        elif kind == "shuffle":
            a.shuffle(inds)


def expected_changes(before: dict, after: dict) -> tuple[set, set]:
    """An oracle of its own: (changes that must be reported exactly, indicators whose value changed).
    In this data a project keeps its name and an indicator's 三级 is unique in its project."""
    exact, values = set(), set()
    for old, new in zip(before["projects"], after["projects"]):
        name = old["项目名称"]
        for label in PROJECT_FIELDS:
            if old[label] != new[label]:
                exact.add((P, name, label, CHANGED))
        olds = {i["三级指标"]: i for i in old["indicators"]}
        news = {i["三级指标"]: i for i in new["indicators"]}
        for name3 in olds.keys() | news.keys():
            ind = news.get(name3) or olds[name3]
            key = f"{name} / {ind['一级指标']} / {ind['二级指标']} / {name3}"
            if name3 not in news:
                exact.add((I, key, "", REMOVED))
            elif name3 not in olds:
                exact.add((I, key, "", ADDED))
            elif olds[name3]["指标值"] != news[name3]["指标值"]:
                values.add((I, key))
    return exact, values


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=edit_lists())
def test_random_edits_are_reported_exactly(tmp_path_factory, templates, edits):
    tmp = tmp_path_factory.mktemp("diff")
    before = unit_data(clean_project("培训项目"), clean_project("会议项目"))
    after = copy.deepcopy(before)
    apply(after, edits)
    exact, values = expected_changes(before, after)
    found = {(c.table, c.key, c.field, c.change) for c in changes(tmp, templates["310001"], before, after)}
    # A new 指标值 shows as changes of 运算符, 指标值 and/or 计量单位: the template holds it in three cells.
    split = {c for c in found if c[2] in ("运算符", "指标值", "计量单位") and c[3] == CHANGED}
    assert found - split == exact, edits
    assert {c[:2] for c in split} == values, edits


def test_cli_diff_prints_and_writes_json(seed_returns, fixed_returns):
    from typer.testing import CliRunner

    from jixiao.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["diff", str(seed_returns["310002"]), str(fixed_returns["310002"])])
    assert result.exit_code == 0, result.output
    assert "当年财政拨款 “179,550.00” → “249,550.00”" in result.output and "共 1 处变化" in result.output
    result = runner.invoke(app, ["diff", str(seed_returns["310002"]), str(fixed_returns["310002"]), "--json"])
    assert json.loads(result.output) == [{"table": "项目信息", "key": "市科协机构及常委会会议费", "field": "当年财政拨款",
                                          "change": "changed", "old": "179,550.00", "new": "249,550.00"}]
    result = runner.invoke(app, ["diff", str(seed_returns["310002"]), "没有这个文件.xlsx"])
    assert result.exit_code == 2 and "文件不存在" in result.output
