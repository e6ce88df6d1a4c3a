"""`merge`: the 汇总表 read back sheet by sheet against the inputs, and every refusal."""

from __future__ import annotations

import os
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from helpers import clean_project, edit_cells, make_return, unit_data
from jixiao.cli import app
from jixiao.fileio import OutputError
from jixiao.merge import MergeRefused, Records
from jixiao.publish import merge_files
from jixiao.render import DETAIL_SHEET, STATUS_SHEET, SUMMARY_HEADER_ROW, SUMMARY_SHEET
from jixiao.samples import load_seed
from jixiao.values import parse_value

DEPT, YEAR = "上海市示例主管部门", 2023
SEEDS = {"310001": "seeds/000_oumei_2023.json", "310002": "seeds/001_kexie_2023.json"}


@pytest.fixture(scope="module")
def merged(tmp_path_factory, fixed_returns, roster):
    inbox = tmp_path_factory.mktemp("inbox")
    for path in fixed_returns.values():
        shutil.copy(path, inbox / path.name)
    result = merge_files([inbox], tmp_path_factory.mktemp("out"), roster=roster, department=DEPT, year=YEAR)
    return result


def _rows(path, sheet):
    wb = openpyxl.load_workbook(path)
    return [list(r) for r in wb[sheet].iter_rows(values_only=True)], wb


def test_output_name_and_sheets(merged):
    assert merged.path.name == f"{DEPT}{YEAR}年度项目绩效目标汇总表.xlsx"
    wb = openpyxl.load_workbook(merged.path)
    assert wb.sheetnames == [SUMMARY_SHEET, "申报表", DETAIL_SHEET, STATUS_SHEET]


def test_summary_reproduces_each_seed_project(merged):
    rows, _ = _rows(merged.path, SUMMARY_SHEET)
    header = rows[SUMMARY_HEADER_ROW]
    col = {h: i for i, h in enumerate(header)}
    projects = {(r[col["实施单位"]], r[col["项目名称"]]): r for r in rows[SUMMARY_HEADER_ROW + 1:]
                if isinstance(r[0], int)}
    names = {"310001": "上海市欧美同学会", "310002": "上海市科学技术协会"}
    for code, seed in SEEDS.items():
        data = load_seed(seed)
        for project in data["projects"]:
            row = projects.pop((names[code], project["项目名称"]))
            for label in ("年度资金申请总额", "上年结转资金", "年度其他资金", "项目资金总额"):
                want = project[label]
                got = row[col[label]]
                assert (got is None and want is None) or Decimal(str(got)).quantize(Decimal("0.01")) == Decimal(want)
            assert row[col["指标合计"]] == len(project["indicators"])
    assert projects == {}


def test_subtotals_and_total_are_formulas_with_values(merged):
    rows, wb = _rows(merged.path, SUMMARY_SHEET)
    formulas = [list(r) for r in openpyxl.load_workbook(merged.path, data_only=False)[SUMMARY_SHEET].iter_rows(values_only=True)]
    header = rows[SUMMARY_HEADER_ROW]
    total_col = header.index("年度资金申请总额")
    whole_col = header.index("项目资金总额")
    subtotal_rows = [i for i, r in enumerate(formulas) if isinstance(r[1], str) and r[1].endswith("小计")]
    assert len(subtotal_rows) == 2
    for i in subtotal_rows:
        assert str(formulas[i][total_col]).startswith("=SUM(")
        assert formulas[i][whole_col] is None          # a multi-year total is not added across projects
    (grand,) = [i for i, r in enumerate(formulas) if r[0] == "合计"]
    assert str(formulas[grand][total_col]).startswith("=SUMIFS(")    # by row kind, not by any name
    # The cached values (what a reader without recalculation shows) are the exact totals.
    import python_calamine
    cached = python_calamine.CalamineWorkbook.from_path(str(merged.path)).get_sheet_by_name(SUMMARY_SHEET).to_python(
        skip_empty_area=False)
    assert Decimal(str(cached[grand][total_col])).quantize(Decimal("0.01")) == Decimal("20044234.00")
    assert Decimal(str(cached[subtotal_rows[0]][total_col])).quantize(Decimal("0.01")) == Decimal("5704700.00")


def test_detail_has_every_indicator_once_with_official_value(merged):
    rows, _ = _rows(merged.path, DETAIL_SHEET)
    header = rows[0]
    col = {h: i for i, h in enumerate(header)}
    body = rows[1:]
    assert len(body) == 107 + 110
    got = {}
    for r in body:
        key = (r[col["项目名称"]], r[col["三级指标"]], r[col["实施单位"]])
        got[key] = got.get(key, 0) + 1
    assert all(n == 1 for n in got.values())
    # The official value string parses back to the seed value (same operator, number and unit).
    names = {"310001": "上海市欧美同学会", "310002": "上海市科学技术协会"}
    official = {(r[col["实施单位"]], r[col["项目名称"]], r[col["三级指标"]]): r[col["指标值（规范写法）"]] for r in body}
    for code, seed in SEEDS.items():
        for project in load_seed(seed)["projects"]:
            for ind in project["indicators"]:
                value = official[(names[code], project["项目名称"], ind["三级指标"])]
                want, have = parse_value(ind["指标值"]), parse_value(value)
                if ind["三级指标"] == "推动信息量":
                    continue  # corrected by the unit in the demo round
                assert (have.kind, have.op or "=", have.number, have.unit) == (want.kind, want.op or "=", want.number, want.unit) \
                    or have.text == want.text.strip()


def test_status_lists_every_roster_unit(merged):
    rows, _ = _rows(merged.path, STATUS_SHEET)
    assert rows[0][0] == f"{DEPT}{YEAR}年度项目绩效目标报送情况"
    header = rows[1]
    col = {h: i for i, h in enumerate(header)}
    units = {r[col["单位编码"]]: r for r in rows[2:] if isinstance(r[0], int)}
    assert {code: r[col["状态"]] for code, r in units.items()} == {"310001": "通过", "310002": "通过", "310003": "未报送"}
    # What was merged is counted; a unit that sent nothing has blanks, not zeros.
    assert units["310001"][col["项目数"]] == 11 and units["310001"][col["指标数"]] == 107
    assert units["310001"][col["年度资金申请总额（元）"]] == 5704700
    missing = units["310003"]
    assert [missing[col[k]] for k in ("项目数", "指标数", "错误数", "提示数", "年度资金申请总额（元）")] == [None] * 5


def test_reconciliation_lines(merged):
    assert merged.reconciliation[-1].startswith("合计：26 个项目、217 条指标")
    assert "20,044,234.00" in merged.reconciliation[-1]


def test_records_wait_on_disk_and_load_one_unit_at_a_time(merged):
    """A province's records would be most of merge's memory: they are kept pickled in a temporary
    file, in roster order, and each unit's are loaded when asked for (the last unit stays loaded)."""
    c = merged.consolidated
    records = c.projects
    assert isinstance(records, Records) and len(records) == sum(s.projects for s in c.units) > 0
    assert records.order == [s.unit.code for s in c.units if s.projects]          # roster order
    first, second = records.order[:2]
    loaded = records.of(first)
    assert records.of(first) is loaded and all(p.unit.code == first for p in loaded)
    records.of(second)
    again = records.of(first)
    assert again is not loaded and again == loaded                                 # read back the same
    assert [p.row for p in again] == sorted(p.row for p in again)                 # sheet order
    assert [(p.unit.code, p.name) for p in records] == [(code, p.name) for code in records.order
                                                        for p in records.of(code)]
    assert records.of("not-a-unit") == []
    assert c.rows("projects") == len(records) and c.rows("indicators") == sum(len(p.indicators) for p in records)
    for code in records.order:
        by_hand = sum((p.values.get("annual_total") or Decimal(0) for p in records.of(code)), Decimal(0))
        assert c.totals(code)["annual_total"] == by_hand


def test_spool_goes_with_the_last_reference(tmp_path, fixed_returns, roster):
    import gc

    from jixiao.merge import Spool, prepare_merge

    c, _reports, _files = prepare_merge(list(fixed_returns.values()), roster=roster, department=DEPT, year=YEAR)
    folder = Path(c.projects.spool.folder)
    assert folder.is_dir() and any(folder.iterdir()) and len(list(c.projects)) == len(c.projects)
    del c, _reports
    gc.collect()
    assert not folder.exists()
    spool = Spool()                         # a merge refused before its records were consolidated
    folder = Path(spool.folder)
    del spool
    gc.collect()
    assert not folder.exists()


def test_refuses_on_errors_and_writes_nothing(tmp_path, seed_returns, roster):
    out = tmp_path / "out.xlsx"
    with pytest.raises(MergeRefused) as exc:
        merge_files(list(seed_returns.values()), out, roster=roster, department=DEPT, year=YEAR)
    assert "2 个文件有错误" in str(exc.value)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_skip_invalid_leaves_them_out(tmp_path, seed_returns, fixed_returns, roster):
    result = merge_files([seed_returns["310002"], fixed_returns["310001"]], tmp_path / "out.xlsx",
                         roster=roster, department=DEPT, year=YEAR, skip_invalid=True)
    status = {u.unit.code: u.status for u in result.consolidated.units}
    assert status == {"310001": "通过", "310002": "有错误未汇总", "310003": "未报送"}
    assert len(result.consolidated.projects) == 11


def test_two_files_of_one_unit_are_refused_naming_both(tmp_path, fixed_returns, roster):
    a = shutil.copy(fixed_returns["310001"], tmp_path / "a.xlsx")
    b = shutil.copy(fixed_returns["310001"], tmp_path / "310001_b.xlsx")
    with pytest.raises(MergeRefused) as exc:
        merge_files([a, b], tmp_path / "out.xlsx", roster=roster, department=DEPT, year=YEAR)
    assert "a.xlsx" in str(exc.value) and "310001_b.xlsx" in str(exc.value)


def test_user_text_that_looks_like_a_formula_stays_text(tmp_path, templates, roster):
    project = clean_project("=HYPERLINK(\"http://example.com\",\"点我\")")
    path = make_return(tmp_path, templates["310001"], unit_data(project))
    edit_cells(path, {("项目信息", "A3"): "+SUM(A1:A2)项目", ("绩效指标", "A3"): "+SUM(A1:A2)项目",
                      ("绩效指标", "A4"): "+SUM(A1:A2)项目", ("绩效指标", "A5"): "+SUM(A1:A2)项目",
                      ("绩效指标", "A6"): "+SUM(A1:A2)项目", ("绩效指标", "A7"): "+SUM(A1:A2)项目",
                      ("绩效指标", "A8"): "+SUM(A1:A2)项目", ("项目信息", "N3"): "-全年举办业务培训12次，培训600人次"})
    result = merge_files([path], tmp_path / "out.xlsx", roster=roster, department=DEPT, year=YEAR)
    wb = openpyxl.load_workbook(result.path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "SUM(A1:A2)" in cell.value:
                    assert cell.data_type == "s", (ws.title, cell.coordinate)


def test_output_open_in_excel_gives_a_clear_message(tmp_path, fixed_returns, roster, monkeypatch):
    def locked(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(OutputError) as exc:
        merge_files([fixed_returns["310001"]], tmp_path / "out.xlsx", roster=roster, department=DEPT, year=YEAR)
    assert "请先关闭" in str(exc.value) or "正在 Excel" in str(exc.value)


def test_inputs_of_different_years_are_refused(tmp_path, fixed_returns, roster):
    from jixiao.template import write_templates
    from jixiao.samples import fill_template
    from jixiao.spec import load_form

    other = write_templates(roster, DEPT, 2024, tmp_path / "t2024")[1]
    project = clean_project(计划开始日期="2024-01-01", 计划完成日期="2024-12-31")
    path = fill_template(other, unit_data(project), tmp_path / other.name, load_form())
    with pytest.raises(MergeRefused) as exc:
        merge_files([fixed_returns["310001"], path], tmp_path / "out.xlsx", roster=roster)
    assert "不同的年度" in str(exc.value)


def test_cli_merge_exit_codes(tmp_path, seed_returns, fixed_returns, roster_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["merge", *map(str, seed_returns.values()), "-o", str(tmp_path / "x.xlsx"),
                              "--roster", str(roster_path), "--quiet"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    good = runner.invoke(app, ["merge", *map(str, fixed_returns.values()), "-o", str(tmp_path),
                               "--roster", str(roster_path), "--quiet"])
    assert good.exit_code == 0, good.output
    assert "逐分一致" in good.output
    missing = runner.invoke(app, ["merge", str(tmp_path / "nope"), "-o", str(tmp_path / "y.xlsx")])
    assert missing.exit_code == 2


def test_forms_split_over_sheets_past_excel_limits(tmp_path, fixed_returns, roster, monkeypatch):
    """Past Excel's page-break limit the 申报表 goes on several sheets; 汇总 links every project."""
    import jixiao.render as render

    monkeypatch.setattr(render, "MAX_FORM_BLOCKS", 10)
    result = merge_files(list(fixed_returns.values()), tmp_path / "out.xlsx", roster=roster,
                         department=DEPT, year=YEAR)
    wb = openpyxl.load_workbook(result.path)
    forms = [n for n in wb.sheetnames if n.startswith("申报表")]
    # 11 projects of one unit: 10 + 1; the next unit (15) starts a sheet of its own: 10 + 5.
    assert forms == ["申报表(1)", "申报表(2)", "申报表(3)", "申报表(4)"]
    assert all(len(n) <= 31 for n in wb.sheetnames)
    links = [c.hyperlink.location for row in wb[SUMMARY_SHEET].iter_rows() for c in row if c.hyperlink]
    assert len(links) == 26
    for location in links:
        sheet, cell = location.rsplit("!", 1)
        assert wb[sheet.strip("'")][cell].value == "财政项目支出绩效目标申报表"


# --- the 汇总表 under recalculation, and its XML as a golden file ----------------------------------

GOLDEN_SUMMARY = Path(__file__).parent / "data" / "golden" / "summary-small.xml"


def small_merge(tmp_path, templates, roster) -> Path:
    """Two units, three clean projects: the smallest 汇总表 with subtotals, a total and blanks."""
    a = make_return(tmp_path, templates["310001"], unit_data(clean_project("培训项目"), clean_project("会议项目")))
    b = make_return(tmp_path, templates["310002"], unit_data(clean_project("宣传项目", 年度其他资金="0.00",
                                                                           年度资金申请总额="100000.00")))
    return merge_files([a, b], tmp_path / "out.xlsx", roster=roster, department=DEPT, year=YEAR).path


def golden_summary_text(path: Path) -> str:
    """Every worksheet's XML and the workbook's, one tag per line (docProps, with its time, left out)."""
    import re
    import zipfile

    out = []
    with zipfile.ZipFile(path) as zf:
        for name in sorted(zf.namelist()):
            if name == "xl/workbook.xml" or name.startswith("xl/worksheets/sheet"):
                out.append(f"== {name}")
                out.append(re.sub(r"><", ">\n<", zf.read(name).decode("utf-8")))
    return "\n".join(out) + "\n"


def test_golden_summary(tmp_path, templates, roster):
    actual = golden_summary_text(small_merge(tmp_path, templates, roster))
    if os.environ.get("JIXIAO_REGEN_GOLDEN"):
        GOLDEN_SUMMARY.write_text(actual, encoding="utf-8")
    expected = GOLDEN_SUMMARY.read_text(encoding="utf-8")
    assert actual == expected, ("the 汇总表's sheets changed; if intended, regenerate with "
                                "JIXIAO_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/test_merge.py -k golden")


@pytest.mark.requires_soffice("pdftotext")
def test_totals_hold_when_a_client_recalculates_them_whatever_the_names(tmp_path):
    """A unit whose name ends in 小计 (or is 合计): LibreOffice recalculating every formula on load
    gives the totals of the inputs — the totals add rows by a kind jixiao writes, not by any name."""
    import python_calamine

    from jixiao.roster import Roster, Unit
    from jixiao.template import write_templates
    from printcheck import recalculated

    roster = Roster([Unit("310001", "上海市欧美同学会小计"), Unit("310002", "合计")])
    made = {p.name.split("_")[0]: p for p in write_templates(roster, DEPT, YEAR, tmp_path / "t")}
    a = make_return(tmp_path, made["310001"], unit_data(clean_project("培训项目"), clean_project("会议项目")))
    b = make_return(tmp_path, made["310002"], unit_data(clean_project("宣传项目")))
    result = merge_files([a, b], tmp_path / "out.xlsx", roster=roster, department=DEPT, year=YEAR)
    again = recalculated(result.path, tmp_path / "lo")
    rows = python_calamine.CalamineWorkbook.from_path(str(again)).get_sheet_by_name(SUMMARY_SHEET).to_python()
    header = rows[SUMMARY_HEADER_ROW]
    col = header.index("年度资金申请总额")
    kind = header.index("行类型")
    (total,) = [r for r in rows if r[kind] == "合计"]
    assert Decimal(str(total[col])).quantize(Decimal("0.01")) == Decimal("360000.00")
    subtotals = [Decimal(str(r[col])).quantize(Decimal("0.01")) for r in rows if r[kind] == "小计"]
    assert subtotals == [Decimal("240000.00"), Decimal("120000.00")]


def test_a_full_temporary_disk_is_a_clear_message(tmp_path, fixed_returns, roster, monkeypatch):
    import errno

    import jixiao.merge as merge_mod

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(merge_mod.tempfile, "mkdtemp", full)
    with pytest.raises(OutputError, match="无法写入临时文件夹.*TMPDIR"):
        merge_files(list(fixed_returns.values()), tmp_path / "out.xlsx", roster=roster, department=DEPT, year=YEAR)
    assert not (tmp_path / "out.xlsx").exists()
