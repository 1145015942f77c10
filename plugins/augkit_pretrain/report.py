"""The pretraining stage's report section: what the masked LM was trained on, its size, the masked-word
accuracy on held-out sentences before and after, and the loss over steps."""

from __future__ import annotations

from augkit import ReportFigure, ReportSection, ReportTable, figure_png, hookimpl, pyplot

from .trainer import PretrainTrainer


@hookimpl
def report_sections(run):
    sections = []
    for stage in run.stages_of(PretrainTrainer):
        report = stage.read_json("train_report.json")
        title = f"Pretraining ({stage.name})"
        if report is None:
            sections.append(ReportSection(title, "Not finished: no pretrained model yet.", order=5))
            continue
        before, after = report.get("held_out_before") or {}, report.get("held_out_after") or {}
        acc = lambda d: f"{d['masked_accuracy']:.3f}" if d else "-"
        loss = lambda d: f"{d['loss']:.3f}" if d else "-"
        table = ReportTable(
            ["", "masked-word accuracy", "loss"],
            [["before", acc(before), loss(before)], ["after", acc(after), loss(after)]],
            caption=f"held-out sentences ({report.get('held_out', 0)})",
        )
        text = (
            f"A masked LM ({report.get('parameters', 0):,} parameters, vocabulary {report.get('vocab_size')}) "
            f"from {report.get('started_from')}, {report.get('steps')} steps on {report.get('sentences')} "
            f"sentences in {', '.join(report.get('languages', []))}."
        )
        figures = []
        points = [(r["step"], r["loss"]) for r in report.get("log", []) if "loss" in r]
        if points:
            plt = pyplot()
            fig, ax = plt.subplots(figsize=(5, 2.6))
            ax.plot(*zip(*points), linewidth=1)
            ax.set_xlabel("step")
            ax.set_ylabel("MLM loss")
            figures.append(ReportFigure("pretraining loss", figure_png(fig)))
        sections.append(ReportSection(title, text, [table], figures, order=5))
    return sections
