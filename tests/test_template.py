"""The template contract (DESIGN.md), asserted cell by cell through openpyxl, a golden copy of
its validation XML, and what survives a LibreOffice re-save.

Regenerate the golden file after an intended change:
    JIXIAO_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_template.py -k golden
Regenerate the LibreOffice fixtures (needs soffice):
    .venv/bin/python tests/data/libreoffice/make_fixtures.py
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import shutil
import tomllib
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import get_column_letter, range_to_tuple
from openpyxl.utils.protection import hash_password

from jixiao import __version__
from jixiao.check import check_files
from jixiao.reader import read_workbook
from jixiao.roster import BudgetRow, InputError, Roster, Unit
from jixiao.rules import Context, check_submissions
from jixiao.spec import parse_form, templates_dir
from jixiao.template import (CODES_SHEET, FIRST_DATA_ROW, INSTRUCTIONS_SHEET, META_KEYS, META_SHEET,
                             TemplateRequest, meta_identity, prefill_json, prefill_records, template_filename,
                             template_fingerprint, write_template, write_templates)
from jixiao.values import TEMPLATE_OPERATORS

DATA = Path(__file__).parent / "data"
LO_DIR = DATA / "libreoffice"
GOLDEN = DATA / "golden" / "sh-project-template.xml"
DEPT = "上海市示例主管部门"
YEAR = 2023
FIRST = FIRST_DATA_ROW + 1                      # first input row as Excel numbers it (3)


def _load_fixture_module():
    spec = importlib.util.spec_from_file_location("lo_fixtures", LO_DIR / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lo = _load_fixture_module()
INPUTS = lo.inputs()


# --- helpers ------------------------------------------------------------------------------

def effective_locked(ws, row: int, col: int) -> bool:
    """Whether Excel would treat a cell as locked: its own style if the cell is stored, else the
    row's style if the row has one, else the column's, else the default (locked).
    (Never ws.cell(): openpyxl would create the cell with the default, locked, style.)"""
    cell = ws._cells.get((row, col))
    if cell is not None:
        return cell.protection.locked
    if row in ws.row_dimensions and ws.row_dimensions[row].customFormat:
        return ws.row_dimensions[row].protection.locked
    for dim in ws.column_dimensions.values():
        if dim.min and dim.max and dim.min <= col <= dim.max:
            return dim.protection.locked
    return True


def stored(ws, row: int, col: int):
    cell = ws._cells.get((row, col))
    return None if cell is None else cell.value


def meta_of(wb) -> dict[str, str]:
    ws = wb[META_SHEET]
    return {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row[0] is not None}


def validations(ws) -> dict[str, object]:
    """Column letter → its one data validation (each covers one column range)."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        ranges = list(dv.sqref.ranges)
        assert len(ranges) == 1, dv.sqref
        assert ranges[0].min_col == ranges[0].max_col, dv.sqref
        letter = get_column_letter(ranges[0].min_col)
        assert letter not in out, f"two validations on column {letter}"
        out[letter] = dv
    return out


def range_values(wb, ref: str) -> list:
    sheet, (c1, r1, c2, r2) = range_to_tuple(ref.lstrip("="))
    ws = wb[sheet]
    assert c1 == c2, ref
    return [stored(ws, r, c1) for r in range(r1, r2 + 1)]


def name_ref(wb, name: str) -> str:
    (dest,) = list(wb.defined_names[name].destinations)
    return f"{dest[0]}!{dest[1]}"


def col_of(sheet, label: str) -> str:
    return get_column_letter(sheet.labels.index(label) + 1)


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """The template of the LibreOffice inputs (one unit, two prefilled budget rows), no password."""
    return lo.make_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def made_with_password(tmp_path_factory) -> Path:
    return lo.make_template(tmp_path_factory.mktemp("template-pw"), password="s3cret")


@pytest.fixture(scope="module")
def wb(made):
    return openpyxl.load_workbook(made)


@pytest.fixture(scope="module")
def budget_rows(spec):
    from jixiao.roster import load_budget, load_roster

    roster = load_roster(LO_DIR / INPUTS["roster"])
    return load_budget(LO_DIR / INPUTS["budget"], roster)["310001"]


# --- sheets and protection ----------------------------------------------------------------

def test_file_name(made):
    assert made.name == "310001_上海市欧美同学会_2023年度项目绩效目标申报表.xlsx"
    assert made.name == template_filename(Unit("310001", "上海市欧美同学会"), YEAR)


def test_sheets_in_order_with_their_states(wb, spec):
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, spec.projects.name, spec.indicators.name, CODES_SHEET, META_SHEET]
    assert [ws.sheet_state for ws in wb.worksheets] == ["visible", "visible", "visible", "hidden", "veryHidden"]
    assert wb.active.title == INSTRUCTIONS_SHEET


def test_every_sheet_is_protected_without_a_password(wb):
    for ws in wb.worksheets:
        p = ws.protection
        assert p.sheet is True, ws.title
        assert p.password is None, ws.title
        # Units may widen columns and rows to read wrapped text; nothing else.
        assert (p.formatColumns, p.formatRows) == (False, False), ws.title
        assert p.insertRows and p.deleteRows and p.insertColumns and p.deleteColumns, ws.title
        assert p.formatCells and p.sort and p.autoFilter, ws.title


def test_workbook_structure_is_locked_without_a_password(wb, made):
    assert wb.security.lockStructure is True
    assert wb.security.workbookPassword is None
    xml = zipfile.ZipFile(made).read("xl/workbook.xml").decode()
    # Schema order: workbookProtection right after workbookPr.
    assert re.search(r"<workbookPr\b[^>]*/><workbookProtection lockStructure=\"1\"/><bookViews>", xml)


def test_password_protects_every_sheet_and_the_structure(made_with_password):
    wb = openpyxl.load_workbook(made_with_password)
    expected = hash_password("s3cret")
    assert {ws.title: ws.protection.password for ws in wb.worksheets} == {ws.title: expected for ws in wb.worksheets}
    assert all(ws.protection.sheet for ws in wb.worksheets)
    assert wb.security.lockStructure is True
    assert wb.security.workbookPassword == expected


def test_password_does_not_change_the_contract(made, made_with_password):
    a, b = meta_of(openpyxl.load_workbook(made)), meta_of(openpyxl.load_workbook(made_with_password))
    assert {k: v for k, v in a.items() if k != "生成时间"} == {k: v for k, v in b.items() if k != "生成时间"}


# --- locked and unlocked cells ------------------------------------------------------------

@pytest.mark.parametrize("key", ["projects", "indicators"])
def test_header_rows_locked_input_columns_unlocked_to_the_last_row(wb, spec, key):
    sheet = getattr(spec, key)
    ws = wb[sheet.name]
    last = FIRST_DATA_ROW + sheet.rows                 # 202 / 3002
    assert last == {"projects": 202, "indicators": 3002}[key]
    n = len(sheet.fields)
    for col in range(1, n + 1):
        assert effective_locked(ws, 1, col), (sheet.name, col, "group row")
        assert effective_locked(ws, 2, col), (sheet.name, col, "header row")
        assert stored(ws, 2, col) == sheet.fields[col - 1].label
        # Unlocked by the column format (survives LibreOffice), not by row formats.
        dims = [d for d in ws.column_dimensions.values() if d.min <= col <= d.max]
        assert len(dims) == 1 and dims[0].protection.locked is False, (sheet.name, col)
        for row in (FIRST, FIRST + 1, last // 2, last - 1, last):
            if ws._cells.get((row, col)) is None:
                assert not effective_locked(ws, row, col), (sheet.name, row, col)
    # Nothing but the header rows and prefilled cells is stored in the sheet.
    prefilled = {(r["row"], sheet.labels.index(label) + 1) for r in json.loads(meta_of(wb)["prefill"])
                 for label in r["values"]} if key == "projects" else set()
    cells = {(c.row, c.column) for c in ws._cells.values() if c.row > 2}
    assert cells == prefilled
    # Right of the form everything stays locked.
    assert effective_locked(ws, FIRST, n + 1) and effective_locked(ws, last, n + 1)
    assert ws.max_column == n


def test_group_row_labels(wb, spec):
    ws = wb[spec.projects.name]
    # Column A prints on every page: its group cell stands apart, the group's label over B:E.
    assert stored(ws, 1, 1) is None and stored(ws, 1, 2) == "基本信息" and stored(ws, 1, 6) == "项目资金（元）"
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["B1:E1", "F1:L1", "M1:N1"]
    ws = wb[spec.indicators.name]
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["B1:D1", "E1:G1"]
    assert stored(ws, 1, 1) == "所属项目" and stored(ws, 1, 8) == "说明"


def test_required_headers_are_marked_red(wb, spec):
    for sheet in (spec.projects, spec.indicators):
        ws = wb[sheet.name]
        for col, f in enumerate(sheet.fields, start=1):
            color = ws._cells[(2, col)].font.color
            red = color is not None and color.rgb == "FFC00000"
            assert red == f.required, (sheet.name, f.label)


def test_prefilled_budget_cells_are_locked_and_shown_grey(wb, spec, budget_rows):
    ws = wb[spec.projects.name]
    assert len(budget_rows) == 2
    for i, row in enumerate(budget_rows):
        excel_row = FIRST + i
        for field_id, value in row.values.items():
            col = spec.projects.column(field_id) + 1
            cell = ws._cells[(excel_row, col)]
            assert cell.protection.locked is True, (excel_row, field_id)
            assert cell.fill.fgColor.rgb == "FFEDEDED"
            if spec.projects.field(field_id).type == "amount":
                assert cell.data_type == "n" and Decimal(str(cell.value)) == value
                assert cell.number_format == "#,##0.00"
            else:
                assert cell.data_type == "s" and cell.value == value
        # What the budget does not give stays open for the unit on the same row.
        for label in ("计划开始日期", "计划完成日期", "项目资金总额", "年度总体目标"):
            assert not effective_locked(ws, excel_row, spec.projects.labels.index(label) + 1), (excel_row, label)
    assert [stored(ws, r, 1) for r in (3, 4, 5)] == ["留学人员之家运行保障费", "宣传工作经费", None]
    assert not effective_locked(ws, 5, 1)


def test_input_formats_keep_text_as_text(wb, spec):
    """Text columns are formatted "@" (85% stays "85%", "=100" is not a formula); dates and amounts formatted."""
    expected = {"text": "@", "longtext": "@", "code": "@", "project_ref": "@", "level1": "@", "level2": "@",
                "operator": "@", "value": "@", "unit": "@", "date": "yyyy-mm-dd", "amount": "#,##0.00"}
    for sheet in (spec.projects, spec.indicators):
        ws = wb[sheet.name]
        for col, f in enumerate(sheet.fields, start=1):
            (dim,) = [d for d in ws.column_dimensions.values() if d.min <= col <= d.max]
            assert dim.number_format == expected[f.type], (sheet.name, f.label)
            assert dim.width == pytest.approx(f.width + 0.7109375), (sheet.name, f.label)


# --- data validations ---------------------------------------------------------------------

@pytest.mark.parametrize("key", ["projects", "indicators"])
def test_one_validation_per_input_column_over_the_whole_input_range(wb, spec, key):
    sheet = getattr(spec, key)
    dvs = validations(wb[sheet.name])
    last = FIRST_DATA_ROW + sheet.rows
    assert sorted(dvs) == sorted(get_column_letter(i + 1) for i in range(len(sheet.fields)))
    for col, f in enumerate(sheet.fields, start=1):
        dv = dvs[get_column_letter(col)]
        assert str(dv.sqref) == f"{get_column_letter(col)}{FIRST}:{get_column_letter(col)}{last}", f.label
        assert dv.allow_blank is True and dv.showErrorMessage is True and dv.showInputMessage is True
        assert dv.errorTitle == "输入有误"
        assert dv.promptTitle == f.label and dv.prompt == f.prompt
        assert dv.error and re.search(r"[\u4e00-\u9fff]", dv.error), f.label
        assert len(dv.prompt) <= 255 and len(dv.error) <= 255
        if f.type == "unit":
            assert dv.errorStyle == "information"          # a suggestion list: other text is allowed
        else:
            assert dv.errorStyle in (None, "stop"), f.label  # None = the default, stop


EXPECTED_VALIDATIONS = {
    # field: (type, operator, formula1, formula2, error)
    ("projects", "项目名称"): ("textLength", "lessThanOrEqual", "100", None, "不能超过 100 个字。"),
    ("projects", "项目性质"): ("list", None, "'代码表'!$A$2:$A$7", None, "请从下拉列表中选择项目性质。"),
    ("projects", "项目类别"): ("list", None, "'代码表'!$B$2:$B$5", None, "请从下拉列表中选择项目类别。"),
    # A project of 2023 starts by the end of 2023 (and not before 1993) …
    ("projects", "计划开始日期"): ("date", None, "33970", "45291", "请填写 2023 年底以前的日期，如 2023-01-01。"),
    # … and ends in 2023 or later, not before it starts.
    ("projects", "计划完成日期"): ("custom", None, 'AND(ISNUMBER(E3),E3>=DATE(2023,1,1),E3<=DATE(2053,12,31),'
                                                 'OR(D3="",E3>=D3))', None,
                               "请填写 2023 年或以后的日期，且不早于开始日期，如 2023-12-31。"),
    # Two decimals at most, as the message says (a decimal validation cannot say so).
    ("projects", "年度资金申请总额"): ("custom", None, "AND(ISNUMBER(I3),I3>=0,I3<1000000000000000,ROUND(I3,2)=I3)", None,
                                 "请填写不小于 0、最多两位小数的金额（元）。"),
    ("projects", "年度总体目标"): ("textLength", "lessThanOrEqual", "2000", None, "不能超过 2000 个字。"),
    ("indicators", "项目名称"): ("list", None, "ProjectNames", None, "请选择“项目信息”表中已填写的项目名称。"),
    ("indicators", "一级指标"): ("list", None, "Level1", None, "请从下拉列表中选择一级指标。"),
    ("indicators", "二级指标"): ("list", None, 'INDIRECT("L2_"&MATCH($B3,Level1,0))', None,
                             "请先选择一级指标，再从下拉列表中选择对应的二级指标。"),
    ("indicators", "三级指标"): ("textLength", "lessThanOrEqual", "60", None, "不能超过 60 个字。"),
    ("indicators", "运算符"): ("list", None, '"≥,≤,＝,>,<"', None, "请选择 ≥、≤、＝、>、< 之一；定性指标请留空。"),
    ("indicators", "指标值"): ("textLength", "lessThanOrEqual", "60", None, "不能超过 60 个字。"),
    ("indicators", "计量单位"): ("list", None, "'代码表'!$C$2:$C$31", None, "该计量单位不在常用列表中，确认无误可继续。"),
    ("indicators", "指标说明"): ("textLength", "lessThanOrEqual", "500", None, "不能超过 500 个字。"),
}


@pytest.mark.parametrize("key, label", sorted(EXPECTED_VALIDATIONS))
def test_validation_type_source_and_message(wb, spec, key, label):
    sheet = getattr(spec, key)
    dv = validations(wb[sheet.name])[col_of(sheet, label)]
    vtype, operator, formula1, formula2, error = EXPECTED_VALIDATIONS[(key, label)]
    assert (dv.type, dv.operator, dv.formula1, dv.formula2, dv.error) == (vtype, operator, formula1, formula2, error)


def test_every_amount_allows_two_decimals_at_most(wb, spec):
    dvs = validations(wb[spec.projects.name])
    amounts = [f for f in spec.projects.fields if f.type == "amount"]
    assert len(amounts) == 7
    for f in amounts:
        col = col_of(spec.projects, f.label)
        dv = dvs[col]
        assert (dv.type, dv.formula1) == ("custom", f"AND(ISNUMBER({col}3),{col}3>=0,{col}3<1000000000000000,"
                                                    f"ROUND({col}3,2)={col}3)"), f.label


def test_code_list_sources_point_at_the_code_lists(wb, spec):
    for sheet in (spec.projects, spec.indicators):
        dvs = validations(wb[sheet.name])
        for f in sheet.fields:
            if f.type in ("code", "unit"):
                source = dvs[col_of(sheet, f.label)].formula1
                assert source.startswith(f"'{CODES_SHEET}'!"), f.label
                assert range_values(wb, source) == list(spec.code_lists[f.code_list]), f.label


def test_operator_list_offers_full_width_equals_never_a_bare_one(wb, spec):
    dv = validations(wb[spec.indicators.name])[col_of(spec.indicators, "运算符")]
    items = dv.formula1.strip('"').split(",")
    assert items == list(TEMPLATE_OPERATORS) == ["≥", "≤", "＝", ">", "<"]
    assert "=" not in items                             # typed "=" starts a formula in Excel
    # The same list on 代码表, for reference.
    ws = wb[CODES_SHEET]
    col = next(c for c in range(1, ws.max_column + 1) if stored(ws, 1, c) == spec.indicators.label("operator"))
    assert [stored(ws, r, col) for r in range(2, 7)] == list(TEMPLATE_OPERATORS)
    assert "=" not in [stored(ws, r, col) for r in range(1, ws.max_row + 1)]


def test_defined_names_resolve_to_the_hierarchy(wb, spec):
    l2_names = sorted(n for n in wb.defined_names if n.startswith("L2_"))
    assert l2_names == [f"L2_{i}" for i in range(1, len(spec.hierarchy) + 1)]
    assert set(wb.defined_names) == {"Level1", "ProjectNames", *l2_names}
    assert name_ref(wb, "Level1") == f"{CODES_SHEET}!$E$2:$E$4"
    assert range_values(wb, name_ref(wb, "Level1")) == list(spec.level1_names())
    for i, l1 in enumerate(spec.hierarchy, start=1):
        assert range_values(wb, name_ref(wb, f"L2_{i}")) == [l2.name for l2 in l1.level2], l1.name
    # The cascade as Excel evaluates it: MATCH(一级, Level1, 0) = i → INDIRECT("L2_" & i).
    level1 = range_values(wb, name_ref(wb, "Level1"))
    for name in spec.level1_names():
        i = level1.index(name) + 1
        assert range_values(wb, name_ref(wb, f"L2_{i}")) == list(spec.level2_names(name))


def test_cascade_formula_is_relative_to_the_level1_column(wb, spec):
    dv = validations(wb[spec.indicators.name])[col_of(spec.indicators, "二级指标")]
    assert col_of(spec.indicators, "一级指标") == "B"
    assert dv.formula1 == f'INDIRECT("L2_"&MATCH(${col_of(spec.indicators, "一级指标")}{FIRST},Level1,0))'


def test_project_names_are_the_names_typed_without_the_empty_rows(wb, spec):
    """The 项目名称 dropdown lists as many rows as there are names: OFFSET from row 3, COUNTA rows."""
    last = FIRST_DATA_ROW + spec.projects.rows
    assert wb.defined_names["ProjectNames"].attr_text == (
        f"OFFSET('{spec.projects.name}'!$A${FIRST},0,0,MAX(1,COUNTA('{spec.projects.name}'!$A${FIRST}:$A${last})),1)")


def test_code_sheet_holds_every_list(wb, spec):
    ws = wb[CODES_SHEET]
    titles = [stored(ws, 1, c) for c in range(1, ws.max_column + 1)]
    assert titles == [*spec.code_lists, "运算符", "一级指标", *spec.level1_names()]


# --- _meta --------------------------------------------------------------------------------

def test_meta_keys_and_values(wb, spec, budget_rows):
    meta = meta_of(wb)
    assert list(meta) == list(META_KEYS)
    assert all(isinstance(v, str) for v in meta.values())
    assert {k: meta[k] for k in ("form_id", "form_version", "年度", "主管部门", "单位编码", "单位名称", "截止日期", "生成工具")} == {
        "form_id": "sh-project", "form_version": "2023.1", "年度": "2023", "主管部门": DEPT,
        "单位编码": "310001", "单位名称": "上海市欧美同学会", "截止日期": "2023-03-31", "生成工具": f"jixiao {__version__}"}
    assert abs(dt.datetime.fromisoformat(meta["生成时间"]) - dt.datetime.now()) < dt.timedelta(hours=1)
    prefill = json.loads(meta["prefill"])
    assert prefill == prefill_records(spec, budget_rows)
    assert prefill[0] == {"row": 3, "values": {
        "项目名称": "留学人员之家运行保障费", "项目性质": "经常性专项业务费", "项目类别": "特定目标类",
        "年度资金申请总额": "700000.00", "当年财政拨款": "700000.00", "上年结转资金": "0.00", "年度其他资金": "0.00"}}
    identity = meta_identity(spec, DEPT, YEAR, Unit("310001", "上海市欧美同学会"))
    assert meta["fingerprint"] == template_fingerprint(spec, identity, prefill)
    assert re.fullmatch(r"[0-9a-f]{24}", meta["fingerprint"])


def test_meta_cells_are_text(wb):
    ws = wb[META_SHEET]
    assert all(c.data_type == "s" for row in ws.iter_rows() for c in row if c.value is not None)


def test_fingerprints_tell_units_years_and_prefill_apart(spec):
    unit = Unit("310001", "上海市欧美同学会")
    base = template_fingerprint(spec, meta_identity(spec, DEPT, YEAR, unit), [])
    assert base != template_fingerprint(spec, meta_identity(spec, DEPT, 2024, unit), [])
    assert base != template_fingerprint(spec, meta_identity(spec, DEPT, YEAR, Unit("310002", unit.name)), [])
    assert base != template_fingerprint(spec, meta_identity(spec, "别的部门", YEAR, unit), [])
    assert base != template_fingerprint(spec, meta_identity(spec, DEPT, YEAR, unit), [{"row": 3, "values": {"项目名称": "x"}}])


def tampered(finding) -> bool:
    """A structure finding that says the template is not the genuine one (S-23, an untouched
    template, says it is genuine but empty)."""
    return finding.rule.startswith("S-") and finding.rule != "S-23"


def test_fresh_templates_of_the_sample_roster_are_genuine(templates, spec):
    """What `check` reads back from an untouched template: the right identity, no structure finding
    (only S-23: genuine, but not filled in)."""
    fingerprints = set()
    for code, path in templates.items():
        meta = meta_of(openpyxl.load_workbook(path))
        assert meta["单位编码"] == code and meta["prefill"] == "[]"
        fingerprints.add(meta["fingerprint"])
    assert len(fingerprints) == len(templates) == 3
    reports = check_files(list(templates.values()))
    for report in reports:
        assert report.readable
        assert not [f for f in report.findings if tampered(f)], report.findings


def test_meta_prefill_is_compact_json(wb):
    raw = meta_of(wb)["prefill"]
    assert raw == prefill_json(json.loads(raw)) and ", " not in raw


# --- print setup and instructions ---------------------------------------------------------

@pytest.mark.parametrize("key", ["projects", "indicators"])
def test_data_sheet_print_setup_and_frozen_header(wb, spec, key):
    """Printed at 100% on A4 landscape (text stays 11 pt): the columns split over pages at group
    boundaries, with column A and the two header rows on every page."""
    sheet = getattr(spec, key)
    ws = wb[sheet.name]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9                       # A4
    assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.scale in (None, 100)                      # None = the default, 100%
    assert ws.print_title_rows == "$1:$2" and ws.print_title_cols == "$A:$A"
    breaks = [b.id for b in ws.col_breaks.brk]
    group_starts = {sheet.column(g.first) for g in sheet.groups}
    assert set(breaks) <= group_starts and (breaks or key == "indicators")
    assert ws.freeze_panes == "B3"
    assert ws.oddHeader.center.text.endswith(sheet.name)
    assert ws.oddFooter.center.text.endswith("第 &P 页，共 &N 页")


def test_instructions_sheet(wb):
    ws = wb[INSTRUCTIONS_SHEET]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value)
    assert "2023年度项目绩效目标申报表 填报说明" in text
    assert f"主管部门：{DEPT}" in text
    assert "填报单位：上海市欧美同学会（单位编码 310001）" in text
    assert "报送截止：2023年3月31日" in text
    assert "＝" in text and "金额单位为元" in text
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_view.showGridLines is False
    assert ws.protection.sheet


def test_instructions_say_what_red_and_grey_mean_and_show_an_example_row(wb, spec):
    text = "\n".join(str(c.value) for row in wb[INSTRUCTIONS_SHEET].iter_rows() for c in row if c.value)
    assert "表头为红色的列是必填项" in text and "灰色单元格是预算预填内容" in text
    for sheet in spec.data_sheets:
        assert f"示例：“{sheet.name}”表中的一行" in text
        for f in sheet.fields:
            if f.example:
                assert f"{f.label}：{f.example}" in text
    assert "微信公众号发布信息量" in text                  # the example indicator of the spec


def test_instructions_without_deadline(tmp_path, spec):
    path = tmp_path / "t.xlsx"
    write_template(spec, TemplateRequest(Unit("1", "甲"), DEPT, YEAR), path)
    ws = openpyxl.load_workbook(path)[INSTRUCTIONS_SHEET]
    assert ws["A4"].value == "报送截止：（见通知）"
    assert meta_of(openpyxl.load_workbook(path))["截止日期"] == ""


# --- limits, at the limit and one past it -------------------------------------------------

def _budget(n: int, name=lambda i: f"{i:03d}项目名称有十二个字"[:12]) -> list[BudgetRow]:
    return [BudgetRow("310001", {"name": name(i), "nature": "经常性专项业务费", "category": "特定目标类",
                                 "annual_total": Decimal("1000000.00"), "fiscal": Decimal("1000000.00"),
                                 "carryover": Decimal("0.00"), "other": Decimal("0.00")})
            for i in range(n)]


ROSTER = Roster([Unit("310001", "上海市欧美同学会")])


def test_budget_filling_every_project_row(tmp_path, spec):
    rows = spec.projects.rows
    budget = _budget(rows)
    # 200 twelve-character names with seven-digit amounts: over Excel's 32,767 characters per cell
    # as indented JSON (which xlsxwriter cut silently, so check called the genuine file S-11),
    # within it as compact JSON.
    records = prefill_records(spec, budget)
    assert len(json.dumps(records, ensure_ascii=False, sort_keys=True)) > 32767 >= len(prefill_json(records))
    (path,) = write_templates(ROSTER, DEPT, YEAR, tmp_path, budget={"310001": budget})
    wb = openpyxl.load_workbook(path)
    ws = wb[spec.projects.name]
    last = FIRST_DATA_ROW + rows
    assert stored(ws, last, 1) == budget[-1].values["name"] and ws._cells[(last, 1)].protection.locked
    assert stored(ws, last + 1, 1) is None
    prefill = json.loads(meta_of(wb)["prefill"])       # whole, not cut at Excel's cell limit
    assert len(prefill) == rows and prefill[-1]["row"] == last
    # check reads the frozen rows back as genuine and unchanged.
    (report,) = check_files([path])
    assert not [f for f in report.findings if f.rule in ("S-11", "S-12", "S-13", "S-14")], report.findings


def test_one_budget_row_more_than_the_template_has(tmp_path, spec):
    with pytest.raises(InputError) as info:
        write_templates(ROSTER, DEPT, YEAR, tmp_path / "out", budget={"310001": _budget(spec.projects.rows + 1)})
    assert info.value.problems == [f"单位 310001 上海市欧美同学会 的预算项目有 {spec.projects.rows + 1} 个，"
                                   f"超过模板的 {spec.projects.rows} 行：请拆分或联系管理员"]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_prefill_larger_than_one_cell_is_split_over_meta_rows(tmp_path, spec):
    """200 projects with 100-character names pass Excel's 32,767 characters per cell: the JSON is
    split over prefill, prefill.2, … and check joins it back, so the genuine template passes."""
    from jixiao.check import check_files

    budget = {"310001": _budget(spec.projects.rows, name=lambda i: f"{i:03d}" + "长" * 97)}
    (path, *_) = write_templates(ROSTER, DEPT, YEAR, tmp_path / "out", budget=budget)
    wb = openpyxl.load_workbook(path)
    keys = [row[0].value for row in wb["_meta"].iter_rows()]
    assert "prefill.2" in keys
    findings = check_files([path], year=YEAR, department=DEPT)[0].findings
    assert not [f for f in findings if tampered(f)], findings[:3]


def _raw_spec() -> dict:
    return tomllib.loads((templates_dir() / "sh-project.toml").read_text(encoding="utf-8"))


def _write(spec, path: Path, prefill=()) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # xlsxwriter warns (and drops) instead of raising
        write_template(spec, TemplateRequest(Unit("1", "甲单位"), DEPT, YEAR, None, tuple(prefill)), path)
    return openpyxl.load_workbook(path)


def test_long_prompts_and_titles_are_cut_to_what_excel_allows(tmp_path):
    data = _raw_spec()
    field = data["sheets"]["projects"]["fields"][0]
    field["prompt"] = "很长的提示" * 60                          # 300 characters
    data["sheets"]["projects"]["fields"][1]["label"] = "项目性质" + "很长" * 130   # title and message too long
    spec = parse_form(data)
    wb = _write(spec, tmp_path / "t.xlsx")
    dvs = validations(wb[spec.projects.name])
    assert dvs["A"].prompt == field["prompt"][:255]
    assert len(dvs["B"].promptTitle) == 32 and len(dvs["B"].error) == 255


def test_prompt_of_exactly_255_characters_is_kept(tmp_path):
    data = _raw_spec()
    data["sheets"]["indicators"]["fields"][0]["prompt"] = "示" * 255
    spec = parse_form(data)
    assert validations(_write(spec, tmp_path / "t.xlsx")[spec.indicators.name])["A"].prompt == "示" * 255


# --- specs other than the shipped one -----------------------------------------------------

def test_group_row_is_locked_where_no_group_covers_it(tmp_path):
    data = _raw_spec()
    data["sheets"]["projects"]["groups"] = []
    data["sheets"]["indicators"]["groups"] = data["sheets"]["indicators"]["groups"][1:2]   # 一级…三级 only
    spec = parse_form(data)
    wb = _write(spec, tmp_path / "t.xlsx")
    for sheet in (spec.projects, spec.indicators):
        ws = wb[sheet.name]
        for col in range(1, len(sheet.fields) + 1):
            assert effective_locked(ws, 1, col), (sheet.name, col)
            assert not effective_locked(ws, FIRST, col), (sheet.name, col)


def test_project_names_follow_the_project_name_column(tmp_path):
    data = _raw_spec()
    fields = data["sheets"]["projects"]["fields"]
    fields.insert(0, fields.pop(1))                             # 项目性质 first, 项目名称 second
    data["sheets"]["projects"]["groups"][0]["first"] = "nature"
    spec = parse_form(data)
    wb = _write(spec, tmp_path / "t.xlsx")
    assert "项目信息'!$B$3,0,0,MAX(1,COUNTA('项目信息'!$B$3:$B$202" in wb.defined_names["ProjectNames"].attr_text


def test_code_list_named_like_a_hierarchy_column_keeps_its_own_range(tmp_path):
    data = _raw_spec()
    data["code_lists"]["一级指标"] = data["code_lists"].pop("项目类别")
    data["code_lists"]["产出指标"] = ["甲", "乙"]
    for f in data["sheets"]["projects"]["fields"]:
        if f.get("code_list") == "项目类别":
            f["code_list"] = "一级指标"
    spec = parse_form(data)
    wb = _write(spec, tmp_path / "t.xlsx")
    dv = validations(wb[spec.projects.name])["C"]
    assert range_values(wb, dv.formula1) == ["特定目标类", "其他运转类", "公用经费类", "人员类"]
    assert range_values(wb, name_ref(wb, "Level1")) == list(spec.level1_names())
    assert range_values(wb, name_ref(wb, "L2_1")) == list(spec.level2_names("产出指标"))


def test_level1_field_may_have_another_label(tmp_path):
    data = _raw_spec()
    for f in data["sheets"]["indicators"]["fields"]:
        if f["label"] == "一级指标":
            f["label"] = "一级"
    spec = parse_form(data)
    dv = validations(_write(spec, tmp_path / "t.xlsx")[spec.indicators.name])["C"]
    assert dv.formula1 == 'INDIRECT("L2_"&MATCH($B3,Level1,0))'


def test_unit_field_without_a_suggestion_list(tmp_path):
    data = _raw_spec()
    for f in data["sheets"]["indicators"]["fields"]:
        if f["type"] == "unit":
            f.pop("code_list")
    spec = parse_form(data)
    dv = validations(_write(spec, tmp_path / "t.xlsx")[spec.indicators.name])["G"]
    assert dv.type is None or dv.type == "none"          # any value


# --- golden: the validation XML, so that an unintended change shows as a diff --------------

def _element(tag: str, xml: str):
    return re.search(rf"<{tag}\b[^>]*?/>|<{tag}\b[^>]*>.*?</{tag}>", xml, re.S)


def golden_text(path: Path) -> str:
    """The contract-bearing XML of a template, one tag per line, volatile parts removed."""
    out = []
    with zipfile.ZipFile(path) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
        for tag in ("workbookProtection", "sheets", "definedNames"):
            m = _element(tag, workbook)
            out.append(f"== xl/workbook.xml {tag}")
            out.append(m.group(0) if m else "(none)")
        sheets = sorted((n for n in zf.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
                        key=lambda n: int(re.search(r"\d+", n.rsplit("/", 1)[1]).group()))
        for name in sheets:
            xml = zf.read(name).decode()
            for tag in ("sheetProtection", "dataValidations"):
                m = _element(tag, xml)
                out.append(f"== {name} {tag}")
                out.append(m.group(0) if m else "(none)")
    text = "\n".join(out)
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ?", "<timestamp>", text)   # none today; keep it so
    return re.sub(r"><", ">\n<", text) + "\n"


def test_golden_validations(made):
    actual = golden_text(made)
    if os.environ.get("JIXIAO_REGEN_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(actual, encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8")
    assert actual == expected, ("the template's validations changed; if intended, regenerate with "
                                "JIXIAO_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_template.py -k golden")


# --- LibreOffice 7.4 --------------------------------------------------------------------------
# template_resaved_by_libreoffice.xlsx: the template of inputs.toml re-saved by LibreOffice 7.4.7
# (`soffice --headless --convert-to xlsx`). What survives, and what LibreOffice changes:

LO_TEMPLATE = LO_DIR / "template_resaved_by_libreoffice.xlsx"
LO_FILLED = LO_DIR / "filled_resaved_by_libreoffice.xlsx"
LO_ROW_LIMIT = 1002           # LibreOffice keeps validations to row 1,002 (1,000 rows from row 3)


def check_resaved_template(path: Path, spec, *, password: str | None = None) -> None:
    """Everything a unit using LibreOffice still gets, and the measured changes, in one place."""
    wb = openpyxl.load_workbook(path)
    # Sheets and order survive; very hidden becomes merely hidden.
    assert wb.sheetnames == [INSTRUCTIONS_SHEET, spec.projects.name, spec.indicators.name, CODES_SHEET, META_SHEET]
    assert [ws.sheet_state for ws in wb.worksheets] == ["visible", "visible", "visible", "hidden", "hidden"]
    # Sheet protection survives on every sheet, its password hash too (in lower case).
    for ws in wb.worksheets:
        assert ws.protection.sheet is True, ws.title
        expected = hash_password(password).lower() if password else None
        assert ws.protection.password == expected, ws.title
    # Workbook structure protection is dropped: <workbookProtection/> comes back empty.
    assert not wb.security.lockStructure and wb.security.workbookPassword is None
    assert "<workbookProtection/>" in zipfile.ZipFile(path).read("xl/workbook.xml").decode()
    # Defined names survive (sheet names unquoted), the OFFSET of the 项目名称 list too.
    assert wb.defined_names["ProjectNames"].attr_text == "OFFSET(项目信息!$A$3,0,0,MAX(1,COUNTA(项目信息!$A$3:$A$202)),1)"
    assert range_values(wb, name_ref(wb, "Level1")) == list(spec.level1_names())
    for i, l1 in enumerate(spec.hierarchy, start=1):
        assert range_values(wb, name_ref(wb, f"L2_{i}")) == [l2.name for l2 in l1.level2]
    # Validations: same kinds, sources, styles and messages; 项目信息 keeps its 200 rows,
    # 绩效指标 is cut from 3,000 rows (to 3002) to 1,000 (to 1002).
    for sheet in (spec.projects, spec.indicators):
        dvs = validations(wb[sheet.name])
        last = min(FIRST_DATA_ROW + sheet.rows, LO_ROW_LIMIT)
        for (key, label), (vtype, _, formula1, _, error) in EXPECTED_VALIDATIONS.items():
            if key != sheet.key:
                continue
            col = col_of(sheet, label)
            dv = dvs[col]
            assert str(dv.sqref) == f"{col}{FIRST}:{col}{last}", label
            assert dv.type == vtype and dv.error == error, label
            assert dv.formula1 == formula1.replace(f"'{CODES_SHEET}'", CODES_SHEET), label
            assert dv.promptTitle == label and dv.prompt == sheet.by_label(label).prompt
            assert dv.errorStyle == ("information" if label == "计量单位" else "stop")
    assert str(validations(wb[spec.indicators.name])["C"].sqref) == "C3:C1002"
    # Locking: header rows locked; input columns stay unlocked by column format to the last
    # input row (3002) and beyond; prefilled cells stay locked with their values.
    for sheet in (spec.projects, spec.indicators):
        ws = wb[sheet.name]
        last = FIRST_DATA_ROW + sheet.rows
        for col in range(1, len(sheet.fields) + 1):
            assert effective_locked(ws, 1, col) and effective_locked(ws, 2, col)
            for row in (FIRST + 2, LO_ROW_LIMIT, LO_ROW_LIMIT + 1, last):
                assert not effective_locked(ws, row, col), (sheet.name, row, col)
    ws = wb[spec.projects.name]
    for label, (a3, a4) in {"项目名称": ("留学人员之家运行保障费", "宣传工作经费"),
                            "年度资金申请总额": (700000, 692360), "上年结转资金": (0, 0)}.items():
        col = spec.projects.labels.index(label) + 1
        assert (stored(ws, 3, col), stored(ws, 4, col)) == (a3, a4)
        assert effective_locked(ws, 3, col) and effective_locked(ws, 4, col)
    assert not effective_locked(ws, 3, spec.projects.labels.index("计划开始日期") + 1)
    # Column formats survive: text stays "@" (so "85%" stays text), dates and amounts keep theirs.
    formats = {"date": "yyyy-mm-dd", "amount": "#,##0.00"}
    for sheet in (spec.projects, spec.indicators):
        ws = wb[sheet.name]
        for col, f in enumerate(sheet.fields, start=1):
            (dim,) = [d for d in ws.column_dimensions.values() if d.min <= col <= d.max]
            assert dim.number_format.replace("\\", "") == formats.get(f.type, "@"), (sheet.name, f.label)
    assert sorted(str(r) for r in wb[spec.projects.name].merged_cells.ranges) == ["B1:E1", "F1:L1", "M1:N1"]
    # _meta survives cell for cell, so the fingerprint still matches.
    meta = meta_of(wb)
    assert list(meta) == list(META_KEYS)
    identity = meta_identity(spec, INPUTS["department"], INPUTS["year"], Unit("310001", "上海市欧美同学会"))
    assert {k: meta[k] for k in identity} == identity
    prefill = json.loads(meta["prefill"])
    assert [r["values"]["项目名称"] for r in prefill] == ["留学人员之家运行保障费", "宣传工作经费"]
    assert meta["fingerprint"] == template_fingerprint(spec, identity, prefill)
    # Print setup survives: landscape A4 at 100%, the column breaks at the groups, print titles
    # (rows and column A), header and footer (LibreOffice drops the font-size code "&10").
    for sheet in (spec.projects, spec.indicators):
        ws = wb[sheet.name]
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
        assert int(ws.page_setup.scale or 100) == 100 and not ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$1:$2" and ws.print_title_cols == "$A:$A"
        assert {b.id for b in ws.col_breaks.brk} <= {sheet.column(g.first) for g in sheet.groups}
        assert ws.oddHeader.center.text.endswith(sheet.name)
        assert ws.oddFooter.center.text.endswith("第 &P 页，共 &N 页")
        # A headless conversion has no view: frozen panes are dropped.
        assert ws.freeze_panes is None
    # ... and so is the hidden grid of 填报说明.
    assert wb[INSTRUCTIONS_SHEET].sheet_view.showGridLines is True


def test_libreoffice_resaved_template_fixture(tmp_path, spec, made):
    check_resaved_template(LO_TEMPLATE, spec)
    # check still takes it for the genuine, unaltered template.
    copy = tmp_path / made.name
    shutil.copy(LO_TEMPLATE, copy)
    (report,) = check_files([copy])
    assert report.readable and not [f for f in report.findings if tampered(f)], report.findings


def test_libreoffice_fixture_matches_its_inputs(made):
    """The committed fixture is the re-save of what the code writes today (same contract)."""
    fresh, resaved = meta_of(openpyxl.load_workbook(made)), meta_of(openpyxl.load_workbook(LO_TEMPLATE))
    volatile = ("生成时间", "生成工具")
    assert {k: v for k, v in fresh.items() if k not in volatile} == {k: v for k, v in resaved.items() if k not in volatile}


def tables_of(path: Path, spec):
    """What check and merge work on: the reader's tables, the typed frames and the findings."""
    sub = read_workbook(path, spec)
    batch = check_submissions([sub], spec, Context(None, None, None))
    (report,) = check_files([path])
    findings = sorted((f.rule, f.sheet, f.cell, f.field, f.severity, f.message) for f in report.findings)
    return sub, batch, findings


def assert_same_tables(original: Path, resaved: Path, spec) -> None:
    a, batch_a, findings_a = tables_of(original, spec)
    b, batch_b, findings_b = tables_of(resaved, spec)
    assert b.readable and not b.findings
    assert {k: v for k, v in a.meta.items() if k != "生成时间"} == {k: v for k, v in b.meta.items() if k != "生成时间"}
    for key in ("projects", "indicators"):
        ta, tb = getattr(a, key), getattr(b, key)
        assert (ta.header_row, ta.columns) == (tb.header_row, tb.columns)
        assert ta.rows == tb.rows, key
    assert a.formulas == b.formulas == {}
    import pandas as pd

    pd.testing.assert_frame_equal(batch_a.projects, batch_b.projects)
    pd.testing.assert_frame_equal(batch_a.indicators, batch_b.indicators)
    assert findings_a == findings_b
    assert not [f for f in findings_b if f[0] in ("S-04", "S-05", "S-11", "S-12", "S-13")]


def test_libreoffice_resaved_filled_return_reads_the_same(tmp_path, spec, made):
    """A unit fills the template and saves it in LibreOffice: check sees exactly what it would have seen."""
    original = lo.make_filled(made, tmp_path / made.name)
    resaved = tmp_path / "lo" / made.name                  # same file name: S-15 compares it
    resaved.parent.mkdir()
    shutil.copy(LO_FILLED, resaved)
    sub = read_workbook(resaved, spec)
    assert len(sub.indicators.rows) == 107 + INPUTS["extra_indicators"]
    assert sub.indicators.rows[-1][0] > LO_ROW_LIMIT          # rows past the validations read as well
    assert_same_tables(original, resaved, spec)


soffice = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(soffice is None, reason="LibreOffice (soffice) not installed")


@pytest.mark.requires_soffice
def test_libreoffice_resave_now(tmp_path, spec, made_with_password):
    resaved = lo.resave(made_with_password, tmp_path / "lo")
    check_resaved_template(resaved, spec, password="s3cret")


@pytest.mark.requires_soffice
def test_libreoffice_resave_of_a_filled_template_now(tmp_path, spec, made):
    (tmp_path / "filled").mkdir()
    original = lo.make_filled(made, tmp_path / "filled" / made.name)
    resaved = lo.resave(original, tmp_path / "lo")
    assert_same_tables(original, resaved, spec)
