"""MultiMix co-teaching (Algorithm 1), one adaptation per target language.

For every epoch e and every student l, its peers (the other models) label the unlabelled sets; each
peer's labels are distilled (confidence or GMM, η_e); the peers' selections are intersected where their
labels agree (co-guessing), and the student trains on the epoch's mixture with balanced sampling:

    e1 {D_s, D'_t}   e2 {D_t^aug}   e3 {D_s, D'_t, D_s^aug, D_t^aug}      (``mixtures``)

``schedule = "frozen"`` (default): peers are the models as they were at the start of the epoch, each
student trains once. ``"sequential"``: the authors' order — for k, for j≠k, train the third model with
peers k and j as they are now (later pairs see updated models). Each student is selected on target dev,
with the model it started from as a candidate.

Only source gold labels are used for training. Target gold labels serve dev selection and test only:
they are dropped from the target text and from its GEN-LM samples; for samples made with
``relabel = "masked"``, the "original tags" of untouched words are the labelling peer's labels of the
original sentence.

Progress is saved per epoch and per student (``<lang>/epoch-<e>/``), so ``--resume`` continues where a
run stopped; each model's labels of each set are computed once per model version and kept on disk.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any, Literal

import numpy as np

from augkit import (
    Corpus,
    DataError,
    Distiller,
    InputSpec,
    ModelEntry,
    ModelSet,
    StageScores,
    Trainer,
    atomic_write_json,
    build_params,
    derive_seed,
    distributed,
    generate_shards,
    metric_name,
    param,
    tasks,  # its training and inference names load torch on first use
)
from augkit.tasks import (
    TaskModel,
    TrainingParams,
    by_language,
    check_labels,
    check_max_length,
    encode,
    encode_pairs,
    encode_words,
    evaluate_models,
    load_task_model,
    load_tokenizer,
    require_labelled,
)

from .labeler import TaskModelLabeler, has_masked_samples

SETS = ("source", "target", "source_aug", "target_aug")


@dataclasses.dataclass
class CoTeachParams(TrainingParams):
    epochs: int = param(3, help="co-teaching epochs", ge=1, le=1000)
    eta: list[float] = param(
        [0.8, 1.0, 1.0],
        help="per epoch, the value of the distiller's threshold parameter "
        "(confidence: η, the share kept; gmm: posterior_threshold)",
    )
    mixtures: list[list[str]] = param(
        [["source", "target"], ["target_aug"], ["source", "target", "source_aug", "target_aug"]],
        help="training sets per epoch, from: source, target, source_aug, target_aug",
    )
    distiller: str = param(
        "confidence", help="the distiller (augkit.Distiller) of each peer's labels: confidence or gmm"
    )
    distiller_params: dict[str, Any] = param(
        {}, help="the distiller's other parameters (its threshold comes from `eta`)"
    )
    alpha: float = param(0.7, help="α of the balanced multinomial sampler", ge=0)
    keep_checkpoints: Literal["all", "last"] = param(
        "all",
        help='"all": keep every epoch\'s models; "last": only the models a resume still needs (the last epoch\'s)',
    )
    schedule: Literal["frozen", "sequential"] = param("frozen", help="peers frozen per epoch, or the authors' order")
    train_epochs: float = param(1.0, help="passes over the mixture per co-teaching epoch", gt=0, le=10**4)
    repair_iob: bool = param(False, help="repair IOB in pseudo labels")
    regenerate_per_epoch: bool = param(False, help="make GEN-LM samples anew each epoch (else use the *_aug inputs)")
    generator: str = param("vicinity", help="generator for regenerate_per_epoch")
    generator_params: dict[str, Any] = param({}, help="its parameters")

    def check(self, resolve=None):
        super().check()
        if len(self.eta) != self.epochs or len(self.mixtures) != self.epochs:
            raise ValueError(
                f"eta and mixtures need one entry per epoch ({self.epochs}); "
                f"got {len(self.eta)} and {len(self.mixtures)}"
            )
        for e, mix in enumerate(self.mixtures):
            for name in mix:
                if name not in SETS:
                    raise ValueError(f"mixtures[{e}]: unknown set {name!r}; expected one of {', '.join(SETS)}")
        if resolve is None:
            from augkit import resolve
        dist = resolve("filter", self.distiller, "distiller")
        if not issubclass(dist, Distiller):
            raise ValueError(
                f"distiller: {self.distiller!r} is a filter but not a distiller (an augkit.Distiller "
                "selects from one labelled corpus and names the parameter eta sets); use confidence "
                "or gmm, or a plugin's distiller"
            )
        if not dist.threshold:
            raise ValueError(f"distiller: {self.distiller!r} declares no threshold parameter for eta to set")
        if dist.threshold in self.distiller_params:
            raise ValueError(
                f"distiller_params.{dist.threshold}: eta sets it, one value per epoch; remove it "
                "here and write the values in eta"
            )
        for e, value in enumerate(self.eta):  # each epoch's value, as the distiller's own parameter
            build_params(
                dist.Params,
                {**self.distiller_params, dist.threshold: value},
                where=f"eta[{e}] (sets {self.distiller}.{dist.threshold}); distiller_params",
                resolve=resolve,
            )
        if self.regenerate_per_epoch:
            gen = resolve("generator", self.generator, "generator")
            build_params(gen.Params, self.generator_params, where="generator_params", resolve=resolve)


@dataclasses.dataclass
class _Data:
    """The stage's inputs, checked, with target gold labels removed from everything that can train."""

    task: str
    labels: list[str]
    start_models: list[Path]
    source: list
    target: dict[str, Corpus]
    dev: dict[str, list]
    test: dict[str, list]
    source_aug: Corpus | None
    target_aug: dict[str, Corpus]


class _Memory:
    """What one co-teaching run keeps between epochs: the tokenizer all models share, encodings of sets
    that do not change, dev scores of model versions, and the models the last epoch ended with."""

    def __init__(self):
        self.tokenizer = None
        self.encodings: dict[tuple, Any] = {}
        self.dev_scores: dict[tuple, float | None] = {}
        self.models: dict[str, TaskModel] = {}

    def cached(self, key: tuple, make):
        if key not in self.encodings:
            self.encodings[key] = make()
        return self.encodings[key]


class _Epoch:
    """One epoch of one language: its sets, the models as they stand (``versions`` name them), and each
    model version's labels of each set (computed once, shared between processes, kept on disk)."""

    def __init__(
        self,
        trainer: "CoTeachingTrainer",
        ctx,
        data: _Data,
        memory: _Memory,
        lang: str,
        e: int,
        start: list[Path],
        edir: Path,
        sets: dict[str, Corpus],
    ):
        self.trainer, self.ctx, self.data, self.memory = trainer, ctx, data, memory
        self.lang, self.e, self.start, self.edir, self.sets = lang, e, start, edir, sets
        self.versions = [f"v{e - 1}"] * len(start)
        self.loaded: dict[int, TaskModel] = {}
        self.labelled: dict[tuple, Corpus] = {}
        self.labeler = TaskModelLabeler(repair_iob=trainer.params.repair_iob, max_length=trainer.params.max_length)

    def model(self, j: int) -> TaskModel:
        """Model j as it stands (kept in memory from the last epoch, or read from disk)."""
        if j not in self.loaded:
            kept = self.memory.models.pop(str(self.start[j]), None)
            self.loaded[j] = kept or load_task_model(self.start[j], self.data.task, device=self.ctx.device)
        return self.loaded[j]

    def encoded(self, name: str):
        """(features, example index by id, rows per example) of an unlabelled set, encoded once."""
        regenerated = self.trainer.params.regenerate_per_epoch and name.endswith("_aug")
        key = ("set", self.lang, name, self.e if regenerated else 0)
        return self.memory.cached(
            key, lambda: self.trainer._encode(self.sets[name], self.memory.tokenizer, self.data.task)
        )

    def labels_of(self, j: int, name: str) -> Corpus:
        """Model j's labels of a set, split across processes; a labelling already on disk is read back."""
        folder = self.edir / "labels" / f"model{j}-{self.versions[j]}-{name}"
        key = (j, self.versions[j], name)
        if key not in self.labelled:
            if _exists(folder / Corpus.META_FILE):
                self.labelled[key] = Corpus.load(folder)
            else:
                tm = self.model(j)
                feats, _, counts = self.encoded(name)
                corpus = self.sets[name]
                if name == "target_aug" and has_masked_samples(corpus.table()):
                    corpus = self._peer_orig_tags(j, corpus)
                flat = tasks.predict_flat_sharded(tm, feats, counts, max_length=self.trainer.params.max_length)
                self.labelled[key] = self.labeler.from_probs(
                    corpus, flat, counts, tm.labels, tm.task, folder=folder if distributed.is_main() else None
                )
        return self.labelled[key]

    def _peer_orig_tags(self, j: int, samples: Corpus) -> Corpus:
        """Target samples whose untouched words keep "original tags": those are model j's labels of the
        original target sentence, never its gold tags."""
        import pyarrow as pa

        peer = self.labels_of(j, "target").table()
        tags_of = dict(zip(peer.column("id").to_pylist(), peer.column("tags").to_pylist()))
        table = samples.table()
        orig = [tags_of.get(src, []) for src in table.column("source_id").to_pylist()]
        table = table.set_column(
            table.schema.get_field_index("orig_tags"), "orig_tags", pa.array(orig, pa.list_(pa.string()))
        )
        return Corpus.from_table(table, samples.labels, samples.name)


class CoTeachingTrainer(Trainer):
    """MultiMix's multi-epoch co-teaching with co-distillation and co-guessing (Algorithm 1).

    Writes ``<lang>/epoch-<e>/`` (students ``model-<k>``, labels, ``report.json``), ``results.json``
    (per language: dev/test of each final model, mean ± std, ensemble; the epochs' reports) and
    ``models.json`` (the final models of every language; the best target-dev one is selected)."""

    name = "multimix-coteach"
    Params = CoTeachParams
    params: CoTeachParams
    supports_distributed = True  # every process trains data-parallel; rank 0 writes
    example_types = ("tagging", "pair")
    inputs = {
        "models": InputSpec("model", help="the warm-up stage (its task models)"),
        "source": InputSpec("corpus", help="labelled source training data"),
        "target": InputSpec(
            "corpus", many=True, help="unlabelled target-language training text, one corpus per language"
        ),
        "target_dev": InputSpec("corpus", many=True, help="labelled target dev sets (model selection)"),
        "target_test": InputSpec("corpus", many=True, required=False, help="labelled target test sets"),
        "source_aug": InputSpec("corpus", required=False, help="GEN-LM samples of the source training sentences"),
        "target_aug": InputSpec(
            "corpus", many=True, required=False, help="GEN-LM samples of the target training sentences"
        ),
    }

    # checks ------------------------------------------------------------------------------------------
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
                raise DataError(
                    f"target language {lang!r} has no dev set (target_dev); it is needed for model selection"
                )
        for lang in list(devs) + list(tests):
            if lang not in targets:
                raise DataError(f"target language {lang!r} has dev/test data but no training text in `target`")
        for lang, c in devs.items():
            require_labelled(f"target_dev[{lang}]", list(c))
            if labels:
                check_labels({f"target_dev[{lang}]": list(c)}, labels, "tagging" if c.types == ["tagging"] else "pair")
        for lang, c in tests.items():
            require_labelled(f"target_test[{lang}]", list(c))

    def _prepare(self, ctx) -> _Data:
        p = self.params
        warm = ModelSet.of(ctx.inputs["models"])
        if warm.task is None or warm.labels is None:
            raise DataError(
                "co-teaching starts from a warm-up stage's model set (task and labels unknown here)",
                path=str(warm.folder or warm.best.path),
            )
        start = [Path(m.path) for m in warm]
        if len(start) < 2:
            raise DataError(
                f"co-teaching needs at least 2 task models, the warm-up made {len(start)}", path=str(warm.folder)
            )
        if p.schedule == "sequential" and len(start) != 3:
            raise DataError(
                f'schedule = "sequential" is defined for 3 models, the warm-up made {len(start)}', path=str(warm.folder)
            )
        try:  # the models come from a stage, so their input length is known only now
            check_max_length(str(start[0]), p.max_length)
        except ValueError as e:
            raise DataError(f"{e}; set the co-teaching stage's max_length", path=str(start[0])) from None
        self._check(ctx.inputs, warm.labels)
        source = list(ctx.inputs["source"])
        check_labels({"source": source}, warm.labels, warm.task)
        needed = {name for mix in p.mixtures for name in mix}
        data = _Data(
            task=warm.task,
            labels=warm.labels,
            start_models=start,
            source=source,
            target={l: _without_gold(c, f"target-{l}") for l, c in by_language(ctx.inputs["target"]).items()},
            dev={l: list(c) for l, c in by_language(ctx.inputs["target_dev"]).items()},
            test={l: list(c) for l, c in by_language(ctx.inputs["target_test"]).items()}
            if "target_test" in ctx.inputs
            else {},
            source_aug=ctx.inputs.get("source_aug"),
            target_aug={
                l: _without_gold(c, f"target_aug-{l}") for l, c in by_language(ctx.inputs["target_aug"]).items()
            }
            if "target_aug" in ctx.inputs
            else {},
        )
        if not p.regenerate_per_epoch:
            if "source_aug" in needed and data.source_aug is None:
                raise DataError(
                    "the mixtures use source_aug but the stage has no source_aug input "
                    "(add a vicinity generate stage, or set regenerate_per_epoch = true)"
                )
            missing = [l for l in data.target if l not in data.target_aug]
            if "target_aug" in needed and missing:
                raise DataError(f"the mixtures use target_aug but there are no GEN-LM samples for {', '.join(missing)}")
        return data

    # the algorithm -------------------------------------------------------------------------------------
    def estimate(self, est):
        """``augkit plan``: per target language and epoch, the peers label the mixture's unlabelled sets and
        each student trains on the mixture — the distilled sets counted at η of their size (agreement
        between peers keeps fewer: an upper bound) — and is evaluated on target dev; tests at the end."""
        from augkit.costs import DataSize, StageCost, checkpoint_bytes, inference_work, training_advice, training_work

        p = self.params
        models = est.inputs.get("models")
        shape = getattr(models, "shape", None)
        if shape is None:
            return None
        n = models.count
        source, source_aug = est.size("source"), est.size("source_aug")
        targets = est.inputs.get("target") or []

        def per_language(key: str, i: int) -> DataSize:
            values = est.inputs.get(key) or []
            return values[i] if i < len(values) and isinstance(values[i], DataSize) else DataSize(0, 0.0)

        cost = StageCost(examples=source.examples + sum(getattr(t, "examples", 0) for t in targets))
        students = len(self._schedule(n))
        for i, target in enumerate(targets):
            sets = {
                "source": source,
                "target": target,
                "source_aug": source_aug,
                "target_aug": per_language("target_aug", i),
            }
            dev, test = per_language("target_dev", i), per_language("target_test", i)
            for e, mix in enumerate(p.mixtures):
                eta = p.eta[e]
                pseudo = [name for name in mix if name != "source"]
                for name in pseudo:
                    cost.work.append(
                        inference_work(
                            f"lang {i} epoch {e + 1} label {name}", shape, est.hw, sets[name], p.max_length, passes=n
                        )
                    )
                kept = [
                    DataSize(int(sets[name].examples * (1.0 if name == "source" else eta)), sets[name].words)
                    for name in mix
                ]
                total = sum(d.examples for d in kept)
                mixture = DataSize(total, sum(d.examples * d.words for d in kept) / total if total else 0.0)
                for s in range(students):
                    work = training_work(f"lang {i} epoch {e + 1} student {s}", shape, est.hw, p, mixture)
                    evaluations = (work.steps // p.eval_steps if p.eval_steps else 0) + 1
                    cost.work += [
                        work,
                        inference_work(
                            f"lang {i} epoch {e + 1} student {s} dev",
                            shape,
                            est.hw,
                            dev,
                            p.max_length,
                            passes=evaluations,
                        ),
                    ]
            cost.work.append(inference_work(f"lang {i} test", shape, est.hw, test, p.max_length, passes=n))
            kept_models = n * (p.epochs if p.keep_checkpoints == "all" else 1)
            cost.disk_bytes += kept_models * checkpoint_bytes(shape)
        cost.notes.append(
            f"distilled sets counted at η of their size ({', '.join(map(str, p.eta))}); "
            "agreement between peers keeps fewer"
        )
        if cost.work:
            cost.advice = training_advice(next(w for w in cost.work if w.steps or w is cost.work[-1]), est.hw)
        return cost

    def run_stage(self, ctx) -> dict:
        distributed.ensure_process_group(ctx.device)
        data = self._prepare(ctx)
        memory = _Memory()
        memory.tokenizer = load_tokenizer(data.start_models[0])  # all task models share their encoder's
        results: dict[str, Any] = {"task": data.task, "languages": {}, "epochs": {}}
        for lang in sorted(data.target):
            final, results["epochs"][lang] = self._adapt(ctx, data, memory, lang)
            if distributed.is_main():  # the final evaluation is rank 0's
                results["languages"][lang] = self._evaluate(ctx, data, memory, lang, final)
            memory.models.clear()
        if not distributed.is_main():
            return {}
        atomic_write_json(ctx.out_dir / "results.json", results)
        tested = {lang: e["test"]["models"] for lang, e in results["languages"].items() if "test" in e}
        if tested:
            StageScores(
                metric_name(data.task),
                {"MultiMix": tested},
                sizes={lang: e["test"]["n"] for lang, e in results["languages"].items() if "test" in e},
            ).write(ctx.out_dir)
        self._model_set(ctx, data, results).write(ctx.out_dir)
        stats: dict[str, Any] = {}
        for lang, entry in results["languages"].items():
            if "test" in entry:
                stats[f"test_{lang}_mean"] = round(entry["test"]["mean"], 4)
                stats[f"test_{lang}_ensemble"] = round(entry["test"]["ensemble"], 4)
        return stats

    def _adapt(self, ctx, data: _Data, memory: _Memory, lang: str) -> tuple[list[Path], list[dict]]:
        """All epochs for one target language, each resumed from disk if it finished; returns the final
        models' folders and the epochs' reports."""
        p = self.params
        current, reports = list(data.start_models), []
        for e in range(1, p.epochs + 1):
            edir = ctx.out_dir / lang / f"epoch-{e}"
            done = edir / "report.json"
            if not _exists(done):
                report = self._epoch(ctx, data, memory, lang, e, current, edir)
                if distributed.is_main():
                    atomic_write_json(done, report)
                distributed.barrier()  # the epoch's models and report are on disk for every process
            reports.append(json.loads(done.read_text()))
            previous, current = current, [edir / f"model-{k}" for k in range(len(current))]
            if p.keep_checkpoints == "last" and e > 1 and distributed.is_main():
                for folder in previous:  # a resume needs only the last finished epoch's models
                    shutil.rmtree(folder, ignore_errors=True)
            if ctx.is_main:
                ctx.log.info("%s epoch %d: target dev %s", lang, e, [round(s, 4) for s in reports[-1]["dev"]])
        return current, reports

    def _epoch(self, ctx, data: _Data, memory: _Memory, lang: str, e: int, current: list[Path], edir: Path) -> dict:
        """Algorithm 1, one epoch: (1) the unlabelled sets of the mixture; (2) for each student in the
        schedule, (3) its peers' labels, (4) distilled per peer and (5) agreed between peers, then (6) the
        student trains on the mixture, selected on target dev."""
        p = self.params
        mix = p.mixtures[e - 1]
        epoch = _Epoch(self, ctx, data, memory, lang, e, current, edir, self._unlabelled_sets(ctx, data, lang, e, edir))
        pseudo = [name for name in mix if name != "source"]
        order = self._schedule(len(current))
        finished = (
            {step: _read_json(edir / f"student-{step}.json") for step in range(len(order))}
            if p.schedule == "frozen"
            else {}
        )
        if p.schedule == "frozen":
            # peers are the models as the epoch started: label with all of them first, so each student
            # can then train in place (no second copy of a model is loaded)
            for step, (_, peers) in enumerate(order):
                if finished.get(step) is None:
                    for j in peers:
                        for name in pseudo:
                            epoch.labels_of(j, name)
        report: dict[str, Any] = {"epoch": e, "mixture": mix, "eta": p.eta[e - 1], "students": [], "dev": []}
        trained: set[int] = set()
        for step, (student, peers) in enumerate(order):
            if finished.get(step) is not None:  # finished before an interruption
                report["students"].append(finished[step])
                continue
            selected: dict[str, Any] = {}
            counts: dict[str, Any] = {}
            for name in pseudo:
                agreed = self._co_guess(
                    ctx,
                    [self._distil(ctx, epoch.labels_of(j, name), e, counts, f"{name}:distilled_by_{j}") for j in peers],
                    counts,
                    name,
                )
                counts[f"{name}:total"] = len(epoch.sets[name])
                selected[name] = self._training_features(data, agreed, epoch.encoded(name))
            train = self._train_student(ctx, data, memory, epoch, student, step, mix, selected)
            trained.add(student)
            entry = {"student": student, "peers": peers, "counts": counts, "train": train}
            if distributed.is_main():
                epoch.model(student).save(edir / f"model-{student}")
                if p.schedule == "frozen":
                    atomic_write_json(edir / f"student-{step}.json", entry)  # a resumed epoch skips this student
            report["students"].append(entry)
        distributed.barrier()  # the students' folders are written before anyone reads them
        report["dev"] = [s["train"].get("best_dev") for s in report["students"]]
        # the students as trained (and saved) here are the next epoch's start models
        memory.models = {str(edir / f"model-{j}"): epoch.loaded[j] for j in trained}
        return report

    def _schedule(self, n: int) -> list[tuple[int, list[int]]]:
        """(student, peers) in training order."""
        if self.params.schedule == "frozen":
            return [(l, [j for j in range(n) if j != l]) for l in range(n)]
        # the authors' order: for k, for j != k, the third model learns from k and j
        return [(3 - k - j, [k, j]) for k in range(3) for j in range(3) if j != k]

    def _distil(self, ctx, labelled: Corpus, e: int, counts: dict, key: str) -> Corpus:
        """One peer's labels, distilled with the epoch's η (co-distillation)."""
        p = self.params
        cls = ctx.resolve("filter", p.distiller)
        res = cls(**{**p.distiller_params, cls.threshold: p.eta[e - 1]}).filter(labelled)
        counts[key] = res.kept
        if res.notes:
            counts[key.replace("distilled_by", "notes")] = res.notes
        return res.corpus

    def _co_guess(self, ctx, kept: list[Corpus], counts: dict, name: str) -> Corpus:
        """The examples every peer kept with identical labels (co-guessing)."""
        agree = ctx.resolve("filter", "agreement")()
        agreed = kept[0]
        for other in kept[1:]:
            agreed = agree.filter(agreed, other).corpus
        counts[f"{name}:agreed"] = len(agreed)
        return agreed

    def _train_student(
        self, ctx, data: _Data, memory: _Memory, epoch: _Epoch, student: int, step: int, mix: list[str], selected: dict
    ) -> dict:
        """Train the student in place on the epoch's mixture, selected on target dev (its start a candidate)."""
        p = self.params
        tm = epoch.model(student)
        source = (
            memory.cached(
                ("source",), lambda: encode(data.source, memory.tokenizer, data.task, p.max_length, tm.label_index)
            )
            if "source" in mix
            else None
        )
        dev_features = memory.cached(
            ("dev", epoch.lang), lambda: encode(data.dev[epoch.lang], memory.tokenizer, data.task, p.max_length, None)
        )
        start_key = (epoch.lang, str(epoch.start[student]), epoch.versions[student])
        train = tasks.train_model(
            tm,
            [source if name == "source" else selected[name] for name in mix],  # type: ignore[misc]
            p,
            seed=derive_seed(ctx.seed, epoch.lang, epoch.e, step) % (2**31),
            alpha=p.alpha,
            dev=data.dev[epoch.lang],
            dev_features=dev_features,
            start_is_candidate=True,
            start_score=memory.dev_scores.get(start_key),
            ctx=ctx,
            hooks=self.hooks,
            name=f"{epoch.lang}/epoch-{epoch.e}/model-{student}",
        )
        if p.schedule == "sequential":
            epoch.versions[student] = f"v{epoch.e - 1}s{step}"  # later pairs label with the updated model
            memory.dev_scores[(epoch.lang, str(epoch.start[student]), epoch.versions[student])] = train.get("best_dev")
        memory.dev_scores[(epoch.lang, str(epoch.edir / f"model-{student}"), f"v{epoch.e}")] = train.get("best_dev")
        return train

    # data -----------------------------------------------------------------------------------------------
    def _unlabelled_sets(self, ctx, data: _Data, lang: str, e: int, edir: Path) -> dict[str, Corpus]:
        """D'_t and the GEN-LM samples (given, or made anew for this epoch)."""
        p = self.params
        sets = {"target": data.target[lang]}
        if p.regenerate_per_epoch:
            gen = ctx.resolve("generator", p.generator)(**p.generator_params)
            for name, base in (("source_aug", Corpus.from_examples(data.source)), ("target_aug", data.target[lang])):
                folder = edir / f"generated-{name}"
                if not _exists(folder / Corpus.META_FILE):  # every process makes its shards; rank 0 joins them
                    generate_shards(
                        gen,
                        base,
                        folder,
                        seed=derive_seed(ctx.seed, "generate", lang, e, name),
                        ctx=ctx,
                        rank=distributed.rank(),
                        world_size=distributed.world_size(),
                    )
                    distributed.barrier()
                generated = Corpus.load(folder)
                sets[name] = generated if name == "source_aug" else _without_gold(generated, generated.name)
        else:
            if data.source_aug is not None:
                sets["source_aug"] = data.source_aug
            if lang in data.target_aug:
                sets["target_aug"] = data.target_aug[lang]
        return sets

    def _encode(self, corpus: Corpus, tokenizer, task: str):
        """(features, example index by id, rows per example) of an unlabelled set."""
        table = corpus.table()
        ids = table.column("id").to_pylist()
        if task == "tagging":
            words = table.column("tokens").to_pylist()
            feats = encode_words(words, tokenizer, self.params.max_length)
            counts = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        else:
            feats = encode_pairs(
                [a or "" for a in table.column("text_a").to_pylist()],
                table.column("text_b").to_pylist(),
                tokenizer,
                self.params.max_length,
            )
            counts = np.ones(len(ids), dtype=np.int64)
        return feats, {ex_id: i for i, ex_id in enumerate(ids)}, counts

    @staticmethod
    def _training_features(data: _Data, agreed: Corpus, encoded) -> list:
        """Features of the agreed examples with their agreed (pseudo) labels as targets."""
        feats, index, _ = encoded
        by_example: dict[int, list] = {}
        for f in feats:
            by_example.setdefault(f.example, []).append(f)
        label_index = {lab: i for i, lab in enumerate(data.labels)}
        table = agreed.table()
        out: list[Any] = []
        column = "tags" if data.task == "tagging" else "label"
        for ex_id, lab in zip(table.column("id").to_pylist(), table.column(column).to_pylist()):
            ids = [label_index[t] for t in lab] if data.task == "tagging" else [label_index[lab]]
            out.extend(f.with_labels(ids) for f in by_example[index[ex_id]])
        return out

    # results ----------------------------------------------------------------------------------------------
    def _evaluate(self, ctx, data: _Data, memory: _Memory, lang: str, final: list[Path]) -> dict:
        models = [memory.models.get(str(m)) or load_task_model(m, data.task, device=ctx.device) for m in final]
        entry = {
            "dev": evaluate_models(models, data.dev[lang], self.params.max_length),
            "final_models": [str(m.relative_to(ctx.out_dir)) for m in final],
        }
        if lang in data.test:
            entry["test"] = evaluate_models(models, data.test[lang], self.params.max_length)
        return entry

    @staticmethod
    def _model_set(ctx, data: _Data, results: dict) -> ModelSet:
        entries = []
        for lang, entry in results["languages"].items():
            for k, folder in enumerate(entry["final_models"]):
                scores = {"target_dev": entry["dev"]["models"][k]}
                if "test" in entry:
                    scores["target_test"] = entry["test"]["models"][k]
                entries.append(ModelEntry(f"{lang}/model-{k}", str(ctx.out_dir / folder), lang=lang, scores=scores))
        return ModelSet.selecting_best(
            entries, "target_dev", task=data.task, labels=data.labels, note=" (over all languages; see for_lang)"
        )


def _without_gold(corpus: Corpus, name: str | None) -> Corpus:
    """The corpus with every gold label removed (tags, class, original tags): target text trains only
    through pseudo labels."""
    import pyarrow as pa

    table = corpus.table()
    n = table.num_rows
    empty = pa.array([[]] * n, pa.list_(pa.string()))
    table = table.set_column(table.schema.get_field_index("tags"), "tags", empty)
    table = table.set_column(table.schema.get_field_index("orig_tags"), "orig_tags", empty)
    table = table.set_column(table.schema.get_field_index("label"), "label", pa.nulls(n, pa.string()))
    return Corpus.from_table(table, corpus.labels, name)


def _exists(path: Path) -> bool:
    """Whether ``path`` exists as rank 0 sees it, so all processes take the same branch."""
    return distributed.broadcast(path.exists())


def _read_json(path: Path) -> dict | None:
    """The JSON at ``path`` as rank 0 read it (None if absent), the same on all processes."""
    return distributed.broadcast(json.loads(path.read_text()) if path.exists() else None)
