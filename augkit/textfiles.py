"""Reading text data files line by line with errors that name the file and line (for readers).

Every reader goes through ``check_data_file`` first: a data path must be a regular file (a FIFO would
block forever, a device such as ``/dev/zero`` never ends). Lines are bounded (``max_line_bytes``), so a
file that is not line-oriented text is refused with a message instead of exhausting memory. Encodings
whose newline is not the byte ``\\n`` (UTF-16, UTF-32) are decoded first and then split.
"""

from __future__ import annotations

import codecs
import json
import os
import stat
from pathlib import Path
from typing import Iterator

from .errors import DataError

#: what a decoding error tells the user to do
ENCODING_HINT = (
    "give the reader the file's encoding (in a recipe's [data.*] table: encoding = \"latin-1\"; "
    "with augkit augment: --read-opt encoding=latin-1)"
)
#: the longest line a reader accepts unless told otherwise (reader option ``max_line_bytes``)
DEFAULT_MAX_LINE_BYTES = 1 << 20


def check_encoding(name: str) -> str:
    """The canonical name of text encoding ``name``; ValueError for an unknown or non-text codec."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"unknown text encoding {name!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"{name!r} is not a text encoding (e.g. utf-8, latin-1, cp1252, utf-16)")
    return info.name


def file_kind(mode: int) -> str:
    for test, word in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return word
    return "not a regular file"


def check_data_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path when it is a regular file (symbolic links followed); DataError otherwise."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise DataError("file not found", path=str(path)) from None
    except OSError as e:
        raise DataError(f"cannot read: {e.strerror or e}", path=str(path)) from None
    if not stat.S_ISREG(mode):
        kind = file_kind(mode)
        if kind == "a folder":
            raise DataError("expected a file, found a folder", path=str(path))
        raise DataError(
            f"expected a regular file, found {kind}; augkit reads data from files only (save the data to a file first)",
            path=str(path),
        )
    return p


def _too_long(path, n: int, limit: int) -> DataError:
    return DataError(
        f"line longer than {limit} bytes; is this a text file of the expected format? (a reader's "
        f"max_line_bytes option raises the limit)",
        path=str(path),
        line=n,
    )


def read_lines(path: str, encoding: str, max_line_bytes: int | None = None) -> Iterator[tuple[int, str]]:
    """(line number, line without newline) for every line; a UTF-8 byte-order mark is dropped; a missing
    file, anything but a regular file, an unknown encoding, a line over ``max_line_bytes`` (default
    ``DEFAULT_MAX_LINE_BYTES``) or a decoding error is a DataError naming the file and line."""
    p = check_data_file(path)
    limit = int(max_line_bytes or DEFAULT_MAX_LINE_BYTES)
    try:
        canonical = check_encoding(encoding)
    except ValueError as e:
        raise DataError(str(e), path=str(path)) from None
    if "\n".encode(canonical) != b"\n":  # UTF-16/32 and the like: decode, then split
        yield from _read_decoded(p, encoding, limit)
        return
    with open(p, "rb") as f:
        n = 0
        while True:
            raw = f.readline(limit + 2)
            if not raw:
                return
            n += 1
            line = raw[:-1] if raw.endswith(b"\n") else raw
            if n == 1 and line.startswith(b"\xef\xbb\xbf") and canonical == "utf-8":
                line = line[3:]
            line = line.rstrip(b"\r")
            if len(line) > limit:
                raise _too_long(path, n, limit)
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError as e:
                raise DataError(
                    f"cannot decode byte {line[e.start : e.start + 1]!r} at column {e.start + 1} as "
                    f"{encoding}; {ENCODING_HINT}",
                    path=str(path),
                    line=n,
                ) from None
            yield n, text


def _read_decoded(p: Path, encoding: str, limit: int) -> Iterator[tuple[int, str]]:
    n = 0
    try:
        with open(p, encoding=encoding, newline="\n") as f:
            while True:
                line = f.readline(limit + 2)
                if not line:
                    return
                n += 1
                line = line[:-1] if line.endswith("\n") else line
                line = line.rstrip("\r")
                if len(line.encode("utf-8", "surrogatepass")) > limit:
                    raise _too_long(p, n, limit)
                yield n, line.lstrip("\ufeff") if n == 1 else line
    except UnicodeDecodeError as e:
        raise DataError(
            f"cannot decode the text as {encoding} ({e.reason}); {ENCODING_HINT}", path=str(p), line=n + 1
        ) from None


def read_text(path: str, encoding: str, max_line_bytes: int | None = None) -> str:
    """The whole text of a data file (for formats that are not line by line: CSV, SQuAD JSON), with the
    same checks as ``read_lines``; lines over ``max_line_bytes`` are refused only when given."""
    p = check_data_file(path)
    try:
        check_encoding(encoding)
    except ValueError as e:
        raise DataError(str(e), path=str(path)) from None
    raw = p.read_bytes()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"cannot decode byte {raw[e.start : e.start + 1]!r} as {encoding}; {ENCODING_HINT}",
            path=str(path),
            line=line,
        ) from None
    if max_line_bytes:
        for n, text_line in enumerate(text.split("\n"), start=1):
            if (
                len(text_line) > max_line_bytes // 4
                and len(text_line.encode("utf-8", "surrogatepass")) > max_line_bytes
            ):
                raise _too_long(path, n, max_line_bytes)
    return text.lstrip("\ufeff")


def read_json_objects(path: str, encoding: str, max_line_bytes: int | None = None) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of a JSON Lines file; a line that is not a JSON
    object is a DataError naming the line and column."""
    for n, line in read_lines(path, encoding, max_line_bytes):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON at column {e.colno}: {e.msg}", path=path, line=n) from None
        if not isinstance(obj, dict):
            raise DataError(f"expected a JSON object, found {type(obj).__name__}", path=path, line=n)
        yield n, obj
