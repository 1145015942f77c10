"""The plugin engine: entry-point loading, controls, name clashes, listing, hooks, the test harness."""
import dataclasses
import json
from pathlib import Path

import pytest

import augkit
from augkit import Example, Filter, FilterResult, Generator, Params, PluginError, hookimpl, param
from augkit.plugins import PluginManager
from augkit.recipe import load_recipe
from augkit.runner import Runner
from augkit.testing import ContractError, check_generator_contract, plugin_with

ROOT = Path(__file__).resolve().parents[1]


class KeepAll(Filter):
    """A filter that keeps everything (a second registration of a common name)."""

    name = "length"

    def filter(self, corpus):
        return FilterResult(corpus, len(corpus), len(corpus))


class ClashPlugin:
    @hookimpl
    def register_filters(self, register):
        register(KeepAll)


BUILTINS = "formats,basic,vicinity,multimix"


def test_builtins_load_through_entry_points_like_any_plugin(monkeypatch):
    monkeypatch.setenv("AUGKIT_LOAD_PLUGINS", BUILTINS)
    pm = PluginManager()
    pm.load_entry_points()
    names = {p["name"] for p in pm.describe()}
    assert names == set(BUILTINS.split(","))
    info = {p["name"]: p for p in pm.describe()}
    assert info["basic"]["version"] == augkit.__version__ and "register_filters" in info["basic"]["hooks"]


def test_name_clash_is_an_error_listing_candidates_and_plugin_prefix_disambiguates(augkit_plugin):
    augkit_plugin(ClashPlugin(), name="clash")
    with pytest.raises(PluginError) as e:
        augkit.resolve("filter", "length")
    assert "ambiguous" in str(e.value) and "basic:length" in str(e.value) and "clash:length" in str(e.value)
    assert augkit.resolve("filter", "clash:length") is KeepAll
    assert augkit.resolve("filter", "basic:length").__name__ == "LengthFilter"


def test_fixture_registration_lasts_one_test():
    assert augkit.resolve("filter", "length").__name__ == "LengthFilter"


def test_load_only_and_disable_controls(cli):
    only = json.loads(cli("plugins", "--json", env={"AUGKIT_LOAD_PLUGINS": "formats"}, check=0).stdout)
    assert [p["name"] for p in only] == ["formats"]
    none = json.loads(cli("plugins", "--json", env={"AUGKIT_LOAD_PLUGINS": ""}, check=0).stdout)
    assert none == []
    off = json.loads(cli("--disable-plugin", "basic", "plugins", "--json", check=0).stdout)
    assert "basic" not in [p["name"] for p in off] and "formats" in [p["name"] for p in off]
    env_off = json.loads(cli("plugins", "--json", env={"AUGKIT_DISABLE_PLUGINS": "formats"}, check=0).stdout)
    assert "formats" not in [p["name"] for p in env_off]


def test_a_plugin_that_fails_to_import_is_skipped_naming_it_and_how_to_silence_it(cli, tmp_path):
    """An installed third-party plugin whose import fails does not break augkit: the other plugins work,
    a warning names it and --disable-plugin, `augkit plugins` lists it as failed, and --disable-plugin
    silences it."""
    dist = tmp_path / "augkit_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: augkit-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[augkit]\nbroken = augkit_broken_plugin\n")
    (tmp_path / "augkit_broken_plugin.py").write_text("import a_module_nobody_has\n")
    env = {"PYTHONPATH": str(tmp_path)}
    proc = cli("plugins", "--json", env=env, check=0)
    info = {p["name"]: p for p in json.loads(proc.stdout)}
    assert "formats" in info and "No module named 'a_module_nobody_has'" in info["broken"]["failed"]
    assert "plugin 'broken'" in proc.stderr and "--disable-plugin broken" in proc.stderr
    txt = tmp_path / "in.txt"
    txt.write_text("one two three four\n")
    quiet = cli("--disable-plugin", "broken", "plugins", "--json", env=env, check=0)
    assert "broken" not in quiet.stderr and "broken" not in {p["name"] for p in json.loads(quiet.stdout)}
    missing = cli("augment", txt, "-o", tmp_path / "out2.txt", "--generator", "nothing-like-it", env=env)
    assert missing.returncode == 2 and "plugin 'broken' failed to import" in missing.stderr


def test_plugins_json_lists_versions_hooks_components_and_param_schemas(cli):
    info = {p["name"]: p for p in json.loads(cli("plugins", "--json", check=0).stdout)}
    length = info["basic"]["components"]["filter"][0]
    assert length["name"] == "length" and {p["name"] for p in length["params"]} == {"min_words", "max_words"}
    assert {c["name"] for c in info["formats"]["components"]["reader"]} >= {"conll", "conllu", "jsonl", "tsv", "squad", "hf"}
    assert "augkit plugins" in cli("plugins", check=0).stdout


def test_registering_a_non_component_is_a_clear_error(augkit_plugin):
    class Bad:
        @hookimpl
        def register_generators(self, register):
            register(dict)

    augkit_plugin(Bad(), name="bad")
    with pytest.raises(PluginError, match="plugin 'bad'.*not a subclass of augkit.Generator"):
        augkit.resolve("generator", "anything")


def test_lifecycle_hooks_reach_every_plugin(tmp_path, augkit_plugin):
    events = []

    class Listener:
        @hookimpl
        def on_stage_start(self, stage, kind):
            events.append(("start", stage, kind))

        @hookimpl
        def on_stage_end(self, stage, stats):
            events.append(("end", stage, stats["kept"]))

        @hookimpl
        def on_run_end(self, status):
            events.append(("run_end", status))

    augkit_plugin(Listener(), name="listener")
    Runner(load_recipe(ROOT / "recipes" / "filters_demo.toml"), tmp_path / "o", interactive=False).run()
    assert events[0] == ("start", "by_length", "filter") and events[1][0:2] == ("end", "by_length")
    assert events[-1] == ("run_end", "completed")


def test_plugins_can_add_cli_commands(tmp_path):
    import subprocess
    import sys

    script = """
from augkit import hookimpl
from augkit.plugins import get_plugin_manager
class Cmd:
    @hookimpl
    def register_commands(self, subparsers):
        p = subparsers.add_parser("hello")
        p.add_argument("who")
        p.set_defaults(func=lambda args: print("hello " + args.who) or 0)
get_plugin_manager().register(Cmd(), name="cmd")
from augkit.cli import main
raise SystemExit(main(["hello", "world"]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "hello world"


# the generator contract ------------------------------------------------------------------------
@dataclasses.dataclass
class SwapParams(Params):
    n: int = param(2, ge=1)


class SwapGenerator(Generator):
    """Swaps two random adjacent words (a correct, per-example-seeded generator)."""

    name = "swap"
    Params = SwapParams
    example_types = ("tagging",)
    labels_outputs = True  # the tags move with their words

    def augment_batch(self, examples, *, seed):
        out = []
        for ex in examples:
            rng = augkit.example_rng(seed, ex.id)
            for k in range(self.params.n):
                toks, tags = list(ex.tokens), list(ex.tags)
                if len(toks) > 1:
                    i = rng.randrange(len(toks) - 1)
                    toks[i], toks[i + 1] = toks[i + 1], toks[i]
                    tags[i], tags[i + 1] = tags[i + 1], tags[i]
                out.append(Example(f"{ex.id}~{k}", tokens=toks, tags=tags, source_id=ex.id, component="swap",
                                   orig_tags=list(ex.tags)))
        return out


class BatchDependentGenerator(SwapGenerator):
    """Wrong on purpose: draws from one generator per batch, so outputs depend on batch composition."""

    def augment_batch(self, examples, *, seed):
        import random

        rng = random.Random(seed)
        return [Example(f"{ex.id}~0", tokens=ex.tokens[::-1] if rng.random() < 0.5 else ex.tokens,
                        tags=ex.tags, source_id=ex.id, component="bad") for ex in examples]


def test_contract_check_accepts_a_correct_generator(data_dir):
    examples = list(augkit.read(data_dir / "ner.en.train.conll"))[:10]
    out = check_generator_contract(SwapGenerator(n=2), examples)
    assert len(out) == 20


class CopyTagsGenerator(Generator):
    """Wrong on purpose: replaces the second word and copies the source's tags onto the result."""

    name = "copy-tags"
    example_types = ("tagging",)

    def augment_batch(self, examples, *, seed):
        return [Example(f"{ex.id}~0", tokens=[ex.tokens[0], "Zürich", *ex.tokens[2:]], tags=list(ex.tags),
                        source_id=ex.id, component="copy-tags", replaced=[1], orig_tags=list(ex.tags))
                for ex in examples if len(ex.tokens) > 1]


def test_contract_check_catches_tags_copied_onto_replaced_words(data_dir):
    examples = list(augkit.read(data_dir / "ner.en.train.conll"))[:10]
    with pytest.raises(ContractError, match="copied onto words it replaced.*labels_outputs = True"):
        check_generator_contract(CopyTagsGenerator(), examples)


def test_contract_check_catches_batch_dependent_randomness(data_dir):
    examples = list(augkit.read(data_dir / "ner.en.train.conll"))[:10]
    with pytest.raises(ContractError, match="batch size|order"):
        check_generator_contract(BatchDependentGenerator(), examples)


def test_generator_registered_by_fixture_runs_from_a_recipe(tmp_path, data_dir, augkit_plugin):
    augkit_plugin(plugin_with(SwapGenerator), name="swapper")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f"""schema_version = 1
[data.en]
format = "conll"
path = "{data_dir / 'ner.en.dev.conll'}"
[[stages]]
name = "swapped"
kind = "generate"
component = "swap"
inputs = {{ corpus = ["en"] }}
params = {{ n = 3 }}
options = {{ shard_size = 2, batch_size = 1 }}
""")
    Runner(load_recipe(recipe), tmp_path / "out", interactive=False).run()
    out = augkit.Corpus.load(tmp_path / "out" / "stages" / "01-swapped" / "data")
    direct = augkit.augment(SwapGenerator(n=3), augkit.Corpus.load(tmp_path / "out" / "data" / "en"),
                                        seed=augkit.derive_seed(42, "swapped"))
    assert list(out) == direct and len(out) == 18


def test_no_core_module_names_a_plugin_component():
    """The core couples to plugins only through its interfaces: no string in augkit/ (docstrings aside)
    is the name of a component a built-in plugin registers."""
    import ast

    from augkit.plugins import get_plugin_manager

    pm = get_plugin_manager()
    names = {r.name: r.qualified for kind in ("generator", "labeler", "filter", "trainer", "trainer_hook", "analyzer")
             for r in pm.components(kind)}
    assert {"vicinity", "multimix-labeler", "xmixup", "gmm"} <= set(names)
    root = Path(__file__).resolve().parents[1] / "augkit"
    found = []
    for file in sorted(root.rglob("*.py")):
        tree = ast.parse(file.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
                      and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        found += [f"{file.relative_to(root.parent)}:{n.lineno}: {n.value!r}" for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
                  and (n.value in names or n.value in names.values())]
    assert not found, "core modules name plugin components:\n" + "\n".join(found)


def test_label_with_uses_the_labeler_that_declares_itself_the_default(augkit_plugin):
    from augkit import Labeler, PluginError
    from augkit.labelling import default_labeler

    assert default_labeler() == "multimix:multimix-labeler"

    class Quiet(Labeler):
        name = "quiet"

    class Loud(Labeler):
        name = "loud"
        default = True

    augkit_plugin(plugin_with(Quiet), name="quietplugin")
    assert default_labeler() == "multimix:multimix-labeler"  # another labeler, not claiming it

    augkit_plugin(plugin_with(Loud), name="loudplugin")
    with pytest.raises(PluginError, match="several labelers claim to be the default: name one "
                                          r"\(.*multimix:multimix-labeler.*loudplugin:loud"):
        default_labeler()


def test_plugins_import_only_what_augkit_exports_and_never_another_plugin():
    """The built-in plugins (and the example third-party plugin) use augkit exactly as a third party
    could: names in augkit.__all__ and the documented subpackages, never another plugin's modules."""
    import ast

    import augkit

    root = Path(__file__).resolve().parents[1]
    public_modules = {"augkit", "augkit.tasks", "augkit.distributed", "augkit.costs", "augkit.testing"}
    packages = [p for p in (root / "plugins").iterdir() if p.is_dir() and p.name.startswith("augkit_")]
    packages.append(root / "examples" / "augkit-mention-replace" / "augkit_mention_replace")
    problems = []
    for pkg in packages:
        for file in pkg.rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.Import):
                    modules, names = [a.name for a in node.names], []
                else:
                    continue
                for module in modules:
                    where = f"{file.relative_to(root)}:{node.lineno}"
                    top = module.split(".")[0]
                    if top.startswith("augkit_") and top != pkg.name:
                        problems.append(f"{where}: imports another plugin ({module})")
                    if top == "augkit" and module not in public_modules:
                        problems.append(f"{where}: imports the internal module {module}")
                    if module == "augkit":
                        problems += [f"{where}: augkit.{n} is not exported" for n in names
                                     if n not in augkit.__all__ and f"augkit.{n}" not in public_modules]
    assert not problems, "\n".join(problems)


STARTUP = """
import sys
from augkit.cli import main
from augkit.plugins import get_plugin_manager
pm = get_plugin_manager()
kinds = {kind: pm.components(kind) for kind in augkit.COMPONENT_KINDS}
import augkit.tasks
from augkit.tasks import TrainingParams
print(sum(map(len, kinds.values())), ",".join(m for m in ("torch", "transformers", "datasets", "sklearn")
                                             if m in sys.modules) or "none")
"""


def test_loading_augkit_and_every_plugin_leaves_torch_unloaded():
    """Every command pays for what plugin loading imports: the built-in plugins register their
    components, and augkit.tasks gives TrainingParams, without torch (which loads with the first model)."""
    import importlib.metadata
    import os
    import subprocess
    import sys

    others = [ep.name for ep in importlib.metadata.entry_points(group="augkit") if ep.dist.name != "augkit"]
    proc = subprocess.run([sys.executable, "-c", "import augkit\n" + STARTUP], capture_output=True, text=True,
                          env={**os.environ, "AUGKIT_DISABLE_PLUGINS": ",".join(others)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    n_components, heavy = proc.stdout.split()
    assert int(n_components) > 20 and heavy == "none"


def test_lazy_names_resolve_to_the_real_objects():
    import augkit.tasks
    import augkit_vicinity
    import augkit_xmixup
    from augkit.tasks import training

    assert set(augkit.tasks.__all__) <= set(dir(augkit.tasks))
    for name in augkit.tasks.__all__:
        assert getattr(augkit.tasks, name) is not None, name
    assert augkit.tasks.train_model is training.train_model and augkit.tasks.TrainingParams is training.TrainingParams
    assert augkit_xmixup.XMixupModel.__module__ == "augkit_xmixup.mixup"
    assert augkit_vicinity.MaskedLM.__module__ == "augkit_vicinity.mlm"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        augkit.tasks.nonexistent  # noqa: B018


def test_the_core_has_no_import_circle():
    """augkit's modules import each other in one direction only. Every import counts, those inside
    functions too (a lazy import is still an edge); only ``if TYPE_CHECKING:`` blocks do not."""
    import ast
    import graphlib

    core = ROOT / "augkit"
    modules = {}
    for file in core.rglob("*.py"):
        parts = file.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = file
    graph = {}
    for name, file in modules.items():
        package = name if file.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(file.read_text())
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for stmt in block.body for n in ast.walk(stmt)}
        edges = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                edges |= set(subs) if len(subs) == len(node.names) else {base, *subs}
            elif isinstance(node, ast.Import):
                edges |= {a.name for a in node.names}
        graph[name] = {m for m in edges if m in modules and m != name}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        pytest.fail("import circle: " + " -> ".join(e.args[1]))
    assert order.index("augkit.components") < order.index("augkit.plugins") < order.index("augkit")


def test_every_built_in_setting_is_read_by_some_code():
    """No setting that does nothing: every parameter of every built-in component, of the [run] table and
    of the stage options is read by the code of the package that declares it (augkit.testing.unread_params)."""
    import importlib.metadata

    from augkit.plugins import get_plugin_manager
    from augkit.recipe import RunConfig, StageOptions
    from augkit.testing import unread_params

    built_in = {ep.value for ep in importlib.metadata.entry_points(group="augkit") if ep.dist.name == "augkit"}
    pm = get_plugin_manager()
    checked = [r for kind in augkit.COMPONENT_KINDS for r in pm.components(kind)
               if r.cls.__module__.split(".")[0] in built_in]
    assert len(checked) > 30
    unread = {r.qualified: unread_params(r.cls) for r in checked}
    unread.update({"[run]": unread_params(RunConfig), "stage options": unread_params(StageOptions)})
    assert not {k: v for k, v in unread.items() if v}


def test_unread_params_names_a_declared_setting_that_nothing_reads():
    from augkit.testing import unread_params

    forgotten = "never_" + "looked_at"  # built at run time, so this file's text does not read it either
    Schema = dataclasses.make_dataclass("Schema", [("width", int, param(3)), (forgotten, int, param(1))],
                                        bases=(Params,))

    class Widen(Filter):
        name = "widen"
        Params = Schema

        def filter(self, corpus):
            return FilterResult(corpus, self.params.width, len(corpus))

    assert unread_params(Widen) == [forgotten]


@pytest.mark.parametrize("args", [["plugins"], ["plugins", "--json"]])  # rich's table, print's JSON
def test_output_into_a_closed_pipe_ends_quietly(args):
    """`augkit plugins | head -1`: once the reader has gone, augkit stops without a traceback or an error
    line (exit status 1)."""
    import os
    import subprocess

    from conftest import AUGKIT

    read, write = os.pipe()
    os.close(read)  # the reader is gone before augkit writes its first line
    try:
        proc = subprocess.run([*AUGKIT, *args], stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (1, "")
