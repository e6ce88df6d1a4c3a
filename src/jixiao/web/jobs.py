"""Long work behind the page (a merge of many returns, templates for many units): one thread per
job, its progress counted by the library's progress callback and read by the page every few
hundred milliseconds. A job ends done (a file to download), refused (the library said why, in
Chinese: a merge blocked by errors keeps their reports) or failed (a bug: logged, and the page
says so in one sentence)."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("jixiao.web")

RUNNING, DONE, REFUSED, FAILED = "running", "done", "refused", "failed"
KEEP_JOBS = 50
BUG = "处理时出现内部错误，已记录在运行 jixiao serve 的窗口中：请重试；如仍出现，请把该窗口中的信息发给技术人员"


@dataclass
class Job:
    id: str
    kind: str                            # "merge", "templates"
    title: str
    state: str = RUNNING
    done: int = 0
    total: int = 0
    stage: str = ""                      # what it is doing now, in Chinese
    message: str = ""                    # the outcome, in Chinese
    lines: list[str] = field(default_factory=list)      # details of the outcome (reconciliation …)
    file: Path | None = None             # what to download
    download_name: str = ""
    blocked: list = field(default_factory=list)         # a merge refused for errors: the reports
    reason: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def tick(self, _item=None) -> None:
        self.done += 1

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "state": self.state, "done": self.done, "total": self.total,
                "stage": self.stage, "message": self.message, "lines": self.lines,
                "seconds": round(self.seconds, 1),
                "download": f"/jobs/{self.id}/file" if self.state == DONE and self.file else None,
                "page": f"/jobs/{self.id}"}


class Jobs:
    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start(self, kind: str, title: str, work) -> Job:
        """Run work(job) in a thread. work sets job.file (and download_name, message, lines);
        an exception with a Chinese message (known library errors) is passed to `refuse`."""
        job = Job(secrets.token_hex(8), kind, title)
        with self._lock:
            self._jobs[job.id] = job
            for old in list(self._jobs)[:-KEEP_JOBS]:
                if self._jobs[old].state != RUNNING:
                    del self._jobs[old]

        def run():
            try:
                work(job)
                job.state = DONE
            except Refusal as exc:
                job.state, job.message, job.reason = REFUSED, str(exc), exc.reason
                job.blocked = exc.reports
            except Exception:  # noqa: BLE001 - a bug: logged here, one sentence on the page
                log.exception("job %s (%s) failed", job.id, kind)
                job.state, job.message = FAILED, BUG
            finally:
                job.finished = time.monotonic()

        thread = threading.Thread(target=run, name=f"jixiao-{kind}-{job.id}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    def wait(self, timeout: float = 60) -> None:
        """Until every job has ended (tests, and a server that stops)."""
        end = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, end - time.monotonic()))


class Refusal(Exception):
    """The library refused, in Chinese; `reports` are files that block a merge."""

    def __init__(self, message: str, reason: str = "", reports=None):
        super().__init__(message)
        self.reason = reason
        self.reports = reports or []
