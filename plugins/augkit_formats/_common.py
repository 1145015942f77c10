"""Helpers shared by the format readers and writers: label-set checks, checked text writes (line reading
is augkit's own ``read_lines``, re-exported here)."""

from __future__ import annotations

from augkit import ENCODING_HINT, UNKNOWN_TAG, DataError, atomic_write_text, read_lines  # noqa: F401 (re-exported)


def check_label(tag: str, labels: list[str] | None, path: str, line: int) -> None:
    if labels is not None and tag not in labels and tag != UNKNOWN_TAG:
        raise DataError(f"label {tag!r} is not in the label set ({', '.join(labels)})", path=path, line=line)


def check_nonempty(count: int, path: str) -> None:
    if count == 0:
        raise DataError("file holds no examples (it is empty or only has blank/comment lines)", path=path)


def write_text(path, text: str, encoding: str) -> None:
    """Write ``text`` atomically in ``encoding``; a character it cannot encode is a DataError, not a traceback."""
    try:
        atomic_write_text(path, text, encoding=encoding)
    except UnicodeEncodeError as e:
        raise DataError(
            f"{e.object[e.start : e.end]!r} cannot be written as {encoding}; choose another `encoding` "
            "(augkit augment: --write-opt encoding=utf-8)",
            path=str(path),
        ) from None
