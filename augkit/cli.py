"""The ``augkit`` command line: run, validate, plugins, augment (+ commands plugins add)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from .errors import AugkitError, PluginError, did_you_mean


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = argparse.ArgumentParser(
        prog="augkit", description="Data augmentation for zero-resource cross-lingual transfer."
    )
    parser.add_argument("--version", action="version", version=f"augkit {__version__}")
    parser.add_argument(
        "--disable-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="do not load this plugin (repeatable; also AUGKIT_DISABLE_PLUGINS=a,b)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run a recipe")
    p.add_argument("recipe")
    p.add_argument("-o", "--output-dir", help="output folder (default: the recipe's run.output_dir)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key")
    p.add_argument(
        "--dry-run", action="store_true", help="validate and print the resolved recipe and plan; run nothing"
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="continue a run in a non-empty output folder")
    g.add_argument("--force", action="store_true", help="discard what is in the output folder and start over")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("report", help="(re)build a run's report.html and report.md from its artefacts")
    p.add_argument("run_dir", help="a run's output folder (also one that stopped part-way)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the result tables")
    p.add_argument(
        "--screenshot",
        metavar="PNG",
        help="also render report.html in headless Chromium (needs "
        "`apt-get install chromium` and `pip install playwright`) and save a full-page screenshot",
    )
    p.add_argument("--width", type=int, default=1100, help="page width of the screenshot in pixels (default 1100)")
    p.add_argument("--height", type=int, help="screenshot only the top HEIGHT pixels (default: the whole page)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "plan",
        help="what a recipe will cost before it starts: steps, FLOPs, memory, time, disk",
        description="Per stage: examples, optimizer steps, tokens, FLOPs, peak memory per device, "
        "time at the stated utilisation and disk written, with totals; a stage that does "
        "not fit the GPU named says what would. Without --gpu: this machine's CPU.",
    )
    p.add_argument("recipe")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key")
    from .costs import GPUS

    p.add_argument("--gpu", help="GPU kind: " + ", ".join(sorted(GPUS)))
    p.add_argument("--gpus", type=int, default=1, help="GPUs per node (default 1)")
    p.add_argument("--nodes", type=int, default=1, help="nodes (default 1)")
    p.add_argument(
        "--utilisation", type=float, default=0.40, help="share of the GPU's bf16 peak reached (default 0.40)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("validate", help="check a recipe without running anything")
    p.add_argument("recipe", nargs="+")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "plugins",
        help="list installed plugins and components; `plugins show NAME` explains one",
        description="List installed plugins, their hooks and components. `augkit plugins show NAME` "
        "prints a component's parameters (types, defaults, help), or a plugin's components.",
    )
    p.add_argument("action", nargs="?", choices=["show"], help="show one component or plugin")
    p.add_argument("name", nargs="?", help="component (kind:name or plugin:name if ambiguous) or plugin name")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser(
        "augment",
        help="augment a corpus file with one generator",
        description="Augment a corpus file with one generator and write the new examples.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", help="corpus file (or, with --format hf, a dataset id or saved-dataset folder)")
    p.add_argument("-o", "--output", required=True, help="output file; its suffix picks the format")
    p.add_argument("--generator", required=True, help="generator name (plugin:name if ambiguous)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="generator parameter (repeatable)")
    p.add_argument("--format", help="input format (default: from the suffix)")
    p.add_argument("--output-format", help="output format (default: from the suffix)")
    p.add_argument(
        "--read-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="reader option, e.g. encoding=latin-1 or text_column=review (repeatable)",
    )
    p.add_argument("--write-opt", action="append", default=[], metavar="KEY=VALUE", help="writer option (repeatable)")
    p.add_argument(
        "--label-with",
        metavar="MODEL",
        help="label the new examples with this task model (a model folder or id, or a trainer stage folder of a run)",
    )
    p.add_argument(
        "--labeler",
        metavar="NAME",
        help="the labeler --label-with uses (default: the installed labeler that declares itself the default)",
    )
    p.add_argument(
        "--replaced-tags",
        choices=["keep", "unknown", "drop", "none"],
        help="without --label-with, the tags of replaced words: keep the source word's tag, "
        "unknown (_; ignored in training), drop sentences where an entity word changed, or none "
        "(write the new sentences untagged)",
    )
    p.add_argument("--lang", default="und", help="language code of the input")
    p.add_argument("--seed", type=int, default=42, help="seed of all randomness (default 42)")
    p.add_argument("--limit", type=int, metavar="N", help="augment only the first N inputs")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--shard-size", type=int, default=2000, help="inputs per resumable shard (and per process share)")
    p.add_argument("--include-original", action="store_true", help="write each input before its new examples")
    p.add_argument(
        "--keep-identical",
        action="store_true",
        help="keep new examples whose text is their input's (dropped and counted by default)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.set_defaults(func=cmd_augment)
    return parser


def augment_epilog(pm) -> str:
    """What ``augkit augment --help`` lists after the options: installed generators (with parameters)
    and formats."""
    from .params import describe_params

    lines = [
        "generators (--generator NAME; parameters with --set KEY=VALUE; `augkit plugins show NAME` explains them):"
    ]
    for reg in pm.components("generator"):
        doc = (reg.cls.__doc__ or "").strip().splitlines()[0] if reg.cls.__doc__ else ""
        lines.append(f"  {reg.name} ({', '.join(reg.cls.example_types)}) — {doc}")
        params = [
            f"{d['name']}=" + ("(required)" if d["required"] else _short(d["default"]))
            for d in describe_params(reg.cls.Params)
        ]
        for chunk in _wrap(params, 96):
            lines.append(f"      {chunk}")
    for kind, flag in (("reader", "--format"), ("writer", "--output-format")):
        lines.append(
            f"{kind}s ({flag} NAME, or by suffix; options with --{'read' if kind == 'reader' else 'write'}-opt):"
        )
        for reg in pm.components(kind):
            suffixes = " ".join(reg.cls.suffixes) or "(named only)"
            lines.append(f"  {reg.name:8s} {suffixes:32s} {', '.join(reg.cls.example_types)}")
    return "\n".join(lines)


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 24 else text[:21] + "..."


def _wrap(items: list[str], width: int) -> list[str]:
    out, line = [], ""
    for item in items:
        if line and len(line) + 1 + len(item) > width:
            out.append(line)
            line = item
        else:
            line = f"{line} {item}".strip()
    return out + ([line] if line else [])


def cmd_run(args) -> int:
    from .recipe import dump_toml, load_recipe
    from .runner import Runner

    plan = load_recipe(args.recipe, args.set)
    if args.dry_run:
        out = _console()
        out.print(dump_toml(plan.raw), markup=False)
        out.print("# plan:", markup=False)
        for name, d in plan.data.items():
            out.print(f"#   read  {name}: {d.format} {d.path} (lang {d.lang})", markup=False)
        for st in plan.stages:
            out.print(
                f"#   {st.index + 1:2d}. {st.name}: {st.kind} with {st.component} <- {json.dumps(st.inputs)}",
                markup=False,
            )
        from .costs import local_hardware
        from .planning import plan_recipe, render

        render(plan_recipe(plan, local_hardware(plan.run.precision)), out)
        out.print("# (`augkit plan` gives the same for another GPU: --gpu, --gpus, --nodes)", markup=False)
        return 0
    from .report import terminal_tables

    runner = Runner(plan, args.output_dir, resume=args.resume, force=args.force)
    runner.run()
    if runner.rank == 0:
        for table in terminal_tables(getattr(runner, "sections", [])):
            _console().print(table)
        _console().print(f"output: {runner.out}  (report: {runner.out / 'report.html'})", markup=False)
    return 0


def cmd_report(args) -> int:
    from .report import terminal_tables, write_report

    sections, files = write_report(args.run_dir)
    if not args.quiet:
        for table in terminal_tables(sections):
            _console().print(table)
    _console().print(f"wrote {files['html']} and {files['md']}", markup=False)
    if args.screenshot:
        from .atomic import atomic_write_bytes
        from .browser import BrowserUnavailable, open_page
        from .errors import RunError

        try:
            page = open_page(files["html"], width=args.width, height=args.height)
        except BrowserUnavailable as e:
            raise RunError(f"--screenshot: {e}") from None
        for problem in page.console_errors + page.page_errors:
            _console().print(f"browser: {problem}", markup=False, style="yellow")
        atomic_write_bytes(args.screenshot, page.screenshot)
        _console().print(f"wrote {args.screenshot}", markup=False)
    return 0


def _hardware(args, precision: str):
    from .costs import GPUS, Hardware, cpu_hardware

    if args.gpu is None:
        return cpu_hardware(precision)
    name = args.gpu.lower()
    if name not in GPUS:
        raise AugkitError(f"--gpu {args.gpu}: unknown GPU; known: {', '.join(sorted(GPUS))}")
    if args.gpus < 1 or args.nodes < 1 or not 0 < args.utilisation <= 1:
        raise AugkitError("--gpus and --nodes need at least 1, --utilisation a share in (0, 1]")
    return Hardware(GPUS[name], args.gpus, args.nodes, precision, args.utilisation)


def cmd_plan(args) -> int:
    from .planning import plan_recipe, render
    from .recipe import load_recipe

    plan = load_recipe(args.recipe, args.set)
    result = plan_recipe(plan, _hardware(args, plan.run.precision))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        render(result, _console())
    return 0


def cmd_validate(args) -> int:
    from .recipe import data_sources, load_recipe

    for path in args.recipe:
        plan = load_recipe(path, args.set)
        print(
            f"{path}: ok ({len(plan.data)} data entries, {len(plan.stages)} stages: "
            f"{', '.join(s.name for s in plan.stages)})"
        )
        missing, fetched = data_sources(plan)
        if missing:
            print(
                f"  {len(missing)} data file{'s are' if len(missing) > 1 else ' is'} not here yet "
                "(`augkit run` stops until they are):"
            )
            for name, file in missing:
                print(f"    data.{name}: {file}")
        if fetched:
            print(
                f"  {len(fetched)} data entr{'ies come' if len(fetched) > 1 else 'y comes'} from a hub "
                "(downloaded, then cached, when the run reads them):"
            )
            for name, what in fetched:
                print(f"    data.{name}: {what}")
    return 0


def cmd_plugins(args) -> int:
    from .plugins import get_plugin_manager

    pm = get_plugin_manager()
    if args.action == "show":
        if not args.name:
            raise PluginError("augkit plugins show NAME: name a component (e.g. vicinity) or a plugin")
        return _show(pm, args.name, args.json)
    info = pm.describe()
    if args.json:
        info += [{"name": name, "failed": why} for name, why in sorted(pm.failed.items())]
        print(json.dumps(info, indent=2, default=str))
        return 0
    from rich.table import Table

    table = Table(title="augkit plugins")
    for col in ("plugin", "version", "hooks", "components"):
        table.add_column(col)
    for p in info:
        comps = "\n".join(f"{kind}: {', '.join(c['name'] for c in cs)}" for kind, cs in p["components"].items())
        table.add_row(p["name"], p["version"] or "-", "\n".join(p["hooks"]), comps)
    for name, why in sorted(pm.failed.items()):
        table.add_row(name, "-", "", f"failed to import, skipped: {why}\n(--disable-plugin {name} silences it)")
    _console().print(table)
    _console().print("`augkit plugins show NAME` prints a component's parameters.", markup=False)
    return 0


def _show(pm, name: str, as_json: bool) -> int:
    """Print the components called ``name`` (any kind; ``kind:name`` or ``plugin:name`` narrows), or a
    plugin's components."""
    import inspect

    from .components import COMPONENT_KINDS
    from .params import describe_params

    kind, _, bare = name.rpartition(":")
    regs = [
        r
        for k in COMPONENT_KINDS
        for r in pm.components(k)
        if (r.name == bare and (not kind or kind in (r.kind, r.plugin)))
    ]
    if not regs:
        plugin = next((p for p in pm.describe() if p["name"] == name), None)
        if plugin is not None:
            regs = [r for k in COMPONENT_KINDS for r in pm.components(k) if r.plugin == name]
        else:
            known = sorted({r.name for k in COMPONENT_KINDS for r in pm.components(k)})
            raise PluginError(
                f"no component or plugin named {name!r}{did_you_mean(bare, known)}; `augkit plugins` lists them"
            )
    described = [
        {
            "kind": r.kind,
            "name": r.name,
            "plugin": r.plugin,
            "class": f"{r.cls.__module__}.{r.cls.__qualname__}",
            "doc": inspect.cleandoc(r.cls.__doc__ or ""),
            "example_types": list(r.cls.example_types),
            "suffixes": list(getattr(r.cls, "suffixes", ()) or ()),
            "inputs": {k: v.type + (", many" if v.many else "") for k, v in r.cls.inputs.items()}
            if r.kind not in ("reader", "writer")
            else {},
            "params": describe_params(r.cls.Params),
        }
        for r in regs
    ]
    if as_json:
        print(json.dumps(described, indent=2, default=str))
        return 0
    import textwrap

    out = _console()
    for d in described:
        out.print(f"{d['kind']} {d['plugin']}:{d['name']}  ({d['class']})", markup=False, style="bold")
        if d["doc"]:
            out.print(d["doc"], markup=False)
        facts = [f"example types: {', '.join(d['example_types'])}"]
        if d["suffixes"]:
            facts.append(f"suffixes: {' '.join(d['suffixes'])}")
        if d["inputs"]:
            facts.append("stage inputs: " + ", ".join(f"{k} ({v})" for k, v in d["inputs"].items()))
        out.print("; ".join(facts), markup=False)
        if d["params"]:
            out.print("parameters:", markup=False)
            for prm in d["params"]:
                default = (
                    "(required)"
                    if prm["required"]
                    else "= " + json.dumps(prm["default"], ensure_ascii=False, default=str)
                )
                out.print(f"  {prm['name']}: {prm['type']} {default}", markup=False)
                if prm["help"]:
                    out.print(
                        textwrap.fill(prm["help"], width=100, initial_indent="      ", subsequent_indent="      "),
                        markup=False,
                    )
        else:
            out.print("no parameters", markup=False)
        out.print("")
    return 0


def cmd_augment(args) -> int:
    from .recipe import parse_options as _options
    from .standalone import augment_file

    stats = augment_file(
        args.input,
        args.output,
        generator=args.generator,
        params=_options(args.set, "--set"),
        input_format=args.format,
        output_format=args.output_format,
        read_options=_options(args.read_opt, "--read-opt"),
        write_options=_options(args.write_opt, "--write-opt"),
        lang=args.lang,
        seed=args.seed,
        limit=args.limit,
        label_with=args.label_with,
        labeler=args.labeler,
        replaced_tags=args.replaced_tags,
        batch_size=args.batch_size,
        shard_size=args.shard_size,
        include_original=args.include_original,
        device=args.device,
        precision=args.precision,
        overwrite=args.overwrite,
        interactive=None,
        keep_identical=args.keep_identical,
    )
    from .environment import topology

    if topology()[0] != 0:
        return 0
    originals = stats.get("written", 0) - stats["outputs"] if args.include_original else 0
    _console(stderr=True).print(
        f"{stats['inputs']} inputs -> {stats['outputs']} new examples"
        + (f" (+{originals} originals)" if args.include_original else "")
        + "".join(
            f", {k}={v}"
            for k, v in stats.items()
            if k not in ("inputs", "outputs", "shards", "shards_resumed", "inputs_per_s_this_run", "written")
        )
        + f" -> {args.output}",
        markup=False,
    )
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
        if any(a in ("-h", "--help") for a in argv) and "augment" in argv:
            sub.choices["augment"].epilog = augment_epilog(pm)
        args = parser.parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
        )
        for handler in logging.getLogger().handlers:  # stderr shows warnings; run.log keeps everything
            handler.setLevel(logging.INFO if args.verbose else logging.WARNING)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader gone away (`| head`) shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # whoever read the output stopped reading (`augkit plugins --json | head -1`): stop quietly, with what
        # is left to print going nowhere and exit status 1, as rich does for what it prints
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except AugkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:
        # the system refused a file operation (a folder made read-only, a full disk): say which file and why;
        # what finished is on disk (written atomically), so the same command with --resume continues
        if os.environ.get("AUGKIT_DEBUG"):
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(
            f"error: {where}{e.strerror or e} ({type(e).__name__}); fix that and run the same command again "
            "(with --resume for a run) to continue; AUGKIT_DEBUG=1 shows the traceback",
            file=sys.stderr,
        )
        return 2
    except MemoryError:
        if os.environ.get("AUGKIT_DEBUG"):
            raise
        print("error: out of memory; use smaller inputs or batches (AUGKIT_DEBUG=1 shows where)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
