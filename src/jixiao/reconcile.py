"""Read the written 汇总表 back and prove it holds every record and every row of every table exactly
once, with amounts equal to the inputs to the cent, per unit and in total — both the values the
workbook carries and the values its formulas give when a client recalculates them."""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal
from pathlib import Path

from .blocks import anchor_text
from .cells import CENT, clean_text, column_index, money_text, to_decimal
from .errors import ReconciliationError
from .merge import Consolidated
from .xlsxscan import header_row, iter_rows
from .render import (CODE_COLUMN, FORM_SHEET_PREFIX, KIND_COLUMN, ROW_RECORD, ROW_SUBTOTAL, ROW_TOTAL,
                     SUMMARY_HEADER_ROW, SUMMARY_SHEET, detail_sheet_name)


def _dec(value) -> Decimal | None:
    if value is None or value == "":
        return None
    amount, _ = to_decimal(value)
    return None if amount is None else amount.quantize(CENT)


def _detail_counts(path: Path, sheet: str) -> dict[tuple[str, str], int]:
    """Rows per (单位编码, record name) on a 明细 sheet, streamed from its XML (the record's name is
    the fourth column, whatever its label; the code's column is found by its header)."""
    code_col = [clean_text(v) for v in header_row(path, sheet)].index(CODE_COLUMN)
    counts: dict[tuple[str, str], int] = {}
    for r, (serial, code, name) in iter_rows(path, sheet, (0, code_col, 3)):
        if r > 0 and isinstance(serial, (int, float)) and not isinstance(serial, bool):
            key = (clean_text(code), clean_text(name))
            counts[key] = counts.get(key, 0) + 1
    return counts


# --- the formulas, as a client recalculating them would compute them --------------------------------

_CELL_F = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*><f>([^<]*)</f>')
_SUM = re.compile(r"^SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)$")
_SUMIFS = re.compile(r'^SUMIFS\(([A-Z]+)(\d+):([A-Z]+)(\d+),\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+),"([^"]*)"\)$')


def summary_formulas(path: Path) -> dict[tuple[int, int], str]:
    """(row, col) → formula text of every formula on the 汇总 sheet (the workbook's first sheet)."""
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    return {(int(m[2]) - 1, column_index(m[1].decode())): m[3].decode().replace("&quot;", '"')
            for m in _CELL_F.finditer(xml)}


class Columns:
    """Some columns of a sheet, read row by row through a client's reader (python-calamine): the
    汇总 sheet has a row per record, of which reconcile needs a few columns, not every cell."""

    def __init__(self, sheet, header_row: int, wanted) -> None:
        """wanted(header) → the 0-based columns to keep, given the header row's values."""
        first_row, first_col = sheet.start or (0, 0)
        self.rows = 0                       # rows read, from row 0 (those above the header are not kept)
        self.header: list = []
        self._values: dict[int, list] = {}
        for r, row in enumerate(sheet.iter_rows(), start=first_row):
            self.rows = r + 1
            if r == header_row:
                self.header = [None] * first_col + list(row)
                self._values = {c: [None] * (header_row + 1) for c in wanted(self.header)}
            elif r > header_row:
                for c, values in self._values.items():
                    i = c - first_col
                    values.append(row[i] if 0 <= i < len(row) else None)

    def value(self, r: int, c: int):
        values = self._values.get(c)
        return values[r] if values is not None and r < len(values) else None


def recalculated(formula: str, grid: Columns) -> Decimal | None:
    """What SUM(range) or SUMIFS(range, kinds, "明细") gives over the sheet's values; None otherwise."""
    value = grid.value

    def number(v) -> Decimal:
        return Decimal(repr(float(v))) if isinstance(v, (int, float)) and not isinstance(v, bool) else Decimal(0)

    m = _SUM.match(formula)
    if m:
        c = column_index(m[1])
        return sum((number(value(r, c)) for r in range(int(m[2]) - 1, int(m[4]))), Decimal(0))
    m = _SUMIFS.match(formula)
    if m:
        c, k = column_index(m[1]), column_index(m[5])
        return sum((number(value(r, c)) for r in range(int(m[2]) - 1, int(m[4]))
                    if clean_text(value(r, k)) == m[9]), Decimal(0))
    return None


def reconcile(consolidated: Consolidated, path: Path) -> list[str]:
    """Raises ReconciliationError when the workbook does not reproduce the inputs; returns the lines
    that say, per unit and in total, what was merged."""
    import python_calamine as calamine

    spec = consolidated.spec
    name_label = spec.projects.label("name")
    anchor = anchor_text(consolidated)
    # 汇总 (a row per record) through a client's reader; the big sheets (申报表, 明细: millions of
    # cells in a province) streamed from their XML, so that no sheet is held whole.
    label = spec.projects.label
    amounts = consolidated.amount_fields()

    def wanted(header: list) -> list[int]:
        labels = [clean_text(v) for v in header]
        return [labels.index(x) for x in (KIND_COLUMN, CODE_COLUMN, name_label, *map(label, amounts)) if x in labels]

    wb = calamine.CalamineWorkbook.from_path(str(path))
    try:
        summary = Columns(wb.get_sheet_by_name(SUMMARY_SHEET), SUMMARY_HEADER_ROW, wanted)
        sheet_names = list(wb.sheet_names)
    finally:
        wb.close()
    details = {t.key: _detail_counts(path, detail_sheet_name(t)) for t in spec.tables[1:]}
    form_titles = sum(1 for name in sheet_names if name.startswith(FORM_SHEET_PREFIX)
                      for _, (first,) in iter_rows(path, name, (0,)) if clean_text(first) == anchor)
    problems: list[str] = []
    header = [clean_text(v) for v in summary.header]
    col = {label: header.index(label) for label in header if label}
    totals = spec.total_ids()
    amount_col = {fid: col[label(fid)] for fid in amounts}
    kind_col, code_col, name_col = col[KIND_COLUMN], col[CODE_COLUMN], col[name_label]
    seen: dict[tuple[str, str], int] = {}
    per_unit: dict[str, dict[str, Decimal]] = {}
    subtotal_rows: dict[str, int] = {}
    grand = None
    value = summary.value
    for r in range(SUMMARY_HEADER_ROW + 1, summary.rows):
        kind = clean_text(value(r, kind_col))
        code = clean_text(value(r, code_col))
        if kind == ROW_RECORD:
            key = (code, clean_text(value(r, name_col)))
            seen[key] = seen.get(key, 0) + 1
            bucket = per_unit.setdefault(code, {a: Decimal(0) for a in amounts})
            for a in amounts:
                bucket[a] += _dec(value(r, amount_col[a])) or Decimal(0)
        elif kind == ROW_SUBTOTAL:
            subtotal_rows[code] = r
        elif kind == ROW_TOTAL:
            grand = r
    # One pass over the records (they are loaded from the spool unit by unit): their keys, and the
    # rows each has on every 明细 sheet.
    expected_keys, names = set(), {}
    want_rows: dict[str, dict[tuple[str, str], int]] = {table.key: {} for table in spec.tables[1:]}
    for p in consolidated.projects:
        expected_keys.add((p.unit.code, p.name))
        names[p.unit.code] = p.unit.name
        for table in spec.tables[1:]:
            want_rows[table.key][(p.unit.code, p.name)] = (len(p.indicators) if table.kind == "indicators"
                                                          else len(p.children.get(table.key, ())))
    for key in sorted(expected_keys - set(seen)):
        problems.append(f"汇总表缺少{spec.record_noun} {names.get(key[0], key[0])} / {key[1]}")
    for key, n in seen.items():
        if key not in expected_keys:
            problems.append(f"汇总表多出{spec.record_noun} {key[0]} / {key[1]}")
        elif n != 1:
            problems.append(f"{spec.record_noun} {names[key[0]]} / {key[1]} 在汇总表中出现 {n} 次")
    formulas = summary_formulas(path)

    def check_total(r: int | None, where: str, code: str | None) -> None:
        want = consolidated.totals(code)
        for a in totals:
            filled = consolidated.filled(a, code)
            if r is None:
                problems.append(f"{where}不见了")
                return
            cell = (r, amount_col[a])
            cached = _dec(value(r, amount_col[a]))
            if not filled:
                if cached is not None or cell in formulas:
                    problems.append(f"{where}的 {label(a)} 应留空（没有{spec.record_noun}填写）")
                continue
            again = recalculated(formulas.get(cell, ""), summary)
            if cached != want[a]:
                problems.append(f"{where}的 {label(a)} 为 {money_text(cached)}，与输入 {money_text(want[a])} 不符")
            if again is None or again.quantize(CENT) != want[a]:
                problems.append(f"{where}的 {label(a)} 重新计算后为 {money_text(again)}，与输入 {money_text(want[a])} 不符")

    for status in (u for u in consolidated.units if u.projects):
        code = status.unit.code
        want = consolidated.totals(code)
        got = per_unit.get(code, {})
        for a in amounts:
            if got.get(a, Decimal(0)) != want[a]:
                problems.append(f"{status.unit.name} 的 {label(a)} 合计 {money_text(got.get(a))} ≠ 输入 {money_text(want[a])}")
        check_total(subtotal_rows.get(code), f"{status.unit.name} 小计行", code)
    check_total(grand, "合计行", None)
    # Each 明细 sheet: one row per row of its table, counted per record.
    for table in spec.tables[1:]:
        want_counts = want_rows[table.key]
        got_counts = details[table.key]
        for key in set(want_counts) | set(got_counts):
            if want_counts.get(key, 0) != got_counts.get(key, 0):
                problems.append(f"{detail_sheet_name(table)}中 {names.get(key[0], key[0])} / {key[1]} 有 "
                                f"{got_counts.get(key, 0)} 条{table.noun}，输入为 {want_counts.get(key, 0)} 条")
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
