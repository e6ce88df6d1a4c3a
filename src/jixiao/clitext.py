"""The command line's own words, in Chinese: help pages and usage errors.

typer (through its copy of click) writes help pages and usage errors in English ("Usage:",
"Show this message and exit.", "Missing argument 'roster'", "No such option"). The command and
group classes below draw the help page themselves, and the group's main() turns every usage error
into one Chinese line on stderr with exit code 2, whatever command it came from.
"""

from __future__ import annotations

import difflib
import inspect
import re
import shutil
import sys

from rich.cells import cell_len
from typer import Abort
from typer.core import TyperCommand, TyperGroup

from .terminal import clean

try:      # typer ≥ 0.29 carries its own click
    from typer._click import exceptions as _cx
except ImportError:  # pragma: no cover - an older typer on top of click
    from click import exceptions as _cx

HELP_TEXT = "显示本帮助并退出"
MAX_WIDTH = 100


def _width() -> int:
    return max(40, min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH))


# Punctuation that may not begin a line (it moves down with the character before it).
_NO_LINE_START = set("，。、：；！？）》」』”’,.:;!?)]")
_TOKEN = re.compile(r"[ \t]+|[\x21-\x7e]+|.", re.S)


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` terminal cells: Chinese breaks between any two characters, Latin
    words and options (--dept) stay whole, punctuation never starts a line. Never drops a character."""
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line: list[str] = []
        used = 0
        for token in _TOKEN.findall(paragraph):
            size = cell_len(token)
            if token.isspace():
                if line:
                    line.append(" ")
                    used += 1
                continue
            if used + size > width and line:
                carry: list[str] = []
                if token in _NO_LINE_START:
                    while len(line) > 1 and (not carry or carry[0] in _NO_LINE_START):
                        carry.insert(0, line.pop())
                    while line and line[-1] == " ":
                        line.pop()
                out.append("".join(line).rstrip())
                line, used = carry, sum(cell_len(x) for x in carry)
            line.append(token)
            used += size
        out.append("".join(line).rstrip())
    return out


def _render(text: str, width: int) -> str:
    return "\n".join(wrap(text, width))


def _indent(text: str, spaces: int = 2) -> str:
    return "\n".join((" " * spaces + line).rstrip() for line in text.splitlines())


def command_name(ctx) -> str:
    """"jixiao" or "jixiao check", whatever the program was called as."""
    names = []
    while ctx is not None:
        names.append(ctx.info_name if ctx.parent is not None else "jixiao")
        ctx = ctx.parent
    return " ".join(reversed(names))


def _metavar(param) -> str:
    name = param.metavar or param.name.upper()
    return name + ("..." if getattr(param, "nargs", 1) != 1 else "")


def _is_help(param, ctx) -> bool:
    return param.name == "help" or set(getattr(param, "opts", ())) & set(ctx.help_option_names)


def _option_names(param) -> str:
    names = ", ".join(sorted(param.opts, key=lambda o: (o.startswith("--"), o)))
    if not getattr(param, "is_flag", False):
        names += f" {param.metavar or '值'}"
    return names


def _option_help(param, ctx) -> str:
    if _is_help(param, ctx):
        return HELP_TEXT
    text = param.help or ""
    extra = []
    if param.required:
        extra.append("必填")
    elif not getattr(param, "is_flag", False):
        default = param.get_default(ctx, call=False)
        if default not in (None, "", (), []):
            extra.append(f"默认：{default}")
    return text + (f"（{'；'.join(extra)}）" if extra else "")


def usage_line(command, ctx) -> str:
    pieces = [command_name(ctx)]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    if any(p.param_type_name == "option" for p in params):
        pieces.append("[选项]")
    for p in params:
        if p.param_type_name == "argument":
            pieces.append(_metavar(p) if p.required else f"[{_metavar(p)}]")
    if isinstance(command, TyperGroup):
        pieces.append("命令 [参数]...")
    return "用法：" + " ".join(pieces)


def help_page(command, ctx) -> str:
    width = _width()
    parts = [usage_line(command, ctx)]
    if command.help:
        text = inspect.cleandoc(command.help).partition("\f")[0]
        parts.append(_indent(_render(text, width - 2)))
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [(_metavar(p), p.help or "") for p in params if p.param_type_name == "argument"]
    options = [(_option_names(p), _option_help(p, ctx)) for p in params if p.param_type_name == "option"]
    if isinstance(command, TyperGroup):
        commands = [(name, sub.get_short_help_str(limit=200)) for name, sub in command.commands.items()
                    if not sub.hidden]
        parts.append("命令：\n" + _indent(_grid(commands, width - 2)))
    if arguments:
        parts.append("参数：\n" + _indent(_grid(arguments, width - 2)))
    if options:
        parts.append("选项：\n" + _indent(_grid(options, width - 2)))
    if command.epilog:
        parts.append(_render(inspect.cleandoc(command.epilog), width - 1))
    return "\n\n".join(parts) + "\n"


def _grid(rows, width: int) -> str:
    """Two columns, the second wrapped beside the first (a long first cell gets a line of its own)."""
    first = min(max((cell_len(name) for name, _ in rows), default=0), max(width // 3, 12))
    text_width = max(width - first - 2, 20)
    lines: list[str] = []
    for name, text in rows:
        body = wrap(text, text_width) if text else [""]
        if cell_len(name) > first:
            lines.append(name)
            lines.extend(" " * (first + 2) + b for b in body)
            continue
        lines.append(name + " " * (first - cell_len(name) + 2) + body[0])
        lines.extend(" " * (first + 2) + b for b in body[1:])
    return "\n".join(line.rstrip() for line in lines)


# --- usage errors ---------------------------------------------------------------------------------

def _hint_of(param) -> str:
    if param is None:
        return ""
    if param.param_type_name == "argument":
        return _metavar(param)
    return "/".join(param.opts)


def usage_message(exc, group=None, args=()) -> str:
    """One Chinese line for a click usage error (missing or bad argument or option, unknown
    option or command, extra arguments), ending with where to read the command's help."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        where = command_name(ctx)
    else:       # the option parser raises without a context: the command is the first word it knows
        known = [a for a in args if group is not None and a in group.commands]
        where = "jixiao" + (f" {known[0]}" if known else "")
    param = getattr(exc, "param", None)
    message = str(getattr(exc, "message", "") or "")
    if isinstance(exc, _cx.MissingParameter):
        if param is not None and param.param_type_name == "argument":
            text = f"缺少参数 {_metavar(param)}" + (f"：{param.help}" if param.help else "")
        elif param is not None:
            text = f"缺少选项 {'/'.join(param.opts)}" + (f"：{param.help}" if param.help else "")
        else:
            text = "缺少必填的参数"
    elif isinstance(exc, _cx.NoSuchOption):
        text = f"没有选项 {clean(exc.option_name)}"
        options = [o for p in (ctx.command.get_params(ctx) if ctx else []) for o in getattr(p, "opts", ())
                   if o.startswith("-")]
        close = difflib.get_close_matches(exc.option_name, options, n=2) or list(exc.possibilities or ())[:2]
        if close:
            text += f"：是不是 {' 或 '.join(close)}？"
    elif isinstance(exc, _cx.BadOptionUsage):
        if "requires" in message:
            text = f"选项 {clean(exc.option_name)} 后面要写一个值"
        elif "does not take" in message:
            text = f"选项 {clean(exc.option_name)} 后面不能写值"
        else:
            text = f"选项 {clean(exc.option_name)} 的写法不对"
    elif isinstance(exc, _cx.BadParameter):
        text = f"{_hint_of(param) or '参数'} 的值不对"
    elif isinstance(exc, _cx.BadArgumentUsage):
        text = "参数的个数不对"
    elif message.startswith("No such command"):
        name = message.split("'")[1] if message.count("'") >= 2 else ""
        commands = list(group.commands) if group is not None else []
        close = difflib.get_close_matches(name, commands, n=1)
        text = f"没有命令“{clean(name)}”" + (f"：是不是 {close[0]}？" if close else "")
        text += f"（可用的命令：{'、'.join(commands)}）" if commands else ""
    elif message.startswith("Got unexpected extra argument"):
        extra = message[message.rfind(" (") + 2:].removesuffix(")") if " (" in message else ""
        text = f"多余的参数：{clean(extra)}"
    elif message.startswith("Missing command"):
        text = "缺少命令：请在 jixiao 后面写要运行的命令，如 jixiao check"
    else:
        text = "命令行的写法不对"
    return f"{text}{'' if text.endswith('？') else '。'}用法见 {where} --help"


def print_error(line: str) -> None:
    sys.stderr.write(f"错误：{clean(line)}\n")
    sys.stderr.flush()


class ChineseCommand(TyperCommand):
    """A command whose help page is drawn in Chinese."""

    def format_help(self, ctx, formatter) -> None:
        formatter.write(help_page(self, ctx))


class ChineseGroup(TyperGroup):
    """The `jixiao` group: Chinese help, and every usage error as one Chinese line (exit 2)."""

    def format_help(self, ctx, formatter) -> None:
        formatter.write(help_page(self, ctx))

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode: bool = True, **extra):
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _cx.NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            sys.stdout.write(exc.ctx.get_help() + "\n")
            sys.exit(0)
        except _cx.UsageError as exc:
            if not standalone_mode:
                raise
            print_error(usage_message(exc, self, sys.argv[1:] if args is None else args))
            sys.exit(2)
        except _cx.ClickException as exc:
            if not standalone_mode:
                raise
            print_error(f"无法完成：{clean(exc.format_message())}")
            sys.exit(exc.exit_code)
        except Abort:           # Ctrl-D, a refused prompt
            if not standalone_mode:
                raise
            print_error("已中止")
            sys.exit(1)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)
