"""Rules on the records table (项目信息, or the one 部门信息 row of 整体支出): names, dates, goals,
the form's amount identities and the amounts' plausible scale."""

from __future__ import annotations

from decimal import Decimal

from ..cells import money_text
from ..findings import Finding, Reporter, emits
from ..frames import frame_records
from ..spec import FormSpec
from .base import Context, amount, form_year, label_key
from .schema import HTML_TAG, schema_findings
from .typos import typos_in


@emits("P-02", "P-05", "P-06", "P-07", "P-12", "P-13", "F-02", "F-03", "F-04", "F-06", "F-10", "F-11")
def validate_projects(df, subs, spec: FormSpec, ctx: Context) -> list[Finding]:
    if df.empty:
        return []
    out = schema_findings(df, subs, spec.projects, spec)
    report = Reporter(spec, out, validate_projects)
    records = spec.projects
    seen: dict[tuple[int, str], int] = {}
    text_ids = [fid for fid in ("name", "whole_goal", "goal") if records.has(fid)]
    has = records.has
    for rec in frame_records(df):
        sub_i = int(rec["_sub"])
        sub = subs[sub_i]
        row = int(rec["_row"])

        def at(field_id, rule, **values):
            report.at(sub, "projects", row, field_id, rule, **values)

        name = rec.get("name")
        if spec.kind == "overall" and any(k[0] == sub_i for k in seen):
            at("name", "P-13", sheet_name=sub.projects.sheet)
        if name:
            key = (sub_i, label_key(name))
            if key in seen:
                at("name", "P-02", name=name, other_row=seen[key] + 1)
            else:
                seen[key] = row
        for fid in text_ids:
            for wrong, right in typos_in(rec.get(fid)):
                at(fid, "P-12", wrong=wrong, right=right)
        year = form_year(sub, ctx)
        start, end = rec.get("start"), rec.get("end")
        if start and end:
            if start > end:
                at("end", "P-05", start=start.isoformat(), end=end.isoformat(),
                   start_label=records.label("start"), end_label=records.label("end"))
            elif year and not (start.year <= year <= end.year):
                at("start", "P-06", start=start.isoformat(), end=end.isoformat(), year=year)
        goal = rec.get("goal")
        if goal:
            stripped = HTML_TAG.sub("", goal).strip()
            if len(stripped) < 10 or (name and label_key(stripped) in label_key(name)):
                at("goal", "P-07")
        _identities(rec, at, spec)
        _annual(rec, at, spec, year, has)
    return out


def _identities(rec: dict, at, spec: FormSpec) -> None:
    records = spec.projects
    for ident in spec.identities:
        total = amount(rec, ident.total)
        parts = [amount(rec, p) for p in ident.parts]
        if ident.when == "total_filled" and total is None:
            continue
        if total is None or all(p is None for p in parts):
            continue
        summed = sum((p or Decimal(0) for p in parts), Decimal(0))
        if summed == total:
            continue
        hint = "请核对各项金额"
        whole = amount(rec, "project_total")
        if ident.rule == "F-02" and whole is not None and whole == total + summed:
            hint = (f"{records.label('project_total')} {money_text(whole)} 恰好等于 {money_text(total)} + "
                    f"{money_text(summed)}，可能把其他年度的资金填进了本年度，请核对{records.label(ident.parts[0])}")
        at(ident.total, ident.rule, total_label=records.label(ident.total), total=money_text(total),
           parts_text="＋".join(records.label(p) for p in ident.parts), sum=money_text(summed),
           diff=money_text(abs(total - summed)), hint=hint)


def _annual(rec: dict, at, spec: FormSpec, year: int | None, has) -> None:
    """The year's money against the project's whole (F-04, F-06) and its plausible scale (F-10)."""
    records = spec.projects
    annual, whole = amount(rec, "annual_total"), amount(rec, "project_total")
    if annual is not None and whole is not None:
        labels = dict(annual_label=records.label("annual_total"), total_label=records.label("project_total"))
        if annual > whole:
            at("annual_total", "F-04", annual=money_text(annual), total=money_text(whole), **labels)
        else:
            start, end = rec.get("start"), rec.get("end")
            carry = amount(rec, "carryover") or Decimal(0)
            if (start and end and year and start.year == end.year == year and whole != annual and carry == 0):
                at("project_total", "F-06", total=money_text(whole), annual=money_text(annual),
                   diff=money_text(whole - annual),
                   carry_label=records.label("carryover") if has("carryover") else "结转资金", **labels)
    if annual is not None and annual > 0:
        low, high = spec_scale(spec)
        if annual < low or annual > high:
            at("annual_total", "F-10", value=money_text(annual), unit=spec.money_unit,
               problem=("偏小" if annual < low else "偏大"))


def spec_scale(spec: FormSpec) -> tuple[Decimal, Decimal]:
    """F-10: plausible range of an annual amount in the form's unit (元 vs 万元 typed in the wrong one)."""
    low = Decimal(str(spec.scale_min if spec.scale_min is not None else 0))
    high = Decimal(str(spec.scale_max if spec.scale_max is not None else 10**12))
    return low, high
