"""The mlm-pretrain stage: a tokenizer and a small masked LM from the text of all languages, trained with
transformers' Trainer; later stages take its model as "stage:NAME"; resume and fingerprints follow it."""
import json
from pathlib import Path

import pytest

import augkit
from augkit.testing import run_recipe

BENCH = """seed = 5
difficulty = 0.5
[ner]
train = 40
dev = 12
test = 12
unlabelled = 0
[text]
sentences = 300
[languages.xa]
order = "SOV"
"""

RECIPE = """schema_version = 1
[run]
name = "pretrain-test"
seed = 3
[data.text_en]
format = "synthetic"
path = "{bench}"
lang = "en"
task = "text"
[data.text_xa]
format = "synthetic"
path = "{bench}"
lang = "xa"
task = "text"
[data.ner_en]
format = "synthetic"
path = "{bench}"
task = "ner"
[data.ner_en_dev]
format = "synthetic"
path = "{bench}"
task = "ner"
split = "dev"
[[stages]]
name = "pretrain"
kind = "train"
component = "mlm-pretrain"
inputs = {{ corpus = ["text_en", "text_xa"] }}
params = {{ max_steps = 60, batch_size = 16, learning_rate = 2e-3, vocab_size = 300, hidden_size = 32, intermediate_size = 64, held_out = 0.1 }}
[[stages]]
name = "gen"
kind = "generate"
component = "vicinity"
inputs = {{ corpus = ["ner_en_dev"] }}
params = {{ model = "stage:pretrain", samples_per_input = 1 }}
[[stages]]
name = "warmup"
kind = "train"
component = "multimix-warmup"
inputs = {{ train = "ner_en", dev = "ner_en_dev" }}
params = {{ model = "stage:pretrain", n_models = 1, max_steps = 4, batch_size = 8, max_length = 48 }}
"""


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain")
    bench = root / "bench.toml"
    bench.write_text(BENCH)
    recipe = RECIPE.format(bench=bench)
    out = root / "run"
    results = run_recipe(recipe, out)
    return recipe, out, results


def test_pretraining_trains_a_tokenizer_and_a_masked_lm_that_learned_something(pretrained):
    from transformers import AutoModelForMaskedLM

    _, out, results = pretrained
    stats = results["stages"]["pretrain"]
    assert stats["steps"] == 60 and stats["sentences"] == 540  # 600 sentences, 10% held out
    assert stats["masked_accuracy_after"] > stats["masked_accuracy_before"] + 0.05
    stage = out / "stages" / "01-pretrain"
    models = augkit.ModelSet.load(stage)
    assert models.task == "mlm" and len(models) == 1 and Path(models.best.path) == stage / "models" / "mlm"
    assert not (stage / "init").exists()
    report = json.loads((stage / "train_report.json").read_text())
    assert report["languages"] == ["en", "xa"] and report["log"] and report["log"][-1]["step"] == 60
    model = AutoModelForMaskedLM.from_pretrained(models.best.path)
    tok = augkit.tasks.load_tokenizer(models.best.path)
    # the padding and truncation of the tokenizer calls during pretraining are not saved as its defaults
    saved = json.loads((Path(models.best.path) / "tokenizer.json").read_text())
    assert saved["padding"] is None and saved["truncation"] is None
    assert model.config.hidden_size == 32 and model.config.vocab_size == len(tok) == stats["vocab_size"]
    # the tokenizer was trained on this text: it needs fewer pieces for target-language words than a
    # tokenizer trained on other text (the built-in tiny model's)
    bench = json.loads((out / "data" / "text_xa" / "manifest.json").read_text())["source"]
    xa = [" ".join(e.tokens) for e in augkit.read(bench, "synthetic", lang="xa", task="text")][:50]
    other = augkit.tasks.load_tokenizer("augkit:tiny-xlmr")
    assert sum(len(tok.tokenize(t)) for t in xa) < 0.8 * sum(len(other.tokenize(t)) for t in xa)


def test_later_stages_take_the_pretrained_model_by_stage_name(pretrained):
    _, out, _ = pretrained
    mlm = augkit.ModelSet.load(out / "stages" / "01-pretrain").best.path
    for stage in ("02-gen", "03-warmup"):
        manifest = json.loads((out / "stages" / stage / "manifest.json").read_text())
        assert manifest["params"]["model"] == mlm
    from transformers import AutoConfig

    warm = augkit.ModelSet.load(out / "stages" / "03-warmup").best.path
    assert AutoConfig.from_pretrained(warm).hidden_size == 32
    assert (out / "stages" / "02-gen" / "_SUCCESS").exists()


def test_the_report_shows_the_pretraining(pretrained):
    _, out, results = pretrained
    md = (out / "report.md").read_text()
    section = md.split("## Pretraining (pretrain)")[1].split("\n## ")[0]
    stats = results["stages"]["pretrain"]
    assert f"| after | {stats['masked_accuracy_after']:.3f} |" in section and "sentences in en, xa" in section
    assert section.count("![") == 1


def test_resume_skips_pretraining_and_a_new_pretraining_redoes_what_uses_it(pretrained, tmp_path):
    recipe, out, _ = pretrained
    done = {s: (out / "stages" / s / "_SUCCESS").stat().st_mtime_ns for s in ("01-pretrain", "02-gen", "03-warmup")}
    run_recipe(recipe, out, resume=True)
    assert {s: (out / "stages" / s / "_SUCCESS").stat().st_mtime_ns for s in done} == done
    run_recipe(recipe, out, resume=True, overrides=["stages.pretrain.params.max_steps=61"])
    after = {s: (out / "stages" / s / "_SUCCESS").stat().st_mtime_ns for s in done}
    assert all(after[s] != done[s] for s in done)  # the pretrained model changed, so did everything after it


def test_a_stage_model_reference_must_name_an_earlier_train_stage(pretrained):
    recipe, _, _ = pretrained
    for ref, message in (("stage:pretrian", "'stage:pretrian' is not an earlier stage; expected the name of an "
                                            "earlier train stage (did you mean \"pretrain\"?)"),
                         ("stage:ner_en", "'stage:ner_en' is a corpus"),
                         ("stage:warmup", "'stage:warmup' is not an earlier stage")):
        bad = recipe.replace('component = "vicinity"', 'component = "vicinity"').replace(
            'params = { model = "stage:pretrain", samples_per_input = 1 }', f'params = {{ model = "{ref}", samples_per_input = 1 }}')
        with pytest.raises(augkit.RecipeError) as e:
            run_recipe(bad, "/nonexistent/never-written")
        assert f"stages.gen.params.model: {message}" in str(e.value)


def test_the_built_in_trained_masked_lm_is_made_on_the_same_trainer_path_deterministically(tmp_path):
    """build_tiny_xlmr's masked-LM steps go through augkit.tasks.train_masked_lm (the path mlm-pretrain
    takes): the model learns (masked-word accuracy on its text well above the same model untrained), the
    build is a function of the seed alone, and the caller's random state is left as it was."""
    import random

    import numpy as np
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from augkit.pretrained import RESOURCES
    from augkit_pretrain.trainer import masked_accuracy

    lines = [l for l in (RESOURCES / "tiny_corpus.txt").read_text(encoding="utf-8").splitlines() if l.strip()]
    random.seed(11)
    torch.manual_seed(11)
    state = (random.random(), float(torch.rand(1)))
    random.seed(11)
    torch.manual_seed(11)
    trained = augkit.build_tiny_xlmr(tmp_path / "a", lines, train_steps=120, seed=4)
    assert (random.random(), float(torch.rand(1))) == state  # the build did not move the caller's draws
    again = augkit.build_tiny_xlmr(tmp_path / "b", lines, train_steps=120, seed=4)
    untrained = augkit.build_tiny_xlmr(tmp_path / "c", lines, train_steps=0, seed=4)
    w1, w2, w0 = (load_file(str(f / "model.safetensors")) for f in (trained, again, untrained))
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert not torch.equal(w1["roberta.embeddings.word_embeddings.weight"], w0["roberta.embeddings.word_embeddings.weight"])
    accuracy = {}
    for name, folder in (("trained", trained), ("untrained", untrained)):
        model, tok = AutoModelForMaskedLM.from_pretrained(str(folder)), AutoTokenizer.from_pretrained(str(folder))
        accuracy[name] = masked_accuracy(model, tok, lines[:300], probability=0.15, max_length=64, seed=0)
    assert accuracy["trained"]["masked_accuracy"] > accuracy["untrained"]["masked_accuracy"] + 0.08
    assert accuracy["trained"]["loss"] < accuracy["untrained"]["loss"] - 1.0
    assert np.isfinite(accuracy["trained"]["loss"])


def test_the_built_in_trained_model_does_not_depend_on_the_builders_thread_count(tmp_path):
    """The cache keeps whichever process built the model first: a 2-thread build must equal a 1-thread one."""
    import os
    import subprocess
    import sys

    import torch
    from safetensors.torch import load_file

    from augkit.pretrained import RESOURCES

    lines = [l for l in (RESOURCES / "tiny_corpus.txt").read_text(encoding="utf-8").splitlines() if l.strip()][:400]
    (tmp_path / "lines.txt").write_text("\n".join(lines), encoding="utf-8")
    code = ("import sys, torch, augkit; assert torch.get_num_threads() == 2; "
            "augkit.build_tiny_xlmr(sys.argv[1], open(sys.argv[2], encoding='utf-8').read().splitlines(), "
            "train_steps=40, seed=2); assert torch.get_num_threads() == 2")
    env = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "two"), str(tmp_path / "lines.txt")], env=env,
                   check=True, timeout=300)
    threads = torch.get_num_threads()
    augkit.build_tiny_xlmr(tmp_path / "one", lines, train_steps=40, seed=2)
    assert torch.get_num_threads() == threads  # the caller's setting is restored
    a, b = (load_file(str(tmp_path / n / "model.safetensors")) for n in ("one", "two"))
    assert all(torch.equal(a[k], b[k]) for k in a)
