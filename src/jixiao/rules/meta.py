"""`_meta` and the locked content: is this the template this unit was sent, unaltered?"""

from __future__ import annotations

from decimal import Decimal

from ..cells import clean_text, money_text, to_decimal
from ..contract import META_KEYS, META_OPTIONAL, META_SHEET, meta_identity, meta_prefill, template_fingerprint
from ..findings import Finding, Reporter, emits
from ..roster import Unit
from ..spec import FormSpec, normalize_label
from .base import Context, dept_key


@emits("S-04", "S-05", "S-06", "S-07", "S-08", "S-09", "S-10", "S-11", "S-12", "S-13", "S-15")
def check_meta(sub, spec: FormSpec, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    report = Reporter(spec, out, check_meta)
    meta = sub.meta
    if meta is None:
        report.file(sub, "S-04", sheet=META_SHEET)
        return out
    for key in META_KEYS:
        if key not in meta and key not in META_OPTIONAL:
            report.file(sub, "S-05", sheet=META_SHEET, key=key)
    if out:
        return out
    if meta["form_id"] != spec.id or meta["form_version"] != spec.version:
        # Another form's template: its fingerprint and columns are another form's too, say only this.
        report.file(sub, "S-06", sheet=META_SHEET, got=meta["form_id"], got_version=meta["form_version"],
                    expected=f"{spec.id}（{spec.version}）")
        return out
    if ctx.year is not None and meta["年度"] != str(ctx.year):
        report.file(sub, "S-07", sheet=META_SHEET, got=meta["年度"], expected=ctx.year)
    if ctx.department and dept_key(meta["主管部门"]) != dept_key(ctx.department):
        report.file(sub, "S-08", sheet=META_SHEET, got=meta["主管部门"], expected=ctx.department)
    code, name = meta["单位编码"], meta["单位名称"]
    if ctx.roster is not None:
        unit = ctx.roster.get(code)
        if unit is None:
            report.file(sub, "S-09", sheet=META_SHEET, code=code, name=name)
        elif normalize_label(unit.name) != normalize_label(name):
            report.file(sub, "S-10", sheet=META_SHEET, code=code, expected=unit.name, got=name)
    if code and code not in sub.path.name:
        report.file(sub, "S-15", code=code)
    prefill = meta_prefill(meta)
    identity = meta_identity(spec, meta["主管部门"], meta["年度"], Unit(code, name))
    identity.update(form_id=meta["form_id"], form_version=meta["form_version"])
    if prefill is None or template_fingerprint(spec, identity, prefill) != meta["fingerprint"]:
        report.file(sub, "S-11", sheet=META_SHEET, what="模板标识 _meta 与生成时不一致")
    elif prefill and sub.projects is not None:
        _check_prefill(sub, spec, prefill, report)
    return out


def _check_prefill(sub, spec: FormSpec, prefill: list[dict], report: Reporter) -> None:
    table = sub.projects
    records = spec.projects
    by_label = {f.label: f for f in records.fields}
    by_row = {r + 1: values for r, values in table.rows}     # Excel row number → values
    name_col = records.column("name")
    name_label = records.label("name")
    by_name = {normalize_label(v[name_col]): (r, v) for r, v in by_row.items() if v[name_col] is not None}
    for record in prefill:
        expected = record.get("values", {})
        row, values = record.get("row"), by_row.get(record.get("row"))
        name = expected.get(name_label, "")
        if values is None or normalize_label(values[name_col]) != normalize_label(name):
            row, values = by_name.get(normalize_label(name), (row, None))
        if values is None:
            report.at(sub, "projects", (row or 1) - 1, "name", "S-13", name=name, row=row)
            continue
        for label, want in expected.items():
            f = by_label.get(label)
            if f is None or f.id not in table.columns:
                continue
            got = values[records.column(f.id)]
            if not _same(f, want, got):
                report.at(sub, "projects", row - 1, f.id, "S-12", expected=want, got=_shown(f, got))


def _shown(f, value) -> str:
    """A cell value as the unit sees it: amounts as 150,000.00, not 150000.0."""
    if value is None:
        return ""
    if f.type == "amount":
        try:
            return money_text(to_decimal(value)[0])
        except ValueError:
            pass
    return str(value)


def _same(f, want: str, got) -> bool:
    if f.type == "amount":
        try:
            amount, _ = to_decimal(got)
        except ValueError:
            return False
        return amount is not None and amount == Decimal(want)
    return normalize_label(got) == normalize_label(want)


@emits("S-23")
def check_filled(sub, spec: FormSpec) -> list[Finding]:
    """An untouched template is not a return: no row in any table, or only the budget's prefilled
    rows as they were sent (nothing typed beside the prefilled cells) and nothing in the other tables."""
    out: list[Finding] = []
    tables = [sub.tables.get(t.key) for t in spec.data_sheets]
    if not sub.readable or any(t is None for t in tables):
        return out          # a missing sheet is S-02 (or S-03) already
    records = sub.tables["projects"]
    if any(table.rows for key, table in sub.tables.items() if key != "projects"):
        return out
    prefill = {r.get("row"): r.get("values", {}) for r in (meta_prefill(sub.meta or {}) or [])}
    fields = spec.projects.fields
    for row, values in records.rows:
        frozen = prefill.get(row + 1)
        if frozen is None:
            return out
        if any(clean_text(v) is not None and fields[i].label not in frozen for i, v in enumerate(values)):
            return out
    others = [t.sheet for t in tables[1:]]
    if records.rows:
        what = (f"除预算预填的 {len(records.rows)} 个{spec.record_noun}外没有填写任何内容，"
                f"{_joined(others)}{'都' if len(others) > 1 else ''}是空的")
    else:
        what = f"{_joined([records.sheet, *others])}都是空的"
    Reporter(spec, out, check_filled).file(sub, "S-23", sheet=records.sheet, what=what)
    return out


def _joined(names: list[str]) -> str:
    quoted = [f"“{n}”" for n in names]
    return quoted[0] if len(quoted) == 1 else "、".join(quoted[:-1]) + "和" + quoted[-1]
