"""GEN-LM speed: augkit's batched generator vs. a faithful reference loop, side by side in one run.

    python benchmarks/bench_vicinity.py [--sentences 1000] [--reference-sentences 40] [--device cpu]
    python benchmarks/bench_vicinity.py --large --device cuda     # XLM-R-large shape, bf16 (GPU only)

Model: XLM-R-shaped, random weights, vocabulary 250,002 (hidden 256, 4 layers, 4 heads, FFN 1024; or the
XLM-R-large shape with --large). Tokenizer: a sentencepiece model trained on augkit's sample text and
extended with synthetic pieces to 250,002 ids, of which --word-initial-share start a word. Sentences are
synthetic with realistic lengths (mean about 15 words).

(a) augkit: augkit.augment with the vicinity generator over all sentences (δ=3, P=0.3, successive max, argmax).
(b) reference: augkit_vicinity.reference (one sentence, one mask, batch size 1, the model's full output
    layer at every position, then restricted to word-initial pieces) on the first --reference-sentences
    sentences, with augkit's mask choices; outputs must be identical.
Also: augkit's achieved FLOP/s (useful FLOPs: real tokens and allowed-vocabulary head only) as a share of
a plain fp32 matrix multiply measured in the same run.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time

import augkit
from pathlib import Path

import torch


def build_tokenizer(folder: Path, vocab: int, word_initial_share: float, seed: int = 0):
    import io

    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb
    from transformers import XLMRobertaTokenizer

    text = (Path(__import__("augkit").__file__).parent / "resources" / "tiny_corpus.txt").read_text().splitlines()
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text), model_writer=buf, vocab_size=400,
                                   hard_vocab_limit=False, num_threads=1, minloglevel=2)
    proto = pb.ModelProto()
    proto.ParseFromString(buf.getvalue())
    rng = random.Random(seed)
    # like XLM-R, frequent words are single pieces: give 70% of the corpus's words a piece of their own
    # (the rest split into several), for about 1.4 pieces per word
    have = {p.piece for p in proto.pieces}
    words = sorted({w for line in text for w in line.split()})
    for w in words:
        if rng.random() < 0.7 and "▁" + w not in have:
            p = proto.pieces.add()
            p.piece, p.score, p.type = "▁" + w, -1.0, pb.ModelProto.SentencePiece.NORMAL
    need = vocab - 2 - len(proto.pieces)  # the tokenizer adds <pad>-offset and <mask>
    for i in range(need):
        p = proto.pieces.add()
        p.piece = (("▁" if rng.random() < word_initial_share else "") + f"x{i:06d}")
        p.score = -20.0 - i * 1e-6
        p.type = pb.ModelProto.SentencePiece.NORMAL
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sentencepiece.bpe.model").write_bytes(proto.SerializeToString())
    return XLMRobertaTokenizer.from_pretrained(str(folder))


def sentences(n: int, seed: int = 0) -> list[list[str]]:
    text = (Path(__import__("augkit").__file__).parent / "resources" / "tiny_corpus.txt").read_text().split()
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        L = max(3, min(40, int(rng.gauss(15, 6))))
        out.append([rng.choice(text) for _ in range(L)])
    return out


class CountingLM:
    """Wraps a MaskedLM to count the useful FLOPs of its forwards (real tokens, allowed-vocabulary head)."""

    def __init__(self, lm, cfg):
        self.lm, self.cfg, self.flops = lm, cfg, 0

    def __getattr__(self, name):
        return getattr(self.lm, name)

    def predict(self, seqs, masks, **kw):
        h, f, L = self.cfg.hidden_size, self.cfg.intermediate_size, self.cfg.num_hidden_layers
        shortcut = self.lm._last_layer is not None
        for s in seqs:
            n = len(s)
            full_layers = L - 1 if shortcut else L
            self.flops += full_layers * n * 2 * (4 * h * h + 2 * h * f + 2 * n * h)
            if shortcut:  # last layer: keys/values for every token, the rest for the masked row only
                self.flops += n * 2 * 2 * h * h + 2 * (2 * h * h + 2 * h * f) + 2 * 2 * n * h
        self.flops += len(seqs) * 2 * (h * h + h * len(self.lm.allowed))
        return self.lm.predict(seqs, masks, **kw)


def matmul_flops_per_s(device: str, dtype, n: int = 2048, reps: int = 5) -> float:
    """Best of three timings of ``reps`` n×n×n products (the machine's plain GEMM throughput)."""
    return max(_matmul_once(device, dtype, n, reps) for _ in range(3))


def _matmul_once(device: str, dtype, n: int, reps: int) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2 * n ** 3 * reps / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--reference-sentences", type=int, default=40)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--large", action="store_true", help="XLM-R-large shape (1024 hidden, 24 layers), bf16 on GPU")
    ap.add_argument("--word-initial-share", type=float, default=0.6)
    ap.add_argument("--max-tokens", type=int, default=0, help="encoder token budget (0: the generator's default)")
    args = ap.parse_args()

    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM

    import augkit
    from augkit_vicinity import MaskedLM, VicinityGenerator
    from augkit_vicinity.reference import reference_successive_max

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tok = build_tokenizer(Path(tmp), 250_002, args.word_initial_share)
        shape = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096) if args.large \
            else dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024)
        cfg = XLMRobertaConfig(vocab_size=len(tok), max_position_embeddings=514, type_vocab_size=1, **shape)
        model = XLMRobertaForMaskedLM(cfg)
        lm = MaskedLM(model, tok, device=args.device, precision="bf16" if args.device.startswith("cuda") else "fp32")
        print(f"setup: vocabulary {len(tok):,}, allowed word-initial pieces {len(lm.allowed):,}, "
              f"shape {shape}, threads {torch.get_num_threads()}, device {args.device} ({time.perf_counter() - t0:.1f}s)")

    sents = sentences(args.sentences)
    examples = [augkit.Example(id=f"s{i}", tokens=s, tags=["O"] * len(s)) for i, s in enumerate(sents)]
    n_pieces = sum(len(t) for p in lm.word_pieces(sents) for t in p)
    print(f"data: {len(sents)} sentences, mean {sum(map(len, sents)) / len(sents):.1f} words, "
          f"{n_pieces / sum(map(len, sents)):.2f} pieces per word")

    counting = CountingLM(lm, cfg)
    gen = VicinityGenerator(samples_per_input=3, mask_ratio=0.3, max_tokens_per_batch=args.max_tokens).use_model(counting)
    augkit.augment(gen, examples[:50], seed=1, batch_size=512)  # warm-up
    counting.flops = 0
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    out = augkit.augment(gen, examples, seed=1, batch_size=512)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    fast_s = time.perf_counter() - t
    fast_rate = len(examples) / fast_s
    achieved = counting.flops / fast_s
    peak = matmul_flops_per_s(args.device, torch.bfloat16 if args.device.startswith("cuda") else torch.float32)
    print(f"(a) augkit:    {len(examples)} sentences -> {len(out)} samples in {fast_s:.2f}s = {fast_rate:.1f} sentences/s; "
          f"{achieved / 1e9:.1f} GFLOP/s useful")

    n_ref = min(args.reference_sentences, len(examples))
    ref_out = [o for o in out if int(o.source_id[1:]) < n_ref]
    t = time.perf_counter()
    identical = 0
    for o in ref_out:
        src = sents[int(o.source_id[1:])]
        if reference_successive_max(lm, src, o.meta["mask_order"]["tokens"]) == o.tokens:
            identical += 1
    ref_s = time.perf_counter() - t
    ref_rate = n_ref / ref_s
    print(f"(b) reference: {n_ref} sentences -> {len(ref_out)} samples in {ref_s:.2f}s = {ref_rate:.2f} sentences/s; "
          f"identical outputs {identical}/{len(ref_out)}")
    print(f"plain matmul: {peak / 1e9:.1f} GFLOP/s ({'bf16' if args.device.startswith('cuda') else 'fp32'} 2048^3)")
    print(f"RESULT speedup {fast_rate / ref_rate:.1f}x (target >= 30x); "
          f"matmul share {achieved / peak:.0%} (target >= 50% on CPU, >= 35% of peak on GPU); "
          f"outputs identical: {identical == len(ref_out)}")


if __name__ == "__main__":
    main()
