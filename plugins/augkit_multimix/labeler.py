"""The MultiMix labeller: a task model's label distribution for every example, and its pseudo labels."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from augkit import Corpus, CorpusWriter, Labeler, Params, param

from .inference import predict_probs
from .tasks import load_task_model, repair_iob


@dataclasses.dataclass
class LabelerParams(Params):
    repair_iob: bool = param(False, help="turn an I-X after O or another type into B-X in pseudo labels")
    max_length: int = param(512, help="model input length (longer sentences are split into windows)", ge=8)
    max_tokens: int = param(16384, help="token budget of one inference batch", ge=64)


class TaskModelLabeler(Labeler):
    """Pseudo labels from a task model: arg-max per word (first subword) or per pair, plus ``probs``.

    Examples a generator made with ``relabel = "masked"`` keep their original tags on untouched words.
    """

    name = "multimix-labeler"
    Params = LabelerParams
    example_types = ("tagging", "pair")

    def label(self, corpus: Corpus, model: Any, folder: str | Path | None = None) -> Corpus:
        """``model`` is a saved task-model folder or a ``(model, tokenizer, labels, task)`` tuple.
        With ``folder`` the result is written there (Arrow) and returned memory-mapped."""
        from augkit import Example

        if isinstance(model, (str, Path)):
            m, tok, labels, task = load_task_model(str(model), "tagging")
        else:
            m, tok, labels, task = model
        examples = list(corpus)
        probs = predict_probs(m, tok, examples, task, max_length=self.params.max_length, max_tokens=self.params.max_tokens)
        out = []
        for ex, p in zip(examples, probs):
            if task == "tagging":
                tags = [labels[i] for i in p.argmax(axis=1)]
                if ex.meta.get("relabel") == "masked" and ex.orig_tags:
                    keep = set(range(len(tags))) - set(ex.replaced)
                    tags = [ex.orig_tags[i] if i in keep else t for i, t in enumerate(tags)]
                if self.params.repair_iob:
                    tags = repair_iob(tags)
                out.append(ex.replace(tags=tags, probs=p.tolist()))
            else:
                out.append(ex.replace(label=labels[int(p[0].argmax())], probs=p.tolist()))
        if folder is None:
            return Corpus.from_examples(out, labels=labels, name=corpus.name)
        from augkit.data import write_corpus_meta
        from augkit.io import atomic_dir

        with atomic_dir(folder) as tmp:
            w = CorpusWriter(Path(tmp) / "data-00000.arrow")
            w.write_many(out)
            write_corpus_meta(Path(tmp), ["data-00000.arrow"], labels, w.close(), corpus.name)
        return Corpus.load(folder)

    def run_stage(self, ctx):
        labelled = self.label(ctx.inputs["corpus"], ctx.inputs["model"], folder=ctx.out_dir / "data")
        return {"labelled": len(labelled)}
