"""FormSpec + unit (+ budget rows) → one locked .xlsx template per unit (xlsxwriter).

What a returned workbook is read against (sheet names, header rows, the `_meta` keys and the
fingerprint of the locked content) is the contract, in contract.py; this module writes it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from . import __version__
from .contract import (CODES_SHEET, FIRST_DATA_ROW, GROUP_ROW, HEADER_ROW, INSTRUCTIONS_SHEET, META_KEYS,
                       META_SHEET, PREFILL_MAX_PARTS, meta_identity, prefill_json, prefill_parts, prefill_records,
                       template_filename, template_fingerprint, physical_columns)
from .errors import InputError, OutputError
from .fileio import atomic_folder
from .roster import BudgetRow, Roster, Unit
from .spec import DEFAULT_FORM, FormSpec, SheetSpec, load_form, normalize_label
from .text import FORMULA_TEXT, brief
from .values import TEMPLATE_OPERATORS, template_operator
from .xlstyle import FONT, NUMBER_FONT, print_wide, row_height

INSTRUCTIONS_WIDTH = 110

VALIDATION_TEXT_MAX = 255             # Excel's limit for a data validation prompt or error message
# Re-exported for callers that knew them here.
__all__ = ["CODES_SHEET", "FIRST_DATA_ROW", "HEADER_ROW", "INSTRUCTIONS_SHEET", "META_KEYS", "META_SHEET",
           "TemplateContent", "TemplateRequest", "check_budget", "template_filename", "write_template",
           "write_templates"]


@dataclass(frozen=True)
class TemplateRequest:
    unit: Unit
    department: str
    year: int
    deadline: dt.date | None = None
    prefill: tuple[dict, ...] = ()        # contract.prefill_records(): Excel row + frozen values as text


@dataclass
class TemplateContent:
    """Values and marks to lay into a template: how an annotated copy is rebuilt from the spec,
    so that its dropdowns and protection are the template's own, whatever client saved the return."""
    cells: dict[str, dict[tuple[int, int], object]] = field(default_factory=dict)     # sheet → (row, col) → value
    marks: dict[str, dict[tuple[int, int], tuple[str, str]]] = field(default_factory=dict)  # → (severity, note)
    front: Callable | None = None           # adds sheets before 填报说明 (e.g. 校验结果)
    meta: dict[str, str] = field(default_factory=dict)   # _meta values to keep as they were
    # A locked reference column (last year's values): sheet → (Field, row → text, its column); the
    # fields from that column on stand one to the right. Cells and marks stay keyed by spec index.
    references: dict[str, tuple[object, dict[int, str], int]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()             # lines added to 填报说明 (what was carried from last year)


# --- the writer ---------------------------------------------------------------------------

# The input cells' formats by field type (a marked cell of an annotated copy keeps them, adding its fill).
INPUT_FORMATS = {
    "text": {"num_format": "@", "text_wrap": True},
    "longtext": {"num_format": "@", "text_wrap": True, "valign": "top"},
    "code": {"num_format": "@", "text_wrap": True},
    "date": {"num_format": "yyyy-mm-dd", "align": "center"},
    "amount": {"num_format": "#,##0.00", "font_name": NUMBER_FONT},
    "project_ref": {"num_format": "@", "text_wrap": True},
    "level1": {"num_format": "@", "text_wrap": True},
    "level2": {"num_format": "@", "text_wrap": True},
    "operator": {"num_format": "@", "align": "center"},
    # Text format: "85%" stays "85%" instead of becoming 0.85, and "=100" is not a formula.
    "value": {"num_format": "@", "align": "right", "text_wrap": True},
    "count": {"num_format": "0", "align": "center"},
    "unit": {"num_format": "@", "align": "center"},
}
MARK_STYLES = {"error": {"bg_color": "#FF9999", "border": 1, "border_color": "#C00000"},
               "warning": {"bg_color": "#FFE699", "border": 1, "border_color": "#BF8F00"}}


class _Formats:
    """All cell formats of one workbook, made once."""

    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 11, "valign": "vcenter"}

        def fmt(**kw):
            return wb.add_format({**base, **kw})

        self.title = fmt(bold=True, font_size=16, align="center")
        self.text = fmt(text_wrap=True, valign="top")
        self.example = fmt(text_wrap=True, valign="top", font_color="#595959")
        self.bold = fmt(bold=True)
        self.group = fmt(bold=True, align="center", border=1, bg_color="#BDD7EE")
        self.header = fmt(bold=True, align="center", border=1, text_wrap=True, bg_color="#DDEBF7")
        self.required_header = fmt(bold=True, align="center", border=1, text_wrap=True,
                                   bg_color="#DDEBF7", font_color="#C00000")
        # Input columns are unlocked by *column* format: LibreOffice keeps column formats to
        # the last row, while row formats came back locked below row ~1,000 (reliability.md).
        self.input_props = {ftype: {**base, "locked": False, **props} for ftype, props in INPUT_FORMATS.items()}
        self.input = {ftype: wb.add_format(props) for ftype, props in self.input_props.items()}
        grey = {"bg_color": "#EDEDED", "border": 1, "locked": True}
        self.prefill = {
            "amount": fmt(num_format="#,##0.00", font_name=NUMBER_FONT, **grey),
            "text": fmt(num_format="@", text_wrap=True, **grey),
        }
        # last year's values beside this year's: locked text, grey like the prefilled cells
        self.reference = fmt(align="right", text_wrap=True, num_format="@", **grey)
        self.code = fmt(num_format="@")
        self.locked = fmt(locked=True)


def write_template(spec: FormSpec, request: TemplateRequest, path: Path, password: str | None = None,
                   content: TemplateContent | None = None) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False,
                                         "strings_to_urls": False})
    wb.set_properties({"title": f"{request.year}年度{spec.file_title}", "subject": request.unit.name,
                       "author": request.department, "comments": f"jixiao {__version__}"})
    formats = _Formats(wb)
    prefill = list(request.prefill)
    identity = meta_identity(spec, request.department, request.year, request.unit)
    if content and content.front:
        content.front(wb)

    instructions = wb.add_worksheet(INSTRUCTIONS_SHEET)
    data_sheets = [(sheet, wb.add_worksheet(sheet.name)) for sheet in spec.data_sheets]
    codes = wb.add_worksheet(CODES_SHEET)
    meta = wb.add_worksheet(META_SHEET)

    names = _write_codes(wb, codes, spec, formats)
    _write_instructions(instructions, spec, request, formats, content.notes if content else ())
    for sheet, ws in data_sheets:
        reference = content.references.get(sheet.name) if content else None
        _write_data_sheet(wb, ws, sheet, spec, formats, names, request.year, reference)
    _write_prefill(data_sheets[0][1], spec, prefill, formats)
    if content:
        for sheet, ws in data_sheets:
            _write_content(wb, ws, sheet, content, formats)

    # The names typed so far, without the empty rows below them (the list is as long as the names).
    first, last = FIRST_DATA_ROW + 1, FIRST_DATA_ROW + spec.projects.rows
    letter = xl_col_to_name(spec.projects.column("name"))
    sheet = f"'{spec.projects.name}'"
    wb.define_name("ProjectNames", f"=OFFSET({sheet}!${letter}${first},0,0,"
                                   f"MAX(1,COUNTA({sheet}!${letter}${first}:${letter}${last})),1)")

    meta_values = {**identity,
                   "截止日期": request.deadline.isoformat() if request.deadline else "",
                   "生成时间": dt.datetime.now().replace(microsecond=0).isoformat(),
                   "生成工具": f"jixiao {__version__}",
                   "fingerprint": template_fingerprint(spec, identity, prefill)}
    parts = prefill_parts(prefill_json(prefill))
    meta_values["prefill"] = parts.pop("prefill")
    if content:
        meta_values.update({k: v for k, v in content.meta.items() if k in ("截止日期", "生成时间", "生成工具")})
    if len(parts) >= PREFILL_MAX_PARTS:
        raise InputError([f"单位 {request.unit.code} {request.unit.name} 的预算预填内容过多：请减少预填的{spec.record_noun}"])
    for row, (key, value) in enumerate([*((k, meta_values[k]) for k in META_KEYS), *parts.items()]):
        meta.write_string(row, 0, key)
        meta.write_string(row, 1, value)
    meta.set_column(0, 0, 14)
    meta.set_column(1, 1, 60)

    protect = {"format_columns": True, "format_rows": True, "autofilter": False}
    for ws in (instructions, *(ws for _, ws in data_sheets), codes, meta):
        ws.protect(password or "", protect)
    codes.hide()
    meta.very_hidden()
    if not (content and content.front):
        instructions.activate()
    wb.close()
    lock_structure(path, password)


def _write_codes(wb, ws, spec: FormSpec, formats: _Formats) -> dict[str, str]:
    """Code lists on the hidden sheet, one column each; returns code list name → range formula.

    The 运算符 and hierarchy columns are keyed apart from the code lists, so a code list that
    happens to be called "一级指标" or like a 一级指标 cannot take another column's range."""
    names: dict[str, str] = {}
    sheet = f"'{CODES_SHEET}'"
    columns: list[tuple[object, str, list[str]]] = [(k, k, list(v)) for k, v in spec.code_lists.items()]
    ind = spec.indicators
    columns.append((("operators",), ind.label("operator") if ind.has("operator") else "运算符号",
                    list(TEMPLATE_OPERATORS)))
    columns.append((("level1",), ind.label("level1"), list(spec.level1_names())))
    for i, l1 in enumerate(spec.hierarchy, start=1):
        columns.append((("level2", i), l1.name, [l2.name for l2 in l1.level2]))
    refs: dict[object, str] = {}
    for col, (key, title, values) in enumerate(columns):
        ws.write_string(0, col, title, formats.bold)
        for row, value in enumerate(values, start=1):
            ws.write_string(row, col, value, formats.code)
        letter = xl_col_to_name(col)
        refs[key] = f"={sheet}!${letter}$2:${letter}${len(values) + 1}"
        ws.set_column(col, col, max(10, 2.2 * max(len(v) for v in [title, *values])))
    names.update({k: refs[k] for k in spec.code_lists})
    # Cascade: ASCII names, plain in Excel, WPS and LibreOffice: Level1 and L2_1 … L2_n.
    wb.define_name("Level1", refs[("level1",)])
    for i, _ in enumerate(spec.hierarchy, start=1):
        wb.define_name(f"L2_{i}", refs[("level2", i)])
    return names


def _write_instructions(ws, spec: FormSpec, request: TemplateRequest, formats: _Formats,
                        notes: tuple[str, ...] = ()) -> None:
    d = request.deadline
    deadline = f"{d.year}年{d.month}月{d.day}日" if d else "（见通知）"
    lines = [
        (f"{request.year}年度{spec.file_title} 填报说明", formats.title),
        (f"主管部门：{request.department}", formats.bold),
        (f"填报单位：{request.unit.name}（单位编码 {request.unit.code}）", formats.bold),
        (f"报送截止：{deadline}", formats.bold),
        ("", None),
    ]
    values = {"money_unit": spec.money_unit, **{sheet.key: sheet.name for sheet in spec.data_sheets}}
    lines += [(f"{n}. {line.format(**values)}", formats.text) for n, line in enumerate(spec.instructions, start=1)]
    if notes:
        lines += [("", None), (notes[0], formats.bold)]
        lines += [(f"　　{line}", formats.text) for line in notes[1:]]
    lines += [("", None), ("表头为红色的列是必填项；灰色单元格是预算预填内容，不能修改；"
                           "选中一个单元格可以看到它的填写提示。", formats.text)]
    for sheet in spec.data_sheets:
        shown = [f for f in sheet.fields if f.example]
        if not shown:
            continue
        lines += [("", None), (f"示例：“{sheet.name}”表中的一行（只作参考，不要照抄）", formats.bold)]
        lines += [(f"　　{f.label}：{f.example}", formats.example) for f in shown]
    ws.set_column(0, 0, INSTRUCTIONS_WIDTH)
    for row, (text, fmt) in enumerate(lines):
        if fmt is None:
            continue
        ws.write_string(row, 0, text, fmt)
        ws.set_row(row, 30 if row == 0 else row_height([(text, INSTRUCTIONS_WIDTH)], font_points=11, minimum=22))
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.hide_gridlines(2)


def _write_data_sheet(wb, ws, sheet: SheetSpec, spec: FormSpec, formats: _Formats, names: dict, year: int,
                      reference=None) -> None:
    first, last = FIRST_DATA_ROW, FIRST_DATA_ROW + sheet.rows - 1
    at = reference[2] if reference is not None else None
    phys = physical_columns(len(sheet.fields), at)
    for i, f in enumerate(sheet.fields):
        col = phys[i]
        ws.set_column(col, col, f.width, formats.input[f.type])
        header = formats.required_header if f.required else formats.header
        ws.write_string(HEADER_ROW, col, f.label, header)
        _validate(ws, sheet, spec, col, f, first, last, names, year)
    widths = [f.width for f in sheet.fields]
    headers = [(f.label, f.width) for f in sheet.fields]
    if reference is not None:
        # Last year's values, locked, beside this year's (the reader maps columns by label and reads
        # none it does not know, so the column is never data).
        ref_field, by_row, col = reference
        ws.set_column(col, col, ref_field.width, formats.locked)
        ws.write_string(HEADER_ROW, col, ref_field.label, formats.header)
        ws.write_string(GROUP_ROW, col, "上年参考", formats.group)
        if ref_field.prompt:
            ws.data_validation(first, col, last, col, {"validate": "any", "input_title": ref_field.label[:32],
                                                       "input_message": ref_field.prompt[:VALIDATION_TEXT_MAX]})
        for r, text in by_row.items():
            ws.write_string(r, col, text, formats.reference)
        widths.insert(col, ref_field.width)
        headers.insert(col, (ref_field.label, ref_field.width))
    grouped: set[int] = set() if reference is None else {reference[2]}
    for group in sheet.groups:
        a, b = phys[sheet.column(group.first)], phys[sheet.column(group.last)]
        grouped.update(range(a, b + 1))
        if a == 0 and b > 0:
            # Column A repeats on every printed page: its group cell stands alone, so that the group's
            # label is not printed again over the next group's on the following pages.
            ws.write_blank(GROUP_ROW, 0, None, formats.group)
            a = 1
        if a == b:
            ws.write_string(GROUP_ROW, a, group.label, formats.group)
        else:
            ws.merge_range(GROUP_ROW, a, GROUP_ROW, b, group.label, formats.group)
    for col in range(len(widths)):
        if col not in grouped:   # the column format unlocks every row it does not overrule
            ws.write_blank(GROUP_ROW, col, None, formats.locked)
    ws.set_row(GROUP_ROW, 20)
    ws.set_row(HEADER_ROW, row_height(headers, font_points=11, minimum=32))
    ws.freeze_panes(FIRST_DATA_ROW, 1)
    # Printed at 100%, the columns split over pages with the first (the record's name) on each; the
    # reference column prints with the value it stands beside.
    print_wide(ws, widths, repeat_columns=1, header_rows=(GROUP_ROW, HEADER_ROW),
               title=sheet.name, blocks=[phys[sheet.column(g.first)] for g in sheet.groups])


def _validate(ws, sheet: SheetSpec, spec: FormSpec, col: int, f, first: int, last: int, names: dict,
              year: int) -> None:
    """One data validation per input column, with a Chinese prompt and a stop-style error that says
    what the validation enforces."""
    opts: dict = {"input_title": f.label[:32], "input_message": f.prompt[:VALIDATION_TEXT_MAX],
                  "error_title": "输入有误", "error_type": "stop", "ignore_blank": True}
    level1 = [i for i, other in enumerate(sheet.fields) if other.type == "level1"]
    level1_col = xl_col_to_name(level1[0]) if level1 else None
    row1 = first + 1
    if f.type in ("code", "unit") and f.code_list:
        opts.update(validate="list", source=names[f.code_list],
                    error_message=f"请从下拉列表中选择{f.label}。")
        if f.type == "unit":  # a suggestion list: other units are allowed after a notice
            opts.update(error_type="information", error_message="该计量单位不在常用列表中，确认无误可继续。")
    elif f.type == "project_ref":
        opts.update(validate="list", source="=ProjectNames",
                    error_message=f"请选择“{spec.projects.name}”表中已填写的{spec.projects.label('name')}。")
    elif f.type == "level1":
        opts.update(validate="list", source="=Level1", error_message=f"请从下拉列表中选择{f.label}。")
    elif f.type == "level2":
        opts.update(validate="list", source=f'=INDIRECT("L2_"&MATCH(${level1_col}{row1},Level1,0))',
                    error_message=f"请先选择{sheet.label('level1')}，再从下拉列表中选择对应的{f.label}。")
    elif f.type == "operator":
        opts.update(validate="list", source=list(TEMPLATE_OPERATORS),
                    error_message="请选择 ≥、≤、＝、>、< 之一；定性指标请留空。")
    elif f.type == "date":
        opts.update(_date_rule(sheet, f, row1, year))
    elif f.type == "amount":
        # A custom rule, because Excel's decimal validation cannot limit the number of decimals.
        cell = f"{xl_col_to_name(col)}{row1}"
        opts.update(validate="custom", value=f"=AND(ISNUMBER({cell}),{cell}>=0,{cell}<1000000000000000,ROUND({cell},2)={cell})",
                    error_message=f"请填写不小于 0、最多两位小数的金额（{spec.money_unit}）。")
    elif f.type == "count":
        opts.update(validate="integer", criteria="between", minimum=0, maximum=10_000_000,
                    error_message="请填写不小于 0 的整数。")
    elif f.max_length:
        opts.update(validate="length", criteria="<=", value=f.max_length,
                    error_message=f"不能超过 {f.max_length} 个字。")
    else:
        opts.update(validate="any")
    if "error_message" in opts:
        opts["error_message"] = opts["error_message"][:VALIDATION_TEXT_MAX]
    if ws.data_validation(first, col, last, col, opts) != 0:
        raise RuntimeError(f"data validation rejected for {sheet.name}.{f.id}")


def _date_rule(sheet: SheetSpec, f, row1: int, year: int) -> dict:
    """Dates a project of this year can have: it starts by the end of the year and ends in it or
    later (P-06), and the end is not before the start (P-05)."""
    this = f"{xl_col_to_name(sheet.column(f.id))}{row1}"
    if sheet.kind == "records" and f.id == "start":
        return dict(validate="date", criteria="between", minimum=dt.date(year - 30, 1, 1),
                    maximum=dt.date(year, 12, 31), error_message=f"请填写 {year} 年底以前的日期，如 {year}-01-01。")
    if sheet.kind == "records" and f.id == "end":
        start = (f"{xl_col_to_name(sheet.column('start'))}{row1}") if sheet.has("start") else None
        after = f",OR({start}=\"\",{this}>={start})" if start else ""
        return dict(validate="custom",
                    value=f"=AND(ISNUMBER({this}),{this}>=DATE({year},1,1),{this}<=DATE({year + 30},12,31){after})",
                    error_message=f"请填写 {year} 年或以后的日期，且不早于开始日期，如 {year}-12-31。")
    return dict(validate="date", criteria="between", minimum=dt.date(2000, 1, 1), maximum=dt.date(2100, 12, 31),
                error_message=f"请填写有效日期，如 {year}-01-01。")


def _write_prefill(ws, spec: FormSpec, prefill: list[dict], formats: _Formats) -> None:
    by_label = {f.label: f for f in spec.projects.fields}
    for record in prefill:
        r = record["row"] - 1
        for label, value in record["values"].items():
            f = by_label[label]
            col = spec.projects.column(f.id)
            if f.type == "amount":
                ws.write_number(r, col, float(Decimal(value)), formats.prefill["amount"])
            else:
                ws.write_string(r, col, value, formats.prefill["text"])


def _write_content(wb, ws, sheet: SheetSpec, content: TemplateContent, formats: _Formats) -> None:
    """Lay a unit's values (as read) into the fresh template: each row as high as its wrapped text
    needs; marked cells keep their column's format (alignment, number format) with a fill, a border
    and the findings as a comment."""
    cache: dict = {}

    def fmt_for(col: int, severity: str | None):
        ftype = sheet.fields[col].type if col < len(sheet.fields) else "text"
        if severity is None:
            return formats.input[ftype]
        if (ftype, severity) not in cache:
            cache[(ftype, severity)] = wb.add_format({**formats.input_props[ftype], **MARK_STYLES[severity]})
        return cache[(ftype, severity)]

    values = content.cells.get(sheet.name, {})
    marks = content.marks.get(sheet.name, {})
    reference = content.references.get(sheet.name)
    phys = physical_columns(len(sheet.fields), reference[2] if reference is not None else None)
    texts: dict[int, list] = {}
    for (r, c) in sorted(set(values) | set(marks)):     # c: the field's index in the spec
        severity, note = marks.get((r, c), (None, None))
        value = values.get((r, c))
        fmt = fmt_for(c, severity)
        c_spec, c = c, (phys[c] if c < len(phys) else c + (reference is not None))
        if value is None:
            ws.write_blank(r, c, None, fmt)
        elif isinstance(value, (dt.date, dt.datetime)):
            ws.write_datetime(r, c, value, fmt)
        elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and _finite(value):
            ws.write_number(r, c, float(value), fmt)
        else:       # text; and a number xlsxwriter refuses (NaN, ±inf) as the text it reads as
            ws.write_string(r, c, str(value), fmt)
            if c_spec < len(sheet.fields) and sheet.fields[c_spec].type not in ("date", "amount", "count"):
                texts.setdefault(r, []).append((str(value), sheet.fields[c_spec].width))
        if note:
            ws.write_comment(r, c, note, {"author": "jixiao", "x_scale": 2.2, "y_scale": 1.6})
    for r, cells in texts.items():
        ws.set_row(r, row_height(cells, font_points=11, minimum=15))


def _finite(number) -> bool:
    try:
        return math.isfinite(float(number))
    except (OverflowError, ValueError):
        return False


_WORKBOOK_PR = re.compile(rb"(<workbookPr\b[^>]*/>)")


def _password_hash(password: str) -> str:
    digest = 0
    for char in password[::-1]:
        digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
        digest ^= ord(char)
    digest = ((digest >> 14) & 0x01) | ((digest << 1) & 0x7FFF)
    digest ^= len(password) ^ 0xCE4B
    return f"{digest:X}"


def lock_structure(path: Path, password: str | None = None) -> None:
    """Add workbook structure protection, which xlsxwriter cannot write, by rewriting the zip once."""
    attrs = b'lockStructure="1"'
    if password:
        attrs += f' workbookPassword="{_password_hash(password)}"'.encode()
    tmp = path.with_suffix(".lock.tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data, n = _WORKBOOK_PR.subn(rb"\1<workbookProtection " + attrs + b"/>", data, count=1)
                if n != 1:
                    raise RuntimeError("workbookPr not found in xl/workbook.xml")
            dst.writestr(item, data)
    tmp.replace(path)


# --- the batch ----------------------------------------------------------------------------

def check_budget(spec: FormSpec, roster: Roster, budget: dict[str, list[BudgetRow]]) -> dict[str, list[BudgetRow]]:
    """What the template would freeze must be valid, or the unit could never return a clean file.

    Code values are matched to their code list (spelling variants become the listed value);
    every problem of every unit is reported together, before any file is written.
    """
    problems: list[str] = []
    out: dict[str, list[BudgetRow]] = {}
    fields = {f.id: f for f in spec.prefill_fields()}
    for code, rows in budget.items():
        unit = roster.get(code)
        who = f"单位 {code}" + (f" {unit.name}" if unit else "")
        if len(rows) > spec.projects.rows:
            problems.append(f"{who} 的预算{spec.record_noun}有 {len(rows)} 个，超过模板的 {spec.projects.rows} 行：请拆分或联系管理员")
            continue
        fixed = []
        for row in rows:
            values = dict(row.values)
            name = values.get("name", "")
            for field_id, value in row.values.items():
                f = fields.get(field_id)
                if f is None or f.type == "amount" or not isinstance(value, str):
                    continue
                if f.type == "code" and f.code_list:
                    allowed = spec.code_lists[f.code_list]
                    match = {normalize_label(v): v for v in allowed}.get(normalize_label(value))
                    if match is None:
                        problems.append(f"{who} {spec.record_noun}“{name}”：{f.label}“{value}”不在代码表中"
                                        f"（可选：{'、'.join(allowed)}）")
                        continue
                    values[field_id] = match
                if f.max_length and len(value) > f.max_length:
                    problems.append(f"{who} {spec.record_noun}“{name}”：{f.label}超过 {f.max_length} 个字")
                if FORMULA_TEXT.match(value):
                    # Locked into the template, it would be a P-08 the unit can never correct.
                    problems.append(f"{who} {spec.record_noun}“{brief(name, 40)}”：{f.label}“{brief(value, 40)}”"
                                    "看起来像 Excel 公式，单位报送后会被判为错误且无法修改：请在预算文件中改写"
                                    "（如去掉开头的“=”）")
            fixed.append(BudgetRow(row.unit_code, values))
        if len(prefill_parts(prefill_json(prefill_records(spec, fixed)))) >= PREFILL_MAX_PARTS:
            problems.append(f"{who} 的预算预填内容过多：请减少预填的{spec.record_noun}")
        out[code] = fixed
    if problems:
        raise InputError(problems)
    return out


def carried_content(spec: FormSpec, unit: Unit, year: int, budget_rows, baseline) -> TemplateContent | None:
    """A unit's template starting from last year (previous.Baseline): its recurring projects after
    the budget rows (a budget row of the same name wins: it stays locked, and only what the budget
    does not give is filled in beside it), their indicators, last year's value of each in the locked
    reference column, and on 填报说明 what was carried. Dates are the new year's; amounts are not
    carried. None when the unit has nothing from last year."""
    projects = baseline.projects_for(unit)
    if not projects:
        return None
    records, ind = spec.projects, spec.indicators
    budget_row = {normalize_label(r.values.get("name")): FIRST_DATA_ROW + i for i, r in enumerate(budget_rows)}
    next_row = FIRST_DATA_ROW + len(budget_rows)
    rec_cells: dict[tuple[int, int], object] = {}
    ind_cells: dict[tuple[int, int], object] = {}
    reference: dict[int, str] = {}
    prefilled = {f.id for f in spec.prefill_fields()}
    span = {"start": dt.date(year, 1, 1), "end": dt.date(year, 12, 31)}
    r_ind = FIRST_DATA_ROW
    in_budget = 0
    for p in projects:
        row = budget_row.get(normalize_label(p.name))
        from_budget = row is not None
        if from_budget:
            in_budget += 1
        else:
            row, next_row = next_row, next_row + 1
        for fid, text in p.values:
            if records.has(fid) and not (from_budget and fid in prefilled):
                rec_cells[(row, records.column(fid))] = text
        for fid, day in span.items():
            if records.has(fid) and records.field(fid).type == "date":
                rec_cells[(row, records.column(fid))] = day
        for pi in p.indicators:
            values = {"project": p.name, "level1": pi.level1, "level2": pi.level2, "level3": pi.level3,
                      "note": pi.note}
            iv = pi.value
            if iv.kind == "quant" and ind.has("operator") and ind.has("unit"):
                values.update(operator=template_operator(iv.op), value=iv.number_text, unit=iv.unit)
            else:
                values["value"] = pi.official
            for fid, value in values.items():
                if ind.has(fid) and value not in (None, ""):
                    ind_cells[(r_ind, ind.column(fid))] = value
            reference[r_ind] = pi.official
            r_ind += 1
    if next_row - FIRST_DATA_ROW > records.rows or r_ind - FIRST_DATA_ROW > ind.rows:
        raise InputError([f"单位 {unit.code} {unit.name} 上年的{spec.record_noun}或{ind.name}多于模板的"
                          f"{records.rows} / {ind.rows} 行：请精简上年文件中该单位的内容后重试"])
    ref_field = spec.previous_value
    noun = spec.record_noun
    count = sum(len(p.indicators) for p in projects)
    notes = [f"本模板以上年（{year - 1} 年度）报送的内容为起点，请逐项核对后再填报",
             f"已带入上年的 {len(projects)} 个经常性{noun}（{_names(projects)}）和它们的 {count} 条{ind.name}，"
             f"都可以修改；“{ind.name}”表右侧的“{ref_field.label}”列是上年的值，只作参考，不能修改。"]
    if in_budget:
        notes.append(f"其中 {in_budget} 个{noun}与预算预填的{noun}同名：以预算为准（灰色，不能修改），只带入了其余内容和指标。")
    carried_dates = [records.label(f) for f in span if records.has(f)]
    money = "金额没有带入" + (f"，请按本年预算填写{records.label('annual_total')}等各项金额。"
                             if records.has("annual_total") else "，请按本年预算填写。")
    if carried_dates:
        notes.append(f"{'、'.join(carried_dates)}已设为本年度（{year}-01-01 至 {year}-12-31），跨年度{noun}请按实际修改；"
                     f"{money}")
    elif spec.amount_ids():
        notes.append(money)
    notes.append(f"本年不再开展的{noun}，请在“{records.name}”和“{ind.name}”表中删除它的整行；"
                 f"目标低于上年或删除上年的指标时，校验会提示，请在校验结果的单位说明中写明理由。")
    moved = [pi for p in projects for pi in p.indicators if pi.moved_from]
    if moved:
        pairs: dict[tuple, int] = {}
        for pi in moved:
            pairs[(*pi.moved_from, pi.level1, pi.level2)] = pairs.get((*pi.moved_from, pi.level1, pi.level2), 0) + 1
        notes.append(f"按本年表单的指标体系，{len(moved)} 条指标的层级已调整："
                     + "；".join(f"{a}/{b} → {c}/{d}（{n} 条）" for (a, b, c, d), n in pairs.items())
                     + "，请核对。")
    notes += [f"{line}。" for line in baseline.assumed]
    return TemplateContent(cells={records.name: rec_cells, ind.name: ind_cells},
                           references={ind.name: (ref_field, reference, spec.reference_at())}, notes=tuple(notes))


def _names(projects, limit: int = 5) -> str:
    names = [f"“{brief(p.name, 30)}”" for p in projects[:limit]]
    return "、".join(names) + ("等" if len(projects) > limit else "")


def write_templates(roster: Roster, department: str, year: int, out_dir: str | Path, *,
                    budget: dict[str, list[BudgetRow]] | None = None, deadline: dt.date | None = None,
                    password: str | None = None, form: str = DEFAULT_FORM, progress=None,
                    previous=None) -> list[Path]:
    """One template per roster unit, all or nothing: files appear in out_dir only when all are written.
    With `previous` (a previous.Baseline), each unit's template starts from last year (carried_content)."""
    spec = load_form(form)
    budget = check_budget(spec, roster, budget or {})
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} 是一个文件，不是文件夹：请用 -o 指定一个文件夹")
    written = []
    with atomic_folder(out_dir) as tmp:
        for unit in roster.units:
            rows = budget.get(unit.code, ())
            request = TemplateRequest(unit, department, year, deadline, tuple(prefill_records(spec, rows)))
            name = template_filename(unit, year, spec)
            content = carried_content(spec, unit, year, rows, previous) if previous is not None else None
            write_template(spec, request, tmp / name, password, content)
            written.append(out_dir / name)
            if progress:
                progress(unit)
    return written
