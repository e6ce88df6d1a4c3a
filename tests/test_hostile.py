"""Hostile and broken inputs: nothing crashes, nothing hangs, nothing is lost, no input changes.

Every case of tests/data/hostile/make_corpus.py is built from the session's real template and
checked through the command line (`jixiao check FILE --json` with roster, department and
year); each test states the case's exact outcome: the reader's S- findings, the key finding's
rule, severity, cell and a phrase of its Chinese message, and the exit code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jixiao.cells import to_date
from jixiao.check import check_files
from jixiao.cli import app
from jixiao.reader import read_workbook

from conftest import DEPT, YEAR

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
_spec = importlib.util.spec_from_file_location("hostile_corpus", HOSTILE / "make_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["hostile_corpus"] = corpus          # dataclasses look their module up by name
_spec.loader.exec_module(corpus)

GIB = 1024 ** 3
CONTEXT = ["--dept", DEPT, "--year", str(YEAR)]


@dataclass(frozen=True)
class Expect:
    case: str
    rule: str | None                 # the key finding (None: the file is read without any finding)
    severity: str = ""
    phrase: str = ""                 # part of its message
    exit: int = 0
    cell: str | None = None          # "sheet!A1" of the key finding, when it has one
    also: tuple[str, ...] = ()       # other rules that must be present (S- rules listed here are exact)


UNREADABLE = "S-01"
EXPECTED = [
    # not a workbook at all
    Expect("empty", UNREADABLE, "error", "文件是空的（0 字节）", 2),
    Expect("truncated", UNREADABLE, "error", "文件已损坏（可能未完整下载或保存中断）", 2),
    Expect("csv_renamed", UNREADABLE, "error", "这是 CSV/文本文件，只是扩展名为 .xlsx", 2),
    Expect("html_renamed", UNREADABLE, "error", "这是网页（HTML/XML）文件", 2),
    Expect("pdf_renamed", UNREADABLE, "error", "这是 PDF 文件", 2),
    Expect("docx_renamed", UNREADABLE, "error", "这是 Word 文档", 2),
    Expect("ods_renamed", UNREADABLE, "error", "这是 OpenDocument 表格（.ods）", 2),
    Expect("legacy_xls", UNREADABLE, "error", "旧版 Excel 97-2003（.xls）文件：请用 Excel 或 WPS 另存为 .xlsx", 2),
    Expect("legacy_xls_renamed", UNREADABLE, "error", "旧版 Excel 97-2003（.xls）", 2),
    Expect("encrypted", UNREADABLE, "error", "文件设置了打开密码（已加密）", 2),
    # bombs and parser attacks
    Expect("zip_bomb", UNREADABLE, "error", "文件解压后超过 300 MB（疑似压缩炸弹）", 2),
    Expect("zip_bomb_ratio", UNREADABLE, "error", "压缩比超过 200 倍）（疑似压缩炸弹）", 2),
    Expect("zip_bomb_lying", UNREADABLE, "error", "解压后的实际大小超过其声明的", 2),
    Expect("xml_bomb", UNREADABLE, "error", "不安全的 XML 内容（DTD/实体声明，疑似 XML 炸弹）", 2),
    Expect("xxe", UNREADABLE, "error", "不安全的 XML 内容", 2),
    Expect("xml_bomb_unused_part", UNREADABLE, "error", "不安全的 XML 内容", 2),
    Expect("utf16_sheet", UNREADABLE, "error", "不是 UTF-8 编码", 2),
    Expect("broken_sheet_xml", UNREADABLE, "error", "工作表“项目信息”无法解析", 2),
    Expect("duplicate_member", UNREADABLE, "error", "重复出现", 2),
    Expect("sst_count", None),
    Expect("million_rows", "S-19", "error", "“项目信息”超过 2203 行数据：超出部分没有读取", 1, "项目信息!A2206"),
    Expect("far_cell", "S-19", "error", "超出部分没有读取", 1, "项目信息!A1048576"),
    Expect("far_column", "S-20", "warning", "第 64 列之后还有内容（如 XFD3）", 0, "项目信息!BL3"),
    Expect("no_positions", "S-20", "warning", "第 64 列之后还有内容（如 CG3）", 0, "项目信息!BL3"),
    Expect("macro_xlsm", "S-17", "warning", "文件含有宏（VBA），系统只读取数据，不会运行宏", 0),
    # someone else's template, or this one tampered with
    Expect("other_unit", "S-09", "error", "模板单位“310099 上海市某某协会”不在报送名单中", 1),
    Expect("other_unit_name", "S-10", "error", "模板中是“上海市欧美同学会（旧称）”", 1),
    Expect("other_units_template", "S-15", "warning", "文件名未包含单位编码 310002", 0),
    Expect("other_year", "S-07", "error", "模板年度为 2022 年，本次收集的是 2023 年", 1),
    Expect("other_dept", "S-08", "error", "模板属于“上海市另一主管部门”", 1),
    Expect("meta_deleted", "S-04", "error", "找不到模板标识（_meta）", 1),
    Expect("meta_edited", "S-11", "error", "模板标识 _meta 与生成时不一致", 1, also=("S-07",)),
    Expect("prefill_changed", "S-12", "error", "“当年财政拨款”是预算预填内容，原为“100000.00”", 1, "项目信息!J3"),
    Expect("prefill_deleted", "S-13", "error", "预算预填项目“业务培训项目”（第 3 行）不见了", 1, "项目信息!A3"),
    Expect("sheet_renamed", "S-02", "error", "缺少工作表“项目信息”", 1),
    Expect("sheet_deleted", "S-02", "error", "缺少工作表“绩效指标”", 1, also=("C-07",)),
    Expect("sheets_reordered", None),
    Expect("header_changed", "S-03", "error", "找不到列“当年财政拨款”", 1, "项目信息!A2"),
    Expect("columns_moved", "S-22", "warning", "“项目性质”在 C 列，模板中在 B 列", 0, "项目信息!C2"),
    Expect("merged_cells", "S-18", "warning", "合并单元格 B3:B4", 1, "项目信息!B3", also=("P-01",)),
    Expect("hidden_rows_cols", "S-16", "warning", "第 4 行 被隐藏但有数据", 0, "项目信息!A4"),
    # cell contents
    Expect("formulas", "P-08", "error", "单元格是公式（=100000*1）", 1, "项目信息!J3"),
    Expect("external_link", "S-21", "warning", "外部链接（file:///C:/预算/2023年预算.xlsx）", 1, also=("P-08",)),
    Expect("amount_text", "F-01", "error", "“七十万”不是有效金额", 1, "项目信息!J4", also=("F-12",)),
    Expect("excel_errors", "P-11", "error", "单元格是错误值 #REF!", 1, "项目信息!J3"),
    Expect("text_dates", None),
    Expect("date_number", None),                     # 20230101 typed as a number is read as 2023-01-01
    Expect("date1904", None),
    Expect("spaces", "F-12", "warning", "金额“100000”是文字格式，已按 100,000.00 读取", 0, "项目信息!J3"),
]
BY_CASE = {e.case: e for e in EXPECTED}


def test_every_corpus_case_has_an_expected_outcome():
    assert set(BY_CASE) == set(corpus.CASES)


# --- building the cases once per session ----------------------------------------------------------

@pytest.fixture(scope="session")
def hostile_inputs(tmp_path_factory, templates):
    return corpus.make_inputs(tmp_path_factory.mktemp("hostile-work"), templates["310001"])


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


_built: dict[str, Path] = {}


@pytest.fixture
def build(hostile_inputs, hostile_dir):
    """Build a case (once per session) into its own folder; returns the file."""
    def make(name: str) -> Path:
        if name not in _built:
            _built[name] = corpus.build(name, hostile_inputs, hostile_dir / name)
        return _built[name]
    return make


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_check(*args: str):
    result = CliRunner().invoke(app, ["check", *map(str, args)])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        f"traceback: {result.exception!r}\n{result.output}"
    return result


def check_json(path: Path, roster_path: Path):
    result = run_check(path, "--json", "--roster", roster_path, *CONTEXT)
    return result.exit_code, json.loads(result.stdout)


# --- each case: its exact outcome -----------------------------------------------------------------

@pytest.mark.parametrize("expect", EXPECTED, ids=[e.case for e in EXPECTED])
def test_case_outcome(expect: Expect, build, roster_path):
    path = build(expect.case)
    before = sha256(path)
    code, findings = check_json(path, roster_path)
    assert code == expect.exit, findings
    rules = {f["rule"] for f in findings}
    if expect.rule is None:
        assert findings == []
    elif expect.rule == UNREADABLE:
        assert len(findings) == 1, findings
        (f,) = findings
        assert (f["rule"], f["severity"]) == (UNREADABLE, expect.severity)
        assert expect.phrase in f["message"], f["message"]
        assert f["file"] == str(path)
    else:
        key = [f for f in findings if f["rule"] == expect.rule and expect.phrase in f["message"]]
        assert key, f"no {expect.rule} with “{expect.phrase}” in {findings}"
        assert all(f["severity"] == expect.severity for f in key)
        if expect.cell:
            assert any(f"{f['sheet']}!{f['cell']}" == expect.cell for f in key), key
        assert set(expect.also) <= rules, findings
        # the reader's own findings are exactly the expected ones
        expected_s = {r for r in (expect.rule, *expect.also) if r.startswith("S-")}
        assert {r for r in rules if r.startswith("S-")} == expected_s, findings
    assert sha256(path) == before


@pytest.mark.parametrize("expect", EXPECTED, ids=[e.case for e in EXPECTED])
def test_annotate_never_changes_the_input_or_leaves_half_a_file(expect: Expect, build, roster_path, tmp_path):
    path = build(expect.case)
    before = sha256(path)
    out = tmp_path / "annotated"
    result = run_check(path, "--annotate", out, "--roster", roster_path, *CONTEXT, "-q")
    assert result.exit_code == expect.exit, result.output
    assert sha256(path) == before
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if expect.rule == UNREADABLE:
        assert written == []                       # nothing to annotate, and no stray file
    else:
        assert written == [f"{path.stem}_校验结果.xlsx"]
        copy = read_workbook(out / written[0], corpus_spec())
        assert copy.readable, copy.findings


def corpus_spec():
    from jixiao.spec import load_form

    return load_form()


# --- what was read, for the cases that are accepted -------------------------------------------------

def test_text_dates_are_read_as_dates(build):
    sub = read_workbook(build("text_dates"), corpus_spec())
    col = corpus_spec().projects.labels.index("计划开始日期")
    raw = [values[col] for _row, values in sub.projects.rows]
    assert raw == list(corpus.TEXT_DATES)
    assert [to_date(v, sub.date1904)[0] for v in raw] == [dt.date(2023, 1, 1)] * 4


def test_1904_dates_are_the_same_dates(build):
    sub = read_workbook(build("date1904"), corpus_spec())
    assert sub.date1904
    labels = corpus_spec().projects.labels
    for _row, values in sub.projects.rows:
        start = to_date(values[labels.index("计划开始日期")], sub.date1904)[0]
        end = to_date(values[labels.index("计划完成日期")], sub.date1904)[0]
        assert (start, end) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))


def test_cells_without_positions_land_where_calamine_puts_them(build):
    sub = read_workbook(build("no_positions"), corpus_spec())
    labels = corpus_spec().projects.labels
    first = dict(zip(labels, sub.projects.rows[0][1]))
    assert (first["项目名称"], first["项目性质"], first["年度资金申请总额"]) == ("业务培训项目", "经常性专项业务费", 120000)


def test_declared_string_count_is_not_trusted(build):
    sub = read_workbook(build("sst_count"), corpus_spec())
    labels = corpus_spec().projects.labels
    assert sub.projects.rows[0][1][labels.index("项目总目标")] == "提升全年培训工作的质量和覆盖面。"


def test_excel_errors_and_formulas_are_reported_at_their_cells(build, roster_path):
    _, findings = check_json(build("excel_errors"), roster_path)
    assert {(f["rule"], f["sheet"], f["cell"], f["message"].split("：")[0]) for f in findings if f["rule"] == "P-11"} == {
        ("P-11", "项目信息", "J3", "单元格是错误值 #REF!"), ("P-11", "绩效指标", "F5", "单元格是错误值 #DIV/0!")}
    _, findings = check_json(build("formulas"), roster_path)
    assert {(f["cell"], f["message"].split("：")[0]) for f in findings if f["rule"] == "P-08"} == {
        ("J3", "单元格是公式（=100000*1）"), ("I4", "单元格是公式（=J4+K4+L4）")}


def test_hidden_column_is_named(build, roster_path):
    _, findings = check_json(build("hidden_rows_cols"), roster_path)
    assert {(f["sheet"], f["cell"], f["message"].split("：")[0]) for f in findings} == {
        ("项目信息", "A4", "第 4 行 被隐藏但有数据"), ("绩效指标", "H3", "第 H 列 被隐藏但有数据")}


def test_text_amounts_are_read_with_a_warning(build, roster_path):
    _, findings = check_json(build("amount_text"), roster_path)
    f12 = {(f["cell"], f["message"]) for f in findings if f["rule"] == "F-12"}
    assert f12 == {("J3", "金额“100,000.00元”是文字格式，已按 100,000.00 读取：请填写为数字"),
                   ("L3", "金额“２００００”是文字格式，已按 20,000.00 读取：请填写为数字")}


def test_prefill_total_change_is_reported_too(build, roster_path):
    _, findings = check_json(build("prefill_changed"), roster_path)
    assert {f["cell"] for f in findings if f["rule"] == "S-12"} == {"I3", "J3"}


# --- bombs: bounded memory and time, in a process of their own ----------------------------------------

BOMBS = ["zip_bomb", "zip_bomb_ratio", "zip_bomb_lying", "xml_bomb", "xxe", "sst_count", "million_rows", "far_cell"]
MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    from jixiao.reader import read_workbook
    from jixiao.spec import load_form
    spec = load_form()
    start = time.perf_counter()
    sub = read_workbook(sys.argv[1], spec)
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "rules": [f.rule for f in sub.findings]}))
""")


@pytest.mark.parametrize("case", BOMBS)
def test_bomb_is_refused_with_bounded_memory_and_time(case, build):
    path = build(case)
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]          # no abort, no traceback
    stats = json.loads(proc.stdout)
    assert stats["maxrss_kb"] * 1024 < GIB, stats             # Linux reports ru_maxrss in KiB
    assert stats["seconds"] < 30, stats                         # typically well under a second
    expect = BY_CASE[case]
    assert stats["rules"] == ([expect.rule] if expect.rule else []), stats


# --- the last line of defence -------------------------------------------------------------------------

class PanicException(BaseException):
    """What pyo3 raises when Rust code panics: a BaseException, not an Exception."""


@pytest.mark.parametrize("error", [RuntimeError("boom"), MemoryError(), RecursionError(), PanicException("rust")])
def test_unexpected_errors_become_one_unreadable_finding(error, hostile_inputs, monkeypatch):
    import jixiao.reader as reader

    def explode(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(reader, "bounded_sheet", explode)
    sub = read_workbook(hostile_inputs.base, corpus_spec())
    assert not sub.readable
    assert [f.rule for f in sub.findings] == ["S-01"]
    assert f"读取文件时出现意外错误（{type(error).__name__}）" in sub.findings[0].message
    assert sub.projects is None and sub.indicators is None and sub.meta is None


def test_keyboard_interrupt_is_not_swallowed(hostile_inputs, monkeypatch):
    import jixiao.reader as reader

    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reader, "bounded_sheet", interrupt)
    with pytest.raises(KeyboardInterrupt):
        read_workbook(hostile_inputs.base, corpus_spec())


def test_a_folder_is_not_a_workbook(tmp_path):
    sub = read_workbook(tmp_path, corpus_spec())
    assert [f.rule for f in sub.findings] == ["S-01"] and "不是普通文件" in sub.findings[0].message


def test_missing_file_is_one_finding(tmp_path):
    sub = read_workbook(tmp_path / "gone.xlsx", corpus_spec())
    assert [f.rule for f in sub.findings] == ["S-01"] and "无法访问文件" in sub.findings[0].message


# --- a folder of good and bad files ----------------------------------------------------------------------

BAD_IN_BATCH = ["empty", "truncated", "csv_renamed", "legacy_xls", "encrypted", "zip_bomb_lying", "xml_bomb",
                "far_cell", "meta_deleted"]


@pytest.fixture
def inbox(tmp_path, build, hostile_inputs, fixed_returns):
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(hostile_inputs.base, folder / hostile_inputs.base.name)
    shutil.copy(fixed_returns["310002"], folder / fixed_returns["310002"].name)
    for case in BAD_IN_BATCH:
        src = build(case)
        shutil.copy(src, folder / src.name)
    return folder


def test_one_bad_file_never_stops_the_others(inbox, roster_path):
    hashes = {p.name: sha256(p) for p in inbox.iterdir()}
    result = run_check(inbox, "--roster", roster_path, *CONTEXT, "-q")
    assert result.exit_code == 2
    out = result.stdout
    assert f"{corpus.UNIT_CODE}_clean.xlsx：通过" in out
    assert "310002_上海市科学技术协会_2023年度项目绩效目标申报表.xlsx：通过" in out
    for case in BAD_IN_BATCH:
        name = corpus.CASES[case][0]
        verdict = "无法读取" if BY_CASE[case].rule == UNREADABLE else "有错误"
        assert f"{name}：{verdict}" in out, out
    unreadable = sum(BY_CASE[c].rule == UNREADABLE for c in BAD_IN_BATCH)
    total = len(BAD_IN_BATCH) + 2
    assert f"共 {total} 个文件：通过 2，有错误 {total - 2 - unreadable}，无法读取 {unreadable}" in out
    assert {p.name: sha256(p) for p in inbox.iterdir()} == hashes


def test_batch_in_worker_processes_keeps_every_verdict(inbox):
    # 2 × 11 files: above PARALLEL_FROM, so the files are read by worker processes
    for p in list(inbox.iterdir()):
        shutil.copy(p, inbox / f"copy-{p.name}")
    reports = check_files([inbox], department=DEPT, year=YEAR, workers=2)
    verdicts = {r.path.name: r.verdict for r in reports}
    assert len(verdicts) == 2 * (len(BAD_IN_BATCH) + 2)
    for case in BAD_IN_BATCH:
        name = corpus.CASES[case][0]
        want = "无法读取" if BY_CASE[case].rule == UNREADABLE else "有错误"
        assert verdicts[name] == verdicts[f"copy-{name}"] == want
    assert verdicts[f"{corpus.UNIT_CODE}_clean.xlsx"] == "通过"
