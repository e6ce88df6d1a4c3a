"""An annotated copy to send back to the unit: the unit's data in a fresh template of its own,
problem cells marked, and a first sheet 校验结果 listing every finding with a link to its cell."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from .cells import a1
from .check import FileReport
from .contract import HEADER_ROW, META_SHEET, RESULT_SHEET, meta_prefill
from .fileio import atomic_path
from .findings import ERROR
from .report import SEVERITY_TEXT
from .roster import Unit
from .spec import FormSpec
from .template import TemplateContent, TemplateRequest, write_template
from .xlstyle import FONT, print_wide, row_height

_CELL = re.compile(r"^([A-Z]+)(\d+)$")


def _rc(cell: str) -> tuple[int, int] | None:
    m = _CELL.match(cell or "")
    if not m:
        return None
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return int(m[2]) - 1, col - 1


def annotated_name(path: Path) -> str:
    return f"{path.stem}_校验结果.xlsx"


def annotate(report: FileReport, spec: FormSpec, out_dir: str | Path) -> Path | None:
    """Write `<name>_校验结果.xlsx` into out_dir: the unit's data in a fresh template, problem cells
    filled red (error) or yellow (warning) with the message as a comment, and a first sheet that
    lists every finding with a link to its cell. The input file is never opened for writing."""
    sub = report.submission
    if not sub.readable:
        return None
    out = Path(out_dir) / annotated_name(report.path)
    if out.resolve() == report.path.resolve():
        raise ValueError("annotated copy would overwrite its input")
    if _rebuildable(report, spec):
        with atomic_path(out) as tmp:
            _rebuild(report, spec, tmp)
    elif any(f.rule == "S-19" for f in report.findings):
        return None  # a sheet past the row limit: marking the original would load all of it
    else:
        try:
            with atomic_path(out) as tmp:
                _mark_in_place(report, spec, tmp)
        except Exception:  # noqa: BLE001 - openpyxl on a reshaped return: the findings still stand
            return None
    return out


def _rebuildable(report: FileReport, spec: FormSpec) -> bool:
    """The copy can be rebuilt from the spec when the return still has the template's shape."""
    sub = report.submission
    blocking = {"S-02", "S-03", "S-04", "S-05", "S-06", "S-11"}
    if any(f.rule in blocking for f in report.findings):
        return False
    for sheet in spec.data_sheets:
        table = sub.table(sheet.key)
        if table is None or table.header_row != HEADER_ROW:
            return False
        if [table.columns.get(fid) for fid in sheet.ids] != list(range(len(sheet.ids))):
            return False
    return True


def _marks(report: FileReport) -> dict[str, dict[tuple[int, int], tuple[str, str]]]:
    """Findings per cell, merged: the worst severity colours the cell, every message is in its note."""
    grouped: dict[tuple[str, tuple[int, int]], list] = defaultdict(list)
    for f in report.findings:
        rc = _rc(f.cell)
        if f.sheet and rc:
            grouped[(f.sheet, rc)].append(f)
    marks: dict[str, dict] = defaultdict(dict)
    for (sheet, rc), findings in grouped.items():
        severity = ERROR if any(f.severity == ERROR for f in findings) else "warning"
        note = "\n".join(f"[{SEVERITY_TEXT[f.severity]} {f.rule}] {f.message}" for f in findings)
        marks[sheet][rc] = (severity, note)
    return marks


RESULT_COLUMNS = (("序号", 5), ("级别", 5), ("位置", 13), ("字段", 13), ("规则", 6), ("说明", 90))


def _front(report: FileReport):
    """The 校验结果 sheet: verdict, then every finding with a link to its cell. It is guidance, not
    data: the reader ignores it, so the unit corrects the marked cells and sends this file back."""

    def add(wb):
        ws = wb.add_worksheet(RESULT_SHEET)
        title = wb.add_format({"bold": True, "font_size": 14, "font_name": FONT})
        note = wb.add_format({"font_name": FONT, "text_wrap": True, "valign": "top"})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_name": FONT})
        wrap = wb.add_format({"text_wrap": True, "valign": "top", "font_name": FONT, "border": 1})
        link = wb.add_format({"font_color": "blue", "underline": 1, "valign": "top", "font_name": FONT, "border": 1})
        colors = {e: wb.add_format({"bg_color": c, "valign": "top", "font_name": FONT, "border": 1})
                  for e, c in (("error", "#FF9999"), ("warning", "#FFE699"))}
        width = sum(w for _, w in RESULT_COLUMNS)
        ws.merge_range(0, 0, 0, len(RESULT_COLUMNS) - 1, f"校验结果：{report.path.name}", title)
        guidance = (f"{report.errors} 个错误（红色，必须改正），{report.warnings} 个提示（黄色，请核对）。"
                    "点击“位置”可跳到对应单元格。本表只是校验说明，系统读取时不会把它当作数据："
                    "请在各工作表中改正标出的单元格，保存本文件后重新报送即可。")
        ws.merge_range(1, 0, 1, len(RESULT_COLUMNS) - 1, guidance, note)
        ws.set_row(1, row_height([(guidance, width)], font_points=11))
        for col, (label, w) in enumerate(RESULT_COLUMNS):
            ws.write_string(3, col, label, head)
            ws.set_column(col, col, w)
        for i, f in enumerate(report.findings, start=1):
            row = 3 + i
            ws.write_number(row, 0, i, wrap)
            ws.write_string(row, 1, SEVERITY_TEXT[f.severity], colors[f.severity])
            if f.sheet and f.cell and f.sheet != META_SHEET:
                ws.write_url(row, 2, f"internal:'{f.sheet}'!{f.cell}", link, string=f.where)
            else:
                ws.write_string(row, 2, f.where or "（文件）", wrap)
            ws.write_string(row, 3, f.field or "", wrap)
            ws.write_string(row, 4, f.rule, wrap)
            ws.write_string(row, 5, f.message, wrap)
            ws.set_row(row, row_height([(f.where, 13), (f.field or "", 13), (f.message, 90)], font_points=11))
        ws.freeze_panes(4, 0)
        ws.autofilter(3, 0, 3 + len(report.findings), 5)
        print_wide(ws, [w for _, w in RESULT_COLUMNS], repeat_columns=0, header_rows=(3, 3),
                   last_row=3 + len(report.findings), title=f"校验结果：{report.path.name}")
        ws.activate()

    return add


def _rebuild(report: FileReport, spec: FormSpec, path: Path) -> None:
    sub = report.submission
    meta = sub.meta
    prefill = meta_prefill(meta) or []
    column_of = {f.label: i for i, f in enumerate(spec.projects.fields)}
    frozen = {(rec["row"] - 1, column_of[label]) for rec in prefill for label in rec["values"] if label in column_of}
    marks = _marks(report)
    cells: dict[str, dict] = {}
    for sheet in spec.data_sheets:
        table = sub.table(sheet.key)
        target = cells.setdefault(sheet.name, {})
        for r, values in table.rows:
            for c, value in enumerate(values):
                if value is None or (sheet.kind == "records" and (r, c) in frozen
                                     and (r, c) not in marks.get(sheet.name, {})):
                    continue
                formula = sub.formulas.get((table.sheet, a1(r, c)))
                target[(r, c)] = formula if formula else value
    request = TemplateRequest(Unit(meta["单位编码"], meta["单位名称"]), meta["主管部门"], int(meta["年度"]),
                              None, tuple(prefill))
    content = TemplateContent(cells=cells, marks=marks, front=_front(report), meta=meta)
    write_template(spec, request, path, content=content)


def _mark_in_place(report: FileReport, spec: FormSpec, path: Path) -> None:
    """Fallback for a return that no longer has the template's shape: mark a copy with openpyxl."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink  # noqa: F401 - hyperlinks via cell.hyperlink

    wb = openpyxl.load_workbook(report.path)
    fills = {"error": PatternFill("solid", fgColor="FF9999"), "warning": PatternFill("solid", fgColor="FFE699")}
    for sheet, marks in _marks(report).items():
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        for (r, c), (severity, note) in marks.items():
            cell = ws.cell(row=r + 1, column=c + 1)
            cell.fill = fills[severity]
            cell.comment = Comment(note, "jixiao", width=360, height=160)
    ws = wb.create_sheet(RESULT_SHEET, 0)
    ws.append([f"校验结果：{report.path.name}"])
    ws.append([f"{report.errors} 个错误，{report.warnings} 个提示"])
    ws.append([])
    ws.append(["序号", "级别", "位置", "字段", "规则", "说明"])
    for i, f in enumerate(report.findings, start=1):
        ws.append([i, SEVERITY_TEXT[f.severity], f.where or "（文件）", f.field, f.rule, f.message])
        if f.sheet in wb.sheetnames and f.cell:
            ws.cell(row=ws.max_row, column=3).hyperlink = f"#'{f.sheet}'!{f.cell}"
    ws.column_dimensions["F"].width = 90
    wb.active = 0
    wb.save(path)
