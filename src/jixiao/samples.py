"""The sample units: real projects of the seed forms, and a filler that types them into a
generated template the way a unit would (dropdown values, numbers as typed, dates as dates).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path

from .spec import FormSpec, normalize_label
from .template import FIRST_DATA_ROW
from .values import split_for_template


def samples_dir() -> Path:
    override = os.environ.get("JIXIAO_SAMPLES")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "samples"


def load_units_plan() -> dict:
    return tomllib.loads((samples_dir() / "units.toml").read_text(encoding="utf-8"))


def load_seed(relative: str) -> dict:
    return json.loads((samples_dir() / relative).read_text(encoding="utf-8"))


def apply_fixes(data: dict, code: str, fixes: list[dict]) -> dict:
    """The corrections a unit makes after reading its findings (a deep copy, input untouched)."""
    data = json.loads(json.dumps(data, ensure_ascii=False))
    for fix in fixes:
        if fix["code"] != code:
            continue
        for project in data["projects"]:
            if project["项目名称"] != fix["project"]:
                continue
            if "indicator" in fix:
                for ind in project["indicators"]:
                    if ind["三级指标"] == fix["indicator"]:
                        ind[fix["field"]] = fix["value"]
            else:
                project[fix["field"]] = fix["value"]
    return data


def _label(text: str | None) -> str | None:
    # A dropdown gives the canonical spelling; the seeds' "服务对象满意度 指标" is print layout.
    return normalize_label(text) if text else text


def fill_template(template: str | Path, data: dict, out: str | Path, spec: FormSpec) -> Path:
    """Type a unit's projects and indicators into its template (openpyxl, like a careful user)."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    projects = wb[spec.projects.name]
    indicators = wb[spec.indicators.name]
    p_cols = {label: i + 1 for i, label in enumerate(spec.projects.labels)}
    i_cols = {label: i + 1 for i, label in enumerate(spec.indicators.labels)}
    row_i = FIRST_DATA_ROW + 1
    for n, project in enumerate(data["projects"]):
        row_p = FIRST_DATA_ROW + 1 + n
        for f in spec.projects.fields:
            value = project.get(f.name)
            if value is None:
                continue
            cell = projects.cell(row=row_p, column=p_cols[f.name])
            if cell.protection.locked and cell.value is not None:
                continue  # prefilled by the department: the unit cannot type here
            if f.type == "date":
                cell.value = dt.date.fromisoformat(value)
            elif f.type == "amount":
                cell.value = float(Decimal(value))
            else:
                cell.value = value
        for ind in project["indicators"]:
            op, number, unit = split_for_template(ind["指标值"])
            values = {"项目名称": project["项目名称"], "一级指标": _label(ind["一级指标"]),
                      "二级指标": _label(ind["二级指标"]), "三级指标": ind["三级指标"],
                      "运算符": op, "指标值": str(number) if number is not None else None,
                      "计量单位": unit, "指标说明": ind.get("绩效指标描述")}
            for label, value in values.items():
                if value is not None and label in i_cols:
                    indicators.cell(row=row_i, column=i_cols[label]).value = value
            row_i += 1
    out = Path(out)
    wb.save(out)
    return out
