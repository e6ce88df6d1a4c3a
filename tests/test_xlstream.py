"""StreamedWorksheet: rows already on disk keep nothing in memory, and the file is the same as
xlsxwriter's own constant_memory output (heights, merges)."""
import zipfile

import xlsxwriter

from jixiao.xlstream import StreamedWorksheet


def write(path, worksheet_class):
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("申报表", worksheet_class=worksheet_class)
    fmt = wb.add_format({"border": 1})
    kept = []
    for r in range(0, 3000, 3):
        ws.set_row(r, 24)
        ws.merge.append([r, 0, r + 1, 1])
        ws.write_string(r, 0, f"第{r}行", fmt)
        ws.write_blank(r, 1, None, fmt)
        ws.write_blank(r + 1, 0, None, fmt)
        kept.append(len(ws.row_info))
    wb.close()
    return kept


def test_rows_written_keep_no_settings_and_the_file_is_unchanged(tmp_path):
    plain = write(tmp_path / "plain.xlsx", None)
    streamed = write(tmp_path / "streamed.xlsx", StreamedWorksheet)
    assert plain[-1] == 1000 and max(streamed) <= 2
    read = lambda p: zipfile.ZipFile(p).read("xl/worksheets/sheet1.xml")  # noqa: E731
    assert read(tmp_path / "streamed.xlsx") == read(tmp_path / "plain.xlsx")
