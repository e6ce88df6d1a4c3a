"""An installed jixiao works: the wheel carries the form specs and the samples.

The wheel is built from the repository (offline: the backend, hatchling, is a test dependency),
installed without its dependencies into a fresh virtual environment in a temporary folder, and
run from there, outside the source tree. The dependencies come from the running environment
through a .pth line, so that nothing is downloaded; a .pth line does not process the editable
install's own .pth, so `import jixiao` can only find the wheel's copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the fresh environment's layout is POSIX here")


def run(*args, cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheelhouse")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
        "-w", out, REPO, cwd=out)
    (built,) = out.glob("jixiao-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    """(bin folder, environment) of a fresh venv holding only the wheel (+ the running deps)."""
    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=root)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel,
        cwd=root)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=root).stdout.strip())
    (site / "_jixiao_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JIXIAO_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv / "bin", env


def test_the_wheel_carries_the_specs_layouts_and_samples(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for form in ("sh-project", "tj-project", "sh-overall", "cn-2021"):
        assert f"jixiao/templates/{form}.toml" in names
    assert "jixiao/templates/layouts/sh-project.toml" in names
    assert {"jixiao/samples/units.toml", "jixiao/samples/roster.csv",
            "jixiao/samples/seeds/000_oumei_2023.json"} <= names
    assert not any(n.startswith(("tests/", "src/", "templates/", "samples/")) for n in names)


def test_the_wheel_carries_the_web_pages_templates_and_scripts(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    web = REPO / "src" / "jixiao" / "web"
    shipped = {f"jixiao/web/{p.relative_to(web).as_posix()}" for p in web.rglob("*")
               if p.is_file() and p.suffix in (".html", ".js", ".css", ".py")}
    assert {"jixiao/web/templates/home.html", "jixiao/web/templates/unit.html", "jixiao/web/static/app.js",
            "jixiao/web/static/app.css"} <= shipped <= names


def test_the_installed_package_serves_its_page(installed, tmp_path):
    bin_dir, env = installed
    roster = tmp_path / "名单.csv"
    roster.write_text("单位编码,单位名称\n310001,上海市欧美同学会\n", encoding="utf-8")
    run(bin_dir / "jixiao", "init", tmp_path / "c", "--roster", roster, "--dept", "上海市示例主管部门",
        "--year", "2023", cwd=tmp_path, env=env)
    script = ("import sys, jixiao.web.app as a; from starlette.testclient import TestClient; "
              "c = TestClient(a.create_app(sys.argv[1], port=8000), base_url='http://127.0.0.1:8000'); "
              "print(a.__file__); r = c.get('/'); print(r.status_code, '上海市欧美同学会' in r.text); "
              "print(c.get('/static/app.js').status_code)")
    out = run(bin_dir / "python", "-c", script, tmp_path / "c", cwd=tmp_path, env=env).stdout.splitlines()
    assert Path(out[0]).resolve().is_relative_to(bin_dir.parent.resolve()), out
    assert out[1:] == ["200 True", "200"]


def test_the_installed_package_reads_its_own_copies(installed, tmp_path):
    bin_dir, env = installed
    out = run(bin_dir / "python", "-c",
              "import jixiao, jixiao.spec as s, jixiao.samples as m; "
              "print(jixiao.__file__); print(s.templates_dir()); print(m.samples_dir()); "
              "print(','.join(s.available_forms()))", cwd=tmp_path, env=env).stdout.splitlines()
    venv = bin_dir.parent.resolve()
    for line in out[:3]:
        assert Path(line).resolve().is_relative_to(venv), out
    assert out[3] == "cn-2021,sh-overall,sh-project,tj-project"


def test_installed_jixiao_writes_templates_and_runs_the_demo(installed, tmp_path):
    bin_dir, env = installed
    roster = tmp_path / "名单.csv"
    roster.write_text("单位编码,单位名称\n310001,上海市欧美同学会\n310002,上海市科学技术协会\n", encoding="utf-8")
    result = run(bin_dir / "jixiao", "templates", roster, "--dept", "上海市示例主管部门", "--year", "2023",
                 "-o", tmp_path / "模板", cwd=tmp_path, env=env)
    assert "已生成 2 份模板" in result.stdout
    assert len(list((tmp_path / "模板").glob("*.xlsx"))) == 2

    result = run(bin_dir / "jixiao", "demo", "-o", tmp_path / "demo", cwd=tmp_path, env=env)
    assert "演示完成" in result.stdout
    summaries = list((tmp_path / "demo").glob("run-*/*/*汇总表.xlsx"))
    assert len(summaries) == 5, result.stdout          # one per form, and the second year (--previous)
