"""`jixiao demo`: the whole round trip on samples/, in a fresh folder, once per form.

templates → the sample units fill them in → check (the seeds' real anomalies are found, and
annotated copies written) → the units correct what the findings say → check again → merge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from .check import check_files
from .publish import MergeResult, merge_files
from .report import annotate
from .roster import load_roster
from .samples import apply_fixes, fill_template, load_seed, load_units_plan, samples_dir
from .spec import load_form
from .template import write_templates


@dataclass
class RoundResult:
    form: str
    folder: Path
    templates: list[Path]
    first_round: list = field(default_factory=list)
    annotated: list[Path] = field(default_factory=list)
    second_round: list = field(default_factory=list)
    merge: MergeResult | None = None


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
    for i, plan in enumerate(load_units_plan()["round"], start=1):
        say(f"== {i}. {plan['title']}（表单 {plan['form']}）")
        result.rounds.append(run_round(plan, folder / f"{i}-{plan['form']}", say))
    say(f"演示完成：{folder}")
    return result


def run_round(plan: dict, folder: Path, say=print) -> RoundResult:
    form = plan["form"]
    spec = load_form(form)
    roster = load_roster(samples_dir() / plan["roster"])
    department, year = plan["department"], int(plan["year"])
    deadline = dt.date.fromisoformat(plan["deadline"])

    say(f"1. 生成模板：{len(roster.units)} 个单位")
    templates = write_templates(roster, department, year, folder / "1-模板", deadline=deadline, form=form)
    result = RoundResult(form, folder, templates)

    say("2. 单位填报并第一次报送（样例数据来自真实申报表，含原表中的真实问题）")
    first, second = folder / "2-回收" / "第一次报送", folder / "2-回收" / "更正后报送"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    by_code = {p.name.split("_", 1)[0]: p for p in templates}
    fixes = plan.get("fix", [])
    for unit in plan["units"]:
        data = load_seed(unit["seed"])
        template = by_code[unit["code"]]
        fill_template(template, data, first / template.name, spec)
        fill_template(template, apply_fixes(data, unit["code"], fixes), second / template.name, spec)

    say("3. 校验第一次报送")
    result.first_round = check_files([first], roster=roster, department=department, year=year, form=form)
    for report in result.first_round:
        say(f"   {report.path.name}：{report.errors} 个错误，{report.warnings} 个提示")
        for f in report.findings:
            if f.severity == "error":
                say(f"     ✗ {f.where} {f.message}")
        annotated = annotate(report, spec, folder / "3-校验结果")
        if annotated:
            result.annotated.append(annotated)
    say(f"   标注副本：{folder / '3-校验结果'}")

    if fixes:
        say("4. 单位按校验结果更正后重新报送，再次校验")
    else:
        say("4. 没有错误需要更正，原样报送")
    result.second_round = check_files([second], roster=roster, department=department, year=year, form=form)
    for report in result.second_round:
        say(f"   {report.path.name}：{report.errors} 个错误，{report.warnings} 个提示")

    say("5. 汇总")
    result.merge = merge_files([second], folder, roster=roster, department=department, year=year, form=form)
    for line in result.merge.reconciliation:
        say(f"   {line}")
    say(f"   汇总表：{result.merge.path}")
    return result
