"""Build real returned workbooks from small data, the way a unit fills a template."""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
from pathlib import Path

from jixiao.check import check_files
from jixiao.samples import fill_template
from jixiao.spec import load_form


def clean_project(name: str = "培训项目", **overrides) -> dict:
    """A project that passes every rule: amounts add up, 产出/效益/满意度 present, values well formed."""
    project = {
        "项目名称": name, "项目性质": "经常性专项业务费", "项目类别": "特定目标类",
        "计划开始日期": "2023-01-01", "计划完成日期": "2023-12-31",
        "项目资金总额": None, "项目财政资金": None, "项目其他资金": None,
        "年度资金申请总额": "120000.00", "当年财政拨款": "100000.00", "上年结转资金": "0.00",
        "年度其他资金": "20000.00", "项目总目标": None,
        "年度总体目标": "全年举办业务培训12次，培训基层人员600人次，提升业务能力。",
        "indicators": [
            {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "举办培训次数", "指标值": "≥12(次)"},
            {"一级指标": "产出指标", "二级指标": "数量指标", "三级指标": "培训人次", "指标值": "≥600(人次)"},
            {"一级指标": "产出指标", "二级指标": "质量指标", "三级指标": "培训合格率", "指标值": "≥95(%)"},
            {"一级指标": "产出指标", "二级指标": "时效指标", "三级指标": "培训按计划完成时间", "指标值": "2023年12月底前"},
            {"一级指标": "效益指标", "二级指标": "社会效益指标", "三级指标": "基层业务能力", "指标值": "有效提升"},
            {"一级指标": "满意度指标", "二级指标": "服务对象满意度指标", "三级指标": "参训人员满意度", "指标值": "≥90(%)"},
        ],
    }
    project.update(overrides)
    return project


def unit_data(*projects: dict) -> dict:
    return {"projects": [copy.deepcopy(p) for p in (projects or (clean_project(),))]}


def make_return(tmp_path: Path, template: Path, data: dict, name: str | None = None) -> Path:
    out = tmp_path / (name or template.name)
    return fill_template(template, data, out, load_form())


def edit_cells(path: Path, edits: dict[tuple[str, str], object]) -> Path:
    """Set cells by (sheet, A1) with openpyxl, as a user typing or pasting would."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    for (sheet, cell), value in edits.items():
        wb[sheet][cell].value = value
    wb.save(path)
    return path


def findings_of(path: Path, **kwargs):
    (report,) = check_files([path], **kwargs)
    return report.findings


def rules_at(findings) -> set[tuple[str, str]]:
    """{(rule, "sheet!cell")} — the shape assertions compare."""
    return {(f.rule, f.where) for f in findings}


T0 = dt.datetime(2023, 3, 1, 9, 0).timestamp()      # receipt times are set with os.utime


def put(src: Path, folder: Path, name: str | None = None, hours: float = 0) -> Path:
    """Copy a workbook into the folder as if saved from an e-mail at T0 + hours."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (name or src.name)
    shutil.copyfile(src, target)
    ns = int((T0 + hours * 3600) * 1e9)
    os.utime(target, ns=(ns, ns))
    return target
