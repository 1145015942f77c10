"""The ``cka`` analyzer's report section: mean CKA per model and language, CKA over layers, and each
model's heatmap, centroid PCA and sentence scatter (the PNGs the stage wrote)."""
from __future__ import annotations

from augkit import ReportFigure, ReportSection, ReportTable, figure_png, hookimpl, pyplot

from .stage import CkaAnalyzer

MAX_MODEL_FIGURES = 3


@hookimpl
def report_sections(run):
    sections = []
    for stage in run.stages_of(CkaAnalyzer):
        summary = stage.read_json("cka.json")
        if summary is None or not summary.get("models"):
            sections.append(ReportSection(f"Representation similarity ({stage.name})",
                                          "Not finished: no CKA results yet.", order=40))
            continue
        models = summary["models"]
        langs = summary["languages"]
        n_layers = max(len(m["layers"]) for m in models.values())
        rows = [[name, lang, m["sentences"][lang], f"{m['mean_over_layers'][lang]:.3f}",
                 *[f"{v:.3f}" for v in m["cka"][lang]]] for name, m in models.items() for lang in langs
                if lang in m["cka"]]
        table = ReportTable(["model", "language", "sentences", "mean", *[f"L{k}" for k in range(n_layers)]], rows,
                            caption="linear CKA, source vs target (layer 0 = embeddings)",
                            terminal_columns=["model", "language", "sentences", "mean"])
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
        figures = [ReportFigure("CKA over layers", figure_png(fig),
                                "higher: the model puts a sentence and its translation closer together")]
        for name, m in list(models.items())[:MAX_MODEL_FIGURES]:
            for file, title in (("cka_heatmap.png", "CKA heatmap"), ("centroids_pca.png", "language centroids"),
                                ("scatter.png", "sentence scatter")):
                path = stage.folder / m["folder"] / file
                if path.is_file():
                    figures.append(ReportFigure(f"{name}: {title}", path.read_bytes()))
        text = (f"How close each model puts parallel source and target sentences (mean-pooled, linear CKA per "
                f"layer), on {', '.join(langs)}; {len(models)} model(s).")
        if len(models) > MAX_MODEL_FIGURES:
            text += f" Plots of the first {MAX_MODEL_FIGURES} models are shown; all are in the stage folder."
        if not stage.done:
            text += " The stage has not finished: the models measured so far are shown."
        sections.append(ReportSection(f"Representation similarity ({stage.name})", text, [table], figures,
                                      order=40, terminal=True))
    return sections
