"""Tests for jixiao.values: the 指标值 grammar (domain.md §3)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jixiao.values import (
    KINDS,
    OPERATORS,
    TEMPLATE_OPERATORS,
    IndicatorValue,
    format_official,
    is_percent,
    normalize_text,
    normalize_unit,
    parse_operator,
    parse_split,
    parse_value,
    split_for_template,
    template_operator,
)

# --------------------------------------------------------------------------- examples

# (input, kind, op, number_text, unit)
LEGACY = [
    ("≥280.00(次)", "quant", "≥", "280.00", "次"),
    ("=90 (%)", "quant", "=", "90", "%"),
    ("≥85%", "quant", "≥", "85", "%"),
    ("≤254.3万元", "quant", "≤", "254.3", "万元"),
    ("1485平方米", "quant", None, "1485", "平方米"),
    ("100(%)", "quant", None, "100", "%"),
    ("160", "quant", None, "160", None),
    ("及时", "qual", None, None, None),
    ("2023年12月底", "date", None, None, None),
    ("4季度前", "date", None, None, None),
    ("12月", "month", None, None, None),
    ("较2022年有所提升", "textnum", None, None, None),
    (">=95%", "quant", "≥", "95", "%"),
    ("不低于90%", "quant", "≥", "90", "%"),
    ("≥ 1,000 (人次)", "quant", "≥", "1000", "人次"),
    ("≥２８０．００（次）", "quant", "≥", "280.00", "次"),
]

# Every example of domain.md §3.3 (and the operator/unit examples of §2.3, §3.3).
SPEC_EXAMPLES = [
    ("≤65万元", "quant", "≤", "65", "万元"),
    ("100", "quant", None, "100", None),
    ("100%", "quant", None, "100", "%"),
    ("2023年12月底前", "date", None, None, None),
    ("3季度", "date", None, None, None),
    ("1-12月", "date", None, None, None),
    ("每月", "period", None, None, None),
    ("每季度", "period", None, None, None),
    ("全年", "period", None, None, None),
    ("按期完成", "period", None, None, None),
    ("按时", "period", None, None, None),
    ("覆盖全部8个街道", "textnum", None, None, None),
    ("100%覆盖", "textnum", None, None, None),
    ("全年不少于12次", "textnum", None, None, None),
    ("健全", "qual", None, None, None),
    ("有效提升", "qual", None, None, None),
    ("成效显著", "qual", None, None, None),
    ("每年出刊期，电子版和纸质版同时刊发", "qual", None, None, None),
    ("≥7500(人)", "quant", "≥", "7500", "人"),
    ("=0(起)", "quant", "=", "0", "起"),
    ("=0.00(次)", "quant", "=", "0.00", "次"),
    ("≤24(小时)", "quant", "≤", "24", "小时"),
    ("24小时", "quant", None, "24", "小时"),
    ("≥100.00(%)", "quant", "≥", "100.00", "%"),
    (">98", "quant", ">", "98", None),
    ("≥30(个)", "quant", "≥", "30", "个"),
    ("12个月", "quant", None, "12", "个月"),
    ("90", "quant", None, "90", None),
]

# Decisions beyond the spec's regexes (see module docstring and comments).
EXTENSIONS = [
    ("90%以上", "quant", "≥", "90", "%"),            # 以上 is inclusive
    ("5万元以内", "quant", "≤", "5", "万元"),
    ("大于等于95%", "quant", "≥", "95", "%"),        # longest word wins over 大于
    ("大于95%", "quant", ">", "95", "%"),
    ("不超过 50 万元", "quant", "≤", "50", "万元"),
    ("> = 5(个)", "quant", "≥", "5", "个"),
    ("≧80％", "quant", "≥", "80", "%"),
    ("≤500(元/人)", "quant", "≤", "500", "元/人"),    # compound unit
    ("100㎡", "quant", None, "100", "m²"),           # NFKC gives m2; shown as m²
    ("≥5 km", "quant", "≥", "5", "km"),
    ("≥-5(%)", "quant", "≥", "-5", "%"),             # negative rate of change
    ("24月", "quant", None, "24", "月"),              # > 12: only a duration
    ("100人左右", "textnum", None, None, None),      # approximate → not a unit
    ("100余人", "textnum", None, None, None),
    ("3个月内", "textnum", None, None, None),
    ("1 000", "textnum", None, None, None),          # digit groups with a space: unclear
    ("1,00(个)", "textnum", None, None, None),       # not a thousands grouping
    ("不低于去年水平", "qual", None, None, None),     # word operator without a number
    ("2023年底", "date", None, None, None),          # not 2023 + unit 年底
    ("2023年度", "date", None, None, None),
    ("2023年12月31日前", "date", None, None, None),
    ("2023-12-31", "date", None, None, None),
    ("2023/6/30", "date", None, None, None),
    ("第四季度末", "date", None, None, None),
    ("上半年", "date", None, None, None),
    ("年底前", "date", None, None, None),
    ("年内", "date", None, None, None),              # DATE is tested before PERIOD
    ("2023年1月-6月", "date", None, None, None),
    ("12月份", "date", None, None, None),
    ("6月", "month", None, None, None),
    ("每半年", "period", None, None, None),
    ("good job", "qual", None, None, None),
    ("", "empty", None, None, None),
    ("   ", "empty", None, None, None),
]


@pytest.mark.parametrize(("text", "kind", "op", "number_text", "unit"),
                         LEGACY + SPEC_EXAMPLES + EXTENSIONS)
def test_parse_examples(text, kind, op, number_text, unit):
    v = parse_value(text)
    assert (v.kind, v.op, v.number_text, v.unit) == (kind, op, number_text, unit)
    assert v.text == text
    if kind == "quant":
        assert v.number == Decimal(number_text)
    else:
        assert v.number is None


@pytest.mark.parametrize(("text", "notes"), [
    ("≥280.00(次)", ()),
    ("≥85%", ("unit_without_brackets",)),
    ("=90 (%)", ("whitespace",)),
    ("100(%)", ("no_operator",)),
    ("160", ("no_operator", "no_unit")),
    (">=95%", ("operator_variant", "unit_without_brackets")),
    ("不低于90%", ("word_operator", "unit_without_brackets")),
    ("≥ 1,000 (人次)", ("whitespace", "thousands_separator")),
    ("≥２８０．００（次）", ("fullwidth",)),
    ("及时", ()),
])
def test_notes(text, notes):
    assert parse_value(text).notes == notes


@pytest.mark.parametrize(("cell", "number_text"), [
    (85, "85"),
    (280.0, "280"),
    (85.5, "85.5"),
    (0.1 + 0.2, "0.3"),                 # binary noise cut at Excel's 15 digits
    (85.00000000000001, "85"),
    (1e20, "100000000000000000000"),    # never scientific notation
    (1.5e-7, "0.00000015"),
    (-0.0, "0"),
    (Decimal("280.00"), "280.00"),      # a Decimal keeps its decimals
    (Decimal("1E+3"), "1000"),
])
def test_number_cells(cell, number_text):
    v = parse_value(cell)
    assert (v.kind, v.op, v.unit, v.number_text) == ("quant", None, None, number_text)
    assert v.number == Decimal(number_text)
    assert "number_cell" in v.notes


@pytest.mark.parametrize("cell", [None, float("nan"), Decimal("NaN")])
def test_empty_cells(cell):
    v = parse_value(cell)
    assert v.kind == "empty" and v.text == ""
    assert format_official(v) == ""
    assert split_for_template(cell) == (None, None, None)


def test_odd_inputs_do_not_raise():
    assert parse_value(float("inf")).kind == "qual"
    assert parse_value(True).kind == "qual"      # a bool is not a number cell


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(("text", "sh", "tj"), [
    ("≥280.00(次)", "≥280.00(次)", "≥280.00次"),
    ("≤254.3万元", "≤254.3(万元)", "≤254.3万元"),
    ("=90 (%)", "=90(%)", "=90%"),
    ("100(%)", "100(%)", "100%"),
    ("1485平方米", "1485(平方米)", "1485平方米"),
    ("160", "160", "160"),
    ("≥ 1,000 (人次)", "≥1000(人次)", "≥1000人次"),
    ("≥２８０．００（次）", "≥280.00(次)", "≥280.00次"),
    ("不低于90%", "≥90(%)", "≥90%"),
    ("及时", "及时", "及时"),
    ("  2023年 12月底 ", "2023年12月底", "2023年12月底"),
    ("每年出刊期，电子版和纸质版同时刊发", "每年出刊期，电子版和纸质版同时刊发",
     "每年出刊期，电子版和纸质版同时刊发"),     # text keeps its full-width comma
])
def test_format_official(text, sh, tj):
    v = parse_value(text)
    assert format_official(v) == sh
    assert format_official(v, "sh") == sh
    assert format_official(v, "tj") == tj


def test_format_never_reformats_number():
    assert format_official(parse_value("≥7500(人)")) == "≥7500(人)"
    assert format_official(parse_value("=0.00(次)")) == "=0.00(次)"


def test_format_unknown_style():
    with pytest.raises(ValueError):
        format_official(parse_value("≥85%"), "bj")


@pytest.mark.parametrize(("text", "expected"), [
    ("≥280.00(次)", ("≥", Decimal("280.00"), "次")),
    ("=90 (%)", ("＝", Decimal("90"), "%")),
    ("≤254.3万元", ("≤", Decimal("254.3"), "万元")),
    ("100(%)", (None, Decimal("100"), "%")),
    ("160", (None, Decimal("160"), None)),
    ("及时", (None, "及时", None)),
    ("2023年12月底", (None, "2023年12月底", None)),
    ("较2022年有所提升", (None, "较2022年有所提升", None)),
    ("", (None, None, None)),
])
def test_split_for_template(text, expected):
    got = split_for_template(text)
    assert got == expected
    if isinstance(got[1], Decimal):
        assert str(got[1]) == str(expected[1])   # decimals kept ("280.00")


def test_is_percent():
    assert is_percent(parse_value("≥85%"))
    assert is_percent(parse_value("≤3‰"))
    assert is_percent(parse_value("≥85％"))
    assert not is_percent(parse_value("≥85(次)"))
    assert not is_percent(parse_value("及时"))


# --------------------------------------------------------------------------- operators and units

OPERATOR_FORMS = {
    "≥": ["≥", "≧", ">=", "=>", "＞＝", "大于等于", "不低于", "不少于", "至少", " ≥ ", "> =", "不 低于"],
    "≤": ["≤", "≦", "<=", "=<", "不高于", "不超过", "不多于", "至多", "小于等于", "\t≤"],
    "=": ["=", "＝", "等于", " ＝ "],
    ">": [">", "＞", "大于"],
    "<": ["<", "＜", "小于"],
}


@pytest.mark.parametrize(("form", "op"),
                         [(f, op) for op, forms in OPERATOR_FORMS.items() for f in forms])
def test_parse_operator_accepts(form, op):
    assert parse_operator(form) == op


@pytest.mark.parametrize("blank", [None, "", "  ", "\u3000", float("nan")])
def test_parse_operator_blank(blank):
    assert parse_operator(blank) is None


@pytest.mark.parametrize("garbage", ["≠", "==", "≥≥", "定性", "ge", "约", "≥85", "大于大于", "%", 5])
def test_parse_operator_rejects(garbage):
    with pytest.raises(ValueError):
        parse_operator(garbage)


def test_template_operators():
    assert [parse_operator(t) for t in TEMPLATE_OPERATORS] == list(OPERATORS)
    assert [template_operator(o) for o in OPERATORS] == list(TEMPLATE_OPERATORS)
    assert template_operator(None) is None


@pytest.mark.parametrize(("cell", "unit"), [
    ("次", "次"), ("(次)", "次"), ("（次）", "次"), (" 人次 ", "人次"), ("％", "%"),
    ("(%)", "%"), ("【个】", "个"), ("m²", "m²"), ("㎡", "m²"), ("CO2", "CO2"),
    ("百分比", "%"), ("", None), ("  ", None), ("()", None), (None, None),
])
def test_normalize_unit(cell, unit):
    assert normalize_unit(cell) == unit


@pytest.mark.parametrize(("text", "expected"), [
    ("=90 (%)", "=90(%)"),
    (">=95％", "≥95%"),
    ("  及时 ", "及时"),
    ("每年出刊期，电子版", "每年出刊期,电子版"),
    ("good   job", "good job"),
    ("提升 明显", "提升明显"),
    ("≥２８０．００（次）", "≥280.00(次)"),
    ("不低于 90%", "不低于90%"),        # meaning kept: no word-operator rewrite here
])
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


# --------------------------------------------------------------------------- parse_split


@pytest.mark.parametrize(("cells", "kind", "op", "number_text", "unit", "notes_in"), [
    (("≥", 280, "次"), "quant", "≥", "280", "次", ()),
    (("＝", 90.0, "%"), "quant", "=", "90", "%", ()),
    (("≥", Decimal("280.00"), "(次)"), "quant", "≥", "280.00", "次", ()),
    (("≥", "280.00", "次"), "quant", "≥", "280.00", "次", ()),
    (("", 100, "%"), "quant", None, "100", "%", ("no_operator",)),
    (("≥", 160, None), "quant", "≥", "160", None, ("no_unit",)),
    ((None, "≥85%", None), "quant", "≥", "85", "%", ("combined_in_value",)),
    ((float("nan"), "≥85%", float("nan")), "quant", "≥", "85", "%", ("combined_in_value",)),
    (("", "85%", ""), "quant", None, "85", "%", ("combined_in_value", "no_operator")),
    (("≥", "85%", None), "quant", "≥", "85", "%", ("combined_in_value",)),
    (("≤", "≥85%", "%"), "quant", "≤", "85", "%", ("operator_conflict",)),
    (("≥", "85%", "次"), "quant", "≥", "85", "次", ("unit_conflict",)),
    (("≠", 85, "%"), "quant", None, "85", "%", ("invalid_operator",)),
    (("≥", "及时", None), "qual", "≥", None, None, ()),
    (("=", "2023年12月底", None), "date", "=", None, None, ()),
    ((None, "及时", None), "qual", None, None, None, ()),
    ((None, None, None), "empty", None, None, None, ()),
    (("≥", None, "%"), "empty", "≥", None, "%", ()),
])
def test_parse_split(cells, kind, op, number_text, unit, notes_in):
    v = parse_split(*cells)
    assert (v.kind, v.op, v.number_text, v.unit) == (kind, op, number_text, unit)
    for note in notes_in:
        assert note in v.notes
    if v.op is not None:
        assert "no_operator" not in v.notes
    if v.unit is not None:
        assert "no_unit" not in v.notes


# --------------------------------------------------------------------------- properties

UNITS = ["%", "‰", "次", "人次", "万元", "平方米", "个月", "人", "个", "小时", "km", "元/人"]

number_texts = st.builds(
    lambda whole, frac: f"{whole}.{frac}" if frac else str(whole),
    st.integers(min_value=0, max_value=10**9),
    st.one_of(st.just(""), st.from_regex(r"\A[0-9]{1,2}\Z")),
)


@st.composite
def quantities(draw):
    op = draw(st.sampled_from((*OPERATORS, None)))
    nt = draw(number_texts)
    unit = draw(st.sampled_from((*UNITS, None)))
    return IndicatorValue("quant", op, Decimal(nt), nt, unit, "")


@given(quantities(), st.sampled_from(["sh", "tj"]))
def test_format_parse_round_trip(x, style):
    rendered = format_official(x, style)
    back = parse_value(rendered)
    assert back.kind == "quant"
    assert (back.op, back.number_text, back.unit) == (x.op, x.number_text, x.unit)
    assert back.number == x.number
    assert format_official(back, style) == rendered
    # and across styles: a Tianjin string renders as the Shanghai one and back
    other = "tj" if style == "sh" else "sh"
    assert format_official(parse_value(format_official(back, other)), style) == rendered


@given(quantities())
def test_split_for_template_round_trip(x):
    op_cell, value_cell, unit_cell = split_for_template(format_official(x))
    assert op_cell in (*TEMPLATE_OPERATORS, None)
    v = parse_split(op_cell, value_cell, unit_cell)
    assert (v.kind, v.op, v.number_text, v.unit) == ("quant", x.op, x.number_text, x.unit)


@given(st.sampled_from(TEMPLATE_OPERATORS), number_texts, st.sampled_from(UNITS),
       st.sampled_from(["decimal", "float", "text"]))
def test_parse_split_template_operators(tpl_op, nt, unit, cell_type):
    value = {"decimal": Decimal(nt), "float": float(nt), "text": nt}[cell_type]
    v = parse_split(tpl_op, value, unit)
    assert v.kind == "quant"
    assert v.op == parse_operator(tpl_op) and v.op in OPERATORS
    assert template_operator(v.op) == tpl_op
    assert v.unit == unit
    if cell_type == "float":
        assert math.isclose(v.number, Decimal(nt), rel_tol=1e-14)
    else:
        assert v.number_text == nt


@given(st.text())
def test_parse_value_never_raises(s):
    v = parse_value(s)
    assert v.kind in KINDS
    assert v.text == s
    if v.kind == "quant":
        assert v.number == Decimal(v.number_text)
    else:
        assert v.number is None and v.number_text is None
    for style in ("sh", "tj"):
        assert isinstance(format_official(v, style), str)
    split_for_template(s)


@given(st.text(alphabet=st.sampled_from(list("≥≤=><0123456789.,%()（）次人万元年月季度前底每 -－１２"))))
def test_parse_value_never_raises_on_value_like_text(s):
    v = parse_value(s)
    assert v.kind in KINDS
    if v.kind == "quant":
        # what was read as a quantity renders to something that reads back the same
        again = parse_value(format_official(v))
        assert (again.kind, again.op, again.number_text, again.unit) == (
            v.kind, v.op, v.number_text, v.unit)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.decimals(), st.text()),
       st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()))
def test_parse_split_never_raises(value, op_cell, unit_cell):
    v = parse_split(op_cell, value, unit_cell)
    assert v.kind in KINDS
    assert v.op is None or v.op in OPERATORS


@given(st.text())
def test_normalize_text_idempotent(s):
    once = normalize_text(s)
    assert normalize_text(once) == once
