"""Parameter schemas for components.

A component declares its parameters as a dataclass (``class Params(augkit.Params)``) whose fields carry
types, defaults and help text. Recipes are checked against it before any model loads: unknown keys get a
"did you mean", wrong types name the key and the expected type, bounds and choices are enforced.

    @dataclasses.dataclass
    class Params(augkit.Params):
        mask_ratio: float = param(0.30, help="P, share of words to replace", gt=0, le=1)
        decoding: Literal["argmax", "sample"] = "argmax"
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import inspect
import threading
import types
import typing
from typing import Any, Literal, get_args, get_origin

from .errors import ParamError, PluginError, did_you_mean

P = typing.TypeVar("P", bound="Params")

_MISSING = dataclasses.MISSING


def param(
    default: Any = _MISSING,
    *,
    help: str = "",
    ge=None,
    le=None,
    gt=None,
    lt=None,
    choices=None,
    default_factory=_MISSING,
):
    """A dataclass field with help text and optional bounds (``ge``/``le``/``gt``/``lt``) or ``choices``."""
    meta = {"help": help, "ge": ge, "le": le, "gt": gt, "lt": lt, "choices": choices}
    if default_factory is not _MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=functools.partial(copy.copy, default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class FilePath(str):
    """A parameter type for an existing file or folder. In a recipe, a relative path is taken relative
    to the recipe file; the path must exist when the recipe is validated."""


class ModelRef(str):
    """A parameter type for a model: a local folder (resolved like FilePath when it exists there), a
    model id for a hub (kept as is), or in a recipe ``"stage:NAME"``: the model an earlier train stage
    selected (resolved when the stage runs; see ``stage_model_refs``)."""


class Encoding(str):
    """A parameter type for a text encoding Python knows (``utf-8``, ``latin-1``, ``utf-16``...); an
    unknown name is refused when the recipe is validated, not when the file is read."""


STAGE_PREFIX = "stage:"


def stage_model_refs(params: "Params") -> dict[str, str]:
    """The ``ModelRef`` parameters of ``params`` that name a recipe stage (``"stage:NAME"``): key -> NAME."""
    return {
        k: v[len(STAGE_PREFIX) :]
        for k, v in params.to_dict().items()
        if isinstance(v, str) and type(getattr(params, k)) is ModelRef and v.startswith(STAGE_PREFIX)
    }


@dataclasses.dataclass
class Params:
    """Base of every component's parameter dataclass. Subclasses add typed fields and, optionally, a
    ``check(self)`` (or ``check(self, resolve)``, to look up other components in the registry in use)
    that raises ValueError for combinations the types cannot express.

    Built from a recipe (``build_params``) or constructed directly (``MyParams(eta=2)``), a Params
    object is validated the same way: types, bounds, choices and ``check``; a ParamError names the key."""

    def __post_init__(self):
        if not getattr(_building, "active", False):
            _validate(self, where=type(self).__name__)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_building = threading.local()


def _validate(obj: Params, where: str, base_dir=None, resolve=None) -> None:
    """Coerce and bound-check every field of ``obj`` in place, then run its ``check``; collect every
    problem into one ParamError."""
    hints = typing.get_type_hints(type(obj))
    problems = []
    for f in dataclasses.fields(obj):
        key = f"{where}.{f.name}"
        try:
            value = _resolve_path(_coerce(getattr(obj, f.name), hints[f.name], key), base_dir, key)
            _check_bounds(value, dict(f.metadata), key)
            object.__setattr__(obj, f.name, value)
        except ParamError as e:
            problems.extend(e.problems)
    if not problems:
        problems.extend(_run_check(obj, where, resolve))
    if problems:
        raise ParamError("; ".join(problems), problems)


def _run_check(obj: Params, where: str, resolve) -> list[str]:
    check = getattr(obj, "check", None)
    if not callable(check):
        return []
    try:
        if "resolve" in inspect.signature(check).parameters:
            check(resolve=resolve)
        else:
            check()
    except ParamError as e:
        return [p if p.startswith(where) else f"{where}: {p}" for p in e.problems]
    except (ValueError, PluginError) as e:
        return [f"{where}: {e}"]
    return []


def type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in get_args(tp))
    if origin in (list, tuple):
        args = get_args(tp)
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        k, v = get_args(tp) or (str, Any)
        return f"table of {type_name(v)}"
    if tp is type(None):
        return "none"
    if tp is FilePath:
        return "file path"
    if tp is ModelRef:
        return "model id or folder"
    if tp is Encoding:
        return "text encoding"
    if tp is Any:
        return "any"
    return {bool: "boolean", int: "integer", float: "float", str: "string"}.get(tp, getattr(tp, "__name__", str(tp)))


def _describe_value(v: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "float", str: "string", list: "list", dict: "table"}.get(
        type(v), type(v).__name__
    )
    r = repr(v)
    return f"{kind} {r if len(r) < 40 else r[:37] + '...'}"


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Return ``value`` converted to ``tp`` or raise ParamError naming ``key``."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arg in get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ParamError as e:
                errors.append(e)
        raise ParamError(f"{key}: expected {type_name(tp)}, got {_describe_value(value)}")
    if tp is type(None):
        if value is None:
            return None
        raise ParamError(f"{key}: expected none, got {_describe_value(value)}")
    if origin is Literal:
        if value in get_args(tp) and type(value) in {type(a) for a in get_args(tp)}:
            return value
        raise ParamError(f"{key}: expected one of {type_name(tp)}, got {_describe_value(value)}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ParamError(f"{key}: expected {type_name(tp)}, got {_describe_value(value)}")
        (inner,) = get_args(tp)[:1] or (Any,)
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamError(f"{key}: expected {type_name(tp)}, got {_describe_value(value)}")
        _, inner = get_args(tp) or (str, Any)
        return {k: _coerce(v, inner, f"{key}.{k}") for k, v in value.items()}
    if tp is Encoding:
        if isinstance(value, str):
            from .textfiles import check_encoding

            try:
                check_encoding(value)
            except ValueError as e:
                raise ParamError(f"{key}: {e}") from None
            return Encoding(value)
    elif tp in (FilePath, ModelRef):
        if isinstance(value, str) and value:
            return tp(value)
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            import math

            if not math.isfinite(value):  # one place for every float parameter: inf and nan are never meant
                raise ParamError(f"{key}: expected a finite number, got {value!r}")
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ParamError(f"{key}: expected {type_name(tp)}, got {_describe_value(value)}")


def _check_bounds(value: Any, meta: dict, key: str) -> None:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        for op, test, word in (
            ("ge", lambda a, b: a >= b, ">="),
            ("le", lambda a, b: a <= b, "<="),
            ("gt", lambda a, b: a > b, ">"),
            ("lt", lambda a, b: a < b, "<"),
        ):
            bound = meta.get(op)
            if bound is not None and not test(v, bound):
                raise ParamError(f"{key}: expected a value {word} {bound}, got {v!r}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ParamError(f"{key}: expected one of {', '.join(map(repr, choices))}, got {value!r}")


def _resolve_path(value: Any, base_dir, key: str) -> Any:
    from pathlib import Path

    if isinstance(value, list):
        return [_resolve_path(v, base_dir, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, FilePath):
        p = Path(value).expanduser()
        p = p if p.is_absolute() or base_dir is None else Path(base_dir) / p
        if not p.exists():
            raise ParamError(f"{key}: file not found: {p}")
        return FilePath(p.resolve())
    if isinstance(value, ModelRef):
        if value.startswith(STAGE_PREFIX):
            return value
        p = Path(value).expanduser()
        p = p if p.is_absolute() or base_dir is None else Path(base_dir) / p
        if p.exists():
            return ModelRef(p.resolve())
        if value.startswith((".", "/", "~")):
            raise ParamError(f"{key}: model folder not found: {p}")
    return value


@dataclasses.dataclass
class TextReaderParams(Params):
    """Options every reader of text files shares (subclass it for a reader's own Params)."""

    encoding: Encoding = param(Encoding("utf-8"), help="file encoding (utf-8, latin-1, cp1252, utf-16, ...)")
    max_line_bytes: int = param(
        1 << 20,
        help="the longest line read (bytes); a longer one is an error naming the line, not a memory exhaustion",
        ge=1,
        le=1 << 31,
    )


def build_params(
    params_cls: type[P], raw: dict[str, Any] | None, where: str = "params", base_dir=None, resolve=None
) -> P:
    """Validate ``raw`` against ``params_cls`` and return an instance.

    ``where`` is the key path used in messages (e.g. ``stages.vicinity.params``); ``base_dir`` is where
    relative ``FilePath``/``ModelRef`` values point from (the recipe's folder); ``resolve(kind, name,
    where)`` is the component registry a ``check`` may consult (default: the process-wide one). Raises
    ParamError listing every problem found (``.problems``).
    """
    raw = dict(raw or {})
    hints = typing.get_type_hints(params_cls)
    fields = {f.name: f for f in dataclasses.fields(params_cls)}
    problems = []
    retired = getattr(params_cls, "retired", {})
    for k in raw:
        if k in retired and k not in fields:
            problems.append(f"{where}.{k}: no longer a parameter: {retired[k]}")
        elif k not in fields:
            valid = ", ".join(sorted(fields)) or "(none)"
            problems.append(f"{where}.{k}: unknown parameter{did_you_mean(k, fields)}; valid keys: {valid}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}"
        if name in raw:
            kwargs[name] = raw[name]
        elif f.default is _MISSING and f.default_factory is _MISSING:  # type: ignore[misc]
            problems.append(f"{key}: required parameter is missing (expected {type_name(hints[name])})")
    if problems:
        raise ParamError("; ".join(problems), problems)
    _building.active = True
    try:
        obj = params_cls(**kwargs)
    finally:
        _building.active = False
    _validate(obj, where, base_dir, resolve)
    return obj


def describe_params(params_cls: type[Params]) -> list[dict[str, Any]]:
    """One dict per parameter: name, type, default, required, help (for listings and docs)."""
    hints = typing.get_type_hints(params_cls)
    out = []
    for f in dataclasses.fields(params_cls):
        required = False
        if f.default is not _MISSING:
            default = f.default
        elif f.default_factory is not _MISSING:  # type: ignore[misc]
            default = f.default_factory()  # type: ignore[misc]
        else:
            default, required = None, True
        out.append(
            {
                "name": f.name,
                "type": type_name(hints[f.name]),
                "default": default,
                "required": required,
                "help": f.metadata.get("help", ""),
            }
        )
    return out
