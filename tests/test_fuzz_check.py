"""Properties: whatever a unit types or pastes into the input cells of a real template — text
with control characters, huge strings, numbers of any size, dates, formula-looking text,
Excel errors, booleans, nothing — `check` returns findings and never raises, and nothing it
could read is lost. And whatever happens to the bytes of a sheet's XML, the reader never
raises either."""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jixiao.cells import EXCEL_ERRORS, clean_text, column_letter
from jixiao.check import check_files
from jixiao.findings import RULES
from jixiao.reader import MAX_COLUMNS, read_workbook
from jixiao.report import to_json
from jixiao.samples import fill_template

from conftest import DEPT, YEAR

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

PROJECTS, INDICATORS = "项目信息", "绩效指标"
PROJECT_ROWS, INDICATOR_ROWS = range(3, 6), range(3, 12)      # Excel rows
CLEAN = {"projects": [{
    "项目名称": "业务培训项目", "项目性质": "经常性专项业务费", "项目类别": "特定目标类",
    "计划开始日期": "2023-01-01", "计划完成日期": "2023-12-31", "年度资金申请总额": "120000.00",
    "当年财政拨款": "100000.00", "上年结转资金": "0.00", "年度其他资金": "20000.00",
    "年度总体目标": "全年举办业务培训12次，培训基层人员600人次，提升业务能力。",
    "indicators": [
        {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "举办培训次数", "指标值": "≥12(次)"},
        {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "基层业务能力", "指标值": "有效提升"},
        {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "参训人员满意度", "指标值": "≥90(%)"},
    ]}]}

# --- values a unit might type or paste ----------------------------------------------------------------

any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
control_text = st.text(alphabet=st.characters(max_codepoint=0x9F, categories=("Cc", "Zs", "Nd", "Lu")), max_size=20)
huge_text = st.builds(lambda ch, n: ch * n, st.sampled_from(["长", "a", "１", "\u00a0", "<p>", "≥"]),
                      st.integers(1_000, 40_000))
numbers = st.one_of(
    st.integers(min_value=-10 ** 18, max_value=10 ** 18),
    st.floats(allow_nan=False, allow_infinity=False),      # openpyxl writes inf and NaN as an empty <v/>
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=3, allow_nan=False),
)
dates = st.one_of(
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.times(),
)
formula_like = st.one_of(
    st.sampled_from(["=SUM(A1:A3)", '=HYPERLINK("http://example.com","点我")', "=1/0", "＝A1", "=A1048576",
                     "=cmd|' /C calc'!A0", "+1+2", "-1", "@SUM(1)", "=[1]Sheet1!$A$1", "=", "==", "=)"]),
    any_text.map(lambda s: "=" + s),
)
text_like_data = st.sampled_from([
    "七十万", "700,000.00元", "７０００００", "¥1,234.56", " 100000 ", "\u00a0经常性专项业务费\u3000", "2023/1/1",
    "2023年1月1日", "20230101", "≥280.00(次)", "≥", "%", "<b>粗体</b>", "TRUE", "#N/A", "-0", "1e308", "NaN",
])
values = st.one_of(st.none(), any_text, control_text, huge_text, numbers, dates, formula_like,
                   st.sampled_from(sorted(EXCEL_ERRORS)), st.booleans(), text_like_data)

project_cells = st.tuples(st.just(PROJECTS), st.sampled_from(PROJECT_ROWS), st.integers(1, 14))
indicator_cells = st.tuples(st.just(INDICATORS), st.sampled_from(INDICATOR_ROWS), st.integers(1, 8))
edits = st.dictionaries(st.one_of(project_cells, indicator_cells), values, min_size=1, max_size=12)

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def excel_text(value: str) -> str:
    """Control characters as Excel itself stores them in a cell (_xHHHH_), since XML cannot hold them."""
    return _ILLEGAL.sub(lambda m: f"_x{ord(m[0]):04X}_", value)


def writable(value):
    if isinstance(value, str):
        return excel_text(value)
    return value


@pytest.fixture(scope="module")
def clean_return(tmp_path_factory, templates, spec) -> Path:
    out = tmp_path_factory.mktemp("fuzz") / "310001_clean.xlsx"
    return fill_template(templates["310001"], CLEAN, out, spec)


@FUZZ
@given(edits=edits)
def test_check_returns_findings_and_never_raises(edits, clean_return, tmp_path, spec):
    import openpyxl

    wb = openpyxl.load_workbook(clean_return)
    for (sheet, row, col), value in edits.items():
        wb[sheet].cell(row=row, column=col).value = writable(value)
    path = tmp_path / "310001_fuzz.xlsx"
    wb.save(path)

    (report,) = check_files([path], department=DEPT, year=YEAR, keep_cells=True)

    assert all(f.rule in RULES and f.message and f.severity in ("error", "warning") for f in report.findings)
    json.loads(to_json([report]))
    sub = report.submission
    if not sub.readable:
        assert [f.rule for f in report.findings] == ["S-01"]
        return
    # nothing that could be read is lost: every written input cell with visible content is in a table
    tables = {PROJECTS: sub.projects, INDICATORS: sub.indicators}
    for (sheet, row, col), value in edits.items():
        if value is None or (isinstance(value, str) and clean_text(value) is None):
            continue
        table = tables[sheet]
        rows = dict(table.rows)
        assert row - 1 in rows, (sheet, row, col, value)
        assert rows[row - 1][col - 1] is not None, (sheet, row, col, value)


# --- bytes of a sheet's XML, damaged -----------------------------------------------------------------------

damage = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 40),
                            st.sampled_from([b"", b"<", b">", b"/", b'"', b"<c r=\"XFD1048576\">", b"<row r=\"0\">",
                                             b"<v>1e999</v>", b"&lol;", b"</c>", b"</row>", b"<c>", b"\x00",
                                             b"<!DOCTYPE x>", b"\xff\xfe", b" t=\"e\"", b" s=\"999999\"",
                                             b" t=\"b\"", b" t=\"d\"", b"<f>A1</f>", b"<is><t>x</t></is>"])),
                min_size=1, max_size=6)


@FUZZ
@given(damage=damage, which=st.sampled_from(["xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
                                             "xl/worksheets/sheet5.xml", "xl/workbook.xml", "xl/styles.xml"]))
def test_damaged_xml_never_raises(damage, which, clean_return, tmp_path, spec):
    with zipfile.ZipFile(clean_return) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    xml = members[which]
    for where, cut, insert in damage:
        at = int(where * len(xml))
        xml = xml[:at] + insert + xml[at + cut:]
    members[which] = xml
    path = tmp_path / "310001_damaged.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)

    sub = read_workbook(path, spec)

    if not sub.readable:
        assert [f.rule for f in sub.findings] == ["S-01"]
        return
    for table, sheet in ((sub.projects, spec.projects), (sub.indicators, spec.indicators)):
        if table is not None:
            assert all(len(values) == len(sheet.labels) for _r, values in table.rows)
            assert max(table.columns.values(), default=0) < MAX_COLUMNS


# --- the bound the reader puts on every sheet holds for calamine ---------------------------------------

_column = column_letter   # 0-based column index → letters


def _cell(prefix: str):
    return st.builds(
        lambda has_r, row, col, empty, quote, extra: (
            f"<{prefix}c" + (f" r={quote}{_column(col)}{row}{quote}" if has_r else "") + extra
            + ("/>" if empty else f"><{prefix}v>1</{prefix}v></{prefix}c>")),
        st.booleans(), st.integers(1, 100_000), st.integers(0, 300), st.booleans(), st.sampled_from(['"', "'"]),
        st.sampled_from(["", ' s="0"', "\t", ' r="A1"', '\nt="n"']))


def _row(prefix: str):
    return st.builds(
        lambda has_r, row, cells, empty, quote: (
            f"<{prefix}row" + (f" r={quote}{row}{quote}" if has_r else "")
            + ("/>" if empty else ">" + "".join(cells) + f"</{prefix}row>")),
        st.booleans(), st.integers(1, 100_000), st.lists(_cell(prefix), max_size=6), st.booleans(),
        st.sampled_from(['"', "'"]))


sheet_data = st.sampled_from(["", "x:", "中:"]).flatmap(lambda p: st.lists(_row(p), max_size=12).map(
    lambda rows: (p, "".join(rows))))


@settings(max_examples=60, deadline=None)
@given(sheet=sheet_data)
def test_calamine_never_sees_a_cell_beyond_the_bounds(sheet):
    """Rows and cells with and without positions, quoted either way, self-closing or not, under a
    namespace prefix or none: whatever calamine makes of the bounded XML lies inside the bounds
    (calamine allocates its grid up to the farthest cell; one cell too far can abort the process)."""
    import io

    import python_calamine

    from jixiao import package as reader
    from jixiao.errors import Unreadable

    prefix, rows = sheet
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    declare = f' xmlns:{prefix[:-1]}="{ns}"' if prefix else ""
    xml = f'<worksheet xmlns="{ns}"{declare}><{prefix}sheetData>{rows}</{prefix}sheetData></worksheet>'.encode()
    max_rows, max_cols = 50, 10
    try:
        bounded = reader.bounded_sheet(xml, "s", max_rows, max_cols)
    except Unreadable:
        return
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("_rels/.rels", reader._PACKAGE_RELS)
        zf.writestr("xl/workbook.xml", f'<workbook xmlns="{ns}" xmlns:r="http://schemas.openxmlformats.org/'
                                       'officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" '
                                       'r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{reader.REL_NS}"><Relationship Id="rId1" '
                                                  f'Type="{reader.TYPE_WORKSHEET}" Target="worksheets/sheet1.xml"/>'
                                                  "</Relationships>")
        zf.writestr("xl/worksheets/sheet1.xml", bounded.xml)
    try:
        end = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(package.getvalue())).get_sheet_by_name("s").end
    except python_calamine.CalamineError:
        return
    assert end is None or (end[0] < max_rows and end[1] < max_cols), (xml, bounded.xml, end)
