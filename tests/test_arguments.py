"""Arguments checked before work starts: an output that cannot be written, or would land on an
input, is refused with one Chinese line and exit 2 before a file is read; temporary files never
stay behind; deadlines, years and names are checked the same way by every command."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import jixiao.check
import jixiao.cli
import jixiao.preflight
from helpers import put
from jixiao.cli import app
from jixiao.collection import parse_deadline
from jixiao.errors import OutputError, UsageError
from jixiao.fileio import atomic_folder, atomic_path
from jixiao.ledger import ledger_path
from jixiao.reader import read_workbook
from jixiao.spec import load_form

DEPT = "上海市示例主管部门"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def nothing_is_read(monkeypatch):
    """Any attempt to read a roster or a workbook fails the test: refusals come first."""
    def boom(*_a, **_k):
        raise AssertionError("an input was read before the arguments were checked")

    monkeypatch.setattr(jixiao.cli, "load_roster", boom)
    monkeypatch.setattr(jixiao.check, "read_workbook", boom)
    monkeypatch.setattr(jixiao.check, "read_and_check", boom)


def refused(result, *words: str) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def no_temporary_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".jixiao-")]


@pytest.fixture
def inbox(tmp_path, fixed_returns) -> Path:
    folder = tmp_path / "收件箱"
    for path in fixed_returns.values():
        put(path, folder)
    return folder


def test_merge_output_under_a_regular_file(tmp_path, inbox, roster_path, nothing_is_read):
    (tmp_path / "a.txt").write_text("x")
    refused(invoke("merge", inbox, "-o", tmp_path / "a.txt" / "汇总.xlsx", "--roster", roster_path),
            "a.txt 是一个文件，不是文件夹")
    assert no_temporary_files(tmp_path)


@pytest.mark.parametrize("target", ["roster", "input", "inside", "ledger"])
def test_merge_never_writes_onto_an_input(target, tmp_path, inbox, roster_path, nothing_is_read):
    roster = shutil.copy(roster_path, tmp_path / "名单.csv")
    one = sorted(inbox.iterdir())[0]
    args = {"roster": ([inbox], Path(roster)), "input": ([one], one),
            "inside": ([inbox], inbox / "汇总.xlsx"), "ledger": ([inbox], ledger_path(inbox))}[target]
    before = {p: p.read_bytes() for p in (Path(roster), one)}
    output = args[1]
    if target == "ledger":
        output.parent.mkdir(exist_ok=True)
        output = output.with_suffix(".xlsx")            # the ledger's folder is inside the inbox
    refused(invoke("merge", *args[0], "-o", output, "--roster", roster))
    assert before == {p: p.read_bytes() for p in before}


def test_read_only_folder_is_refused_before_work(tmp_path, inbox, roster_path, monkeypatch, nothing_is_read):
    locked = tmp_path / "只读"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:       # root may write anywhere: answer as the file system would for a user
        real = os.access
        monkeypatch.setattr(jixiao.preflight.os, "access",
                            lambda p, mode: False if Path(p) == locked and mode & os.W_OK else real(p, mode))
    try:
        refused(invoke("merge", inbox, "-o", locked / "汇总.xlsx", "--roster", roster_path), "没有", "写入")
        refused(invoke("templates", roster_path, "--dept", DEPT, "--year", "2023", "-o", locked), "写入")
        refused(invoke("check", inbox, "--annotate", locked / "标注"), "写入")
    finally:
        locked.chmod(0o755)


def test_status_xlsx_must_be_a_file_outside_the_inbox(tmp_path, inbox, roster_path, nothing_is_read):
    refused(invoke("status", inbox, "--roster", roster_path, "--xlsx", tmp_path), "是一个文件夹")
    refused(invoke("status", inbox, "--roster", roster_path, "--xlsx", inbox / "催报.xlsx"), "在要读取的文件夹")
    refused(invoke("status", inbox, "--roster", roster_path, "--xlsx", roster_path), "扩展名应为 .xlsx")


def test_annotated_copies_never_go_into_the_folder_being_checked(tmp_path, inbox, nothing_is_read):
    before = sorted(p.name for p in inbox.iterdir())
    refused(invoke("check", inbox, "--annotate", inbox), "在要读取的文件夹")
    refused(invoke("check", inbox, "--annotate", inbox / "标注"), "在要读取的文件夹")
    one = sorted(inbox.glob("*.xlsx"))[0]
    refused(invoke("check", one, "--annotate", inbox), "所在的文件夹")
    assert sorted(p.name for p in inbox.iterdir()) == before


def test_demo_and_templates_output_that_is_a_file(tmp_path, roster_path, nothing_is_read):
    target = tmp_path / "demo.txt"
    target.write_text("keep")
    refused(invoke("demo", "-o", target), "是一个文件，不是文件夹")
    refused(invoke("templates", roster_path, "--dept", DEPT, "--year", "2023", "-o", target / "模板"),
            "是一个文件，不是文件夹")
    assert target.read_text() == "keep" and no_temporary_files(tmp_path)


# --- temporary files on every failure path --------------------------------------------------------

def test_atomic_path_removes_its_temporary_file_whatever_fails(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "a.xlsx") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("the work failed")
    (tmp_path / "b.xlsx").mkdir()                       # the target is a folder: rename fails
    with pytest.raises(OutputError, match="同名的文件夹"):
        with atomic_path(tmp_path / "b.xlsx") as tmp:
            tmp.write_bytes(b"x")

    def locked(*_a):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", locked)          # Excel holds the file (Windows)
    with pytest.raises(OutputError, match="Excel 或 WPS 中打开"):
        with atomic_path(tmp_path / "c.xlsx") as tmp:
            tmp.write_bytes(b"x")
    monkeypatch.undo()
    assert no_temporary_files(tmp_path) and not (tmp_path / "a.xlsx").exists()
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="是一个文件，不是文件夹"):
        with atomic_path(tmp_path / "f" / "d.xlsx"):
            pass
    with pytest.raises(OutputError, match="是一个文件，不是文件夹"):
        with atomic_folder(tmp_path / "f" / "sub"):
            pass
    assert no_temporary_files(tmp_path)


def test_status_xlsx_failure_leaves_nothing(tmp_path, inbox, roster, monkeypatch):
    from jixiao.status import collection_status, write_status_xlsx

    report = collection_status(inbox, roster)
    monkeypatch.setattr("jixiao.status._write_reminder", lambda *a: (_ for _ in ()).throw(ValueError("x")))
    with pytest.raises(ValueError):
        write_status_xlsx(report, tmp_path / "催报.xlsx")
    assert not (tmp_path / "催报.xlsx").exists() and no_temporary_files(tmp_path)


# --- values -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["2023-03-31", "2023/3/31", "2023年3月31日", "20230331", "2023.3.31", "２０２３-０３-３１"])
def test_deadline_in_every_form_the_reader_accepts(text, tmp_path, roster_path):
    out = tmp_path / "o"
    result = invoke("templates", roster_path, "--dept", DEPT, "--year", "2023", "--deadline", text, "-o", out)
    assert result.exit_code == 0, result.output
    assert read_workbook(next(out.iterdir()), load_form()).meta["截止日期"] == "2023-03-31"


@pytest.mark.parametrize("text,message", [
    ("2019-03-31", "截止日期 2019-03-31 不合理：本次收集的是 2023 年度"),
    ("2025-01-01", "截止日期 2025-01-01 不合理"),
    ("3月31日", "截止日期“3月31日”格式不对"),
    ("2023-02-30", "截止日期“2023-02-30”格式不对"),
])
def test_bad_deadline_is_refused(text, message, tmp_path, roster_path, nothing_is_read):
    refused(invoke("templates", roster_path, "--dept", DEPT, "--year", "2023", "--deadline", text,
                   "-o", tmp_path / "o"), message)
    assert not (tmp_path / "o").exists()


def test_deadline_window_is_the_year_before_to_the_year_after():
    assert parse_deadline("2022/11/30", 2023) == dt.date(2022, 11, 30)    # targets set with the budget
    assert parse_deadline("2024年1月15日", 2023) == dt.date(2024, 1, 15)
    for text in ("2021-12-31", "2025-01-01"):
        with pytest.raises(UsageError):
            parse_deadline(text, 2023)
