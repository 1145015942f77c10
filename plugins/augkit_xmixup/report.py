"""X-Mixup's report sections: results beside the baseline, and the training curves (loss terms over
steps, the distribution of the mixup ratio λ, the scheduled-sampling probability p*)."""

from __future__ import annotations

import json

from augkit import ReportFigure, ReportSection, ReportTable, figure_png, hookimpl, metric_name, pyplot
from augkit import format_mean_std as _ms
from augkit import format_score as _pct

from .trainer import XMixupTrainer

LOSS_TERMS = ("loss", "loss_source", "loss_target", "mse", "kl")


def _curves(stage) -> dict[str, list[dict]]:
    folder = stage.folder / "curves"
    out = {}
    for f in sorted(folder.glob("*.jsonl")) if folder.exists() else []:
        out[f.stem] = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


@hookimpl
def report_sections(run):
    plt = pyplot()
    sections = []
    for stage in run.stages_of(XMixupTrainer):
        results = stage.read_json("results.json")
        if results is not None:
            base = results.get("baseline") or {}
            alone = all("target_only_mean" in e for e in results["languages"].values())
            rows = [
                [lang, " ".join(_pct(s) for s in e["models"]), _ms(e)]
                + ([_ms({"mean": e["target_only_mean"], "std": e["target_only_std"]})] if alone else [])
                + [_ms(base.get(lang)), e.get("n", "-")]
                for lang, e in results["languages"].items()
            ]
            columns = (
                ["language", "models", "mean ± std"]
                + (["w/o mixup inference"] if alone else [])
                + ["baseline mean ± std", "examples"]
            )
            metric = metric_name(results.get("task"))
            notes = "".join(f"\n\n- {n}" for n in results.get("notes", []))
            title = "X-Mixup results" + (f" ({stage.name})" if len(run.stages_of(XMixupTrainer)) > 1 else "")
            sections.append(
                ReportSection(
                    title,
                    f"Target-language {metric} × 100 on test, mixup layer {results.get('mixup_layer')}; "
                    "the baseline is the same training without mixup (translate-train)."
                    + (
                        ' "w/o mixup inference": the same models on the target text alone (the paper\'s ablation; '
                        "what mixing in the translate-test text adds at inference)."
                        if alone
                        else ""
                    )
                    + notes,
                    [ReportTable(columns, rows, caption=f"X-Mixup results ({metric} x 100)")],
                    order=11,
                    terminal=True,
                )
            )
        curves = {k: v for k, v in _curves(stage).items() if v}
        if not curves:
            if results is None:
                sections.append(
                    ReportSection(f"X-Mixup training ({stage.name})", "Not started: no training curves yet.", order=35)
                )
            continue
        figures = []
        mixup = {k: v for k, v in curves.items() if not k.startswith("baseline")} or curves

        def series(key: str) -> dict[str, list[tuple]]:
            return {
                name: pts
                for name, rows in mixup.items()
                if (pts := [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))])
            }

        def constant(by_run: dict[str, list[tuple]]) -> float | None:
            values = {v for pts in by_run.values() for _, v in pts}
            return values.pop() if len(values) == 1 else None

        terms = {term: series(term) for term in LOSS_TERMS}
        flat = {term: constant(pts) for term, pts in terms.items() if pts and constant(pts) is not None}
        drawn = [term for term, pts in terms.items() if pts and term not in flat]  # a flat line is said, not drawn
        if drawn:
            fig, axes = plt.subplots(1, len(drawn), figsize=(3.2 * len(drawn), 2.8), squeeze=False)
            for ax, term in zip(axes[0], drawn):
                for name, pts in terms[term].items():
                    ax.plot(*zip(*pts), label=name, linewidth=1)
                ax.set_title(term)
                ax.set_xlabel("step")
            axes[0][0].legend(fontsize=7)
            fig.tight_layout()
            figures.append(ReportFigure("loss terms over training steps", figure_png(fig)))
        lams = [v for pts in series("lambda_mean").values() for _, v in pts]
        p_star = series("p_star")
        p_flat = constant(p_star) if p_star else None
        panels = (["lambda"] if lams and len(set(lams)) > 1 else []) + (["p_star"] if p_star and p_flat is None else [])
        if panels:
            fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3), squeeze=False)
            for ax, panel in zip(axes[0], panels):
                if panel == "lambda":
                    ax.hist(lams, bins=30, color="C2")
                    ax.set_title("λ over training (batch means)")
                    ax.set_xlabel("λ")
                else:
                    for name, pts in p_star.items():
                        ax.plot(*zip(*pts), label=name, linewidth=1)
                    ax.set_title("scheduled sampling p* (share of real translations)")
                    ax.set_xlabel("step")
                    ax.set_ylim(0, 1.05)
            fig.tight_layout()
            figures.append(
                ReportFigure(
                    " and ".join({"lambda": "λ distribution", "p_star": "p*"}[p] for p in panels), figure_png(fig)
                )
            )
        text = (
            f"{len(mixup)} X-Mixup trainings; {sum(len(v) for v in mixup.values())} logged steps. λ: mean "
            f"{sum(lams) / len(lams):.3f}, range {min(lams):.3f}–{max(lams):.3f}."
            if lams
            else ""
        )
        if flat:
            text += " Constant over training (not drawn): " + ", ".join(f"{t} = {v:g}" for t, v in flat.items()) + "."
        if p_flat is not None:
            text += f" p* stayed at {p_flat:g}" + (
                ": scheduled sampling was off (no back-translations, or switched off)." if p_flat == 1 else "."
            )
        if results is None:
            text += " The stage has not finished: the curves so far are shown; the results are missing."
        sections.append(ReportSection(f"X-Mixup training ({stage.name})", text, figures=figures, order=35))
    return sections
