"""Streaming reads of a workbook jixiao has just written (the 汇总表, for reconcile): rows come out
of the compressed sheet XML a chunk at a time, with the values of only the columns asked for.

A client's reader (python-calamine) loads a whole sheet before giving its first row; a province's
申报表 or 绩效指标明细 has millions of cells, which then sit in memory together. This reader keeps
one chunk of XML. It reads SpreadsheetML as xlsxwriter writes it (inline or shared strings,
numbers, formulas with their values); it is not a reader for files from outside (package.py and
reader.py are).
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import unescape

from .cells import column_index, column_letter

CHUNK = 1 << 20

_SHEET = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
_REL_REVERSED = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', re.S)


def _cell_pattern(columns: bytes) -> re.Pattern:
    """A cell of the columns the regex `columns` names: (letters, row number, attributes, body)."""
    return re.compile(rb'<c\b[^>]*?\br="(' + columns + rb')(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)


_CELL = _cell_pattern(rb"[A-Z]+")
_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_TEXT = re.compile(rb"<t\b[^>]*>(.*?)</t>", re.S)
_VALUE = re.compile(rb"<v>(.*?)</v>", re.S)
_SHARED_ITEM = re.compile(rb"<si>(.*?)</si>", re.S)
_ESCAPES = {"&quot;": '"', "&apos;": "'"}


_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _text(raw: bytes) -> str:
    """XML text → str: entities, then the _xHHHH_ escapes of SpreadsheetML (xlsxwriter writes a
    literal "_x0100_" as "_x005F_x0100_")."""
    text = raw.decode("utf-8")
    if "&" in text:
        text = unescape(text, _ESCAPES)
    return _OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text) if "_x" in text else text


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its part's path inside the package."""
    workbook = zf.read("xl/workbook.xml")
    rels_xml = zf.read("xl/_rels/workbook.xml.rels")
    rels = {rid: target for rid, target in _REL.findall(rels_xml)}
    rels.update({rid: target for target, rid in _REL_REVERSED.findall(rels_xml)})
    parts = {}
    for name, rid in _SHEET.findall(workbook):
        target = _text(rels[rid])
        parts[_text(name)] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    try:
        xml = zf.read("xl/sharedStrings.xml")
    except KeyError:
        return []
    return ["".join(_text(t) for t in _TEXT.findall(item)) for item in _SHARED_ITEM.findall(xml)]


def _value(attrs: bytes, body: bytes | None, shared: list[str]):
    if not body:
        return None
    kind = _TYPE.search(attrs)
    kind = kind[1] if kind else b"n"
    if kind == b"inlineStr":
        return "".join(_text(t) for t in _TEXT.findall(body))
    v = _VALUE.search(body)
    if v is None:
        return None
    if kind == b"s":
        return shared[int(v[1])]
    if kind in (b"str", b"e"):
        return _text(v[1])
    if kind == b"b":
        return v[1] == b"1"
    number = float(v[1])
    return int(number) if number.is_integer() else number


def iter_rows(path: str | Path, sheet: str, columns: tuple[int, ...]) -> Iterator[tuple[int, tuple]]:
    """(0-based row, values of `columns` in that order, None where empty) for every row that has a
    cell in one of `columns`, streaming. Only those cells are matched: a row's other cells are
    skipped over by the regex engine, not looked at one by one."""
    wanted = {column_letter(c).encode(): i for i, c in enumerate(columns)}
    cells_of = _cells_in(tuple(sorted(wanted)))
    width = len(columns)
    with zipfile.ZipFile(path) as zf:
        shared = _shared_strings(zf)
        with zf.open(sheet_parts(zf)[sheet]) as xml:
            rest = b""
            current, values = None, None
            while True:
                chunk = xml.read(CHUNK)
                data = rest + chunk
                end = data.rfind(b"</row>") + len(b"</row>") if chunk else len(data)
                if chunk and end < len(b"</row>"):
                    rest = data
                    continue
                for cell in cells_of(data, 0, end):
                    r = int(cell[2]) - 1
                    if r != current:
                        if current is not None:
                            yield current, tuple(values)
                        current, values = r, [None] * width
                    values[wanted[cell[1]]] = _value(cell[3], cell[4], shared)
                rest = data[end:]
                if not chunk:
                    if current is not None:
                        yield current, tuple(values)
                    return


@lru_cache(maxsize=64)
def _cells_in(letters: tuple[bytes, ...]):
    """finditer over the cells of these columns only (the regex skips the others' XML itself)."""
    return _cell_pattern(b"|".join(re.escape(x) for x in letters)).finditer


def header_row(path: str | Path, sheet: str) -> list:
    """Every value of the sheet's first row, in column order (None where a column is empty)."""
    with zipfile.ZipFile(path) as zf:
        shared = _shared_strings(zf)
        with zf.open(sheet_parts(zf)[sheet]) as xml:
            data = b""
            while b"</row>" not in data and b"</sheetData>" not in data:
                chunk = xml.read(CHUNK)
                if not chunk:
                    break
                data += chunk
    row = _ROW.search(data)
    if row is None or int(row[1]) != 1 or not row[2]:
        return []
    cells = {column_index(cell[1].decode()): _value(cell[3], cell[4], shared) for cell in _CELL.finditer(row[2])}
    return [cells.get(i) for i in range(max(cells, default=-1) + 1)]
