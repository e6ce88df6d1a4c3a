"""One generic writer for the printed 申报表 block of every form, driven by its Layout (layout.py).

draw() turns a record into a Drawing: rows of cells with their text or number, style and row
height, plus the merged ranges, in sheet order. write() puts a Drawing on a worksheet. Keeping the
two apart means the layout logic is the same whatever writes the sheet.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .layout import OFFICIAL, Cell, Layout, label_table
from .xlstyle import balanced, chunks, text_height


@dataclass
class Drawn:
    col: int
    value: object                  # str, float, or None (blank)
    style: str
    span: int = 1                  # columns
    down: int = 1                  # rows (a merged run, or a side label)


@dataclass
class Drawing:
    rows: list[list[Drawn]] = field(default_factory=list)
    heights: list[float | None] = field(default_factory=list)

    def add(self, cells: list[Drawn], height: float | None) -> int:
        self.rows.append(cells)
        self.heights.append(height)
        return len(self.rows) - 1


def display_text(text) -> str:
    """Text as printed on the form: HTML paragraph tags become line breaks, other tags go."""
    if not text:
        return ""
    text = str(text)
    if "<" not in text and "\n" not in text:
        return text.strip()                   # no tag and no blank line: nearly every text
    text = re.sub(r"(?i)<\s*(br|/p|/li)\s*/?>", "\n", text)
    text = re.sub(r"</?[a-zA-Z][^<>]*>", "", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def context(consolidated, project, number: int) -> dict:
    spec = consolidated.spec
    start, end = project.values.get("start"), project.values.get("end")
    return {"title": spec.title, "year": consolidated.year, "department": consolidated.department,
            "unit_code": project.unit.code, "unit_name": project.unit.name, "money_unit": spec.money_unit,
            "number": number, "name": project.name, "label": _labels(spec),
            "start_year": start.year if isinstance(start, dt.date) else "",
            "end_year": end.year if isinstance(end, dt.date) else ""}


def _labels(spec) -> dict:
    cached = spec._lookup.get("layout_labels")
    if cached is None:
        cached = spec._lookup["layout_labels"] = label_table(spec)
    return cached


def anchor_text(consolidated) -> str:
    """The text that starts every block in column A: what reconcile counts."""
    spec = consolidated.spec
    return spec.layout.anchor.format(title=spec.title, year=consolidated.year, department=consolidated.department,
                                     money_unit=spec.money_unit, label=_labels(spec))


def block_rows(layout: Layout, project) -> int:
    """An upper bound of the rows a block takes (long texts may split), for splitting sheets."""
    n = 0
    for section in layout.sections:
        for row in section.rows:
            if row.repeat is not None:
                n += max(1, len(_items(project, row.repeat)))
            elif row.split:
                n += 1 + sum(len(str(project.values.get(c.field) or "")) for c in row.cells if c.field) // 300
            else:
                n += 1
    return n


def _items(project, key: str) -> list:
    return project.indicators if key == "indicators" else project.children.get(key, [])


def draw(consolidated, project, number: int) -> Drawing:
    spec = consolidated.spec
    layout: Layout = spec.layout
    ctx = context(consolidated, project, number)
    widths = layout.widths
    drawing = Drawing()
    for section in layout.sections:
        first_row = len(drawing.rows)
        offset = 1 if section.side is not None else 0
        for row in section.rows:
            if row.repeat is not None:
                _draw_repeat(drawing, row, spec, project, offset, widths, ctx)
            elif row.split:
                _draw_split(drawing, row, spec, project, offset, widths, ctx)
            else:
                cells, texts = _plain_cells(row.cells, offset, widths, lambda c: _record_value(c, spec, project, ctx))
                drawing.add(cells, row.height or _height(texts))
        if section.side is not None:
            side = Drawn(0, section.side.format(**ctx), "label", 1, len(drawing.rows) - first_row)
            drawing.rows[first_row].insert(0, side)
    return drawing


def _plain_cells(cells: tuple[Cell, ...], offset: int, widths, value_of) -> tuple[list[Drawn], list]:
    out, texts, col = [], [], offset
    for cell in cells:
        value, style = value_of(cell)
        if cell.balance and isinstance(value, str):
            value = balanced(value, sum(widths[col:col + cell.span]))
        out.append(Drawn(col, value, style, cell.span))
        if isinstance(value, str):
            texts.append((value, sum(widths[col:col + cell.span])))
        col += cell.span
    return out, texts


def _height(texts) -> float:
    return max([20.0] + [text_height(t, w) for t, w in texts])


def _record_value(cell: Cell, spec, project, ctx) -> tuple[object, str]:
    if cell.text is not None:
        text = cell.text
        if cell.when_filled and all(project.values.get(f) not in (None, "") for f in cell.when_filled):
            text = cell.text_filled
        return text.format(**ctx), cell.style
    return _typed(spec.projects.field(cell.field).type, project.values.get(cell.field), cell.style)


def _typed(ftype: str, value, style: str) -> tuple[object, str]:
    if ftype == "amount":
        return (None if value is None else float(value)), "money"
    if ftype == "date":
        return (value.isoformat() if isinstance(value, dt.date) else ""), style
    if ftype == "count":
        return ("" if value is None else str(value)), style
    return display_text(value), style


def _draw_split(drawing: Drawing, row, spec, project, offset: int, widths, ctx) -> None:
    cols, col = [], offset
    for cell in row.cells:
        width = sum(widths[col:col + cell.span])
        value, style = _record_value(cell, spec, project, ctx)
        pieces = chunks(value, width) if isinstance(value, str) and value else [value]
        cols.append((col, cell, width, pieces, style))
        col += cell.span
    for i in range(max(len(p) for *_, p, _s in cols)):
        cells, texts = [], []
        for col, cell, width, pieces, style in cols:
            piece = pieces[i] if i < len(pieces) else ""
            cells.append(Drawn(col, piece, style, cell.span))
            if isinstance(piece, str):
                texts.append((piece, width))
        drawing.add(cells, row.height or _height(texts))


def _indicator_value(cell: Cell, spec, ind) -> tuple[object, str]:
    if cell.text is not None:
        return cell.text, cell.style
    if cell.field == OFFICIAL:
        return ind.official, cell.style
    special = {"level1": ind.level1, "level2": ind.level2, "level3": ind.name, "note": display_text(ind.note)}
    if cell.field in special:
        return special[cell.field] or "", cell.style
    return _typed(spec.indicators.field(cell.field).type, ind.values.get(cell.field), cell.style)


def _draw_repeat(drawing: Drawing, row, spec, project, offset: int, widths, ctx) -> None:
    table = spec.table(row.repeat)
    items = _items(project, row.repeat)
    if not items:
        cells, texts = _plain_cells(row.cells, offset, widths, lambda c: ("" if c.field else c.text.format(**ctx),
                                                                          c.style))
        drawing.add(cells, row.height or _height(texts))
        return
    if table.kind == "indicators":
        def value_of(cell, item):
            return _indicator_value(cell, spec, item)
    else:
        def value_of(cell, item):
            if cell.text is not None:
                return cell.text.format(**ctx), cell.style
            return _typed(table.field(cell.field).type, item.get(cell.field), cell.style)
    first = len(drawing.rows)
    merged = [i for i, c in enumerate(row.cells) if c.merge]
    for item in items:
        cells, texts = _plain_cells(row.cells, offset, widths, lambda c: value_of(c, item))
        # merged cells span several rows: their text does not decide one row's height
        drawing.add(cells, row.height or _height([t for k, t in enumerate(texts) if k not in merged]))
    # Equal consecutive values of a merge cell (within the runs of the merge cells before it) join.
    values = [[drawing.rows[first + i][m].value for m in merged] for i in range(len(items))]
    for n, k in enumerate(merged):
        keys = [tuple(v[:n + 1]) for v in values]
        i = 0
        while i < len(items):
            j = i
            while j + 1 < len(items) and keys[j + 1] == keys[i]:
                j += 1
            if j > i:
                drawing.rows[first + i][k].down = j - i + 1
                for t in range(i + 1, j + 1):
                    drawing.rows[first + t][k].value = _COVERED
            i = j + 1


class _Covered:
    """A cell inside a merged range, drawn by the range's first cell."""


_COVERED = _Covered()


def write(ws, r0: int, drawing: Drawing, formats: dict) -> int:
    """Write a Drawing at row r0 of an xlsxwriter worksheet; returns the next free row.

    Strictly row by row, so that the sheet can be in constant_memory mode (each row goes to disk
    when the next one starts): a merged range is registered, its first cell written with the value
    and every other cell as a formatted blank in the row it belongs to — what merge_range does, but
    merge_range writes the later rows of a range at once, which that mode would lose."""
    pending: dict[int, list[tuple[int, object]]] = {}       # row → (col, format) blanks of ranges above
    for i, cells in enumerate(drawing.rows):
        r = r0 + i
        height = drawing.heights[i]
        if height:
            ws.set_row(r, height)
        for col, fmt in pending.pop(r, ()):
            ws.write_blank(r, col, None, fmt)
        for cell in cells:
            if cell.value is _COVERED:
                continue
            fmt = formats[cell.style]
            if cell.span > 1 or cell.down > 1:
                last_row, last_col = r + cell.down - 1, cell.col + cell.span - 1
                ws.merge.append([r, cell.col, last_row, last_col])
                for col in range(cell.col + 1, last_col + 1):
                    ws.write_blank(r, col, None, fmt)
                for below in range(r + 1, last_row + 1):
                    pending.setdefault(below, []).extend((col, fmt) for col in range(cell.col, last_col + 1))
            if isinstance(cell.value, float):
                ws.write_number(r, cell.col, cell.value, fmt)
            elif cell.value:
                ws.write_string(r, cell.col, cell.value, fmt)
            else:
                ws.write_blank(r, cell.col, None, fmt)
    assert not pending, "a merged range reaches past its block"
    return r0 + len(drawing.rows)
