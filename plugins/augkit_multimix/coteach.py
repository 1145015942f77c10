"""MultiMix co-teaching (Algorithm 1), one adaptation per target language.

For every epoch e and every student l, its peers (the other models) label the unlabelled sets; each
peer's labels are distilled (confidence or GMM, η_e); the peers' selections are intersected where their
labels agree (co-guessing), and the student trains on the epoch's mixture with balanced sampling:

    e1 {D_s, D'_t}   e2 {D_t^aug}   e3 {D_s, D'_t, D_s^aug, D_t^aug}      (``mixtures``)

``schedule = "frozen"`` (default): peers are the models as they were at the start of the epoch, each
student trains once. ``"sequential"``: the authors' order — for k, for j≠k, train the third model with
peers k and j as they are now (later pairs see updated models). Each student is selected on target dev,
with the model it started from as a candidate. Only source gold labels are used for training; target
gold labels serve dev selection and test only.

Progress is saved per epoch and per student (``<lang>/epoch-<e>/``), so ``--resume`` continues where a
run stopped; each model's labels of each set are computed once per epoch and cached.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Literal

from augkit import (Corpus, DataError, InputSpec, Trainer, atomic_write_json, build_params, derive_seed, distributed,
                    param)

from .common import TrainingParams, by_language, check_labels, evaluate_models, require_labelled
from .inference import predict_flat_sharded
from .labeler import TaskModelLabeler
from .tasks import encode, load_task_model, load_tokenizer, save_task_model
from .training import TrainSettings, train_model

SETS = ("source", "target", "source_aug", "target_aug")


@dataclasses.dataclass
class CoTeachParams(TrainingParams):
    epochs: int = param(3, help="co-teaching epochs", ge=1)
    eta: list[float] = param([0.8, 1.0, 1.0], help="η per epoch: share the distiller keeps")
    mixtures: list[list[str]] = param([["source", "target"], ["target_aug"], ["source", "target", "source_aug", "target_aug"]],
                                      help="training sets per epoch, from: source, target, source_aug, target_aug")
    distiller: str = param("confidence", help="filter used to distil each peer's labels (confidence or gmm)")
    distiller_params: dict[str, Any] = param({}, help="parameters of the distiller (eta comes from `eta`)")
    alpha: float = param(0.7, help="α of the balanced multinomial sampler", ge=0)
    schedule: Literal["frozen", "sequential"] = param("frozen", help="peers frozen per epoch, or the authors' order")
    train_epochs: float = param(1.0, help="passes over the mixture per co-teaching epoch", gt=0)
    max_steps: int = param(0, help="optimizer steps per student and epoch (0: from train_epochs)", ge=0)
    repair_iob: bool = param(False, help="repair IOB in pseudo labels")
    regenerate_per_epoch: bool = param(False, help="make GEN-LM samples anew each epoch (else use the *_aug inputs)")
    generator: str = param("vicinity", help="generator for regenerate_per_epoch")
    generator_params: dict[str, Any] = param({}, help="its parameters")

    def check(self):
        if len(self.eta) != self.epochs or len(self.mixtures) != self.epochs:
            raise ValueError(f"eta and mixtures need one entry per epoch ({self.epochs}); "
                             f"got {len(self.eta)} and {len(self.mixtures)}")
        for e, mix in enumerate(self.mixtures):
            for name in mix:
                if name not in SETS:
                    raise ValueError(f"mixtures[{e}]: unknown set {name!r}; expected one of {', '.join(SETS)}")
        for v in self.eta:
            if not 0 < v <= 1:
                raise ValueError(f"eta: expected values in (0, 1], got {v}")
        import augkit

        dist = augkit.resolve("filter", self.distiller, "distiller")
        build_params(dist.Params, {"eta": self.eta[0], **self.distiller_params} if "eta" in
                     {f.name for f in dataclasses.fields(dist.Params)} else self.distiller_params,
                     where="distiller_params")
        if self.regenerate_per_epoch:
            gen = augkit.resolve("generator", self.generator, "generator")
            build_params(gen.Params, self.generator_params, where="generator_params")


class CoTeachingTrainer(Trainer):
    """MultiMix's multi-epoch co-teaching with co-distillation and co-guessing (Algorithm 1)."""

    name = "multimix-coteach"
    Params = CoTeachParams
    supports_distributed = True  # every process trains data-parallel; rank 0 writes
    example_types = ("tagging", "pair")
    inputs = {
        "models": InputSpec("model", help="the warm-up stage (its task models)"),
        "source": InputSpec("corpus", help="labelled source training data"),
        "target": InputSpec("corpus", many=True, help="unlabelled target-language training text, one corpus per language"),
        "target_dev": InputSpec("corpus", many=True, help="labelled target dev sets (model selection)"),
        "target_test": InputSpec("corpus", many=True, required=False, help="labelled target test sets"),
        "source_aug": InputSpec("corpus", required=False, help="GEN-LM samples of the source training sentences"),
        "target_aug": InputSpec("corpus", many=True, required=False, help="GEN-LM samples of the target training sentences"),
    }

    # setup -------------------------------------------------------------------------------------------
    def preflight(self, inputs) -> None:
        """Before any stage runs: labelled source, labelled target dev per language, no language without
        data, gold labels inside the source label set."""
        known = {k: v for k, v in inputs.items() if v is not None and not (isinstance(v, list) and None in v)}
        self._check(known, labels=None)

    def _check(self, inputs, labels):
        source = inputs.get("source")
        if source is not None:
            require_labelled("source", list(source))
            labels = labels or source.labels
        if "target" not in inputs or "target_dev" not in inputs:
            return
        targets = by_language(inputs["target"])
        devs = by_language(inputs["target_dev"])
        tests = by_language(inputs["target_test"]) if inputs.get("target_test") is not None else {}
        for lang in targets:
            if lang not in devs:
                raise DataError(f"target language {lang!r} has no dev set (target_dev); it is needed for model selection")
        for lang in list(devs) + list(tests):
            if lang not in targets:
                raise DataError(f"target language {lang!r} has dev/test data but no training text in `target`")
        for lang, c in devs.items():
            require_labelled(f"target_dev[{lang}]", list(c))
            if labels:
                check_labels({f"target_dev[{lang}]": list(c)}, labels, self._task_of(c))
        for lang, c in tests.items():
            require_labelled(f"target_test[{lang}]", list(c))

    @staticmethod
    def _task_of(corpus) -> str:
        return "tagging" if corpus.types == ["tagging"] else "pair"

    def _prepare(self, ctx):
        p = self.params
        warm_dir = Path(ctx.inputs["models"])
        info_file = warm_dir / "warmup.json"
        if not info_file.exists():
            raise DataError("not a warm-up stage output (no warmup.json)", path=str(warm_dir))
        info = json.loads(info_file.read_text())
        self.task, self.labels = info["task"], info["labels"]
        self.start_models = [warm_dir / m for m in info["models"]]
        if len(self.start_models) < 2:
            raise DataError(f"co-teaching needs at least 2 task models, the warm-up made {len(self.start_models)}",
                            path=str(warm_dir))
        if p.schedule == "sequential" and len(self.start_models) != 3:
            raise DataError(f'schedule = "sequential" is defined for 3 models, the warm-up made {len(self.start_models)}',
                            path=str(warm_dir))
        self._check(ctx.inputs, self.labels)
        self.source = list(ctx.inputs["source"])
        check_labels({"source": self.source}, self.labels, self.task)
        # target training text: gold labels, if any, are dropped here and never reach training
        self.target = {l: Corpus.from_examples([ex.replace(tags=[], label=None) for ex in c], name=f"target-{l}")
                       for l, c in by_language(ctx.inputs["target"]).items()}
        self.dev = {l: list(c) for l, c in by_language(ctx.inputs["target_dev"]).items()}
        self.test = {l: list(c) for l, c in by_language(ctx.inputs["target_test"]).items()} \
            if "target_test" in ctx.inputs else {}
        needed = {name for mix in p.mixtures for name in mix}
        self.source_aug = ctx.inputs.get("source_aug")
        self.target_aug = by_language(ctx.inputs["target_aug"]) if "target_aug" in ctx.inputs else {}
        if not p.regenerate_per_epoch:
            if "source_aug" in needed and self.source_aug is None:
                raise DataError("the mixtures use source_aug but the stage has no source_aug input "
                                "(add a vicinity generate stage, or set regenerate_per_epoch = true)")
            missing = [l for l in self.target if l not in self.target_aug]
            if "target_aug" in needed and missing:
                raise DataError(f"the mixtures use target_aug but there are no GEN-LM samples for {', '.join(missing)}")

    # the algorithm -------------------------------------------------------------------------------------
    def run_stage(self, ctx) -> dict:
        distributed.ensure_process_group(ctx.device)
        self._prepare(ctx)
        p = self.params
        results: dict[str, Any] = {"task": self.task, "languages": {}, "epochs": {}}
        for lang in sorted(self.target):
            current = list(self.start_models)
            results["epochs"][lang] = []
            for e in range(1, p.epochs + 1):
                edir = ctx.out_dir / lang / f"epoch-{e}"
                done = edir / "report.json"
                if not _exists(done):
                    report = self._epoch(ctx, lang, e, current, edir)
                    if distributed.is_main():
                        atomic_write_json(done, report)
                    distributed.barrier()  # the epoch's models and report are on disk for every process
                report = json.loads(done.read_text())
                results["epochs"][lang].append(report)
                current = [edir / f"model-{k}" for k in range(len(current))]
                if ctx.is_main:
                    ctx.log.info("%s epoch %d: target dev %s", lang, e, [round(s, 4) for s in report["dev"]])
            in_memory = self.__dict__.pop("_kept_models", {})
            if not distributed.is_main():
                continue  # the final evaluation is rank 0's
            models = [in_memory[str(m)][:2] if str(m) in in_memory else
                      load_task_model(str(m), self.task, device=ctx.device)[:2] for m in current]
            entry = {"dev": evaluate_models(models, self.dev[lang], self.labels, self.task, p.max_length),
                     "final_models": [str(m.relative_to(ctx.out_dir)) for m in current]}
            if lang in self.test:
                entry["test"] = evaluate_models(models, self.test[lang], self.labels, self.task, p.max_length)
            results["languages"][lang] = entry
        if not distributed.is_main():
            return {}
        atomic_write_json(ctx.out_dir / "results.json", results)
        _print_results(results, self.task)
        stats: dict[str, Any] = {}
        for lang, entry in results["languages"].items():
            if "test" in entry:
                stats[f"test_{lang}_mean"] = round(entry["test"]["mean"], 4)
                stats[f"test_{lang}_ensemble"] = round(entry["test"]["ensemble"], 4)
        return stats

    def _settings(self) -> TrainSettings:
        p = self.params
        return TrainSettings(learning_rate=p.learning_rate, batch_size=p.batch_size, grad_accum=p.grad_accum,
                             max_steps=p.max_steps, epochs=p.train_epochs, warmup_steps=p.warmup_steps,
                             warmup_ratio=p.warmup_ratio, weight_decay=p.weight_decay, max_length=p.max_length,
                             eval_steps=p.eval_steps, alpha=p.alpha, max_grad_norm=p.max_grad_norm)

    def _unlabelled_sets(self, ctx, lang: str, e: int, edir: Path) -> dict[str, Corpus]:
        p = self.params
        sets = {"target": self.target[lang]}
        if p.regenerate_per_epoch:
            from augkit.generation import generate_shards

            gen = ctx.resolve("generator", p.generator)(**p.generator_params)
            for name, base in (("source_aug", Corpus.from_examples(self.source)), ("target_aug", self.target[lang])):
                folder = edir / f"generated-{name}"
                if not _exists(folder / "corpus.json"):  # every process makes its shards; rank 0 joins them
                    generate_shards(gen, base, folder, seed=derive_seed(ctx.seed, "generate", lang, e, name),
                                    ctx=ctx, rank=distributed.rank(), world_size=distributed.world_size())
                    distributed.barrier()
                sets[name] = Corpus.load(folder)
        else:
            if self.source_aug is not None:
                sets["source_aug"] = self.source_aug
            if lang in self.target_aug:
                sets["target_aug"] = self.target_aug[lang]
        return sets

    def _epoch(self, ctx, lang: str, e: int, current: list[Path], edir: Path) -> dict:
        p = self.params
        distributed.ensure_process_group(ctx.device)
        mix = p.mixtures[e - 1]
        unlabelled = {k: v for k, v in self._unlabelled_sets(ctx, lang, e, edir).items() if k in mix}
        n = len(current)
        labeler = TaskModelLabeler(repair_iob=p.repair_iob, max_length=p.max_length)
        distiller_cls = ctx.resolve("filter", p.distiller)
        dist_fields = {f.name for f in dataclasses.fields(distiller_cls.Params)}
        agree = ctx.resolve("filter", "agreement")()
        report: dict[str, Any] = {"epoch": e, "mixture": mix, "eta": p.eta[e - 1], "students": [], "dev": []}
        versions = [f"v{e - 1}"] * n
        loaded: dict[int, Any] = {}
        dev_scores = self.__dict__.setdefault("_dev_scores", {})  # (lang, model folder, version) -> dev score
        # the models the previous epoch ended with are still in memory (a resumed run reads them from disk)
        in_memory = self.__dict__.pop("_kept_models", {})

        def model(j):
            if j not in loaded:
                if str(current[j]) in in_memory:
                    loaded[j] = in_memory.pop(str(current[j]))
                else:
                    m, tok, _, _ = load_task_model(str(current[j]), self.task, device=ctx.device)
                    loaded[j] = (m, tok, self.labels, self.task)
            return loaded[j]

        # every model shares the encoder's tokenizer: encode each set once, for labelling by every peer
        # and (with the agreed labels) for training; the sets (except regenerated ones) and the
        # tokenizer stay the same across epochs, so the encodings are kept too
        tokenizer = self._tokenizer(current[0])
        encoded = {name: self._cached(("set", lang, name, e if p.regenerate_per_epoch and name.endswith("_aug") else 0),
                                      lambda c=corpus: self._encode(c, tokenizer))
                   for name, corpus in unlabelled.items()}
        label_index = {lab: i for i, lab in enumerate(self.labels)}
        source_features = self._cached(("source",), lambda: encode(self.source, tokenizer, self.task, p.max_length,
                                                                   label_index)) if "source" in mix else None
        dev_features = self._cached(("dev", lang), lambda: encode(self.dev[lang], tokenizer, self.task, p.max_length, None))
        labelled: dict[tuple, Corpus] = {}

        def labels_of(j, name):
            """Model j's labels of a set, computed once per model version (split across processes) and
            kept on disk; a labelling already on disk is read back."""
            folder = edir / "labels" / f"model{j}-{versions[j]}-{name}"
            key = (j, versions[j], name)
            if key not in labelled:
                if _exists(folder / "corpus.json"):
                    labelled[key] = Corpus.load(folder)
                else:
                    m, tok, labels, task = model(j)
                    feats, _, counts = encoded[name]
                    flat = predict_flat_sharded(m, tok, task, feats, counts, max_length=p.max_length)
                    labelled[key] = labeler.from_probs(unlabelled[name], flat, counts, labels, task,
                                                       folder=folder if distributed.is_main() else None)
            return labelled[key]

        if p.schedule == "frozen":
            order = [(l, [j for j in range(n) if j != l]) for l in range(n)]
        else:  # the authors' order: for k, for j != k, the third model learns from k and j
            order = [(3 - k - j, [k, j]) for k in range(3) for j in range(3) if j != k]
        finished = {step: _read_json(edir / f"student-{step}.json") for step in range(len(order))} \
            if p.schedule == "frozen" else {}
        if p.schedule == "frozen":
            # peers are the models as the epoch started: label with all of them first, so each
            # student can then train in place (no second copy of a model is loaded)
            for step, (l, peers) in enumerate(order):
                if finished.get(step) is None:
                    for j in peers:
                        for name in unlabelled:
                            labels_of(j, name)
        trained: set[int] = set()
        for step, (l, peers) in enumerate(order):
            sdir = edir / f"model-{l}"
            if finished.get(step) is not None:  # finished before an interruption
                report["students"].append(finished[step])
                continue
            selected, counts = {}, {}
            for name in unlabelled:
                kept = []
                for j in peers:
                    params = dict(p.distiller_params)
                    if "eta" in dist_fields:
                        params["eta"] = p.eta[e - 1]
                    res = distiller_cls(**params).filter(labels_of(j, name))
                    counts[f"{name}:distilled_by_{j}"] = res.kept
                    if res.notes:
                        counts[f"{name}:notes_{j}"] = res.notes
                    kept.append(res.corpus)
                agreed = kept[0]
                for other in kept[1:]:
                    res = agree.filter(agreed, other)
                    agreed = res.corpus
                counts[f"{name}:agreed"] = len(agreed)
                counts[f"{name}:total"] = len(unlabelled[name])
                selected[name] = self._training_features(agreed, encoded[name], label_index)
            datasets = [source_features if name == "source" else selected[name] for name in mix]
            student = model(l)
            trained.add(l)
            start_key = (lang, str(current[l]), versions[l])
            train = train_model(student[0], student[1], self.task, self.labels, datasets, self._settings(),
                                seed=derive_seed(ctx.seed, lang, e, step) % (2**31), dev=self.dev[lang],
                                start_is_candidate=True, device=ctx.device, dev_features=dev_features,
                                start_score=dev_scores.get(start_key))
            entry = {"student": l, "peers": peers, "counts": counts, "train": train}
            if p.schedule == "sequential":
                versions[l] = f"v{e - 1}s{step}"  # later pairs label with the updated model
                dev_scores[(lang, str(current[l]), versions[l])] = train.get("best_dev")
            dev_scores[(lang, str(sdir), f"v{e}")] = train.get("best_dev")
            if distributed.is_main():
                save_task_model(student[0], student[1], self.labels, self.task, sdir)
                if p.schedule == "frozen":
                    atomic_write_json(edir / f"student-{step}.json", entry)  # a resumed epoch skips this student
            report["students"].append(entry)
        distributed.barrier()  # the students' folders are written before anyone reads them
        report["dev"] = [s["train"].get("best_dev") for s in report["students"]]
        in_memory.clear()
        # the students as trained (and saved) here are the next epoch's start models
        self._kept_models = {str(edir / f"model-{j}"): loaded[j] for j in trained}
        return report

    def _cached(self, key, make):
        cache = self.__dict__.setdefault("_encodings", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    def _tokenizer(self, model_dir):
        if "_tok" not in self.__dict__:
            self._tok = load_tokenizer(str(model_dir))
        return self._tok

    def _encode(self, corpus: Corpus, tokenizer):
        """(features, example index by id, rows per example) of an unlabelled set."""
        from .tasks import encode_pairs, encode_words

        import numpy as np

        table = corpus.table()
        ids = table.column("id").to_pylist()
        if self.task == "tagging":
            words = table.column("tokens").to_pylist()
            feats = encode_words(words, tokenizer, self.params.max_length)
            counts = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        else:
            feats = encode_pairs([a or "" for a in table.column("text_a").to_pylist()], table.column("text_b").to_pylist(),
                                 tokenizer, self.params.max_length)
            counts = np.ones(len(ids), dtype=np.int64)
        return feats, {ex_id: i for i, ex_id in enumerate(ids)}, counts

    def _training_features(self, agreed: Corpus, encoded, label_index) -> list:
        """Features of the agreed examples with their agreed (pseudo) labels as targets."""
        feats, index, _ = encoded
        by_example: dict[int, list] = {}
        for f in feats:
            by_example.setdefault(f.example, []).append(f)
        table = agreed.table()
        out = []
        column = "tags" if self.task == "tagging" else "label"
        for ex_id, lab in zip(table.column("id").to_pylist(), table.column(column).to_pylist()):
            ids = [label_index[t] for t in lab] if self.task == "tagging" else [label_index[lab]]
            out.extend(f.with_labels(ids) for f in by_example[index[ex_id]])
        return out


def _exists(path: Path) -> bool:
    """Whether ``path`` exists as rank 0 sees it, so all processes take the same branch."""
    return distributed.broadcast(path.exists())


def _read_json(path: Path) -> dict | None:
    """The JSON at ``path`` as rank 0 read it (None if absent), the same on all processes."""
    return distributed.broadcast(json.loads(path.read_text()) if path.exists() else None)


def _print_results(results: dict, task: str) -> None:
    from rich.console import Console
    from rich.table import Table

    metric = "F1" if task == "tagging" else "accuracy"
    table = Table(title=f"MultiMix results ({metric} x 100)")
    for col in ("language", "set", "models", "mean ± std", "ensemble"):
        table.add_column(col)
    for lang, entry in results["languages"].items():
        for split in ("dev", "test"):
            if split in entry:
                r = entry[split]
                table.add_row(lang, split, " ".join(f"{100 * s:.1f}" for s in r["models"]),
                              f"{100 * r['mean']:.1f} ± {100 * r['std']:.1f}", f"{100 * r['ensemble']:.1f}")
    Console(stderr=True).print(table)
