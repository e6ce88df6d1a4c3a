"""Submissions → typed tables: one pandas DataFrame per table of the form, over all files at once.

Columns are field ids, plus `_sub` (the submission's index) and `_row` (the 0-based sheet row).
Every cell is typed by its field's type: text cleaned, dates and amounts parsed (amounts as
Decimal), counts as int, and the indicator's three value columns parsed into one IndicatorValue
(`_iv`). A cell that cannot be used (a formula, an Excel error, a date or amount that is none)
becomes None here and a finding, and its position goes into `bad` so that later rules do not
report it again as empty.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd

from .cells import EXACT_DIGITS, clean_text, is_excel_error, money_text, significant_digits, to_date, to_decimal
from .findings import ERROR, RULES
from .findings import Reporter, emits
from .spec import FormSpec
from .text import EXCEL_CELL_MAX, describe, excel_length, has_invisible, invisible, short_text_cache
from .values import IndicatorValue, parse_split

_LONG = EXCEL_CELL_MAX // 2          # past this a text may be past a cell (UTF-16 units)
TEXT_TYPES = {"text", "longtext", "code", "project_ref", "level1", "level2", "unit"}


@emits("P-08", "P-11", "P-04", "P-14", "P-15", "P-16", "F-01", "F-12", "F-13")
def build_frames(subs, spec: FormSpec, out: dict[int, list], bad: set) -> dict[str, pd.DataFrame]:
    """Typed frames of every table over all files; unusable cells become findings and None.

    Column by column: a column of plain text (the great majority) is typed in one pass through
    the cached text normaliser; only its unusual cells (a formula, an Excel error, invisible
    characters, past a cell's length) and the dates, amounts and counts go through _typed."""
    frames = {}
    for sheet in spec.data_sheets:
        ids = sheet.ids
        columns: dict[str, list] = {"_sub": [], "_row": [], **{fid: [] for fid in ids}}
        width = len(sheet.fields)
        for i, sub in enumerate(subs):
            table = sub.tables.get(sheet.key)
            if table is None or not table.rows:
                continue
            report = Reporter(spec, out[i], build_frames)
            formulas = {cell: text for (name, cell), text in sub.formulas.items() if name == table.sheet}
            rows = [r for r, _ in table.rows]
            columns["_sub"].extend([i] * len(rows))
            columns["_row"].extend(rows)
            raw_columns = zip(*(values if len(values) == width else (list(values) + [None] * width)[:width]
                                for _, values in table.rows))
            for f, raw in zip(sheet.fields, raw_columns):
                columns[f.id].extend(_typed_column(f, raw, rows, sub, sheet.key, table, formulas, report, bad, spec))
        df = pd.DataFrame(columns, columns=["_sub", "_row", *ids])
        # Object columns with None for "missing": pandas would otherwise infer str/float dtypes with NaN.
        frames[sheet.key] = df.astype(object).where(df.notna(), None)
    ind = frames["indicators"]
    op = ind["operator"] if "operator" in ind else [None] * len(ind)
    unit = ind["unit"] if "unit" in ind else [None] * len(ind)
    if len(ind):
        ind["_iv"] = [parse_split_cached(o, v, u) for o, v, u in zip(op, ind["value"], unit)]
    else:
        ind["_iv"] = pd.Series(dtype=object)
    return frames


def _unusual(raw) -> bool:
    """A text cell that needs _text_cell: an Excel error's #, past half a cell, invisible characters."""
    return isinstance(raw, str) and (raw[:1] == "#" or len(raw) > _LONG or has_invisible(raw))


_UNUSUAL = object()          # what _plain_str gives for a cell that needs the per-cell path


# A text cell typed in one step (each distinct short text once), or _UNUSUAL.
_plain_str = short_text_cache(lambda raw: _UNUSUAL if _unusual(raw) else clean_text(raw))


def _typed_column(f, raw: tuple, rows: list[int], sub, table_key: str, table, formulas: dict, report: Reporter,
                  bad: set, spec: FormSpec) -> list:
    """One field's cells of one file, typed (see build_frames)."""
    formula_rows = set()
    if formulas and f.id in table.columns:
        formula_rows = {r for r, value in zip(rows, raw) if value is not None and table.cell(r, f.id) in formulas}
    plain_text = f.type in TEXT_TYPES or f.type not in ("date", "amount", "count", "operator", "value")
    if plain_text and not formula_rows:
        typed = [_plain_str(value) if value.__class__ is str else None if value is None else clean_text(value)
                 for value in raw]
        if _UNUSUAL not in typed:
            return typed
    typed = []
    for r, value in zip(rows, raw):
        if r in formula_rows:
            report.at(sub, table_key, r, f.id, "P-08", formula=formulas[table.cell(r, f.id)][:60])
            bad.add((sub.file, table.sheet, table.cell(r, f.id)))
            value = None
        elif _unusual(value):
            value = _text_cell(f, value, sub, table_key, r, report, bad)
        typed.append(None if value is None else _typed(f, value, sub, table_key, r, report, bad, spec))
    return typed


def frame_records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (faster than DataFrame.to_dict, which boxes each value)."""
    columns = list(df.columns)
    return [dict(zip(columns, row)) for row in zip(*(df[c].tolist() for c in columns))]


@lru_cache(maxsize=65536)
def _parse_split_key(key) -> IndicatorValue:
    (_, op), (_, value), (_, unit) = key
    return parse_split(op, value, unit)


def parse_split_cached(op, value, unit) -> IndicatorValue:
    """Indicator values repeat across rows and units (≥90, %, 及时): parse each distinct one once.
    IndicatorValue is frozen, so sharing it is safe. bool stays apart from 1/0 (True == 1)."""
    key = tuple((type(x).__name__, x) for x in (op, value, unit))
    try:
        return _parse_split_key(key)
    except TypeError:
        return parse_split(op, value, unit)


def _text_cell(f, raw: str, sub, table_key: str, row: int, report: Reporter, bad: set):
    """A text cell, before typing: an Excel error value (P-11), invisible characters (P-15, then
    gone: jixiao.text.clean removes them in every stage alike), more than a cell can hold (P-16).
    Returns the text to type, or None when the cell is unusable."""
    def unusable() -> None:
        bad.add((sub.file, sub.tables[table_key].sheet, sub.tables[table_key].cell(row, f.id)))

    if raw[:1] == "#" and is_excel_error(raw):
        report.at(sub, table_key, row, f.id, "P-11", value=raw.strip())
        unusable()
        return None
    if has_invisible(raw):
        chars = invisible(raw)
        report.at(sub, table_key, row, f.id, "P-15", chars=describe(chars))
    if len(raw) > _LONG and excel_length(raw) > EXCEL_CELL_MAX:
        text = clean_text(raw) or ""
        if excel_length(text) > EXCEL_CELL_MAX:
            report.at(sub, table_key, row, f.id, "P-16", length=f"{excel_length(text):,}")
            unusable()
            return None
    return raw


def _typed(f, raw, sub, table_key: str, row: int, report: Reporter, bad: set, spec: FormSpec):
    if f.type in TEXT_TYPES:
        return clean_text(raw)
    if f.type in ("operator", "value"):
        return raw if not isinstance(raw, str) else clean_text(raw)
    if f.type not in ("date", "amount", "count"):
        return clean_text(raw)

    def problem(rule: str, **values) -> None:
        report.at(sub, table_key, row, f.id, rule, **values)
        if RULES[rule].severity == ERROR:
            table = sub.tables[table_key]
            bad.add((sub.file, table.sheet, table.cell(row, f.id)))

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
        shown = raw.date().isoformat() if isinstance(raw, dt.datetime) else clean_text(raw)
        problem(rule, value=shown, **({"unit": spec.money_unit} if rule == "F-01" else {}))
        return None
    if was_text:
        problem("F-12", value=clean_text(raw), parsed=money_text(amount))
    if amount is not None and significant_digits(amount) > EXACT_DIGITS:
        problem("F-13", value=money_text(amount), digits=significant_digits(amount), unit=spec.money_unit)
        return None
    return amount
