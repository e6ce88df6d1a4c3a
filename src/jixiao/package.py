"""A returned file, checked as a package before any parser sees it; its sheets bounded for calamine.

What kind of file it really is (empty, legacy .xls, encrypted, CSV or HTML renamed, truncated
zip); the zip's declared sizes and compression ratios; each part inflated here, never beyond its
declared size, refused when it declares a DTD (entity bombs) or is not UTF-8; every data sheet
bounded to the template's rows plus a margin and 64 columns (calamine allocates a dense grid up to
the farthest cell, so one cell at XFD1048576 would ask for hundreds of GB); and python-calamine
opened on a small package built from those checked parts only. Formulas, Excel error values,
macros and external links are found by scanning the XML, since calamine does not report them.
Everything here raises Unreadable with a Chinese message, or returns findings.
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote
from xml.sax.saxutils import quoteattr

import python_calamine as calamine
from defusedxml import ElementTree as SafeET

from .cells import column_letter
from .errors import Unreadable
from .findings import Finding, finding
from .spec import normalize_label

MAX_FILE_BYTES = 50 * 1024 * 1024          # the file on disk
MAX_UNCOMPRESSED = 300 * 1024 * 1024       # sum of the declared sizes of all zip members
MAX_RATIO = 200                            # declared size / compressed size, for members > 1 MB
MAX_MEMBERS = 5_000
MAX_SHEET_XML = 100 * 1024 * 1024          # one data sheet's XML (a million short rows fits)
MAX_PART_XML = 32 * 1024 * 1024            # sharedStrings.xml, styles.xml
MAX_SMALL_XML = 4 * 1024 * 1024            # workbook.xml, relationship parts
MAX_COLUMNS = 64                           # columns read per sheet (the forms use at most 14)
MAX_TAGS_REWRITTEN = 3_000_000             # row and cell tags walked when a sheet must be rewritten
FAST_PATH_BYTES = 16 * 1024 * 1024         # sheets larger than any real return are always rewritten
META_ROWS = 100
HEADER_SEARCH_ROWS = 5
EXTRA_ROWS_SCANNED = 2_000                 # rows below the input range still read (S-14)

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPE_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
TYPE_OFFICE_DOC = "/officeDocument"

CORRUPT = "文件已损坏（可能未完整下载或保存中断）：请在 Excel 中打开并重新保存为 .xlsx 后报送"
BOMB = "（疑似压缩炸弹）：已拒绝读取，请在 Excel 中打开并重新保存为 .xlsx 后报送"
XML_BOMB = ("文件含有不安全的 XML 内容（DTD/实体声明，疑似 XML 炸弹）：已拒绝读取；"
            "Excel 保存的文件不会有这种内容，请用 Excel 或 WPS 重新保存为 .xlsx 后报送")



# --- what kind of file ------------------------------------------------------------------------

def read_bytes(path: Path) -> bytes:
    try:
        info = path.stat()
    except OSError as exc:
        raise Unreadable(f"无法访问文件（{exc.strerror or type(exc).__name__}）") from None
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable("不是普通文件（可能是文件夹、设备或管道）：请报送填好的 .xlsx 文件")
    size = info.st_size
    if size > MAX_FILE_BYTES:
        raise Unreadable(f"文件有 {size // 1024 // 1024} MB，超过 {MAX_FILE_BYTES // 1024 // 1024} MB 上限："
                         "请删除无关内容（如图片）后重新保存")
    try:
        with open(path, "rb") as fh:          # read-only: an input is never opened for writing
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise Unreadable(f"无法读取文件（{exc.strerror or type(exc).__name__}）") from None
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB 上限：请删除无关内容（如图片）后重新保存")
    return data


def sniff(data: bytes) -> None:
    """Name what the file really is when it is not an .xlsx zip."""
    if not data:
        raise Unreadable("文件是空的（0 字节）：请重新保存后再报送")
    if data.startswith(OLE2_MAGIC):
        head = data[:4_000_000]
        if "EncryptionInfo".encode("utf-16-le") in head or "EncryptedPackage".encode("utf-16-le") in head:
            raise Unreadable("文件设置了打开密码（已加密）：请在 Excel 中取消密码（文件→信息→保护工作簿→用密码进行加密，"
                             "清空密码）后重新保存为 .xlsx 并报送")
        if "WordDocument".encode("utf-16-le") in head:
            raise Unreadable("这是 Word 文档（.doc），不是 Excel 文件：请使用下发的模板填报")
        raise Unreadable("这是旧版 Excel 97-2003（.xls）文件：请用 Excel 或 WPS 另存为 .xlsx 后报送")
    if data.startswith(ZIP_MAGIC):
        return
    if data.startswith((b"PK\x05\x06", b"PK\x07\x08", b"PK\x01\x02")):
        raise Unreadable(CORRUPT)
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta", b"<head", b"<body")) \
            or b"<html" in head or b"<table" in head:
        raise Unreadable("这是网页（HTML/XML）文件，只是扩展名为 .xlsx：请在 Excel 中打开后另存为 .xlsx（Excel 工作簿）")
    if head.startswith(b"{\\rtf"):
        raise Unreadable("这是 RTF 文档，不是 Excel 文件：请使用下发的模板填报")
    if head.startswith(b"%pdf"):
        raise Unreadable("这是 PDF 文件，不是 Excel 文件：请报送填好的 .xlsx 模板")
    if data.startswith((b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        raise Unreadable("这是压缩包（gzip/RAR/7z），不是 Excel 文件：请解压后报送其中的 .xlsx")
    text = _as_text(data[:4096])
    if text is not None and ("," in text or "\t" in text or "，" in text):
        raise Unreadable("这是 CSV/文本文件，只是扩展名为 .xlsx：请使用下发的模板填报并保存为 .xlsx")
    if text is not None:
        raise Unreadable("这是文本文件，不是 Excel 文件：请使用下发的模板填报并保存为 .xlsx")
    raise Unreadable("不是有效的 .xlsx 文件（文件格式无法识别）：请使用下发的模板填报")


def _as_text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            # the 4 KB cut may split a multi-byte character
            try:
                text = data[:-3].decode(encoding)
            except UnicodeDecodeError:
                continue
        text = text.lstrip("\ufeff")
        if all(ch.isprintable() or ch in "\r\n\t" for ch in text):
            return text
    return None


# --- the zip, checked before anything is inflated ------------------------------------------------

class Package:
    """The zip's directory, checked as a whole; members are inflated one by one, verified."""

    def __init__(self, data: bytes):
        self.data = data
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError, struct.error):
            raise Unreadable(CORRUPT) from None
        if len(infos) > MAX_MEMBERS:
            raise Unreadable("文件结构异常（包含的部件过多）：请使用下发的模板重新填报")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNCOMPRESSED:
            raise Unreadable(f"文件解压后超过 {MAX_UNCOMPRESSED // 1024 // 1024} MB" + BOMB)
        for info in infos:
            if info.file_size > 1_000_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise Unreadable(f"文件压缩比异常（“{_shown(info.filename)}”压缩比超过 {MAX_RATIO} 倍）" + BOMB)
        self.infos: dict[str, zipfile.ZipInfo] = {}
        self.folded: dict[str, str] = {}
        for info in infos:
            name = info.filename
            key = name.replace("\\", "/").lstrip("/").lower()
            if name in self.infos or key in self.folded:
                raise Unreadable(f"文件结构异常（部件“{_shown(name)}”重复出现）：请用 Excel 重新保存为 .xlsx 后报送")
            self.infos[name] = info
            self.folded[key] = name
        self.checked: set[str] = set()

    def find(self, path: str) -> str | None:
        """The member for a package path, as Excel finds it: case-insensitive, either slash."""
        return self.folded.get(path.replace("\\", "/").lstrip("/").lower())

    def read(self, name: str, limit: int) -> bytes:
        """Inflate one member ourselves: never more than its declared size, which must be ≤ limit."""
        info = self.infos[name]
        if info.flag_bits & 0x1:
            raise Unreadable("文件中的部件被加密：请取消密码后重新保存为 .xlsx 并报送")
        if info.file_size > limit:
            raise Unreadable(f"文件中的“{_shown(name)}”解压后有 {info.file_size // 1024 // 1024} MB，超过 "
                             f"{limit // 1024 // 1024} MB 上限：请删除填报区之外的大量内容后重新保存")
        offset = info.header_offset
        header = self.data[offset:offset + 30]
        if len(header) < 30 or header[:4] != ZIP_MAGIC:
            raise Unreadable(CORRUPT)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = offset + 30 + name_len + extra_len
        raw = self.data[start:start + info.compress_size]
        if len(raw) < info.compress_size:
            raise Unreadable(CORRUPT)
        if info.compress_type == zipfile.ZIP_STORED:
            out = raw
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-15)
            try:
                out = inflater.decompress(raw, info.file_size + 1)
            except zlib.error:
                raise Unreadable(CORRUPT) from None
            if len(out) > info.file_size:
                raise Unreadable(f"文件中的“{_shown(name)}”解压后的实际大小超过其声明的 {info.file_size} 字节" + BOMB)
            if not inflater.eof:
                raise Unreadable(CORRUPT)
        else:
            raise Unreadable(f"文件使用了不支持的压缩方式（{info.compress_type}）：请用 Excel 重新保存为 .xlsx 后报送")
        if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
            raise Unreadable(CORRUPT)
        return out

    def read_xml(self, name: str, limit: int) -> bytes:
        xml = self.read(name, limit)
        _check_xml(xml, name)
        self.checked.add(name)
        return xml

    def check_all_xml(self) -> None:
        """No DTD in any XML part, also those the reader does not use: the annotated copy of a
        reshaped return is made by openpyxl from the original file (in whatever encoding)."""
        for name in self.infos:
            if name not in self.checked and name.lower().endswith((".xml", ".rels", ".vml")):
                xml = self.read(name, MAX_SHEET_XML)
                if _DTD.search(xml) or any(n in xml for n in _DTD_UTF16):
                    raise Unreadable(XML_BOMB)


def _shown(name: str) -> str:
    """A name from the file, as it may appear in a message: printable and short."""
    text = "".join(ch if ch.isprintable() else "?" for ch in name[:80])
    return text + ("…" if len(name) > 80 else "")


_DTD = re.compile(rb"<!(?i:doctype|entity)")
_DTD_UTF16 = [word.encode(codec) for word in ("<!DOCTYPE", "<!doctype", "<!ENTITY", "<!entity")
              for codec in ("utf-16-le", "utf-16-be")]
_XML_DECL_ENCODING = re.compile(rb'^\s*<\?xml[^>]*?\bencoding\s*=\s*["\']([^"\']*)["\']')


def _check_xml(xml: bytes, name: str) -> None:
    """Refuse what no spreadsheet program writes: a DTD (entity bombs, external entities), an
    encoding other than UTF-8 (the reader's scans and limits work on UTF-8 bytes)."""
    if xml.startswith(b"\xef\xbb\xbf"):
        xml = xml[3:]
    if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in xml[:256]:
        raise Unreadable(f"文件中的“{_shown(name)}”不是 UTF-8 编码：请用 Excel 重新保存为 .xlsx 后报送")
    m = _XML_DECL_ENCODING.match(xml[:512])
    if m and m[1].lower().replace(b"-", b"").replace(b"_", b"") != b"utf8":
        raise Unreadable(f"文件中的“{_shown(name)}”使用了 {_shown(m[1].decode('ascii', 'replace'))} 编码："
                         "请用 Excel 重新保存为 .xlsx 后报送")
    if _DTD.search(xml):
        raise Unreadable(XML_BOMB)


def _parse_xml(xml: bytes, what: str):
    try:
        return SafeET.fromstring(xml)
    except Exception:  # noqa: BLE001 - defusedxml refusals and parse errors alike
        raise Unreadable(f"{what}无法解析（文件可能已损坏或被篡改）：请在 Excel 中打开并重新保存为 .xlsx 后报送") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _resolve(base_dir: str, target: str) -> str:
    """A relationship target as a package path (relative to base_dir, or absolute)."""
    target = unquote(target.replace("\\", "/"))
    path = target.lstrip("/") if target.startswith("/") else posixpath.join(base_dir, target)
    return posixpath.normpath(path).lstrip("/")


def _relationships(package: Package, rels_path: str) -> list[tuple[str, str, str, str]]:
    """(Id, Type, Target, TargetMode) of a .rels part, or [] when it is absent."""
    member = package.find(rels_path)
    if member is None:
        return []
    root = _parse_xml(package.read_xml(member, MAX_SMALL_XML), "文件的关系部件")
    out = []
    for el in root.iter():
        if _local(el.tag) == "Relationship":
            out.append((el.get("Id", ""), el.get("Type", ""), el.get("Target", ""), el.get("TargetMode", "")))
    return out


class Book:
    """workbook.xml read safely: sheet names in order, their XML members, the date system."""

    def __init__(self, package: Package):
        self.package = package
        workbook = "xl/workbook.xml"
        for _rid, typ, target, mode in _relationships(package, "_rels/.rels"):
            if typ.endswith(TYPE_OFFICE_DOC) and mode != "External":
                workbook = _resolve("", target)
                break
        member = package.find(workbook)
        if member is None:
            names = set(package.folded)
            if "word/document.xml" in names:
                raise Unreadable("这是 Word 文档，不是 Excel 文件：请使用下发的模板填报")
            if "ppt/presentation.xml" in names:
                raise Unreadable("这是 PowerPoint 文件，不是 Excel 文件：请使用下发的模板填报")
            if "xl/workbook.bin" in names:
                raise Unreadable("这是 Excel 二进制工作簿（.xlsb）：请用 Excel 另存为 .xlsx（Excel 工作簿）后报送")
            if "content.xml" in names or "mimetype" in names:
                raise Unreadable("这是 OpenDocument 表格（.ods），不是 .xlsx：请用 WPS 或 Excel 另存为 .xlsx 后报送")
            raise Unreadable("不是有效的 .xlsx 文件（缺少工作簿部件）：请使用下发的模板填报")
        self.path = member
        base = posixpath.dirname(workbook)
        root = _parse_xml(package.read_xml(member, MAX_SMALL_XML), "工作簿结构")
        rels_path = posixpath.join(base, "_rels", posixpath.basename(workbook) + ".rels")
        rels = {}
        self.shared_strings = self.styles = None
        for rid, typ, target, mode in _relationships(package, rels_path):
            if mode == "External":
                continue
            rels[rid] = _resolve(base, target)
            if typ.endswith("/sharedStrings"):
                self.shared_strings = package.find(rels[rid])
            elif typ.endswith("/styles"):
                self.styles = package.find(rels[rid])
        # calamine looks for these by their usual names; so do we when the relationship is missing
        self.shared_strings = self.shared_strings or package.find(posixpath.join(base, "sharedStrings.xml"))
        self.styles = self.styles or package.find(posixpath.join(base, "styles.xml"))
        self.date1904 = False
        self.sheets: dict[str, str | None] = {}        # name → member (None: the part is missing)
        for el in root.iter():
            tag = _local(el.tag)
            if tag == "workbookPr" and (el.get("date1904") or "").strip().lower() in ("1", "true"):
                self.date1904 = True
            elif tag == "sheet":
                name = el.get("name")
                if not name:
                    continue
                if name in self.sheets:
                    raise Unreadable(f"文件结构异常（有两个名为“{_shown(name)}”的工作表）：请用 Excel 重新保存为 .xlsx 后报送")
                rid = None
                for key, value in el.attrib.items():
                    if key == "id" or key.endswith("}id"):
                        rid = value
                target = rels.get(rid)
                self.sheets[name] = package.find(target) if target else None
        self._normalized = {}
        for name in self.sheets:
            self._normalized.setdefault(normalize_label(name), name)

    def find_sheet(self, name: str) -> str | None:
        """The workbook's sheet for a spec sheet name: exact, or the same label with stray spaces."""
        if name in self.sheets:
            return name
        return self._normalized.get(normalize_label(name))

    def sheet_xml(self, name: str) -> bytes:
        member = self.sheets[name]
        if member is None:
            raise Unreadable(f"工作表“{name}”的内容缺失（文件已损坏）：请在 Excel 中打开并重新保存为 .xlsx 后报送")
        return self.package.read_xml(member, MAX_SHEET_XML)


def package_findings(file: str, package: Package) -> list[Finding]:
    """Macros (never run) and external links (never followed) are named."""
    out = []
    names = list(package.folded)
    content_types = package.find("[Content_Types].xml")
    macro_type = False
    if content_types is not None:
        try:
            macro_type = b"macroEnabled" in package.read(content_types, MAX_SMALL_XML)
        except Unreadable:
            macro_type = False
    if macro_type or any(n.endswith("vbaproject.bin") or n.startswith("xl/macrosheets/") for n in names):
        out.append(finding("S-17", file=file))
    targets = []
    for name in names:
        if name.startswith("xl/externallinks/_rels/") and name.endswith(".rels"):
            for _rid, _typ, target, _mode in _relationships(package, name):
                if target and target not in targets:
                    targets.append(target)
        elif name.startswith("xl/externallinks/") and name.endswith(".xml") and "/_rels/" not in name:
            rels = posixpath.join("xl/externallinks/_rels", posixpath.basename(name) + ".rels")
            if rels not in package.folded and "（未知文件）" not in targets:
                targets.append("（未知文件）")
    for target in targets[:5]:
        out.append(finding("S-21", file=file, target=unquote(target)[:120]))
    return out


# --- each data sheet bounded before calamine sees it ----------------------------------------------

@dataclass
class BoundedSheet:
    xml: bytes
    dropped_row: int | None = None      # first 0-based row with data beyond the row limit
    dropped_col: tuple[int, int] | None = None   # (row, col) of the first data beyond the column limit


# An optional namespace prefix, as loosely as quick-xml (calamine's parser) reads one: a tag's
# name runs to the first whitespace and its local name starts after the first colon. Every
# pattern below may over-match (that only sends a sheet to the careful path), never under-match.
_P = rb"(?:[^\s<>:]+:)?"
_SHEETDATA_OPEN = re.compile(rb"<" + _P + rb"sheetData(?=[\s/>])[^>]*>")
_SHEETDATA_CLOSE = re.compile(rb"</" + _P + rb"sheetData\s*>")
_C_OPEN = re.compile(rb"<" + _P + rb"c[\s/>]")
# The fast path's patterns start with a literal, so that the regex engine skips ahead quickly.
_XML_SPACE = (b" ", b"\t", b"\n", b"\r")                     # quick-xml's whitespace
_PREFIXED_CELL_OR_ROW = re.compile(rb":(?:c|row)[ \t\n\r/>]")
_PLAIN_C_REF = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"[ \t\n\r/>]')
_PLAIN_ROW_REF = re.compile(rb'<row r="[1-9][0-9]{0,6}"[ \t\n\r/>]')
_NOT_C = re.compile(rb"<c[^ \t\n\r/>]")                          # <cols>, <cfRule>, …
_NOT_ROW = re.compile(rb"<row[^ \t\n\r/>]")                      # <rowBreaks>, …
_SECOND_C_R = re.compile(rb'<c r="[^"]*"[^>]*\sr\s*=')
_SECOND_ROW_R = re.compile(rb'<row r="[^"]*"[^>]*\sr\s*=')
_SINGLE_QUOTED = re.compile(rb"=\s*'")
_DIMENSION = re.compile(rb"<" + _P + rb"dimension\b[^>]*?(?:/>|>\s*</" + _P + rb"dimension\s*>)")
_TOKEN = re.compile(rb"<(/?)" + _P + rb"(row|c|sheetData)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"""(?:^|(?<=\s))([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF_TEXT = re.compile(rb"^([A-Za-z]{1,3})([1-9][0-9]{0,6})$")
_DATA = re.compile(rb"<" + _P + rb"(?:v|is|f)[\s/>]")
CELL_TYPES = {b"s", b"str", b"inlineStr", b"n", b"b", b"e", b"d"}


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n - 1


def bounded_sheet(xml: bytes, name: str, max_rows: int, max_cols: int) -> BoundedSheet:
    """The sheet XML as calamine may see it: every cell inside max_rows × max_cols.

    Fast path (every real client): each row and cell has one double-quoted r attribute and all
    lie inside the bounds; the XML passes unchanged but for its <dimension>, which is only a
    hint. Anything else is rewritten: cells outside the bounds dropped (and reported when they
    hold data), every kept cell and row given its explicit position."""
    if len(xml) <= FAST_PATH_BYTES and _plain_and_inside(xml, max_rows, max_cols):
        return BoundedSheet(_DIMENSION.sub(b"", xml, count=1))
    return _rewrite_sheet(xml, name, max_rows, max_cols)


def _plain_and_inside(xml: bytes, max_rows: int, max_cols: int) -> bool:
    """No namespace prefix on a cell or row, no single-quoted attribute, every cell and row tag
    starting with exactly one r attribute, and every cell inside the bounds."""
    if _PREFIXED_CELL_OR_ROW.search(xml) or _SINGLE_QUOTED.search(xml):
        return False
    refs = _PLAIN_C_REF.findall(xml)
    if xml.count(b"<c") - len(_NOT_C.findall(xml)) != len(refs):
        return False
    rows = xml.count(b"<row") - len(_NOT_ROW.findall(xml))
    if rows != len(_PLAIN_ROW_REF.findall(xml)) or _SECOND_C_R.search(xml) or _SECOND_ROW_R.search(xml):
        return False
    if refs and max(map(int, [r for _c, r in refs])) > max_rows:
        return False
    return all(_col_index(c) < max_cols for c in {c for c, _r in refs if len(c) > 1})


def _attrs(text: bytes) -> dict[bytes, bytes]:
    """Unprefixed attributes of a tag (calamine reads r, s and t by their raw names)."""
    out = {}
    for m in _ATTR.finditer(text):
        out.setdefault(m[1], m[2] if m[2] is not None else m[3])
    return out


def _rewrite_sheet(xml: bytes, name: str, max_rows: int, max_cols: int) -> BoundedSheet:
    """Walk sheetData the way calamine does (a row without r follows the previous one, a cell
    without r follows the previous cell) and write back only cells inside the bounds. The walk
    stops at the first row beyond max_rows: what follows is dropped, and reported (S-19) when it
    holds data, so a million rows cost no more than the rows read."""
    malformed = Unreadable(f"工作表“{name}”的结构已损坏：请在 Excel 中打开并重新保存为 .xlsx 后报送")
    m_open = _SHEETDATA_OPEN.search(xml)
    if m_open is None or m_open[0].endswith(b"/>"):
        # no cells for calamine to read (it stops at the end of the first sheetData)
        if _C_OPEN.search(xml, m_open.end() if m_open else 0):
            raise malformed
        return BoundedSheet(xml)
    m_close = _SHEETDATA_CLOSE.search(xml, m_open.end())
    if m_close is None:
        raise malformed
    head = _DIMENSION.sub(b"", xml[:m_open.end()], count=1)
    body = xml[m_open.end():m_close.start()]
    out: list[bytes] = [head]
    result = BoundedSheet(b"")
    row_index = col_index = 0
    in_row = False
    row_hidden = False
    row_cells: list[bytes] = []
    cell = None                     # (row, col, attrs, content start) of an open cell

    def position(ref: bytes | None) -> tuple[int, int]:
        if ref is None:
            return row_index, col_index
        m = _REF_TEXT.match(ref.strip())
        if not m:
            raise malformed
        return int(m[2]) - 1, _col_index(m[1])

    def finish(row: int, col: int, attrs: dict, content: bytes) -> None:
        if row < max_rows and col < max_cols:
            tag = b'<c r="' + column_letter(col).encode() + str(row + 1).encode() + b'"'
            if attrs.get(b"s", b"").isdigit():
                tag += b' s="' + attrs[b"s"] + b'"'
            if attrs.get(b"t") in CELL_TYPES:
                tag += b' t="' + attrs[b"t"] + b'"'
            row_cells.append(tag + b">" + content + b"</c>")
        elif _DATA.search(content):
            if row >= max_rows:
                if result.dropped_row is None or row < result.dropped_row:
                    result.dropped_row = row
            elif result.dropped_col is None:
                result.dropped_col = (row, col)

    def flush(row: int) -> None:
        if row_cells:
            hidden = b' hidden="1"' if row_hidden else b""
            out.append(b'<row r="' + str(min(row, max_rows - 1) + 1).encode() + b'"' + hidden + b">")
            out.extend(row_cells)
            out.append(b"</row>")
            row_cells.clear()

    budget = MAX_TAGS_REWRITTEN
    for t in _TOKEN.finditer(body):
        budget -= 1
        if budget < 0:
            raise Unreadable(f"工作表“{name}”的单元格过多（超过 {MAX_TAGS_REWRITTEN // 2:,} 个）："
                             "请删除填报区之外的内容后重新保存")
        closing, tag, raw = t.groups()
        selfclosing = raw.endswith(b"/")
        if tag == b"sheetData":
            raise malformed
        if tag == b"row":
            if cell is not None:
                raise malformed
            if closing:
                if not in_row:
                    raise malformed
                flush(row_index)
                in_row = row_hidden = False
                row_index += 1
                col_index = 0
                continue
            if in_row:
                raise malformed
            attrs = _attrs(raw)
            if b"r" in attrs:
                row_index = position(b"A" + attrs[b"r"].strip())[0]
            if row_index >= max_rows:
                first = _first_data_row(body, t.start(), row_index)
                if first is not None and (result.dropped_row is None or first < result.dropped_row):
                    result.dropped_row = max(first, max_rows)
                break
            if selfclosing:
                row_index += 1
                col_index = 0
            else:
                in_row = True
                row_hidden = attrs.get(b"hidden", b"").strip().lower() in (b"1", b"true")
            continue
        # a cell
        if closing:
            if cell is None:
                raise malformed
            row, col, attrs, start = cell
            finish(row, col, attrs, body[start:t.start()])
            cell = None
            col_index = col + 1
            if not in_row:
                flush(row)
            continue
        if cell is not None:
            raise malformed
        attrs = _attrs(raw)
        row, col = position(attrs.get(b"r"))
        if selfclosing:
            col_index = col + 1          # an empty cell: nothing to keep
            continue
        cell = (row, col, attrs, t.end())
    else:
        if cell is not None or in_row:
            raise malformed
    out.append(xml[m_close.start():])
    result.xml = b"".join(out)
    return result


def _first_data_row(body: bytes, start: int, row_index: int) -> int | None:
    """The 0-based row of the first value, formula or string at or after `start` (the row tag
    before it, when it says), or None when nothing after `start` holds data."""
    data = _DATA.search(body, start)
    if data is None:
        return None
    for tag in _ROW_AT.finditer(body, max(start, data.start() - 4096), data.start()):
        row_index = int(tag[1]) - 1
    return row_index


_ROW_AT = re.compile(rb'<' + _P + rb'row\s[^>]*?\br="([1-9][0-9]{0,6})"')


# --- calamine over the checked parts only -----------------------------------------------------

_SST_COUNTS = re.compile(rb"""\s(?:uniqueCount|count)\s*=\s*(?:"[^"]*"|'[^']*')""")
_SST_OPEN = re.compile(rb"<" + _P + rb"sst(?=[\s/>])[^>]*>")

_PACKAGE_RELS = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="' + REL_NS.encode() + b'">'
                 b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')


def open_calamine(book: Book, bounded: dict[str, BoundedSheet]):
    """Open a package built from checked parts: our own workbook.xml and relationships (sheet
    names, order and the date system as read above), the original shared strings and styles
    (checked, with the counts calamine would pre-allocate from removed) and the bounded sheets."""
    sheets, rels = [], []
    for i, name in enumerate(book.sheets, start=1):
        sheets.append(f"<sheet name={quoteattr(name)} sheetId=\"{i}\" r:id=\"rId{i}\"/>")
        rels.append(f'<Relationship Id="rId{i}" Type="{TYPE_WORKSHEET}" Target="worksheets/sheet{i}.xml"/>')
    workbook = ('<?xml version="1.0" encoding="UTF-8"?>'
                '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                f'<workbookPr date1904="{1 if book.date1904 else 0}"/><sheets>{"".join(sheets)}</sheets></workbook>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as out:
        out.writestr("_rels/.rels", _PACKAGE_RELS)
        out.writestr("xl/workbook.xml", workbook.encode("utf-8"))
        out.writestr("xl/_rels/workbook.xml.rels",
                     f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{REL_NS}">{"".join(rels)}'
                     "</Relationships>".encode("utf-8"))
        if book.shared_strings:
            sst = book.package.read_xml(book.shared_strings, MAX_PART_XML)
            sst = _SST_OPEN.sub(lambda m: _SST_COUNTS.sub(b"", m[0]), sst, count=1)
            out.writestr("xl/sharedStrings.xml", sst)
        if book.styles:
            out.writestr("xl/styles.xml", book.package.read_xml(book.styles, MAX_PART_XML))
        for i, name in enumerate(book.sheets, start=1):
            if name in bounded:
                out.writestr(f"xl/worksheets/sheet{i}.xml", bounded[name].xml)
    try:
        return calamine.CalamineWorkbook.from_filelike(io.BytesIO(buf.getvalue()))
    except calamine.PasswordError:
        raise Unreadable("文件设置了打开密码（已加密）：请取消密码后重新保存为 .xlsx 并报送") from None
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types for broken files
        raise Unreadable(f"文件内容无法解析（{_short(exc)}）：请在 Excel 中打开并重新保存为 .xlsx 后报送") from None


def _short(exc: BaseException) -> str:
    """The library's own words, for whoever is asked to look at the file."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:100] if text else type(exc).__name__


def load_rows(wb, name: str, limit: int) -> list[list]:
    """Rows from A1 (skip_empty_area=False keeps row and column numbers true)."""
    try:
        return wb.get_sheet_by_name(name).to_python(skip_empty_area=False, nrows=limit)
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"工作表“{name}”无法解析（{_short(exc)}）：请在 Excel 中打开并重新保存为 .xlsx 后报送") from None




_F = re.compile(rb"<" + _P + rb"f(?=[\s/>])[^>]*?(?:/>|>([^<]*)</" + _P + rb"f\s*>)")
# A formula element with text ends in </f>; one without (a shared formula's other cells, a
# data table) starts with <f followed by its attributes. (<formula1> of a validation is neither.)
_FORMULA_TAGS = (b"</f>", b":f>", b"<f ", b"<f/", b":f ", b":f/")
_CELL_AT = re.compile(rb'<' + _P + rb'c r="([A-Z]{1,3})([1-9][0-9]{0,6})"')
_ERROR_CELL = re.compile(rb'<' + _P + rb'c r="([A-Z]{1,3})([1-9][0-9]{0,6})"[^>]*?\st="e"[^>/]*>'
                         rb'(?:<' + _P + rb'f\b[^>]*?(?:/>|>[^<]*</' + _P + rb'f\s*>))?'
                         rb'<' + _P + rb'v>([^<]*)</' + _P + rb'v\s*>')


def formulas_and_errors(xml: bytes) -> tuple[dict[tuple[int, int], str], dict[tuple[int, int], str]]:
    """Formula text and Excel error values by (row, col), from a bounded sheet's XML (where every
    cell has its r first). A formula is the first child of its cell: the tag just before it."""
    formulas, errors = {}, {}
    if any(f in xml for f in _FORMULA_TAGS):
        for m in _F.finditer(xml):
            start = xml.rfind(b"<", 0, m.start())
            cell = _CELL_AT.match(xml, start) if start >= 0 else None
            if cell:
                text = _unescape((m[1] or b"").decode("utf-8", "replace"))
                formulas[(int(cell[2]) - 1, _col_index(cell[1]))] = "=" + text if text else "=（共享公式）"
    if b't="e"' in xml:
        for m in _ERROR_CELL.finditer(xml):
            errors[(int(m[2]) - 1, _col_index(m[1]))] = _unescape(m[3].decode("utf-8", "replace")).strip()
    return formulas, errors



def _unescape(text: str) -> str:
    text = re.sub(r"&#x([0-9a-fA-F]{1,6});", lambda m: _chr(int(m[1], 16)), text)
    text = re.sub(r"&#([0-9]{1,7});", lambda m: _chr(int(m[1])), text)
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _chr(n: int) -> str:
    return chr(n) if 0 < n < 0x110000 else "\ufffd"
