"""Worksheets that keep nothing of the rows already written.

xlsxwriter's constant_memory mode writes each row to disk as soon as the next one starts, but it
still keeps every row's height and format (set_row) and every merged range in Python objects
until the file is closed: for a province's 汇总表 (millions of rows, hundreds of thousands of
merges in the 申报表) that alone is most of a GiB. StreamedWorksheet drops a row's settings once
the row is on disk, and keeps merged ranges as four integers each in an array."""

from __future__ import annotations

from array import array

from xlsxwriter.worksheet import Worksheet


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


class StreamedWorksheet(Worksheet):
    """For constant_memory workbooks only (the rows must be written in order): wb.add_worksheet(name,
    worksheet_class=StreamedWorksheet). Nothing is drawn over the cells (no images, charts or
    comments), so the heights of written rows are not needed again."""

    def __init__(self):
        super().__init__()
        self.merge = MergedRanges()

    def _write_single_row(self, current_row_num=0) -> None:
        written = self.previous_row
        super()._write_single_row(current_row_num)
        if written != current_row_num:
            self.row_info.pop(written, None)
            self.row_sizes.pop(written, None)
