"""Regenerate the LibreOffice fixtures of this folder (needs `soffice` on the PATH):

    .venv/bin/python tests/data/libreoffice/make_fixtures.py

1. template_resaved_by_libreoffice.xlsx — the template jixiao writes for roster.csv + budget.csv
   (inputs.toml), opened and saved again by LibreOffice as a unit using LibreOffice would;
2. filled_resaved_by_libreoffice.xlsx — the same template filled with the seed's projects plus
   `extra_indicators` more indicators (jixiao.samples.fill_template), then re-saved by LibreOffice.

tests/test_template.py reads both without needing soffice. Regenerate them when the template
layout changes on purpose (the tests say which fact no longer holds).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE_FIXTURE = HERE / "template_resaved_by_libreoffice.xlsx"
FILLED_FIXTURE = HERE / "filled_resaved_by_libreoffice.xlsx"


def inputs() -> dict:
    return tomllib.loads((HERE / "inputs.toml").read_text(encoding="utf-8"))


def fill_data() -> dict:
    """What the unit types: the seed's projects, the last one with `extra_indicators` more indicators."""
    from jixiao.samples import load_seed

    cfg = inputs()
    data = load_seed(cfg["seed"])
    extra = [{"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": f"补充指标{i:04d}", "指标值": f"≥{i}(次)"}
             for i in range(1, cfg["extra_indicators"] + 1)]
    data["projects"][-1]["indicators"].extend(extra)
    return data


def make_template(out_dir: Path, password: str | None = None) -> Path:
    """The template jixiao writes for inputs.toml, into out_dir."""
    from jixiao.roster import load_budget, load_roster
    from jixiao.template import write_templates

    cfg = inputs()
    roster = load_roster(HERE / cfg["roster"])
    budget = load_budget(HERE / cfg["budget"], roster)
    (path,) = write_templates(roster, cfg["department"], cfg["year"], out_dir, budget=budget,
                              deadline=dt.date.fromisoformat(cfg["deadline"]), password=password)
    return path


def make_filled(template: Path, out: Path) -> Path:
    from jixiao.samples import fill_template
    from jixiao.spec import load_form

    return fill_template(template, fill_data(), out, load_form())


def resave(path: Path, out_dir: Path) -> Path:
    """Open and save a workbook with LibreOffice, as a unit using LibreOffice would."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-prof-") as profile:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", "xlsx", "--outdir", str(out_dir), str(path)],
                       check=True, capture_output=True, timeout=180)
    result = out_dir / path.name
    if not result.exists():
        raise RuntimeError(f"LibreOffice wrote no {result}")
    return result


def main() -> int:
    if shutil.which("soffice") is None:
        print("soffice not found", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        template = make_template(tmp / "templates")
        shutil.copy(resave(template, tmp / "lo-template"), TEMPLATE_FIXTURE)
        (tmp / "filled").mkdir()
        filled = make_filled(template, tmp / "filled" / template.name)
        shutil.copy(resave(filled, tmp / "lo-filled"), FILLED_FIXTURE)
    version = subprocess.run(["soffice", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"wrote {TEMPLATE_FIXTURE.name}, {FILLED_FIXTURE.name} with {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
