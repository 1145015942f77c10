"""MultiMix warm-up (Algorithm 1, line 1): n task models from one pretrained encoder, different seeds,
trained on labelled source data (optionally with the confidence penalty hook), each selected on source dev."""

from __future__ import annotations

import dataclasses
from typing import Any

from augkit import (
    Corpus,
    InputSpec,
    ModelEntry,
    ModelRef,
    ModelSet,
    StageScores,
    Trainer,
    atomic_write_json,
    concat,
    derive_seed,
    distributed,
    metric_name,
    param,
    tasks,  # its training and inference names load torch on first use
)
from augkit.tasks import (
    TrainingParams,
    by_language,
    check_labels,
    evaluate_models,
    load_task_model,
    require_labelled,
    task_of,
)


@dataclasses.dataclass
class WarmupParams(TrainingParams):
    model: ModelRef = param("xlm-roberta-large", help="pretrained encoder: Hugging Face id or folder")
    n_models: int = param(3, help="task models trained with different seeds", ge=1, le=100)
    seeds: list[int] = param([], help="one seed per model (default: derived from the run seed)")
    max_steps: int = param(3000, help="optimizer steps per model", ge=1, le=10**9)
    labels: list[str] | None = param(None, help="the label set (default: the labels found in the training data)")

    def check(self):
        super().check()
        if self.seeds and len(self.seeds) != self.n_models:
            raise ValueError(f"seeds: expected {self.n_models} seeds (n_models), got {len(self.seeds)}")


class WarmupTrainer(Trainer):
    """Trains ``n_models`` task models on source data and keeps each one's best source-dev checkpoint.

    Writes ``models/model-<k>/`` (each with ``train_report.json``), ``models.json`` (the model set;
    the best source-dev model is selected) and ``warmup.json`` (source-dev and zero-shot test scores)."""

    name = "multimix-warmup"
    Params = WarmupParams
    params: WarmupParams
    supports_distributed = True  # every process trains data-parallel; rank 0 writes
    example_types = ("tagging", "pair")
    inputs = {
        "train": InputSpec(
            "corpus",
            many=True,
            help="labelled source-language training data (several "
            "corpora train together, e.g. the originals and an "
            "augmentation of them)",
        ),
        "dev": InputSpec("corpus", help="labelled source-language dev data (model selection)"),
        "test": InputSpec("corpus", many=True, required=False, help="labelled test sets (zero-shot scores)"),
    }

    def preflight(self, inputs) -> None:
        """Before anything trains: labelled train/dev/test, gold labels inside the label set."""
        given = [c for c in inputs.get("train") or [] if c is not None]  # None: made by an earlier stage
        if not given:
            return
        corpus = _one_corpus(given)
        train = list(corpus)
        task = task_of(train)
        require_labelled("train", train)
        labels = self.params.labels or corpus.labels or []
        check_labels({"train": train}, labels, task)
        if inputs.get("dev") is not None:
            require_labelled("dev", list(inputs["dev"]))
            check_labels({"dev": list(inputs["dev"])}, labels, task)
        for c in inputs.get("test") or []:
            if c is not None:
                require_labelled(f"test[{','.join(c.languages)}]", list(c))

    def estimate(self, est):
        """``augkit plan``: n trainings on the source data, dev evaluation every ``eval_steps``, zero-shot tests."""
        from augkit.costs import Models, StageCost, checkpoint_bytes, inference_work, training_advice, training_work

        p = self.params
        shape = est.model(p.model)
        if shape is None:
            return None
        train, dev, test = est.size("train"), est.size("dev"), est.size("test")
        cost = StageCost(
            examples=train.examples, models=Models(shape, p.n_models), disk_bytes=p.n_models * checkpoint_bytes(shape)
        )
        for k in range(p.n_models):
            work = training_work(f"model-{k}", shape, est.hw, p, train)
            evaluations = (work.steps // p.eval_steps if p.eval_steps else 0) + 1
            cost.work += [
                work,
                inference_work(f"model-{k} dev", shape, est.hw, dev, p.max_length, passes=evaluations),
                inference_work(f"model-{k} test", shape, est.hw, test, p.max_length),
            ]
        cost.advice = training_advice(cost.work[0], est.hw)
        return cost

    def run_stage(self, ctx) -> dict:
        p = self.params
        distributed.ensure_process_group(ctx.device)
        self.preflight(ctx.inputs)
        corpus = _one_corpus(ctx.inputs["train"])
        train, dev = list(corpus), list(ctx.inputs["dev"])
        task = task_of(train)
        labels = p.labels or corpus.labels or []
        tests = by_language(ctx.inputs["test"]) if "test" in ctx.inputs else {}
        seeds = p.seeds or [derive_seed(ctx.seed, "model", k) % (2**31) for k in range(p.n_models)]
        reports = [self._train_one(ctx, k, seed, task, labels, train, dev) for k, seed in enumerate(seeds)]
        distributed.barrier()  # the models are on disk before any process goes on
        if not distributed.is_main():
            return {}
        names = [f"model-{k}" for k in range(len(seeds))]
        results: dict[str, Any] = {
            "task": task,
            "labels": labels,
            "models": [f"models/{n}" for n in names],
            "source_dev": [r["best_dev"] for r in reports],
            "seeds": seeds,
        }
        best = max(range(len(seeds)), key=lambda k: results["source_dev"][k])
        model_set = ModelSet(
            [
                ModelEntry(n, str(ctx.out_dir / "models" / n), seed=s, scores={"source_dev": d})
                for n, s, d in zip(names, seeds, results["source_dev"])
            ],
            task=task,
            labels=labels,
            selected=names[best],
            selection="best source_dev",
        )
        if tests:
            loaded = [load_task_model(m.path, task, device=ctx.device) for m in model_set]
            results["zero_shot_test"] = {
                lang: evaluate_models(loaded, list(c), p.max_length) for lang, c in tests.items()
            }
        atomic_write_json(ctx.out_dir / "warmup.json", results)
        if tests:
            StageScores(
                metric_name(task),
                {"zero-shot": {lang: r["models"] for lang, r in results["zero_shot_test"].items()}},
                sizes={lang: r["n"] for lang, r in results["zero_shot_test"].items()},
            ).write(ctx.out_dir)
        model_set.write(ctx.out_dir)
        stats = {"task": task, "n_models": len(seeds), "source_dev_mean": sum(results["source_dev"]) / len(seeds)}
        for lang, r in results.get("zero_shot_test", {}).items():
            stats[f"zero_shot_{lang}_mean"] = round(r["mean"], 4)
        return stats

    def _train_one(self, ctx, k: int, seed: int, task: str, labels: list[str], train, dev) -> dict:
        """Train model k (or read its report, if it finished before an interruption)."""
        p = self.params
        folder = ctx.out_dir / "models" / f"model-{k}"
        done = folder / "train_report.json"
        finished = tasks.finished_report(done)
        if finished is not None:
            return finished
        tm = load_task_model(p.model, task, labels, device=ctx.device, seed=seed, trust_remote_code=p.trust_remote_code)
        stats: dict = {}
        report = tasks.train_model(
            tm, [train], p, seed=seed, dev=dev, hooks=self.hooks, ctx=ctx, name=f"model-{k}", stats=stats
        )
        report.update({"seed": seed, **stats})
        if distributed.is_main():
            tm.save(folder)
            atomic_write_json(done, report)
            ctx.log.info("warm-up model %d: source dev %.4f", k, report["best_dev"])
        return report


def _one_corpus(corpora: list[Corpus]) -> Corpus:
    """The training corpora as one (in the order the recipe names them)."""
    return corpora[0] if len(corpora) == 1 else concat(corpora, name="+".join(c.name or "?" for c in corpora))
