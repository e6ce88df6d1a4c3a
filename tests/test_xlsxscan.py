"""xlsxscan: the streaming reader reconcile uses on the 汇总表 gives what openpyxl reads, for every
kind of cell xlsxwriter writes, across chunk boundaries, in constant_memory mode and not."""
import string

import openpyxl
import pytest
import xlsxwriter
from hypothesis import given, settings, HealthCheck, strategies as st

from jixiao import xlsxscan
from jixiao.xlstream import StreamedWorksheet

TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(list("&<>\"' _x0100_\u3000")),
               max_size=30)


def write(path, rows, constant_memory, heights=()):
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": constant_memory, "strings_to_formulas": False,
                                         "strings_to_numbers": False, "strings_to_urls": False})
    ws = wb.add_worksheet("明细 & <表>", worksheet_class=StreamedWorksheet if constant_memory else None)
    wb.add_worksheet("空表")
    for r, row in enumerate(rows):
        if r in heights:
            ws.set_row(r, 30)
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                ws.write_boolean(r, c, value)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            elif value.startswith("="):
                ws.write_formula(r, c, value, None, 7)
            else:
                ws.write_string(r, c, value)
    wb.close()


def by_openpyxl(path, sheet, columns):
    ws = openpyxl.load_workbook(path)[sheet]
    out = []
    for r, row in enumerate(ws.iter_rows(values_only=True)):
        out.append((r, tuple(row[c] if c < len(row) else None for c in columns)))
    return out


@pytest.mark.parametrize("constant_memory", [True, False])
def test_every_kind_of_cell(tmp_path, constant_memory, monkeypatch):
    monkeypatch.setattr(xlsxscan, "CHUNK", 64)          # rows cross chunk boundaries
    rows = [["序号", "单位编码", "项目名称", "指标"],
            [1, "310001", "A & B <c>", "  前后空格  "],
            [2, None, "_x0100_", "=1+6"],
            [3.5, "x" * 300, True, "引号\"'"],
            [],
            [4, "中文", None, "末行"]]
    path = tmp_path / "t.xlsx"
    write(path, rows, constant_memory, heights={4, 5})
    got = [(r, v) for r, v in xlsxscan.iter_rows(path, "明细 & <表>", (0, 1, 2, 3)) if any(x is not None for x in v)]
    # a formula reads as its stored value (what a client shows); "_x0100_" as written, unescaped
    want = [(r, tuple(7 if isinstance(x, str) and x.startswith("=") else x for x in row) + (None,) * (4 - len(row)))
            for r, row in enumerate(rows) if row]
    assert got == want
    # the rest as a client reads it (openpyxl leaves SpreadsheetML's _xHHHH_ escapes as they are)
    assert [v[:2] for _, v in got] == [v[:2] for _, v in by_openpyxl(path, "明细 & <表>", (0, 1)) if any(v)]
    assert xlsxscan.header_row(path, "明细 & <表>") == rows[0]
    assert list(xlsxscan.iter_rows(path, "空表", (0,))) == []
    assert xlsxscan.header_row(path, "空表") == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(TEXT | st.integers(-10**9, 10**9) | st.none(), min_size=1, max_size=5), min_size=1, max_size=12))
def test_any_text_reads_back(tmp_path, rows):
    path = tmp_path / "p.xlsx"
    write(path, rows, True)
    width = max(len(r) for r in rows)
    got = dict(xlsxscan.iter_rows(path, "明细 & <表>", tuple(range(width))))
    for r, row in enumerate(rows):
        values = got.get(r, (None,) * width)
        for c, value in enumerate(row):
            blank = lambda x: None if x == "" else x  # noqa: E731  (an empty string is a blank cell)
            # write() makes a text that starts with "=" a formula whose stored value is 7
            shown = 7 if isinstance(value, str) and value.startswith("=") else value
            assert blank(values[c]) == blank(shown), (r, c, value, values[c])


def test_columns_past_z(tmp_path):
    path = tmp_path / "wide.xlsx"
    row = [f"c{i}" for i in range(60)]
    write(path, [row], True)
    assert xlsxscan.column_letter(27) == "AB" and xlsxscan.column_index("AB") == 27
    assert next(xlsxscan.iter_rows(path, "明细 & <表>", (0, 27, 59)))[1] == ("c0", "c27", "c59")


def test_only_rows_with_a_cell_in_the_columns_asked_for(tmp_path, monkeypatch):
    """iter_rows matches the asked columns' cells alone: a row with none of them is not yielded, a
    formatted blank is (as None), and AB is never taken for A, across chunk boundaries."""
    monkeypatch.setattr(xlsxscan, "CHUNK", 37)
    path = tmp_path / "t.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("明细 & <表>", worksheet_class=StreamedWorksheet)
    border = wb.add_format({"border": 1})
    ws.write_string(0, 0, "甲")
    ws.write_string(1, 1, "只有 B")
    ws.write_string(2, 27, "只有 AB")
    ws.write_blank(3, 0, None, border)
    ws.write_number(4, 27, 5)
    ws.write_string(4, 0, "戊")
    wb.close()
    assert list(xlsxscan.iter_rows(path, "明细 & <表>", (0,))) == [(0, ("甲",)), (3, (None,)), (4, ("戊",))]
    assert list(xlsxscan.iter_rows(path, "明细 & <表>", (27, 0))) == [(0, (None, "甲")), (2, ("只有 AB", None)),
                                                                    (3, (None, None)), (4, (5, "戊"))]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(TEXT | st.integers(-10**9, 10**9) | st.none(), min_size=1, max_size=5), min_size=1, max_size=12),
       st.integers(16, 400))
def test_any_chunk_size(tmp_path, rows, chunk):
    """The same rows whatever the chunk (a row is never cut)."""
    path = tmp_path / "p.xlsx"
    write(path, rows, True)
    width = max(len(r) for r in rows)
    whole = list(xlsxscan.iter_rows(path, "明细 & <表>", tuple(range(width))))
    old, xlsxscan.CHUNK = xlsxscan.CHUNK, chunk
    try:
        assert list(xlsxscan.iter_rows(path, "明细 & <表>", tuple(range(width)))) == whole
    finally:
        xlsxscan.CHUNK = old
