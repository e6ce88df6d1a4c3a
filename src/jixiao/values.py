"""指标值 grammar: parse, split and render indicator values (domain.md §2.3–2.5, §3).

A value such as "≥280.00(次)" is read into an :class:`IndicatorValue` (operator, number,
unit) and rendered back for the Shanghai ("sh": ``≥280.00(次)``) or Tianjin ("tj":
``≤254.3万元``) 申报表.  The number is kept as the text that was written ("280.00"), never
re-formatted, because the seeds mix "≥7500(人)" and "≥280.00(次)" in one project.

Class test order (§3.2): MONTH → DATE → PERIOD → QUANT → TEXTNUM (has a digit) → QUAL.
DATE must precede QUANT, otherwise "4季度前" would read as 4 + unit "季度前".

``IndicatorValue.notes`` are machine tags for what normalisation did or found:

=====================  =====================================================================
fullwidth              NFKC changed the text (full-width digits, brackets, ％ …)
whitespace             spaces were removed or collapsed ("=90 (%)" → "=90(%)")
operator_variant       ">=", "<=", "=>", "=<", "≧" or "≦" was mapped to ≥ / ≤
word_operator          the operator was written in words ("不低于90%", "90%以上")
thousands_separator    "1,000" was read as 1000
unit_without_brackets  unit trails the number without brackets (Tianjin notation)
no_operator            quantity without an operator (V-02)
no_unit                quantity without a unit (V-04)
number_cell            the value came in as a number (int/float/Decimal), e.g. from Excel
combined_in_value      parse_split: 运算符 or 计量单位 was written inside the 指标值 cell
operator_conflict      parse_split: 运算符 cell and 指标值 cell name different operators
unit_conflict          parse_split: 计量单位 cell and 指标值 cell name different units
invalid_operator       parse_split: the 运算符 cell is not an operator (V-01); op is None
=====================  =====================================================================

Standard library only.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "OPERATORS",
    "TEMPLATE_OPERATORS",
    "KINDS",
    "TEXT_KINDS",
    "IndicatorValue",
    "normalize_text",
    "parse_operator",
    "normalize_unit",
    "parse_value",
    "parse_split",
    "format_official",
    "split_for_template",
    "template_operator",
    "is_percent",
    "QUANT_RE",
    "DATE_RE",
    "MONTH_RE",
    "PERIOD_RE",
]

OPERATORS = ("≥", "≤", "=", ">", "<")
# A bare "=" typed in Excel starts a formula, so the dropdown offers full-width ＝.
TEMPLATE_OPERATORS = ("≥", "≤", "＝", ">", "<")

KINDS = ("quant", "date", "month", "period", "textnum", "qual", "empty")
# Kinds whose 指标值 is text (rendered as written, no operator or unit).
TEXT_KINDS = ("date", "month", "period", "textnum", "qual")

# --------------------------------------------------------------------------- operators

# Symbol spellings that NFKC leaves alone (＝＞＜ already become =><).
_OPERATOR_VARIANTS = {">=": "≥", "=>": "≥", "≧": "≥", "<=": "≤", "=<": "≤", "≦": "≤"}

# Word forms.  Chinese legal usage (民法典 §1259) counts 以上/以下/以内 as inclusive and
# 超过/不足 as exclusive, hence the mapping of the suffixes and of 超过 / 不足.
_WORD_PREFIXES = {
    "大于或等于": "≥", "大于等于": "≥", "不低于": "≥", "不少于": "≥", "不小于": "≥",
    "至少": "≥", "最少": "≥",
    "小于或等于": "≤", "小于等于": "≤", "不高于": "≤", "不超过": "≤", "不多于": "≤",
    "不大于": "≤", "至多": "≤", "最多": "≤",
    "大于": ">", "高于": ">", "超过": ">", "多于": ">",
    "小于": "<", "低于": "<", "少于": "<", "不足": "<",
    "等于": "=",
}
_WORD_SUFFIXES = {"及以上": "≥", "以上": "≥", "及以下": "≤", "以下": "≤", "以内": "≤", "之内": "≤"}
# Longest first, so 大于等于 wins over 大于 and 不低于 over 低于.
_PREFIX_ORDER = sorted(_WORD_PREFIXES, key=len, reverse=True)
_SUFFIX_ORDER = sorted(_WORD_SUFFIXES, key=len, reverse=True)

_OPERATOR_FORMS = {op: op for op in OPERATORS} | _OPERATOR_VARIANTS | _WORD_PREFIXES
_TO_TEMPLATE = dict(zip(OPERATORS, TEMPLATE_OPERATORS))

# --------------------------------------------------------------------------- grammar (§3.2)

_OP = r"(?P<op>[≥≤=><])"
# [0-9], not \d: \d would accept Arabic-Indic etc. digits that NFKC does not fold.
# Thousands separators are accepted only in strict groups of three ("1,000", not "1,00").
# A leading minus allows a negative rate of change (增长率 ≥ -5%); ranges such as
# "1-12月" are DATE and tested earlier.
_NUM = r"(?P<num>-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?)"
# Spec UNIT plus: m2/m3 (NFKC turns m² into m2) and compound units "元/人", "人·次".
_UNIT_ATOM = r"(?:%|‰|[A-Za-z]+[23]?|[\u3400-\u4dbf\u4e00-\u9fff]{1,4})"
_UNIT = rf"{_UNIT_ATOM}(?:[/·]{_UNIT_ATOM})?"
QUANT_RE = re.compile(rf"^{_OP}?{_NUM}(?:\((?P<u1>{_UNIT})\)|(?P<u2>{_UNIT}))?$")

# Only 1–12 is ambiguous (December or 12 months); "24月" can only be a duration → QUANT.
MONTH_RE = re.compile(r"^(?:1[0-2]|0?[1-9])月$")

_M = r"(?:1[0-2]|0?[1-9])"
_DAY = r"(?:[12][0-9]|3[01]|0?[1-9])[日号]"
_BEFORE = r"(?:前|以前|之前)?"
DATE_RE = re.compile(
    # [2023年] 12月[底|31日…] / 4季度[末] / 上半年 / 年底 … [前]
    rf"^(?:(?P<y>20[0-9]{{2}})年)?"
    rf"(?:{_M}月(?:{_DAY}|底|末|份|初|上旬|中旬|下旬)?|第?[1-4一二三四]季度(?:末|底)?"
    rf"|[上下]半年|年底|年末|年内){_BEFORE}$"
    # 2023年 / 2023年度 / 2023年底 [前]: otherwise "2023年底" reads as 2023 + unit 年底
    rf"|^(?P<y2>20[0-9]{{2}})年(?:度|底|末|内)?{_BEFORE}$"
    # ranges: 1-12月, 2023年1月-6月
    rf"|^(?:(?P<y3>20[0-9]{{2}})年)?{_M}月?[-~—–至到]{_M}月份?$"
    # 2023-12-31, 2023/12/31, 2023.12.31
    rf"|^(?P<iso>(?P<y4>20[0-9]{{2}})(?P<sep>[-/.]){_M}(?P=sep)(?:[12][0-9]|3[01]|0?[1-9]))$"
)

PERIOD_RE = re.compile(r"^(?:每(?:日|天|周|月|季度|半年|年)|全年|年内|按期完成|按时)$")

# A trailing "unit" holding one of these is prose, not a unit: "100人左右", "100余人",
# "3个月内", "90人以上" (the last is caught earlier as a word operator).
_NOT_IN_UNIT = ("以", "左右", "余", "多", "约", "前", "后", "内", "及", "或", "至", "到", "每", "之")

# Brackets a unit cell may be wrapped in: "(次)", "（次）", "[次]", "【次】".
_BRACKETS = {"(": ")", "[": "]", "【": "】", "〔": "〕", "{": "}"}
_UNIT_ALIASES = {"百分比": "%", "百分率": "%", "千分比": "‰", "千分率": "‰"}
_AREA_VOLUME = re.compile(r"^([kcmd]?m)([23])$")  # m2 → m², km3 → km³; not CO2

# --------------------------------------------------------------------------- value object


@dataclass(frozen=True)
class IndicatorValue:
    """One 指标值, parsed.

    ``text`` is the input as given (for a number cell: its number_text); for text kinds
    it is what gets rendered.  ``number_text`` is the number as written after
    normalisation ("280.00", "1000" for "1,000"); ``number`` is its Decimal.
    """

    kind: str
    op: str | None
    number: Decimal | None
    number_text: str | None
    unit: str | None
    text: str
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- normalisation


def _is_letter_or_digit(ch: str) -> bool:
    folded = unicodedata.normalize("NFKC", ch)
    return len(folded) == 1 and folded.isascii() and folded.isalnum()


def _tidy_whitespace(s: str) -> str:
    """Collapse whitespace and drop spaces that carry no meaning.

    A space survives only between two Latin letters ("good job") or two digits ("1 000",
    which stays unreadable as a number rather than silently becoming 1000).  Everywhere
    else — around operators, brackets, units, CJK text — it goes: "=90 (%)" → "=90(%)".
    """
    s = re.sub(r"\s+", " ", s).strip()
    out = []
    for i, ch in enumerate(s):
        if ch == " ":
            left, right = s[i - 1], s[i + 1]  # never at the ends after strip()
            both_letters = left.isalpha() and right.isalpha()
            both_digits = left.isdigit() and right.isdigit()
            if not ((both_letters or both_digits)
                    and _is_letter_or_digit(left) and _is_letter_or_digit(right)):
                continue
        out.append(ch)
    return "".join(out)


def _map_operator_variants(s: str) -> str:
    for variant, op in _OPERATOR_VARIANTS.items():
        s = s.replace(variant, op)
    return s


def _normalize(s: str) -> tuple[str, list[str]]:
    """normalize_text plus the notes describing what changed."""
    notes: list[str] = []
    folded = unicodedata.normalize("NFKC", s)
    if folded != s:
        notes.append("fullwidth")
    # Whitespace before the operator variants, so that "> =" also becomes ≥.
    tidy = _tidy_whitespace(folded)
    if tidy != folded:
        notes.append("whitespace")
        # Dropping a space can join a base letter and a combining mark ("U ̈" from "U¨").
        tidy = unicodedata.normalize("NFKC", tidy)
    mapped = _map_operator_variants(tidy)
    if mapped != tidy:
        notes.append("operator_variant")
    return mapped, notes


def normalize_text(s: str) -> str:
    """§3.1 steps 1, 2, 4: NFKC, ">=" → "≥" (and <=, ≧, ≦), whitespace, strip.

    Meaning is kept: word operators and thousands separators are left to parse_value.
    """
    return _normalize(s)[0]


def parse_operator(s: str | None) -> str | None:
    """A 运算符 cell → canonical operator; None or blank → None; anything else → ValueError."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return None
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(s)))
    if not key:
        return None
    try:
        return _OPERATOR_FORMS[key]
    except KeyError:
        raise ValueError(f"不是有效的运算符: {s!r} (应为 ≥ ≤ = > < 之一)") from None


def _canonical_unit(u: str) -> str:
    u = _UNIT_ALIASES.get(u, u)
    m = _AREA_VOLUME.match(u)
    if m:
        u = m.group(1) + ("²" if m.group(2) == "2" else "³")
    return u


def normalize_unit(s: str | None) -> str | None:
    """A 计量单位 cell → unit: NFKC (％ → %), strip, drop surrounding brackets; blank → None."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return None
    u = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(s)))
    while len(u) >= 2 and _BRACKETS.get(u[0]) == u[-1]:
        u = u[1:-1].strip()
    return _canonical_unit(u) if u else None


# --------------------------------------------------------------------------- parsing


def _number_text_of(x: int | float | Decimal) -> str | None:
    """Shortest faithful text of a number cell, or None for NaN / infinity.

    Never Decimal(float), which gives 85.0000000000000142….  A float is cut to the 15
    significant digits Excel itself keeps and shows, so that binary noise from the
    workbook (=0.85*100 → 85.00000000000001) disappears; "%g" also drops an integral
    float's ".0" (280.0 → "280").
    """
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return None
        text = format(Decimal(format(x, ".15g")), "f")  # "1e+20" → "1000…0", never exponent
    else:
        if not x.is_finite():
            return None
        text = format(x, "f")  # Decimal("1E+3") → "1000"; "280.00" stays
    return "0" if text == "-0" else text


def _quant_match(norm: str) -> tuple[str | None, str, str | None, list[str]] | None:
    """Try QUANT on a normalised string, with word operators as a fallback."""

    def plain(s: str) -> tuple[str | None, str, str | None, list[str]] | None:
        m = QUANT_RE.match(s)
        if not m:
            return None
        unit = m.group("u1") or m.group("u2")
        notes: list[str] = []
        if unit is not None:
            if any(bad in unit for bad in _NOT_IN_UNIT):
                return None
            if m.group("u2"):
                notes.append("unit_without_brackets")
            unit = _canonical_unit(unit)
        num = m.group("num")
        if "," in num:
            notes.append("thousands_separator")
            num = num.replace(",", "")
        return m.group("op"), num, unit, notes

    # Suffix words first: otherwise "90人以上" would match with unit "人以上"
    # (it would be refused by _NOT_IN_UNIT, but then never read as ≥).
    for suffix in _SUFFIX_ORDER:
        if norm.endswith(suffix):
            hit = plain(norm[: -len(suffix)])
            if hit and hit[0] is None:
                return _WORD_SUFFIXES[suffix], hit[1], hit[2], ["word_operator", *hit[3]]
    for prefix in _PREFIX_ORDER:
        if norm.startswith(prefix):
            hit = plain(norm[len(prefix):])
            if hit and hit[0] is None:
                return _WORD_PREFIXES[prefix], hit[1], hit[2], ["word_operator", *hit[3]]
    return plain(norm)


def _quant(op, number_text, unit, text, notes) -> IndicatorValue:
    notes = list(notes)
    if op is None:
        notes.append("no_operator")
    if unit is None:
        notes.append("no_unit")
    return IndicatorValue("quant", op, Decimal(number_text), number_text, unit, text,
                          tuple(dict.fromkeys(notes)))


def parse_value(s) -> IndicatorValue:
    """Parse one 指标值 (str, int, float, Decimal or None). Never raises."""
    if s is None:
        return IndicatorValue("empty", None, None, None, None, "")
    if isinstance(s, (int, float, Decimal)) and not isinstance(s, bool):
        number_text = _number_text_of(s)
        if number_text is None:
            # NaN is how pandas reads an empty cell; ±inf is not a target either.
            if isinstance(s, float) and math.isnan(s) or isinstance(s, Decimal) and s.is_nan():
                return IndicatorValue("empty", None, None, None, None, "")
            s = str(s)
        else:
            return _quant(None, number_text, None, number_text, ["number_cell"])
    text = s if isinstance(s, str) else str(s)

    norm, notes = _normalize(text)
    if not norm:
        return IndicatorValue("empty", None, None, None, None, text, tuple(notes))

    def textual(kind: str) -> IndicatorValue:
        return IndicatorValue(kind, None, None, None, None, text, tuple(notes))

    if MONTH_RE.match(norm):
        return textual("month")
    if DATE_RE.match(norm):
        return textual("date")
    if PERIOD_RE.match(norm):
        return textual("period")
    hit = _quant_match(norm)
    if hit:
        op, number_text, unit, more = hit
        return _quant(op, number_text, unit, text, notes + more)
    if re.search(r"\d", norm):
        return textual("textnum")
    return textual("qual")


def _cell_is_blank(x) -> bool:
    return (x is None or (isinstance(x, float) and math.isnan(x))
            or (isinstance(x, str) and not x.strip()))


def parse_split(op_cell, value_cell, unit_cell) -> IndicatorValue:
    """Read the template's three columns (运算符, 指标值, 计量单位) into one value.

    The 运算符 / 计量单位 cells win over an operator or unit written inside 指标值 (a
    disagreement is noted, not raised).  An unknown operator gives op None and the note
    "invalid_operator" rather than an exception, so that a validator can report V-01 and
    still check the rest of the row.  With a text 指标值 the operator and unit cells are
    kept as given (V-03 is the validator's call).
    """
    notes: list[str] = []
    try:
        op = parse_operator(None if _cell_is_blank(op_cell) else op_cell)
    except ValueError:
        op = None
        notes.append("invalid_operator")
    unit = None if _cell_is_blank(unit_cell) else normalize_unit(unit_cell)

    v = parse_value(value_cell)
    if v.kind != "quant":
        return IndicatorValue(v.kind, op, None, None, unit, v.text, tuple(notes) + v.notes)

    inner = [n for n in v.notes if n not in ("no_operator", "no_unit")]
    if v.op is not None or v.unit is not None:
        notes.append("combined_in_value")
    if v.op is not None and "invalid_operator" not in notes:
        if op is None:
            op = v.op
        elif op != v.op:
            notes.append("operator_conflict")
    if v.unit is not None:
        if unit is None:
            unit = v.unit
        elif unit != v.unit:
            notes.append("unit_conflict")
    return _quant(op, v.number_text, unit, v.text, notes + inner)


# --------------------------------------------------------------------------- rendering


def format_official(v: IndicatorValue, style: str = "sh") -> str:
    """Render for the 申报表: "sh" → ≥280.00(次), "tj" → ≤254.3万元; text kinds as written."""
    if style not in ("sh", "tj"):
        raise ValueError(f"unknown style {style!r}: use 'sh' or 'tj'")
    if v.kind == "empty":
        return ""
    if v.kind != "quant":
        return _tidy_whitespace(v.text)
    num = v.number_text if v.number_text is not None else format(v.number, "f")
    op = v.op or ""
    if not v.unit:
        return f"{op}{num}"
    return f"{op}{num}({v.unit})" if style == "sh" else f"{op}{num}{v.unit}"


def template_operator(op: str | None) -> str | None:
    """Canonical operator → the template dropdown's spelling (＝ for =)."""
    return None if op is None else _TO_TEMPLATE[op]


def split_for_template(s) -> tuple[str | None, str | Decimal | None, str | None]:
    """A legacy value → (运算符, 指标值, 计量单位) as a unit would fill the template.

    A quantity gives a Decimal built from number_text, so "280.00" keeps its two decimals
    for the cell's number format; text kinds go into 指标值 as written, empty ones → Nones.
    """
    v = parse_value(s)
    if v.kind == "empty":
        return None, None, None
    if v.kind == "quant":
        return template_operator(v.op), Decimal(v.number_text), v.unit
    return None, _tidy_whitespace(v.text), None


def is_percent(v: IndicatorValue) -> bool:
    """True for a % or ‰ value (V-05, V-06, V-13)."""
    return v.unit in ("%", "‰")
