"""MultiMix warm-up (Algorithm 1, line 1): n task models from one pretrained encoder, different seeds,
trained on labelled source data (optionally with the confidence penalty hook), each selected on source dev."""

from __future__ import annotations

import dataclasses
from typing import Any

from augkit import (
    InputSpec,
    StageScores,
    atomic_write_json,
    distributed,
    metric_name,
    param,
    tasks,  # its training and inference names load torch on first use
)
from augkit.tasks import (
    EnsembleParams,
    SeedEnsembleTrainer,
    Trained,
    by_language,
    check_labels,
    evaluate_models,
    load_task_model,
    require_labelled,
    task_of,
)


@dataclasses.dataclass
class WarmupParams(EnsembleParams):
    n_models: int = param(3, help="task models trained with different seeds", ge=1, le=100)
    max_steps: int = param(3000, help="optimizer steps per model", ge=1, le=10**9)


class WarmupTrainer(SeedEnsembleTrainer):
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
        corpus = self.train_corpus(given)
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
        corpus = self.train_corpus(ctx.inputs["train"])
        train, dev = list(corpus), list(ctx.inputs["dev"])
        task = task_of(train)
        labels = p.labels or corpus.labels or []
        tests = by_language(ctx.inputs["test"]) if "test" in ctx.inputs else {}
        seeds = p.member_seeds(ctx.seed)
        names = [f"model-{k}" for k in range(len(seeds))]
        reports = {n: self._train_one(ctx, n, seed, task, labels, train, dev) for n, seed in zip(names, seeds)}
        distributed.barrier()  # the models are on disk before any process goes on
        if not distributed.is_main():
            return {}
        results: dict[str, Any] = {
            "task": task,
            "labels": labels,
            "models": [f"models/{n}" for n in names],
            "source_dev": [reports[n]["best_dev"] for n in names],
            "seeds": seeds,
        }
        model_set = self.best_model_set(
            ctx, names, reports, task=task, labels=labels, score="source_dev", report_key="best_dev"
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

    def _train_one(self, ctx, name: str, seed: int, task: str, labels: list[str], train, dev) -> dict:
        """Train one member (or read its report, if it finished before an interruption)."""
        p = self.params

        def train_it() -> Trained:
            tm = load_task_model(
                p.model, task, labels, device=ctx.device, seed=seed, trust_remote_code=p.trust_remote_code
            )
            stats: dict = {}
            report = tasks.train_model(
                tm, [train], p, seed=seed, dev=dev, hooks=self.hooks, ctx=ctx, name=name, stats=stats
            )
            report.update({"seed": seed, **stats})
            if distributed.is_main():
                ctx.log.info("warm-up %s: source dev %.4f", name, report["best_dev"])
            return Trained(report, tm.save)

        return self.train_member(ctx, name, train_it)
