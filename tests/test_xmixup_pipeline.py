"""X-Mixup end to end on CPU (classification, tagging with in-tool soft labels, QA), its artefacts,
ablations as overrides, parallel-data errors, and a real 2-process torchrun run."""
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from augkit import Corpus, DataError, read
from augkit.recipe import load_recipe
from augkit.runner import Runner

ROOT = Path(__file__).resolve().parents[1]
XNLI = ROOT / "recipes" / "xmixup_xnli_tiny.toml"
PANX = ROOT / "recipes" / "xmixup_panx_tiny.toml"
MLQA = ROOT / "recipes" / "xmixup_mlqa_tiny.toml"
DATA = ROOT / "recipes" / "data" / "xmixup"


def _run(recipe, out, overrides=()):
    Runner(load_recipe(recipe, list(overrides)), out, interactive=False).run()
    return out


@pytest.fixture(scope="module")
def xnli_run(tmp_path_factory):
    return _run(XNLI, tmp_path_factory.mktemp("xnli") / "run")


def _stage(run, name="xmixup"):
    return next((run / "stages").glob(f"*-{name}"))


def test_classification_reports_each_model_mean_std_and_the_translate_train_baseline(xnli_run):
    results = json.loads((_stage(xnli_run) / "results.json").read_text())
    assert results["task"] == "pair" and results["mixup_layer"] == 1 and results["notes"] == []
    for key in ("languages", "baseline"):
        de = results[key]["de"]
        assert len(de["models"]) == 2 and all(0 <= s <= 1 for s in de["models"])
        assert de["mean"] == pytest.approx(statistics.mean(de["models"]))
        assert de["std"] == pytest.approx(statistics.stdev(de["models"]))
    models = results["models"]
    assert set(models) == {"model-0", "model-1", "baseline-0", "baseline-1"}
    # X-Mixup trained W and b; the baseline has no mixup, so they stay at their initial values
    assert models["model-0"]["mix_weight"] != 1.0 and models["model-0"]["mix_bias"] != 0.0
    assert (models["baseline-0"]["mix_weight"], models["baseline-0"]["mix_bias"]) == (1.0, 0.0)
    model_set = json.loads((_stage(xnli_run) / "models.json").read_text())
    assert [m["name"] for m in model_set["models"]] == ["model-0", "model-1"]


def test_every_step_logs_lambda_p_star_and_each_loss_term(xnli_run):
    curve = [json.loads(l) for l in (_stage(xnli_run) / "curves" / "model-0.jsonl").read_text().splitlines()]
    assert [c["step"] for c in curve] == list(range(1, 13))
    for c in curve:
        assert {"loss", "loss_source", "loss_target", "mse", "kl", "lambda_mean", "entropy", "entropy_t",
                "p_star", "back_translated_share"} <= set(c)
        assert 0 < c["lambda_min"] <= c["lambda_max"] < 0.5
    # p* decays as k/(k+exp(step/k)) with the recipe's k = 4, and back-translations were drawn
    assert curve[0]["p_star"] == pytest.approx(4 / (4 + 1))
    assert curve[-1]["p_star"] == pytest.approx(4 / (4 + 2.718281828459045 ** (11 / 4)))
    assert any(c["back_translated_share"] > 0 for c in curve)
    baseline = [json.loads(l) for l in (_stage(xnli_run) / "curves" / "baseline-0.jsonl").read_text().splitlines()]
    assert all("lambda_mean" not in c and "mse" not in c and "kl" not in c for c in baseline)
    assert all(c["p_star"] == 1.0 and c["back_translated_share"] == 0 for c in baseline)
    log = (xnli_run / "run.log").read_text()
    assert "lambda_mean" in log and "p_star" in log


def test_saved_model_reloads_and_gives_the_stage_scores(xnli_run):
    from augkit_xmixup import load_model
    from augkit_xmixup.method import evaluate_pairs

    stage = _stage(xnli_run)
    results = json.loads((stage / "results.json").read_text())
    xm, tm, config = load_model(stage / "models" / "model-1")
    assert config["mixup_layer"] == 1 and config["mix_weight"] == pytest.approx(results["models"]["model-1"]["mix_weight"])
    test = read(str(DATA / "nli.de-en.test.tsv"), "parallel", lang="de")
    assert evaluate_pairs(xm, tm, list(test), max_length=64, mixup_inference=True)["score"] == \
        pytest.approx(results["models"]["model-1"]["test"]["de"]["score"])
    # the "w/o mixup inference" score beside it is the same model on the target text alone
    alone = evaluate_pairs(xm, tm, list(test), max_length=64, mixup_inference=False)["score"]
    assert results["models"]["model-1"]["test"]["de"]["target_only"] == pytest.approx(alone)
    de = results["languages"]["de"]
    assert de["target_only_models"][1] == pytest.approx(alone)
    assert de["target_only_mean"] == pytest.approx(statistics.mean(de["target_only_models"]))
    # the baseline never mixes, so it has no such score
    assert "target_only" not in results["models"]["baseline-1"]["test"]["de"]
    assert "target_only_mean" not in results["baseline"]["de"]
    # the task model alone is an ordinary Hugging Face folder
    from transformers import AutoModelForSequenceClassification

    assert AutoModelForSequenceClassification.from_pretrained(stage / "models" / "model-1").config.num_labels == 3


def test_tagging_trains_the_target_stream_on_soft_labels_made_in_the_run(tmp_path):
    out = _run(PANX, tmp_path / "run")
    soft = Corpus.load(_stage(out, "soft_labels") / "data")
    first = list(soft)[0]
    assert len(first.probs) == len(first.tokens) and sum(first.probs[0]) == pytest.approx(1, abs=1e-5)
    assert "source" in first.meta["parallel"]  # the labeler kept the pairs
    results = json.loads((_stage(out) / "results.json").read_text())
    assert results["task"] == "tagging" and results["mixup_layer"] == 2
    assert results["labels"] == soft.labels and 0 <= results["languages"]["de"]["mean"] <= 1
    curve = [json.loads(l) for l in (_stage(out) / "curves" / "model-0.jsonl").read_text().splitlines()]
    assert all("kl" not in c and c["loss_target"] > 0 for c in curve)


def test_tagging_without_soft_labels_is_a_clear_error_before_training(tmp_path):
    overrides = ["stages.xmixup.inputs.train='train'"]
    with pytest.raises(DataError, match="soft labels"):
        _run(PANX, tmp_path / "run", overrides)
    assert not (tmp_path / "run" / "stages").exists() or not list((tmp_path / "run" / "stages").glob("*/_SUCCESS"))


def test_qa_trains_and_reports_f1_and_em_and_says_scheduled_sampling_is_off(tmp_path):
    out = _run(MLQA, tmp_path / "run")
    results = json.loads((_stage(out) / "results.json").read_text())
    de = results["languages"]["de"]
    assert results["task"] == "qa" and len(de["models"]) == len(de["em_models"]) == 1
    assert 0 <= de["em_mean"] <= de["mean"] <= 1
    assert results["notes"] == ["scheduled sampling is off: the training pairs have no back-translations"]
    assert "scheduled sampling is off" in (out / "run.log").read_text()
    curve = [json.loads(l) for l in (_stage(out) / "curves" / "model-0.jsonl").read_text().splitlines()]
    assert all(c["p_star"] == 1.0 and "kl" not in c and "mse" in c for c in curve)
    training = (out / "report.md").read_text().split("## X-Mixup training (xmixup)")[1].split("\n## ")[0]
    assert "p* stayed at 1: scheduled sampling was off" in training  # said, not drawn as a flat line
    assert training.count("![") == 2 and "p*" not in training.split("![")[2].split("]")[0]


ABLATIONS = {
    "w/o mixup": ["mixup=false"],
    "w/o mixup inference": ["mixup_inference=false"],
    "w/o scheduled sampling": ["scheduled_sampling=false"],
    "w/o MSE": ["mse=false"],
    "w/o KL": ["kl=false"],
    "w/o both": ["mse=false", "kl=false"],
    "constant λ": ["lambda_mode=constant"],
}


@pytest.mark.parametrize("name", ["xnli", "pawsx", "panx", "udpos", "mlqa"])
def test_full_size_recipes_validate_with_every_ablation(name):
    path = ROOT / "recipes" / f"xmixup_{name}.toml"
    text = path.read_text()
    for label, sets in ABLATIONS.items():
        overrides = [f"stages.xmixup.params.{s}" for s in sets]
        assert all(f"--set {o}" in text for o in overrides), f"{name}: ablation {label} is not documented"
        recipe = load_recipe(path, overrides)
        params = [s for s in recipe.stages if s.name == "xmixup"][0].params
        for s in sets:
            key, value = s.split("=")
            assert str(getattr(params, key)).lower() == value


def test_ablations_change_what_trains(tmp_path):
    fast = ["stages.xmixup.params.n_models=1", "stages.xmixup.params.baseline=false"]
    out = _run(XNLI, tmp_path / "const", fast + ["stages.xmixup.params.lambda_mode=constant"])
    results = json.loads((_stage(out) / "results.json").read_text())
    curve = [json.loads(l) for l in (_stage(out) / "curves" / "model-0.jsonl").read_text().splitlines()]
    assert all(c["lambda_min"] == c["lambda_max"] == pytest.approx(0.5) for c in curve)
    assert (results["models"]["model-0"]["mix_weight"], results["models"]["model-0"]["mix_bias"]) == (1.0, 0.0)
    out = _run(XNLI, tmp_path / "nomix", fast + ["stages.xmixup.params.mixup=false", "stages.xmixup.params.mse=false"])
    curve = [json.loads(l) for l in (_stage(out) / "curves" / "model-0.jsonl").read_text().splitlines()]
    assert all("lambda_mean" not in c and "mse" not in c and "kl" in c for c in curve)
    config = json.loads((_stage(out) / "models" / "model-0" / "xmixup.json").read_text())
    assert config["mixup"] is False and config["mixup_inference"] is False


@pytest.mark.parametrize("suffix,content,message,line", [
    (".jsonl", '{"source": {"text_a": "A b ."}, "target": {"text_a": "C d ."}, "label": "x"}\n'
     '{"source": {"text_a": "A b ."}, "label": "x"}\n', "missing target side", 2),
    (".jsonl", '{"source": {"id": "1", "text_a": "A b ."}, "target": {"id": "2", "text_a": "C d ."}}\n',
     "ids differ", 1),
    (".jsonl", '{"source": {"text_a": "A b ."}, "target": {"text_a": "C d ."}}\n'
     '{"source": {"text_a": "A b ."}, "target": {"text_a": "  "}}\n', "empty side", 2),
    (".jsonl", '{"source": {"tokens": ["A"]}, "target": {"text_a": "B"}}\n', "is a pair example but the source", 1),
    (".jsonl", '{"source": {"tokens": ["A", "b"], "tags": ["O"]}, "target": {"tokens": ["C"]}}\n', "2 tokens but 1 tags", 1),
    (".jsonl", '{"source": {"question": "Q?", "context": "C c", "answers": [{"text": "x", "start": 0}]}, '
     '"target": {"question": "F?", "context": "D"}}\n', "not in the context", 1),
    (".tsv", "label\tsource_a\ttarget_a\nx\tA b .\tC d .\nx\tA b .\n", "expected 3 tab-separated columns", 3),
    (".tsv", "source_id\ttarget_id\tsource_tokens\ttarget_tokens\n1\t1\tA b\tC d\n2\t3\tA b\tC d\n", "ids differ", 3),
    (".tsv", "source_tokens\ttarget_tokens\nA b\t \n", "empty side", 2),
    (".tsv", "label\tsource_a\ttranslation\nx\tA\tB\n", "unknown column 'translation'", 1),
])
def test_misaligned_pairs_are_errors_naming_file_and_line(tmp_path, suffix, content, message, line):
    path = tmp_path / f"pairs{suffix}"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as err:
        list(read(str(path), "parallel", lang="de"))
    assert str(path) in str(err.value) and f":{line}" in str(err.value)


def test_a_misaligned_training_file_stops_the_run_before_anything_trains(tmp_path):
    bad = tmp_path / "train.jsonl"
    lines = (DATA / "nli.en-de.train.jsonl").read_text().splitlines()
    row = json.loads(lines[5])
    del row["target"]
    lines[5] = json.dumps(row)
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "run"
    with pytest.raises(DataError, match=r"missing target side") as err:
        _run(XNLI, out, [f"data.train.path='{bad}'"])
    assert f"{bad}:6" in str(err.value)
    assert not list((out / "stages").glob("*/models")) if (out / "stages").exists() else True


def test_headerless_tsv_with_columns_reads_like_one_with_a_header(tmp_path):
    with_header = read(str(DATA / "nli.de-en.test.tsv"), "parallel", lang="de")
    body = (DATA / "nli.de-en.test.tsv").read_text().splitlines()
    plain = tmp_path / "test.tsv"
    plain.write_text("\n".join(body[1:]) + "\n")
    columns = body[0].split("\t")
    without = read(str(plain), "parallel", lang="de", columns=columns)
    assert [ex.to_row() for ex in with_header] == [ex.to_row() for ex in without]


def test_torchrun_two_processes_train_xmixup_data_parallel(tmp_path):
    out = tmp_path / "run"
    sets = ["stages.xmixup.params.n_models=1", "stages.xmixup.params.baseline=false"]
    args = [a for o in sets for a in ("--set", o)]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "augkit", "run", str(XNLI), "-o", str(out), *args],
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((_stage(out) / "models" / "model-0" / "train_report.json").read_text())
    assert report["processes"] == 2 and report["steps"] == 12
    results = json.loads((_stage(out) / "results.json").read_text())
    assert 0 <= results["languages"]["de"]["mean"] <= 1 and results["models"]["model-0"]["mix_weight"] != 1.0


def test_xmixup_trainer_meets_the_trainer_contract(tmp_path):
    from augkit.testing import check_trainer_contract
    from augkit_xmixup import XMixupTrainer

    train = read(str(DATA / "nli.en-de.train.jsonl"), "parallel", lang="de")
    dev = read(str(DATA / "nli.de-en.dev.tsv"), "parallel", lang="de")
    trainer = XMixupTrainer(model="augkit:tiny-xlmr", n_models=2, mixup_layer=2, max_steps=3, batch_size=4,
                            max_length=48)
    models = check_trainer_contract(trainer, {"train": [train], "dev": [dev]}, tmp_path)
    assert len(models) == 2 and models.task == "pair" and models.labels == ["contradiction", "entailment", "neutral"]
    assert all((tmp_path / "models" / m.name / "xmixup.json").is_file() for m in models)


def test_without_mixup_inference_plain_target_test_data_is_enough(tmp_path):
    """'w/o mixup inference' scores the target stream alone, so dev/test need no translations."""
    sets = ["stages.xmixup.params.n_models=1", "stages.xmixup.params.baseline=false",
            "stages.xmixup.params.mixup_inference=false",
            f"data.de_test.path='{ROOT / 'recipes' / 'data' / 'nli.de.test.tsv'}'", "data.de_test.format='tsv'",
            f"data.de_dev.path='{ROOT / 'recipes' / 'data' / 'nli.de.dev.tsv'}'", "data.de_dev.format='tsv'"]
    with pytest.raises(DataError, match="stage 'cka': inputs.data: 'de_test' holds no source side to compare with"):
        _run(XNLI, tmp_path / "run0", sets)  # found before anything trains
    assert not (tmp_path / "run0" / "stages").exists()
    sets.append("stages.cka.inputs.data=['train']")
    out = _run(XNLI, tmp_path / "run", sets)
    results = json.loads((_stage(out) / "results.json").read_text())
    assert results["settings"]["mixup_inference"] is False and 0 <= results["languages"]["de"]["mean"] <= 1
    assert "target_only_mean" not in results["languages"]["de"]  # the scores are the target alone already
    with pytest.raises(DataError, match="mixup inference needs translate-test pairs"):
        _run(XNLI, tmp_path / "run2", sets[:2] + sets[3:])
    assert json.loads((_stage(out, "cka") / "cka.json").read_text())["languages"] == ["de"]


def test_an_interrupted_stage_resumes_keeping_the_models_it_finished(tmp_path):
    sets = ["stages.xmixup.params.baseline=false"]
    out = _run(XNLI, tmp_path / "run", sets)
    stage = _stage(out)
    before = json.loads((stage / "results.json").read_text())
    kept = (stage / "models" / "model-0" / "train_report.json").stat().st_mtime_ns
    # as if killed while training the second model: its folder and the stage's completion are gone
    import shutil

    shutil.rmtree(stage / "models" / "model-1")
    for name in ("_SUCCESS", "results.json", "models.json"):
        (stage / name).unlink()
    Runner(load_recipe(XNLI, sets), out, interactive=False, resume=True).run()
    after = json.loads((stage / "results.json").read_text())
    assert (stage / "models" / "model-0" / "train_report.json").stat().st_mtime_ns == kept
    assert after["languages"] == before["languages"] and after["models"]["model-1"] == before["models"]["model-1"]


def test_report_shows_results_beside_the_baseline_and_the_training_curves(xnli_run):
    md = (xnli_run / "report.md").read_text()
    results = json.loads((_stage(xnli_run) / "results.json").read_text())
    de, base = results["languages"]["de"], results["baseline"]["de"]
    row = (f"| de | {' '.join(f'{100 * s:.1f}' for s in de['models'])} | {100 * de['mean']:.1f} ± {100 * de['std']:.1f} "
           f"| {100 * de['target_only_mean']:.1f} ± {100 * de['target_only_std']:.1f} "
           f"| {100 * base['mean']:.1f} ± {100 * base['std']:.1f} |")
    assert "## X-Mixup results" in md and row in md
    assert "| language | models | mean ± std | w/o mixup inference | baseline mean ± std |" in md
    training = md.split("## X-Mixup training (xmixup)")[1].split("\n## ")[0]
    assert training.count("![") == 2  # loss terms; λ distribution and p*
    html = (xnli_run / "report.html").read_text()
    assert "λ: mean" in html


def test_the_cka_stage_measures_the_trained_model_and_lands_in_the_report(xnli_run):
    stage = _stage(xnli_run, "cka")
    summary = json.loads((stage / "cka.json").read_text())
    best = json.loads((_stage(xnli_run) / "models.json").read_text())["selected"]
    assert list(summary["models"]) == [f"xmixup/{best}"] and summary["languages"] == ["de"]
    m = summary["models"][f"xmixup/{best}"]
    assert len(m["cka"]["de"]) == 3 and all(0 < v <= 1 for v in m["cka"]["de"])  # embeddings + 2 layers
    assert m["sentences"]["de"] == sum(1 for _ in open(DATA / "nli.de-en.test.tsv", encoding="utf-8")) - 1
    stats = json.loads((stage / "stats.json").read_text())
    assert stats[f"xmixup/{best}/de_mean_cka"] == pytest.approx(m["mean_over_layers"]["de"], abs=1e-4)
    md = (xnli_run / "report.md").read_text()
    section = md.split("## Representation similarity (cka)")[1].split("\n## ")[0]
    assert f"| xmixup/{best} | de | {m['sentences']['de']} | {m['mean_over_layers']['de']:.3f} |" in section
    assert section.count("![") == 3  # CKA over layers; the model's heatmap and scatter
    assert not list(stage.rglob("centroids_pca.png"))  # one language: two centroids make no PCA plane


def test_the_report_opens_in_a_real_browser_without_errors(xnli_run, augkit_browser):
    import io

    from PIL import Image

    from augkit.browser import open_page

    page = open_page(xnli_run / "report.html", browser=augkit_browser)
    assert page.console_errors == [] and page.page_errors == [] and page.requests == []
    for title in ("Run xmixup-xnli-tiny", "X-Mixup results", "X-Mixup training (xmixup)",
                  "Representation similarity (cka)"):
        assert title in page.headings
    assert len(page.images) == 5 and all(page.images)  # every embedded plot decodes (one language: no centroids)
    shot = Image.open(io.BytesIO(page.screenshot))
    assert shot.width == 1100 and shot.height > 1500  # the whole page, plots included
    assert len(shot.convert("RGB").getcolors(1 << 20)) > 50  # rendered content, not a blank page


def test_augkit_report_saves_a_screenshot_of_the_page(xnli_run, augkit_browser, cli, tmp_path):
    from PIL import Image

    shot = tmp_path / "shots" / "report.png"
    out = cli("report", xnli_run, "--screenshot", shot, "--height", 700, "-q", check=0)
    assert f"wrote {shot}" in out.stdout and "browser:" not in out.stdout
    assert Image.open(shot).size == (1100, 700)


def test_eval_batch_size_sets_the_inference_batches_and_leaves_the_scores_unchanged(xnli_run):
    from augkit_xmixup.method import evaluate_pairs, load_model

    best = json.loads((_stage(xnli_run) / "models.json").read_text())["selected"]
    xm, tm, _ = load_model(_stage(xnli_run) / "models" / best)
    examples = list(read(str(DATA / "nli.de-en.test.tsv"), "parallel", lang="de"))
    calls = []
    handle = tm.model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        scores = {}
        for batch_size in (1, 5):
            calls.clear()
            scores[batch_size] = evaluate_pairs(xm, tm, examples, max_length=64, mixup_inference=False,
                                                batch_size=batch_size)["score"]
            assert len(calls) == -(-len(examples) // batch_size)  # one forward per batch
    finally:
        handle.remove()
    assert scores[1] == pytest.approx(scores[5])
