"""Receiving a return into a collection's inbox: the bytes as sent, under a safe new name.

receive_return() is how a file that arrives from outside (an upload on the web page) enters
收件箱/: the name it came with is reduced to one safe file name (never a path: it cannot leave
the inbox, nor hide as a lock or temporary file), only workbook types are taken (anything else is
refused with the reader's own words for what it really is), and the bytes are written to a
temporary file in the inbox and linked into place under a name nobody has: an existing file is
never overwritten, two receipts at once of the same name get two names. The same bytes under the
same name again are not stored twice. Nothing here deletes anything but its own temporary file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .check import WORKBOOK_SUFFIXES
from .errors import UsageError, Unreadable
from .fileio import new_file_mode
from .package import MAX_FILE_BYTES, sniff
from .text import safe_filename, shown_path

# What the reader can read: Office Open XML workbooks (zip packages). Other names in
# WORKBOOK_SUFFIXES are recognised so that the reader can say what to do with them.
ACCEPTED_SUFFIXES = (".xlsx", ".xlsm", ".xltx")
MAX_ATTEMPTS = 1000


class ReceiveRefused(UsageError):
    """The file was not stored: the message says why and what the unit should send instead."""


@dataclass(frozen=True)
class Received:
    path: Path                  # where the bytes are in the inbox
    name: str                   # the file's name there
    original: str               # the name it came with (display form)
    duplicate: bool = False     # the same bytes were already in the inbox under that name

    @property
    def renamed(self) -> bool:
        return self.name != self.original


def return_name(name: str) -> str:
    """A received file's name as it will be stored: its last component only (a browser may send
    C:\\fakepath\\x.xlsx, a hostile client ../../x.xlsx), no characters Windows refuses, no leading
    dot or ~$ (those are hidden and lock files the inbox ignores), the suffix in lower case."""
    base = re.split(r"[\\/]", str(name))[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"^[.~$\s]+", "", stem)
    suffix = f".{suffix.lower()}" if suffix else ""
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix or "."):
        suffix = ""
    return safe_filename(stem, suffix)


def _refusal(original: str, data: bytes) -> str | None:
    """Why these bytes under this name are not a return the inbox takes (None: they are)."""
    shown = shown_path(original)
    if len(data) > MAX_FILE_BYTES:
        return (f"“{shown}”有 {len(data) // 1024 // 1024} MB，超过 {MAX_FILE_BYTES // 1024 // 1024} MB 上限："
                "请删除无关内容（如图片）后重新保存再上传")
    try:
        sniff(data)
    except Unreadable as exc:
        return f"“{shown}”没有保存：{exc}"
    suffix = Path(return_name(original)).suffix
    if suffix not in ACCEPTED_SUFFIXES:
        kind = "工作簿" if suffix in WORKBOOK_SUFFIXES else "文件"
        return (f"“{shown}”没有保存：只接收 Excel 工作簿（{'、'.join(ACCEPTED_SUFFIXES)}），这个{kind}的扩展名是"
                f"“{suffix or '（无）'}”：请上传各单位填好的 .xlsx 模板")
    return None


def _candidates(name: str):
    stem, suffix = os.path.splitext(name)
    yield name
    for n in range(2, MAX_ATTEMPTS + 1):
        yield safe_filename(stem, f"（{n}）{suffix}")


def _same_bytes(path: Path, digest: str) -> bool:
    try:
        with path.open("rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest() == digest
    except OSError:
        return False


def _link_new(tmp: Path, target: Path) -> None:
    """Put tmp's bytes at target, which must not exist (FileExistsError otherwise): a hard link,
    so that the file appears whole or not at all; where the file system has no hard links (FAT,
    some network shares), the name is taken first (O_EXCL) and the file renamed onto it."""
    try:
        os.link(tmp, target)                # fails if anything (a file, a link, a folder) has the name
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    os.replace(tmp, target)                 # onto the name just taken: whole or not at all


def receive_return(inbox: str | Path, original_name: str, data: bytes) -> Received:
    """Store `data` in the inbox under a safe name no file has yet; raises ReceiveRefused when the
    bytes are not a workbook the reader takes (nothing is stored then)."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise UsageError(f"收件箱 {shown_path(inbox)} 不存在：请确认收集文件夹完整")
    problem = _refusal(original_name, data)
    if problem:
        raise ReceiveRefused(problem)
    name = return_name(original_name)
    digest = hashlib.sha256(data).hexdigest()
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".jixiao-upload-", suffix=".tmp", dir=inbox)
    except OSError as exc:
        raise UsageError(f"无法在收件箱 {shown_path(inbox)} 中写入（{exc.strerror or type(exc).__name__}）："
                         "请确认对该文件夹有写入权限") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, new_file_mode())
        for candidate in _candidates(name):
            target = inbox / candidate
            try:
                _link_new(tmp, target)
            except FileExistsError:
                if target.is_file() and not target.is_symlink() and _same_bytes(target, digest):
                    return Received(target, candidate, shown_path(original_name), duplicate=True)
                continue
            return Received(target, candidate, shown_path(original_name))
        raise ReceiveRefused(f"“{shown_path(original_name)}”没有保存：收件箱中同名的文件太多，请把文件改名后再上传")
    except OSError as exc:
        raise UsageError(f"无法把“{shown_path(original_name)}”保存到收件箱（{exc.strerror or type(exc).__name__}）："
                         "请确认磁盘空间和写入权限") from None
    finally:
        tmp.unlink(missing_ok=True)
