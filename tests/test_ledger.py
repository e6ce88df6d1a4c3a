"""Tests for jixiao.ledger: the SQLite ledger of every workbook seen in a collection folder."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xlsxwriter

import jixiao.ledger as ledger_mod
from jixiao.check import UsageError
from jixiao.ledger import (SCHEMA_VERSION, Ledger, LedgerError, history, latest_per_unit, ledger_path, scan,
                           select_latest)
from jixiao.merge import MergeRefused, prepare_merge
from jixiao.roster import Roster, Unit

from helpers import T0, put  # noqa: E402 - shared with the other collection tests


def db(inbox: Path) -> sqlite3.Connection:
    return sqlite3.connect(ledger_path(inbox))


def count(inbox: Path, table: str) -> int:
    with db(inbox) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def no_meta_workbook(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("Sheet1").write_string(0, 0, "项目清单（自制表格）")
    wb.close()
    return path


@pytest.fixture
def read_spy(monkeypatch):
    """Every path jixiao.ledger hands to read_and_check, i.e. every file it reads and checks."""
    calls: list[Path] = []
    real = ledger_mod.read_and_check

    def spy(paths, *args, **kwargs):
        calls.extend(paths)
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(ledger_mod, "read_and_check", spy)
    return calls


# --- first scan, rescan ------------------------------------------------------------------------

def test_first_scan_records_every_workbook(tmp_path, seed_returns, fixed_returns):
    inbox = tmp_path / "inbox"
    a = put(seed_returns["310001"], inbox, hours=1)
    put(fixed_returns["310002"], inbox, hours=2)
    (inbox / "~$lock.xlsx").write_bytes(b"owner")            # Excel lock files are not returns
    result = scan(inbox)
    assert result.files == 2 and result.checked == 2 and result.cached == 0
    assert ledger_path(inbox) == inbox / ".jixiao" / "ledger.sqlite" and ledger_path(inbox).exists()
    by_unit = {e.unit_code: e for e in result.new}
    assert by_unit["310001"].verdict == "有错误" and by_unit["310001"].errors > 0
    assert by_unit["310002"].verdict == "通过" and by_unit["310002"].errors == 0
    e = by_unit["310001"]
    assert e.path == a.name and e.full_path == a
    assert e.unit_name == "上海市欧美同学会" and e.form_id == "sh-project" and e.year == "2023"
    assert e.size == a.stat().st_size and e.sha256 and e.projects == 11 and e.indicators > 0
    assert e.received == dt.datetime.fromtimestamp(T0 + 3600).astimezone()     # receipt = mtime
    assert e.problem and not e.missing and e.current
    assert by_unit["310002"].received > e.received
    with db(inbox) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [r[0] for r in conn.execute("SELECT version FROM migrations")] == list(range(1, SCHEMA_VERSION + 1))
        stored = json.loads(conn.execute("SELECT findings FROM checks c JOIN files f ON f.id = c.file_id "
                                         "WHERE f.unit_code = '310001'").fetchone()[0])
    assert stored and {"file", "sheet", "cell", "field", "rule", "severity", "message"} <= stored[0].keys()
    assert all(f["file"] == a.name for f in stored)


def test_rescan_reads_nothing_and_adds_nothing(tmp_path, seed_returns, fixed_returns, read_spy):
    inbox = tmp_path / "inbox"
    put(seed_returns["310001"], inbox, hours=1)
    put(fixed_returns["310002"], inbox, hours=2)
    first = scan(inbox)
    assert len(read_spy) == 2
    before = {t: count(inbox, t) for t in ("files", "checks", "contexts", "migrations")}
    ticks = []
    again = scan(inbox, progress=ticks.append)
    assert len(read_spy) == 2                                   # nothing was read or checked again
    assert again.checked == 0 and again.cached == 2 and again.new == [] and again.missing == []
    assert len(ticks) == 2                                      # progress still ticks once per file
    assert {t: count(inbox, t) for t in before} == before       # zero new rows
    assert again.context == first.context
    # Touching a file (same path, same bytes) is no new submission and keeps the first receipt time.
    os.utime(inbox / seed_returns["310001"].name, ns=(int((T0 + 99 * 3600) * 1e9),) * 2)
    scan(inbox)
    assert len(read_spy) == 2 and count(inbox, "files") == 2
    assert latest_per_unit(inbox)["310001"].received == dt.datetime.fromtimestamp(T0 + 3600).astimezone()


def test_other_roster_rechecks_once_and_keeps_one_row_per_file(tmp_path, seed_returns, fixed_returns,
                                                               read_spy):
    inbox = tmp_path / "inbox"
    put(fixed_returns["310001"], inbox)
    put(fixed_returns["310002"], inbox)
    scan(inbox)
    assert {e.verdict for e in latest_per_unit(inbox).values()} == {"通过"}
    only_310001 = Roster([Unit("310001", "上海市欧美同学会")])
    result = scan(inbox, roster=only_310001)                   # a verdict depends on the roster
    assert result.checked == 2 and result.new == [] and len(read_spy) == 4
    assert count(inbox, "files") == 2 and count(inbox, "checks") == 4 and count(inbox, "contexts") == 2
    latest = latest_per_unit(inbox, context=result.context)
    assert latest["310001"].verdict == "通过"
    assert latest["310002"].verdict == "有错误" and "不在报送名单中" in latest["310002"].problem
    scan(inbox, roster=only_310001)
    assert len(read_spy) == 4


# --- resubmissions, history ----------------------------------------------------------------------

def test_corrected_resubmission_supersedes_and_old_stays_in_history(tmp_path, seed_returns, fixed_returns):
    inbox = tmp_path / "inbox"
    old = put(seed_returns["310002"], inbox, hours=1)
    scan(inbox)
    assert latest_per_unit(inbox)["310002"].verdict == "有错误"
    # The corrected file arrives by e-mail a day later; the mail client saves it as "… (1).xlsx".
    new = put(fixed_returns["310002"], inbox, old.stem + " (1).xlsx", hours=25)
    result = scan(inbox)
    assert [e.path for e in result.new] == [new.name] and result.checked == 1
    latest = latest_per_unit(inbox)["310002"]
    assert latest.path == new.name and latest.verdict == "通过"
    past = history(inbox, "310002")
    assert [e.path for e in past] == [old.name, new.name]       # oldest receipt first
    assert [e.state for e in past] == ["已被替代", "当前"]
    assert past[0].verdict == "有错误" and not past[0].missing


def test_overwritten_file_keeps_old_content_in_history(tmp_path, seed_returns, fixed_returns):
    inbox = tmp_path / "inbox"
    path = put(seed_returns["310001"], inbox, hours=1)
    scan(inbox)
    put(fixed_returns["310001"], inbox, path.name, hours=30)     # saved over the same name
    result = scan(inbox)
    assert len(result.new) == 1 and len(result.missing) == 1
    past = history(inbox, "310001")
    assert [e.path for e in past] == [path.name, path.name]
    assert past[0].missing and past[0].state == "已不在文件夹" and past[0].verdict == "有错误"
    assert past[1].current and past[1].verdict == "通过"
    assert past[0].sha256 != past[1].sha256
    assert count(inbox, "files") == 2


def test_receipt_time_decides_not_the_order_of_scans(tmp_path, seed_returns, fixed_returns):
    inbox = tmp_path / "inbox"
    newer = put(fixed_returns["310002"], inbox, "b_310002.xlsx", hours=10)
    scan(inbox)
    put(seed_returns["310002"], inbox, "a_310002.xlsx", hours=5)   # found later, received earlier
    scan(inbox)
    assert latest_per_unit(inbox)["310002"].path == newer.name
    # A tie on receipt time is broken by the path: the lexically last one wins.
    put(seed_returns["310002"], inbox, "c_310002.xlsx", hours=10)
    scan(inbox)
    assert latest_per_unit(inbox)["310002"].path == "c_310002.xlsx"


def test_removed_file_stays_in_history_marked_missing(tmp_path, seed_returns, fixed_returns):
    inbox = tmp_path / "inbox"
    keep = put(seed_returns["310001"], inbox, hours=1)
    gone = put(fixed_returns["310001"], inbox, "310001_更正.xlsx", hours=2)
    scan(inbox)
    assert latest_per_unit(inbox)["310001"].path == gone.name
    saved = gone.read_bytes()
    gone.unlink()
    result = scan(inbox)
    assert [e.path for e in result.missing] == [gone.name]
    assert latest_per_unit(inbox)["310001"].path == keep.name   # the latest file still in the folder
    past = {e.path: e for e in history(inbox, "310001")}
    assert past[gone.name].missing and past[gone.name].state == "已不在文件夹"
    assert count(inbox, "files") == 2                           # nothing is ever deleted
    gone.write_bytes(saved)
    os.utime(gone, ns=(int((T0 + 2 * 3600) * 1e9),) * 2)
    result = scan(inbox)
    assert [e.path for e in result.returned] == [gone.name] and result.checked == 0
    assert latest_per_unit(inbox)["310001"].path == gone.name


def test_subfolders_are_part_of_the_inbox(tmp_path, fixed_returns):
    inbox = tmp_path / "inbox"
    put(fixed_returns["310001"], inbox / "第二批")
    scan(inbox)
    e = latest_per_unit(inbox)["310001"]
    assert e.path == f"第二批/{fixed_returns['310001'].name}" and e.full_path.exists()


# --- which unit a file counts for ----------------------------------------------------------------

def test_another_units_template_counts_for_the_unit_in_its_meta(tmp_path, templates, fixed_returns):
    inbox = tmp_path / "inbox"
    # 310003 filled in (a copy of) 310001's workbook and sent it under its own file name.
    put(fixed_returns["310001"], inbox, templates["310003"].name)
    scan(inbox)
    latest = latest_per_unit(inbox)
    assert set(latest) == {"310001"}
    assert latest["310001"].path == templates["310003"].name
    assert latest["310001"].warnings > 0                       # S-15: file name does not match the unit
    assert history(inbox, "310003") == []


def test_files_without_a_unit_are_recorded_but_count_for_nobody(tmp_path, fixed_returns):
    inbox = tmp_path / "inbox"
    put(fixed_returns["310001"], inbox)
    (inbox / "说明.xlsx").write_text("单位,项目\n甲,乙\n", encoding="utf-8")    # text with an .xlsx name
    (inbox / "空文件.xlsx").write_bytes(b"")
    no_meta_workbook(inbox / "自制表格.xlsx")
    result = scan(inbox)
    assert result.files == 4 and len(result.new) == 4
    others = {e.path: e for e in result.new if e.unit_code is None}
    assert set(others) == {"说明.xlsx", "空文件.xlsx", "自制表格.xlsx"}
    assert others["说明.xlsx"].verdict == "无法读取" and not others["说明.xlsx"].readable
    assert "CSV" in others["说明.xlsx"].problem
    assert others["空文件.xlsx"].verdict == "无法读取"
    assert others["自制表格.xlsx"].verdict == "有错误" and others["自制表格.xlsx"].readable
    assert all(e.state == "无单位" for e in others.values())
    assert set(latest_per_unit(inbox)) == {"310001"}
    assert scan(inbox).checked == 0                             # unreadable verdicts are cached too


# --- robustness -------------------------------------------------------------------------------------

def test_bad_inbox_and_bad_ledger_give_clear_errors(tmp_path, fixed_returns):
    with pytest.raises(UsageError, match="不存在"):
        scan(tmp_path / "nowhere")
    inbox = tmp_path / "inbox"
    put(fixed_returns["310001"], inbox)
    with pytest.raises(UsageError, match="不是文件夹"):
        scan(inbox / fixed_returns["310001"].name)
    ledger_path(inbox).parent.mkdir()
    ledger_path(inbox).write_bytes(b"this is not a database" * 100)
    result = scan(inbox)                                # kept aside and rebuilt from the files
    (note,) = result.notes
    assert "已损坏" in note and "重新建立" in note and result.checked == 1
    (aside,) = ledger_path(inbox).parent.glob("ledger.damaged-*.sqlite")
    assert aside.read_bytes() == b"this is not a database" * 100
    with db(inbox) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="升级"):
        scan(inbox)


def test_failed_commit_leaves_ledger_as_before(tmp_path, seed_returns, fixed_returns, monkeypatch):
    inbox = tmp_path / "inbox"
    put(seed_returns["310001"], inbox, hours=1)
    scan(inbox)
    put(fixed_returns["310002"], inbox, hours=2)
    put(fixed_returns["310001"], inbox, "310001_更正.xlsx", hours=3)
    real, calls = ledger_mod._record, []

    def fail_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger_mod, "_record", fail_second)
    with pytest.raises(RuntimeError):
        scan(inbox)
    assert count(inbox, "files") == 1 and count(inbox, "checks") == 1      # first insert rolled back
    monkeypatch.setattr(ledger_mod, "_record", real)
    assert len(scan(inbox).new) == 2 and count(inbox, "files") == 3


CHILD = r"""
import sys, time
from pathlib import Path
import jixiao.ledger as L

inbox, marker, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
if mode == "read":                     # killed while reading the new files (1 cached, 2 of 3 read)
    calls = []
    def progress(path):
        calls.append(path)
        if len(calls) == 3:
            marker.write_text("reading")
            time.sleep(120)
    L.scan(inbox, progress=progress, workers=1)
elif mode == "commit":                 # killed inside the write transaction
    real = L._record
    def slow(*args, **kwargs):
        out = real(*args, **kwargs)
        marker.write_text("committing")
        time.sleep(120)
        return out
    L._record = slow
    L.scan(inbox, workers=1)
elif mode == "race":                   # start together, read slowly, commit at about the same time
    while not marker.exists():
        time.sleep(0.005)
    result = L.scan(inbox, progress=lambda path: time.sleep(0.1), workers=1)
    print(len(result.new), result.checked, result.context)
"""


def child(inbox: Path, marker: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(inbox), str(marker), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_when(proc: subprocess.Popen, marker: Path, timeout: float = 60) -> None:
    """SIGKILL the child once it has made the marker; its pipes are always drained and closed."""
    deadline = time.monotonic() + timeout
    with proc:
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"child ended before the marker: {proc.communicate()[1]}")
            if time.monotonic() > deadline:
                proc.kill()
                proc.communicate()
                pytest.fail("child never reached the marker")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def assert_healthy(inbox: Path) -> None:
    with db(inbox) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM (SELECT path, sha256 FROM files "
                            "GROUP BY path, sha256 HAVING COUNT(*) > 1)").fetchone()[0] == 0


@pytest.mark.parametrize("mode", ["read", "commit"])
def test_killed_scan_leaves_a_consistent_ledger(tmp_path, seed_returns, fixed_returns, mode):
    inbox = tmp_path / "inbox"
    put(seed_returns["310001"], inbox, hours=1)
    scan(inbox)
    put(seed_returns["310002"], inbox, hours=2)
    put(fixed_returns["310001"], inbox, "310001_更正.xlsx", hours=3)
    put(fixed_returns["310002"], inbox, "310002_更正.xlsx", hours=4)
    kill_when(child(inbox, tmp_path / "marker", mode), tmp_path / "marker")
    assert_healthy(inbox)
    assert count(inbox, "files") == 1 and count(inbox, "checks") == 1      # as the first scan left it
    assert latest_per_unit(inbox)["310001"].path == seed_returns["310001"].name
    result = scan(inbox)
    assert result.checked == 3 and len(result.new) == 3
    assert_healthy(inbox)
    latest = latest_per_unit(inbox)
    assert latest["310001"].path == "310001_更正.xlsx" and latest["310002"].path == "310002_更正.xlsx"
    assert count(inbox, "files") == 4


@pytest.mark.parametrize("fresh", [True, False], ids=["new-ledger", "existing-ledger"])
def test_two_concurrent_scans_of_one_folder(tmp_path, seed_returns, fixed_returns, templates, fresh):
    inbox = tmp_path / "inbox"
    put(templates["310003"], inbox, hours=0)
    if not fresh:
        scan(inbox)
    put(seed_returns["310001"], inbox, hours=1)
    put(seed_returns["310002"], inbox, hours=2)
    put(fixed_returns["310001"], inbox, "310001_更正.xlsx", hours=3)
    put(fixed_returns["310002"], inbox, "310002_更正.xlsx", hours=4)
    go = tmp_path / "go"
    procs = [child(inbox, go, "race") for _ in range(2)]
    time.sleep(0.5)
    go.write_text("go")
    outputs = []
    for proc in procs:
        out, errors = proc.communicate(timeout=180)
        assert proc.returncode == 0, errors
        new, checked, context = out.split()
        outputs.append((int(new), int(checked), context))
    new_files = 5 if fresh else 4
    assert sum(new for new, _, _ in outputs) == new_files       # each file recorded by exactly one scan
    assert all(checked <= 5 for _, checked, _ in outputs)
    assert_healthy(inbox)
    assert count(inbox, "files") == 5 and count(inbox, "migrations") == SCHEMA_VERSION
    (context,) = {c for _, _, c in outputs}
    with db(inbox) as conn:                                     # one verdict per file under that context
        assert conn.execute("SELECT COUNT(*) FROM checks WHERE context = ?", (context,)).fetchone()[0] == 5
        assert conn.execute("SELECT COUNT(*) FROM (SELECT file_id, context FROM checks "
                            "GROUP BY file_id, context HAVING COUNT(*) > 1)").fetchone()[0] == 0
    assert scan(inbox).new == []
    latest = latest_per_unit(inbox)
    assert {code: e.path for code, e in latest.items()} == {
        "310001": "310001_更正.xlsx", "310002": "310002_更正.xlsx", "310003": templates["310003"].name}


# --- merge: the latest file per unit --------------------------------------------------------------

def test_select_latest_resolves_two_files_of_one_unit(tmp_path, seed_returns, fixed_returns, roster):
    inbox = tmp_path / "inbox"
    old = put(seed_returns["310002"], inbox, hours=1)
    new = put(fixed_returns["310002"], inbox, "310002_更正.xlsx", hours=20)
    one = put(fixed_returns["310001"], inbox, hours=2)
    with pytest.raises(MergeRefused):           # named one by one, every file is merged and checked
        prepare_merge([one, old, new], roster=roster)
    selection = select_latest([inbox], roster=roster)
    assert sorted(p.name for p in selection.chosen) == sorted([one.name, new.name])
    assert [(s.path.name, s.by.name, s.unit_code) for s in selection.superseded] == [(old.name, new.name,
                                                                                         "310002")]
    assert selection.superseded_of("310002")[0].received == dt.datetime.fromtimestamp(T0 + 3600).astimezone()
    assert selection.superseded_of("310001") == []
    assert selection.used["310002"].path == new.name and selection.used["310002"].verdict == "通过"
    consolidated, reports, _ = prepare_merge(selection.chosen, roster=roster)
    assert {s.unit.code: s.file for s in consolidated.units if s.file} == {"310001": one.name,
                                                                          "310002": new.name}
    assert count(inbox, "files") == 3                           # the scan was recorded for `status`


def test_select_latest_keeps_named_files_and_files_without_unit(tmp_path, seed_returns, fixed_returns,
                                                                 monkeypatch):
    inbox = tmp_path / "inbox"
    old = put(seed_returns["310002"], inbox, hours=1)
    new = put(fixed_returns["310002"], inbox, "310002_更正.xlsx", hours=20)
    junk = inbox / "说明.xlsx"
    junk.write_text("a,b\n", encoding="utf-8")
    elsewhere = put(seed_returns["310001"], tmp_path / "单独")
    selection = select_latest([inbox, elsewhere])
    assert {p.name for p in selection.chosen} == {new.name, junk.name, elsewhere.name}
    # A file named explicitly is the user's choice: merge sees it even when a folder has a newer one.
    selection = select_latest([inbox, old])
    assert {p.name for p in selection.chosen} == {old.name, new.name, junk.name}

    def read_only(inbox):
        raise LedgerError("无法在收件夹中建立报送台账")

    monkeypatch.setattr(Ledger, "open", classmethod(lambda cls, inbox: read_only(inbox)))
    selection = select_latest([inbox])
    assert {p.name for p in selection.chosen} == {new.name, junk.name}
    assert selection.notes and "临时台账" in selection.notes[0]


# --- hashing: a rescan of an unchanged folder reads no file -----------------------------------------

@pytest.fixture
def hash_spy(monkeypatch):
    """Every path whose bytes jixiao.ledger reads to hash them."""
    calls: list[Path] = []
    real = ledger_mod._hash

    def spy(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(ledger_mod, "_hash", spy)
    return calls


@pytest.fixture
def settled(monkeypatch):
    """Files written by the test count as left alone long enough (they are seconds old, not minutes)."""
    monkeypatch.setattr(ledger_mod, "SETTLED_NS", 0)


def test_rescan_of_an_unchanged_folder_reads_no_file(tmp_path, seed_returns, fixed_returns, hash_spy, settled):
    inbox = tmp_path / "inbox"
    put(seed_returns["310001"], inbox, hours=1)
    put(fixed_returns["310002"], inbox, hours=2)
    first = scan(inbox)
    assert first.hashed == 2 and len(hash_spy) == 2
    again = scan(inbox)
    assert again.hashed == 0 and len(hash_spy) == 2 and again.cached == 2 and again.new == []
    assert {e.sha256 for e in latest_per_unit(inbox).values()} == {e.sha256 for e in first.new}


def test_same_size_new_bytes_with_the_old_mtime_are_hashed_again(tmp_path, seed_returns, fixed_returns,
                                                                 hash_spy, settled):
    """What `cp -p` or an unzip does: other bytes, the same size, the original mtime. The ctime moves."""
    inbox = tmp_path / "inbox"
    path = put(fixed_returns["310001"], inbox, hours=1)
    before = path.stat()
    first = scan(inbox)
    data = bytearray(path.read_bytes())
    data[-30] ^= 0x01                                   # inside the zip's central directory comment area
    time.sleep(0.01)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    again = scan(inbox)
    assert again.hashed == 1 and len(hash_spy) == 2
    assert len(again.new) == 1 and again.new[0].sha256 != first.new[0].sha256
    assert len(again.missing) == 1                      # the first content left the folder


def test_a_file_hashed_right_after_it_was_written_is_hashed_again(tmp_path, fixed_returns, hash_spy):
    """A write in the same timestamp tick as the hashing would leave the status as it was: a file
    not left alone for SETTLED_NS before it was hashed is not trusted (git's racily clean files)."""
    inbox = tmp_path / "inbox"
    put(fixed_returns["310001"], inbox, hours=1)        # written now: ctime is now
    scan(inbox)
    again = scan(inbox)
    assert again.hashed == 1 and len(hash_spy) == 2 and again.new == []


def test_hash_status_follows_the_folder(tmp_path, seed_returns, fixed_returns, hash_spy, settled):
    inbox = tmp_path / "inbox"
    a = put(fixed_returns["310001"], inbox, hours=1)
    put(fixed_returns["310002"], inbox, hours=2)
    scan(inbox)
    a.rename(inbox / "renamed.xlsx")                    # a new path is hashed, the old one forgotten
    result = scan(inbox)
    assert result.hashed == 1 and hash_spy[-1] == inbox / "renamed.xlsx"
    with db(inbox) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT path FROM hashed")) == sorted(
            ["renamed.xlsx", fixed_returns["310002"].name])
    os.utime(inbox / "renamed.xlsx", ns=(int((T0 + 50 * 3600) * 1e9),) * 2)   # touched: hashed again
    assert scan(inbox).hashed == 1
