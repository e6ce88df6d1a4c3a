"""Content keys: where a finding is by what names its row (the record's name; an indicator's record,
一级, 二级 and 三级; another table's link and first field), however the rows move — what a unit's
answer to a warning is kept under (tests/test_explanations.py uses them end to end)."""
from pathlib import Path

from jixiao.findings import Reporter, content_key, emits
from jixiao.reader import Submission, Table
from jixiao.spec import load_form


def submission(spec, key, rows):
    sheet = spec.table(key)
    sub = Submission(path=Path("310001.xlsx"))
    sub.tables[key] = Table(sheet=sheet.name, header_row=1, columns={f: i for i, f in enumerate(sheet.ids)},
                            rows=rows)
    return sub


def row_of(spec, key, **values):
    return [values.get(fid) for fid in spec.table(key).ids]


def test_records_indicators_and_rows():
    spec = load_form("sh-project")
    sub = submission(spec, "projects", [(2, row_of(spec, "projects", name=" 欧美 同学会 ", start="2023"))])
    assert content_key(spec, sub, "projects", 2, "start") == "projects:欧美同学会:start"
    sub = submission(spec, "indicators", [(5, row_of(spec, "indicators", project="甲", level1="产出指标",
                                                      level2="数量指标", level3="场次"))])
    assert content_key(spec, sub, "indicators", 5, "value") == "indicators:甲:产出指标:数量指标:场次:value"
    overall = load_form("sh-overall")          # indicators without a record column; a table of its own
    sub = submission(overall, "indicators", [(3, row_of(overall, "indicators", level1="效益指标", level3="满意度"))])
    assert content_key(overall, sub, "indicators", 3, None) == "indicators::效益指标::满意度:"
    sub = submission(overall, "tasks", [(4, row_of(overall, "tasks", title="重点任务一", content="内容"))])
    assert content_key(overall, sub, "tasks", 4, "content") == "tasks::重点任务一:content"


def test_an_empty_row_and_a_short_row():
    spec = load_form("sh-project")
    sub = submission(spec, "indicators", [(5, ["甲", "产出指标"])])      # fewer values than fields
    assert content_key(spec, sub, "indicators", 5, "level3") == "indicators:甲:产出指标:::level3"
    assert content_key(spec, sub, "indicators", 9, "level3") == "indicators:@9:level3"


@emits("P-02")
def _rule():
    """a rule function for the Reporter below"""


def test_the_reporter_keys_each_finding_by_its_own_field():
    spec = load_form("sh-project")
    sub = submission(spec, "projects", [(2, row_of(spec, "projects", name="甲")), (3, row_of(spec, "projects", name="乙"))])
    out = []
    report = Reporter(spec, out, _rule)
    for row, field in ((2, "name"), (2, "start"), (3, "name")):
        report.at(sub, "projects", row, field, "P-02", name="甲", other_row=1)
    assert [f.key for f in out] == ["projects:甲:name", "projects:甲:start", "projects:乙:name"]
