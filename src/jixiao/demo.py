"""`jixiao demo`: the whole round trip on samples/, in a fresh folder, once per form.

templates → the sample units fill them in → check (the seeds' real anomalies are found, and
annotated copies written) → the units correct what the findings say → check again → merge.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from .check import check_files
from .publish import MergeResult, merge_files
from .annotate import annotate
from .roster import load_roster
from .diff import change_lines, diff_files
from .samples import (answer_warnings, apply_fixes, fill_template, load_seed, load_units_plan, review_carried,
                      samples_dir, translate)
from .spec import load_form
from .status import collection_status, write_status_xlsx
from .template import write_templates
from .previous import load_previous


@dataclass
class RoundResult:
    form: str
    folder: Path
    templates: list[Path]
    first_round: list = field(default_factory=list)
    annotated: list[Path] = field(default_factory=list)
    second_round: object = None            # the status report after resubmission
    merge: MergeResult | None = None
    label: str = ""                        # the round's name (its form; the year too for a next year)

    def __post_init__(self):
        self.label = self.label or self.form


@dataclass
class DemoResult:
    folder: Path
    rounds: list[RoundResult] = field(default_factory=list)


def run_demo(out_dir: str | Path = "demo-out", say=print) -> DemoResult:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(out_dir) / f"run-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = Path(out_dir) / f"run-{stamp}-{n}"
    result = DemoResult(folder)
    plans = load_units_plan()
    for i, plan in enumerate(plans["round"], start=1):
        say(f"== {i}. {plan['title']}（表单 {plan['form']}）")
        result.rounds.append(run_round(plan, folder / f"{i}-{plan['form']}", say))
    n = len(plans["round"])
    for j, plan in enumerate(plans.get("next_year", []), start=n + 1):
        say(f"== {j}. {plan['title']}（表单 {plan['form']}）")
        first = plans["round"][plan["previous_round"] - 1]
        summary = result.rounds[plan["previous_round"] - 1].merge.path
        result.rounds.append(run_next_year(plan, first, summary, folder / f"{j}-{plan['form']}-{plan['year']}", say))
    say(f"演示完成：{folder}")
    return result


def _say_report(report, say, shown, with_rule: bool = False) -> None:
    """A file's counts, then the findings `shown` picks, one line each."""
    say(f"   {report.path.name}：{report.errors} 个错误，{report.warnings} 个提示")
    for f in report.findings:
        if shown(f):
            mark = "✗" if f.severity == "error" else "!"
            say(f"     {mark} {f.rule + ' ' if with_rule else ''}{f.where} {f.message}")


def _received_at(path: Path, when: dt.datetime) -> None:
    """Units' files arrive over days; the ledger takes a file's save time as its receipt time."""
    os.utime(path, (when.timestamp(), when.timestamp()))


def _say_status(inbox: Path, roster, department, year, form, say):
    report = collection_status(inbox, roster, department=department, year=year, form=form)
    for row in report.rows:
        counts = [f"{n} 个{word}" for n, word in ((row.errors, "错误"), (row.warnings, "提示"),
                                                   (row.explained, "已说明")) if n]
        if row.changed is not None:
            counts.append(f"较上一份 {row.changed} 处变化")
        say(f"   {row.unit.code} {row.unit.name}：{row.status}" + (f"（{row.file}）" if row.file else "")
            + (f"：{'，'.join(counts)}" if counts else ""))
    say(f"   {report.summary_line()}")
    return report


def run_round(plan: dict, folder: Path, say=print) -> RoundResult:
    form = plan["form"]
    spec = load_form(form)
    roster = load_roster(samples_dir() / plan["roster"])
    department, year = plan["department"], int(plan["year"])
    deadline = dt.date.fromisoformat(plan["deadline"])

    say(f"1. 生成模板：{len(roster.units)} 个单位")
    templates = write_templates(roster, department, year, folder / "1-模板", deadline=deadline, form=form)
    result = RoundResult(form, folder, templates)

    say("2. 单位填报并报送到收件箱（样例数据来自真实申报表，含原表中的真实问题）")
    inbox = folder / "2-收件箱"
    inbox.mkdir(parents=True)
    by_code = {p.name.split("_", 1)[0]: p for p in templates}
    fixes = plan.get("fix", [])
    received = dt.datetime.combine(deadline, dt.time(9)) - dt.timedelta(days=10)
    first_files = []
    for unit in plan["units"]:
        template = by_code[unit["code"]]
        path = fill_template(template, load_seed(unit["seed"]), inbox / template.name, spec)
        _received_at(path, received)
        first_files.append(path)

    say("3. 校验第一次报送")
    result.first_round = check_files(first_files, roster=roster, department=department, year=year, form=form,
                                     keep_cells=True)
    for report in result.first_round:
        _say_report(report, say, lambda f: f.severity == "error")
        annotated = annotate(report, spec, folder / "3-校验结果")
        if annotated:
            result.annotated.append(annotated)
    say(f"   标注副本：{folder / '3-校验结果'}")
    _say_status(inbox, roster, department, year, form, say)

    corrected = [u for u in plan["units"] if any(f["code"] == u["code"] for f in fixes)]
    if corrected:
        say("4. 单位按校验结果更正后重新报送（旧文件留在收件箱，台账按接收时间取最新的一份）")
    else:
        say("4. 没有错误需要更正")
    copies = {p.name.split("_", 1)[0]: p for p in result.annotated}
    for unit in corrected:
        template = by_code[unit["code"]]
        data = apply_fixes(translate(load_seed(unit["seed"]), spec), unit["code"], fixes)
        answers = [a for a in plan.get("explain", []) if a["code"] == unit["code"]]
        first = inbox / template.name
        again = inbox / f"{template.stem}（更正）.xlsx"
        if answers and unit["code"] in copies:
            # The unit corrects its annotated copy itself and answers a warning it has a reason for.
            fill_template(copies[unit["code"]], data, again, spec)
            answer_warnings(again, answers)
            say(f"   {unit['code']} 在标注副本上更正，并对 {len(answers)} 条提示写了单位说明")
        else:
            fill_template(template, data, again, spec)
        _received_at(again, received + dt.timedelta(days=3))
        say(f"   jixiao diff：{unit['code']} 两次报送的变化")
        for line in change_lines(diff_files(first, again, form)):
            say(f"     {line}")
    result.second_round = _say_status(inbox, roster, department, year, form, say)
    reminder = write_status_xlsx(result.second_round, folder / "催报表.xlsx", roster)
    say(f"   催报表：{reminder}")

    say("5. 汇总收件箱")
    result.merge = merge_files([inbox], folder, roster=roster, department=department, year=year, form=form)
    for line in result.merge.reconciliation:
        say(f"   {line}")
    say(f"   汇总表：{result.merge.path}")
    return result


def run_next_year(plan: dict, first: dict, summary: Path, folder: Path, say=print) -> RoundResult:
    """The year after a round: its 汇总表 is the baseline; the templates start from it, the units
    review them (this year's amounts, one target lowered, one indicator dropped: plan["change"]),
    check warns against last year, and the 汇总表 compares every indicator with last year's."""
    form = plan["form"]
    spec = load_form(form)
    roster = load_roster(samples_dir() / first["roster"])
    department, year = first["department"], int(plan["year"])
    deadline = dt.date.fromisoformat(plan["deadline"])
    baseline = load_previous(summary, spec)
    say(f"1. 以上年汇总表为起点生成模板：{summary.name}")
    for line in baseline.summary_lines(spec):
        say(f"   {line}")
    templates = write_templates(roster, department, year, folder / "1-模板", deadline=deadline, form=form,
                                previous=baseline)
    result = RoundResult(form, folder, templates, label=f"{form}-{year}")
    say("2. 单位核对带入的内容，填上本年金额后报送（一个单位调低了一个目标，一个删去了一条指标）")
    inbox = folder / "2-收件箱"
    inbox.mkdir(parents=True)
    by_code = {p.name.split("_", 1)[0]: p for p in templates}
    received = dt.datetime.combine(deadline, dt.time(9)) - dt.timedelta(days=10)
    files = []
    for unit in plan["units"]:
        data = apply_fixes(translate(load_seed(unit["seed"]), spec), unit["code"], first.get("fix", []))
        changes = [c for c in plan.get("change", []) if c["code"] == unit["code"]]
        path = review_carried(by_code[unit["code"]], data, inbox / by_code[unit["code"]].name, spec, changes)
        _received_at(path, received)
        files.append(path)
    say("3. 校验：与上年比较")
    result.first_round = check_files(files, roster=roster, department=department, year=year, form=form,
                                     previous=baseline)
    for report in result.first_round:
        _say_report(report, say, lambda f: f.severity == "error" or f.rule.startswith("Y-"), with_rule=True)
    say("4. 汇总：绩效指标明细有上年指标值和与上年比较，汇总表有比上年降低和本年新增的指标数")
    result.merge = merge_files([inbox], folder, roster=roster, department=department, year=year, form=form,
                               previous=baseline)
    for line in result.merge.reconciliation:
        say(f"   {line}")
    say(f"   汇总表：{result.merge.path}")
    return result
