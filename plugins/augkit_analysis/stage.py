"""The ``cka`` analyzer: ``augkit analyze cka`` as a recipe stage, so the analysis lands in the run report.

Inputs: ``model`` (one or more trainer stages, or model ids/folders) and ``data`` (parallel corpora, one
per target language, as the ``parallel`` reader gives them). Every chosen model is measured on every
corpus; each model's results go to ``models/<name>/`` (``cka.json``, ``cka.csv`` and the plots, written
by ``write_outputs``) and ``cka.json`` in the stage folder gathers them. A resumed stage skips the
models whose results are complete.
"""

from __future__ import annotations

import dataclasses
import json
import re

from augkit import Analyzer, DataError, InputSpec, Params, atomic_write_json, param

from .analyze import analyze_cka, write_outputs


@dataclasses.dataclass
class CkaParams(Params):
    models: str = param(
        "selected",
        choices=("selected", "all"),
        help="of each model input: its selected model, or every model it offers",
    )
    batch_size: int = param(32, ge=1, help="sentences per forward pass")
    max_length: int = param(128, ge=8, help="subword tokens per sentence")
    layer: int | None = param(None, ge=0, help="layer of the centroid and scatter plots (default: the last)")
    scatter_samples: int = param(200, ge=1, help="sentences per language in the scatter plot")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "model"


class CkaAnalyzer(Analyzer):
    """Linear CKA between parallel source and target sentences, per layer and language, for each model."""

    name = "cka"
    Params = CkaParams
    params: CkaParams
    inputs = {
        "model": InputSpec("model", many=True, help="models to measure (trainer stages or model ids/folders)"),
        "data": InputSpec("corpus", many=True, help="parallel corpora, one per target language"),
    }

    def _models(self, model_sets) -> list[tuple[str, str]]:
        chosen = []
        for ms in model_sets:
            prefix = ms.folder.name.split("-", 1)[-1] if ms.folder is not None else ""
            entries = list(ms) if self.params.models == "all" else [ms.best]
            for entry in entries:
                chosen.append((f"{prefix}/{entry.name}" if prefix else entry.name, entry.path))
        names = [n for n, _ in chosen]
        if len(set(names)) != len(names):
            raise DataError(f"inputs.model: two models are called the same ({', '.join(names)})")
        return chosen

    def preflight(self, inputs):
        for corpus in inputs.get("data") or []:
            first = next(iter(corpus), None) if corpus is not None else None
            if first is not None and not (first.meta.get("parallel") or {}).get("source"):
                raise DataError(
                    f"inputs.data: {corpus.name!r} holds no source side to compare with (example "
                    f'{first.id!r}); CKA needs parallel data, e.g. format = "parallel"'
                )

    def run_stage(self, ctx):
        p = self.params
        model_sets, corpora = ctx.inputs["model"], ctx.inputs["data"]
        data = {}
        for corpus in corpora:
            langs = sorted({ex.lang for ex in corpus})
            if len(langs) != 1:
                raise DataError(
                    f"inputs.data: corpus {corpus.name!r} holds languages {langs}; give one corpus per target language"
                )
            if langs[0] in data:
                raise DataError(f"inputs.data: two corpora are in {langs[0]!r}; give one corpus per target language")
            data[langs[0]] = corpus
        summary = {"languages": list(data), "models": {}}
        stats = {}
        for name, path in self._models(model_sets):
            folder = ctx.out_dir / "models" / _safe(name)
            done = folder / "cka.json"
            if done.is_file():
                result = json.loads(done.read_text(encoding="utf-8"))
            else:
                res = analyze_cka(
                    path,
                    {lang: iter(c) for lang, c in data.items()},
                    batch_size=p.batch_size,
                    max_length=p.max_length,
                    device=ctx.device,
                    plot_layer=p.layer,
                    scatter_samples=p.scatter_samples,
                    seed=ctx.seed,
                )
                write_outputs(res, folder)
                result = res.to_json()
            summary["models"][name] = {**result, "folder": str(folder.relative_to(ctx.out_dir))}
            for lang, mean in result["mean_over_layers"].items():
                stats[f"{name}/{lang}_mean_cka"] = round(mean, 4)
            ctx.log.info("CKA %s: %s", name, ", ".join(f"{l} {v:.3f}" for l, v in result["mean_over_layers"].items()))
        atomic_write_json(ctx.out_dir / "cka.json", summary)
        return stats
