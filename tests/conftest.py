"""Shared fixtures: real templates made by the code, filled with the real seed projects."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from jixiao.roster import load_roster
from jixiao.samples import apply_fixes, fill_template, load_seed, load_units_plan, samples_dir
from jixiao.spec import load_form
from jixiao.template import write_templates

DEPT = "上海市示例主管部门"
YEAR = 2023


@pytest.fixture(scope="session")
def spec():
    return load_form()


@pytest.fixture(scope="session")
def plan():
    """The demo's first round: the Shanghai project form with seeds 000 and 001."""
    return load_units_plan()["round"][0]


@pytest.fixture(scope="session")
def roster_path() -> Path:
    return samples_dir() / "roster.csv"


@pytest.fixture(scope="session")
def roster(roster_path):
    return load_roster(roster_path)


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory, roster) -> Path:
    out = tmp_path_factory.mktemp("templates")
    write_templates(roster, DEPT, YEAR, out, deadline=dt.date(2023, 3, 31))
    return out


@pytest.fixture(scope="session")
def templates(template_dir) -> dict[str, Path]:
    """Unit code → its generated template."""
    return {p.name.split("_", 1)[0]: p for p in sorted(template_dir.glob("*.xlsx"))}


@pytest.fixture(scope="session")
def seed_returns(tmp_path_factory, templates, plan, spec) -> dict[str, Path]:
    """The seed projects as returned, real anomalies included: unit code → workbook."""
    out = tmp_path_factory.mktemp("returns")
    result = {}
    for unit in plan["units"]:
        template = templates[unit["code"]]
        result[unit["code"]] = fill_template(template, load_seed(unit["seed"]), out / template.name, spec)
    return result


@pytest.fixture(scope="session")
def fixed_returns(tmp_path_factory, templates, plan, spec) -> dict[str, Path]:
    """The seed projects after the units corrected their errors: unit code → workbook."""
    out = tmp_path_factory.mktemp("fixed")
    result = {}
    for unit in plan["units"]:
        template = templates[unit["code"]]
        data = apply_fixes(load_seed(unit["seed"]), unit["code"], plan.get("fix", []))
        result[unit["code"]] = fill_template(template, data, out / template.name, spec)
    return result


@pytest.fixture
def copy_of(tmp_path):
    """Copy a workbook into the test's own folder (tests never touch shared fixtures)."""

    def copy(path: Path, name: str | None = None) -> Path:
        target = tmp_path / (name or path.name)
        shutil.copy(path, target)
        return target

    return copy
