"""The print-check toolkit (tests/printcheck.py) on synthetic workbooks written with xlsxwriter.

Most cases are sheets of one workbook printed once (a sheet a page, in sheet order); the
calibration sheets print the same words at 100 %, at a fixed 70 % and at a fit-to-width scale.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

import printcheck as pc
from printcheck import Word

LIBREOFFICE = pytest.mark.requires_soffice("pdftotext", "pdfinfo", "pdftohtml")
FONT = "宋体"
SIZES = (6, 8, 9, 10, 12, 16)
LONG = "这是一段很长的说明文字，需要换行显示，否则打印时会和下一行重叠。" * 2
CUT = "一段没有换行的长文字会被右边单元格截断"

# Sheet name → what it shows.  Pages follow this order, one page a sheet.
SHEETS = ("汇总表", "wrap_bottom", "wrap_top", "wrap_vcenter", "wrap_clipped", "cut_off", "wide25", "wide12",
          "cal100", "cal70", "calfit")


def _calibration(wb, ws, scale: str) -> None:
    """Each size on its own row: Latin, digits and CJK in 宋体, bold CJK, Latin in Calibri."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_column(0, 1, 26)
    ws.set_column(2, 2, 16)
    ws.set_column(3, 3, 12)
    for i, size in enumerate(SIZES):
        ws.set_row(i, size * 2)
        fmt = wb.add_format({"font_name": FONT, "font_size": size})
        ws.write(i, 0, f"Budget{size} {size}2345", fmt)
        ws.write(i, 1, f"项目绩效{size}目标", fmt)
        ws.write(i, 2, f"年度{size}目标", wb.add_format({"font_name": FONT, "font_size": size, "bold": True}))
        ws.write(i, 3, f"Total{size}", wb.add_format({"font_name": "Calibri", "font_size": size}))
    if scale == "70":
        ws.set_print_scale(70)
    elif scale == "fit":                # ten more narrow columns: a scale of 0.7–0.9
        ws.set_column(4, 13, 6)
        ws.write(0, 13, "|", wb.add_format({"font_name": FONT, "font_size": 12}))
        ws.fit_to_pages(1, 0)


def _wide(wb, ws, columns: int) -> None:
    fmt = wb.add_format({"font_name": FONT, "font_size": 10, "border": 1})
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_column(0, columns - 1, 7.5)
    for c in range(columns):
        ws.write(0, c, f"列{c + 1:02d}", fmt)
        for r in range(1, 4):
            ws.write(r, c, f"项目{r}{c}", fmt)


def make_book(path: Path) -> Path:
    wb = xlsxwriter.Workbook(path)
    ws = {name: wb.add_worksheet(name) for name in SHEETS}

    # clean: 11 pt, short texts, a two-line header in a row tall enough, a formula with a wrong cache
    s = ws["汇总表"]
    head = wb.add_format({"font_name": FONT, "font_size": 11, "bold": True, "border": 1, "text_wrap": True,
                          "align": "center", "valign": "vcenter"})
    cell = wb.add_format({"font_name": FONT, "font_size": 11, "border": 1, "valign": "vcenter"})
    s.set_paper(9)
    s.fit_to_pages(1, 0)
    s.set_footer("&C第 &P 页")
    s.set_column(0, 0, 24)
    s.set_column(1, 2, 14)
    s.merge_range(0, 0, 0, 2, "2023年度项目绩效目标汇总表", wb.add_format({"font_name": FONT, "font_size": 16,
                                                                 "bold": True, "align": "center"}))
    s.set_row(0, 24)
    s.set_row(1, 36)
    s.write_row(1, 0, ["项目名称", "预算金额\n（万元）", "Code"], head)
    rows = (("城市道路养护", 120.5), ("Library renewal 2023", 88), ("公共绿地改造", 42))
    for r, (name, amount) in enumerate(rows, 2):
        s.set_row(r, 18)
        s.write_row(r, 0, [name, amount, f"P-{r:03d}"], cell)
    s.set_row(5, 18)
    s.write(5, 0, "合计", cell)
    s.write_formula(5, 1, "=SUM(B3:B5)", cell, 999)    # cached value wrong on purpose: 250.5 is right
    s.write(5, 2, "", cell)

    wrap_bottom = wb.add_format({"font_name": FONT, "font_size": 11, "text_wrap": True})
    wrap_top = wb.add_format({"font_name": FONT, "font_size": 11, "text_wrap": True, "valign": "top"})
    wrap_vcenter = wb.add_format({"font_name": FONT, "font_size": 11, "text_wrap": True, "valign": "vcenter",
                                  "border": 1})
    plain = wb.add_format({"font_name": FONT, "font_size": 11})
    for name, fmt, height in (("wrap_bottom", wrap_bottom, None), ("wrap_top", wrap_top, None),
                              ("wrap_vcenter", wrap_vcenter, None), ("wrap_clipped", wrap_vcenter, 40)):
        s = ws[name]
        s.set_column(0, 1, 14)
        s.write(0, 0, "第一行", plain)
        s.write(1, 0, LONG, fmt)                # row 2: no height (or 40 pt), the text needs ten lines
        if height:
            s.set_row(1, height)
        s.write(2, 0, "第三行文字", plain)
        s.write(2, 1, "Row 3", plain)

    s = ws["cut_off"]
    s.set_column(0, 1, 12)
    s.write(0, 0, CUT, plain)
    s.write(0, 1, "右边", plain)
    s.write(1, 0, 123456789.25, wb.add_format({"font_name": FONT, "font_size": 11, "num_format": "#,##0.00"}))
    s.write(2, 0, "Latin text may run on into empty cells", plain)

    _wide(wb, ws["wide25"], 25)
    _wide(wb, ws["wide12"], 12)
    _calibration(wb, ws["cal100"], "100")
    _calibration(wb, ws["cal70"], "70")
    _calibration(wb, ws["calfit"], "fit")
    wb.close()
    return path


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    return make_book(tmp_path_factory.mktemp("book") / "book.xlsx")


@pytest.fixture(scope="module")
def printed(book, tmp_path_factory):
    """(pdf, words by sheet name)."""
    pdf = pc.to_pdf(book, tmp_path_factory.mktemp("pdf"))
    assert pc.sheet_pages(pdf) == {name: range(i, i + 1) for i, name in enumerate(SHEETS, 1)}, \
        "every sheet should print on exactly one page"
    found = pc.words(pdf)
    assert all(w.sheet == SHEETS[w.page - 1] for w in found)
    return pdf, {name: [w for w in found if w.sheet == name] for name in SHEETS}


def texts(found) -> list[str]:
    return [w.text for w in found]


# --- without LibreOffice: the geometry on hand-made words ---------------------------------------------

def word(text, x0, y0, size, page=1) -> Word:
    return Word(page, x0, y0, x0 + size * len(text), y0 + pc.BOX_EM * size, text, 595.0, 842.0)


def test_size_and_ink_box_follow_the_box_height():
    w = word("国", 50, 100, 10)
    assert w.size == pytest.approx(10)
    assert w.baseline == pytest.approx(109.5)
    assert w.ink == pytest.approx((50, 101.5, 60, 111.7))


def test_overlap_needs_ink_to_meet_both_ways():
    upper = word("上一行文字", 50, 100, 11)
    assert pc.overlapping([upper, word("下一行", 50, 115, 11)]) == []                 # rows 15 pt apart
    assert pc.overlapping([upper, word("下一行", 50, 113, 11)]) == []                 # boxes touch, ink does not
    hit = word("下一行", 50, 105, 11)
    assert pc.overlapping([upper, hit]) == [(upper, hit)]
    assert pc.overlapping([upper, word("右边", 106, 100, 11)]) == []                  # side by side
    assert pc.overlapping([upper, word("下一行", 50, 105, 11, page=2)]) == []         # another page
    tiny = [word("小字", 50, 100, 3), word("小字", 50, 102, 3)]                        # 2 pt at 3 pt print
    assert len(pc.overlapping(tiny)) == 1


def test_text_below_and_smallest():
    found = [word("a", 0, 0, 12), word("b", 0, 20, 8.6), word("c", 0, 40, 8.99), word(" ", 0, 60, 2)]
    assert texts(pc.text_below(found, 9.0)) == ["b"]            # 8.99: LibreOffice's rounding of 9
    assert texts(pc.text_below(found, 9.0, slack=0)) == ["b", "c"]
    assert texts(pc.smallest_text(found, 2)) == ["b", "c"]


def test_printed_text_may_span_words_and_glue_to_neighbours():
    lines = ("这是一段很长的", "说明文字，", "一段没有换行的长右边", "Row", "3")
    printed = pc._Printed([word(t, 0, 0, 10) for t in lines])
    assert printed.has("这是一段很长的说明文字，")
    assert printed.has("Row 3") and printed.has("右边") and printed.has("很长")
    assert not printed.has("这是一段很长的说明文字，需要换行")
    assert not printed.has(CUT)


def test_recalculated_refuses_to_overwrite_its_input(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(b"")
    with pytest.raises(ValueError, match="overwrite"):
        pc.recalculated(tmp_path / "a.xlsx", tmp_path)


# --- with LibreOffice -----------------------------------------------------------------------------------

@LIBREOFFICE
def test_tools_and_fonts_are_those_of_ci():
    """Without Carlito LibreOffice makes columns 26 % wider than Excel does, and fitted sheets print
    smaller than they will; without Noto CJK the Chinese text is not printed at all.  CI installs both."""
    missing = pc.missing_tools()
    if missing and os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"not installed: {', '.join(missing)}; print checks measure what CI would not")
    assert missing == []


@LIBREOFFICE
def test_clean_sheet_prints_cleanly(printed, book):
    pdf, found = printed
    clean = found["汇总表"]
    assert {"2023年度项目绩效目标汇总表", "城市道路养护", "Library", "P-003"} <= set(texts(clean))
    assert pc.overlapping(clean) == []
    assert pc.text_below(clean, 9.0) == []
    assert min(w.size for w in clean) == pytest.approx(11, abs=0.5)
    assert [m for m in pc.missing_text(book, clean) if m.sheet == "汇总表"] == []
    assert pc.hashes(clean) == []


@LIBREOFFICE
def test_printed_formulas_are_recalculated(printed):
    pdf, _ = printed
    page = pc.page_texts(pdf)[SHEETS.index("汇总表")]
    assert "250.5" in page and "999" not in page
    assert re.search(r"第\s*1\s*页", page)


@LIBREOFFICE
@pytest.mark.parametrize("sheet, lines_lost, lines_on_neighbours", [
    ("wrap_bottom", True, False),       # default height: the last line printed in the cell, the rest lost
    ("wrap_top", True, False),          # the first line printed, the rest lost
    ("wrap_vcenter", True, True),       # the middle lines printed over rows 1 and 3, unclipped; the rest lost
    ("wrap_clipped", False, True),      # a stored height: clipped at the cell, every line written
])
def test_wrapped_text_in_a_low_row_is_found(printed, book, sheet, lines_lost, lines_on_neighbours):
    pdf, found = printed
    on_page = found[sheet]
    assert {"第一行", "第三行文字", "Row"} <= set(texts(on_page))
    missing = [m.cell for m in pc.missing_text(book, on_page) if m.sheet == sheet]
    assert missing == (["A2"] if lines_lost else [])            # the neighbours themselves print
    pairs = pc.overlapping(on_page)
    neighbours = {w.text for pair in pairs for w in pair} & {"第一行", "第三行文字", "Row"}
    assert neighbours == ({"第一行", "第三行文字"} if lines_on_neighbours else set())
    for a, b in pairs:                                           # each pair: a line of A2 on a neighbour
        assert len({a.text, b.text} & {"第一行", "第三行文字"}) == 1


@LIBREOFFICE
def test_text_cut_off_by_a_neighbour_and_hashes_are_found(printed, book):
    pdf, found = printed
    on_page = found["cut_off"]
    missing = [m for m in pc.missing_text(book, on_page) if m.sheet == "cut_off"]
    assert [(m.cell, m.text) for m in missing] == [("A1", CUT)]       # 右边 glued to it still reads
    assert texts(pc.hashes(on_page)) == ["###"]


@LIBREOFFICE
def test_too_many_columns_fitted_to_a_page_print_too_small(printed):
    pdf, found = printed
    small = pc.text_below(found["wide25"], 9.0)
    assert len(small) == len(found["wide25"]) == 25 * 4
    assert max(w.size for w in small) < 6.5
    assert pc.text_below(found["wide12"], 9.0) == []
    assert min(w.size for w in found["wide12"]) == pytest.approx(10, abs=0.1)
    assert pc.overlapping(found["wide25"]) == pc.overlapping(found["wide12"]) == []


def _calibration_words(found, sheet):
    """(nominal size, kind) → word, for the calibration sheet's words."""
    wanted = {text: (size, kind) for size in SIZES
              for kind, text in (("latin", f"Budget{size}"), ("digits", f"{size}2345"), ("cjk", f"项目绩效{size}目标"),
                                 ("bold", f"年度{size}目标"), ("calibri", f"Total{size}"))}
    return {wanted[w.text]: w for w in found[sheet] if w.text in wanted}


@LIBREOFFICE
def test_font_size_estimates_are_within_half_a_point(printed):
    """At 100 %, 70 % and fit-to-width, Latin, digits, CJK and bold: box height / 1.3 is the printed
    size (nominal × page scale); the fit scale is measured independently, from word widths."""
    pdf, found = printed
    full = _calibration_words(found, "cal100")
    assert len(full) == len(SIZES) * 5
    fit = _calibration_words(found, "calfit")
    widths = [(fit[k].x1 - fit[k].x0) / (full[k].x1 - full[k].x0) for k in full]
    fit_scale = sum(widths) / len(widths)
    assert 0.6 < fit_scale < 0.95 and max(widths) - min(widths) < 0.03
    errors = {}
    for sheet, scale in (("cal100", 1.0), ("cal70", 0.70), ("calfit", fit_scale)):
        measured = _calibration_words(found, sheet)
        assert measured.keys() == full.keys()
        for (size, kind), w in measured.items():
            errors[sheet, size, kind] = w.size - size * scale
    worst = max(errors, key=lambda k: abs(errors[k]))
    assert abs(errors[worst]) <= 0.5, (worst, errors[worst])
    assert abs(errors[worst]) <= 0.1, (worst, errors[worst])      # in fact much closer: ~0.1 pt rounding


@LIBREOFFICE
def test_assert_prints_cleanly_reports_pages_and_words(printed, book):
    pdf, _ = printed
    problems = pc.print_problems(book, pdf)
    report = "\n".join(problems)
    wide = SHEETS.index("wide25") + 1
    assert any(line.startswith(f"page {wide} (wide25): text below 9.0 pt: '") and " pt (x " in line for line in problems)
    for sheet in ("wrap_vcenter", "wrap_clipped"):
        assert any(line.startswith(f"page {SHEETS.index(sheet) + 1} ({sheet}): overlapping text") for line in problems)
    assert "wrap_bottom!A2 '这是一段" in report and f"cut_off!A1 {CUT!r}" in report
    assert "(###)" in report
    pages_with_problems = {int(n) for line in problems for n in re.findall(r"\d+", line.split(":")[0])}
    assert SHEETS.index("汇总表") + 1 not in pages_with_problems
    assert SHEETS.index("wide12") + 1 not in pages_with_problems
    # known elements can be exempted: here everything but the clean sheet
    quiet = pc.print_problems(book, pdf, ignore=lambda w: w.page != 1, ignore_cells=lambda m: m.sheet != "汇总表")
    assert quiet == []


@LIBREOFFICE
def test_assert_prints_cleanly(tmp_path):
    wb = xlsxwriter.Workbook(tmp_path / "good.xlsx")
    ws = wb.add_worksheet("汇总")
    fmt = wb.add_format({"font_name": FONT, "font_size": 11, "border": 1, "text_wrap": True, "valign": "top"})
    ws.set_column(0, 0, 14)
    ws.write(0, 0, "短文字", fmt)
    ws.set_row(1, 16 * 12)                        # room for twelve lines of 11 pt, 16 pt apart (it needs 8–10)
    ws.write(1, 0, LONG, fmt)
    ws.write(2, 0, "第三行文字", fmt)
    wb.close()
    bad = make_book(tmp_path / "bad.xlsx")
    with ThreadPoolExecutor(2) as pool:                 # two conversions at once: one profile each
        good, bad = (pool.submit(pc.assert_prints_cleanly, path, tmp_path / "out")
                     for path in (tmp_path / "good.xlsx", bad))
        pdf = good.result()
        assert "第三行文字" in pc.page_texts(pdf)[0]
        with pytest.raises(AssertionError) as failure:
            bad.result()
    message = str(failure.value)
    assert message.startswith(f"bad.xlsx does not print cleanly ({tmp_path / 'out' / 'bad.pdf'}, {len(SHEETS)} pages)")
    assert "text below 9.0 pt" in message and "overlapping text" in message and "not all printed" in message


@LIBREOFFICE
def test_recalculation_on_load(tmp_path):
    """A formula =1+1 cached as 5: a plain LibreOffice conversion keeps 5, the recalculated copy reads 2.
    Both conversions run at once (each has its own profile)."""
    source = tmp_path / "cached.xlsx"
    wb = xlsxwriter.Workbook(source)
    ws = wb.add_worksheet("s")
    ws.write_formula("A1", "=1+1", None, 5)
    ws.write_number("B1", 3)
    ws.write_formula("C1", "=B1*2", None, 99)
    wb.close()
    with ThreadPoolExecutor(2) as pool:
        plain = pool.submit(pc.convert, source, tmp_path / "plain", "xlsx", recalc=False)
        recalc = pool.submit(pc.recalculated, source, tmp_path / "recalc")
        plain, recalc = plain.result(), recalc.result()

    def values(path):
        sheet = openpyxl.load_workbook(path, data_only=True)["s"]
        return sheet["A1"].value, sheet["C1"].value

    assert values(source) == (5, 99)
    assert values(plain) == (5, 99)
    assert values(recalc) == (2, 6)
    assert openpyxl.load_workbook(recalc)["s"]["A1"].value == "=1+1"


@LIBREOFFICE
def test_conversion_failures_are_reported(tmp_path):
    source = make_book(tmp_path / "book.xlsx")
    with pytest.raises(RuntimeError, match="did not finish in 0 s"):
        pc.to_pdf(source, tmp_path / "out", timeout=0.2)
    with pytest.raises(RuntimeError, match="did not convert"):
        pc.convert(source, tmp_path / "out", "nosuchfilter")
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(tmp_path) not in ps, "a timed-out soffice was left running"
