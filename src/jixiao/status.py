"""`status`: who has returned a valid workbook, an invalid one, or none — from the ledger.

collection_status() scans the collection folder into its ledger (jixiao.ledger: only new files
are read and checked, with the same rules as `check`), then reports one row per roster unit with
the unit's latest file, plus the files in the folder that belong to no roster unit. The report
goes to the terminal (cli), to JSON (status_json) and to a printable 催报 sheet
(write_status_xlsx) with the contacts of the units that still owe a valid file at the top.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LedgerError
from .fileio import atomic_path
from .diff import ADDED, CHANGED
from .ledger import Entry, Ledger, ScanResult, UnitChanges, refuse_overwriting_inputs, scan_listing
from .roster import Roster, Unit
from .spec import DEFAULT_FORM, FormSpec, load_form
from .terminal import shown
from .text import cell_text, export_safe
from .xlstyle import FONT, NUMBER_FONT, print_wide, row_height, write_title

STATUS_OK, STATUS_BAD, STATUS_MISSING = "通过", "有错误", "未报送"
STATUS_ORDER = {STATUS_MISSING: 0, STATUS_BAD: 1, STATUS_OK: 2}     # who owes a file first
REMINDER_SHEET = "催报"
OTHERS_SHEET = "名单外文件"


@dataclass
class UnitRow:
    """One roster unit: its status and the file that decides it."""
    unit: Unit
    status: str                                   # 通过 / 有错误 / 未报送
    entry: Entry | None = None                    # the unit's latest file in the folder
    superseded: list[Entry] = field(default_factory=list)   # its older files still in the folder
    changes: UnitChanges | None = None            # the latest file against the one before it

    @property
    def owes(self) -> bool:
        return self.status != STATUS_OK

    @property
    def file(self) -> str:
        return self.entry.path if self.entry else ""

    @property
    def received(self) -> dt.datetime | None:
        return self.entry.received if self.entry else None

    @property
    def errors(self) -> int:
        return self.entry.errors if self.entry else 0

    @property
    def warnings(self) -> int:
        return self.entry.warnings if self.entry else 0

    @property
    def explained(self) -> int:
        return self.entry.explained if self.entry else 0

    @property
    def changed(self) -> int | None:
        """Changes in the latest file against the one before; None with one file (or unreadable)."""
        return self.changes.count if self.changes else None

    @property
    def projects(self) -> int:
        return self.entry.projects if self.entry else 0

    @property
    def indicators(self) -> int:
        return self.entry.indicators if self.entry else 0

    @property
    def action(self) -> str:
        """What the unit has to do, in one line for the 催报 sheet."""
        if self.status == STATUS_MISSING:
            return "尚未报送：请使用下发的模板填报后报送"
        if self.status == STATUS_BAD:
            e = self.entry
            more = f"（共 {e.errors} 个错误）" if e.errors > 1 else ""
            return f"请修改后重新报送：{e.problem or '文件无法读取'}{more}"
        if self.projects == 0:
            return "已通过，但没有填写任何项目：请确认"
        return ""


@dataclass
class OtherFile:
    """A file in the folder that counts for no roster unit."""
    path: str
    reason: str
    received: dt.datetime | None = None
    verdict: str = ""
    unit_code: str = ""
    unit_name: str = ""


@dataclass
class StatusReport:
    inbox: Path
    generated: dt.datetime
    department: str | None
    year: int | None
    rows: list[UnitRow]                           # roster order
    others: list[OtherFile]
    scan: ScanResult
    roster: Roster | None = None
    notes: list[str] = field(default_factory=list)
    spec: FormSpec | None = None

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def owing(self) -> list[UnitRow]:
        return [r for r in self.rows if r.owes]

    def reminder_order(self) -> list[UnitRow]:
        """未报送 first, then 有错误, then 通过; roster order within each."""
        return sorted(self.rows, key=lambda r: STATUS_ORDER[r.status])      # stable

    @property
    def title(self) -> str:
        prefix = f"{self.department or ''}{f'{self.year}年度' if self.year else ''}"
        subject = (self.spec.summary_title if self.spec else "项目绩效目标汇总表").removesuffix("汇总表")
        return f"{prefix}{subject}报送情况"

    @property
    def nouns(self) -> tuple[str, str]:
        """What the counts count: (records, indicators), as the form names them."""
        spec = self.spec or load_form()
        return spec.record_noun, spec.indicators.noun

    def summary_line(self) -> str:
        line = (f"应报 {len(self.rows)} 家：通过 {self.count(STATUS_OK)}，有错误 {self.count(STATUS_BAD)}，"
                f"未报送 {self.count(STATUS_MISSING)}")
        if self.others:
            line += f"；名单外文件 {len(self.others)} 份"
        return line


def collection_status(inbox: str | Path, roster: Roster, *, department: str | None = None,
                      year: int | None = None, form: str = DEFAULT_FORM, progress=None,
                      workers: int | None = None, previous=None) -> StatusReport:
    """Scan the folder into its ledger and report every roster unit's latest file.

    A unit is 通过 when its latest file (by receipt time) passes `check` with this roster (and
    department/year when given), 有错误 when it does not (or cannot be read), 未报送 when the
    folder holds no file whose _meta names it. When the folder cannot be written, the ledger is
    kept in memory for this call and a note says so.
    """
    notes = []
    try:
        ledger = Ledger.open(inbox)
    except LedgerError as exc:
        if not Path(inbox).is_dir():
            raise
        notes.append(f"{exc}；本次改用临时台账，报送记录不会保存")
        ledger = Ledger.memory(inbox)
    with ledger:
        scan, entries = scan_listing(ledger, roster=roster, department=department, year=year, form=form,
                                     progress=progress, workers=workers, previous=previous)
        notes.extend(scan.notes)
        spec = load_form(form)
        changes = ledger.changes_of_latest(entries, spec)
    latest = {e.unit_code: e for e in entries if e.current}
    older: dict[str, list[Entry]] = {}
    for e in entries:
        if e.unit_code and not e.current:
            older.setdefault(e.unit_code, []).append(e)

    rows = []
    for unit in roster.units:
        e = latest.get(unit.code)
        status = STATUS_MISSING if e is None else STATUS_OK if e.verdict == "通过" else STATUS_BAD
        rows.append(UnitRow(unit, status, e, sorted(older.get(unit.code, []), key=lambda x: x.path),
                            changes.get(unit.code)))

    others = []
    for e in entries:
        if e.unit_code and roster.get(e.unit_code) is not None:
            continue
        others.append(OtherFile(e.path, _reason(e), e.received, e.verdict or "", e.unit_code or "",
                                e.unit_name or ""))
    for path, reason in scan.skipped:
        others.append(OtherFile(path, reason, verdict="无法读取"))
    others.sort(key=lambda o: o.path)

    return StatusReport(Path(inbox), dt.datetime.now().astimezone().replace(microsecond=0),
                        department or _most_common(e.department for e in latest.values()),
                        year or _year(_most_common(e.year for e in latest.values())),
                        rows, others, scan, roster, notes, spec)


@dataclass
class UnitDetail:
    """One roster unit's page: its row, every file it sent, the findings of its latest file."""
    row: UnitRow
    files: list[Entry]                            # oldest receipt first; `current` marks the one that counts
    findings: list[dict]                          # the latest file's findings, as `check --json` writes them


def unit_detail(report: StatusReport, code: str, form: str = DEFAULT_FORM, previous=None) -> UnitDetail | None:
    """The unit of `report` with this code (None when the roster has none), with its history and
    the findings of its latest file from the ledger the report was made from (no file is read;
    a report made on an in-memory ledger reads the latest file again, with `form` and `previous`,
    last year's baseline the report was made with)."""
    row = next((r for r in report.rows if r.unit.code == code), None)
    if row is None:
        return None
    context = report.scan.context
    if report.scan.ledger is not None:
        with Ledger.open(report.inbox) as ledger:
            files, findings = ledger.guarded(lambda: (
                ledger.history(code, context),
                ledger.findings(row.entry.id, context) if row.entry else []))
    else:
        from .check import check_files

        files = [e for e in [*row.superseded, row.entry] if e is not None]
        files.sort(key=lambda e: (e.mtime_ns, e.path))
        findings = []
        if row.entry is not None:
            (checked,) = check_files([row.entry.full_path], roster=report.roster, department=report.department,
                                     year=report.year, form=form, previous=previous)
            findings = [dict(f.to_dict(), file=row.entry.path) for f in checked.findings]
    return UnitDetail(row, files, findings)


def _reason(e: Entry) -> str:
    if e.unit_code:
        return f"模板单位“{e.unit_code} {e.unit_name or ''}”不在报送名单中"
    if not e.readable:
        return f"无法读取：{e.problem}" if e.problem else "无法读取"
    return e.problem or "找不到模板标识（_meta）：不是本系统下发的模板"


def _most_common(values) -> str | None:
    counts = Counter(v for v in values if v)
    return counts.most_common(1)[0][0] if counts else None


def _year(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _time(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


# --- terminal ---------------------------------------------------------------------------------------

STATUS_COLOR = {STATUS_OK: "green", STATUS_BAD: "red", STATUS_MISSING: "yellow"}


def print_status(report: StatusReport, console) -> None:
    """The report, roster order; the caller prints the final summary line. A table when the
    terminal is wide enough for every row on one line; otherwise (or into a file or pipe) one
    line per unit with every word of it: nothing is ever cut."""
    from .terminal import lines

    table, others = _status_tables(report)
    fits = not lines(console) and all(_fits(console, t) for t in (table, others) if t is not None)
    if not fits:
        _print_status_lines(report, console)
        return
    console.print(table)
    if others is not None:
        console.print(others)
    for note in report.notes:
        console.print(f"[yellow]注意：[/]{shown(note)}")


def _fits(console, table) -> bool:
    """Every row of the table on one line at this width (rich would otherwise squeeze columns
    until wide characters no longer fit)."""
    expand, table.expand = table.expand, False
    try:
        return console.measure(table, options=console.options.update_width(100_000)).maximum <= console.width
    finally:
        table.expand = expand


def changed_text(r: UnitRow, long: bool = False) -> str:
    """The 变更 count as shown: blank with one file, 无法比较 when a file could not be read whole."""
    if r.changes is None:
        return ""
    if r.changed is None:
        return "无法比较（有文件无法完整读取）" if long else "无法比较"
    if long:
        return f"变化 {r.changed} 处" if r.changed else "没有变化"
    return str(r.changed)


def _status_tables(report: StatusReport):
    from rich.table import Table

    records, indicators = report.nouns
    table = Table(show_header=True, header_style="bold", expand=True, title=shown(report.title))
    for label, kw in (("序号", {"justify": "right"}), ("单位编码", {}), ("单位名称", {}),
                      ("状态", {"no_wrap": True}), ("最新文件", {"ratio": 1}), ("接收时间", {}),
                      ("错误", {"justify": "right"}), ("提示", {"justify": "right"}), ("已说明", {"justify": "right"}),
                      ("变更", {"justify": "right"}), (records, {"justify": "right"}),
                      (indicators, {"justify": "right"})):
        table.add_column(label, overflow="fold", **kw)
    for n, r in enumerate(report.rows, start=1):
        counts = ([str(r.errors), str(r.warnings), str(r.explained), changed_text(r), str(r.projects),
                   str(r.indicators)] if r.entry else [""] * 6)
        file = r.file + (f"（另有 {len(r.superseded)} 份较早的文件）" if r.superseded else "")
        table.add_row(str(n), shown(r.unit.code), shown(r.unit.name), f"[{STATUS_COLOR[r.status]}]{r.status}[/]",
                      shown(file), _time(r.received), *counts)
    others = None
    if report.others:
        others = Table(show_header=True, header_style="bold", expand=True, title="名单外的文件（未计入报送情况）")
        others.add_column("文件", ratio=1, overflow="fold")
        others.add_column("接收时间", overflow="fold")
        others.add_column("原因", ratio=2, overflow="fold")
        for o in report.others:
            others.add_row(shown(o.path), _time(o.received), shown(o.reason))
    return table, others


def _print_status_lines(report: StatusReport, console) -> None:
    from .terminal import one_line

    records, indicators = report.nouns
    out = [f"[bold]{shown(report.title)}[/]"]
    for n, r in enumerate(report.rows, start=1):
        line = f"{n}. {shown(r.unit.code)} {shown(one_line(r.unit.name))}：[{STATUS_COLOR[r.status]}]{r.status}[/]"
        if r.entry:
            line += (f"，{shown(one_line(r.file))}"
                     + (f"（另有 {len(r.superseded)} 份较早的文件）" if r.superseded else "")
                     + f"，接收 {_time(r.received)}，错误 {r.errors}，提示 {r.warnings}，已说明 {r.explained}，"
                       + (f"较上一份文件{changed_text(r, long=True)}，" if r.changes else "")
                       + f"{records} {r.projects}，{indicators} {r.indicators}")
            if r.status == STATUS_BAD and r.entry.problem:
                line += f"；{shown(one_line(r.entry.problem))}"
        out.append(line)
    if report.others:
        out.append("[bold]名单外的文件（未计入报送情况）[/]")
        out.extend(f"- {shown(one_line(o.path))}（{_time(o.received) or '接收时间不详'}）：{shown(one_line(o.reason))}"
                   for o in report.others)
    out.extend(f"[yellow]注意：[/]{shown(note)}" for note in report.notes)
    console.print("\n".join(out))


# --- JSON -------------------------------------------------------------------------------------------

def status_json(report: StatusReport) -> str:
    """The `status --json` document: one object with the summary, the units and the other files."""
    doc = {
        "inbox": str(report.inbox),
        "generated": report.generated.isoformat(timespec="seconds"),
        "department": report.department,
        "year": report.year,
        "summary": {"units": len(report.rows), "ok": report.count(STATUS_OK), "invalid": report.count(STATUS_BAD),
                    "missing": report.count(STATUS_MISSING), "other_files": len(report.others)},
        "units": [{
            "unit_code": r.unit.code,
            "unit_name": r.unit.name,
            "contact": r.unit.contact,
            "phone": r.unit.phone,
            "status": r.status,
            "file": r.file or None,
            "received": r.received.isoformat(timespec="seconds") if r.received else None,
            "verdict": r.entry.verdict if r.entry else None,
            "errors": r.errors,
            "warnings": r.warnings,
            "explained": r.explained,
            "previous_file": r.changes.previous.path if r.changes else None,
            "changes": r.changed,
            "projects": r.projects,
            "indicators": r.indicators,
            "problem": (r.entry.problem or None) if r.entry else None,
            "superseded": [e.path for e in r.superseded],
        } for r in report.rows],
        "other_files": [{
            "file": o.path,
            "received": o.received.isoformat(timespec="seconds") if o.received else None,
            "verdict": o.verdict or None,
            "unit_code": o.unit_code or None,
            "unit_name": o.unit_name or None,
            "reason": o.reason,
        } for o in report.others],
        "notes": report.notes,
    }
    from .terminal import json_safe

    # Valid UTF-8 whatever the file names; text that starts like a formula prefixed with ' (OWASP).
    return json_safe(json.dumps(export_safe(doc), ensure_ascii=False, indent=1))


# --- the 催报 workbook ------------------------------------------------------------------------------

def reminder_columns(report: StatusReport) -> tuple[tuple[str, float], ...]:
    records, indicators = report.nouns
    return (("序号", 5), ("单位编码", 9), ("单位名称", 18), ("联系人", 8), ("联系电话", 13),
            ("状态", 7), ("需要处理", 34), ("最新文件", 26), ("接收时间", 16), ("错误数", 6),
            ("提示数", 6), ("已说明数", 6), ("变更数", 6), (f"{records}数", 6), (f"{indicators}数", 6))

CHANGES_SHEET = "变更记录"
CHANGE_COLUMNS = (("序号", 5), ("单位编码", 9), ("单位名称", 14), ("工作表", 9), ("内容", 28), ("字段", 11),
                  ("变化", 6), ("原内容", 26), ("新内容", 26))
CHANGE_WORDS = {ADDED: "新增", CHANGED: "修改"}

OTHER_COLUMNS = (("序号", 5), ("文件", 36), ("接收时间", 15), ("模板单位", 22), ("结果", 8), ("原因", 48))


def write_status_xlsx(report: StatusReport, path: str | Path, roster: Roster | None = None) -> Path:
    """Write the 催报 sheet (and 名单外文件 when there are such files), atomically.

    Contacts come from `roster` (default: the report's roster). Units that still owe a valid file
    come first. Printable: A4 landscape, fitted to the page width, title and header on every page.
    """
    import xlsxwriter

    path = Path(path)
    roster = roster or report.roster
    refuse_overwriting_inputs(path, [report.inbox], roster)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        st = _styles(wb)
        _write_reminder(wb.add_worksheet(REMINDER_SHEET), report, roster, st)
        if any(r.changes for r in report.rows):
            _write_changes(wb.add_worksheet(CHANGES_SHEET), report, st)
        if report.others:
            _write_others(wb.add_worksheet(OTHERS_SHEET), report, st)
        wb.close()
    return path


def _styles(wb) -> dict:
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}

    def f(**kw):
        return wb.add_format({**base, **kw})

    return {
        "title": f(bold=True, font_size=16, align="left", text_wrap=True),
        "subtitle": f(align="left", font_size=10),
        "header": f(bold=True, align="center", border=1, text_wrap=True, bg_color="#DDEBF7"),
        "text": f(border=1, text_wrap=True),
        "group": f(border=1, text_wrap=True, bold=True, bg_color="#F2F2F2"),
        "center": f(border=1, align="center", text_wrap=True),
        "int": f(border=1, align="center", num_format="0", font_name=NUMBER_FONT),
        "time": f(border=1, align="center", num_format="yyyy-mm-dd hh:mm", font_name=NUMBER_FONT),
        STATUS_OK: f(border=1, align="center", font_color="#006100", bg_color="#C6EFCE"),
        STATUS_BAD: f(border=1, align="center", bold=True, font_color="#9C0006", bg_color="#FFC7CE"),
        STATUS_MISSING: f(border=1, align="center", bold=True, font_color="#9C5700", bg_color="#FFEB9C"),
    }


def _print_setup(ws, columns, header_row: int, last_row: int, title: str) -> None:
    ws.freeze_panes(header_row + 1, 0)
    ws.autofilter(header_row, 0, max(header_row + 1, last_row), len(columns) - 1)
    print_wide(ws, [w for _, w in columns], repeat_columns=3, header_rows=(0, header_row),
               last_row=last_row, title=title)


def _title(ws, title: str, subtitle: str, columns, st: dict) -> None:
    widths = [w for _, w in columns]
    write_title(ws, 0, title, widths, 3, st["title"])
    ws.write_string(1, 0, subtitle, st["subtitle"])       # left-aligned: runs on over the empty cells


def _fit_row(ws, row: int, texts: dict[int, str], columns) -> None:
    """xlsxwriter does not autofit rows; give wrapped rows the height their text needs."""
    ws.set_row(row, row_height([(text, columns[col][1]) for col, text in texts.items()]))


def _naive(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.replace(tzinfo=None) if moment else None


def _write_reminder(ws, report: StatusReport, roster: Roster | None, st: dict) -> None:
    header_row = 2
    subtitle = f"统计时间：{_time(report.generated)}　　{report.summary_line()}"
    columns = reminder_columns(report)
    _title(ws, report.title + "（催报）", subtitle, columns, st)
    for col, (label, width) in enumerate(columns):
        ws.write_string(header_row, col, label, st["header"])
        ws.set_column(col, col, width)
    row = header_row
    for n, r in enumerate(report.reminder_order(), start=1):
        row += 1
        unit = (roster.get(r.unit.code) if roster else None) or r.unit
        ws.write_number(row, 0, n, st["int"])
        ws.write_string(row, 1, unit.code, st["center"])
        ws.write_string(row, 2, unit.name, st["text"])
        ws.write_string(row, 3, unit.contact, st["center"])
        ws.write_string(row, 4, unit.phone, st["center"])
        ws.write_string(row, 5, r.status, st[r.status])
        action = r.action
        if r.superseded:
            action = (action + "；" if action else "") + f"已用最新文件，另有 {len(r.superseded)} 份较早的文件"
        ws.write_string(row, 6, action, st["text"])
        ws.write_string(row, 7, r.file, st["text"])
        _fit_row(ws, row, {2: unit.name, 6: action, 7: r.file}, columns)
        if r.received:
            ws.write_datetime(row, 8, _naive(r.received), st["time"])
        else:
            ws.write_blank(row, 8, None, st["time"])
        counts = (r.errors, r.warnings, r.explained, r.changed, r.projects, r.indicators)
        for col, value in enumerate(counts, start=9):
            if r.entry is None or value is None:
                ws.write_blank(row, col, None, st["int"])
            else:
                ws.write_number(row, col, value, st["int"])
    _print_setup(ws, columns, header_row, row, report.title + "（催报）")


def change_groups(report: StatusReport) -> list[tuple[UnitRow, list[tuple[str, str, str, str, str, str]]]]:
    """The 变更记录 sheet: for every unit with more than one file, in roster order, its changes as
    (sheet, what, field, change word, old, new); none when the two files hold the same, or when
    they cannot be compared (UnitRow.changed says which)."""
    out = []
    for r in report.rows:
        if r.changes is None:
            continue
        out.append((r, [(c.table, c.key, c.field, CHANGE_WORDS.get(c.change, "删除"), _cell_text(c.old, c.change),
                         _cell_text(c.new, c.change)) for c in r.changes.changes or ()]))
    return out


def _cell_text(value, change: str) -> str:
    if change == CHANGED and not value:
        return "（空）"                  # a field emptied or filled in: say so, not a blank cell
    if isinstance(value, dict):
        value = "；".join(f"{k}：{v}" for k, v in value.items())
    return "" if value is None else cell_text(str(value))


def _write_changes(ws, report: StatusReport, st: dict) -> None:
    """One line per unit (its two files and how much changed), then one row per change."""
    header_row = 2
    title = report.title + "：变更记录"
    subtitle = (f"统计时间：{_time(report.generated)}　　各单位最新报送的文件与其上一份文件相比的变化"
                "（按项目名称和指标内容对应，不按行号）")
    _title(ws, title, subtitle, CHANGE_COLUMNS, st)
    for col, (label, width) in enumerate(CHANGE_COLUMNS):
        ws.write_string(header_row, col, label, st["header"])
        ws.set_column(col, col, width)
    last = len(CHANGE_COLUMNS) - 1
    span = sum(w for _, w in CHANGE_COLUMNS[3:])
    row, n = header_row, 0
    for r, changes in change_groups(report):
        row += 1
        amount = ("有文件无法完整读取，无法比较" if r.changed is None else
                  f"共 {r.changed} 处变化" if r.changed else "两份文件内容相同，没有变化")
        files = f"上一份：{r.changes.previous.path}　→　最新：{r.changes.latest.path}；{amount}"
        ws.write_blank(row, 0, None, st["group"])
        ws.write_string(row, 1, r.unit.code, st["group"])
        ws.write_string(row, 2, r.unit.name, st["group"])
        ws.merge_range(row, 3, row, last, files, st["group"])
        ws.set_row(row, row_height([(r.unit.name, CHANGE_COLUMNS[2][1]), (files, span)]))
        for sheet, what, field_label, word, old, new in changes:
            row += 1
            n += 1
            ws.write_number(row, 0, n, st["int"])
            for col, text in enumerate((r.unit.code, r.unit.name, sheet, what, field_label, word, old, new), 1):
                ws.write_string(row, col, text, st["center"] if col in (1, 3, 6) else st["text"])
            _fit_row(ws, row, {2: r.unit.name, 4: what, 5: field_label, 7: old, 8: new}, CHANGE_COLUMNS)
    _print_setup(ws, CHANGE_COLUMNS, header_row, row, title)


def _write_others(ws, report: StatusReport, st: dict) -> None:
    header_row = 2
    subtitle = f"统计时间：{_time(report.generated)}　　以下文件不属于名单中的任何单位，未计入报送情况"
    _title(ws, report.title + "：名单外的文件", subtitle, OTHER_COLUMNS, st)
    for col, (label, width) in enumerate(OTHER_COLUMNS):
        ws.write_string(header_row, col, label, st["header"])
        ws.set_column(col, col, width)
    row = header_row
    for n, o in enumerate(report.others, start=1):
        row += 1
        ws.write_number(row, 0, n, st["int"])
        ws.write_string(row, 1, o.path, st["text"])
        if o.received:
            ws.write_datetime(row, 2, _naive(o.received), st["time"])
        else:
            ws.write_blank(row, 2, None, st["time"])
        ws.write_string(row, 3, f"{o.unit_code} {o.unit_name}".strip(), st["text"])
        ws.write_string(row, 4, o.verdict, st["center"])
        ws.write_string(row, 5, o.reason, st["text"])
        _fit_row(ws, row, {1: o.path, 3: f"{o.unit_code} {o.unit_name}", 5: o.reason}, OTHER_COLUMNS)
    _print_setup(ws, OTHER_COLUMNS, header_row, row, report.title + "：名单外的文件")
