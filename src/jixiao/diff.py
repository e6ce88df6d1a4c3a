"""What changed between two returns of one unit, by content, never by row.

A record is keyed by its name, an indicator by its record and its 一级/二级/三级, a row of another
table by its record and its first field; so inserting a row does not make everything below it
"changed". Each difference is one Change: a field changed (old → new), a row added or removed (its
fields as old or new), or a record renamed when exactly one removed and one added record have the
same content and indicators under another name.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from .cells import money_text
from .errors import UsageError
from .frames import build_frames, frame_records
from .reader import Submission, read_workbook
from .spec import DEFAULT_FORM, FormSpec, load_form, normalize_label
from .text import shown_path

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class Change:
    table: str            # the sheet, as the unit knows it (项目信息, 绩效指标 …)
    key: str              # what changed, by content: "宣传工作经费" or "宣传工作经费 / 产出指标 / 数量指标 / …"
    field: str            # the column's label; "" for a whole row added or removed
    change: str           # added / removed / changed
    old: object = None    # text, or {label: text} for a whole row
    new: object = None
    record: str = ""      # the record (project) it belongs to, for grouping

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("record")
        return out


def shown(value) -> str:
    """A typed value as the unit would read it."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value).strip()


def diff_files(old: str | Path, new: str | Path, form: str = DEFAULT_FORM) -> list[Change]:
    """The changes from one return to the next. Raises UsageError when a file cannot be read."""
    spec = load_form(form)
    subs = [read_workbook(path, spec) for path in (old, new)]
    for sub in subs:
        if not sub.readable:
            raise UsageError(f"{shown_path(sub.path.name)}：{sub.findings[0].message}")
    return diff_submissions(subs[0], subs[1], spec)


def diff_submissions(old: Submission, new: Submission, spec: FormSpec) -> list[Change]:
    frames = build_frames([old, new], spec, {0: [], 1: []}, set())
    before, after = snapshots(frames, spec, 2)
    return diff_snapshots(before, after, spec)


Snapshot = dict[str, list[dict[str, str]]]       # table key → rows → field id → the value as shown


def snapshots(frames: dict, spec: FormSpec, count: int) -> list[Snapshot]:
    """What diff compares, per submission of a batch: every row of every table as the unit reads
    it (typed values shown as text; empty cells left out). Small and plain, so that the ledger can
    keep it for each file and compare two returns without reading either again."""
    out: list[Snapshot] = [{t.key: [] for t in spec.tables} for _ in range(count)]
    for table in spec.tables:
        df = frames[table.key]
        ids = [f.id for f in table.fields if f.id in df.columns]
        for rec in frame_records(df[["_sub", *ids]]):
            row = {fid: shown(rec[fid]) for fid in ids if rec[fid] is not None}
            out[int(rec["_sub"])][table.key].append({k: v for k, v in row.items() if v})
    return out


def packed_snapshots(form: str, subs: list[Submission], batch, reports) -> list[bytes | None]:
    """pack(snapshot) of each file of a checked chunk (None for an unreadable one): what the ledger
    keeps (a jixiao.check.read_and_check extract; run while the chunk's frames exist)."""
    spec = load_form(form)
    return [pack(snap) if sub.readable else None
            for sub, snap in zip(subs, snapshots(batch.frames, spec, len(subs)))]


def diff_snapshots(old: Snapshot, new: Snapshot, spec: FormSpec) -> list[Change]:
    """The changes from one return's snapshot to the next (see snapshots())."""
    rows = {t.key: {0: list(old.get(t.key, ())), 1: list(new.get(t.key, ()))} for t in spec.tables}
    records = spec.projects
    name_of = {side: {_record_name(rec) for rec in rows["projects"][side]} for side in (0, 1)}

    def record_of(table, rec, side: int) -> str:
        if table.kind == "records":
            return _record_name(rec)
        if table.link:
            return shown(rec.get(table.link))
        return next(iter(sorted(name_of[side])), "")         # one record per unit (整体支出)

    keyed = {t.key: {side: _keyed(t, rows[t.key][side], lambda rec, t=t, s=side: record_of(t, rec, s), spec)
                     for side in (0, 1)} for t in spec.tables}
    renames = _renames(keyed, spec)
    changes: list[Change] = []
    for r in renames.values():
        changes.append(Change(records.name, r.old, records.label("name"), CHANGED, r.old, r.new, r.new))
    for table in spec.tables:
        before, after = keyed[table.key][0], keyed[table.key][1]
        moved = {_renamed_key(k, renames): v for k, v in before.items()}
        pairs = {k: k for k in moved if k in after}
        pairs.update(_same_row_other_key(table, moved, after, pairs))
        matched_new = set(pairs.values())
        items = [(k, pairs.get(k)) for k in moved] + [(None, k) for k in after if k not in matched_new]
        items.sort(key=lambda kk: _order(kk[1] or kk[0], after if kk[1] else moved))
        for old_key, new_key in items:
            a = moved.get(old_key) if old_key else None
            b = after.get(new_key) if new_key else None
            display = (b or a)[2]
            record, label = display[0], _display_key(display)
            if a is None:
                changes.append(Change(table.name, label, "", ADDED, None, _row_text(table, b[1]), record))
            elif b is None:
                changes.append(Change(table.name, label, "", REMOVED, _row_text(table, a[1]), None, record))
            else:
                if old_key != new_key:
                    label = _display_key(a[2])             # the row as it was known: its old key
                for f in table.fields:
                    if f.id == ("name" if table.kind == "records" else table.link):
                        continue                     # part of the key (a rename is reported once)
                    x, y = shown(a[1].get(f.id)), shown(b[1].get(f.id))
                    # Spaces and full- or half-width forms are not a change a reviewer needs to see.
                    if normalize_label(x) != normalize_label(y):
                        changes.append(Change(table.name, label, f.label, CHANGED, x, y, record))
    return changes


def _record_name(rec) -> str:
    return shown(rec.get("name"))


def _keyed(table, recs: list[dict], record_of, spec: FormSpec) -> dict[tuple, tuple[int, dict, tuple]]:
    """Rows by content key, compared as a person reads them (the n-th of equal keys gets #n); each
    with its position, for ordering, and its key as written, for display."""
    out: dict[tuple, tuple[int, dict, tuple]] = {}
    seen: dict[tuple, int] = defaultdict(int)
    for i, rec in enumerate(recs):
        base = (record_of(rec), *_content(table, rec, spec))
        seen[_normal(base)] += 1
        n = seen[_normal(base)]
        suffix = f"#{n}" if n > 1 else ""
        out[(*_normal(base), suffix)] = (i, rec, (*base, suffix))
    return out


def _content(table, rec, spec: FormSpec) -> tuple:
    if table.kind == "records":
        return ()
    if table.kind == "indicators":
        l1, l2 = spec.resolve_levels(rec.get("level1"), rec.get("level2"))
        return (l1 or shown(rec.get("level1")), l2 or shown(rec.get("level2")), shown(rec.get("level3")))
    first = next(f for f in table.fields if f.id != table.link)
    return (shown(rec.get(first.id)),)


def _normal(key: tuple) -> tuple:
    return tuple(normalize_label(k) for k in key)


def _order(key: tuple, rows: dict) -> tuple:
    """Changes grouped by record, in the order the rows stand in the new file (removed rows where
    they stood in the old one)."""
    return (key[0], rows[key][0])


def _same_row_other_key(table, before: dict, after: dict, pairs: dict) -> dict:
    """An indicator whose 一级 or 二级 was corrected is the same indicator: rows left unmatched in one
    record with the same 三级, one old and one new, are paired (and their level fields compared)."""
    if table.kind != "indicators":
        return {}
    matched_new = set(pairs.values())
    olds: dict[tuple, list] = defaultdict(list)
    news: dict[tuple, list] = defaultdict(list)
    for k in before:
        if k not in pairs:
            olds[(k[0], k[3])].append(k)
    for k in after:
        if k not in matched_new:
            news[(k[0], k[3])].append(k)
    return {o[0]: n[0] for key, o in olds.items() if len(o) == 1 and len(n := news.get(key, [])) == 1}


def _display_key(key: tuple) -> str:
    parts = [k for k in key[:-1] if k]
    return " / ".join(parts) + (f"（第 {key[-1][1:]} 条）" if key[-1] else "")


def _row_text(table, rec: dict) -> dict:
    return {f.label: shown(rec.get(f.id)) for f in table.fields if rec.get(f.id) not in (None, "")}


def _renames(keyed: dict, spec: FormSpec) -> dict[str, "Rename"]:
    """Records that only changed their name (fields and rows of every table the same), when the
    match is one to one, by their old name as compared."""
    records = spec.projects
    old, new = keyed["projects"][0], keyed["projects"][1]
    gone = [k for k in old if k not in new]
    came = [k for k in new if k not in old]

    def fingerprint(side: int, key: tuple) -> tuple:
        rec = (old if side == 0 else new)[key][1]
        fields = tuple(normalize_label(shown(rec.get(f.id))) for f in records.fields if f.id != "name")
        children = []
        for table in spec.tables[1:]:
            children.append(tuple(sorted(
                tuple(normalize_label(shown(r[1].get(f.id))) for f in table.fields if f.id != table.link)
                for k, r in keyed[table.key][side].items() if k[0] == key[0])))
        return fields, tuple(children)

    gone_prints: dict[tuple, list] = defaultdict(list)
    for k in gone:
        gone_prints[fingerprint(0, k)].append(k)
    came_prints: dict[tuple, list] = defaultdict(list)
    for k in came:
        came_prints[fingerprint(1, k)].append(k)
    out = {}
    for print_, olds in gone_prints.items():
        news = came_prints.get(print_, [])
        if len(olds) == 1 and len(news) == 1:
            out[olds[0][0]] = Rename(old[olds[0]][2][0], new[news[0]][2][0], news[0][0])
    return out


@dataclass(frozen=True)
class Rename:
    old: str              # the names as written
    new: str
    key: str              # the new name as compared


def _renamed_key(key: tuple, renames: dict[str, Rename]) -> tuple:
    return (renames[key[0]].key if key[0] in renames else key[0], *key[1:])


def changed_fields(changes: list[Change]) -> int:
    """How much changed, counted as a person would: each field changed, each row added or removed."""
    return len(changes)


def change_lines(changes: list[Change]) -> list[str]:
    """The changes as plain lines, grouped by record (a record's line, then its changes indented)."""
    lines, current = [], None
    for c in changes:
        if c.record != current:
            current = c.record
            lines.append(current or "（未命名）")
        if c.change == CHANGED:
            lines.append(f"  {c.table} {c.key}：{c.field} “{c.old}” → “{c.new}”")
        else:
            row = c.new if c.change == ADDED else c.old
            text = "；".join(f"{k}：{v}" for k, v in row.items())
            lines.append(f"  {c.table} {'新增' if c.change == ADDED else '删除'}：{c.key}（{text}）")
    return lines + [f"共 {len(changes)} 处变化" if changes else "两份文件内容相同，没有变化。"]


def print_changes(changes: list[Change], console, old_name: str, new_name: str) -> None:
    """The changes grouped by record, one line each, complete (never cut)."""
    from .terminal import shown as escape       # control characters removed, rich markup escaped

    console.print(f"[bold]{escape(old_name)} → {escape(new_name)}[/]")
    for line in change_lines(changes):
        console.print(f"[bold]{escape(line)}[/]" if not line.startswith("  ") and not line.startswith("共 ")
                      else escape(line))


def pack(snapshot: Snapshot) -> bytes:
    """A snapshot as the ledger keeps it: compressed JSON (a few kilobytes per return)."""
    return zlib.compress(json.dumps(snapshot, ensure_ascii=False, separators=(",", ":")).encode(), 6)


def unpack(blob: bytes | None) -> Snapshot | None:
    """pack() undone; None for no snapshot or one that cannot be read (an older or damaged record)."""
    if not blob:
        return None
    try:
        snapshot = json.loads(zlib.decompress(blob))
    except (zlib.error, ValueError):
        return None
    return snapshot if isinstance(snapshot, dict) else None
