"""The component interfaces: Generator, Labeler, Filter, Trainer, TrainerHook, Analyzer, Reader and Writer.

A component is a small object with one job (scikit-learn style). It declares:

* ``Params`` — a dataclass schema of its parameters (see ``augkit.params``), checked before anything
  heavy happens;
* ``example_types`` — which example types it accepts (``"tagging"``, ``"pair"``, ``"qa"``);
* for use as a recipe stage, ``inputs`` — the named inputs the stage needs.

Construction is cheap (no model loading); heavy work happens in ``setup`` or in the call itself, so
listing and validating never load a model. Plugins register component *classes* through the
``register_*`` hooks in ``augkit.hookspecs``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Sequence

from .data import EXAMPLE_TYPES, Corpus, Example
from .params import Params, build_params, param
from .params import Params as ParamsBase  # the base class (inside a component, ``Params`` is its schema)


@dataclasses.dataclass
class NoParams(Params):
    """Parameter schema of a component that takes none."""


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """A named input of a stage. ``type`` is ``"corpus"`` or ``"model"``; ``many`` accepts a list in the
    recipe, and the component then always gets a list (of one, when the recipe names one)."""

    type: str = "corpus"
    many: bool = False
    required: bool = True
    help: str = ""


@dataclasses.dataclass
class StageOptions(Params):
    """A stage's ``options`` table: how the runner feeds the component (not the component's own parameters)."""

    batch_size: int = param(64, help="examples per batch handed to the component", ge=1)
    shard_size: int = param(2000, help="examples per resumable output shard (generators)", ge=1)
    include_original: bool = param(False, help="generators: write each input before its new examples")


@dataclasses.dataclass
class StageContext:
    """What the runner hands a component that runs as a stage.

    ``out_dir`` is the stage's own folder (write artefacts only there; the runner makes the stage's
    completion atomic). ``inputs`` maps each declared input name to a ``Corpus``, a ``ModelSet`` (a
    trainer stage's models, or a model id/folder named directly), or a list of them. ``seed`` is already derived from
    the run seed and the stage name.
    ``rank``/``world_size`` come from ``torchrun``/``accelerate launch`` (0/1 otherwise).
    """

    name: str
    out_dir: Path
    seed: int
    inputs: dict[str, Any]
    device: str = "cpu"
    precision: str = "auto"
    rank: int = 0
    world_size: int = 1
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    log: logging.Logger = dataclasses.field(default_factory=lambda: logging.getLogger("augkit"))
    progress: Any = None  # augkit.progress.Progress-like; None = silent
    resolve: Any = None  # callable(kind, name) -> component class, for components that compose others

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def track(self, iterable: Iterable, total: int | None = None, description: str = "", unit: str = "it", size=None):
        """Iterate with a progress bar when one is attached (``size(item)``: units per item)."""
        if self.progress is None:
            return iterable
        return self.progress.track(iterable, total=total, description=description or self.name, unit=unit, size=size)


class Component:
    """Base of all components: parameters, example types, stage inputs."""

    kind: ClassVar[str] = "component"
    Params: ClassVar[type[Params]] = NoParams
    example_types: ClassVar[tuple[str, ...]] = EXAMPLE_TYPES
    inputs: ClassVar[dict[str, InputSpec]] = {}
    #: under ``torchrun``/``accelerate launch``: True runs ``run_stage`` on every process (use
    #: ``augkit.distributed`` for collectives), False on rank 0 only while the others wait; None: the
    #: default of the stage kind (generate stages shard their input, other kinds run on rank 0)
    supports_distributed: ClassVar[bool | None] = None
    #: set by the registry: the name a recipe uses, and the plugin that registered it
    registered_name: ClassVar[str | None] = None
    plugin_name: ClassVar[str | None] = None

    def __init__(self, params: ParamsBase | None = None, **kwargs: Any):
        if params is not None and kwargs:
            raise TypeError("pass either a Params object or keyword parameters, not both")
        if params is None:
            params = build_params(self.Params, kwargs, where=self.display_name())
        self.params = params

    @classmethod
    def display_name(cls) -> str:
        return cls.registered_name or cls.__name__

    def run_stage(self, ctx: StageContext) -> dict[str, Any]:
        """Run as a recipe stage: read ``ctx.inputs``, write artefacts to ``ctx.out_dir``, return stats."""
        raise NotImplementedError(f"{self.display_name()} cannot run as a stage")

    def estimate(self, est: Any) -> Any:
        """What running this stage will cost, for ``augkit plan``: an ``augkit.costs.StageCost`` from the
        sizes of the stage's inputs (``est``: an ``augkit.planning.Estimate``), or None (no estimate)."""
        return None

    def preflight(self, inputs: dict[str, Any]) -> None:
        """Check a stage's data before any stage runs; raise DataError on bad input.

        Called once all ``[data.*]`` entries are read: inputs that are data entries are given (Corpus or
        list of Corpus); inputs that come from earlier stages are None. Default: no checks.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"


class Generator(Component):
    """Makes new examples from existing ones.

    Implement ``augment_batch(examples, seed=...)``: it receives a list of examples and returns the new
    examples, grouped by input in input order. The output for one example must depend only on that
    example and ``derive_seed(seed, example.id)`` (``augkit.seeding``), never on the rest of the batch:
    that is what makes results the same at any batch size and any number of processes (the contract
    ``augkit.testing.check_generator_contract`` checks). Each new example gets an id of its own (by
    convention ``f"{source.id}~{tag}{k}"``) and records ``source_id``, ``component`` and, for tagging,
    ``replaced`` (positions it changed), ``orig_tags`` (the source's tags) and ``meta["changed"]``.
    Tagging outputs carry ``tags`` only when they are right by construction (set ``labels_outputs =
    True``); otherwise leave them empty for a labeler or a ``replaced_tags`` policy. ``setup`` loads
    models. ``self.stats`` (a dict of counters) is merged into the stage report.
    """

    kind = "generator"
    inputs = {"corpus": InputSpec("corpus", many=True, help="examples to augment")}
    #: True when the generator's outputs carry correct labels by construction (e.g. mention replacement);
    #: False (the default) when the words it put in still need labels (a labeler or a replaced_tags policy)
    labels_outputs: ClassVar[bool] = False
    #: False for a generator whose outputs keep their input's text on purpose (one that only adds to an
    #: example, like add-back-translation): its outputs are not dropped as copies of their input
    changes_text: ClassVar[bool] = True

    def __init__(self, params: Params | None = None, **kwargs: Any):
        super().__init__(params, **kwargs)
        self.stats: dict[str, int] = {}
        self._ready = False

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        """Load models on ``device``. Called once before the first batch; default does nothing."""

    def ensure_setup(self, device: str = "cpu", precision: str = "auto") -> None:
        if not self._ready:
            from .environment import pick_device

            self.setup(device=pick_device(device), precision=precision)
            self._ready = True

    def fit(self, examples: Iterable[Example]) -> None:
        """See the whole input once before the first batch: in a stage every process gets all of it (not
        only its shard), and ``augkit.augment`` passes what it was given. For generators that draw on the
        corpus's own statistics (Dai & Adel's tag-conditioned word distribution, a mention pool); what
        they build must not depend on the order of the examples. Default does nothing."""

    def count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def augment_batch(self, examples: Sequence[Example], *, seed: int) -> list[Example]:
        raise NotImplementedError

    def run_stage(self, ctx: StageContext) -> dict[str, Any]:
        from .generation import run_generator_stage

        options = build_params(StageOptions, ctx.options, where=f"stages.{ctx.name}.options")
        return run_generator_stage(self, ctx, options)


class Labeler(Component):
    """Predicts labels with a task model.

    ``label(corpus, model)`` returns a new corpus whose examples carry ``probs`` (a distribution per
    word for tagging, one row for pairs, columns in ``corpus.labels`` order) and the arg-max pseudo
    labels in ``tags``/``label``. ``model`` is a model folder or an already loaded model object.
    """

    kind = "labeler"
    inputs = {"corpus": InputSpec("corpus"), "model": InputSpec("model")}
    #: True for the labeler ``label_with`` uses when none is named (one installed labeler may say so;
    #: with several claiming it, the user names one)
    default: ClassVar[bool] = False

    def label(self, corpus: Corpus, model: Any) -> Corpus:
        raise NotImplementedError


@dataclasses.dataclass
class FilterResult:
    """What a filter kept, and a short report (``kept``/``total`` and any notes)."""

    corpus: Corpus
    kept: int
    total: int
    notes: list[str] = dataclasses.field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {"kept": self.kept, "total": self.total, "notes": list(self.notes)}


class Filter(Component):
    """Selects examples. ``filter(*corpora)`` takes ``n_inputs`` corpora and returns a FilterResult.

    Single-input filters (distillers) score and keep; multi-input filters (agreement) compare corpora
    whose examples share ids. Filters never change example text.
    """

    kind = "filter"
    n_inputs: ClassVar[int] = 1
    inputs = {"corpus": InputSpec("corpus", many=True)}

    def filter(self, *corpora: Corpus) -> FilterResult:
        raise NotImplementedError

    def run_stage(self, ctx: StageContext) -> dict[str, Any]:
        corpora = ctx.inputs["corpus"]  # a many=True input: always a list
        if len(corpora) != self.n_inputs:
            from .errors import RunError

            raise RunError(
                f"stage {ctx.name!r}: {self.display_name()} takes {self.n_inputs} input corpora, got {len(corpora)}"
            )
        result = self.filter(*corpora)
        result.corpus.save(ctx.out_dir / "data")
        return result.report()


class Distiller(Filter):
    """A filter that keeps the pseudo-labelled examples of one corpus whose labels it trusts (MultiMix's
    distillation: by confidence, or by a mixture over per-example loss). ``threshold`` names the parameter
    that sets how much it keeps: a schedule (co-teaching's per-epoch ``eta``) sets that parameter and no
    other, and it is validated against the distiller's own ``Params``. Examples carry ``probs`` (run a
    labeler first)."""

    n_inputs: ClassVar[int] = 1
    #: the ``Params`` field a schedule sets (e.g. ``"eta"``, the share kept; ``"posterior_threshold"``)
    threshold: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if cls.n_inputs != 1:
            raise TypeError(f"{cls.__name__}: a distiller selects from one corpus (n_inputs = 1)")
        if cls.threshold and cls.threshold not in {f.name for f in dataclasses.fields(cls.Params)}:
            raise TypeError(
                f"{cls.__name__}.threshold = {cls.threshold!r} is not one of its parameters "
                f"({', '.join(f.name for f in dataclasses.fields(cls.Params)) or 'none'})"
            )

    def filter(self, corpus: Corpus) -> FilterResult:  # type: ignore[override]
        raise NotImplementedError


class Trainer(Component):
    """Trains task models. ``run_stage`` reads ``ctx.inputs``, writes model folders under ``ctx.out_dir``
    (Hugging Face layout, safetensors) and a ``ModelSet`` (``models.json``) naming them, and returns
    stats (scores, selected checkpoints). Build it on ``augkit.tasks`` (``train_model``, or
    ``build_trainer`` + ``run_training``): that gives precision, device, hooks, dev selection, progress
    and loss logging, and ``torchrun``/``accelerate launch`` data parallelism when the trainer sets
    ``supports_distributed = True`` and runs on every rank (writing on rank 0, with
    ``augkit.distributed.barrier()`` before other ranks read what rank 0 wrote).
    ``hooks`` holds the TrainerHook instances the recipe attached to the stage.
    """

    kind = "trainer"

    def __init__(self, params: Params | None = None, hooks: Sequence["TrainerHook"] = (), **kwargs: Any):
        super().__init__(params, **kwargs)
        self.hooks = list(hooks)


class TrainerHook(Component):
    """Changes how a trainer trains without subclassing it.

    ``extra_loss(model=, inputs=, outputs=, labels=)`` returns a tensor added to the loss (and logged
    under the hook's name), or None. ``callbacks()`` returns ``transformers.TrainerCallback`` objects
    that are attached to every training the stage runs. Trainers built on ``augkit.tasks`` honour both;
    hooks may ignore arguments they do not need.
    """

    kind = "trainer_hook"

    def extra_loss(self, *, model: Any, inputs: Any, outputs: Any, labels: Any) -> Any:
        return None

    def callbacks(self) -> list[Any]:
        return []


class Analyzer(Component):
    """Measures models on data without changing either (a recipe's ``analyze`` stage).

    ``run_stage(ctx)`` reads its declared ``inputs`` (models as ``ModelSet``s, data as ``Corpus``), writes
    its results (JSON, CSV, plots) into ``ctx.out_dir`` and returns a few numbers as stats. Its output is
    for people and for the report (contribute a section through the ``report_sections`` hook), not an
    input of later stages. Write each result atomically and skip what a resumed stage already wrote.
    """

    kind = "analyzer"


class Reader(Component):
    """Reads a file (or a dataset id) into examples. Raise ``DataError`` naming file and line."""

    kind = "reader"
    #: file suffixes this reader handles, for format detection (``augkit augment`` without --format)
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: False when ``source`` is not a file (a dataset id): recipes then do not check that it exists
    reads_files: ClassVar[bool] = True
    #: True: a missing file is reported when the run reads it (still before any stage runs), not when
    #: the recipe is validated — for readers whose full-size recipes name data a user fetches separately
    checked_when_read: ClassVar[bool] = False

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        raise NotImplementedError


class Writer(Component):
    """Writes examples to a file in the format its reader reads back."""

    kind = "writer"
    suffixes: ClassVar[tuple[str, ...]] = ()

    def write(self, examples: Iterable[Example], path: str | Path) -> int:
        """Write ``examples`` to ``path`` atomically; return how many were written."""
        raise NotImplementedError


COMPONENT_KINDS = {
    "generator": Generator,
    "labeler": Labeler,
    "filter": Filter,
    "trainer": Trainer,
    "trainer_hook": TrainerHook,
    "analyzer": Analyzer,
    "reader": Reader,
    "writer": Writer,
}
