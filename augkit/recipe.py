"""TOML recipes: parsing, command-line overrides and validation into a ``Plan``.

A recipe is data, never code. Validation resolves every component and checks every key and type
before anything heavy is imported or loaded::

    schema_version = 1
    [run]                    seed, output_dir, device, precision
    [data.NAME]              format, path, lang, fraction, fraction_seed, limit + the reader's params
    [[stages]]               name, kind, component, inputs, params, options, hooks
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from pathlib import Path
from typing import Any, ClassVar

from .components import Component, StageOptions
from .errors import ParamError, PluginError, RecipeError, did_you_mean
from .params import Params, _coerce, build_params, param

SCHEMA_VERSION = 1
STAGE_KINDS = {
    "generate": "generator",
    "label": "labeler",
    "filter": "filter",
    "train": "trainer",
    "analyze": "analyzer",
}
#: what a stage of each kind gives later stages ("analysis": results for people and the report, no input)
STAGE_OUTPUTS = {"generate": "corpus", "label": "corpus", "filter": "corpus", "train": "model", "analyze": "analysis"}
TOP_KEYS = {"schema_version", "run", "data", "stages"}
STAGE_KEYS = {"name", "kind", "component", "inputs", "params", "options", "hooks"}
DATA_KEYS = {"format", "path", "lang", "fraction", "fraction_seed", "limit", "size", "mean_words"}


@dataclasses.dataclass
class RunConfig(Params):
    name: str = param("augkit-run", help="a label for the run")
    seed: int = param(42, help="the one seed every stage's randomness derives from")
    output_dir: str = param("runs/augkit", help="where the run's artefacts go (relative to the working directory)")
    device: str = param("auto", help='"auto", "cpu", "cuda" or "cuda:N"')
    precision: str = param(
        "auto",
        help='"auto" (bf16/fp16 on GPU, fp32 on CPU), "fp32", "bf16" or "fp16"',
        choices=["auto", "fp32", "bf16", "fp16"],
    )

    retired: ClassVar[dict[str, str]] = {
        "trust_remote_code": "it never reached a model; set trust_remote_code = true in the params of the stage "
        "whose model needs its own code (off unless a stage says so)"
    }


@dataclasses.dataclass
class DataSpec:
    name: str
    format: str
    path: str
    lang: str
    reader_params: dict[str, Any]
    fraction: float = 1.0
    fraction_seed: int = 0
    limit: int = 0


@dataclasses.dataclass
class StageSpec:
    index: int
    name: str
    kind: str
    component: str
    component_cls: type[Component]
    params: Params
    inputs: dict[str, Any]  # input name -> ref or list of refs
    options: StageOptions
    hooks: list[tuple[str, type, Params]]
    #: ModelRef parameters naming an earlier train stage ("stage:NAME"): key -> NAME
    model_params: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def dirname(self) -> str:
        return f"{self.index + 1:02d}-{self.name}"


@dataclasses.dataclass
class Plan:
    """A validated recipe: what to read, which stages to run, with which parameters."""

    source: str
    raw: dict[str, Any]  # the resolved recipe (overrides applied, paths absolute)
    run: RunConfig
    data: dict[str, DataSpec]
    stages: list[StageSpec]
    overrides: list[str]


def data_sources(plan: Plan, pm=None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Where a plan's data comes from, for ``validate`` and the runner: the local files that are not there
    (``[(entry, path)]``; readers that check a file when the run reads it let a recipe validate without
    them) and the entries a reader fetches itself, e.g. from the Hugging Face hub (``[(entry, what)]``)."""
    from .plugins import get_plugin_manager

    pm = pm or get_plugin_manager()
    missing, fetched = [], []
    for name, spec in plan.data.items():
        reader = pm.resolve("reader", spec.format, f"data.{name}.format")
        if not getattr(reader, "reads_files", True):
            extra = ", ".join(str(spec.reader_params[k]) for k in ("config", "split") if spec.reader_params.get(k))
            fetched.append((name, f"{spec.path}" + (f" ({extra})" if extra else "")))
        elif not Path(spec.path).exists():
            missing.append((name, spec.path))
    return missing, fetched


# parsing -------------------------------------------------------------------------------------
def load_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"{path}: recipe file not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise RecipeError(f"{path}: not UTF-8 text ({e.reason})") from None
    except tomllib.TOMLDecodeError as e:
        # tomllib says "... (at line L, column C)"; put the place first, compiler style
        msg = str(e)
        line = getattr(e, "lineno", None)
        col = getattr(e, "colno", None)
        if line is None and "(at line " in msg:
            tail = msg[msg.rindex("(at line ") + 9 :].rstrip(")")
            line, _, col = tail.partition(", column ")
        if line is not None:
            base = getattr(e, "msg", msg.split(" (at line")[0])
            raise RecipeError(f"{path}:{line}:{col}: TOML syntax error: {base}") from None
        raise RecipeError(f"{path}: TOML syntax error: {msg}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b.c=value`` → (["a","b","c"], value). The value is read as TOML (numbers, booleans, strings,
    lists); anything that is not valid TOML is taken as a plain string."""
    if "=" not in text:
        raise RecipeError(f"--set {text!r}: expected KEY=VALUE, e.g. --set run.seed=13")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise RecipeError(f"--set {text!r}: malformed key {key!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.split("."), parsed


def parse_options(pairs: list[str], flag: str = "--set") -> dict[str, Any]:
    """``["KEY=VALUE", ...]`` (values in TOML syntax, bare words as strings) → a dict, as command-line
    options such as ``--read-opt`` take them; a malformed pair names the flag."""
    from .errors import AugkitError

    out: dict[str, Any] = {}
    for text in pairs:
        try:
            keys, value = parse_override(text)
        except AugkitError as e:
            raise AugkitError(f"{flag} {text}: {e}") from None
        out[".".join(keys)] = value
    return out


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``--set`` overrides. Stages are addressed by name (``stages.vicinity.params.P=1``) or
    index (``stages.0...``). The result is validated like any recipe, so a mistyped key is caught."""
    raw = copy.deepcopy(raw)
    for text in overrides:
        parts, value = parse_override(text)
        node: Any = raw
        path = []
        for part in parts[:-1]:
            path.append(part)
            if isinstance(node, list):
                node = _find_stage(node, part, ".".join(path), text)
            else:
                if part not in node:
                    node[part] = {}
                elif not isinstance(node[part], (dict, list)):
                    raise RecipeError(f"--set {text!r}: {'.'.join(path)} is a value, not a table")
                node = node[part]
        last = parts[-1]
        if isinstance(node, list):
            raise RecipeError(f"--set {text!r}: cannot replace a whole stage; set one of its keys")
        node[last] = value
    return raw


def _find_stage(stages: list, key: str, path: str, text: str) -> dict:
    if key.isdigit():
        if int(key) < len(stages):
            return stages[int(key)]
        raise RecipeError(f"--set {text!r}: there is no stage {key} (the recipe has {len(stages)})")
    for st in stages:
        if isinstance(st, dict) and st.get("name") == key:
            return st
    names = [str(st["name"]) for st in stages if isinstance(st, dict) and st.get("name")]
    raise RecipeError(f"--set {text!r}: no stage named {key!r}{did_you_mean(key, names)}; stages: {', '.join(names)}")


# validation ----------------------------------------------------------------------------------
def load_recipe(path: str | Path, overrides: list[str] | None = None, pm=None) -> Plan:
    """Parse, override and validate a recipe file. Raises RecipeError with file and key path."""
    raw = load_toml(path)
    raw = apply_overrides(raw, list(overrides or []))
    return validate(raw, source=str(path), base_dir=Path(path).resolve().parent, overrides=list(overrides or []), pm=pm)


def _err(source: str, key: str, message: str) -> RecipeError:
    return RecipeError(f"{source}: {key}: {message}" if key else f"{source}: {message}")


def _check_keys(source: str, where: str, table: dict, allowed: set[str]) -> None:
    for k in table:
        if k not in allowed:
            key = f"{where}.{k}" if where else k
            raise _err(
                source, key, f"unknown key{did_you_mean(k, allowed)}; valid keys here: {', '.join(sorted(allowed))}"
            )


def _table(source: str, key: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise _err(source, key, f"expected a table, got {type(value).__name__}")
    return value


def validate(
    raw: dict[str, Any],
    *,
    source: str = "recipe",
    base_dir: Path | None = None,
    overrides: list[str] | None = None,
    pm=None,
) -> Plan:
    """Check a whole recipe and return its Plan. Every mistake is collected (each section is checked
    even when an earlier one failed) and reported in one RecipeError (``.problems``)."""
    from .plugins import get_plugin_manager

    pm = pm or get_plugin_manager()
    base_dir = base_dir or Path.cwd()
    raw = copy.deepcopy(raw)
    problems: list[str] = []

    def attempt(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RecipeError as e:
            problems.extend(e.problems)
        except (ParamError, PluginError) as e:
            problems.extend(f"{source}: {p}" for p in getattr(e, "problems", [str(e)]))
        return None

    attempt(_check_keys, source, "", raw, TOP_KEYS)
    version = raw.get("schema_version")
    if version is None:
        problems.append(
            str(_err(source, "schema_version", f"missing; add `schema_version = {SCHEMA_VERSION}` at the top"))
        )
    elif version != SCHEMA_VERSION or isinstance(version, bool):
        problems.append(str(_err(source, "schema_version", f"expected {SCHEMA_VERSION}, got {version!r}")))

    run = attempt(lambda: build_params(RunConfig, _table(source, "run", raw.get("run", {})), where="run"))

    data: dict[str, DataSpec] = {}
    data_raw = attempt(_table, source, "data", raw.get("data", {})) or {}
    for name, entry in data_raw.items():
        spec = attempt(lambda: _validate_data(source, name, _table(source, f"data.{name}", entry), base_dir, pm))
        if spec is not None:
            data[name] = spec
            raw["data"][name]["path"] = spec.path  # absolute in the resolved recipe

    stages_raw = raw.get("stages", [])
    if not isinstance(stages_raw, list) or not stages_raw:
        problems.append(str(_err(source, "stages", "expected at least one [[stages]] table")))
        stages_raw = []
    stages: list[StageSpec] = []
    outputs: dict[str, str] = {name: "corpus" for name in data_raw}
    for i, st in enumerate(stages_raw):
        table = attempt(_table, source, f"stages[{i}]", st)
        if table is None:
            continue
        spec = attempt(_validate_stage, source, i, table, outputs, data, pm, base_dir)
        if spec is None:
            # later stages may still refer to this one: give its name the output its kind makes
            name, kind = st.get("name"), st.get("kind")
            if isinstance(name, str) and name not in outputs:
                outputs[name] = STAGE_OUTPUTS.get(kind, "corpus")
            continue
        st["name"] = spec.name
        st["params"] = _jsonable(spec.params.to_dict())  # resolved: defaults filled, paths absolute
        stages.append(spec)
        outputs[spec.name] = STAGE_OUTPUTS[spec.kind]
    if problems:
        raise RecipeError.collected(source, problems)
    return Plan(source=source, raw=raw, run=run, data=data, stages=stages, overrides=list(overrides or []))


def _validate_data(source: str, name: str, entry: dict, base_dir: Path, pm) -> DataSpec:
    where = f"data.{name}"
    fmt = entry.get("format")
    if not isinstance(fmt, str):
        raise _err(
            source,
            f"{where}.format",
            "missing or not a string; expected a reader name such as "
            '"conll", "conllu", "jsonl", "tsv", "squad" or "hf"',
        )
    try:
        reader_cls = pm.resolve("reader", fmt, f"{where}.format")
    except PluginError as e:
        raise RecipeError(f"{source}: {e}") from None
    reader_keys = {f.name for f in dataclasses.fields(reader_cls.Params)}
    _check_keys(source, where, entry, DATA_KEYS | reader_keys)
    path = entry.get("path")
    if not isinstance(path, str) or not path:
        raise _err(
            source, f"{where}.path", 'missing or not a string; expected a file path (or a dataset id for format "hf")'
        )
    if getattr(reader_cls, "reads_files", True):
        p = Path(path).expanduser()
        p = p if p.is_absolute() else (base_dir / p)
        if not p.exists() and not getattr(reader_cls, "checked_when_read", False):
            raise _err(source, f"{where}.path", f"input file not found: {p}")
        if p.exists():
            import stat

            from .textfiles import file_kind

            mode = p.stat().st_mode
            if not stat.S_ISREG(mode):
                raise _err(
                    source,
                    f"{where}.path",
                    f"{p} is {file_kind(mode)}; expected a data file (augkit reads data from regular files only)",
                )
        path = str(p.resolve())
    common = {}
    for key, tp in (("lang", str), ("fraction", float), ("fraction_seed", int), ("limit", int)):
        if key in entry:
            try:
                common[key] = _coerce(entry[key], tp, f"{where}.{key}")
            except ParamError as e:
                raise RecipeError(f"{source}: {e}") from None
    for key, tp, low in (("size", int, 0), ("mean_words", float, 1e-9)):
        if key in entry:  # documented sizes, for `augkit plan` when the data is not here
            try:
                value = _coerce(entry[key], tp, f"{where}.{key}")
            except ParamError as e:
                raise RecipeError(f"{source}: {e}") from None
            if value < low:
                raise _err(source, f"{where}.{key}", f"expected a value >= {low:g}, got {value}")
    if common.get("limit", 0) < 0:
        raise _err(source, f"{where}.limit", f"expected a number of examples >= 0 (0: all), got {common['limit']}")
    if not 0 < common.get("fraction", 1.0) <= 1:
        raise _err(source, f"{where}.fraction", f"expected a value in (0, 1], got {common['fraction']}")
    reader_params = {k: v for k, v in entry.items() if k in reader_keys}
    try:
        build_params(reader_cls.Params, reader_params, where=where, resolve=pm.resolve)
    except ParamError as e:
        raise RecipeError(f"{source}: {e}") from None
    return DataSpec(
        name=name,
        format=fmt,
        path=path,
        lang=common.get("lang", "und"),
        reader_params=reader_params,
        fraction=common.get("fraction", 1.0),
        fraction_seed=common.get("fraction_seed", 0),
        limit=common.get("limit", 0),
    )


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return str(obj) if isinstance(obj, str) else obj


def _validate_stage(source: str, i: int, st: dict, outputs: dict[str, str], data, pm, base_dir) -> StageSpec:
    where = f"stages[{i}]"
    _check_keys(source, where, st, STAGE_KEYS)
    kind = st.get("kind")
    if kind not in STAGE_KINDS:
        raise _err(
            source,
            f"{where}.kind",
            f"expected one of {', '.join(map(repr, STAGE_KINDS))}, got {kind!r}"
            + (did_you_mean(kind, STAGE_KINDS) if isinstance(kind, str) else ""),
        )
    name = st.get("name", f"{kind}{i + 1}")
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise _err(source, f"{where}.name", f"expected a name of letters, digits, - and _, got {name!r}")
    if name in outputs:
        raise _err(source, f"{where}.name", f"{name!r} is already used by a data entry or an earlier stage")
    where = f"stages.{name}"
    comp = st.get("component")
    if not isinstance(comp, str):
        raise _err(source, f"{where}.component", f"missing or not a string; expected a {STAGE_KINDS[kind]} name")
    try:
        cls = pm.resolve(STAGE_KINDS[kind], comp, f"{where}.component")
    except PluginError as e:
        raise RecipeError(f"{source}: {e}") from None
    problems: list[str] = []

    def collect(e: Exception) -> None:
        if isinstance(e, RecipeError):
            problems.extend(e.problems)
        else:
            problems.extend(f"{source}: {p}" for p in getattr(e, "problems", [str(e)]))

    params = options = None
    try:
        params = build_params(
            cls.Params,
            _table(source, f"{where}.params", st.get("params", {})),
            where=f"{where}.params",
            base_dir=base_dir,
            resolve=pm.resolve,
        )
    except (RecipeError, ParamError) as e:
        collect(e)
    try:
        options = build_params(
            StageOptions, _table(source, f"{where}.options", st.get("options", {})), where=f"{where}.options"
        )
    except (RecipeError, ParamError) as e:
        collect(e)
    model_params: dict[str, str] = {}
    if params is not None:
        from .params import stage_model_refs

        model_params = stage_model_refs(params)
        for key, ref in model_params.items():
            if outputs.get(ref) != "model":
                what = f"is a {outputs[ref]}" if ref in outputs else "is not an earlier stage"
                problems.append(
                    str(
                        _err(
                            source,
                            f"{where}.params.{key}",
                            f"'stage:{ref}' {what}; expected the name of an earlier train stage"
                            f"{did_you_mean(ref, [k for k, v in outputs.items() if v == 'model'])}",
                        )
                    )
                )
    inputs: dict[str, Any] = {}
    try:
        inputs = _table(source, f"{where}.inputs", st.get("inputs", {}))
        _check_inputs(source, where, comp, cls, inputs, outputs, data, pm)
    except RecipeError as e:
        collect(e)
    hooks = []
    hooks_raw = st.get("hooks", [])
    if hooks_raw and kind != "train":
        problems.append(str(_err(source, f"{where}.hooks", "only train stages take hooks")))
    elif not isinstance(hooks_raw, list):
        problems.append(
            str(_err(source, f"{where}.hooks", "expected a list of {component = ..., params = {...}} tables"))
        )
    else:
        for j, h in enumerate(hooks_raw):
            hw = f"{where}.hooks[{j}]"
            try:
                _check_keys(source, hw, _table(source, hw, h), {"component", "params"})
                hcls = pm.resolve("trainer_hook", h.get("component", ""), f"{hw}.component")
                hparams = build_params(
                    hcls.Params,
                    _table(source, f"{hw}.params", h.get("params", {})),
                    where=f"{hw}.params",
                    base_dir=base_dir,
                    resolve=pm.resolve,
                )
                hooks.append((h["component"], hcls, hparams))
            except (RecipeError, ParamError, PluginError) as e:
                collect(e)
    if problems or params is None or options is None:
        raise RecipeError.collected(source, problems)
    return StageSpec(
        index=i,
        name=name,
        kind=kind,
        component=comp,
        component_cls=cls,
        params=params,
        inputs=inputs,
        options=options,
        hooks=hooks,
        model_params=model_params,
    )


def _check_inputs(source: str, where: str, comp: str, cls, inputs: dict, outputs: dict[str, str], data, pm) -> None:
    """Every input the component declares is given (if required), names a data entry or an earlier
    stage of the right type, and holds example types the component accepts."""
    problems = []
    for key, ref in inputs.items():
        spec = cls.inputs.get(key)
        if spec is None:
            problems.append(
                str(
                    _err(
                        source,
                        f"{where}.inputs.{key}",
                        f"{comp} has no input {key!r}"
                        f"{did_you_mean(key, cls.inputs)}; its inputs: {', '.join(cls.inputs) or '(none)'}",
                    )
                )
            )
            continue
        refs = ref if isinstance(ref, list) else [ref]
        if isinstance(ref, list) and not spec.many:
            problems.append(str(_err(source, f"{where}.inputs.{key}", "takes one reference, got a list")))
        for r in refs:
            if not isinstance(r, str):
                problems.append(str(_err(source, f"{where}.inputs.{key}", f"expected a data or stage name, got {r!r}")))
            elif r in outputs:
                if outputs[r] == "analysis":
                    problems.append(
                        str(
                            _err(
                                source,
                                f"{where}.inputs.{key}",
                                f"{r!r} is an analyze stage; its results "
                                f"go to the report and are no input of other stages (expected a {spec.type})",
                            )
                        )
                    )
                elif outputs[r] != spec.type:
                    problems.append(
                        str(
                            _err(source, f"{where}.inputs.{key}", f"{r!r} gives a {outputs[r]}, expected a {spec.type}")
                        )
                    )
            elif spec.type != "model":  # a model input may also be a model id or folder
                problems.append(
                    str(
                        _err(
                            source,
                            f"{where}.inputs.{key}",
                            f"unknown reference {r!r}{did_you_mean(r, outputs)}; defined so far: {', '.join(outputs)}",
                        )
                    )
                )
            if isinstance(r, str) and r in data and getattr(cls, "example_types", None):
                fmt_cls = pm.resolve("reader", data[r].format)
                if len(fmt_cls.example_types) == 1 and fmt_cls.example_types[0] not in cls.example_types:
                    problems.append(
                        str(
                            _err(
                                source,
                                f"{where}.inputs.{key}",
                                f"{r!r} holds {fmt_cls.example_types[0]} "
                                f"examples; {comp} accepts {', '.join(cls.example_types)}",
                            )
                        )
                    )
    for key, spec in cls.inputs.items():
        if spec.required and key not in inputs:
            problems.append(
                str(_err(source, f"{where}.inputs.{key}", f"missing; {comp} needs it ({spec.help or spec.type})"))
            )
    if problems:
        raise RecipeError.collected(source, problems)


def dump_toml(raw: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(_drop_none(raw))


def _drop_none(obj):
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj
