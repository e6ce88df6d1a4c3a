"""Shared fixtures: real templates made by the code, filled with the real seed projects."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from jixiao.roster import load_roster
from jixiao.samples import apply_fixes, fill_template, load_seed, load_units_plan, samples_dir, translate
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


def _returns(folder: Path, templates, plan, spec, fixed: bool) -> dict[str, Path]:
    """Each sample unit's seed projects typed into its template: unit code → workbook."""
    result = {}
    for unit in plan["units"]:
        template = templates[unit["code"]]
        data = load_seed(unit["seed"])
        if fixed:
            data = apply_fixes(translate(data, spec), unit["code"], plan.get("fix", []))
        result[unit["code"]] = fill_template(template, data, folder / template.name, spec)
    return result


@pytest.fixture(scope="session")
def seed_returns(tmp_path_factory, templates, plan, spec) -> dict[str, Path]:
    """The seed projects as returned, real anomalies included."""
    return _returns(tmp_path_factory.mktemp("returns"), templates, plan, spec, fixed=False)


@pytest.fixture(scope="session")
def fixed_returns(tmp_path_factory, templates, plan, spec) -> dict[str, Path]:
    """The seed projects after the units corrected their errors."""
    return _returns(tmp_path_factory.mktemp("fixed"), templates, plan, spec, fixed=True)


@pytest.fixture
def copy_of(tmp_path):
    """Copy a workbook into the test's own folder (tests never touch shared fixtures)."""

    def copy(path: Path, name: str | None = None) -> Path:
        target = tmp_path / (name or path.name)
        shutil.copy(path, target)
        return target

    return copy


# --- LibreOffice ------------------------------------------------------------------------------
# `@pytest.mark.requires_soffice` (optionally with further commands: `requires_soffice("pdftotext")`):
# skipped when a command is missing, but an error when CI=true, so that CI cannot pass by skipping.

def pytest_configure(config):
    config.addinivalue_line("markers", "requires_soffice(*commands): needs LibreOffice (and the commands "
                                       "named); skipped where missing, an error when CI=true")
    config.addinivalue_line("markers", "requires_chromium: needs Debian's chromium (/usr/bin/chromium) and the "
                                       "playwright package; skipped where missing, an error when CI=true")


CHROMIUM = "/usr/bin/chromium"


def _chromium_missing() -> str | None:
    import importlib.util
    import os

    if not os.access(CHROMIUM, os.X_OK):
        return f"not installed: {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "not installed: the playwright package (pip install -e '.[test]')"
    return None


def pytest_runtest_setup(item):
    import os

    if item.get_closest_marker("requires_chromium") is not None:
        reason = _chromium_missing()
        if reason:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"{reason} (CI=true: browser tests may not be skipped; see .ci/run)", pytrace=False)
            pytest.skip(reason)
    marker = item.get_closest_marker("requires_soffice")
    if marker is None:
        return
    missing = [c for c in ("soffice", *marker.args) if shutil.which(c) is None]
    if missing:
        reason = f"not installed: {', '.join(missing)}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: LibreOffice tests may not be skipped; see .ci/run)", pytrace=False)
        pytest.skip(reason)
