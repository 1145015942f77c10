"""MultiMix warm-up (Algorithm 1, line 1): n task models from one pretrained encoder, different seeds,
trained on labelled source data (optionally with the confidence penalty hook), each selected on source dev."""
from __future__ import annotations

import dataclasses
import json

from augkit import InputSpec, ModelRef, Trainer, atomic_write_json, derive_seed, distributed, param

from .common import TrainingParams, by_language, check_labels, evaluate_models, require_labelled
from .tasks import load_task_model, save_task_model, task_of
from .training import TrainSettings, train_model


@dataclasses.dataclass
class WarmupParams(TrainingParams):
    model: ModelRef = param("xlm-roberta-large", help="pretrained encoder: Hugging Face id or folder")
    n_models: int = param(3, help="task models trained with different seeds", ge=1)
    seeds: list[int] = param([], help="one seed per model (default: derived from the run seed)")
    max_steps: int = param(3000, help="optimizer steps per model", ge=1)
    labels: list[str] | None = param(None, help="the label set (default: the labels found in the training data)")

    def check(self):
        if self.seeds and len(self.seeds) != self.n_models:
            raise ValueError(f"seeds: expected {self.n_models} seeds (n_models), got {len(self.seeds)}")


class WarmupTrainer(Trainer):
    """Trains ``n_models`` task models on source data and keeps each one's best source-dev checkpoint."""

    name = "multimix-warmup"
    Params = WarmupParams
    supports_distributed = True  # every process trains data-parallel; rank 0 writes
    example_types = ("tagging", "pair")
    inputs = {"train": InputSpec("corpus", help="labelled source-language training data"),
              "dev": InputSpec("corpus", help="labelled source-language dev data (model selection)"),
              "test": InputSpec("corpus", many=True, required=False, help="labelled test sets (zero-shot scores)")}

    def preflight(self, inputs) -> None:
        """Before anything trains: labelled train/dev/test, gold labels inside the label set."""
        if inputs.get("train") is None:
            return
        train = list(inputs["train"])
        task = task_of(train)
        require_labelled("train", train)
        labels = self.params.labels or inputs["train"].labels
        check_labels({"train": train}, labels, task)
        if inputs.get("dev") is not None:
            require_labelled("dev", list(inputs["dev"]))
            check_labels({"dev": list(inputs["dev"])}, labels, task)
        for c in inputs.get("test") or []:
            if c is not None:
                require_labelled(f"test[{','.join(c.languages)}]", list(c))

    def run_stage(self, ctx) -> dict:
        p = self.params
        distributed.ensure_process_group(ctx.device)
        self.preflight(ctx.inputs)
        train, dev = list(ctx.inputs["train"]), list(ctx.inputs["dev"])
        task = task_of(train)
        labels = p.labels or ctx.inputs["train"].labels
        tests = by_language(ctx.inputs["test"]) if "test" in ctx.inputs else {}
        seeds = p.seeds or [derive_seed(ctx.seed, "model", k) % (2**31) for k in range(p.n_models)]
        settings = TrainSettings(learning_rate=p.learning_rate, batch_size=p.batch_size, grad_accum=p.grad_accum,
                                 max_steps=p.max_steps, warmup_steps=p.warmup_steps, warmup_ratio=p.warmup_ratio,
                                 weight_decay=p.weight_decay, max_length=p.max_length, eval_steps=p.eval_steps,
                                 max_grad_norm=p.max_grad_norm)
        reports = []
        for k, seed in enumerate(seeds):
            folder = ctx.out_dir / "models" / f"model-{k}"
            done = folder / "train_report.json"
            finished = distributed.broadcast(json.loads(done.read_text()) if done.exists() else None)
            if finished is not None:  # finished before an interruption
                reports.append(finished)
                continue
            model, tok, _, _ = load_task_model(p.model, task, labels, ctx.device, p.trust_remote_code, seed=seed)
            stats: dict = {}
            report = train_model(model, tok, task, labels, [train], settings, seed=seed, dev=dev,
                                 hooks=self.hooks, device=ctx.device, stats=stats)
            report.update({"seed": seed, **stats})
            if distributed.is_main():
                save_task_model(model, tok, labels, task, folder)
                atomic_write_json(done, report)
                ctx.log.info("warm-up model %d: source dev %.4f", k, report["best_dev"])
            reports.append(report)
            del model
        distributed.barrier()  # the models are on disk before any process goes on
        if not distributed.is_main():
            return {}
        results = {"task": task, "labels": labels, "models": [f"models/model-{k}" for k in range(len(seeds))],
                   "source_dev": [r["best_dev"] for r in reports], "seeds": seeds}
        if tests:
            loaded = [load_task_model(str(ctx.out_dir / m), task, device=ctx.device)[:2] for m in results["models"]]
            results["zero_shot_test"] = {lang: evaluate_models(loaded, list(c), labels, task, p.max_length)
                                         for lang, c in tests.items()}
        atomic_write_json(ctx.out_dir / "warmup.json", results)
        stats = {"task": task, "n_models": len(seeds), "source_dev_mean": sum(results["source_dev"]) / len(seeds)}
        for lang, r in results.get("zero_shot_test", {}).items():
            stats[f"zero_shot_{lang}_mean"] = round(r["mean"], 4)
        return stats
