"""`check`: files or folders → one FileReport per workbook (read, then validate in one batch)."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
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


def _read(args) -> Submission:
    path, form = args
    return read_workbook(path, load_form(form))


def read_all(paths: list[Path], form: str, progress=None, workers: int | None = None) -> list[Submission]:
    """Read every file, in worker processes when there are many."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if len(paths) < PARALLEL_FROM or workers <= 1:
        subs = []
        for p in paths:
            subs.append(_read((p, form)))
            if progress:
                progress(p)
        return subs
    with ProcessPoolExecutor(max_workers=workers) as pool:
        subs = []
        for sub in pool.map(_read, [(p, form) for p in paths], chunksize=8):
            subs.append(sub)
            if progress:
                progress(sub.path)
        return subs


def _check_chunk(args) -> tuple[list[Submission], Batch]:
    paths, form, ctx = args
    subs = [read_workbook(p, load_form(form)) for p in paths]
    return subs, check_submissions(subs, load_form(form), ctx)


def read_and_check(paths: list[Path], form: str, ctx: Context, progress=None,
                   workers: int | None = None) -> tuple[list[Submission], Batch]:
    """Read and validate every file. Every rule concerns one file, so many files are split into
    chunks that worker processes read *and* check (one pandera call per chunk), then joined."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if len(paths) < PARALLEL_FROM or workers <= 1:
        subs = read_all(paths, form, progress, workers=1)
        return subs, check_submissions(subs, load_form(form), ctx)
    size = max(8, -(-len(paths) // (workers * 2)))      # few, large chunks: one pandera call each
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    results = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for subs, batch in pool.map(_check_chunk, [(chunk, form, ctx) for chunk in chunks]):
            results.append((subs, batch))
            if progress:
                for sub in subs:
                    progress(sub.path)
    return join_batches(results)


def join_batches(results: list[tuple[list[Submission], Batch]]) -> tuple[list[Submission], Batch]:
    """Concatenate chunk results, renumbering each chunk's submission index (_sub)."""
    import pandas as pd

    subs: list[Submission] = []
    findings: dict[int, list] = {}
    frames: dict[str, list] = {}
    for chunk_subs, batch in results:
        offset = len(subs)
        subs.extend(chunk_subs)
        findings.update({offset + i: f for i, f in batch.findings.items()})
        for key, df in batch.frames.items():
            df = df.copy()
            df["_sub"] = df["_sub"].map(lambda i, o=offset: int(i) + o)
            frames.setdefault(key, []).append(df)
    return subs, Batch(findings, {k: pd.concat(v, ignore_index=True) for k, v in frames.items()})


def check_files(paths, *, roster=None, department: str | None = None, year: int | None = None,
                form: str = DEFAULT_FORM, progress=None, workers: int | None = None) -> list[FileReport]:
    """Validate returned workbooks; the library call behind `jixiao check`."""
    files = collect_paths(paths)
    subs, batch = read_and_check(files, form, Context(roster, department, year), progress, workers)
    return reports_of(subs, batch)


def reports_of(subs: list[Submission], batch: Batch) -> list[FileReport]:
    return [FileReport(sub.path, sub, batch.findings[i]) for i, sub in enumerate(subs)]
