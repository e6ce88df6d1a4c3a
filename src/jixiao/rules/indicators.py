"""Rules on the indicators table: the record each row belongs to, the 一级/二级 pair, the 三级 name,
the 指标值 grammar and what the level's meaning expects of a value (satisfaction is a floor, a
quantity is a count, a cost is a ceiling …). The meaning of each level comes from the spec.

The same row content has the same problems wherever it stands, so each distinct content is judged
once (`_row_problems` is cached on exactly its arguments) and its problems placed on every row."""

from __future__ import annotations

import re
from decimal import Decimal

from ..findings import Finding, Reporter, emits
from ..frames import frame_records
from ..spec import FormSpec
from ..text import short_text_cache
from ..values import DATE_RE, IndicatorValue, format_official, is_percent, normalize_text, parse_operator
from .base import Context, blank, form_year, label_key
from .completeness import ProjectTally, completeness
from .schema import schema_findings
from .typos import typos_in

RATE_NAME = re.compile(r"(?<!效)率$")
GROWTH_WORDS = ("增长", "增幅", "提高率", "同比", "增加率")
TIME_WORDS = ("及时", "按时", "按期")
DURATION_UNITS = {"小时", "天", "日", "个月", "月", "周", "年", "工作日", "分钟"}
RANGE_MARKS = ("-", "~", "—", "–", "至", "到")
DIRECTION_ONLY = re.compile(r"^(?:有所|逐步|进一步|持续|明显|有效|显著|同比|不断|稳步)?"
                            r"(?:提高|提升|加强|增强|增长|改善|扩大|增加|上升)$")

ROW_RULES = ("H-01", "H-02", "H-04", "H-05", "H-07", "H-08", "P-12", "V-01", "V-02", "V-03", "V-04", "V-05",
             "V-06", "V-07", "V-08", "V-09", "V-10", "V-11", "V-12", "V-13", "V-14", "V-15", "V-17", "V-18",
             "V-19", "V-21", "V-22")


@emits("H-06", "H-09", *ROW_RULES)
def validate_indicators(df, projects, subs, spec: FormSpec, ctx: Context) -> list[Finding]:
    out = schema_findings(df, subs, spec.indicators, spec) if not df.empty else []
    report = Reporter(spec, out, validate_indicators)
    linked = spec.indicators.has("project")
    names: dict[int, dict[str, tuple[int, str]]] = {}      # submission → name key → (row, name)
    for sub_i, row, name in zip(projects.get("_sub", []), projects.get("_row", []), projects.get("name", [])):
        if name:
            names.setdefault(int(sub_i), {}).setdefault(label_key(name), (int(row), name))
    tallies: dict[tuple[int, str], ProjectTally] = {}
    memo = spec._lookup.setdefault("row_problems", {})
    if len(memo) > 200_000:
        memo.clear()
    seen_level3: dict[tuple[int, str, str], int] = {}
    for rec in frame_records(df):
        sub_i = int(rec["_sub"])
        sub = subs[sub_i]
        row = int(rec["_row"])

        def at(field_id, rule, **values):
            report.at(sub, "indicators", row, field_id, rule, **values)

        key = project = None
        if linked:
            project = rec.get("project")
            if project:
                pkey = label_key(project)
                if pkey not in names.get(sub_i, {}):
                    if sub.projects is not None:   # with no records sheet (S-02) there is nothing to name
                        at("project", "H-09", value=project, sheet_name=spec.projects.name)
                else:
                    key = (sub_i, pkey)
        elif names.get(sub_i):
            pkey, (_, project) = next(iter(names[sub_i].items()))
            key = (sub_i, pkey)
        name3 = rec["level3"] or ""
        iv: IndicatorValue = rec["_iv"]
        content = (rec["level1"], rec["level2"], name3, _hashable(rec.get("operator")), _hashable(rec.get("unit")),
                   iv, form_year(sub, ctx))
        judged = memo.get(content)
        if judged is None:
            # The key is exactly the arguments: a rule that needs another column must be given it here.
            judged = memo[content] = _row_problems(spec, *content)
        level1, level2, problems = judged
        for field_id, rule, values in problems:
            at(field_id, rule, **dict(values))
        if key and name3:
            dkey = (*key, label_key(name3))
            if dkey in seen_level3:
                at("level3", "H-06", project=project, value=name3, other_row=seen_level3[dkey] + 1)
            else:
                seen_level3[dkey] = row
        if key:
            tally = tallies.setdefault(key, ProjectTally(sub=sub, row=row))
            tally.add(level1, level2, iv, rec.get("note"), name3, row)
    out.extend(completeness(projects, subs, spec, tallies))
    return out


def _hashable(value):
    return (type(value).__name__, value) if value is None or isinstance(value, (str, int, float, Decimal)) else \
        ("repr", repr(value))


def _row_problems(spec: FormSpec, level1_raw, level2_raw, name3: str, op_raw, unit_raw, iv: IndicatorValue,
                  year) -> tuple[str | None, str | None, tuple]:
    """(一级, 二级, problems) of an indicator row's content, independent of where the row is.
    Each problem is (field id, rule id, message values as a tuple of items)."""
    problems: list[tuple[str, str, tuple]] = []

    def at(field_id, rule, **values):
        problems.append((field_id, rule, tuple(values.items())))

    level1 = level2 = owner = None
    if level1_raw:
        level1, alias = spec.resolve_level1(level1_raw)
        if level1 is None:
            at("level1", "H-01", value=level1_raw, choices="、".join(spec.level1_names()))
        elif alias or (level1_raw != level1 and label_key(level1_raw) == label_key(level1)):
            at("level1", "H-07", value=level1_raw, canonical=level1)
    if level2_raw:
        owner = level1 or spec.level1_of_level2(level2_raw)
        if owner:
            level2, alias = spec.resolve_level2(owner, level2_raw)
            if level2 is None:
                at("level2", "H-02", value=level2_raw, level1=owner, suggestion=_suggest(spec, owner, level2_raw),
                   choices="、".join(spec.level2_names(owner)))
            elif alias or (level2_raw != level2 and label_key(level2_raw) == label_key(level2)):
                at("level2", "H-07", value=level2_raw, canonical=level2)
    if name3:
        problem = None
        if name3.endswith("指标"):
            problem = "以“指标”结尾"
        elif len(name3) > 25 or name3.count("，") >= 2:
            problem = "像一句话而不是指标名称"
        if problem:
            at("level3", "H-04", value=name3, problem=problem)
        for wrong, right in typos_in(name3):
            at("level3", "P-12", wrong=wrong, right=right)
        if any(marker in name3 for marker in spec.instruction_markers):
            at("level3", "H-08", value=name3)
    # A row without its 一级 is P-01; its 二级 still says what the row means.
    _value_problems(at, op_raw[1], unit_raw[1], iv, level1, owner, level2, name3, spec, year)
    _plausibility(at, iv, level1, owner, level2, name3, spec)
    return level1, level2, tuple(problems)


def _suggest(spec: FormSpec, level1: str, label: str) -> str:
    """H-03: the valid 二级 with the largest character overlap, or nothing. A garbled name ending in
    益指标 (仁云双益指标) is most likely the social one of the benefit 二级."""
    text = label_key(label)
    social = next((l2.name for l2 in spec.level1(level1).level2 if l2.meaning == "social"), None)
    best, score = None, 0
    for name in spec.level2_names(level1):
        common = len(set(text) & set(name))
        if text.endswith("益指标") and name == social:
            common += 2
        if common > score:
            best, score = name, common
    return f"（是否应为“{best}”？）" if best and score >= 3 else ""


def _value_problems(at, op_raw, unit, iv: IndicatorValue, level1, owner, level2, name3, spec: FormSpec,
                    year) -> None:
    """The 指标值 rules (V-): operator, number, unit, and what the level's meaning expects of them."""
    if not blank(op_raw):
        try:
            parse_operator(str(op_raw))
        except ValueError:
            at("operator", "V-01", value=op_raw)
    l1m = spec.meaning(level1)[0]
    l2m = spec.meaning(owner, level2)[1]
    satisfaction = "satisfaction" in (l1m, l2m)
    satisfaction_level = level1 if l1m == "satisfaction" else level2
    timeliness = l2m == "timeliness" and spec.rule_on("V-19")
    shown = format_official(iv, spec.value_style) if iv.kind != "empty" else ""
    if iv.kind == "empty":
        if not blank(op_raw):
            at("value", "V-03", op=op_raw, value="")
        return
    if iv.kind == "quant":
        if "combined_in_value" in iv.notes:
            at("value", "V-21", value=iv.text, op=iv.op or "", number=iv.number_text, unit=f"({iv.unit})" if iv.unit else "")
        if iv.op is None:
            if timeliness and iv.unit in DURATION_UNITS:
                at("value", "V-19", value=iv.text, level=level2,
                   hint=f"期限请写成 ≤{iv.number_text}({iv.unit})，截止时间请写成如“{year or ''}年12月底前”")
            else:
                at("operator", "V-02", value=shown)
        if iv.unit is None:
            at("unit", "V-04", value=shown)
        if is_percent(iv) and iv.number is not None:
            limit = Decimal(100) if iv.unit == "%" else Decimal(1000)
            if iv.number > limit and not any(w in name3 for w in GROWTH_WORDS):
                at("value", "V-05", value=iv.number_text)
            elif iv.op == "≥" and iv.number == limit:
                at("value", "V-06")
        if satisfaction:
            if iv.op in ("≤", "<", "="):
                at("operator", "V-07", op=iv.op, level=satisfaction_level)
            if is_percent(iv) and iv.number is not None and iv.number < Decimal(str(spec.satisfaction_floor)):
                at("value", "V-08", value=iv.number_text, floor=f"{spec.satisfaction_floor:g}")
        if l2m == "quantity" and iv.op in ("≤", "<"):
            at("operator", "V-12", op=iv.op, level=level2, cost=spec.level_named("cost") or "其他指标")
        if l2m == "cost":
            if iv.op in ("≥", ">", "="):
                at("operator", "V-11", problem=f"用了“{iv.op}”", level=level2)
            if is_percent(iv):
                at("value", "V-14", name=name3, value=shown, level=level2)
    else:
        if not blank(op_raw):
            at("value", "V-03", op=op_raw, value=iv.text)
        if not blank(unit) and iv.kind == "qual":
            at("unit", "V-22", value=iv.text, unit=unit)
        if satisfaction:
            at("value", "V-09", value=iv.text, level=satisfaction_level)
        elif l2m == "quantity":
            at("value", "V-10", value=iv.text, level=level2)
        elif l2m == "cost":
            at("value", "V-11", problem=f"“{iv.text}”不是金额", level=level2)
        if iv.kind == "month":
            at("value", "V-17", value=iv.text, year=year or "本")
        elif iv.kind == "date":
            text = normalize_text(iv.text)
            m = DATE_RE.match(text)
            written = next((g for g in (m.groupdict().values() if m else ()) if g and len(g) == 4 and g.isdigit()), None)
            if year and written and int(written) != int(year):
                at("value", "V-15", value=iv.text, got=written, year=year)
            elif timeliness and any(mark in text for mark in RANGE_MARKS):
                at("value", "V-19", value=iv.text, level=level2,
                   hint=f"截止时间请写成如“{year or ''}年12月底前”，期限请写成如 ≤12(个月)")
        elif iv.kind == "textnum":
            at("value", "V-18", value=iv.text)
    if name3 and RATE_NAME.search(name3) and not is_percent(iv) and iv.kind != "empty":
        at("value", "V-13", name=name3, value=shown or iv.text)


def _plausibility(at, iv: IndicatorValue, level1, owner, level2, name3, spec: FormSpec) -> None:
    """H-05: the 三级 or its value says one level, the row files it under another."""
    l1, l2 = spec.level1(level1), spec.level2(owner, level2)
    problem = None
    if l1 and l1.keywords and name3 and not any(k in name3 for k in l1.keywords):
        problem = f"放在{l1.name}下，{l1.mismatch}"
    else:
        owner = next((other for other in spec.hierarchy if other.exclusive and other is not l1 and l1 is not None
                      and any(k in name3 for k in other.keywords)), None)
        timeliness = spec.level_named("timeliness")
        if owner is not None:
            problem = f"是{owner.exclusive}，请放在{owner.name}下"
        elif (l2 and timeliness and l2.meaning != "timeliness"
              and (iv.kind in ("date", "month") or (iv.kind == "qual" and iv.text.strip() in TIME_WORDS))):
            problem = f"的{spec.indicators.label('value')}“{iv.text}”是时间要求，请放在{timeliness}下"
        elif l2 and l2.keywords and not any(k in name3 for k in l2.keywords):
            problem = f"放在{l2.name}下，{l2.mismatch}"
    if problem:
        at("level3", "H-05", value=name3, problem=problem)


def direction_only(iv: IndicatorValue) -> bool:
    """A qualitative value that only says which way (提高, 有所提升 …): not measurable without a base."""
    return iv.kind == "qual" and _names_only_a_direction(iv.text)


_names_only_a_direction = short_text_cache(lambda text: bool(DIRECTION_ONLY.match(normalize_text(text))), 1 << 14)
