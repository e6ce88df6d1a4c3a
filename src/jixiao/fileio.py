"""Writing outputs safely: never half a file, never over an input, clear words when Excel holds it."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

# The process's umask, read once at import: os.umask() can only be read by setting it, and the web
# page's threads create files meanwhile (one of them would get mode 0666).
_UMASK = os.umask(0)
os.umask(_UMASK)


def new_file_mode() -> int:
    """The mode a new file gets (mkstemp makes its files private, 0600; an output is not)."""
    return 0o666 & ~_UMASK


def replace_into_place(tmp: Path, target: Path) -> None:
    """Rename tmp onto target; on failure tmp is removed and the reason said in words."""
    try:
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        if isinstance(exc, PermissionError):
            raise OutputError(f"无法写入 {target}：文件可能正在 Excel 或 WPS 中打开，或没有写入权限，"
                              "请关闭文件后重试") from None
        if isinstance(exc, IsADirectoryError) or target.is_dir():
            raise OutputError(f"无法写入 {target}：已有同名的文件夹，请换一个文件名") from None
        raise OutputError(f"无法写入 {target}（{_reason(exc)}）：请换一个位置后重试") from None


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"无法写入 {folder}：这是一个文件，不是文件夹") from None
    except NotADirectoryError:
        above = next((p for p in folder.parents if p.exists()), folder)
        raise OutputError(f"无法写入 {folder}：{above} 是一个文件，不是文件夹") from None
    except PermissionError:
        raise OutputError(f"无法建立文件夹 {folder}：没有写入权限，请换一个位置") from None
    except OSError as exc:
        raise OutputError(f"无法建立文件夹 {folder}（{_reason(exc)}）：请换一个位置") from None


TMP_SUFFIX = ".tmp"
STALE_SECONDS = 60          # an empty temporary file this old belongs to no running write


def _tmp_prefix(target: Path) -> str:
    """".{stem}." with the stem cut to 60 bytes: the temporary name must fit the file system's
    255 bytes whatever the target's name (mkstemp adds 8 characters, the suffix and .tmp)."""
    stem = target.stem.encode("utf-8", "surrogateescape")[:60].decode("utf-8", "ignore")
    return f".{stem}."


def clean_stale(folder: Path, prefix: str, suffix: str) -> None:
    """Remove the empty temporary files a killed run left for this target (mkstemp creates the
    file at once, xlsxwriter fills it only when the workbook is closed)."""
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(prefix) and p.name.endswith(suffix)]
    except OSError:
        return
    now = time.time()
    for p in candidates:
        try:
            info = p.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_size == 0 and now - info.st_mtime > STALE_SECONDS:
                p.unlink()
        except OSError:
            pass


@contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a temporary path in the target's folder; rename it onto the target on success.
    Whatever fails (the work, the rename, an interrupt), the temporary file is removed; empty
    temporary files left by an earlier run that was killed are removed first."""
    target = Path(target)
    _make_folder(target.parent)
    prefix, suffix = _tmp_prefix(target), target.suffix + TMP_SUFFIX
    clean_stale(target.parent, prefix, suffix)
    try:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise OutputError(f"无法在 {target.parent} 中写入（{_reason(exc)}）：请确认对该文件夹有写入权限") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, new_file_mode())
    except BaseException:
        _remove(tmp)
        raise
    replace_into_place(tmp, target)


@contextmanager
def atomic_folder(target: str | os.PathLike):
    """Yield a temporary folder; on success move each file into target (created if needed).

    A failure leaves target exactly as it was: nothing of a half-finished batch appears.
    """
    target = Path(target)
    _make_folder(target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".jixiao-", dir=target))
    except OSError as exc:
        raise OutputError(f"无法在 {target} 中写入（{_reason(exc)}）：请确认对该文件夹有写入权限") from None
    try:
        yield tmp
        for item in sorted(tmp.iterdir()):
            replace_into_place(item, target / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
