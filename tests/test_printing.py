"""Every workbook `make demo` writes prints like a paper a finance office can use: printed through
LibreOffice, no text over other text, nothing below 9 pt, no "###", nothing cut off — for every
form: a template, every annotated copy, the 汇总表 and the 催报 sheet. (The units' own returns are
theirs, not ours.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from printcheck import assert_prints_cleanly, page_texts, sheet_pages, words
from jixiao.demo import run_demo
from jixiao.xlstyle import MAX_ROW_POINTS, text_height

pytestmark = pytest.mark.requires_soffice("pdftotext", "pdfinfo", "pdftohtml")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo"), say=lambda *_: None)


def workbooks(demo) -> list[tuple[str, Path]]:
    out = []
    for r in demo.rounds:
        out.append((f"{r.label}-template", r.templates[0]))
        out += [(f"{r.label}-annotated-{i}", p) for i, p in enumerate(r.annotated)]
        out.append((f"{r.label}-summary", r.merge.path))
        if (r.folder / "催报表.xlsx").exists():
            out.append((f"{r.label}-reminder", r.folder / "催报表.xlsx"))
    return out


def beyond_a_row(missing) -> bool:
    """Text a single Excel row cannot show whole (a row is at most 409 points; the 申报表 splits such
    text over rows, a data sheet's cell cannot): it stays whole in the cell, printed as far as it fits."""
    return text_height(missing.text, 40, 11) >= MAX_ROW_POINTS


CASES = ["sh-project-template", "sh-project-annotated-0", "sh-project-annotated-1", "sh-project-summary",
         "sh-project-reminder", "tj-project-template", "tj-project-annotated-0", "tj-project-summary",
         "tj-project-reminder", "sh-overall-template", "sh-overall-annotated-0", "sh-overall-summary",
         "sh-overall-reminder", "cn-2021-template", "cn-2021-annotated-0", "cn-2021-annotated-1",
         "cn-2021-summary", "cn-2021-reminder",
         # the second year, started from the first round's 汇总表: a template with last year's column,
         # and the 汇总表 that compares with last year
         "cn-2021-2024-template", "cn-2021-2024-summary"]


def test_the_demo_writes_the_workbooks_tested_here(demo):
    assert sorted(name for name, _ in workbooks(demo)) == sorted(CASES)


@pytest.mark.parametrize("case", CASES)
def test_prints_cleanly(demo, case, tmp_path):
    path = dict(workbooks(demo))[case]
    assert_prints_cleanly(path, tmp_path, ignore_cells=beyond_a_row)


def test_summary_pages_carry_title_and_page_numbers(demo, tmp_path):
    summary = demo.rounds[0].merge.path
    pdf = assert_prints_cleanly(summary, tmp_path)
    pages = sheet_pages(pdf)
    texts = page_texts(pdf)
    title = summary.stem
    for n in pages["汇总"]:
        page = texts[n - 1]
        assert title in page and f"第 {n} 页" in page
        assert "查看" not in page                  # the links are for the screen
    # 汇总 is wider than a page: it prints over several, each with 序号, 实施单位 and 项目名称.
    assert len(pages["汇总"]) >= 2
    for n in pages["汇总"]:
        assert "项目名称" in texts[n - 1] and "实施单位" in texts[n - 1]
    sizes = [w.size for w in words(pdf) if w.sheet == "汇总"]
    assert min(sizes) >= 9.0
