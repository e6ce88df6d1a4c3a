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

EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!"}
_SPACES = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_AMOUNT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_CURRENCY = re.compile(r"^[¥￥]|(元|人民币)$")
CENT = Decimal("0.01")
# No budget amount comes near 10^15 (a thousand trillion); larger "amounts" are typing or paste
# accidents, and beyond 10^26 Decimal's default precision cannot even round them to the cent.
MAX_AMOUNT = Decimal(10) ** 15


def clean_text(value: object) -> str | None:
    """Text as a person sees it: outer spaces (incl. NBSP, full-width) gone, inner runs kept."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    text = text.strip(" \t\r\n\u3000")
    return text or None


def is_excel_error(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS


def to_decimal(value: object) -> tuple[Decimal | None, bool]:
    """(amount, was_text). Raises ValueError for something that is not a number.

    Floats come from binary cells: take their shortest repr so 0.1+0.2 style noise never
    enters money. Text is accepted with thousands separators, full-width digits and a
    trailing 元 or leading ¥, and reported as text.
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


def to_date(value: object, date1904: bool = False) -> tuple[dt.date | None, bool]:
    """(date, was_text). Raises ValueError for something that is not a date."""
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
