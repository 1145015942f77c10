"""augkit's plugin hooks. This file is the hook reference.

A plugin is a module (or object) with functions decorated ``@augkit.hookimpl`` whose names match the
specs below. Hooks are called with keyword arguments; an implementation may accept only the arguments
it needs. Registration hooks must be cheap: register classes, never load models.

Register a plugin as a pip package with an entry point in the ``augkit`` group::

    [project.entry-points.augkit]
    mention_replace = "augkit_mention_replace"
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("augkit")
hookimpl = pluggy.HookimplMarker("augkit")

Register = Callable[..., None]


@hookspec
def register_generators(register: Register) -> None:
    """Register Generator classes.

    Called once when the plugin manager first builds its registry. Call
    ``register(GeneratorClass, name="my-generator")`` for each generator (``name`` defaults to the
    class's ``name`` attribute). A recipe then refers to it as ``my-generator`` or, if two plugins
    register the same name, as ``plugin:my-generator``.
    """


@hookspec
def register_labelers(register: Register) -> None:
    """Register Labeler classes (task models that produce label distributions and pseudo labels).

    Same calling convention as ``register_generators``.
    """


@hookspec
def register_filters(register: Register) -> None:
    """Register Filter classes (distillers, agreement and other selectors).

    Same calling convention as ``register_generators``.
    """


@hookspec
def register_trainers(register: Register) -> None:
    """Register Trainer classes (stages that train and write task models).

    Same calling convention as ``register_generators``.
    """


@hookspec
def register_trainer_hooks(register: Register) -> None:
    """Register TrainerHook classes: extra loss terms and callbacks a recipe attaches to a trainer stage
    with ``hooks = [{component = "name", params = {...}}]``.

    Same calling convention as ``register_generators``.
    """


@hookspec
def register_analyzers(register: Register) -> None:
    """Register Analyzer classes: measurements of models on data that a recipe runs as an ``analyze``
    stage (e.g. ``cka``) and that show up in the run report.

    Same calling convention as ``register_generators``.
    """


@hookspec
def register_readers(register: Register) -> None:
    """Register Reader classes for data formats (``format = "conll"`` in a recipe's ``[data.*]`` table).

    Same calling convention as ``register_generators``.
    """


@hookspec
def register_writers(register: Register) -> None:
    """Register Writer classes for data formats (used by ``augkit augment -o FILE``).

    Same calling convention as ``register_generators``.
    """


@hookspec
def register_commands(subparsers: Any) -> None:
    """Add sub-commands to the ``augkit`` command line.

    ``subparsers`` is the ``argparse`` sub-parser collection: call
    ``p = subparsers.add_parser("name", help=...)``, add arguments, and
    ``p.set_defaults(func=callable)``; ``callable(args)`` runs the command and returns an exit code.
    """


@hookspec
def on_stage_start(stage: str, kind: str, component: str, out_dir: str) -> None:
    """Called on every plugin when a recipe stage starts (not when it is skipped on ``--resume``)."""


@hookspec
def on_stage_end(stage: str, kind: str, component: str, out_dir: str, stats: dict) -> None:
    """Called on every plugin when a stage has finished and its output is complete on disk.

    ``stats`` is the stage's report (counts, scores); read it, do not change it.
    """


@hookspec
def on_run_end(output_dir: str, results: dict, status: str) -> None:
    """Called on every plugin once a run ends. ``status`` is ``"completed"`` or ``"failed"``;
    ``results`` maps stage names to their stats.
    """


@hookspec
def report_sections(run: Any) -> list | None:
    """Return the report sections (``augkit.ReportSection``: title, Markdown text, ``ReportTable``s,
    ``ReportFigure``s) this plugin contributes to a run's report, or None.

    ``run`` is an ``augkit.RunInfo``: the run folder, its resolved recipe and its stages
    (``run.stages_of(MyTrainer)`` picks this plugin's; each ``StageInfo`` says whether it finished and
    reads its JSON artefacts with ``read_json``). Build sections from the artefacts on disk alone (the
    report is rebuilt by ``augkit report RUN_DIR`` long after the run), show what exists of a stage that
    did not finish and say what is missing. Sections with ``terminal=True`` also print their tables at
    the end of ``augkit run`` (instead of components printing on their own).
    """
