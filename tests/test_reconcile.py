"""reconcile: a 汇总表 that does not reproduce its inputs is caught, whatever part of it is wrong.

Each test merges the corrected seed returns, then changes one thing in a copy of the written
workbook's XML (as a bug in the writer would) and reconciles the copy against the same inputs."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from jixiao.blocks import anchor_text
from jixiao.errors import ReconciliationError
from jixiao.publish import merge_files
from jixiao.reconcile import reconcile
from jixiao.xlsxscan import sheet_parts

DEPT, YEAR = "上海市示例主管部门", 2023


@pytest.fixture(scope="module")
def merged(tmp_path_factory, fixed_returns, roster):
    out = tmp_path_factory.mktemp("reconcile") / "汇总表.xlsx"
    return merge_files(list(fixed_returns.values()), out, roster=roster, department=DEPT, year=YEAR)


def changed(merged, tmp_path: Path, sheet: str, change) -> Path:
    """A copy of the 汇总表 with one sheet's XML passed through change(xml) → xml (which must change it)."""
    target = tmp_path / "changed.xlsx"
    with zipfile.ZipFile(merged.path) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        part = sheet_parts(src)[sheet]
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == part:
                new = change(data)
                assert new != data, "the change did not apply"
                data = new
            dst.writestr(item, data)
    return target


def problems(merged, path: Path) -> str:
    with pytest.raises(ReconciliationError) as caught:
        reconcile(merged.consolidated, path)
    return str(caught.value)


def test_the_written_summary_reconciles(merged, tmp_path):
    untouched = changed(merged, tmp_path, "汇总", lambda xml: xml + b" ")
    assert reconcile(merged.consolidated, untouched)[-1].endswith("与输入逐分一致 ✓")


def test_a_records_amount_one_cent_off(merged, tmp_path):
    def one_cent_more(xml: bytes) -> bytes:
        # the first record's 年度资金申请总额: its column from the header, its row the first below it
        header = '<c r="([A-Z]+)\\d+"[^>]*t="inlineStr"><is><t>年度资金申请总额</t>'.encode()
        column = re.search(header, xml)[1]
        m = re.search(rb'<c r="' + column + rb'(?:[4-9]|\d\d+)"[^>]*><v>([0-9.]+)</v></c>', xml)
        value = round(float(m[1]) + 0.01, 2)
        return xml[:m.start(1)] + repr(value).encode() + xml[m.end(1):]

    text = problems(merged, changed(merged, tmp_path, "汇总", one_cent_more))
    assert "年度资金申请总额 合计" in text and "≠ 输入" in text


def test_a_subtotal_that_leaves_out_a_row(merged, tmp_path):
    def shorter(xml: bytes) -> bytes:
        m = re.search(rb"<f>SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)</f>", xml)
        return xml[:m.start(4)] + str(int(m[4]) - 1).encode() + xml[m.end(4):]

    text = problems(merged, changed(merged, tmp_path, "汇总", shorter))
    assert "小计行" in text and "重新计算后为" in text


def test_a_record_missing_from_the_summary(merged, tmp_path):
    def without_kind(xml: bytes) -> bytes:
        # the record row's kind (明细) becomes something else: the record is no longer on 汇总
        return xml.replace("<t>明细</t>".encode(), "<t>其他</t>".encode(), 1)

    text = problems(merged, changed(merged, tmp_path, "汇总", without_kind))
    assert "汇总表缺少" in text


def test_an_indicator_row_lost_from_the_detail_sheet(merged, tmp_path):
    def drop_last_row(xml: bytes) -> bytes:
        rows = list(re.finditer(rb"<row [^>]*>.*?</row>", xml, re.S))
        last = rows[-1]
        return xml[:last.start()] + xml[last.end():]

    text = problems(merged, changed(merged, tmp_path, "绩效指标明细", drop_last_row))
    assert "绩效指标明细中" in text and "输入为" in text


def test_a_form_block_without_its_anchor(merged, tmp_path):
    anchor = anchor_text(merged.consolidated).encode()

    def renamed(xml: bytes) -> bytes:
        return xml.replace(b"<t>" + anchor + b"</t>", b"<t>" + anchor + b"\xef\xbc\x9a</t>", 1)     # a colon more

    text = problems(merged, changed(merged, tmp_path, "申报表", renamed))
    assert "申报表有" in text and "应为" in text
