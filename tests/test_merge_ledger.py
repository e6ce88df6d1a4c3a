"""merge and status on a collection folder: the latest file per unit by receipt time, the CLI on a folder."""
import datetime as dt, os, shutil
import openpyxl, pytest
from typer.testing import CliRunner
from jixiao.cli import app
from jixiao.merge import MergeRefused
from jixiao.publish import merge_files
from jixiao.render import STATUS_SHEET

T0 = dt.datetime(2023, 3, 1, 9, 0).timestamp()

def put(src, folder, name=None, hours=0):
    folder.mkdir(parents=True, exist_ok=True)
    t = folder / (name or src.name); shutil.copyfile(src, t)
    ns = int((T0 + hours * 3600) * 1e9); os.utime(t, ns=(ns, ns)); return t

def test_folder_merge_uses_latest_file_per_unit(tmp_path, seed_returns, fixed_returns, roster):
    inbox = tmp_path / "inbox"
    old = put(seed_returns["310002"], inbox, hours=1)
    new = put(fixed_returns["310002"], inbox, "310002_更正.xlsx", hours=30)
    put(fixed_returns["310001"], inbox, hours=2)
    (tmp_path / "out").mkdir()
    result = merge_files([inbox], tmp_path / "out", roster=roster)
    status = {u.unit.code: u for u in result.consolidated.units}
    assert status["310002"].file == new.name and status["310002"].superseded == [old.name]
    assert status["310002"].received == "2023-03-02 15:00"
    ws = openpyxl.load_workbook(result.path)[STATUS_SHEET]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    col = {h: i for i, h in enumerate(rows[1])}          # row 1 is the title
    r = next(r for r in rows[2:] if r[col["单位编码"]] == "310002")
    assert r[col["文件"]] == new.name and r[col["接收时间"]] == "2023-03-02 15:00" and old.name in r[col["备注"]]
    put(seed_returns["310001"], inbox, "310001_再报.xlsx", hours=50)   # the newest file counts, even when broken
    with pytest.raises(MergeRefused, match="1 个文件有错误"):
        merge_files([inbox], tmp_path / "out2.xlsx", roster=roster)

def test_cli_status(tmp_path, seed_returns, fixed_returns, roster_path):
    inbox = tmp_path / "inbox"
    put(seed_returns["310001"], inbox); put(fixed_returns["310002"], inbox)
    r = CliRunner().invoke(app, ["status", str(inbox), "--roster", str(roster_path), "--xlsx", str(tmp_path / "催报.xlsx")])
    assert r.exit_code == 0, r.output
    assert "应报 3 家：通过 1，有错误 1，未报送 1" in r.output and (tmp_path / "催报.xlsx").exists()
    r = CliRunner().invoke(app, ["status", str(inbox), "--roster", str(roster_path), "--json"])
    assert r.exit_code == 0 and '"missing": 1' in r.output
    r = CliRunner().invoke(app, ["status", str(tmp_path / "nope"), "--roster", str(roster_path)])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_cli_merge_of_a_folder_takes_each_units_latest_file(tmp_path, seed_returns, fixed_returns, roster_path):
    """`jixiao merge INBOX` goes through the ledger: the older, broken file is superseded."""
    from helpers import put

    inbox = tmp_path / "inbox"
    put(seed_returns["310002"], inbox, hours=0)
    put(fixed_returns["310002"], inbox, name="310002_更正.xlsx", hours=5)
    put(fixed_returns["310001"], inbox, hours=1)
    r = CliRunner().invoke(app, ["merge", str(inbox), "-o", str(tmp_path / "out.xlsx"),
                                 "--roster", str(roster_path), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "合计：26 个项目" in r.output

def test_merge_of_a_folder_reads_each_file_once(tmp_path, seed_returns, fixed_returns, roster, monkeypatch):
    """The ledger scan hands what it read to merge: a first merge reads every file once, and a merge
    of the unchanged folder reads only the files it consolidates (the scan reads nothing)."""
    import jixiao.ledger as ledger_mod, jixiao.merge as merge_mod
    reads = []

    def spy_on(module):
        real = module.read_and_check
        def spy(paths, *args, **kwargs):
            reads.extend(p.name for p in paths)
            return real(paths, *args, **kwargs)
        monkeypatch.setattr(module, "read_and_check", spy)

    spy_on(ledger_mod); spy_on(merge_mod)
    inbox = tmp_path / "inbox"
    put(seed_returns["310002"], inbox, hours=1)
    put(fixed_returns["310002"], inbox, "310002_更正.xlsx", hours=30)
    put(fixed_returns["310001"], inbox, hours=2)
    merge_files([inbox], tmp_path / "a.xlsx", roster=roster)
    assert sorted(reads) == sorted(p.name for p in inbox.glob("*.xlsx"))
    reads.clear()
    merge_files([inbox], tmp_path / "b.xlsx", roster=roster)
    assert sorted(reads) == sorted([fixed_returns["310001"].name, "310002_更正.xlsx"])
