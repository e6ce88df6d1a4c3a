"""The README's screenshots of `jixiao serve`, and two timings: upload to row, and a merge on the page.

    .venv/bin/python docs/web_screenshots.py        # writes docs/web-*.png, prints the timings

A fresh collection of the demo's first round (samples/roster.csv): 上海市欧美同学会 sent its seed
return and then a corrected one, 上海市科学技术协会 uploads its seed return (with the F-02 error)
through the page, 上海市归国华侨联合会 sends nothing. Needs /usr/bin/chromium and playwright.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from jixiao.collection import init_collection
from jixiao.roster import load_roster
from jixiao.samples import apply_fixes, fill_template, load_seed, load_units_plan, samples_dir, translate
from jixiao.spec import load_form
from jixiao.template import write_templates
from jixiao.web.server import start_in_thread

DOCS = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--font-render-hinting=none"]


def returns(work: Path, roster) -> dict[tuple[str, bool], Path]:
    spec, plan = load_form(), load_units_plan()["round"][0]
    templates = {p.name.split("_", 1)[0]: p for p in write_templates(roster, "上海市示例主管部门", 2023, work / "模板",
                                                                       deadline=dt.date(2023, 3, 31))}
    out = {}
    for unit in plan["units"]:
        for fixed in (False, True):
            data = load_seed(unit["seed"])
            if fixed:
                data = apply_fixes(translate(data, spec), unit["code"], plan.get("fix", []))
            template = templates[unit["code"]]
            name = template.name if not fixed else f"{template.stem}（更正）.xlsx"
            (work / ("fixed" if fixed else "seed")).mkdir(exist_ok=True)
            out[unit["code"], fixed] = fill_template(template, data, work / ("fixed" if fixed else "seed") / name, spec)
    return out


def put(src: Path, inbox: Path, moment: dt.datetime) -> None:
    target = inbox / src.name
    shutil.copyfile(src, target)
    ns = int(moment.timestamp() * 1e9)
    os.utime(target, ns=(ns, ns))


def main() -> None:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="jixiao-shots-"))
    try:
        folder = work / "2023绩效目标"
        c = init_collection(folder, samples_dir() / "roster.csv", "上海市示例主管部门", 2023, deadline="2023-03-31")
        files = returns(work, load_roster(c.roster))
        put(files["310001", False], c.inbox, dt.datetime(2023, 3, 20, 9, 30))
        put(files["310001", True], c.inbox, dt.datetime(2023, 3, 24, 14, 5))
        running = start_in_thread(folder, port=0)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
                page = browser.new_page(viewport={"width": 1360, "height": 760}, locale="zh-CN",
                                        accept_downloads=True, device_scale_factor=1)
                page.goto(running.url)
                started = time.perf_counter()
                page.set_input_files("#file-input", [str(files["310002", False])])
                page.locator('tr[data-code="310002"][data-status="有错误"]').wait_for()
                faulty_latency = time.perf_counter() - started
                page.screenshot(path=DOCS / "web-home.png", full_page=True)

                page.click('tr[data-code="310002"] a')
                page.wait_for_url("**/unit/310002")
                page.screenshot(path=DOCS / "web-unit.png", full_page=True)

                page.goto(running.url)
                page.click("#download-summary")
                page.locator("#merge-skipping").wait_for()
                page.screenshot(path=DOCS / "web-summary-blocked.png", full_page=True)

                page.goto(running.url)
                started = time.perf_counter()
                page.set_input_files("#file-input", [str(files["310002", True])])
                page.locator('tr[data-code="310002"][data-status="通过"]').wait_for()
                clean_latency = time.perf_counter() - started

                started = time.perf_counter()
                with page.expect_download() as info:
                    page.click("#download-summary")
                info.value.path()
                merge_seconds = time.perf_counter() - started
                page.locator("pre.lines").wait_for()
                page.screenshot(path=DOCS / "web-summary-done.png", full_page=True)
                browser.close()
        finally:
            running.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"upload → row: faulty return {faulty_latency:.2f} s, clean return {clean_latency:.2f} s")
    print(f"下载汇总表 on the page (2 units, 26 projects), click → file: {merge_seconds:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
