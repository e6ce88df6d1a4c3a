"""One folder per collection: `jixiao init` writes jixiao.toml and copies the roster in; inside the
folder (or with -C) templates, check, status and merge need no other argument; options win."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jixiao.check import FAILED, check_files
from jixiao.cli import app
from jixiao.collection import (INBOX_DIR, RESULTS_DIR, SETTINGS_NAME, TEMPLATES_DIR, Collection, SettingsError,
                               init_collection)
from jixiao.errors import UsageError
from jixiao.reader import read_workbook
from jixiao.samples import apply_fixes, fill_template, load_seed, translate
from jixiao.spec import load_form
from jixiao.roster import load_roster
from jixiao.status import STATUS_MISSING, STATUS_OK, collection_status

DEPT, YEAR = "上海市示例主管部门", 2023
runner = CliRunner()


def invoke(*args: str, **kwargs):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)


@pytest.fixture
def budget_csv(tmp_path) -> Path:
    path = tmp_path / "来源" / "预算.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("单位编码,项目名称,项目性质,项目类别,年度资金申请总额,当年财政拨款,上年结转资金,年度其他资金\n"
                    "310001,培训项目,经常性专项业务费,特定目标类,120000,100000,0,20000\n", encoding="utf-8")
    return path


def test_init_writes_commented_settings_and_copies_roster_and_budget(tmp_path, roster_path, budget_csv):
    folder = tmp_path / "2023年度绩效目标"
    result = invoke("init", folder, "--roster", roster_path, "--dept", DEPT, "--year", "2023",
                    "--budget", budget_csv, "--deadline", "2023年3月31日")
    assert result.exit_code == 0, result.output
    assert "已建立收集文件夹" in result.output and "jixiao -C" in result.output
    text = (folder / SETTINGS_NAME).read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) >= 10 and any("主管部门" in c for c in comments)
    assert (folder / roster_path.name).read_bytes() == roster_path.read_bytes()
    assert (folder / "预算.csv").read_bytes() == budget_csv.read_bytes()
    assert (folder / INBOX_DIR).is_dir()
    c = Collection.load(folder)
    assert (c.department, c.year, c.form, c.deadline) == (DEPT, YEAR, "sh-project", dt.date(2023, 3, 31))
    assert c.roster == folder / roster_path.name and c.budget == folder / "预算.csv"
    assert c.summary_path == folder / f"{DEPT}2023年度项目绩效目标汇总表.xlsx"


def test_init_refuses_before_writing_anything(tmp_path, roster_path):
    folder = tmp_path / "c"
    cases = [
        (["--dept", "", "--year", "2023"], "主管部门名称不能为空"),
        (["--dept", DEPT, "--year", "1999"], "年度 1999 不合理"),
        (["--dept", DEPT, "--year", "2023", "--deadline", "2019-03-31"], "截止日期 2019-03-31 不合理"),
        (["--dept", DEPT, "--year", "2023", "--form", "nope"], "找不到表单规格 nope"),
    ]
    for args, message in cases:
        result = invoke("init", folder, "--roster", roster_path, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and not folder.exists(), args
    missing = invoke("init", folder, "--roster", tmp_path / "没有.csv", "--dept", DEPT, "--year", "2023")
    assert missing.exit_code == 2 and "文件不存在" in missing.output and not (folder / SETTINGS_NAME).exists()


def test_init_refuses_an_existing_collection(tmp_path, roster_path):
    init_collection(tmp_path / "c", roster_path, DEPT, 2023)
    before = (tmp_path / "c" / SETTINGS_NAME).read_bytes()
    result = invoke("init", tmp_path / "c", "--roster", roster_path, "--dept", "另一个部门", "--year", "2024")
    assert result.exit_code == 2 and "已经是收集文件夹" in result.output
    assert (tmp_path / "c" / SETTINGS_NAME).read_bytes() == before


def write_settings(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS_NAME).write_text(text, encoding="utf-8")
    return folder


def test_unknown_keys_are_refused_by_name(tmp_path, roster_path):
    shutil.copy(roster_path, tmp_path / "roster.csv")
    write_settings(tmp_path, f'dept = "{DEPT}"\nyear = 2023\nroster = "roster.csv"\nyaer = 2024\npassword = "x"\n')
    with pytest.raises(SettingsError) as exc:
        Collection.load(tmp_path)
    assert "无法识别的设置：yaer、password" in str(exc.value)


@pytest.mark.parametrize("text,message", [
    ('dept = "{dept}"\nroster = "roster.csv"\n', "缺少设置 year"),
    ('dept = 上海\nyear = 2023\nroster = "roster.csv"\n', "第 1 行写法有误"),
    ('dept = "{dept}"\nyear = 2099\nroster = "roster.csv"\ndeadline = 2023-03-31\n', "deadline（报送截止日期）有误"),
    ('dept = ""\nyear = 2023\nroster = "roster.csv"\n', "主管部门名称不能为空"),
    ('dept = "{dept}"\nyear = 2023\nroster = "别处.csv"\n', "报送名单 别处.csv 不存在"),
])
def test_bad_settings_are_one_chinese_sentence(tmp_path, roster_path, text, message):
    shutil.copy(roster_path, tmp_path / "roster.csv")
    write_settings(tmp_path, text.format(dept=DEPT))
    with pytest.raises(UsageError, match=message):
        Collection.load(tmp_path)
    result = invoke("-C", tmp_path, "status")
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_a_folder_without_settings_is_not_a_collection(tmp_path):
    result = invoke("-C", tmp_path, "check")
    assert result.exit_code == 2
    assert "不是收集文件夹" in result.output and "jixiao init" in result.output


def returns_into(folder: Path, plan, spec, fixed: bool, codes=("310001", "310002")) -> list[Path]:
    paths = []
    for unit in plan["units"]:
        if unit["code"] not in codes:
            continue
        template = next((folder / TEMPLATES_DIR).glob(f"{unit['code']}_*.xlsx"))
        data = load_seed(unit["seed"])
        name = template.name
        if fixed:
            data = apply_fixes(translate(data, spec), unit["code"], plan.get("fix", []))
            name = f"{template.stem}（更正）.xlsx"
        paths.append(fill_template(template, data, folder / INBOX_DIR / name, spec))
    return paths


def test_the_whole_round_in_one_folder_with_no_other_argument(tmp_path, roster_path, plan, monkeypatch):
    folder = tmp_path / "收集"
    assert invoke("init", folder, "--roster", roster_path, "--dept", DEPT, "--year", "2023",
                  "--deadline", "2023/3/31").exit_code == 0
    monkeypatch.chdir(folder)
    result = invoke("templates")
    assert result.exit_code == 0, result.output
    templates = sorted((folder / TEMPLATES_DIR).glob("*.xlsx"))
    assert len(templates) == 3
    assert read_workbook(templates[0], load_form()).meta["截止日期"] == "2023-03-31"

    spec = load_form()
    first = returns_into(folder, plan, spec, fixed=False)
    result = invoke("check")
    assert result.exit_code == 1, result.output
    assert {p.name for p in (folder / RESULTS_DIR).iterdir()} == {f"{p.stem}_校验结果.xlsx" for p in first}
    assert [r.verdict for r in check_files(first)] == [FAILED, FAILED]

    returns_into(folder, plan, spec, fixed=True)
    result = invoke("status")
    assert result.exit_code == 0 and "应报 3 家：通过 2，有错误 0，未报送 1" in result.output
    c = Collection.load(folder)
    report = collection_status(c.inbox, load_roster(c.roster), department=c.department, year=c.year)
    assert [r.status for r in report.rows] == [STATUS_OK, STATUS_OK, STATUS_MISSING]

    result = invoke("merge")
    assert result.exit_code == 0, result.output
    summary = Collection.load(folder).summary_path
    assert summary.is_file() and "逐分一致" in result.output


def test_minus_c_from_elsewhere_and_explicit_options_win(tmp_path, roster_path, plan, monkeypatch):
    folder = tmp_path / "收集"
    init_collection(folder, roster_path, DEPT, 2023)
    monkeypatch.chdir(tmp_path)
    assert invoke("-C", folder, "templates").exit_code == 0
    returns_into(folder, plan, load_form(), fixed=True)
    assert invoke("check", "-C", folder).exit_code == 0          # -C after the command works too
    # An explicit --year wins over the settings: the returns are now of the wrong year.
    other_year = invoke("-C", folder, "check", "--year", "2024", "--json")
    assert other_year.exit_code == 1 and '"S-07"' in other_year.output
    # Explicit paths and output win too.
    out = tmp_path / "另存" / "汇总.xlsx"
    one = next((folder / INBOX_DIR).glob("310001_*"))
    result = invoke("-C", folder, "merge", one, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.is_file() and not Collection.load(folder).summary_path.exists()


def test_templates_of_a_collection_use_its_budget(tmp_path, roster_path, budget_csv):
    folder = tmp_path / "c"
    init_collection(folder, roster_path, DEPT, 2023, budget=budget_csv)
    assert invoke("-C", folder, "templates").exit_code == 0
    template = next((folder / TEMPLATES_DIR).glob("310001_*.xlsx"))
    (report,) = check_files([template])
    assert report.verdict == FAILED and [f.rule for f in report.findings] == ["S-23"]
    assert "预算预填的 1 个项目" in report.findings[0].message


def test_an_explicit_roster_does_not_take_the_collections_budget(tmp_path, budget_csv, roster_path):
    folder = tmp_path / "c"
    init_collection(folder, roster_path, DEPT, 2023, budget=budget_csv)
    other = tmp_path / "另一名单.csv"
    other.write_text("单位编码,单位名称\n990001,另一单位\n", encoding="utf-8")
    result = invoke("-C", folder, "templates", other, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert [p.name.split("_")[0] for p in (tmp_path / "out").iterdir()] == ["990001"]
