"""Returned workbook → Submission: `_meta` plus every table of the form, each value with its cell.

The reader trusts nothing, and `read_workbook` never raises: whatever the file is, the result is
findings, or one S-01 finding that says in Chinese why the file cannot be read. package.py checks
the file and bounds its sheets before python-calamine reads them; this module finds each table's
header row by label, maps the columns to the form's fields (wherever the unit moved them) and
keeps every non-empty row with its 0-based sheet row.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

from .cells import a1, clean_text, column_letter
from .contract import EXPLANATION_LABEL, KEY_LABEL, META_SHEET, RESULT_SHEET, RULE_LABEL, physical_columns
from .errors import Unreadable
from .findings import Finding, finding
from .package import (_P, MAX_COLUMNS, BoundedSheet, Book, Package, bounded_sheet, formulas_and_errors,
                      load_rows, open_calamine, package_findings, read_bytes, sniff)
from .spec import FormSpec, SheetSpec, normalize_label

META_ROWS = 100
RESULT_ROWS = 20_000                       # rows of an annotated copy's 校验结果 sheet read for 单位说明
HEADER_SEARCH_ROWS = 5
EXTRA_ROWS_SCANNED = 2_000                 # rows below the input range still read (S-14)
# What the reader emits (rules declare theirs; tests/test_rule_registry.py checks the union).
EMITS = frozenset({"S-01", "S-02", "S-03", "S-14", "S-16", "S-17", "S-18", "S-19", "S-20", "S-21", "S-22"})


@dataclass
class Table:
    sheet: str                         # the sheet's name in this workbook
    header_row: int                    # 0-based
    columns: dict[str, int]            # field id → 0-based column
    rows: list[tuple[int, list]]       # (0-based row, values in the spec's field order)
    reference_col: int | None = None   # the locked column of last year's values, when the template has one

    def cell(self, row: int, field_id: str) -> str:
        """The A1 cell of a field on a row; column A when the column is missing (S-03)."""
        return a1(row, self.columns.get(field_id, 0))

    def values_at(self, row: int) -> list | None:
        """The values of a sheet row (0-based), in the spec's field order; None when it was empty."""
        by_row = self.__dict__.get("_by_row")
        if by_row is None:
            by_row = self.__dict__["_by_row"] = dict(self.rows)
        return by_row.get(row)


@dataclass
class Submission:
    path: Path
    sha256: str = ""
    size: int = 0
    meta: dict[str, str] | None = None
    tables: dict[str, Table] = field(default_factory=dict)    # table key → Table, for the sheets found
    formulas: dict[tuple[str, str], str] = field(default_factory=dict)   # (sheet, A1) → formula
    findings: list[Finding] = field(default_factory=list)
    readable: bool = True
    date1904: bool = False
    # The unit's answers to warnings, from the 校验结果 sheet of an annotated copy: (rule, key) → text.
    explanations: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return str(self.path)

    def table(self, key: str) -> Table | None:
        return self.tables.get(key)

    @property
    def projects(self) -> Table | None:
        return self.tables.get("projects")

    @property
    def indicators(self) -> Table | None:
        return self.tables.get("indicators")

    @property
    def counts(self) -> dict[str, int]:
        """Rows read per table key (kept when the cells are released)."""
        if self.tables or "_counts" not in self.__dict__:
            return {key: len(table.rows) for key, table in self.tables.items()}
        return self.__dict__["_counts"]

    @property
    def released(self) -> bool:
        return self.__dict__.get("_released", False)

    def release(self) -> None:
        """Drop the raw cells, keeping what every later stage needs (meta, counts, hash, findings):
        a batch of thousands of files is checked in flat memory."""
        self.__dict__["_counts"] = self.counts
        self.__dict__["_released"] = True
        self.tables = {}
        self.formulas = {}


def read_workbook(path: str | Path, spec: FormSpec) -> Submission:
    """Read one returned workbook. Never raises for any input: problems become findings, and a
    file that cannot be read at all becomes exactly one S-01 finding (so a batch continues)."""
    path = Path(path)
    sub = Submission(path=path)
    try:
        _read(sub, path, spec)
    except Unreadable as exc:
        _unreadable(sub, str(exc))
    except BaseException as exc:   # noqa: BLE001 - last line of defence, incl. pyo3 PanicException
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        _unreadable(sub, f"读取文件时出现意外错误（{type(exc).__name__}）：已跳过此文件；"
                         "请在 Excel 中打开并重新保存为 .xlsx 后报送，如仍出现请把文件转交系统管理员")
    return sub


def _unreadable(sub: Submission, problem: str) -> None:
    sub.readable = False
    sub.meta = None
    sub.release()
    sub.findings = [finding("S-01", file=sub.file, problem=problem)]


def _read(sub: Submission, path: Path, spec: FormSpec) -> None:
    data = read_bytes(path)
    sub.size = len(data)
    sub.sha256 = hashlib.sha256(data).hexdigest()
    sniff(data)
    package = Package(data)
    book = Book(package)
    sub.date1904 = book.date1904
    sub.findings.extend(package_findings(sub.file, package))
    wanted = {}
    found: dict[str, str] = {}                 # table key → the workbook's sheet name
    for sheet in spec.data_sheets:
        actual = book.find_sheet(sheet.name)
        if actual is None:
            sub.findings.append(finding("S-02", file=sub.file, sheet=sheet.name, sheet_name=sheet.name))
        else:
            found[sheet.key] = actual
            wanted[actual] = HEADER_SEARCH_ROWS + sheet.rows + EXTRA_ROWS_SCANNED
    if META_SHEET in book.sheets:
        wanted[META_SHEET] = META_ROWS
    if RESULT_SHEET in book.sheets:
        wanted[RESULT_SHEET] = RESULT_ROWS
    bounded = {name: bounded_sheet(book.sheet_xml(name), name, rows, MAX_COLUMNS)
               for name, rows in wanted.items()}
    package.check_all_xml()
    wb = open_calamine(book, bounded)
    try:
        if META_SHEET in bounded:
            sub.meta = _read_meta(wb)
        if RESULT_SHEET in bounded:
            sub.explanations = _read_explanations(wb)
        for sheet in spec.data_sheets:
            actual = found.get(sheet.key)
            if actual is not None:
                reference = spec.previous_label() if sheet.kind == "indicators" else None
                table = _read_table(wb, actual, sheet, bounded[actual], sub, reference)
                if table is not None:
                    sub.tables[sheet.key] = table
    finally:
        wb.close()


def _read_meta(wb) -> dict[str, str]:
    """`_meta` as every stage uses it: values in the normal form of jixiao.text (a forged code
    with a zero-width space is the same code in the merge keys and the 汇总表), except the prefill
    JSON, whose parts are joined as written (a part may end in a space)."""
    meta = {}
    for row in load_rows(wb, META_SHEET, META_ROWS):
        if len(row) >= 2:
            key = clean_text(row[0])
            if key and key not in meta:
                value = row[1]
                if key.startswith("prefill"):
                    meta[key] = "" if value is None else str(value)
                else:
                    meta[key] = clean_text(_finite(value)) or ""
    return meta


def _read_explanations(wb) -> dict[tuple[str, str], str]:
    """The 单位说明 the unit wrote beside warnings on the 校验结果 sheet (annotate.py writes it): by
    rule and content key. The sheet is guidance, never data: nothing else of it is read."""
    rows = load_rows(wb, RESULT_SHEET, RESULT_ROWS)
    header = next((i for i, row in enumerate(rows[:10]) if EXPLANATION_LABEL in [clean_text(v) for v in row]), None)
    if header is None:
        return {}
    labels = [clean_text(v) for v in rows[header]]
    try:
        rule_col, key_col, text_col = (labels.index(x) for x in (RULE_LABEL, KEY_LABEL, EXPLANATION_LABEL))
    except ValueError:
        return {}
    out = {}
    for row in rows[header + 1:]:
        cells = [clean_text(row[c]) if c < len(row) else None for c in (rule_col, key_col, text_col)]
        if cells[0] and cells[2] is not None:
            out[(cells[0], cells[1] or "")] = cells[2][:2000]
    return out


def _finite(value):
    """A number cell holding NaN or ±1E+400 (no client writes them; calamine reads NaN and inf)
    becomes Excel's own word for a number that is none, #NUM!: P-11 at the cell, and no stage
    (xlsxwriter refuses NaN) ever sees a float that is not a number."""
    if isinstance(value, float) and (value != value or value in (_INF, -_INF)):
        return "#NUM!"
    return value


_INF = float("inf")


# --- the tables ------------------------------------------------------------------------------------

def _read_table(wb, actual: str, sheet: SheetSpec, bounded: BoundedSheet, sub: Submission,
                reference: str | None = None) -> Table | None:
    limit = HEADER_SEARCH_ROWS + sheet.rows + EXTRA_ROWS_SCANNED
    rows = load_rows(wb, actual, limit)
    formulas, errors = formulas_and_errors(bounded.xml)
    for (r, c), formula in formulas.items():
        sub.formulas[(actual, a1(r, c))] = formula
    # The header row is the first of the first rows that holds the table's first label.
    anchor = sheet.fields[0]
    header_row = None
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(normalize_label(v) == normalize_label(anchor.label) for v in row):
            header_row = r
            break
    if header_row is None:
        sub.findings.append(finding("S-03", file=sub.file, sheet=actual, cell="A1", field=anchor.label,
                                    label=anchor.label))
        return None
    found: dict[str, int] = {}
    for c, v in enumerate(rows[header_row]):
        label = normalize_label(v)
        if label and label not in found:
            found[label] = c
    columns = {}
    for f in sheet.fields:
        if normalize_label(f.label) in found:
            columns[f.id] = found[normalize_label(f.label)]
        else:
            sub.findings.append(finding("S-03", file=sub.file, sheet=actual, cell=a1(header_row, 0),
                                        field=f.label, label=f.label))
    # A template that starts from last year has a reference column among the fields (never data):
    # the fields after it stand one column to the right.
    reference_col = found.get(normalize_label(reference)) if reference else None
    expected = physical_columns(len(sheet.fields), reference_col)
    moved = [(f.label, expected[i], columns[f.id]) for i, f in enumerate(sheet.fields)
             if f.id in columns and columns[f.id] != expected[i]]
    if moved:
        label, want, got = moved[0]
        detail = f"“{label}”在 {column_letter(got)} 列，模板中在 {column_letter(want)} 列"
        if len(moved) > 1:
            detail += f"，共 {len(moved)} 列位置不同"
        sub.findings.append(finding("S-22", file=sub.file, sheet=actual, cell=a1(header_row, got), field=label,
                                    sheet_name=actual, detail=detail))
    order = [columns.get(f.id) for f in sheet.fields]
    last_input = header_row + sheet.rows
    table_rows = []
    beyond = False
    # calamine's range ends at its last non-empty cell; formulas without a cached value and
    # Excel errors are empty to calamine, yet hold something: read down to them too
    height = max([len(rows)] + [r + 1 for r, _c in (*formulas, *errors) if r < limit])
    special = bool(formulas or errors)
    width = min(map(len, rows)) if rows else 0
    # calamine's rows are as wide as its range: when every field's column is inside it, one
    # itemgetter picks a row's values (the common case); otherwise each is looked up.
    pick = itemgetter(*order) if order and all(c is not None and c < width for c in order) else None
    for r in range(header_row + 1, height):
        raw = rows[r] if r < len(rows) else ()
        if pick is not None and raw:
            values = list(pick(raw)) if len(order) > 1 else [pick(raw)]
        else:
            values = [raw[c] if c is not None and c < len(raw) else None for c in order]
        if special:
            for i, c in enumerate(order):
                if (r, c) in errors:
                    values[i] = errors[(r, c)]           # calamine reads Excel errors as ""
                elif values[i] in (None, "") and (r, c) in formulas:
                    values[i] = formulas[(r, c)]         # a formula without a cached value
        values = [None if v == "" else _finite(v) if v.__class__ is float else v for v in values]
        if _blank_row(values):
            continue
        if r > last_input and not beyond:
            beyond = True
            sub.findings.append(finding("S-14", file=sub.file, sheet=actual, cell=a1(r, 0),
                                        sheet_name=actual, ref=a1(r, 0), rows=sheet.rows))
        table_rows.append((r, values))
    if bounded.dropped_row is not None:
        sub.findings.append(finding("S-19", file=sub.file, sheet=actual, cell=a1(bounded.dropped_row, 0),
                                    sheet_name=actual, rows=limit - header_row - 1))
    if bounded.dropped_col is not None:
        r, c = bounded.dropped_col
        sub.findings.append(finding("S-20", file=sub.file, sheet=actual, cell=a1(r, MAX_COLUMNS - 1),
                                    sheet_name=actual, cols=MAX_COLUMNS, ref=a1(r, c)))
    table = Table(sheet=actual, header_row=header_row, columns=columns, rows=table_rows, reference_col=reference_col)
    _scan_sheet_xml(bounded.xml, table, sub)
    return table


def _blank_row(values: list) -> bool:
    """Nothing a person would see: every value None or text that cleans to nothing."""
    for v in values:
        if v is not None and (v.__class__ is not str or clean_text(v) is not None):
            return False
    return True


_HIDDEN_ROW = re.compile(rb'<' + _P + rb'row\b[^>]*\bhidden="(?:1|true)"[^>]*>')
_ROW_NUM = re.compile(rb'\br="(\d+)"')
_HIDDEN_COL = re.compile(rb'<' + _P + rb'col\b[^>]*\bhidden="(?:1|true)"[^>]*>')
_MERGE = re.compile(rb'mergeCell\b[^>]*\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')        # literal first: fast


def _scan_sheet_xml(xml: bytes, table: Table, sub: Submission) -> None:
    """Hidden rows/columns holding data and merged cells inside the input range."""
    if b"hidden=" in xml:
        data_rows = {r for r, _ in table.rows}
        input_cols = set(table.columns.values())
        hidden_rows = []
        for m in _HIDDEN_ROW.finditer(xml):
            num = _ROW_NUM.search(m[0])
            if num and int(num[1]) - 1 in data_rows:
                hidden_rows.append(int(num[1]))
        if hidden_rows:
            sub.findings.append(finding("S-16", file=sub.file, sheet=table.sheet, cell=f"A{hidden_rows[0]}",
                                        what="、".join(map(str, hidden_rows[:10])) + " 行"))
        for m in _HIDDEN_COL.finditer(xml):
            lo = re.search(rb'\bmin="(\d{1,5})"', m[0])
            hi = re.search(rb'\bmax="(\d{1,5})"', m[0])
            if lo and hi:
                first, last = int(lo[1]) - 1, min(int(hi[1]), MAX_COLUMNS)
                hidden = set(range(first, last)) & input_cols
                if hidden and data_rows:
                    col = min(hidden)
                    sub.findings.append(finding("S-16", file=sub.file, sheet=table.sheet,
                                                cell=a1(min(data_rows), col), what=f"{column_letter(col)} 列"))
    if b"mergeCell" in xml:
        for m in _MERGE.finditer(xml):
            bottom = int(m[4]) - 1
            if bottom > table.header_row:
                ref = f"{m[1].decode()}{m[2].decode()}:{m[3].decode()}{m[4].decode()}"
                sub.findings.append(finding("S-18", file=sub.file, sheet=table.sheet,
                                            cell=f"{m[1].decode()}{m[2].decode()}", ref=ref))
