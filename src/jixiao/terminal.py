"""What reaches a terminal: user-supplied text made harmless, and the choice of layout.

Cell text, file names, sheet names and roster names come from other people's files. Printed as
they are, an ESC or C1 control could move the cursor, retitle the window or write the clipboard
(OSC 52), and a "[bold]" would be read as rich markup. clean() removes control characters (C0
except tab and newline, DEL, C1) and replaces what cannot be encoded (a file name's undecodable
bytes); shown() also escapes rich markup. Every print path uses shown() for text it did not write.

Tables are for a wide terminal; at narrow width, or when the output goes to a file or a pipe, the
commands print one line per finding or unit with every word in it (lines() says which).
"""

from __future__ import annotations

import re

from rich.markup import escape

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
WIDE_FROM = 100        # columns: below this, lines instead of tables


def clean(text) -> str:
    """Text with control characters removed (tab and newline kept) and lone surrogates replaced."""
    text = "" if text is None else str(text)
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))


def shown(text) -> str:
    """clean(), then rich markup escaped: user text for console.print."""
    return escape(clean(text))


def one_line(text) -> str:
    """clean() on one line: newlines and tabs become spaces."""
    return re.sub(r"[\t\r\n]+", " ", clean(text))


def lines(console) -> bool:
    """Print lines, not tables: output is not a terminal, or the terminal is narrow."""
    return not console.is_terminal or console.width < WIDE_FROM


_C1_OR_DEL = re.compile(r"[\x7f-\x9f]")


def json_safe(document: str) -> str:
    """A JSON text with DEL and C1 characters written as \\u escapes (json.dumps escapes only C0)."""
    return _C1_OR_DEL.sub(lambda m: f"\\u{ord(m[0]):04x}", document)
