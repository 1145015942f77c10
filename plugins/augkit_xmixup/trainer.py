"""The X-Mixup trainer stage: n models (seeds) trained on translate-train pairs with cross-lingual
manifold mixup, each selected on translate-test dev pairs, scored per target language on
translate-test pairs; optionally the translate-train baseline (the same recipe with mixup off).

Built on the shared task layer (``augkit.tasks.build_trainer`` with X-Mixup's own loss, and
``run_training``), so it trains data-parallel under ``torchrun``/``accelerate launch``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, Literal

from augkit import (
    DataError,
    InputSpec,
    StageScores,
    atomic_write_json,
    atomic_write_text,
    derive_seed,
    distributed,
    mean_std,
    metric_name,
    param,
    read_model_config,
    tasks,  # its training and inference names load torch on first use
)
from augkit.tasks import (
    EnsembleParams,
    SeedEnsembleTrainer,
    Trained,
    by_language,
    load_task_model,
    require_labelled,
    task_of,
    training_steps,
)

if TYPE_CHECKING:
    from .method import Settings

#: Table 10 and §5.1 of the paper: α, the sampling decay k, and the mixup layer per task
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "pair": {"alpha": 0.4, "k": 1000, "layer": 1},
    "tagging": {"alpha": 0.8, "k": 1000, "layer": 4},
    "qa": {"alpha": 0.2, "k": 2000, "layer": None},
}  # QA: 16 for 24-layer models, 8 otherwise


@dataclasses.dataclass
class XMixupParams(EnsembleParams):
    labels: list[str] | None = param(None, help="the label set (default: from the data, or the soft labels' order)")
    train_epochs: float = param(4.0, help="passes over the training pairs when max_steps is 0", gt=0)
    mixup: bool = param(True, help="cross-lingual manifold mixup in training and inference (false: 'w/o mixup')")
    mixup_layer: int | None = param(
        None,
        help="layer l that mixes, 1-based (default: the paper's per task: 1 "
        "classification, 4 tagging, 16 QA on 24-layer models / 8 otherwise)",
        ge=1,
        le=1000,
    )
    lambda0: float = param(0.5, help="λ0: the largest mixing ratio", ge=0, le=1)
    lambda_mode: Literal["adaptive", "constant"] = param(
        "adaptive", help='"adaptive": λ = λ0·σ((H(A)+H(Aᵀ))·W + b); "constant": λ = λ0'
    )
    alpha: float | None = param(
        None, help="α, weight of the source loss (default: 0.4 classification, 0.8 tagging, 0.2 QA)", ge=0, le=1
    )
    mse: bool = param(True, help="MSE consistency loss between the streams' pooled representations")
    kl: bool = param(True, help="KL consistency loss between the streams' class distributions (classification)")
    mse_weight: float = param(1.0, help="weight of the MSE term in the loss (the paper: 1)", ge=0)
    kl_weight: float = param(1.0, help="weight of the KL term in the loss (the paper: 1)", ge=0)
    pooling: Literal["mean", "cls"] = param("mean", help="sequence representation for the MSE loss")
    scheduled_sampling: bool = param(True, help="draw back-translations as the source side with probability 1−p*")
    k: float | None = param(
        None, help="decay k of p* = k/(k+exp(step/k)) (default: the paper's, 1000, or 2000 for QA)", gt=0
    )
    granularity: Literal["batch", "example"] = param("batch", help="one draw of p* per batch or per example")
    mixup_inference: bool = param(True, help="mix with the translate-test source at inference (false: target alone)")
    baseline: bool = param(False, help="also train the translate-train baseline (mixup and consistency off)")
    eval_batch_size: int = param(32, help="pairs per inference batch", ge=1)

    def check(self):
        super().check()
        if self.mixup_layer is not None:  # against the model's depth, from its config (no weights loaded)
            layers = (read_model_config(self.model) or {}).get("num_hidden_layers")
            if isinstance(layers, int) and self.mixup_layer > layers:
                raise ValueError(
                    f"mixup_layer: expected 1..{layers} (the model {self.model} has {layers} layers), "
                    f"got {self.mixup_layer}"
                )


class XMixupTrainer(SeedEnsembleTrainer):
    """Cross-lingual manifold mixup (X-Mixup, Yang et al. 2022) for classification, tagging and QA.

    Inputs are parallel corpora (``format = "parallel"``): ``train`` (translate-train pairs; for
    tagging, labelled with soft labels by a ``label`` stage), ``dev`` and ``test`` (translate-test
    pairs with gold labels on the target side). Writes ``models/<name>/`` (Hugging Face task model +
    ``xmixup.json``), ``models.json``, ``results.json`` (per target language: each model's score,
    mean ± sample std, and the baseline's) and ``curves/<name>.jsonl`` (per step: λ, p*, loss terms)."""

    name = "xmixup"
    Params = XMixupParams
    params: XMixupParams
    supports_distributed = True
    example_types = ("pair", "tagging", "qa")
    inputs = {
        "train": InputSpec(
            "corpus",
            many=True,
            help="translate-train pairs (target side carries its source); several corpora (languages) train one model",
        ),
        "dev": InputSpec("corpus", many=True, required=False, help="translate-test dev pairs (model selection)"),
        "test": InputSpec("corpus", many=True, required=False, help="translate-test test pairs (results)"),
    }

    def preflight(self, inputs) -> None:
        train = inputs.get("train")
        if train and all(c is not None for c in train):
            examples = [ex for c in train for ex in c]
            task = task_of(examples)
            if not all("source" in (ex.meta.get("parallel") or {}) for ex in examples):
                raise DataError('train: X-Mixup trains on parallel pairs; read the data with format = "parallel"')
            if task == "pair":
                require_labelled("train", examples)
            alpha = self.params.alpha if self.params.alpha is not None else TASK_DEFAULTS[task]["alpha"]
            if task == "tagging" and alpha < 1 and any(ex.probs is None for ex in examples):
                raise DataError(
                    "train: tagging translations need soft labels (a source-language model's "
                    "distribution per word); add a `label` stage that labels these pairs before "
                    "the X-Mixup stage"
                )
        for name in ("dev", "test"):
            for corpus in inputs.get(name) or []:
                if corpus is not None:
                    require_labelled(f"{name}[{','.join(corpus.languages)}]", list(corpus))
                    if not all("source" in (ex.meta.get("parallel") or {}) for ex in corpus):
                        if self.params.mixup and self.params.mixup_inference:
                            raise DataError(
                                f"{name}: mixup inference needs translate-test pairs (format = "
                                '"parallel"), or set mixup_inference = false'
                            )

    # -- the stage --------------------------------------------------------------------------------------
    def run_stage(self, ctx) -> dict:
        p = self.params
        distributed.ensure_process_group(ctx.device)
        self.preflight(ctx.inputs)
        train_corpus = self.train_corpus(ctx.inputs["train"])
        train = list(train_corpus)
        task = task_of(train)
        labels = self._labels(train_corpus, train, task)
        dev = by_language(ctx.inputs["dev"]) if ctx.inputs.get("dev") else {}
        tests = by_language(ctx.inputs["test"]) if ctx.inputs.get("test") else {}
        seeds = p.member_seeds(ctx.seed)
        runs = [(f"model-{k}", s, self.settings(task)) for k, s in enumerate(seeds)]
        if p.baseline:
            runs += [(f"baseline-{k}", s, self.settings(task, baseline=True)) for k, s in enumerate(seeds)]
        notes = []
        if runs[0][2].scheduled_sampling and not any("back" in (ex.meta.get("parallel") or {}) for ex in train):
            notes.append("scheduled sampling is off: the training pairs have no back-translations")
            ctx.log.info("X-Mixup: %s", notes[-1])
        reports = {
            name: self._train_one(ctx, name, seed, settings, task, labels, train, dev, tests)
            for name, seed, settings in runs
        }
        distributed.barrier()
        if not distributed.is_main():
            return {}
        return self._write_results(ctx, task, labels, seeds, reports, notes)

    def estimate(self, est):
        """``augkit plan``: each model (and baseline) trains on every training pair with two streams (source
        and target) plus one cross-attention sub-layer, evaluated on dev with mixup inference (two streams)
        every ``eval_steps`` and on the test sets at the end."""
        from augkit.costs import StageCost, checkpoint_bytes, inference_work, training_advice, training_work

        p = self.params
        shape = est.model(p.model)
        if shape is None:
            return None
        train, dev, test = est.size("train"), est.size("dev"), est.size("test")
        runs = p.n_models * (2 if p.baseline else 1)
        cost = StageCost(examples=train.examples, disk_bytes=runs * checkpoint_bytes(shape))
        for k in range(runs):
            work = training_work(f"run {k}", shape, est.hw, p, train, streams=2)
            evaluations = (work.steps // p.eval_steps if p.eval_steps else 0) + 1
            streams = 2 if p.mixup_inference else 1
            cost.work += [
                work,
                inference_work(
                    f"run {k} dev",
                    shape,
                    est.hw,
                    dev,
                    p.max_length,
                    passes=evaluations,
                    batch=p.eval_batch_size,
                    streams=streams,
                ),
                inference_work(
                    f"run {k} test", shape, est.hw, test, p.max_length, batch=p.eval_batch_size, streams=streams
                ),
            ]
        cost.advice = training_advice(cost.work[0], est.hw)
        return cost

    def settings(self, task: str, baseline: bool = False) -> Settings:
        """The method's switches for ``task``; ``baseline``: translate-train (no mixup, no consistency,
        no scheduled sampling)."""
        from .method import Settings

        p = self.params
        d = TASK_DEFAULTS[task]
        s = Settings(
            task=task,
            alpha=p.alpha if p.alpha is not None else d["alpha"],
            mixup=p.mixup,
            mixup_inference=p.mixup and p.mixup_inference,
            mse=p.mse,
            kl=p.kl and task == "pair",
            mse_weight=p.mse_weight,
            kl_weight=p.kl_weight,
            pooling=p.pooling,
            scheduled_sampling=p.scheduled_sampling,
            k=float(p.k if p.k is not None else d["k"]),
            granularity=p.granularity,
        )
        if baseline:
            s = dataclasses.replace(
                s, mixup=False, mixup_inference=False, mse=False, kl=False, scheduled_sampling=False
            )
        return s

    def mixup_layer(self, task: str, n_layers: int) -> int:
        p = self.params
        layer = p.mixup_layer or TASK_DEFAULTS[task]["layer"] or (16 if n_layers >= 24 else 8)
        if layer > n_layers:
            raise DataError(
                f"mixup_layer {layer} but the model has {n_layers} layers; set mixup_layer (1..{n_layers})",
                path=str(p.model),
            )
        return layer

    def _labels(self, corpus, train, task) -> list[str]:
        p = self.params
        if task == "qa":
            return []
        if task == "tagging":
            has_probs = [ex.probs is not None for ex in train]
            if any(has_probs) and corpus.labels:
                labels = list(corpus.labels)  # the soft labels' columns
                if p.labels is not None and list(p.labels) != labels:
                    raise DataError(
                        f"labels: the soft labels are over ({', '.join(labels)}), the stage's labels "
                        f"are ({', '.join(p.labels)})"
                    )
                return labels
            if (p.alpha if p.alpha is not None else TASK_DEFAULTS[task]["alpha"]) < 1:
                raise DataError(
                    "train: tagging translations need soft labels (a source-language model's "
                    "distribution per word); add a `label` stage that labels these pairs before "
                    "the X-Mixup stage"
                )
            from .data import side_example

            seen = {t for ex in train for side in [side_example(ex, "source")] if side for t in side.tags}
            return p.labels or sorted(seen)
        return p.labels or sorted({ex.label for ex in train if ex.label is not None})

    def _train_one(self, ctx, name, seed, settings: Settings, task, labels, train, dev, tests) -> dict:
        """Train one model (or read its report, if it finished before an interruption)."""
        return self.train_member(
            ctx, name, lambda: self._train(ctx, name, seed, settings, task, labels, train, dev, tests)
        )

    def _train(self, ctx, name, seed, settings: Settings, task, labels, train, dev, tests) -> Trained:
        from .method import ItemCollator, ScheduledSampler, compute_loss, evaluate_pairs, make_items, save_model
        from .mixup import XMixupModel  # torch: loaded when a model trains, not when the plugin registers

        p = self.params
        tm = load_task_model(p.model, task, labels, device=ctx.device, seed=seed, trust_remote_code=p.trust_remote_code)
        layer = self.mixup_layer(task, tm.model.config.num_hidden_layers)
        xm = XMixupModel(tm.model, layer, p.lambda0, p.lambda_mode).to(ctx.device)
        trainable = settings.mixup and p.lambda_mode == "adaptive"
        xm.mix_weight.requires_grad_(trainable)  # unused parameters would stall data-parallel training
        xm.mix_bias.requires_grad_(trainable)
        stats: dict = {}
        items = make_items(train, tm, p.max_length, train=True, stats=stats)
        dev_items = {
            lang: (list(c), make_items(list(c), tm, p.max_length, train=False, need_source=settings.mixup_inference))
            for lang, c in dev.items()
        }

        def dev_score(_model) -> float:
            scores = [
                evaluate_pairs(
                    xm,
                    tm,
                    exs,
                    max_length=p.max_length,
                    mixup_inference=settings.mixup_inference,
                    items=its,
                    batch_size=p.eval_batch_size,
                )["score"]
                for exs, its in dev_items.values()
            ]
            xm.train()
            return sum(scores) / len(scores)

        selection = tasks.DevSelection(dev_score, p.eval_steps) if dev_items else None
        steps = training_steps(p, len(items))
        curve: list[dict] = []
        holder: dict = {}
        sampling = settings.scheduled_sampling and any(it.back is not None for it in items)
        sampler = ScheduledSampler(
            settings.k,
            settings.granularity,
            enabled=sampling,
            seed=derive_seed(seed, "scheduled-sampling", distributed.rank()),
        )

        def loss_fn(model, inputs):
            if "trainer" not in holder:  # tasks.build_trainer's memory probe (micro_batch_size = "auto" on a GPU)
                return compute_loss(model, inputs, settings, inputs["has_back"])
            step = holder["trainer"].state.global_step
            use_real = sampler.draw(step, inputs["has_back"].shape[0]).to(inputs["has_back"].device)
            loss, out, terms = compute_loss(model, inputs, settings, use_real)
            terms["p_star"] = sampler.p_star(step)
            curve.append({"step": step + 1, "loss": float(loss.detach()), **terms})
            return loss, out, terms

        trainer = tasks.build_trainer(
            xm,
            p,
            train_dataset=tasks.FeatureDataset(items),
            data_collator=ItemCollator(tm.tokenizer.pad_token_id, task),
            steps=steps,
            seed=seed,
            name=name,
            ctx=ctx,
            hooks=self.hooks,
            loss_fn=loss_fn,
            output_dir=ctx.out_dir / "logs" / name if p.report_to else None,
        )
        holder["trainer"] = trainer
        report = tasks.run_training(trainer, selection)
        report.update(
            {
                "seed": seed,
                "mixup_layer": layer,
                "settings": dataclasses.asdict(settings),
                "scheduled_sampling_active": sampling,
                "mix_weight": float(xm.mix_weight.detach()),
                "mix_bias": float(xm.mix_bias.detach()),
                **stats,
            }
        )
        report["test"] = {}
        for lang, corpus in tests.items():
            report["test"][lang] = {
                **evaluate_pairs(
                    xm,
                    tm,
                    list(corpus),
                    max_length=p.max_length,
                    mixup_inference=settings.mixup_inference,
                    batch_size=p.eval_batch_size,
                ),
                "n": len(corpus),
            }
            if settings.mixup_inference:  # the paper's "w/o mixup inference" ablation, on the same model
                report["test"][lang]["target_only"] = evaluate_pairs(
                    xm, tm, list(corpus), max_length=p.max_length, mixup_inference=False, batch_size=p.eval_batch_size
                )["score"]
        if distributed.is_main():
            ctx.log.info(
                "X-Mixup %s: %s",
                name,
                ", ".join(f"{lang} {r['score']:.4f}" for lang, r in report["test"].items()) or "trained",
            )

        def save(folder) -> None:
            save_model(xm, tm, folder, settings)
            atomic_write_text(ctx.out_dir / "curves" / f"{name}.jsonl", "".join(json.dumps(r) + "\n" for r in curve))

        return Trained(report, save)

    def _write_results(self, ctx, task, labels, seeds, reports, notes) -> dict:
        def summary(prefix: str) -> dict:
            names = [n for n in reports if n.startswith(prefix)]
            langs = sorted({lang for n in names for lang in reports[n]["test"]})
            out = {}
            for lang in langs:
                scores = [reports[n]["test"][lang]["score"] for n in names]
                mean, std = mean_std(scores)
                entry = {"models": scores, "mean": mean, "std": std}
                if "n" in reports[names[0]]["test"][lang]:
                    entry["n"] = reports[names[0]]["test"][lang]["n"]
                alone = [reports[n]["test"][lang].get("target_only") for n in names]
                if None not in alone:
                    alone_mean, alone_std = mean_std(alone)
                    entry.update(target_only_models=alone, target_only_mean=alone_mean, target_only_std=alone_std)
                if task == "qa":
                    ems = [reports[n]["test"][lang]["em"] for n in names]
                    em_mean, em_std = mean_std(ems)
                    entry.update(em_models=ems, em_mean=em_mean, em_std=em_std)
                out[lang] = entry
            return out

        results = {
            "task": task,
            "labels": labels,
            "seeds": seeds,
            "notes": notes,
            "settings": reports["model-0"]["settings"],
            "mixup_layer": reports["model-0"]["mixup_layer"],
            "languages": summary("model-"),
            "models": {
                n: {k: r.get(k) for k in ("seed", "best_dev", "best_step", "steps", "mix_weight", "mix_bias", "test")}
                for n, r in reports.items()
            },
        }
        if any(n.startswith("baseline-") for n in reports):
            results["baseline"] = summary("baseline-")
        atomic_write_json(ctx.out_dir / "results.json", results)
        arms = {"X-Mixup": {lang: e["models"] for lang, e in results["languages"].items()}}
        if "baseline" in results:
            arms["translate-train"] = {lang: e["models"] for lang, e in results["baseline"].items()}
        if any(arms["X-Mixup"].values()):
            StageScores(
                metric_name(task), arms, sizes={lang: e["n"] for lang, e in results["languages"].items() if "n" in e}
            ).write(ctx.out_dir)
        names = [n for n in reports if n.startswith("model-")]
        self.best_model_set(ctx, names, reports, task=task, labels=labels, score="dev", report_key="best_dev").write(
            ctx.out_dir
        )
        stats = {"task": task, "n_models": len(names)}
        for lang, entry in results["languages"].items():
            stats[f"{lang}_mean"] = round(entry["mean"], 4)
            if "baseline" in results and lang in results["baseline"]:
                stats[f"{lang}_baseline_mean"] = round(results["baseline"][lang]["mean"], 4)
        return stats
