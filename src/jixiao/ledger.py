"""The submissions ledger: every workbook ever seen in a collection folder, its hash, unit and verdict.

One SQLite file per collection folder, ``INBOX/.jixiao/ledger.sqlite`` (``collect_paths`` skips
anything under ``.jixiao``, so the ledger is never mistaken for a return). It is created on first
use, its schema is versioned (``PRAGMA user_version`` plus a ``migrations`` table), it runs in WAL
mode with a busy timeout, and every scan writes in one ``BEGIN IMMEDIATE`` transaction: a scan that
is killed half-way leaves the ledger exactly as the previous scan left it, and two scans of the
same folder at once serialise their commits on the UNIQUE keys instead of duplicating rows.

What is recorded
  files   one row per (path relative to the inbox, sha256) ever seen, never deleted. A file that
          disappears from the folder (or is overwritten with new content under the same name)
          keeps its row, with ``missing_since`` set; it is cleared again if the same bytes come back.
  checks  the verdict of one file under one check context (form spec, rules, roster, department,
          year): 通过 / 有错误 / 无法读取, error, warning and answered-warning (已说明) counts,
          project and indicator counts, the findings as ``check --json`` writes them, and a
          compressed snapshot of the rows (jixiao.diff.snapshots) so that a unit's latest file is
          compared with the one before without reading either again. A rescan with the same context reads and
          checks nothing it has already checked; a different roster or year re-checks once.
  hashed  the size, mtime, ctime and inode of each file in the folder when it was last hashed:
          a file whose status is unchanged, and had been left alone for SETTLED_NS before it was
          hashed, keeps its hash without being read again, so a rescan of an unchanged folder reads
          nothing. Saving, copying over or touching a file changes its ctime, which no tool sets.

Receipt time
  The receipt time of a file is its modification time when the ledger first saw it (path and
  content), but never later than that scan: a file dated in the future (a wrong clock, a forged
  time) is received when it is first seen, and a later file of the unit still supersedes it.
  Units send their workbooks by e-mail and the department saves the attachments into the folder,
  so the mtime is when the file arrived in the folder, and it does not depend on when somebody
  happens to run a scan. Caveat: tools that preserve the original time (unpacking a zip archive,
  ``cp -p``, some sync clients) give the time the unit saved the file instead. The time a scan
  first recorded the file is kept too (``first_seen``).

What may record a verdict
  Only a read that hashed the bytes it read: a file that could not be read at all this time (a
  permission error, a share that dropped, a file being copied) is listed as skipped, never stored
  as 无法读取 under the hash of the intact file, and is read again by the next scan.

File names
  ``path`` is the display form (bytes the OS could not decode, e.g. GBK names from a zip made on
  Chinese Windows, as \\xNN); ``path_raw`` holds the real bytes of such a name (NULL otherwise).

A damaged ledger
  The files are the truth, the ledger a cache of verdicts plus history. The ledger is checked at
  every open (``PRAGMA quick_check``), and any database error while it is used counts as damage
  too: the damaged file is kept aside (``ledger.damaged-<time>.sqlite``), a new ledger is built
  from the folder, and one note says so. What only the old ledger knew (files no longer in the
  folder, first-seen times) is in the file kept aside.

Which file counts
  A file counts for the unit named in its ``_meta`` (单位编码), whatever its file name says.
  The latest file of a unit is the one with the latest receipt time among the files still in the
  folder, ties broken by the path (the lexically last path wins); every other file of the unit is
  superseded and stays in the history.

Limitation: SQLite's WAL mode needs shared memory, which network file systems (SMB/NFS shares)
do not provide reliably; keep the collection folder on a local disk.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import NamedTuple

from . import __version__
from .check import collect_paths, read_and_check
from .diff import Change, Snapshot, diff_snapshots, packed_snapshots, unpack
from .errors import LedgerError, OutputError, UsageError
from .findings import ERROR
from .roster import Roster
from .rules import Context
from .spec import DEFAULT_FORM, FormSpec, load_form, spec_digest
from .text import shown_path, unicode_safe

LEDGER_DIR = ".jixiao"
LEDGER_NAME = "ledger.sqlite"
BUSY_TIMEOUT_MS = 30_000
VERDICTS = ("通过", "有错误", "无法读取")
_HASH_CHUNK = 1 << 20

# Each migration: (version, description, statements). Append only; never edit a released one.
MIGRATIONS: list[tuple[int, str, tuple[str, ...]]] = [
    (1, "files, checks, contexts", (
        """CREATE TABLE migrations (
               version     INTEGER PRIMARY KEY,
               applied     TEXT NOT NULL,
               description TEXT NOT NULL)""",
        """CREATE TABLE files (
               id            INTEGER PRIMARY KEY,
               path          TEXT NOT NULL,             -- relative to the inbox, '/'-separated
               sha256        TEXT NOT NULL,
               size          INTEGER NOT NULL,
               mtime_ns      INTEGER NOT NULL,          -- file mtime when first seen = receipt time
               received      TEXT NOT NULL,             -- the same, ISO 8601 local time
               first_seen    TEXT NOT NULL,             -- when a scan first recorded it
               readable      INTEGER NOT NULL,
               unit_code     TEXT,                      -- from _meta; NULL when there is none
               unit_name     TEXT,
               department    TEXT,
               year          TEXT,
               form_id       TEXT,
               form_version  TEXT,
               missing_since TEXT,                      -- set when the file left the folder
               UNIQUE (path, sha256))""",
        "CREATE INDEX files_unit ON files (unit_code, mtime_ns, path)",
        """CREATE TABLE contexts (
               key         TEXT PRIMARY KEY,
               first_used  TEXT NOT NULL,
               description TEXT NOT NULL)""",
        """CREATE TABLE checks (
               id         INTEGER PRIMARY KEY,
               file_id    INTEGER NOT NULL REFERENCES files (id),
               context    TEXT NOT NULL REFERENCES contexts (key),
               checked    TEXT NOT NULL,
               verdict    TEXT NOT NULL CHECK (verdict IN ('通过', '有错误', '无法读取')),
               errors     INTEGER NOT NULL,
               warnings   INTEGER NOT NULL,
               projects   INTEGER NOT NULL,
               indicators INTEGER NOT NULL,
               problem    TEXT NOT NULL,                -- first error message, '' when none
               findings   TEXT NOT NULL,                -- JSON array, as `check --json` writes it
               UNIQUE (file_id, context))""",
    )),
    (2, "rows per table of the form", (
        # JSON: table key → rows read
        "ALTER TABLE checks ADD COLUMN rows TEXT NOT NULL DEFAULT '{}'",
    )),
    (3, "undecodable file names; receipt times no later than first seen", (
        "ALTER TABLE files ADD COLUMN path_raw BLOB",      # the name's bytes when path is escaped
        """UPDATE files SET mtime_ns = CAST(strftime('%s', first_seen) AS INTEGER) * 1000000000,
                            received = first_seen
           WHERE mtime_ns > CAST(strftime('%s', first_seen) AS INTEGER) * 1000000000""",
    )),
    (4, "answered warnings; the content of each return, for the changes between returns", (
        # warnings the unit answered on 校验结果 (已说明); `warnings` counts the others
        "ALTER TABLE checks ADD COLUMN explained INTEGER NOT NULL DEFAULT 0",
        # jixiao.diff.pack() of the return's rows; NULL when it could not be read
        "ALTER TABLE checks ADD COLUMN content BLOB",
    )),
    (5, "what each file's status said when it was last hashed, so that a rescan reads no unchanged file", (
        """CREATE TABLE hashed (
               path      TEXT PRIMARY KEY,              -- as files.path
               size      INTEGER NOT NULL,
               mtime_ns  INTEGER NOT NULL,              -- the file's real mtime (files.mtime_ns is clamped)
               ctime_ns  INTEGER NOT NULL,              -- status change: any write moves it, touch cannot set it
               inode     INTEGER NOT NULL,
               sha256    TEXT NOT NULL,
               hashed_ns INTEGER NOT NULL)""",
    )),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass
class Entry:
    """One file of the ledger (one path with one content) and its verdict."""
    id: int
    path: str                      # relative to the inbox, '/'-separated
    full_path: Path
    sha256: str
    size: int
    mtime_ns: int
    received: dt.datetime          # receipt time: the file's mtime when first seen (local, aware)
    first_seen: dt.datetime
    readable: bool
    unit_code: str | None
    unit_name: str | None
    department: str | None
    year: str | None
    form_id: str | None
    form_version: str | None
    missing_since: dt.datetime | None
    verdict: str | None = None     # 通过 / 有错误 / 无法读取 (None only if never checked)
    errors: int = 0
    warnings: int = 0              # warnings not answered by the unit
    explained: int = 0             # warnings answered on 校验结果 (已说明)
    projects: int = 0
    indicators: int = 0
    rows: dict = field(default_factory=dict)   # table key → rows read (every table of the form)
    problem: str = ""              # the first error message
    context: str | None = None     # the check context the verdict belongs to
    current: bool = False          # the latest file of its unit still in the folder

    @property
    def missing(self) -> bool:
        return self.missing_since is not None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def state(self) -> str:
        if self.missing:
            return "已不在文件夹"
        if not self.unit_code:
            return "无单位"
        return "当前" if self.current else "已被替代"


@dataclass
class ScanResult:
    inbox: Path
    ledger: Path | None            # None when the ledger was kept in memory (folder not writable)
    context: str                   # key of the check context the verdicts belong to
    notes: list[str] = field(default_factory=list)       # e.g. the ledger was damaged and rebuilt
    files: int = 0                 # workbooks found in the folder
    checked: int = 0               # read and checked by this scan
    cached: int = 0                # verdict taken from the ledger, file not read
    hashed: int = 0                # files whose bytes were read to hash them (the others were unchanged)
    new: list[Entry] = field(default_factory=list)       # (path, sha256) recorded for the first time
    missing: list[Entry] = field(default_factory=list)   # newly found gone from the folder
    returned: list[Entry] = field(default_factory=list)  # were missing, are back
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): not read this time
    # Files read by this scan, with what the caller's extract functions took from them (scan_into)
    fresh: dict[Path, tuple] = field(default_factory=dict)


class Superseded(NamedTuple):
    path: Path                     # a file of the unit that is not merged
    by: Path                       # the unit's latest file, merged instead
    unit_code: str
    received: dt.datetime


@dataclass
class Selection:
    """What `merge` should read when it is given folders: see select_latest()."""
    chosen: list[Path]                              # files to merge, in collect_paths order
    superseded: list[Superseded]                    # older files left out, each with its replacement
    used: dict[str, Entry] = field(default_factory=dict)   # unit code → the file used
    changes: dict[str, "UnitChanges"] = field(default_factory=dict)   # unit code → against its file before
    fresh: dict[Path, tuple] = field(default_factory=dict)   # chosen files the scan read: (report, extracts)
    notes: list[str] = field(default_factory=list)

    def superseded_of(self, unit_code: str) -> list[Superseded]:
        return [s for s in self.superseded if s.unit_code == unit_code]


@dataclass
class UnitChanges:
    """A unit's latest file against the one it sent before (both still in the folder)."""
    previous: Entry
    latest: Entry
    changes: list[Change] | None     # None when either file could not be read whole

    @property
    def count(self) -> int | None:
        return None if self.changes is None else len(self.changes)


# --- the ledger file ---------------------------------------------------------------------------

def ledger_path(inbox: str | Path) -> Path:
    return Path(inbox) / LEDGER_DIR / LEDGER_NAME


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone().replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _from_ns(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns / 1e9).astimezone().replace(microsecond=0)


def _parse(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class Ledger:
    """An open ledger: a connection in autocommit mode; writes go through transaction()."""

    def __init__(self, inbox: Path, conn: sqlite3.Connection, path: Path | None):
        self.inbox = inbox
        self.conn = conn
        self.path = path
        self.notes: list[str] = []

    @classmethod
    def open(cls, inbox: str | Path) -> "Ledger":
        """Open (or create) the folder's ledger, checked: a damaged one is kept aside and replaced
        by a new, empty ledger (the next scan fills it from the files), with a note saying so."""
        inbox = _inbox(inbox)
        db = ledger_path(inbox)
        try:
            db.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise LedgerError(f"无法在 {shown_path(inbox)} 中建立报送台账（{exc.strerror or type(exc).__name__}）："
                              "请确认对该文件夹有写入权限") from None
        try:
            return cls(inbox, _connect(str(db), db), db)
        except Damaged as exc:
            ledger = cls(inbox, None, db)           # type: ignore[arg-type]
            ledger._replace(exc)
            return ledger

    def _replace(self, damage: BaseException) -> None:
        """Keep the damaged ledger file aside and start a new one in its place."""
        aside = _set_aside(self.path)
        try:
            self.conn = _connect(str(self.path), self.path)
        except Damaged as exc:
            raise LedgerError(f"报送台账 {shown_path(self.path)} 无法重新建立（{exc}）：请确认磁盘空间和写入权限") from None
        self.notes.append(f"报送台账 {shown_path(self.path)} 已损坏（{_detail(damage)}）：已另存为 {aside.name}，"
                          "并按文件夹中的文件重新建立台账；已不在文件夹中的文件的记录只在另存的文件中")

    def recover(self, exc: sqlite3.DatabaseError) -> None:
        """After a database error while the ledger was in use: replace it (see _replace)."""
        if self.path is None:
            raise exc
        try:
            self.conn.close()
        except sqlite3.Error:
            pass
        self._replace(exc)

    def guarded(self, work):
        """work(), and once more on a new ledger if the old one turns out damaged on the way."""
        try:
            return work()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc) or self.path is None:
                raise LedgerError(f"报送台账 {shown_path(self.path or '（内存）')} 暂时无法使用（{_detail(exc)}）："
                                  "请稍后重试；如一直出现，请确认磁盘空间和写入权限") from None
            self.recover(exc)
        try:
            return work()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"报送台账 {shown_path(self.path)} 重新建立后仍无法使用（{_detail(exc)}）："
                              "请确认磁盘空间和写入权限，或把 .jixiao 文件夹移走后重试") from None

    @classmethod
    def memory(cls, inbox: str | Path) -> "Ledger":
        """A ledger that lives only as long as this object (for folders that cannot be written)."""
        return cls(_inbox(inbox), _connect(":memory:", None), None)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE … COMMIT: takes the write lock up front (waiting up to the busy timeout)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise LedgerError(f"报送台账 {self.path} 正被另一个程序长时间占用（{exc}）：请稍后重试") from None
        try:
            yield self.conn
        except BaseException:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        self.conn.execute("COMMIT")

    # -- reading --------------------------------------------------------------------------------
    def entries(self, where: str = "", params: tuple = (), context: str | None = None) -> list[Entry]:
        """Files with their verdict: the check under `context` when there is one, else the newest."""
        sql = f"""
            SELECT f.*, c.verdict, c.errors, c.warnings, c.explained, c.projects, c.indicators, c.rows,
                   c.problem, c.context
            FROM files f
            LEFT JOIN checks c ON c.id = (
                SELECT c2.id FROM checks c2 WHERE c2.file_id = f.id
                ORDER BY (c2.context IS ?) DESC, c2.id DESC LIMIT 1)
            {('WHERE ' + where) if where else ''}
            ORDER BY f.mtime_ns, f.path"""
        rows = self.conn.execute(sql, (context, *params)).fetchall()
        entries = [self._entry(r) for r in rows]
        _mark_current(entries)
        return entries

    def _entry(self, r: sqlite3.Row) -> Entry:
        rel = os.fsdecode(r["path_raw"]) if r["path_raw"] is not None else r["path"]
        return Entry(
            id=r["id"], path=r["path"], full_path=self.inbox / Path(*rel.split("/")),
            sha256=r["sha256"], size=r["size"], mtime_ns=r["mtime_ns"], received=_parse(r["received"]),
            first_seen=_parse(r["first_seen"]), readable=bool(r["readable"]), unit_code=r["unit_code"],
            unit_name=r["unit_name"], department=r["department"], year=r["year"], form_id=r["form_id"],
            form_version=r["form_version"], missing_since=_parse(r["missing_since"]),
            verdict=r["verdict"], errors=r["errors"] or 0, warnings=r["warnings"] or 0,
            explained=r["explained"] or 0,
            projects=r["projects"] or 0, indicators=r["indicators"] or 0,
            rows=json.loads(r["rows"]) if r["rows"] else {}, problem=r["problem"] or "",
            context=r["context"])

    def findings(self, file_id: int, context: str | None = None) -> list[dict]:
        row = self.conn.execute(
            "SELECT findings FROM checks WHERE file_id = ? ORDER BY (context IS ?) DESC, id DESC LIMIT 1",
            (file_id, context)).fetchone()
        return json.loads(row[0]) if row else []

    def content(self, entry: Entry) -> Snapshot | None:
        """What the file holds, as jixiao.diff compares it; None when it was never read whole."""
        row = self.conn.execute(
            "SELECT content FROM checks WHERE file_id = ? AND content IS NOT NULL "
            "ORDER BY (context IS ?) DESC, id DESC LIMIT 1", (entry.id, entry.context)).fetchone()
        return unpack(row[0]) if row else None

    def latest_per_unit(self, context: str | None = None) -> dict[str, Entry]:
        return {e.unit_code: e for e in self.entries(context=context) if e.current}

    def history(self, unit_code: str, context: str | None = None) -> list[Entry]:
        return self.entries("f.unit_code = ?", (unit_code,), context)


    def changes_of_latest(self, entries: list[Entry], spec: FormSpec) -> dict[str, "UnitChanges"]:
        """Unit code → what its latest file changed against the one before, for every unit with
        more than one file among `entries`; compared from the ledger's snapshots, no file is read."""
        by_unit: dict[str, list[Entry]] = {}
        for e in entries:
            if e.unit_code and not e.missing:
                by_unit.setdefault(e.unit_code, []).append(e)
        out = {}
        for code, files in by_unit.items():
            latest = next((e for e in files if e.current), None)
            older = [e for e in files if e is not latest]
            if latest is None or not older:
                continue
            previous = max(older, key=lambda e: (e.mtime_ns, e.path))
            before, after = self.content(previous), self.content(latest)
            changes = None if before is None or after is None else diff_snapshots(before, after, spec)
            out[code] = UnitChanges(previous, latest, changes)
        return out


def _inbox(inbox: str | Path) -> Path:
    inbox = Path(inbox)
    if not inbox.exists():
        raise UsageError(f"{shown_path(inbox)}：文件夹不存在")
    if not inbox.is_dir():
        raise UsageError(f"{shown_path(inbox)}：不是文件夹（报送台账按收件文件夹记录）")
    return inbox


class Damaged(Exception):
    """The ledger file is damaged (found at open); its replacement is Ledger._replace's job."""


# SQLite result codes that say nothing about the file itself: contention, permissions, a full disk.
_NOT_DAMAGE = {3, 5, 6, 7, 8, 9, 10, 13, 14, 23}     # PERM BUSY LOCKED NOMEM READONLY INTERRUPT IOERR FULL CANTOPEN AUTH


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Any database error but contention, permissions and a full disk means a damaged ledger."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is None or (code & 0xFF) not in _NOT_DAMAGE


def _detail(exc: BaseException) -> str:
    return unicode_safe(str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__)


def _set_aside(db: Path) -> Path:
    """Move the damaged ledger (and its WAL) to ledger.damaged-<time>.sqlite; drop the shared memory."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = db.with_name(f"ledger.damaged-{stamp}.sqlite")
    n = 1
    while aside.exists():
        n += 1
        aside = db.with_name(f"ledger.damaged-{stamp}-{n}.sqlite")
    try:
        os.replace(db, aside)
        for extra in ("-wal", "-journal"):
            side = db.with_name(db.name + extra)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + extra))
        db.with_name(db.name + "-shm").unlink(missing_ok=True)
    except OSError as exc:
        raise LedgerError(f"报送台账 {shown_path(db)} 已损坏，且无法另存（{exc.strerror or type(exc).__name__}）："
                          "请手动把 .jixiao 文件夹移走后重试，jixiao 会重新读取文件夹中的全部文件") from None
    return aside


def _connect(target: str, db: Path | None) -> sqlite3.Connection:
    """Open, configure, migrate and (for a file) check the ledger; Damaged when the file is damaged."""
    where = shown_path(db) if db else "内存"
    try:
        conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise LedgerError(f"无法打开报送台账 {where}（{exc}）：请确认对该文件夹有写入权限") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, where)
        if db is not None:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise Damaged("；".join(str(p) for p in problems)[:120])
    except (LedgerError, Damaged):
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        if db is not None and is_damage(exc):
            raise Damaged(_detail(exc)) from None
        raise LedgerError(f"无法使用报送台账 {where}（{_detail(exc)}）：请确认对该文件夹有写入权限，"
                          "且没有其他程序锁住它") from None
    return conn


def _user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _migrate(conn: sqlite3.Connection, where) -> None:
    """Bring the schema to SCHEMA_VERSION, in one transaction; safe when two processes race."""
    version = _user_version(conn)
    if version > SCHEMA_VERSION:
        raise LedgerError(f"报送台账 {where} 由更新版本的 jixiao 建立（台账版本 {version}，"
                          f"本程序支持 {SCHEMA_VERSION}）：请升级 jixiao")
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _user_version(conn)       # another process may have migrated while we waited
        for number, description, statements in MIGRATIONS:
            if number <= version:
                continue
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO migrations (version, applied, description) VALUES (?, ?, ?)",
                         (number, _iso(_now()), description))
            conn.execute(f"PRAGMA user_version = {int(number)}")
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise


def _mark_current(entries: list[Entry]) -> None:
    """The latest file of each unit still in the folder: latest receipt time, then last path."""
    best: dict[str, Entry] = {}
    for e in entries:
        e.current = False
        if e.missing or not e.unit_code:
            continue
        other = best.get(e.unit_code)
        if other is None or (e.mtime_ns, e.path) > (other.mtime_ns, other.path):
            best[e.unit_code] = e
    for e in best.values():
        e.current = True


# --- the check context ---------------------------------------------------------------------------

# The modules whose code decides a verdict; their source is part of the context key, so that a
# changed rule re-checks cached files instead of trusting an outdated verdict.
_RULE_MODULES = ("cells", "check", "contract", "diff", "findings", "frames", "package", "reader", "spec",
                 "template", "text", "values")


@lru_cache(maxsize=1)
def _rules_fingerprint() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(__version__.encode())
    for path in [here / f"{name}.py" for name in _RULE_MODULES] + sorted((here / "rules").glob("*.py")):
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(path.name.encode())
    return h.hexdigest()


def context_of(spec: FormSpec, roster: Roster | None, department: str | None,
               year: int | None, previous=None) -> tuple[str, dict]:
    """(key, description) of what a verdict depends on besides the file itself."""
    roster_basis = None
    if roster is not None:
        units = sorted((u.code, u.name) for u in roster.units)
        roster_basis = {"source": roster.source, "units": len(units),
                        "sha256": hashlib.sha256(json.dumps(units, ensure_ascii=False).encode()).hexdigest()}
    description = {
        "jixiao": __version__,
        "rules": _rules_fingerprint(),
        "form": [spec.id, spec.version],
        "spec": spec_digest(spec),
        "roster": roster_basis,
        "department": department,
        "year": year,
    }
    if previous is not None:          # last year's baseline: its verdicts (Y- warnings) are its own
        description["previous"] = {"source": previous.source, "sha256": previous.sha256}
    key = hashlib.sha256(json.dumps(description, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return key[:32], description


# --- scanning ------------------------------------------------------------------------------------

@dataclass
class _OnDisk:
    path: Path
    rel: str                       # display form (undecodable bytes as \\xNN)
    sha256: str
    size: int
    mtime_ns: int                  # no later than the scan
    raw: bytes | None = None       # the relative path's bytes when rel had to be escaped


class _Status(NamedTuple):
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


# A hash is trusted without reading the file again only when the file's status is the same as when
# it was hashed and the file had been left alone for this long before that: a write in the same
# timestamp tick as the hashing (FAT keeps mtimes to 2 s) could otherwise leave the status unchanged
# (git's "racily clean" files, handled the same way).
SETTLED_NS = 3_000_000_000


def _status(path: Path) -> _Status:
    st = path.stat()
    return _Status(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _hash(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _known_hash(cached: tuple | None, status: _Status) -> str | None:
    """The stored hash of a file whose status has not changed since it was hashed, settled; else None."""
    if cached is None:
        return None
    sha, size, mtime_ns, ctime_ns, inode, hashed_ns = cached
    same = _Status(size, mtime_ns, ctime_ns, inode) == status
    settled = max(mtime_ns, ctime_ns) < hashed_ns - SETTLED_NS
    return sha if same and settled else None


def scan(inbox: str | Path, *, roster: Roster | None = None, department: str | None = None,
         year: int | None = None, form: str = DEFAULT_FORM, progress=None,
         workers: int | None = None, previous=None) -> ScanResult:
    """Record every workbook of the folder in its ledger; read and check only files (path and
    content) the ledger has not checked under the same roster/department/year/form yet.

    progress(path) is called once per workbook found: at once for those answered from the ledger,
    then as the others are read and checked (jixiao.check.read_and_check, in worker processes when there are many).
    The rules are exactly those of `check`.
    """
    with Ledger.open(inbox) as ledger:
        result = ledger.guarded(lambda: scan_into(ledger, roster=roster, department=department, year=year,
                                                  form=form, progress=progress, workers=workers,
                                                  previous=previous))
        result.notes = list(ledger.notes)
        return result


def scan_listing(ledger: Ledger, **kwargs) -> tuple[ScanResult, list[Entry]]:
    """scan_into() and then every file still in the folder, with the verdicts of this scan's
    context; on a ledger found damaged on the way, both again on a rebuilt one."""
    def work():
        result = scan_into(ledger, **kwargs)
        return result, [e for e in ledger.entries(context=result.context) if not e.missing]

    result, entries = ledger.guarded(work)
    result.notes = list(ledger.notes)
    return result, entries


def scan_into(ledger: Ledger, *, roster: Roster | None = None, department: str | None = None,
              year: int | None = None, form: str = DEFAULT_FORM, progress=None,
              workers: int | None = None, extract: tuple = (), previous=None) -> ScanResult:
    """scan() on an open ledger (an on-disk one, or Ledger.memory()). `extract` (see
    jixiao.check.read_and_check) is applied to the files this scan reads; ScanResult.fresh has
    their reports and extracts, so that a caller needs not read them again."""
    inbox, conn = ledger.inbox, ledger.conn
    spec = load_form(form)
    context, description = context_of(spec, roster, department, year, previous)
    result = ScanResult(inbox=inbox, ledger=ledger.path, context=context)

    scan_ns = time.time_ns()
    on_disk: list[_OnDisk] = []
    hashed_before = {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT path, sha256, size, mtime_ns, ctime_ns, inode, hashed_ns FROM hashed")}
    hashed_now: list[tuple] = []
    for path in collect_paths([inbox]):
        real = path.relative_to(inbox).as_posix()
        rel = shown_path(real)
        try:
            looked_ns = time.time_ns()
            status = _status(path)          # before reading: a write during the read changes it
            sha, size = _known_hash(hashed_before.get(rel), status), status.size
            if sha is None:
                sha, size = _hash(path)
                if size == status.size:
                    hashed_now.append((rel, *status, sha, looked_ns))
        except OSError as exc:
            result.skipped.append((rel, f"无法读取文件（{exc.strerror or type(exc).__name__}）：下次扫描时会重新读取"))
            continue
        on_disk.append(_OnDisk(path, rel, sha, size, min(status.mtime_ns, scan_ns),
                               os.fsencode(real) if rel != real else None))
    result.files = len(on_disk) + len(result.skipped)
    result.hashed = len(hashed_now)

    known = {(r[0], r[1]): bool(r[2]) for r in conn.execute(
        "SELECT f.path, f.sha256, EXISTS (SELECT 1 FROM checks c WHERE c.file_id = f.id AND c.context = ?) "
        "FROM files f", (context,))}
    to_check = [d for d in on_disk if not known.get((d.rel, d.sha256))]
    result.cached = len(on_disk) - len(to_check)
    if progress:
        for d in on_disk:
            if known.get((d.rel, d.sha256)):
                progress(d.path)

    reports, extracted = [], []
    if to_check:
        checked = read_and_check([d.path for d in to_check], form, Context(roster, department, year, previous),
                                 progress, workers, extract=(partial(packed_snapshots, form), *extract))
        reports, extracted = checked.reports, checked.extracted
    # Only a read that hashed the bytes it read records a verdict; the others are read again next time.
    read, unread = [], []
    for d, report, items in zip(to_check, reports, extracted):
        (read if report.submission.sha256 else unread).append((d, report, items[0]))
        if report.submission.sha256 and extract:
            result.fresh[d.path] = (report, items[1:])
    for d, report, _ in unread:
        problem = report.findings[0].message if report.findings else "无法读取文件"
        result.skipped.append((d.rel, f"{problem}：下次扫描时会重新读取"))
    result.checked = len(read)

    now = _iso(_now())
    new_ids: list[int] = []
    present = {(d.rel, d.sha256) for d in on_disk}
    with ledger.transaction():
        conn.execute("INSERT OR IGNORE INTO contexts (key, first_used, description) VALUES (?, ?, ?)",
                     (context, now, json.dumps(description, ensure_ascii=False, sort_keys=True)))
        conn.executemany("INSERT OR REPLACE INTO hashed (path, size, mtime_ns, ctime_ns, inode, sha256, hashed_ns) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", hashed_now)
        here = {d.rel for d in on_disk}
        conn.executemany("DELETE FROM hashed WHERE path = ?", [(p,) for p in hashed_before if p not in here])
        for d, report, content in read:
            file_id, inserted = _record(conn, d, report, context, now, content)
            present.add((d.rel, _checked_sha(d, report)))
            if inserted:
                new_ids.append(file_id)
        unreadable_now = {rel for rel, _ in result.skipped}
        gone, back = [], []
        for file_id, path, sha, missing_since in conn.execute(
                "SELECT id, path, sha256, missing_since FROM files").fetchall():
            here = (path, sha) in present
            if here and missing_since:
                back.append(file_id)
            elif not here and not missing_since and path not in unreadable_now:
                gone.append(file_id)
        conn.executemany("UPDATE files SET missing_since = ? WHERE id = ?", [(now, i) for i in gone])
        conn.executemany("UPDATE files SET missing_since = NULL WHERE id = ?", [(i,) for i in back])

    if new_ids or gone or back:
        by_id = {e.id: e for e in ledger.entries(context=context)}
        result.new = [by_id[i] for i in new_ids]
        result.missing = [by_id[i] for i in gone]
        result.returned = [by_id[i] for i in back]
    return result


def _checked_sha(d: _OnDisk, report) -> str:
    """The hash of the bytes that were checked (the file may have changed since it was hashed)."""
    return report.submission.sha256 or d.sha256


def _record(conn: sqlite3.Connection, d: _OnDisk, report, context: str, now: str,
            content: bytes | None) -> tuple[int, bool]:
    """Insert the file (if new) and its verdict under `context` (if new). → (file id, file inserted)."""
    sub = report.submission
    sha = _checked_sha(d, report)
    size = sub.size if sha != d.sha256 and sub.size else d.size
    meta = sub.meta or {}

    def m(key):
        value = unicode_safe((meta.get(key) or "").strip())
        return value or None

    cur = conn.execute(
        """INSERT OR IGNORE INTO files (path, sha256, size, mtime_ns, received, first_seen, readable,
               unit_code, unit_name, department, year, form_id, form_version, path_raw)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (d.rel, sha, size, d.mtime_ns, _iso(_from_ns(d.mtime_ns)), now, int(sub.readable),
         m("单位编码"), m("单位名称"), m("主管部门"), m("年度"), m("form_id"), m("form_version"), d.raw))
    inserted = cur.rowcount == 1
    file_id = conn.execute("SELECT id FROM files WHERE path = ? AND sha256 = ?", (d.rel, sha)).fetchone()[0]
    findings = [dict(f.to_dict(), file=d.rel) for f in report.findings]     # to_dict: UTF-8-safe text
    first_error = next((f.message for f in report.findings if f.severity == ERROR), "")
    rows = dict(sub.counts)
    projects, indicators = rows.get("projects", 0), rows.get("indicators", 0)
    conn.execute(
        """INSERT OR IGNORE INTO checks (file_id, context, checked, verdict, errors, warnings, explained,
               projects, indicators, rows, problem, findings, content)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (file_id, context, now, report.verdict, report.errors, report.warnings, report.explained, projects,
         indicators, json.dumps(rows, ensure_ascii=False), first_error, json.dumps(findings, ensure_ascii=False),
         content))
    return file_id, inserted


# --- queries -------------------------------------------------------------------------------------

def latest_per_unit(inbox: str | Path, *, context: str | None = None) -> dict[str, Entry]:
    """Unit code → its latest file still in the folder (latest receipt time, ties by path).

    The verdict is the one checked under `context` (ScanResult.context) when given, else the
    newest verdict of that file. Files without a unit code (unreadable, no _meta) are not included.
    """
    with Ledger.open(inbox) as ledger:
        return ledger.guarded(lambda: ledger.latest_per_unit(context))


def history(inbox: str | Path, unit_code: str, *, context: str | None = None) -> list[Entry]:
    """Every file ever recorded for a unit, oldest receipt first; `current` marks the one that counts."""
    with Ledger.open(inbox) as ledger:
        return ledger.guarded(lambda: ledger.history(unit_code, context))


def refuse_overwriting_inputs(output: Path, folders, roster: Roster | None, files=()) -> None:
    """An output never replaces an input: a workbook of the collection folders, anything in their
    ledger folder (.jixiao), the roster, or one of the files given. Raises OutputError."""
    target = output.resolve()
    inputs = {Path(f).resolve() for f in files}
    if roster is not None and roster.path is not None:
        if target == Path(roster.path).resolve():
            raise OutputError(f"输出文件 {shown_path(output)} 是报送名单：请换一个输出文件名")
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        ledger_dir = (folder / LEDGER_DIR).resolve()
        if target == ledger_dir or ledger_dir in target.parents:
            raise OutputError(f"输出文件 {shown_path(output)} 在报送台账的文件夹 {shown_path(folder / LEDGER_DIR)} 中："
                              "请换一个位置")
        inputs.update(p.resolve() for p in collect_paths([folder]))
    if target in inputs:
        raise OutputError(f"输出文件 {shown_path(output)} 是收到的文件之一，写入会覆盖它：请换一个输出文件名")


# --- merge: the latest file per unit -------------------------------------------------------------

def select_latest(paths, *, roster: Roster | None = None, department: str | None = None,
                  year: int | None = None, form: str = DEFAULT_FORM, progress=None,
                  workers: int | None = None, extract: tuple = (), previous=None) -> Selection:
    """Choose what `merge` reads: for every folder among `paths`, only the latest file of each
    unit (by receipt time, over all folders given); files given by name are always kept, as are
    files that name no unit (unreadable, no _meta), so that merge reports them as before.

    Each folder is scanned into its ledger first (so its verdicts are cached for `status` too);
    a folder that cannot be written is scanned into a throw-away in-memory ledger instead.
    """
    collected = collect_paths(paths)
    folders = [Path(p) for p in paths if Path(p).is_dir()]
    selection = Selection(chosen=[], superseded=[])
    candidates: dict[Path, Entry] = {}        # resolved path → entry, files inside the folders
    changes: dict[str, UnitChanges] = {}      # unit code → its latest file against the one before
    fresh: dict[Path, tuple] = {}             # resolved path → (report, extracts) of files read now
    for folder in folders:
        try:
            ledger = Ledger.open(folder)
        except LedgerError as exc:
            selection.notes.append(f"{exc}；本次改用临时台账，报送记录不会保存")
            ledger = Ledger.memory(folder)
        with ledger:
            scan_result, entries = scan_listing(ledger, roster=roster, department=department, year=year,
                                                form=form, progress=progress, workers=workers, extract=extract,
                                                previous=previous)
            selection.notes.extend(scan_result.notes)
            fresh.update((path.resolve(), item) for path, item in scan_result.fresh.items())
            for e in entries:
                candidates.setdefault(e.full_path.resolve(), e)
            for code, uc in ledger.changes_of_latest(entries, load_form(form)).items():
                changes.setdefault(code, uc)
    explicit = {p.resolve() for p in map(Path, paths) if not p.is_dir()}
    best: dict[str, Entry] = {}
    for key, e in candidates.items():
        if key in explicit or not e.unit_code:
            continue
        other = best.get(e.unit_code)
        if other is None or (e.mtime_ns, e.path) > (other.mtime_ns, other.path):
            best[e.unit_code] = e
    winners = {e.full_path.resolve(): e for e in best.values()}
    by_resolved = {p.resolve(): p for p in collected}
    for p in collected:
        key = p.resolve()
        e = candidates.get(key)
        if key in explicit or e is None or not e.unit_code or key in winners:
            selection.chosen.append(p)
        else:
            used = best[e.unit_code].full_path
            selection.superseded.append(Superseded(p, by_resolved.get(used.resolve(), used), e.unit_code,
                                                   e.received))
    selection.used = {code: e for code, e in best.items()}
    chosen = {p.resolve() for p in selection.chosen}
    selection.fresh = {key: item for key, item in fresh.items() if key in chosen}
    # Changes are known within one folder; a unit's latest file in another folder has none here.
    selection.changes = {code: uc for code, uc in changes.items()
                         if code in best and uc.latest.full_path.resolve() == best[code].full_path.resolve()}
    return selection
