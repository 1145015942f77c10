"""The ``augkit`` command line: run, validate, plugins, augment (+ commands plugins add)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from .errors import AugkitError


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="augkit", description="Data augmentation for zero-resource cross-lingual transfer.")
    parser.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this plugin (repeatable; also AUGKIT_DISABLE_PLUGINS=a,b)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run a recipe")
    p.add_argument("recipe")
    p.add_argument("-o", "--output-dir", help="output folder (default: the recipe's run.output_dir)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key")
    p.add_argument("--dry-run", action="store_true", help="validate and print the resolved recipe and plan; run nothing")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue a run in a non-empty output folder")
    g.add_argument("--force", action="store_true", help="discard what is in the output folder and start over")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a recipe without running anything")
    p.add_argument("recipe", nargs="+")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("plugins", help="list installed plugins, their hooks and components")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("augment", help="augment a corpus file with one generator")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--generator", required=True, help="generator name (plugin:name if ambiguous)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="generator parameter")
    p.add_argument("--format", help="input format (default: from the suffix)")
    p.add_argument("--output-format", help="output format (default: from the suffix)")
    p.add_argument("--lang", default="und", help="language code of the input")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--shard-size", type=int, default=2000, help="inputs per resumable shard (and per process share)")
    p.add_argument("--include-original", action="store_true", help="write each input before its new examples")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.set_defaults(func=cmd_augment)
    return parser


def cmd_run(args) -> int:
    from .recipe import dump_toml, load_recipe
    from .runner import Runner, summary_table

    plan = load_recipe(args.recipe, args.set)
    if args.dry_run:
        out = _console()
        out.print(dump_toml(plan.raw), markup=False)
        out.print("# plan:", markup=False)
        for name, d in plan.data.items():
            out.print(f"#   read  {name}: {d.format} {d.path} (lang {d.lang})", markup=False)
        for st in plan.stages:
            out.print(f"#   {st.index + 1:2d}. {st.name}: {st.kind} with {st.component} <- "
                      f"{json.dumps(st.inputs)}", markup=False)
        return 0
    runner = Runner(plan, args.output_dir, resume=args.resume, force=args.force)
    results = runner.run()
    if runner.rank == 0:
        _console().print(summary_table(results))
        _console().print(f"output: {runner.out}", markup=False)
    return 0


def cmd_validate(args) -> int:
    from .recipe import load_recipe

    for path in args.recipe:
        plan = load_recipe(path, args.set)
        print(f"{path}: ok ({len(plan.data)} data entries, {len(plan.stages)} stages: "
              f"{', '.join(s.name for s in plan.stages)})")
    return 0


def cmd_plugins(args) -> int:
    from .plugins import get_plugin_manager

    info = get_plugin_manager().describe()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    from rich.table import Table

    table = Table(title="augkit plugins")
    for col in ("plugin", "version", "hooks", "components"):
        table.add_column(col)
    for p in info:
        comps = "\n".join(f"{kind}: {', '.join(c['name'] for c in cs)}" for kind, cs in p["components"].items())
        table.add_row(p["name"], p["version"] or "-", "\n".join(p["hooks"]), comps)
    _console().print(table)
    return 0


def cmd_augment(args) -> int:
    from .augment import augment_file
    from .recipe import parse_override

    params = {}
    for text in args.set:
        keys, value = parse_override(text)
        params[".".join(keys)] = value
    stats = augment_file(args.input, args.output, generator=args.generator, params=params, input_format=args.format,
                         output_format=args.output_format, lang=args.lang, seed=args.seed, batch_size=args.batch_size,
                         shard_size=args.shard_size,
                         include_original=args.include_original, device=args.device, precision=args.precision,
                         overwrite=args.overwrite, interactive=None)
    from .environment import topology

    if topology()[0] != 0:
        return 0
    _console(stderr=True).print(
        f"{stats['inputs']} inputs -> {stats['outputs']} new examples"
        + (f" (+{stats['inputs']} originals)" if args.include_original else "")
        + "".join(f", {k}={v}" for k, v in stats.items() if k not in ("inputs", "outputs", "shards",
                                                                        "shards_resumed", "inputs_per_s_this_run", "written"))
        + f" -> {args.output}", markup=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .plugins import get_plugin_manager

    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # plugin commands need plugins loaded before parsing; --disable-plugin must act before loading
    disabled = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--disable-plugin"]
    if disabled:
        current = [p for p in os.environ.get("AUGKIT_DISABLE_PLUGINS", "").split(",") if p]
        os.environ["AUGKIT_DISABLE_PLUGINS"] = ",".join(current + disabled)
    try:
        pm = get_plugin_manager()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        pm.hook.register_commands(subparsers=sub)
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        for handler in logging.getLogger().handlers:  # stderr shows warnings; run.log keeps everything
            handler.setLevel(logging.INFO if args.verbose else logging.WARNING)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except AugkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
