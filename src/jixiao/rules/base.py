"""What the rules share: the check context and how names are compared."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from ..roster import Roster
from ..spec import normalize_label

DEPT_TAG = re.compile(r"\s*[（(]\s*汇总\s*[)）]\s*$")


@dataclass
class Context:
    """What the department expects of every workbook in this round."""
    roster: Roster | None = None
    department: str | None = None
    year: int | None = None
    previous: object = None        # previous.Baseline: last year, for the Y- rules


def dept_key(name: str | None) -> str:
    """主管部门 as compared: without the "(汇总)" tag 汇总 exports add, NFKC, no spaces."""
    return normalize_label(DEPT_TAG.sub("", name or ""))


label_key = lru_cache(maxsize=65536)(normalize_label)


def blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value == ""


def amount(rec: dict, field_id: str | None) -> Decimal | None:
    value = rec.get(field_id) if field_id else None
    return None if blank(value) else value


def form_year(sub, ctx: Context) -> int | None:
    """The collection's year, or the year the workbook's `_meta` says."""
    if ctx.year:
        return ctx.year
    try:
        return int((sub.meta or {}).get("年度", ""))
    except ValueError:
        return None
