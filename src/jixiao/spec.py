"""Form specifications: templates/*.toml → typed, checked FormSpec objects.

A form is data: its tables and their fields, code lists, the 一级→二级 hierarchy with what each
level means, amount identities, which optional rules it switches on, and the layout of its printed
申报表 block. Every other stage asks the spec, by field id and level meaning, and never names a
label of a form itself (tests/test_spec_driven.py keeps src/ free of them).

Field ids the code recognises (roles), per table kind:
  records      name, annual_total, project_total, carryover, start, end, goal, whole_goal, nature
  indicators   project (link to a record), level1, level2, level3, operator, value, unit, note
Any other id is the form's own, used by its identities, groups, summary columns and layout.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from .errors import SpecError
from .findings import RULES
from .text import key

DEFAULT_FORM = "sh-project"
KINDS = ("project", "overall")
RECORDS, INDICATORS = "projects", "indicators"        # the two table keys every form has

FIELD_TYPES = {
    "text", "longtext", "date", "amount", "count", "code",
    "project_ref", "level1", "level2", "operator", "value", "unit",
}
TEXT_TYPES = {"text", "longtext"}
# Types that are one column of an indicator's grammar: the field's id is its type (project_ref → project).
TYPE_IDS = {"project_ref": "project", "level1": "level1", "level2": "level2", "operator": "operator",
            "value": "value", "unit": "unit"}
# Roles: field id → the types it may have, per table kind.
ROLE_TYPES = {
    "records": {"name": TEXT_TYPES, "annual_total": {"amount"}, "project_total": {"amount"},
                "carryover": {"amount"}, "start": {"date"}, "end": {"date"}, "goal": TEXT_TYPES,
                "whole_goal": TEXT_TYPES, "nature": {"code"}},
    "indicators": {"level3": TEXT_TYPES, "note": TEXT_TYPES, "project": {"project_ref"}, "level1": {"level1"},
                   "level2": {"level2"}, "operator": {"operator"}, "value": {"value"}, "unit": {"unit"}},
    "rows": {},
}
REQUIRED_ROLES = {"records": ("name",), "indicators": ("level1", "level2", "level3", "value")}
LEVEL1_MEANINGS = {"output", "benefit", "satisfaction", "cost", "input", "decision", "longterm"}
LEVEL2_MEANINGS = {"quantity", "quality", "timeliness", "cost", "economic", "social", "ecological",
                   "sustainable", "satisfaction", "social_cost", "ecological_cost"}
PRESENCE = {"error": "C-01", "warning": "C-02", "none": None}
MISSING_RULES = {"C-01", "C-02", "C-04"}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    type: str
    required: bool = False
    max_length: int | None = None
    width: float = 12
    prefill: bool = False
    code_list: str | None = None
    prompt: str = ""
    example: str = ""                 # shown on 填报说明 as a filled example row


@dataclass(frozen=True)
class Group:
    label: str
    first: str        # field ids
    last: str


@dataclass(frozen=True)
class SheetSpec:
    """One table of the form, one sheet of the template."""
    key: str          # "projects" | "indicators" | the form's own (e.g. "tasks")
    kind: str         # records | indicators | rows
    name: str         # sheet name in the workbook
    noun: str         # what one row is, in counts and messages ("项目", "指标", "任务")
    rows: int         # input rows offered by the template
    fields: tuple[Field, ...]
    groups: tuple[Group, ...] = ()

    # Asked for on every row and finding: computed once (frozen, so a cached_property is safe).
    @cached_property
    def labels(self) -> tuple[str, ...]:
        return tuple(f.label for f in self.fields)

    @cached_property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.fields)

    def has(self, field_id: str | None) -> bool:
        return field_id is not None and field_id in self.ids

    def field(self, field_id: str) -> Field:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)

    def label(self, field_id: str) -> str:
        return self.field(field_id).label

    def by_label(self, label: str) -> Field:
        """The field a header label names (compared as a person reads it); KeyError when none does."""
        key = normalize_label(label)
        for f in self.fields:
            if normalize_label(f.label) == key:
                return f
        raise KeyError(label)

    def column(self, field_id: str) -> int:
        """0-based column of a field in the template."""
        return self.ids.index(field_id)

    @property
    def link(self) -> str | None:
        """The field that names the record a row belongs to, when the table has one."""
        return "project" if self.has("project") else None


@dataclass(frozen=True)
class Level2:
    name: str
    meaning: str | None = None
    expected: bool = False              # C-03: a project should have one
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()      # H-05: a 三级 here should contain one of these
    mismatch: str = ""                  # H-05 wording when it does not
    legacy: bool = False                # allowed only while the form allows legacy names


@dataclass(frozen=True)
class Level1:
    name: str
    presence: str                        # error / warning / none when a project lacks it
    level2: tuple[Level2, ...]
    meaning: str | None = None
    aliases: tuple[str, ...] = ()        # accepted with a warning (H-07): "please write the canonical name"
    same_as: tuple[str, ...] = ()        # accepted silently: the form itself uses both names
    example: str = ""                    # C-02: what such an indicator looks like
    keywords: tuple[str, ...] = ()
    mismatch: str = ""
    exclusive: str = ""                  # H-05: a 三级 with a keyword belongs here, named so in the message
    missing_rule: str | None = None      # C-01 / C-02 / C-04 for a project without it


@dataclass(frozen=True)
class Identity:
    rule: str
    total: str                           # field ids
    parts: tuple[str, ...]
    when: str = "always"                 # "always" | "total_filled"


@dataclass(frozen=True)
class LevelMap:
    """How a 一级/二级 pair of another form maps into this one (last year's 汇总表, sample data)."""
    from_form: str
    source: tuple[str, str]
    target: tuple[str, str]


@dataclass(frozen=True)
class FormSpec:
    id: str
    version: str
    title: str
    money_unit: str
    value_style: str
    tables: tuple[SheetSpec, ...]
    code_lists: dict[str, tuple[str, ...]]
    hierarchy: tuple[Level1, ...]
    identities: tuple[Identity, ...]
    min_indicators_per_project: int = 3
    satisfaction_floor: float = 80
    source: str = ""
    layout: object = None               # layout.Layout: the printed 申报表 block
    kind: str = "project"               # project: many records per unit; overall: one, the unit itself
    scale_min: float | None = None      # F-10: plausible annual amount range in money_unit
    scale_max: float | None = None
    instructions: tuple[str, ...] = ()  # 填报说明 lines; {projects} {indicators} {money_unit} {<key>} filled in
    file_title: str = "项目绩效目标申报表"   # template file name: {编码}_{名称}_{年度}年度{file_title}.xlsx
    summary_title: str = "项目绩效目标汇总表"  # the 汇总表: {主管部门}{年度}年度{summary_title}.xlsx
    record_noun: str = "项目"                # what one record is, in messages and totals
    rules_on: frozenset = frozenset()        # optional rules this form switches on
    rules_off: frozenset = frozenset()       # rules this form switches off
    recurring: tuple[str, ...] | None = None  # 项目性质 values that recur; None: every record may recur
    instruction_markers: tuple[str, ...] = ()
    allow_legacy: bool = True
    summary_columns: tuple[str, ...] = ()    # record field ids shown on 汇总 besides name and amounts
    summary_totals: tuple[str, ...] | None = None   # amounts 汇总 subtotals; None: every amount
    level_maps: tuple[LevelMap, ...] = ()
    # Last year as the baseline: the locked reference column (role previous_value) a template that
    # starts from last year has beside the indicators, read by nobody as data ([previous] in the spec,
    # or the default load_form gives every form).
    previous_value: Field | None = None
    previous_after: str = ""                 # the indicator field it stands after
    _lookup: dict = field(default_factory=dict, compare=False, repr=False)

    # -- tables ---------------------------------------------------------------------------------
    @property
    def projects(self) -> SheetSpec:
        """The records table: one row per project (or the one row of the unit, on 整体支出)."""
        return self.tables[0]

    @property
    def indicators(self) -> SheetSpec:
        return self.tables[1]

    @property
    def extra_tables(self) -> tuple[SheetSpec, ...]:
        return self.tables[2:]

    @property
    def data_sheets(self) -> tuple[SheetSpec, ...]:
        return self.tables

    def table(self, key: str) -> SheetSpec:
        for t in self.tables:
            if t.key == key:
                return t
        raise KeyError(key)

    def label(self, field_id: str, table: str = RECORDS) -> str:
        """The label of a field of the records table (or of `table`)."""
        return self.table(table).label(field_id)

    def amount_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.projects.fields if f.type == "amount")

    def total_ids(self) -> tuple[str, ...]:
        """The amounts that add up across records (subtotals, totals); the others are shown per record."""
        return self.summary_totals if self.summary_totals is not None else self.amount_ids()

    def prefill_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.projects.fields if f.prefill)

    # -- rules ----------------------------------------------------------------------------------
    def rule_on(self, rule_id: str) -> bool:
        """Is the rule checked for this form? Optional rules only when switched on."""
        if rule_id in self.rules_off:
            return False
        return rule_id in self.rules_on or not RULES[rule_id].optional

    # -- hierarchy lookups (labels normalised: NFKC, no whitespace, no trailing colon) --------
    def level1_names(self) -> tuple[str, ...]:
        return tuple(l1.name for l1 in self.hierarchy)

    def level1(self, name: str | None) -> Level1 | None:
        return self._lookup["l1_by_name"].get(name)

    def level2_names(self, level1: str) -> tuple[str, ...]:
        l1 = self.level1(level1)
        return tuple(l2.name for l2 in l1.level2 if self._allowed(l2)) if l1 else ()

    def level2(self, level1: str | None, name: str | None) -> Level2 | None:
        return self._lookup["l2_by_name"].get((level1, name))

    def resolve_level1(self, label: str) -> tuple[str | None, bool]:
        """(canonical 一级, used_alias) for a label as written, or (None, False)."""
        return self._lookup["l1"].get(normalize_label(label), (None, False))

    def resolve_level2(self, level1: str, label: str) -> tuple[str | None, bool]:
        return self._lookup["l2"].get(level1, {}).get(normalize_label(label), (None, False))

    def level1_of_level2(self, label: str) -> str | None:
        """The 一级 a 二级 label belongs to, when it belongs to exactly one."""
        owners = self._lookup["l2_owner"].get(normalize_label(label), set())
        return next(iter(owners)) if len(owners) == 1 else None

    def meaning(self, level1: str | None, level2: str | None = None) -> tuple[str | None, str | None]:
        """(meaning of the 一级, meaning of the 二级) for canonical names."""
        l1, l2 = self.level1(level1), self.level2(level1, level2)
        return (l1.meaning if l1 else None), (l2.meaning if l2 else None)

    def level_named(self, meaning: str) -> str | None:
        """The name of the first level (一级 or 二级) that means `meaning`, for messages."""
        for l1 in self.hierarchy:
            if l1.meaning == meaning:
                return l1.name
        for l1 in self.hierarchy:
            for l2 in l1.level2:
                if l2.meaning == meaning:
                    return l2.name
        return None

    def map_levels(self, from_form: str, level1: str, level2: str) -> tuple[str, str, bool]:
        """A 一级/二级 pair of another form as this form names it: (一级, 二级, moved)."""
        key = (normalize_label(level1), normalize_label(level2))
        for m in self.level_maps:
            if m.from_form == from_form and (normalize_label(m.source[0]), normalize_label(m.source[1])) == key:
                return m.target[0], m.target[1], True
        return level1, level2, False

    def resolve_levels(self, level1: str | None, level2: str | None) -> tuple[str | None, str | None]:
        """The form's own names of a 一级/二级 pair as written (aliases resolved); None where unknown."""
        l1, _ = self.resolve_level1(level1 or "")
        l2, _ = self.resolve_level2(l1, level2 or "") if l1 else (None, False)
        return l1, l2

    def carry_levels(self, level1: str | None, level2: str | None) -> tuple[str | None, str | None, bool]:
        """A 一级/二级 pair as last year's file wrote it, as this form names it: (一级, 二级, moved).
        A pair this form knows (aliases included) stays; one it does not know is moved by the first
        level map whose source it is (whatever form that map comes from: last year's file does not
        say which form it was); anything else is kept as written, for the unit to correct."""
        l1, l2 = self.resolve_levels(level1, level2)
        if l1 and l2:
            return l1, l2, False
        key = (normalize_label(level1), normalize_label(level2))
        for m in self.level_maps:
            if (normalize_label(m.source[0]), normalize_label(m.source[1])) == key:
                return m.target[0], m.target[1], True
        return (l1 or level1), level2, False

    def reference_at(self) -> int:
        """The template column (0-based) of the reference column of last year's values on the
        indicators sheet: after the field the spec names (the value's last column), the fields
        from there on one column to the right."""
        return self.indicators.column(self.previous_after or self.indicators.fields[-1].id) + 1

    def previous_label(self) -> str:
        """The label of the reference column of last year's values."""
        return self.previous_value.label

    def _allowed(self, level2: Level2) -> bool:
        return self.allow_legacy or not level2.legacy

    def fingerprint_basis(self) -> dict:
        """What of the spec a template freezes: labels, code lists, hierarchy."""
        return {
            "form": [self.id, self.version],
            "projects": list(self.projects.labels),
            "indicators": list(self.indicators.labels),
            "code_lists": {k: list(v) for k, v in sorted(self.code_lists.items())},
            "hierarchy": [[l1.name, [l2.name for l2 in l1.level2]] for l1 in self.hierarchy],
        }


def normalize_label(label: object) -> str:
    """Compare labels the way a person reads them: jixiao.text.key (the normal form, NFKC, no
    whitespace, no trailing colon)."""
    return key(label)


def templates_dir() -> Path:
    """The shipped form specifications: inside the installed package, or the repository's templates/."""
    override = os.environ.get("JIXIAO_TEMPLATES")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def available_forms() -> list[str]:
    return sorted(p.stem for p in templates_dir().glob("*.toml"))


@lru_cache(maxsize=None)
def load_form(form: str = DEFAULT_FORM) -> FormSpec:
    """Load a form by id (templates/{id}.toml) or by path."""
    path = Path(form)
    if path.suffix != ".toml":
        path = templates_dir() / f"{form}.toml"
    if not path.exists():
        known = "、".join(available_forms()) or "（无）"
        raise SpecError(f"找不到表单规格 {form}：可用的表单有 {known}")
    data = _read_toml(path)
    return parse_form(data, source=path.name, folder=path.parent)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: TOML 格式错误：{exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path.name}: 无法读取（{type(exc).__name__}）") from None


FORM_KEYS = {"id", "version", "title", "money_unit", "value_style", "layout", "kind", "min_indicators_per_project",
             "satisfaction_floor", "scale_min", "scale_max", "file_title", "summary_title", "recurring",
             "instruction_markers", "allow_legacy"}
PREVIOUS_KEYS = {"label", "width", "prompt", "after"}
RESERVED_SHEETS = ("填报说明", "代码表", "_meta", "校验结果")     # sheets every template or copy adds itself
_SHEET_BAD_CHARS = "[]:*?/\\"


def parse_form(data: dict, source: str = "<spec>", folder: Path | None = None) -> FormSpec:
    """Turn a decoded spec into a FormSpec, rejecting anything malformed with one message."""
    where = source

    def need(mapping: dict, key: str, context: str):
        if not isinstance(mapping, dict):
            raise SpecError(f"{where}: {context} 必须是表（键 = 值），不能是 {type(mapping).__name__}")
        if key not in mapping:
            raise SpecError(f"{where}: {context} 缺少 “{key}”")
        return mapping[key]

    form = need(data, "form", "文件")
    need(form, "id", "form")                     # a table, with the keys checked below
    unknown = set(form) - FORM_KEYS
    if unknown:
        raise SpecError(f"{where}: form 有未知的键 {sorted(unknown)}")
    kind = form.get("kind", "project")
    if kind not in KINDS:
        raise SpecError(f"{where}: form.kind 必须是 {'、'.join(KINDS)} 之一")
    code_lists = _parse_code_lists(data.get("code_lists", {}), where)

    sheets = need(data, "sheets", "文件")
    if not isinstance(sheets, dict):
        raise SpecError(f"{where}: sheets 必须是表")
    need(sheets, RECORDS, "sheets")
    need(sheets, INDICATORS, "sheets")
    order = [RECORDS, INDICATORS] + [k for k in sheets if k not in (RECORDS, INDICATORS)]
    tables = []
    for key in order:
        table_kind = "records" if key == RECORDS else "indicators" if key == INDICATORS else "rows"
        tables.append(_parse_sheet(key, table_kind, sheets[key], code_lists, where))
    names_seen = [t.name.casefold() for t in tables]
    if len(set(names_seen)) != len(names_seen):
        raise SpecError(f"{where}: 数据表的工作表名不能相同（“{tables[0].name}”）")
    records, indicators = tables[0], tables[1]
    if kind == "project" and not indicators.has("project"):
        raise SpecError(f"{where}: 项目表单的“{indicators.name}”必须有 project_ref 类型的列（id = \"project\"），"
                        "指明指标所属项目")
    for t in tables[2:]:
        if kind == "project" and not t.has("project"):
            raise SpecError(f"{where}: 项目表单的“{t.name}”必须有 project_ref 类型的列，指明每行所属项目")

    raw_instructions = data.get("instructions", {})
    instructions = raw_instructions.get("lines", []) if isinstance(raw_instructions, dict) else None
    if not isinstance(instructions, list) or not all(isinstance(line, str) for line in instructions):
        raise SpecError(f"{where}: instructions.lines 必须是文字列表")

    hierarchy = _parse_hierarchy(data, need, where)
    identities = _parse_identities(data.get("identities", []), records, need, where)
    rules_on, rules_off = _parse_rules(data.get("rules", {}), where)
    level_maps = _parse_level_maps(data.get("level_maps", []), hierarchy, where)
    previous_value, previous_after = _parse_previous(data.get("previous"), indicators, where)

    try:
        min_indicators = int(form.get("min_indicators_per_project", 3))
        floor = float(form.get("satisfaction_floor", 80))
    except (TypeError, ValueError):
        raise SpecError(f"{where}: form.min_indicators_per_project 和 form.satisfaction_floor 必须是数字") from None
    recurring = form.get("recurring")
    if recurring is not None:
        recurring = _texts(recurring, where, "form.recurring")
    summary = data.get("summary", {})
    if not isinstance(summary, dict):
        raise SpecError(f"{where}: summary 必须是表")
    if set(summary) - {"columns", "totals"}:
        raise SpecError(f"{where}: summary 只能有 columns 和 totals 两个键")
    summary_columns = tuple(_texts(summary.get("columns", []), where, "summary.columns"))
    for fid in summary_columns:
        if not records.has(fid):
            raise SpecError(f"{where}: summary.columns 引用了“{records.name}”中不存在的字段 “{fid}”")
    summary_totals = summary.get("totals")
    if summary_totals is not None:
        summary_totals = tuple(_texts(summary_totals, where, "summary.totals"))
        for fid in summary_totals:
            if not records.has(fid) or records.field(fid).type != "amount":
                raise SpecError(f"{where}: summary.totals 只能列“{records.name}”中的金额字段，“{fid}”不是")
    spec = FormSpec(
        id=_nonempty(need(form, "id", "form"), where, "form.id"),
        version=str(need(form, "version", "form")),
        title=_nonempty(need(form, "title", "form"), where, "form.title"),
        money_unit=form.get("money_unit", "元"),
        value_style=form.get("value_style", "sh"),
        tables=tuple(tables),
        code_lists=code_lists,
        hierarchy=tuple(hierarchy),
        identities=tuple(identities),
        min_indicators_per_project=min_indicators,
        satisfaction_floor=floor,
        source=source,
        kind=kind,
        scale_min=_number(form.get("scale_min"), where, "form.scale_min"),
        scale_max=_number(form.get("scale_max"), where, "form.scale_max"),
        instructions=tuple(instructions),
        file_title=_nonempty(form.get("file_title", "项目绩效目标申报表"), where, "form.file_title"),
        summary_title=_nonempty(form.get("summary_title", "项目绩效目标汇总表"), where, "form.summary_title"),
        record_noun=_nonempty(records.noun, where, "sheets.projects.noun"),
        rules_on=rules_on,
        rules_off=rules_off,
        recurring=tuple(recurring) if recurring is not None else None,
        instruction_markers=tuple(_texts(form.get("instruction_markers", []), where, "form.instruction_markers")),
        allow_legacy=bool(form.get("allow_legacy", True)),
        summary_columns=summary_columns,
        summary_totals=summary_totals,
        level_maps=tuple(level_maps),
        previous_value=previous_value,
        previous_after=previous_after,
    )
    _build_lookup(spec)
    from .layout import parse_layout, resolve_layout      # the block layout is checked against the spec

    raw_layout = form.get("layout", spec.id)
    if isinstance(raw_layout, str):
        raw_layout, layout_source = resolve_layout(raw_layout, folder, templates_dir(), where)
    else:
        layout_source = f"{where}: form.layout"
    object.__setattr__(spec, "layout", parse_layout(raw_layout, spec, layout_source))
    return spec


def _parse_code_lists(raw, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: code_lists 必须是表")
    code_lists: dict[str, tuple[str, ...]] = {}
    for name, values in raw.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise SpecError(f"{where}: 代码表 {name} 必须是非空的文字列表")
        if len(set(values)) != len(values):
            raise SpecError(f"{where}: 代码表 {name} 有重复的值")
        code_lists[name] = tuple(values)
    return code_lists


def _parse_hierarchy(data: dict, need, where: str) -> list[Level1]:
    raw_hierarchy = need(data, "hierarchy", "文件")
    if not isinstance(raw_hierarchy, list) or not raw_hierarchy:
        raise SpecError(f"{where}: hierarchy 必须至少有一个一级指标（[[hierarchy]]）")
    hierarchy = []
    for i, raw in enumerate(raw_hierarchy):
        context = f"hierarchy[{i}]"
        l1_name = _nonempty(need(raw, "level1", context), where, f"{context}.level1")
        presence = raw.get("presence", "none")
        if presence not in PRESENCE:
            raise SpecError(f"{where}: {context} presence 必须是 {sorted(PRESENCE)} 之一")
        missing_rule = raw.get("missing_rule", PRESENCE[presence])
        if presence != "none" and missing_rule not in MISSING_RULES:
            raise SpecError(f"{where}: {context} missing_rule 必须是 {sorted(MISSING_RULES)} 之一")
        meaning = _meaning(raw, LEVEL1_MEANINGS, where, context)
        raw_level2 = need(raw, "level2", context)
        if not isinstance(raw_level2, list) or not raw_level2:
            raise SpecError(f"{where}: {context} 没有二级指标")
        level2 = []
        for j, l2 in enumerate(raw_level2):
            ctx2 = f"{context}.level2[{j}]"
            level2.append(Level2(name=_nonempty(need(l2, "name", ctx2), where, ctx2),
                                 meaning=_meaning(l2, LEVEL2_MEANINGS, where, ctx2),
                                 expected=bool(l2.get("expected", False)),
                                 aliases=_aliases(l2, where, ctx2),
                                 keywords=_aliases(l2, where, ctx2, key="keywords"),
                                 mismatch=_text(l2, "mismatch", where, ctx2),
                                 legacy=bool(l2.get("legacy", False))))
        l2_names = [l2.name for l2 in level2]
        if len(set(l2_names)) != len(l2_names):
            raise SpecError(f"{where}: 一级指标“{l1_name}”下有重复的二级指标")
        hierarchy.append(Level1(name=l1_name, presence=presence, level2=tuple(level2), meaning=meaning,
                                aliases=_aliases(raw, where, context),
                                same_as=_aliases(raw, where, context, key="same_as"),
                                example=_text(raw, "example", where, context),
                                keywords=_aliases(raw, where, context, key="keywords"),
                                mismatch=_text(raw, "mismatch", where, context),
                                exclusive=_text(raw, "exclusive", where, context),
                                missing_rule=missing_rule if presence != "none" else None))
    names = [l1.name for l1 in hierarchy]
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: 一级指标重复")
    return hierarchy


def _parse_identities(raw_identities, records: SheetSpec, need, where: str) -> list[Identity]:
    all_amounts = {f.id for f in records.fields if f.type == "amount"}
    if not isinstance(raw_identities, list):
        raise SpecError(f"{where}: identities 必须是表的列表（[[identities]]）")
    identities = []
    for raw in raw_identities:
        parts = need(raw, "parts", "identities")
        if not isinstance(parts, list) or not parts:
            raise SpecError(f"{where}: 恒等式 {raw.get('rule')} 的 parts 必须是非空的字段 id 列表")
        ident = Identity(rule=need(raw, "rule", "identities"), total=need(raw, "total", "identities"),
                         parts=tuple(parts), when=raw.get("when", "always"))
        if ident.rule not in ("F-02", "F-03", "F-11"):
            raise SpecError(f"{where}: 恒等式的 rule 只能是 F-02、F-03 或 F-11，不能是 {ident.rule}")
        for name in (ident.total, *ident.parts):
            if name not in all_amounts:
                raise SpecError(f"{where}: 恒等式 {ident.rule} 引用了不存在的金额字段 “{name}”")
        if ident.when not in ("always", "total_filled"):
            raise SpecError(f"{where}: 恒等式 {ident.rule} 的 when 只能是 always 或 total_filled")
        identities.append(ident)
    return identities


def _parse_rules(raw, where: str) -> tuple[frozenset, frozenset]:
    if not isinstance(raw, dict) or set(raw) - {"enable", "disable"}:
        raise SpecError(f"{where}: rules 只能有 enable 和 disable 两个键")
    on = _texts(raw.get("enable", []), where, "rules.enable")
    off = _texts(raw.get("disable", []), where, "rules.disable")
    for rule_id in (*on, *off):
        if rule_id not in RULES:
            raise SpecError(f"{where}: rules 中的规则 {rule_id} 不存在")
    return frozenset(on), frozenset(off)


def _parse_previous(raw, indicators: SheetSpec, where: str) -> tuple[Field, str]:
    """[previous]: the reference column of last year's values (label, width, prompt); without it,
    上年 + the value's label, after the last field."""
    if raw is None:
        return (Field(id="previous_value", label=f"上年{indicators.label('value')}", type="reference", width=16.0),
                indicators.fields[-1].id)
    if not isinstance(raw, dict) or set(raw) - PREVIOUS_KEYS:
        raise SpecError(f"{where}: previous 只能有 {'、'.join(sorted(PREVIOUS_KEYS))} 几个键")
    label = _nonempty(raw.get("label", ""), where, "previous.label")
    if normalize_label(label) in {normalize_label(f.label) for f in indicators.fields}:
        raise SpecError(f"{where}: previous.label “{label}”与“{indicators.name}”的列重名")
    width = _number(raw.get("width", 16), where, "previous.width")
    after = raw.get("after", indicators.fields[-1].id)
    if not indicators.has(after):
        raise SpecError(f"{where}: previous.after “{after}”不是“{indicators.name}”的字段 id")
    return Field(id="previous_value", label=label, type="reference", width=float(width or 16),
                 prompt=str(raw.get("prompt", ""))), after


def _parse_level_maps(raw, hierarchy: list[Level1], where: str) -> list[LevelMap]:
    if not isinstance(raw, list):
        raise SpecError(f"{where}: level_maps 必须是表的列表（[[level_maps]]）")
    known = {(l1.name, l2.name) for l1 in hierarchy for l2 in l1.level2}
    out = []
    for i, entry in enumerate(raw):
        context = f"level_maps[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"from_form", "from", "to"}:
            raise SpecError(f"{where}: {context} 必须正好有 from_form、from、to 三个键")
        pairs = []
        for key in ("from", "to"):
            value = entry[key]
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and v for v in value)):
                raise SpecError(f"{where}: {context}.{key} 必须是 [一级指标, 二级指标]")
            pairs.append(tuple(value))
        if pairs[1] not in known:
            raise SpecError(f"{where}: {context}.to {pairs[1]} 不是本表单的一级/二级指标")
        out.append(LevelMap(_nonempty(entry["from_form"], where, f"{context}.from_form"), pairs[0], pairs[1]))
    return out


def _meaning(raw: dict, allowed: set[str], where: str, context: str) -> str | None:
    meaning = raw.get("meaning")
    if meaning is not None and meaning not in allowed:
        raise SpecError(f"{where}: {context} 的 meaning “{meaning}” 不是 {'、'.join(sorted(allowed))} 之一")
    return meaning


def _number(value, where: str, context: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SpecError(f"{where}: {context} 必须是不小于 0 的数字")
    return float(value)


def _nonempty(value, where: str, context: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{where}: {context} 必须是非空文字")
    return value


def _text(raw: dict, key: str, where: str, context: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise SpecError(f"{where}: {context} 的 {key} 必须是文字")
    return value


def _texts(value, where: str, context: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SpecError(f"{where}: {context} 必须是文字列表")
    return value


def _aliases(raw: dict, where: str, context: str, key: str = "aliases") -> tuple[str, ...]:
    # A bare string would silently become one alias per character: reject it.
    aliases = raw.get(key, [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise SpecError(f"{where}: {context} 的 {key} 必须是文字列表，如 [\"进度指标\"]")
    return tuple(aliases)


FIELD_KEYS = {"id", "label", "type", "required", "max_length", "width", "prefill", "code_list", "prompt", "example"}
SHEET_KEYS = {"name", "noun", "rows", "fields", "groups"}


def _parse_sheet(key: str, kind: str, raw: dict, code_lists: dict, where: str) -> SheetSpec:
    context = f"sheets.{key}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: {context} 必须是表（[{context}]）")
    unknown = set(raw) - SHEET_KEYS
    if unknown:
        raise SpecError(f"{where}: {context} 有未知的键 {sorted(unknown)}")
    if not _ID.match(key):
        raise SpecError(f"{where}: 表名 sheets.{key} 必须是小写英文字母、数字和下划线")
    name = _nonempty(raw.get("name"), where, f"{context}.name")
    if (len(name) > 31 or any(c in name for c in _SHEET_BAD_CHARS) or name.startswith("'")
            or name.endswith("'")):
        raise SpecError(f"{where}: 工作表名 “{name}” 不能用作 Excel 工作表名"
                        f"（最多 31 个字，不能含有 [ ] : * ? / \\，不能以 ' 开头或结尾）")
    if name.casefold() in {n.casefold() for n in (*RESERVED_SHEETS, "History")}:
        raise SpecError(f"{where}: 工作表名 “{name}” 已被模板占用，请换一个名字")
    noun = _nonempty(raw.get("noun", name), where, f"{context}.noun")
    rows = raw.get("rows", 200)
    if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= 100_000:
        raise SpecError(f"{where}: {context}.rows 必须是 1 到 100000 之间的整数")
    raw_fields = raw.get("fields", [])
    if not isinstance(raw_fields, list):
        raise SpecError(f"{where}: {context}.fields 必须是表的列表（[[{context}.fields]]）")
    fields = [_parse_field(f, f"{context}.fields[{i}]", code_lists, where) for i, f in enumerate(raw_fields)]
    if not fields:
        raise SpecError(f"{where}: {context} 没有字段")
    for label_or_id, what in ((lambda f: f.label, "列名"), (lambda f: f.id, "字段 id")):
        values = [label_or_id(f) for f in fields]
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise SpecError(f"{where}: {context} 有重复的{what} {'、'.join(duplicates)}")
    normalized = [normalize_label(f.label) for f in fields]
    if len(set(normalized)) != len(normalized):
        raise SpecError(f"{where}: {context} 有两列的列名只差空格或全角半角，读取时无法区分")
    for f in fields:
        allowed = ROLE_TYPES[kind].get(f.id)
        if allowed is not None and f.type not in allowed:
            raise SpecError(f"{where}: {context} 的字段 {f.id} 必须是 {'、'.join(sorted(allowed))} 类型")
        if kind != "indicators" and f.type in ("level1", "level2", "operator", "value", "unit"):
            raise SpecError(f"{where}: {context} 的 {f.type} 字段只能放在 sheets.indicators 中")
        if kind == "records" and f.type == "project_ref":
            raise SpecError(f"{where}: {context} 不能有 project_ref 字段")
    ids = [f.id for f in fields]
    for role in REQUIRED_ROLES.get(kind, ()):
        if role not in ids:
            raise SpecError(f"{where}: {context} 必须有 id 为 “{role}” 的字段")
    raw_groups = raw.get("groups", [])
    if not isinstance(raw_groups, list):
        raise SpecError(f"{where}: {context}.groups 必须是列表")
    groups = []
    for i, g in enumerate(raw_groups):
        if not isinstance(g, dict) or set(g) != {"label", "first", "last"}:
            raise SpecError(f"{where}: {context}.groups[{i}] 必须正好有 label、first、last 三个键")
        groups.append(Group(label=_nonempty(g["label"], where, f"{context}.groups[{i}]"),
                            first=g["first"], last=g["last"]))
    for g in groups:
        for end in (g.first, g.last):
            if end not in ids:
                raise SpecError(f"{where}: {context} 的分组 “{g.label}” 引用的字段不对：没有 id 为“{end}”的字段")
        if ids.index(g.first) > ids.index(g.last):
            raise SpecError(f"{where}: {context} 的分组 “{g.label}” 引用的字段不对：“{g.first}”在“{g.last}”之后")
    spans = sorted((ids.index(g.first), ids.index(g.last), g.label) for g in groups)
    for (a0, a1, la), (b0, b1, lb) in zip(spans, spans[1:]):
        if b0 <= a1:
            raise SpecError(f"{where}: {context} 的分组 “{la}” 和 “{lb}” 重叠")
    return SheetSpec(key=key, kind=kind, name=name, noun=noun, rows=rows, fields=tuple(fields), groups=tuple(groups))


def _parse_field(f, fctx: str, code_lists: dict, where: str) -> Field:
    if not isinstance(f, dict):
        raise SpecError(f"{where}: {fctx} 必须是表")
    unknown = set(f) - FIELD_KEYS
    if unknown:
        raise SpecError(f"{where}: {fctx} 有未知的键 {sorted(unknown)}")
    ftype = f.get("type")
    if ftype not in FIELD_TYPES:
        raise SpecError(f"{where}: {fctx} 的 type “{ftype}” 不是 {sorted(FIELD_TYPES)} 之一")
    field_id = f.get("id", TYPE_IDS.get(ftype))
    if not isinstance(field_id, str) or not _ID.match(field_id):
        raise SpecError(f"{where}: {fctx} 的 id 必须是小写英文字母开头的英文、数字和下划线（如 annual_total）")
    if ftype in TYPE_IDS and field_id != TYPE_IDS[ftype]:
        raise SpecError(f"{where}: {fctx} 是 {ftype} 字段，id 必须是 “{TYPE_IDS[ftype]}”")
    code_list = f.get("code_list")
    if ftype == "code" and not code_list:
        raise SpecError(f"{where}: {fctx} 是代码字段但没有 code_list")
    if code_list and code_list not in code_lists:
        raise SpecError(f"{where}: {fctx} 引用了不存在的代码表 “{code_list}”")
    max_length = f.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)
                                   or not 1 <= max_length <= 32767):
        raise SpecError(f"{where}: {fctx} 的 max_length 必须是 1 到 32767 之间的整数")
    width = f.get("width", 12)
    if not isinstance(width, (int, float)) or isinstance(width, bool) or not 0 < width <= 255:
        raise SpecError(f"{where}: {fctx} 的 width 必须是 0 到 255 之间的数")
    prompt = f.get("prompt", "")
    if not isinstance(prompt, str):
        raise SpecError(f"{where}: {fctx} 的 prompt 必须是文字")
    return Field(id=field_id, label=_nonempty(f.get("label"), where, f"{fctx}.label"), type=ftype,
                 required=bool(f.get("required", False)), max_length=max_length, width=float(width),
                 prefill=bool(f.get("prefill", False)), code_list=code_list, prompt=prompt,
                 example=_text(f, "example", where, fctx))


def _build_lookup(spec: FormSpec) -> None:
    l1: dict[str, tuple[str, bool]] = {}
    l2: dict[str, dict[str, tuple[str, bool]]] = {}
    owner: dict[str, set[str]] = {}
    by_name = {level1.name: level1 for level1 in spec.hierarchy}
    l2_by_name = {}
    for level1 in spec.hierarchy:
        l1[normalize_label(level1.name)] = (level1.name, False)
        for alias in level1.aliases:
            l1.setdefault(normalize_label(alias), (level1.name, True))
        for same in level1.same_as:
            l1.setdefault(normalize_label(same), (level1.name, False))
        table = l2.setdefault(level1.name, {})
        for level2 in level1.level2:
            if not spec._allowed(level2):
                continue
            l2_by_name[(level1.name, level2.name)] = level2
            table[normalize_label(level2.name)] = (level2.name, False)
            owner.setdefault(normalize_label(level2.name), set()).add(level1.name)
            for alias in level2.aliases:
                table.setdefault(normalize_label(alias), (level2.name, True))
    spec._lookup.update(l1=l1, l2=l2, l2_owner=owner, l1_by_name=by_name, l2_by_name=l2_by_name)


def fingerprint(payload: object) -> str:
    """Stable short hash of JSON-able content (the template's locked content)."""
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def spec_digest(spec: FormSpec) -> str:
    """A hash of everything in the spec (a changed spec re-checks cached verdicts)."""
    return hashlib.sha256(repr(spec).encode("utf-8")).hexdigest()
