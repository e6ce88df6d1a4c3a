"""Turning what Excel, WPS, LibreOffice and CSV files hold into clean Python values.

Users paste amounts as text ("700,000.00", full-width "７０００００", "1,234元"), dates as
serial numbers or as "2023/1/1", "2023年1月1日", and pad everything with spaces and
non-breaking spaces. Each helper says whether it had to reinterpret a value, so that the
validator can tell the unit.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from .text import clean

EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!"}
_SPACES = re.compile(r"\s+")
_AMOUNT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_CURRENCY = re.compile(r"^[¥￥]|(元|人民币)$")
CENT = Decimal("0.01")
# No budget amount comes near 10^15 (a thousand trillion); larger "amounts" are typing or paste
# accidents, and beyond 10^26 Decimal's default precision cannot even round them to the cent.
MAX_AMOUNT = Decimal(10) ** 15


# Text as a person sees it: jixiao.text.clean, the one normal form every stage uses.
clean_text = clean


def is_excel_error(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS


def to_decimal(value: object) -> tuple[Decimal | None, bool]:
    """(amount, was_text). Raises ValueError for something that is not a number.

    Text becomes a Decimal from its digits, never through a float: "100000000000000.01" keeps
    its cent. It is accepted with thousands separators, full-width digits and a trailing 元 or
    leading ¥, and reported as text.

    A number cell is an IEEE double in every client (Excel, WPS, LibreOffice), and python-calamine
    gives exactly that double; its shortest repr is the decimal that was typed whenever that had
    at most 15 significant digits (Excel itself keeps only 15). Beyond 15 digits the cents are
    already gone from the file, and the 汇总表 could not hold them either: F-13 says so
    (significant_digits).
    """
    if value is None:
        return None, False
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return _plausible(Decimal(value), value), False
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(value)
        return _plausible(Decimal(repr(value)), value), False
    if isinstance(value, Decimal):
        return _plausible(value, value), False
    text = clean_text(value)
    if text is None:
        return None, False
    text = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    text = _CURRENCY.sub("", text)
    if not _AMOUNT.match(text):
        raise ValueError(value)
    try:
        return _plausible(Decimal(text.replace(",", "")), value), True
    except InvalidOperation:
        raise ValueError(value) from None


def _plausible(amount: Decimal, value: object) -> Decimal:
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise ValueError(value)
    return amount


EXACT_DIGITS = 15     # significant digits an .xlsx number (a double) carries exactly, as Excel keeps them


def significant_digits(amount: Decimal) -> int:
    """Significant digits of an amount to the cent: 100000000000000.01 → 17, 120000.00 → 6."""
    digits = amount.quantize(CENT).normalize().as_tuple().digits
    return 0 if digits == (0,) else len(digits)


def money_text(amount: Decimal | None) -> str:
    """1234567.5 → "1,234,567.50" (the form's way of printing money)."""
    if amount is None:
        return ""
    return f"{amount.quantize(CENT):,.2f}"


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = {False: dt.date(1899, 12, 30), True: dt.date(1904, 1, 1)}
# The dates a project can have: wider than every date validation of the templates (30 years
# before the collection's year to 30 after). Year 0001 or 9999 is a typing accident, and Excel
# cannot even show a date before 1900.
DATE_MIN, DATE_MAX = dt.date(1950, 1, 1), dt.date(2150, 12, 31)


def to_date(value: object, date1904: bool = False) -> tuple[dt.date | None, bool]:
    """(date, was_text). Raises ValueError for something that is not a date between DATE_MIN and
    DATE_MAX."""
    date, was_text = _to_date(value, date1904)
    if date is not None and not DATE_MIN <= date <= DATE_MAX:
        raise ValueError(value)
    return date, was_text


def _to_date(value: object, date1904: bool = False) -> tuple[dt.date | None, bool]:
    if value is None:
        return None, False
    if isinstance(value, dt.datetime):
        return value.date(), False
    if isinstance(value, dt.date):
        return value, False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 19000101 <= value <= 21001231 and float(value).is_integer():
            # 20230101 typed as a number: the yyyymmdd people type when a cell refuses dates.
            text = str(int(value))
            try:
                return dt.date(int(text[:4]), int(text[4:6]), int(text[6:])), True
            except ValueError:
                raise ValueError(value) from None
        # A serial number that reached us as a number (cell without a date format).
        if 1 <= value < 2958466:
            return _EXCEL_EPOCH[date1904] + dt.timedelta(days=int(value)), False
        raise ValueError(value)
    text = clean_text(value)
    if text is None:
        return None, False
    text = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3])), True
            except ValueError:
                raise ValueError(value) from None
    raise ValueError(value)


def column_index(letters: str) -> int:
    """Excel letters → 0-based column index (A → 0, AB → 27)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def column_letter(index: int) -> str:
    """0-based column index → Excel letters."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(row: int, col: int) -> str:
    """0-based (row, col) → "D17"."""
    return f"{column_letter(col)}{row + 1}"
