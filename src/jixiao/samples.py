"""The sample units: real projects of the seed forms, and a filler that types them into a
generated template the way a unit would (dropdown values, numbers as typed, dates as dates).

Unit data, whatever the form, is {"form": id, "projects": [{label: value, …, "indicators": [...],
"<table key>": [...]}]}: one record per project, or one for the department (整体支出), keyed by the
labels of that form. translate() turns it into records of any form, keyed by field id (the
labels a field has in the source form lead to its id, and the id to the target form's field).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path

from .contract import FIRST_DATA_ROW
from .spec import DEFAULT_FORM, FormSpec, load_form, normalize_label
from .values import split_for_template


def samples_dir() -> Path:
    """The sample units: inside the installed package, or the repository's samples/."""
    override = os.environ.get("JIXIAO_SAMPLES")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "samples"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "samples"


def load_units_plan() -> dict:
    """The demo plan: one round per form (samples/units.toml)."""
    return tomllib.loads((samples_dir() / "units.toml").read_text(encoding="utf-8"))


def load_seed(relative: str) -> dict:
    """A seed transcription as unit data (see the module docstring)."""
    return json.loads((samples_dir() / relative).read_text(encoding="utf-8"))


def apply_fixes(records: list[dict], code: str, fixes: list[dict]) -> list[dict]:
    """The corrections a unit makes after reading its findings, on translated records (a deep copy,
    input untouched). A fix names the unit, the record and either a record field, or an indicator
    (by its 三级) and one of its fields, by field id; `drop_empty_level1` removes that 一级's rows
    left without 三级 or value."""
    records = copy.deepcopy(records)
    for fix in fixes:
        if fix["code"] != code:
            continue
        for record in records:
            if normalize_label(record["values"].get("name")) != normalize_label(fix["project"]):
                continue
            if "drop_empty_level1" in fix:
                record["indicators"] = [i for i in record["indicators"]
                                        if not (i.get("level1") == fix["drop_empty_level1"]
                                                and (not i.get("value") or not i.get("level3")))]
            elif "indicator" in fix:
                for ind in record["indicators"]:
                    if ind.get("level3") == fix["indicator"]:
                        ind[fix["field"]] = fix["value"]
            else:
                record["values"][fix["field"]] = fix["value"]
    return records


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


def records_of(data, spec: FormSpec) -> list[dict]:
    """Unit data as records of `spec`: translated when it is label-keyed data of a form."""
    return translate(data, spec) if isinstance(data, dict) else data


def translate(data: dict, spec: FormSpec) -> list[dict]:
    """Unit data keyed by the labels of its own form (data["form"], or the Shanghai project form)
    → records keyed by the field ids of `spec`: {"values", "indicators", "children"}. A label the
    source form gives a field id is carried to the field with that id; 一级/二级 pairs are mapped
    with the target form's level_maps."""
    source = load_form(data.get("form") or DEFAULT_FORM)

    def ids(table, row: dict) -> dict:
        by_label = {normalize_label(f.label): f.id for f in table.fields}
        return {by_label[normalize_label(k)]: v for k, v in row.items() if normalize_label(k) in by_label}

    out = []
    extra = {t.key: t for t in source.extra_tables}
    for project in data["projects"]:
        values = ids(source.projects, project)
        indicators = []
        for ind in project.get("indicators", []):
            row = ids(source.indicators, ind)
            l1, l2 = row.get("level1"), row.get("level2")
            if l1 and l2 and source.id != spec.id:
                l1, l2, _ = spec.map_levels(source.id, l1, l2)
            row["level1"], row["level2"] = _label(l1), _label(l2)
            indicators.append(row)
        children = {key: [ids(table, r) for r in project.get(key, [])] for key, table in extra.items()}
        out.append({"values": values, "indicators": indicators, "children": children})
    return out


def fill_template(template: str | Path, data, out: str | Path, spec: FormSpec) -> Path:
    """Type a unit's records, indicators and other rows into its template (openpyxl, like a careful
    user: dropdown values as listed, numbers as numbers, dates as dates, 指标值 split in three)."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    records = records_of(data, spec)
    next_row = {t.key: FIRST_DATA_ROW + 1 for t in spec.data_sheets}
    records_sheet = wb[spec.projects.name]
    for n, record in enumerate(records):
        row_p = FIRST_DATA_ROW + 1 + n
        for col, f in enumerate(spec.projects.fields, start=1):
            value = cell_value(f.type, record["values"].get(f.id))
            if value is None:
                continue
            cell = records_sheet.cell(row=row_p, column=col)
            if cell.protection.locked and cell.value is not None:
                continue  # prefilled by the department: the unit cannot type here
            cell.value = value
        name = record["values"].get("name")
        for ind in record["indicators"]:
            op, number, unit = split_for_template(ind.get("value"))
            values = {**ind, "operator": op, "value": str(number) if number is not None else None, "unit": unit,
                      "project": name}
            _put(wb[spec.indicators.name], spec.indicators, next_row, values)
        for table in spec.extra_tables:
            for child in record["children"].get(table.key, []):
                _put(wb[table.name], table, next_row, {**child, "project": name})
    out = Path(out)
    wb.save(out)
    return out


def _put(ws, table, next_row: dict, values: dict) -> None:
    row = next_row[table.key]
    for col, f in enumerate(table.fields, start=1):
        value = cell_value(f.type, values.get(f.id))
        if value is not None:
            ws.cell(row=row, column=col).value = value
    next_row[table.key] = row + 1


def answer_warnings(path: str | Path, answers: list[dict]) -> Path:
    """The unit writes its reasons in 单位说明 beside warnings of the annotated copy's 校验结果 sheet
    (each answer names a rule, and optionally words of the warning's message), and saves the file."""
    import openpyxl

    from .contract import EXPLANATION_LABEL, RESULT_SHEET, RULE_LABEL

    wb = openpyxl.load_workbook(path)
    ws = wb[RESULT_SHEET]
    header_row = next(r for r in range(1, 10) if EXPLANATION_LABEL in [c.value for c in ws[r]])
    header = [c.value for c in ws[header_row]]
    rule_col, text_col = header.index(RULE_LABEL) + 1, header.index(EXPLANATION_LABEL) + 1
    message_col = text_col - 1
    for a in answers:
        for row in range(header_row + 1, ws.max_row + 1):
            if (ws.cell(row, rule_col).value == a["rule"] and a.get("about", "") in (ws.cell(row, message_col).value or "")
                    and not ws.cell(row, text_col).value):
                ws.cell(row, text_col).value = a["text"]
                break
    wb.save(path)
    return Path(path)


def review_carried(template: str | Path, data, out: str | Path, spec: FormSpec, changes: list[dict] = ()) -> Path:
    """A unit reviewing a template that starts from last year (openpyxl, like a user): every carried
    project it still runs gets this year's amounts and goals from its data (matched by name); a
    project its data no longer has is left as carried; `changes` name an indicator (project, 三级)
    and set one of its fields (by field id), or `drop = true` to delete the row."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    records = {normalize_label(r["values"].get("name")): r for r in records_of(data, spec)}
    ws = wb[spec.projects.name]
    name_col = spec.projects.column("name") + 1
    for row in range(FIRST_DATA_ROW + 1, FIRST_DATA_ROW + 1 + spec.projects.rows):
        record = records.get(normalize_label(ws.cell(row, name_col).value))
        if record is None:
            continue
        for col, f in enumerate(spec.projects.fields, start=1):
            cell = ws.cell(row=row, column=col)
            value = cell_value(f.type, record["values"].get(f.id))
            if value is None or (cell.protection.locked and cell.value is not None):
                continue
            if f.type in ("amount", "longtext") or cell.value is None:
                cell.value = value
    ind = wb[spec.indicators.name]
    header = [normalize_label(c.value) for c in ind[FIRST_DATA_ROW]]      # by label: the reference column moves some
    cols = {f.id: header.index(normalize_label(f.label)) + 1 for f in spec.indicators.fields}
    for change in changes:
        for row in range(FIRST_DATA_ROW + 1, FIRST_DATA_ROW + 1 + spec.indicators.rows):
            if (normalize_label(ind.cell(row, cols["project"]).value) == normalize_label(change["project"])
                    and normalize_label(ind.cell(row, cols["level3"]).value) == normalize_label(change["indicator"])):
                if change.get("drop"):
                    for col in cols.values():
                        ind.cell(row, col).value = None
                else:
                    ind.cell(row, cols[change["field"]]).value = change["value"]
                break
    out = Path(out)
    wb.save(out)
    return out
