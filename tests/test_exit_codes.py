"""Consistent exit codes: 0 ok, 1 findings or refused, 2 bad input or unreadable — the same for
an empty folder whichever command reads it, and documented per command in the README."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import put
from jixiao.cli import app
from jixiao.collection import init_collection

README = Path(__file__).resolve().parents[1] / "README.md"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_check_and_merge_of_an_empty_folder_agree(tmp_path, roster_path):
    empty = tmp_path / "收件箱"
    empty.mkdir()
    check = invoke("check", empty)
    merge = invoke("merge", empty, "-o", tmp_path / "汇总.xlsx")
    assert check.exit_code == merge.exit_code == 2, (check.output, merge.output)
    assert "没有找到要校验的工作簿" in check.output and "没有找到要汇总的工作簿" in merge.output
    assert not (tmp_path / "汇总.xlsx").exists()
    status = invoke("status", empty, "--roster", roster_path)
    assert status.exit_code == 0 and "未报送 3" in status.output      # a report, not an error


def test_an_empty_collection_inbox_gives_the_same_codes(tmp_path, roster_path):
    folder = tmp_path / "c"
    init_collection(folder, roster_path, "上海市示例主管部门", 2023)
    assert invoke("-C", folder, "check").exit_code == 2
    assert invoke("-C", folder, "merge").exit_code == 2
    assert invoke("-C", folder, "status").exit_code == 0


def test_merge_refused_for_an_unreadable_file_exits_2_like_check(tmp_path, fixed_returns):
    folder = tmp_path / "收件箱"
    put(fixed_returns["310001"], folder)
    (folder / "坏文件.xlsx").write_bytes(b"")
    assert invoke("check", folder).exit_code == 2
    merge = invoke("merge", folder, "-o", tmp_path / "汇总.xlsx")
    assert merge.exit_code == 2 and "Traceback" not in merge.output
    skipped = invoke("merge", folder, "-o", tmp_path / "汇总.xlsx", "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output


def test_merge_refused_for_errors_exits_1(tmp_path, seed_returns):
    folder = tmp_path / "收件箱"
    put(seed_returns["310002"], folder)
    assert invoke("check", folder).exit_code == 1
    assert invoke("merge", folder, "-o", tmp_path / "汇总.xlsx").exit_code == 1


def test_readme_documents_the_exit_codes_of_every_command():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| command |"):]
    for command in ("init", "templates", "check", "merge", "status", "demo", "serve"):
        row = next(line for line in table.splitlines() if line.startswith(f"| `jixiao {command}"))
        assert re.search(r"\b0\b", row.rsplit("|", 2)[1]), row
    assert "empty folder" in text
