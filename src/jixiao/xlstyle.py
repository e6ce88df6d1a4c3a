"""What every workbook jixiao writes shares: the font, and row heights that show wrapped text whole.

xlsxwriter does not fit rows to their text, and neither Excel nor LibreOffice does it for rows a
program wrote with a height, so each writer asks `row_height` for the height its wrapped cells need:
the text's display width (a CJK character counts two) against the column's width, line by line.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

FONT = "宋体"
# Amounts print in Arial: Excel and WPS have it, LibreOffice prints it as Liberation Sans (same
# metrics), while 宋体's Latin digits come out as DejaVu Sans there, a quarter wider ("###").
NUMBER_FONT = "Arial"
MAX_ROW_POINTS = 409                  # Excel's limit for one row


@lru_cache(maxsize=65536)
def display_width(text: str) -> float:
    """Width in half-ems: wide characters (CJK, full-width, the ambiguous quotes “” …) count two,
    others 1.4 (the Latin fonts LibreOffice and WPS print with are wider than half an em, and Latin
    text wraps at spaces, wasting the end of a line)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1.4 for ch in text)


@lru_cache(maxsize=65536)
def lines_needed(text: str, width_chars: float, font_points: float = 10) -> int:
    """Lines a wrapped cell `width_chars` wide (Excel's unit: 0.75 × (7w + 5) pt) needs for `text`
    at `font_points`, newlines included."""
    available = 0.75 * (7 * width_chars + 5) - 4              # cell padding
    per_line = max(1.0, available / (font_points / 2))
    return sum(max(1, -(-display_width(part) // per_line)) for part in (text or "").split("\n"))


def text_height(text: str | None, width_chars: float, font_points: float = 10, minimum: float = 20) -> float:
    """Row height (points) that shows `text` whole in a wrapped cell of `width_chars`: CJK lines print
    at 1.45 em in LibreOffice (Noto CJK), a little less in Excel (SimSun); 1.5 em fits both."""
    line = font_points * 1.5
    return max(minimum, min(MAX_ROW_POINTS, lines_needed(text or "", width_chars, font_points) * line + 5))


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
# default font's digit, Calibri/Carlito 11) is (7w + 5) px at 96 dpi in Excel, i.e. 0.75 * (7w + 5) pt;
# LibreOffice prints it some 8% wider (measured on the PDF of a 明细 sheet), which is what counts here. Body text
# set in 10 pt stays at 10 pt when the sheet prints at 100%: columns are split over pages instead of
# shrinking a wide table to one page width (19 columns on one A4 width print at 6 pt).
A4_LANDSCAPE_POINTS = 799.0
A4_PORTRAIT_POINTS = 540.0


COLUMN_SLOPE, COLUMN_PAD = 0.75 * 7.6, 0.75 * 5      # points per width unit, points per column


def column_points(width: float) -> float:
    return COLUMN_SLOPE * width + COLUMN_PAD


def fit_page(widths: list[float], fixed: int = 0, page_points: float = A4_LANDSCAPE_POINTS,
             minimum: float = 5, keep: frozenset = frozenset()) -> list[float]:
    """Column widths narrowed, all but the first `fixed` (and those in `keep`) alike, until the table
    fits one page width (a flat list reads better on one page than over two); wrapped text then
    takes more lines."""
    total = sum(column_points(w) for w in widths)
    if total <= page_points:
        return list(widths)
    kept = set(range(fixed)) | set(keep)
    out = list(widths)
    for _ in range(len(widths)):
        # Narrow the free columns alike; a column held at `minimum` no longer gives anything, so the
        # others are narrowed again until the whole fits (or every free column is at the minimum).
        head = sum(column_points(w) for i, w in enumerate(widths) if i in kept)
        rest = [w for i, w in enumerate(widths) if i not in kept]
        spare = page_points - head - COLUMN_PAD * len(rest)
        factor = max(0.0, spare / (COLUMN_SLOPE * sum(rest))) if rest else 1
        out = [out[i] if i in kept else max(minimum, int(w * factor * 4) / 4) for i, w in enumerate(widths)]
        floored = {i for i, w in enumerate(out) if i not in kept and w == minimum}
        if sum(column_points(w) for w in out) <= page_points or not floored:
            break
        kept |= floored
        widths = out
    return out


def page_starts(widths: list[float], repeat: int, page_points: float = A4_LANDSCAPE_POINTS,
                blocks: list[int] | None = None) -> list[int]:
    """The columns where a new page starts when `widths` are printed at 100% with the first `repeat`
    columns repeated on every page: as many whole columns on a page as fit, and when `blocks` (the
    first columns of groups that belong together) are given, pages break only there where a block
    fits on a page of its own."""
    fixed = sum(column_points(w) for w in widths[:repeat])
    starts, used = [], fixed
    bounds = sorted(set(blocks or ()) | {len(widths)})
    col = repeat
    while col < len(widths):
        end = next((b for b in bounds if b > col), len(widths)) if blocks else col + 1
        need = sum(column_points(w) for w in widths[col:end])
        if blocks and fixed + need > page_points:      # a block wider than a page: column by column
            end, need = col + 1, column_points(widths[col])
        if used + need > page_points and used > fixed:
            starts.append(col)
            used = fixed
        used += need
        col = end
    return starts


def print_wide(ws, widths: list[float], *, repeat_columns: int, header_rows: tuple[int, int],
               last_row: int | None = None, title: str = "", footer_note: str = "",
               blocks: list[int] | None = None) -> None:
    """A4 landscape at 100%: columns split over pages with the first ones repeated, the header rows
    repeated, the title in the page header and page numbers in the footer; the print area is the
    table (columns beyond `widths` — links, helper columns — are for the screen)."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_print_scale(100)
    ws.print_across()                 # the pages of one band of rows, left to right, then the next rows
    ws.set_margins(left=0.3, right=0.3, top=0.7, bottom=0.6)
    if repeat_columns:
        ws.repeat_columns(0, repeat_columns - 1)
    ws.repeat_rows(*header_rows)
    starts = page_starts(widths, repeat_columns, blocks=blocks)
    if starts:
        ws.set_v_pagebreaks(starts)
    if last_row is not None:         # without one, what is filled in prints (a template's empty rows do not)
        ws.print_area(0, 0, max(last_row, header_rows[1]), len(widths) - 1)
    if title:
        ws.set_header(f"&C&10{_header_text(title)}")
    ws.set_footer(f"&C&10{_header_text(footer_note) + '    ' if footer_note else ''}第 &P 页，共 &N 页")


def first_page_columns(widths: list[float], repeat: int, blocks: list[int] | None = None) -> int:
    """How many columns print on the first page (a title or note merged wider would be cut)."""
    starts = page_starts(widths, repeat, blocks=blocks)
    return starts[0] if starts else len(widths)


def _header_text(text: str) -> str:
    """Text for a page header/footer: & is a code there, and Excel keeps at most 255 characters."""
    return text.replace("&", "&&")[:200]


def balanced(text: str, width_chars: float, font_points: float = 10) -> str:
    """A short text that wraps, broken into lines of even length ("市科协机构及 / 常委会会议费"
    rather than "市科协机构及常委会会议 / 费"); texts that fit, or hold their own line breaks, stay."""
    if not text or "\n" in text:
        return text
    lines = lines_needed(text, width_chars, font_points)
    if lines < 2:
        return text
    target = display_width(text) / lines
    out, current, used = [], "", 0.0
    for ch in text:
        w = display_width(ch)
        if current and used + w / 2 > target and len(out) < lines - 1:
            out.append(current)
            current, used = "", 0.0
        current += ch
        used += w
    return "\n".join(out + [current])


def write_note(ws, row: int, text: str, widths: list[float], repeat: int, fmt, font_points: float = 10) -> None:
    """A note under a table, wrapped across the table when it prints on one page width, else across
    the first page's columns: a merged cell across a page break would print in pieces."""
    starts = page_starts(widths, repeat)
    last = (starts[0] if starts else len(widths)) - 1
    if last > 0:
        ws.merge_range(row, 0, row, last, text, fmt)
    else:
        ws.write_string(row, 0, text, fmt)
    ws.set_row(row, text_height(text, sum(widths[:last + 1]), font_points))


def write_title(ws, row: int, text: str, widths: list[float], repeat: int, fmt, font_points: float = 16) -> None:
    """A sheet's title: across the table when it prints on one page width, else across the columns
    every page repeats, so that each page shows the whole title and none a piece of it."""
    last = len(widths) - 1 if not page_starts(widths, repeat) else max(0, repeat - 1)
    width = sum(widths[:last + 1])
    if last > 0:
        ws.merge_range(row, 0, row, last, text, fmt)      # fmt wraps: the text stays as written
    else:
        ws.write_string(row, 0, text, fmt)
    ws.set_row(row, text_height(text, width, font_points, minimum=font_points * 1.8))
