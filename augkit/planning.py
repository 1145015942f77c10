"""``augkit plan``: what a recipe will cost before it starts, stage by stage, on the hardware named.

The data is measured where it can be read (examples and mean length in words, after ``fraction`` and
``limit``); otherwise a data entry's documented ``size`` (and ``mean_words``) stands in. Each stage's
component estimates its own work (``Component.estimate(est)`` returning a ``augkit.costs.StageCost``) from
its inputs' sizes — data entries, or what earlier stages' estimates say they write — and the hardware;
a component without an estimate is listed as such. Totals add the stages up.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .costs import DataSize, Hardware, Models, ModelShape, StageCost, model_shape


@dataclasses.dataclass
class Estimate:
    """What ``Component.estimate`` sees: the stage's inputs as sizes (``DataSize``, ``Models``, or lists of
    them, like ``StageContext.inputs``), the hardware, and a model-shape lookup."""

    stage: str
    hw: Hardware
    inputs: dict[str, Any]
    stage_models: dict[str, Models] = dataclasses.field(default_factory=dict)

    def model(self, ref: str) -> ModelShape | None:
        """The shape of ``ref``: a model id or folder, or ``stage:NAME`` (the models that stage trains)."""
        ref = str(ref)
        if ref.startswith("stage:"):
            found = self.stage_models.get(ref[len("stage:") :])
            return found.shape if found else None
        return model_shape(ref)

    def size(self, name: str) -> DataSize:
        """Input ``name`` as one size (several corpora: summed, their lengths averaged by examples)."""
        return total_size(self.inputs.get(name))


def total_size(value: Any) -> DataSize:
    items = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, DataSize)]
    n = sum(d.examples for d in items)
    words = sum(d.examples * d.words for d in items) / n if n else 0.0
    source = (
        "unknown"
        if any(d.source == "unknown" for d in items) or not items
        else ("documented" if any(d.source == "documented" for d in items) else "counted")
    )
    return DataSize(n, words, source, next((d.kind for d in items if d.kind), ""))


def example_words(ex) -> int:
    """Words of an example's text fields (what its model input is made of)."""
    if ex.type == "tagging":
        return len(ex.tokens)
    if ex.type == "pair":
        return len((ex.text_a or "").split()) + len((ex.text_b or "").split())
    return len((ex.question or "").split()) + len((ex.context or "").split())


def measure_data(spec, pm, raw_entry: dict | None = None) -> DataSize:
    """A data entry's size: counted from its file when it is here, else the recipe's documented size."""
    raw_entry = raw_entry or {}
    reader_cls = pm.resolve("reader", spec.format)
    readable = getattr(reader_cls, "reads_files", True) and Path(spec.path).is_file()
    if readable:
        import random

        reader = reader_cls(**spec.reader_params)
        rng = random.Random(spec.fraction_seed)
        n = words = 0
        kind = ""
        for ex in reader.read(spec.path, lang=spec.lang, name=spec.name):
            kind = ex.type
            if spec.fraction < 1.0 and rng.random() >= spec.fraction:
                continue
            n += 1
            words += example_words(ex)
            if spec.limit and n >= spec.limit:
                break
        return DataSize(n, words / n if n else 0.0, "counted", kind)
    size = raw_entry.get("size")
    if isinstance(size, int) and size >= 0:
        n = int(size * spec.fraction)
        n = min(n, spec.limit) if spec.limit else n
        return DataSize(n, float(raw_entry.get("mean_words", 20.0)), "documented", str(raw_entry.get("type", "")))
    return DataSize(0, 0.0, "unknown")


@dataclasses.dataclass
class StagePlan:
    name: str
    component: str
    cost: StageCost | None
    fits: bool = True
    advice: str = ""


@dataclasses.dataclass
class RecipePlan:
    source: str
    hw: Hardware
    data: dict[str, DataSize]
    stages: list[StagePlan]

    @property
    def fits(self) -> bool:
        return all(s.fits for s in self.stages)

    def totals(self) -> dict[str, float]:
        costs = [s.cost for s in self.stages if s.cost is not None]
        flops = sum(c.flops for c in costs)
        seconds = sum(self.stage_seconds(c) for c in costs)
        return {
            "steps": sum(c.steps for c in costs),
            "tokens": sum(c.tokens for c in costs),
            "flops": flops,
            "seconds": seconds,
            "device_hours": seconds * self.hw.processes / 3600,
            "peak_bytes": max((c.peak.total for c in costs), default=0.0),
            "disk_bytes": sum(c.disk_bytes for c in costs),
        }

    def stage_seconds(self, cost: StageCost) -> float:
        return sum(self.hw.seconds(w) for w in cost.work)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.source,
            "hardware": self.hw.describe(),
            "fits": self.fits,
            "totals": self.totals(),
            "data": {k: dataclasses.asdict(v) for k, v in self.data.items()},
            "stages": [
                {
                    "stage": s.name,
                    "component": s.component,
                    "fits": s.fits,
                    "advice": s.advice,
                    **(
                        {
                            "examples": s.cost.examples,
                            "steps": s.cost.steps,
                            "tokens": s.cost.tokens,
                            "flops": s.cost.flops,
                            "seconds": self.stage_seconds(s.cost),
                            "peak": s.cost.peak.to_dict(),
                            "disk_bytes": s.cost.disk_bytes,
                            "work": [
                                dict(
                                    what=w.what,
                                    steps=w.steps,
                                    flops=w.flops,
                                    micro_batch=w.micro_batch,
                                    accumulation=w.accumulation,
                                    peak=w.memory.total,
                                    seconds=self.hw.seconds(w),
                                )
                                for w in s.cost.work
                            ],
                            "notes": s.cost.notes,
                        }
                        if s.cost is not None
                        else {"estimate": None}
                    ),
                }
                for s in self.stages
            ],
        }


def corpus_size(corpus) -> DataSize:
    """The size of a corpus already read (the runner's data)."""
    n = words = 0
    kind = ""
    for ex in corpus:
        n += 1
        words += example_words(ex)
        kind = ex.type
    return DataSize(n, words / n if n else 0.0, "counted", kind)


def plan_recipe(plan, hw: Hardware, pm=None, sizes: dict[str, DataSize] | None = None) -> RecipePlan:
    """Estimate every stage of a validated recipe (``augkit.recipe.Plan``) on ``hw`` (``sizes``: the data
    entries' sizes when they are known already; the others are measured or read from the recipe)."""
    from .plugins import get_plugin_manager

    pm = pm or get_plugin_manager()
    known = sizes or {}
    sizes = {
        name: known[name] if name in known else measure_data(spec, pm, plan.raw.get("data", {}).get(name))
        for name, spec in plan.data.items()
    }
    data = dict(sizes)
    models: dict[str, Models] = {}
    stages = []
    for st in plan.stages:
        inputs: dict[str, Any] = {}
        for key, ref in st.inputs.items():
            refs = ref if isinstance(ref, list) else [ref]
            values = [models[r] if r in models else sizes.get(r, DataSize(0, 0.0, "unknown")) for r in refs]
            inputs[key] = values if st.component_cls.inputs[key].many else values[0]
        component = st.component_cls(st.params, hooks=[]) if st.kind == "train" else st.component_cls(st.params)
        est = Estimate(st.name, hw, inputs, models)
        estimate = getattr(component, "estimate", None)
        cost = estimate(est) if callable(estimate) else None
        fits, advice = True, ""
        if cost is not None:
            if cost.outputs is not None:
                first = next((v for v in inputs.values() if isinstance(v, DataSize)), None)
                sizes[st.name] = DataSize(
                    cost.outputs,
                    first.words if first else 0.0,
                    first.source if first else "unknown",
                    first.kind if first else "",
                )
            if cost.models is not None:
                models[st.name] = cost.models
            fits = cost.peak.total <= 0.92 * hw.memory_bytes
            if not fits:
                advice = cost.advice or "does not fit even one example per device"
        stages.append(StagePlan(st.name, st.component, cost, fits, advice))
    return RecipePlan(plan.source, hw, data, stages)


def _num(x: float, unit: str = "") -> str:
    for div, suffix in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g} {suffix}{unit}".strip()
    return f"{x:.3g} {unit}".strip()


def _gib(x: float) -> str:
    return f"{x / 2**30:.1f} GiB" if x >= 2**30 else f"{x / 2**20:.0f} MiB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def render(rp: RecipePlan, console=None) -> None:
    """The plan as a table (``rich``) with its totals and what to change where a stage does not fit."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    if not (console.is_terminal and console.width >= 120):  # a file or a pipe: never fold the columns
        console = Console(highlight=False, width=150, file=console.file)
    unknown = [k for k, v in rp.data.items() if v.source == "unknown"]
    table = Table(title=f"plan: {rp.source} on {rp.hw.describe()}", title_justify="left")
    for col, just in (
        ("stage", "left"),
        ("component", "left"),
        ("examples", "right"),
        ("steps", "right"),
        ("tokens", "right"),
        ("FLOPs", "right"),
        ("peak / device", "right"),
        ("time", "right"),
        ("disk", "right"),
        ("fits", "left"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]  # "right"/"left" are rich's literals
    for s in rp.stages:
        if s.cost is None:
            table.add_row(s.name, s.component, "", "", "", "", "", "", "", "no estimate")
            continue
        c = s.cost
        micro = next((f" ({w.micro_batch}×{w.accumulation})" for w in c.work if w.steps), "")
        table.add_row(
            s.name,
            s.component,
            f"{c.examples:,}",
            f"{c.steps:,}" if c.steps else "",
            _num(c.tokens),
            _num(c.flops),
            _gib(c.peak.total) + micro,
            _duration(rp.stage_seconds(c)),
            _gib(c.disk_bytes),
            "yes" if s.fits else f"NO: {s.advice}",
        )
    t = rp.totals()
    table.add_row(
        "total",
        "",
        "",
        f"{int(t['steps']):,}",
        _num(t["tokens"]),
        _num(t["flops"]),
        _gib(t["peak_bytes"]),
        _duration(t["seconds"]),
        _gib(t["disk_bytes"]),
        "yes" if rp.fits else "NO",
        end_section=True,
    )
    console.print(table)
    if rp.hw.gpu is not None:
        console.print(
            f"{t['device_hours']:.1f} GPU-hours ({rp.hw.processes} GPU(s) × {_duration(t['seconds'])}); "
            f"time at {rp.hw.utilisation:.0%} of peak.",
            markup=False,
        )
    notes = [f"{s.name}: {n}" for s in rp.stages if s.cost for n in s.cost.notes]
    for n in notes:
        console.print(f"  note: {n}", markup=False)
    if unknown:
        console.print(
            f"  {len(unknown)} data entr{'ies' if len(unknown) > 1 else 'y'} of unknown size (not here "
            f"and no documented `size`): {', '.join(unknown)}; the figures leave them out.",
            markup=False,
        )
