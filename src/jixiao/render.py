"""Consolidated data → the 汇总表 workbook (xlsxwriter).

Sheets: 汇总 (one row per record, unit subtotals and a grand total as formulas carrying their
values), 申报表 (every record as the form's official block, one per page; blocks.py draws it from
the form's layout), 绩效指标明细 (every indicator, flat) and a 明细 sheet for each other table of the
form, and 报送情况 (every roster unit). Every header, amount and count comes from the spec. User text
is always written with write_string, so "=HYPERLINK(…)" typed by a unit stays text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from . import blocks
from .contract import (COMPARE_LABEL, DETAIL_SHEET, KIND_COLUMN, LOWER, LOWERED_COUNT_LABEL, NEW, NEW_COUNT_LABEL,
                       OFFICIAL_COLUMN, ROW_RECORD, SUMMARY_SHEET, UNIT_CODE_LABEL, UNIT_LABEL)
from .merge import Consolidated, Project
from .spec import SheetSpec
from .xlstream import StreamedWorksheet
from .xlstyle import FONT, NUMBER_FONT, fit_page, print_wide, row_height, write_note, write_title

FORM_SHEET_PREFIX = "申报表"
STATUS_SHEET = "报送情况"
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
        self.date = f(border=1, align="center", num_format="yyyy-mm-dd", font_name=NUMBER_FONT)
        self.money = f(border=1, num_format="#,##0.00", font_name=NUMBER_FONT)
        self.note_left = f(align="left", text_wrap=True, valign="top")
        self.note_plain = f(align="left")
        self.title_left = f(bold=True, font_size=16, align="left", text_wrap=True)
        self.helper = f(font_color="#808080")
        self.int = f(border=1, align="center", num_format="0", font_name=NUMBER_FONT)
        self.link = f(border=1, align="center", font_color="blue", underline=1)
        self.sub_text = f(border=1, bold=True, bg_color="#F2F2F2", text_wrap=True)
        self.sub_money = f(border=1, bold=True, bg_color="#F2F2F2", num_format="#,##0.00", font_name=NUMBER_FONT)
        self.sub_int = f(border=1, bold=True, bg_color="#F2F2F2", align="center", num_format="0")
        self.total_text = f(border=1, bold=True, bg_color="#D9D9D9", text_wrap=True)
        self.total_money = f(border=1, bold=True, bg_color="#D9D9D9", num_format="#,##0.00", font_name=NUMBER_FONT)
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
            "money": f(border=1, num_format="#,##0.00", align="right", font_name=NUMBER_FONT),
            "goal": f(border=1, text_wrap=True, valign="top"),
        }
        self.status = {"通过": f(border=1, align="center", font_color="#006100", bg_color="#C6EFCE"),
                       "有错误未汇总": f(border=1, align="center", font_color="#9C0006", bg_color="#FFC7CE"),
                       "无法读取": f(border=1, align="center", font_color="#9C0006", bg_color="#FFC7CE"),
                       "未报送": f(border=1, align="center", font_color="#9C5700", bg_color="#FFEB9C")}


def write_summary(c: Consolidated, path: Path) -> None:
    # constant_memory: every row goes to disk as soon as the next one starts (a province's 汇总表
    # has millions of cells); so every sheet is written strictly row by row, merges included
    # (blocks.write), and strings are stored inline rather than in a shared table.
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False, "constant_memory": True})
    wb.set_properties({"title": f"{c.department}{c.year}年度{c.spec.summary_title}", "author": "jixiao"})
    st = _Styles(wb)
    summary = wb.add_worksheet(SUMMARY_SHEET, worksheet_class=StreamedWorksheet)         # first in the workbook, written once blocks are placed
    places = _write_forms(wb, c, st)
    _write_summary_sheet(summary, c, st, places)
    for table in c.spec.tables[1:]:
        _write_detail(wb.add_worksheet(detail_sheet_name(table), worksheet_class=StreamedWorksheet), c, table, st)
    _write_status(wb.add_worksheet(STATUS_SHEET, worksheet_class=StreamedWorksheet), c, st)
    wb.close()


def detail_sheet_name(table: SheetSpec) -> str:
    """绩效指标明细 for the indicators (the name DESIGN gives it), {sheet}明细 for another table."""
    return DETAIL_SHEET if table.kind == "indicators" else f"{table.name[:29]}明细"


# --- 汇总 ---------------------------------------------------------------------------------------
# Helper columns beyond the print area: the link to each record's block (for the screen), and the row
# kind and unit code that the totals' SUMIFS and the reconciliation read (jixiao writes them, never a
# unit, so no name a unit types can change a total).
CODE_COLUMN, LINK_COLUMN = UNIT_CODE_LABEL, FORM_SHEET_PREFIX
ROW_SUBTOTAL, ROW_TOTAL = "小计", "合计"


def info_fields(c: Consolidated):
    """The short fields of a record shown on 汇总 between its name and its amounts."""
    records = c.spec.projects
    if c.spec.summary_columns:
        return [records.field(fid) for fid in c.spec.summary_columns]
    return [f for f in records.fields if f.id != "name" and f.type in ("code", "date", "count", "text")]


@dataclass
class SummaryColumn:
    label: str
    width: float
    kind: str                # serial unit name info amount count count_total | link row_kind code
    field: object = None     # the record Field (info, amount) or the Level1 (count)


def summary_columns(c: Consolidated) -> list[SummaryColumn]:
    """Printed columns first (serial, unit, name, the record's short fields, amounts, counts per 一级),
    then the screen-only helper columns."""
    records = c.spec.projects
    cols = [SummaryColumn("序号", 5, "serial"), SummaryColumn(UNIT_LABEL, 16, "unit"),
            SummaryColumn(records.label("name"), 22, "name")]
    cols += [SummaryColumn(f.label, 11 if f.type == "date" else 7 if f.type == "count" else 12, "info", f)
             for f in info_fields(c)]
    cols += [SummaryColumn(records.label(fid), 13, "amount", records.field(fid)) for fid in c.amount_fields()]
    cols += [SummaryColumn(f"{l1.name}数", 6, "count", l1) for l1 in c.spec.hierarchy]
    cols += [SummaryColumn("指标合计", 6, "count_total")]
    if c.previous is not None:        # against last year: only with a baseline (the layout is otherwise unchanged)
        cols += [SummaryColumn(LOWERED_COUNT_LABEL, 6, "lowered"), SummaryColumn(NEW_COUNT_LABEL, 6, "new")]
    return cols + [SummaryColumn(LINK_COLUMN, 8, "link"), SummaryColumn(KIND_COLUMN, 6, "row_kind"),
                   SummaryColumn(CODE_COLUMN, 10, "code")]


def _write_summary_sheet(ws, c: Consolidated, st: _Styles, places: dict[tuple[str, int], tuple[str, int]]) -> None:
    cols = summary_columns(c)
    printed = [col for col in cols if col.kind not in ("link", "row_kind", "code")]
    kind_col = next(i for i, col in enumerate(cols) if col.kind == "row_kind")
    totals = set(c.spec.total_ids())
    noun = c.spec.record_noun
    title = f"{c.department}{c.year}年度{c.spec.summary_title}"
    write_title(ws, 0, title, [col.width for col in printed], 3, st.title_left)
    reported = sum(1 for u in c.units if u.projects)
    ws.write_string(1, 0, f"金额单位：{c.spec.money_unit}　　{noun} {len(c.projects)} 个　　报送单位 {reported} 个",
                    st.note_plain)
    for i, col in enumerate(cols):
        ws.write_string(SUMMARY_HEADER_ROW, i, col.label, st.header)
        ws.set_column(i, i, col.width)
    ws.set_row(SUMMARY_HEADER_ROW, row_height([(col.label, col.width) for col in cols], font_points=10))
    first_data = row = SUMMARY_HEADER_ROW + 1
    serial = 0
    all_counts = dict.fromkeys(_COUNTED, 0)
    for status in [u for u in c.units if u.projects]:
        first = row
        projects = c.projects_of(status.unit.code)
        for p in projects:
            serial += 1
            texts = []
            for i, col in enumerate(cols):
                texts += _summary_cell(ws, c, row, i, col, serial, status, p, places, st)
            ws.set_row(row, row_height(texts))
            row += 1
        counts = _counts(c, cols, projects)
        for key, n in counts.items():
            all_counts[key] = all_counts.get(key, 0) + n
        _summary_total_row(ws, row, cols, kind_col, first, row - 1, c, st, status, totals, counts)
        row += 1
    _summary_total_row(ws, row, cols, kind_col, first_data, row - 1, c, st, None, totals, all_counts)
    notes = (f"说明：{'、'.join(c.spec.projects.label(f) for f in c.amount_fields() if f not in totals)}"
             f"是跨年度{noun}的全周期金额，只在{noun}行列示，不作小计和合计；" if totals != set(c.amount_fields()) else "说明：")
    notes += "金额未填写的留空，填写 0 的显示 0.00；小计和合计是公式，随表格重新计算。"
    # In the columns every printed page repeats, so that each page shows it whole.
    ws.merge_range(row + 1, 0, row + 1, 2, notes, st.note_left)
    ws.set_row(row + 1, row_height([(notes, sum(col.width for col in printed[:3]))]))
    ws.freeze_panes(SUMMARY_HEADER_ROW + 1, 3)
    ws.autofilter(SUMMARY_HEADER_ROW, 0, row - 1, len(cols) - 1)
    print_wide(ws, [col.width for col in printed], repeat_columns=3,
               header_rows=(SUMMARY_HEADER_ROW, SUMMARY_HEADER_ROW), last_row=row + 1, title=title,
               footer_note=c.department)
    ws.activate()


def _summary_cell(ws, c, row, i, col, serial, status, p, places, st) -> list:
    """One cell of a record's row; returns the (text, width) pairs that decide the row height."""
    if col.kind == "serial":
        ws.write_number(row, i, serial, st.int)
    elif col.kind == "unit":
        ws.write_string(row, i, status.unit.name, st.text)
        return [(status.unit.name, col.width)]
    elif col.kind == "name":
        ws.write_string(row, i, p.name, st.text)
        return [(p.name, col.width)]
    elif col.kind == "info":
        value = p.values.get(col.field.id)
        if isinstance(value, dt.date):
            ws.write_datetime(row, i, dt.datetime.combine(value, dt.time()), st.date)
        elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            ws.write_number(row, i, float(value), st.int)
        elif value is None:
            ws.write_blank(row, i, None, st.center)
        else:
            ws.write_string(row, i, str(value), st.center)
            return [(str(value), col.width)]
    elif col.kind == "amount":
        value = p.values.get(col.field.id)
        if value is None:
            ws.write_blank(row, i, None, st.money)
        else:
            ws.write_number(row, i, float(value), st.money)
    elif col.kind == "count":
        ws.write_number(row, i, sum(1 for ind in p.indicators if ind.level1 == col.field.name), st.int)
    elif col.kind == "count_total":
        ws.write_number(row, i, len(p.indicators), st.int)
    elif col.kind in ("lowered", "new"):
        ws.write_number(row, i, c.against_last_year(p, _COMPARED[col.kind]), st.int)
    elif col.kind == "link":
        sheet, first_row = places[(p.unit.code, p.row)]
        ws.write_url(row, i, f"internal:'{sheet}'!A{first_row + 1}", st.link, string="查看")
    elif col.kind == "row_kind":
        ws.write_string(row, i, ROW_RECORD, st.helper)
    elif col.kind == "code":
        ws.write_string(row, i, status.unit.code, st.helper)
    return []


_COUNTED = ("count_total", "lowered", "new")     # 汇总 count columns besides one per 一级 (keyed by its name)


def _counts(c: Consolidated, cols, projects) -> dict:
    """What a subtotal row counts over its records, in one pass: indicators per 一级 (by name), in
    all, and against last year."""
    out = dict.fromkeys(_COUNTED, 0)
    levels = {col.field.name for col in cols if col.kind == "count"}
    compared = any(col.kind in ("lowered", "new") for col in cols)
    for p in projects:
        out["count_total"] += len(p.indicators)
        for ind in p.indicators:
            if ind.level1 in levels:
                out[ind.level1] = out.get(ind.level1, 0) + 1
        if compared:
            for kind, word in _COMPARED.items():
                out[kind] += c.against_last_year(p, word)
    return out


def _summary_total_row(ws, row, cols, kind_col, first, last, c: Consolidated, st, status, totals,
                       counts: dict) -> None:
    """A unit's subtotal (status given) or the grand total: SUM over the unit's rows, SUMIFS over the
    record rows for the total, each formula written with its value for readers that don't recalculate
    (the counts as _counts() gives them). An amount no record gives stays blank; an amount that does
    not add up across records is blank."""
    sub = status is not None
    text, money, integer = (st.sub_text, st.sub_money, st.sub_int) if sub else (st.total_text, st.total_money,
                                                                                  st.total_int)
    code = status.unit.code if sub else None
    kinds = f"{xl_rowcol_to_cell(first, kind_col, True, True)}:{xl_rowcol_to_cell(last, kind_col, True, True)}"

    def formula(i: int) -> str:
        values = f"{xl_rowcol_to_cell(first, i)}:{xl_rowcol_to_cell(last, i)}"
        return f"=SUM({values})" if sub else f'=SUMIFS({values},{kinds},"{ROW_RECORD}")'

    count_text = f"{len(c.projects_of(code)) if sub else len(c.projects)} 个{c.spec.record_noun}"
    first_amount = next(i for i, col in enumerate(cols) if col.kind in ("amount", "count"))
    ws.set_row(row, row_height([(f"{status.unit.name}{ROW_SUBTOTAL}" if sub else ROW_TOTAL, cols[1].width)]))
    span_first = 2 if sub else 1           # the count spans the name (and the short fields)
    if first_amount - 1 > span_first:
        ws.merge_range(row, span_first, row, first_amount - 1, count_text, text)
    else:
        ws.write_string(row, span_first, count_text, text)
    for i, col in enumerate(cols):
        if span_first <= i < first_amount:
            continue
        if col.kind == "serial":
            ws.write_string(row, i, "" if sub else ROW_TOTAL, text)
        elif col.kind == "unit":
            ws.write_string(row, i, f"{status.unit.name}{ROW_SUBTOTAL}", text)
        elif col.kind == "amount":
            fid = col.field.id
            if fid in totals and c.filled(fid, code):
                ws.write_formula(row, i, formula(i), money, float(c.totals(code)[fid]))
            else:
                ws.write_blank(row, i, None, money)
        elif col.kind == "count":
            ws.write_formula(row, i, formula(i), integer, counts.get(col.field.name, 0))
        elif col.kind in _COUNTED:
            ws.write_formula(row, i, formula(i), integer, counts[col.kind])
        elif col.kind == "row_kind":
            ws.write_string(row, i, ROW_SUBTOTAL if sub else ROW_TOTAL, st.helper)
        elif col.kind == "code":
            ws.write_string(row, i, code or "", st.helper)
        else:
            ws.write_blank(row, i, None, text)


_COMPARED = {"lowered": LOWER, "new": NEW}      # 汇总 column kind → the 与上年比较 word it counts


# --- 申报表 -------------------------------------------------------------------------------------

def _form_sheets(c: Consolidated) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """One 申报表 sheet, or several when one would pass Excel's limits (1,048,576 rows; 1,026
    manual page breaks, i.e. blocks). Units are never split across sheets unless one unit alone
    is too large; sheets are named 申报表(1), 申报表(2), … and 汇总 links every project to its block.
    Each sheet is a list of (unit code, first, end): a slice of a unit's records (loaded when the
    sheet is written, so that the plan holds no records)."""
    layout = c.spec.layout
    sheets: list[list[tuple[str, int, int]]] = [[]]
    rows = blocks_on = 0

    def new_sheet() -> None:
        nonlocal rows, blocks_on
        sheets.append([])
        rows = blocks_on = 0

    for status in (u for u in c.units if u.projects):
        code = status.unit.code
        sizes = [blocks.block_rows(layout, p) for p in c.projects_of(code)]
        if sheets[-1] and (rows + sum(sizes) > MAX_FORM_ROWS or blocks_on + len(sizes) > MAX_FORM_BLOCKS):
            new_sheet()
        start = 0
        for i, size in enumerate(sizes):  # a unit too large for one sheet continues on the next
            if (sheets[-1] or i > start) and (rows + size > MAX_FORM_ROWS or blocks_on >= MAX_FORM_BLOCKS):
                if i > start:
                    sheets[-1].append((code, start, i))
                new_sheet()
                start = i
            rows += size
            blocks_on += 1
        sheets[-1].append((code, start, len(sizes)))
    if len(sheets) == 1:
        return [(FORM_SHEET_PREFIX, sheets[0])]
    return [(f"{FORM_SHEET_PREFIX}({i})", parts) for i, parts in enumerate(sheets, start=1)]


def _write_forms(wb, c: Consolidated, st: _Styles) -> dict[int, tuple[str, int]]:
    """Every block on its page(s); returns (unit code, record row) → (sheet, first row) for the 汇总 links."""
    places: dict[tuple[str, int], tuple[str, int]] = {}
    layout = c.spec.layout
    number = 0
    for name, parts in _form_sheets(c):
        ws = wb.add_worksheet(name, worksheet_class=StreamedWorksheet)
        for col, width in enumerate(layout.widths):
            ws.set_column(col, col, width)
        row, breaks = 0, []
        for p in (p for code, first, end in parts for p in c.projects_of(code)[first:end]):
            number += 1
            places[(p.unit.code, p.row)] = (name, row)
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
    out = [("serial", "", "序号"), ("code", "", UNIT_CODE_LABEL), ("unit", "", UNIT_LABEL),
           ("record", "name", c.spec.projects.label("name"))]
    for f in table.fields:
        if f.id == table.link:
            continue
        out.append(("field", f.id, f.label))
        if table.kind == "indicators" and f.id == "unit":
            out.append(("official", "", OFFICIAL_COLUMN))
            if c.previous is not None:
                out += [("previous", "", c.spec.previous_label()), ("compare", "", COMPARE_LABEL)]
    return out


DETAIL_WIDTHS = {"serial": 5, "code": 8, "unit": 14, "record": 20, "official": 13, "previous": 13, "compare": 7}
DETAIL_FIELD_WIDTH = (5, 22)          # a field's width on a 明细 sheet: its template width, within these


def _write_detail(ws, c: Consolidated, table: SheetSpec, st: _Styles) -> None:
    columns = detail_columns(c, table)
    low, high = DETAIL_FIELD_WIDTH
    widths = fit_page([DETAIL_WIDTHS.get(kind) or min(high, max(low, table.field(fid).width * 0.7))
                       for kind, fid, _ in columns], fixed=4,
                      keep=frozenset(i for i, (kind, _f, _h) in enumerate(columns) if kind == "compare"))
    for col, (kind, fid, header) in enumerate(columns):
        ws.write_string(0, col, header, st.header)
        ws.set_column(col, col, widths[col])
    ws.set_row(0, row_height([(header, w) for (_, _, header), w in zip(columns, widths)]))
    indicators = table.kind == "indicators"
    row = 1
    for p in c.projects:
        items = p.indicators if indicators else p.children.get(table.key, [])
        against = c.comparisons(p) if indicators and c.previous is not None else None
        for n, item in enumerate(items):
            texts = []
            for col, (kind, fid, _header) in enumerate(columns):
                if kind in ("previous", "compare"):
                    prev, word = against[n]
                    value, fmt = ((prev or "") if kind == "previous" else word), st.center
                else:
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
    print_wide(ws, widths, repeat_columns=4, header_rows=(0, 0), last_row=max(0, row - 1),
               title=f"{c.department}{c.year}年度{detail_sheet_name(table)}", footer_note=c.department)


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
    counts = [(f"{t.noun}数", 6) for t in spec.tables]
    annual = [(f"{spec.projects.label('annual_total')}（{spec.money_unit}）", 14)] if spec.projects.has("annual_total") \
        else []
    return [("序号", 5), ("单位编码", 9), ("单位名称", 18), ("联系人", 8), ("联系电话", 13), ("文件", 30),
            ("状态", 10), *counts, ("错误数", 6), ("提示数", 6), ("已说明数", 6), ("变更数", 6), *annual,
            ("接收时间", 15), ("备注", 30)]


def _write_status(ws, c: Consolidated, st: _Styles) -> None:
    """Every roster unit. Counts and the amount are of what was merged: a unit whose file was not
    merged (未报送, 有错误未汇总, 无法读取) has them blank, not 0; errors and warnings are blank
    only when there is no file."""
    columns = status_columns(c)
    title = f"{c.department}{c.year}年度{c.spec.summary_title.removesuffix('汇总表')}报送情况"
    write_title(ws, 0, title, [w for _, w in columns], 3, st.title_left)
    header_row = 1
    for col, (label, width) in enumerate(columns):
        ws.write_string(header_row, col, label, st.header)
        ws.set_column(col, col, width)
    ws.set_row(header_row, row_height([(label, width) for label, width in columns]))
    keys = [t.key for t in c.spec.tables]
    has_annual = c.spec.projects.has("annual_total")
    row = header_row
    for i, u in enumerate(c.units, start=1):
        row += 1
        merged = u.status == "通过"
        values = [i, u.unit.code, u.unit.name, u.unit.contact, u.unit.phone, u.file, u.status,
                  *((u.rows.get(k, 0) if merged else None) for k in keys),
                  *((u.errors, u.warnings, u.explained) if u.file else (None, None, None)), u.changes]
        if has_annual:
            values.append(u.amount if merged else None)
        note = f"已采用最新报送的文件；较早的 {len(u.superseded)} 份未汇总：{'、'.join(u.superseded)}" if u.superseded else ""
        values += [u.received, note]
        texts = []
        for col, value in enumerate(values):
            label = columns[col][0]
            if label == "状态":
                ws.write_string(row, col, value, st.status.get(value, st.center))
            elif isinstance(value, Decimal):
                ws.write_number(row, col, float(value), st.money)
            elif value is None:
                ws.write_blank(row, col, None, st.money if has_annual and col == len(values) - 3 else st.int)
            elif isinstance(value, int):
                ws.write_number(row, col, value, st.int)
            else:
                ws.write_string(row, col, value, st.text)
                texts.append((value, columns[col][1]))
        ws.set_row(row, row_height(texts))
    note = ("说明：数量和金额是已汇总文件中的数；未报送、有错误未汇总或无法读取的单位留空。"
            "提示数不含单位已说明理由的提示（已说明数）。变更数是单位最新文件与其上一份文件相比变化的处数"
            "（每个改动的单元格、每行增删各算一处），只报送过一份的单位留空。")
    write_note(ws, row + 2, note, [w for _, w in columns], 3, st.note_left)
    ws.freeze_panes(header_row + 1, 0)
    ws.autofilter(header_row, 0, max(header_row + 1, row), len(columns) - 1)
    print_wide(ws, [w for _, w in columns], repeat_columns=3, header_rows=(header_row, header_row),
               last_row=row + 2, title=title, footer_note=c.department)
