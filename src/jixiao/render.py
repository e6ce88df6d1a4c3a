"""Consolidated data → the 汇总表 workbook (xlsxwriter).

Sheets: 汇总 (one row per record, unit subtotals and a grand total as formulas carrying their
values), 申报表 (every record as the form's official block, one per page; blocks.py draws it from
the form's layout), 绩效指标明细 (every indicator, flat) and a 明细 sheet for each other table of the
form, and 报送情况 (every roster unit). Every header, amount and count comes from the spec. User text
is always written with write_string, so "=HYPERLINK(…)" typed by a unit stays text.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from . import blocks
from .merge import Consolidated, Project
from .spec import SheetSpec
from .xlstyle import FONT, row_height

SUMMARY_SHEET = "汇总"
FORM_SHEET_PREFIX = "申报表"
DETAIL_SHEET = "绩效指标明细"
STATUS_SHEET = "报送情况"
OFFICIAL_COLUMN = "指标值（规范写法）"
SUMMARY_HEADER_ROW = 2          # 0-based: title, unit line, header
EXCEL_MAX_ROWS = 1_048_576
MAX_FORM_ROWS = EXCEL_MAX_ROWS - 1_000     # room for the estimate in blocks.block_rows to be off
MAX_FORM_BLOCKS = 1_000                   # Excel keeps at most 1,026 manual page breaks per sheet


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
        # the 申报表 block's styles, by the names layouts use
        self.block = {
            "title": f(bold=True, font_size=16, align="center"),
            "subtitle": f(align="center", font_size=11),
            "subtitle_left": f(align="left", font_size=11),
            "unit": f(align="right", font_size=11),
            "label": f(border=1, align="center", text_wrap=True, bold=True),
            "cell": f(border=1, text_wrap=True),
            "center": f(border=1, text_wrap=True, align="center"),
            "money": f(border=1, num_format="#,##0.00", align="right"),
            "goal": f(border=1, text_wrap=True, valign="top"),
        }
        self.status = {"通过": f(border=1, align="center", font_color="#006100", bg_color="#C6EFCE"),
                       "有错误未汇总": f(border=1, align="center", font_color="#9C0006", bg_color="#FFC7CE"),
                       "无法读取": f(border=1, align="center", font_color="#9C0006", bg_color="#FFC7CE"),
                       "未报送": f(border=1, align="center", font_color="#9C5700", bg_color="#FFEB9C")}


def write_summary(c: Consolidated, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": f"{c.department}{c.year}年度{c.spec.summary_title}", "author": "jixiao"})
    st = _Styles(wb)
    summary = wb.add_worksheet(SUMMARY_SHEET)         # first in the workbook, written once blocks are placed
    places = _write_forms(wb, c, st)
    _write_summary_sheet(summary, c, st, places)
    for table in c.spec.tables[1:]:
        _write_detail(_streamed_sheet(wb, detail_sheet_name(table)), c, table, st)
    _write_status(wb.add_worksheet(STATUS_SHEET), c, st)
    wb.close()


def detail_sheet_name(table: SheetSpec) -> str:
    """绩效指标明细 for the indicators (the name DESIGN gives it), {sheet}明细 for another table."""
    return DETAIL_SHEET if table.kind == "indicators" else f"{table.name[:29]}明细"


def _streamed_sheet(wb, name: str):
    """A worksheet in xlsxwriter's constant_memory mode: each row goes to disk as it is written.
    A 明细 sheet holds most of the workbook's cells and is written strictly row by row, so it need
    not sit in memory; the 申报表 needs multi-row merges, so the workbook as a whole cannot be in that
    mode. xlsxwriter takes the mode per sheet from the workbook when the sheet is added."""
    wb.constant_memory = True
    try:
        return wb.add_worksheet(name)
    finally:
        wb.constant_memory = False


# --- 汇总 ---------------------------------------------------------------------------------------

def info_fields(c: Consolidated):
    """The short fields of a record shown on 汇总 between its name and its amounts."""
    records = c.spec.projects
    if c.spec.summary_columns:
        return [records.field(fid) for fid in c.spec.summary_columns]
    return [f for f in records.fields if f.id != "name" and f.type in ("code", "date", "count", "text")]


def summary_columns(c: Consolidated) -> list[tuple[str, float]]:
    records = c.spec.projects
    cols = [("序号", 5), ("实施单位", 18), (records.label("name"), 26)]
    cols += [(f.label, 11 if f.type == "date" else 10 if f.type == "count" else 12) for f in info_fields(c)]
    cols += [(records.label(fid), 14) for fid in c.amount_fields()]
    cols += [(f"{l1.name}数", 7) for l1 in c.spec.hierarchy] + [("指标合计", 7)]
    return cols + [(FORM_SHEET_PREFIX, 9)]


def _write_summary_sheet(ws, c: Consolidated, st: _Styles, places: dict[int, tuple[str, int]]) -> None:
    cols = summary_columns(c)
    labels = [name for name, _ in cols]
    records = c.spec.projects
    amount_cols = [labels.index(records.label(fid)) for fid in c.amount_fields()]
    link_col = len(labels) - 1
    count_cols = list(range(link_col - len(c.spec.hierarchy) - 1, link_col))
    last_col = len(labels) - 1
    noun = c.spec.record_noun
    ws.merge_range(0, 0, 0, last_col, f"{c.department}{c.year}年度{c.spec.summary_title}", st.title)
    first_amount = amount_cols[0] if amount_cols else 3
    ws.merge_range(1, 0, 1, last_col, f"金额单位：{c.spec.money_unit}    {noun} {len(c.projects)} 个    "
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
                value = p.values.get(f.id)
                if isinstance(value, dt.date):
                    ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), st.date)
                elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    ws.write_number(row, col, float(value), st.int)
                elif value is None:
                    ws.write_blank(row, col, None, st.center)
                else:
                    ws.write_string(row, col, str(value), st.center)
            for col, fid in zip(amount_cols, c.amount_fields()):
                value = p.values.get(fid)
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
        _label_span(ws, row, 2, first_amount - 1, f"{status.projects} 个{noun}", st.sub_text)
        totals = c.totals(status.unit.code)
        for col, fid in zip(amount_cols, c.amount_fields()):
            rng = f"{xl_rowcol_to_cell(first, col)}:{xl_rowcol_to_cell(row - 1, col)}"
            ws.write_formula(row, col, f"=SUM({rng})", st.sub_money, float(totals[fid]))
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
    _label_span(ws, row, 1, first_amount - 1, f"{len(c.projects)} 个{noun}", st.total_text)
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
    for col, fid in zip(amount_cols, c.amount_fields()):
        ws.write_formula(row, col, grand_total(col), st.total_money, float(grand[fid]))
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

def _form_sheets(c: Consolidated) -> list[tuple[str, list[Project]]]:
    """One 申报表 sheet, or several when one would pass Excel's limits (1,048,576 rows; 1,026
    manual page breaks, i.e. blocks). Units are never split across sheets unless one unit alone
    is too large; sheets are named 申报表(1), 申报表(2), … and 汇总 links every project to its block."""
    layout = c.spec.layout
    sheets: list[list[Project]] = [[]]
    rows = 0
    for status in (u for u in c.units if u.projects):
        group = c.projects_of(status.unit.code)
        height = sum(blocks.block_rows(layout, p) for p in group)
        if sheets[-1] and (rows + height > MAX_FORM_ROWS or len(sheets[-1]) + len(group) > MAX_FORM_BLOCKS):
            sheets.append([])
            rows = 0
        for p in group:  # a unit too large for one sheet continues on the next
            size = blocks.block_rows(layout, p)
            if sheets[-1] and (rows + size > MAX_FORM_ROWS or len(sheets[-1]) >= MAX_FORM_BLOCKS):
                sheets.append([])
                rows = 0
            sheets[-1].append(p)
            rows += size
    if len(sheets) == 1:
        return [(FORM_SHEET_PREFIX, sheets[0])]
    return [(f"{FORM_SHEET_PREFIX}({i})", projects) for i, projects in enumerate(sheets, start=1)]


def _write_forms(wb, c: Consolidated, st: _Styles) -> dict[int, tuple[str, int]]:
    """Every block on its page(s); returns id(project) → (sheet, first row) for the 汇总 links."""
    places: dict[int, tuple[str, int]] = {}
    layout = c.spec.layout
    number = 0
    for name, projects in _form_sheets(c):
        ws = wb.add_worksheet(name)
        for col, width in enumerate(layout.widths):
            ws.set_column(col, col, width)
        row, breaks = 0, []
        for p in projects:
            number += 1
            places[id(p)] = (name, row)
            row = blocks.write(ws, row, blocks.draw(c, p, number), st.block)
            breaks.append(row)
        ws.set_h_pagebreaks(breaks[:-1][:1023])
        if layout.orientation == "landscape":
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer(f"&C{c.department}    第 &P 页，共 &N 页")
        ws.hide_gridlines(2)
    return places


# --- 明细 and 报送情况 -------------------------------------------------------------------------------

def detail_columns(c: Consolidated, table: SheetSpec) -> list[tuple[str, str, float]]:
    """(kind, field id or "", header) of a 明细 sheet: the record it belongs to, then its own fields
    (the link to the record is the record's name column), the official value after the unit."""
    out = [("serial", "", "序号"), ("code", "", "单位编码"), ("unit", "", "实施单位"),
           ("record", "name", c.spec.projects.label("name"))]
    for f in table.fields:
        if f.id == table.link:
            continue
        out.append(("field", f.id, f.label))
        if table.kind == "indicators" and f.id == "unit":
            out.append(("official", "", OFFICIAL_COLUMN))
    return out


DETAIL_WIDTHS = {"serial": 6, "code": 10, "unit": 18, "record": 24, "official": 18}


def _write_detail(ws, c: Consolidated, table: SheetSpec, st: _Styles) -> None:
    columns = detail_columns(c, table)
    widths = []
    for col, (kind, fid, header) in enumerate(columns):
        width = DETAIL_WIDTHS.get(kind) or min(40, max(8, table.field(fid).width))
        widths.append(width)
        ws.write_string(0, col, header, st.header)
        ws.set_column(col, col, width)
    indicators = table.kind == "indicators"
    row = 1
    for p in c.projects:
        items = p.indicators if indicators else p.children.get(table.key, [])
        for item in items:
            texts = []
            for col, (kind, fid, _header) in enumerate(columns):
                value, fmt = _detail_value(kind, fid, row, p, item, table, indicators, st)
                if isinstance(value, str):
                    ws.write_string(row, col, value, fmt)
                    texts.append((value, widths[col]))
                elif value is None:
                    ws.write_blank(row, col, None, fmt)
                elif isinstance(value, dt.date):
                    ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), st.date)
                else:
                    ws.write_number(row, col, float(value), fmt)
            ws.set_row(row, row_height(texts))
            row += 1
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(1, row - 1), len(columns) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def _detail_value(kind, fid, row, p: Project, item, table: SheetSpec, indicators: bool, st):
    if kind == "serial":
        return row, st.int
    if kind == "code":
        return p.unit.code, st.text
    if kind == "unit":
        return p.unit.name, st.text
    if kind == "record":
        return p.name, st.text
    if kind == "official":
        return item.official, st.center
    f = table.field(fid)
    if indicators:
        iv = item.value
        special = {"level1": item.level1 or "", "level2": item.level2 or "", "level3": item.name or "",
                   "operator": iv.op or "", "unit": iv.unit or "",
                   "value": iv.number_text if iv.kind == "quant" and iv.number is not None
                   else blocks.display_text(iv.text)}
        if fid in special:
            return special[fid], (st.center if fid in ("operator", "unit", "value") else st.text)
        value = item.values.get(fid)
    else:
        value = item.get(fid)
    if f.type == "amount":
        return (None if value is None else value), st.money
    if f.type in ("date", "count") or value is None:
        return value if value is not None else "", st.center
    return blocks.display_text(value), st.text


def status_columns(c: Consolidated) -> list[tuple[str, float]]:
    spec = c.spec
    counts = [(f"{t.noun}数", 8) for t in spec.tables]
    annual = [(f"{spec.projects.label('annual_total')}（{spec.money_unit}）", 16)] if spec.projects.has("annual_total") \
        else []
    return [("序号", 6), ("单位编码", 10), ("单位名称", 24), ("联系人", 10), ("联系电话", 14), ("文件", 40),
            ("状态", 12), *counts, ("错误数", 8), ("提示数", 8), *annual, ("接收时间", 16), ("备注", 40)]


def _write_status(ws, c: Consolidated, st: _Styles) -> None:
    columns = status_columns(c)
    for col, (label, width) in enumerate(columns):
        ws.write_string(0, col, label, st.header)
        ws.set_column(col, col, width)
    keys = [t.key for t in c.spec.tables]
    has_annual = c.spec.projects.has("annual_total")
    for i, u in enumerate(c.units, start=1):
        values = [i, u.unit.code, u.unit.name, u.unit.contact, u.unit.phone, u.file, u.status,
                  *(u.rows.get(k, 0) for k in keys), u.errors, u.warnings]
        if has_annual:
            values.append(u.amount)
        note = f"已采用最新报送的文件；较早的 {len(u.superseded)} 份未汇总：{'、'.join(u.superseded)}" if u.superseded else ""
        values += [u.received, note]
        texts = []
        for col, value in enumerate(values):
            label = columns[col][0]
            if label == "状态":
                ws.write_string(i, col, value, st.status.get(value, st.center))
            elif isinstance(value, Decimal):
                ws.write_number(i, col, float(value), st.money)
            elif value is None:
                ws.write_blank(i, col, None, st.money)
            elif isinstance(value, int):
                ws.write_number(i, col, value, st.int)
            else:
                ws.write_string(i, col, value, st.text)
                texts.append((value, columns[col][1]))
        ws.set_row(i, row_height(texts))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(1, len(c.units)), len(columns) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
