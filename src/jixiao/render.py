"""Consolidated data → the 汇总表 workbook (xlsxwriter), and reading it back to reconcile.

Sheets: 汇总 (one row per project, unit subtotals and a grand total as formulas carrying their
values), 申报表 (every project as the official 财政项目支出绩效目标申报表 block, one per page),
绩效指标明细 (every indicator, flat) and 报送情况 (every roster unit). User text is always
written with write_string, so "=HYPERLINK(…)" typed by a unit stays text.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
import re
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from .cells import CENT, clean_text, money_text, to_decimal
from .merge import Consolidated, Project

SUMMARY_SHEET = "汇总"
FORM_SHEET_PREFIX = "申报表"
DETAIL_SHEET = "绩效指标明细"
STATUS_SHEET = "报送情况"
SUMMARY_HEADER_ROW = 2          # 0-based: title, unit line, header
FONT = "宋体"
EXCEL_MAX_ROWS = 1_048_576
MAX_FORM_ROWS = EXCEL_MAX_ROWS - 1_000     # room for the estimate in _block_height to be off
MAX_FORM_BLOCKS = 1_000                   # Excel keeps at most 1,026 manual page breaks per sheet


class ReconciliationError(Exception):
    """The written 汇总表 does not reproduce the inputs; it was not put in place."""


class _Styles:
    def __init__(self, wb):
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}

        def f(**kw):
            return wb.add_format({**base, **kw})

        self.title = f(bold=True, font_size=16, align="center")
        self.subtitle = f(align="center", font_size=11)
        self.note = f(align="right")
        self.header = f(bold=True, align="center", border=1, text_wrap=True, bg_color="#DDEBF7")
        self.text = f(border=1, text_wrap=True)
        self.center = f(border=1, align="center", text_wrap=True)
        self.date = f(border=1, align="center", num_format="yyyy-mm-dd")
        self.money = f(border=1, num_format="#,##0.00")
        self.int = f(border=1, align="center", num_format="0")
        self.link = f(border=1, align="center", font_color="blue", underline=1)
        self.sub_text = f(border=1, bold=True, bg_color="#F2F2F2")
        self.sub_money = f(border=1, bold=True, bg_color="#F2F2F2", num_format="#,##0.00")
        self.sub_int = f(border=1, bold=True, bg_color="#F2F2F2", align="center", num_format="0")
        self.total_text = f(border=1, bold=True, bg_color="#D9D9D9")
        self.total_money = f(border=1, bold=True, bg_color="#D9D9D9", num_format="#,##0.00")
        self.total_int = f(border=1, bold=True, bg_color="#D9D9D9", align="center", num_format="0")
        # 申报表 block
        self.form_title = f(bold=True, font_size=16, align="center")
        self.form_year = f(align="center", font_size=11)
        self.form_year_left = f(align="left", font_size=11)
        self.form_unit = f(align="right", font_size=11)
        self.label = f(border=1, align="center", text_wrap=True, bold=True)
        self.cell = f(border=1, text_wrap=True)
        self.cell_center = f(border=1, text_wrap=True, align="center")
        self.cell_money = f(border=1, num_format="#,##0.00", align="right")
        self.goal = f(border=1, text_wrap=True, valign="top")
        self.status = {"通过": f(border=1, align="center", font_color="#006100", bg_color="#C6EFCE"),
                       "有错误未汇总": f(border=1, align="center", font_color="#9C0006", bg_color="#FFC7CE"),
                       "无法读取": f(border=1, align="center", font_color="#9C0006", bg_color="#FFC7CE"),
                       "未报送": f(border=1, align="center", font_color="#9C5700", bg_color="#FFEB9C")}


def _num(value) -> float | None:
    return None if value is None else float(value)


def _display_text(text: str | None) -> str:
    """Text as printed on the form: HTML paragraph tags become line breaks, other tags go."""
    if not text:
        return ""
    text = re.sub(r"(?i)<\s*(br|/p|/li)\s*/?>", "\n", text)
    text = re.sub(r"</?[a-zA-Z][^<>]*>", "", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def write_summary(c: Consolidated, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": f"{c.department}{c.year}年度{c.spec.summary_title}", "author": "jixiao"})
    st = _Styles(wb)
    summary = wb.add_worksheet(SUMMARY_SHEET)         # first in the workbook, written once blocks are placed
    places = _write_forms(wb, c, st)
    _write_summary_sheet(summary, c, st, places)
    _write_detail(_streamed_sheet(wb, DETAIL_SHEET), c, st)
    _write_status(wb.add_worksheet(STATUS_SHEET), c, st)
    wb.close()


def _streamed_sheet(wb, name: str):
    """A worksheet in xlsxwriter's constant_memory mode: each row goes to disk as it is written.
    绩效指标明细 holds most of the workbook's cells and is written strictly row by row, so it
    need not sit in memory; the 申报表 needs multi-row merges, so the workbook as a whole cannot
    be in that mode. xlsxwriter takes the mode per sheet from the workbook when the sheet is added."""
    wb.constant_memory = True
    try:
        return wb.add_worksheet(name)
    finally:
        wb.constant_memory = False


# --- 汇总 ---------------------------------------------------------------------------------------

def info_fields(c: Consolidated):
    """The short fields of a project shown on 汇总 between its name and its amounts."""
    name = c.spec.role("name")
    return [f for f in c.spec.projects.fields if f.name != name and f.type in ("code", "date", "count", "text")]


def summary_columns(c: Consolidated) -> list[tuple[str, float]]:
    cols = [("序号", 5), ("实施单位", 18), (c.spec.role("name"), 26)]
    cols += [(f.name, 11 if f.type == "date" else 10 if f.type == "count" else 12) for f in info_fields(c)]
    cols += [(label, 14) for label in c.amount_fields()]
    cols += [(f"{l1.name}数", 7) for l1 in c.spec.hierarchy] + [("指标合计", 7)]
    return cols + [("申报表", 9)]


def _write_summary_sheet(ws, c: Consolidated, st: _Styles, places: dict[int, tuple[str, int]]) -> None:
    cols = summary_columns(c)
    labels = [name for name, _ in cols]
    amount_cols = [labels.index(a) for a in c.amount_fields()]
    link_col = len(labels) - 1
    count_cols = list(range(link_col - len(c.spec.hierarchy) - 1, link_col))
    last_col = len(labels) - 1
    ws.merge_range(0, 0, 0, last_col, f"{c.department}{c.year}年度{c.spec.summary_title}", st.title)
    first_amount = amount_cols[0] if amount_cols else 3
    ws.merge_range(1, 0, 1, last_col, f"金额单位：{c.spec.money_unit}    {c.spec.record_noun} {len(c.projects)} 个    "
                                      f"报送单位 {sum(1 for u in c.units if u.projects)} 个", st.note)
    for col, (label, width) in enumerate(cols):
        ws.write_string(SUMMARY_HEADER_ROW, col, label, st.header)
        ws.set_column(col, col, width)
    ws.set_row(0, 30)
    ws.set_row(SUMMARY_HEADER_ROW, 36)
    row = SUMMARY_HEADER_ROW + 1
    serial = 0
    subtotal_cells: dict[int, list[str]] = {col: [] for col in amount_cols + count_cols}
    for status in [u for u in c.units if u.projects]:
        first = row
        for p in c.projects_of(status.unit.code):
            serial += 1
            ws.write_number(row, 0, serial, st.int)
            ws.write_string(row, 1, status.unit.name, st.text)
            ws.write_string(row, 2, p.name, st.text)
            for col, f in enumerate(info_fields(c), start=3):
                value = p.values.get(f.name)
                if isinstance(value, dt.date):
                    ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), st.date)
                elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    ws.write_number(row, col, float(value), st.int)
                elif value is None:
                    ws.write_blank(row, col, None, st.center)
                else:
                    ws.write_string(row, col, str(value), st.center)
            for col, label in zip(amount_cols, c.amount_fields()):
                value = p.values.get(label)
                if value is None:
                    ws.write_blank(row, col, None, st.money)
                else:
                    ws.write_number(row, col, float(value), st.money)
            counts = [sum(1 for i in p.indicators if i.level1 == l1.name) for l1 in c.spec.hierarchy]
            for col, n in zip(count_cols, counts + [len(p.indicators)]):
                ws.write_number(row, col, n, st.int)
            sheet, first_row = places[id(p)]
            ws.write_url(row, link_col, f"internal:'{sheet}'!A{first_row + 1}", st.link, string="查看")
            row += 1
        # Subtotal: SUM over the unit's rows, written with its value for readers that don't recalculate.
        ws.write_string(row, 0, "", st.sub_text)
        ws.write_string(row, 1, f"{status.unit.name}小计", st.sub_text)
        _label_span(ws, row, 2, first_amount - 1, f"{status.projects} 个{c.spec.record_noun}", st.sub_text)
        totals = c.totals(status.unit.code)
        for col, label in zip(amount_cols, c.amount_fields()):
            rng = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(row - 1, col)}"
            ws.write_formula(row, col, f"=SUM({rng})", st.sub_money, float(totals[label]))
            subtotal_cells[col].append(xl_rowcol_to_cell(row, col))
        unit_projects = c.projects_of(status.unit.code)
        count_values = [sum(1 for p in unit_projects for i in p.indicators if i.level1 == l1.name)
                        for l1 in c.spec.hierarchy] + [status.indicators]
        for col, n in zip(count_cols, count_values):
            rng = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(row - 1, col)}"
            ws.write_formula(row, col, f"=SUM({rng})", st.sub_int, n)
            subtotal_cells[col].append(xl_rowcol_to_cell(row, col))
        ws.write_blank(row, link_col, None, st.sub_text)
        row += 1
    ws.write_string(row, 0, "合计", st.total_text)
    _label_span(ws, row, 1, first_amount - 1, f"{len(c.projects)} 个{c.spec.record_noun}", st.total_text)
    ws.write_blank(row, link_col, None, st.total_text)

    def grand_total(col: int) -> str:
        # The sum of the 小计 rows, by their label: one short formula however many units there are
        # (a "+" of every subtotal would pass Excel's 8,192-character limit), and unlike SUBTOTAL
        # it does not shrink when a filter hides rows.
        first_row, last_row = SUMMARY_HEADER_ROW + 1, row - 1
        labels = f"$B${first_row + 1}:$B${last_row + 1}"
        values = f"{xl_rowcol_to_cell(first_row, col)}:{xl_rowcol_to_cell(last_row, col)}"
        return f'=SUMIF({labels},"*小计",{values})' if subtotal_cells[col] else "=0"

    grand = c.totals()
    for col, label in zip(amount_cols, c.amount_fields()):
        ws.write_formula(row, col, grand_total(col), st.total_money, float(grand[label]))
    totals_counts = [sum(1 for p in c.projects for i in p.indicators if i.level1 == l1.name)
                     for l1 in c.spec.hierarchy] + [sum(len(p.indicators) for p in c.projects)]
    for col, n in zip(count_cols, totals_counts):
        ws.write_formula(row, col, grand_total(col), st.total_int, n)
    ws.freeze_panes(SUMMARY_HEADER_ROW + 1, 3)
    ws.autofilter(SUMMARY_HEADER_ROW, 0, row - 1, last_col)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(SUMMARY_HEADER_ROW)
    ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.5)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.activate()


def _label_span(ws, row: int, first: int, last: int, text: str, fmt) -> None:
    if last > first:
        ws.merge_range(row, first, row, last, text, fmt)
    else:
        ws.write_string(row, first, text, fmt)


# --- 申报表 -------------------------------------------------------------------------------------

FORM_WIDTHS = (10, 16, 16, 24, 12, 20)


def _form_sheets(c: Consolidated) -> list[tuple[str, list[Project]]]:
    """One 申报表 sheet, or several when one would pass Excel's limits (1,048,576 rows; 1,026
    manual page breaks, i.e. blocks). Units are never split across sheets unless one unit alone
    is too large; sheets are named 申报表(1), 申报表(2), … and 汇总 links every project to its block."""
    groups: list[list[Project]] = []
    for status in (u for u in c.units if u.projects):
        groups.append(c.projects_of(status.unit.code))
    sheets: list[list[Project]] = [[]]
    rows = 0
    for group in groups:
        height = sum(_block_height(p) for p in group)
        if sheets[-1] and (rows + height > MAX_FORM_ROWS or len(sheets[-1]) + len(group) > MAX_FORM_BLOCKS):
            sheets.append([])
            rows = 0
        for p in group:  # a unit too large for one sheet continues on the next
            if sheets[-1] and (rows + _block_height(p) > MAX_FORM_ROWS or len(sheets[-1]) >= MAX_FORM_BLOCKS):
                sheets.append([])
                rows = 0
            sheets[-1].append(p)
            rows += _block_height(p)
    if len(sheets) == 1:
        return [(FORM_SHEET_PREFIX, sheets[0])]
    return [(f"{FORM_SHEET_PREFIX}({i})", projects) for i, projects in enumerate(sheets, start=1)]


def _block_height(p: Project) -> int:
    """Rows of one block, an upper bound (long goals may take continuation rows)."""
    goal_rows = 1 + sum(len(str(p.values.get(k) or "")) for k in ("项目总目标", "年度总体目标")) // 300
    return 2 + 3 + 4 + 1 + goal_rows + 1 + max(1, len(p.indicators))


@lru_cache(maxsize=65536)
def _text_height(text: str, width_chars: float, line_pt: float = 13.5) -> float:
    """Row height that shows wrapped text whole: a CJK character is about two width units."""
    lines = 0
    per_line = max(1, int(width_chars * 0.95) - 1)
    for part in (text or "").split("\n"):
        units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in part)
        lines += max(1, -(-units // per_line))
    return max(20, min(409, lines * line_pt + 6))


def _chunks(text: str, width_chars: float, max_pt: float = 400) -> list[str]:
    """Split a long goal into pieces that each fit one row (Excel caps a row at 409 points)."""
    if _text_height(text, width_chars) <= max_pt:
        return [text]
    pieces, current = [], ""
    for ch in text:
        if _text_height(current + ch, width_chars) > max_pt:
            pieces.append(current)
            current = ""
        current += ch
    return pieces + ([current] if current else [])


def _write_forms(wb, c: Consolidated, st: _Styles) -> dict[int, tuple[str, int]]:
    """Every block on its page(s); returns id(project) → (sheet, first row) for the 汇总 links."""
    places: dict[int, tuple[str, int]] = {}
    block = BLOCKS[c.spec.layout]
    number = 0
    for name, projects in _form_sheets(c):
        ws = wb.add_worksheet(name)
        for col, width in enumerate(FORM_WIDTHS):
            ws.set_column(col, col, width)
        row, breaks = 0, []
        for p in projects:
            number += 1
            places[id(p)] = (name, row)
            row = block(ws, row, p, c, st, number)
            breaks.append(row)
        ws.set_h_pagebreaks(breaks[:-1][:1023])
        ws.set_portrait()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer(f"&C{c.department}    第 &P 页，共 &N 页")
        ws.hide_gridlines(2)
    return places


def _block_sh_project(ws, r: int, p: Project, c: Consolidated, st: _Styles, number: int) -> int:
    """财政项目支出绩效目标申报表 (Shanghai, seeds 000/001): the official grid, in 元."""
    v = p.values
    spec = c.spec
    ws.merge_range(r, 0, r, 5, spec.title, st.form_title)
    ws.set_row(r, 28)
    ws.merge_range(r + 1, 0, r + 1, 5, f"({c.year}年度)", st.form_year)
    r += 2
    ws.write_string(r, 0, "项目名称", st.label)
    ws.write_string(r, 1, p.name, st.cell)
    ws.write_string(r, 2, "项目性质", st.label)
    ws.write_string(r, 3, v.get("项目性质") or "", st.cell_center)
    ws.write_string(r, 4, "项目类别", st.label)
    ws.write_string(r, 5, v.get("项目类别") or "", st.cell_center)
    ws.set_row(r, _text_height(p.name, FORM_WIDTHS[1]))
    r += 1
    ws.write_string(r, 0, "主管部门", st.label)
    ws.write_string(r, 1, c.department, st.cell)
    ws.write_string(r, 2, "实施单位", st.label)
    ws.merge_range(r, 3, r, 5, p.unit.name, st.cell)
    r += 1
    ws.write_string(r, 0, "计划开始日期", st.label)
    ws.write_string(r, 1, _date_text(v.get("计划开始日期")), st.cell_center)
    ws.write_string(r, 2, "计划完成日期", st.label)
    ws.merge_range(r, 3, r, 5, _date_text(v.get("计划完成日期")), st.cell_center)
    r += 1
    ws.merge_range(r, 0, r + 3, 0, f"项目资金\n（{spec.money_unit}）", st.label)
    fund_rows = (("项目资金总额", "项目资金总额", "年度资金申请总额", "年度资金申请总额"),
                 ("其中：财政资金", "项目财政资金", "其中：当年财政拨款", "当年财政拨款"),
                 ("", None, "上年结转资金", "上年结转资金"),
                 ("其他资金", "项目其他资金", "其他资金", "年度其他资金"))
    for i, (left_label, left, right_label, right) in enumerate(fund_rows):
        ws.write_string(r + i, 1, left_label, st.label if left_label else st.cell)
        _money(ws, r + i, 2, v.get(left) if left else None, st)
        ws.write_string(r + i, 3, right_label, st.label)
        ws.merge_range(r + i, 4, r + i, 5, "", st.cell_money)
        _money(ws, r + i, 4, v.get(right), st)
    r += 4
    start, end = v.get("计划开始日期"), v.get("计划完成日期")
    span = f"（{start.year}年-{end.year}年）" if v.get("项目总目标") and start and end else ""
    whole = _chunks(_display_text(v.get("项目总目标")), sum(FORM_WIDTHS[1:3]))
    annual = _chunks(_display_text(v.get("年度总体目标")), sum(FORM_WIDTHS[3:6]))
    parts = max(len(whole), len(annual))
    ws.merge_range(r, 0, r + parts, 0, "项目绩效\n目标", st.label)
    ws.merge_range(r, 1, r, 2, f"项目总目标{span}", st.label)
    ws.merge_range(r, 3, r, 5, "年度总体目标", st.label)
    for i in range(parts):
        left = whole[i] if i < len(whole) else ""
        right = annual[i] if i < len(annual) else ""
        ws.merge_range(r + 1 + i, 1, r + 1 + i, 2, left, st.goal)
        ws.merge_range(r + 1 + i, 3, r + 1 + i, 5, right, st.goal)
        ws.set_row(r + 1 + i, max(_text_height(left, sum(FORM_WIDTHS[1:3])),
                                  _text_height(right, sum(FORM_WIDTHS[3:6]))))
    r += 1 + parts
    return _indicator_table(ws, r, p, st, first_col=1, with_label=True)


def _indicator_table(ws, r: int, p: Project, st: _Styles, first_col: int, with_label: bool,
                     note: bool = False) -> int:
    """一级 | 二级 | 三级 (| 描述) | 指标值 with merged 一级/二级 runs; returns the next free row."""
    n = max(1, len(p.indicators))
    if with_label:
        ws.merge_range(r, 0, r + n, 0, "绩效\n指标", st.label)
    c1, c2, c3 = first_col, first_col + 1, first_col + 2
    name_last = 4 if not note else c3
    ws.write_string(r, c1, "一级指标", st.label)
    ws.write_string(r, c2, "二级指标", st.label)
    _span(ws, r, c3, name_last, "三级指标", st.label)
    if note:
        _span(ws, r, name_last + 1, 4, "绩效指标描述", st.label)
    ws.write_string(r, 5, "年度(/项目)指标值" if not note else "指标值", st.label)
    r += 1
    _merged_runs(ws, r, c1, [i.level1 for i in p.indicators], st)
    _merged_runs(ws, r, c2, [(i.level1, i.level2) for i in p.indicators], st, key=lambda k: k[1])
    for i, ind in enumerate(p.indicators):
        _span(ws, r + i, c3, name_last, ind.name or "", st.cell)
        height = _text_height(ind.name or "", sum(FORM_WIDTHS[c3:name_last + 1]))
        if note:
            text = _display_text(ind.note)
            _span(ws, r + i, name_last + 1, 4, text, st.cell)
            height = max(height, _text_height(text, sum(FORM_WIDTHS[name_last + 1:5])))
        ws.write_string(r + i, 5, ind.official, st.cell_center)
        ws.set_row(r + i, max(height, _text_height(ind.official, FORM_WIDTHS[5])))
    if not p.indicators:
        for col in range(first_col, 6):
            ws.write_blank(r, col, None, st.cell)
    return r + n


def _span(ws, r: int, first: int, last: int, text: str, fmt) -> None:
    if last > first:
        ws.merge_range(r, first, r, last, text, fmt)
    else:
        ws.write_string(r, first, text, fmt)


def _text_rows(ws, r: int, label: str, text: str, st: _Styles, first_col: int = 1) -> int:
    """A label in column A beside a long text over columns first_col..F, split over rows as needed."""
    chunks = _chunks(_display_text(text), sum(FORM_WIDTHS[first_col:]))
    if len(chunks) > 1:
        ws.merge_range(r, 0, r + len(chunks) - 1, 0, label, st.label)
    else:
        ws.write_string(r, 0, label, st.label)
    for i, chunk in enumerate(chunks):
        _span(ws, r + i, first_col, 5, chunk, st.goal)
        ws.set_row(r + i, _text_height(chunk, sum(FORM_WIDTHS[first_col:])))
    return r + len(chunks)


def _block_tj_project(ws, r: int, p: Project, c: Consolidated, st: _Styles, number: int) -> int:
    """天津 项目绩效目标表 (seed 002): 万元, 预算规模及资金用途, 绩效目标, 绩效指标描述 beside each value."""
    v = p.values
    ws.merge_range(r, 0, r, 5, f"{number}.{p.name}{c.spec.title}", st.form_title)
    ws.set_row(r, 28)
    ws.merge_range(r + 1, 0, r + 1, 3, f"{p.unit.code}{p.unit.name}", st.form_year_left)
    ws.merge_range(r + 1, 4, r + 1, 5, f"单位：{c.spec.money_unit}", st.form_unit)
    r += 2
    ws.write_string(r, 0, "项目名称", st.label)
    ws.merge_range(r, 1, r, 5, p.name, st.cell)
    r += 1
    ws.merge_range(r, 0, r + 2, 0, "预算规模及\n资金用途", st.label)
    ws.write_string(r, 1, "预算数", st.label)
    _money(ws, r, 2, v.get("预算数"), st)
    ws.write_string(r, 3, "其中：财政资金", st.label)
    ws.merge_range(r, 4, r, 5, "", st.cell_money)
    _money(ws, r, 4, v.get("其中财政资金"), st)
    ws.write_string(r + 1, 1, "其他资金", st.label)
    _money(ws, r + 1, 2, v.get("其他资金"), st)
    ws.merge_range(r + 1, 3, r + 1, 5, "", st.cell)
    use = _display_text(v.get("资金用途"))
    ws.write_string(r + 2, 1, "资金用途", st.label)
    ws.merge_range(r + 2, 2, r + 2, 5, use, st.goal)
    ws.set_row(r + 2, _text_height(use, sum(FORM_WIDTHS[2:])))
    r += 3
    r = _text_rows(ws, r, "绩效目标", v.get("绩效目标"), st)
    return _indicator_table(ws, r, p, st, first_col=0, with_label=False, note=True)


def _block_sh_overall(ws, r: int, p: Project, c: Consolidated, st: _Styles, number: int) -> int:
    """整体支出绩效目标申报表 (seed 003): the department as a whole, with 重点任务 and its budget split."""
    v = p.values
    ws.merge_range(r, 0, r, 5, f"《{p.unit.name}{c.spec.title}》", st.form_title)
    ws.set_row(r, 28)
    ws.merge_range(r + 1, 0, r + 1, 5, f"（{c.year}年度）", st.form_year)
    r += 2
    ws.write_string(r, 0, "部门（单位）名称", st.label)
    ws.merge_range(r, 1, r, 2, p.name, st.cell)
    ws.write_string(r, 3, "下属预算单位个数", st.label)
    ws.merge_range(r, 4, r, 5, _count_text(v.get("下属预算单位个数")), st.cell_center)
    ws.set_row(r, 30)
    r += 1
    r = _text_rows(ws, r, "部门职责", v.get("部门职责"), st)
    r = _text_rows(ws, r, "年度履职目标", v.get("年度履职目标"), st)
    tasks = p.tasks or [{}]
    ws.merge_range(r, 0, r + len(tasks), 0, "年度重点任务", st.label)
    ws.write_string(r, 1, "内容", st.label)
    ws.merge_range(r, 2, r, 5, "主要内容（重点工作计划）", st.label)
    for i, task in enumerate(tasks, start=1):
        ws.write_string(r + i, 1, task.get("任务名称") or "", st.cell_center)
        text = _display_text(task.get("主要内容"))
        ws.merge_range(r + i, 2, r + i, 5, text, st.cell)
        ws.set_row(r + i, _text_height(text, sum(FORM_WIDTHS[2:])))
    r += len(tasks) + 1
    budget = (("一、部门整体预算总额", "部门整体预算总额"), ("1、资金来源：（1）财政拨款", "财政拨款"),
              ("（2）其他资金", "其他资金"), ("2、资金结构：（1）基本支出", "基本支出"), ("（2）项目支出", "项目支出"))
    ws.merge_range(r, 0, r + len(budget), 0, f"预算情况\n（{c.spec.money_unit}）", st.label)
    for i, (label, key) in enumerate(budget):
        ws.merge_range(r + i, 1, r + i, 3, label, st.cell)
        ws.merge_range(r + i, 4, r + i, 5, "", st.cell_money)
        _money(ws, r + i, 4, v.get(key), st)
    i = len(budget)
    ws.merge_range(r + i, 1, r + i, 2, "二、年末在职人数", st.cell)
    ws.write_string(r + i, 3, _count_text(v.get("年末在职人数")), st.cell_center)
    ws.write_string(r + i, 4, "内设机构数", st.cell)
    ws.write_string(r + i, 5, _count_text(v.get("内设机构数")), st.cell_center)
    r += len(budget) + 1
    ws.merge_range(r, 0, r, 5, "分解目标", st.label)
    return _indicator_table(ws, r + 1, p, st, first_col=0, with_label=False)


def _count_text(value) -> str:
    return "" if value is None else str(value)


BLOCKS = {"sh-project": _block_sh_project, "tj-project": _block_tj_project, "sh-overall": _block_sh_overall}


def _merged_runs(ws, r: int, col: int, keys: list, st: _Styles, key=lambda k: k) -> None:
    """Merge consecutive equal labels, as the official form prints 一级/二级."""
    i = 0
    while i < len(keys):
        j = i
        while j + 1 < len(keys) and keys[j + 1] == keys[i]:
            j += 1
        label = key(keys[i]) or ""
        if j > i:
            ws.merge_range(r + i, col, r + j, col, label, st.cell_center)
        else:
            ws.write_string(r + i, col, label, st.cell_center)
        i = j + 1


def _money(ws, r: int, col: int, value, st: _Styles) -> None:
    if value is None:
        ws.write_blank(r, col, None, st.cell_money)
    else:
        ws.write_number(r, col, float(value), st.cell_money)


def _date_text(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else ""


# --- 绩效指标明细 and 报送情况 -------------------------------------------------------------------------

DETAIL_COLUMNS = (("序号", 6), ("单位编码", 10), ("实施单位", 18), ("项目名称", 24), ("一级指标", 11),
                  ("二级指标", 16), ("三级指标", 28), ("运算符", 6), ("指标值", 14), ("计量单位", 8),
                  ("指标值（规范写法）", 18), ("指标说明", 30))


def _write_detail(ws, c: Consolidated, st: _Styles) -> None:
    for col, (label, width) in enumerate(DETAIL_COLUMNS):
        ws.write_string(0, col, label, st.header)
        ws.set_column(col, col, width)
    row = 1
    for p in c.projects:
        for ind in p.indicators:
            iv = ind.value
            ws.write_number(row, 0, row, st.int)
            ws.write_string(row, 1, p.unit.code, st.text)
            ws.write_string(row, 2, p.unit.name, st.text)
            ws.write_string(row, 3, p.name, st.text)
            ws.write_string(row, 4, ind.level1 or "", st.text)
            ws.write_string(row, 5, ind.level2 or "", st.text)
            ws.write_string(row, 6, ind.name or "", st.text)
            ws.write_string(row, 7, iv.op or "", st.center)
            if iv.kind == "quant" and iv.number is not None:
                ws.write_string(row, 8, iv.number_text, st.center)
            else:
                ws.write_string(row, 8, _display_text(iv.text), st.text)
            ws.write_string(row, 9, iv.unit or "", st.center)
            ws.write_string(row, 10, ind.official, st.center)
            ws.write_string(row, 11, _display_text(ind.note), st.text)
            row += 1
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(1, row - 1), len(DETAIL_COLUMNS) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


STATUS_COLUMNS = (("序号", 6), ("单位编码", 10), ("单位名称", 24), ("联系人", 10), ("联系电话", 14),
                  ("文件", 40), ("状态", 12), ("项目数", 8), ("指标数", 8), ("错误数", 8), ("提示数", 8),
                  ("年度资金申请总额", 16), ("接收时间", 16), ("备注", 40))


def _write_status(ws, c: Consolidated, st: _Styles) -> None:
    for col, (label, width) in enumerate(STATUS_COLUMNS):
        ws.write_string(0, col, label, st.header)
        ws.set_column(col, col, width)
    for i, u in enumerate(c.units, start=1):
        ws.write_number(i, 0, i, st.int)
        ws.write_string(i, 1, u.unit.code, st.text)
        ws.write_string(i, 2, u.unit.name, st.text)
        ws.write_string(i, 3, u.unit.contact, st.text)
        ws.write_string(i, 4, u.unit.phone, st.text)
        ws.write_string(i, 5, u.file, st.text)
        ws.write_string(i, 6, u.status, st.status.get(u.status, st.center))
        for col, n in ((7, u.projects), (8, u.indicators), (9, u.errors), (10, u.warnings)):
            ws.write_number(i, col, n, st.int)
        ws.write_number(i, 11, float(u.amount), st.money)
        ws.write_string(i, 12, u.received, st.center)
        note = f"已采用最新报送的文件；较早的 {len(u.superseded)} 份未汇总：{'、'.join(u.superseded)}" if u.superseded else ""
        ws.write_string(i, 13, note, st.text)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(1, len(c.units)), len(STATUS_COLUMNS) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


# --- reconciliation -------------------------------------------------------------------------------

def _dec(value) -> Decimal:
    amount, _ = to_decimal(value)
    return (amount or Decimal(0)).quantize(CENT)


def _detail_counts(rows) -> dict[tuple[str, str], int]:
    """Indicators per (实施单位, 项目名称) on 绩效指标明细, from its rows as they stream."""
    rows = iter(rows)
    header = [clean_text(v) for v in next(rows, [])]
    col = {label: header.index(label) for label in header if label}
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if row and isinstance(row[col["序号"]], (int, float)):
            key = (clean_text(row[col["实施单位"]]), clean_text(row[col["项目名称"]]))
            counts[key] = counts.get(key, 0) + 1
    return counts


def reconcile(consolidated: Consolidated, path: Path) -> list[str]:
    """Read the written workbook back and prove it holds every project and indicator exactly once
    with amounts equal to the inputs, per unit and in total. Raises ReconciliationError."""
    import python_calamine as calamine

    name_label = consolidated.spec.role("name")
    wb = calamine.CalamineWorkbook.from_path(str(path))
    try:
        summary = wb.get_sheet_by_name(SUMMARY_SHEET).to_python(skip_empty_area=False)
        got_counts = _detail_counts(wb.get_sheet_by_name(DETAIL_SHEET).iter_rows())
        form_titles = 0
        for name in wb.sheet_names:
            if name.startswith(FORM_SHEET_PREFIX):
                # Rows stream from calamine one at a time: a province's 申报表 has a million of them.
                form_titles += sum(1 for row in wb.get_sheet_by_name(name).iter_rows()
                                   if row and clean_text(row[0]) == name_label)
    finally:
        wb.close()
    problems: list[str] = []
    header = [clean_text(v) for v in summary[SUMMARY_HEADER_ROW]]
    col = {label: header.index(label) for label in header if label}
    amounts = consolidated.amount_fields()
    seen: dict[tuple[str, str], int] = {}
    per_unit: dict[str, dict[str, Decimal]] = {}
    subtotal_rows: dict[str, list] = {}
    grand = None
    for row in summary[SUMMARY_HEADER_ROW + 1:]:
        if not row or all(clean_text(v) is None for v in row):
            continue
        serial, unit_name, name = row[col["序号"]], clean_text(row[col["实施单位"]]), clean_text(row[col[name_label]])
        if isinstance(serial, (int, float)) and name:
            key = (unit_name, name)
            seen[key] = seen.get(key, 0) + 1
            bucket = per_unit.setdefault(unit_name, {a: Decimal(0) for a in amounts})
            for a in amounts:
                bucket[a] += _dec(row[col[a]])
        elif unit_name and unit_name.endswith("小计"):
            subtotal_rows[unit_name[:-2]] = row
        elif clean_text(serial) == "合计":
            grand = row
    expected_keys = {(p.unit.name, p.name) for p in consolidated.projects}
    for key in expected_keys - set(seen):
        problems.append(f"汇总表缺少项目 {key[0]} / {key[1]}")
    for key, n in seen.items():
        if key not in expected_keys:
            problems.append(f"汇总表多出项目 {key[0]} / {key[1]}")
        elif n != 1:
            problems.append(f"项目 {key[0]} / {key[1]} 在汇总表中出现 {n} 次")
    lines = []
    units_with_projects = [u for u in consolidated.units if u.projects]
    for status in units_with_projects:
        want = consolidated.totals(status.unit.code)
        got = per_unit.get(status.unit.name, {})
        sub_row = subtotal_rows.get(status.unit.name)
        for a in amounts:
            if got.get(a, Decimal(0)) != want[a]:
                problems.append(f"{status.unit.name} 的 {a} 合计 {money_text(got.get(a))} ≠ 输入 {money_text(want[a])}")
            if sub_row is None or _dec(sub_row[col[a]]) != want[a]:
                problems.append(f"{status.unit.name} 小计行的 {a} 与输入 {money_text(want[a])} 不符")
    want_total = consolidated.totals()
    for a in amounts:
        if grand is None or _dec(grand[col[a]]) != want_total[a]:
            problems.append(f"合计行的 {a} 与输入 {money_text(want_total[a])} 不符")
    # 绩效指标明细: one row per indicator, counted per project.
    want_counts = {(p.unit.name, p.name): len(p.indicators) for p in consolidated.projects}
    for key in set(want_counts) | set(got_counts):
        if want_counts.get(key, 0) != got_counts.get(key, 0):
            problems.append(f"绩效指标明细中 {key[0]} / {key[1]} 有 {got_counts.get(key, 0)} 条指标，输入为 "
                            f"{want_counts.get(key, 0)} 条")
    if form_titles != len(consolidated.projects):
        problems.append(f"申报表有 {form_titles} 个项目表，应为 {len(consolidated.projects)} 个")
    if problems:
        raise ReconciliationError("汇总表核对失败，未写入：\n" + "\n".join(problems[:30]))
    n_ind = sum(want_counts.values())
    annual, unit = consolidated.spec.role("annual_total"), consolidated.spec.money_unit
    noun = consolidated.spec.record_noun
    for status in units_with_projects:
        lines.append(f"{status.unit.name}：{status.projects} 个{noun}、{status.indicators} 条指标，"
                     f"{annual} {money_text(consolidated.totals(status.unit.code)[annual])} {unit} ✓")
    lines.append(f"合计：{len(consolidated.projects)} 个{noun}、{n_ind} 条指标，{annual} "
                 f"{money_text(want_total[annual])} {unit}，与输入逐分一致 ✓")
    return lines
