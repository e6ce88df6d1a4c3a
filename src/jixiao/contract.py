"""The template contract: what a returned workbook is read and checked against.

Sheet names and rows every template has, the `_meta` keys, the file name, the prefill record and
the fingerprint of the locked content. The writer (template.py), the reader, the rules and the
annotated copy all take them from here; nothing in this module writes a file.
"""

from __future__ import annotations

import json
from decimal import Decimal

from .spec import FormSpec, fingerprint
from .text import MAX_NAME_BYTES, safe_filename

INSTRUCTIONS_SHEET = "填报说明"
CODES_SHEET = "代码表"
META_SHEET = "_meta"
RESULT_SHEET = "校验结果"              # first sheet of an annotated copy; never read as data …
# … but for the unit's answers to warnings: by rule and content key (a hidden column), in 单位说明.
RULE_LABEL, KEY_LABEL, EXPLANATION_LABEL = "规则", "定位键", "单位说明"
GROUP_ROW, HEADER_ROW, FIRST_DATA_ROW = 0, 1, 2     # 0-based rows on the data sheets
META_KEYS = ("form_id", "form_version", "年度", "主管部门", "单位编码", "单位名称",
             "截止日期", "生成时间", "生成工具", "prefill", "fingerprint")
META_OPTIONAL = ("截止日期", "生成时间", "生成工具")  # absent in templates made before they existed
# The 汇总表's own words (jixiao's, not a form's): render writes them, previous reads them back from
# last year's 汇总表.
SUMMARY_SHEET, DETAIL_SHEET, OFFICIAL_COLUMN = "汇总", "绩效指标明细", "指标值（规范写法）"
UNIT_CODE_LABEL, UNIT_LABEL = "单位编码", "实施单位"
KIND_COLUMN, ROW_RECORD = "行类型", "明细"
# Last year as the baseline: the 汇总表's comparison column and its words, and 汇总's two counts.
COMPARE_LABEL = "与上年比较"
SAME, HIGHER, LOWER, CHANGED, NEW = "持平", "提高", "降低", "调整", "新增"
LOWERED_COUNT_LABEL, NEW_COUNT_LABEL = "比上年降低", "本年新增"
CELL_MAX_CHARS = 32767                # Excel's limit for one cell; _meta prefill must fit in it
PREFILL_MAX_PARTS = 50


def template_filename(unit, year: int, spec: FormSpec | None = None) -> str:
    """`{单位编码}_{单位名称}_{年度}年度{title}.xlsx`, at most MAX_NAME_BYTES bytes: a long unit name
    is cut (with …) after the code, which stays whole (the roster keeps codes short)."""
    title = spec.file_title if spec else "项目绩效目标申报表"
    tail = f"_{year}年度{title}.xlsx"
    head = safe_filename(f"{unit.code}_{unit.name}", max_bytes=MAX_NAME_BYTES - len(tail.encode("utf-8")))
    return head + tail


def prefill_records(spec: FormSpec, budget) -> list[dict]:
    """What the template freezes per budget row: Excel row number and the frozen values as text,
    keyed by label (as the unit sees them, and as templates of every jixiao version store them)."""
    frozen = {f.id: f.label for f in spec.prefill_fields()}
    records = []
    for i, row in enumerate(budget):
        values = {frozen[k]: (f"{v:.2f}" if isinstance(v, Decimal) else str(v))
                  for k, v in row.values.items() if k in frozen}
        records.append({"row": FIRST_DATA_ROW + i + 1, "values": values})
    return records


def prefill_json(prefill: list[dict]) -> str:
    """The `_meta` prefill value: compact JSON, split over rows prefill, prefill.2, … (one cell
    holds at most CELL_MAX_CHARS characters)."""
    return json.dumps(list(prefill), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def prefill_parts(text: str) -> dict[str, str]:
    chunks = [text[i:i + CELL_MAX_CHARS] for i in range(0, len(text), CELL_MAX_CHARS)] or [""]
    return {("prefill" if i == 0 else f"prefill.{i + 1}"): chunk for i, chunk in enumerate(chunks)}


def meta_prefill_text(meta: dict) -> str:
    """The prefill JSON as written, joined back from its `_meta` rows."""
    text, i = meta.get("prefill") or "", 2
    while f"prefill.{i}" in meta:
        text += meta[f"prefill.{i}"]
        i += 1
    return text


def meta_prefill(meta: dict) -> list[dict] | None:
    """The prefill records of a `_meta`, or None when they are not valid JSON records."""
    try:
        prefill = json.loads(meta_prefill_text(meta) or "[]")
    except ValueError:
        return None
    if not isinstance(prefill, list) or not all(isinstance(r, dict) and isinstance(r.get("values", {}), dict)
                                                for r in prefill):
        return None
    return prefill


def template_fingerprint(spec: FormSpec, identity: dict, prefill: list[dict]) -> str:
    """Hash of everything a unit must not change: labels, code lists, identity, prefill."""
    return fingerprint({"spec": spec.fingerprint_basis(), "identity": identity, "prefill": prefill})


def meta_identity(spec: FormSpec, department: str, year: int | str, unit) -> dict:
    return {"form_id": spec.id, "form_version": spec.version, "年度": str(year),
            "主管部门": department, "单位编码": unit.code, "单位名称": unit.name}


def physical_columns(n_fields: int, reference_at: int | None) -> list[int]:
    """The sheet column of each field (spec order) in a template: the fields from reference_at on
    stand one column to the right of last year's reference column, when there is one."""
    return [i + (1 if reference_at is not None and i >= reference_at else 0) for i in range(n_fields)]
