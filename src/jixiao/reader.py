"""Returned workbook → Submission: `_meta` plus the two tables, every value with its cell.

The reader trusts nothing: before any XML parser sees the file it checks what kind of file it
is, the zip's declared sizes and compression ratio, and each sheet's size. Values come from
python-calamine (the fastest reader measured, see README); formulas, hidden rows and columns
and merged cells are found by scanning the sheet XML only when it contains them.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import python_calamine as calamine
from defusedxml import ElementTree as SafeET

from .cells import a1, clean_text
from .findings import Finding, finding
from .spec import FormSpec, SheetSpec, normalize_label
from .template import META_SHEET

# Limits, each well above a real return (200 projects, 3,000 indicators with long texts).
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED = 300 * 1024 * 1024
MAX_SHEET_XML = 40 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 5_000
HEADER_SEARCH_ROWS = 5
EXTRA_ROWS_SCANNED = 2_000        # rows below the input range still looked at for stray data

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class Unreadable(Exception):
    """The file cannot be read as a workbook; the message says why, in Chinese."""


@dataclass
class Table:
    sheet: str
    header_row: int                    # 0-based
    columns: dict[str, int]            # label → 0-based column
    rows: list[tuple[int, list]]       # (0-based row, values in spec label order)

    def cell(self, row: int, label: str) -> str:
        return a1(row, self.columns[label])


@dataclass
class Submission:
    path: Path
    sha256: str = ""
    size: int = 0
    meta: dict[str, str] | None = None
    projects: Table | None = None
    indicators: Table | None = None
    formulas: dict[tuple[str, str], str] = field(default_factory=dict)   # (sheet, A1) → formula
    findings: list[Finding] = field(default_factory=list)
    readable: bool = True

    date1904: bool = False

    @property
    def file(self) -> str:
        return str(self.path)


def read_workbook(path: str | Path, spec: FormSpec) -> Submission:
    """Read one returned workbook. Never raises for a bad file: problems become findings."""
    path = Path(path)
    sub = Submission(path=path)
    try:
        data = _read_bytes(path)
        sub.size = len(data)
        sub.sha256 = hashlib.sha256(data).hexdigest()
        _sniff(data, path)
        parts = _check_zip(data)
        _read_parts(sub, data, parts, spec)
    except Unreadable as exc:
        sub.readable = False
        sub.findings.append(finding("S-01", file=sub.file, problem=str(exc)))
    return sub


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Unreadable(f"无法访问文件（{exc.strerror or type(exc).__name__}）") from None
    if size > MAX_FILE_BYTES:
        raise Unreadable(f"文件有 {size // 1024 // 1024} MB，超过 {MAX_FILE_BYTES // 1024 // 1024} MB 上限："
                         "请删除无关内容后重新保存")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"无法读取文件（{exc.strerror or type(exc).__name__}）") from None


def _sniff(data: bytes, path: Path) -> None:
    """Name what the file really is when it is not an .xlsx zip."""
    if not data:
        raise Unreadable("文件是空的（0 字节）：请重新保存后再报送")
    if data.startswith(OLE2_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data[:1_000_000] or b"EncryptedPackage" in data:
            raise Unreadable("文件设置了打开密码：请取消密码后重新保存为 .xlsx 并报送")
        raise Unreadable("这是旧版 Excel 97-2003（.xls）文件：请用 Excel 或 WPS 另存为 .xlsx 后报送")
    if data.startswith(ZIP_MAGIC):
        return
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")) or b"<html" in head:
        raise Unreadable("这是网页（HTML/XML）文件，只是扩展名为 .xlsx：请在 Excel 中打开后另存为 .xlsx")
    if head.startswith(b"{\\rtf"):
        raise Unreadable("这是 RTF 文档，不是 Excel 文件：请使用下发的模板填报")
    if head.startswith(b"%pdf"):
        raise Unreadable("这是 PDF 文件，不是 Excel 文件：请报送填好的 .xlsx 模板")
    text = _as_text(data[:4096])
    if text is not None and ("," in text or "\t" in text):
        raise Unreadable("这是 CSV/文本文件，只是扩展名为 .xlsx：请使用下发的模板填报并保存为 .xlsx")
    raise Unreadable("不是有效的 .xlsx 文件（文件格式无法识别）：请使用下发的模板填报")


def _as_text(data: bytes) -> str | None:
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _check_zip(data: bytes) -> dict[str, zipfile.ZipInfo]:
    """Declared sizes and ratios are checked before any member is inflated."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise Unreadable("文件已损坏（可能未完整下载或保存中断）：请重新保存后报送") from None
    if len(infos) > MAX_MEMBERS:
        raise Unreadable("文件结构异常（包含的部件过多）：请使用下发的模板重新填报")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise Unreadable(f"文件解压后超过 {MAX_UNCOMPRESSED // 1024 // 1024} MB（疑似压缩炸弹）：已拒绝读取")
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1_000_000:
            raise Unreadable("文件压缩比异常（疑似压缩炸弹）：已拒绝读取")
    names = {i.filename: i for i in infos}
    if "xl/workbook.xml" not in names:
        if "word/document.xml" in names:
            raise Unreadable("这是 Word 文档，不是 Excel 文件：请使用下发的模板填报")
        if "EncryptedPackage" in names or "content.xml" in names:
            raise Unreadable("这不是 Excel .xlsx 文件（可能是 WPS/OpenDocument 格式）：请另存为 .xlsx")
        raise Unreadable("不是有效的 .xlsx 文件（缺少工作簿部件）：请使用下发的模板填报")
    return names


_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"|'
                  rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"')


def _sheet_parts(zf: zipfile.ZipFile) -> tuple[dict[str, str], bool]:
    """Sheet name → zip member, and whether the workbook uses the 1904 date system."""
    try:
        root = SafeET.fromstring(zf.read("xl/workbook.xml"))
        rels_xml = zf.read("xl/_rels/workbook.xml.rels") if "xl/_rels/workbook.xml.rels" in zf.namelist() else b""
    except Exception:  # noqa: BLE001 - defusedxml refusals and parse errors alike
        raise Unreadable("工作簿结构无法解析（文件可能已损坏或被篡改）：请使用下发的模板重新填报") from None
    rels = {}
    for m in _REL.finditer(rels_xml):
        rid, target = (m[1], m[2]) if m[1] else (m[4], m[3])
        target = target.decode()
        rels[rid.decode()] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    parts, date1904 = {}, False
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "workbookPr" and el.get("date1904") in ("1", "true"):
            date1904 = True
        if tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            if rid in rels:
                parts[el.get("name")] = rels[rid]
    return parts, date1904


def _read_parts(sub: Submission, data: bytes, infos: dict, spec: FormSpec) -> None:
    zf = zipfile.ZipFile(io.BytesIO(data))
    parts, date1904 = _sheet_parts(zf)
    sub.date1904 = date1904
    if any(name.lower().endswith("vbaproject.bin") for name in infos):
        sub.findings.append(finding("S-17", file=sub.file))
    for name in (spec.projects.name, spec.indicators.name):
        member = parts.get(name)
        if member and member in infos and infos[member].file_size > MAX_SHEET_XML:
            raise Unreadable(f"工作表“{name}”过大（解压后 {infos[member].file_size // 1024 // 1024} MB）："
                             "填报区之外可能有大量数据，请删除后重新保存")
    try:
        wb = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except calamine.PasswordError:
        raise Unreadable("文件设置了打开密码：请取消密码后重新保存为 .xlsx 并报送") from None
    except Exception as exc:  # noqa: BLE001 - calamine raises several error types for broken files
        raise Unreadable(f"文件内容无法解析（{_short(exc)}）：请在 Excel 中打开并重新保存为 .xlsx") from None
    try:
        names = {n: n for n in wb.sheet_names}
        normalized = {normalize_label(n): n for n in wb.sheet_names}
        sub.meta = _read_meta(wb, names, sub)
        for sheet in (spec.projects, spec.indicators):
            actual = names.get(sheet.name) or normalized.get(normalize_label(sheet.name))
            if actual is None:
                sub.findings.append(finding("S-02", file=sub.file, sheet=sheet.name, sheet_name=sheet.name))
                continue
            table = _read_table(wb, actual, sheet, sub)
            member = parts.get(actual)
            if table is not None and member in infos:
                _scan_sheet_xml(zf.read(member), sheet, table, sub)
            if sheet.key == "projects":
                sub.projects = table
            else:
                sub.indicators = table
    finally:
        wb.close()


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:80]


def _load_rows(wb, name: str, limit: int) -> tuple[list[list], int]:
    """Rows from A1 (skip_empty_area=False keeps row and column numbers true) and the used height."""
    try:
        sheet = wb.get_sheet_by_name(name)
        rows = sheet.to_python(skip_empty_area=False, nrows=limit)
        end = sheet.end
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"工作表“{name}”无法解析（{_short(exc)}）：请在 Excel 中打开并重新保存") from None
    return rows, (end[0] + 1 if end else 0)


def _read_meta(wb, names: dict, sub: Submission) -> dict[str, str] | None:
    if META_SHEET not in names:
        return None
    meta = {}
    for row in _load_rows(wb, META_SHEET, 100)[0]:
        if len(row) >= 2:
            key = clean_text(row[0])
            if key:
                meta[key] = "" if row[1] is None else str(row[1]).strip()
    return meta


def _read_table(wb, actual: str, sheet: SheetSpec, sub: Submission) -> Table | None:
    limit = HEADER_SEARCH_ROWS + sheet.rows + EXTRA_ROWS_SCANNED
    rows, height = _load_rows(wb, actual, limit)
    header_row = None
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(normalize_label(v) == "项目名称" for v in row):
            header_row = r
            break
    if header_row is None:
        sub.findings.append(finding("S-03", file=sub.file, sheet=actual, cell="A1", field="项目名称", label="项目名称"))
        return None
    found: dict[str, int] = {}
    for c, v in enumerate(rows[header_row]):
        label = normalize_label(v)
        if label and label not in found:
            found[label] = c
    columns = {}
    for label in sheet.labels:
        if label in found:
            columns[label] = found[label]
        else:
            sub.findings.append(finding("S-03", file=sub.file, sheet=actual, cell=a1(header_row, 0),
                                        field=label, label=label))
    order = [columns.get(label) for label in sheet.labels]
    last_input = header_row + sheet.rows
    table_rows = []
    beyond = False
    for r in range(header_row + 1, len(rows)):
        raw = rows[r]
        values = [(raw[c] if c is not None and c < len(raw) else None) for c in order]
        values = [None if v == "" else v for v in values]
        if all(clean_text(v) is None for v in values):
            continue
        if r > last_input and not beyond:
            beyond = True
            sub.findings.append(finding("S-14", file=sub.file, sheet=actual, cell=a1(r, 0),
                                        sheet_name=actual, ref=a1(r, 0), rows=sheet.rows))
        table_rows.append((r, values))
    if height > limit:
        sub.findings.append(finding("S-19", file=sub.file, sheet=actual, cell=a1(limit, 0),
                                    sheet_name=actual, rows=limit - header_row - 1))
    return Table(sheet=actual, header_row=header_row, columns=columns, rows=table_rows)


_CELL_F = re.compile(rb'<(?:\w+:)?c\b([^>]*)>(.*?)</(?:\w+:)?c>', re.S)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_F = re.compile(rb'<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)', re.S)
_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*\bhidden="(?:1|true)"[^>]*>')
_ROW_NUM = re.compile(rb'\br="(\d+)"')
_HIDDEN_COL = re.compile(rb'<(?:\w+:)?col\b[^>]*\bhidden="(?:1|true)"[^>]*/?>')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _scan_sheet_xml(xml: bytes, sheet: SheetSpec, table: Table, sub: Submission) -> None:
    """Formulas, hidden rows/columns with data and merged cells inside the input range."""
    data_rows = {r for r, _ in table.rows}
    input_cols = set(table.columns.values())
    if b"<f" in xml or b":f" in xml:
        for m in _CELL_F.finditer(xml):
            fm = _F.search(m[2])
            ref = _REF.search(m[1])
            if fm and ref:
                formula = (fm[1] or b"").decode("utf-8", "replace")
                sub.formulas[(table.sheet, (ref[1] + ref[2]).decode())] = "=" + _unescape(formula)
    if b"hidden=" in xml:
        hidden_rows = []
        for m in _HIDDEN_ROW.finditer(xml):
            num = _ROW_NUM.search(m[0])
            if num and int(num[1]) - 1 in data_rows:
                hidden_rows.append(int(num[1]))
        if hidden_rows:
            sub.findings.append(finding("S-16", file=sub.file, sheet=table.sheet, cell=f"A{hidden_rows[0]}",
                                        what="、".join(map(str, hidden_rows[:10])) + " 行"))
        for m in _HIDDEN_COL.finditer(xml):
            lo = re.search(rb'\bmin="(\d+)"', m[0])
            hi = re.search(rb'\bmax="(\d+)"', m[0])
            if lo and hi:
                hidden = set(range(int(lo[1]) - 1, int(hi[1]))) & input_cols
                if hidden and data_rows:
                    col = min(hidden)
                    sub.findings.append(finding("S-16", file=sub.file, sheet=table.sheet,
                                                cell=a1(min(data_rows), col), what=f"{a1(0, col)[:-1]} 列"))
    if b"mergeCell" in xml:
        for m in _MERGE.finditer(xml):
            top, bottom = int(m[2]) - 1, int(m[4]) - 1
            if bottom > table.header_row:
                ref = f"{m[1].decode()}{m[2].decode()}:{m[3].decode()}{m[4].decode()}"
                sub.findings.append(finding("S-18", file=sub.file, sheet=table.sheet,
                                            cell=f"{m[1].decode()}{m[2].decode()}", ref=ref))


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))
