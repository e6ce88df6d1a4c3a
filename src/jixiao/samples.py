"""The sample units: real projects of the seed forms, and a filler that types them into a
generated template the way a unit would (dropdown values, numbers as typed, dates as dates).

Unit data, whatever the form, is {"projects": [{label: value, …, "indicators": [...],
"tasks": [...]}]}: one record per project, or one for the department (整体支出).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path

from .spec import FormSpec, normalize_label
from .template import FIRST_DATA_ROW
from .values import split_for_template

INDICATOR_NOTES = ("绩效指标描述", "指标说明")


def samples_dir() -> Path:
    override = os.environ.get("JIXIAO_SAMPLES")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "samples"


def load_units_plan() -> dict:
    """The demo plan: one round per form (samples/units.toml)."""
    return tomllib.loads((samples_dir() / "units.toml").read_text(encoding="utf-8"))


def load_seed(relative: str) -> dict:
    """A seed transcription as unit data (see the module docstring)."""
    data = json.loads((samples_dir() / relative).read_text(encoding="utf-8"))
    if "projects" in data:
        return data
    # 整体支出 (seed 003): the department is the one record; its budget and tasks belong to it.
    record = {k: v for k, v in data.items() if isinstance(v, (str, int)) and k not in
              ("source", "form", "年度", "表名", "金额单位")}
    record.update(data.get("预算", {}))
    record["indicators"] = data.get("indicators", [])
    record["tasks"] = data.get("年度重点任务", [])
    return {**{k: data[k] for k in ("source", "form", "年度") if k in data}, "projects": [record]}


def apply_fixes(data: dict, code: str, fixes: list[dict]) -> dict:
    """The corrections a unit makes after reading its findings (a deep copy, input untouched).

    A fix names the unit, the project and either a project field, or an indicator (by its 三级)
    and one of its fields; `drop_empty_level1` removes that 一级's rows left without 三级 or value.
    """
    data = copy.deepcopy(data)
    for fix in fixes:
        if fix["code"] != code:
            continue
        for project in data["projects"]:
            if normalize_label(_name_of(project)) != normalize_label(fix["project"]):
                continue
            if "drop_empty_level1" in fix:
                project["indicators"] = [i for i in project["indicators"]
                                         if not (i["一级指标"] == fix["drop_empty_level1"]
                                                 and (not i.get("指标值") or not i.get("三级指标")))]
            elif "indicator" in fix:
                for ind in project["indicators"]:
                    if ind["三级指标"] == fix["indicator"]:
                        ind[fix["field"]] = fix["value"]
            else:
                project[fix["field"]] = fix["value"]
    return data


def _name_of(project: dict) -> str:
    return project.get("项目名称") or project.get("部门（单位）名称") or ""


def _label(text: str | None) -> str | None:
    # A dropdown gives the canonical spelling; the seeds' "服务对象满意度 指标" is print layout.
    return normalize_label(text) if text else text


def cell_value(ftype: str, value):
    """What a user's typing leaves in a cell of this field type, from sample data (text)."""
    if value is None:
        return None
    if ftype == "date":
        return dt.date.fromisoformat(value)
    if ftype == "amount":
        return float(Decimal(value))
    if ftype == "count":
        return int(value)
    return value


def fill_template(template: str | Path, data: dict, out: str | Path, spec: FormSpec) -> Path:
    """Type a unit's projects and indicators into its template (openpyxl, like a careful user)."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    projects = wb[spec.projects.name]
    indicators = wb[spec.indicators.name]
    tasks_spec = getattr(spec, "tasks", None)
    name_label = spec.role("name")
    link = name_label if name_label in spec.indicators.labels else None
    i_cols = {label: i + 1 for i, label in enumerate(spec.indicators.labels)}
    row_i = FIRST_DATA_ROW + 1
    row_t = FIRST_DATA_ROW + 1
    for n, project in enumerate(data["projects"]):
        row_p = FIRST_DATA_ROW + 1 + n
        for col, f in enumerate(spec.projects.fields, start=1):
            value = cell_value(f.type, project.get(f.name))
            if value is None:
                continue
            cell = projects.cell(row=row_p, column=col)
            if cell.protection.locked and cell.value is not None:
                continue  # prefilled by the department: the unit cannot type here
            cell.value = value
        for ind in project["indicators"]:
            op, number, unit = split_for_template(ind.get("指标值"))
            note = next((ind[k] for k in INDICATOR_NOTES if ind.get(k)), None)
            values = {"一级指标": _label(ind["一级指标"]), "二级指标": _label(ind["二级指标"]),
                      "三级指标": ind.get("三级指标"), "运算符": op,
                      "指标值": str(number) if number is not None else None, "计量单位": unit}
            if link:
                values[link] = _name_of(project)
            for label in INDICATOR_NOTES:
                if label in i_cols:
                    values[label] = note
            for label, value in values.items():
                if value is not None and label in i_cols:
                    indicators.cell(row=row_i, column=i_cols[label]).value = value
            row_i += 1
        if tasks_spec is not None:
            ws = wb[tasks_spec.name]
            for task in project.get("tasks", []):
                for col, f in enumerate(tasks_spec.fields, start=1):
                    value = cell_value(f.type, task.get(f.name))
                    if value is not None:
                        ws.cell(row=row_t, column=col).value = value
                row_t += 1
    out = Path(out)
    wb.save(out)
    return out
