"""The form spec: templates/sh-project.toml loads as written, and every malformed spec is refused
with one clear SpecError (never an AttributeError or KeyError from deep inside)."""

from __future__ import annotations

import copy
import tomllib

import pytest

from jixiao.spec import (FIELD_TYPES, FormSpec, SpecError, available_forms, fingerprint, load_form,
                         normalize_label, parse_form, templates_dir)


@pytest.fixture(scope="module")
def raw() -> dict:
    """templates/sh-project.toml as TOML, independent of the loader."""
    return tomllib.loads((templates_dir() / "sh-project.toml").read_text(encoding="utf-8"))


def mutated(raw: dict, change) -> dict:
    data = copy.deepcopy(raw)
    change(data)
    return data


# --- the real spec ------------------------------------------------------------------------

def test_default_form_loads_and_is_listed(spec):
    assert isinstance(spec, FormSpec)
    assert "sh-project" in available_forms()
    assert (spec.id, spec.version, spec.title) == ("sh-project", "2023.1", "财政项目支出绩效目标申报表")
    assert (spec.money_unit, spec.value_style) == ("元", "sh")
    assert spec.min_indicators_per_project == 3 and spec.satisfaction_floor == 80
    assert spec.source == "sh-project.toml"


def test_sheets_are_as_the_contract_says(spec):
    assert (spec.projects.key, spec.projects.name, spec.projects.rows) == ("projects", "项目信息", 200)
    assert (spec.indicators.key, spec.indicators.name, spec.indicators.rows) == ("indicators", "绩效指标", 3000)
    # The exact header labels of DESIGN.md "The template contract".
    assert spec.projects.labels == (
        "项目名称", "项目性质", "项目类别", "计划开始日期", "计划完成日期", "项目资金总额", "项目财政资金",
        "项目其他资金", "年度资金申请总额", "当年财政拨款", "上年结转资金", "年度其他资金", "项目总目标", "年度总体目标")
    assert spec.indicators.labels == ("项目名称", "一级指标", "二级指标", "三级指标", "运算符", "指标值", "计量单位", "指标说明")


@pytest.mark.parametrize("key", ["projects", "indicators"])
def test_every_field_is_as_the_toml_says(spec, raw, key):
    sheet = getattr(spec, key)
    fields = raw["sheets"][key]["fields"]
    assert len(sheet.fields) == len(fields)
    for f, r in zip(sheet.fields, fields):
        assert f.label == r["label"] and f.id == r["id"]
        assert f.type == r["type"] and f.type in FIELD_TYPES
        assert f.required == r.get("required", False)
        assert f.max_length == r.get("max_length")
        assert f.width == r.get("width", 12)
        assert f.prefill == r.get("prefill", False)
        assert f.code_list == r.get("code_list")
        assert f.prompt == r.get("prompt", "")
    assert [(g.label, g.first, g.last) for g in sheet.groups] == [
        (g["label"], g["first"], g["last"]) for g in raw["sheets"][key]["groups"]]
    assert sheet.column(sheet.fields[-1].id) == len(fields) - 1
    assert sheet.by_label(" " + sheet.fields[-1].label) == sheet.fields[-1]
    with pytest.raises(KeyError):
        sheet.by_label("没有这一列")
    with pytest.raises(KeyError):
        sheet.field("no_such_field")


def test_prefilled_fields_are_the_budget_columns(spec):
    assert [f.label for f in spec.projects.fields if f.prefill] == [
        "项目名称", "项目性质", "项目类别", "年度资金申请总额", "当年财政拨款", "上年结转资金", "年度其他资金"]
    assert not any(f.prefill for f in spec.indicators.fields)


def test_code_lists_are_as_the_toml_says(spec, raw):
    assert spec.code_lists == {k: tuple(v) for k, v in raw["code_lists"].items()}
    assert set(spec.code_lists) == {"项目性质", "项目类别", "计量单位"}
    assert "特定目标类" in spec.code_lists["项目类别"] and "次" in spec.code_lists["计量单位"]


def test_hierarchy_is_as_the_toml_says(spec, raw):
    assert spec.level1_names() == ("产出指标", "效益指标", "满意度指标")
    for l1, r in zip(spec.hierarchy, raw["hierarchy"]):
        assert l1.name == r["level1"] and l1.presence == r["presence"]
        assert [(l2.name, l2.expected, l2.aliases) for l2 in l1.level2] == [
            (x["name"], x.get("expected", False), tuple(x.get("aliases", ()))) for x in r["level2"]]
        assert spec.level2_names(l1.name) == tuple(x["name"] for x in r["level2"])
    assert spec.level2_names("没有") == ()
    assert [l1.presence for l1 in spec.hierarchy] == ["error", "error", "warning"]


def test_identities_are_as_the_toml_says(spec):
    assert [(i.rule, i.total, i.parts, i.when) for i in spec.identities] == [
        ("F-02", "annual_total", ("fiscal", "carryover", "other"), "always"),
        ("F-03", "project_total", ("project_fiscal", "project_other"), "total_filled"),
    ]
    label = spec.projects.label
    assert [label(i) for i in spec.identities[0].parts] == ["当年财政拨款", "上年结转资金", "年度其他资金"]


def test_fingerprint_basis_freezes_labels_lists_and_hierarchy(spec):
    basis = spec.fingerprint_basis()
    assert basis["form"] == ["sh-project", "2023.1"]
    assert basis["projects"] == list(spec.projects.labels)
    assert basis["hierarchy"][0] == ["产出指标", ["数量指标", "质量指标", "时效指标", "成本指标"]]
    assert fingerprint(basis) == fingerprint(spec.fingerprint_basis())


def test_fingerprint_is_stable_and_short():
    assert fingerprint({"a": 1, "b": "中文"}) == fingerprint({"b": "中文", "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert len(fingerprint([])) == 24


# --- labels and the hierarchy lookups -----------------------------------------------------

@pytest.mark.parametrize("written, expected", [
    ("项目名称", "项目名称"),
    (" 项目 名称 ", "项目名称"),
    ("项目\u3000名称", "项目名称"),          # ideographic space
    ("项目名称\n", "项目名称"),
    ("项目名称：", "项目名称"),              # full-width colon → ":" by NFKC, then stripped
    ("项目名称:", "项目名称"),
    ("ＡＢＣ１２３", "ABC123"),              # full-width letters and digits
    ("服务对象满意度 指标", "服务对象满意度指标"),
    (None, ""),
    (2023, "2023"),
])
def test_normalize_label(written, expected):
    assert normalize_label(written) == expected


def test_resolve_level1(spec):
    assert spec.resolve_level1("产出指标") == ("产出指标", False)
    assert spec.resolve_level1(" 效益 指标 ") == ("效益指标", False)
    assert spec.resolve_level1("产出") == (None, False)
    assert spec.resolve_level1("") == (None, False)


def test_resolve_level2_and_aliases(spec):
    assert spec.resolve_level2("产出指标", "数量指标") == ("数量指标", False)
    assert spec.resolve_level2("产出指标", "数量 指标：") == ("数量指标", False)
    assert spec.resolve_level2("产出指标", "进度指标") == ("时效指标", True)
    assert spec.resolve_level2("产出指标", "产出进度指标") == ("时效指标", True)
    assert spec.resolve_level2("效益指标", "环境效益指标") == ("生态效益指标", True)
    assert spec.resolve_level2("满意度指标", "社会公众或服务对象满意度指标") == ("服务对象满意度指标", True)
    # A 二级 of another 一级 is not valid under this one (the seeds' bad copying).
    assert spec.resolve_level2("产出指标", "社会效益指标") == (None, False)
    assert spec.resolve_level2("没有", "数量指标") == (None, False)
    assert spec.resolve_level2("效益指标", "仁云双益指标") == (None, False)


def test_level1_of_level2(spec):
    assert spec.level1_of_level2("数量指标") == "产出指标"
    assert spec.level1_of_level2("社会效益指标") == "效益指标"
    assert spec.level1_of_level2("没有这个") is None


def test_level1_aliases(raw):
    data = mutated(raw, lambda d: d["hierarchy"][0].update(aliases=["产出类指标"]))
    spec = parse_form(data)
    assert spec.resolve_level1("产出类指标") == ("产出指标", True)
    assert spec.resolve_level1("产出指标") == ("产出指标", False)


# --- malformed specs ----------------------------------------------------------------------

def _field(data, key, label):
    return next(f for f in data["sheets"][key]["fields"] if f["label"] == label)


def _layout(data, change):
    """Give the spec an inline copy of its layout, changed."""
    import tomllib as toml

    layout = toml.loads((templates_dir() / "layouts" / "sh-project.toml").read_text(encoding="utf-8"))
    change(layout)
    data["form"]["layout"] = layout


MALFORMED = [
    # (id, change, words the message must contain)
    ("no-form", lambda d: d.pop("form"), ["缺少", "form"]),
    ("no-form-id", lambda d: d["form"].pop("id"), ["form", "缺少", "id"]),
    ("empty-form-id", lambda d: d["form"].update(id="  "), ["form.id", "非空"]),
    ("no-form-version", lambda d: d["form"].pop("version"), ["缺少", "version"]),
    ("no-form-title", lambda d: d["form"].pop("title"), ["缺少", "title"]),
    ("form-not-a-table", lambda d: d.update(form="sh"), ["form", "必须是表"]),
    ("no-sheets", lambda d: d.pop("sheets"), ["缺少", "sheets"]),
    ("no-projects-sheet", lambda d: d["sheets"].pop("projects"), ["缺少", "projects"]),
    ("sheet-not-a-table", lambda d: d["sheets"].update(indicators="绩效指标"), ["sheets.indicators", "必须是表"]),
    ("no-sheet-name", lambda d: d["sheets"]["projects"].pop("name"), ["sheets.projects.name", "非空"]),
    ("no-fields", lambda d: d["sheets"]["projects"].update(fields=[]), ["sheets.projects", "没有字段"]),
    ("field-not-a-table", lambda d: d["sheets"]["projects"]["fields"].append("x"), ["fields[14]", "必须是表"]),
    ("unknown-field-type", lambda d: _field(d, "projects", "项目名称").update(type="string"),
     ["sheets.projects.fields[0]", "type", "string"]),
    ("missing-field-type", lambda d: _field(d, "indicators", "指标说明").pop("type"), ["fields[7]", "type"]),
    ("code-without-list", lambda d: _field(d, "projects", "项目性质").pop("code_list"), ["fields[1]", "code_list"]),
    ("missing-code-list", lambda d: _field(d, "projects", "项目类别").update(code_list="项目分类"),
     ["fields[2]", "不存在的代码表", "项目分类"]),
    ("unit-list-missing", lambda d: d["code_lists"].pop("计量单位"), ["不存在的代码表", "计量单位"]),
    ("unknown-field-key", lambda d: _field(d, "projects", "项目名称").update(requried=True), ["未知的键", "requried"]),
    ("duplicate-label", lambda d: _field(d, "projects", "项目总目标").update(label="年度总体目标"),
     ["sheets.projects", "重复的列名", "年度总体目标"]),
    ("labels-differ-only-in-spaces", lambda d: _field(d, "projects", "项目总目标").update(label="年度 总体目标"),
     ["sheets.projects", "只差空格"]),
    ("duplicate-id", lambda d: _field(d, "projects", "项目总目标").update(id="goal"), ["重复的字段 id", "goal"]),
    ("missing-id", lambda d: _field(d, "projects", "项目总目标").pop("id"), ["fields[12]", "id"]),
    ("bad-id", lambda d: _field(d, "projects", "项目总目标").update(id="项目总目标"), ["fields[12]", "id"]),
    ("typed-field-with-another-id", lambda d: _field(d, "indicators", "一级指标").update(id="first"),
     ["level1", "id 必须是"]),
    ("role-of-the-wrong-type", lambda d: _field(d, "projects", "计划开始日期").update(type="text"),
     ["字段 start", "date"]),
    ("no-name-field", lambda d: _field(d, "projects", "项目名称").update(id="title"), ["必须有 id 为 “name”"]),
    ("no-project-link", lambda d: (_field(d, "indicators", "项目名称").update(type="text", id="project_name"),
                                   d["sheets"]["indicators"]["groups"].pop(0)), ["project_ref", "指明指标所属项目"]),
    ("group-names-a-label", lambda d: d["sheets"]["indicators"]["groups"][0].update(first="项目名称"),
     ["分组 “所属项目”", "没有 id 为“项目名称”的字段"]),
    ("bad-max-length", lambda d: _field(d, "projects", "项目名称").update(max_length="100"), ["max_length"]),
    ("bad-width", lambda d: _field(d, "projects", "项目名称").update(width="wide"), ["width"]),
    ("bad-prompt", lambda d: _field(d, "projects", "项目名称").update(prompt=["x"]), ["prompt"]),
    ("sheet-name-too-long", lambda d: d["sheets"]["projects"].update(name="项" * 32), ["工作表名", "31"]),
    ("same-sheet-names", lambda d: d["sheets"]["indicators"].update(name="项目信息"), ["工作表名不能相同"]),
    ("reserved-sheet-name", lambda d: d["sheets"]["indicators"].update(name="代码表"), ["代码表", "占用"]),
    ("reserved-meta-name", lambda d: d["sheets"]["indicators"].update(name="_META"), ["_META", "占用"]),
    ("sheet-name-quote", lambda d: d["sheets"]["projects"].update(name="'项目"), ["工作表名"]),
    ("bad-rows", lambda d: d["sheets"]["projects"].update(rows=0), ["rows", "1 到 100000"]),
    ("rows-as-text", lambda d: d["sheets"]["projects"].update(rows="200"), ["rows"]),
    ("rows-as-bool", lambda d: d["sheets"]["projects"].update(rows=True), ["rows"]),
    ("group-bad-column", lambda d: d["sheets"]["projects"]["groups"][0].update(last="plan_date"),
     ["分组 “基本信息”", "没有 id 为“plan_date”的字段"]),
    ("group-reversed", lambda d: d["sheets"]["projects"]["groups"][0].update(first="end", last="name"),
     ["分组 “基本信息”", "“end”在“name”之后"]),
    ("group-bad-key", lambda d: d["sheets"]["projects"]["groups"][0].update(title="x"), ["groups[0]", "label"]),
    ("groups-overlap", lambda d: d["sheets"]["projects"]["groups"][1].update(first="end"), ["重叠"]),
    ("level1-as-text", lambda d: _field(d, "indicators", "一级指标").update(type="text"), ["level1", "类型"]),
    ("level-field-on-records", lambda d: _field(d, "projects", "项目类别").update(type="unit", id="unit"),
     ["unit", "只能放在 sheets.indicators"]),
    ("unknown-form-key", lambda d: d["form"].update(record_noun="项目"), ["form", "未知的键", "record_noun"]),
    ("unknown-sheet-key", lambda d: d["sheets"]["projects"].update(title="x"), ["sheets.projects", "未知的键"]),
    ("bad-meaning", lambda d: d["hierarchy"][0].update(meaning="outputs"), ["hierarchy[0]", "meaning", "outputs"]),
    ("bad-level2-meaning", lambda d: d["hierarchy"][0]["level2"][0].update(meaning="count"),
     ["level2[0]", "meaning", "count"]),
    ("bad-missing-rule", lambda d: d["hierarchy"][2].update(missing_rule="C-09"), ["hierarchy[2]", "missing_rule"]),
    ("keywords-as-string", lambda d: d["hierarchy"][1]["level2"][0].update(keywords="收入"), ["keywords", "列表"]),
    ("unknown-rule", lambda d: d.update(rules={"enable": ["V-99"]}), ["rules", "V-99", "不存在"]),
    ("rules-bad-key", lambda d: d.update(rules={"on": ["V-14"]}), ["rules", "enable"]),
    ("level-map-bad-target", lambda d: d.update(level_maps=[{"from_form": "x", "from": ["产出指标", "成本指标"],
                                                             "to": ["成本指标", "经济成本指标"]}]),
     ["level_maps[0].to", "不是本表单"]),
    ("level-map-bad-shape", lambda d: d.update(level_maps=[{"from_form": "x", "from": "产出指标", "to": []}]),
     ["level_maps[0]", "[一级指标, 二级指标]"]),
    ("no-layout", lambda d: d["form"].update(layout="none-such"), ["找不到申报表版式", "none-such"]),
    ("layout-unknown-field", lambda d: _layout(d, lambda l: l["sections"][1]["rows"][0]["cells"][1].update(
        field="title")), ["sections[1].rows[0].cells[1]", "不存在的字段", "title"]),
    ("layout-span-short", lambda d: _layout(d, lambda l: l["sections"][1]["rows"][0]["cells"][5].update(span=2)),
     ["sections[1].rows[0]", "共占 7 列", "应为 6 列"]),
    ("layout-bad-placeholder", lambda d: _layout(d, lambda l: l["sections"][0]["rows"][0]["cells"][0].update(
        text="{titel}")), ["占位符 {titel}"]),
    ("layout-bad-label", lambda d: _layout(d, lambda l: l["sections"][0]["rows"][0]["cells"][0].update(
        text="{label[no_such]}")), ["label[no_such]", "不存在的字段"]),
    ("layout-bad-repeat", lambda d: _layout(d, lambda l: l["sections"][4]["rows"][1].update(repeat="tasks")),
     ["repeat", "tasks", "不存在"]),
    ("layout-merge-outside-repeat", lambda d: _layout(d, lambda l: l["sections"][1]["rows"][0]["cells"][1].update(
        merge=True)), ["merge"]),
    ("layout-bad-style", lambda d: _layout(d, lambda l: l["sections"][1]["rows"][0]["cells"][1].update(style="bold")),
     ["style", "bold"]),
    ("code-list-not-list", lambda d: d["code_lists"].update(项目类别="特定目标类"), ["代码表 项目类别"]),
    ("code-list-empty", lambda d: d["code_lists"].update(项目类别=[]), ["代码表 项目类别"]),
    ("code-list-duplicates", lambda d: d["code_lists"].update(项目类别=["人员类", "人员类"]), ["重复"]),
    ("no-hierarchy", lambda d: d.pop("hierarchy"), ["缺少", "hierarchy"]),
    ("empty-hierarchy", lambda d: d.update(hierarchy=[]), ["hierarchy", "一级指标"]),
    ("hierarchy-no-level1", lambda d: d["hierarchy"][0].pop("level1"), ["hierarchy[0]", "level1"]),
    ("hierarchy-bad-presence", lambda d: d["hierarchy"][0].update(presence="fatal"), ["presence"]),
    ("hierarchy-no-level2", lambda d: d["hierarchy"][1].update(level2=[]), ["hierarchy[1]", "没有二级指标"]),
    ("level2-no-name", lambda d: d["hierarchy"][0]["level2"][0].pop("name"), ["level2[0]", "name"]),
    ("duplicate-level1", lambda d: d["hierarchy"][1].update(level1="产出指标"), ["一级指标重复"]),
    ("duplicate-level2", lambda d: d["hierarchy"][0]["level2"][1].update(name="数量指标"), ["重复的二级指标"]),
    ("alias-as-string", lambda d: d["hierarchy"][0]["level2"][2].update(aliases="进度指标"), ["aliases", "列表"]),
    ("identity-missing-amount", lambda d: d["identities"][0].update(total="年度资金总额"),
     ["F-02", "不存在的金额字段", "年度资金总额"]),
    ("identity-part-not-amount", lambda d: d["identities"][1]["parts"].append("项目名称"),
     ["F-03", "不存在的金额字段", "项目名称"]),
    ("identity-bad-when", lambda d: d["identities"][0].update(when="sometimes"), ["F-02", "when"]),
    ("identity-no-rule", lambda d: d["identities"][0].pop("rule"), ["identities", "rule"]),
    ("identity-empty-parts", lambda d: d["identities"][0].update(parts=[]), ["parts"]),
    ("bad-floor", lambda d: d["form"].update(satisfaction_floor="八十"), ["satisfaction_floor"]),
]


@pytest.mark.parametrize("change, words", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_spec_is_refused_with_a_clear_message(raw, change, words):
    data = mutated(raw, change)
    with pytest.raises(SpecError) as info:
        parse_form(data, source="bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: "), message
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("name", ["项目[1]", "项目:信息", "项目*", "项目?", "项目/信息", "项目\\信息"])
def test_sheet_name_with_forbidden_characters_is_refused(raw, name):
    data = mutated(raw, lambda d: d["sheets"]["projects"].update(name=name))
    with pytest.raises(SpecError, match="不能用作 Excel 工作表名"):
        parse_form(data)


def test_sheet_name_of_31_characters_is_accepted(raw):
    data = mutated(raw, lambda d: d["sheets"]["projects"].update(name="项" * 31))
    assert parse_form(data).projects.name == "项" * 31


def test_the_toml_round_trips_through_parse_form(raw, spec):
    assert parse_form(copy.deepcopy(raw), source="sh-project.toml") == spec


def test_invalid_toml_is_a_spec_error(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[form]\nid = "x\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"broken\.toml: TOML 格式错误"):
        load_form(str(path))


def test_unknown_form_names_the_known_ones():
    with pytest.raises(SpecError) as info:
        load_form("no-such-form")
    assert "找不到表单规格 no-such-form" in str(info.value) and "sh-project" in str(info.value)


def test_form_loads_from_a_path(tmp_path, raw):
    path = tmp_path / "copy.toml"
    path.write_text((templates_dir() / "sh-project.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_form(str(path)).projects.labels == load_form().projects.labels


def test_templates_dir_can_be_overridden(tmp_path, monkeypatch):
    (tmp_path / "other.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("JIXIAO_TEMPLATES", str(tmp_path))
    assert available_forms() == ["other"]
