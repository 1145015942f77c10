"""MultiMix co-teaching overheads with a tiny model, measured side by side in one run.

    python benchmarks/bench_multimix.py [--source 1500] [--target 1500]

1. One co-teaching epoch (the full Algorithm-1 mixture of epoch 3: source, target, source_aug, target_aug)
   with wall time split into model compute — forward+backward of training steps, optimizer steps
   (gradient clipping + parameter update), and inference forwards (labelling, dev evaluation) — and
   bookkeeping: everything else (distillation,
   agreement, sampling, data assembly, tokenisation, model loading/saving, I/O). Target: bookkeeping
   <= 10% of the epoch.
2. Labelling throughput (TaskModelLabeler.label, end to end) and evaluation throughput against a raw
   batched forward pass over the same data (pre-tokenised, same length-sorted batches). Target: >= 80%.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time

import augkit
from pathlib import Path

import torch

LABELS = ["B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER", "O"]


def synthetic(n, lang, seed, labelled=True):
    import augkit

    words = (Path(augkit.__file__).parent / "resources" / "tiny_corpus.txt").read_text().split()
    rng = random.Random(seed)
    out = []
    for i in range(n):
        L = max(3, min(40, int(rng.gauss(15, 6))))
        toks = [rng.choice(words) for _ in range(L)]
        tags = [rng.choice(LABELS[:4]) if rng.random() < 0.15 else "O" for _ in range(L)]
        out.append(augkit.Example(f"{lang}-{i}", tokens=toks, tags=tags if labelled else [], lang=lang))
    return out


class Clock:
    """Accumulates time spent in model forwards (inference) and in training steps / optimizer steps."""

    def __init__(self):
        self.inference = self.train_step = self.optimizer = 0.0

    def watch_inference(self, model):
        def pre(mod, args, kwargs):
            mod._augkit_t0 = time.perf_counter()

        def post(mod, args, kwargs, out):
            if not torch.is_grad_enabled():
                self.inference += time.perf_counter() - mod._augkit_t0

        model.register_forward_pre_hook(pre, with_kwargs=True)
        model.register_forward_hook(post, with_kwargs=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=int, default=1500)
    ap.add_argument("--target", type=int, default=1500)
    ap.add_argument("--repeats", type=int, default=10, help="timed rounds of the throughput measurements")
    args = ap.parse_args()

    import augkit
    import augkit.tasks.training as training
    import augkit_multimix.coteach as coteach
    from augkit import Corpus, ModelEntry, ModelSet, StageContext
    from augkit.plugins import get_plugin_manager
    from augkit.tasks import budget_chunks, collate, encode, encode_words, load_task_model
    from augkit.tasks import evaluate as evaluate_model
    from augkit_multimix import CoTeachingTrainer, TaskModelLabeler

    torch.manual_seed(0)
    clock = Clock()
    # instrument: every loaded task model reports its inference forwards; training steps are timed
    original_load = coteach.load_task_model

    def timed_load(*a, **k):
        out = original_load(*a, **k)
        clock.watch_inference(out.model)
        return out

    coteach.load_task_model = timed_load
    make = training._trainer_class

    def timed_class():
        base = make()

        class Timed(base):
            def training_step(self, *a, **k):
                t = time.perf_counter()
                try:
                    return super().training_step(*a, **k)
                finally:
                    clock.train_step += time.perf_counter() - t

            def _clip_grad_norm(self, *a, **k):  # gradient clipping: part of the optimizer update
                t = time.perf_counter()
                try:
                    return super()._clip_grad_norm(*a, **k)
                finally:
                    clock.optimizer += time.perf_counter() - t

            def create_optimizer(self, *a, **k):
                opt = super().create_optimizer(*a, **k)
                step = opt.step

                def timed_step(*sa, **sk):
                    t = time.perf_counter()
                    try:
                        return step(*sa, **sk)
                    finally:
                        clock.optimizer += time.perf_counter() - t

                opt.step = timed_step
                return opt

        return Timed

    training._trainer_class = timed_class

    source = synthetic(args.source, "en", 1)
    target = synthetic(args.target, "de", 2, labelled=False)
    dev = synthetic(200, "de", 3)
    gen = augkit.get_component("generator", "vicinity", model="augkit:tiny-xlmr", samples_per_input=1)
    source_aug = augkit.augment(gen, source, seed=1)
    target_aug = augkit.augment(gen, target, seed=2)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warm = tmp / "warmup"
        # identical start models: the peers agree on every sentence, so every pseudo-labelled set is kept
        # in full and the measured epoch is the heaviest one (4 sets x 1500 per student)
        for k in range(3):
            load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=0).save(warm / "models" / f"model-{k}")
        ModelSet([ModelEntry(f"model-{k}", str(warm / "models" / f"model-{k}")) for k in range(3)],
                 task="tagging", labels=LABELS).write(warm)
        inputs = {"models": ModelSet.load(warm), "source": Corpus.from_examples(source), "target": [Corpus.from_examples(target)],
                  "target_dev": [Corpus.from_examples(dev)], "source_aug": Corpus.from_examples(source_aug),
                  "target_aug": [Corpus.from_examples(target_aug)]}
        full = ["source", "target", "source_aug", "target_aug"]
        trainer = CoTeachingTrainer(epochs=2, eta=[1.0, 1.0], mixtures=[full, full],
                                    learning_rate=5e-4, batch_size=32, max_length=128, eval_steps=0)
        ctx = StageContext(name="coteach", out_dir=tmp / "stage", seed=1, inputs=inputs,
                           resolve=get_plugin_manager().resolve)
        data = trainer._prepare(ctx)
        memory = coteach._Memory()
        memory.tokenizer = coteach.load_tokenizer(data.start_models[0])
        # epoch 1 warms up (first imports, allocator); epoch 2 is the steady state that is reported
        trainer._epoch(ctx, data, memory, "de", 1, data.start_models, tmp / "stage" / "de" / "epoch-1")
        import cProfile, os, pstats
        prof = cProfile.Profile() if os.environ.get("AUGKIT_PROFILE") else None
        if prof:
            prof.enable()
        after_first = [tmp / "stage" / "de" / "epoch-1" / f"model-{k}" for k in range(3)]
        clock.inference = clock.train_step = clock.optimizer = 0.0
        t = time.perf_counter()
        report = trainer._epoch(ctx, data, memory, "de", 2, after_first, tmp / "stage" / "de" / "epoch-2")
        wall = time.perf_counter() - t
        if prof:
            prof.disable()
            pstats.Stats(prof).sort_stats(os.environ.get("AUGKIT_PROFILE_SORT", "cumtime")).print_stats(r"augkit|trainer.py|modeling_utils|accelerate" if os.environ.get("AUGKIT_PROFILE_SORT") is None else 40)
        compute = clock.train_step + clock.optimizer + clock.inference
        book = wall - compute
        n_train = sum(sum(s["train"]["mixture_sizes"]) for s in report["students"])
        print(f"epoch 2 (steady state): {wall:.2f}s wall; 3 students trained on {n_train} examples in all; "
              f"labelled {len(target) + len(source_aug) + len(target_aug)} sentences x 3 models")
        print(f"  model compute {compute:.2f}s (training forward+backward {clock.train_step:.2f}s, optimizer steps incl. gradient clipping "
              f"{clock.optimizer:.2f}s, inference forwards {clock.inference:.2f}s)")
        print(f"  bookkeeping {book:.2f}s = {book / wall:.1%} of the epoch (target <= 10%)")

        # labelling / evaluation throughput vs a raw batched forward
        tm = load_task_model(warm / "models" / "model-0", "tagging")
        m, tok = tm.model, tm.tokenizer
        data = target + [ex.replace(tags=[]) for ex in dev]
        corpus = Corpus.from_examples(data)
        def raw_batches(examples):
            """The same length-sorted batches under the same token budget that predict_flat makes,
            pre-tokenised and pre-padded: the forward pass alone."""
            feats = encode(examples, tok, "tagging", 128, None)
            order = sorted(range(len(feats)), key=lambda i: len(feats[i].input_ids))
            lengths = [len(feats[i].input_ids) for i in order]
            return [collate([feats[i] for i in order[a:b]], tok.pad_token_id, "cpu")
                    for a, b in budget_chunks(lengths, 16384)]

        batches = raw_batches(data)
        test = synthetic(1000, "de", 4)  # a test-set-sized evaluation set
        dev_batches = raw_batches([ex.replace(tags=[]) for ex in test])

        def forward(bs):
            with torch.inference_mode():
                for b in bs:
                    m(**b).logits.softmax(-1)

        def label():
            TaskModelLabeler(max_length=128).label(corpus, tm)

        def label_three():  # as co-teaching does it: one encoding, labelled by each of three peers
            feats3 = encode_words(corpus.table().column("tokens").to_pylist(), tok, 128)
            for _ in range(3):
                TaskModelLabeler(max_length=128).label(corpus, tm, features=feats3)

        def raw_three():
            for _ in range(3):
                forward(batches)

        def evaluate():  # as model selection and the final scores do it
            evaluate_model(tm, test, max_length=128)

        runs = (("raw forward", lambda: forward(batches)), ("labelling", label), ("raw x3", raw_three),
                ("labelling x3", label_three), ("raw dev", lambda: forward(dev_batches)), ("evaluation", evaluate))
        for _, fn in runs:
            fn()  # warm-up
        times = {}
        for _ in range(args.repeats):  # round robin, so machine noise hits every measurement alike
            for name, fn in runs:
                t = time.perf_counter()
                fn()
                times.setdefault(name, []).append(time.perf_counter() - t)
        import statistics

        best = {k: min(v) for k, v in times.items()}
        med = {k: statistics.median(v) for k, v in times.items()}

        def line(what, n, ours, raw):
            print(f"{what}: {n / best[ours]:.0f}/s vs raw forward {n / best[raw]:.0f}/s -> "
                  f"{best[raw] / best[ours]:.0%} (best of {args.repeats}; medians {med[raw] / med[ours]:.0%}) "
                  f"(target >= 80%)")

        line("labelling, one model, end to end incl. tokenisation (sentences)", len(data), "labelling", "raw forward")
        line("labelling in co-teaching, one encoding, three peers (sentence-labellings)", 3 * len(data),
             "labelling x3", "raw x3")
        line("evaluation, predict + seqeval-equal F1 (test sentences)", len(test), "evaluation", "raw dev")

if __name__ == "__main__":
    main()
