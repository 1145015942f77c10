"""The shared task layer (augkit.tasks) on tiny real models: task models and their files, QA features
and metrics, the Trainer factory (hooks' losses and callbacks, precision, progress, loss logging), model
sets."""
import json
import logging

import numpy as np
import pytest
import torch

from augkit import Corpus, DataError, Example, ModelEntry, ModelSet, ParamError, StageContext, TrainerHook
from augkit.progress import Progress
from augkit.tasks import (TrainingParams, encode_qa, evaluate, load_task_model, precision_flags, predict_answers,
                          squad_f1_em, train_model)

LABELS = ["O", "B-PER", "I-PER", "B-LOC"]


def sentences(n=24):
    names, places = ["Anna", "Peter", "Maria", "Jonas"], ["Berlin", "Paris", "Rom"]
    out = []
    for i in range(n):
        out.append(Example(f"s{i}", tokens=[names[i % 4], "lives", "in", places[i % 3]], tags=["B-PER", "O", "O", "B-LOC"]))
    return out


def test_a_saved_task_model_is_a_plain_hf_folder_with_its_labels_in_the_config(tmp_path):
    tm = load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=3)
    folder = tm.save(tmp_path / "m")
    files = {p.name for p in folder.iterdir()}
    assert "model.safetensors" in files and not any(f.endswith((".bin", ".pt", ".json.tmp")) for f in files)
    assert "augkit_task.json" not in files  # no side file: the config says it all
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {str(i): l for i, l in enumerate(LABELS)}
    back = load_task_model(folder)  # task and labels come from the folder
    assert back.task == "tagging" and back.labels == LABELS
    assert torch.equal(back.model.classifier.weight, tm.model.classifier.weight)
    with pytest.raises(DataError, match="differ from the expected"):
        load_task_model(folder, labels=["O", "B-X"])
    with pytest.raises(DataError, match="this is a tagging model, a pair model was expected"):
        load_task_model(folder, "pair")
    with pytest.raises(DataError, match="needs a task"):
        load_task_model("augkit:tiny-xlmr")


QA_CONTEXT = ("Anna lives in Berlin and works in Paris . Peter lives in Rom . " * 3).strip()


def qa_examples():
    return [Example("q1", type="qa", question="Where does Peter live ?", context=QA_CONTEXT,
                    answers=[{"text": "Rom", "start": QA_CONTEXT.index("Rom")}]),
            Example("q2", type="qa", question="Where does Anna work ?", context=QA_CONTEXT,
                    answers=[{"text": "Paris", "start": QA_CONTEXT.index("Paris")}])]


def test_qa_windows_overlap_and_point_at_the_answer_or_at_the_first_token():
    tok = load_task_model("augkit:tiny-xlmr", "qa").tokenizer
    feats = encode_qa(qa_examples(), tok, max_length=32, doc_stride=8, with_answers=True)
    assert len(feats) > 2 and all(len(f.input_ids) <= 32 for f in feats)
    for ex_index, ex in enumerate(qa_examples()):
        mine = [f for f in feats if f.example == ex_index]
        with_answer = [f for f in mine if f.start_position > 0]
        assert with_answer, "some window holds the answer"
        for f in with_answer:  # the target tokens spell the answer
            text = ex.context[f.offsets[f.start_position, 0]:f.offsets[f.end_position, 1]]
            assert text == ex.answers[0]["text"]
        assert all(f.end_position == 0 for f in mine if f.start_position == 0)


def test_squad_f1_and_exact_match_follow_the_squad_definition():
    f1, em = squad_f1_em(["the Eiffel Tower", "Tower", "nothing"], [["Eiffel Tower"], ["Eiffel Tower", "tower"], ["x"]])
    assert em == pytest.approx(2 / 3)           # articles and case are normalised away
    assert f1 == pytest.approx((1 + 1 + 0) / 3)  # the best gold answer counts
    f1, _ = squad_f1_em(["big red Tower"], [["Eiffel Tower"]])
    assert f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_a_qa_model_trains_and_extracts_answers(tmp_path):
    tm = load_task_model("augkit:tiny-xlmr", "qa", seed=1)
    params = TrainingParams(learning_rate=3e-3, batch_size=4, max_steps=30, max_length=48, logging_steps=10)
    report = train_model(tm, [qa_examples() * 4], params, seed=1, dev=qa_examples())
    assert report["steps"] == 30 and [e["step"] for e in report["log"]] == [10, 20, 30]
    answers = predict_answers(tm, qa_examples(), max_length=48, doc_stride=16)
    assert len(answers) == 2 and all(a in QA_CONTEXT for a in answers)
    assert 0.0 <= evaluate(tm, qa_examples(), max_length=48) <= 1.0
    assert report["best_dev"] == max(h["dev"] for h in report["history"])


class CountingHook(TrainerHook):
    """A trainer hook whose callback counts steps and whose extra loss is a constant."""

    name = "counting"

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.steps, self.began = 0, False

    def extra_loss(self, *, model, inputs, outputs, labels):
        return outputs.logits.sum() * 0 + 0.25

    def callbacks(self):
        from transformers import TrainerCallback

        hook = self

        class Count(TrainerCallback):
            def on_train_begin(self, args, state, control, **kw):
                hook.began = True

            def on_step_end(self, args, state, control, **kw):
                hook.steps += 1

        return [Count()]


def test_trainer_hooks_add_their_loss_and_their_callbacks_are_called(tmp_path):
    tm = load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=0)
    hook = CountingHook()
    params = TrainingParams(learning_rate=1e-3, batch_size=4, max_steps=6, logging_steps=2, max_length=32)
    report = train_model(tm, [sentences()], params, seed=0, hooks=[hook])
    assert hook.began and hook.steps == 6
    assert [e["step"] for e in report["log"]] == [2, 4, 6]
    assert all(e[hook.display_name()] == pytest.approx(0.25) for e in report["log"])  # logged under its name


def test_training_shows_progress_and_logs_its_loss_to_the_stage_log(tmp_path, capsys):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    log = logging.getLogger("augkit.stage.test-progress")
    log.addHandler(Keep())
    log.setLevel(logging.INFO)
    ctx = StageContext(name="t", out_dir=tmp_path, seed=0, inputs={}, log=log,
                       progress=Progress(log, interactive=False, interval_s=0.0))
    tm = load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=0)
    params = TrainingParams(learning_rate=1e-3, batch_size=4, max_steps=4, logging_steps=2, max_length=32)
    train_model(tm, [sentences()], params, seed=0, ctx=ctx, name="model-x")
    assert any(r.startswith("train model-x step 2/4: loss") for r in records)
    assert any(r.startswith("train model-x: done, 4 steps") for r in records)
    assert "train model-x: 1/4 steps" in capsys.readouterr().err


def test_precision_follows_the_recipe():
    assert precision_flags("auto", "cpu") == {"bf16": False, "fp16": False}
    assert precision_flags("bf16", "cpu") == {"bf16": True, "fp16": False}
    assert precision_flags("fp32", "cuda:0") == {"bf16": False, "fp16": False}
    from augkit import RunError

    with pytest.raises(RunError, match="fp16.*needs a CUDA device"):
        precision_flags("fp16", "cpu")


def test_bf16_training_runs_on_cpu(tmp_path):
    ctx = StageContext(name="t", out_dir=tmp_path, seed=0, inputs={}, precision="bf16")
    tm = load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=0)
    params = TrainingParams(learning_rate=1e-3, batch_size=4, max_steps=2, max_length=32)
    report = train_model(tm, [sentences(8)], params, seed=0, ctx=ctx)
    assert report["steps"] == 2 and np.isfinite(report["log"][-1]["loss"])


def test_unknown_report_to_targets_are_refused_by_name():
    with pytest.raises(ParamError, match="report_to: 'nonesuch' is not an installed logging integration"):
        TrainingParams(report_to=["nonesuch"])


def test_a_model_set_round_trips_with_paths_relative_to_its_stage(tmp_path):
    (tmp_path / "models" / "a").mkdir(parents=True)
    ms = ModelSet([ModelEntry("a", str(tmp_path / "models" / "a"), seed=1, scores={"dev": 0.5}),
                   ModelEntry("b", str(tmp_path / "models" / "b"), seed=2, scores={"dev": 0.7})],
                  task="tagging", labels=LABELS, selected="b", selection="best dev")
    ms.write(tmp_path)
    raw = json.loads((tmp_path / "models.json").read_text())
    assert raw["models"][0]["path"] == "models/a" and raw["schema_version"] == 1
    moved = tmp_path.rename(tmp_path.with_name("moved"))
    back = ModelSet.load(moved)
    assert back.best.name == "b" and back.best.path == str(moved / "models" / "b") and back.labels == LABELS
    direct = ModelSet.of("xlm-roberta-large")  # a model named directly: a set of one
    assert len(direct) == 1 and direct.best.path == "xlm-roberta-large"
    with pytest.raises(DataError, match="no model set here"):
        ModelSet.load(moved / "models")


def test_encoding_ignores_padding_and_truncation_left_on_the_tokenizer_backend():
    """A tokenizer call with padding/truncation leaves them set on the Rust backend (and save_pretrained
    writes them into tokenizer.json). Features, and so predictions, must not depend on that: no pads
    counted as pieces, no cut sentences, the same result alone or in a batch; the backend is left as found."""
    from augkit.tasks import encode_words, predict_flat

    tm = load_task_model("augkit:tiny-xlmr", "tagging", ["O", "B-PER", "I-PER"], seed=0)
    sentences = [["Anna", "sleeps", "."], ["Peter", "and", "Maria", "walked", "to", "the", "old", "house", "."]]
    clean = encode_words(sentences, tm.tokenizer, 32)
    alone, _ = predict_flat(tm, words=sentences[:1], max_length=32)
    backend = tm.tokenizer.backend_tokenizer
    backend.enable_padding(pad_id=tm.tokenizer.pad_token_id, pad_token=tm.tokenizer.pad_token)
    backend.enable_truncation(max_length=4)
    try:
        stale = encode_words(sentences, tm.tokenizer, 32)
        batched, _ = predict_flat(tm, words=sentences, max_length=32)
        assert backend.padding is not None and backend.truncation["max_length"] == 4  # restored
    finally:
        backend.no_padding()
        backend.no_truncation()
    assert [f.input_ids.tolist() for f in stale] == [f.input_ids.tolist() for f in clean]
    assert len(clean[0].input_ids) < len(clean[1].input_ids)
    np.testing.assert_allclose(batched[:3], alone, atol=1e-5)


def test_training_frees_its_optimizer_state_when_it_ends_though_the_trainer_lives_on():
    """A stage trains its models one after another: the optimizer state (AdamW: twice the weights) of one
    must be gone before the next starts, not left to the garbage collector's next pass."""
    import weakref

    from transformers import TrainerCallback

    from augkit.tasks import DevSelection, FeatureDataset, build_trainer, encode, feature_collator, run_training

    tm = load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=0)
    feats = encode(sentences(8), tm.tokenizer, "tagging", 32, {l: i for i, l in enumerate(LABELS)})
    seen = {}

    class Watch(TrainerCallback):
        def on_train_begin(self, args, state, control, optimizer=None, **kw):
            seen["optimizer"] = weakref.ref(optimizer)
            seen["moment"] = None

        def on_step_end(self, args, state, control, optimizer=None, **kw):
            moments = [s["exp_avg"] for s in optimizer.state.values()]
            seen["moment"] = weakref.ref(moments[0])

    params = TrainingParams(learning_rate=1e-3, batch_size=4, max_steps=2, max_length=32)
    trainer = build_trainer(tm.model, params, train_dataset=FeatureDataset(feats), steps=2, seed=0,
                            data_collator=feature_collator(tm.tokenizer.pad_token_id), callbacks=[Watch()])
    selection = DevSelection(lambda m: 0.5)
    report = run_training(trainer, selection)
    assert report["steps"] == 2 and report["best_dev"] == 0.5
    assert seen["optimizer"]() is None and seen["moment"]() is None  # freed, with the trainer still held here
    assert trainer.model is None and selection.weights is None  # nor the model, nor dev selection's copy of it


def test_the_schedule_and_other_trainer_settings_reach_the_optimizer():
    """lr_scheduler_type and trainer_args (TrainingArguments' own names) are what the optimizer gets; names
    augkit sets, unknown names and wrong values are refused with where to look."""
    from transformers import TrainerCallback

    from augkit import build_params
    from augkit.tasks import FeatureDataset, build_trainer, encode, feature_collator, run_training

    tm = load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=0)
    feats = encode(sentences(8), tm.tokenizer, "tagging", 32, {l: i for i, l in enumerate(LABELS)})
    seen = []

    class Watch(TrainerCallback):
        def on_step_end(self, args, state, control, optimizer=None, lr_scheduler=None, **kw):
            seen.append((lr_scheduler.get_last_lr()[0], optimizer.param_groups[0]["betas"]))

    def lrs(**raw):
        seen.clear()
        params = build_params(TrainingParams, {"learning_rate": 1e-3, "batch_size": 4, "max_length": 32, **raw})
        run_training(build_trainer(tm.model, params, train_dataset=FeatureDataset(feats), steps=4, seed=0,
                                   data_collator=feature_collator(tm.tokenizer.pad_token_id), callbacks=[Watch()]))
        return [round(lr, 8) for lr, _ in seen], seen[0][1]

    linear, betas = lrs()
    assert linear == [7.5e-4, 5e-4, 2.5e-4, 0.0] and betas == (0.9, 0.999)  # transformers' defaults
    constant, betas = lrs(lr_scheduler_type="constant", trainer_args={"adam_beta1": 0.5, "adam_beta2": 0.98})
    assert constant == [1e-3] * 4 and betas == (0.5, 0.98)
    with pytest.raises(ParamError, match=r"lr_scheduler_type: 'cosin' is not a transformers schedule \(did you mean "
                                         r"\"cosine\"\?\)"):
        build_params(TrainingParams, {"lr_scheduler_type": "cosin"})
    with pytest.raises(ParamError, match=r"trainer_args.adam_beta3: not a transformers.TrainingArguments field "
                                         r"\(did you mean \"adam_beta2\"\?\).*trainer_args.seed: augkit sets it; use "
                                         r"the run's seed"):
        build_params(TrainingParams, {"trainer_args": {"adam_beta3": 0.9, "seed": 1}})
    with pytest.raises(ParamError, match=r"trainer_args.adam_beta2: expected float, got 'x'"):
        build_params(TrainingParams, {"trainer_args": {"adam_beta2": "x"}})
    with pytest.raises(ParamError, match=r"trainer_args: transformers refuses them: adamw_bogus"):
        build_params(TrainingParams, {"trainer_args": {"optim": "adamw_bogus"}})


def test_a_seed_ensemble_trainer_written_on_the_skeleton_trains_resumes_and_selects(tmp_path):
    """What a third-party plugin author writes: the params and how one member trains; the skeleton gives
    the seeds, the one-corpus training data, member-by-member resume and the model set."""
    import dataclasses

    from augkit import InputSpec, param
    from augkit.tasks import EnsembleParams, SeedEnsembleTrainer, Trained

    @dataclasses.dataclass
    class MyParams(EnsembleParams):
        n_models: int = param(3, ge=1)

    trained: list[str] = []

    class Ensemble(SeedEnsembleTrainer):
        name = "test-ensemble"
        Params = MyParams
        inputs = {"train": InputSpec("corpus", many=True)}

        def run_stage(self, ctx):
            p = self.params
            train = list(self.train_corpus(ctx.inputs["train"]))
            names = [f"model-{k}" for k in range(p.n_models)]
            reports = {}
            for name, seed in zip(names, p.member_seeds(ctx.seed)):
                def member(name=name, seed=seed):
                    trained.append(name)
                    tm = load_task_model(p.model, "tagging", LABELS, seed=seed)
                    report = train_model(tm, [train], p, seed=seed, dev=train)
                    return Trained({**report, "seed": seed}, tm.save)

                reports[name] = self.train_member(ctx, name, member)
            model_set = self.best_model_set(ctx, names, reports, task="tagging", labels=LABELS, score="dev",
                                            report_key="best_dev")
            model_set.write(ctx.out_dir)
            return reports

    halves = [Corpus.from_examples(sentences()[:12], name="a"), Corpus.from_examples(sentences()[12:], name="b")]
    kw = dict(model="augkit:tiny-xlmr", learning_rate=1e-3, batch_size=4, max_steps=4, max_length=32)
    trainer = Ensemble(MyParams(**kw))
    ctx = StageContext(name="e", out_dir=tmp_path, seed=5, inputs={"train": halves})
    reports = trainer.run_stage(ctx)
    assert trained == ["model-0", "model-1", "model-2"]
    seeds = [r["seed"] for r in reports.values()]
    assert len(set(seeds)) == 3 and seeds == MyParams(**kw).member_seeds(5)  # derived from the run seed, stable
    for name in reports:  # the model is saved beside its report
        assert load_task_model(tmp_path / "models" / name).labels == LABELS
        assert json.loads((tmp_path / "models" / name / "train_report.json").read_text())["seed"] == reports[name]["seed"]
    assert reports["model-0"]["mixture_sizes"] == [24]  # both corpora, as one
    saved = ModelSet.load(tmp_path)
    best = max(reports, key=lambda n: reports[n]["best_dev"])  # the first of equals, like max()
    assert saved.selected == best and saved.selection == "best dev"
    assert [m.seed for m in saved] == seeds and saved[best].scores == {"dev": reports[best]["best_dev"]}

    # resumed after model-1 finished: model-2's report is gone, so only model-2 trains again
    (tmp_path / "models" / "model-2" / "train_report.json").unlink()
    trained.clear()
    again = Ensemble(MyParams(**kw)).run_stage(ctx)
    assert trained == ["model-2"]
    assert again["model-0"] == json.loads(json.dumps(reports["model-0"]))

    with pytest.raises(ParamError, match=r"seeds: expected 3 seeds \(n_models\), got 2"):
        MyParams(**kw, seeds=[1, 2])
    assert MyParams(**kw, seeds=[7, 8, 9]).member_seeds(5) == [7, 8, 9]


def test_a_model_set_selects_the_best_scored_entry_or_the_first():
    entries = [ModelEntry("a", "/a", scores={"dev": 0.5}), ModelEntry("b", "/b", scores={}),
               ModelEntry("c", "/c", scores={"dev": 0.7}), ModelEntry("d", "/d", scores={"dev": 0.7})]
    chosen = ModelSet.selecting_best(entries, "dev", task="pair", labels=["x"], note=" (all)")
    assert (chosen.selected, chosen.selection, chosen.task) == ("c", "best dev (all)", "pair")  # first of equals
    unscored = ModelSet.selecting_best(entries[1:2], "dev", task=None, labels=None)
    assert (unscored.selected, unscored.selection) == ("b", "first")


def test_an_input_length_the_model_cannot_read_is_refused_before_anything_loads(tmp_path):
    """The built-in tiny XLM-R has 130 position embeddings; RoBERTa's positions start after the padding
    index, so it reads 128 subwords: 128 runs, 129 would fail deep in torch, so max_length 129 is refused
    at validation, naming the key, for every trainer with a model parameter."""
    from augkit.pretrained import resolve_model
    from augkit.tasks import usable_positions
    from augkit_multimix.warmup import WarmupParams
    from augkit_pretrain.trainer import PretrainParams
    from augkit_xmixup.trainer import XMixupParams
    from transformers import AutoConfig, AutoModelForMaskedLM

    folder = resolve_model("augkit:tiny-xlmr")
    model = AutoModelForMaskedLM.from_pretrained(folder).eval()
    usable = usable_positions(AutoConfig.from_pretrained(folder).to_dict())
    assert usable == 128
    with torch.no_grad():
        model(input_ids=torch.full((1, usable), 5))  # the longest input it reads
        with pytest.raises((IndexError, RuntimeError), match="out of"):  # one more fails inside torch
            model(input_ids=torch.full((1, usable + 1), 5))
    for Params in (WarmupParams, XMixupParams, PretrainParams):
        Params(model="augkit:tiny-xlmr", max_length=128)
        with pytest.raises(ParamError, match=r"max_length: expected at most 128 \(the model augkit:tiny-xlmr reads 128 "
                                             r"subwords at once\), got 129"):
            Params(model="augkit:tiny-xlmr", max_length=129)
    bert = tmp_path / "bert"  # no offset outside RoBERTa's family
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert", "max_position_embeddings": 512, "pad_token_id": 0}))
    WarmupParams(model=str(bert), max_length=512)
    with pytest.raises(ParamError, match="at most 512"):
        WarmupParams(model=str(bert), max_length=513)
    WarmupParams(model="stage:pretrain", max_length=4096)  # made by an earlier stage: not known yet
