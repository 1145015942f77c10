"""Translation speed: augkit's `translate` generator vs. a plain batched `generate` loop (what nlpaug's
BackTranslationAug does per direction), side by side in one run, on the same inputs.

    python benchmarks/bench_translate.py [--sentences 1500] [--steps 600] [--device cpu|cuda]
    python benchmarks/bench_translate.py --pairs gettext [--steps 2000]   # real English → German text

With ``--pairs gettext`` the model is trained on English → German interface strings from the gettext
catalogs installed under /usr/share/locale (people's translations, `augkit_translate.tiny.gettext_pairs`;
d_model 128, a 4,000-piece vocabulary, linear warm-up), the inputs are held-out English strings, and the
script also scores the translations of 500 held-out strings with sacrebleu (chrF and BLEU) against the
same model untrained and against copying the English input: what a model this small learns of real
translation in minutes on a CPU.

Model: a tiny MarianMT (d_model 64, 2 layers, sentencepiece vocabulary of about 1,000 pieces) trained
--steps steps on the synthetic benchmark's English → "xa" translate-train pairs, so that translations end
at their own length, as a real model's do (an untrained model runs every sentence to max_new_tokens).
Inputs: English sentences of the synthetic benchmark's test sets, one or two joined, so lengths vary from
a few words to about 40 (input order shuffled).

(a) augkit: augkit.augment with the translate generator (inputs sorted by length, packed to 4,096 padded tokens; greedy);
(b) plain loop: fixed batches of --batch-size in input order, tokenizer padding, model.generate;
nlpaug's BackTranslationAug translates each direction with exactly (b)'s loop (tokenize a batch of its
batch_size, 32 by default, with padding, in input order; generate; decode); transformers 5 has no
translation pipeline any more, so (b) stands for both.
All greedy with the same max_new_tokens; the script prints how many outputs agree with (a), sentences per
second, and (a)'s speed-up over (b). Each is timed after a warm-up run, best of --repeats.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import time
from pathlib import Path

import augkit


def pairs_and_inputs(n: int, seed: int = 0):
    from augkit_synthetic import load_benchmark

    root = Path(__file__).resolve().parent.parent
    bench = load_benchmark(root / "recipes" / "data" / "synthetic" / "demo.toml")
    pairs = []
    for task in ("nli", "ner"):
        for r in bench.examples(task, "translate-train", "xa"):
            src = r["meta"]["parallel"]["source"]
            if task == "nli":
                pairs += [(src["text_a"], r["text_a"]), (src["text_b"], r["text_b"])]
            else:
                pairs.append((" ".join(src["tokens"]), " ".join(r["tokens"])))
    sentences = [r["text_a"] for r in bench.examples("nli", "test", "en")] + \
        [" ".join(r["tokens"]) for r in bench.examples("ner", "test", "en")]
    rng = random.Random(seed)
    inputs = [s if rng.random() < 0.6 else s + " " + rng.choice(sentences) for s in
              (rng.choice(sentences) for _ in range(n))]
    return pairs, inputs


def gettext_pairs_and_inputs(n: int, held: int = 500, seed: int = 0):
    """(training pairs, inputs, held-out pairs) from the installed English → German gettext catalogs."""
    from augkit_translate.tiny import gettext_pairs

    pairs = gettext_pairs("de")
    if len(pairs) < 2 * held:
        raise SystemExit(f"only {len(pairs)} English → German gettext pairs under /usr/share/locale/de")
    random.Random(seed).shuffle(pairs)
    test, train = pairs[:held], pairs[held:]
    rng = random.Random(seed)
    return train, [rng.choice(train)[0] if i >= held else test[i][0] for i in range(n)], test


def model_folder(pairs, steps: int, **shape) -> Path:
    from augkit.pretrained import cache_dir
    from augkit_translate.tiny import train_tiny_mt

    key = hashlib.sha256((repr(steps) + repr(sorted(shape.items())) + "".join(a + b for a, b in pairs)).encode()
                         ).hexdigest()[:12]
    folder = cache_dir() / f"bench-tiny-mt-{key}"
    if not (folder / "config.json").exists():
        t = time.perf_counter()
        train_tiny_mt(folder, pairs, steps=steps, **shape)
        print(f"trained the tiny MT model in {time.perf_counter() - t:.0f} s -> {folder}")
    return folder


def quality(folder: Path, untrained: Path, held, max_new_tokens: int, device: str) -> None:
    """chrF and BLEU of the trained model, the same model untrained and copying the input, on ``held``."""
    import sacrebleu

    from augkit import Example, get_component

    refs = [[b for _, b in held]]
    rows = []
    for name, model in (("trained", folder), ("untrained (same vocabulary, step 0)", untrained)):
        gen = get_component("generator", "translate", model=str(model), target_lang="de", source_lang="en",
                            max_new_tokens=max_new_tokens)
        out = [ex.text_a for ex in augkit.augment(gen, [Example(id=f"h{i}", type="pair", lang="en", text_a=a)
                                                for i, (a, _) in enumerate(held)], seed=0, device=device,
                                               keep_identical=True)]
        rows.append((name, out))
    rows.append(("copy the English input", [a for a, _ in held]))
    print(f"\nquality on {len(held)} held-out gettext strings (sacrebleu {sacrebleu.__version__}):")
    for name, out in rows:
        print(f"  {name:34} chrF {sacrebleu.corpus_chrf(out, refs).score:5.1f}   "
              f"BLEU {sacrebleu.corpus_bleu(out, refs).score:5.1f}")
    for (a, b), o in list(zip(held, rows[0][1]))[:5]:
        print(f"  {a!r} -> {o!r} (reference {b!r})")


def plain_loop(model, tok, texts, batch_size, max_new_tokens, device):
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tok(texts[i:i + batch_size], return_tensors="pt", padding=True, truncation=True).to(device)
            ids = model.generate(**enc, max_new_tokens=max_new_tokens, num_beams=1, do_sample=False)
            out += [t.strip() for t in tok.batch_decode(ids, skip_special_tokens=True)]
    return out


def timed(fn, repeats):
    fn()  # warm-up
    best, result = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=1500)
    ap.add_argument("--steps", type=int, default=600, help="training steps of the tiny MT model")
    ap.add_argument("--batch-size", type=int, default=32, help="batch size of the plain and pipeline loops")
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--pairs", choices=["synthetic", "gettext"], default="synthetic",
                    help="training pairs and inputs: the synthetic benchmark's, or real English → German gettext "
                         "strings (also scored with sacrebleu)")
    args = ap.parse_args()

    import warnings

    import torch
    from transformers import AutoTokenizer, MarianMTModel

    from augkit import Example, get_component

    warnings.filterwarnings("ignore", message=".*sacremoses.*")
    torch.manual_seed(0)
    if args.pairs == "gettext":
        pairs, texts, held = gettext_pairs_and_inputs(args.sentences)
        shape = dict(d_model=128, ffn=256, vocab_size=4000, lr=2e-3, warmup_steps=150, batch_size=64)
        folder, target = model_folder(pairs, args.steps, **shape), "de"
    else:
        pairs, texts = pairs_and_inputs(args.sentences)
        folder, target = model_folder(pairs, args.steps), "xa"
    gen = get_component("generator", "translate", model=str(folder), target_lang=target, source_lang="en",
                        max_new_tokens=args.max_new_tokens)
    gen.ensure_setup(device=args.device)
    examples = [Example(id=f"s{i}", type="pair", lang="en", text_a=t) for i, t in enumerate(texts)]
    t_a, out_a = timed(lambda: [e.text_a for e in augkit.augment(gen, examples, seed=0, batch_size=len(examples),
                                                              device=args.device)], args.repeats)
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = MarianMTModel.from_pretrained(str(folder)).to(args.device).eval()
    t_b, out_b = timed(lambda: plain_loop(model, tok, texts, args.batch_size, args.max_new_tokens, args.device),
                       args.repeats)
    n = len(texts)
    words = sum(len(t.split()) for t in texts) / n
    print(f"{n} sentences (mean {words:.1f} words), device {args.device}, greedy, max_new_tokens "
          f"{args.max_new_tokens}, torch threads {torch.get_num_threads()}")
    print(f"example: {texts[0]!r} -> {out_a[0]!r}")
    print(f"{'method':52} {'s':>7} {'sent/s':>8} {'same as (a)':>12}")
    for name, t, out in (("(a) augkit translate (sorted, 4,096-token batches)", t_a, out_a),
                         (f"(b) plain generate loop, batch {args.batch_size}, input order", t_b, out_b)):
        same = sum(x == y for x, y in zip(out, out_a))
        print(f"{name:52} {t:7.2f} {n / t:8.1f} {same:>7}/{n}")
    print(f"speed-up of (a) over (b): {t_b / t_a:.2f}x")
    if args.pairs == "gettext":
        quality(folder, model_folder(pairs, 0, **shape), held, args.max_new_tokens, args.device)


if __name__ == "__main__":
    main()
