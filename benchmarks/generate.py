"""Realistic returned workbooks for the benchmarks, made from REAL templates.

Every file is a genuine template of its own roster unit (``jixiao.template.write_template``:
the same sheets, column formats, validations, protection, ``_meta`` and fingerprint as
``write_templates`` produces) with a unit's projects and indicators laid into its input
cells through ``TemplateContent`` — the same mechanism the annotated copy uses — typed
the way ``jixiao.samples.fill_template`` types them (dates as dates, amounts as numbers,
指标值 as text, dropdown spellings). ``python benchmarks/generate.py --verify`` checks
that a file made this way and the same data filled with openpyxl through
``fill_template`` read back to the same tables and the same findings.

Why not a pool of openpyxl-filled files copied N times: filling one template with
openpyxl costs ~1 s, and a copy of another unit's file carries that unit's ``_meta``,
which adds S-09/S-15/duplicate-unit findings (and makes ``merge`` refuse two files of the
same unit). Writing each unit's own file with xlsxwriter costs ~30 ms, so every file of
the corpus is distinct, belongs to its roster unit, and the corpus is fully valid except
for the errors injected on purpose.

Data: projects, 三级 names, values and goal texts come from samples/seeds/*.json (000, 001
Shanghai; 002 Tianjin, converted to 元 and to the Shanghai notation). Rows that are
errors in the seeds (A-01 amounts, 仁云双益指标, …) are mapped to valid ones or dropped by
a probe check, so a generated file passes unless an error was injected; warnings stay,
as in real returns. Variation: project names (year, district, 二期…), amounts (always
年度资金申请总额 = 当年财政拨款 + 上年结转资金 + 年度其他资金), numbers of added indicators,
counts per unit (5–30 projects, 6–20 indicators each), notes.

Corpus layout (benchmarks/.cache/, gitignored), keyed by generator version and seed:
  corpus-v{V}-s{SEED}/files/{code}_{name}_{year}年度项目绩效目标申报表.xlsx   unit i = roster row i
  corpus-v{V}-s{SEED}/roster-{N}.csv       the first N units (a corpus of N = the first N files)
  corpus-v{V}-s{SEED}/manifest.json        per file: projects, indicators, injected error
  large-v{V}-s{SEED}/...                   one unit, 200 projects, 3,000 indicators

Usage: python benchmarks/generate.py [--n 3000] [--large] [--verify] [--jobs 2]
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import json
import math
import os
import random
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from jixiao.samples import cell_value, translate  # noqa: E402
from jixiao.roster import Roster, Unit  # noqa: E402
from jixiao.spec import load_form, normalize_label  # noqa: E402
from jixiao.template import (FIRST_DATA_ROW, TemplateContent, TemplateRequest,  # noqa: E402
                             template_filename, write_template)
from jixiao.values import parse_value, split_for_template  # noqa: E402

GEN_VERSION = 1
FORM = "sh-project"
DEPARTMENT = "上海市示例主管部门"
YEAR = 2023
DEADLINE = dt.date(2023, 3, 31)
DEFAULT_SEED = 20230331
ERROR_RATE = 0.03                  # share of units that return a file with one real error
CACHE = Path(__file__).resolve().parent / ".cache"
SEEDS = ROOT / "samples" / "seeds"

DISTRICTS = ["黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区",
             "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区"]
ORGS = ["归国华侨联合会", "科学技术协会", "欧美同学会", "教育局", "卫生健康委员会", "文化和旅游局", "图书馆",
        "文化馆", "疾病预防控制中心", "妇幼保健院", "体育局", "青少年活动中心", "老年大学", "档案馆", "统计局",
        "民政局", "退役军人事务局", "科学技术委员会", "市场监督管理局", "生态环境局", "水务局", "绿化和市容管理局",
        "红十字会", "残疾人联合会", "总工会", "妇女联合会", "工商业联合会", "社会科学界联合会", "文学艺术界联合会",
        "房屋管理局", "规划和自然资源局", "应急管理局", "司法局", "审计局", "人力资源和社会保障局", "农业农村委员会"]
NUMBERED = ["中学", "小学", "社区卫生服务中心", "幼儿园", "养老院", "职业技术学校"]
CN_DIGITS = "零一二三四五六七八九"
NAME_SUFFIXES = ["", "", "", "（二期）", "（续建）", "专项", "（运维）", "工作经费"]
NOTES = ["以年度实际完成数统计", "根据问卷调查结果计算", "按合同约定执行", "参照行业标准评定", "以验收报告为准",
         "按季度统计，年末汇总", "以财务决算数据为准", "由第三方机构评估"]
LARGE_CODE, LARGE_NAME = "399999", "上海市教育委员会本级"
ERRORS = ["F-02", "H-02", "P-05", "C-01", "V-04"]


# --- the seed pool --------------------------------------------------------------------------

def _cn_number(n: int) -> str:
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")


def _canonical(spec, level1: str, level2: str) -> tuple[str, str] | None:
    """The (一级, 二级) a seed row means, spelled as the dropdown gives it; None if unknown."""
    l2 = normalize_label(level2)
    owner = spec.level1_of_level2(l2)
    if owner is None:
        owner = spec.resolve_level1(level1)[0]
        if owner is None:
            return None
    canon = spec.resolve_level2(owner, l2)[0]
    if canon is None:
        # 仁云双益指标 and the like: the seed's own 一级 is right, the 二级 is not.
        canon = "社会效益指标" if owner == "效益指标" else None
    return (owner, canon) if canon else None


def _tj_value(value: str | None) -> str | None:
    """Tianjin values ("1485平方米", "100%", "≤254.3万元") in the Shanghai notation "≥1485(平方米)"."""
    v = parse_value(value)
    if v.kind != "quant":
        return value
    op = v.op or ("=" if v.unit in ("%", "‰") and v.number == 100 else "≥")
    return f"{op}{v.number_text}({v.unit})" if v.unit else f"{op}{v.number_text}"


def load_seed_pool(spec) -> list[dict]:
    """Seed projects as unit data (the samples.fill_template shape), 二级 canonicalised."""
    projects = []
    for name in ("000_oumei_2023.json", "001_kexie_2023.json", "002_tianjin_qiaolian_2023.json"):
        data = json.loads((SEEDS / name).read_text(encoding="utf-8"))
        tianjin = name.startswith("002")
        for p in data["projects"]:
            rows = []
            for ind in p["indicators"]:
                pair = _canonical(spec, ind["一级指标"], ind["二级指标"])
                if pair is None or not ind.get("三级指标"):
                    continue
                value = _tj_value(ind.get("指标值")) if tianjin else ind.get("指标值")
                if not value:
                    continue
                rows.append({"一级指标": pair[0], "二级指标": pair[1], "三级指标": ind["三级指标"].strip(),
                             "指标值": value})
            if tianjin:
                base = {"项目名称": p["项目名称"].replace("2023年度", ""), "项目性质": "经常性项目",
                        "项目类别": "特定目标类", "年度总体目标": p.get("绩效目标") or p.get("资金用途"),
                        "amount": Decimal(p["预算数"]) * 10000}
            else:
                base = {k: p.get(k) for k in ("项目名称", "项目性质", "项目类别", "年度总体目标", "项目总目标")}
                base["amount"] = Decimal(p["年度资金申请总额"])
            base["indicators"] = rows
            projects.append(base)
    return projects


def clean_pool(spec, work: Path) -> list[dict]:
    """Seed projects with every indicator row that is an error on its own removed.

    The rules decide, not this file: every seed project is written (as is, amounts made
    consistent) into one probe workbook, checked, and rows with an error finding are dropped.
    Cached in work/pool.json."""
    cached = work / "pool.json"
    if cached.exists():
        return _decode(json.loads(cached.read_text(encoding="utf-8")))
    from jixiao.check import check_files

    pool = load_seed_pool(spec)
    rng = random.Random(0)
    probe_projects = []
    for i, base in enumerate(pool):
        project = _project_record(base, f"探针项目{i}", rng, multi_year=False)
        project["indicators"] = copy.deepcopy(base["indicators"])
        probe_projects.append(project)
    unit = Unit("300000", "探针单位")
    work.mkdir(parents=True, exist_ok=True)
    path = work / template_filename(unit, YEAR, spec)
    write_unit_file(spec, unit, {"projects": probe_projects}, path)
    (report,) = check_files([path], department=DEPARTMENT, year=YEAR, form=FORM)
    bad_rows = set()
    for f in report.findings:
        if f.severity == "error":
            if f.sheet != spec.indicators.name:
                raise RuntimeError(f"probe: unexpected error outside 绩效指标: {f}")
            bad_rows.add(int(re.sub(r"\D", "", f.cell)))
    row = FIRST_DATA_ROW + 1
    for base in pool:
        kept = []
        for ind in base["indicators"]:
            if row not in bad_rows:
                kept.append(ind)
            row += 1
        base["indicators"] = kept
    path.unlink()
    cached.write_text(json.dumps(_encode(pool), ensure_ascii=False, indent=1), encoding="utf-8")
    return pool


def _encode(pool):
    return [{**p, "amount": str(p["amount"])} for p in pool]


def _decode(pool):
    return [{**p, "amount": Decimal(p["amount"])} for p in pool]


# --- one unit's data ------------------------------------------------------------------------

def _money(x: float) -> Decimal:
    return Decimal(int(x)).quantize(Decimal("0.01")) if x >= 100_000 else Decimal(f"{x:.2f}")


def _project_record(base: dict, name: str, rng: random.Random, multi_year: bool) -> dict:
    """Amounts that add up: 年度资金申请总额 = 当年财政拨款 + 上年结转资金 + 年度其他资金."""
    scale = base["amount"] * Decimal(str(round(rng.uniform(0.3, 2.5), 2)))
    grant = _money(float(max(scale, Decimal(20000))) // 100 * 100)
    carry = _money(float(grant) * rng.uniform(0.05, 0.3) // 100 * 100) if rng.random() < 0.2 else Decimal("0.00")
    other = _money(float(grant) * rng.uniform(0.05, 0.2) // 100 * 100) if rng.random() < 0.15 else Decimal("0.00")
    annual = grant + carry + other
    record = {"项目名称": name, "项目性质": base.get("项目性质") or "经常性专项业务费",
              "项目类别": base.get("项目类别") or "特定目标类",
              "计划开始日期": f"{YEAR}-01-01", "计划完成日期": f"{YEAR}-12-31",
              "项目资金总额": None, "项目财政资金": None, "项目其他资金": None,
              "年度资金申请总额": f"{annual:.2f}", "当年财政拨款": f"{grant:.2f}",
              "上年结转资金": f"{carry:.2f}", "年度其他资金": f"{other:.2f}",
              "项目总目标": None, "年度总体目标": base.get("年度总体目标")}
    if multi_year:
        later = _money(float(annual) * rng.uniform(0.5, 1.5) // 100 * 100)
        total_fiscal = grant + carry + later
        record.update({"计划完成日期": f"{YEAR + 1}-12-31", "项目资金总额": f"{total_fiscal + other:.2f}",
                       "项目财政资金": f"{total_fiscal:.2f}", "项目其他资金": f"{other:.2f}",
                       "项目总目标": base.get("项目总目标") or base.get("年度总体目标")})
    return record


def _vary_value(value: str, rng: random.Random) -> str:
    """Another unit's number for the same 三级: counts and amounts scaled, percentages kept."""
    v = parse_value(value)
    if v.kind != "quant" or v.number is None or v.unit in ("%", "‰") or not v.op:
        return value
    decimals = len(v.number_text.split(".")[1]) if "." in v.number_text else 0
    number = max(Decimal(1), (v.number * Decimal(str(rng.uniform(0.5, 2.0)))).quantize(Decimal(10) ** -decimals))
    return f"{v.op}{number}({v.unit})" if v.unit else f"{v.op}{number}"


def _pick_indicators(base: dict, pool: list[dict], k: int, rng: random.Random) -> list[dict]:
    own = [dict(i) for i in base["indicators"]]
    by_l2: dict[str, list[dict]] = {}
    for p in pool:
        for ind in p["indicators"]:
            by_l2.setdefault(ind["二级指标"], []).append(ind)
    need = ["数量指标", "质量指标", "时效指标", "社会效益指标", "服务对象满意度指标"]
    if len(own) > k:
        keep = []
        for l2 in need:
            match = [i for i in own if i["二级指标"] == l2 and i not in keep]
            if match:
                keep.append(match[0])
        rest = [i for i in own if i not in keep]
        keep += rng.sample(rest, max(0, k - len(keep)))
        own = [i for i in own if i in keep]
    have = {i["二级指标"] for i in own}
    names = {i["三级指标"] for i in own}

    def add(l2: str) -> None:
        candidates = [i for i in by_l2.get(l2, []) if i["三级指标"] not in names]
        if candidates:
            ind = dict(rng.choice(candidates))
            ind["指标值"] = _vary_value(ind["指标值"], rng)
            own.append(ind)
            names.add(ind["三级指标"])

    for l2 in need:   # real returns sometimes lack 时效 or 满意度 (warnings); most have them
        if l2 not in have and (l2 in ("数量指标", "社会效益指标") or rng.random() < 0.85):
            add(l2)
    weights = {"数量指标": 5, "质量指标": 3, "时效指标": 2, "成本指标": 1, "社会效益指标": 3,
               "可持续影响指标": 1, "服务对象满意度指标": 1}
    tries = 0
    while len(own) < k and tries < 200:
        tries += 1
        add(rng.choices(list(weights), list(weights.values()))[0])
    order = {(l1.name, l2.name): (a, b) for a, l1 in enumerate(load_form(FORM).hierarchy)
             for b, l2 in enumerate(l1.level2)}
    own.sort(key=lambda i: order.get((i["一级指标"], i["二级指标"]), (9, 9)))
    for ind in own:
        if rng.random() < 0.3:
            ind["指标说明"] = rng.choice(NOTES)
    return own


def _project_name(base: str, used: set[str], rng: random.Random) -> str:
    style = rng.random()
    if style < 0.45:
        name = base
    elif style < 0.6:
        name = f"{YEAR}年{base}"
    elif style < 0.8:
        name = base + rng.choice(NAME_SUFFIXES[3:])
    else:
        name = f"{base}（{rng.choice(DISTRICTS)}）"
    n = 2
    candidate = name
    while normalize_label(candidate) in used:
        candidate = f"{name}（{_cn_number(n)}）"
        n += 1
    used.add(normalize_label(candidate))
    return candidate


def unit_data(pool: list[dict], rng: random.Random, n_projects: int, n_indicators) -> dict:
    """One unit's return: n_projects projects, n_indicators() indicators each."""
    used: set[str] = set()
    projects = []
    for _ in range(n_projects):
        base = rng.choice(pool)
        name = _project_name(base["项目名称"], used, rng)
        record = _project_record(base, name, rng, multi_year=rng.random() < 0.12)
        record["indicators"] = _pick_indicators(base, pool, n_indicators(), rng)
        projects.append(record)
    return {"projects": projects}


def inject_error(data: dict, kind: str, rng: random.Random) -> None:
    """One real mistake, as the seeds show them."""
    p = rng.choice(data["projects"])
    if kind == "F-02":      # 年度资金申请总额 ≠ 当年财政拨款 + 上年结转资金 + 年度其他资金
        p["当年财政拨款"] = f"{Decimal(p['当年财政拨款']) - 70000:.2f}"
    elif kind == "H-02":    # an invalid 二级 from bad copying
        p["indicators"][-2]["二级指标"] = "仁云双益指标"
        p["indicators"][-2]["一级指标"] = "效益指标"
    elif kind == "P-05":    # dates the wrong way round
        p["计划开始日期"], p["计划完成日期"] = f"{YEAR}-12-31", f"{YEAR}-01-01"
    elif kind == "C-01":    # no 效益指标 at all
        p["indicators"] = [i for i in p["indicators"] if i["一级指标"] != "效益指标"]
    elif kind == "V-04":    # a quantity without its 计量单位
        for ind in p["indicators"]:
            v = parse_value(ind["指标值"])
            if v.kind == "quant" and v.unit and v.op:
                ind["指标值"] = f"{v.op}{v.number_text}"
                break


def roster_unit(i: int) -> Unit:
    """Roster row i (0-based): a realistic, unique unit name and a 6-digit code."""
    per = len(DISTRICTS) * len(ORGS)
    if i < per:
        name = f"上海市{DISTRICTS[i % len(DISTRICTS)]}{ORGS[(i // len(DISTRICTS)) % len(ORGS)]}"
    else:
        j = i - per
        kind = NUMBERED[j % len(NUMBERED)]
        district = DISTRICTS[(j // len(NUMBERED)) % len(DISTRICTS)]
        number = j // (len(NUMBERED) * len(DISTRICTS)) + 1
        name = f"上海市{district}第{_cn_number(number)}{kind}"
    return Unit(str(310001 + i), name, "联系人", f"021-{60000000 + i}")


def _unit_rng(seed: int, i: int) -> random.Random:
    return random.Random(seed * 1_000_003 + i)


def unit_plan(pool, seed: int, i: int) -> tuple[dict, str | None]:
    rng = _unit_rng(seed, i)
    n_projects = max(5, min(30, round(rng.lognormvariate(math.log(14), 0.4))))
    data = unit_data(pool, rng, n_projects, lambda: round(rng.triangular(6, 20, 11)))
    error = rng.choice(ERRORS) if rng.random() < ERROR_RATE else None
    if error:
        inject_error(data, error, rng)
    return data, error


def large_plan(pool, seed: int) -> dict:
    """The one large unit: 200 projects × 15 = 3,000 indicators (the template's full input range)."""
    rng = _unit_rng(seed, 999_999)
    return unit_data(pool, rng, 200, lambda: 15)


# --- writing a unit's file --------------------------------------------------------------------

_cell_value = cell_value   # what a user's typing leaves in the cell, as the sample filler does


def content_of(spec, data: dict) -> TemplateContent:
    """Unit data → the cells fill_template would type, for write_template(content=...)."""
    pcells: dict = {}
    icells: dict = {}
    i_cols = {f.id: i for i, f in enumerate(spec.indicators.fields)}
    row_i = FIRST_DATA_ROW
    for n, record in enumerate(translate(data, spec)):
        for col, f in enumerate(spec.projects.fields):
            value = _cell_value(f.type, record["values"].get(f.id))
            if value is not None:
                pcells[(FIRST_DATA_ROW + n, col)] = value
        for ind in record["indicators"]:
            op, number, unit = split_for_template(ind.get("value"))
            values = {**ind, "project": record["values"].get("name"), "operator": op,
                      "value": str(number) if number is not None else None, "unit": unit}
            for field_id, value in values.items():
                if value is not None and field_id in i_cols:
                    icells[(row_i, i_cols[field_id])] = value
            row_i += 1
    return TemplateContent(cells={spec.projects.name: pcells, spec.indicators.name: icells})


def write_unit_file(spec, unit: Unit, data: dict, path: Path) -> Path:
    tmp = path.with_name(path.stem + ".part.xlsx")
    request = TemplateRequest(unit, DEPARTMENT, YEAR, DEADLINE)
    write_template(spec, request, tmp, content=content_of(spec, data))
    os.replace(tmp, path)
    return path


# --- corpora ----------------------------------------------------------------------------------

def corpus_dir(seed: int = DEFAULT_SEED) -> Path:
    return CACHE / f"corpus-v{GEN_VERSION}-s{seed}"


def large_dir(seed: int = DEFAULT_SEED) -> Path:
    return CACHE / f"large-v{GEN_VERSION}-s{seed}"


_POOL = None


def _pool(seed: int):
    global _POOL
    if _POOL is None:
        _POOL = clean_pool(load_form(FORM), CACHE / f"pool-v{GEN_VERSION}")
    return _POOL


def _write_one(args) -> dict:
    seed, i, path = args
    spec = load_form(FORM)
    data, error = unit_plan(_pool(seed), seed, i)
    write_unit_file(spec, roster_unit(i), data, Path(path))
    return {"i": i, "file": Path(path).name, "projects": len(data["projects"]),
            "indicators": sum(len(p["indicators"]) for p in data["projects"]), "error": error}


def write_roster(units: list[Unit], path: Path) -> Path:
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["单位编码", "单位名称", "联系人", "联系电话"])
            for u in units:
                w.writerow([u.code, u.name, u.contact, u.phone])
        os.replace(tmp, path)
    return path


def ensure_corpus(n: int, seed: int = DEFAULT_SEED, jobs: int = 2, say=print) -> tuple[list[Path], Path, dict]:
    """The first n files of the corpus (generated once, cached), their roster file and manifest."""
    spec = load_form(FORM)
    _pool(seed)
    base = corpus_dir(seed)
    files = base / "files"
    files.mkdir(parents=True, exist_ok=True)
    manifest_path = base / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    units = [roster_unit(i) for i in range(n)]
    paths = [files / template_filename(u, YEAR, spec) for u in units]
    todo = [(seed, i, str(p)) for i, p in enumerate(paths) if not (p.exists() and p.name in manifest)]
    if todo:
        say(f"generating {len(todo)} workbooks into {files} ({jobs} processes)…")
        started = time.perf_counter()
        if jobs > 1 and len(todo) > 8:
            with ProcessPoolExecutor(jobs) as ex:
                results = list(ex.map(_write_one, todo, chunksize=16))
        else:
            results = [_write_one(t) for t in todo]
        for r in results:
            manifest[r["file"]] = r
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=0), encoding="utf-8")
        os.replace(tmp, manifest_path)
        say(f"  done in {time.perf_counter() - started:.1f} s")
    roster = write_roster(units, base / f"roster-{n}.csv")
    return paths, roster, {p.name: manifest[p.name] for p in paths}


def ensure_large(seed: int = DEFAULT_SEED, say=print) -> tuple[list[Path], Path, dict]:
    spec = load_form(FORM)
    base = large_dir(seed)
    base.mkdir(parents=True, exist_ok=True)
    unit = Unit(LARGE_CODE, LARGE_NAME, "联系人", "021-99999999")
    path = base / template_filename(unit, YEAR, spec)
    info_path = base / "manifest.json"
    if not (path.exists() and info_path.exists()):
        say(f"generating the large unit into {path}…")
        data = large_plan(_pool(seed), seed)
        write_unit_file(spec, unit, data, path)
        info = {path.name: {"file": path.name, "projects": len(data["projects"]),
                            "indicators": sum(len(p["indicators"]) for p in data["projects"]), "error": None}}
        info_path.write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    roster = write_roster([unit], base / "roster.csv")
    return [path], roster, json.loads(info_path.read_text(encoding="utf-8"))


# --- verification: the fast route equals fill_template ----------------------------------------

def verify(seed: int = DEFAULT_SEED, units=(0, 1, 2, 7)) -> bool:
    """Same data through write_template(content) and through openpyxl fill_template: same tables
    as read, same findings (rule, sheet, cell, severity). Prints a line per unit."""
    import tempfile

    from jixiao.check import check_files
    from jixiao.reader import read_workbook
    from jixiao.samples import fill_template
    from jixiao.template import write_templates

    spec = load_form(FORM)
    pool = _pool(seed)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        roster = Roster([roster_unit(i) for i in units])
        templates = write_templates(roster, DEPARTMENT, YEAR, tmp / "templates", deadline=DEADLINE, form=FORM)
        (tmp / "a").mkdir()
        (tmp / "b").mkdir()
        for i, template in zip(units, templates):
            data, error = unit_plan(pool, seed, i)
            fast = write_unit_file(spec, roster_unit(i), data, tmp / "a" / template.name)
            t0 = time.perf_counter()
            slow = fill_template(template, data, tmp / "b" / template.name, spec)
            t_fill = time.perf_counter() - t0
            ra, rb = read_workbook(fast, spec), read_workbook(slow, spec)
            same_tables = (ra.projects.rows == rb.projects.rows and ra.indicators.rows == rb.indicators.rows)
            (fa,), (fb,) = (check_files([p], roster=roster, department=DEPARTMENT, year=YEAR, form=FORM)
                            for p in (fast, slow))
            key = lambda f: (f.rule, f.sheet, f.cell, f.severity)  # noqa: E731
            same_findings = sorted(map(key, fa.findings)) == sorted(map(key, fb.findings))
            ok &= same_tables and same_findings
            print(f"unit {i}: tables {'same' if same_tables else 'DIFFER'}, findings "
                  f"{'same' if same_findings else 'DIFFER'} ({len(fa.findings)} findings, "
                  f"{sum(f.severity == 'error' for f in fa.findings)} errors, injected {error}); "
                  f"sizes {fast.stat().st_size} vs {slow.stat().st_size} bytes; openpyxl fill {t_fill:.2f} s")
            if not same_findings:
                print("  only fast:", sorted(set(map(key, fa.findings)) - set(map(key, fb.findings)))[:10])
                print("  only openpyxl:", sorted(set(map(key, fb.findings)) - set(map(key, fa.findings)))[:10])
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="corpus size (files are cached; a larger n extends it)")
    ap.add_argument("--large", action="store_true", help="also the large unit (200 projects, 3,000 indicators)")
    ap.add_argument("--verify", action="store_true", help="compare with openpyxl fill_template on a few units")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    if args.verify:
        return 0 if verify(args.seed) else 1
    paths, roster, manifest = ensure_corpus(args.n, args.seed, args.jobs)
    errors = sum(1 for m in manifest.values() if m["error"])
    print(f"{len(paths)} files, {sum(m['projects'] for m in manifest.values())} projects, "
          f"{sum(m['indicators'] for m in manifest.values())} indicators, {errors} with an injected error; "
          f"roster {roster}")
    if args.large:
        paths, roster, manifest = ensure_large(args.seed)
        print(f"large unit: {paths[0]} {next(iter(manifest.values()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
