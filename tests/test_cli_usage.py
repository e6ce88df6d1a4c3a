"""Chinese everywhere: help pages and usage errors of every command, one Chinese line, exit 2."""

from __future__ import annotations

import re

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from jixiao.cli import app

COMMANDS = ("init", "templates", "check", "merge", "status", "demo", "serve")
ENGLISH = ("Usage", "Error", "Try ", "Missing", "Invalid", "No such", "Options", "Arguments", "Commands",
           "Show this message", "[default", "[required", "<list", "<path>", "<str>", "<int>", "{", "Got unexpected",
           "Did you mean", "requires", "Aborted")


def invoke(*args: str, columns: int = 80):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)}, catch_exceptions=False)


def one_chinese_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith("错误：") and re.search(r"[\u4e00-\u9fff]{4}", line), line
    for word in ENGLISH:
        assert word not in line, (word, line)
    return line


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_is_chinese_and_fits_80_columns(command):
    result = invoke(*([command] if command else []), "--help")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("用法：jixiao") and "选项：" in text and "显示本帮助并退出" in text
    for word in ENGLISH:
        assert word not in text, (command, word)
    assert all(cell_len(line) <= 80 for line in text.splitlines()), text
    if command:
        assert "退出码：" in text


def test_bare_jixiao_shows_the_help():
    result = invoke()
    assert result.exit_code == 0 and result.output.startswith("用法：jixiao") and "命令：" in result.output


@pytest.mark.parametrize("args,expected", [
    (["templates"], "缺少参数 名单"),
    (["templates", "名单.csv"], "缺少选项 --dept"),
    (["templates", "名单.csv", "--dept", "部门"], "缺少选项 --year"),
    (["templates", "名单.csv", "--dept", "部门", "--year", "2023"], "缺少选项 -o"),
    (["check"], "缺少参数 路径"),
    (["merge"], "缺少参数 路径"),
    (["merge", "收件箱"], "缺少选项 -o"),
    (["status"], "缺少参数 收件箱"),
    (["status", "收件箱"], "缺少选项 --roster"),
    (["init"], "缺少参数 文件夹"),
    (["init", "目录"], "缺少选项 --roster"),
    (["init", "目录", "--roster", "名单.csv", "--year", "2023"], "缺少选项 --dept"),
    (["frobnicate"], "没有命令“frobnicate”"),
    (["chek", "x"], "是不是 check"),
    (["check", "--bogus"], "没有选项 --bogus"),
    (["check", "--roste", "x"], "是不是 --roster"),
    (["templates", "x.csv", "--dept"], "选项 --dept 后面要写一个值"),
    (["check", "--json=yes", "x"], "选项 --json 后面不能写值"),
    (["demo", "a", "b"], "多余的参数：a b"),
    (["templates", "x.csv", "--dept", "部门", "--year", "abc", "-o", "o"], "年度 abc 不合理"),
    (["check", "x.xlsx", "--year", "二〇二三"], "年度 二〇二三 不合理"),
    (["status", "x", "--roster", "r.csv", "--year", "1999"], "年度 1999 不合理"),
    (["merge", "x", "-o", "o.xlsx", "--year", "2101"], "年度 2101 不合理"),
    (["templates", "x.csv", "--dept", "", "--year", "2023", "-o", "o"], "主管部门名称不能为空"),
    (["check", "x.xlsx", "--dept", " "], "主管部门名称不能为空"),
    (["merge", "x", "-o", "o.xlsx", "--dept", ""], "主管部门名称不能为空"),
    (["status", "x", "--roster", "r.csv", "--dept", ""], "主管部门名称不能为空"),
])
def test_usage_errors_are_one_chinese_line_and_exit_2(args, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)          # not inside a collection folder
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    line = one_chinese_line(result)
    assert expected in line, line


def test_a_usage_error_says_where_the_help_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert one_chinese_line(invoke("check", "--bogus")).endswith("用法见 jixiao check --help")
    assert one_chinese_line(invoke("frobnicate")).endswith("用法见 jixiao --help")
    assert "jixiao init" in one_chinese_line(invoke("merge"))          # how not to need the argument at all


def test_year_accepts_the_ways_people_write_it(tmp_path, roster_path):
    for text in ("2023", "２０２３", "2023年", "2023年度"):
        out = tmp_path / text
        result = invoke("templates", str(roster_path), "--dept", "部门", "--year", text, "-o", str(out))
        assert result.exit_code == 0, (text, result.output)
        assert "_2023年度" in next(out.iterdir()).name
