"""Choosing a reader or writer by name or by file suffix."""

from __future__ import annotations

from pathlib import Path

from .components import Component, Reader, Writer
from .errors import DataError
from .params import build_params
from .plugins import get_plugin_manager


def _suffixes(cls: type[Component]) -> tuple[str, ...]:
    return cls.suffixes if issubclass(cls, (Reader, Writer)) else ()


def _by_suffix(kind: str, path: str):
    suffix = "".join(Path(path).suffixes[-1:]).lower()
    matches = [r for r in get_plugin_manager().components(kind) if suffix in _suffixes(r.cls)]
    if not matches:
        known = sorted({s for r in get_plugin_manager().components(kind) for s in _suffixes(r.cls)})
        raise DataError(
            f"cannot tell the format from the suffix {suffix or '(none)'!r}; pass a format "
            f"(known suffixes: {', '.join(known)})",
            path=path,
        )
    return matches[0].cls


def reader_for(path: str, format: str | None, params: dict | None = None, where: str | None = None):
    """A reader for ``path``: the format named, else the one its suffix says. ``where`` names the
    parameters in messages (default: the reader's name)."""
    cls = get_plugin_manager().resolve("reader", format, "format") if format else _by_suffix("reader", str(path))
    return cls(build_params(cls.Params, params or {}, where=where or cls.display_name()))


def writer_for(path: str, format: str | None, params: dict | None = None, where: str | None = None):
    """A writer for ``path``, chosen like ``reader_for``."""
    cls = get_plugin_manager().resolve("writer", format, "format") if format else _by_suffix("writer", str(path))
    return cls(build_params(cls.Params, params or {}, where=where or cls.display_name()))


def formats_for(kind: str, example_type: str) -> list[str]:
    """``name (suffixes)`` of every installed reader or writer that handles ``example_type``."""
    return [
        f"{r.name} ({', '.join(_suffixes(r.cls))})" if _suffixes(r.cls) else r.name
        for r in get_plugin_manager().components(kind)
        if example_type in r.cls.example_types
    ]
