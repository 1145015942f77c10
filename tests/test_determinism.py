"""A run's results are a function of its recipe, data and seed alone: not of whether the tiny-model
cache was warm, and not of any random numbers a library call drew on the way."""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from augkit import isolated_rng, resolve_model

ROOT = Path(__file__).resolve().parents[1]
XNER = ROOT / "recipes" / "multimix_xner_tiny.toml"


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_isolated_rng_restores_python_numpy_and_torch_state():
    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    expected = _draws()
    torch.manual_seed(5), np.random.seed(5), random.seed(5)
    with isolated_rng(123):
        inside = _draws()
    assert _draws() == expected
    with isolated_rng(123):
        assert _draws() == inside  # with a seed, the block's draws depend on that seed alone


def test_building_a_tiny_model_leaves_the_global_random_state_as_it_was(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGKIT_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(7), np.random.seed(7), random.seed(7)
    expected = _draws()
    torch.manual_seed(7), np.random.seed(7), random.seed(7)
    folder = resolve_model("augkit:tiny-xlmr")  # an empty cache: the model is built here
    assert (Path(folder) / "config.json").exists()
    assert _draws() == expected


def test_a_fresh_task_head_depends_on_its_seed_not_on_the_global_state(tmp_path, monkeypatch):
    from augkit.tasks import load_task_model

    monkeypatch.setenv("AUGKIT_CACHE", str(tmp_path / "cache"))
    heads = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        model = load_task_model("augkit:tiny-xlmr", "tagging", ["O", "B-PER", "I-PER"], seed=11).model
        heads.append(model.classifier.weight.detach().clone())
    other = load_task_model("augkit:tiny-xlmr", "tagging", ["O", "B-PER", "I-PER"], seed=12).model
    assert torch.equal(heads[0], heads[1])
    assert not torch.equal(heads[0], other.classifier.weight)


def _run(out: Path, cache: Path) -> dict:
    overrides = ["stages.warmup.params.max_steps=12", "stages.warmup.params.eval_steps=6",
                 "stages.coteach.params.eval_steps=3", "stages.coteach.params.epochs=1", "stages.coteach.params.eta=[0.8]",
                 "stages.coteach.params.mixtures=[['source', 'target_aug']]"]
    cmd = [sys.executable, "-m", "augkit", "run", str(XNER), "-o", str(out), *sum((["--set", o] for o in overrides), [])]
    proc = subprocess.run(cmd, env={**os.environ, "AUGKIT_CACHE": str(cache)}, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stages = out / "stages"
    return {"warmup": json.loads((stages / "01-warmup" / "warmup.json").read_text()),
            "coteach": json.loads((stages / "04-coteach" / "results.json").read_text())["languages"]}


@pytest.mark.slow
def test_tiny_recipe_gives_identical_results_with_an_empty_and_a_warm_cache(tmp_path):
    cache = tmp_path / "cache"
    cold = _run(tmp_path / "cold", cache)  # builds the tiny models
    assert any(cache.iterdir())
    warm = _run(tmp_path / "warm", cache)  # reuses them
    assert cold["warmup"]["source_dev"] == warm["warmup"]["source_dev"]
    assert cold["warmup"]["zero_shot_test"] == warm["warmup"]["zero_shot_test"]
    assert cold["coteach"] == warm["coteach"]
    from augkit import Corpus

    a = [ex.tokens for ex in Corpus.load(tmp_path / "cold" / "stages" / "03-gen_target" / "data")]
    b = [ex.tokens for ex in Corpus.load(tmp_path / "warm" / "stages" / "03-gen_target" / "data")]
    assert a == b


def test_processes_that_need_a_built_in_model_at_once_build_it_once(tmp_path):
    """Two runs (or test workers) starting together on an empty cache: one builds the model, the other
    waits for it and uses the same folder, untouched."""
    code = "from augkit.pretrained import resolve_model; print(resolve_model('augkit:tiny-xlmr'))"
    env = {**os.environ, "AUGKIT_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    folders = {out.strip() for out, _ in results}
    assert len(folders) == 1 and (Path(folders.pop()) / "model.safetensors").is_file()
    assert sum("building the built-in model" in err for _, err in results) == 1
