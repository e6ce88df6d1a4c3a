"""The department's inputs: roster and budget prefill (.csv in three encodings, .xlsx), one clear
Chinese line per problem, and `jixiao templates` all or nothing, library and CLI."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from jixiao import template as template_module
from jixiao.cli import app
from jixiao.fileio import OutputError
from jixiao.roster import InputError, Roster, Unit, load_budget, load_roster, read_table
from jixiao.template import template_filename, write_templates

DEPT = "上海市示例主管部门"
ROSTER_ROWS = [
    ["单位编码", "单位名称", "联系人", "联系电话"],
    ["310001", "上海市欧美同学会", "王老师", "021-00000001"],
    ["310002", "上海市科学技术协会", "李老师", "021-00000002"],
]
BUDGET_HEADER = ["单位编码", "项目名称", "项目性质", "项目类别", "年度资金申请总额", "当年财政拨款", "上年结转资金", "年度其他资金"]


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    """A CSV as Excel saves it: CRLF, quoted where needed, in the given encoding."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def empty_or_absent(folder: Path) -> bool:
    return not folder.exists() or list(folder.iterdir()) == []


def write_xlsx(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def problems_of(call) -> list[str]:
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value) == "\n".join(info.value.problems)
    return info.value.problems


def flat(text: str) -> str:
    """Terminal output without the line breaks rich adds at the console width."""
    return re.sub(r"\s+", "", text)


# --- roster -------------------------------------------------------------------------------

EXPECTED_UNITS = [Unit("310001", "上海市欧美同学会", "王老师", "021-00000001"),
                  Unit("310002", "上海市科学技术协会", "李老师", "021-00000002")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_roster_csv_in_every_encoding_excel_writes(tmp_path, encoding):
    path = write_csv(tmp_path / "名单.csv", ROSTER_ROWS, encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    roster = load_roster(path)
    assert roster.units == EXPECTED_UNITS
    assert roster.source == "名单.csv"
    assert roster.get("310002").name == "上海市科学技术协会"
    assert roster.get(" 310002 ") is not None and roster.get("999") is None
    assert roster.order("310002") == 1 and roster.order("999") == 2


def test_roster_xlsx_with_numeric_codes(tmp_path):
    rows = [ROSTER_ROWS[0], [310001, "上海市欧美同学会", "王老师", None], [310002.0, " 上海市科学技术协会\u3000", None, None]]
    roster = load_roster(write_xlsx(tmp_path / "名单.xlsx", rows))
    assert [(u.code, u.name, u.contact, u.phone) for u in roster.units] == [
        ("310001", "上海市欧美同学会", "王老师", ""), ("310002", "上海市科学技术协会", "", "")]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_header_below_a_title_within_five_rows(tmp_path, suffix):
    rows = [["2023年度绩效目标报送名单"], [], ["", "制表：财务处"], *ROSTER_ROWS]
    path = (write_csv if suffix == ".csv" else write_xlsx)(tmp_path / f"名单{suffix}", rows)
    assert [u.code for u in load_roster(path).units] == ["310001", "310002"]


def test_header_labels_are_normalised(tmp_path):
    rows = [["单位 编码", "单位名称：", "联系人"], ["310001", "上海市欧美同学会", "王老师"]]
    assert load_roster(write_csv(tmp_path / "r.csv", rows)).units == [Unit("310001", "上海市欧美同学会", "王老师")]


def test_header_below_row_five_is_not_found(tmp_path):
    rows = [["说明"]] * 5 + ROSTER_ROWS
    assert problems_of(lambda: load_roster(write_csv(tmp_path / "r.csv", rows))) == [
        "r.csv：前 5 行中找不到表头（应有 “单位编码”、“单位名称” 列）"]


def test_missing_name_column(tmp_path):
    rows = [["单位编码", "联系人"], ["310001", "王老师"]]
    assert problems_of(lambda: load_roster(write_csv(tmp_path / "r.csv", rows))) == ["r.csv：缺少列“单位名称”"]


def test_missing_code_column(tmp_path):
    rows = [["单位名称", "联系人"], ["上海市欧美同学会", "王老师"]]
    assert problems_of(lambda: load_roster(write_csv(tmp_path / "r.csv", rows))) == ["r.csv：缺少列“单位编码”"]


def test_empty_and_duplicate_codes_and_names_each_get_a_line(tmp_path):
    rows = [ROSTER_ROWS[0],
            ["310001", "上海市欧美同学会"],
            ["", "无编码单位"],
            ["310001", "重复单位"],
            ["310003", ""],
            ["A01", "甲单位"],
            ["a01", "乙单位"]]
    assert problems_of(lambda: load_roster(write_csv(tmp_path / "r.csv", rows))) == [
        "r.csv 第 3 行：单位编码为空",
        "r.csv 第 4 行：单位编码 310001 与第 2 行重复",
        "r.csv 第 5 行：单位名称为空",
        "r.csv 第 7 行：单位编码 a01 与第 6 行重复",      # the same file name on Windows and macOS
    ]


@pytest.mark.parametrize("char", list('/\\:*?"<>|'))
def test_unit_name_that_cannot_be_a_file_name(tmp_path, char):
    path = tmp_path / "r.xlsx"
    write_xlsx(path, [ROSTER_ROWS[0], ["310001", f"上海市{char}同学会"]])
    assert problems_of(lambda: load_roster(path)) == [
        f"r.xlsx 第 2 行：单位名称“上海市{char}同学会”不能用作文件名（不能含有 \\ / : * ? \" < > | 等字符，也不能过长），请修改"]


def test_unit_code_that_cannot_be_a_file_name(tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", [ROSTER_ROWS[0], ["31/0001", "上海市欧美同学会"], ["310002", "名称过长" * 30]])
    problems = problems_of(lambda: load_roster(path))
    assert len(problems) == 2
    assert problems[0].startswith("r.xlsx 第 2 行：单位编码“31/0001”不能用作文件名")
    assert problems[1].startswith("r.xlsx 第 3 行：单位名称“名称过长") and "也不能过长" in problems[1]


def test_blank_rows_are_skipped_and_row_numbers_stay_true(tmp_path):
    rows = [ROSTER_ROWS[0], ["310001", "上海市欧美同学会"], [], [" ", " "], ["", "无编码"]]
    assert problems_of(lambda: load_roster(write_csv(tmp_path / "r.csv", rows))) == ["r.csv 第 5 行：单位编码为空"]


def test_roster_without_units(tmp_path):
    assert problems_of(lambda: load_roster(write_csv(tmp_path / "r.csv", [ROSTER_ROWS[0]]))) == [
        "r.csv：名单中没有任何单位"]


def test_unreadable_roster_files(tmp_path):
    assert problems_of(lambda: load_roster(tmp_path / "none.csv")) == [f"{tmp_path / 'none.csv'}：文件不存在"]
    (tmp_path / "r.txt").write_text("单位编码,单位名称\n", encoding="utf-8")
    assert problems_of(lambda: load_roster(tmp_path / "r.txt")) == ["r.txt：只支持 .xlsx 或 .csv 文件"]
    (tmp_path / "r.xlsx").write_text("单位编码,单位名称\n", encoding="utf-8")
    assert problems_of(lambda: load_roster(tmp_path / "r.xlsx")) == ["r.xlsx：无法作为 .xlsx 打开（BadZipFile）"]
    (tmp_path / "r16.csv").write_bytes("单位编码,单位名称\n".encode("utf-16"))
    assert len(problems_of(lambda: load_roster(tmp_path / "r16.csv"))) == 1


def test_input_files_are_never_modified(tmp_path):
    path = write_csv(tmp_path / "r.csv", ROSTER_ROWS, "gbk")
    before = path.read_bytes()
    load_roster(path)
    assert path.read_bytes() == before


def test_read_table_reports_row_numbers(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["x"], ["单位编码", "单位名称"], ["1", "甲"], [], ["2", "乙"]])
    labels, rows = read_table(path, ("单位编码", "单位名称"))
    assert labels == ["单位编码", "单位名称"]
    assert [(n, r["单位编码"]) for n, r in rows] == [(3, "1"), (5, "2")]


# --- budget -------------------------------------------------------------------------------

@pytest.fixture
def roster() -> Roster:
    return Roster(list(EXPECTED_UNITS))


def budget_rows(*rows) -> list[list]:
    return [BUDGET_HEADER, *rows]


GOOD_ROW = ["310001", "留学人员之家运行保障费", "经常性专项业务费", "特定目标类", "700000.00", "700000.00", "0", "0"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_budget_csv(tmp_path, roster, encoding):
    path = write_csv(tmp_path / "预算.csv", budget_rows(GOOD_ROW, ["310002", "会议费", "", "", "1,000.5", "1000.50", "", ""]),
                     encoding)
    budget = load_budget(path, roster)
    assert list(budget) == ["310001", "310002"]
    (row,) = budget["310001"]
    assert row.unit_code == "310001"
    assert row.values == {"name": "留学人员之家运行保障费", "nature": "经常性专项业务费", "category": "特定目标类",
                          "annual_total": Decimal("700000.00"), "fiscal": Decimal("700000.00"),
                          "carryover": Decimal("0.00"), "other": Decimal("0.00")}
    # Empty cells are not prefilled; "1,000.5" is read as the amount it shows.
    assert budget["310002"][0].values == {"name": "会议费", "annual_total": Decimal("1000.50"),
                                          "fiscal": Decimal("1000.50")}


def test_budget_xlsx_with_numbers_and_only_some_columns(tmp_path, roster):
    rows = [["单位编码", "项目名称", "年度资金申请总额"], [310001, "宣传工作经费", 692360], [310001.0, "会员代表大会", 1233900.5]]
    budget = load_budget(write_xlsx(tmp_path / "b.xlsx", rows), roster)
    assert [r.values for r in budget["310001"]] == [
        {"name": "宣传工作经费", "annual_total": Decimal("692360.00")},
        {"name": "会员代表大会", "annual_total": Decimal("1233900.50")}]


def test_budget_problems_each_get_a_line(tmp_path, roster):
    rows = budget_rows(
        GOOD_ROW,
        ["999999", "别人的项目", "", "", "1", "1", "0", "0"],
        ["310001", "", "", "", "1", "1", "0", "0"],
        ["310001", "坏金额", "", "", "abc", "", "", ""],
        ["310001", "负金额", "", "", "-5", "", "", ""],
        ["310001", "三位小数", "", "", "1.234", "", "", ""],
        ["310001", "加总不符", "", "", "100", "60", "30", "0"],
        ["310001", "留学人员之家 运行保障费", "", "", "", "", "", ""],
    )
    assert problems_of(lambda: load_budget(write_csv(tmp_path / "b.csv", rows), roster)) == [
        "b.csv 第 3 行：单位编码 999999 不在名单中",
        "b.csv 第 4 行：单位编码和项目名称都必须填写",
        "b.csv 第 5 行：年度资金申请总额“abc”不是有效金额",
        "b.csv 第 6 行：年度资金申请总额 -5 必须不小于 0 且最多两位小数",
        "b.csv 第 7 行：年度资金申请总额 1.234 必须不小于 0 且最多两位小数",
        "b.csv 第 8 行：年度资金申请总额 100.00 ≠ 当年财政拨款＋上年结转资金＋年度其他资金 90.00",
        "b.csv 第 9 行：项目“留学人员之家 运行保障费”与第 2 行重复",
    ]


def test_budget_missing_columns(tmp_path, roster):
    rows = [["单位编码", "年度资金申请总额"], ["310001", "1"]]
    assert problems_of(lambda: load_budget(write_csv(tmp_path / "b.csv", rows), roster)) == ["b.csv：缺少列“项目名称”"]


# --- write_templates: all or nothing --------------------------------------------------------

def test_write_templates_names_files_by_code_name_and_year(tmp_path, roster):
    paths = write_templates(roster, DEPT, 2023, tmp_path / "out")
    assert [p.name for p in paths] == ["310001_上海市欧美同学会_2023年度项目绩效目标申报表.xlsx",
                                       "310002_上海市科学技术协会_2023年度项目绩效目标申报表.xlsx"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]
    assert template_filename(EXPECTED_UNITS[0], 2024) == "310001_上海市欧美同学会_2024年度项目绩效目标申报表.xlsx"


def test_failure_on_the_second_unit_leaves_the_folder_empty(tmp_path, roster, monkeypatch):
    real = template_module.write_template
    calls = []

    def fail_on_second(spec, request, path, password=None, content=None):
        calls.append(request.unit.code)
        if len(calls) == 2:
            raise OSError("disk full")
        real(spec, request, path, password, content)

    monkeypatch.setattr(template_module, "write_template", fail_on_second)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        write_templates(roster, DEPT, 2023, out)
    assert calls == ["310001", "310002"]          # the first template was written, then thrown away
    assert list(out.iterdir()) == []


def test_existing_files_survive_a_failed_batch(tmp_path, roster, monkeypatch):
    out = tmp_path / "out"
    first = write_templates(roster, DEPT, 2023, out)
    before = {p.name: p.read_bytes() for p in first}
    monkeypatch.setattr(template_module, "write_template", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        write_templates(roster, DEPT, 2023, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_budget_too_big_for_the_second_unit_writes_nothing(tmp_path, roster, spec):
    rows = [GOOD_ROW] + [["310002", f"项目{i}", "", "", "1", "1", "0", "0"] for i in range(spec.projects.rows + 1)]
    budget = load_budget(write_csv(tmp_path / "b.csv", budget_rows(*rows)), roster)
    out = tmp_path / "out"
    assert problems_of(lambda: write_templates(roster, DEPT, 2023, out, budget=budget)) == [
        f"单位 310002 上海市科学技术协会 的预算项目有 {spec.projects.rows + 1} 个，超过模板的 "
        f"{spec.projects.rows} 行：请拆分或联系管理员"]
    assert empty_or_absent(out)


def test_budget_code_values_must_be_in_the_code_lists(tmp_path, roster):
    rows = [GOOD_ROW,
            ["310001", "宣传工作经费", "经常性 专项业务费", "特定目标类", "1", "1", "0", "0"],   # spelling variant: fine
            ["310002", "会议费", "经常项目", "特定类", "1", "1", "0", "0"],
            ["310002", "名称" * 51, "", "", "1", "1", "0", "0"]]
    budget = load_budget(write_csv(tmp_path / "b.csv", budget_rows(*rows)), roster)
    problems = problems_of(lambda: write_templates(roster, DEPT, 2023, tmp_path / "out", budget=budget))
    assert problems[0].startswith("单位 310002 上海市科学技术协会 项目“会议费”：项目性质“经常项目”不在代码表中（可选：经常性专项业务费、")
    assert problems[1].startswith("单位 310002 上海市科学技术协会 项目“会议费”：项目类别“特定类”不在代码表中")
    assert problems[2] == f"单位 310002 上海市科学技术协会 项目“{'名称' * 51}”：项目名称超过 100 个字"
    assert len(problems) == 3
    assert empty_or_absent(tmp_path / "out")
    # Without the bad rows, the variant spelling is frozen as the listed value.
    budget.pop("310002")
    paths = write_templates(roster, DEPT, 2023, tmp_path / "out", budget=budget)
    ws = openpyxl.load_workbook(paths[0])["项目信息"]
    assert ws["B4"].value == "经常性专项业务费"


def test_output_that_is_a_file(tmp_path, roster):
    target = tmp_path / "out.xlsx"
    target.write_bytes(b"x")
    with pytest.raises(OutputError, match="是一个文件，不是文件夹"):
        write_templates(roster, DEPT, 2023, target)
    assert target.read_bytes() == b"x"


def test_progress_is_called_once_per_unit(tmp_path, roster):
    seen = []
    write_templates(roster, DEPT, 2023, tmp_path / "out", progress=seen.append)
    assert [u.code for u in seen] == ["310001", "310002"]


# --- the CLI ------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_templates(tmp_path):
    roster = write_csv(tmp_path / "名单.csv", ROSTER_ROWS, "gbk")
    budget = write_csv(tmp_path / "预算.csv", budget_rows(GOOD_ROW), "utf-8-sig")
    out = tmp_path / "模板"
    result = runner.invoke(app, ["templates", str(roster), "--dept", DEPT, "--year", "2023", "-o", str(out),
                                 "--budget", str(budget), "--deadline", "2023-03-31", "--quiet"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "已生成 2 份模板" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["310001_上海市欧美同学会_2023年度项目绩效目标申报表.xlsx",
                                                     "310002_上海市科学技术协会_2023年度项目绩效目标申报表.xlsx"]
    wb = openpyxl.load_workbook(out / "310001_上海市欧美同学会_2023年度项目绩效目标申报表.xlsx")
    assert wb["项目信息"]["A3"].value == "留学人员之家运行保障费"
    assert wb["_meta"]["B7"].value == "2023-03-31"
    assert wb.security.workbookPassword is None


def test_cli_templates_with_password(tmp_path):
    from openpyxl.utils.protection import hash_password

    roster = write_csv(tmp_path / "名单.csv", ROSTER_ROWS)
    result = runner.invoke(app, ["templates", str(roster), "--dept", DEPT, "--year", "2023", "-o", str(tmp_path / "o"),
                                 "--password", "s3cret"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(next((tmp_path / "o").iterdir()))
    assert wb.security.lockStructure and wb.security.workbookPassword == hash_password("s3cret")
    assert {ws.protection.password for ws in wb.worksheets} == {hash_password("s3cret")}


def cli_fails(tmp_path, args: list[str], *messages: str) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["templates", *args, "--dept", DEPT, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for message in messages:
        assert flat("错误：" + message) in flat(result.output), result.output
    assert empty_or_absent(out)


def test_cli_bad_roster(tmp_path):
    roster = write_csv(tmp_path / "名单.csv", [ROSTER_ROWS[0], ["310001", "上海/欧美"], ["310001", "重复"]])
    cli_fails(tmp_path, [str(roster), "--year", "2023"],
              "名单.csv 第 2 行：单位名称“上海/欧美”不能用作文件名",
              "名单.csv 第 3 行：单位编码 310001 与第 2 行重复")


def test_cli_missing_roster(tmp_path):
    cli_fails(tmp_path, [str(tmp_path / "没有.csv"), "--year", "2023"], f"{tmp_path / '没有.csv'}：文件不存在")


def test_cli_bad_budget(tmp_path):
    roster = write_csv(tmp_path / "名单.csv", ROSTER_ROWS)
    budget = write_csv(tmp_path / "预算.csv", budget_rows(["310009", "项目", "", "", "x", "", "", ""]))
    cli_fails(tmp_path, [str(roster), "--year", "2023", "--budget", str(budget)], "预算.csv 第 2 行：单位编码 310009 不在名单中")


def test_cli_budget_too_big(tmp_path, spec):
    roster = write_csv(tmp_path / "名单.csv", ROSTER_ROWS)
    rows = [["310002", f"项目{i}", "", "", "", "", "", ""] for i in range(spec.projects.rows + 1)]
    budget = write_csv(tmp_path / "预算.csv", budget_rows(*rows))
    cli_fails(tmp_path, [str(roster), "--year", "2023", "--budget", str(budget)],
              f"单位 310002 上海市科学技术协会 的预算项目有 {spec.projects.rows + 1} 个")


def test_cli_bad_year_and_deadline(tmp_path):
    roster = write_csv(tmp_path / "名单.csv", ROSTER_ROWS)
    cli_fails(tmp_path, [str(roster), "--year", "23"], "年度 23 不合理")
    cli_fails(tmp_path, [str(roster), "--year", "2023", "--deadline", "3月31日"], "截止日期“3月31日”格式不对")


def test_cli_output_is_a_file(tmp_path):
    roster = write_csv(tmp_path / "名单.csv", ROSTER_ROWS)
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"x")
    result = runner.invoke(app, ["templates", str(roster), "--dept", DEPT, "--year", "2023", "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "是一个文件，不是文件夹" in flat(result.output)
    assert target.read_bytes() == b"x"
