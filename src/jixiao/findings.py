"""One finding type for every problem in a workbook, and the catalogue of rules behind them.

A Rule carries what is true of every case (id, severity, title, message template); a Finding
carries where (file, sheet, cell, field) and the message rendered once, at construction.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass
from functools import cached_property

from .text import brief, unicode_safe

ERROR = "error"
WARNING = "warning"
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    template: str
    optional: bool = False          # checked only for forms that switch it on ([rules] enable)

    def placeholders(self) -> frozenset[str]:
        return self._placeholders

    @cached_property            # every finding asks; the template never changes
    def _placeholders(self) -> frozenset[str]:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.template) if name)


@dataclass(frozen=True, slots=True)    # a province's check keeps 100,000 and more
class Finding:
    file: str
    sheet: str
    cell: str
    field: str
    rule: str
    severity: str
    message: str
    key: str = ""             # where by content (record, indicator, field), so that it survives row moves
    explained: bool = False   # a warning the unit has answered on the 校验结果 sheet (已说明)
    explanation: str = ""

    def to_dict(self) -> dict:
        """The `check --json` object: file, sheet, cell, field, rule, severity, message, and for a
        warning the unit answered, explained (true) and explanation. Every text encodes as UTF-8 (a
        file name the OS could not decode has its bytes as \\xNN)."""
        out = {k: unicode_safe(v) if isinstance(v, str) else v for k, v in asdict(self).items()
               if k not in ("key", "explained", "explanation")}
        if self.explained:
            out.update(explained=True, explanation=self.explanation)
        return out

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.cell}" if self.sheet and self.cell else (self.sheet or "")


RULES: dict[str, Rule] = {}


def rule(id: str, severity: str, title: str, template: str, optional: bool = False) -> Rule:
    r = Rule(id, severity, title, template, optional)
    if id in RULES:
        raise ValueError(f"rule {id} defined twice")
    RULES[id] = r
    return r


def finding(rule_id: str, *, file: str, sheet: str = "", cell: str = "", field: str = "",
            severity: str | None = None, content: str = "", **values) -> Finding:
    """Render a rule's message; a missing placeholder is a bug and raises KeyError."""
    r = RULES[rule_id]
    missing = r.placeholders() - values.keys()
    if missing:
        raise KeyError(f"rule {rule_id}: missing {sorted(missing)}")
    # A value quoted in a message is cut to a readable length (a unit's 40,000-character name
    # is not repeated in every finding, comment and terminal line).
    if any(isinstance(v, str) and len(v) > MAX_VALUE_CHARS for v in values.values()):
        values = {k: brief(v, MAX_VALUE_CHARS) if isinstance(v, str) else v for k, v in values.items()}
    return Finding(file=file, sheet=sheet, cell=cell, field=field, rule=rule_id,
                   severity=severity or r.severity, message=r.template.format(**values), key=content)


def emits(*rule_ids: str):
    """Declare the rule ids a rule function reports (checked by its Reporter and by the tests)."""
    def mark(fn):
        fn.emits = frozenset(rule_ids)
        return fn
    return mark


def nouns(spec) -> dict[str, str]:
    """The form's words that messages use instead of naming a form's label themselves."""
    cached = spec._lookup.get("nouns")
    if cached is None:
        ind = spec.indicators
        cached = spec._lookup["nouns"] = {
            "noun": spec.record_noun,
            "name_label": spec.projects.label("name"),
            "indicators": ind.name,
            "level3_label": ind.label("level3"),
            "value_label": ind.label("value"),
            "op_label": ind.label("operator") if ind.has("operator") else "运算符号",
            "unit_label": ind.label("unit") if ind.has("unit") else "单位",
        }
    return cached


class Reporter:
    """The one factory that places findings, for one rule function of one form.

    It refuses a rule id the function did not declare (a bug, not a finding), drops rules the form
    switches off, fills in the form's nouns ({noun}, {name_label}, {value_label} …) and the label
    of the finding's own column ({label}), and turns (submission, table, row, field id) into file,
    sheet, A1 cell and field label."""

    def __init__(self, spec, out: list, rule_fn):
        self.spec = spec
        self.out = out
        self.declared = rule_fn.emits
        self.name = rule_fn.__name__
        self.words = nouns(spec)
        self._row_keys: dict[tuple, str] = {}       # (submission, table, row) → row_key

    def _allowed(self, rule: str) -> bool:
        if rule not in self.declared:
            raise RuntimeError(f"{self.name} reports {rule}, which it does not declare")
        return self.spec.rule_on(rule)

    def at(self, sub, table_key: str, row: int, field_id: str | None, rule: str, /, *,
           content: str | None = None, **values) -> None:
        """A finding at a field of a table row (0-based sheet row) of a submission. Its content key
        (what a unit's answer is kept under) is the row's, unless the rule gives its own: a warning
        about something the row lacks (last year's indicator, gone) is keyed by what is missing."""
        if not self._allowed(rule):
            return
        table = sub.tables[table_key]
        sheet = self.spec.table(table_key)
        label = sheet.label(field_id) if sheet.has(field_id) else ""
        self.out.append(finding(rule, file=sub.file, sheet=table.sheet, cell=table.cell(row, field_id),
                                field=label, content=content or self._content_key(sub, table_key, row, field_id),
                                **{**self.words, "label": label, **values}))

    def _content_key(self, sub, table_key: str, row: int, field_id: str | None) -> str:
        """content_key, with each row's part computed once (a row often has several findings)."""
        where = (id(sub), table_key, row)
        prefix = self._row_keys.get(where)
        if prefix is None:
            prefix = self._row_keys[where] = row_key(self.spec, sub, table_key, row)
        return f"{prefix}:{field_id or ''}"

    def file(self, sub, rule: str, /, sheet: str = "", **values) -> None:
        """A finding about the file (or one of its sheets) as a whole."""
        if self._allowed(rule):
            self.out.append(finding(rule, file=sub.file, sheet=sheet, **{**self.words, **values}))


def content_key(spec, sub, table_key: str, row: int, field_id: str | None) -> str:
    """Where a finding is, by content: the table, the record's name (and an indicator's 一级/二级/三级,
    or the first field of another table's row), and the field — the same however rows move."""
    return f"{row_key(spec, sub, table_key, row)}:{field_id or ''}"


def row_key(spec, sub, table_key: str, row: int) -> str:
    """content_key without its field: the table and what names the row."""
    from .spec import normalize_label     # findings is below spec in the import order; only called with one

    values = sub.tables[table_key].values_at(row)
    if values is None:
        return f"{table_key}:@{row}"
    positions = spec._lookup.get(("naming", table_key))
    if positions is None:
        positions = spec._lookup[("naming", table_key)] = _naming_positions(spec.table(table_key))
    return ":".join([table_key, *(normalize_label(values[i] if i is not None and i < len(values) else None)
                                 for i in positions)])


def _naming_positions(sheet) -> tuple[int | None, ...]:
    """Where in a row's values the fields that name it are (None: the table has no such field)."""
    if sheet.kind == "records":
        wanted = ["name"]
    elif sheet.kind == "indicators":
        wanted = ["project", "level1", "level2", "level3"]
    else:
        wanted = [sheet.link, next(f.id for f in sheet.fields if f.id != sheet.link)]
    ids = list(sheet.ids)
    return tuple(ids.index(fid) if fid in ids else None for fid in wanted)


def has_errors(findings) -> bool:
    return any(f.severity == ERROR for f in findings)


def counts(findings) -> tuple[int, int]:
    errors = sum(1 for f in findings if f.severity == ERROR)
    return errors, sum(1 for f in findings if f.severity == WARNING)


# --- the catalogue ------------------------------------------------------------------------
# File and structure (S-)
rule("S-01", ERROR, "文件无法读取", "{problem}")
rule("S-02", ERROR, "缺少工作表", "缺少工作表“{sheet_name}”：请使用下发的模板填报，不要删除或改名工作表")
rule("S-03", ERROR, "缺少表头", "找不到列“{label}”：请不要修改表头，按模板原样填写")
rule("S-04", ERROR, "缺少模板标识", "找不到模板标识（_meta）：这不是本系统下发的模板，请用下发给本单位的模板重新填报")
rule("S-05", ERROR, "模板标识不完整", "模板标识缺少“{key}”：请用下发给本单位的模板重新填报")
rule("S-06", ERROR, "表单不符", "这是“{got}”表单（{got_version}），本次收集的是“{expected}”：请用本次下发的模板填报")
rule("S-07", ERROR, "年度不符", "模板年度为 {got} 年，本次收集的是 {expected} 年：请用本年度下发的模板填报")
rule("S-08", ERROR, "主管部门不符", "模板属于“{got}”，本次收集的是“{expected}”：请用本部门下发的模板填报")
rule("S-09", ERROR, "单位不在名单中", "模板单位“{code} {name}”不在报送名单中：请确认是否用了其他单位的模板")
rule("S-10", ERROR, "单位名称与名单不符", "单位编码 {code} 在名单中是“{expected}”，模板中是“{got}”：请用下发给本单位的模板")
rule("S-11", ERROR, "锁定内容被改动", "模板的锁定内容被改动（{what}）：请不要修改表头、代码表或预填内容，或改用原模板重新填写")
rule("S-12", ERROR, "预填内容被改动", "“{label}”是预算预填内容，原为“{expected}”，现为“{got}”：请恢复原值；如预算有误请联系主管部门")
rule("S-13", ERROR, "预填项目被删除", "预算预填{noun}“{name}”（第 {row} 行）不见了：请恢复该行")
rule("S-14", WARNING, "超出模板行数", "“{sheet_name}”从 {ref} 起超出模板的 {rows} 行填报区：已读取，请确认这些行是有效数据")
rule("S-19", ERROR, "数据行数超过上限", "“{sheet_name}”超过 {rows} 行数据：超出部分没有读取，请删除多余内容或分单位报送")
rule("S-15", WARNING, "文件名与单位不符", "文件名未包含单位编码 {code}：请确认这是本单位的文件")
rule("S-16", WARNING, "隐藏的行或列有数据", "第 {what} 被隐藏但有数据：请取消隐藏并确认内容")
rule("S-17", WARNING, "含宏的文件", "文件含有宏（VBA），系统只读取数据，不会运行宏；请另存为不含宏的 .xlsx")
rule("S-18", WARNING, "合并单元格", "填报区中有合并单元格 {ref}：请取消合并，每行单独填写")
rule("S-20", WARNING, "超出模板的列", "“{sheet_name}”第 {cols} 列之后还有内容（如 {ref}）：模板之外的内容没有读取，请删除")
rule("S-21", WARNING, "外部链接", "文件含有指向其他文件的外部链接（{target}）：系统不会打开或更新链接，请把链接改为数值后报送")
rule("S-23", ERROR, "模板尚未填写", "模板尚未填写：{what}：请填写后再报送")
rule("S-22", WARNING, "列顺序被改动", "“{sheet_name}”的列与模板不同（{detail}）：已按表头读取；请使用下发的模板，不要移动、插入或删除列")

# Cell content (P-)
rule("P-01", ERROR, "必填项为空", "“{label}”不能为空：请填写")
rule("P-02", ERROR, "名称重复", "{label}“{name}”与第 {other_row} 行重复：同一单位内{label}不得重复")
rule("P-03", ERROR, "不在代码表中", "“{value}”不是有效的{label}：请从下拉列表中选择（{choices}）")
rule("P-04", ERROR, "日期无效", "“{value}”不是有效日期：请填写如 2023-01-01 的日期")
rule("P-05", ERROR, "日期先后颠倒", "{start_label} {start} 晚于{end_label} {end}：请更正")
rule("P-06", ERROR, "期间不含本年度", "{noun}期间 {start} 至 {end} 不包含 {year} 年：请检查日期或年度")
rule("P-07", WARNING, "目标过短", "{label}过短或只是重复{name_label}：请写明本年度要完成的具体内容")
rule("P-08", ERROR, "单元格是公式", "单元格是公式（{formula}）：请直接填写数值或文字，不要使用公式")
rule("P-09", WARNING, "含有网页标签", "内容含有网页标签（如 {tag}）：请删除这些标签，只保留文字")
rule("P-10", WARNING, "文字过长", "内容有 {length} 个字，超过 {limit} 字：请精简")
rule("P-11", ERROR, "Excel 错误值", "单元格是错误值 {value}：请改为正确的数值或文字")
rule("P-13", ERROR, "只能填写一行", "“{sheet_name}”只能填写本{noun}一行：请删除多余的行")
rule("P-14", ERROR, "不是整数", "“{value}”不是有效的数目：请填写不小于 0 的整数")
rule("P-12", WARNING, "疑似错别字", "“{wrong}”疑似应为“{right}”：请核对")
rule("P-15", WARNING, "不可见字符", "内容含有不可见字符（{chars}）：已去掉这些字符后读取；请在单元格中删除它们（常见于从网页、微信或 PDF 复制的文字）")
rule("P-16", ERROR, "超过单元格上限", "内容有 {length} 个字符，超过 Excel 单元格上限 32,767 个字符，Excel 无法保存：请删减到上限以内")

# Money (F-)
rule("F-01", ERROR, "金额无效", "“{value}”不是有效金额：请填写不小于 0、最多两位小数的数字（单位：{unit}）")
rule("F-02", ERROR, "年度资金不平衡", "{total_label} {total} ≠ {parts_text} = {sum}（相差 {diff}）：{hint}")
rule("F-03", ERROR, "项目资金不平衡", "{total_label} {total} ≠ {parts_text} = {sum}（相差 {diff}）：请核对项目资金")
rule("F-11", ERROR, "预算结构不平衡", "{total_label} {total} ≠ {parts_text} = {sum}（相差 {diff}）：请核对预算结构")
rule("F-04", ERROR, "年度资金超过总额", "{annual_label} {annual} 大于{total_label} {total}：一年的资金不能超过{noun}全部资金")
rule("F-06", WARNING, "资金无年度归属", "单年度{noun}的{total_label} {total} 与{annual_label} {annual} 不同（差 {diff}）且无{carry_label}：请核对")
rule("F-10", WARNING, "金额量级可疑", "金额 {value} {unit}{problem}：请确认金额单位是{unit}")
rule("F-12", WARNING, "金额是文字", "金额“{value}”是文字格式，已按 {parsed} 读取：请填写为数字")
rule("F-13", ERROR, "金额超出精度", "金额 {value} 有 {digits} 位有效数字，超过 Excel 能准确保存的 15 位，汇总后分位会改变：请核对金额及金额单位（{unit}）")

# Hierarchy (H-)
rule("H-01", ERROR, "一级指标无效", "“{value}”不是{label}：请选择 {choices}")
rule("H-02", ERROR, "二级指标无效", "“{value}”不是“{level1}”下的{label}{suggestion}：请从下拉列表中选择（{choices}）")
rule("H-04", WARNING, "三级指标写法", "{label}“{value}”{problem}：{label}应是简短的指标名称")
rule("H-05", WARNING, "指标归类可疑", "{label}“{value}”{problem}")
rule("H-06", WARNING, "三级指标重复", "{noun}“{project}”中{label}“{value}”与第 {other_row} 行重复")
rule("H-07", WARNING, "使用了别名", "“{value}”请改为规范名称“{canonical}”")
rule("H-08", WARNING, "仍是填表说明", "{label}“{value}”是表格自带的填表说明：请按要求设置具体的{label}和{value_label}")
rule("H-09", ERROR, "所属记录不存在", "“{value}”不是“{sheet_name}”表中的{noun}：请从下拉列表中选择已填写的{name_label}")

# Completeness per project (C-)
rule("C-01", ERROR, "缺少核心指标", "{noun}“{project}”没有{level1}：每个{noun}至少要有一条{level1}")
rule("C-02", WARNING, "缺少建议的指标", "{noun}“{project}”没有{level1}：建议增加一条{level1}{example}")
rule("C-03", WARNING, "二级指标不全", "{noun}“{project}”的{level1}缺少{missing}")
rule("C-04", WARNING, "缺少成本指标", "{noun}“{project}”没有{level1}：请按成本控制要求设置{level1}，写明成本控制数{example}")
rule("C-05", WARNING, "指标过少", "{noun}“{project}”只有 {count} 条{indicators}：建议至少 {minimum} 条")
rule("C-06", WARNING, "目标中的数量未体现", "{label}写了“{phrase}”，但该{noun}的{value_label}中没有 {number}：请把这一目标设成指标")
rule("C-07", ERROR, "没有绩效指标", "{noun}“{project}”没有任何{indicators}：请在“{sheet_name}”表中填写")

# 指标值 (V-)
rule("V-01", ERROR, "运算符无效", "{label}“{value}”无效：请选择 ≥、≤、＝、>、< 之一，定性指标请留空")
rule("V-02", WARNING, "缺少运算符", "定量指标 {value} 没有{label}，将按“＝”处理：请选择 ≥、≤、＝、>、<")
rule("V-03", ERROR, "定量指标值不是数字", "选了{op_label}“{op}”，但{label}“{value}”不是数字：定量指标请只填数字，定性指标请清空{op_label}")
rule("V-04", ERROR, "缺少计量单位", "定量{value_label} {value} 没有{label}：请填写{label}（如 %、次、人）")
rule("V-05", ERROR, "百分比超过100", "{value}% 超过 100%：比率不能超过 100%，请更正")
rule("V-06", WARNING, "≥100%", "“≥100%”只有等于 100% 才能达到：请写“＝100%”或设一个可达到的下限")
rule("V-07", WARNING, "满意度运算符", "{level}应写下限（≥ 或 >），现为“{op}”")
rule("V-08", WARNING, "满意度过低", "满意度目标 {value}% 低于 {floor}%：请核对")
rule("V-09", WARNING, "满意度不是数值", "{level}值“{value}”不可衡量：请写成百分比，如 ≥90%")
rule("V-10", WARNING, "数量指标不是数值", "{level}的{label}“{value}”不是数字：{level}应是可计数的目标，如 ≥10(次)")
rule("V-11", WARNING, "成本指标写法", "{level}{problem}：{level}应写上限，如 ≤10万元")
rule("V-12", WARNING, "数量指标是上限", "{level}用了“{op}”（上限）：请确认，或改列为{cost}")
rule("V-13", WARNING, "比率不是百分比", "{level3_label}“{name}”是比率，{label}“{value}”却不是百分比：请写成如 ≥95%")
rule("V-14", WARNING, "成本指标是百分比", "{level3_label}“{name}”的{label}“{value}”是百分比：{level}应写成本控制数（金额或单位成本，如 ≤10万元），请改写", optional=True)
rule("V-15", WARNING, "时间不在本年度", "{label}“{value}”是 {got} 年的时间，本表是 {year} 年度：请核对")
rule("V-16", WARNING, "只写了方向", "{noun}“{project}”有 {count} 条{label}只写了方向（如“{example}”）：请写明可衡量的目标，或写明基数和目标值", optional=True)
rule("V-17", WARNING, "月份含义不明", "“{value}”含义不明：期限请写“12个月”，截止时间请写“{year}年12月底前”")
rule("V-19", WARNING, "期限方向不明", "{level}的{label}“{value}”没有写明是上限还是截止时间：{hint}", optional=True)
rule("V-18", WARNING, "文字中含数字", "{label}“{value}”把数字写在文字里：请拆成{op_label}、数字和{unit_label}，或写明基数")
rule("V-21", WARNING, "建议拆分填写", "{label}“{value}”写在了一个单元格里，已按 {op}{number}{unit} 读取：建议{op_label}、数值、{unit_label}分列填写")
rule("V-20", WARNING, "指标描述未填写", "{noun}“{project}”有 {count}/{total} 条指标的{label}为空或照抄{level3_label}：请说明计算方法、统计口径或衡量方法", optional=True)
rule("V-22", WARNING, "定性指标带单位", "定性{value_label}“{value}”带有{label}“{unit}”：定性指标请清空{label}")

# Against last year (Y-): only with a baseline (templates/check/merge --previous, or `previous` in jixiao.toml)
rule("Y-01", WARNING, "目标低于上年", "{level3_label}“{name}”的目标为“{value}”，{how}上年的“{previous}”：如确需降低，请在单位说明中写明理由；否则请不低于上年")
rule("Y-02", WARNING, "上年指标未填报", "{noun}“{project}”上年有{level3_label}“{name}”（上年{value_label}“{previous}”），本年没有：如不再适用，请在单位说明中写明理由；否则请补上")
rule("Y-03", WARNING, "上年项目未填报", "上年的经常性{noun}“{project}”（上年 {count} 条指标，如“{name}” {previous}）本年没有填报：如已不再开展，请在单位说明中写明理由")


def rule_table() -> str:
    """The README's rule table, generated from the catalogue (a test keeps them equal)."""
    lines = ["| 规则 | 级别 | 名称 | 提示文字（模板） |", "|---|---|---|---|"]
    for r in sorted(RULES.values(), key=lambda r: ("SPFHVCY".index(r.id[0]), r.id)):
        level = ("错误" if r.severity == ERROR else "提示") + ("（可选）" if r.optional else "")
        lines.append(f"| {r.id} | {level} | {r.title} | {r.template.replace('|', '｜')} |")
    return "\n".join(lines)


def update_readme(path: str) -> None:
    """Rewrite the README's generated rule table in place (`python -m jixiao.findings README.md`)."""
    import re
    from pathlib import Path

    readme = Path(path)
    text = readme.read_text(encoding="utf-8")
    table = rule_table()
    text = re.sub(r"<!-- rules:start -->\n.*?<!-- rules:end -->",
                  lambda _: f"<!-- rules:start -->\n{table}\n<!-- rules:end -->", text, flags=re.S)
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        update_readme(sys.argv[1])
    else:
        print(rule_table())
