"""Writing outputs safely: never half a file, never over an input, clear words when Excel holds it."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError


def replace_into_place(tmp: Path, target: Path) -> None:
    try:
        os.replace(tmp, target)
    except PermissionError:
        raise OutputError(f"无法写入 {target}：文件可能正在 Excel 或 WPS 中打开，请先关闭后重试"
                          f"（已生成的结果保存在 {tmp}）") from None


@contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temporary path in the target's folder; rename it onto the target on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix + ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # mkstemp makes the file private (0600); an output gets the mode any new file would get.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    replace_into_place(tmp, target)


@contextmanager
def atomic_folder(target: str | os.PathLike):
    """Yield a temporary folder; on success move each file into target (created if needed).

    A failure leaves target exactly as it was: nothing of a half-finished batch appears.
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".jixiao-", dir=target))
    try:
        yield tmp
        for item in sorted(tmp.iterdir()):
            replace_into_place(item, target / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
