"""A province's variant of a shipped form is a spec file and nothing else: every label and sheet
renamed, loaded by path, it goes through templates → check → merge with the same findings (in
its own words) and a reconciled 汇总表 whose headers are its own labels."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import openpyxl
import pytest

from jixiao.check import check_files
from jixiao.publish import merge_files
from jixiao.render import DETAIL_SHEET, STATUS_SHEET, SUMMARY_HEADER_ROW, SUMMARY_SHEET
from jixiao.roster import load_roster
from jixiao.samples import fill_template, load_seed, load_units_plan, samples_dir
from jixiao.spec import available_forms, load_form, templates_dir
from jixiao.template import write_templates

ROUNDS = {r["form"]: r for r in load_units_plan()["round"]}
FORMS = available_forms()


def write_variant(form: str, folder: Path) -> tuple[Path, dict[str, str]]:
    """The shipped spec with every field label and sheet name renamed, under another form id.
    Returns the spec file and old → new words."""
    text = (templates_dir() / f"{form}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    words: dict[str, str] = {}
    for table in data["sheets"].values():
        words[table["name"]] = f"{table['name']}（新表）"
        for f in table["fields"]:
            words.setdefault(f["label"], f"新栏目{len(words):02d}")
    # Rewrite the TOML text itself (a person would edit the file): name = "…" and label = "…" lines.
    out = []
    for line in text.splitlines():
        m = re.match(r'^(name|label) = "(.*)"$', line)
        if m and m[2] in words:
            line = f'{m[1]} = "{words[m[2]]}"'
        elif line.startswith("id = ") and line.strip('id ="') == form:
            line = f'id = "{form}-variant"'
        out.append(line)
    path = folder / f"{form}-variant.toml"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path, words


def back(text: str, words: dict[str, str]) -> str:
    """A message of the variant in the shipped form's words (the new labels are unique tokens)."""
    old = {new: old for old, new in words.items()}
    return re.sub("|".join(re.escape(w) for w in sorted(old, key=len, reverse=True)), lambda m: old[m[0]], text)


def round_trip(form, folder: Path):
    plan = ROUNDS[form if not str(form).endswith(".toml") else Path(form).stem.removesuffix("-variant")]
    spec = load_form(str(form))
    roster = load_roster(samples_dir() / plan["roster"])
    templates = write_templates(roster, plan["department"], plan["year"], folder / "t", form=str(form))
    unit = plan["units"][0]
    template = next(p for p in templates if p.name.startswith(unit["code"]))
    path = fill_template(template, load_seed(unit["seed"]), folder / template.name, spec)
    (report,) = check_files([path], roster=roster, department=plan["department"], year=plan["year"],
                            form=str(form))
    return spec, roster, plan, path, report


@pytest.mark.parametrize("form", FORMS)
def test_variant_with_renamed_labels_finds_the_same_in_its_own_words(tmp_path, form):
    variant, words = write_variant(form, tmp_path)
    spec = load_form(str(variant))
    assert spec.id == f"{form}-variant"
    assert all(label.startswith("新栏目") for t in spec.tables for label in t.labels)
    _, _, _, _, original = round_trip(form, tmp_path / "a")
    _, _, _, _, renamed_report = round_trip(variant, tmp_path / "b")
    assert original.findings, "the seed has real anomalies to find"
    want = [(f.rule, words.get(f.sheet, f.sheet), f.cell, words.get(f.field, f.field), f.severity, f.message)
            for f in original.findings]
    got = [(f.rule, f.sheet, f.cell, f.field, f.severity, back(f.message, words)) for f in renamed_report.findings]
    assert got == want
    # The messages are in the variant's words wherever they name a column of the form.
    assert sum("新栏目" in f.message for f in renamed_report.findings) >= len(renamed_report.findings) // 2


@pytest.mark.parametrize("form", FORMS)
def test_variant_merges_and_reconciles_with_its_own_headers(tmp_path, form):
    variant, words = write_variant(form, tmp_path)
    spec, roster, plan, path, report = round_trip(variant, tmp_path / "b")
    (tmp_path / "out").mkdir()
    result = merge_files([path], tmp_path / "out", roster=roster, department=plan["department"],
                         year=plan["year"], form=str(variant), skip_invalid=True)
    wb = openpyxl.load_workbook(result.path)
    header = [c.value for c in wb[SUMMARY_SHEET][SUMMARY_HEADER_ROW + 1]]
    records = spec.projects
    assert records.label("name") in header and records.label("name").startswith("新栏目")
    for fid in spec.amount_ids():
        assert records.label(fid) in header
    detail = [c.value for c in wb[DETAIL_SHEET][1]]
    assert spec.indicators.label("level3") in detail and records.label("name") in detail
    status = [c.value for c in wb[STATUS_SHEET][2]]
    assert f"{records.label('annual_total')}（{spec.money_unit}）" in status
    assert result.reconciliation[-1].endswith("与输入逐分一致 ✓")
