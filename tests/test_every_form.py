"""Every round of the demo plan (samples/units.toml), whatever its form: the seed returns are read
and checked with the rules the round expects them to break, the corrected returns pass, and the
merge reconciles. A new form with its demo round is tested here without a line of Python."""

from __future__ import annotations

import pytest

from jixiao.check import check_files
from jixiao.publish import merge_files
from jixiao.roster import load_roster
from jixiao.samples import apply_fixes, fill_template, load_seed, load_units_plan, samples_dir, translate
from jixiao.spec import available_forms, load_form
from jixiao.template import write_templates

PLAN = load_units_plan()["round"]


def test_every_shipped_form_has_a_demo_round():
    assert {r["form"] for r in PLAN} == set(available_forms())


@pytest.fixture(scope="module", params=PLAN, ids=[r["form"] for r in PLAN])
def round_(request, tmp_path_factory):
    plan = request.param
    spec = load_form(plan["form"])
    roster = load_roster(samples_dir() / plan["roster"])
    folder = tmp_path_factory.mktemp(plan["form"])
    templates = {p.name.split("_", 1)[0]: p for p in write_templates(roster, plan["department"], plan["year"],
                                                                      folder / "t", form=plan["form"])}
    first, fixed = [], []
    (folder / "1").mkdir()
    (folder / "2").mkdir()
    for unit in plan["units"]:
        template = templates[unit["code"]]
        records = translate(load_seed(unit["seed"]), spec)
        first.append(fill_template(template, records, folder / "1" / template.name, spec))
        again = apply_fixes(records, unit["code"], plan.get("fix", []))
        fixed.append(fill_template(template, again, folder / "2" / template.name, spec))
    context = dict(roster=roster, department=plan["department"], year=plan["year"], form=plan["form"])
    return plan, spec, context, first, fixed


def test_the_seeds_break_the_rules_the_round_expects(round_):
    plan, spec, context, first, _ = round_
    reports = check_files(first, **context)
    found = {f.rule for r in reports for f in r.findings}
    assert set(plan["expect"]) <= found, sorted(found)


def test_the_corrected_returns_pass(round_):
    _, _, context, _, fixed = round_
    for report in check_files(fixed, **context):
        assert report.verdict == "通过", [(f.rule, f.where, f.message) for f in report.findings if f.severity == "error"]


def test_the_corrected_returns_merge_and_reconcile(round_, tmp_path):
    plan, spec, context, _, fixed = round_
    result = merge_files(fixed, tmp_path, **context)
    expected = sum(len(translate(load_seed(u["seed"]), spec)) for u in plan["units"])
    assert len(result.consolidated.projects) == expected
    assert result.reconciliation[-1].endswith("与输入逐分一致 ✓")
