"""The printed 申报表 block of a form, as data: templates/layouts/*.toml → a checked Layout.

A block is a grid of columns drawn section by section; a section may carry a `side` label in the
first column spanning all its rows. A row is a list of cells, each with static `text` (with
placeholders) or a `field` (a field id of the record, or of the repeated table's row), a `span`
and a `style`. Rows may `split` long text over several rows, or `repeat` once per row of a table
(indicators, tasks, …) with `merge` cells joining equal consecutive values. blocks.py draws it;
this module only reads and checks it against the form, so that a broken layout is refused when
the form is loaded, with one message, like any other spec error.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import SpecError

STYLES = {"title", "subtitle", "subtitle_left", "unit", "label", "cell", "center", "money", "goal"}
# Placeholders a static text may use; {label[<field id>]} takes a label from the form.
PLACEHOLDERS = {"title", "year", "department", "unit_code", "unit_name", "money_unit", "number", "name",
                "label", "start_year", "end_year"}
# Placeholders that are the same for every block of a collection (an anchor may use only these).
STABLE_PLACEHOLDERS = {"title", "year", "department", "money_unit", "label"}
OFFICIAL = "official"                   # the indicator value as the official form prints it
ORIENTATIONS = ("portrait", "landscape")
CELL_KEYS = {"text", "field", "span", "style", "merge", "when_filled", "text_filled", "balance"}
ROW_KEYS = {"cells", "split", "repeat", "height"}


@dataclass(frozen=True)
class Cell:
    span: int = 1
    style: str = "cell"
    text: str | None = None
    field: str | None = None
    merge: bool = False
    when_filled: tuple[str, ...] = ()   # use text_filled instead of text when these fields are filled
    text_filled: str | None = None
    balance: bool = False               # a short text that wraps is broken into lines of even length


@dataclass(frozen=True)
class Row:
    cells: tuple[Cell, ...]
    split: bool = False
    repeat: str | None = None           # the table key the row repeats over
    height: float | None = None


@dataclass(frozen=True)
class Section:
    side: str | None
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Layout:
    widths: tuple[float, ...]
    orientation: str
    sections: tuple[Section, ...]
    anchor: str                         # the text that starts every block in column A (reconcile counts it)
    source: str = ""

    @property
    def columns(self) -> int:
        return len(self.widths)


def resolve_layout(name: str, folder: Path | None, shipped: Path, where: str) -> tuple[dict, str]:
    """A layout by name: layouts/{name}.toml beside the spec file, else among the shipped ones."""
    candidates = [d / "layouts" / f"{name}.toml" for d in (folder, shipped) if d is not None]
    for path in candidates:
        if path.is_file():
            try:
                return tomllib.loads(path.read_text(encoding="utf-8")), f"layouts/{path.name}"
            except tomllib.TOMLDecodeError as exc:
                raise SpecError(f"layouts/{path.name}: TOML 格式错误：{exc}") from None
    raise SpecError(f"{where}: 找不到申报表版式 “{name}”（应在 layouts/{name}.toml）")


def parse_layout(raw, spec, source: str) -> Layout:
    """Check a decoded layout against the form: every field, table, placeholder and span."""
    where = source
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: 版式必须是表")
    unknown = set(raw) - {"widths", "orientation", "sections", "anchor"}
    if unknown:
        raise SpecError(f"{where}: 版式有未知的键 {sorted(unknown)}")
    widths = raw.get("widths")
    if (not isinstance(widths, list) or not 1 <= len(widths) <= 20
            or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and 0 < w <= 255 for w in widths)):
        raise SpecError(f"{where}: widths 必须是 1 到 20 个 0 到 255 之间的列宽")
    orientation = raw.get("orientation", "portrait")
    if orientation not in ORIENTATIONS:
        raise SpecError(f"{where}: orientation 必须是 portrait 或 landscape")
    raw_sections = raw.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise SpecError(f"{where}: 版式至少要有一个 [[sections]]")
    labels = label_table(spec)
    sections = []
    for i, s in enumerate(raw_sections):
        context = f"sections[{i}]"
        if not isinstance(s, dict) or set(s) - {"side", "rows"}:
            raise SpecError(f"{where}: {context} 只能有 side 和 rows 两个键")
        side = s.get("side")
        if side is not None:
            _check_text(side, labels, where, f"{context}.side")
        width = len(widths) - (1 if side is not None else 0)
        raw_rows = s.get("rows")
        if not isinstance(raw_rows, list) or not raw_rows:
            raise SpecError(f"{where}: {context} 没有 rows")
        rows = tuple(_parse_row(r, spec, labels, width, where, f"{context}.rows[{j}]") for j, r in enumerate(raw_rows))
        sections.append(Section(side, rows))
    anchor = raw.get("anchor") or _default_anchor(sections)
    if not isinstance(anchor, str) or not anchor:
        raise SpecError(f"{where}: 版式需要 anchor：每个申报表开头第一列的固定文字（如 \"{{label[name]}}\"）")
    _check_text(anchor, labels, where, "anchor", allowed=STABLE_PLACEHOLDERS)
    return Layout(tuple(float(w) for w in widths), orientation, tuple(sections), anchor, source)


def label_table(spec) -> dict[str, str]:
    """{field id: label} for {label[...]}: the records table's ids first, then every other table's;
    "<table>.<id>" names any field unambiguously."""
    out: dict[str, str] = {}
    for table in spec.tables:
        for f in table.fields:
            out.setdefault(f.id, f.label)
            out[f"{table.key}.{f.id}"] = f.label
    return out


def _default_anchor(sections: list[Section]) -> str | None:
    """The first label cell standing in column A of a row that is not repeated."""
    for section in sections:
        if section.side is not None:
            continue
        for row in section.rows:
            first = row.cells[0]
            if row.repeat is None and first.text and first.style == "label":
                return first.text
    return None


def _parse_row(raw, spec, labels: dict, width: int, where: str, context: str) -> Row:
    if not isinstance(raw, dict) or set(raw) - ROW_KEYS:
        raise SpecError(f"{where}: {context} 只能有 {', '.join(sorted(ROW_KEYS))} 这些键")
    repeat = raw.get("repeat")
    table = None
    if repeat is not None:
        try:
            table = spec.table(repeat)
        except KeyError:
            raise SpecError(f"{where}: {context} repeat 的表 “{repeat}” 不存在") from None
        if table.kind == "records":
            raise SpecError(f"{where}: {context} 不能对记录表本身 repeat")
    split = bool(raw.get("split", False))
    if split and repeat is not None:
        raise SpecError(f"{where}: {context} 不能同时 split 和 repeat")
    height = raw.get("height")
    if height is not None and (not isinstance(height, (int, float)) or isinstance(height, bool)
                               or not 5 <= height <= 409):
        raise SpecError(f"{where}: {context} 的 height 必须是 5 到 409 之间的数（磅）")
    raw_cells = raw.get("cells")
    if not isinstance(raw_cells, list) or not raw_cells:
        raise SpecError(f"{where}: {context} 没有 cells")
    cells = tuple(_parse_cell(c, spec, labels, table, where, f"{context}.cells[{k}]") for k, c in enumerate(raw_cells))
    used = sum(c.span for c in cells)
    if used != width:
        raise SpecError(f"{where}: {context} 的单元格共占 {used} 列，应为 {width} 列")
    return Row(cells, split, repeat, float(height) if height is not None else None)


def _parse_cell(raw, spec, labels: dict, table, where: str, context: str) -> Cell:
    if not isinstance(raw, dict) or set(raw) - CELL_KEYS:
        raise SpecError(f"{where}: {context} 只能有 {', '.join(sorted(CELL_KEYS))} 这些键")
    if ("text" in raw) == ("field" in raw):
        raise SpecError(f"{where}: {context} 必须有 text 或 field 之一")
    span = raw.get("span", 1)
    if not isinstance(span, int) or isinstance(span, bool) or span < 1:
        raise SpecError(f"{where}: {context} 的 span 必须是正整数")
    style = raw.get("style", "cell")
    if style not in STYLES:
        raise SpecError(f"{where}: {context} 的 style “{style}” 不是 {'、'.join(sorted(STYLES))} 之一")
    merge = bool(raw.get("merge", False))
    if merge and table is None:
        raise SpecError(f"{where}: {context} 只有 repeat 行的单元格可以 merge")
    field = raw.get("field")
    if field is not None:
        owner = table if table is not None else spec.projects
        if not (owner.has(field) or (field == OFFICIAL and owner.kind == "indicators")):
            raise SpecError(f"{where}: {context} 引用了“{owner.name}”中不存在的字段 “{field}”")
    text = raw.get("text")
    if text is not None:
        _check_text(text, labels, where, context)
    when = raw.get("when_filled", [])
    if isinstance(when, str):
        when = [when]
    if not isinstance(when, list) or not all(isinstance(w, str) and spec.projects.has(w) for w in when):
        raise SpecError(f"{where}: {context} 的 when_filled 必须是记录表字段 id 的列表")
    text_filled = raw.get("text_filled")
    if when and text_filled is None:
        raise SpecError(f"{where}: {context} 有 when_filled 却没有 text_filled")
    if text_filled is not None:
        _check_text(text_filled, labels, where, context)
    return Cell(span, style, text, field, merge, tuple(when), text_filled, bool(raw.get("balance", False)))


def _check_text(text, labels: dict, where: str, context: str, allowed: set[str] = PLACEHOLDERS) -> None:
    if not isinstance(text, str):
        raise SpecError(f"{where}: {context} 必须是文字")
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise SpecError(f"{where}: {context} 的花括号不配对（{exc}）：文字中的 {{ }} 请写成 {{{{ }}}}") from None
    for _, name, spec_, conversion in parts:
        if name is None:
            continue
        base, _, rest = name.partition("[")
        if base not in allowed or (rest and base != "label") or spec_ or conversion:
            raise SpecError(f"{where}: {context} 中的占位符 {{{name}}} 不可用（可用：{'、'.join(sorted(allowed))}）")
        if base == "label":
            key = rest.rstrip("]")
            if not rest.endswith("]") or key not in labels:
                raise SpecError(f"{where}: {context} 中的 {{{name}}} 引用了不存在的字段")
