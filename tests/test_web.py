"""`jixiao serve`'s routes, through Starlette's test client: uploads into 收件箱/, the status table,
a unit's findings, the downloads, and every refusal (another site's Origin, a foreign Host, a
missing token, too large, not a workbook, names that try to leave the inbox)."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest
from starlette.testclient import TestClient

from jixiao.collection import init_collection
from jixiao.receive import ReceiveRefused, receive_return, return_name
from jixiao.web import app as web_app
from jixiao.web.app import create_app
from jixiao.web.guard import split_host
from jixiao.web.server import bind, check_address

from conftest import DEPT
from helpers import put

BASE = "http://127.0.0.1:8000"
ORIGIN = {"Origin": BASE}
PAGE = {"X-Jixiao": "1"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def folder(tmp_path, roster_path) -> Path:
    init_collection(tmp_path / "2023绩效目标", roster_path, DEPT, 2023, deadline="2023-03-31")
    return tmp_path / "2023绩效目标"


@pytest.fixture
def client(folder):
    with TestClient(create_app(folder, port=8000), base_url=BASE) as c:
        yield c


def upload(client, *files: tuple[str, bytes], headers=None):
    return client.post("/upload", files=[("file", (name, data, XLSX)) for name, data in files],
                       headers=headers if headers is not None else {**ORIGIN, **PAGE})


def rows(html: str) -> dict[str, str]:
    """单位编码 → status word, from the status table."""
    return dict(re.findall(r'<tr data-code="([^"]+)" data-status="([^"]+)"', html))


def inbox_files(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "收件箱").iterdir() if p.is_file())


# --- the home page and uploads -----------------------------------------------------------------

def test_home_lists_every_roster_unit_with_counts(client, roster):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert rows(html) == {u.code: "未报送" for u in roster.units}
    for unit in roster.units:
        assert unit.name in html
    assert "上海市示例主管部门2023年度项目绩效目标" in html and "2023-03-31" in html
    assert re.search(r"应报 <b>3</b>", html) and re.search(r"未报送 <b>3</b>", html)
    assert '<input id="file-input" type="file" name="file" multiple' in html


def test_an_uploaded_return_is_stored_byte_for_byte_and_checked(client, folder, fixed_returns, seed_returns):
    clean, faulty = fixed_returns["310001"], seed_returns["310002"]
    answer = upload(client, (clean.name, clean.read_bytes()))
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert result["ok"] and result["status"] == "通过" and result["unit"] == "310001"
    stored = folder / "收件箱" / clean.name
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(clean.read_bytes()).digest()
    assert rows(answer.json()["html"])["310001"] == "通过"

    (result,) = upload(client, (faulty.name, faulty.read_bytes())).json()["results"]
    assert result["status"] == "有错误" and "249,550.00" in result["message"]
    html = client.get("/").text
    assert rows(html) == {"310001": "通过", "310002": "有错误", "310003": "未报送"}
    assert re.search(r"有错误 <b>1</b>", html)
    assert client.get("/status").text.count("<tr data-code=") == 3


def test_many_files_in_one_request(client, folder, fixed_returns, seed_returns):
    answer = upload(client, *[(p.name, p.read_bytes()) for p in (fixed_returns["310001"], seed_returns["310002"])])
    statuses = [r["status"] for r in answer.json()["results"]]
    assert statuses == ["通过", "有错误"]
    assert len(inbox_files(folder)) == 2


def test_the_upload_form_works_without_scripts(client, folder, fixed_returns):
    p = fixed_returns["310001"]
    answer = client.post("/upload", files=[("file", (p.name, p.read_bytes(), XLSX))], headers=ORIGIN)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "上传结果" in answer.text and "通过" in answer.text and "应报 3 家：通过 1" in answer.text
    assert inbox_files(folder) == [p.name]


def test_the_status_filter(client, fixed_returns):
    upload(client, (fixed_returns["310001"].name, fixed_returns["310001"].read_bytes()))
    html = client.get("/", params={"status": "通过"}).text
    visible = re.findall(r'<tr data-code="([^"]+)" data-status="[^"]+">', html)
    hidden = re.findall(r'<tr data-code="([^"]+)" data-status="[^"]+" hidden>', html)
    assert visible == ["310001"] and sorted(hidden) == ["310002", "310003"]


def test_nothing_is_overwritten_and_the_same_bytes_are_not_stored_twice(client, folder, fixed_returns, seed_returns):
    name = fixed_returns["310001"].name
    first = seed_returns["310001"].read_bytes()
    upload(client, (name, first))
    (again,) = upload(client, (name, first)).json()["results"]
    assert again["duplicate"] and "没有重复保存" in again["message"]
    (second,) = upload(client, (name, fixed_returns["310001"].read_bytes())).json()["results"]
    assert second["file"] == name.removesuffix(".xlsx") + "（2）.xlsx"
    assert (folder / "收件箱" / name).read_bytes() == first
    assert len(inbox_files(folder)) == 2
    # the newer file is the unit's latest, the older one stays in its history
    assert rows(client.get("/").text)["310001"] == "通过"
    unit = client.get("/unit/310001").text
    assert "已被替代" in unit and "当前" in unit


@pytest.mark.parametrize("sent, stored", [
    ("../../outside.xlsx", "outside.xlsx"),
    ("..\\..\\outside.xlsx", "outside.xlsx"),
    ("C:\\fakepath\\回执.xlsx", "回执.xlsx"),
    ("/etc/cron.d/x.xlsx", "x.xlsx"),
    ("sub/dir/a.xlsx", "a.xlsx"),
    ("~$lock.xlsx", "lock.xlsx"),
    (".hidden.xlsx", "hidden.xlsx"),
    ("..xlsx", "未命名.xlsx"),
    ("con.xlsx", "_con.xlsx"),
    ("a:b*c?.XLSX", "a_b_c_.xlsx"),
])
def test_names_cannot_leave_the_inbox_or_hide_in_it(client, folder, fixed_returns, sent, stored):
    (result,) = upload(client, (sent, fixed_returns["310001"].read_bytes())).json()["results"]
    assert result["ok"], result
    assert result["file"] == stored
    assert inbox_files(folder) == [stored]
    assert not (folder.parent / "outside.xlsx").exists() and not (folder / "outside.xlsx").exists()
    assert rows(client.get("/").text)["310001"] == "通过"      # the scan sees it (no hidden or lock name)


@pytest.mark.parametrize("name, data, words", [
    ("报告.pdf", b"%PDF-1.7\n...", "这是 PDF 文件"),
    ("网页.xlsx", b"<html><body><table><tr><td>1</td></tr></table></body></html>", "这是网页"),
    ("旧版.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧版 Excel 97-2003"),
    ("空.xlsx", b"", "文件是空的"),
    ("名单.csv", "单位编码,单位名称\n1,2\n".encode(), "CSV/文本文件"),
])
def test_what_is_not_a_workbook_is_refused_in_the_readers_words(client, folder, name, data, words):
    (result,) = upload(client, (name, data)).json()["results"]
    assert not result["ok"] and words in result["message"] and "没有保存" in result["message"]
    assert inbox_files(folder) == []


def test_a_zip_that_is_no_workbook_by_its_name_is_refused(client, folder):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    (result,) = upload(client, ("说明.docx", buf.getvalue())).json()["results"]
    assert not result["ok"] and "只接收 Excel 工作簿" in result["message"] and ".docx" in result["message"]
    assert inbox_files(folder) == []


def test_an_upload_without_files_is_one_sentence(client):
    answer = client.post("/upload", data={"x": "1"}, headers={**ORIGIN, **PAGE})
    assert answer.status_code == 400 and "没有收到文件" in answer.json()["error"]


def test_too_large_is_refused_before_anything_is_stored(folder, monkeypatch, fixed_returns):
    monkeypatch.setattr(web_app, "MAX_BODY", 64 * 1024)
    with TestClient(create_app(folder, port=8000), base_url=BASE) as client:
        answer = upload(client, ("big.xlsx", b"PK\x03\x04" + b"\0" * 200_000))
    assert answer.status_code == 413 and "太大" in answer.json()["error"]
    assert inbox_files(folder) == []


def test_too_large_without_a_length_is_cut_off(folder, monkeypatch):
    monkeypatch.setattr(web_app, "MAX_BODY", 64 * 1024)
    boundary = "jixiao-boundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
            f"Content-Type: {XLSX}\r\n\r\n").encode()

    def body():                          # no Content-Length: sent in chunks
        yield head + b"PK\x03\x04"
        for _ in range(20):
            yield b"\0" * 16_384
        yield f"\r\n--{boundary}--\r\n".encode()

    with TestClient(create_app(folder, port=8000), base_url=BASE) as client:
        answer = client.post("/upload", content=body(), headers={
            **ORIGIN, **PAGE, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 413 and "太大" in answer.json()["error"]
    assert inbox_files(folder) == []


def test_a_file_over_the_readers_limit_is_refused(tmp_path, monkeypatch):
    import jixiao.receive as receive

    monkeypatch.setattr(receive, "MAX_FILE_BYTES", 1024)
    (tmp_path / "in").mkdir()
    with pytest.raises(ReceiveRefused, match="超过 0 MB 上限|上限"):
        receive_return(tmp_path / "in", "a.xlsx", b"PK\x03\x04" + b"\0" * 2000)
    assert list((tmp_path / "in").iterdir()) == []


def test_two_uploads_at_once_are_both_kept(folder, seed_returns, fixed_returns):
    name = fixed_returns["310002"].name
    contents = [seed_returns["310002"].read_bytes(), fixed_returns["310002"].read_bytes()]
    answers = []
    app = create_app(folder, port=8000)

    def send(data):
        with TestClient(app, base_url=BASE) as c:
            answers.append(upload(c, (name, data)).json()["results"][0])

    threads = [threading.Thread(target=send, args=(data,)) for data in contents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["file"] for a in answers) == sorted([name, name.removesuffix(".xlsx") + "（2）.xlsx"])
    stored = {(folder / "收件箱" / a["file"]).read_bytes() for a in answers}
    assert stored == set(contents)
    with TestClient(app, base_url=BASE) as c:
        unit = c.get("/unit/310002").text
    assert unit.count('<td class="file">') == 2


# --- a unit's page and its annotated copy -------------------------------------------------------

def test_the_unit_page_shows_the_findings_at_their_cells(client, seed_returns):
    faulty = seed_returns["310002"]
    upload(client, (faulty.name, faulty.read_bytes()))
    page = client.get("/unit/310002")
    assert page.status_code == 200
    html = page.text
    assert "上海市科学技术协会" in html and faulty.name in html
    assert 'data-cell="项目信息!I14" data-rule="F-02"' in html
    assert "F-02 年度资金不平衡" in html and "249,550.00" in html
    assert 'href="/unit/310002/annotated"' in html


def test_the_unit_page_shows_the_diff_against_the_previous_file(client, folder, seed_returns, fixed_returns):
    put(seed_returns["310001"], folder / "收件箱", hours=0)
    put(fixed_returns["310001"], folder / "收件箱", name="更正.xlsx", hours=24)
    html = client.get("/unit/310001").text
    assert "与上一份文件相比" in html and "仁云双益指标" in html and "社会效益指标" in html
    assert "变化 3 处" in html


def test_the_annotated_copy_downloads_and_opens(client, folder, seed_returns, tmp_path):
    faulty = seed_returns["310002"]
    upload(client, (faulty.name, faulty.read_bytes()))
    answer = client.get("/unit/310002/annotated")
    assert answer.status_code == 200 and answer.headers["content-type"] == XLSX
    assert "attachment" in answer.headers["content-disposition"]
    (tmp_path / "a.xlsx").write_bytes(answer.content)
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert wb.sheetnames[0] == "校验结果"
    wb.close()
    assert len(list((folder / "校验结果").glob("*_校验结果.xlsx"))) == 1
    assert inbox_files(folder) == [faulty.name]          # the input is untouched


def test_unknown_unit_and_unit_without_a_file(client):
    answer = client.get("/unit/999999")
    assert answer.status_code == 404 and "名单中没有单位编码为“999999”的单位" in answer.text
    assert "还没有收到这个单位的文件" in client.get("/unit/310003").text
    answer = client.get("/unit/310003/annotated")
    assert answer.status_code == 404 and "还没有报送文件" in answer.text


# --- downloads: 催报表, templates, the 汇总表 ----------------------------------------------------

def test_the_reminder_sheet_downloads(client, tmp_path, seed_returns):
    upload(client, (seed_returns["310002"].name, seed_returns["310002"].read_bytes()))
    answer = client.get("/download/reminder")
    assert answer.status_code == 200 and answer.headers["content-type"] == XLSX
    (tmp_path / "r.xlsx").write_bytes(answer.content)
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    ws = wb["催报"]
    statuses = [ws.cell(r, 6).value for r in range(4, 7)]
    assert statuses == ["未报送", "未报送", "有错误"]
    wb.close()


def run_job(client, kind: str, **form) -> dict:
    answer = client.post(f"/jobs/{kind}", data=form, headers={**ORIGIN, **PAGE})
    assert answer.status_code == 200, answer.text
    job = answer.json()
    client.app.site.jobs.wait()
    return client.get(f"/api/jobs/{job['id']}", headers=PAGE).json()


def test_templates_download_as_one_zip(client, folder, roster, tmp_path):
    job = run_job(client, "templates")
    assert job["state"] == "done", job
    assert job["done"] == job["total"] == 3
    answer = client.get(job["download"])
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as zf:
        names = sorted(zf.namelist())
    assert [n.split("_", 1)[0] for n in names] == [u.code for u in roster.units]
    assert sorted(p.name for p in (folder / "模板").glob("*.xlsx")) == names


def test_the_summary_when_errors_block_it_and_without_those_units(client, folder, seed_returns, fixed_returns,
                                                                  tmp_path):
    upload(client, (fixed_returns["310001"].name, fixed_returns["310001"].read_bytes()))
    upload(client, (seed_returns["310002"].name, seed_returns["310002"].read_bytes()))
    job = run_job(client, "merge")
    assert job["state"] == "refused" and job["download"] is None
    page = client.get(job["page"]).text
    assert "上海市科学技术协会" in page and 'data-cell="项目信息!I14"' in page
    assert 'name="skip_invalid" value="1"' in page and "不汇总这 1 个文件，汇总其余单位" in page
    assert not list(folder.glob("*汇总表.xlsx"))

    job = run_job(client, "merge", skip_invalid="1")
    assert job["state"] == "done", job
    assert any("已跳过 1 个有错误的文件" in line for line in job["lines"])
    assert any("与输入逐分一致" in line for line in job["lines"])
    answer = client.get(job["download"])
    assert answer.status_code == 200 and answer.headers["content-type"] == XLSX
    (tmp_path / "s.xlsx").write_bytes(answer.content)
    wb = openpyxl.load_workbook(tmp_path / "s.xlsx")
    assert "汇总" in wb.sheetnames
    wb.close()
    (summary,) = folder.glob("*汇总表.xlsx")
    assert summary.read_bytes() == answer.content
    done = client.get(job["page"]).text
    assert "已写入汇总表" in done and 'id="job-download"' in done


def test_a_merge_counts_its_progress_in_files(client, folder, fixed_returns):
    for n, code in enumerate(("310001", "310002")):
        put(fixed_returns[code], folder / "收件箱", hours=n)
    job = run_job(client, "merge")
    assert job["state"] == "done" and job["total"] == 2 and job["done"] >= 2
    assert job["message"].startswith("已写入汇总表") and "26 个项目" in job["message"]


def test_a_job_that_breaks_says_one_sentence_and_is_logged(client, monkeypatch, caplog):
    import jixiao.publish

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(jixiao.publish, "merge_files", broken)
    with caplog.at_level("ERROR", logger="jixiao.web"):
        job = run_job(client, "merge")
    assert job["state"] == "failed" and "内部错误" in job["message"] and "secret" not in job["message"]
    page = client.get(job["page"]).text
    assert "内部错误" in page and "Traceback" not in page and "secret internals" not in page
    assert "secret internals" in caplog.text


def test_a_merge_of_an_empty_inbox_says_so(client):
    job = run_job(client, "merge")
    assert job["state"] == "refused" and job["message"]
    assert "Traceback" not in job["message"]


def test_the_job_forms_work_without_scripts(client):
    answer = client.post("/jobs/merge", headers=ORIGIN, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/jobs/")
    client.app.site.jobs.wait()
    assert client.get(answer.headers["location"]).status_code == 200
    assert client.get("/jobs/nope").status_code == 404


# --- refusals ----------------------------------------------------------------------------------

EVIL = {"Origin": "http://evil.example"}


def test_a_cross_site_upload_is_refused_and_stores_nothing(client, folder, fixed_returns):
    p = fixed_returns["310001"]
    for headers in (EVIL, {**EVIL, **PAGE}, {"Origin": "null", **PAGE}, {"Origin": "http://127.0.0.1:9999", **PAGE},
                    {"Sec-Fetch-Site": "cross-site", **PAGE}, {"Sec-Fetch-Site": "same-site", **PAGE}):
        answer = upload(client, (p.name, p.read_bytes()), headers=headers)
        assert answer.status_code == 403, headers
        assert "其他网站" in answer.text
    assert inbox_files(folder) == []


def test_a_post_that_does_not_come_from_the_page_is_refused(client, folder, fixed_returns):
    p = fixed_returns["310001"]
    answer = upload(client, (p.name, p.read_bytes()), headers={})
    assert answer.status_code == 403 and "不是从 jixiao 页面发出的" in answer.text
    assert client.post("/jobs/merge").status_code == 403
    assert inbox_files(folder) == []


def test_cross_site_downloads_are_refused(client, seed_returns):
    upload(client, (seed_returns["310002"].name, seed_returns["310002"].read_bytes()))
    job = run_job(client, "templates")
    for path in ("/", "/status", "/unit/310002", "/unit/310002/annotated", "/download/reminder", job["download"],
                 f"/api/jobs/{job['id']}"):
        assert client.get(path).status_code == 200, path
        for headers in (EVIL, {"Sec-Fetch-Site": "cross-site"}):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 403, (path, headers)
            assert "其他网站" in answer.text and not answer.content.startswith(b"PK")


@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "127.0.0.1:9999", "localhost.evil:8000",
                                  "192.168.1.5:8000", "", "127.0.0.1:abc"])
def test_a_foreign_host_is_refused(folder, host):
    with TestClient(create_app(folder, port=8000), base_url=BASE) as client:
        answer = client.get("/", headers={"Host": host})
    assert answer.status_code == 400 and "不是运行 jixiao 的这台电脑" in answer.text


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "127.0.0.1"])
def test_the_machines_own_names_are_served(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200


def test_a_token_is_needed_on_every_request(folder):
    app = create_app(folder, host="0.0.0.0", port=8000, token="s3cret-token")
    with TestClient(app, base_url="http://192.168.1.5:8000") as client:
        answer = client.get("/")
        assert answer.status_code == 403 and "需要访问口令" in answer.text
        assert client.get("/", params={"token": "wrong-token"}).status_code == 403
        assert client.get("/static/app.js").status_code == 403
        answer = client.get("/", params={"token": "s3cret-token"}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        assert "HttpOnly" in answer.headers["set-cookie"] and "SameSite=Strict" in answer.headers["set-cookie"]
        assert client.get("/").status_code == 200                    # the cookie from now on
        assert client.get("/download/reminder").status_code == 200
    with TestClient(app, base_url="http://192.168.1.5:8000") as client:
        assert client.get("/", headers={"X-Jixiao-Token": "s3cret-token"}).status_code == 200
        assert client.get("/", headers={"Host": "evil.example:8000", "X-Jixiao-Token": "s3cret-token"}).status_code == 400


def test_every_answer_forbids_framing_and_foreign_scripts(client):
    for answer in (client.get("/"), client.get("/nowhere"), client.get("/", headers=EVIL),
                   client.get("/static/app.js")):
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    assert "style=" not in client.get("/").text and "<script>" not in client.get("/").text


def test_static_files_are_served_from_the_package(client):
    assert "DataTransfer" in client.get("/static/app.js").text or "dataTransfer" in client.get("/static/app.js").text
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


# --- errors: one sentence, never a traceback ---------------------------------------------------

def test_a_bug_shows_one_sentence_and_is_logged(folder, monkeypatch, caplog):
    def broken(self):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(web_app.Site, "status", broken)
    with TestClient(create_app(folder, port=8000), base_url=BASE, raise_server_exceptions=False) as client:
        with caplog.at_level("ERROR", logger="jixiao.web"):
            answer = client.get("/")
            as_json = client.get("/status", headers=PAGE)
    assert answer.status_code == 500 and "内部错误" in answer.text
    assert "Traceback" not in answer.text and "secret internals" not in answer.text
    assert as_json.status_code == 500 and "内部错误" in as_json.json()["error"]
    assert "secret internals" in caplog.text


def test_broken_settings_while_serving_are_one_sentence(client, folder):
    (folder / "jixiao.toml").write_text('dept = "x"\nyear = 1999\nroster = "roster.csv"\n', encoding="utf-8")
    answer = client.get("/")
    assert answer.status_code == 400 and "年度 1999 不合理" in answer.text


def test_unknown_pages_and_methods_are_chinese(client):
    answer = client.get("/nowhere")
    assert answer.status_code == 404 and "找不到这个页面" in answer.text
    answer = client.put("/upload", headers={**ORIGIN, **PAGE})
    assert answer.status_code == 405 and "不支持" in answer.text


# --- the library pieces and the command --------------------------------------------------------

@pytest.mark.parametrize("name, stored", [
    ("310001_单位_申报表.xlsx", "310001_单位_申报表.xlsx"),
    ("a.XLSX", "a.xlsx"),
    ("noext", "noext"),
    ("a\u200b\u0000b.xlsx", "ab.xlsx"),
    ("x" * 300 + ".xlsx", None),
])
def test_return_name(name, stored):
    got = return_name(name)
    assert "/" not in got and "\\" not in got and not got.startswith(".")
    assert len(got.encode()) <= 200
    if stored is not None:
        assert got == stored


def test_receive_never_overwrites_even_a_dangling_link(tmp_path, fixed_returns):
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a.xlsx").symlink_to(tmp_path / "nowhere.xlsx")
    data = fixed_returns["310001"].read_bytes()
    got = receive_return(inbox, "a.xlsx", data)
    assert got.name == "a（2）.xlsx" and got.path.read_bytes() == data
    assert not (tmp_path / "nowhere.xlsx").exists()
    assert sorted(p.name for p in inbox.iterdir()) == ["a.xlsx", "a（2）.xlsx"]      # no temporary file left


def test_unit_detail_from_the_ledger_and_without_one(folder, roster, seed_returns, fixed_returns, monkeypatch):
    from jixiao import ledger as ledger_module
    from jixiao.errors import LedgerError
    from jixiao.status import collection_status, unit_detail

    inbox = folder / "收件箱"
    put(seed_returns["310002"], inbox, hours=0)
    put(fixed_returns["310002"], inbox, name="更正.xlsx", hours=5)
    put(seed_returns["310001"], inbox, hours=1)
    report = collection_status(inbox, roster, department=DEPT, year=2023)
    detail = unit_detail(report, "310002")
    assert [e.path for e in detail.files] == [seed_returns["310002"].name, "更正.xlsx"]
    assert [e.current for e in detail.files] == [False, True] and detail.findings
    assert all(f["severity"] == "warning" for f in detail.findings)
    faulty = unit_detail(report, "310001")
    assert {(f["rule"], f["sheet"], f["cell"]) for f in faulty.findings if f["severity"] == "error"} == {
        ("H-02", "绩效指标", "C9"), ("V-04", "绩效指标", "G90")}
    assert unit_detail(report, "310003").files == [] and unit_detail(report, "999") is None

    def refuse(*args, **kwargs):
        raise LedgerError("只读")

    monkeypatch.setattr(ledger_module.Ledger, "open", classmethod(refuse))
    report = collection_status(inbox, roster, department=DEPT, year=2023)
    assert report.scan.ledger is None
    again = unit_detail(report, "310001")
    assert {(f["rule"], f["cell"]) for f in again.findings if f["severity"] == "error"} == {("H-02", "C9"),
                                                                                          ("V-04", "G90")}


def test_split_host():
    assert split_host("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert split_host("[::1]:80") == ("::1", 80)
    assert split_host("Localhost") == ("localhost", None)
    assert split_host("a:b") == ("a", -1)


def test_check_address():
    assert check_address("127.0.0.1", 8000, None) == ("127.0.0.1", None, False)
    host, token, generated = check_address("0.0.0.0", 8000, None)
    assert generated and len(token) >= 16
    assert check_address("0.0.0.0", 8000, "my-long-token") == ("0.0.0.0", "my-long-token", False)
    for args, words in ((("example.com", 8000, None), "不是 IP 地址"), (("127.0.0.1", 70000, None), "端口 70000"),
                        (("0.0.0.0", 8000, "short"), "至少 8 个字符"), (("", 8000, None), "不能为空")):
        with pytest.raises(Exception, match=words):
            check_address(*args)


def test_a_port_in_use_is_one_sentence():
    first = bind("127.0.0.1", 0)
    try:
        with pytest.raises(Exception, match="已被其他程序占用"):
            bind("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


def test_serve_outside_a_collection_is_one_chinese_line(tmp_path):
    result = run_cli("serve", tmp_path, "--no-browser")
    assert result.returncode == 2 and "不是收集文件夹" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("serve", "--no-browser", cwd=tmp_path)
    assert result.returncode == 2 and "不是收集文件夹" in result.stderr
    result = run_cli("serve", tmp_path, "--port", "abc")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_serve_runs_the_page_until_stopped(folder):
    import urllib.request

    import signal

    proc = subprocess.Popen([sys.executable, "-m", "jixiao.cli", "serve", str(folder), "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        lines = []
        while not any("收集情况页面" in line for line in lines):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        assert any("应报 3 家" in line for line in lines), lines      # the inbox scanned before the page is served
        url = re.search(r"http://\S+", "".join(lines))[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.status == 200 and "上海市科学技术协会" in answer.read().decode("utf-8")
    finally:
        proc.send_signal(signal.SIGINT)           # Ctrl+C
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "已停止" in out, (out, err)
    assert "Traceback" not in err


# --- the second year: the collection's `previous` is the page's too -----------------------------

def test_the_page_checks_against_last_year_as_the_commands_do(tmp_path, roster_path):
    from jixiao.contract import FIRST_DATA_ROW
    from jixiao.demo import run_round
    from jixiao.previous import load_previous
    from jixiao.samples import apply_fixes, load_seed, load_units_plan, review_carried, translate
    from jixiao.spec import load_form
    from jixiao.status import collection_status

    plan = load_units_plan()["round"][0]
    last_year = run_round(plan, tmp_path / "2023", say=lambda _line: None).merge.path
    folder = tmp_path / "2024绩效目标"
    c = init_collection(folder, roster_path, DEPT, 2024, previous=last_year)
    with TestClient(create_app(folder, port=8000), base_url=BASE) as client:
        job = run_job(client, "templates")
        assert job["state"] == "done" and any("从上年开始填" in line for line in job["lines"]), job
        spec = load_form()
        (template,) = (folder / "模板").glob("310002_*.xlsx")
        ws = openpyxl.load_workbook(template)[spec.indicators.name]
        first = [cell.value for cell in ws[FIRST_DATA_ROW + 1]]
        seed = next(u["seed"] for u in plan["units"] if u["code"] == "310002")
        data = apply_fixes(translate(load_seed(seed), spec), "310002", plan.get("fix", []))
        lowered = review_carried(template, data, tmp_path / template.name, spec, [
            {"project": first[0], "indicator": first[spec.indicators.column("level3")], "field": "value",
             "value": "3"}])
        (result,) = upload(client, (lowered.name, lowered.read_bytes())).json()["results"]
        assert result["status"] == "通过", result
        html = client.get("/unit/310002").text
        assert f'data-cell="{spec.indicators.name}!F{FIRST_DATA_ROW + 1}" data-rule="Y-01"' in html
        assert "≥4.00(次)" in html
    # the verdicts the page recorded are those `jixiao status` asks for: nothing is checked again
    report = collection_status(c.inbox, load_roster_of(c), department=DEPT, year=2024,
                               previous=load_previous(c.previous, load_form()))
    assert report.scan.checked == 0 and report.scan.cached == 1


def load_roster_of(c):
    from jixiao.roster import load_roster

    return load_roster(c.roster)
