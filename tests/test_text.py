"""The one text normaliser (jixiao.text): what it removes, keeps and names, and file names."""

from __future__ import annotations

import os
import unicodedata

import pytest

from jixiao.text import (INVISIBLE, MAX_NAME_BYTES, clean, describe, excel_length, export_safe, invisible, key,
                         neutral, safe_filename, shown_path, unicode_safe)


def test_every_format_character_of_this_python_is_invisible():
    """The Cf list is written out (computing it costs 0.25 s at import); it must not fall behind."""
    missing = [f"U+{c:04X}" for c in range(0x110000)
               if unicodedata.category(chr(c)) in ("Cf", "Cc") and chr(c) not in "\t\n\r" and not INVISIBLE.match(chr(c))]
    assert missing == []


@pytest.mark.parametrize("raw,want", [
    ("业务\u200b培训", "业务培训"), ("\ufeff培训", "培训"), ("培训\uffff", "培训"), ("a\ufdd0b", "ab"),
    ("a\x1b[31mb", "a[31mb"), ("a\u202eb", "ab"), ("a\u00adb", "ab"), ("\u3164", None), ("a\udcc9b", "ab"),
    ("  培训\u3000", "培训"), ("a\u00a0b", "a b"), ("a\r\nb\rc\u2028d", "a\nb\nc\nd"), ("a\tb", "a\tb"),
    ("ＡＢ，。", "ＡＢ，。"),          # no NFKC: the unit's full-width text is its text
    ("e\u0301", "e\u0301"), ("\U0001F600", "\U0001F600"), ("\ue000", "\ue000"),     # marks, emoji, private use kept
    (310001.0, "310001"), (1.5, "1.5"), (None, None), ("\u200b \u200b", None),
])
def test_clean(raw, want):
    assert clean(raw) == want
    assert clean(want) == want                      # idempotent: every stage may clean again


def test_invisible_names_what_it_found():
    assert invisible("a\u200bb\u200b\ufeff") == ["\u200b", "\ufeff"]
    assert describe(["\u200b", "\ufeff"]) == "U+200B 零宽空格、U+FEFF BOM 字节顺序标记"
    assert describe(list("\u200b\u200c\u200d\u2060")).endswith("等")
    assert invisible("普通文字 ，") == [] and invisible(None) == []


def test_key_compares_as_a_person_reads():
    assert key(" 项目\u200b名称：") == key("项目名称") == "项目名称"
    assert key("ＡＢ １") == "AB1" and key(None) == "" and key(0) == "0"


def test_excel_length_counts_utf16_units():
    assert excel_length("长" * 10) == 10 and excel_length("\U0001F600") == 2


def test_safe_filename():
    assert safe_filename("../../逃逸", ".xlsx") == "_.._逃逸.xlsx"
    assert safe_filename('a/b\\c:d*e?f"g<h>i|j', ".xlsx") == "a_b_c_d_e_f_g_h_i_j.xlsx"
    assert safe_filename("CON", ".xlsx") == "_CON.xlsx" and safe_filename("...", ".xlsx") == "未命名.xlsx"
    assert safe_filename("a\u200bb\x1b", ".xlsx") == "ab.xlsx"
    long = safe_filename("上海市欧美同学会" * 20, "_校验结果.xlsx")
    assert len(long.encode()) <= MAX_NAME_BYTES and long.endswith("…_校验结果.xlsx")
    undecodable = os.fsdecode(b"310001_\xc9\xcf.xlsx")
    assert safe_filename(undecodable).encode("utf-8")                # encodable, whatever the bytes


def test_undecodable_names_are_shown_escaped():
    name = os.fsdecode(b"310001_\xc9\xcf\xba\xa3.xlsx")
    assert shown_path(name) == "310001_\\xc9Ϻ\\xa3.xlsx"
    assert unicode_safe("a\ud800b") == "a\\ud800b" and unicode_safe("普通") == "普通"


def test_exports_neutralise_formula_text():
    assert [neutral(t) for t in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "＝A1", "正常", "1-2")] == \
           ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'＝A1", "正常", "1-2"]
    assert export_safe({"a": ["=x", 1, None, {"b": "\udcc9"}]}) == {"a": ["'=x", 1, None, {"b": "\\xc9"}]}


def test_a_long_value_is_quoted_shortened_in_words_not_cut():
    from jixiao.findings import finding
    from jixiao.text import brief

    assert brief("甲" * 10, 60) == "甲" * 10
    long = "项" * 40000
    quoted = brief(long, 60)
    assert quoted.startswith("项" * 60) and "以下略，共 40,000 字" in quoted and "…" not in quoted
    f = finding("P-03", file="x.xlsx", sheet="项目信息", cell="B3", field="nature", value=long, choices="甲、乙", label="项目性质")
    assert "…" not in f.message and "以下略" in f.message and len(f.message) < 300
