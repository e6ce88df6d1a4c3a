"""One folder per collection: `jixiao.toml` holds the settings of one year's collection, and the
folder holds everything else of it.

    DIR/jixiao.toml    the settings (TOML, commented in Chinese, edited by hand when needed)
    DIR/模板/           the templates to send out
    DIR/收件箱/          the returns as received (never modified; the ledger in 收件箱/.jixiao/)
    DIR/校验结果/        annotated copies to send back
    DIR/{主管部门}{年度}年度{汇总表}.xlsx

init_collection() writes the settings and copies the roster (and budget) in; Collection.load()
reads them back, refusing unknown keys and bad values with one Chinese sentence each. The
commands take their defaults from a Collection; options given explicitly win.

The value checks every command shares (year, deadline, names) live here too.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import re
import shutil
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .cells import to_date
from .errors import UsageError
from .fileio import atomic_path
from .preflight import output_folder
from .spec import DEFAULT_FORM, load_form

SETTINGS_NAME = "jixiao.toml"
TEMPLATES_DIR, INBOX_DIR, RESULTS_DIR = "模板", "收件箱", "校验结果"
YEAR_RANGE = (2000, 2100)
# A deadline may fall in the year before the collection's 年度 (targets are set while the budget is
# prepared, in the autumn before), in the year itself, or in the year after.
DEADLINE_YEARS = (-1, 1)

# key → (what it is, required); the order of the settings file. Later keys (`previous`, last year's
# 汇总表) are added here and in SETTINGS_TEMPLATE.
KEYS = {
    "dept": ("主管部门名称", True),
    "year": ("年度", True),
    "form": ("表单", False),
    "roster": ("报送名单文件", True),
    "budget": ("预算预填文件", False),
    "deadline": ("报送截止日期", False),
    "previous": ("上年汇总表", False),
}


class SettingsError(UsageError):
    """jixiao.toml is missing, malformed, or holds a bad value; the message says what to change.
    `reason` is "none" when the folder is not a collection at all (the CLI then points to init)."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason


# --- values every command checks -------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_year(value) -> int:
    """2023, "2023", "２０２３", "2023年", "2023年度" → 2023; anything else, or a year outside
    2000–2100, is refused."""
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, int):
        year = value
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().removesuffix("年度").removesuffix("年").strip()
        if not re.fullmatch(r"\d{4}", text):
            raise UsageError(f"年度 {str(value).strip() or '（空）'} 不合理：请填写 {YEAR_RANGE[0]} 至 {YEAR_RANGE[1]} "
                             "之间的四位年度，如 2023")
        year = int(text)
    if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise UsageError(f"年度 {year} 不合理：请填写 {YEAR_RANGE[0]} 至 {YEAR_RANGE[1]} 之间的四位年度，如 2023")
    return year


def parse_deadline(value, year: int | None) -> dt.date | None:
    """A deadline in any form the reader accepts (2023-03-31, 2023/3/31, 2023年3月31日, 20230331),
    within the year before the collection's 年度 to the year after."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        due = value.date()
    elif isinstance(value, dt.date):
        due = value
    else:
        try:
            due, _ = to_date(str(value))
        except ValueError:
            due = None
        if due is None:
            raise UsageError(f"截止日期“{value}”格式不对：请写成 2023-03-31、2023/3/31、2023年3月31日 或 20230331")
    if year is not None:
        first, last = year + DEADLINE_YEARS[0], year + DEADLINE_YEARS[1]
        if not first <= due.year <= last:
            raise UsageError(f"截止日期 {due.isoformat()} 不合理：本次收集的是 {year} 年度，截止日期应在 {first} 年至 "
                             f"{last} 年之间")
    return due


def check_name(value, what: str) -> str:
    """A name (主管部门 …): not empty, no control characters; outer spaces removed."""
    text = "" if value is None else str(value).replace("\u3000", " ").strip()
    if not text:
        raise UsageError(f"{what}不能为空：请写明{what}，如“上海市示例主管部门”")
    if _CONTROL.search(text):
        raise UsageError(f"{what}“{_CONTROL.sub('', text)}”含有换行或控制字符：请只写名称本身")
    return text


# --- the collection folder ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Collection:
    folder: Path
    department: str
    year: int
    form: str                       # a form id, or the path of a spec file
    roster: Path
    budget: Path | None = None
    deadline: dt.date | None = None
    previous: Path | None = None       # last year's 汇总表: templates start from it, check compares with it

    @property
    def settings_path(self) -> Path:
        return self.folder / SETTINGS_NAME

    @property
    def templates_dir(self) -> Path:
        return self.folder / TEMPLATES_DIR

    @property
    def inbox(self) -> Path:
        return self.folder / INBOX_DIR

    @property
    def results_dir(self) -> Path:
        return self.folder / RESULTS_DIR

    @property
    def summary_path(self) -> Path:
        from .merge import default_output_name
        from .rules import DEPT_TAG

        return self.folder / default_output_name(DEPT_TAG.sub("", self.department), self.year,
                                                 load_form(self.form))

    def describe(self) -> str:
        return f"{self.department} {self.year} 年度（{self.folder}）"

    @classmethod
    def load(cls, folder: str | Path) -> "Collection":
        """Read DIR/jixiao.toml; every problem is one SettingsError sentence."""
        folder = Path(folder)
        path = folder / SETTINGS_NAME
        if not folder.is_dir():
            raise SettingsError(f"收集文件夹 {folder} 不存在：请先建立收集文件夹", reason="none")
        if not path.is_file():
            raise SettingsError(f"{folder} 不是收集文件夹（其中没有 {SETTINGS_NAME}）：请先建立收集文件夹", reason="none")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError:
            raise SettingsError(f"{path} 不是 UTF-8 编码的文本：请用记事本另存为 UTF-8 后重试") from None
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            where = f"第 {m[1]} 行" if m else ""
            raise SettingsError(f"{path} {where}写法有误：文字要放在英文双引号中（如 dept = \"上海市示例主管部门\"），"
                                "日期写成 2023-03-31；请按文件中的说明修改") from None
        except OSError as exc:
            raise SettingsError(f"无法读取 {path}（{exc.strerror or type(exc).__name__}）") from None
        unknown = [k for k in data if k not in KEYS]
        if unknown:
            raise SettingsError(f"{path} 中有无法识别的设置：{'、'.join(unknown)}（可用的设置有 {'、'.join(KEYS)}）："
                                "请删除或改正")
        for key, (what, required) in KEYS.items():
            if required and key not in data:
                raise SettingsError(f"{path} 缺少设置 {key}（{what}）：请补上")
        for key in ("dept", "form", "roster", "budget", "previous"):
            if key in data and not isinstance(data[key], str):
                raise SettingsError(f"{path} 中 {key}（{KEYS[key][0]}）应写成带英文双引号的文字，如 {key} = \"…\"")

        def bad(key: str, exc: Exception) -> SettingsError:
            return SettingsError(f"{path} 中 {key}（{KEYS[key][0]}）有误：{exc}")

        try:
            department = check_name(data["dept"], "主管部门名称")
        except UsageError as exc:
            raise bad("dept", exc) from None
        try:
            year = parse_year(data["year"])
        except UsageError as exc:
            raise bad("year", exc) from None
        try:
            deadline = parse_deadline(data.get("deadline"), year)
        except UsageError as exc:
            raise bad("deadline", exc) from None
        form = data.get("form") or DEFAULT_FORM
        if form.endswith(".toml"):
            form = str(_under(folder, form))
        roster = _under(folder, data["roster"])
        if not roster.is_file():
            raise SettingsError(f"{path} 中的报送名单 {data['roster']} 不存在（应在 {roster}）：请把名单放回原处或修改 roster")
        budget = _under(folder, data["budget"]) if data.get("budget") else None
        if budget is not None and not budget.is_file():
            raise SettingsError(f"{path} 中的预算预填文件 {data['budget']} 不存在（应在 {budget}）：请放回原处或修改 budget")
        previous = _under(folder, data["previous"]) if data.get("previous") else None
        if previous is not None and not previous.is_file():
            raise SettingsError(f"{path} 中的上年汇总表 {data['previous']} 不存在（应在 {previous}）：请放回原处或修改 previous")
        return cls(folder, department, year, form, roster, budget, deadline, previous)

    @classmethod
    def find(cls, start: str | Path | None = None) -> "Collection | None":
        """The collection of a folder (default: the current one), or None when it has no jixiao.toml."""
        folder = Path(start) if start is not None else Path.cwd()
        if not (folder / SETTINGS_NAME).is_file():
            return None
        return cls.load(folder)


def _under(folder: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else folder / path


def is_collection(folder: str | Path) -> bool:
    return (Path(folder) / SETTINGS_NAME).is_file()


# --- writing a new collection ------------------------------------------------------------------------

SETTINGS_TEMPLATE = """\
# jixiao 收集设置：本文件所在的文件夹就是一次绩效目标收集。
# 在本文件夹中（或用 jixiao -C 本文件夹）运行 jixiao templates、check、status、merge，
# 不必再写名单、主管部门和年度：
#   模板/      生成的模板，发给各单位
#   收件箱/    各单位报送的文件放在这里（原样保存，不要修改）
#   校验结果/  标注了问题的副本，发回各单位修改
#   汇总表写在本文件夹中。
# 可以用记事本修改本文件（保存为 UTF-8）；文字放在英文双引号中，以 # 开头的行是说明。

# 主管部门名称（写入每份模板，汇总表标题也用它）
dept = {dept}

# 年度（四位数字）
year = {year}

# 表单：{forms} 之一，或自定义表单规格文件（.toml）的路径
form = {form}

# 报送名单（.xlsx 或 .csv：单位编码、单位名称，可选 联系人、联系电话），相对本文件夹
roster = {roster}

# 预算预填（可选；.xlsx 或 .csv），相对本文件夹；不用时在行首加 #
{budget_line}

# 报送截止日期（可选，写成 2023-03-31），写入模板的填报说明；不用时在行首加 #
{deadline_line}

# 上年汇总表（可选；上年 jixiao 生成的汇总表，或有绩效指标明细各列的工作簿），相对本文件夹：
# 模板从上年的经常性项目和指标开始填，校验时与上年比较；不用时在行首加 #
{previous_line}
"""


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def settings_text(department: str, year: int, form: str, roster: str, budget: str | None,
                  deadline: dt.date | None, previous: str | None = None) -> str:
    from .spec import available_forms

    return SETTINGS_TEMPLATE.format(
        forms="、".join(available_forms()), dept=toml_string(department), year=year, form=toml_string(form), roster=toml_string(roster),
        budget_line=f"budget = {toml_string(budget)}" if budget else '# budget = "预算.xlsx"',
        deadline_line=f"deadline = {deadline.isoformat()}" if deadline else "# deadline = 2023-03-31",
        previous_line=f"previous = {toml_string(previous)}" if previous else '# previous = "上年汇总表.xlsx"')


def _copy_in(source: Path, folder: Path, what: str, taken: set[str]) -> str:
    """Copy a file into the folder under its own name (unless it is already there); its name there."""
    source = Path(source)
    if not source.is_file():
        raise UsageError(f"{source}：{what}不存在")
    if source.resolve().parent == folder.resolve():
        return source.name
    target = folder / source.name
    if source.name in taken or (target.exists() and not filecmp.cmp(source, target, shallow=False)):
        raise UsageError(f"{folder} 中已有另一个文件 {source.name}：请把{what}改名后重试")
    taken.add(source.name)
    if not target.exists():
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    return source.name


def init_collection(folder: str | Path, roster: str | Path, department: str, year, *,
                    form: str = DEFAULT_FORM, budget: str | Path | None = None, deadline=None,
                    previous: str | Path | None = None) -> Collection:
    """Make DIR a collection: check everything first (values, the folder, form, roster, budget),
    then copy the roster (and budget) in, make 收件箱/ and write jixiao.toml last."""
    from .roster import load_budget, load_roster

    folder = Path(folder)
    department = check_name(department, "主管部门名称")
    year = parse_year(year)
    due = parse_deadline(deadline, year)
    if (folder / SETTINGS_NAME).exists():
        raise SettingsError(f"{folder} 已经是收集文件夹（已有 {SETTINGS_NAME}）：如需修改设置，请直接编辑该文件")
    output_folder(folder, what="收集文件夹")
    spec = load_form(form)
    units = load_roster(roster)
    if budget is not None:
        load_budget(budget, units, spec)
    if previous is not None:
        from .previous import load_previous

        load_previous(previous, spec)          # refused here, before anything is written
    if form.endswith(".toml"):
        form = str(Path(form).resolve())
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    roster_name = _copy_in(Path(roster), folder, "报送名单", taken)
    budget_name = _copy_in(Path(budget), folder, "预算预填文件", taken) if budget is not None else None
    previous_name = _copy_in(Path(previous), folder, "上年汇总表", taken) if previous is not None else None
    (folder / INBOX_DIR).mkdir(exist_ok=True)
    with atomic_path(folder / SETTINGS_NAME) as tmp:
        tmp.write_text(settings_text(department, year, form, roster_name, budget_name, due, previous_name), encoding="utf-8")
    return Collection.load(folder)
