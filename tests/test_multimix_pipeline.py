"""The whole MultiMix pipeline from one recipe on CPU (warm-up -> GEN-LM -> 3 co-teaching epochs ->
evaluation), its reports, resuming after a kill, degenerate selections and bad data."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from augkit import DataError
from augkit.recipe import load_recipe
from augkit.runner import Runner

ROOT = Path(__file__).resolve().parents[1]
XNER = ROOT / "recipes" / "multimix_xner_tiny.toml"
XNLI = ROOT / "recipes" / "multimix_xnli_tiny.toml"
# a lighter schedule for the tests; the recipe's own values are exercised by the demo
FAST = ["stages.warmup.params.max_steps=12", "stages.warmup.params.eval_steps=6", "stages.coteach.params.eval_steps=3"]
# co-teaching for German alone (half the work, for tests about the algorithm rather than languages)
GERMAN_ONLY = ["stages.coteach.inputs.target=['de_train']", "stages.coteach.inputs.target_dev=['de_dev']",
               "stages.coteach.inputs.target_test=['de_test']"]


@pytest.fixture(scope="module")
def xner_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("xner") / "run"
    Runner(load_recipe(XNER, FAST), out, interactive=False).run()
    return out


def test_full_pipeline_reports_every_language_model_mean_std_and_ensemble(xner_run):
    results = json.loads((xner_run / "stages" / "04-coteach" / "results.json").read_text())
    assert set(results["languages"]) == {"de", "es"}
    for lang, entry in results["languages"].items():
        test = entry["test"]
        assert len(test["models"]) == 3 and test["n"] == 6
        import statistics

        assert test["mean"] == pytest.approx(statistics.mean(test["models"]))
        assert test["std"] == pytest.approx(statistics.stdev(test["models"]))
        assert 0 <= test["ensemble"] <= 1
        epochs = results["epochs"][lang]
        assert [e["mixture"] for e in epochs] == [["source", "target"], ["target_aug"],
                                                  ["source", "target", "source_aug", "target_aug"]]
        for e in epochs:
            assert len(e["students"]) == 3
            for s in e["students"]:
                assert sorted(s["peers"] + [s["student"]]) == [0, 1, 2]
                for name in e["mixture"]:
                    if name != "source":
                        assert s["counts"][f"{name}:agreed"] <= min(s["counts"][f"{name}:distilled_by_{j}"] for j in s["peers"])
                assert s["train"]["history"][0]["step"] == 0  # the starting model was a candidate
    # η = 0.8 in epoch 1: each peer keeps floor(12 · 0.8) = 9 of the 12 German sentences
    first = results["epochs"]["de"][0]["students"][0]["counts"]
    assert first["target:total"] == 12 and all(first[f"target:distilled_by_{j}"] == 9 for j in (1, 2))


def test_models_are_safetensors_and_warmup_used_the_confidence_penalty(xner_run):
    stage = xner_run / "stages" / "01-warmup"
    for k in range(3):
        files = {p.name for p in (stage / "models" / f"model-{k}").iterdir()}
        assert "model.safetensors" in files and not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["hooks"] == [{"component": "confidence-penalty", "params": {"beta": 1.0, "average": "labelled"}}]
    warm = json.loads((stage / "warmup.json").read_text())
    assert len(set(warm["seeds"])) == 3 and set(warm["zero_shot_test"]) == {"de", "es"}


def test_killed_during_co_teaching_resumes_to_the_same_results(xner_run, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "augkit", "run", str(XNER), "-o", str(out), *sum((["--set", o] for o in FAST), [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = out / "stages" / "04-coteach" / "de" / "epoch-2" / "student-0.json"
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the run ended before reaching co-teaching epoch 2"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "stages" / "04-coteach" / "_SUCCESS").exists()
    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    log = (out / "run.log").read_text()
    assert "stage warmup: unchanged and complete, skipped" in log  # finished work is not redone
    a = json.loads((out / "stages" / "04-coteach" / "results.json").read_text())
    b = json.loads((xner_run / "stages" / "04-coteach" / "results.json").read_text())
    assert a["languages"] == b["languages"]
    epochs_a = [[s["counts"] for s in e["students"]] for e in a["epochs"]["de"]]
    epochs_b = [[s["counts"] for s in e["students"]] for e in b["epochs"]["de"]]
    assert epochs_a == epochs_b


def test_sentence_pair_pipeline_with_successive_cross(tmp_path):
    out = tmp_path / "nli"
    Runner(load_recipe(XNLI, ["stages.warmup.params.max_steps=8"]), out, interactive=False).run()
    results = json.loads((out / "stages" / "04-coteach" / "results.json").read_text())
    assert results["task"] == "pair" and len(results["languages"]["de"]["test"]["models"]) == 3
    gen = json.loads((out / "stages" / "02-gen_source" / "stats.json").read_text())
    assert gen["outputs"] == 4 * gen["augmented_inputs"]  # δ1 × δ2 = 2 × 2 per pair


def test_degenerate_selections_are_reported_not_fatal(tmp_path):
    overrides = FAST + ["stages.coteach.params.eta=[0.01, 0.01]", "stages.coteach.params.batch_size=64",
                        "stages.coteach.params.epochs=2", "stages.coteach.params.mixtures=[['source', 'target'], ['target_aug']]"]
    out = tmp_path / "run"
    Runner(load_recipe(XNER, overrides), out, interactive=False).run()
    results = json.loads((out / "stages" / "04-coteach" / "results.json").read_text())
    e1, e2 = results["epochs"]["de"]
    assert all(s["counts"]["target:agreed"] == 0 for s in e1["students"])
    assert all(s["train"]["mixture_sizes"][1] == 0 for s in e1["students"])  # source only, in one short batch
    assert all(s["train"].get("skipped") == "no training examples in the mixture" for s in e2["students"])
    assert all(s["train"]["kept_start_model"] for s in e2["students"])


def run_error(tmp_path, overrides):
    with pytest.raises(DataError) as e:
        Runner(load_recipe(XNER, overrides), tmp_path / "run", interactive=False).run()
    assert not (tmp_path / "run" / "stages").exists()  # nothing trained before the error
    return str(e.value)


def test_labels_outside_the_label_set_stop_the_run_before_training(tmp_path):
    msg = run_error(tmp_path, ["stages.warmup.params.labels=['O', 'B-PER', 'I-PER']"])
    assert "stage 'warmup'" in msg and "not in the label set" in msg


def test_target_dev_without_labels_is_refused_before_training(tmp_path):
    msg = run_error(tmp_path, ["data.de_dev.drop_labels=true"])
    assert "target_dev[de]: no example has gold labels" in msg


def test_a_target_language_without_dev_data_is_refused_before_training(tmp_path):
    msg = run_error(tmp_path, ["stages.coteach.inputs.target_dev=['de_dev']", "stages.coteach.inputs.target_test=['de_test']"])
    assert "target language 'es' has no dev set" in msg


def test_co_teaching_refuses_an_input_length_its_models_cannot_read_before_it_trains(xner_run, tmp_path):
    """Co-teaching's models come from the warm-up stage, so their input length (the tiny XLM-R reads 128
    subwords) is checked when the stage starts: max_length 200 stops it there, naming the key, with the
    warm-up's finished work kept and nothing of co-teaching written."""
    import shutil

    out = tmp_path / "run"
    shutil.copytree(xner_run, out)
    shutil.rmtree(out / "stages" / "04-coteach")
    with pytest.raises(DataError, match=r"max_length: expected at most 128 .*got 200; set the co-teaching stage's"):
        Runner(load_recipe(XNER, FAST + ["stages.coteach.params.max_length=200"]), out, resume=True,
               interactive=False).run()
    assert (out / "stages" / "01-warmup" / "_SUCCESS").exists()
    assert not list((out / "stages" / "04-coteach").glob("*/epoch-*"))


def test_full_size_recipes_validate(cli):
    for name in ("multimix_xner.toml", "multimix_xnli.toml"):
        assert "ok" in cli("validate", ROOT / "recipes" / name, check=0).stdout


def test_torchrun_two_processes_train_data_parallel_and_label_in_shards(tmp_path):
    """A real 2-process launch of the whole pipeline: warm-up and co-teaching train data-parallel through
    transformers' Trainer (replicas checked bit-identical), labelling is split between the processes and
    gathered, rank 0 writes; the run completes with the same layout and reports as one process."""
    import os

    import numpy as np

    from augkit import Corpus
    from augkit.tasks import load_task_model
    from augkit_multimix import TaskModelLabeler

    out = tmp_path / "run"
    args = [a for o in FAST for a in ("--set", o)]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "augkit", "run", str(XNER), "-o", str(out), *args],
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "stages" / "04-coteach" / "results.json").read_text())
    assert set(results["languages"]) == {"de", "es"} and len(results["languages"]["de"]["test"]["models"]) == 3
    warm = out / "stages" / "01-warmup" / "models"
    assert all(json.loads((warm / f"model-{k}" / "train_report.json").read_text())["processes"] == 2 for k in range(3))
    for lang in ("de", "es"):
        for e in results["epochs"][lang]:
            assert [s["train"]["processes"] for s in e["students"]] == [2, 2, 2]
    # the labels the two processes made in halves equal one process labelling the whole set
    target = Corpus.load(out / "data" / "de_train")
    target = Corpus.from_examples([ex.replace(tags=[]) for ex in target])
    sharded = Corpus.load(out / "stages" / "04-coteach" / "de" / "epoch-1" / "labels" / "model0-v0-target")
    whole = TaskModelLabeler(max_length=64).label(target, load_task_model(warm / "model-0", "tagging"))
    assert len(sharded) == len(whole) == 12
    assert [ex.tags for ex in sharded] == [ex.tags for ex in whole]
    for a, b in zip(sharded, whole):
        np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)


def test_sequential_schedule_trains_each_model_twice_per_epoch_with_updated_peers(tmp_path):
    overrides = FAST + ["stages.coteach.params.schedule=sequential", "stages.coteach.params.epochs=1",
                        "stages.coteach.params.eta=[0.8]", "stages.coteach.params.mixtures=[['source', 'target']]",
                        *GERMAN_ONLY]
    out = tmp_path / "run"
    Runner(load_recipe(XNER, overrides), out, interactive=False).run()
    (epoch,) = json.loads((out / "stages" / "04-coteach" / "results.json").read_text())["epochs"]["de"]
    order = [(s["student"], tuple(s["peers"])) for s in epoch["students"]]
    assert order == [(2, (0, 1)), (1, (0, 2)), (2, (1, 0)), (0, (1, 2)), (1, (2, 0)), (0, (2, 1))]
    labels = {p.name for p in (out / "stages" / "04-coteach" / "de" / "epoch-1" / "labels").iterdir()}
    assert "model2-v0s0-target" in labels  # model 2 relabels after its first update


def test_hooks_attached_to_co_teaching_shape_every_students_training(tmp_path):
    overrides = FAST + ["stages.coteach.params.epochs=1", "stages.coteach.params.eta=[0.8]",
                        "stages.coteach.params.mixtures=[['source', 'target']]", "stages.coteach.params.logging_steps=1",
                        "stages.coteach.hooks=[{component = 'confidence-penalty', params = {beta = 1.0}}]",
                        *GERMAN_ONLY]
    out = tmp_path / "run"
    Runner(load_recipe(XNER, overrides), out, interactive=False).run()
    (epoch,) = json.loads((out / "stages" / "04-coteach" / "results.json").read_text())["epochs"]["de"]
    for student in epoch["students"]:
        logged = student["train"]["log"]
        assert logged and all("confidence-penalty" in entry for entry in logged)  # the hook's term, every step
    manifest = json.loads((out / "stages" / "04-coteach" / "manifest.json").read_text())
    assert manifest["hooks"] == [{"component": "confidence-penalty", "params": {"beta": 1.0, "average": "labelled"}}]


def test_gen_lm_samples_can_be_made_anew_each_epoch(tmp_path):
    overrides = FAST + ["stages.coteach.params.regenerate_per_epoch=true", "stages.coteach.params.epochs=2",
                        "stages.coteach.params.eta=[1.0, 1.0]",
                        "stages.coteach.params.mixtures=[['target_aug'], ['source_aug', 'target_aug']]",
                        "stages.coteach.params.generator_params={model = 'augkit:tiny-xlmr', samples_per_input = 1}",
                        *GERMAN_ONLY]
    out = tmp_path / "run"
    Runner(load_recipe(XNER, overrides), out, interactive=False).run()
    stage = out / "stages" / "04-coteach" / "de"
    from augkit import Corpus

    e1 = list(Corpus.load(stage / "epoch-1" / "generated-target_aug"))
    e2 = list(Corpus.load(stage / "epoch-2" / "generated-target_aug"))
    assert len(e1) == len(e2) == 12 and [x.tokens for x in e1] != [x.tokens for x in e2]


def test_a_label_stage_takes_the_warm_up_stages_selected_model(tmp_path):
    data = ROOT / "recipes" / "data"
    recipe = tmp_path / "label.toml"
    recipe.write_text(f'''schema_version = 1
[run]
seed = 3
[data.en_train]
format = "conll"
path = "{data / 'ner.en.train.conll'}"
lang = "en"
[data.en_dev]
format = "conll"
path = "{data / 'ner.en.dev.conll'}"
lang = "en"
[data.de_train]
format = "conll"
path = "{data / 'ner.de.train.conll'}"
lang = "de"
drop_labels = true
[data.es_train]
format = "conll"
path = "{data / 'ner.es.train.conll'}"
lang = "es"
drop_labels = true
[[stages]]
name = "warmup"
kind = "train"
component = "multimix-warmup"
inputs = {{ train = "en_train", dev = "en_dev" }}
params = {{ model = "augkit:tiny-xlmr", n_models = 2, max_steps = 4, batch_size = 8, max_length = 64, learning_rate = 1e-3 }}
[[stages]]
name = "pseudo"
kind = "label"
component = "multimix-labeler"
inputs = {{ corpus = "de_train", model = "warmup" }}
params = {{ max_length = 64 }}
[[stages]]
name = "pseudo_both"
kind = "label"
component = "multimix-labeler"
inputs = {{ corpus = ["de_train", "es_train"], model = "warmup" }}
params = {{ max_length = 64 }}
[[stages]]
name = "en_da"
kind = "generate"
component = "dai-adel"
inputs = {{ corpus = "en_train" }}
params = {{ operations = ["mr"], samples_per_input = 1 }}
[[stages]]
name = "warmup_more"
kind = "train"
component = "multimix-warmup"
inputs = {{ train = ["en_train", "en_da"], dev = "en_dev" }}
params = {{ model = "augkit:tiny-xlmr", n_models = 1, max_steps = 2, batch_size = 8, max_length = 64 }}
''')
    out = tmp_path / "run"
    results = Runner(load_recipe(recipe), out, interactive=False).run()
    from augkit import Corpus, ModelSet

    models = ModelSet.load(out / "stages" / "01-warmup")
    assert models.task == "tagging" and len(models) == 2 and models.selection == "best source_dev"
    assert models.best.scores["source_dev"] == max(m.scores["source_dev"] for m in models)
    assert results["pseudo"]["model"] == models.selected
    labelled = list(Corpus.load(out / "stages" / "02-pseudo" / "data"))
    assert len(labelled) == 12 and all(len(ex.tags) == len(ex.tokens) == len(ex.probs) for ex in labelled)
    # several corpora: one labelled corpus, in input order, each example labelled as on its own
    both = list(Corpus.load(out / "stages" / "03-pseudo_both" / "data"))
    spanish = list(Corpus.load(out / "data" / "es_train"))
    assert [ex.lang for ex in both] == ["de"] * 12 + ["es"] * len(spanish) and len(spanish) > 0
    assert [(ex.id, ex.tags) for ex in both[:12]] == [(ex.id, ex.tags) for ex in labelled]
    assert [ex.id for ex in both[12:]] == [ex.id for ex in spanish]
    assert all(len(ex.tags) == len(ex.tokens) == len(ex.probs) for ex in both)
    # several train corpora train together: the originals and their augmentation
    import json

    made = len(Corpus.load(out / "stages" / "04-en_da" / "data"))
    report = json.loads((out / "stages" / "05-warmup_more" / "models" / "model-0" / "train_report.json").read_text())
    assert made > 0 and report["mixture_sizes"] == [len(list(Corpus.load(out / "data" / "en_train"))) + made]
    # a stage that writes a corpus is not a model
    bad = recipe.read_text().replace('model = "warmup"', 'model = "de_train"')
    recipe.write_text(bad)
    from augkit import RecipeError

    with pytest.raises(RecipeError, match="'de_train' gives a corpus, expected a model"):
        load_recipe(recipe)


def test_target_gold_tags_never_reach_training_through_masked_relabel_samples(tmp_path):
    """A labelled target training set (no drop_labels) and GEN-LM samples with relabel = "masked": the
    untouched words of a target sample carry the labelling peer's tags of the original sentence, not gold."""
    overrides = FAST + ["data.de_train.drop_labels=false", "stages.gen_target.params.relabel=masked",
                        "stages.gen_target.inputs.corpus=['de_train']",
                        "stages.coteach.params.epochs=1", "stages.coteach.params.eta=[1.0]",
                        "stages.coteach.params.mixtures=[['target_aug']]",
                        *GERMAN_ONLY]
    out = tmp_path / "run"
    Runner(load_recipe(XNER, overrides), out, interactive=False).run()
    from augkit import Corpus
    from augkit.tasks import load_task_model
    from augkit_multimix import TaskModelLabeler

    gold = {ex.id: ex.tags for ex in Corpus.load(out / "data" / "de_train")}
    assert all(gold.values())  # the target text really is labelled
    labels = out / "stages" / "04-coteach" / "de" / "epoch-1" / "labels"
    differs = 0
    for j in range(3):
        if not (labels / f"model{j}-v0-target_aug").exists():
            continue
        # the peer at epoch 1 is warm-up model j: its labels of the original sentences, computed here
        originals = Corpus.from_examples([ex.replace(tags=[]) for ex in Corpus.load(out / "data" / "de_train")])
        tm = load_task_model(out / "stages" / "01-warmup" / "models" / f"model-{j}")
        peer = {ex.id: ex.tags for ex in TaskModelLabeler(max_length=64).label(originals, tm)}
        for ex in Corpus.load(labels / f"model{j}-v0-target_aug"):
            assert ex.keep_orig_tags
            assert ex.orig_tags == peer[ex.source_id]  # the peer's labels of the original, never gold
            kept = [k for k in range(len(ex.tokens)) if k not in ex.replaced]
            assert [ex.tags[k] for k in kept] == [ex.orig_tags[k] for k in kept]
            differs += any(ex.tags[k] != gold[ex.source_id][k] for k in kept)
    assert differs, "the peers' labels never differ from gold here, so the test would not see a leak"


def test_keep_checkpoints_last_keeps_only_the_models_a_resume_needs(tmp_path):
    overrides = FAST + ["stages.coteach.params.keep_checkpoints=last", "stages.coteach.params.epochs=2",
                        "stages.coteach.params.eta=[0.8, 1.0]",
                        "stages.coteach.params.mixtures=[['source', 'target'], ['target_aug']]",
                        *GERMAN_ONLY]
    out = tmp_path / "run"
    Runner(load_recipe(XNER, overrides), out, interactive=False).run()
    stage = out / "stages" / "04-coteach" / "de"
    assert not any((stage / "epoch-1").glob("model-*"))          # superseded by epoch 2
    assert sorted(p.name for p in (stage / "epoch-2").glob("model-*")) == ["model-0", "model-1", "model-2"]
    assert (stage / "epoch-1" / "report.json").exists()           # the epoch's story is kept
    assert all((out / "stages" / "01-warmup" / "models" / f"model-{k}").exists() for k in range(3))
    from augkit import ModelSet

    assert all(Path(m.path).exists() for m in ModelSet.load(out / "stages" / "04-coteach"))


def test_the_run_writes_a_self_contained_report_with_every_section(xner_run, cli):
    import re

    html = (xner_run / "report.html").read_text()
    md = (xner_run / "report.md").read_text()
    for title in ("Run multimix-xner-tiny", "MultiMix results", "Zero-shot baseline (warmup)",
                  "Co-teaching epochs (coteach)", "GEN-LM examples (gen_source)", "GEN-LM examples (gen_target)"):
        assert f"## {title}" in md and f"<h2>{title}</h2>" in html
    assert "<script" not in html and not re.search(r"(src|href)=\"(https?:)?//", html)  # opens offline
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert images and all(len(i) > 1000 for i in images)  # the epoch plot, embedded
    for link in re.findall(r"\]\((report_files/[^)]+)\)", md):
        assert (xner_run / link).read_bytes()[:4] == b"\x89PNG"
    results = json.loads((xner_run / "stages" / "04-coteach" / "results.json").read_text())
    de = results["languages"]["de"]["test"]
    assert f"| de | test | {' '.join(f'{100 * s:.1f}' for s in de['models'])} |" in md
    assert "<strong>" in html  # GEN-LM's changed words are highlighted
    again = cli("report", xner_run, check=0)  # rebuilt from the artefacts alone, tables in the terminal
    assert "MultiMix results" in again.stdout and (xner_run / "report.md").read_text() == md


def test_the_report_opens_in_a_real_browser_without_errors(xner_run, augkit_browser):
    from augkit.browser import open_page

    page = open_page(xner_run / "report.html", browser=augkit_browser)
    assert page.console_errors == [] and page.page_errors == [] and page.requests == []
    for title in ("Run multimix-xner-tiny", "MultiMix results", "Zero-shot baseline (warmup)",
                  "Co-teaching epochs (coteach)", "GEN-LM examples (gen_source)"):
        assert title in page.headings
    assert page.images and all(page.images) and page.screenshot[:4] == b"\x89PNG"
