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


# --- printing wide sheets ----------------------------------------------------------------------
# A4 landscape is 297 mm wide; with 0.3" margins 799 pt remain. A column of width w (in units of the
# default font's digit, Calibri/Carlito 11) is (7w + 5) px at 96 dpi, i.e. 0.75 * (7w + 5) pt. Body text
# set in 10 pt stays at 10 pt when the sheet prints at 100%: columns are split over pages instead of
# shrinking a wide table to one page width (19 columns on one A4 width print at 6 pt).
A4_LANDSCAPE_POINTS = 799.0
A4_PORTRAIT_POINTS = 540.0


def column_points(width: float) -> float:
    return 0.75 * (7 * width + 5)


def page_starts(widths: list[float], repeat: int, page_points: float = A4_LANDSCAPE_POINTS) -> list[int]:
    """The columns where a new page starts when `widths` are printed at 100% with the first `repeat`
    columns repeated on every page: as many whole columns on a page as fit."""
    fixed = sum(column_points(w) for w in widths[:repeat])
    starts, used = [], fixed
    for col in range(repeat, len(widths)):
        need = column_points(widths[col])
        if used + need > page_points and used > fixed:
            starts.append(col)
            used = fixed
        used += need
    return starts


def print_wide(ws, widths: list[float], *, repeat_columns: int, header_rows: tuple[int, int], last_row: int,
               title: str = "", footer_note: str = "") -> None:
    """A4 landscape at 100%: columns split over pages with the first ones repeated, the header rows
    repeated, the title in the page header and page numbers in the footer; the print area is the
    table (columns beyond `widths` — links, helper columns — are for the screen)."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_print_scale(100)
    ws.set_margins(left=0.3, right=0.3, top=0.7, bottom=0.6)
    if repeat_columns:
        ws.repeat_columns(0, repeat_columns - 1)
    ws.repeat_rows(*header_rows)
    starts = page_starts(widths, repeat_columns)
    if starts:
        ws.set_v_pagebreaks(starts)
    ws.print_area(0, 0, max(last_row, header_rows[1]), len(widths) - 1)
    if title:
        ws.set_header(f"&C&10{_header_text(title)}")
    ws.set_footer(f"&C&10{_header_text(footer_note) + '    ' if footer_note else ''}第 &P 页，共 &N 页")


def _header_text(text: str) -> str:
    """Text for a page header/footer: & is a code there, and Excel keeps at most 255 characters."""
    return text.replace("&", "&&")[:200]
