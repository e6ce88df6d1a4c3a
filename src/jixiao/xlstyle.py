"""What every workbook jixiao writes shares: the font, and row heights that show wrapped text whole.

xlsxwriter does not fit rows to their text, and neither Excel nor LibreOffice does it for rows a
program wrote with a height, so each writer asks `row_height` for the height its wrapped cells need:
the text's display width (a CJK character counts two) against the column's width, line by line.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

FONT = "宋体"
MAX_ROW_POINTS = 409                  # Excel's limit for one row


@lru_cache(maxsize=65536)
def display_width(text: str) -> int:
    """Width in column units: wide (CJK, full-width, and the ambiguous quotes “” …) count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


@lru_cache(maxsize=65536)
def lines_needed(text: str, width_chars: float) -> int:
    """Lines a wrapped cell of `width_chars` column units needs for `text` (newlines included)."""
    per_line = max(1, int(width_chars * 0.95) - 1)
    return sum(max(1, -(-display_width(part) // per_line)) for part in (text or "").split("\n"))


def text_height(text: str | None, width_chars: float, font_points: float = 10, minimum: float = 20) -> float:
    """Row height (points) that shows `text` whole in a wrapped cell of `width_chars`."""
    line = font_points * 1.35
    return max(minimum, min(MAX_ROW_POINTS, lines_needed(text or "", width_chars) * line + 6))


def row_height(cells, font_points: float = 10, minimum: float = 18) -> float:
    """The height a row needs for all its wrapped cells: `cells` are (text, width in column units)."""
    return max([minimum] + [text_height(text, width, font_points, minimum) for text, width in cells if text])


def chunks(text: str, width_chars: float, font_points: float = 10, max_points: float = 400) -> list[str]:
    """Split a long text into pieces that each fit one row (Excel caps a row at 409 points)."""
    if text_height(text, width_chars, font_points) <= max_points:
        return [text]
    pieces, current = [], ""
    for ch in text:
        if text_height(current + ch, width_chars, font_points) > max_points:
            pieces.append(current)
            current = ""
        current += ch
    return pieces + ([current] if current else [])
