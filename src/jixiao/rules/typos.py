"""Known misspellings seen in real returns (domain.md P-10); extend as found."""

from __future__ import annotations

TYPOS = {"收益人": "受益人", "收益人群": "受益人群", "收益人员": "受益人员", "有限提升": "有效提升",
         "每月年": "每年", "灾害防疫": "灾害防御"}


def typos_in(text: str | None) -> list[tuple[str, str]]:
    """Known misspellings in a text; a match inside a longer match (收益人 in 收益人员) is not repeated."""
    if not text:
        return []
    hits = sorted(((w, r) for w, r in TYPOS.items() if w in text), key=lambda wr: -len(wr[0]))
    kept: list[tuple[str, str]] = []
    for wrong, right in hits:
        if not any(wrong in longer for longer, _ in kept):
            kept.append((wrong, right))
    return kept
