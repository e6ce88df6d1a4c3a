"""`check`: files or folders → one FileReport per workbook (read, then validate in one batch)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import UsageError
from .findings import ERROR, WARNING, Finding
from .reader import Submission, read_workbook
from .rules import Batch, Context, check_submissions
from .spec import DEFAULT_FORM, load_form
from .text import shown_path

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et", ".ods", ".csv", ".xltx"}
PARALLEL_FROM = 16          # below this, starting worker processes costs more than it saves
# The verdicts, decided by verdict() alone; status, ledger, merge and the 汇总表 use these words.
PASSED, FAILED, UNREADABLE = "通过", "有错误", "无法读取"
VERDICTS = (PASSED, FAILED, UNREADABLE)


def verdict(readable: bool, findings) -> str:
    """The one place a verdict is decided: unreadable, else any error, else passed."""
    if not readable:
        return UNREADABLE
    return FAILED if any(f.severity == ERROR for f in findings) else PASSED



@dataclass
class FileReport:
    path: Path
    submission: Submission
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> int:
        """Warnings the unit has not answered (see explained)."""
        return sum(1 for f in self.findings if f.severity == WARNING and not f.explained)

    @property
    def explained(self) -> int:
        """Warnings the unit has answered on the 校验结果 sheet (已说明): still warnings, counted apart."""
        return sum(1 for f in self.findings if f.explained)

    @property
    def readable(self) -> bool:
        return self.submission.readable

    @property
    def valid(self) -> bool:
        return self.errors == 0

    @property
    def verdict(self) -> str:
        return verdict(self.readable, self.findings)


def collect_paths(paths) -> list[Path]:
    """Files as given, folders expanded to the workbooks inside (sorted, lock files skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if (child.is_file() and child.suffix.lower() in WORKBOOK_SUFFIXES
                        and not child.name.startswith(("~$", ".")) and ".jixiao" not in child.parts):
                    out.append(child)
        elif p.exists():
            out.append(p)
        else:
            raise UsageError(f"{shown_path(p)}：文件或文件夹不存在")
    seen, unique = set(), []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


# What a caller wants from each chunk of files while its cells are still in memory (the typed
# records for merge, the snapshots for the ledger, an annotated copy): a module-level function
# (picklable, so that it runs in the worker) called as fn(subs, batch, reports) → one item per file.
Extract = Callable[[list[Submission], Batch, list[FileReport]], list]
CHUNK_FILES = 32            # files a worker reads and checks at once, at most (one pandera call per chunk;
                            # 32 costs ~8 % less CPU than 16 at N = 1,000, 64 no less again)


@dataclass
class Checked:
    """What read_and_check() keeps of a batch: the reports (their submissions released unless
    keep_cells) and, per file, one item for each extract function, in the order given."""
    reports: list[FileReport]
    extracted: list[tuple] = field(default_factory=list)


# Last year's baseline goes to each worker process once (its initializer), not with every chunk: a
# province's baseline pickles to megabytes. Chunks then carry IN_WORKER in its place.
IN_WORKER = "baseline-in-worker"
_worker_previous = None


def _set_previous(previous) -> None:
    global _worker_previous
    _worker_previous = previous


def _check_chunk(args) -> tuple[list[FileReport], list[tuple]]:
    paths, form, ctx, extract, keep_cells = args
    if isinstance(ctx.previous, str) and ctx.previous == IN_WORKER:
        ctx = replace(ctx, previous=_worker_previous)
    spec = load_form(form)
    subs = [read_workbook(p, spec) for p in paths]
    batch = check_submissions(subs, spec, ctx)
    reports = reports_of(subs, batch)
    items = [fn(subs, batch, reports) for fn in extract]
    extracted = list(zip(*items)) if items else [() for _ in subs]
    if not keep_cells:
        for sub in subs:
            sub.release()
    return reports, extracted


def _pool_context():
    """How worker processes start. fork() is the quickest, but a process with other threads (the
    web page's server) may hold a lock in one of them that the forked child then waits on for
    ever (Python 3.12 warns of it): there the workers come from a forkserver, a clean
    single-threaded process."""
    if threading.active_count() > 1 and "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return None


def read_and_check(paths: list[Path], form: str, ctx: Context, progress=None, workers: int | None = None, *,
                   extract: tuple[Extract, ...] = (), keep_cells: bool = False) -> Checked:
    """Read and validate every file, CHUNK_FILES at a time: each chunk is read, checked (every rule
    concerns one file, so a chunk is checked on its own, in one pandera call), reduced to its
    reports and extracts, and let go before the next — memory stays flat however many files there
    are. From PARALLEL_FROM files on, worker processes take the chunks as they free up, so every
    core works from the first file; results come back in the order of `paths`."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    parallel = len(paths) >= PARALLEL_FROM and workers > 1
    # In parallel, at least two chunks per worker, so that none waits while the last chunk is checked.
    size = min(CHUNK_FILES, max(4, -(-len(paths) // (2 * workers)))) if parallel else CHUNK_FILES
    sent = replace(ctx, previous=IN_WORKER) if parallel and ctx.previous is not None else ctx
    chunks = [(paths[i:i + size], form, sent, tuple(extract), keep_cells) for i in range(0, len(paths), size)]
    checked = Checked([], [])

    def take(result) -> None:
        reports, extracted = result
        checked.reports.extend(reports)
        checked.extracted.extend(extracted)
        if progress:
            for report in reports:
                progress(report.path)

    if not parallel:
        for chunk in chunks:
            take(_check_chunk(chunk))
        return checked
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=_pool_context(),
                             initializer=_set_previous, initargs=(ctx.previous,)) as pool:
        for result in pool.map(_check_chunk, chunks):
            take(result)
    return checked


def check_files(paths, *, roster=None, department: str | None = None, year: int | None = None,
                form: str = DEFAULT_FORM, progress=None, workers: int | None = None,
                keep_cells: bool = False, previous=None) -> list[FileReport]:
    """Validate returned workbooks; the library call behind `jixiao check`. The reports keep their
    cells only with keep_cells (annotate() needs them; a batch of thousands is better annotated
    while it is read: jixiao.annotate.check_and_annotate)."""
    files = collect_paths(paths)
    return read_and_check(files, form, Context(roster, department, year, previous), progress, workers,
                          keep_cells=keep_cells).reports


def reports_of(subs: list[Submission], batch: Batch) -> list[FileReport]:
    return [FileReport(sub.path, sub, batch.findings[i]) for i, sub in enumerate(subs)]
