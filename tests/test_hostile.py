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

from jixiao.annotate import annotated_name
from jixiao.cells import to_date
from jixiao.check import check_files
from jixiao.cli import app
from jixiao.reader import read_workbook
from jixiao.text import name_bytes, shown_path

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
    # round two: what passed check and broke merge, annotate, the terminal or the inbox
    Expect("invisible_chars", "P-15", "warning", "不可见字符（U+200B 零宽空格）", 0, "项目信息!A3"),
    Expect("huge_name", "P-16", "error", "超过 Excel 单元格上限 32,767 个字符", 1, "项目信息!A3"),
    Expect("not_a_number", "P-11", "error", "单元格是错误值 #NUM!", 1, "项目信息!J3"),
    Expect("cents_as_text", "F-13", "error", "有 17 位有效数字，超过 Excel 能准确保存的 15 位", 1, "项目信息!I3"),
    Expect("formula_plus", "P-08", "error", "单元格是公式（=+HYPERLINK(", 1, "项目信息!N3"),
    Expect("extreme_dates", "P-04", "error", "“0001-01-01”不是有效日期", 1, "项目信息!D3"),
    Expect("escape_sequences", "P-15", "warning", "U+001B ESC 控制符", 0, "项目信息!N3"),
    Expect("forged_department", "S-08", "error", "模板属于“../../逃逸”", 1),
    Expect("long_file_name", None),
    Expect("gbk_file_name", None),
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
    return result.exit_code, json.loads(result.stdout_bytes.decode("utf-8"))     # valid UTF-8, always


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
        assert f["file"] == shown_path(path)
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
        assert written == [annotated_name(path)]
        assert name_bytes(written[0]) <= 255
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


# --- round two: a file that passes check always merges; nothing a unit sends stops the inbox ----------

def _merge(paths, out: Path, **kwargs):
    from jixiao.publish import merge_files

    return merge_files(paths, out, department=DEPT, year=YEAR, **kwargs)


def _summary_rows(path: Path) -> list[list]:
    import python_calamine

    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return wb.get_sheet_by_name("汇总").to_python()
    finally:
        wb.close()


def test_invisible_characters_are_removed_alike_in_every_stage(build, roster, tmp_path):
    """Before: check passed, merge failed its own reconciliation (汇总表缺少项目 …)."""
    path = build("invisible_chars")
    result = _merge([path], tmp_path / "汇总.xlsx", roster=roster)
    names = {row[2] for row in _summary_rows(result.path)}
    assert {"业务培训项目", "会员服务项目"} <= names
    assert result.consolidated.rows("indicators") == 12          # every indicator found its project
    assert not any(ch in "".join(map(str, names)) for ch in "\u200b\u200d\ufeff\uffff")
    (report,) = check_files([path], roster=roster, department=DEPT, year=YEAR)
    assert {f.where for f in report.findings if f.rule == "P-15"} == {"项目信息!A3", "项目信息!A4", "绩效指标!A9"}


def test_two_roster_units_with_one_name_merge_and_reconcile(hostile_inputs, tmp_path):
    """Units are keyed by 单位编码 everywhere, never by name."""
    from jixiao.roster import Roster, Unit

    roster = Roster([Unit(corpus.UNIT_CODE, corpus.UNIT_NAME), Unit("310002", corpus.UNIT_NAME)])
    other = corpus.fill(corpus.write_template(tmp_path / "t", code="310002"), tmp_path / "310002_return.xlsx")
    result = _merge([hostile_inputs.base, other], tmp_path / "汇总.xlsx", roster=roster)
    assert [line.split("：")[0] for line in result.reconciliation] == [corpus.UNIT_NAME, corpus.UNIT_NAME, "合计"]
    assert "4 个项目、24 条指标，年度资金申请总额 400,000.00 元" in result.reconciliation[-1]


def test_a_file_with_errors_is_left_out_and_the_rest_merges(build, hostile_inputs, roster, tmp_path):
    """A name past the cell limit is an error in check (P-16), so check and merge agree."""
    from jixiao.errors import MergeRefused

    with pytest.raises(MergeRefused) as refused:
        _merge([build("huge_name")], tmp_path / "a.xlsx", roster=roster)
    assert refused.value.reason == "errors"
    other = corpus.fill(corpus.write_template(tmp_path / "t", code="310002", name="上海市科学技术协会"),
                        tmp_path / "310002_return.xlsx")
    result = _merge([build("huge_name"), other], tmp_path / "b.xlsx", roster=roster, skip_invalid=True)
    assert result.consolidated.rows("projects") == 2


def test_totals_past_fifteen_digits_are_refused_not_rounded(hostile_inputs, roster, tmp_path):
    """Each amount fits an .xlsx number to the cent; their sum does not: merge says so instead of
    writing a 汇总表 that is off by a cent (or failing its reconciliation)."""
    from jixiao.errors import MergeRefused

    big = {"年度资金申请总额": "9999999999999.99", "当年财政拨款": "9999999999999.99", "年度其他资金": "0.00"}
    data = {"projects": [dict(p, **big) for p in corpus.CLEAN_DATA["projects"]]}
    path = corpus.fill(hostile_inputs.template, tmp_path / "310001_big.xlsx", data)
    (report,) = check_files([path], roster=roster, department=DEPT, year=YEAR)
    assert report.errors == 0
    with pytest.raises(MergeRefused, match="19,999,999,999,999.98 有 16 位有效数字") as refused:
        _merge([path], tmp_path / "汇总.xlsx", roster=roster)
    assert refused.value.reason == "precision" and not (tmp_path / "汇总.xlsx").exists()


def test_an_inbox_with_an_undecodable_file_name_works_everywhere(build, fixed_returns, roster, roster_path, tmp_path):
    """Before: status, merge INBOX and check --annotate crashed (surrogates not allowed), --json
    printed invalid UTF-8."""
    from jixiao.ledger import Ledger
    from jixiao.status import collection_status, write_status_xlsx

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    gbk = inbox / corpus.GBK_NAME
    shutil.copy(build("gbk_file_name"), gbk)
    shutil.copy(fixed_returns["310002"], inbox / fixed_returns["310002"].name)
    shown = shown_path(corpus.GBK_NAME)
    assert "\\xc9" in shown

    report = collection_status(inbox, roster, department=DEPT, year=YEAR)
    assert [(r.unit.code, r.status, r.file) for r in report.rows[:2]] == [
        ("310001", "通过", shown), ("310002", "通过", fixed_returns["310002"].name)]
    write_status_xlsx(report, tmp_path / "催报.xlsx")
    with Ledger.open(inbox) as ledger:
        (entry,) = [e for e in ledger.entries() if e.unit_code == "310001"]
        assert entry.full_path == gbk                  # the real name, from the stored bytes
    assert collection_status(inbox, roster, department=DEPT, year=YEAR).scan.checked == 0   # cached

    result = _merge([inbox], tmp_path / "汇总.xlsx", roster=roster)
    assert result.consolidated.units[0].file == shown

    runner = CliRunner()
    out = tmp_path / "annotated"
    for args in (["check", str(inbox), "--json", "--roster", str(roster_path), *CONTEXT],
                 ["check", str(inbox), "--annotate", str(out), "--roster", str(roster_path), *CONTEXT, "-q"],
                 ["status", str(inbox), "--roster", str(roster_path), "--json"],
                 ["status", str(inbox), "--roster", str(roster_path)],
                 ["merge", str(inbox), "-o", str(tmp_path / "cli.xlsx"), "--roster", str(roster_path), *CONTEXT]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output, result.exception)
        text = result.stdout_bytes.decode("utf-8")                # strict: valid UTF-8
        assert "\udcc9" not in text
    assert len(list(out.iterdir())) == 2


def test_output_names_are_limited_by_bytes(tmp_path):
    """80 CJK characters (the roster's limit) make a 284-byte template name: cut to fit, code kept."""
    from jixiao.roster import Roster, Unit
    from jixiao.template import write_templates

    name = "上海市某某区某某街道社区卫生服务中心" * 4 + "某某某某某某某某"        # 80 characters
    paths = write_templates(Roster([Unit("310001", name)]), DEPT, YEAR, tmp_path / "t")
    (path,) = paths
    assert path.exists() and path.name.startswith("310001_上海市") and path.name.endswith("年度项目绩效目标申报表.xlsx")
    assert name_bytes(path.name) <= 200 < len(f"310001_{name}_2023年度项目绩效目标申报表.xlsx".encode())


def test_a_forged_department_never_leaves_the_output_folder(build, tmp_path):
    """主管部门 "../../逃逸" from a forged `_meta` becomes part of the default name only as one name."""
    from jixiao.publish import merge_files

    out = tmp_path / "a" / "b" / "out"
    out.mkdir(parents=True)
    result = merge_files([build("forged_department")], out, year=YEAR)
    assert result.path.parent == out and result.path.exists()
    assert "/" not in result.path.name and "\\" not in result.path.name and result.path.resolve().parent == out.resolve()
    assert sorted(p.name for p in tmp_path.rglob("*.xlsx")) == [result.path.name]


def test_inputs_are_never_overwritten(build, hostile_inputs, fixed_returns, roster_path, tmp_path):
    from jixiao.errors import MergeRefused, OutputError
    from jixiao.ledger import ledger_path
    from jixiao.roster import load_roster
    from jixiao.status import collection_status, write_status_xlsx

    roster_copy = tmp_path / "名单.csv"
    shutil.copy(roster_path, roster_copy)
    roster = load_roster(roster_copy)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ret = inbox / hostile_inputs.base.name
    shutil.copy(hostile_inputs.base, ret)
    before = {p: sha256(p) for p in (roster_copy, ret)}
    with pytest.raises(MergeRefused, match="报送名单"):
        _merge([inbox], roster_copy, roster=roster)
    with pytest.raises(MergeRefused, match="报送台账"):
        _merge([inbox], ledger_path(inbox), roster=roster)
    report = collection_status(inbox, roster)
    with pytest.raises(OutputError, match="收到的文件之一"):
        write_status_xlsx(report, ret)
    with pytest.raises(OutputError, match="报送名单"):
        write_status_xlsx(report, roster_copy)
    assert {p: sha256(p) for p in before} == before
    assert not list(tmp_path.rglob("*.tmp"))


def test_two_returns_with_one_name_get_two_annotated_copies(hostile_inputs, roster_path, tmp_path):
    for folder in ("第一批", "第二批"):
        (tmp_path / folder).mkdir()
        shutil.copy(hostile_inputs.base, tmp_path / folder / "310001.xlsx")
    out = tmp_path / "annotated"
    result = run_check(tmp_path / "第一批", tmp_path / "第二批", "--annotate", out, "--roster", roster_path,
                       *CONTEXT, "-q")
    assert result.exit_code == 0 and "标注副本：2 份" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["第一批_310001_校验结果.xlsx", "第二批_310001_校验结果.xlsx"]


def test_a_transient_read_error_never_becomes_a_verdict(hostile_inputs, roster, tmp_path, monkeypatch):
    """Before: 无法读取 was stored under the hash of the intact file, and the unit stayed 未报送."""
    import jixiao.reader as reader
    from jixiao.errors import Unreadable
    from jixiao.status import collection_status

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(hostile_inputs.base, inbox / hostile_inputs.base.name)
    real = reader.read_bytes

    def flaky(path):
        raise Unreadable("无法读取文件（Input/output error）")

    monkeypatch.setattr(reader, "read_bytes", flaky)
    first = collection_status(inbox, roster)
    assert first.rows[0].status == "未报送"
    (other,) = first.others
    assert other.verdict == "无法读取" and "下次扫描时会重新读取" in other.reason
    monkeypatch.setattr(reader, "read_bytes", real)
    again = collection_status(inbox, roster)
    assert again.rows[0].status == "通过" and again.scan.checked == 1 and not again.others


def test_a_future_modification_time_does_not_stay_latest(hostile_inputs, roster, tmp_path):
    import os
    import time

    from jixiao.status import collection_status

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    early = inbox / "310001_第一次.xlsx"
    shutil.copy(hostile_inputs.base, early)
    future = time.time() + 10 * 365 * 86400
    os.utime(early, (future, future))
    first = collection_status(inbox, roster)
    assert first.rows[0].file == early.name
    assert first.rows[0].received <= dt.datetime.now().astimezone()      # clamped to the scan
    time.sleep(1.1)
    later = inbox / "310001_更正.xlsx"
    shutil.copy(hostile_inputs.base, later)
    corrected = corpus.fill(hostile_inputs.template, tmp_path / "x.xlsx")
    shutil.copy(corrected, later)
    assert collection_status(inbox, roster).rows[0].file == later.name


def _corrupt_a_page(db: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    middle = (len(data) // page // 2) * page
    data[middle:middle + 12] = b"\xff" * 12            # a b-tree page header: not a page any more
    db.write_bytes(bytes(data))


def test_a_damaged_ledger_is_kept_aside_and_rebuilt_from_the_files(hostile_inputs, fixed_returns, roster, tmp_path):
    from jixiao.ledger import ledger_path
    from jixiao.status import collection_status

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(hostile_inputs.base, inbox / hostile_inputs.base.name)
    shutil.copy(fixed_returns["310002"], inbox / fixed_returns["310002"].name)
    first = collection_status(inbox, roster)
    assert [r.status for r in first.rows] == ["通过", "通过", "未报送"] and not first.notes
    _corrupt_a_page(ledger_path(inbox))
    report = collection_status(inbox, roster)
    assert [r.status for r in report.rows] == ["通过", "通过", "未报送"]
    (note,) = report.notes
    assert "已损坏" in note and "重新建立" in note and "\n" not in note
    assert report.scan.checked == 2                   # the verdicts came from the files again
    assert len(list(ledger_path(inbox).parent.glob("ledger.damaged-*.sqlite"))) == 1
    assert not collection_status(inbox, roster).notes


def test_a_database_error_while_in_use_rebuilds_the_ledger(hostile_inputs, roster, tmp_path, monkeypatch):
    import sqlite3

    from jixiao.ledger import Ledger
    from jixiao.status import collection_status

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(hostile_inputs.base, inbox / hostile_inputs.base.name)
    collection_status(inbox, roster)
    real, calls = Ledger.entries, []

    def damaged_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "entries", damaged_once)
    report = collection_status(inbox, roster)
    assert report.rows[0].status == "通过" and len(report.notes) == 1 and "已损坏" in report.notes[0]


def test_budget_names_that_look_like_formulas_are_refused_at_templates(tmp_path):
    from jixiao.errors import InputError
    from jixiao.roster import BudgetRow, Roster, Unit
    from jixiao.template import write_templates

    roster = Roster([Unit("310001", corpus.UNIT_NAME)])
    budget = {"310001": [BudgetRow("310001", {"name": '=HYPERLINK("http://x","培训")'})]}
    with pytest.raises(InputError, match="看起来像 Excel 公式"):
        write_templates(roster, DEPT, YEAR, tmp_path / "t", budget=budget)
    assert not (tmp_path / "t").exists() or not list((tmp_path / "t").iterdir())


def test_a_roster_whose_codes_lost_their_leading_zeros_is_refused_with_advice(tmp_path):
    import openpyxl

    from jixiao.errors import InputError
    from jixiao.roster import load_roster

    def roster(codes) -> Path:
        wb = openpyxl.Workbook()
        wb.active.append(["单位编码", "单位名称"])
        for n, code in enumerate(codes):
            wb.active.append([code, f"单位{n}"])
        path = tmp_path / f"roster{len(codes)}.xlsx"
        wb.save(path)
        return path

    with pytest.raises(InputError, match="开头的 0 可能已经丢失（如第 2 行的 1，有的编码有 3 位）"):
        load_roster(roster([1, 2, 100]))                   # 001, 002, 100 typed into number cells
    with pytest.raises(InputError, match="以 0 开头"):
        load_roster(roster([101, "012"]))
    with pytest.raises(InputError, match="超过 15 位"):
        load_roster(roster([12345678901234567890]))
    assert [u.code for u in load_roster(roster([310001, 310002])).units] == ["310001", "310002"]


def test_empty_temporary_files_of_a_killed_run_are_cleaned(hostile_inputs, tmp_path):
    import os
    import time

    out = tmp_path / "out"
    out.mkdir()
    target = out / "汇总.xlsx"
    left = out / ".汇总.k1ll3d.xlsx.tmp"          # what mkstemp left when the run was killed
    left.touch()
    old = time.time() - 3600
    os.utime(left, (old, old))
    fresh = out / ".汇总.running.xlsx.tmp"         # another run's, just created: kept
    fresh.touch()
    _merge([hostile_inputs.base], target)
    assert target.exists() and not left.exists() and fresh.exists()


def test_json_exports_neutralise_text_that_starts_like_a_formula(roster, tmp_path, hostile_inputs):
    from jixiao.check import FileReport
    from jixiao.findings import finding
    from jixiao.reader import Submission
    from jixiao.report import to_json
    from jixiao.roster import Roster, Unit
    from jixiao.status import collection_status, status_json

    f = finding("S-01", file="=cmd|' /C calc'!A0.xlsx", problem="-2+3")
    (doc,) = json.loads(to_json([FileReport(Path(f.file), Submission(Path(f.file)), [f])]))
    assert doc["file"] == "'=cmd|' /C calc'!A0.xlsx" and doc["message"] == "'-2+3"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    report = collection_status(inbox, Roster([Unit("310001", "@SUM(1+1)")]))
    assert json.loads(status_json(report))["units"][0]["unit_name"] == "'@SUM(1+1)"


def test_terminal_escapes_in_cells_never_reach_the_output(build, roster_path):
    result = run_check(build("escape_sequences"), "--roster", roster_path, *CONTEXT)
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    _, findings = check_json(build("escape_sequences"), roster_path)
    assert "\x1b" not in json.dumps(findings, ensure_ascii=False)
    assert {f["cell"] for f in findings if f["rule"] == "P-15"} == {"N3", "D3"}


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_check_json_is_valid_utf8_for_an_undecodable_file_name(build, roster_path, locale):
    """In a real process: under the C locale Python writes undecodable bytes back as they were
    (invalid UTF-8), under a UTF-8 locale it raised UnicodeEncodeError."""
    import os

    path = build("gbk_file_name")
    env = dict(os.environ, LC_ALL=locale, LANG=locale)
    env.pop("PYTHONIOENCODING", None)
    proc = subprocess.run([sys.executable, "-m", "jixiao.cli", "check", os.fsencode(path), "--json",
                           "--roster", str(roster_path), "--dept", DEPT, "--year", "2024"],
                          capture_output=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr.decode("utf-8", "replace")[-2000:]
    findings = json.loads(proc.stdout.decode("utf-8"))
    assert "S-07" in {f["rule"] for f in findings}
    assert findings[0]["file"] == shown_path(path) and "\\xc9" in findings[0]["file"]


def test_a_ledger_made_before_the_clamp_is_clamped_when_it_migrates(hostile_inputs, tmp_path):
    """Migration 3 brings a version-2 ledger's future receipt times back to when they were first seen."""
    import sqlite3
    import time

    from jixiao.ledger import SCHEMA_VERSION, Ledger, ledger_path, scan

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(hostile_inputs.base, inbox / hostile_inputs.base.name)
    scan(inbox)
    future_ns = int((time.time() + 10 * 365 * 86400) * 1e9)
    with sqlite3.connect(ledger_path(inbox)) as conn:          # what version 2 stored
        conn.execute("UPDATE files SET mtime_ns = ?, received = '2036-01-01T00:00:00+08:00'", (future_ns,))
        conn.execute("ALTER TABLE files DROP COLUMN path_raw")
        conn.execute("ALTER TABLE checks DROP COLUMN explained")        # and nothing of the later ones
        conn.execute("ALTER TABLE checks DROP COLUMN content")
        conn.execute("DROP TABLE hashed")
        conn.execute("DELETE FROM migrations WHERE version >= 3")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    with Ledger.open(inbox) as ledger:
        (entry,) = ledger.entries()
        assert ledger.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert entry.received == entry.first_seen and entry.mtime_ns < future_ns
