"""The collection's web page: a thin Starlette layer over the same library calls as the CLI.

    GET  /                         收集情况: counts, one row per roster unit, the upload area
    GET  /status                   the status section alone (the page refreshes it after uploads)
    POST /upload                   returns (multipart, field "file", one or more) → 收件箱/, checked
    GET  /unit/{code}              a unit: its files, the findings of the latest, the diff
    GET  /unit/{code}/annotated    the annotated copy of its latest file (written to 校验结果/)
    GET  /download/reminder        the 催报表 (status --xlsx)
    POST /jobs/templates           templates into 模板/, then a zip of them        } a job page with
    POST /jobs/merge               the 汇总表 (skip_invalid=1: without the files   } progress, then
                                   that have errors)                               } the download
    GET  /jobs/{id}, /api/jobs/{id}, /jobs/{id}/file

Settings are read from jixiao.toml at every request (an edit in Notepad shows at once). Known
library errors become one Chinese sentence; a bug becomes one sentence too, and its traceback goes
to the server's log only. Every request has passed jixiao.web.guard first.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import threading
import zipfile
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..collection import Collection
from ..errors import InputError, MergeRefused, OutputError, ReconciliationError, SpecError, UsageError
from ..fileio import atomic_path
from ..package import MAX_FILE_BYTES
from ..receive import ReceiveRefused, receive_return
from ..text import safe_filename, shown_path
from .guard import PAGE_HEADER, Guard, TooLarge
from .jobs import BUG, DONE, FAILED, REFUSED, RUNNING, Jobs, Refusal

log = logging.getLogger("jixiao.web")

WEB_DIR = Path(__file__).resolve().parent
MAX_BODY = MAX_FILE_BYTES + 4 * 1024 * 1024       # one file per request from the page, plus the form
MAX_FILES = 200                                   # files in one request (a form posted without scripts)
KNOWN = (UsageError, InputError, OutputError, SpecError)


class Site:
    """What the pages share: the collection folder, a lock that lets one scan run at a time (two
    would only do the same work; the ledger's transactions keep them safe anyway), the jobs, and
    a private folder for downloads that are not part of the collection (zips, 催报表)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.scan_lock = threading.Lock()
        self.jobs = Jobs()
        self._scratch: Path | None = None
        self._roster_cache: tuple | None = None
        self._baseline_cache: tuple | None = None

    def collection(self) -> Collection:
        return Collection.load(self.folder)

    def roster(self, c: Collection):
        from ..roster import load_roster

        stat = c.roster.stat()
        key = (str(c.roster), stat.st_mtime_ns, stat.st_size)
        if self._roster_cache is None or self._roster_cache[0] != key:
            self._roster_cache = (key, load_roster(c.roster))
        return self._roster_cache[1]

    def baseline(self, c: Collection):
        """Last year's baseline from the collection's `previous` (as the commands take it), or None."""
        from ..previous import load_previous
        from ..spec import load_form

        if c.previous is None:
            return None
        stat = c.previous.stat()
        key = (str(c.previous), stat.st_mtime_ns, stat.st_size, c.form)
        if self._baseline_cache is None or self._baseline_cache[0] != key:
            self._baseline_cache = (key, load_previous(c.previous, load_form(c.form)))
        return self._baseline_cache[1]

    def scratch(self) -> Path:
        if self._scratch is None or not self._scratch.is_dir():
            self._scratch = Path(tempfile.mkdtemp(prefix="jixiao-web-"))
        return self._scratch

    def close(self) -> None:
        self.jobs.wait()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- the library calls ----------------------------------------------------------------------
    def status(self, progress=None):
        """collection_status() as `jixiao status` runs it in the collection folder."""
        from ..status import collection_status

        c = self.collection()
        units = self.roster(c)
        baseline = self.baseline(c)
        with self.scan_lock:
            report = collection_status(c.inbox, units, department=c.department, year=c.year, form=c.form,
                                       progress=progress, previous=baseline)
        return c, report

    def receive(self, items: list[tuple[str, bytes]]) -> tuple[list[dict], object, Collection]:
        """Store each (name, bytes) in 收件箱/, then scan once; one result per item, in order."""
        c = self.collection()
        outcomes: list = []
        for name, data in items:
            try:
                outcomes.append(receive_return(c.inbox, name, data))
            except ReceiveRefused as exc:
                outcomes.append(str(exc))
        c, report = self.status()
        return [_outcome(item, report) for item in outcomes], report, c


def _outcome(item, report) -> dict:
    """What the page says about one uploaded file, from the status report after the scan."""
    from ..status import STATUS_BAD, STATUS_OK

    if isinstance(item, str):
        return {"ok": False, "message": item}
    stored = item.name
    saved = (f"与收件箱中的“{shown_path(stored)}”完全相同，没有重复保存" if item.duplicate else
             f"已保存为“{shown_path(stored)}”" if item.renamed else f"已保存“{shown_path(stored)}”")
    base = {"ok": True, "file": shown_path(stored), "duplicate": item.duplicate}
    for row in report.rows:
        if row.entry is not None and row.entry.path == shown_path(stored):
            e = row.entry
            if row.status == STATUS_OK:
                verdict = f"通过（{e.warnings} 个提示）" if e.warnings else "通过"
            elif row.status == STATUS_BAD:
                verdict = f"有错误（{e.errors} 个错误）：{e.problem}" if e.errors else f"有错误：{e.problem or '无法读取'}"
            else:
                verdict = row.status
            return {**base, "unit": row.unit.code, "status": row.status,
                    "message": f"{saved}：{row.unit.name}，{verdict}"}
        if any(old.path == shown_path(stored) for old in row.superseded):
            return {**base, "unit": row.unit.code, "status": row.status,
                    "message": f"{saved}：{row.unit.name}已有更新的文件，这份不计入报送情况"}
    for other in report.others:
        if other.path == shown_path(stored):
            return {**base, "status": "名单外", "message": f"{saved}，但不计入报送情况：{other.reason}"}
    return {**base, "message": saved}


# --- rendering -------------------------------------------------------------------------------------

def _environment() -> Environment:
    env = Environment(loader=PackageLoader("jixiao.web", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M") if moment else ""
    env.filters["shown"] = lambda text: shown_path(text) if text else ""
    env.filters["url"] = lambda text: quote(str(text), safe="")
    return env


ENV = _environment()


def render(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(name).render(**context), status_code=status)


def _wants_json(request: Request) -> bool:
    return PAGE_HEADER in request.headers or "application/json" in request.headers.get("accept", "")


def message_page(request: Request, message: str, status: int = 400, title: str = "无法完成") -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render("message.html", status, title=title, message=message)


def _status_context(c: Collection, report) -> dict:
    from ..status import STATUS_BAD, STATUS_MISSING, STATUS_OK, changed_text

    today = dt.date.today()
    due = None
    if c.deadline:
        days = (c.deadline - today).days
        due = (f"{c.deadline.isoformat()}（还有 {days} 天）" if days > 0 else
               f"{c.deadline.isoformat()}（今天截止）" if days == 0 else f"{c.deadline.isoformat()}（已过 {-days} 天）")
    counts = [("应报", len(report.rows), ""), (STATUS_OK, report.count(STATUS_OK), STATUS_OK),
              (STATUS_BAD, report.count(STATUS_BAD), STATUS_BAD), (STATUS_MISSING, report.count(STATUS_MISSING),
                                                                  STATUS_MISSING)]
    return {"c": c, "report": report, "title": report.title.removesuffix("报送情况") or c.describe(),
            "deadline": due, "counts": counts, "changed_text": changed_text,
            "statuses": (STATUS_OK, STATUS_BAD, STATUS_MISSING), "summary": report.summary_line(),
            "records": report.nouns[0], "indicators": report.nouns[1]}


# --- pages -----------------------------------------------------------------------------------------

def home(request: Request):
    c, report = request.app.state.site.status()
    wanted = request.query_params.get("status", "")
    return render("home.html", **_status_context(c, report), wanted=wanted, max_mb=MAX_FILE_BYTES // 1024 // 1024)


def status_section(request: Request):
    c, report = request.app.state.site.status()
    return render("_status.html", **_status_context(c, report), wanted=request.query_params.get("status", ""))


async def upload(request: Request):
    site: Site = request.app.state.site
    async with request.form(max_files=MAX_FILES, max_fields=20) as form:
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        items = []
        for f in files:
            items.append((f.filename or "", await f.read(MAX_FILE_BYTES + 1)))
    if not items:
        return message_page(request, "没有收到文件：请选择或拖入各单位报送的 .xlsx 文件", 400)
    results, report, c = await run_in_threadpool(site.receive, items)
    if not _wants_json(request):            # the form posted without scripts: the results as a page
        return render("message.html", title="上传结果", message=report.summary_line(),
                      lines=[r["message"] for r in results])
    section = ENV.get_template("_status.html").render(**_status_context(c, report), wanted="")
    return JSONResponse({"results": results, "html": section, "summary": report.summary_line()})


def unit_page(request: Request):
    from ..diff import change_lines
    from ..findings import RULES
    from ..report import SEVERITY_TEXT
    from ..status import changed_text, unit_detail

    site: Site = request.app.state.site
    c, report = site.status()
    code = request.path_params["code"]
    detail = unit_detail(report, code, c.form, previous=site.baseline(c))
    if detail is None:
        return message_page(request, f"名单中没有单位编码为“{code}”的单位：请从收集情况页面选择单位", 404, "找不到单位")
    row = detail.row
    changes = None
    if row.changes is not None:
        changes = {"previous": row.changes.previous.path, "latest": row.changes.latest.path,
                   "text": changed_text(row, long=True),
                   "lines": change_lines(row.changes.changes) if row.changes.changes else []}
    findings = [{**f, "level": SEVERITY_TEXT.get(f.get("severity"), f.get("severity")),
                 "title": RULES[f["rule"]].title if f.get("rule") in RULES else ""} for f in detail.findings]
    return render("unit.html", **_status_context(c, report), row=row, files=detail.files, findings=findings,
                  changes=changes)


def annotated(request: Request):
    from ..annotate import check_and_annotate
    from ..preflight import output_folder

    site: Site = request.app.state.site
    c, report = site.status()
    code = request.path_params["code"]
    row = next((r for r in report.rows if r.unit.code == code), None)
    if row is None or row.entry is None:
        return message_page(request, "这个单位还没有报送文件，没有标注副本可以下载", 404, "没有标注副本")
    entry = row.entry
    output_folder(c.results_dir, what="标注副本文件夹", folders=[c.inbox])
    _, written = check_and_annotate([entry.full_path], c.results_dir, roster=site.roster(c), department=c.department,
                                    year=c.year, form=c.form, previous=site.baseline(c))
    path = written[0] if written else None
    if path is None:
        return message_page(request, f"“{entry.name}”无法生成标注副本：{entry.problem or '文件无法读取'}。"
                                     "请把这个问题告诉该单位，请其用下发的模板重新填报", 409, "没有标注副本")
    return FileResponse(path, filename=path.name, media_type=XLSX)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def reminder(request: Request):
    from ..status import write_status_xlsx

    site: Site = request.app.state.site
    c, report = site.status()
    name = safe_filename(f"{report.title}（催报）", ".xlsx")
    folder = Path(tempfile.mkdtemp(dir=site.scratch()))
    write_status_xlsx(report, folder / name, site.roster(c))
    return FileResponse(folder / name, filename=name, media_type=XLSX,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


# --- jobs ------------------------------------------------------------------------------------------

def _refusal(exc: Exception) -> Refusal:
    if isinstance(exc, MergeRefused):
        return Refusal(str(exc), exc.reason, [r for r in exc.reports if r.errors or not r.readable])
    if isinstance(exc, InputError):
        return Refusal("\n".join(exc.problems))
    return Refusal(str(exc))


def _merge_work(site: Site, skip_invalid: bool):
    from ..check import collect_paths
    from ..publish import merge_files

    def work(job):
        try:
            c = site.collection()
            units = site.roster(c)
            job.total = len(collect_paths([c.inbox]))
            job.stage = "读取并校验各单位的文件"
            baseline = site.baseline(c)
            result = merge_files([c.inbox], c.summary_path, roster=units, department=c.department, year=c.year,
                                 skip_invalid=skip_invalid, form=c.form, progress=job.tick, previous=baseline)
        except (MergeRefused, ReconciliationError, *KNOWN) as exc:
            raise _refusal(exc) from None
        job.file, job.download_name = result.path, result.path.name
        skipped = [r for r in result.reports if r.errors or not r.readable]
        job.lines = list(result.reconciliation)
        if skipped:
            job.lines.insert(0, f"已跳过 {len(skipped)} 个有错误的文件：" +
                             "、".join(shown_path(r.path.name) for r in skipped))
        job.lines.extend(f"注意：{note}" for note in result.notes)
        job.message = (f"已写入汇总表“{result.path.name}”（{len(result.consolidated.projects)} 个"
                       f"{result.consolidated.spec.record_noun}），也保存在收集文件夹中")
    return work


def _templates_work(site: Site):
    from ..preflight import output_folder
    from ..roster import load_budget
    from ..template import write_templates

    def work(job):
        try:
            c = site.collection()
            units = site.roster(c)
            job.total = len(units.units)
            job.stage = "生成各单位的模板"
            output_folder(c.templates_dir, what="模板文件夹")
            prefill = load_budget(c.budget, units, c.form) if c.budget else None
            baseline = site.baseline(c)
            paths = write_templates(units, c.department, c.year, c.templates_dir, budget=prefill,
                                    deadline=c.deadline, form=c.form, progress=job.tick,
                                    previous=baseline)
        except KNOWN as exc:
            raise _refusal(exc) from None
        if baseline is not None:                 # what `jixiao templates` says about last year's file
            from ..spec import load_form

            lines, warnings = baseline.template_lines(load_form(c.form), units, c.year)
            job.lines.extend(lines + [f"注意：{w}" for w in warnings])
        job.stage = "打包"
        name = safe_filename(f"{c.department}{c.year}年度模板（{len(paths)}份）", ".zip")
        target = site.scratch() / job.id / name
        with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in paths:
                zf.write(path, path.name)
        job.file, job.download_name = target, name
        job.message = f"已生成 {len(paths)} 份模板，也保存在收集文件夹的 {c.templates_dir.name}/ 中"
    return work


async def start_job(request: Request):
    site: Site = request.app.state.site
    kind = request.path_params["kind"]
    async with request.form(max_files=0, max_fields=10) as form:
        skip = form.get("skip_invalid") in ("1", "true", "on")
    if kind == "merge":
        job = site.jobs.start("merge", "下载汇总表", _merge_work(site, skip))
    elif kind == "templates":
        job = site.jobs.start("templates", "下载模板", _templates_work(site))
    else:
        return message_page(request, "没有这项操作：请从收集情况页面选择", 404)
    if _wants_json(request):
        return JSONResponse(job.to_dict())
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _job(request: Request):
    return request.app.state.site.jobs.get(request.path_params["id"])


def job_page(request: Request):
    job = _job(request)
    if job is None:
        return message_page(request, "这项操作已过期（服务已重新启动）：请回到收集情况页面重新操作", 404, "找不到")
    blocked = []
    for r in job.blocked:
        meta = r.submission.meta or {}
        blocked.append({"file": shown_path(r.path.name), "unit": " ".join(x for x in (meta.get("单位编码"),
                                                                                     meta.get("单位名称")) if x),
                        "unreadable": not r.readable,
                        "errors": [f for f in r.findings if f.severity == "error"]})
    return render("job.html", job=job, blocked=blocked, RUNNING=RUNNING, DONE=DONE, REFUSED=REFUSED,
                  FAILED=FAILED, title=job.title)


def job_json(request: Request):
    job = _job(request)
    if job is None:
        return JSONResponse({"error": "这项操作已过期：请回到收集情况页面重新操作"}, status_code=404)
    return JSONResponse(job.to_dict())


def job_file(request: Request):
    job = _job(request)
    if job is None or job.state != DONE or job.file is None or not job.file.is_file():
        return message_page(request, "文件还没有生成或已过期：请回到收集情况页面重新操作", 404, "找不到文件")
    kind = XLSX if job.file.suffix == ".xlsx" else "application/zip"
    return FileResponse(job.file, filename=job.download_name, media_type=kind)


# --- errors ----------------------------------------------------------------------------------------

HTTP_WORDS = {400: "请求有误：请回到收集情况页面重新操作", 404: "找不到这个页面：请回到收集情况页面",
              405: "不支持这种操作：请在页面上点击按钮操作", 413: "上传的内容太大：请分批上传"}


async def on_known(request: Request, exc: Exception):
    text = "\n".join(exc.problems) if isinstance(exc, InputError) else str(exc)
    return message_page(request, text, 400)


async def on_http(request: Request, exc: HTTPException):
    return message_page(request, HTTP_WORDS.get(exc.status_code, "请求无法完成：请回到收集情况页面重新操作"),
                        exc.status_code)


async def on_too_large(request: Request, exc: TooLarge):
    return message_page(request, f"上传的内容太大（超过 {MAX_BODY // 1024 // 1024} MB）：请分批上传，"
                                 f"每个文件不超过 {MAX_FILE_BYTES // 1024 // 1024} MB", 413)


async def on_bug(request: Request, exc: Exception):
    log.error("request %s %s failed", request.method, request.url.path, exc_info=exc)
    return message_page(request, BUG, 500, "内部错误")


def create_app(folder: str | Path, *, host: str = "127.0.0.1", port: int = 8000, token: str | None = None):
    """The ASGI application for the collection in `folder`, behind the guard (Host, Origin, token,
    body size). Collection.load(folder) is checked here, so a wrong folder fails before serving."""
    Collection.load(folder)
    site = Site(Path(folder))

    @asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(site.close)

    routes = [
        Route("/", home),
        Route("/status", status_section),
        Route("/upload", upload, methods=["POST"]),
        Route("/unit/{code:path}/annotated", annotated),
        Route("/unit/{code:path}", unit_page),
        Route("/download/reminder", reminder),
        Route("/jobs/{kind}", start_job, methods=["POST"]),
        Route("/jobs/{id}", job_page),
        Route("/api/jobs/{id}", job_json),
        Route("/jobs/{id}/file", job_file),
        Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
    ]
    handlers = {HTTPException: on_http, TooLarge: on_too_large, Exception: on_bug,
                **{kind: on_known for kind in KNOWN}}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.site = site
    guarded = Guard(app, bind_host=host, port=port, token=token, max_body=MAX_BODY)
    guarded.site = site
    return guarded
