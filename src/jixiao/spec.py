"""Form specifications: templates/*.toml → typed, checked FormSpec objects.

A form is data (fields, code lists, the 一级→二级 hierarchy, amount identities); every other
stage reads it from here and never restates it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
import unicodedata
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_FORM = "sh-project"

ROLES = ("name", "annual_total", "goal", "whole_goal", "start", "end", "project_total", "carryover",
         "indicator_note")
# The Shanghai project form's roles, used when a spec has no [roles] table.
DEFAULT_ROLES = {"name": "项目名称", "annual_total": "年度资金申请总额", "goal": "年度总体目标",
                 "whole_goal": "项目总目标", "start": "计划开始日期", "end": "计划完成日期",
                 "project_total": "项目资金总额", "carryover": "上年结转资金"}
LAYOUTS = ("sh-project", "tj-project", "sh-overall")
KINDS = ("project", "overall")

FIELD_TYPES = {
    "text", "longtext", "date", "amount", "count", "code",
    "project_ref", "level1", "level2", "operator", "value", "unit",
}
PRESENCE = {"error", "warning", "none"}


class SpecError(ValueError):
    """A form specification file is malformed."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool = False
    max_length: int | None = None
    width: float = 12
    prefill: bool = False
    code_list: str | None = None
    prompt: str = ""


@dataclass(frozen=True)
class Group:
    label: str
    first: str
    last: str


@dataclass(frozen=True)
class SheetSpec:
    key: str          # "projects" | "indicators"
    name: str         # sheet name in the workbook
    rows: int         # input rows offered by the template
    fields: tuple[Field, ...]
    groups: tuple[Group, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def column(self, name: str) -> int:
        """0-based column of a field in the template."""
        return self.labels.index(name)


@dataclass(frozen=True)
class Level2:
    name: str
    expected: bool = False              # C-03: a project should have one
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Level1:
    name: str
    presence: str                        # error / warning / none when a project lacks it
    level2: tuple[Level2, ...]
    aliases: tuple[str, ...] = ()        # accepted with a warning (H-07): "please write the canonical name"
    same_as: tuple[str, ...] = ()        # accepted silently: the form itself uses both names


@dataclass(frozen=True)
class Identity:
    rule: str
    total: str
    parts: tuple[str, ...]
    when: str = "always"                 # "always" | "total_filled"


@dataclass(frozen=True)
class FormSpec:
    id: str
    version: str
    title: str
    money_unit: str
    value_style: str
    projects: SheetSpec
    indicators: SheetSpec
    code_lists: dict[str, tuple[str, ...]]
    hierarchy: tuple[Level1, ...]
    identities: tuple[Identity, ...]
    min_indicators_per_project: int = 3
    satisfaction_floor: float = 80
    source: str = ""
    roles: dict = field(default_factory=lambda: dict(DEFAULT_ROLES))
    layout: str = "sh-project"          # which 汇总表 block renderer prints this form
    kind: str = "project"               # project: many records per unit; overall: one, the unit itself
    scale_min: float | None = None      # F-10: plausible annual amount range in money_unit
    scale_max: float | None = None
    tasks: SheetSpec | None = None      # an extra table (整体支出: 年度重点任务)
    instructions: tuple[str, ...] = ()  # 填报说明 lines; {projects} {indicators} {money_unit} filled in
    file_title: str = "项目绩效目标申报表"   # template file name: {编码}_{名称}_{年度}年度{file_title}.xlsx
    summary_title: str = "项目绩效目标汇总表"  # the 汇总表: {主管部门}{年度}年度{summary_title}.xlsx
    record_noun: str = "项目"                # what one record is, in messages and totals
    _lookup: dict = field(default_factory=dict, compare=False, repr=False)

    def role(self, key: str) -> str | None:
        """The label that plays a role (name, goal, annual_total, …) in this form, or None."""
        return self.roles.get(key)

    @property
    def data_sheets(self) -> tuple[SheetSpec, ...]:
        return tuple(s for s in (self.projects, self.indicators, self.tasks) if s is not None)

    # -- hierarchy lookups (labels normalised: NFKC, no whitespace, no trailing colon) --
    def level1_names(self) -> tuple[str, ...]:
        return tuple(l1.name for l1 in self.hierarchy)

    def level2_names(self, level1: str) -> tuple[str, ...]:
        for l1 in self.hierarchy:
            if l1.name == level1:
                return tuple(l2.name for l2 in l1.level2)
        return ()

    def resolve_level1(self, label: str) -> tuple[str | None, bool]:
        """(canonical 一级, used_alias) for a label as written, or (None, False)."""
        return self._lookup["l1"].get(normalize_label(label), (None, False))

    def resolve_level2(self, level1: str, label: str) -> tuple[str | None, bool]:
        return self._lookup["l2"].get(level1, {}).get(normalize_label(label), (None, False))

    def level1_of_level2(self, label: str) -> str | None:
        """The 一级 a 二级 label belongs to, when it belongs to exactly one."""
        owners = self._lookup["l2_owner"].get(normalize_label(label), set())
        return next(iter(owners)) if len(owners) == 1 else None

    def fingerprint_basis(self) -> dict:
        """What of the spec a template freezes: labels, code lists, hierarchy."""
        return {
            "form": [self.id, self.version],
            "projects": list(self.projects.labels),
            "indicators": list(self.indicators.labels),
            "code_lists": {k: list(v) for k, v in sorted(self.code_lists.items())},
            "hierarchy": [[l1.name, [l2.name for l2 in l1.level2]] for l1 in self.hierarchy],
        }


_SPACE = re.compile(r"\s+")


def normalize_label(label: object) -> str:
    """Compare labels the way a person reads them: NFKC, no whitespace, no trailing colon."""
    text = unicodedata.normalize("NFKC", str(label or ""))
    return _SPACE.sub("", text).rstrip(":")


def templates_dir() -> Path:
    override = os.environ.get("JIXIAO_TEMPLATES")
    if override:
        return Path(override)
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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path.name}: TOML 格式错误：{exc}") from None
    return parse_form(data, source=path.name)


RESERVED_SHEETS = ("填报说明", "代码表", "_meta")     # sheets every template adds itself
_SHEET_BAD_CHARS = "[]:*?/\\"


def parse_form(data: dict, source: str = "<spec>") -> FormSpec:
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
    code_lists_raw = data.get("code_lists", {})
    if not isinstance(code_lists_raw, dict):
        raise SpecError(f"{where}: code_lists 必须是表")
    code_lists: dict[str, tuple[str, ...]] = {}
    for name, values in code_lists_raw.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise SpecError(f"{where}: 代码表 {name} 必须是非空的文字列表")
        if len(set(values)) != len(values):
            raise SpecError(f"{where}: 代码表 {name} 有重复的值")
        code_lists[name] = tuple(values)

    sheets = need(data, "sheets", "文件")
    projects = _parse_sheet("projects", need(sheets, "projects", "sheets"), code_lists, where)
    indicators = _parse_sheet("indicators", need(sheets, "indicators", "sheets"), code_lists, where)
    tasks = _parse_sheet("tasks", sheets["tasks"], code_lists, where) if "tasks" in sheets else None
    names_seen = [s.name.casefold() for s in (projects, indicators, tasks) if s is not None]
    if len(set(names_seen)) != len(names_seen):
        raise SpecError(f"{where}: 数据表的工作表名不能相同（“{projects.name}”）")
    kind = form.get("kind", "project")
    if kind not in KINDS:
        raise SpecError(f"{where}: form.kind 必须是 {'、'.join(KINDS)} 之一")
    layout = form.get("layout", "sh-project")
    if layout not in LAYOUTS:
        raise SpecError(f"{where}: form.layout “{layout}” 不是 {'、'.join(LAYOUTS)} 之一")
    raw_roles = data.get("roles", DEFAULT_ROLES)
    if not isinstance(raw_roles, dict) or set(raw_roles) - set(ROLES):
        raise SpecError(f"{where}: roles 只能有这些键：{'、'.join(ROLES)}")
    roles = {}
    for key, label in raw_roles.items():
        sheet = indicators if key == "indicator_note" else projects
        if label not in sheet.labels:
            raise SpecError(f"{where}: roles.{key} 引用了“{sheet.name}”中不存在的列“{label}”")
        roles[key] = label
    if "name" not in roles:
        raise SpecError(f"{where}: roles 必须指定 name（“{projects.name}”中标识每条记录的列）")
    if kind == "project" and roles["name"] not in indicators.labels:
        raise SpecError(f"{where}: 项目表单的“{indicators.name}”必须有“{roles['name']}”列，指明指标所属项目")
    for key in ("annual_total", "project_total", "carryover"):
        if key in roles and projects.field(roles[key]).type != "amount":
            raise SpecError(f"{where}: roles.{key} 必须是金额列")
    for key in ("start", "end"):
        if key in roles and projects.field(roles[key]).type != "date":
            raise SpecError(f"{where}: roles.{key} 必须是日期列")
    raw_instructions = data.get("instructions", {})
    instructions = raw_instructions.get("lines", []) if isinstance(raw_instructions, dict) else None
    if not isinstance(instructions, list) or not all(isinstance(line, str) for line in instructions):
        raise SpecError(f"{where}: instructions.lines 必须是文字列表")

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
        raw_level2 = need(raw, "level2", context)
        if not isinstance(raw_level2, list) or not raw_level2:
            raise SpecError(f"{where}: {context} 没有二级指标")
        level2 = tuple(
            Level2(name=_nonempty(need(l2, "name", f"{context}.level2[{j}]"), where, f"{context}.level2[{j}]"),
                   expected=bool(l2.get("expected", False)),
                   aliases=_aliases(l2, where, f"{context}.level2[{j}]"))
            for j, l2 in enumerate(raw_level2)
        )
        l2_names = [l2.name for l2 in level2]
        if len(set(l2_names)) != len(l2_names):
            raise SpecError(f"{where}: 一级指标“{l1_name}”下有重复的二级指标")
        hierarchy.append(Level1(name=l1_name, presence=presence, level2=level2,
                                aliases=_aliases(raw, where, context),
                                same_as=_aliases(raw, where, context, key="same_as")))
    names = [l1.name for l1 in hierarchy]
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: 一级指标重复")

    all_amounts = {f.name for f in projects.fields if f.type == "amount"}
    raw_identities = data.get("identities", [])
    if not isinstance(raw_identities, list):
        raise SpecError(f"{where}: identities 必须是表的列表（[[identities]]）")
    identities = []
    for raw in raw_identities:
        parts = need(raw, "parts", "identities")
        if not isinstance(parts, list) or not parts:
            raise SpecError(f"{where}: 恒等式 {raw.get('rule')} 的 parts 必须是非空的字段名列表")
        ident = Identity(rule=need(raw, "rule", "identities"), total=need(raw, "total", "identities"),
                         parts=tuple(parts), when=raw.get("when", "always"))
        for name in (ident.total, *ident.parts):
            if name not in all_amounts:
                raise SpecError(f"{where}: 恒等式 {ident.rule} 引用了不存在的金额字段 “{name}”")
        if ident.when not in ("always", "total_filled"):
            raise SpecError(f"{where}: 恒等式 {ident.rule} 的 when 只能是 always 或 total_filled")
        identities.append(ident)

    try:
        min_indicators = int(form.get("min_indicators_per_project", 3))
        floor = float(form.get("satisfaction_floor", 80))
    except (TypeError, ValueError):
        raise SpecError(f"{where}: form.min_indicators_per_project 和 form.satisfaction_floor 必须是数字") from None
    spec = FormSpec(
        id=_nonempty(need(form, "id", "form"), where, "form.id"),
        version=str(need(form, "version", "form")),
        title=_nonempty(need(form, "title", "form"), where, "form.title"),
        money_unit=form.get("money_unit", "元"),
        value_style=form.get("value_style", "sh"),
        projects=projects,
        indicators=indicators,
        code_lists=code_lists,
        hierarchy=tuple(hierarchy),
        identities=tuple(identities),
        min_indicators_per_project=min_indicators,
        satisfaction_floor=floor,
        source=source,
        roles=roles,
        layout=layout,
        kind=kind,
        scale_min=_number(form.get("scale_min"), where, "form.scale_min"),
        scale_max=_number(form.get("scale_max"), where, "form.scale_max"),
        tasks=tasks,
        instructions=tuple(instructions),
        file_title=_nonempty(form.get("file_title", "项目绩效目标申报表"), where, "form.file_title"),
        summary_title=_nonempty(form.get("summary_title", "项目绩效目标汇总表"), where, "form.summary_title"),
        record_noun=_nonempty(form.get("record_noun", "项目"), where, "form.record_noun"),
    )
    _build_lookup(spec)
    return spec


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


def _aliases(raw: dict, where: str, context: str, key: str = "aliases") -> tuple[str, ...]:
    # A bare string would silently become one alias per character: reject it.
    aliases = raw.get(key, [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise SpecError(f"{where}: {context} 的 {key} 必须是文字列表，如 [\"进度指标\"]")
    return tuple(aliases)


FIELD_KEYS = {"name", "type", "required", "max_length", "width", "prefill", "code_list", "prompt"}


def _parse_sheet(key: str, raw: dict, code_lists: dict, where: str) -> SheetSpec:
    context = f"sheets.{key}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: {context} 必须是表（[{context}]）")
    name = _nonempty(raw.get("name"), where, f"{context}.name")
    if (len(name) > 31 or any(c in name for c in _SHEET_BAD_CHARS) or name.startswith("'")
            or name.endswith("'")):
        raise SpecError(f"{where}: 工作表名 “{name}” 不能用作 Excel 工作表名"
                        f"（最多 31 个字，不能含有 [ ] : * ? / \\，不能以 ' 开头或结尾）")
    if name.casefold() in {n.casefold() for n in (*RESERVED_SHEETS, "History")}:
        raise SpecError(f"{where}: 工作表名 “{name}” 已被模板占用，请换一个名字")
    rows = raw.get("rows", 200)
    if not isinstance(rows, int) or isinstance(rows, bool) or not 1 <= rows <= 100_000:
        raise SpecError(f"{where}: {context}.rows 必须是 1 到 100000 之间的整数")
    raw_fields = raw.get("fields", [])
    if not isinstance(raw_fields, list):
        raise SpecError(f"{where}: {context}.fields 必须是表的列表（[[{context}.fields]]）")
    fields = []
    for i, f in enumerate(raw_fields):
        fctx = f"{context}.fields[{i}]"
        if not isinstance(f, dict):
            raise SpecError(f"{where}: {fctx} 必须是表")
        ftype = f.get("type")
        if ftype not in FIELD_TYPES:
            raise SpecError(f"{where}: {fctx} 的 type “{ftype}” 不是 {sorted(FIELD_TYPES)} 之一")
        code_list = f.get("code_list")
        if ftype == "code" and not code_list:
            raise SpecError(f"{where}: {fctx} 是代码字段但没有 code_list")
        if code_list and code_list not in code_lists:
            raise SpecError(f"{where}: {fctx} 引用了不存在的代码表 “{code_list}”")
        unknown = set(f) - FIELD_KEYS
        if unknown:
            raise SpecError(f"{where}: {fctx} 有未知的键 {sorted(unknown)}")
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
        fields.append(Field(name=_nonempty(f.get("name"), where, fctx), type=ftype,
                            required=bool(f.get("required", False)), max_length=max_length,
                            width=float(width), prefill=bool(f.get("prefill", False)),
                            code_list=code_list, prompt=prompt))
    if not fields:
        raise SpecError(f"{where}: {context} 没有字段")
    labels = [f.name for f in fields]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise SpecError(f"{where}: {context} 有重复的列名 {'、'.join(duplicates)}")
    types = [f.type for f in fields]
    for single in ("level1", "level2"):
        if types.count(single) > 1:
            raise SpecError(f"{where}: {context} 只能有一个 {single} 字段")
    if "level2" in types and "level1" not in types:
        raise SpecError(f"{where}: {context} 有二级指标（level2）字段，但没有一级指标（level1）字段")
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
            if end not in labels:
                raise SpecError(f"{where}: {context} 的分组 “{g.label}” 引用的列不对：没有“{end}”列")
        if labels.index(g.first) > labels.index(g.last):
            raise SpecError(f"{where}: {context} 的分组 “{g.label}” 引用的列不对：“{g.first}”在“{g.last}”之后")
    spans = sorted((labels.index(g.first), labels.index(g.last), g.label) for g in groups)
    for (a0, a1, la), (b0, b1, lb) in zip(spans, spans[1:]):
        if b0 <= a1:
            raise SpecError(f"{where}: {context} 的分组 “{la}” 和 “{lb}” 重叠")
    return SheetSpec(key=key, name=name, rows=rows, fields=tuple(fields), groups=tuple(groups))


def _build_lookup(spec: FormSpec) -> None:
    l1: dict[str, tuple[str, bool]] = {}
    l2: dict[str, dict[str, tuple[str, bool]]] = {}
    owner: dict[str, set[str]] = {}
    for level1 in spec.hierarchy:
        l1[normalize_label(level1.name)] = (level1.name, False)
        for alias in level1.aliases:
            l1.setdefault(normalize_label(alias), (level1.name, True))
        for same in level1.same_as:
            l1.setdefault(normalize_label(same), (level1.name, False))
        table = l2.setdefault(level1.name, {})
        for level2 in level1.level2:
            table[normalize_label(level2.name)] = (level2.name, False)
            owner.setdefault(normalize_label(level2.name), set()).add(level1.name)
            for alias in level2.aliases:
                table.setdefault(normalize_label(alias), (level2.name, True))
    spec._lookup.update(l1=l1, l2=l2, l2_owner=owner)


def fingerprint(payload: object) -> str:
    """Stable short hash of JSON-able content (the template's locked content)."""
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]
