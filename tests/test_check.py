"""`check` end to end: the real seed returns, the CLI's exit codes and JSON, and _meta rules."""

from __future__ import annotations

import hashlib
import json
import shutil

import openpyxl
import pytest
from typer.testing import CliRunner

from helpers import clean_project, edit_cells, findings_of, make_return, rules_at, unit_data
from jixiao.check import check_files
from jixiao.cli import app
from jixiao.annotate import annotate
from jixiao.roster import load_budget, load_roster
from jixiao.spec import load_form
from jixiao.template import write_templates

DEPT, YEAR = "上海市示例主管部门", 2023
CTX = dict(department=DEPT, year=YEAR)
runner = CliRunner()


def errors(findings):
    return {(f.rule, f.where) for f in findings if f.severity == "error"}


def test_seed_000_errors_are_its_real_anomalies(seed_returns, roster):
    findings = findings_of(seed_returns["310001"], roster=roster, **CTX)
    # A-05 仁云双益指标 and A-07 推动信息量 = 160 (no unit): exactly these errors.
    assert errors(findings) == {("H-02", "绩效指标!C9"), ("V-04", "绩效指标!G90")}
    found = rules_at(findings)
    # money with no year to belong to.
    assert ("F-06", "项目信息!F5") in found and ("F-06", "项目信息!F6") in found
    # HTML in 年度总体目标 of three projects.
    assert sum(1 for f in findings if f.rule == "P-09") == 3


def test_seed_001_errors_are_its_real_anomalies(seed_returns, roster):
    findings = findings_of(seed_returns["310002"], roster=roster, **CTX)
    assert errors(findings) == {("F-02", "项目信息!I14")}
    found = rules_at(findings)
    assert ("C-02", "项目信息!A15") in found                                   # no 满意度
    assert any(f.rule == "P-12" and "收益" in f.message for f in findings)    # A-12 收益人员
    assert any(f.rule == "P-07" for f in findings)                             # A-02 goal = name


def test_fixed_returns_pass(fixed_returns, roster):
    for path in fixed_returns.values():
        assert errors(findings_of(path, roster=roster, **CTX)) == set()


def test_input_is_never_modified(seed_returns, roster, tmp_path):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in seed_returns.values()}
    reports = check_files(list(seed_returns.values()), roster=roster, **CTX, keep_cells=True)
    from jixiao.spec import load_form
    for r in reports:
        annotate(r, load_form(), tmp_path)
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in seed_returns.values()}


# --- _meta, roster, year, department, prefill ---------------------------------------------------

@pytest.fixture(scope="module")
def budget_template(tmp_path_factory, roster):
    folder = tmp_path_factory.mktemp("budget")
    csv = folder / "budget.csv"
    csv.write_text("单位编码,项目名称,项目性质,项目类别,年度资金申请总额,当年财政拨款,上年结转资金,年度其他资金\n"
                   "310001,培训项目,经常性专项业务费,特定目标类,120000,100000,0,20000\n", encoding="utf-8")
    out = folder / "t"
    paths = write_templates(roster, DEPT, YEAR, out, budget=load_budget(csv, roster))
    return next(p for p in paths if p.name.startswith("310001"))


def test_prefilled_return_passes(tmp_path, budget_template, roster):
    path = make_return(tmp_path, budget_template, unit_data())
    assert findings_of(path, roster=roster, **CTX) == []


def test_changed_prefill_amount_is_found(tmp_path, budget_template, roster):
    path = edit_cells(make_return(tmp_path, budget_template, unit_data()), {("项目信息", "J3"): 90000,
                                                                             ("项目信息", "L3"): 30000})
    found = rules_at(findings_of(path, roster=roster, **CTX))
    assert ("S-12", "项目信息!J3") in found and ("S-12", "项目信息!L3") in found


def test_deleted_prefill_project_is_found(tmp_path, budget_template, roster):
    path = make_return(tmp_path, budget_template, unit_data())
    edit_cells(path, {("项目信息", f"{c}3"): None for c in "ABCDEFGHIJKLMN"})
    assert "S-13" in {f.rule for f in findings_of(path, roster=roster, **CTX)}


@pytest.mark.parametrize("ctx,rule", [
    (dict(year=2024), "S-07"),
    (dict(department="另一个主管部门"), "S-08"),
])
def test_meta_must_match_the_round(tmp_path, templates, ctx, rule):
    path = make_return(tmp_path, templates["310001"], unit_data())
    assert rule in {f.rule for f in findings_of(path, **ctx)}


def test_department_tag_huizong_is_ignored(tmp_path, templates):
    path = make_return(tmp_path, templates["310001"], unit_data())
    assert findings_of(path, department=f"{DEPT}（汇总）", year=YEAR) == []


def test_unit_not_in_roster_and_renamed_unit(tmp_path, templates, roster_path):
    path = make_return(tmp_path, templates["310001"], unit_data())
    other = tmp_path / "roster.csv"
    other.write_text("单位编码,单位名称\n310009,别的单位\n", encoding="utf-8")
    assert "S-09" in {f.rule for f in findings_of(path, roster=load_roster(other))}
    other.write_text("单位编码,单位名称\n310001,上海市欧美同学会（更名）\n", encoding="utf-8")
    assert "S-10" in {f.rule for f in findings_of(path, roster=load_roster(other))}


def test_renamed_file_is_noticed(tmp_path, templates, roster):
    path = make_return(tmp_path, templates["310001"], unit_data(), name="我的申报表.xlsx")
    assert ("S-15", "") in {(f.rule, f.where) for f in findings_of(path, roster=roster, **CTX)}


def test_edited_meta_breaks_the_fingerprint(tmp_path, templates, roster):
    path = make_return(tmp_path, templates["310001"], unit_data())
    wb = openpyxl.load_workbook(path)
    meta = wb["_meta"]
    (row,) = [r for r in meta.iter_rows() if r[0].value == "主管部门"]
    row[1].value = "上海市另一主管部门"
    wb.save(path)
    rules = {f.rule for f in findings_of(path, roster=roster)}
    assert "S-11" in rules


def test_missing_meta_sheet(tmp_path, templates, roster):
    path = make_return(tmp_path, templates["310001"], unit_data())
    wb = openpyxl.load_workbook(path)
    del wb["_meta"]
    wb.save(path)
    assert ("S-04", "_meta!") not in rules_at(findings_of(path, roster=roster))
    assert "S-04" in {f.rule for f in findings_of(path, roster=roster)}


# --- CLI ---------------------------------------------------------------------------------------------

def test_cli_json_shape_and_exit_codes(seed_returns, fixed_returns, roster_path):
    result = runner.invoke(app, ["check", str(seed_returns["310002"]), "--roster", str(roster_path),
                                 "--dept", DEPT, "--year", "2023", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert isinstance(data, list) and data
    assert all(set(item) == {"file", "sheet", "cell", "field", "rule", "severity", "message"} for item in data)
    assert {"rule": "F-02", "cell": "I14", "sheet": "项目信息"}.items() <= next(d for d in data if d["rule"] == "F-02").items()
    ok = runner.invoke(app, ["check", *map(str, fixed_returns.values()), "--roster", str(roster_path)])
    assert ok.exit_code == 0, ok.output
    assert "通过" in ok.output


def test_cli_unreadable_input_exits_2(tmp_path, fixed_returns):
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"")
    shutil.copy(fixed_returns["310001"], tmp_path / fixed_returns["310001"].name)
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2
    assert "broken.xlsx" in result.output and "Traceback" not in result.output


def test_cli_bad_usage_exits_2(tmp_path):
    result = runner.invoke(app, ["check", str(tmp_path / "nowhere.xlsx")])
    assert result.exit_code == 2 and "不存在" in result.output


def test_cli_annotate_writes_copies(tmp_path, seed_returns, roster_path):
    out = tmp_path / "annotated"
    result = runner.invoke(app, ["check", *map(str, seed_returns.values()), "--annotate", str(out)])
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}_校验结果.xlsx" for p in seed_returns.values())


def test_cli_batch_output_is_compact_and_markup_safe(tmp_path, seed_returns, fixed_returns):
    for i in range(6):
        for code, path in {**fixed_returns, "bad": seed_returns["310002"]}.items():
            shutil.copy(path, tmp_path / f"{i}_{code}_{path.name}")
    result = runner.invoke(app, ["check", str(tmp_path), "--quiet"])
    assert result.exit_code == 1
    assert result.output.count("✗ 项目信息!I14 F-02") == 6          # each error on its line
    assert "┃" not in result.output                                   # no per-file tables
    assert result.output.count("：通过（") == 12 and "共 18 个文件" in result.output


def test_user_text_is_not_taken_for_terminal_markup(tmp_path, templates):
    path = make_return(tmp_path, templates["310001"], unit_data(clean_project("[bold red]培训[/]项目")))
    edit_cells(path, {("绩效指标", f"A{r}"): "不存在[/]" for r in range(3, 4)})
    result = runner.invoke(app, ["check", str(path)])
    assert "不存在[/]" in result.output and result.exit_code == 1


def test_annotated_copy_marks_cells_without_losing_their_format(tmp_path, seed_returns, roster):
    """A marked cell keeps its column's number format and alignment, and gets the fill; the 校验结果
    sheet says the file can be returned as it is (the reader ignores the sheet)."""
    (report,) = check_files([seed_returns["310002"]], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
    copy = annotate(report, load_form(), tmp_path)
    wb = openpyxl.load_workbook(copy)
    amount = wb["项目信息"]["I14"]                      # the F-02 of 市科协机构及常委会会议费
    assert amount.number_format == "#,##0.00" and amount.fill.fgColor.rgb == "FFFF9999"
    assert amount.comment and "F-02" in amount.comment.text
    value = next(c for row in wb["绩效指标"].iter_rows(min_row=3) for c in row[5:6] if c.fill.fgColor.rgb == "FFFFE699")
    assert value.alignment.horizontal == "right" and value.number_format == "@"
    guidance = wb["校验结果"]["A2"].value
    assert "系统读取时不会把它当作数据" in guidance and "删除" not in guidance


def test_check_from_a_thread_starts_clean_workers(seed_returns, fixed_returns, roster, tmp_path):
    """The web page checks from a server thread: its worker processes come from a forkserver (a
    fork of a threaded process can hang on a lock another thread held), with the same findings."""
    import threading
    from jixiao.check import _pool_context

    folder = tmp_path / "many"
    folder.mkdir()
    sources = [seed_returns["310002"], fixed_returns["310001"]]
    for i in range(18):
        shutil.copyfile(sources[i % 2], folder / f"{i:02d}_{sources[i % 2].name}")
    files = sorted(folder.glob("*.xlsx"))
    serial = [r.findings for r in check_files(files, roster=roster, workers=1)]
    seen = {}

    def run():
        seen["context"] = _pool_context()
        seen["findings"] = [r.findings for r in check_files(files, roster=roster, workers=2)]

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if threading.active_count() == 1:
        assert _pool_context() is None         # a single-threaded process (the CLI) forks
    assert seen["context"].get_start_method() == "forkserver"
    assert seen["findings"] == serial
