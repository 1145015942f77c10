"""The analyzers' report sections. ``cka``: mean CKA per model and language, CKA over layers, and each
model's heatmap, centroid PCA and sentence scatter (the PNGs the stage wrote). ``compare``: the arms'
target-language scores side by side, their gains, and a bar chart."""

from __future__ import annotations

from augkit import ReportFigure, ReportSection, ReportTable, figure_png, format_mean_std, format_score, hookimpl, pyplot

from .compare import CompareAnalyzer
from .stage import CkaAnalyzer

MAX_MODEL_FIGURES = 3


@hookimpl
def report_sections(run):
    return _compare_sections(run) + _cka_sections(run)


def _compare_sections(run) -> list[ReportSection]:
    sections = []
    for stage in run.stages_of(CompareAnalyzer):
        result = stage.read_json("comparison.json")
        if result is None:
            sections.append(ReportSection(f"Comparison ({stage.name})", "Not finished: no comparison yet.", order=5))
            continue
        langs, arms, metric = result["languages"], result["arms"], result["metric"]
        name = result.get("title") or stage.name
        title = f"Comparison: {name}"
        kept = set(run.results.get("from_earlier_run") or [])
        rows = [
            [
                arm,
                *[format_mean_std(a["languages"].get(lang)) for lang in langs],
                format_mean_std(a["average"]),
                a["stage"] + (" (earlier run)" if a["stage"] in kept else ""),
            ]
            for arm, a in arms.items()
        ]
        headers = []
        for lang in langs:  # the test set's size beside its scores (when every arm scored the same set)
            sizes = {a["languages"][lang].get("examples") for a in arms.values() if lang in a["languages"]}
            headers.append(f"{lang} (n={sizes.pop()})" if len(sizes) == 1 and None not in sizes else lang)
        tables = [
            ReportTable(
                ["arm", *headers, "average", "stage"],
                rows,
                caption=f"{name}: target-language test {metric} x 100, mean ± std over models",
                terminal_columns=["arm", *headers, "average"],
            )
        ]
        if result["gains"]:
            tables.append(
                ReportTable(
                    ["method", "over", "gain", "spread", "clear"],
                    [
                        [
                            g["method"],
                            g["baseline"],
                            f"{100 * g['gap']:+.1f}",
                            format_score(g["spread"]),
                            "yes" if g["clear"] else "no",
                        ]
                        for g in result["gains"]
                    ],
                    caption=f"{name}: gain = difference of the averages; spread = the larger std over models; "
                    "clear: gain > spread",
                )
            )
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(arms) * (len(langs) + 1) / 2, 3))
        groups = [*langs, "average"]
        width = 0.8 / max(1, len(arms))
        for i, (arm, a) in enumerate(arms.items()):
            entries = [a["languages"].get(lang) for lang in langs] + [a["average"]]
            xs = [g + (i - (len(arms) - 1) / 2) * width for g in range(len(groups))]
            ax.bar(
                xs,
                [100 * e["mean"] if e else 0 for e in entries],
                width,
                yerr=[100 * e["std"] if e else 0 for e in entries],
                capsize=2,
                label=arm,
            )
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel(f"{metric} x 100")
        ax.legend(fontsize=7, ncols=len(arms), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
        text = (
            f"Target-language test {metric} (× 100) of each arm: mean ± std over its models (each trained with "
            "its own seed); the average is over languages, per model."
        )
        sections.append(
            ReportSection(title, text, tables, [ReportFigure(title, figure_png(fig))], order=5, terminal=True)
        )
    return sections


def _cka_sections(run) -> list[ReportSection]:
    sections = []
    for stage in run.stages_of(CkaAnalyzer):
        summary = stage.read_json("cka.json")
        if summary is None or not summary.get("models"):
            sections.append(
                ReportSection(
                    f"Representation similarity ({stage.name})", "Not finished: no CKA results yet.", order=40
                )
            )
            continue
        models = summary["models"]
        langs = summary["languages"]
        n_layers = max(len(m["layers"]) for m in models.values())
        rows = [
            [
                name,
                lang,
                m["sentences"][lang],
                f"{m['mean_over_layers'][lang]:.3f}",
                *[f"{v:.3f}" for v in m["cka"][lang]],
            ]
            for name, m in models.items()
            for lang in langs
            if lang in m["cka"]
        ]
        table = ReportTable(
            ["model", "language", "sentences", "mean", *[f"L{k}" for k in range(n_layers)]],
            rows,
            caption="linear CKA, source vs target (layer 0 = embeddings)",
            terminal_columns=["model", "language", "sentences", "mean"],
        )
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 3.2))
        for name, m in models.items():
            for lang in langs:
                if lang in m["cka"]:
                    ax.plot(m["layers"], m["cka"][lang], marker="o", markersize=3, label=f"{name} {lang}")
        ax.set_xlabel("layer (0 = embeddings)")
        ax.set_ylabel("linear CKA")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
        figures = [
            ReportFigure(
                "CKA over layers",
                figure_png(fig),
                "higher: the model puts a sentence and its translation closer together",
            )
        ]
        for name, m in list(models.items())[:MAX_MODEL_FIGURES]:
            for file, title in (
                ("cka_heatmap.png", "CKA heatmap"),
                ("centroids_pca.png", "language centroids"),
                ("scatter.png", "sentence scatter"),
            ):
                path = stage.folder / m["folder"] / file
                if path.is_file():
                    figures.append(ReportFigure(f"{name}: {title}", path.read_bytes()))
        text = (
            f"How close each model puts parallel source and target sentences (mean-pooled, linear CKA per "
            f"layer), on {', '.join(langs)}; {len(models)} model(s)."
        )
        if len(models) > MAX_MODEL_FIGURES:
            text += f" Plots of the first {MAX_MODEL_FIGURES} models are shown; all are in the stage folder."
        if not stage.done:
            text += " The stage has not finished: the models measured so far are shown."
        sections.append(
            ReportSection(f"Representation similarity ({stage.name})", text, [table], figures, order=40, terminal=True)
        )
    return sections
