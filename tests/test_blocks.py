"""blocks.display_text: the text a 申报表 cell prints (HTML paragraph tags as line breaks, other tags
gone, blank lines joined), with its shortcut for text that has neither a tag nor a line break."""
import re

from hypothesis import given, strategies as st

from jixiao.blocks import display_text


def by_the_rules(text):
    """display_text without its shortcut: the three substitutions, always."""
    if not text:
        return ""
    text = re.sub(r"(?i)<\s*(br|/p|/li)\s*/?>", "\n", str(text))
    text = re.sub(r"</?[a-zA-Z][^<>]*>", "", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def test_tags_and_blank_lines():
    assert display_text("<p>第一段</p><p>第二段</p>") == "第一段\n第二段"
    assert display_text("甲<BR/>乙<li>丙</li>") == "甲\n乙丙"
    assert display_text("  上\n\n\n下  ") == "上\n下"
    assert display_text("　全角空格　") == "全角空格"
    assert display_text(None) == "" and display_text(12.5) == "12.5"


@given(st.text(st.sampled_from(list("<>/pbrli \n\t　甲A")) | st.characters(), max_size=40))
def test_shortcut_agrees_with_the_rules(text):
    assert display_text(text) == by_the_rules(text)
