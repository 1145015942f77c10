"""Every full recipe's stage chain at XLM-R large's shape, on this machine (not in CI).

    python benchmarks/full_shape.py [--recipes multimix_xner,xmixup_mlqa] [--examples 8] [--steps 2]
                                    [--n-models 1] [--json out.json] [--markdown docs/full-shape.md]

For each full recipe (``multimix_xner``, ``multimix_xnli`` and the five ``xmixup_*``) the script writes a
copy in which

* every ``xlm-roberta-large`` is a local model with XLM-R large's architecture (24 layers, hidden 1024,
  16 heads, FFN 4096, 514 positions, 250,002-row embedding: 560 M parameters) and random weights, built
  offline from that configuration, with the tiny tokenizer (its ids are the first rows of the embedding;
  so GEN-LM's output layer covers the tiny tokenizer's word-initial pieces only, far fewer than XLM-R's:
  ``bench_vicinity.py --large`` measures that part at the real vocabulary);
* every data entry is a local file of ``--examples`` synthetic examples of the entry's kind (tagging
  sentences of 10–40 words, sentence pairs of 15–40 + 5–15 words, QA contexts of 80–160 words; parallel
  entries with both sides as the recipe reads them), in the entry's role (train / dev / test, labels
  dropped where the recipe drops them);
* every training takes ``--steps`` optimizer steps (``max_steps``), with the recipe's batch size, lengths,
  learning rates, mixup layer, heads and every other setting unchanged; ``--n-models`` (default: the
  recipe's) sets how many seeds each X-Mixup trainer trains (MultiMix's warm-up keeps its three:
  co-teaching needs them) and ``--batch-size`` (default: the recipe's) every training's global batch;

and runs it with ``augkit run`` in a child process, recording per stage: wall seconds, the seconds of each
optimizer step (forward, backward and update of the whole global batch, timed by a Trainer callback),
the peak resident memory (sampled every 50 ms) and the bytes the stage wrote. Any error fails the script.
These are the figures a cost estimate (``augkit plan``) is checked against.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL = ["multimix_xner", "multimix_xnli", "xmixup_xnli", "xmixup_pawsx", "xmixup_panx", "xmixup_udpos",
        "xmixup_mlqa"]
LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
             max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5)
NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
NLI = ["entailment", "neutral", "contradiction"]


def build_large(folder: Path) -> Path:
    """A masked LM with XLM-R large's architecture and random weights, with the tiny tokenizer."""
    import torch
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForMaskedLM

    from augkit import resolve_model

    if (folder / "config.json").exists():
        return folder
    tiny = resolve_model("augkit:tiny-xlmr")
    tok = AutoTokenizer.from_pretrained(tiny)
    config = XLMRobertaConfig(vocab_size=250002, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                              eos_token_id=tok.eos_token_id, **LARGE)
    torch.manual_seed(0)
    model = XLMRobertaForMaskedLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


class Words:
    def __init__(self, seed: int):
        import augkit

        text = (Path(augkit.__file__).parent / "resources" / "tiny_corpus.txt").read_text()
        self.vocab = sorted({w for w in text.split() if w.isalpha()})
        self.rng = random.Random(seed)

    def sentence(self, lo: int, hi: int) -> list[str]:
        return [self.rng.choice(self.vocab) for _ in range(self.rng.randint(lo, hi))] + ["."]

    def tags(self, words: list[str]) -> list[str]:
        out, inside = [], None
        for _ in words:
            if inside and self.rng.random() < 0.5:
                out.append("I-" + inside)
            elif self.rng.random() < 0.15:
                inside = self.rng.choice(["PER", "ORG", "LOC", "MISC"])
                out.append("B-" + inside)
            else:
                inside = None
                out.append("O")
        return out


def task_of(recipe: str) -> str:
    if recipe in ("multimix_xner", "xmixup_panx", "xmixup_udpos"):
        return "tagging"
    return "qa" if recipe == "xmixup_mlqa" else "pair"


def role_of(name: str) -> str:
    return next((r for r in ("train", "dev", "test") if name.endswith(r)), "test")


def side(task: str, w: Words, labelled: bool, label: str | None = None) -> dict:
    if task == "tagging":
        tokens = w.sentence(10, 40)
        return {"tokens": tokens, **({"tags": w.tags(tokens)} if labelled else {})}
    if task == "pair":
        return {"text_a": " ".join(w.sentence(15, 40)), "text_b": " ".join(w.sentence(5, 15))}
    words = w.sentence(80, 160)
    context = " ".join(words)
    k = w.rng.randrange(len(words) - 2)
    answer = " ".join(words[k:k + 2])
    out = {"question": " ".join(w.sentence(6, 14)[:-1]) + " ?", "context": context}
    if labelled:
        out["answers"] = [{"text": answer, "start": context.index(answer)}]
    return out


def write_entry(name: str, spec: dict, task: str, n: int, folder: Path, seed: int) -> dict:
    """A local file of ``n`` examples for the data entry ``name``; the entry rewritten to read it."""
    w = Words(seed)
    role = role_of(name)
    keep = {k: v for k, v in spec.items() if k in ("lang", "side", "source_lang", "drop_labels")}
    labels = NLI if "xnli" in folder.name else ["0", "1"]
    if spec["format"] == "parallel":
        path = folder / f"{name}.jsonl"
        lines = []
        for i in range(n):
            label = labels[i % len(labels)] if task == "pair" else None  # every label in every set
            if role == "train":  # source labelled, target its translation (tagging: no tags; QA: answers)
                rec = {"source": side(task, w, True), "target": side(task, w, task == "qa")}
            else:  # target text with gold labels, its translation into the source language
                rec = {"source": side(task, w, False), "target": side(task, w, True)}
            if label is not None:
                rec["label"] = label
            lines.append(json.dumps({"id": f"{name}-{i}", **rec}))
        path.write_text("".join(line + "\n" for line in lines))
        return {"format": "parallel", "path": str(path), **keep}
    if task == "tagging":
        path = folder / f"{name}.conll"
        blocks = []
        for _ in range(n):
            words = w.sentence(10, 40)
            blocks.append("".join(f"{a} {t}\n" for a, t in zip(words, w.tags(words))))
        path.write_text("\n".join(blocks))
        return {"format": "conll", "path": str(path), **keep}
    path = folder / f"{name}.tsv"
    rows = ["premise\thypothesis\tlabel"]
    for i in range(n):
        s = side("pair", w, True)
        rows.append(f"{s['text_a']}\t{s['text_b']}\t{NLI[i % len(NLI)]}")
    path.write_text("\n".join(rows) + "\n")
    return {"format": "tsv", "path": str(path), **keep}


def describe(component: str) -> set[str]:
    """The parameter names of a registered trainer."""
    from augkit import get_plugin_manager

    return {p.name for p in dataclasses.fields(get_plugin_manager().resolve("trainer", component).Params)}


def full_shape_recipe(name: str, model: Path, folder: Path, examples: int, steps: int, n_models: int | None,
                      device: str = "cpu", precision: str = "auto", tiny: bool = False,
                      batch_size: int | None = None, keep_last: bool = False,
                      micro_batch_size: int | None = None, languages: int = 0) -> Path:
    from augkit.recipe import dump_toml

    raw = tomllib.loads((ROOT / "recipes" / f"{name}.toml").read_text())
    task = task_of(name)
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    raw["data"] = {k: write_entry(k, v, task, examples, data, seed=i)
                   for i, (k, v) in enumerate(raw["data"].items())}
    for stage in raw["stages"]:
        if languages and name.startswith("multimix") and stage["name"] != "warmup":
            # the first target languages only: the others repeat the same work
            stage["inputs"] = {k: v[:languages] if isinstance(v, list) else v for k, v in stage["inputs"].items()}
        params = stage.setdefault("params", {})
        if params.get("model") == "xlm-roberta-large":
            params["model"] = str(model)
        if tiny and params.get("mixup_layer"):
            params["mixup_layer"] = 1  # the tiny model has 2 layers and 128 positions
        if tiny and params.get("max_length", 0) > 128:
            params["max_length"] = 128
        if stage["kind"] == "train":
            params["max_steps"] = steps
            if batch_size:
                params["batch_size"] = batch_size
            if micro_batch_size:
                params["micro_batch_size"] = micro_batch_size
            if keep_last and "keep_checkpoints" in describe(stage["component"]):
                params["keep_checkpoints"] = "last"
            if n_models and "n_models" in params and stage["component"] != "multimix-warmup":
                params["n_models"] = n_models  # (MultiMix's warm-up keeps its models: co-teaching needs them)
    raw["run"] = {**raw.get("run", {}), "device": device, "precision": precision, "output_dir": str(folder / "run")}
    path = folder / f"{name}.toml"
    path.write_text(dump_toml(raw))
    return path


CHILD = r"""
import json, os, sys, threading, time
from pathlib import Path
import psutil
import torch
import augkit
from augkit.tasks.training import _trainer_class
from transformers import TrainerCallback

record = {"stages": []}
proc = psutil.Process()
peak = [0]
def sample():
    while True:
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()

class StepTimer(TrainerCallback):
    def on_step_begin(self, args, state, control, **kw):
        self.t0 = time.perf_counter()
    def on_step_end(self, args, state, control, **kw):
        record["stages"][-1]["step_seconds"].append(time.perf_counter() - self.t0)

cls = _trainer_class()
init = cls.__init__
def timed_init(self, *a, **k):
    init(self, *a, **k)
    self.add_callback(StepTimer())
    record["stages"][-1]["batches"].append(dict(micro=self.args.per_device_train_batch_size,
                                                 accumulation=self.args.gradient_accumulation_steps))
cls.__init__ = timed_init

def size(folder):
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file() and not f.is_symlink())

class Probe:
    @augkit.hookimpl
    def on_stage_start(self, stage, kind, component, out_dir):
        peak[0] = proc.memory_info().rss
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        record["stages"].append({"stage": stage, "kind": kind, "component": component, "start": time.time(),
                                 "step_seconds": [], "batches": []})
    @augkit.hookimpl
    def on_stage_end(self, stage, kind, component, out_dir, stats):
        s = record["stages"][-1]
        s.update(seconds=time.time() - s.pop("start"), peak_rss=peak[0], disk=size(out_dir),
                 peak_gpu=torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None)

augkit.get_plugin_manager().register(Probe(), name="full-shape-probe")
from augkit.cli import main
t0 = time.time()
code = main(["run", sys.argv[1], "-o", sys.argv[2], "--force"])
record.update(code=code, seconds=time.time() - t0, disk=size(sys.argv[2]))
Path(sys.argv[3]).write_text(json.dumps(record))
sys.exit(code)
"""


def add_plan(record: dict, recipe: Path) -> None:
    """What `augkit plan` says of the same recipe on this machine, beside what the run measured."""
    planned = subprocess.run([sys.executable, "-m", "augkit", "plan", str(recipe), "--json"], capture_output=True,
                             text=True)
    if planned.returncode != 0:
        return
    stages = {s["stage"]: s for s in json.loads(planned.stdout)["stages"]}
    for s in record["stages"]:
        p = stages.get(s["stage"], {})
        trainings = [w for w in p.get("work", []) if w["steps"]]
        s["plan_step_seconds"] = (sorted(w["seconds"] / w["steps"] for w in trainings)[len(trainings) // 2]
                                  if trainings else None)
        s["plan_peak"] = (p.get("peak") or {}).get("total")


def run_recipe(name: str, args, model: Path, work: Path) -> dict:
    folder = work / name
    if folder.exists():
        shutil.rmtree(folder)
    recipe = full_shape_recipe(name, model, folder, args.examples, args.steps, args.n_models, args.device,
                               args.precision, args.tiny, args.batch_size, args.keep_last, args.micro_batch_size,
                               args.languages)
    out = folder / "record.json"
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(recipe), str(folder / "run"), str(out)],
                          env={**os.environ, "AUGKIT_NO_PROGRESS": "1"}, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-6000:])
        raise SystemExit(f"{name}: augkit run failed (exit {proc.returncode}) after {time.time() - t0:.0f} s")
    record = json.loads(out.read_text())
    record["recipe"] = name
    add_plan(record, recipe)
    if not args.keep:
        shutil.rmtree(folder / "run", ignore_errors=True)
    return record


def table(records: list[dict], args, model_params: int) -> str:
    def gib(n):
        return f"{n / 2**30:.2f}"

    shape = "the tiny model" if args.tiny else "XLM-R large's shape"
    lines = [f"The stage chain at {shape} ({model_params / 1e6:.1f} M parameters, random weights), "
             f"{args.examples} examples per data entry, {args.steps} optimizer steps per training, batch size "
             f"{args.batch_size or 'as in the recipe'}{', keep_checkpoints = last' if args.keep_last else ''}"
             f"{f', MultiMix on its first {args.languages} target language(s)' if args.languages else ''}, n_models = "
             f"{args.n_models or 'as in the recipe'}, device {args.device} ({os.cpu_count()} CPU cores), precision "
             f"{args.precision}. Written by `python benchmarks/full_shape.py`.", "",
             "| recipe | stage | component | wall s | trainings | s / optimizer step (median) | plan s / step | "
             "micro × accum | peak RSS GiB | plan peak GiB | peak GPU GiB | written GiB |",
             "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for rec in records:
        for s in rec["stages"]:
            steps = sorted(s["step_seconds"])
            median = f"{steps[len(steps) // 2]:.1f}" if steps else "–"
            batches = sorted({f"{b['micro']} × {b['accumulation']}" for b in s["batches"]}) or ["–"]
            plan_step = f"{s['plan_step_seconds']:.1f}" if s.get("plan_step_seconds") else "–"
            plan_peak = gib(s["plan_peak"]) if s.get("plan_peak") else "–"
            lines.append(f"| {rec['recipe']} | {s['stage']} | {s['component']} | {s['seconds']:.0f} | "
                         f"{len(s['batches'])} | {median} | {plan_step} | {', '.join(batches)} | {gib(s['peak_rss'])} | "
                         f"{plan_peak} | {gib(s['peak_gpu']) if s.get('peak_gpu') is not None else '–'} | "
                         f"{gib(s['disk'])} |")
        lines.append(f"| {rec['recipe']} | **total** | | {rec['seconds']:.0f} | | | | | | | | {gib(rec['disk'])} |")
    return "\n".join(lines) + "\n"


def _prod(shape) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipes", default=",".join(FULL))
    ap.add_argument("--examples", type=int, default=8, help="examples per data entry")
    ap.add_argument("--steps", type=int, default=2, help="optimizer steps per training")
    ap.add_argument("--n-models", type=int, default=None, help="seeds per X-Mixup trainer (default: the recipe's)")
    ap.add_argument("--batch-size", type=int, default=None,
                    help="every training's global batch (default: the recipe's; a smaller one keeps a CPU run short)")
    ap.add_argument("--micro-batch-size", type=int, default=None,
                    help="every training's micro-batch (default: the recipe's, i.e. auto)")
    ap.add_argument("--languages", type=int, default=0,
                    help="MultiMix: generate and co-teach for the first N target languages only (the others repeat "
                    "the same work; default: all)")
    ap.add_argument("--keep-last", action="store_true", help='keep_checkpoints = "last" in every trainer (MultiMix '
                    "keeps every co-teaching epoch's models otherwise: about 100 GB at full shape)")
    ap.add_argument("--device", default="cpu", help="run.device of every run (cuda: GPU memory is recorded too)")
    ap.add_argument("--precision", default="auto", help="run.precision of every run")
    ap.add_argument("--tiny", action="store_true", help="the tiny model instead of XLM-R large's shape "
                    "(checks this script quickly)")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep each run folder")
    ap.add_argument("--json", default=None, help="write the records here")
    ap.add_argument("--markdown", default=None, help="write the table here")
    ap.add_argument("--table-from", nargs="+", default=None, metavar="JSON",
                    help="write the table from earlier runs' --json records (their recipes under --work), run nothing")
    args = ap.parse_args()
    if args.table_from:
        records = [r for f in args.table_from for r in json.loads(Path(f).read_text())]
        for rec in records:
            add_plan(rec, Path(args.work) / rec["recipe"] / f"{rec['recipe']}.toml")
        from safetensors import safe_open

        with safe_open(str(Path(args.work) / "xlmr-large-random" / "model.safetensors"), "pt") as f:
            n_params = sum(_prod(f.get_slice(k).get_shape()) for k in f.keys())
        text = table(records, args, n_params)
        if args.markdown:
            Path(args.markdown).write_text(text)
        print(text)
        return
    names = [n.strip() for n in args.recipes.split(",") if n.strip()]
    unknown = [n for n in names if n not in FULL]
    if unknown:
        raise SystemExit(f"unknown recipe(s) {unknown}; choose from {FULL}")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="augkit-full-shape-"))
    if args.tiny:
        from augkit import resolve_model

        model = Path(resolve_model("augkit:tiny-xlmr"))
    else:
        model = build_large(work / "xlmr-large-random")
    from safetensors import safe_open

    with safe_open(str(model / "model.safetensors"), "pt") as f:
        n_params = sum(_prod(f.get_slice(k).get_shape()) for k in f.keys())
    records = []
    for name in names:
        t0 = time.time()
        rec = run_recipe(name, args, model, work)
        records.append(rec)
        print(f"{name}: ok in {time.time() - t0:.0f} s, {len(rec['stages'])} stages, "
              f"{rec['disk'] / 2**30:.2f} GiB written", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(records, indent=1))
        if args.markdown:
            Path(args.markdown).write_text(table(records, args, n_params))
    print(table(records, args, n_params))


if __name__ == "__main__":
    main()
