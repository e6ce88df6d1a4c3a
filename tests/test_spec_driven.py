"""The form is data all the way through: no label of any shipped form is written in src/, every
rule id is declared by exactly the code that emits it, and a rule the form switches off is silent."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jixiao
from jixiao.findings import RULES, Reporter, emits
from jixiao.reader import EMITS as READER_EMITS
from jixiao.rules import RULE_FUNCTIONS
from jixiao.spec import available_forms, load_form

SRC = Path(jixiao.__file__).resolve().parent


def form_words() -> dict[str, str]:
    """Every label a shipped form gives: field labels, sheet names, levels and their aliases,
    code list names → the form that uses it."""
    words: dict[str, str] = {}
    for form in available_forms():
        spec = load_form(form)
        for table in spec.tables:
            words.setdefault(table.name, form)
            for f in table.fields:
                words.setdefault(f.label, form)
        for l1 in spec.hierarchy:
            for name in (l1.name, *l1.aliases, *l1.same_as):
                words.setdefault(name, form)
            for l2 in l1.level2:
                for name in (l2.name, *l2.aliases):
                    words.setdefault(name, form)
        for name in spec.code_lists:
            words.setdefault(name, form)
        words.setdefault(spec.previous_value.label, form)      # the reference column of last year's values
    return words


def string_constants(path: Path):
    """(line, text) of every string literal in a module, the literal parts of f-strings included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_the_forms_have_labels_to_look_for():
    words = form_words()
    assert {"项目名称", "年度资金申请总额", "预算数", "三级指标", "满意度指标", "投入管理指标", "年度重点任务"} <= set(words)


def test_no_label_of_a_form_is_written_in_src():
    words = form_words()
    found = [f"{path.relative_to(SRC)}:{line}: “{text}” is a label of {words[text]}"
             for path in sorted(SRC.rglob("*.py")) for line, text in string_constants(path) if text in words]
    assert found == [], "\n".join(found)


def test_no_rule_message_names_a_field_or_a_level():
    """Messages take their nouns from the form ({label}, {noun}, {level} …), not from one form."""
    words = {w for w in form_words() if len(w) >= 3}
    offenders = [(r.id, w) for r in RULES.values() for w in words if w in r.template]
    assert offenders == []


def test_every_rule_is_declared_by_what_emits_it():
    declared = set(READER_EMITS)
    for fn in RULE_FUNCTIONS:
        assert fn.emits, fn.__name__
        declared |= fn.emits
    assert declared == set(RULES)


def test_a_rule_cannot_report_what_it_does_not_declare():
    @emits("P-01")
    def rule_fn():
        pass

    out = []
    report = Reporter(load_form(), out, rule_fn)
    with pytest.raises(RuntimeError, match="does not declare"):
        report.file(None, "P-02")


def test_a_rule_the_form_switches_off_is_silent(tmp_path):
    from jixiao.spec import parse_form, templates_dir
    import tomllib

    data = tomllib.loads((templates_dir() / "sh-project.toml").read_text(encoding="utf-8"))
    data["rules"] = {"disable": ["S-15"]}
    spec = parse_form(data, folder=templates_dir())

    @emits("S-15")
    def rule_fn():
        pass

    class Sub:
        file = "x.xlsx"

    out = []
    Reporter(spec, out, rule_fn).file(Sub(), "S-15", code="1")
    assert out == []
    Reporter(load_form(), out, rule_fn).file(Sub(), "S-15", code="1")
    assert [f.rule for f in out] == ["S-15"]


def test_optional_rules_are_off_unless_a_form_switches_them_on():
    optional = {r.id for r in RULES.values() if r.optional}
    assert {"V-14", "V-16", "V-19", "V-20"} <= optional
    assert not any(load_form("sh-project").rule_on(r) for r in optional)
    assert load_form("tj-project").rule_on("V-20")
