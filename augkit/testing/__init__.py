"""Helpers for testing augkit plugins.

Contract checks run a component through what every component of its kind must satisfy, and raise
``ContractError`` (an AssertionError) describing the first violation:
``check_generator_contract``, ``check_filter_contract``, ``check_labeler_contract``,
``check_trainer_contract``, ``check_writer_roundtrip``. ``run_recipe`` runs a recipe (a file or TOML
text) in a test and returns its results. The pytest fixture ``augkit_plugin`` (in
``augkit.testing.pytest_plugin``, loaded automatically when augkit is installed) registers a plugin
object that is not installed as a package for the duration of one test; ``augkit_browser`` is a
headless Chromium for ``augkit.browser.open_page`` (a report as a reader sees it).
"""

from __future__ import annotations

from typing import Sequence

from ..components import Component, FilterResult, Generator
from ..data import Example
from ..params import Params
from ..standalone import augment


class ContractError(AssertionError):
    pass


def _key(ex: Example):
    row = ex.to_row()
    return tuple((k, repr(v)) for k, v in sorted(row.items()))


def check_generator_contract(
    generator: Generator, examples: Sequence[Example], *, seed: int = 1234, batch_sizes: Sequence[int] = (1, 3, 64)
) -> list[Example]:
    """Check that ``generator`` honours the Generator contract on ``examples``; return its output.

    * outputs are ``Example`` objects of a type the generator declares, with ``source_id`` naming an
      input and ``component`` set, grouped by input in input order;
    * tagging outputs have one tag per token when labelled (``tags``) and ``replaced`` positions inside
      the sentence; ``orig_tags`` match the source's tags; only a generator that declares
      ``labels_outputs = True`` gives tags (never the source's copied onto replaced words);
    * the same seed gives the same output; the output is the same at every batch size and when the
      inputs come in reverse order (per-example randomness).
    Raises ContractError (an AssertionError) describing the first violation.
    """
    examples = list(examples)
    if not examples:
        raise ValueError("check_generator_contract needs at least one example")
    by_id = {ex.id: ex for ex in examples}
    if len(by_id) != len(examples):
        raise ValueError("example ids must be unique")
    runs = {bs: augment(generator, examples, seed=seed, batch_size=bs) for bs in batch_sizes}
    first = runs[batch_sizes[0]]
    order = {ex.id: i for i, ex in enumerate(examples)}
    last_pos = -1
    for out in first:
        if not isinstance(out, Example):
            raise ContractError(f"output {out!r} is not an augkit.Example")
        if out.type not in generator.example_types:
            raise ContractError(f"output {out.id!r} has type {out.type!r}, not one of {generator.example_types}")
        if out.source_id not in by_id:
            raise ContractError(f"output {out.id!r} has source_id {out.source_id!r}, which is not an input id")
        if not out.component:
            raise ContractError(f"output {out.id!r} does not say which component made it")
        if order[out.source_id] < last_pos:
            raise ContractError(f"output {out.id!r} breaks input order (outputs must be grouped by input, in order)")
        last_pos = order[out.source_id]
        src = by_id[out.source_id]
        if out.type == "tagging":
            if out.tags and len(out.tags) != len(out.tokens):
                raise ContractError(f"output {out.id!r}: {len(out.tokens)} tokens but {len(out.tags)} tags")
            if any(not 0 <= p < len(out.tokens) for p in out.replaced):
                raise ContractError(f"output {out.id!r}: replaced positions {out.replaced} outside the sentence")
            if src.tags and out.orig_tags and list(out.orig_tags) != list(src.tags):
                raise ContractError(f"output {out.id!r}: orig_tags differ from the source's tags")
            if out.tags and not generator.labels_outputs:
                copied = (
                    " (the source's tags copied onto words it replaced)"
                    if list(out.tags) == list(src.tags) and out.replaced
                    else ""
                )
                raise ContractError(
                    f"output {out.id!r} carries tags{copied}, but the generator does not declare "
                    "labels_outputs = True: leave tags empty for a labeler or a replaced_tags policy, "
                    "or make them right by construction and declare it"
                )
    ids = [o.id for o in first]
    if len(set(ids)) != len(ids):
        raise ContractError("output ids are not unique")
    again = augment(generator, examples, seed=seed, batch_size=batch_sizes[0])
    if [_key(e) for e in again] != [_key(e) for e in first]:
        raise ContractError("the same seed gave different outputs")
    for bs, out in runs.items():
        if [_key(e) for e in out] != [_key(e) for e in first]:
            raise ContractError(f"batch size {bs} gave different outputs than batch size {batch_sizes[0]}")
    reverse = augment(generator, examples[::-1], seed=seed, batch_size=batch_sizes[-1])
    if sorted(map(_key, reverse)) != sorted(map(_key, first)):
        raise ContractError("reversing the input order changed the outputs (randomness must be per example)")
    return first


def _text(ex: Example):
    return (ex.type, tuple(ex.tokens), ex.text_a, ex.text_b, ex.question, ex.context)


def check_filter_contract(filter_, *corpora) -> "FilterResult":
    """Check that a Filter honours its contract on ``corpora`` (``filter_.n_inputs`` of them); return
    its result. The result is a FilterResult whose ``kept``/``total`` match its corpus and the first
    input; the kept examples are examples of the first input, unchanged and in input order; the same
    inputs give the same selection."""
    from ..components import FilterResult

    if len(corpora) != filter_.n_inputs:
        raise ContractError(f"{filter_.display_name()} takes {filter_.n_inputs} corpora; {len(corpora)} were given")
    result = filter_.filter(*corpora)
    if not isinstance(result, FilterResult):
        raise ContractError(f"filter() returned {type(result).__name__}, not an augkit.FilterResult")
    kept = list(result.corpus)
    if result.kept != len(kept) or result.total != len(corpora[0]) or result.kept > result.total:
        raise ContractError(
            f"kept={result.kept}, total={result.total} do not match the {len(kept)} examples "
            f"returned out of {len(corpora[0])}"
        )
    position = {ex.id: (i, ex) for i, ex in enumerate(corpora[0])}
    last = -1
    for ex in kept:
        if ex.id not in position:
            raise ContractError(f"kept example {ex.id!r} is not an example of the first input")
        i, original = position[ex.id]
        if _text(ex) != _text(original):
            raise ContractError(f"kept example {ex.id!r} has different text than the input (filters never change text)")
        if i <= last:
            raise ContractError(f"kept example {ex.id!r} breaks input order")
        last = i
    again = filter_.filter(*corpora)
    if [ex.id for ex in again.corpus] != [ex.id for ex in kept]:
        raise ContractError("the same inputs gave a different selection")
    return result


def check_labeler_contract(labeler, corpus, model):
    """Check that a Labeler honours its contract on ``corpus`` with ``model``; return the labelled corpus.
    Every example comes back (same ids, order and text) with a label distribution per word (tagging) or
    one (pairs) over ``labels`` (rows sum to 1) and pseudo labels from that label set."""
    import numpy as np

    out = labeler.label(corpus, model)
    if not getattr(out, "labels", None):
        raise ContractError("the labelled corpus does not say its label set (corpus.labels)")
    labels = list(out.labels)
    got, given = list(out), list(corpus)
    if [ex.id for ex in got] != [ex.id for ex in given]:
        raise ContractError("the labelled corpus does not hold the input's examples in input order")
    for ex, src in zip(got, given):
        if _text(ex) != _text(src):
            raise ContractError(f"example {ex.id!r}: labelling changed its text")
        if ex.probs is None:
            raise ContractError(f"example {ex.id!r} carries no label distribution (probs)")
        rows = np.asarray(ex.probs, dtype=np.float64)
        want = len(ex.tokens) if ex.type == "tagging" else 1
        if rows.shape != (want, len(labels)):
            raise ContractError(f"example {ex.id!r}: probs have shape {rows.shape}, expected {(want, len(labels))}")
        if not np.allclose(rows.sum(axis=1), 1.0, atol=1e-3):
            raise ContractError(f"example {ex.id!r}: a label distribution does not sum to 1")
        pseudo = ex.tags if ex.type == "tagging" else [ex.label]
        if len(pseudo) != want or any(t not in labels for t in pseudo):
            raise ContractError(f"example {ex.id!r}: pseudo labels {pseudo} are missing or outside the label set")
    return out


def check_trainer_contract(trainer, inputs: dict, out_dir, *, seed: int = 0, device: str = "cpu"):
    """Run a Trainer as a stage on ``inputs`` in ``out_dir`` and check its contract; return its
    ModelSet. ``run_stage`` returns JSON-serialisable stats; the stage folder holds ``models.json``
    (``augkit.ModelSet``) naming a task, a label set and a selected model that is one of its models;
    every model loads with ``augkit.tasks.load_task_model`` with that task and label set. A set of
    masked LMs (task ``"mlm"``, what a pretraining trainer writes) has no label set; each of its models
    loads with ``AutoModelForMaskedLM`` and its tokenizer, which has a mask token and no token beyond the
    model's vocabulary, and predicts a word for a masked position. As in a recipe, an input the
    trainer takes several of (``many=True``) may be given as one corpus: it gets a list of one."""
    import json
    from pathlib import Path

    from ..components import StageContext
    from ..model_sets import ModelSet
    from ..plugins import get_plugin_manager
    from ..tasks import TASKS, load_task_model

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = type(trainer).inputs
    inputs = {k: [v] if k in specs and specs[k].many and not isinstance(v, list) else v for k, v in inputs.items()}
    ctx = StageContext(
        name="contract", out_dir=out_dir, seed=seed, inputs=inputs, device=device, resolve=get_plugin_manager().resolve
    )
    stats = trainer.run_stage(ctx)
    try:
        json.dumps(stats)
    except TypeError as e:
        raise ContractError(f"run_stage returned stats that are not JSON-serialisable: {e}") from None
    if not (out_dir / ModelSet.FILE).is_file():
        raise ContractError(f"the trainer wrote no {ModelSet.FILE}, so no later stage can use its models")
    models = ModelSet.load(out_dir)
    if (models.task not in TASKS and models.task != MLM_TASK) or not len(models):
        raise ContractError(f"the model set names task {models.task!r} and {len(models)} models")
    if models.selected is not None and models.selected not in [m.name for m in models]:
        raise ContractError(f"the selected model {models.selected!r} is not in the set")
    for m in models:
        if models.task == MLM_TASK:
            _check_masked_lm(m, device)
            continue
        tm = load_task_model(m.path, device=device)
        if tm.task != models.task or (models.labels is not None and tm.labels != list(models.labels)):
            raise ContractError(
                f"model {m.name!r} is a {tm.task} model with labels {tm.labels}; the set says "
                f"{models.task} with {models.labels}"
            )
    return models


MLM_TASK = "mlm"  # the task a set of masked LMs names (a pretraining trainer's output)


def _check_masked_lm(entry, device: str) -> None:
    """One model of an ``"mlm"`` set: it loads as a masked LM with its tokenizer, the tokenizer has a
    mask token and fits the model's vocabulary, and a masked sentence gets a prediction per position."""
    import torch
    from transformers import AutoModelForMaskedLM

    from ..tasks import load_tokenizer

    try:
        tokenizer = load_tokenizer(entry.path)
        model = AutoModelForMaskedLM.from_pretrained(entry.path).to(device).eval()
    except Exception as e:  # noqa: BLE001 - any loading failure breaks the contract
        raise ContractError(f"model {entry.name!r} does not load as a masked LM with its tokenizer: {e}") from None
    if tokenizer.mask_token_id is None:
        raise ContractError(f"model {entry.name!r}: its tokenizer has no mask token")
    vocab = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > vocab:
        raise ContractError(
            f"model {entry.name!r}: the tokenizer has {len(tokenizer)} tokens, the model's vocabulary {vocab}"
        )
    ids = tokenizer("a b c", return_tensors="pt")["input_ids"]
    ids[0, 1] = tokenizer.mask_token_id
    with torch.inference_mode():
        logits = model(input_ids=ids.to(device)).logits
    if tuple(logits.shape) != (1, ids.shape[1], vocab):
        raise ContractError(
            f"model {entry.name!r}: masked-LM logits of shape {tuple(logits.shape)}, expected "
            f"(1, {ids.shape[1]}, {vocab})"
        )


def check_writer_roundtrip(writer, reader, examples: Sequence[Example], path) -> list[Example]:
    """Write ``examples`` with ``writer`` to ``path`` and read them back with ``reader``; check that the
    same examples come back (same count and order, same text, same labels — tags, class or answers —
    where the examples have them). Returns what was read."""
    from pathlib import Path

    examples = list(examples)
    n = writer.write(examples, Path(path))
    if n != len(examples):
        raise ContractError(f"write() returned {n} for {len(examples)} examples")
    back = list(reader.read(str(path), lang=examples[0].lang if examples else "und"))
    if len(back) != len(examples):
        raise ContractError(f"{len(examples)} examples written, {len(back)} read back")
    for ex, got in zip(examples, back):
        if _text(got)[1:] != _text(ex)[1:]:
            raise ContractError(f"example {ex.id!r} reads back with other text: {_text(got)[1:]} != {_text(ex)[1:]}")
        if ex.type == "tagging" and ex.tags and list(got.tags) != list(ex.tags):
            raise ContractError(f"example {ex.id!r}: tags {ex.tags} read back as {got.tags}")
        if ex.type == "pair" and ex.label is not None and got.label != ex.label:
            raise ContractError(f"example {ex.id!r}: label {ex.label!r} read back as {got.label!r}")
        if ex.type == "qa" and ex.answers and [a["text"] for a in got.answers] != [a["text"] for a in ex.answers]:
            raise ContractError(f"example {ex.id!r}: answers {ex.answers} read back as {got.answers}")
    return back


def run_recipe(
    recipe,
    output_dir,
    *,
    overrides: Sequence[str] = (),
    resume: bool = False,
    force: bool = False,
    device: str | None = None,
) -> dict:
    """Run a recipe in a test, as ``augkit run`` would (no progress display), and return its results
    as ``results.json`` holds them: ``{"status": "completed", "stages": {stage name: its stats}}``. ``recipe`` is a
    recipe file or the recipe's TOML text (relative paths
    in text resolve against the current folder). Components registered with the ``augkit_plugin``
    fixture are available to it. ``overrides`` are ``--set`` strings, e.g. ``"run.seed=3"``."""
    import tomllib
    from pathlib import Path

    from ..errors import RecipeError
    from ..recipe import apply_overrides, load_recipe, validate
    from ..runner import Runner

    overrides = list(overrides) + ([f'run.device="{device}"'] if device else [])
    if isinstance(recipe, str) and "\n" in recipe:
        try:
            raw = tomllib.loads(recipe)
        except tomllib.TOMLDecodeError as e:
            raise RecipeError(f"<recipe text>: TOML syntax error: {e}") from None
        raw = apply_overrides(raw, overrides)
        plan = validate(raw, source="<recipe text>", base_dir=Path.cwd(), overrides=overrides)
    else:
        plan = load_recipe(recipe, overrides)
    stages = Runner(plan, output_dir, resume=resume, force=force, interactive=False).run()
    return {"status": "completed", "stages": stages}


def plugin_with(*classes: type) -> object:
    """A plugin object that registers ``classes`` (components of any kinds) through the hooks their kinds
    name, for the ``augkit_plugin`` fixture: ``augkit_plugin(plugin_with(MyGenerator), name="mine")``."""
    from ..hookspecs import hookimpl
    from ..plugins import _HOOK_FOR_KIND

    by_hook: dict[str, list[type[Component]]] = {}
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Component)):
            raise TypeError(f"plugin_with takes component classes, got {cls!r}")
        by_hook.setdefault(_HOOK_FOR_KIND[cls.kind], []).append(cls)
    methods = {}
    for hook, group in by_hook.items():

        def register_all(self, register, _group=tuple(group)):
            for cls in _group:
                register(cls)

        register_all.__name__ = hook
        methods[hook] = hookimpl(register_all)
    return type("PluginWith", (), methods)()


__all__ = [
    "ContractError",
    "check_generator_contract",
    "check_filter_contract",
    "check_labeler_contract",
    "check_trainer_contract",
    "check_writer_roundtrip",
    "plugin_with",
    "run_recipe",
]


def unread_params(component: type[Component] | type[Params]) -> list[str]:
    """The parameters of ``component`` (a component class, or a ``Params`` class such as the ``[run]``
    table's) that no code reads: a name never used as an attribute (``p.name``, ``self.params.name``) nor
    as a string (``getattr(p, "name")``, ``raw["name"]``) in the package that defines the component nor,
    for a parameter a base class declares, in the package that defines that base. ``Params`` class bodies do not
    count (declaring and validating a setting is not using it). An empty list is the contract: a
    setting the user can write is a setting that does something."""
    import ast
    import dataclasses
    import importlib
    from pathlib import Path

    params_cls = component if issubclass(component, Params) else component.Params
    schema_names = {c.__name__ for c in params_cls.__mro__}

    def package_files(module_name: str) -> list[Path]:
        """The files of the top-level package holding ``module_name`` (a lone module: its file)."""
        top = Path(str(importlib.import_module(module_name.split(".")[0]).__file__))
        return sorted(top.parent.rglob("*.py")) if top.name == "__init__.py" else [top]

    used_in: dict[Path, set[str]] = {}

    def names_used(file: Path) -> set[str]:
        if file not in used_in:
            tree = ast.parse(file.read_text(encoding="utf-8"))
            skip = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and (
                    node.name in schema_names or any(ast.unparse(b).endswith("Params") for b in node.bases)
                ):
                    skip |= {id(n) for n in ast.walk(node)}
            found = set()
            for node in ast.walk(tree):
                if id(node) in skip:
                    continue
                if isinstance(node, ast.Attribute):
                    found.add(node.attr)
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
            used_in[file] = found
        return used_in[file]

    unread = []
    for f in dataclasses.fields(params_cls):
        owners = [c for c in params_cls.__mro__ if f.name in c.__dict__.get("__annotations__", {})]
        files = set(package_files(component.__module__))
        for owner in owners:
            files |= set(package_files(owner.__module__))
        if not any(f.name in names_used(file) for file in files):
            unread.append(f.name)
    return unread
