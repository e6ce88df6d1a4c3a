"""Accepted submissions → the consolidated 汇总表 data.

prepare_merge() checks every input with the same rules as `check`, refuses on errors unless told to
skip them, refuses inputs that contradict each other, and consolidates every table of the form in
roster order: each record (project) with its indicators and the rows of the form's other tables.
render.py writes them; publish.py ties both together.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, partial
from pathlib import Path

from .cells import CENT, EXACT_DIGITS, money_text, significant_digits
from .check import FileReport, collect_paths, read_and_check
from .errors import MergeRefused, OutputError
from .frames import frame_records
from .roster import Roster, Unit
from .rules import DEPT_TAG, Context, dept_key
from .spec import DEFAULT_FORM, FormSpec, load_form
from .text import key as name_key, safe_filename, shown_path
from .values import IndicatorValue, format_official

STATUS_OK, STATUS_BAD, STATUS_MISSING, STATUS_UNREADABLE = "通过", "有错误未汇总", "未报送", "无法读取"

__all__ = ["Consolidated", "FileRecords", "Indicator", "MergeRefused", "Project", "Records", "Spool", "UnitStatus",
           "consolidate", "prepare_merge"]


@dataclass(slots=True)           # a province merges half a million of them
class Indicator:
    level1: str | None
    level2: str | None
    name: str
    value: IndicatorValue
    official: str                        # the value as the official form prints it
    note: str | None
    values: dict = field(default_factory=dict)     # field id → typed value, the row's other columns


@dataclass
class Project:
    """One record (a project, or the unit itself on 整体支出) with everything that belongs to it."""
    unit: Unit | None         # set by consolidate() (records_of() runs where the file was read)
    file: str
    row: int
    values: dict              # field id → typed value (Decimal amounts, dates, text)
    name: str = ""
    indicators: list[Indicator] = field(default_factory=list)
    children: dict[str, list[dict]] = field(default_factory=dict)   # table key → rows (field id → value)
    compared: list | None = field(default=None, repr=False, compare=False)   # Consolidated.comparisons


@dataclass(frozen=True)
class FileRecords:
    """What the worker that read an accepted file hands over: where it put the file's records
    (pickled into the merge's Spool: they are loaded again only while the 汇总表 is written, one
    unit at a time), and the figures consolidate() and the totals need without them."""
    where: tuple[str, int, int]      # (spool file name, offset, length) of the pickled list[Project]
    rows: dict[str, int]             # table key → rows
    totals: dict[str, Decimal]       # amount field id → the file's total (0 where no record gives it)
    filled: frozenset[str]           # the amount field ids some record gives


class Spool:
    """A temporary folder for one merge's records. Every process that reads files (a worker, or the
    merge's own) appends the pickled records of each file to its own file there, so nothing is
    shared between writers and the records never pass through the parent's memory; a province's
    half a million indicators would otherwise be most of merge's memory, and grow with every unit.
    The folder goes with the last reference to the Spool (or at exit)."""

    def __init__(self) -> None:
        try:
            self.folder = tempfile.mkdtemp(prefix="jixiao-records-")
        except OSError as exc:
            raise _spool_problem(tempfile.gettempdir(), exc) from None
        self._handles: dict[str, object] = {}
        self._lock = threading.Lock()                  # one position per handle; the web page has threads
        weakref.finalize(self, _remove_spool, self.folder, self._handles)

    def read(self, where: tuple[str, int, int]) -> bytes:
        name, offset, length = where
        with self._lock:
            handle = self._handles.get(name)
            if handle is None:
                handle = self._handles[name] = open(os.path.join(self.folder, name), "rb")
            handle.seek(offset)
            return handle.read(length)


def _remove_spool(folder: str, handles: dict) -> None:
    for handle in handles.values():
        handle.close()
    shutil.rmtree(folder, ignore_errors=True)


def spool_write(folder: str, data: bytes) -> tuple[str, int, int]:
    """Append one file's pickled records to this process's spool file: (name, offset, length)."""
    name = f"records-{os.getpid()}.bin"
    try:
        with open(os.path.join(folder, name), "ab") as fh:
            offset = fh.tell()
            fh.write(data)
    except OSError as exc:
        raise _spool_problem(folder, exc) from None
    return name, offset, len(data)


def _spool_problem(folder: str, exc: OSError) -> OutputError:
    return OutputError(f"无法写入临时文件夹 {shown_path(folder)}（{exc.strerror or type(exc).__name__}）：汇总时各单位的"
                       "记录暂存在这里，请确认该磁盘有足够的空间，或用环境变量 TMPDIR 指定另一个文件夹后重试")


class Records:
    """The consolidated records, in roster order, loaded from the Spool when asked for; the unit
    asked for last stays loaded, since the 汇总表 asks for one unit several times in a row.
    Iterating loads one unit at a time."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._at: dict[str, tuple[str, int, int]] = {}     # unit code → where its records are
        self._units: dict[str, Unit] = {}
        self._count = 0
        self._last: tuple[str | None, list[Project]] = (None, [])
        self.order: list[str] = []                         # unit codes with records, in roster order

    def add(self, unit: Unit, records: FileRecords) -> None:
        """A unit's records (units are added in roster order, each once)."""
        self._at[unit.code] = records.where
        self._units[unit.code] = unit
        self._count += records.rows.get("projects", 0)
        self.order.append(unit.code)

    def of(self, unit_code: str) -> list[Project]:
        """A unit's records, in sheet order, each with its unit set."""
        code, projects = self._last
        if code == unit_code:
            return projects
        if unit_code not in self._at:
            return []
        projects = pickle.loads(self.spool.read(self._at[unit_code]))
        unit = self._units[unit_code]
        for p in projects:
            p.unit = unit
        self._last = (unit_code, projects)
        return projects

    def __iter__(self):
        for code in self.order:
            yield from self.of(code)

    def __len__(self) -> int:
        return self._count


@dataclass
class UnitStatus:
    unit: Unit
    file: str = ""
    status: str = STATUS_MISSING
    rows: dict[str, int] = field(default_factory=dict)   # table key → rows merged
    errors: int = 0
    warnings: int = 0                 # not answered by the unit
    explained: int = 0                # answered on 校验结果 (已说明)
    changes: int | None = None        # fields changed against the unit's file before (folder inputs)
    amount: Decimal | None = None     # the annual total of the unit's merged records
    received: str = ""                # receipt time of the file used (ledger; folder inputs only)
    superseded: list[str] = field(default_factory=list)   # the unit's older files, not merged

    @property
    def projects(self) -> int:
        return self.rows.get("projects", 0)

    @property
    def indicators(self) -> int:
        return self.rows.get("indicators", 0)


@dataclass
class Consolidated:
    spec: FormSpec
    department: str
    year: int
    projects: Records
    units: list[UnitStatus]
    notes: list[str] = field(default_factory=list)       # what the caller should say (ledger notes)
    previous: object = None          # previous.Baseline: 绩效指标明细 compares with last year
    # unit code → (amount field id → total, amount field ids some record gives), from FileRecords
    sums: dict[str, tuple[dict[str, Decimal], frozenset[str]]] = field(default_factory=dict)

    def amount_fields(self) -> list[str]:
        """The records' amount field ids, in the form's order."""
        return list(self.spec.amount_ids())

    def projects_of(self, unit_code: str) -> list[Project]:
        """The unit's projects, in order (loaded from the spool; see Records)."""
        return self.projects.of(unit_code)

    def _sums_of(self, unit_code: str | None):
        """(totals, filled amounts) of the unit's file, or of every merged file."""
        if unit_code is None:
            return self.sums.values()
        return [self.sums[unit_code]] if unit_code in self.sums else []

    def totals(self, unit_code: str | None = None) -> dict[str, Decimal]:
        out = {fid: Decimal(0) for fid in self.amount_fields()}
        for totals, _filled in self._sums_of(unit_code):
            for fid, amount in totals.items():
                out[fid] += amount
        return out

    def comparisons(self, p: Project) -> list[tuple[str | None, str]]:
        """(last year's value, 与上年比较 word) per indicator of a record; computed once per loaded
        record (the 汇总 row, its subtotal and the 明细 rows all ask). Only with a baseline."""
        if p.compared is None:
            from .previous import comparisons

            p.compared = comparisons(self.previous, p.unit, p.name, p.indicators, self.spec)
        return p.compared

    def against_last_year(self, p: Project, word: str) -> int:
        """How many of a record's indicators compare with last year as `word` (LOWER, NEW …)."""
        return sum(1 for _previous, w in self.comparisons(p) if w == word)

    def filled(self, field_id: str, unit_code: str | None = None) -> bool:
        """Does any record (of the unit) give this amount? A total of nothing is blank, not 0.00."""
        return any(field_id in filled for _totals, filled in self._sums_of(unit_code))

    def rows(self, key: str, unit_code: str | None = None) -> int:
        """Rows of a table merged (records, indicators, or another table), for a unit or in all."""
        if unit_code is None:
            return sum(s.rows.get(key, 0) for s in self.units)
        status = self._status_of.get(unit_code)
        return status.rows.get(key, 0) if status else 0

    @cached_property                 # rows() is asked per unit and table: no scan of every unit each time
    def _status_of(self) -> dict[str, UnitStatus]:
        return {s.unit.code: s for s in self.units}


def default_output_name(department: str, year: int, spec: FormSpec | None = None) -> str:
    """The 汇总表's file name. 主管部门 comes from `_meta`, which a unit can forge: the name is one
    name (no separator, no "..", nothing Windows refuses) of at most MAX_NAME_BYTES bytes."""
    return safe_filename(f"{department}{year}年度{spec.summary_title if spec else '项目绩效目标汇总表'}", ".xlsx")


def prepare_merge(paths, *, roster: Roster | None = None, department: str | None = None,
                  year: int | None = None, skip_invalid: bool = False, form: str = DEFAULT_FORM,
                  progress=None, workers: int | None = None,
                  previous=None) -> tuple[Consolidated, list[FileReport], list[Path]]:
    """Check every input and consolidate the accepted ones; raises MergeRefused.

    Each file is read once: its typed records are taken while it is checked (records_of, in the
    worker that read it), and a folder's files that its ledger scan reads now are not read again."""
    spec = load_form(form)
    files = collect_paths(paths)
    if not files:
        raise MergeRefused("没有找到要汇总的工作簿：请确认文件夹中有各单位报送的 .xlsx 文件", reason="empty")
    spool = Spool()
    extract = (partial(records_of, form, spool.folder),)
    selection, fresh = None, {}
    if any(Path(p).is_dir() for p in paths):
        # A folder is a collection inbox: only each unit's latest file (by receipt time) is merged.
        from .ledger import select_latest

        selection = select_latest(paths, roster=roster, department=department, year=year, form=form,
                                  workers=workers, extract=extract, progress=progress, previous=previous)
        fresh = selection.fresh
    chosen = selection.chosen if selection else files
    to_read = [p for p in chosen if p.resolve() not in fresh]
    checked = read_and_check(to_read, form, Context(roster, department, year, previous),
                             None if selection else progress, workers, extract=extract)
    read = {p.resolve(): (r, items) for p, r, items in zip(to_read, checked.reports, checked.extracted)}
    taken = [fresh.get(p.resolve()) or read[p.resolve()] for p in chosen]
    reports = [report for report, _ in taken]
    bad = [r for r in reports if r.errors]
    if bad and not skip_invalid:
        raise MergeRefused(f"{len(bad)} 个文件有错误，未汇总：请各单位改正后重新报送，或跳过这些文件只汇总其余文件",
                           reports, reason="errors")
    department, year = _agree(reports, department, year)
    accepted = [i for i, r in enumerate(reports) if not r.errors]
    _refuse_duplicate_units(reports, accepted)
    consolidated = consolidate(spec, department, year, roster, reports, [items[0] for _, items in taken], spool)
    consolidated.previous = previous
    _refuse_inexact_totals(consolidated)
    if selection is not None:
        _note_selection(consolidated, selection)
        consolidated.notes.extend(selection.notes)
    return consolidated, reports, files


def _note_selection(consolidated: Consolidated, selection) -> None:
    """报送情况 says which file of a unit was used, when it arrived, and which older ones were not."""
    for status in consolidated.units:
        entry = selection.used.get(status.unit.code)
        if entry is not None and status.file == entry.name:
            status.received = entry.received.strftime("%Y-%m-%d %H:%M")
        status.superseded = [shown_path(s.path.name) for s in selection.superseded_of(status.unit.code)]
        changed = selection.changes.get(status.unit.code)
        if entry is not None and status.file == entry.name and changed is not None:
            status.changes = changed.count


def _agree(reports: list[FileReport], department: str | None, year: int | None) -> tuple[str, int]:
    """Department and year: as given, or as every readable input's _meta says; inputs must agree."""
    metas = [(shown_path(r.path.name), r.submission.meta) for r in reports if r.submission.meta and not r.errors]
    depts = {dept_key(m.get("主管部门")): m.get("主管部门") for _, m in metas if m.get("主管部门")}
    years = {m.get("年度") for _, m in metas if m.get("年度")}
    if department is None:
        if len(depts) > 1:
            names = "、".join(f"{n}（{m.get('主管部门')}）" for n, m in metas)
            raise MergeRefused(f"输入文件属于不同的主管部门：{names}。请指定本次汇总的主管部门，或分开汇总",
                               reason="department")
        department = next(iter(depts.values()), None)
    if year is None:
        if len(years) > 1:
            names = "、".join(f"{n}（{m.get('年度')}年）" for n, m in metas)
            raise MergeRefused(f"输入文件属于不同的年度：{names}。请指定本次汇总的年度，或分开汇总", reason="year")
        year = int(next(iter(years))) if years else None
    if not department or not year:
        raise MergeRefused("无法确定主管部门和年度：没有可汇总的有效文件，请指定主管部门和年度", reason="undetermined")
    return DEPT_TAG.sub("", department), int(year)


def _refuse_duplicate_units(reports: list[FileReport], accepted: list[int]) -> None:
    seen: dict[str, str] = {}
    for i in accepted:
        meta = reports[i].submission.meta or {}
        code = meta.get("单位编码")
        if not code:
            continue
        if code in seen:
            raise MergeRefused(f"两个文件都属于单位 {code} {meta.get('单位名称', '')}：{seen[code]} 和 "
                               f"{shown_path(reports[i].path)}。请只保留最新的一份再汇总", reports, reason="duplicate")
        seen[code] = shown_path(reports[i].path)


def _refuse_inexact_totals(c: Consolidated) -> None:
    """Every amount of a file that passed check has at most 15 significant digits (F-13); a sum of
    them may not, and the 汇总表 (whose numbers are doubles) could not state it to the cent."""
    label = c.spec.projects.label
    for code in [None, *(u.unit.code for u in c.units if u.projects)]:
        for fid, total in c.totals(code).items():
            if significant_digits(total) > EXACT_DIGITS:
                who = "合计" if code is None else f"单位 {code} 的小计"
                raise MergeRefused(f"{who}中{label(fid)} {money_text(total)} 有 {significant_digits(total)} 位有效数字，"
                                   f"超过 Excel 能准确保存的 {EXACT_DIGITS} 位，汇总表无法准确到分：请核对各单位的金额及金额单位"
                                   f"（{c.spec.money_unit}），或分批汇总", reason="precision")


def records_of(form: str, spool_folder: str, subs, batch, reports: list[FileReport]) -> list[FileRecords | None]:
    """Per file of a checked chunk: its records, each with its indicators (in the form's order) and
    the rows of the form's other tables, typed, as FileRecords; None for a file with errors (it is
    never merged). A jixiao.check.read_and_check extract: it runs where the chunk was read, and
    writes the records to the merge's spool there. Their unit is set when they are loaded (Records.of)."""
    spec = load_form(form)
    accepted = {i for i, r in enumerate(reports) if not r.errors}
    out: list[list[Project] | None] = [[] if i in accepted else None for i in range(len(subs))]
    projects: dict[tuple[int, str], Project] = {}
    first_of_sub: dict[int, Project] = {}
    ids = spec.projects.ids
    amounts = set(spec.amount_ids())
    for rec in frame_records(batch.frames["projects"]):
        sub_i = int(rec["_sub"])
        if sub_i not in accepted or not rec.get("name"):
            continue
        values = {fid: rec[fid] for fid in ids}
        for fid in amounts:
            if values[fid] is not None:
                values[fid] = values[fid].quantize(CENT)
        project = Project(None, shown_path(subs[sub_i].path.name), int(rec["_row"]), values, name=rec["name"])
        projects[(sub_i, name_key(rec["name"]))] = project
        first_of_sub.setdefault(sub_i, project)
        out[sub_i].append(project)

    def owner(rec, table) -> Project | None:
        sub_i = int(rec["_sub"])
        if sub_i not in accepted:
            return None
        if table.link:
            return projects.get((sub_i, name_key(rec[table.link])))
        return first_of_sub.get(sub_i)

    indicators = spec.indicators
    # Indicator.values keeps the columns the Indicator does not already hold (its project, levels
    # and 三级 are attributes): a province merges half a million indicators.
    own_ids = [fid for fid in indicators.ids if fid not in ("level1", "level2", "level3") and fid != indicators.link]
    for rec in frame_records(batch.frames["indicators"]):
        project = owner(rec, indicators)
        if project is None:
            continue
        level1 = spec.resolve_level1(rec["level1"])[0] if rec["level1"] else None
        level1 = level1 or spec.level1_of_level2(rec["level2"])
        level2 = spec.resolve_level2(level1, rec["level2"])[0]
        iv: IndicatorValue = rec["_iv"]
        project.indicators.append(Indicator(level1, level2, rec["level3"], iv, format_official(iv, spec.value_style),
                                            rec.get("note"), {fid: rec[fid] for fid in own_ids}))
    for table in spec.extra_tables:
        for rec in frame_records(batch.frames[table.key]):
            project = owner(rec, table)
            if project is not None:
                project.children.setdefault(table.key, []).append({fid: rec[fid] for fid in table.ids})
    # Indicators in the form's order: by 一级, then 二级 as the hierarchy lists them, stable within.
    rank = {(l1.name, l2.name): (a, b) for a, l1 in enumerate(spec.hierarchy) for b, l2 in enumerate(l1.level2)}
    for project in projects.values():
        project.indicators.sort(key=lambda ind: rank.get((ind.level1, ind.level2), (99, 99)))
    return [None if records is None else _file_records(records, spec, spool_folder) for records in out]


def _file_records(projects: list[Project], spec: FormSpec, spool_folder: str) -> FileRecords:
    rows = {"projects": len(projects), "indicators": sum(len(p.indicators) for p in projects)}
    for table in spec.extra_tables:
        rows[table.key] = sum(len(p.children.get(table.key, ())) for p in projects)
    totals = {fid: Decimal(0) for fid in spec.amount_ids()}
    filled = set()
    for p in projects:
        for fid in totals:
            if p.values.get(fid) is not None:
                totals[fid] += p.values[fid]
                filled.add(fid)
    where = spool_write(spool_folder, pickle.dumps(projects, protocol=pickle.HIGHEST_PROTOCOL))
    return FileRecords(where, rows, totals, frozenset(filled))


def consolidate(spec: FormSpec, department: str, year: int, roster: Roster | None,
                reports: list[FileReport], records: list[FileRecords | None], spool: Spool) -> Consolidated:
    """Every roster unit's status, and the accepted files' records (records_of) in roster order."""
    units: dict[str, UnitStatus] = {}
    if roster is not None:
        for unit in roster.units:
            units[unit.code] = UnitStatus(unit)
    accepted: dict[str, FileRecords] = {}
    for report, file_records in zip(reports, records):
        meta = report.submission.meta or {}
        code = meta.get("单位编码") or f"?{shown_path(report.path.name)}"
        unit = (roster.get(code) if roster else None) or Unit(code, meta.get("单位名称") or shown_path(report.path.stem))
        status = units.setdefault(code, UnitStatus(unit))
        if status.status == STATUS_OK:
            continue
        status.file = shown_path(report.path.name)
        status.errors, status.warnings, status.explained = report.errors, report.warnings, report.explained
        status.status = (STATUS_OK if file_records is not None else
                         STATUS_UNREADABLE if not report.readable else STATUS_BAD)
        if file_records is not None:
            accepted[code] = file_records

    spooled, sums = Records(spool), {}
    for code, status in units.items():      # roster order, then units not on the roster
        file_records = accepted.get(code)
        if file_records is None or not file_records.rows.get("projects"):
            continue
        spooled.add(status.unit, file_records)
        status.rows = dict(file_records.rows)
        if "annual_total" in file_records.filled:
            status.amount = file_records.totals["annual_total"]
        sums[code] = (file_records.totals, file_records.filled)
    return Consolidated(spec, department, year, spooled, list(units.values()), sums=sums)
