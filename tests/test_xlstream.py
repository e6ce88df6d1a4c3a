"""StreamedWorksheet: rows already on disk keep nothing in memory, and the file is the same as
xlsxwriter's own constant_memory output (heights, merges)."""
import datetime
import zipfile

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jixiao import xlstream
from jixiao.xlstream import StreamedWorksheet


def write(path, worksheet_class):
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("申报表", worksheet_class=worksheet_class)
    fmt = wb.add_format({"border": 1})
    kept = []
    for r in range(0, 3000, 3):
        ws.set_row(r, 24)
        ws.merge.append([r, 0, r + 1, 1])
        ws.write_string(r, 0, f"第{r}行", fmt)
        ws.write_blank(r, 1, None, fmt)
        ws.write_blank(r + 1, 0, None, fmt)
        kept.append(len(ws.row_info))
    wb.close()
    return kept


def test_rows_written_keep_no_settings_and_the_file_is_unchanged(tmp_path):
    plain = write(tmp_path / "plain.xlsx", None)
    streamed = write(tmp_path / "streamed.xlsx", StreamedWorksheet)
    assert plain[-1] == 1000 and max(streamed) <= 2
    assert sheet_xml(tmp_path / "streamed.xlsx") == sheet_xml(tmp_path / "plain.xlsx")


# --- the rows StreamedWorksheet writes itself are byte for byte xlsxwriter's ---------------------

def sheet_xml(path) -> bytes:
    return zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")


def write_cells(path, worksheet_class, cells, *, row_format=False, column_format=False):
    """cells: (row, col, kind, value, formatted) written in row order through the public API."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_urls": False})
    ws = wb.add_worksheet("明细", worksheet_class=worksheet_class)
    fmt = wb.add_format({"border": 1, "text_wrap": True})
    if column_format:
        ws.set_column(2, 2, 20, wb.add_format({"num_format": "#,##0.00"}))
        ws.set_column(3, 3, 30)                            # a width without a format
    for row, col, kind, value, formatted in cells:
        if row_format and col == 0:
            ws.set_row(row, 30, wb.add_format({"bold": True}))
        f = fmt if formatted else None
        if kind == "rich":
            ws.write_rich_string(row, col, "甲", wb.add_format({"bold": True}), value, "乙")
        else:
            getattr(ws, f"write_{kind}")(row, col, value, f)
    wb.close()
    return sheet_xml(path)


EVERY_KIND = [
    (0, 0, "string", "项目名称", True), (0, 1, "string", "  前后有空格  ", True), (0, 2, "number", 1234567.89, True),
    (0, 3, "number", 0.1 + 0.2, False), (0, 4, "number", -5, True), (0, 5, "number", 1e20, True),
    (1, 0, "string", "a&b<c>d\"e'\n换行", True), (1, 1, "string", "控制\x01\x1f字符", False),
    (1, 2, "string", "_x0041_ 已是转义", True), (1, 3, "string", "\ufffe非字符\uffff", True),
    (1, 4, "blank", None, True), (1, 6, "blank", None, False), (1, 7, "string", "\t制表开头", True),
    (2, 0, "formula", "=SUM(C1:C2)", True), (2, 1, "boolean", True, True), (2, 2, "number", 3.0, False),
    (2, 3, "url", "internal:'明细'!A1", True), (2, 4, "rich", "粗体", True), (2, 5, "string", "<r>像富文本</r>", True),
    (3, 0, "datetime", datetime.datetime(2023, 3, 31), True), (3, 2, "string", "列格式", False),
    (3, 30, "string", "AE 列", True), (3, 700, "number", 7, True), (3, 800, "string", "三个字母的列", True),
    (5, 0, "string", "中间空一行", False), (5, 1, "string", "", True), (5, 2, "string", "只有结尾空格 ", True),
    (5, 3, "string", "结尾换行\n", False), (5, 4, "string", "\u3000全角空格开头", True),
    (6, 0, "string", "长文本 & <b> " * 30 + " ", True), (6, 1, "string", "控制\x02" + "字" * 300, False),
    (6, 3, "number", 12.5, False), (6, 4, "string", "无格式", False),
]


@pytest.mark.parametrize("quick", [True, False])
def test_every_kind_of_cell_is_written_as_xlsxwriter_writes_it(tmp_path, monkeypatch, quick):
    """Both of StreamedWorksheet's row writers (its own, and xlsxwriter's for another version)."""
    monkeypatch.setattr(xlstream, "QUICK_ROWS", quick)
    for options in ({}, {"row_format": True}, {"column_format": True}, {"row_format": True, "column_format": True}):
        plain = write_cells(tmp_path / "plain.xlsx", None, EVERY_KIND, **options)
        streamed = write_cells(tmp_path / "streamed.xlsx", StreamedWorksheet, EVERY_KIND, **options)
        assert streamed == plain, options


def test_writes_answer_as_xlsxwriter_does(tmp_path):
    """Return values of the shortcut write_string/number/blank: 0, -1 for a row already written or
    outside the sheet, -2 for a string cut at Excel's limit; A1 notation still works."""
    results = {}
    for name, cls in (("plain", None), ("streamed", StreamedWorksheet)):
        wb = xlsxwriter.Workbook(str(tmp_path / f"{name}.xlsx"), {"constant_memory": True})
        ws = wb.add_worksheet("明细", worksheet_class=cls)
        fmt = wb.add_format({"border": 1})
        results[name] = [ws.write_string(0, 0, "甲"), ws.write_number("B1", 2), ws.write_blank(0, 2, None, fmt),
                         ws.write_string(2, 0, "乙" * 40_000), ws.write_number(1, 0, 1), ws.write_blank(1, 0, None, fmt),
                         ws.write_string(3, 20_000, "列外"), ws.write_blank("C4", None, fmt), ws.write_blank(4, 0, None)]
        wb.close()
    assert results["streamed"] == results["plain"] == [0, 0, 0, -2, -1, -1, -1, 0, 0]
    assert sheet_xml(tmp_path / "streamed.xlsx") == sheet_xml(tmp_path / "plain.xlsx")


def test_column_names_from_many_threads():
    """The column names are shared by the web page's merge threads: each is computed right."""
    from concurrent.futures import ThreadPoolExecutor
    from xlsxwriter.utility import xl_col_to_name
    xlstream._column_name.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(xlstream._column_name, [c % 2000 for c in range(20_000)]))
    assert names == [xl_col_to_name(c % 2000) for c in range(20_000)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(max_size=80), st.floats(allow_nan=False, allow_infinity=False),
                          st.integers(-10**15, 10**15), st.none()), min_size=1, max_size=40),
       st.integers(1, 30), st.booleans(), st.booleans())
def test_any_row_of_text_and_numbers_is_written_as_xlsxwriter_writes_it(tmp_path, values, width, rows, columns):
    cells = [(i // width, i % width, "blank" if v is None else "string" if isinstance(v, str) else "number", v,
              i % 3 == 0) for i, v in enumerate(values)]
    options = {"row_format": rows, "column_format": columns}
    assert (write_cells(tmp_path / "s.xlsx", StreamedWorksheet, cells, **options)
            == write_cells(tmp_path / "p.xlsx", None, cells, **options))
