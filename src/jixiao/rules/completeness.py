"""Completeness per record: which 一级 and 二级 it has (what the spec's presence and expected say it
should have), how many indicators, whether the goal's numbers appear among the values, whether the
description column explains anything, how many values only name a direction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from ..findings import Finding, Reporter, emits
from ..spec import FormSpec
from .base import label_key
from .schema import HTML_TAG

GOAL_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(%|％|次|家|人次|人|个|场|篇|项|期|本|份|位|名|场次)")


@dataclass
class ProjectTally:
    """What one record's indicator rows hold, gathered in one pass over the rows."""
    sub: object
    row: int                                  # the first indicator row
    level1: set = field(default_factory=set)
    level2: set = field(default_factory=set)
    count: int = 0
    numbers: set = field(default_factory=set)
    copied_notes: int = 0
    directions: list = field(default_factory=list)    # (row, value) of direction-only values

    def add(self, level1, level2, iv, note, name3: str, row: int) -> None:
        from .indicators import direction_only

        self.count += 1
        if level1:
            self.level1.add(level1)
        if level2:
            self.level2.add(level2)
        if iv.number is not None:
            self.numbers.add(iv.number)
        if not note or label_key(note) == label_key(name3):
            self.copied_notes += 1
        if direction_only(iv):
            self.directions.append((row, iv.text))


@emits("C-01", "C-02", "C-03", "C-04", "C-05", "C-06", "C-07", "V-16", "V-20")
def completeness(projects, subs, spec: FormSpec, tallies: dict) -> list[Finding]:
    out: list[Finding] = []
    if projects.empty:
        return out
    report = Reporter(spec, out, completeness)
    has_note = spec.indicators.has("note")
    goals = projects["goal"] if "goal" in projects else [None] * len(projects)
    seen = set()
    for sub_i, row, name, goal in zip(projects["_sub"], projects["_row"], projects["name"], goals):
        if not name:
            continue
        key = (int(sub_i), label_key(name))
        if key in seen:
            continue
        seen.add(key)
        sub = subs[int(sub_i)]
        row = int(row)

        def at(field_id, rule, **values):
            report.at(sub, "projects", row, field_id, rule, project=name, **values)

        tally = tallies.get(key)
        if tally is None:
            at("name", "C-07", sheet_name=spec.indicators.name)
            continue
        for l1 in spec.hierarchy:
            if l1.name in tally.level1:
                missing = [l2.name for l2 in l1.level2 if l2.expected and l2.name not in tally.level2]
                if missing and l1.presence == "error":
                    at("name", "C-03", level1=l1.name, missing="、".join(missing))
            elif l1.missing_rule:
                at("name", l1.missing_rule, level1=l1.name, example=f"（如“{l1.example}”）" if l1.example else "")
        if tally.count < spec.min_indicators_per_project:
            at("name", "C-05", count=tally.count, minimum=spec.min_indicators_per_project)
        if has_note and tally.copied_notes:
            # V-20 once per record: the description column exists to explain the measure.
            report.at(tally.sub, "indicators", tally.row, "note", "V-20", project=name,
                      count=tally.copied_notes, total=tally.count)
        if tally.directions:
            first_row, example = tally.directions[0]
            report.at(tally.sub, "indicators", first_row, "value", "V-16", project=name,
                      count=len(tally.directions), example=example)
        if goal:
            text = re.sub(r"20\d\d\s*年|20\d\d\s*[—-]|第\s*\d+", "", HTML_TAG.sub("", goal))
            for m in GOAL_NUMBER.finditer(text):
                if Decimal(m[1]) not in tally.numbers:
                    report.at(sub, "projects", row, "goal", "C-06", phrase=m[0], number=m[1])
                    break
    return out
