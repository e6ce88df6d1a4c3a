"""Worksheets that keep nothing of the rows already written, and write their rows quickly.

xlsxwriter's constant_memory mode writes each row to disk as soon as the next one starts, but it
still keeps every row's height and format (set_row) and every merged range in Python objects
until the file is closed: for a province's 汇总表 (millions of rows, hundreds of thousands of
merges in the 申报表) that alone is most of a GiB. StreamedWorksheet drops a row's settings once
the row is on disk, and keeps merged ranges as four integers each in an array.

Writing the rows out was half of a province's merge: xlsxwriter builds every cell's XML through
several calls (attribute lists, escaping, one write per cell). StreamedWorksheet writes a row's
numbers, inline strings and bordered blanks as one string, the same bytes xlsxwriter writes
(tests/test_xlstream.py compares them), and leaves every other kind of cell to xlsxwriter."""

from __future__ import annotations

import re
from array import array
from functools import lru_cache

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from .text import short_text_cache


class MergedRanges:
    """The worksheet's list of merged ranges, packed: append([r1, c1, r2, c2]), len(), iteration
    as (r1, c1, r2, c2) tuples — what xlsxwriter does with it."""

    def __init__(self):
        self._cells = array("I")

    def append(self, merged_range) -> None:
        self._cells.extend(merged_range)

    def __len__(self) -> int:
        return len(self._cells) // 4

    def __iter__(self):
        cells = self._cells
        for i in range(0, len(cells), 4):
            yield tuple(cells[i:i + 4])


def _by_numbers(public, undecorated):
    """xlsxwriter's public write method, calling its undecorated form when given row numbers."""
    def write(self, row, col, *args, **kwargs):
        return (undecorated if row.__class__ is int else public)(self, row, col, *args, **kwargs)
    return write


class StreamedWorksheet(Worksheet):
    """For constant_memory workbooks only (the rows must be written in order): wb.add_worksheet(name,
    worksheet_class=StreamedWorksheet). Nothing is drawn over the cells (no images, charts or
    comments), so the heights of written rows are not needed again."""

    def __init__(self):
        super().__init__()
        self.merge = MergedRanges()

    # The cells are written by (row, column) numbers, millions of times: straight to xlsxwriter's
    # undecorated methods, without the check for A1 notation each call would make.
    write_string = _by_numbers(Worksheet.write_string, Worksheet._write_string)
    write_number = _by_numbers(Worksheet.write_number, Worksheet._write_number)
    write_blank = _by_numbers(Worksheet.write_blank, Worksheet._write_blank)

    def _write_single_row(self, current_row_num=0) -> None:
        written = self.previous_row
        if QUICK_ROWS:
            self._write_row_quickly(current_row_num)
        else:
            super()._write_single_row(current_row_num)
        if written != current_row_num:
            self.row_info.pop(written, None)
            self.row_sizes.pop(written, None)

    def _write_row_quickly(self, current_row_num: int) -> None:
        """xlsxwriter's Worksheet._write_single_row (3.x), with the common cells written here."""
        row_num = self.previous_row
        self.previous_row = current_row_num
        cells = self.table.get(row_num)
        row_info = self.row_info.get(row_num)
        if cells:
            self._write_row(row_num, None, row_info)
            row_format = row_info.row_format if row_info is not None else None
            number = str(row_num + 1)
            parts = []
            for col in sorted(cells):
                cell = cells[col]
                kind = cell.__class__.__name__
                if kind == "String" and cell.string.startswith("<r>") and cell.string.endswith("</r>"):
                    kind = "RichString"                   # xlsxwriter's own inline rich text
                if kind not in _QUICK:
                    self.fh.write("".join(parts))
                    parts.clear()
                    self._write_cell(row_num, col, cell)
                    continue
                attributes = f' r="{_column_name(col)}{number}"'
                if cell.format:
                    attributes += f' s="{cell.format._get_xf_index()}"'
                elif row_format:
                    attributes += f' s="{row_format._get_xf_index()}"'
                elif col in self.col_info and self.col_info[col].column_format is not None:
                    attributes += f' s="{self.col_info[col].column_format._get_xf_index()}"'
                if kind == "Blank":
                    parts.append(f"<c{attributes}/>")
                elif kind == "String":
                    parts.append(self._inline_string(cell.string, attributes))
                else:
                    parts.append(f"<c{attributes}><v>{cell.number:.16G}</v></c>")
            parts.append("</row>")
            self.fh.write("".join(parts))
        elif row_info is not None or row_num in self.comments:
            self._write_empty_row(row_num, None, row_info)
        self.table.clear()

    def _inline_string(self, string: str, attributes: str) -> str:
        """What xlsxwriter's _xml_inline_string writes for a plain string in constant_memory mode."""
        return f'<c{attributes} t="inlineStr">{_inline_body(string)}</c>'


def _inline_xml(string: str) -> str:
    """<is><t>…</t></is> of a plain string as xlsxwriter writes it: control characters as _xHHHH_
    (a literal _xHHHH_ with its underscore escaped), whitespace at either end preserved, &, < and >
    as entities (xlsxwriter's _escape_data, which leaves quotes and newlines as they are)."""
    if "_x" in string or not string.isprintable():
        string = Worksheet._escape_control_characters(string)
    preserve = ' xml:space="preserve"' if string[:1].isspace() or string[-1:].isspace() else ""
    if "&" in string or "<" in string or ">" in string:
        string = string.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<is><t{preserve}>{string}</t></is>"


_inline_body = short_text_cache(_inline_xml, 1 << 14)      # unit names, 一级/二级, units repeat on every row
_QUICK = frozenset({"Number", "Datetime", "String", "Blank"})
# The row writer above copies what xlsxwriter 3.3 writes (RowInfo and ColumnInfo came with 3.3):
# with another version xlsxwriter writes the rows itself, slower but always right.
QUICK_ROWS = re.match(r"3\.3(?!\d)", getattr(xlsxwriter, "__version__", "")) is not None
_column_name = lru_cache(maxsize=None)(xl_col_to_name)        # lru_cache: safe in the web page's threads
