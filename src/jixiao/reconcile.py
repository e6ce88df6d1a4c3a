"""Read the written 汇总表 back and prove it holds every record and every row of every table exactly
once, with amounts equal to the inputs to the cent, per unit and in total."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from .cells import CENT, clean_text, money_text, to_decimal
from .errors import ReconciliationError
from .merge import Consolidated
from .render import FORM_SHEET_PREFIX, SUMMARY_HEADER_ROW, SUMMARY_SHEET, detail_sheet_name
from .blocks import anchor_text


def _dec(value) -> Decimal:
    amount, _ = to_decimal(value)
    return (amount or Decimal(0)).quantize(CENT)


def _detail_counts(rows, name_label: str) -> dict[tuple[str, str], int]:
    """Rows per (实施单位, record name) on a 明细 sheet, from its rows as they stream."""
    rows = iter(rows)
    header = [clean_text(v) for v in next(rows, [])]
    col = {label: header.index(label) for label in header if label}
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if row and isinstance(row[col["序号"]], (int, float)):
            key = (clean_text(row[col["实施单位"]]), clean_text(row[col[name_label]]))
            counts[key] = counts.get(key, 0) + 1
    return counts


def reconcile(consolidated: Consolidated, path: Path) -> list[str]:
    """Raises ReconciliationError when the workbook does not reproduce the inputs; returns the lines
    that say, per unit and in total, what was merged."""
    import python_calamine as calamine

    spec = consolidated.spec
    name_label = spec.projects.label("name")
    anchor = anchor_text(consolidated)
    wb = calamine.CalamineWorkbook.from_path(str(path))
    try:
        summary = wb.get_sheet_by_name(SUMMARY_SHEET).to_python(skip_empty_area=False)
        details = {t.key: _detail_counts(wb.get_sheet_by_name(detail_sheet_name(t)).iter_rows(), name_label)
                   for t in spec.tables[1:]}
        form_titles = 0
        for name in wb.sheet_names:
            if name.startswith(FORM_SHEET_PREFIX):
                # Rows stream from calamine one at a time: a province's 申报表 has a million of them.
                form_titles += sum(1 for row in wb.get_sheet_by_name(name).iter_rows()
                                   if row and clean_text(row[0]) == anchor)
    finally:
        wb.close()
    problems: list[str] = []
    header = [clean_text(v) for v in summary[SUMMARY_HEADER_ROW]]
    col = {label: header.index(label) for label in header if label}
    amounts = consolidated.amount_fields()
    amount_col = {fid: col[spec.projects.label(fid)] for fid in amounts}
    seen: dict[tuple[str, str], int] = {}
    per_unit: dict[str, dict[str, Decimal]] = {}
    subtotal_rows: dict[str, list] = {}
    grand = None
    for row in summary[SUMMARY_HEADER_ROW + 1:]:
        if not row or all(clean_text(v) is None for v in row):
            continue
        serial, unit_name, name = row[col["序号"]], clean_text(row[col["实施单位"]]), clean_text(row[col[name_label]])
        if isinstance(serial, (int, float)) and name:
            key = (unit_name, name)
            seen[key] = seen.get(key, 0) + 1
            bucket = per_unit.setdefault(unit_name, {a: Decimal(0) for a in amounts})
            for a in amounts:
                bucket[a] += _dec(row[amount_col[a]])
        elif unit_name and unit_name.endswith("小计"):
            subtotal_rows[unit_name[:-2]] = row
        elif clean_text(serial) == "合计":
            grand = row
    label = spec.projects.label
    expected_keys = {(p.unit.name, p.name) for p in consolidated.projects}
    for key in expected_keys - set(seen):
        problems.append(f"汇总表缺少{spec.record_noun} {key[0]} / {key[1]}")
    for key, n in seen.items():
        if key not in expected_keys:
            problems.append(f"汇总表多出{spec.record_noun} {key[0]} / {key[1]}")
        elif n != 1:
            problems.append(f"{spec.record_noun} {key[0]} / {key[1]} 在汇总表中出现 {n} 次")
    units_with_projects = [u for u in consolidated.units if u.projects]
    for status in units_with_projects:
        want = consolidated.totals(status.unit.code)
        got = per_unit.get(status.unit.name, {})
        sub_row = subtotal_rows.get(status.unit.name)
        for a in amounts:
            if got.get(a, Decimal(0)) != want[a]:
                problems.append(f"{status.unit.name} 的 {label(a)} 合计 {money_text(got.get(a))} ≠ 输入 {money_text(want[a])}")
            if sub_row is None or _dec(sub_row[amount_col[a]]) != want[a]:
                problems.append(f"{status.unit.name} 小计行的 {label(a)} 与输入 {money_text(want[a])} 不符")
    want_total = consolidated.totals()
    for a in amounts:
        if grand is None or _dec(grand[amount_col[a]]) != want_total[a]:
            problems.append(f"合计行的 {label(a)} 与输入 {money_text(want_total[a])} 不符")
    # Each 明细 sheet: one row per row of its table, counted per record.
    for table in spec.tables[1:]:
        want_counts = {(p.unit.name, p.name): (len(p.indicators) if table.kind == "indicators"
                                               else len(p.children.get(table.key, ()))) for p in consolidated.projects}
        got_counts = details[table.key]
        for key in set(want_counts) | set(got_counts):
            if want_counts.get(key, 0) != got_counts.get(key, 0):
                problems.append(f"{detail_sheet_name(table)}中 {key[0]} / {key[1]} 有 {got_counts.get(key, 0)} "
                                f"条{table.noun}，输入为 {want_counts.get(key, 0)} 条")
    if form_titles != len(consolidated.projects):
        problems.append(f"申报表有 {form_titles} 个{spec.record_noun}表，应为 {len(consolidated.projects)} 个")
    if problems:
        raise ReconciliationError("汇总表核对失败，未写入：\n" + "\n".join(problems[:30]))
    return summary_lines(consolidated)


def summary_lines(consolidated: Consolidated) -> list[str]:
    """Per unit and in total: records, rows of the other tables, and the annual amount."""
    spec = consolidated.spec
    noun, unit = spec.record_noun, spec.money_unit
    has_annual = spec.projects.has("annual_total")
    annual = spec.projects.label("annual_total") if has_annual else ""

    def counts(code: str | None) -> str:
        parts = [f"{consolidated.rows('projects', code)} 个{noun}"]
        parts += [f"{consolidated.rows(t.key, code)} 条{t.noun}" for t in spec.tables[1:]]
        return "、".join(parts)

    def money(code: str | None) -> str:
        if not has_annual:
            return ""
        if not consolidated.filled("annual_total", code):
            return f"，{annual}（未填）"
        return f"，{annual} {money_text(consolidated.totals(code)['annual_total'])} {unit}"

    lines = [f"{s.unit.name}：{counts(s.unit.code)}{money(s.unit.code)} ✓"
             for s in consolidated.units if s.projects]
    lines.append(f"合计：{counts(None)}{money(None)}，与输入逐分一致 ✓")
    return lines
