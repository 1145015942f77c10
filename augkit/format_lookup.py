"""Choosing a reader or writer by name or by file suffix."""
from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .plugins import get_plugin_manager


def _by_suffix(kind: str, path: str):
    suffix = "".join(Path(path).suffixes[-1:]).lower()
    matches = [r for r in get_plugin_manager().components(kind) if suffix in r.cls.suffixes]
    if not matches:
        known = sorted({s for r in get_plugin_manager().components(kind) for s in r.cls.suffixes})
        raise DataError(f"cannot tell the format from the suffix {suffix or '(none)'!r}; pass a format "
                        f"(known suffixes: {', '.join(known)})", path=path)
    return matches[0].cls


def reader_for(path: str, format: str | None, params: dict | None = None):
    cls = get_plugin_manager().resolve("reader", format, "format") if format else _by_suffix("reader", str(path))
    return cls(**(params or {}))


def writer_for(path: str, format: str | None, params: dict | None = None):
    cls = get_plugin_manager().resolve("writer", format, "format") if format else _by_suffix("writer", str(path))
    return cls(**(params or {}))
