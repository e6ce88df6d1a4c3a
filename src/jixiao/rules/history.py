"""Against last year (ctx.previous, a previous.Baseline): warnings a reviewer would otherwise find by
comparing two years' tables by eye.

Y-01 a recurring indicator's target is lower than last year's (≥ with a smaller number, ≤ with a
larger one, text replacing a number), at the value's cell; Y-02 an indicator of last year's
recurring project that is gone, at the project's name; Y-03 a recurring project that is gone, once
per project, for the unit (its indicators are not listed again). Every message gives last year's
value and asks for the reason, which the unit writes as its 单位说明 (the warning becomes 已说明).

Projects are matched by name, indicators by 一级/二级/三级 (as this form names them: last year's were
mapped when the baseline was read), else by a 三级 that is unique in the project. Forms whose
indicators do not name a project (整体支出) are compared by nothing here.
"""

from __future__ import annotations

from ..findings import Finding, Reporter, emits
from ..contract import LOWER
from ..frames import frame_records
from ..spec import FormSpec, normalize_label
from .base import Context, label_key


@emits("Y-01", "Y-02", "Y-03")
def check_history(indicators, projects, subs, spec: FormSpec, ctx: Context) -> list[Finding]:
    baseline = ctx.previous
    out: list[Finding] = []
    if baseline is None or not spec.indicators.has("project"):
        return out
    from ..previous import compare, match
    from ..values import format_official
    from ..roster import Unit

    report = Reporter(spec, out, check_history)
    rows_of: dict[int, dict[str, int]] = {}               # submission → project key → its row
    for sub_i, row, name in zip(projects.get("_sub", []), projects.get("_row", []), projects.get("name", [])):
        if name:
            rows_of.setdefault(int(sub_i), {}).setdefault(label_key(name), int(row))
    current: dict[tuple[int, str], list[dict]] = {}
    for rec in frame_records(indicators):
        if rec.get("project") and rec.get("level3"):
            current.setdefault((int(rec["_sub"]), label_key(rec["project"])), []).append(rec)

    for sub_i, sub in enumerate(subs):
        if not sub.readable or not sub.meta or sub.projects is None or sub.indicators is None:
            continue
        unit = Unit(code=sub.meta.get("单位编码") or "", name=sub.meta.get("单位名称") or "")
        last_year = baseline.projects_for(unit)
        if not last_year:
            continue
        rows = rows_of.get(sub_i, {})
        for p in last_year:
            pkey = label_key(p.name)
            if pkey not in rows:
                first = p.indicators[0] if p.indicators else None
                # at the header of the name column: the project has no row of its own
                report.at(sub, "projects", sub.projects.header_row, "name", "Y-03",
                          content=f"previous:{normalize_label(p.name)}", project=p.name,
                          count=len(p.indicators), name=first.level3 if first else "",
                          previous=first.official if first else "")
                continue
            mine = current.get((sub_i, pkey), [])
            # the matching the 汇总表's 与上年比较 and the annotated copy's reference column use
            found = match(p.indicators, [(r["level1"], r["level2"], r["level3"]) for r in mine], spec)
            for rec, pi in zip(mine, found):
                if pi is None:
                    continue
                iv = rec["_iv"]
                if compare(pi.value, iv) == LOWER:
                    how = "低于" if iv.kind == "quant" else "不再是数值，不如"
                    report.at(sub, "indicators", int(rec["_row"]), "value", "Y-01", name=rec["level3"],
                              value=format_official(iv), previous=pi.official, how=how)
            matched = {id(pi) for pi in found if pi is not None}
            missing = [pi for pi in p.indicators if id(pi) not in matched]
            for pi in missing:
                # keyed by the indicator, so that the unit answers each on its own
                report.at(sub, "projects", rows[pkey], "name", "Y-02",
                          content="previous:" + ":".join(pi.key()) + f":{pkey}", project=p.name,
                          name=pi.level3, previous=pi.official)
    return out

