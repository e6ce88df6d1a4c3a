"""One normal form for text, used by every stage: the reader, the rules, merge keys, the 汇总表
writer and the reconciliation all see the same string for the same cell.

What a unit pastes carries characters nobody sees: zero-width spaces and joiners, byte-order
marks, bidi controls and soft hyphens (Unicode category Cf), control characters (Cc), the
noncharacters U+FDD0–U+FDEF and U+xxFFFE/U+xxFFFF, lone surrogates, Hangul fillers. Kept by one
stage and dropped by another they make "the same" name two names (a 汇总表 that fails its own
reconciliation); written as they are, U+FFFE/U+FFFF come back from an .xlsx as the literal text
"_xFFFF_". So `clean()` removes them all, everywhere, and `invisible()` names them so that the
reader can say so at the cell (rule P-15). What else `clean()` does:

- line breaks: CR LF, a lone CR, U+2028 and U+2029 become LF (what Excel stores for Alt+Enter);
  tabs stay; the non-breaking space U+00A0 becomes a plain space;
- outer whitespace of any kind (spaces, ideographic spaces, line breaks) is stripped; inner runs
  are kept as typed; nothing else changes (no NFKC: a unit's full-width punctuation is its text).

`key()` is how names are compared (NFKC, no whitespace, no trailing colon), on top of `clean()`.

File names: the OS gives Python undecodable bytes as lone surrogates (surrogateescape), which
SQLite, xlsxwriter, JSON and a UTF-8 terminal all refuse. `unicode_safe()` / `shown_path()` give
their display form (each undecodable byte as \\xNN); `safe_filename()` makes an output name from
any user text: no path separators or characters Windows refuses, no device names, at most
MAX_NAME_BYTES bytes of UTF-8 (a file-system name holds 255 bytes: 80 CJK characters exceed it).

This module imports nothing from jixiao: it sits at the bottom of the import order.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache
from pathlib import PurePath

EXCEL_CELL_MAX = 32_767            # characters (UTF-16 code units) one Excel cell holds
MAX_NAME_BYTES = 200               # output file names made from user data (the FS allows 255)

# Format characters (Cf, Unicode 15), written out: computing them at import costs 0.25 s.
# tests/test_text.py checks this list against the running Python's unicodedata.
_CF = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
       "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
       "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xfffe)}{chr(p * 0x10000 + 0xffff)}"
                                           for p in range(17))
_FILLERS = "\u115f\u1160\u3164\uffa0"        # Hangul fillers: letters that draw nothing (but printable)
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"      # Cc but tab, LF and CR (line breaks)
_SURROGATES = "\ud800-\udfff"
INVISIBLE = re.compile(f"[{_CONTROLS}{_CF}{_NONCHARACTERS}{_FILLERS}{_SURROGATES}]")
_FILLER = re.compile(f"[{_FILLERS}]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029]")

NAMES = {"\u200b": "零宽空格", "\u200c": "零宽非连接符", "\u200d": "零宽连接符", "\u2060": "零宽不换行空格",
         "\ufeff": "BOM 字节顺序标记", "\u00ad": "软连字符", "\u200e": "从左到右标记", "\u200f": "从右到左标记",
         "\u202a": "双向文字控制符", "\u202b": "双向文字控制符", "\u202c": "双向文字控制符",
         "\u202d": "双向文字控制符", "\u202e": "双向文字控制符", "\x1b": "ESC 控制符"}


def _plain(text: str) -> bool:
    """Nothing clean() would change but outer spaces: printable, and no Hangul filler (a printable
    letter that draws nothing). str.isprintable() is False for Cc, Cf, Cs, the noncharacters,
    every space but " " and the line separators; it also refuses tab, LF and private use, which
    then only take the slower path."""
    return text.isprintable() and _FILLER.search(text) is None


def short_text_cache(fn, maxsize: int = 1 << 15):
    """fn(text), with the answers for short texts cached. Short cells repeat (code-list values,
    一级/二级, units, names) across rows and files: each distinct one is looked at once. Long
    texts are unique and would only fill the cache."""
    cached = lru_cache(maxsize=maxsize)(fn)

    def call(text: str):
        return cached(text) if len(text) <= _CACHED_CHARS else fn(text)
    call.cache_clear = cached.cache_clear
    return call


def _has_invisible(text: str) -> bool:
    return not _plain(text) and INVISIBLE.search(text) is not None


def clean(value: object) -> str | None:
    """Text as every stage keeps it (see the module docstring); None for nothing visible.

    A float that is a whole number prints without ".0" (Excel's 310001.0 is 310001)."""
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = str(value)
    return _clean_cached(value) if len(value) <= _CACHED_CHARS else _clean(value)


def _clean(text: str) -> str | None:
    if not _plain(text):      # nearly all text is plain: it needs only the strip
        text = _LINE_BREAKS.sub("\n", text)
        text = INVISIBLE.sub("", text).replace("\u00a0", " ")
    text = text.strip()
    return text or None


_CACHED_CHARS = 64                      # what short_text_cache keeps
# clean() and key(), the hottest calls of all and given non-text values too, test the length
# themselves rather than through short_text_cache's extra call.
_clean_cached = lru_cache(maxsize=1 << 15)(_clean)
has_invisible = short_text_cache(_has_invisible)


def invisible(value: object) -> list[str]:
    """The distinct invisible characters in a text, in order of appearance ([] for none)."""
    if not isinstance(value, str) or _plain(value):
        return []
    return list(dict.fromkeys(INVISIBLE.findall(value)))


def describe(chars: list[str], limit: int = 3) -> str:
    """"U+200B 零宽空格、U+FEFF BOM 字节顺序标记" — for a message a person reads."""
    parts = [f"U+{ord(c):04X}" + (f" {NAMES[c]}" if c in NAMES else "") for c in chars[:limit]]
    return "、".join(parts) + ("等" if len(chars) > limit else "")


_KEY_SPACE = re.compile(r"\s+")


def key(value: object) -> str:
    """Compare names the way a person reads them: clean(), NFKC, no whitespace, no trailing colon."""
    if isinstance(value, str) and len(value) <= _CACHED_CHARS:
        return _key_cached(value)
    return _key(value)


def _key(value: object) -> str:
    text = clean(value) or ""
    return _KEY_SPACE.sub("", unicodedata.normalize("NFKC", text)).rstrip(":")


_key_cached = lru_cache(maxsize=1 << 15)(_key)       # names and labels repeat across rows and files


def excel_length(text: str) -> int:
    """Length as Excel counts it: UTF-16 code units (a character beyond the BMP counts two)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def cell_text(text: str) -> str:
    """A text one Excel cell can hold: when it is longer (a whole row of long goals joined), the
    part that fits, ending with a note that says how much is missing and where it is."""
    if excel_length(text) <= EXCEL_CELL_MAX:
        return text
    note = "（以下 {} 字超出单元格容量，未列出，请查看原文件）"
    keep = EXCEL_CELL_MAX - len(note) - 10
    head = text[:keep]
    while excel_length(head) > keep:
        head = head[:-1]
    return head + note.format(len(text) - len(head))


def brief(value: object, limit: int = 60) -> str:
    """A value as a message quotes it: at most `limit` characters, and when it is longer the
    message says so in words (never a bare "…", which reads as a message cut off)."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else f"{text[:limit]}（以下略，共 {len(text):,} 字）"


# --- what a formula-looking text is ---------------------------------------------------------------

# A text that is a formula the moment a client re-evaluates it: = or ＝ (then any + - @) before a
# function (=HYPERLINK(, =+HYPERLINK(, ＝cmd|…).
FORMULA_TEXT = re.compile(r"^\s*[=＝][\s+\-@]*[A-Za-z_][A-Za-z0-9_.]*\s*\(")
# What a spreadsheet may run when it imports a CSV (OWASP "CSV injection"): a leading = + - @,
# tab or CR, and their full-width forms.
_FORMULA_START = re.compile(r"^[=+\-@\t\r＝＋－＠]")


def neutral(value):
    """A text for an export another program may open as a table: prefixed with ' when it starts
    like a formula (= + - @, tab, CR), as OWASP recommends; anything else unchanged."""
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value


def export_safe(doc):
    """A JSON document (dicts, lists, scalars) with every text both valid UTF-8 (unicode_safe) and
    neutral(): what `check --json` and `status --json` print."""
    if isinstance(doc, str):
        return neutral(unicode_safe(doc))
    if isinstance(doc, dict):
        return {k: export_safe(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [export_safe(v) for v in doc]
    return doc


# --- names from the file system ---------------------------------------------------------------------

def unicode_safe(text: str) -> str:
    """A str that encodes as UTF-8: each byte the OS could not decode (a lone surrogate from
    surrogateescape) as \\xNN, any other lone surrogate as \\uNNNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text:
        n = ord(ch)
        if 0xDC80 <= n <= 0xDCFF:
            out.append(f"\\x{n - 0xDC00:02x}")
        elif 0xD800 <= n <= 0xDFFF:
            out.append(f"\\u{n:04x}")
        else:
            out.append(ch)
    return "".join(out)


def shown_path(path: str | os.PathLike) -> str:
    """A path (or name) for display, storage and JSON: undecodable bytes escaped."""
    return unicode_safe(os.fspath(path) if not isinstance(path, str) else path)


_WINDOWS_BAD = re.compile(r'[\\/:*?"<>|]')
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.I)


def safe_filename(stem: str, suffix: str = "", max_bytes: int = MAX_NAME_BYTES) -> str:
    """An output file name from user text (a unit's name, a 主管部门 from `_meta`, a return's
    name): one name, never a path (separators and .. become _), nothing Windows refuses, no
    invisible characters, at most max_bytes bytes of UTF-8 with the suffix (cut with "…")."""
    name = clean(unicode_safe(stem)) or ""
    name = _WINDOWS_BAD.sub("_", name.replace("\n", " ").replace("\t", " "))
    name = name.strip(" .")
    if not name:
        name = "未命名"
    if _DEVICE.match(name):
        name = "_" + name
    budget = max_bytes - len(suffix.encode("utf-8"))
    if len(name.encode("utf-8")) > budget:
        cut = budget - len("…".encode("utf-8"))
        name = name.encode("utf-8")[:max(cut, 1)].decode("utf-8", "ignore").rstrip(" .") + "…"
    return name + suffix


def name_bytes(name: str | PurePath) -> int:
    """Bytes a name takes in the file system (what its 255-byte limit counts)."""
    return len(os.fsencode(name.name if isinstance(name, PurePath) else name))
