"""The page in a real browser: Debian's Chromium, driven by Playwright (executable_path, no browser
download). A real `jixiao serve` (uvicorn on its own thread) over a fresh collection folder; returns
go in through the file input and by a drop of files onto the page; the rows turn 通过 and 有错误
without a reload; the faulty unit's page shows its finding at the cell; the annotated copy and the
汇总表 download and open with openpyxl.

Skipped where chromium or playwright is missing, an error when CI=true (conftest: requires_chromium).
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import openpyxl
import pytest

from jixiao.collection import init_collection

from conftest import CHROMIUM, DEPT

pytestmark = pytest.mark.requires_chromium

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def site(tmp_path, roster_path):
    from jixiao.web.server import start_in_thread

    folder = tmp_path / "2023绩效目标"
    init_collection(folder, roster_path, DEPT, 2023, deadline="2023-03-31")
    running = start_in_thread(folder, port=0)
    try:
        yield running, folder
    finally:
        running.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield pg
    finally:
        context.close()
    assert errors == [], errors          # no script error on any page


def row(page, code: str, status: str):
    return page.locator(f'table.units tr[data-code="{code}"][data-status="{status}"]')


def wait_rows(page, expected: dict[str, str]) -> float:
    started = time.perf_counter()
    for code, status in expected.items():
        row(page, code, status).wait_for()
    return time.perf_counter() - started


def drop_files(page, paths: list[Path]) -> None:
    """What a drag of files from Explorer onto the page delivers: a DataTransfer with the files,
    dragenter, dragover and drop events on the drop area."""
    files = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in paths]
    page.evaluate("""(files) => {
        const dt = new DataTransfer();
        for (const [name, b64] of files) {
            const bin = atob(b64);
            const bytes = new Uint8Array(bin.length);
            for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
            dt.items.add(new File([bytes], name,
                {type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}));
        }
        const target = document.querySelector("#upload");
        for (const type of ["dragenter", "dragover", "drop"]) {
            target.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
        }
    }""", files)


def saved(download, folder: Path) -> Path:
    target = folder / download.suggested_filename
    download.save_as(target)
    return target


def test_upload_by_file_input_then_findings_annotated_copy_and_summary(site, page, fixed_returns, seed_returns,
                                                                       tmp_path):
    running, folder = site
    page.goto(running.url)
    assert page.locator("table.units tbody tr").count() == 3
    assert row(page, "310001", "未报送").count() == 1
    loaded = page.evaluate("performance.timeOrigin")

    page.set_input_files("#file-input", [str(fixed_returns["310001"]), str(seed_returns["310002"])])
    wait_rows(page, {"310001": "通过", "310002": "有错误"})
    assert page.evaluate("performance.timeOrigin") == loaded         # no reload: the table was updated in place
    assert page.locator("#upload-results li.ok").count() == 1 and page.locator("#upload-results li.bad").count() == 1
    assert "通过 1" in page.locator(".counts").inner_text().replace("\n", " ")
    assert (folder / "收件箱" / fixed_returns["310001"].name).read_bytes() == fixed_returns["310001"].read_bytes()

    # the status filter
    page.click('.counts .count[data-filter="有错误"]')
    assert page.locator("table.units tbody tr:visible").count() == 1
    page.click('.counts .count[data-filter=""]')
    assert page.locator("table.units tbody tr:visible").count() == 3

    # the faulty unit's page: the finding at its cell
    page.click('table.units tr[data-code="310002"] a')
    page.wait_for_url("**/unit/310002")
    finding = page.locator('table.findings tr[data-cell="项目信息!I14"][data-rule="F-02"]')
    assert finding.count() == 1
    assert "249,550.00" in finding.inner_text() and "项目信息!I14" in finding.inner_text()

    with page.expect_download() as info:
        page.click("#download-annotated")
    annotated = saved(info.value, tmp_path)
    wb = openpyxl.load_workbook(annotated)
    assert wb.sheetnames[0] == "校验结果"
    assert any("249,550.00" in str(c.value) for r in wb["校验结果"].iter_rows() for c in r if c.value)
    wb.close()

    # the 汇总表: blocked by the faulty unit, then merged without it
    page.click("#download-summary")
    page.locator("#merge-skipping").wait_for()
    assert page.locator('table.findings tr[data-cell="项目信息!I14"]').count() == 1
    with page.expect_download() as info:
        page.click("#merge-skipping")
    summary = saved(info.value, tmp_path)
    assert summary.name.endswith("汇总表.xlsx")
    wb = openpyxl.load_workbook(summary)
    assert "汇总" in wb.sheetnames
    wb.close()
    assert "与输入逐分一致" in page.locator("pre.lines").inner_text()


def test_upload_by_drag_and_drop(site, page, fixed_returns, seed_returns):
    running, folder = site
    page.goto(running.url)
    loaded = page.evaluate("performance.timeOrigin")
    drop_files(page, [fixed_returns["310002"], seed_returns["310001"]])
    wait_rows(page, {"310002": "通过", "310001": "有错误"})
    assert page.evaluate("performance.timeOrigin") == loaded
    assert row(page, "310003", "未报送").count() == 1
    assert sorted(p.name for p in (folder / "收件箱").glob("*.xlsx")) == sorted(
        [fixed_returns["310002"].name, seed_returns["310001"].name])

    # a file that is not a workbook is answered, not stored
    pdf = folder.parent / "说明.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    drop_files(page, [pdf])
    page.locator("#upload-results li.bad", has_text="这是 PDF 文件").wait_for()
    assert not list((folder / "收件箱").glob("*.pdf"))


def test_templates_download_as_a_zip(site, page, tmp_path):
    import zipfile

    running, folder = site
    page.goto(running.url)
    with page.expect_download() as info:
        page.click("#download-templates")
    archive = saved(info.value, tmp_path)
    with zipfile.ZipFile(archive) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".xlsx")]) == 3


def test_a_long_merge_shows_its_progress(site, page, fixed_returns, tmp_path, monkeypatch):
    """The merge's progress on the page: files read of all, then the writing; then the download."""
    import jixiao.publish
    from helpers import put

    running, folder = site
    for n, code in enumerate(("310001", "310002")):
        put(fixed_returns[code], folder / "收件箱", hours=n)
    write = jixiao.publish.write_summary

    def slow_write(*args, **kwargs):
        time.sleep(1.5)                  # the server runs in this process: a merge that takes its time
        return write(*args, **kwargs)

    monkeypatch.setattr(jixiao.publish, "write_summary", slow_write)
    page.goto(running.url)
    with page.expect_download() as info:
        page.click("#download-summary")
        page.locator("#job-count", has_text="已完成 2 / 2").wait_for()
        page.locator("#job-stage", has_text="正在写入汇总表并逐分核对").wait_for()
        assert page.locator("#job-fill").evaluate("el => el.style.width") == "100%"
    summary = saved(info.value, tmp_path)
    wb = openpyxl.load_workbook(summary)
    assert "汇总" in wb.sheetnames
    wb.close()


def test_with_a_token_the_address_opens_the_page_and_nothing_else_does(tmp_path, roster_path, browser,
                                                                          fixed_returns):
    from jixiao.web.server import start_in_thread

    folder = tmp_path / "c"
    init_collection(folder, roster_path, DEPT, 2023)
    running = start_in_thread(folder, port=0, token="a-long-token-1234")
    try:
        assert "?token=a-long-token-1234" in running.url
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(running.url)
            assert "token" not in page.url                      # the address was cleaned, a cookie holds it
            page.set_input_files("#file-input", [str(fixed_returns["310001"])])
            row(page, "310001", "通过").wait_for()
        finally:
            context.close()
        context = browser.new_context()
        try:
            page = context.new_page()
            answer = page.goto(running.url.split("?")[0])
            assert answer.status == 403 and "需要访问口令" in page.inner_text("body")
        finally:
            context.close()
    finally:
        running.stop()
