"""An annotated copy to send back to the unit: the unit's data in a fresh template of its own,
problem cells marked, and a first sheet 校验结果 listing every finding with a link to its cell."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import partial
from pathlib import Path

from .cells import a1
from .check import FileReport, collect_paths, read_and_check
from .contract import (EXPLANATION_LABEL, HEADER_ROW, KEY_LABEL, META_SHEET, RESULT_SHEET, RULE_LABEL, meta_prefill,
                       physical_columns)
from .errors import OutputError
from .fileio import atomic_path
from .findings import ERROR
from .report import SEVERITY_TEXT
from .roster import Unit
from .rules import Context
from .rules.base import label_key
from .spec import DEFAULT_FORM, FormSpec, load_form
from .template import TemplateContent, TemplateRequest, write_template
from .text import safe_filename, shown_path
from .xlstyle import FONT, print_wide, row_height

_CELL = re.compile(r"^([A-Z]+)(\d+)$")
SHEET_NAME_MAX = 31           # Excel's limit; a longer name (only a forged workbook has one) gets no link


def _rc(cell: str) -> tuple[int, int] | None:
    m = _CELL.match(cell or "")
    if not m:
        return None
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return int(m[2]) - 1, col - 1


SUFFIX = "_校验结果"


def annotated_name(path: Path, prefix: str = "") -> str:
    """`<name>_校验结果.xlsx`, as one safe file name (a return's name may be undecodable bytes or
    too long once the suffix is added: 255 bytes is the file system's limit)."""
    return safe_filename(f"{prefix}{path.stem}", f"{SUFFIX}.xlsx")


def annotated_names(paths: list[Path]) -> list[str]:
    """One distinct name per return: returns with the same file name from different folders get
    their folder's name in front (and a number when even that is not enough)."""
    plain = [annotated_name(p) for p in paths]
    clashes = Counter(n.casefold() for n in plain)      # one file on Windows and macOS
    names, taken = [], set()
    for path, name in zip(paths, plain):
        if clashes[name.casefold()] > 1:
            name = annotated_name(path, f"{path.parent.name}_" if path.parent.name else "")
        candidate, n = name, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = safe_filename(name.removesuffix(f"{SUFFIX}.xlsx"), f"（{n}）{SUFFIX}.xlsx")
        taken.add(candidate.casefold())
        names.append(candidate)
    return names


def check_and_annotate(paths, out_dir: str | Path, *, roster=None, department: str | None = None,
                       year: int | None = None, form: str = DEFAULT_FORM, progress=None,
                       workers: int | None = None, previous=None) -> tuple[list[FileReport], list[Path | None]]:
    """check_files() and an annotated copy of each file, written while its cells are in memory
    (in the worker that read it): `check --annotate` of thousands of files in flat memory."""
    files = collect_paths(paths)
    names = dict(zip(map(str, files), annotated_names(files)))
    # the baseline travels with the check (once per worker) and reaches the copies in its Batch
    write = partial(_annotate_chunk, form, str(out_dir), names)
    checked = read_and_check(files, form, Context(roster, department, year, previous), progress, workers,
                             extract=(write,))
    return checked.reports, [item[0] for item in checked.extracted]


def _annotate_chunk(form: str, out_dir: str, names: dict[str, str], subs, batch, reports) -> list[Path | None]:
    spec = load_form(form)
    return [annotate(r, spec, out_dir, names[str(r.path)], previous=batch.previous) for r in reports]


def annotate(report: FileReport, spec: FormSpec, out_dir: str | Path, name: str | None = None,
             previous=None) -> Path | None:
    """Write `<name>_校验结果.xlsx` into out_dir: the unit's data in a fresh template, problem cells
    filled red (error) or yellow (warning) with the message as a comment, and a first sheet that
    lists every finding with a link to its cell. The input file is never opened for writing.

    Never raises for what a file holds (a batch always continues): a copy that cannot be made
    is None, and the findings still stand."""
    sub = report.submission
    if not sub.readable:
        return None
    if sub.released:
        raise ValueError("the report was checked without its cells: check_files(..., keep_cells=True)")
    out = Path(out_dir) / (name or annotated_name(report.path))
    if out.resolve() == report.path.resolve():
        raise ValueError("annotated copy would overwrite its input")
    if any(f.rule == "S-19" for f in report.findings) and not _rebuildable(report, spec):
        return None  # a sheet past the row limit: marking the original would load all of it
    try:
        with atomic_path(out) as tmp:
            if _rebuildable(report, spec):
                _rebuild(report, spec, tmp, previous)
            else:
                _mark_in_place(report, spec, tmp)
    except OutputError:
        raise
    except Exception:  # noqa: BLE001 - e.g. openpyxl on a reshaped return: the findings still stand
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
        if [table.columns.get(fid) for fid in sheet.ids] != physical_columns(len(sheet.ids), table.reference_col):
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


# The guidance sheet's columns; 单位说明 is where the unit answers a warning, 定位键 (hidden) says by
# content which finding a row is, so that an answer still finds its warning when rows have moved.
RESULT_COLUMNS = (("序号", 5), ("级别", 5), ("工作表", 10), ("单元格", 7), ("字段", 12), (RULE_LABEL, 6),
                  ("说明", 54), (EXPLANATION_LABEL, 30), (KEY_LABEL, 10))
ERROR_NOT_EXPLAINED = "错误须改正，不能用说明代替"


def _front(report: FileReport):
    """The 校验结果 sheet: the verdict, then every finding with a link to its cell and, beside each
    warning, an open 单位说明 cell for the unit's answer. It is guidance: the reader takes nothing
    from it but those answers, so the unit corrects the marked cells and sends this file back."""

    def add(wb):
        ws = wb.add_worksheet(RESULT_SHEET)
        base = {"font_name": FONT, "valign": "top"}

        def fmt(**kw):
            return wb.add_format({**base, **kw})

        title, note = fmt(bold=True, font_size=14), fmt(text_wrap=True)
        head = fmt(bold=True, bg_color="#DDEBF7", border=1, text_wrap=True)
        wrap = fmt(text_wrap=True, border=1)
        link = fmt(font_color="blue", underline=1, border=1, text_wrap=True)
        answer = fmt(text_wrap=True, border=1, locked=False, bg_color="#FFFFF0")
        closed = fmt(text_wrap=True, border=1, font_color="#808080")
        colors = {e: fmt(bg_color=c, border=1) for e, c in (("error", "#FF9999"), ("warning", "#FFE699"))}
        widths = [w for _, w in RESULT_COLUMNS]
        printed = len(RESULT_COLUMNS) - 1                      # 定位键 is for the reader only
        ws.merge_range(0, 0, 0, printed - 1, f"校验结果：{shown_path(report.path.name)}", title)
        answered = f"，其中 {report.explained} 个已说明" if report.explained else ""
        guidance = (f"{report.errors} 个错误（红色，必须改正），{report.warnings + report.explained} 个提示"
                    f"（黄色，请核对{answered}）。点击“位置”可跳到对应单元格。本表只是校验说明，系统读取时"
                    "不会把它当作数据：请在各工作表中改正标出的单元格，保存本文件后重新报送即可。"
                    f"对于确有理由不改的提示，可在“{EXPLANATION_LABEL}”栏写明理由，报送后该提示记为“已说明”；"
                    "错误不能用说明代替，必须改正。")
        ws.merge_range(1, 0, 1, printed - 1, guidance, note)
        ws.set_row(1, row_height([(guidance, sum(widths[:printed]))], font_points=11))
        for col, (label, w) in enumerate(RESULT_COLUMNS):
            ws.write_string(3, col, label, head)
            ws.set_column(col, col, w, None, {"hidden": label == KEY_LABEL})
        plain = fmt()
        for i, f in enumerate(report.findings, start=1):
            row = 3 + i
            ws.write_number(row, 0, i, wrap)
            ws.write_string(row, 1, SEVERITY_TEXT[f.severity], colors[f.severity])
            ws.write_string(row, 2, f.sheet or "（文件）", wrap)
            if f.sheet and f.cell and f.sheet != META_SHEET and len(f.sheet) <= SHEET_NAME_MAX:
                # The link text is the short cell reference: a link does not wrap in every client.
                ws.write_url(row, 3, f"internal:'{f.sheet}'!{f.cell}", link, string=f.cell)
            else:
                ws.write_string(row, 3, f.cell, wrap)
            ws.write_string(row, 4, f.field or "", wrap)
            ws.write_string(row, 5, f.rule, wrap)
            ws.write_string(row, 6, f.message, wrap)
            if f.severity == ERROR:
                ws.write_string(row, 7, ERROR_NOT_EXPLAINED, closed)
            else:
                ws.write_string(row, 7, f.explanation, answer)
            ws.write_string(row, 8, f.key, plain)
            ws.set_row(row, row_height([(f.sheet, 10), (f.field or "", 12), (f.message, 54),
                                        (f.explanation or ERROR_NOT_EXPLAINED, 30)], font_points=11))
        ws.freeze_panes(4, 0)
        ws.autofilter(3, 0, 3 + len(report.findings), printed - 1)
        ws.protect("", {"autofilter": True, "format_columns": True, "format_rows": True})
        print_wide(ws, widths[:printed], repeat_columns=0, header_rows=(3, 3),
                   last_row=3 + len(report.findings), title=f"校验结果：{shown_path(report.path.name)}")
        ws.activate()

    return add


def _rebuild(report: FileReport, spec: FormSpec, path: Path, previous=None) -> None:
    sub = report.submission
    meta = sub.meta
    prefill = meta_prefill(meta) or []
    column_of = {f.label: i for i, f in enumerate(spec.projects.fields)}
    frozen = {(rec["row"] - 1, column_of[label]) for rec in prefill for label in rec["values"] if label in column_of}
    marks = _marks(report)
    for sheet in spec.data_sheets:      # marks by the field's index, as the writer lays cells (not by column)
        ref = sub.table(sheet.key).reference_col
        if ref is not None and sheet.name in marks:
            marks[sheet.name] = {(r, c - (c > ref)): m for (r, c), m in marks[sheet.name].items() if c != ref}
    cells: dict[str, dict] = {}
    for sheet in spec.data_sheets:
        table = sub.table(sheet.key)
        target = cells.setdefault(sheet.name, {})
        for r, values in table.rows:
            for c, value in enumerate(values):
                if value is None or (sheet.kind == "records" and (r, c) in frozen
                                     and (r, c) not in marks.get(sheet.name, {})):
                    continue
                formula = sub.formulas.get((table.sheet, a1(r, table.columns.get(sheet.ids[c], c))))
                target[(r, c)] = formula if formula else value
    request = TemplateRequest(Unit(meta["单位编码"], meta["单位名称"]), meta["主管部门"], int(meta["年度"]),
                              None, tuple(prefill))
    content = TemplateContent(cells=cells, marks=marks, front=_front(report), meta=meta)
    if previous is not None:
        references = _last_year_column(sub, spec, previous, request.unit)
        if references is not None:
            content.references = {spec.indicators.name: references}
    write_template(spec, request, path, content=content)


def _last_year_column(sub, spec: FormSpec, previous, unit):
    """The locked column of last year's values beside the unit's indicators, as its template had it
    (each row's own indicator matched again: the unit may have moved, added or deleted rows)."""
    from .previous import match

    last = {label_key(p.name): p for p in previous.projects_for(unit)}
    table = sub.table("indicators")
    if not last or table is None or not spec.indicators.has("project"):
        return None
    ids = spec.indicators.ids
    rows: dict[str, list] = {}
    for r, values in table.rows:
        v = dict(zip(ids, values))
        rows.setdefault(label_key(v.get("project")), []).append((r, v))
    by_row: dict[int, str] = {}
    for pkey, items in rows.items():
        project = last.get(pkey)
        if project is None:
            continue
        found = match(project.indicators, [(str(v.get("level1") or ""), str(v.get("level2") or ""),
                                            str(v.get("level3") or "")) for _r, v in items], spec)
        by_row.update({r: pi.official for (r, _v), pi in zip(items, found) if pi is not None})
    ref = spec.previous_value
    return ref, by_row, spec.reference_at()


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
    ws.append([f"校验结果：{shown_path(report.path.name)}"])
    ws.append([f"{report.errors} 个错误，{report.warnings} 个提示" + (f"，{report.explained} 个已说明" if report.explained else "")])
    ws.append([])
    ws.append(["序号", "级别", "位置", "字段", "规则", "说明"])
    for i, f in enumerate(report.findings, start=1):
        ws.append([i, SEVERITY_TEXT[f.severity], f.where or "（文件）", f.field, f.rule, f.message])
        if f.sheet in wb.sheetnames and f.cell:
            ws.cell(row=ws.max_row, column=3).hyperlink = f"#'{f.sheet}'!{f.cell}"
    ws.column_dimensions["F"].width = 90
    wb.active = 0
    wb.save(path)
