"""The `jixiao` command: a thin typer layer over the library. Each command checks its arguments
(values first, then the places it will write), opens its inputs, makes one library call, and turns
the library's own exceptions into one Chinese line and an exit code (0 ok, 1 findings/refused,
2 unreadable input or bad usage).

Inside a collection folder (a folder with jixiao.toml, see jixiao.collection), or with -C DIR,
the commands take roster, department, year, form and their folders from the settings; options
given explicitly win. Help pages and usage errors are drawn in Chinese by jixiao.clitext.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .clitext import ChineseCommand, ChineseGroup
from .collection import Collection, SettingsError, check_name, parse_deadline, parse_year
from .errors import InputError, MergeRefused, OutputError, SpecError, UsageError
from .preflight import input_files, input_folders, output_file, output_folder
from .roster import Roster, load_budget, load_roster
from .spec import DEFAULT_FORM
from .terminal import shown

app = typer.Typer(cls=ChineseGroup, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="jixiao 绩效：生成年度项目绩效目标申报模板、校验回收的工作簿、合并为汇总表。"
                       "一次收集用一个文件夹：先用 jixiao init 建立，之后在该文件夹中运行 templates、check、"
                       "status、merge，不必再写名单、主管部门和年度。")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

RosterOpt = Annotated[Optional[Path], typer.Option("--roster", metavar="文件",
                                                   help="报送名单 (.xlsx/.csv)：单位编码、单位名称")]
DeptOpt = Annotated[Optional[str], typer.Option("--dept", metavar="名称", help="主管部门名称")]
YearOpt = Annotated[Optional[str], typer.Option("--year", metavar="年度", help="年度，如 2023")]
FormOpt = Annotated[Optional[str], typer.Option("--form", metavar="表单",
                                                help=f"表单规格：templates/ 下的名称或 .toml 文件（默认 {DEFAULT_FORM}）")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="不显示进度条")]
PreviousOpt = Annotated[Optional[Path], typer.Option(
    "--previous", metavar="文件", help="上年汇总表（上年 jixiao 生成的汇总表，或有绩效指标明细各列的工作簿）；"
                                     "收集文件夹中默认用设置 previous")]
HereOpt = Annotated[Optional[Path], typer.Option("-C", metavar="文件夹",
                                                 help="使用这个收集文件夹的设置（默认：当前文件夹中有 jixiao.toml 时用它）")]

IN_A_COLLECTION = "；或在收集文件夹中运行（建立方法见 jixiao init --help）"

EXIT = {
    "init": "退出码：0 = 已建立；2 = 输入有误（名单、预算、年度、日期、名称或文件夹）。",
    "templates": "退出码：0 = 已生成；2 = 输入有误（名单、预算、年度、日期、名称或输出文件夹）。",
    "check": "退出码：0 = 没有错误（可以有提示）；1 = 有错误（包括原样交回、尚未填写的模板）；"
             "2 = 有无法读取的文件、没有找到任何工作簿（如空文件夹）或用法有误。",
    "status": "退出码：0 = 已列出报送情况（不论各单位是否报齐）；2 = 输入有误。",
    "merge": "退出码：0 = 已写入汇总表；1 = 有文件有错误或互相矛盾，拒绝汇总；"
             "2 = 有无法读取的文件、没有找到任何工作簿（如空文件夹）、输出位置不能写入或用法有误。",
    "demo": "退出码：0 = 完成；2 = 输出文件夹有误。",
    "diff": "退出码：0 = 已列出变化（没有变化也是 0）；2 = 文件无法读取或用法有误。",
    "serve": "只在本机打开时（默认 127.0.0.1）不需要口令；--host 写其他地址时，每个请求都要带口令（--token，"
             "不写则自动生成并显示）。其他网站的页面不能读取或上传。按 Ctrl+C 停止。"
             "退出码：0 = 已停止；2 = 不是收集文件夹、端口被占用或用法有误。",
}


def fail(message: str, code: int = 2) -> None:
    for line in str(message).splitlines() or [""]:
        err.print(f"[red]错误：[/]{shown(line)}")
    raise typer.Exit(code)


@contextmanager
def handled():
    """Known input problems become one clear line each and exit code 2; bugs still show."""
    try:
        yield
    except InputError as exc:
        fail("\n".join(exc.problems))
    except SettingsError as exc:
        fail(str(exc) + ("（jixiao init 建立收集文件夹，见 jixiao init --help）" if exc.reason == "none" else ""))
    except (SpecError, UsageError, OutputError) as exc:
        fail(str(exc))
    except MergeRefused as exc:
        fail(str(exc) + MERGE_HINTS.get(exc.reason, ""), merge_exit_code(exc))
    except OSError as exc:
        name = f" {exc.filename}" if exc.filename else ""
        fail(f"无法读写{name}（{exc.strerror or type(exc).__name__}）：请检查文件是否存在、是否有权限")


# What the command line adds to a refused merge: the option that helps.
MERGE_HINTS = {"errors": "（可用 --skip-invalid 跳过有错误的文件）", "department": "（用 --dept 指定）",
               "year": "（用 --year 指定）", "undetermined": "（用 --dept 和 --year 指定）"}


def merge_exit_code(exc: MergeRefused) -> int:
    """2 for bad input (nothing to merge, an unreadable file, output onto an input), else 1."""
    if exc.reason in ("empty", "output"):
        return 2
    if exc.reason == "errors" and any(not r.readable for r in exc.reports):
        return 2
    return 1


def _previous(path: Path | None, c: Collection | None, form: str):
    """Last year's baseline: the option, else the collection's `previous`, else None."""
    from .previous import load_previous
    from .spec import load_form

    path = path if path is not None else (c.previous if c else None)
    if path is None:
        return None
    if not path.is_file():
        fail(f"{shown(path)}：上年汇总表不存在")
    return load_previous(path, load_form(form))


def _roster(path: Path | None) -> Roster | None:
    return load_roster(path) if path else None


def _collection(ctx: typer.Context, here: Path | None) -> Collection | None:
    folder = here if here is not None else (ctx.obj or {}).get("folder")
    collection = Collection.load(folder) if folder is not None else Collection.find()
    return collection


def _given(value, fallback, missing: str):
    """The option as given, else the collection's setting, else a usage error."""
    if value is not None and value != [] and value != ():
        return value
    if fallback is not None:
        return fallback
    fail(missing + IN_A_COLLECTION)


def _say_collection(collection: Collection | None, json_: bool = False) -> None:
    if collection is not None and not json_:
        out.print(f"收集文件夹：{shown(collection.describe())}")


@contextmanager
def progress_bar(total: int, label: str, quiet: bool):
    """A rich progress bar on stderr for many files, on a terminal; otherwise nothing."""
    if quiet or total < 2 or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda _item: bar.advance(task)


@app.callback()
def root(ctx: typer.Context, here: HereOpt = None):
    """jixiao 绩效"""
    ctx.obj = {"folder": here}


@app.command(cls=ChineseCommand, epilog=EXIT["init"])
def init(
    folder: Annotated[Path, typer.Argument(metavar="文件夹", help="收集文件夹（不存在时新建）")],
    roster: Annotated[Path, typer.Option("--roster", metavar="文件",
                                         help="报送名单 (.xlsx/.csv)：单位编码、单位名称，可选 联系人、联系电话；复制到收集文件夹中")],
    dept: Annotated[str, typer.Option("--dept", metavar="名称", help="主管部门名称")],
    year: Annotated[str, typer.Option("--year", metavar="年度", help="年度，如 2023")],
    form: Annotated[str, typer.Option("--form", metavar="表单", help="表单规格：templates/ 下的名称或 .toml 文件")] = DEFAULT_FORM,
    budget: Annotated[Optional[Path], typer.Option("--budget", metavar="文件", help="预算预填 (.xlsx/.csv)；复制到收集文件夹中")] = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", metavar="日期", help="报送截止日期，如 2023-03-31")] = None,
    previous: Annotated[Optional[Path], typer.Option("--previous", metavar="文件",
                                                     help="上年汇总表；复制到收集文件夹中，模板从上年开始填，校验时与上年比较")] = None,
):
    """建立收集文件夹：写入设置 jixiao.toml，复制名单（和预算）进来，建立 收件箱/。之后在该文件夹中运行其他命令即可。"""
    from .collection import init_collection

    with handled():
        collection = init_collection(folder, roster, dept, year, form=form, budget=budget, deadline=deadline,
                                     previous=previous)
        units = load_roster(collection.roster)
    c = collection
    where = shown(c.folder)
    out.print(f"已建立收集文件夹：{where}（{shown(c.department)} {c.year} 年度，表单 {shown(Path(c.form).stem)}，"
              f"名单 {len(units.units)} 家单位）")
    out.print(f"设置在 {shown(c.settings_path)}，可以用记事本修改。下一步：")
    out.print(f"  1. jixiao -C {where} templates：生成模板（在 {shown(c.templates_dir)}），发给各单位")
    out.print(f"  2. 各单位报送的文件原样放入 {shown(c.inbox)}")
    out.print(f"  3. jixiao -C {where} check 和 status：校验、查看报送情况（标注副本在 {shown(c.results_dir)}）")
    out.print(f"  4. jixiao -C {where} merge：汇总为 {shown(c.summary_path.name)}")
    out.print("在收集文件夹中运行时可以省略 -C。")


@app.command(cls=ChineseCommand, epilog=EXIT["templates"])
def templates(
    ctx: typer.Context,
    roster: Annotated[Optional[Path], typer.Argument(metavar="名单", help="报送名单 (.xlsx/.csv)")] = None,
    dept: DeptOpt = None,
    year: YearOpt = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", metavar="文件夹",
                                                   help="模板输出文件夹（收集文件夹中为 模板/）")] = None,
    budget: Annotated[Optional[Path], typer.Option("--budget", metavar="文件", help="预算预填 (.xlsx/.csv)")] = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", metavar="日期", help="报送截止日期，如 2023-03-31")] = None,
    password: Annotated[Optional[str], typer.Option("--password", metavar="密码", help="工作表保护密码（可选）")] = None,
    form: FormOpt = None,
    previous: PreviousOpt = None,
    quiet: QuietOpt = False,
    here: HereOpt = None,
):
    """为名单中的每个单位生成一份锁定的申报模板。在收集文件夹中可省略名单、--dept、--year 和 -o。"""
    from .template import write_templates

    started = time.perf_counter()
    with handled():
        c = _collection(ctx, here)
        own_roster = roster is None         # the collection's budget belongs to the collection's roster
        roster = _given(roster, c and c.roster, "缺少参数 名单（报送名单文件）：请写在 jixiao templates 后面，"
                                                "如 jixiao templates 名单.csv --dept 主管部门 --year 2023 -o 模板")
        department = check_name(_given(dept, c and c.department, "缺少选项 --dept（主管部门名称）"), "主管部门名称")
        year_ = parse_year(_given(year, c and c.year, "缺少选项 --year（年度，如 2023）"))
        due = parse_deadline(deadline if deadline is not None else (c.deadline if c else None), year_)
        budget = budget if budget is not None else (c.budget if c and own_roster else None)
        form = form or (c.form if c else DEFAULT_FORM)
        output = _given(output, c and c.templates_dir, "缺少选项 -o（模板输出文件夹）")
        output_folder(output, what="模板文件夹")
        _say_collection(c)
        units = load_roster(roster)
        prefill = load_budget(budget, units, form) if budget else None
        baseline = _previous(previous, c, form)
        with progress_bar(len(units.units), "生成模板", quiet) as tick:
            paths = write_templates(units, department, year_, output, budget=prefill, deadline=due,
                                    password=password, form=form, progress=tick, previous=baseline)
    if baseline is not None:
        from .spec import load_form

        lines, warnings = baseline.template_lines(load_form(form), units, year_)
        for line in lines:
            out.print(shown(line))
        for line in warnings:
            err.print(f"[yellow]注意：[/]{shown(line)}")
    out.print(f"已生成 {len(paths)} 份模板：{shown(output)}（用时 {time.perf_counter() - started:.1f} 秒）")


@app.command(cls=ChineseCommand, epilog=EXIT["check"])
def check(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(metavar="路径",
                                                          help="回收的工作簿或文件夹（收集文件夹中为 收件箱/）")] = None,
    roster: RosterOpt = None,
    dept: DeptOpt = None,
    year: YearOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="以 JSON 输出全部问题")] = False,
    annotate: Annotated[Optional[Path], typer.Option("--annotate", metavar="文件夹",
                                                     help="把标注副本写入此文件夹（收集文件夹中为 校验结果/）")] = None,
    errors_only: Annotated[bool, typer.Option("--errors-only", help="只显示错误，不显示提示")] = False,
    form: FormOpt = None,
    previous: PreviousOpt = None,
    quiet: QuietOpt = False,
    here: HereOpt = None,
):
    """校验回收的工作簿，列出每个问题的位置和改法。在收集文件夹中不必写路径和选项。"""
    from .annotate import check_and_annotate
    from .check import check_files, collect_paths
    from .report import print_reports

    started = time.perf_counter()
    with handled():
        c = _collection(ctx, here)
        department = check_name(dept, "主管部门名称") if dept is not None else (c.department if c else None)
        year_ = parse_year(year) if year is not None else (c.year if c else None)
        paths = _given(paths, c and [c.inbox], "缺少参数 路径：请写出要校验的工作簿或文件夹，如 jixiao check 收件箱")
        roster = roster if roster is not None else (c.roster if c else None)
        form = form or (c.form if c else DEFAULT_FORM)
        annotate = annotate if annotate is not None else (c.results_dir if c else None)
        if annotate is not None:
            output_folder(annotate, what="标注副本文件夹", folders=input_folders(paths), inputs=input_files(paths))
        _say_collection(c, json_)
        files = collect_paths(paths)
        if not files:
            fail(f"没有找到要校验的工作簿：{'、'.join(str(p) for p in paths)} 中没有 .xlsx 文件")
        units = _roster(roster)
        baseline = _previous(previous, c, form)
        written = []
        with progress_bar(len(files), "读取", quiet or json_) as tick:
            if annotate is not None:
                reports, written = check_and_annotate(files, annotate, roster=units, department=department,
                                                      year=year_, form=form, progress=tick, previous=baseline)
            else:
                reports = check_files(files, roster=units, department=department, year=year_, form=form,
                                      progress=tick, previous=baseline)
    if json_:
        from .report import to_json

        sys.stdout.write(to_json(reports) + "\n")
    else:
        print_reports(reports, out, show_warnings=not errors_only)
        if annotate is not None:
            out.print(f"标注副本：{sum(1 for w in written if w)} 份，在 {shown(annotate)}")
        passed = sum(1 for r in reports if r.readable and not r.errors)
        failed = sum(1 for r in reports if r.readable and r.errors)
        unreadable = sum(1 for r in reports if not r.readable)
        out.print(f"共 {len(reports)} 个文件：通过 {passed}，有错误 {failed}，无法读取 {unreadable}"
                  f"（用时 {time.perf_counter() - started:.1f} 秒）")
    if any(not r.readable for r in reports):
        raise typer.Exit(2)
    raise typer.Exit(1 if any(r.errors for r in reports) else 0)


@app.command(cls=ChineseCommand, epilog=EXIT["merge"])
def merge(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(metavar="路径",
                                                          help="回收的工作簿或文件夹（收集文件夹中为 收件箱/）")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", metavar="文件",
                                                   help="汇总表文件，或放汇总表的文件夹（收集文件夹中为该文件夹）")] = None,
    roster: RosterOpt = None,
    dept: DeptOpt = None,
    year: YearOpt = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="跳过有错误的文件，汇总其余文件")] = False,
    form: FormOpt = None,
    previous: PreviousOpt = None,
    quiet: QuietOpt = False,
    here: HereOpt = None,
):
    """校验并汇总为年度项目绩效目标汇总表，读回核对到分。在收集文件夹中不必写路径和选项。"""
    from .check import collect_paths
    from .errors import ReconciliationError
    from .publish import merge_files
    from .report import print_reports

    started = time.perf_counter()
    try:
        with handled():
            c = _collection(ctx, here)
            department = check_name(dept, "主管部门名称") if dept is not None else (c.department if c else None)
            year_ = parse_year(year) if year is not None else (c.year if c else None)
            paths = _given(paths, c and [c.inbox], "缺少参数 路径：请写出要汇总的工作簿或文件夹，如 jixiao merge 收件箱 -o 汇总.xlsx")
            roster = roster if roster is not None else (c.roster if c else None)
            form = form or (c.form if c else DEFAULT_FORM)
            if output is None and c is not None:
                output = c.folder if (department, year_) != (c.department, c.year) else c.summary_path
            output = _given(output, None, "缺少选项 -o（汇总表文件，或放汇总表的文件夹）")
            if output.is_dir():
                output_folder(output, what="汇总表文件夹", folders=input_folders(paths))
            else:
                output_file(output, what="汇总表", inputs=[*input_files(paths), roster],
                            folders=input_folders(paths))
            _say_collection(c)
            files = collect_paths(paths)
            if not files:
                fail(f"没有找到要汇总的工作簿：{'、'.join(str(p) for p in paths)} 中没有 .xlsx 文件")
            units = _roster(roster)
            baseline = _previous(previous, c, form)
            with progress_bar(len(files), "读取", quiet) as tick:
                try:
                    # The paths as given: a folder is a collection inbox, merged through its ledger.
                    result = merge_files(paths, output, roster=units, department=department, year=year_,
                                         skip_invalid=skip_invalid, form=form, progress=tick,
                                         previous=baseline)
                except MergeRefused as exc:
                    print_reports([r for r in exc.reports if r.errors], err, show_warnings=False)
                    raise
    except ReconciliationError as exc:
        fail(str(exc), 1)
    skipped = [r for r in result.reports if r.errors]
    if skipped:
        err.print(f"[yellow]已跳过 {len(skipped)} 个有错误的文件：[/]")
        print_reports(skipped, err, show_warnings=False)
    for note in result.notes:
        err.print(f"[yellow]注意：[/]{shown(note)}")
    for line in result.reconciliation:
        out.print(shown(line))
    out.print(f"已写入汇总表：{shown(result.path)}（{len(result.consolidated.projects)} 个{result.consolidated.spec.record_noun}，"
              f"用时 {time.perf_counter() - started:.1f} 秒）")


@app.command(cls=ChineseCommand, epilog=EXIT["status"])
def status(
    ctx: typer.Context,
    inbox: Annotated[Optional[Path], typer.Argument(metavar="收件箱",
                                                    help="收件文件夹，各单位报送的工作簿保存在这里（收集文件夹中为 收件箱/）")] = None,
    roster: Annotated[Optional[Path], typer.Option("--roster", metavar="文件",
                                                   help="报送名单 (.xlsx/.csv)：单位编码、单位名称、联系人、联系电话")] = None,
    dept: DeptOpt = None,
    year: YearOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="以 JSON 输出报送情况")] = False,
    xlsx: Annotated[Optional[Path], typer.Option("--xlsx", metavar="文件", help="另存可打印的催报表 (.xlsx 文件)")] = None,
    form: FormOpt = None,
    quiet: QuietOpt = False,
    here: HereOpt = None,
):
    """报送情况：哪些单位已报送并通过校验、有错误、尚未报送（记录在收件文件夹的 .jixiao 台账中）。"""
    from .check import collect_paths
    from .status import collection_status, print_status, status_json, write_status_xlsx

    started = time.perf_counter()
    with handled():
        c = _collection(ctx, here)
        department = check_name(dept, "主管部门名称") if dept is not None else (c.department if c else None)
        year_ = parse_year(year) if year is not None else (c.year if c else None)
        inbox = _given(inbox, c and c.inbox, "缺少参数 收件箱：请写出收件文件夹，如 jixiao status 收件箱 --roster 名单.csv")
        roster = _given(roster, c and c.roster, "缺少选项 --roster（报送名单）")
        form = form or (c.form if c else DEFAULT_FORM)
        if xlsx is not None:
            output_file(xlsx, what="催报表", inputs=[roster], folders=[inbox])
        _say_collection(c, json_)
        units = load_roster(roster)
        baseline = _previous(None, c, form)     # the collection's: its verdicts are those check gives
        with progress_bar(len(collect_paths([inbox])), "扫描", quiet or json_) as tick:
            report = collection_status(inbox, units, department=department, year=year_, form=form, progress=tick,
                                       previous=baseline)
        if xlsx is not None:
            write_status_xlsx(report, xlsx, units)
    if json_:
        sys.stdout.write(status_json(report) + "\n")
        return
    print_status(report, out)
    if xlsx is not None:
        out.print(f"催报表：{shown(xlsx)}")
    out.print(f"{shown(report.summary_line())}（新读取 {report.scan.checked} 个文件，"
              f"用时 {time.perf_counter() - started:.1f} 秒）")


@app.command(cls=ChineseCommand, epilog=EXIT["demo"])
def demo(output: Annotated[Path, typer.Option("-o", "--output", metavar="文件夹", help="演示输出文件夹")] = Path("demo-out")):
    """在 samples/ 上演示完整流程：生成模板 → 填报 → 校验 → 更正 → 汇总。"""
    from .demo import run_demo

    with handled():
        output_folder(output, what="演示输出文件夹")
        run_demo(output, say=lambda text: out.print(shown(text)))


@app.command(cls=ChineseCommand, epilog=EXIT["diff"])
def diff(
    ctx: typer.Context,
    old: Annotated[Path, typer.Argument(metavar="旧文件", help="同一单位较早报送的工作簿")],
    new: Annotated[Path, typer.Argument(metavar="新文件", help="同一单位较新报送的工作簿")],
    json_: Annotated[bool, typer.Option("--json", help="以 JSON 输出全部变化")] = False,
    form: FormOpt = None,
    here: HereOpt = None,
):
    """比较同一单位先后报送的两份工作簿：按项目名称和指标（一级/二级/三级）对应，列出新增、删除和修改的内容。"""
    import json

    from .diff import diff_files, print_changes

    with handled():
        c = _collection(ctx, here)
        for path in (old, new):
            if not path.is_file():
                fail(f"{shown(path)}：文件不存在")
        changes = diff_files(old, new, form=form or (c.form if c else DEFAULT_FORM))
    if json_:
        sys.stdout.write(json.dumps([ch.to_dict() for ch in changes], ensure_ascii=False, indent=1) + "\n")
    else:
        print_changes(changes, out, shown(old.name), shown(new.name))


@app.command(cls=ChineseCommand, epilog=EXIT["serve"])
def serve(
    ctx: typer.Context,
    folder: Annotated[Optional[Path], typer.Argument(metavar="文件夹",
                                                     help="收集文件夹（默认：当前文件夹，或 -C 指定的文件夹）")] = None,
    port: Annotated[int, typer.Option("--port", metavar="端口", help="端口（0 = 任选一个空闲端口）")] = 8000,
    host: Annotated[str, typer.Option("--host", metavar="地址",
                                      help="监听的地址；127.0.0.1 只能在本机打开")] = "127.0.0.1",
    no_browser: Annotated[bool, typer.Option("--no-browser", help="不自动打开浏览器")] = False,
    token: Annotated[Optional[str], typer.Option("--token", metavar="口令",
                                                 help="访问口令，至少 8 个字符（--host 不是本机时必需，不写则自动生成）")] = None,
    here: HereOpt = None,
):
    """在浏览器中打开收集情况页面：拖入各单位报送的文件即保存到 收件箱/ 并校验，查看各单位的问题和标注副本，下载模板、汇总表和催报表。"""
    from .web.server import serve as run

    with handled():
        c = Collection.load(folder) if folder is not None else _collection(ctx, here)
        if c is None:
            fail("当前文件夹不是收集文件夹：请写出收集文件夹，如 jixiao serve 2023绩效目标（建立方法见 jixiao init --help）")
        _say_collection(c)

        def warm(site):
            """The first scan of the inbox, here with its progress bar: the page's own status()."""
            from .check import collect_paths

            with progress_bar(len(collect_paths([c.inbox])), "扫描收件箱", False) as tick:
                _, report = site.status(progress=tick)
            out.print(shown(report.summary_line()))

        run(c.folder, host=host, port=port, token=token, open_browser=not no_browser,
            say=lambda text: out.print(shown(text)), warm=warm)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
