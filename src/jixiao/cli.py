"""The `jixiao` command: a thin typer layer over the library. Each command opens its inputs,
makes one library call, and turns the library's own exceptions into one Chinese line and an
exit code (0 ok, 1 findings/refused, 2 unreadable input or bad usage)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .errors import InputError, MergeRefused, OutputError, SpecError, UsageError
from .roster import Roster, load_budget, load_roster
from .spec import DEFAULT_FORM

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="jixiao 绩效：生成年度项目绩效目标申报模板、校验回收的工作簿、合并为汇总表。")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

RosterOpt = Annotated[Optional[Path], typer.Option("--roster", help="报送名单 (.xlsx/.csv)：单位编码、单位名称")]
DeptOpt = Annotated[Optional[str], typer.Option("--dept", help="主管部门名称")]
YearOpt = Annotated[Optional[int], typer.Option("--year", help="年度，如 2023")]
FormOpt = Annotated[str, typer.Option("--form", help="表单规格（templates/ 下的文件名）")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="不显示进度条")]


def fail(message: str, code: int = 2) -> None:
    for line in message.splitlines():
        err.print(f"[red]错误：[/]{line}")
    raise typer.Exit(code)


@contextmanager
def handled():
    """Known input problems become one clear line each and exit code 2; bugs still show."""
    try:
        yield
    except InputError as exc:
        fail("\n".join(exc.problems))
    except (SpecError, UsageError, OutputError) as exc:
        fail(str(exc))
    except MergeRefused as exc:
        fail(str(exc) + MERGE_HINTS.get(exc.reason, ""), 1)


# What the command line adds to a refused merge: the option that helps.
MERGE_HINTS = {"errors": "（可用 --skip-invalid 跳过有错误的文件）", "department": "（用 --dept 指定）",
               "year": "（用 --year 指定）", "undetermined": "（用 --dept 和 --year 指定）"}


def _roster(path: Path | None) -> Roster | None:
    return load_roster(path) if path else None


@contextmanager
def progress_bar(total: int, label: str, quiet: bool):
    """A rich progress bar on stderr for many files, or nothing."""
    if quiet or total < 2:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda _item: bar.advance(task)


@app.command()
def templates(
    roster: Annotated[Path, typer.Argument(help="报送名单 (.xlsx/.csv)")],
    dept: Annotated[str, typer.Option("--dept", help="主管部门名称")],
    year: Annotated[int, typer.Option("--year", help="年度")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件夹")],
    budget: Annotated[Optional[Path], typer.Option("--budget", help="预算预填 (.xlsx/.csv)")] = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="报送截止日期，如 2023-03-31")] = None,
    password: Annotated[Optional[str], typer.Option("--password", help="工作表保护密码（可选）")] = None,
    form: FormOpt = DEFAULT_FORM,
    quiet: QuietOpt = False,
):
    """为名单中的每个单位生成一份锁定的申报模板。"""
    from .spec import load_form
    from .template import write_templates

    started = time.perf_counter()
    with handled():
        if not 2000 <= year <= 2100:
            fail(f"年度 {year} 不合理：请填写如 2023 的年度")
        due = None
        if deadline:
            try:
                due = dt.date.fromisoformat(deadline)
            except ValueError:
                fail(f"截止日期“{deadline}”格式不对：请写成 2023-03-31")
        units = load_roster(roster)
        prefill = load_budget(budget, units, form) if budget else None
        with progress_bar(len(units.units), "生成模板", quiet) as tick:
            paths = write_templates(units, dept, year, output, budget=prefill, deadline=due,
                                    password=password, form=form, progress=tick)
    out.print(f"已生成 {len(paths)} 份模板：{output}（用时 {time.perf_counter() - started:.1f} 秒）")


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help="回收的工作簿或文件夹")],
    roster: RosterOpt = None,
    dept: DeptOpt = None,
    year: YearOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="以 JSON 输出全部问题")] = False,
    annotate: Annotated[Optional[Path], typer.Option("--annotate", help="把标注副本写入此文件夹")] = None,
    errors_only: Annotated[bool, typer.Option("--errors-only", help="只显示错误，不显示提示")] = False,
    form: FormOpt = DEFAULT_FORM,
    quiet: QuietOpt = False,
):
    """校验回收的工作簿：0 = 无错误，1 = 有错误，2 = 有无法读取的文件或用法错误。"""
    from .check import collect_paths, check_files
    from .annotate import annotate as write_annotated
    from .report import print_reports, to_json
    from .spec import load_form

    started = time.perf_counter()
    with handled():
        files = collect_paths(paths)
        if not files:
            fail("没有找到要校验的工作簿")
        units = _roster(roster)
        with progress_bar(len(files), "读取", quiet or json_) as tick:
            reports = check_files(files, roster=units, department=dept, year=year, form=form, progress=tick)
        if annotate:
            spec = load_form(form)
            written = [write_annotated(r, spec, annotate) for r in reports]
    if json_:
        sys.stdout.write(to_json(reports) + "\n")
    else:
        print_reports(reports, out, show_warnings=not errors_only)
        if annotate:
            out.print(f"标注副本：{sum(1 for w in written if w)} 份，在 {annotate}")
        passed = sum(1 for r in reports if r.readable and not r.errors)
        failed = sum(1 for r in reports if r.readable and r.errors)
        unreadable = sum(1 for r in reports if not r.readable)
        out.print(f"共 {len(reports)} 个文件：通过 {passed}，有错误 {failed}，无法读取 {unreadable}"
                  f"（用时 {time.perf_counter() - started:.1f} 秒）")
    if any(not r.readable for r in reports):
        raise typer.Exit(2)
    raise typer.Exit(1 if any(r.errors for r in reports) else 0)


@app.command()
def merge(
    paths: Annotated[list[Path], typer.Argument(help="回收的工作簿或文件夹")],
    output: Annotated[Path, typer.Option("-o", "--output", help="汇总表文件（或文件夹）")],
    roster: RosterOpt = None,
    dept: DeptOpt = None,
    year: YearOpt = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="跳过有错误的文件，汇总其余文件")] = False,
    form: FormOpt = DEFAULT_FORM,
    quiet: QuietOpt = False,
):
    """校验并汇总为年度项目绩效目标汇总表：0 = 已写入，1 = 因错误拒绝，2 = 输入有误。"""
    from .check import collect_paths
    from .errors import ReconciliationError
    from .publish import merge_files
    from .report import print_reports

    started = time.perf_counter()
    try:
        with handled():
            files = collect_paths(paths)
            with progress_bar(len(files), "读取", quiet) as tick:
                try:
                    # The paths as given: a folder is a collection inbox, merged through its ledger.
                    result = merge_files(paths, output, roster=_roster(roster), department=dept, year=year,
                                         skip_invalid=skip_invalid, form=form, progress=tick)
                except MergeRefused as exc:
                    print_reports([r for r in exc.reports if r.errors], err, show_warnings=False)
                    raise
    except ReconciliationError as exc:
        fail(str(exc), 1)
    skipped = [r for r in result.reports if r.errors]
    if skipped:
        err.print(f"[yellow]已跳过 {len(skipped)} 个有错误的文件：[/]")
        print_reports(skipped, err, show_warnings=False)
    for line in result.reconciliation:
        out.print(line)
    out.print(f"已写入汇总表：{result.path}（{len(result.consolidated.projects)} 个{result.consolidated.spec.record_noun}，"
              f"用时 {time.perf_counter() - started:.1f} 秒）")


@app.command()
def status(
    inbox: Annotated[Path, typer.Argument(help="收件文件夹（各单位报送的工作簿保存在这里）")],
    roster: Annotated[Path, typer.Option("--roster", help="报送名单 (.xlsx/.csv)：单位编码、单位名称、联系人、联系电话")],
    dept: DeptOpt = None,
    year: YearOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="以 JSON 输出报送情况")] = False,
    xlsx: Annotated[Optional[Path], typer.Option("--xlsx", help="另存可打印的催报表 (.xlsx)")] = None,
    form: FormOpt = DEFAULT_FORM,
    quiet: QuietOpt = False,
):
    """报送情况：哪些单位已报送并通过校验、有错误、尚未报送（记录在收件文件夹的 .jixiao 台账中）。"""
    from .check import collect_paths
    from .status import collection_status, print_status, status_json, write_status_xlsx

    started = time.perf_counter()
    with handled():
        units = load_roster(roster)
        with progress_bar(len(collect_paths([inbox])), "扫描", quiet or json_) as tick:
            report = collection_status(inbox, units, department=dept, year=year, form=form, progress=tick)
        if xlsx:
            write_status_xlsx(report, xlsx, units)
    if json_:
        sys.stdout.write(status_json(report) + "\n")
        return
    print_status(report, out)
    if xlsx:
        out.print(f"催报表：{xlsx}")
    out.print(f"{report.summary_line()}（新读取 {report.scan.checked} 个文件，"
              f"用时 {time.perf_counter() - started:.1f} 秒）")


@app.command()
def demo(output: Annotated[Path, typer.Option("-o", "--output", help="演示输出文件夹")] = Path("demo-out")):
    """在 samples/ 上演示完整流程：生成模板 → 填报 → 校验 → 更正 → 汇总。"""
    from .demo import run_demo

    with handled():
        run_demo(output, say=out.print)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
