"""The README documents every command and carries the rule table generated from the catalogue."""

import re
from pathlib import Path

from typer.testing import CliRunner

from jixiao.cli import app
from jixiao.findings import RULES, rule_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    head = text[:600]
    assert "make demo" in head and "make test" in head


def test_readme_rule_table_matches_the_catalogue():
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- rules:start -->\n(.*?)\n<!-- rules:end -->", text, re.S)
    assert m, "README has no generated rule table"
    assert m.group(1).strip() == rule_table().strip(), "run: python -m jixiao.findings > rule table, or see README"


def test_every_rule_message_renders():
    from string import Formatter
    for rule in RULES.values():
        names = {n for _, n, _, _ in Formatter().parse(rule.template) if n}
        rule.template.format(**{n: "x" for n in names})


def test_every_command_has_help_and_is_documented():
    text = README.read_text(encoding="utf-8")
    runner = CliRunner()
    for command in ("init", "templates", "check", "merge", "status", "diff", "demo", "serve"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert f"jixiao {command}" in text, command
