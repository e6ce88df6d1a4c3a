"""Column rules as pandera schemas built from the spec: required fields, code lists, amounts,
text that carries HTML or a formula, text too long. Every check is named by its rule id, and the
message values of each id come from one function of the failing value (SCHEMA_VALUES)."""

from __future__ import annotations

import re

import pandas as pd
import pandera.pandas as pa

from ..cells import CENT
from ..findings import Finding, Reporter, emits
from ..spec import FormSpec, SheetSpec
from ..text import FORMULA_TEXT
from .base import blank

HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")


def _isin(values):
    allowed = set(values)
    return lambda s: s.isin(allowed)


def _text_checks(f) -> list:
    checks = [pa.Check(lambda s: ~s.astype(str).str.contains(HTML_TAG), name="P-09"),
              pa.Check(lambda s: ~s.astype(str).str.match(FORMULA_TEXT), name="P-08")]
    if f.max_length:
        limit = f.max_length
        checks.append(pa.Check(lambda s: s.astype(str).str.len() <= limit, name="P-10"))
    return checks


def _is_cents(value) -> bool:
    return value >= 0 and value == value.quantize(CENT)


def build_schema(sheet: SheetSpec, spec: FormSpec) -> pa.DataFrameSchema:
    """One pandera schema per table, from the spec."""
    columns = {}
    for f in sheet.fields:
        checks = []
        if f.required:
            checks.append(pa.Check(lambda s: s.notna(), name="P-01", ignore_na=False))
        if f.type == "code":
            checks.append(pa.Check(_isin(spec.code_lists[f.code_list]), name="P-03"))
        elif f.type == "amount":
            checks.append(pa.Check(lambda s: s.map(_is_cents), name="F-01"))
        elif f.type in ("text", "longtext", "project_ref"):
            checks.extend(_text_checks(f))
        columns[f.id] = pa.Column(None, checks, nullable=True, required=True)
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


def run_schema(df: pd.DataFrame, sheet: SheetSpec, spec: FormSpec):
    """Yield (rule id, field id, frame index, failing value) for every failing cell."""
    try:
        build_schema(sheet, spec).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for check, column, index, value in zip(cases["check"], cases["column"], cases["index"], cases["failure_case"]):
            yield check, column, int(index), value


# Message values per rule id, from (field, failing value, spec).
SCHEMA_VALUES = {
    "P-01": lambda f, value, spec: {},
    "P-03": lambda f, value, spec: {"value": value, "choices": "、".join(spec.code_lists[f.code_list])},
    "F-01": lambda f, value, spec: {"value": value, "unit": spec.money_unit},
    "P-09": lambda f, value, spec: {"tag": HTML_TAG.search(str(value))[0][:30]},
    "P-08": lambda f, value, spec: {"formula": str(value)[:60]},
    "P-10": lambda f, value, spec: {"length": len(str(value)), "limit": f.max_length},
}


@emits(*SCHEMA_VALUES)
def schema_findings(df: pd.DataFrame, subs, sheet: SheetSpec, spec: FormSpec) -> list[Finding]:
    out: list[Finding] = []
    if df.empty:
        return out
    report = Reporter(spec, out, schema_findings)
    for rule, field_id, index, value in run_schema(df, sheet, spec):
        f = sheet.field(field_id)
        if rule == "P-01" and f.type == "value" and "operator" in df and not blank(df.at[index, "operator"]):
            continue  # reported as V-03 with the operator in view
        sub = subs[int(df.at[index, "_sub"])]
        report.at(sub, sheet.key, int(df.at[index, "_row"]), field_id, rule, **SCHEMA_VALUES[rule](f, value, spec))
    return out
