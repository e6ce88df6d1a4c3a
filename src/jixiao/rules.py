"""Submissions → findings: `_meta` and structure, then pandera schemas built from the FormSpec,
then the cross-field and cross-table rules of DESIGN.md and reference/domain.md.

Every rule works on all rows of all files at once (the file is a column), so checking a
thousand workbooks costs one pandera call per table, not a thousand.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
import pandera.pandas as pa

from .cells import CENT, a1, clean_text, is_excel_error, money_text, to_date, to_decimal
from .findings import ERROR, RULES, Finding, finding
from .reader import Submission, Table
from .roster import Roster
from .spec import FormSpec, normalize_label
from .template import META_KEYS, meta_identity, meta_prefill_text, template_fingerprint
from .roster import Unit
from .values import DATE_RE, IndicatorValue, format_official, is_percent, normalize_text, parse_operator, parse_split

HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
FORMULA_TEXT = re.compile(r"^\s*[=＝]\s*[A-Za-z_]+[A-Za-z0-9_.]*\s*\(")
DEPT_TAG = re.compile(r"\s*[（(]\s*汇总\s*[)）]\s*$")
GOAL_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(%|％|次|家|人次|人|个|场|篇|项|期|本|份|位|名|场次)")
RATE_NAME = re.compile(r"(?<!效)率$")
GROWTH_WORDS = ("增长", "增幅", "提高率", "同比", "增加率")
TIME_WORDS = ("及时", "按时", "按期")
ECO_WORDS = ("生态", "环境", "绿色", "节能", "排放", "污染", "低碳", "碳", "能耗", "水")
ECON_WORDS = ("收入", "产值", "经济", "效益额", "节约", "增收", "万元", "元", "投资", "税")
# Known misspellings seen in real returns (domain.md P-10); extend as found.
TYPOS = {"收益人": "受益人", "收益人群": "受益人群", "收益人员": "受益人员", "有限提升": "有效提升",
         "每月年": "每年", "灾害防疫": "灾害防御"}


def finding_is_error(rule: str) -> bool:
    return RULES[rule].severity == ERROR


def typos_in(text: str | None) -> list[tuple[str, str]]:
    """Known misspellings in a text; a match inside a longer match (收益人 in 收益人员) is not repeated."""
    if not text:
        return []
    hits = sorted(((w, r) for w, r in TYPOS.items() if w in text), key=lambda wr: -len(wr[0]))
    kept: list[tuple[str, str]] = []
    for wrong, right in hits:
        if not any(wrong in longer for longer, _ in kept):
            kept.append((wrong, right))
    return kept


@dataclass
class Context:
    """What the department expects of every workbook in this round."""
    roster: Roster | None = None
    department: str | None = None
    year: int | None = None


def dept_key(name: str | None) -> str:
    """主管部门 as compared: without the "(汇总)" tag 汇总 exports add, NFKC, no spaces."""
    return normalize_label(DEPT_TAG.sub("", name or ""))


# --- entry point ---------------------------------------------------------------------------

@dataclass
class Batch:
    """Findings per submission index, plus the typed tables (merge consolidates these)."""
    findings: dict[int, list[Finding]]
    projects: pd.DataFrame
    indicators: pd.DataFrame
    tasks: pd.DataFrame | None = None


def check_submissions(subs: list[Submission], spec: FormSpec, ctx: Context) -> Batch:
    """All rules over all submissions at once; reader findings included, in a stable order."""
    out: dict[int, list[Finding]] = {i: list(s.findings) for i, s in enumerate(subs)}
    for i, sub in enumerate(subs):
        if sub.readable:
            out[i].extend(check_meta(sub, spec, ctx))
    frames, bad = build_frames(subs, spec, out)
    projects, indicators, tasks = frames["projects"], frames["indicators"], frames.get("tasks")
    index_of = {s.file: i for i, s in enumerate(subs)}
    found = validate_projects(projects, subs, spec, ctx) + validate_indicators(indicators, projects, subs, spec)
    if tasks is not None and not tasks.empty:
        found += _schema_findings(tasks, subs, spec.tasks, spec)
    for f in found:
        if f.rule in ("P-01", "V-03") and (f.file, f.sheet, f.cell) in bad:
            continue  # the cell already has a finding saying why it is unusable (formula, #REF!, …)
        out[index_of[f.file]].append(f)
    # Errors first, then warnings; each in the workbook's sheet order, then by row and column.
    sheet_order = {name: i for i, name in enumerate(["", "_meta", *(s.name for s in spec.data_sheets)])}
    for findings in out.values():
        findings.sort(key=lambda f: (f.severity != "error", sheet_order.get(f.sheet, 9), _cell_key(f.cell), f.rule))
    return Batch(out, projects, indicators, tasks)


def _cell_key(cell: str) -> tuple:
    m = re.match(r"([A-Z]+)(\d+)", cell or "")
    if not m:
        return (0, 0)
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return (int(m[2]), col)


# --- _meta and locked content ----------------------------------------------------------------

def check_meta(sub: Submission, spec: FormSpec, ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    file = sub.file
    meta = sub.meta
    if meta is None:
        return [finding("S-04", file=file, sheet="_meta")]
    for key in META_KEYS:
        if key not in meta and key not in ("截止日期", "生成时间", "生成工具"):
            out.append(finding("S-05", file=file, sheet="_meta", key=key))
    if out:
        return out
    if meta["form_id"] != spec.id or meta["form_version"] != spec.version:
        # Another form's template: its fingerprint and columns are another form's too, say only this.
        return [finding("S-06", file=file, sheet="_meta", got=meta["form_id"], got_version=meta["form_version"],
                        expected=f"{spec.id}（{spec.version}）")]
    if ctx.year is not None and meta["年度"] != str(ctx.year):
        out.append(finding("S-07", file=file, sheet="_meta", got=meta["年度"], expected=ctx.year))
    if ctx.department and dept_key(meta["主管部门"]) != dept_key(ctx.department):
        out.append(finding("S-08", file=file, sheet="_meta", got=meta["主管部门"], expected=ctx.department))
    code, name = meta["单位编码"], meta["单位名称"]
    if ctx.roster is not None:
        unit = ctx.roster.get(code)
        if unit is None:
            out.append(finding("S-09", file=file, sheet="_meta", code=code, name=name))
        elif normalize_label(unit.name) != normalize_label(name):
            out.append(finding("S-10", file=file, sheet="_meta", code=code, expected=unit.name, got=name))
    if code and code not in sub.path.name:
        out.append(finding("S-15", file=file, code=code))
    try:
        prefill = json.loads(meta_prefill_text(meta) or "[]")
        assert isinstance(prefill, list)
    except (ValueError, AssertionError):
        prefill = None
    identity = meta_identity(spec, meta["主管部门"], meta["年度"], Unit(code, name))
    identity.update(form_id=meta["form_id"], form_version=meta["form_version"])
    if prefill is None or template_fingerprint(spec, identity, prefill) != meta["fingerprint"]:
        out.append(finding("S-11", file=file, sheet="_meta", what="模板标识 _meta 与生成时不一致"))
    elif prefill and sub.projects is not None:
        out.extend(_check_prefill(sub, spec, prefill))
    return out


def _check_prefill(sub: Submission, spec: FormSpec, prefill: list[dict]) -> list[Finding]:
    table = sub.projects
    by_row = {r + 1: values for r, values in table.rows}     # Excel row number → values
    labels = spec.projects.labels
    name_label = spec.role("name")
    name_col = labels.index(name_label)
    by_name = {normalize_label(v[name_col]): (r, v) for r, v in by_row.items() if v[name_col] is not None}
    out = []
    for record in prefill:
        expected = record.get("values", {})
        row, values = record.get("row"), by_row.get(record.get("row"))
        name = expected.get(name_label, "")
        if values is None or normalize_label(values[name_col]) != normalize_label(name):
            row, values = by_name.get(normalize_label(name), (row, None))
        if values is None:
            out.append(finding("S-13", file=sub.file, sheet=table.sheet, cell=f"A{row}", field=name_label,
                               name=name, row=row))
            continue
        for label, want in expected.items():
            if label not in table.columns:
                continue
            got = values[labels.index(label)]
            if not _same_prefill(spec, label, want, got):
                out.append(finding("S-12", file=sub.file, sheet=table.sheet, cell=table.cell(row - 1, label),
                                   field=label, label=label, expected=want, got=_shown(spec, label, got)))
    return out


def _shown(spec: FormSpec, label: str, value) -> str:
    """A cell value as the unit sees it: amounts as 150,000.00, not 150000.0."""
    if value is None:
        return ""
    if spec.projects.field(label).type == "amount":
        try:
            return money_text(to_decimal(value)[0])
        except ValueError:
            pass
    return str(value)


def _same_prefill(spec: FormSpec, label: str, want: str, got) -> bool:
    if spec.projects.field(label).type == "amount":
        try:
            amount, _ = to_decimal(got)
        except ValueError:
            return False
        return amount is not None and amount == Decimal(want)
    return normalize_label(got) == normalize_label(want)


# --- typed frames ------------------------------------------------------------------------------

TEXT_TYPES = {"text", "longtext", "code", "project_ref", "level1", "level2", "unit"}


def build_frames(subs: list[Submission], spec: FormSpec, out: dict[int, list[Finding]]):
    """Typed projects and indicators frames over all files; unusable cells become findings and NA."""
    bad: set[tuple[str, str, str]] = set()
    frames = {}
    for sheet in spec.data_sheets:
        records = []
        labels = sheet.labels
        for i, sub in enumerate(subs):
            table: Table | None = getattr(sub, sheet.key, None)
            if table is None:
                continue
            formulas = {cell: text for (name, cell), text in sub.formulas.items() if name == table.sheet}
            for r, values in table.rows:
                record = {"_sub": i, "_row": r}
                for f, raw in zip(sheet.fields, values):
                    if formulas and f.name in table.columns and table.cell(r, f.name) in formulas:
                        cell = table.cell(r, f.name)
                        out[i].append(finding("P-08", file=sub.file, sheet=table.sheet, cell=cell, field=f.name,
                                              formula=formulas[cell][:60]))
                        bad.add((sub.file, table.sheet, cell))
                        raw = None
                    elif isinstance(raw, str) and raw[:1] == "#" and is_excel_error(raw):
                        cell = table.cell(r, f.name)
                        out[i].append(finding("P-11", file=sub.file, sheet=table.sheet, cell=cell, field=f.name,
                                              value=raw.strip()))
                        bad.add((sub.file, table.sheet, cell))
                        raw = None
                    record[f.name] = None if raw is None else _typed(f, raw, sub, table, r, out[i], bad,
                                                                     spec.money_unit)
                records.append(record)
        columns = ["_sub", "_row", *labels]
        df = pd.DataFrame.from_records(records, columns=columns) if records else pd.DataFrame(columns=columns)
        # Object columns with None for "missing": pandas would otherwise infer str/float dtypes with NaN.
        frames[sheet.key] = df.astype(object).where(df.notna(), None)
    ind = frames["indicators"]
    if len(ind):
        ind["_iv"] = [_parse_split_cached(o, v, u) for o, v, u in zip(ind["运算符"], ind["指标值"], ind["计量单位"])]
    else:
        ind["_iv"] = pd.Series(dtype=object)
    return frames, bad


def frame_records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (faster than DataFrame.to_dict, which boxes each value)."""
    columns = list(df.columns)
    return [dict(zip(columns, row)) for row in zip(*(df[c].tolist() for c in columns))]


_label_key = lru_cache(maxsize=65536)(normalize_label)


@lru_cache(maxsize=65536)
def _parse_split_key(key) -> IndicatorValue:
    (_, op), (_, value), (_, unit) = key
    return parse_split(op, value, unit)


def _parse_split_cached(op, value, unit) -> IndicatorValue:
    """Indicator values repeat across rows and units (≥90, %, 及时): parse each distinct one once.
    IndicatorValue is frozen, so sharing it is safe. bool stays apart from 1/0 (True == 1)."""
    key = tuple((type(x).__name__, x) for x in (op, value, unit))
    try:
        return _parse_split_key(key)
    except TypeError:
        return parse_split(op, value, unit)


_TRIM = " \t\r\n\u3000\u00a0\u200b\ufeff"


def _typed(f, raw, sub, table, row, out, bad, money_unit):
    if f.type in TEXT_TYPES and isinstance(raw, str):
        # Fast path: most text needs no cleaning at all.
        if raw and raw[0] not in _TRIM and raw[-1] not in _TRIM and "\u00a0" not in raw:
            return raw
        return clean_text(raw)
    if f.type in ("operator", "value"):
        return raw if not isinstance(raw, str) else clean_text(raw)
    if f.type not in ("date", "amount", "count"):
        return clean_text(raw)

    def report(rule: str, **values) -> None:
        # The cell reference is only worked out when there is something to say about the cell.
        cell = table.cell(row, f.name)
        out.append(finding(rule, file=sub.file, sheet=table.sheet, cell=cell, field=f.name, **values))
        if finding_is_error(rule):
            bad.add((sub.file, table.sheet, cell))

    try:
        if f.type == "date":
            return to_date(raw, sub.date1904)[0]
        if f.type == "count":
            number, _ = to_decimal(raw)
            if number is None or number != number.to_integral_value() or number < 0:
                raise ValueError(raw)
            return int(number)
        amount, was_text = to_decimal(raw)
    except ValueError:
        rule = {"date": "P-04", "count": "P-14", "amount": "F-01"}[f.type]
        report(rule, value=clean_text(raw), **({"unit": money_unit} if rule == "F-01" else {}))
        return None
    if was_text:
        report("F-12", value=clean_text(raw), parsed=money_text(amount))
    return amount


# --- pandera schemas built from the spec ------------------------------------------------------

def _isin(values):
    allowed = set(values)
    return lambda s: s.isin(allowed)


def _text_checks(f) -> list:
    checks = [pa.Check(lambda s: ~s.astype(str).str.contains(HTML_TAG), name="P-09"),
              pa.Check(lambda s: ~s.astype(str).str.match(FORMULA_TEXT), name="P-08t")]
    if f.max_length:
        limit = f.max_length
        checks.append(pa.Check(lambda s: s.astype(str).str.len() <= limit, name="P-10"))
    return checks


def build_schema(sheet, spec: FormSpec) -> pa.DataFrameSchema:
    """One pandera schema per table, from the spec: required, code lists, ranges, text checks."""
    columns = {}
    for f in sheet.fields:
        checks = []
        if f.type == "code":
            checks.append(pa.Check(_isin(spec.code_lists[f.code_list]), name="P-03"))
        elif f.type == "amount":
            checks.append(pa.Check(lambda s: s >= 0, name="F-01neg"))
            checks.append(pa.Check(lambda s: s.map(lambda d: d == d.quantize(CENT)), name="F-01dec"))
        elif f.type in ("text", "longtext", "project_ref"):
            checks.extend(_text_checks(f))
        columns[f.name] = pa.Column(None, checks, nullable=not f.required, required=True)
    return pa.DataFrameSchema(columns, coerce=False, strict=False)


def run_schema(df: pd.DataFrame, sheet, spec: FormSpec):
    """Yield (rule name, column, index, failure value) for every failing cell."""
    try:
        build_schema(sheet, spec).validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for check, column, index, value in zip(cases["check"], cases["column"], cases["index"], cases["failure_case"]):
            yield check, column, int(index), value


def _cell_of(subs, df, index, label, sheet) -> tuple[Submission, str, str]:
    sub = subs[int(df.at[index, "_sub"])]
    table = getattr(sub, sheet)
    row = int(df.at[index, "_row"])
    col = table.columns.get(label)
    return sub, table.sheet, a1(row, col if col is not None else 0)


def _schema_findings(df, subs, sheet, spec) -> list[Finding]:
    out = []
    for check, column, index, value in run_schema(df, sheet, spec):
        sub, sheet_name, cell = _cell_of(subs, df, index, column, sheet.key)
        common = dict(file=sub.file, sheet=sheet_name, cell=cell, field=column)
        if check == "not_nullable":
            if sheet.field(column).type == "value" and not _blank(df.at[index, "运算符"]):
                continue  # reported as V-03 with the operator in view
            out.append(finding("P-01", label=column, **common))
        elif check == "P-03":
            f = sheet.field(column)
            out.append(finding("P-03", value=value, label=column, choices="、".join(spec.code_lists[f.code_list]), **common))
        elif check in ("F-01neg", "F-01dec"):
            out.append(finding("F-01", value=value, unit=spec.money_unit, **common))
        elif check == "P-09":
            out.append(finding("P-09", tag=HTML_TAG.search(str(value))[0][:30], **common))
        elif check == "P-08t":
            out.append(finding("P-08", formula=str(value)[:60], **common))
        elif check == "P-10":
            out.append(finding("P-10", length=len(str(value)), limit=sheet.field(column).max_length, **common))
    return out


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or value == ""


# --- 项目信息 ----------------------------------------------------------------------------------------

def validate_projects(df: pd.DataFrame, subs, spec: FormSpec, ctx: Context) -> list[Finding]:
    if df.empty:
        return []
    sheet = spec.projects
    out = _schema_findings(df, subs, sheet, spec)
    seen: dict[tuple[int, str], int] = {}
    name_label, goal_label = spec.role("name"), spec.role("goal")
    start_label, end_label = spec.role("start"), spec.role("end")
    text_labels = [label for label in (name_label, spec.role("whole_goal"), goal_label) if label]
    for rec in frame_records(df):
        sub = subs[int(rec["_sub"])]
        table = sub.projects
        row = int(rec["_row"])

        def at(label, rule, **values):
            out.append(finding(rule, file=sub.file, sheet=table.sheet, cell=table.cell(row, label)
                               if label in table.columns else a1(row, 0), field=label, **values))

        name = rec.get(name_label)
        if spec.kind == "overall" and any(k[0] == int(rec["_sub"]) for k in seen):
            at(name_label, "P-13", sheet_name=table.sheet)
        if name:
            key = (int(rec["_sub"]), _label_key(name))
            if key in seen:
                at(name_label, "P-02", name=name, other_row=seen[key] + 1)
            else:
                seen[key] = row
        for label in text_labels:
            for wrong, right in typos_in(rec.get(label)):
                at(label, "P-12", wrong=wrong, right=right)
        start, end = rec.get(start_label), rec.get(end_label)
        year = _form_year(sub, ctx)
        if start and end:
            if start > end:
                at(end_label, "P-05", start=start.isoformat(), end=end.isoformat())
            elif year and not (start.year <= year <= end.year):
                at(start_label, "P-06", start=start.isoformat(), end=end.isoformat(), year=year)
        goal = rec.get(goal_label)
        if goal:
            stripped = HTML_TAG.sub("", goal).strip()
            if len(stripped) < 10 or (name and _label_key(stripped) in _label_key(name)):
                at(goal_label, "P-07")
        out.extend(_identity_findings(rec, sub, table, row, spec, year))
    return out


def _form_year(sub: Submission, ctx: Context) -> int | None:
    if ctx.year:
        return ctx.year
    try:
        return int((sub.meta or {}).get("年度", ""))
    except ValueError:
        return None


def _amount(rec, label) -> Decimal | None:
    value = rec.get(label) if label else None
    return None if _blank(value) else value


def spec_scale(spec: FormSpec) -> tuple[Decimal, Decimal]:
    """F-10: plausible range of an annual amount in the form's unit (元 vs 万元 typed in the wrong one)."""
    low = Decimal(str(spec.scale_min if spec.scale_min is not None else (1000 if spec.money_unit == "元" else 0)))
    high = Decimal(str(spec.scale_max if spec.scale_max is not None else 10**12))
    return low, high


def _identity_findings(rec, sub, table, row, spec: FormSpec, year) -> list[Finding]:
    out = []

    def cell(label):
        return table.cell(row, label) if label in table.columns else a1(row, 0)

    for ident in spec.identities:
        total = _amount(rec, ident.total)
        parts = [_amount(rec, p) for p in ident.parts]
        if ident.when == "total_filled" and total is None:
            continue
        if total is None or all(p is None for p in parts):
            continue
        summed = sum((p or Decimal(0) for p in parts), Decimal(0))
        if summed != total:
            hint = "请核对各项金额"
            project_total = _amount(rec, spec.role("project_total"))
            if ident.rule == "F-02" and project_total is not None and project_total == total + summed:
                hint = (f"项目资金总额 {money_text(project_total)} 恰好等于 {money_text(total)} + "
                        f"{money_text(summed)}，可能把其他年度的资金填进了本年度，请核对当年财政拨款")
            out.append(finding(ident.rule, file=sub.file, sheet=table.sheet, cell=cell(ident.total), field=ident.total,
                               total_label=ident.total, total=money_text(total),
                               parts_text="＋".join(ident.parts), sum=money_text(summed),
                               diff=money_text(abs(total - summed)), hint=hint))
    annual_label, whole_label = spec.role("annual_total"), spec.role("project_total")
    annual, whole = _amount(rec, annual_label), _amount(rec, whole_label)
    if annual is not None and whole is not None:
        if annual > whole:
            out.append(finding("F-04", file=sub.file, sheet=table.sheet, cell=cell(annual_label),
                               field=annual_label, annual=money_text(annual), total=money_text(whole)))
        else:
            start, end = rec.get(spec.role("start")), rec.get(spec.role("end"))
            carry = _amount(rec, spec.role("carryover")) or Decimal(0)
            if (start and end and year and start.year == end.year == year and whole != annual and carry == 0):
                out.append(finding("F-06", file=sub.file, sheet=table.sheet, cell=cell(whole_label),
                                   field=whole_label, total=money_text(whole), annual=money_text(annual),
                                   diff=money_text(whole - annual)))
    if annual is not None and annual > 0:
        low, high = spec_scale(spec)
        if annual < low or annual > high:
            out.append(finding("F-10", file=sub.file, sheet=table.sheet, cell=cell(annual_label),
                               field=annual_label, value=money_text(annual), unit=spec.money_unit,
                               problem=("偏小" if annual < low else "偏大")))
    return out


# --- 绩效指标 ---------------------------------------------------------------------------------------

def validate_indicators(df: pd.DataFrame, projects: pd.DataFrame, subs, spec: FormSpec) -> list[Finding]:
    out = []
    if not df.empty:
        out.extend(_schema_findings(df, subs, spec.indicators, spec))
    name_label = spec.role("name")
    # The indicators name their project, or (整体支出) all belong to the unit's one record.
    link_label = name_label if name_label in spec.indicators.labels else None
    note_label = spec.role("indicator_note")
    project_names: dict[int, dict[str, tuple[int, str]]] = {}
    for sub_i, row, name in zip(projects.get("_sub", []), projects.get("_row", []), projects.get(name_label, [])):
        if name:
            project_names.setdefault(int(sub_i), {}).setdefault(_label_key(name), (int(row), name))
    per_project: dict[tuple[int, str], dict] = {}
    dup: dict[tuple[int, str, str], int] = {}
    problems_of: dict[tuple, tuple] = {}    # the same row content has the same problems: judge it once
    for rec in frame_records(df):
        sub_i = int(rec["_sub"])
        sub = subs[sub_i]
        table = sub.indicators
        row = int(rec["_row"])

        def at(label, rule, **values):
            out.append(finding(rule, file=sub.file, sheet=table.sheet, cell=table.cell(row, label)
                               if label in table.columns else a1(row, 0), field=label, **values))

        key = None
        if link_label:
            project = rec.get(link_label)
            if project:
                pkey = _label_key(project)
                if pkey not in project_names.get(sub_i, {}):
                    if sub.projects is not None:   # with no 项目信息 sheet (S-02) there is nothing to name
                        at(link_label, "H-09", value=project)
                else:
                    key = (sub_i, pkey)
        elif project_names.get(sub_i):
            pkey, (_, project) = next(iter(project_names[sub_i].items()))
            key = (sub_i, pkey)
        name3 = rec["三级指标"] or ""
        iv: IndicatorValue = rec["_iv"]
        content = (rec["一级指标"], rec["二级指标"], name3, _hashable(rec["运算符"]), _hashable(rec["计量单位"]), iv,
                   _form_year(sub, Context()))
        judged = problems_of.get(content)
        if judged is None:
            judged = problems_of[content] = _row_problems(spec, *content)
        level1, level2, problems = judged
        for label, rule, values in problems:
            at(label, rule, **dict(values))
        if key and name3:
            dkey = (*key, _label_key(name3))
            if dkey in dup:
                at("三级指标", "H-06", project=project, value=name3, other_row=dup[dkey] + 1)
            else:
                dup[dkey] = row
        if key:
            entry = per_project.setdefault(key, {"level1": set(), "level2": set(), "count": 0, "values": [],
                                                 "copied_notes": 0, "row": row, "sub": sub})
            entry["count"] += 1
            if note_label:
                note = rec.get(note_label)
                if not note or _label_key(note) == _label_key(name3):
                    entry["copied_notes"] += 1
            if level1:
                entry["level1"].add(level1)
            if level2:
                entry["level2"].add(level2)
            entry["values"].append(iv)
    out.extend(_completeness(projects, subs, spec, per_project))
    return out


def _hashable(value):
    return (type(value).__name__, value) if value is None or isinstance(value, (str, int, float, Decimal)) else \
        ("repr", repr(value))


def _row_problems(spec: FormSpec, level1_raw, level2_raw, name3: str, op_raw, unit_raw, iv: IndicatorValue,
                  year) -> tuple[str | None, str | None, tuple]:
    """(一级, 二级, problems) of an indicator row's content, independent of where the row is.
    Each problem is (column label, rule id, message values as a tuple of items)."""
    problems: list[tuple[str, str, tuple]] = []

    def at(label, rule, **values):
        problems.append((label, rule, tuple(values.items())))

    level1 = level2 = None
    if level1_raw:
        level1, alias = spec.resolve_level1(level1_raw)
        if level1 is None:
            at("一级指标", "H-01", value=level1_raw, choices="、".join(spec.level1_names()))
        elif alias or (level1_raw != level1 and _label_key(level1_raw) == _label_key(level1)):
            at("一级指标", "H-07", value=level1_raw, canonical=level1)
    if level2_raw:
        owner = level1 or spec.level1_of_level2(level2_raw)
        if owner:
            level2, alias = spec.resolve_level2(owner, level2_raw)
            if level2 is None:
                at("二级指标", "H-02", value=level2_raw, level1=owner, suggestion=_suggest(spec, owner, level2_raw),
                   choices="、".join(spec.level2_names(owner)))
            elif alias or (level2_raw != level2 and _label_key(level2_raw) == _label_key(level2)):
                at("二级指标", "H-07", value=level2_raw, canonical=level2)
    if name3:
        problem = None
        if name3.endswith("指标"):
            problem = "以“指标”结尾"
        elif len(name3) > 25 or name3.count("，") >= 2:
            problem = "像一句话而不是指标名称"
        if problem:
            at("三级指标", "H-04", value=name3, problem=problem)
        for wrong, right in typos_in(name3):
            at("三级指标", "P-12", wrong=wrong, right=right)
        if "规定要求设置" in name3 or "设置三级指标" in name3:
            at("三级指标", "H-08", value=name3)
    _value_problems(at, op_raw[1], unit_raw[1], iv, level1, level2, name3, spec, year)
    _plausibility(at, iv, level1, level2, name3)
    return level1, level2, tuple(problems)


def _suggest(spec: FormSpec, level1: str, label: str) -> str:
    """H-03: the valid 二级 with the largest character overlap, or nothing."""
    text = _label_key(label)
    best, score = None, 0
    for name in spec.level2_names(level1):
        common = len(set(text) & set(name))
        if text.endswith("益指标") and name == "社会效益指标":
            common += 2
        if common > score:
            best, score = name, common
    return f"（是否应为“{best}”？）" if best and score >= 3 else ""


def _value_problems(at, op_raw, unit, iv: IndicatorValue, level1, level2, name3, spec, year) -> None:
    """The 指标值 rules (V-): operator, number, unit, and what the 二级 expects of them."""
    if not _blank(op_raw):
        try:
            parse_operator(str(op_raw))
        except ValueError:
            at("运算符", "V-01", value=op_raw)
    shown = format_official(iv, spec.value_style) if iv.kind != "empty" else ""
    if iv.kind == "empty":
        if not _blank(op_raw):
            at("指标值", "V-03", op=op_raw, value="")
        return
    if iv.kind == "quant":
        if "combined_in_value" in iv.notes:
            at("指标值", "V-21", value=iv.text, op=iv.op or "", number=iv.number_text, unit=f"({iv.unit})" if iv.unit else "")
        if iv.op is None:
            at("运算符", "V-02", value=shown)
        if iv.unit is None:
            at("计量单位", "V-04", value=shown)
        if is_percent(iv) and iv.number is not None:
            limit = Decimal(100) if iv.unit == "%" else Decimal(1000)
            if iv.number > limit and not any(w in name3 for w in GROWTH_WORDS):
                at("指标值", "V-05", value=iv.number_text)
            elif iv.op == "≥" and iv.number == limit:
                at("指标值", "V-06")
        if level2 == "服务对象满意度指标" or (level1 == "满意度指标"):
            if iv.op in ("≤", "<", "="):
                at("运算符", "V-07", op=iv.op)
            if is_percent(iv) and iv.number is not None and iv.number < Decimal(str(spec.satisfaction_floor)):
                at("指标值", "V-08", value=iv.number_text, floor=f"{spec.satisfaction_floor:g}")
        if level2 == "数量指标" and iv.op in ("≤", "<"):
            at("运算符", "V-12", op=iv.op)
        if level2 == "成本指标" and iv.op in ("≥", ">", "="):
            at("运算符", "V-11", problem=f"用了“{iv.op}”")
    else:
        if not _blank(op_raw):
            at("指标值", "V-03", op=op_raw, value=iv.text)
        if not _blank(unit) and iv.kind == "qual":
            at("计量单位", "V-22", value=iv.text, unit=unit)
        if level1 == "满意度指标":
            at("指标值", "V-09", value=iv.text)
        elif level2 == "数量指标":
            at("指标值", "V-10", value=iv.text)
        elif level2 == "成本指标":
            at("指标值", "V-11", problem=f"“{iv.text}”不是金额")
        if iv.kind == "month":
            at("指标值", "V-17", value=iv.text, year=year or "本")
        elif iv.kind == "date" and year:
            m = DATE_RE.match(normalize_text(iv.text))
            written = next((g for g in (m.groupdict().values() if m else ()) if g and len(g) == 4 and g.isdigit()), None)
            if written and int(written) != int(year):
                at("指标值", "V-15", value=iv.text, got=written, year=year)
        elif iv.kind == "textnum":
            at("指标值", "V-18", value=iv.text)
    if name3 and RATE_NAME.search(name3) and not is_percent(iv) and iv.kind != "empty":
        at("指标值", "V-13", name=name3, value=shown or iv.text)


def _plausibility(at, iv: IndicatorValue, level1, level2, name3) -> None:
    """H-05: the 三级 or its value says one 二级, the row files it under another."""
    problem = None
    if level1 == "满意度指标" and name3 and "满意" not in name3:
        problem = "放在满意度指标下，但不是满意度"
    elif level1 and level1 != "满意度指标" and "满意" in name3:
        problem = "是满意度，请放在满意度指标下"
    elif level2 and level2 != "时效指标" and (iv.kind in ("date", "month") or
                                              (iv.kind == "qual" and iv.text.strip() in TIME_WORDS)):
        problem = f"的指标值“{iv.text}”是时间要求，请放在时效指标下"
    elif level2 == "生态效益指标" and not any(w in name3 for w in ECO_WORDS):
        problem = "放在生态效益指标下，但看不出与生态环境有关"
    elif level2 == "经济效益指标" and not any(w in name3 for w in ECON_WORDS):
        problem = "放在经济效益指标下，但看不出经济效益"
    if problem:
        at("三级指标", "H-05", value=name3, problem=problem)


def _completeness(projects: pd.DataFrame, subs, spec: FormSpec, per_project: dict) -> list[Finding]:
    out = []
    if projects.empty:
        return out
    name_label, goal_label = spec.role("name"), spec.role("goal")
    note_label = spec.role("indicator_note")
    goals = projects[goal_label] if goal_label in projects else [None] * len(projects)
    seen = set()
    for sub_i, row, name, goal in zip(projects["_sub"], projects["_row"], projects[name_label], goals):
        if not name:
            continue
        key = (int(sub_i), _label_key(name))
        if key in seen:
            continue
        seen.add(key)
        sub = subs[int(sub_i)]
        table = sub.projects
        common = dict(file=sub.file, sheet=table.sheet, cell=table.cell(int(row), name_label), field=name_label)
        entry = per_project.get(key)
        if entry is None:
            out.append(finding("C-07", project=name, **common))
            continue
        for l1 in spec.hierarchy:
            if l1.name in entry["level1"]:
                if l1.presence == "error":
                    missing = [l2.name for l2 in l1.level2 if l2.expected and l2.name not in entry["level2"]]
                    if missing:
                        out.append(finding("C-03", project=name, missing="、".join(missing), **common))
                continue
            if l1.presence == "error":
                out.append(finding("C-01", project=name, level1=l1.name, **common))
            elif l1.presence == "warning":
                out.append(finding("C-02", project=name, level1=l1.name, **common))
        if entry["count"] < spec.min_indicators_per_project:
            out.append(finding("C-05", project=name, count=entry["count"],
                               minimum=spec.min_indicators_per_project, **common))
        if note_label and entry["copied_notes"]:
            # V-20 once per project: the description column exists to explain the measure.
            ind_table = entry["sub"].indicators
            out.append(finding("V-20", file=sub.file, sheet=ind_table.sheet,
                               cell=ind_table.cell(entry["row"], note_label) if note_label in ind_table.columns
                               else a1(entry["row"], 0), field=note_label, project=name,
                               count=entry["copied_notes"], total=entry["count"], label=note_label))
        if goal:
            numbers = {v.number for v in entry["values"] if v.number is not None}
            text = re.sub(r"20\d\d\s*年|20\d\d\s*[—-]|第\s*\d+", "", HTML_TAG.sub("", goal))
            for m in GOAL_NUMBER.finditer(text):
                if Decimal(m[1]) not in numbers:
                    goal_cell = table.cell(int(row), goal_label) if goal_label in table.columns else common["cell"]
                    out.append(finding("C-06", file=sub.file, sheet=table.sheet, cell=goal_cell,
                                       field=goal_label, phrase=m[0], number=m[1]))
                    break
    return out
