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
            rows = [[lang, " ".join(_pct(s) for s in e["models"]), _ms(e)]
                    + ([_ms({"mean": e["target_only_mean"], "std": e["target_only_std"]})] if alone else [])
                    + [_ms(base.get(lang))] for lang, e in results["languages"].items()]
            columns = ["language", "models", "mean ± std"] + (["w/o mixup inference"] if alone else []) \
                + ["baseline mean ± std"]
            metric = metric_name(results.get("task"))
            notes = "".join(f"\n\n- {n}" for n in results.get("notes", []))
            title = "X-Mixup results" + (f" ({stage.name})" if len(run.stages_of(XMixupTrainer)) > 1 else "")
            sections.append(ReportSection(
                title, f"Target-language {metric} × 100 on test, mixup layer {results.get('mixup_layer')}; "
                "the baseline is the same training without mixup (translate-train)."
                + (" \"w/o mixup inference\": the same models on the target text alone (the paper's ablation; "
                   "what mixing in the translate-test text adds at inference)." if alone else "") + notes,
                [ReportTable(columns, rows,
                             caption=f"X-Mixup results ({metric} x 100)")], order=11, terminal=True))
        curves = {k: v for k, v in _curves(stage).items() if v}
        if not curves:
            if results is None:
                sections.append(ReportSection(f"X-Mixup training ({stage.name})", "Not started: no training curves "
                                              "yet.", order=35))
            continue
        figures = []
        mixup = {k: v for k, v in curves.items() if not k.startswith("baseline")} or curves
        fig, axes = plt.subplots(1, len(LOSS_TERMS), figsize=(3.2 * len(LOSS_TERMS), 2.8), squeeze=False)
        for ax, term in zip(axes[0], LOSS_TERMS):
            for name, rows in mixup.items():
                pts = [(r["step"], r[term]) for r in rows if isinstance(r.get(term), (int, float))]
                if pts:
                    ax.plot(*zip(*pts), label=name, linewidth=1)
            ax.set_title(term)
            ax.set_xlabel("step")
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        figures.append(ReportFigure("loss terms over training steps", figure_png(fig)))
        lams = [r["lambda_mean"] for rows in mixup.values() for r in rows if isinstance(r.get("lambda_mean"), (int, float))]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3))
        if lams:
            a1.hist(lams, bins=30, color="C2")
        a1.set_title("λ over training (batch means)")
        a1.set_xlabel("λ")
        for name, rows in mixup.items():
            pts = [(r["step"], r["p_star"]) for r in rows if isinstance(r.get("p_star"), (int, float))]
            if pts:
                a2.plot(*zip(*pts), label=name, linewidth=1)
        a2.set_title("scheduled sampling p* (share of real translations)")
        a2.set_xlabel("step")
        a2.set_ylim(0, 1.05)
        fig.tight_layout()
        figures.append(ReportFigure("λ distribution and p*", figure_png(fig)))
        text = (f"{len(mixup)} X-Mixup trainings; {sum(len(v) for v in mixup.values())} logged steps. λ: mean "
                f"{sum(lams) / len(lams):.3f}, range {min(lams):.3f}–{max(lams):.3f}." if lams else "")
        if results is None:
            text += " The stage has not finished: the curves so far are shown; the results are missing."
        sections.append(ReportSection(f"X-Mixup training ({stage.name})", text, figures=figures, order=35))
    return sections
