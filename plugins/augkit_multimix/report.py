"""MultiMix's report sections: zero-shot baseline, final results beside it, the co-teaching epochs (target
dev per model, what distillation and agreement kept), from the stages' artefacts alone."""

from __future__ import annotations

import json

from augkit import ReportFigure, ReportSection, ReportTable, figure_png, hookimpl, metric_name, pyplot
from augkit import format_mean_std as mean_std
from augkit import format_score as pct

from .coteach import CoTeachingTrainer
from .warmup import WarmupTrainer


def _warmup_sections(stage) -> list[ReportSection]:
    w = stage.read_json("warmup.json")
    if w is None:
        return [ReportSection(f"Warm-up ({stage.name})", "Not finished: no `warmup.json` yet.", order=20)]
    rows = [
        [lang, " ".join(pct(s) for s in e["models"]), mean_std(e), pct(e.get("ensemble")), e.get("n", "-")]
        for lang, e in (w.get("zero_shot_test") or {}).items()
    ]
    text = (
        f"{len(w['models'])} {w['task']} models warmed up on the source language with the confidence penalty; "
        f"source dev per model: {', '.join(pct(s) for s in w['source_dev'])} (× 100)."
    )
    return [
        ReportSection(
            f"Zero-shot baseline ({stage.name})",
            text,
            [
                ReportTable(
                    ["language", "models (test)", "mean ± std", "ensemble", "examples"],
                    rows,
                    caption="zero-shot: warm-up models on target test (× 100)",
                )
            ],
            order=12,
        )
    ]


def _zero_shot(run, stage) -> dict:
    """The zero-shot scores of the warm-up stage whose models the co-teaching stage started from."""
    spec: dict = next((s for s in run.recipe.get("stages", []) if s.get("name") == stage.name), {})
    start = (spec.get("inputs") or {}).get("models")
    for st in run.stages_of(WarmupTrainer):
        if start is not None and st.name != start:
            continue
        w = st.read_json("warmup.json")
        if w:
            return w.get("zero_shot_test") or {}
    return {}


def _epochs(stage) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for lang_dir in (
        sorted(p for p in stage.folder.iterdir() if p.is_dir() and (p / "epoch-1").exists())
        if stage.folder.exists()
        else []
    ):
        reports = []
        e = 1
        while (lang_dir / f"epoch-{e}" / "report.json").is_file():
            reports.append(json.loads((lang_dir / f"epoch-{e}" / "report.json").read_text()))
            e += 1
        if reports:  # a language whose first epoch has not finished has nothing to show yet
            out[lang_dir.name] = reports
    return out


def _coteach_sections(stage, run) -> list[ReportSection]:
    plt = pyplot()
    sections = []
    results = stage.read_json("results.json")
    zero = _zero_shot(run, stage)
    if results is not None:
        rows = []
        for lang, entry in results["languages"].items():
            for split in ("dev", "test"):
                if split in entry:
                    r = entry[split]
                    z = zero.get(lang) if split == "test" else None
                    rows.append(
                        [
                            lang,
                            split,
                            " ".join(pct(s) for s in r["models"]),
                            mean_std(r),
                            pct(r["ensemble"]),
                            mean_std(z) if z else "-",
                            r.get("n", "-"),
                        ]
                    )
        metric = metric_name(results.get("task"))
        title = "MultiMix results" + (f" ({stage.name})" if len(run.stages_of(CoTeachingTrainer)) > 1 else "")
        sections.append(
            ReportSection(
                title,
                f"Target-language {metric} × 100 of the final co-teaching models, beside the zero-shot warm-up models.",
                [
                    ReportTable(
                        ["language", "set", "models", "mean ± std", "ensemble", "zero-shot mean ± std", "examples"],
                        rows,
                        caption=f"MultiMix results ({metric} x 100)",
                    )
                ],
                order=10,
                terminal=True,
            )
        )
    epochs = _epochs(stage)
    if not epochs:
        if results is None:
            sections.append(
                ReportSection(
                    f"Co-teaching ({stage.name})",
                    "No epoch has finished yet: the results and the epoch curves are missing.",
                    order=30,
                )
            )
        return sections
    planned = len((run.recipe.get("stages", [{}])[stage.index].get("params", {}) or {}).get("eta", [])) or None
    text = []
    fig, axes = plt.subplots(1, len(epochs), figsize=(4.2 * len(epochs), 3.2), squeeze=False)
    rows = []
    for ax, (lang, reports) in zip(axes[0], epochs.items()):
        n_students = max(len(r["students"]) for r in reports)
        for k in range(n_students):
            xs, ys = [], []
            for r in reports:
                st = next((s for s in r["students"] if s["student"] == k), None)
                if st is None:
                    continue
                hist = st["train"].get("history") or []
                if r["epoch"] == 1 and hist and hist[0].get("step") == 0:
                    xs.append(0)
                    ys.append(100 * hist[0]["dev"])
                xs.append(r["epoch"])
                ys.append(100 * st["train"]["best_dev"])
                c = st["counts"]
                rows.append([lang, r["epoch"], k, ", ".join(f"{key}={v}" for key, v in c.items())])
            ax.plot(xs, ys, marker="o", label=f"model {k}")
        ax.set_title(f"{lang}: target dev per epoch")
        ax.set_xlabel("epoch (0 = warm-up model)")
        ax.set_ylabel("score × 100")
        ax.legend(fontsize=8)
        if planned and len(reports) < planned:
            text.append(f"`{lang}`: {len(reports)} of {planned} epochs finished; the rest is missing.")
    fig.tight_layout()
    text.insert(
        0,
        "Each student's target-dev score after each epoch (the selected checkpoint; epoch 0 is the "
        "model it started from), and how many pseudo-labelled examples each peer's distiller and the "
        "agreement of the peers kept.",
    )
    sections.append(
        ReportSection(
            f"Co-teaching epochs ({stage.name})",
            "\n\n".join(text),
            [
                ReportTable(
                    ["language", "epoch", "student", "kept (per set)"],
                    rows,
                    caption="counts kept by distillation and agreement",
                )
            ],
            [ReportFigure("target dev per co-teaching epoch", figure_png(fig))],
            order=30,
        )
    )
    return sections


@hookimpl
def report_sections(run):
    sections = []
    for st in run.stages_of(WarmupTrainer):
        sections += _warmup_sections(st)
    for st in run.stages_of(CoTeachingTrainer):
        sections += _coteach_sections(st, run)
    return sections
