"""Last year as the baseline: last year's 汇总表 (or any sheet with the columns of 绩效指标明细) →
per unit, its recurring projects with their indicators.

The file comes from outside and is read with the reader's defences (package.py: the zip checked
before anything is inflated, every sheet bounded before calamine sees it). Nothing in it is trusted
to be jixiao's: sheets are recognised by their header row, columns by their labels (those of the
form being collected, or of any shipped form), and a 一级/二级 pair the form does not know is moved
by the form's level maps (spec.carry_levels). Every problem is one Chinese sentence in an
InputError (exit 2 on the command line), never a traceback.

The Baseline is plain frozen data (it travels to the worker processes of check with the Context);
template.py lays it into the templates, rules/history.py checks returns against it, merge and render
put last year's value beside each indicator of the 汇总表.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .cells import clean_text
from .contract import (CHANGED, DETAIL_SHEET, HIGHER, KIND_COLUMN, LOWER, OFFICIAL_COLUMN, ROW_RECORD, SAME,
                       UNIT_CODE_LABEL, UNIT_LABEL)
from .errors import InputError, Unreadable
from .frames import parse_split_cached
from .package import MAX_COLUMNS, Book, Package, bounded_sheet, load_rows, open_calamine, read_bytes, sniff
from .spec import FormSpec, available_forms, load_form, normalize_label
from .text import shown_path
from .values import IndicatorValue, format_official, normalize_unit, parse_value

MAX_ROWS = 100_000               # rows read per sheet of last year's file (a province: ~1,000 units × 100)
HEADER_ROWS = 10                 # a header row is looked for in the first rows of every sheet
BLOCKS_PREFIX = "申报表"           # the 汇总表's printed blocks: read for the goals only
BLOCK_ROWS, BLOCK_COLUMNS = 300_000, 16   # rows and columns of a 申报表 sheet read (its layout is 6 wide)
# Record fields carried into the new template: what describes a project, not what it costs or when.
CARRIED_TYPES = {"text", "longtext", "code"}
POSITIVE, NEGATIVE = frozenset({"≥", ">", "="}), frozenset({"≤", "<"})


@dataclass(frozen=True)
class PreviousIndicator:
    level1: str
    level2: str
    level3: str
    value: IndicatorValue
    official: str                          # last year's value, the official way (≥280.00(次))
    note: str | None = None
    moved_from: tuple[str, str] | None = None   # (一级, 二级) as last year's file wrote it, when mapped

    def key(self) -> tuple[str, str, str]:
        return normalize_label(self.level1), normalize_label(self.level2), normalize_label(self.level3)


@dataclass(frozen=True)
class PreviousProject:
    name: str
    values: tuple[tuple[str, str], ...]    # (record field id, text) carried: name, 性质, 类别, goals …
    indicators: tuple[PreviousIndicator, ...]

    def value(self, field_id: str) -> str | None:
        return dict(self.values).get(field_id)


@dataclass(frozen=True)
class Baseline:
    source: str                            # the file's name, as shown in messages
    sha256: str                            # of the file's bytes: part of a check's context
    form: str                              # the form the baseline was read for
    units: dict = field(default_factory=dict)   # ("code", 编码) or ("name", key of 单位名称) → tuple[PreviousProject]
    assumed: tuple[str, ...] = ()          # what was assumed, in sentences (no 项目性质 column …)
    moved: tuple[tuple[str, str, str, str, int], ...] = ()   # (from 一级, 二级, to 一级, 二级, count)
    skipped_projects: int = 0              # last year's projects that do not recur
    skipped_rows: int = 0                  # indicator rows without a project or 三级指标
    year: int | None = None                # the 年度 a title row of the file names, when one does

    def projects_for(self, unit) -> tuple[PreviousProject, ...]:
        """The recurring projects of a roster unit (matched by code, else by name)."""
        found = self.units.get(("code", normalize_label(unit.code)))
        if found is None:
            found = self.units.get(("name", normalize_label(unit.name)), ())
        return found

    @property
    def projects(self) -> int:
        return sum(len(p) for p in self.units.values())

    @property
    def indicators(self) -> int:
        return sum(len(p.indicators) for ps in self.units.values() for p in ps)

    def unmatched(self, roster) -> int:
        """Units of last year's file that no roster unit matches (by code, else by name)."""
        keys = {("code", normalize_label(u.code)) for u in roster.units} | {("name", normalize_label(u.name))
                                                                          for u in roster.units}
        return sum(1 for k in self.units if k not in keys)

    def moved_lines(self) -> list[str]:
        return [f"{a}/{b} → {c}/{d}（{n} 条）" for a, b, c, d, n in self.moved]

    def summary_lines(self, spec: FormSpec) -> list[str]:
        """What was carried, in sentences for the command line."""
        noun = spec.record_noun
        lines = [f"上年文件 {self.source}：{len(self.units)} 个单位的 {self.projects} 个经常性{noun}、"
                 f"{self.indicators} 条{spec.indicators.name}作为本年的起点"
                 + (f"（另有 {self.skipped_projects} 个{noun}不是经常性{noun}，未带入）" if self.skipped_projects else "")]
        if self.moved:
            lines.append(f"指标层级按本年表单调整：{'；'.join(self.moved_lines())}")
        lines += list(self.assumed)
        if self.skipped_rows:
            lines.append(f"有 {self.skipped_rows} 行没有{spec.projects.label('name')}或"
                         f"{spec.indicators.label('level3')}，未读取")
        return lines

    def template_lines(self, spec: FormSpec, roster, year: int) -> tuple[list[str], list[str]]:
        """(lines, warnings) that `templates` prints (and the web page shows) after starting this
        year's templates from the file: summary_lines, the roster's units it has nothing for."""
        lines, warnings = self.summary_lines(spec), []
        if self.year is not None and self.year >= year:
            warnings.append(f"上年文件的标题是 {self.year} 年度，本次收集的是 {year} 年度：请确认没有选错文件")
        missing = self.unmatched(roster)
        if missing:
            lines.append(f"上年文件中有 {missing} 个单位不在本年名单中，它们的内容没有带入")
        started = sum(1 for u in roster.units if self.projects_for(u))
        lines.append(f"{started} 份模板从上年开始填（名单中其余 {len(roster.units) - started} 个单位上年没有"
                     "经常性项目，模板为空白）")
        return lines, warnings


# --- comparing a value with last year's --------------------------------------------------------

def compare(previous: IndicatorValue, current: IndicatorValue) -> str:
    """SAME, HIGHER, LOWER or CHANGED (a change that cannot be ranked: another unit, a floor that
    became a ceiling, other text). ≥/>/= are floors (more is better), ≤/< ceilings; a number
    replaced by text is LOWER (the target can no longer be measured)."""
    if previous.kind == "quant" and previous.number is not None:
        if current.kind != "quant" or current.number is None:
            return LOWER if current.kind != "empty" else CHANGED
        if (normalize_unit(previous.unit) or "") != (normalize_unit(current.unit) or ""):
            return CHANGED
        before, now = _direction(previous.op), _direction(current.op)
        if before != now:
            return CHANGED
        if current.number == previous.number:
            return SAME
        higher = current.number > previous.number
        if now is NEGATIVE:
            higher = not higher
        return HIGHER if higher else LOWER
    if current.kind == "quant":
        return CHANGED
    same = normalize_label(format_official(previous)) == normalize_label(format_official(current))
    return SAME if same else CHANGED


def _direction(op: str | None) -> frozenset:
    return NEGATIVE if op in NEGATIVE else POSITIVE


# --- reading the file -----------------------------------------------------------------------------

@dataclass
class _Columns:
    header_row: int
    by_id: dict[str, int]                  # field id (or "code" / "unit_name" / "official" / "kind") → column


def _labels(spec: FormSpec) -> tuple[dict[str, str], dict[str, str]]:
    """label key → field id, for the record and the indicator columns: this form's labels first,
    then those of every shipped form (last year may have used another)."""
    records: dict[str, str] = {}
    indicators: dict[str, str] = {}
    forms = [spec] + [load_form(f) for f in available_forms() if f != spec.id]
    for s in forms:
        for f in s.projects.fields:
            records.setdefault(normalize_label(f.label), f.id)
        for f in s.indicators.fields:
            indicators.setdefault(normalize_label(f.label), f.id)
    return records, indicators


def _find_header(rows: list[list], records: dict, indicators: dict) -> _Columns | None:
    for r, row in enumerate(rows[:HEADER_ROWS]):
        by_id: dict[str, int] = {}
        for c, v in enumerate(row):
            label = normalize_label(v)
            if not label:
                continue
            fid = None
            if label == normalize_label(UNIT_CODE_LABEL):
                fid = "code"
            elif label == normalize_label(UNIT_LABEL):
                fid = "unit_name"
            elif label == normalize_label(OFFICIAL_COLUMN):
                fid = "official"
            elif label == normalize_label(KIND_COLUMN):
                fid = "kind"
            elif label in indicators and indicators[label] != "project":
                fid = indicators[label]
            elif label in records:
                fid = records[label]
            elif label in indicators:
                fid = "name"                     # the indicators' link to a project is its name
            if fid is not None and fid not in by_id:
                by_id[fid] = c
        if "name" in by_id and ("level3" in by_id or len(set(by_id) & {"nature", "category", "goal"}) >= 1):
            return _Columns(r, by_id)
    return None


def _for_last_year(reason: str) -> str:
    """The reader's words say what a file is and what a unit should send instead; for last year's
    file the advice is another one."""
    what, sep, advice = reason.rpartition("：")
    if sep and "模板" in advice:
        return f"{what}：请提供上年的汇总表，或一个含上年绩效指标明细各列的 .xlsx 工作簿"
    return reason


def load_previous(path: str | Path, spec: FormSpec) -> Baseline:
    """Last year's file → the Baseline for `spec`; raises InputError with one sentence per problem."""
    path = Path(path)
    shown = shown_path(path.name)
    what = f"上年文件 {shown}"
    if spec.kind != "project" or not spec.indicators.has("project"):
        raise InputError([f"表单“{spec.title}”每个单位只有一条{spec.record_noun}记录，不按{spec.indicators.name}所属的"
                          f"项目填报：以上年为起点（{what}）只用于项目表单"])
    try:
        data = read_bytes(path)
        sniff(data)
        package = Package(data)
        book = Book(package)
        names = [n for n in book.sheets if not n.startswith(BLOCKS_PREFIX) and book.sheets[n] is not None]
        form_sheets = [n for n in book.sheets if n.startswith(BLOCKS_PREFIX) and book.sheets[n] is not None]
        bounded = {n: bounded_sheet(book.sheet_xml(n), n, MAX_ROWS + HEADER_ROWS, MAX_COLUMNS) for n in names}
        bounded.update({n: bounded_sheet(book.sheet_xml(n), n, BLOCK_ROWS, BLOCK_COLUMNS) for n in form_sheets})
        package.check_all_xml()
        wb = open_calamine(book, bounded)
        try:
            sheets = {n: load_rows(wb, n, MAX_ROWS + HEADER_ROWS) for n in names}
            blocks = [b for n in form_sheets for b in _goals_of_blocks(load_rows(wb, n, BLOCK_ROWS), spec)]
        finally:
            wb.close()
    except Unreadable as exc:
        raise InputError([f"{what} 无法读取：{_for_last_year(str(exc))}"]) from None
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a file from outside: never a traceback
        raise InputError([f"{what} 无法读取（{type(exc).__name__}）：请在 Excel 中打开并另存为 .xlsx 后重试"]) from None
    too_long = [n for n in names if bounded[n].dropped_row is not None]
    if too_long:
        raise InputError([f"{what} 的工作表“{too_long[0]}”超过 {MAX_ROWS:,} 行：请只保留上年的"
                          f"{spec.indicators.name}明细（或分成几个文件）后重试"])
    return _baseline(sheets, spec, shown, hashlib.sha256(data).hexdigest(), blocks)


def _goals_of_blocks(rows: list[list], spec: FormSpec) -> list[tuple[str, dict[str, str]]]:
    """(name, {goal field id: text}) of every printed 申报表 block, in order: a block starts at the
    cell labelled with the record's name label (the name is the next filled cell to its right); a
    goal is the text below the cell labelled with its label (a long goal is split over rows, each
    piece under the label), up to the row with the 一级 label (the indicator table)."""
    records = spec.projects
    name_label = normalize_label(records.label("name"))
    goal_labels = {fid: normalize_label(records.label(fid)) for fid in ("goal", "whole_goal") if records.has(fid)}
    stop = normalize_label(spec.indicators.label("level1"))
    out: list[tuple[str, dict[str, str]]] = []
    columns: dict[str, int] = {}
    reading = False
    for row in rows:
        cells = [normalize_label(v) for v in row]
        if name_label in cells:
            c = cells.index(name_label)
            name = next((clean_text(v) for v in row[c + 1:] if clean_text(v)), None)
            if name:
                out.append((name, {}))
                columns, reading = {}, False
            continue
        if not out:
            continue
        found = {fid: c for c, v in enumerate(cells) for fid, label in goal_labels.items() if v and v.startswith(label)}
        if found:
            columns, reading = found, True
            continue
        if not reading:
            continue
        if stop in cells:
            reading = False
            continue
        goals = out[-1][1]
        for fid, c in columns.items():
            piece = row[c] if c < len(row) else None
            if isinstance(piece, str) and piece:
                goals[fid] = goals.get(fid, "") + piece
    return out


def _baseline(sheets: dict[str, list[list]], spec: FormSpec, shown: str, sha256: str,
              blocks: list[tuple[str, dict[str, str]]] = ()) -> Baseline:
    records_labels, indicator_labels = _labels(spec)
    year = next((int(m[1]) for rows in sheets.values() for row in rows[:3] for v in row
                 if isinstance(v, str) and (m := re.search(r"(20\d\d)\s*年度", v))), None)
    ind_sheets, rec_sheets = [], []
    for name, rows in sheets.items():
        cols = _find_header(rows, records_labels, indicator_labels)
        if cols is None:
            continue
        (ind_sheets if "level3" in cols.by_id else rec_sheets).append((name, rows, cols))
    # jixiao's own 绩效指标明细 first, when there are several indicator tables
    ind_sheets.sort(key=lambda t: t[0] != DETAIL_SHEET)
    if not ind_sheets:
        need = [spec.projects.label("name"), spec.indicators.label("level1"), spec.indicators.label("level2"),
                spec.indicators.label("level3"), spec.indicators.label("value")]
        raise InputError([f"上年文件 {shown} 中没有找到{spec.indicators.name}明细：需要一个工作表，前 {HEADER_ROWS} 行中"
                          f"有表头 {UNIT_CODE_LABEL}（或{UNIT_LABEL}）、{'、'.join(need)}（指标值也可以是"
                          f"“≥280.00(次)”这样的一列）；jixiao 生成的汇总表中是“{DETAIL_SHEET}”表"])
    name, rows, cols = ind_sheets[0]
    problems = _missing_columns(cols, spec, shown, name)
    if problems:
        raise InputError(problems)

    def unit_key(row, c: _Columns):
        code = _cell(row, c.by_id.get("code"))
        if code:
            return ("code", normalize_label(code)), code
        unit = _cell(row, c.by_id.get("unit_name"))
        return (("name", normalize_label(unit)), unit) if unit else (None, None)

    # What the record tables say of each project: 性质, 类别, goals … (a pasted sheet may carry them itself).
    info: dict[tuple, dict[str, str]] = {}
    for _n, r_rows, c in [*rec_sheets, (name, rows, cols)]:
        kind_col = c.by_id.get("kind")
        for row in r_rows[c.header_row + 1:]:
            if kind_col is not None and _cell(row, kind_col) != ROW_RECORD:
                continue                          # 汇总's subtotal and total rows
            key, _shown = unit_key(row, c)
            project = _cell(row, c.by_id.get("name"))
            if key is None or not project:
                continue
            slot = info.setdefault((key, normalize_label(project)), {})
            for f in spec.projects.fields:
                if f.type in CARRIED_TYPES and f.id != "name" and f.id in c.by_id:
                    text = _cell(row, c.by_id[f.id])
                    if text and f.id not in slot:
                        slot[f.id] = text
    _goals_from_blocks(info, rec_sheets, blocks)
    nature_known = spec.projects.has("nature") and any(
        "nature" in c.by_id for _n, _r, c in [*rec_sheets, (name, rows, cols)])

    projects: dict[tuple, dict[str, dict]] = {}      # unit key → project key → {"name", "indicators"}
    moved: dict[tuple, int] = {}
    skipped_rows = 0
    for row in rows[cols.header_row + 1:]:
        key, _shown = unit_key(row, cols)
        project = _cell(row, cols.by_id.get("name"))
        level3 = _cell(row, cols.by_id.get("level3"))
        if key is None or not project or not level3:
            if any(clean_text(v) for v in row):
                skipped_rows += 1
            continue
        l1_raw = _cell(row, cols.by_id.get("level1")) or ""
        l2_raw = _cell(row, cols.by_id.get("level2")) or ""
        l1, l2, was_moved = spec.carry_levels(l1_raw, l2_raw)
        if was_moved:
            moved[(l1_raw, l2_raw, l1, l2)] = moved.get((l1_raw, l2_raw, l1, l2), 0) + 1
        value = _value(row, cols)
        slot = projects.setdefault(key, {}).setdefault(normalize_label(project), {"name": project, "indicators": []})
        slot["indicators"].append(PreviousIndicator(
            level1=l1 or "", level2=l2 or "", level3=level3, value=value, official=format_official(value),
            note=_cell(row, cols.by_id.get("note")), moved_from=(l1_raw, l2_raw) if was_moved else None))

    recurring = {normalize_label(v) for v in spec.recurring} if spec.recurring is not None else None
    units: dict[tuple, tuple[PreviousProject, ...]] = {}
    skipped = 0
    for key, by_name in projects.items():
        kept = []
        for pkey, slot in by_name.items():
            values = dict(info.get((key, pkey), {}))
            nature = values.get("nature")
            if recurring is not None and nature_known and nature and normalize_label(nature) not in recurring:
                skipped += 1
                continue
            values = {"name": slot["name"], **values}
            kept.append(PreviousProject(slot["name"], tuple(values.items()), tuple(slot["indicators"])))
        if kept:
            units[key] = tuple(kept)
    assumed = []
    if recurring is not None and spec.projects.has("nature") and not nature_known:
        label = spec.projects.label("nature")
        assumed.append(f"上年文件没有“{label}”列：所有{spec.record_noun}都按经常性{spec.record_noun}带入，"
                       f"不再开展的请在模板中删除")
    if "code" not in cols.by_id:
        assumed.append(f"上年文件没有“{UNIT_CODE_LABEL}”列：按{UNIT_LABEL}名称与本年名单对应")
    return Baseline(source=shown, sha256=sha256, form=spec.id, units=units, assumed=tuple(assumed),
                    moved=tuple((a, b, c, d, n) for (a, b, c, d), n in moved.items()),
                    skipped_projects=skipped, skipped_rows=skipped_rows, year=year)


def _goals_from_blocks(info: dict, rec_sheets, blocks) -> None:
    """The goals printed in the 申报表 blocks, given to the records of 汇总: the blocks are in the order
    of 汇总's record rows (jixiao writes both so); where the names disagree, a name that only one
    record and one block have is matched."""
    if not blocks:
        return
    order = [key for key in info]          # (unit key, project key) in the order of the record sheets' rows
    names = [normalize_label(n) for n, _ in blocks]
    if len(order) == len(blocks) and all(k[1] == n for k, n in zip(order, names)):
        pairs = list(zip(order, blocks))
    else:
        by_name: dict[str, list] = {}
        for key in order:
            by_name.setdefault(key[1], []).append(key)
        pairs = [(by_name[n][0], b) for n, b in zip(names, blocks)
                 if len(by_name.get(n, ())) == 1 and names.count(n) == 1]
    for key, (_name, goals) in pairs:
        for fid, text in goals.items():
            info[key].setdefault(fid, text)


def _missing_columns(cols: _Columns, spec: FormSpec, shown: str, sheet: str) -> list[str]:
    ind = spec.indicators
    missing = [ind.label(fid) for fid in ("level1", "level2") if fid not in cols.by_id]
    if "code" not in cols.by_id and "unit_name" not in cols.by_id:
        missing.insert(0, f"{UNIT_CODE_LABEL}（或{UNIT_LABEL}）")
    if "value" not in cols.by_id and "official" not in cols.by_id:
        missing.append(ind.label("value"))
    if not missing:
        return []
    return [f"上年文件 {shown} 的“{sheet}”表缺少列：{'、'.join(missing)}：请补上这些列（表头写在同一行）后重试"]


def _cell(row: list, col: int | None) -> str | None:
    if col is None or col >= len(row):
        return None
    return clean_text(row[col])                 # a code typed into a number cell: 310001.0 → "310001"


def _value(row: list, cols: _Columns) -> IndicatorValue:
    def raw(fid):
        col = cols.by_id.get(fid)
        return row[col] if col is not None and col < len(row) else None

    if "value" in cols.by_id and clean_text(raw("value")) is not None:
        return parse_split_cached(raw("operator"), raw("value"), raw("unit"))   # values repeat: parsed once
    official = clean_text(raw("official"))
    return parse_value(official) if official else parse_value(None)


def match(previous: tuple[PreviousIndicator, ...], current: list[tuple[str, str, str]], spec: FormSpec
          ) -> list[PreviousIndicator | None]:
    """Last year's indicator for each current one (一级, 二级, 三级 as written): by the three levels
    (aliases resolved), else by a 三级 that only one of last year's has; each used once."""
    def key(l1, l2, l3):
        c1, c2 = spec.resolve_levels(l1, l2)
        return normalize_label(c1 or l1), normalize_label(c2 or l2), normalize_label(l3)

    by_key: dict[tuple, list[int]] = {}
    by_name: dict[str, list[int]] = {}
    for i, pi in enumerate(previous):
        by_key.setdefault(pi.key(), []).append(i)
        by_name.setdefault(normalize_label(pi.level3), []).append(i)
    used: set[int] = set()
    out: list[PreviousIndicator | None] = [None] * len(current)
    keys = [key(*c) for c in current]
    for n, k in enumerate(keys):
        free = [i for i in by_key.get(k, []) if i not in used]
        if free:
            used.add(free[0])
            out[n] = previous[free[0]]
    for n, k in enumerate(keys):
        if out[n] is None:
            free = [i for i in by_name.get(k[2], []) if i not in used]
            if len(free) == 1 and len(by_name[k[2]]) == 1:
                used.add(free[0])
                out[n] = previous[free[0]]
    return out


def comparisons(baseline: Baseline, unit, project_name: str, indicators: list, spec: FormSpec
                ) -> list[tuple[str | None, str]]:
    """(last year's official value or None, SAME/HIGHER/LOWER/CHANGED/NEW) per indicator of a
    consolidated project (merge.Indicator: level1, level2, name, value)."""
    from .contract import NEW

    last = {normalize_label(p.name): p for p in baseline.projects_for(unit)}.get(normalize_label(project_name))
    if last is None:
        return [(None, NEW) for _ in indicators]
    found = match(last.indicators, [(i.level1, i.level2, i.name) for i in indicators], spec)
    return [(None, NEW) if pi is None else (pi.official, compare(pi.value, ind.value))
            for pi, ind in zip(found, indicators)]
