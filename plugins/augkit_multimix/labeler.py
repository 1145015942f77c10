"""The MultiMix labeler: a task model's label distribution for every example, and its pseudo labels.

Columnar throughout: the corpus's Arrow table gets new ``tags``/``label`` and ``probs`` columns built
from one flat NumPy array, so labelling costs little beyond the model's forward passes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from augkit import (
    Corpus,
    InputSpec,
    Labeler,
    ModelSet,
    Params,
    concat,
    param,
    tasks,  # its training and inference names load torch on first use
)
from augkit.tasks import TaskModel, load_task_model, repair_iob


@dataclasses.dataclass
class LabelerParams(Params):
    repair_iob: bool = param(False, help="turn an I-X after O or another type into B-X in pseudo labels")
    max_length: int = param(512, help="model input length (longer sentences are split into windows)", ge=8)
    max_tokens: int = param(16384, help="token budget of one inference batch", ge=64)


def has_masked_samples(table) -> bool:
    """Whether any example keeps its original tags on untouched words (``Example.keep_orig_tags``, set by
    GEN-LM's ``relabel = "masked"``)."""
    import pyarrow.compute as pc

    return bool(pc.any(table.column("keep_orig_tags")).as_py() or False)


def _lists(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32), pa.int32()), values)


class TaskModelLabeler(Labeler):
    """Pseudo labels from a task model: arg-max per word (first subword) or per pair, plus ``probs``.

    Examples with ``keep_orig_tags`` (GEN-LM's ``relabel = "masked"``) keep their original tags on untouched
    words: only their ``replaced`` words take the model's labels.
    """

    name = "multimix-labeler"
    Params = LabelerParams
    params: LabelerParams
    default = True  # what label_with uses when no labeler is named
    example_types = ("tagging", "pair")
    # as a stage, several corpora (e.g. one translation per target language) become one labelled corpus
    inputs = {
        "corpus": InputSpec("corpus", many=True, help="the examples to label (several: concatenated, in order)"),
        "model": InputSpec("model"),
    }

    def label(
        self, corpus: Corpus, model: Any, folder: str | Path | None = None, features=None, device: str = "cpu"
    ) -> Corpus:
        """``model`` is a ``TaskModel``, a saved task-model folder or id, or a ``ModelSet`` (its selected
        model). With ``folder`` the result is also written there (Arrow, atomically). ``features``: the
        corpus already encoded for this tokenizer (labelling one corpus with several models)."""
        tm = model if isinstance(model, TaskModel) else load_task_model(_model_path(model), device=device)
        if tm.task == "qa":
            from augkit import DataError

            raise DataError(f"{self.display_name()} labels tagging and pair examples; this is a QA model")
        p = self.params
        table = corpus.table()
        types = table.column("type").to_pylist()
        if any(t != tm.task for t in types):
            from augkit import DataError

            k = next(i for i, t in enumerate(types) if t != tm.task)
            raise DataError(
                f"{self.display_name()}: example {table.column('id')[k].as_py()!r} is a {types[k]} "
                f"example; the model is a {tm.task} model and labels only {tm.task} examples"
            )
        if tm.task == "tagging":
            import pyarrow.compute as pc

            words = (
                table.column("tokens").to_pylist()
                if features is None
                else pc.list_value_length(table.column("tokens")).to_numpy(zero_copy_only=False).astype(np.int64)
            )
            flat, counts = tasks.predict_flat(
                tm, words=words, max_length=p.max_length, max_tokens=p.max_tokens, features=features
            )
        else:
            flat, counts = tasks.predict_flat(
                tm,
                text_a=[a or "" for a in table.column("text_a").to_pylist()],
                text_b=table.column("text_b").to_pylist(),
                max_length=p.max_length,
                max_tokens=p.max_tokens,
                features=features,
            )
        return self.from_probs(corpus, flat, counts, tm.labels, tm.task, folder)

    def from_probs(
        self,
        corpus: Corpus,
        flat: np.ndarray,
        counts: np.ndarray,
        labels: list[str],
        task: str,
        folder: str | Path | None = None,
    ) -> Corpus:
        """The labelled corpus from label distributions computed elsewhere (``flat``: ``[Σ counts,
        n_labels]``, ``counts``: rows per example — words for tagging, 1 for pairs)."""
        table = corpus.table()
        names = np.asarray(labels, dtype=object)
        if task == "tagging":
            offsets = np.concatenate([[0], np.cumsum(counts)])
            tags = names[flat.argmax(axis=1)] if len(flat) else np.zeros(0, dtype=object)
            tags_col = _lists(offsets, pa.array(tags.tolist(), pa.string()))
            if self.params.repair_iob or has_masked_samples(table):
                tags_col = self._fix_tags(table, tags_col.to_pylist())
            table = table.set_column(table.schema.get_field_index("tags"), "tags", tags_col)
        else:
            offsets = np.arange(len(counts) + 1)
            table = table.set_column(
                table.schema.get_field_index("label"),
                "label",
                pa.array(names[flat.argmax(axis=1)].tolist() if len(flat) else [], pa.string()),
            )
        n_labels = flat.shape[1]
        rows = _lists(np.arange(0, flat.size + 1, n_labels), pa.array(flat.ravel(), pa.float32()))
        table = table.set_column(table.schema.get_field_index("probs"), "probs", _lists(offsets, rows))
        out = Corpus.from_table(table, labels=labels, name=corpus.name)
        if folder is not None:
            out.save(folder)
        return out

    def _fix_tags(self, table, tags: list[list[str]]) -> pa.Array:
        keep, orig, replaced = (table.column(c).to_pylist() for c in ("keep_orig_tags", "orig_tags", "replaced"))
        for i, t in enumerate(tags):
            if keep[i] and orig[i]:
                changed = set(replaced[i])
                t = [orig[i][j] if j not in changed else tag for j, tag in enumerate(t)]
            tags[i] = repair_iob(t) if self.params.repair_iob else t
        return pa.array(tags, pa.list_(pa.string()))

    def estimate(self, est):
        """``augkit plan``: one forward per example (windows for long ones) through the stage's model."""
        from augkit.costs import StageCost, Work, inference_memory

        models = est.inputs.get("model")
        shape = getattr(models, "shape", None) or (est.model(models) if isinstance(models, str) else None)
        if shape is None:
            return None
        size = est.size("corpus")
        tokens = min(self.params.max_length, size.tokens())
        batch = max(1, int(self.params.max_tokens // max(tokens, 1)))
        memory = inference_memory(shape, batch, int(tokens), half=est.hw.half)
        return StageCost(
            examples=size.examples,
            outputs=size.examples,
            work=[
                Work(
                    "label",
                    shape.forward_flops(size.examples * tokens, tokens),
                    size.examples * tokens,
                    memory,
                    batches=size.examples / batch,
                    layers=shape.layers,
                )
            ],
            disk_bytes=size.examples * (8 * size.words + 40 * size.words + 200),
        )

    def run_stage(self, ctx):
        model_set = ModelSet.of(ctx.inputs["model"])
        chosen = model_set.best
        corpora = ctx.inputs["corpus"]  # a many=True input: always a list
        corpus = corpora[0] if len(corpora) == 1 else concat(corpora)
        labelled = self.label(corpus, chosen.path, folder=ctx.out_dir / "data", device=ctx.device)
        ctx.log.info("labelled %d examples with %s (%s)", len(labelled), chosen.name, model_set.selection or "selected")
        return {"labelled": len(labelled), "model": chosen.name}


def _model_path(model) -> str:
    """The folder or id of the model to label with: a set's selected model, or the model named."""
    return ModelSet.of(model).best.path
