"""Tag-sequence helpers shared by labelers, writers and metrics."""

from __future__ import annotations

from typing import Sequence


def repair_iob(tags: Sequence[str]) -> list[str]:
    """IOB2-consistent tags: an I-X that follows O or a tag of another type becomes B-X."""
    out, prev = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        prev = tag
    return out
