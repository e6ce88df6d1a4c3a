"""Property: whatever Unicode a unit types or pastes into the text fields of a real template —
control characters, escaped surrogates, invisible characters, very long strings — `check` and
`merge` agree. A file without errors always merges and reconciles to the cent; a file with errors
is refused; nothing raises (nor does the annotated copy, nor the JSON)."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jixiao.annotate import annotate
from jixiao.check import check_files
from jixiao.errors import MergeRefused
from jixiao.publish import merge_files
from jixiao.report import to_json
from jixiao.samples import fill_template
from jixiao.text import clean

from conftest import DEPT, YEAR

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
TEXT_TYPES = ("text", "longtext", "project_ref", "unit", "value")
INDICATORS = [
    {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "举办培训次数", "指标值": "≥12(次)"},
    {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "基层业务能力", "指标值": "有效提升"},
    {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "参训人员满意度", "指标值": "≥90(%)"},
]
CLEAN = {"projects": [{
    "项目名称": "业务培训项目", "项目性质": "经常性专项业务费", "项目类别": "特定目标类",
    "计划开始日期": "2023-01-01", "计划完成日期": "2023-12-31", "年度资金申请总额": "120000.00",
    "当年财政拨款": "100000.00", "上年结转资金": "0.00", "年度其他资金": "20000.00",
    "年度总体目标": "全年举办业务培训12次，培训基层人员600人次，提升业务能力。", "indicators": INDICATORS}]}
PROJECT_ROW, INDICATOR_ROWS = 3, (3, 4, 5)

# --- text a unit might paste ---------------------------------------------------------------------------

invisible = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066",
                             "\ufffe", "\uffff", "\U0001fffe", "\ufdd0", "\u3164", "\U000e0041", "\u180e"])
controls = st.characters(max_codepoint=0x9F, categories=("Cc",))
surrogates = st.integers(0xD800, 0xDFFF).map(lambda n: f"_x{n:04X}_")     # as Excel escapes a code unit
spaces = st.sampled_from([" ", "\u3000", "\u00a0", "\n", "\r\n", "\r", "\t", "\u2028", "\u2003"])
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
pieces = st.one_of(words, invisible, controls, surrogates, spaces, st.sampled_from(["培训", "项目", "=", "<p>"]))
short = st.lists(pieces, max_size=8).map("".join)
long = st.builds(lambda text, ch, n: text + ch * n, short, st.sampled_from(["长", "a", "😀", "\u200b", " "]),
                 st.integers(1_000, 40_000))
texts = st.one_of(short, short, short, short, long)

_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f]")


def excel_text(value: str) -> str:
    """Control characters as Excel stores them in a cell (_xHHHH_): XML cannot hold them."""
    return _XML_ILLEGAL.sub(lambda m: f"_x{ord(m[0]):04X}_", value)


@pytest.fixture(scope="module")
def clean_return(tmp_path_factory, templates, spec) -> Path:
    return fill_template(templates["310001"], CLEAN, tmp_path_factory.mktemp("fuzz-merge") / "310001_clean.xlsx", spec)


def text_cells(spec) -> list[tuple[str, int, int, str]]:
    """(sheet, Excel row, 1-based column, field id) of every text field of the filled rows."""
    cells = []
    for table, rows in ((spec.projects, (PROJECT_ROW,)), (spec.indicators, INDICATOR_ROWS)):
        for f in table.fields:
            if f.type in TEXT_TYPES:
                cells += [(table.name, row, table.column(f.id) + 1, f.id) for row in rows]
    return cells


@SETTINGS
@given(data=st.data())
def test_check_and_merge_agree_on_any_text(data, clean_return, spec, roster):
    import openpyxl

    cells = text_cells(spec)
    # the name always (it is every stage's key), then a few other text cells: few enough that many
    # examples pass check, so that the merge half of the property is exercised as often as the other
    names = [c for c in cells if c[3] in ("name", "project")]
    others = [c for c in cells if c not in names]
    chosen = names + data.draw(st.lists(st.sampled_from(others), max_size=4, unique=True), "cells")
    name = data.draw(st.one_of(texts.filter(lambda t: clean(t) is not None), texts), "name")
    wb = openpyxl.load_workbook(clean_return)
    for sheet, row, col, fid in chosen:
        if fid == "project":
            # mostly the project's own name, with noise that should (or should not) still name it
            value = data.draw(st.one_of(st.just(name), st.just(name), st.just(name), texts,
                                        st.builds(lambda a, b: a + name + b, invisible, spaces)))
        elif fid == "name":
            value = name
        else:
            value = data.draw(texts)
        wb[sheet].cell(row=row, column=col).value = excel_text(value)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "310001_fuzz.xlsx"
        wb.save(path)

        (report,) = check_files([path], roster=roster, department=DEPT, year=YEAR, keep_cells=True)
        json.loads(to_json([report]))
        annotate(report, spec, tmp / "annotated")
        out = tmp / "汇总.xlsx"
        if report.readable and report.errors == 0:
            result = merge_files([path], out, roster=roster, department=DEPT, year=YEAR)
            assert result.reconciliation[-1].endswith("与输入逐分一致 ✓")
            (project,) = result.consolidated.projects
            read = dict(zip(spec.projects.ids, report.submission.projects.rows[0][1]))["name"]
            assert project.name == clean(read)
        else:
            with pytest.raises(MergeRefused):
                merge_files([path], out, roster=roster, department=DEPT, year=YEAR)
            assert not out.exists()
