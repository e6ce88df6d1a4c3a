"""Does a workbook print legibly? LibreOffice prints it to PDF, poppler reads the words back.

Tests of the product's workbooks call ``assert_prints_cleanly(xlsx, tmp_path)``; the pieces it is
made of (``to_pdf``, ``words``, ``overlapping``, ``text_below``, ``missing_text``, ``recalculated``)
are there for tests that want to look closer. The toolkit's own tests are tests/test_printcheck.py.
Needs ``soffice`` (LibreOffice Calc), ``pdftotext``/``pdfinfo``/``pdftohtml`` (poppler-utils),
fonts-noto-cjk and fonts-crosextra-carlito, as .ci/run installs them; ``missing_tools()`` says what is not.

What was measured (LibreOffice 7.4.7, poppler 22.12, fonts-noto-cjk, with and without Carlito, Debian 12)
---------------------------------------------------------------------------------------------------------
Fonts.  宋体 (SimSun) is not installed: LibreOffice prints Latin letters and digits in DejaVu Sans and
CJK in Noto Sans CJK JP.  Sizes print exactly, rounded to about 0.1 pt after page scaling.

Box height.  pdftotext's word box is ``1.30 × the printed font size`` for both fonts, regular and
bold, Latin, digits and CJK alike, and for Calibri/Carlito (6, 8, 9, 10, 12, 16 pt at 100 %, 70 % and
fit-to-width scales; error ≤ 0.04 pt): poppler spans each word from ``baseline − 0.95 em`` to
``baseline + 0.35 em``, its defaults, whatever the embedded font says (the glyphs' ink agrees).  So ``Word.size = height / 1.3``.  The ink of the
glyphs lies inside ``baseline − 0.80 em … baseline + 0.22 em`` (国 0.79/0.08, H 0.73, g 0.20,
measured at 72 pt); the overlap test compares those ink boxes (``Word.ink``), since the full boxes
of two correctly printed rows may share 2 pt.

Column widths.  LibreOffice turns a column width (in characters) into points with the digit width
of the workbook's default font, Calibri.  Without Carlito (fonts-crosextra-carlito, Calibri's
metrics) it measures DejaVu Sans instead and every column comes out 26 % wider than in Excel
(width 10: 75 pt instead of 60), so fit-to-width sheets print ~20 % smaller than they will in
Excel.  With Carlito the widths match Excel's within 1 %.  CI installs it; ``missing_tools`` says.

Wrapped text in a row too low for it.  LibreOffice does not grow such rows when it loads an .xlsx:
a row with no stored height keeps the sheet's default height.  What it prints then depends on
whether the row has a stored height:
- no stored height (xlsxwriter without ``set_row``): the one or two lines that touch the cell are
  printed *unclipped*, over the rows above and below (vertically centred: the middle lines; top or
  bottom aligned: the first or last line, which stays inside the cell); the other lines are not in
  the PDF at all;
- a stored height (``set_row``): the text is clipped at the cell's edges.  Lines cut by the edge are
  written whole under a clip path; vertically centred, even the hidden lines are written, above and
  below the cell.  pdftotext ignores clipping and reports them all where they would be.
Hence two checks: ``overlapping`` finds lines written on top of the neighbouring rows' words (seen
or clipped), ``missing_text`` compares the PDF with the workbook's string cells and finds the lines
never written.  Line pitch of wrapped text: 1.45 em for CJK lines (Noto CJK's metrics: 14.5 pt at
10 pt), 1.17 em for Latin-only lines; Excel with SimSun needs less, so rows sized for Excel can be
too low here.

Text too wide for its cell.  Unwrapped text runs on over empty neighbours; next to a filled cell it
is cut at the cell edge, the rest is not written, and the visible part is glued to the neighbour's
text in one pdftotext word (``一段没有换行的长右边``): ``missing_text`` finds it.  A number too
wide for its column prints as ``###`` (``hashes``).

Sheets.  The PDF holds every visible sheet in order; LibreOffice bookmarks each sheet's first page
in the PDF outline, which ``sheet_pages`` reads (``pdftohtml -xml``) and ``Word.sheet`` carries.
Hidden sheets are not printed.

Recalculation.  LibreOffice keeps an .xlsx file's cached formula values on load (xlsxwriter's
``fullCalcOnLoad`` is ignored), so by default it prints whatever the writer cached (xlsxwriter: 0)
where Excel would recalculate.  ``org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode = 0``
("always recalculate"; 1 = never, the installed default; 2 = ask), written into the throw-away profile's
``user/registrymodifications.xcu`` before LibreOffice starts, makes it recalculate every formula on
load: ``=1+1`` cached as 5 reads 5 after a plain conversion, 2 after ``recalculated``.
``to_pdf`` and ``recalculated`` set it.

Limits.  Horizontal text only.  A line cut in half with nothing printed below it is not found
(pdftotext does not see cell edges).  ``missing_text`` checks string cells only (LibreOffice formats
numbers and dates) and accepts a cell whose text is found anywhere on its sheet's pages.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

SOFFICE_TIMEOUT = 180.0     # seconds for one LibreOffice run
MIN_POINTS = 9.0            # smallest printed font size we accept
BOX_EM = 1.30               # pdftotext word-box height / printed font size
ASCENT = 0.95               # baseline below the box top, in em
INK_TOP, INK_BOTTOM = 0.80, 0.22     # glyph ink above / below the baseline, in em
OVERLAP = 1.0               # points two ink boxes must share, both ways, to overlap
SIZE_SLACK = 0.05           # LibreOffice rounds scaled sizes to ~0.1 pt: 10 pt × 90 % may read 8.99

TOOLS = ("soffice", "pdftotext", "pdfinfo", "pdftohtml")
FONTS = {"fonts-noto-cjk": r"noto \w+ cjk",     # CJK glyphs for 宋体 and the like
         "fonts-crosextra-carlito": r"carlito"}  # Calibri's metrics: Excel's column widths (see above)

_XHTML = "{http://www.w3.org/1999/xhtml}"
_RECALC_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
 <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


# --- tools ------------------------------------------------------------------------------------

def missing_tools() -> list[str]:
    """What this machine lacks for print checks like CI's: command names and font packages."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    fc_list = shutil.which("fc-list")
    fonts = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True).stdout if fc_list else ""
    for package, family in FONTS.items():
        if not re.search(family, fonts, re.IGNORECASE):
            missing.append(package)
    return missing


def _run(cmd: Sequence[str], timeout: float) -> subprocess.CompletedProcess:
    """Run a command in its own process group; on timeout kill that group (soffice forks)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, encoding="utf-8",
                            errors="replace", start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise RuntimeError(f"{cmd[0]} did not finish in {timeout:.0f} s: {' '.join(cmd)}\n{out}") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def convert(xlsx: Path, outdir: Path, to: str = "pdf", *, recalc: bool = True,
            timeout: float = SOFFICE_TIMEOUT) -> Path:
    """Convert ``xlsx`` with headless LibreOffice into ``outdir`` and return the file written.

    ``to`` is soffice's ``--convert-to`` argument (``pdf``, ``xlsx``, ``ods``…).  Each call gets a
    throw-away user profile, so conversions can run at once and ~/.config plays no part.  With
    ``recalc`` (the default) the profile makes LibreOffice recalculate every formula on load
    (``OOXMLRecalcMode`` = always); without it LibreOffice keeps the cached values.  Raises
    RuntimeError with soffice's output when no file comes out, ValueError when the output would
    overwrite the input.
    """
    xlsx, outdir = Path(xlsx).resolve(), Path(outdir).resolve()
    if not xlsx.is_file():
        raise FileNotFoundError(xlsx)
    target = outdir / f"{xlsx.stem}.{to.split(':', 1)[0]}"
    if target == xlsx:
        raise ValueError(f"converting {xlsx} into its own folder would overwrite it")
    soffice = shutil.which("soffice")
    if soffice is None:
        raise RuntimeError("LibreOffice (soffice) is not installed")
    outdir.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)              # a stale file must not pass for this run's output
    with tempfile.TemporaryDirectory(prefix="printcheck-lo-") as profile:
        if recalc:
            (Path(profile) / "user").mkdir()
            (Path(profile) / "user" / "registrymodifications.xcu").write_text(_RECALC_XCU, encoding="utf-8")
        cmd = [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", to, "--outdir", str(outdir), str(xlsx)]
        done = _run(cmd, timeout)
    if done.returncode != 0 or not target.is_file():
        raise RuntimeError(f"LibreOffice did not convert {xlsx.name} to {to} (exit {done.returncode}, "
                           f"expected {target}):\n{done.stdout.strip()}")
    return target


def to_pdf(xlsx: Path, outdir: Path, *, recalc: bool = True, timeout: float = SOFFICE_TIMEOUT) -> Path:
    """Print every sheet of ``xlsx`` to one PDF in ``outdir`` (``outdir/<stem>.pdf``), as LibreOffice
    prints it: page setup, scaling, repeated rows, headers and footers of the workbook.  Formulas
    are recalculated first (as Excel does with xlsxwriter's files) unless ``recalc=False``."""
    return convert(xlsx, outdir, "pdf", recalc=recalc, timeout=timeout)


def recalculated(xlsx: Path, outdir: Path, *, timeout: float = SOFFICE_TIMEOUT) -> Path:
    """``xlsx`` loaded by LibreOffice with every formula recalculated, saved as ``outdir/<name>.xlsx``.

    Read it with ``openpyxl.load_workbook(path, data_only=True)`` (or python-calamine) to compare
    the values a recalculation gives with the cached values the writer stored.  ``outdir`` must not
    be the input's folder."""
    return convert(xlsx, outdir, "xlsx", recalc=True, timeout=timeout)


# --- words --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Word:
    """One word as pdftotext boxes it: page (from 1), box in PDF points from the page's top left."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    page_width: float
    page_height: float
    sheet: str | None = None        # the sheet printed on that page (from the PDF's outline), if known

    @property
    def size(self) -> float:
        """Printed font size in points, page scaling included (box height / 1.30)."""
        return (self.y1 - self.y0) / BOX_EM

    @property
    def baseline(self) -> float:
        return self.y0 + ASCENT * self.size

    @property
    def ink(self) -> tuple[float, float, float, float]:
        """(x0, top, x1, bottom) of where the glyphs' ink can be: the box without poppler's margins."""
        return self.x0, self.baseline - INK_TOP * self.size, self.x1, self.baseline + INK_BOTTOM * self.size

    def __str__(self) -> str:
        return f"{_short(self.text)!r} (page {self.page}, x {self.x0:.0f}, y {self.y0:.0f}, {self.size:.1f} pt)"


def words(pdf: Path) -> list[Word]:
    """Every word of ``pdf`` with its box (``pdftotext -bbox``) and sheet, in pdftotext's reading order."""
    done = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"pdftotext failed on {pdf}: {done.stderr.decode(errors='replace')}")
    root = ElementTree.fromstring(done.stdout)
    sheet_of = {page: sheet for sheet, numbers in sheet_pages(pdf).items() for page in numbers}
    result = []
    for number, page in enumerate(root.iter(f"{_XHTML}page"), start=1):
        width, height = float(page.get("width")), float(page.get("height"))
        for w in page.iter(f"{_XHTML}word"):
            result.append(Word(number, float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")),
                               float(w.get("yMax")), w.text or "", width, height, sheet_of.get(number)))
    return result


def sheet_pages(pdf: Path) -> dict[str, range]:
    """Sheet name → its pages (numbered from 1), in print order.

    LibreOffice bookmarks the first page of every printed sheet in the PDF's outline; a sheet runs
    to the page before the next one's.  Empty when the PDF has no outline."""
    done = subprocess.run(["pdftohtml", "-xml", "-i", "-q", "-stdout", "-f", "1", "-l", "1", str(pdf)],
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"pdftohtml failed on {pdf}: {done.stderr.decode(errors='replace')}")
    xml = done.stdout.decode("utf-8", errors="replace")
    outline = re.search(r"<outline>.*?</outline>", xml, re.DOTALL)     # the top level: Calc's sheets
    if outline is None:
        return {}
    items = [(int(page), html.unescape(name)) for page, name in
             re.findall(r'^<item page="(\d+)">(.*?)</item>$', outline.group(0), re.MULTILINE)]
    ends = [page for page, _ in items[1:]] + [pages(pdf) + 1]
    return {name: range(first, end) for (first, name), end in zip(items, ends)}


def pages(pdf: Path) -> int:
    """Number of pages of ``pdf`` (pdfinfo)."""
    done = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=60, check=True)
    match = re.search(r"^Pages:\s+(\d+)", done.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"pdfinfo gave no page count for {pdf}:\n{done.stdout}")
    return int(match.group(1))


def page_texts(pdf: Path) -> list[str]:
    """The text of each page of ``pdf`` (``pdftotext -layout``), one string a page."""
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          timeout=120, check=True)
    texts = done.stdout.decode("utf-8").split("\f")
    return texts[:-1] if texts and texts[-1] == "" else texts


# --- checks -------------------------------------------------------------------------------------

def overlapping(found: Iterable[Word], tolerance: float = OVERLAP) -> list[tuple[Word, Word]]:
    """Pairs of words on one page whose ink boxes share more than ``tolerance`` points both across
    and down (for small print: more than a fifth of the smaller word's size, if that is less).

    This is how a row too low for its wrapped text shows: the clipped lines sit on the next rows.
    """
    by_page: dict[int, list[Word]] = {}
    for w in found:
        if w.text.strip():
            by_page.setdefault(w.page, []).append(w)
    pairs = []
    for page_words in by_page.values():
        page_words.sort(key=lambda w: w.ink[1])
        for i, a in enumerate(page_words):
            ax0, atop, ax1, abottom = a.ink
            for b in page_words[i + 1:]:
                bx0, btop, bx1, bbottom = b.ink
                tol = min(tolerance, 0.2 * min(a.size, b.size))
                if btop >= abottom:
                    break                       # sorted by top: nothing further down overlaps a
                if min(ax1, bx1) - max(ax0, bx0) > tol and min(abottom, bbottom) - btop > tol:
                    pairs.append((a, b))
    return pairs


def text_below(found: Iterable[Word], points: float = MIN_POINTS, slack: float = SIZE_SLACK) -> list[Word]:
    """Words printed smaller than ``points`` (less ``slack`` for LibreOffice's rounding), smallest first."""
    return sorted((w for w in found if w.text.strip() and w.size < points - slack), key=lambda w: w.size)


def smallest_text(found: Iterable[Word], n: int = 10) -> list[Word]:
    """The ``n`` smallest printed words, smallest first."""
    return sorted((w for w in found if w.text.strip()), key=lambda w: w.size)[:n]


def hashes(found: Iterable[Word]) -> list[Word]:
    """``###``: numbers too wide for their column."""
    return [w for w in found if re.fullmatch(r"#{2,}", w.text)]


@dataclass(frozen=True)
class Missing:
    """A string cell whose text is not all in the PDF."""

    sheet: str
    cell: str
    text: str

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell} {_short(self.text, 40)!r}"


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


class _Printed:
    """The words of a PDF, for asking whether a text was printed (possibly over several words)."""

    def __init__(self, found: Iterable[Word]):
        tokens = [t for t in (_norm(w.text) for w in found) if t]
        self.whole = set(tokens)
        self.prefixes = {t[:k] for t in tokens for k in range(1, len(t) + 1)}
        self.suffixes = {t[k:] for t in tokens for k in range(len(t))}
        self.longest = max(map(len, tokens), default=0)
        self.joined = "\x00".join(tokens)

    def has(self, text: str) -> bool:
        """Whether ``text`` reads off consecutive pieces that are words; the first piece may end a
        word and the last start one (text glued to a neighbouring cell's text)."""
        text = _norm(text)
        if not text:
            return True
        n, reachable = len(text), {0}
        for i in range(n):
            if i not in reachable:
                continue
            for j in range(i + 1, min(n, i + self.longest) + 1):
                piece = text[i:j]
                if (piece in self.whole or (i == 0 and piece in self.suffixes)
                        or (j == n and piece in self.prefixes)):
                    if j == n:
                        return True
                    reachable.add(j)
        return text in self.joined              # inside one word, glued to text on both sides


def _printed_cells(xlsx: Path):
    """(sheet, cell, text) of every string cell that is on paper: visible sheets, rows and columns,
    inside the print area if there is one."""
    import openpyxl
    from openpyxl.utils.cell import range_boundaries

    with warnings.catch_warnings():             # openpyxl warns of extensions it drops: not ours to judge
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(xlsx, data_only=True)
    for ws in book.worksheets:
        if ws.sheet_state != "visible":
            continue
        areas = []
        if ws.print_area:
            areas = [range_boundaries(part.rsplit("!", 1)[-1].replace("$", ""))
                     for part in ws.print_area.split(",")]
        hidden_cols = set()
        for dim in ws.column_dimensions.values():
            if dim.hidden and dim.min and dim.max:
                hidden_cols.update(range(dim.min, dim.max + 1))
        hidden_rows = {r for r, dim in ws.row_dimensions.items() if dim.hidden}
        for row in ws.iter_rows():
            for cell in row:
                if not isinstance(cell.value, str) or cell.row in hidden_rows or cell.column in hidden_cols:
                    continue
                if cell.number_format.startswith(";;;"):
                    continue
                if areas and not any(c0 <= cell.column <= c1 and r0 <= cell.row <= r1 for c0, r0, c1, r1 in areas):
                    continue
                yield ws.title, cell.coordinate, cell.value


def missing_text(xlsx: Path, found: Iterable[Word]) -> list[Missing]:
    """String cells of ``xlsx`` that should be on paper but whose text is not all in the PDF's words
    ``found``: clipped wrapped lines LibreOffice did not write, text cut off by a filled neighbour.

    A cell is looked for on its own sheet's pages (``Word.sheet``); on every page if any word's
    sheet is unknown.  Pass all the PDF's words: a sheet with no words has all its text missing."""
    found = list(found)
    known = all(w.sheet is not None for w in found)
    pools: dict[str | None, list[Word]] = {}
    for w in found:
        pools.setdefault(w.sheet if known else None, []).append(w)
    printed = {key: _Printed(ws) for key, ws in pools.items()}
    nothing = _Printed([])
    return [Missing(sheet, cell, text) for sheet, cell, text in _printed_cells(Path(xlsx))
            if not printed.get(sheet if known else None, nothing).has(text)]


# --- the one-call check ---------------------------------------------------------------------------

def _listed(items: Sequence, limit: int = 8) -> str:
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f" … and {len(items) - limit} more" if len(items) > limit else "")


def _by_page(title: str, hits: list[tuple[int, str]], sheets: dict[int, str | None],
             pages_shown: int = 6) -> list[str]:
    """One line per page for the first few pages with ``hits`` ((page, text) pairs), then one for the rest."""
    numbers = sorted({page for page, _ in hits})
    lines = [f"page {page}{f' ({sheets[page]})' if sheets.get(page) else ''}: {title}: "
             f"{_listed([text for p, text in hits if p == page])}" for page in numbers[:pages_shown]]
    if len(numbers) > pages_shown:
        rest = numbers[pages_shown:]
        lines.append(f"pages {', '.join(map(str, rest))}: {title} too "
                     f"({sum(p in rest for p, _ in hits)} more)")
    return lines


def print_problems(xlsx: Path, pdf: Path, min_points: float = MIN_POINTS,
                   ignore: Callable[[Word], bool] | None = None,
                   ignore_cells: Callable[[Missing], bool] | None = None) -> list[str]:
    """Readable lines, one per problem kind and page, of what prints badly; empty when nothing does.

    ``ignore`` drops words (e.g. a deliberately small footnote) from every word check;
    ``ignore_cells`` drops cells from the missing-text check."""
    found = words(pdf)
    kept = [w for w in found if not (ignore and ignore(w))]
    sheets = {w.page: w.sheet for w in found}
    def at(w: Word) -> str:
        return f"{_short(w.text)!r} {w.size:.1f} pt (x {w.x0:.0f}, y {w.y0:.0f})"

    lines = _by_page(f"text below {min_points:.1f} pt", [(w.page, at(w)) for w in text_below(kept, min_points)],
                     sheets)
    lines += _by_page("number too wide for its column (###)", [(w.page, at(w)) for w in hashes(kept)], sheets)
    lines += _by_page("overlapping text (a row too low for its wrapped text?)",
                      [(a.page, f"{_short(a.text)!r} × {_short(b.text)!r} (y {a.y0:.0f}/{b.y0:.0f})")
                       for a, b in overlapping(kept)], sheets)
    missing = [m for m in missing_text(xlsx, found) if not (ignore_cells and ignore_cells(m))]
    if missing:
        lines.append(f"cells whose text is not all printed (lost where the cell is too small): {_listed(missing)}")
    return lines


def assert_prints_cleanly(xlsx: Path, tmp: Path, min_points: float = MIN_POINTS,
                          ignore: Callable[[Word], bool] | None = None,
                          ignore_cells: Callable[[Missing], bool] | None = None) -> Path:
    """Print ``xlsx`` to a PDF in ``tmp`` and fail, listing pages and words, if any text prints
    smaller than ``min_points``, overlaps other text, is clipped away or shows as ``###``.

    Strict by default; ``ignore`` / ``ignore_cells`` exempt known elements (see ``print_problems``).
    Returns the PDF for further checks (``page_texts``, ``words``)."""
    pdf = to_pdf(xlsx, tmp)
    problems = print_problems(xlsx, pdf, min_points, ignore, ignore_cells)
    if problems:
        raise AssertionError(f"{Path(xlsx).name} does not print cleanly ({pdf}, {pages(pdf)} pages):\n  "
                             + "\n  ".join(problems))
    return pdf
