"""The department's own inputs: the roster of units and the optional budget prefill.

Both come as .xlsx or .csv (UTF-8 with or without BOM, or GBK as Excel on Chinese Windows
writes it). Every problem is collected and reported together, one Chinese line each.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .cells import CENT, clean_text, to_decimal, money_text
from .errors import InputError
from .spec import DEFAULT_FORM, FormSpec, load_form, normalize_label
from .text import shown_path

ROSTER_REQUIRED = ("单位编码", "单位名称")
ROSTER_OPTIONAL = ("联系人", "联系电话")
UNIT_CODE = ROSTER_REQUIRED[0]
MAX_CODE_BYTES = 64       # a code starts every file name of its unit (file names hold 255 bytes)
# Characters Windows refuses in a file name, plus control characters.
_BAD_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    contact: str = ""
    phone: str = ""


@dataclass
class Roster:
    units: list[Unit]
    source: str = ""
    path: Path | None = None            # the file it was read from (outputs never overwrite it)
    _by_code: dict[str, Unit] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self._by_code = {u.code: u for u in self.units}

    def get(self, code: str | None) -> Unit | None:
        return self._by_code.get(str(code or "").strip())

    def order(self, code: str) -> int:
        for i, u in enumerate(self.units):
            if u.code == code:
                return i
        return len(self.units)


@dataclass(frozen=True)
class BudgetRow:
    unit_code: str
    values: dict           # field label → str or Decimal, only what the budget gave


def read_table(path: str | Path, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict]]]:
    """Header labels and (row number, {label: value}) rows of a .csv or .xlsx file."""
    path = Path(path)
    if not path.exists():
        raise InputError([f"{path}：文件不存在"])
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    else:
        raise InputError([f"{shown_path(path.name)}：只支持 .xlsx 或 .csv 文件"])
    # The header is the first of the first 5 rows that holds a required label.
    for index, row in enumerate(rows[:5]):
        labels = [normalize_label(v) for v in row]
        if any(label in labels for label in required):
            break
    else:
        wanted = "、".join(f"“{label}”" for label in required)
        raise InputError([f"{shown_path(path.name)}：前 5 行中找不到表头（应有 {wanted} 列）"])
    missing = [label for label in required if label not in labels]
    if missing:
        raise InputError([f"{shown_path(path.name)}：缺少列“{label}”" for label in missing])
    out = []
    for number, row in enumerate(rows[index + 1:], start=index + 2):
        record = {label: (row[i] if i < len(row) else None) for i, label in enumerate(labels) if label}
        if any(clean_text(v) for v in record.values()):
            out.append((number, record))
    return labels, out


def _csv_rows(path: Path) -> list[list]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError([f"{shown_path(path.name)}：无法识别文件编码，请另存为 UTF-8 或 .xlsx"])
    return list(csv.reader(io.StringIO(text)))


def _xlsx_rows(path: Path) -> list[list]:
    import openpyxl  # imported here: only roster/budget .xlsx files need it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same user problem
        raise InputError([f"{shown_path(path.name)}：无法作为 .xlsx 打开（{type(exc).__name__}）"]) from None
    try:
        ws = wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True, max_row=100_000)]
    finally:
        wb.close()


def load_roster(path: str | Path) -> Roster:
    path = Path(path)
    _, rows = read_table(path, ROSTER_REQUIRED)
    problems, units, seen = [], [], {}
    numeric: list[tuple[int, str]] = []          # (row, code) of codes that were number cells
    for number, record in rows:
        raw_code = record.get("单位编码")
        code = _code_text(raw_code)
        if code and isinstance(raw_code, (int, float)) and not isinstance(raw_code, bool):
            numeric.append((number, code))
            if len(code) > 15:
                problems.append(f"{shown_path(path.name)} 第 {number} 行：单位编码 {code} 是数字格式且超过 15 位，Excel 已改变了它的"
                                "末几位：请把“单位编码”列设为文本格式后重新输入编码（或另存为 CSV 后使用）")
                continue
        name = clean_text(record.get("单位名称")) or ""
        if not code:
            problems.append(f"{shown_path(path.name)} 第 {number} 行：单位编码为空")
            continue
        # Compared without case: on Windows and macOS "a01_…" and "A01_…" are the same file.
        if code.casefold() in seen:
            problems.append(f"{shown_path(path.name)} 第 {number} 行：单位编码 {code} 与第 {seen[code.casefold()]} 行重复")
            continue
        seen[code.casefold()] = number
        if not name:
            problems.append(f"{shown_path(path.name)} 第 {number} 行：单位名称为空")
            continue
        if len(code.encode("utf-8")) > MAX_CODE_BYTES:
            problems.append(f"{shown_path(path.name)} 第 {number} 行：单位编码“{code[:20]}…”过长（超过 {MAX_CODE_BYTES} 字节）："
                            "单位编码是文件名的开头，请使用简短的编码")
            continue
        for label, value in (("单位编码", code), ("单位名称", name)):
            bad = _BAD_FILENAME.search(value)
            if bad or value.endswith((".", " ")) or len(value) > 80:
                problems.append(f"{shown_path(path.name)} 第 {number} 行：{label}“{value}”不能用作文件名"
                                f"（不能含有 \\ / : * ? \" < > | 等字符，也不能过长），请修改")
                break
        else:
            units.append(Unit(code, name, clean_text(record.get("联系人")) or "",
                              _code_text(record.get("联系电话")) or ""))
    if not units and not problems:
        problems.append(f"{shown_path(path.name)}：名单中没有任何单位")
    problems += _lost_zeros(path, numeric, units)
    if problems:
        raise InputError(problems)
    return Roster(units, source=shown_path(path.name), path=path)


def _lost_zeros(path: Path, numeric: list[tuple[int, str]], units: list[Unit]) -> list[str]:
    """Codes typed into number cells lose their leading zeros (001 → 1). Said when it shows: some
    codes were numbers and the codes are not all as long, or other codes start with 0."""
    if not numeric:
        return []
    lengths = {len(u.code) for u in units}
    zero_led = [u.code for u in units if u.code.startswith("0")]
    longest = max(lengths, default=0)
    short = [(row, code) for row, code in numeric if len(code) < longest]
    if not short and not zero_led:
        return []
    row, code = (short or numeric)[0]
    example = f"有的编码有 {longest} 位" if short else f"其他编码如 {zero_led[0]} 以 0 开头"
    return [f"{shown_path(path.name)}：“单位编码”列是数字格式，开头的 0 可能已经丢失（如第 {row} 行的 {code}，{example}）："
            "请在 Excel 中把该列设为“文本”后重新输入编码，或另存为 CSV（UTF-8）后使用"]


def budget_columns(spec: FormSpec) -> tuple[str, ...]:
    """The columns of a budget file for this form: 单位编码 and the labels of its prefillable fields."""
    return (UNIT_CODE, *(f.label for f in spec.prefill_fields()))


def load_budget(path: str | Path, roster: Roster, form: str | FormSpec = DEFAULT_FORM) -> dict[str, list[BudgetRow]]:
    """Budget rows grouped by unit code, values keyed by field id; every problem is reported, not only
    the first. The budget's columns are the form's prefillable fields, and the form's amount
    identities must hold on every row that gives their amounts."""
    path = Path(path)
    spec = form if isinstance(form, FormSpec) else load_form(form)
    fields = spec.prefill_fields()
    if not any(f.id == "name" for f in fields):
        raise InputError([f"{shown_path(path.name)}：表单“{spec.title}”没有可由预算预填的字段，不能使用预算文件"])
    name_label = spec.projects.label("name")
    labels, rows = read_table(path, (UNIT_CODE, name_label))
    problems: list[str] = []
    by_unit: dict[str, list[BudgetRow]] = {}
    seen: dict[tuple[str, str], int] = {}
    for number, record in rows:
        where = f"{shown_path(path.name)} 第 {number} 行"
        code = _code_text(record.get(UNIT_CODE))
        name = clean_text(record.get(normalize_label(name_label)))
        if not code or not name:
            problems.append(f"{where}：{UNIT_CODE}和{name_label}都必须填写")
            continue
        if roster.get(code) is None:
            problems.append(f"{where}：{UNIT_CODE} {code} 不在名单中")
            continue
        key = (code, normalize_label(name))
        if key in seen:
            problems.append(f"{where}：{spec.record_noun}“{name}”与第 {seen[key]} 行重复")
            continue
        seen[key] = number
        values: dict = {"name": name}
        ok = True
        for f in fields:
            column = normalize_label(f.label)
            if f.id == "name" or column not in labels:
                continue
            raw = record.get(column)
            if f.type == "amount":
                try:
                    amount, _ = to_decimal(raw)
                except ValueError:
                    problems.append(f"{where}：{f.label}“{raw}”不是有效金额")
                    ok = False
                    continue
                if amount is not None:
                    if amount < 0 or amount != amount.quantize(CENT):
                        problems.append(f"{where}：{f.label} {amount} 必须不小于 0 且最多两位小数")
                        ok = False
                        continue
                    values[f.id] = amount.quantize(CENT)
            else:
                text = clean_text(raw)
                if text:
                    values[f.id] = text
        if not ok:
            continue
        broken = _broken_identity(spec, values)
        if broken:
            problems.append(f"{where}：{broken}")
            continue
        by_unit.setdefault(code, []).append(BudgetRow(code, values))
    if problems:
        raise InputError(problems)
    return by_unit


def _broken_identity(spec: FormSpec, values: dict) -> str | None:
    """The first of the form's identities that the budget row's amounts break, said in words."""
    for ident in spec.identities:
        total = values.get(ident.total)
        if total is None or not any(p in values for p in ident.parts):
            continue
        parts = sum((values.get(p, Decimal(0)) for p in ident.parts), Decimal(0))
        if parts != total:
            label = spec.projects.label
            return (f"{label(ident.total)} {money_text(total)} ≠ "
                    f"{'＋'.join(label(p) for p in ident.parts)} {money_text(parts)}")
    return None


def _code_text(value) -> str | None:
    """A code as text: Excel turns 001 into 1.0 and 564301 into 564301.0; undo the float."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)
