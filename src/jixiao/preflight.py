"""Outputs checked before any work starts: a path that cannot be written, or that would land on
an input, is refused with one clear sentence before a single file is read.

Every check is about the path only (no file is opened): the nearest existing folder above it must
be a folder that may be written, the path itself must be of the right kind (file or folder), and
it must not be an input, nor lie inside a folder that is being read (a collection inbox, where a
汇总表 or an annotated copy would be taken for a unit's return the next time, and where the ledger
lives). Messages name no command-line option: the CLI adds its own hints.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(path)).resolve()


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(path.anchor or "/")


def _writable_place(path: Path, what: str) -> None:
    """The folder that will hold `path` (created as needed) can be made and written."""
    parent = _nearest_existing(_resolved(path).parent)
    if not parent.is_dir():
        raise UsageError(f"无法写入{what} {path}：{parent} 是一个文件，不是文件夹")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"无法写入{what} {path}：没有在文件夹 {parent} 中写入的权限，请换一个位置")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def output_file(path: str | os.PathLike, *, what: str = "输出文件", inputs=(), folders=(),
                suffix: str | None = ".xlsx") -> Path:
    """An output file: not a folder, in a place that can be written, not an input, not in a
    folder being read. Returns the path as given."""
    path = Path(path)
    if str(path).strip() == "":
        raise UsageError(f"{what}的文件名是空的：请给出文件名")
    if path.is_dir():
        raise UsageError(f"{what} {path} 是一个文件夹：请给出文件名，如 {path / ('文件名' + (suffix or ''))}")
    if suffix and path.suffix.lower() != suffix:
        raise UsageError(f"{what} {path} 的扩展名应为 {suffix}：请改为如 {path.with_suffix(suffix).name}")
    _writable_place(path, what)
    target = _resolved(path)
    for item in inputs:
        if item is not None and _resolved(item) == target:
            raise UsageError(f"{what} {path} 是输入文件之一：请换一个文件名，不要覆盖输入")
    for folder in folders:
        if folder is not None and _inside(target, _resolved(folder)):
            raise UsageError(f"{what} {path} 在要读取的文件夹 {folder} 中：下次读取时会被当作报送的文件，"
                             "请写到该文件夹之外")
    return path


def output_folder(path: str | os.PathLike, *, what: str = "输出文件夹", inputs=(), folders=()) -> Path:
    """An output folder: a folder (or nothing yet) in a place that can be written, not the folder of
    an input file, not inside a folder being read. Returns the path as given."""
    path = Path(path)
    if str(path).strip() == "":
        raise UsageError(f"{what}的名称是空的：请给出文件夹")
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path} 是一个文件，不是文件夹：请换一个文件夹")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"无法写入{what} {path}：没有写入该文件夹的权限，请换一个位置")
    else:
        _writable_place(path, what)
    target = _resolved(path)
    for folder in folders:
        if folder is not None and _inside(target, _resolved(folder)):
            raise UsageError(f"{what} {path} 在要读取的文件夹 {folder} 中：写入的文件下次会被当作报送的文件，"
                             "请写到该文件夹之外")
    for item in inputs:
        if item is not None and _resolved(item).parent == target:
            raise UsageError(f"{what} {path} 就是输入文件 {item} 所在的文件夹：请写到另一个文件夹")
    return path


def input_folders(paths) -> list[Path]:
    """The folders among the inputs (what `check`, `status` and `merge` read as collections)."""
    return [Path(p) for p in paths if Path(p).is_dir()]


def input_files(paths) -> list[Path]:
    return [Path(p) for p in paths if not Path(p).is_dir()]
