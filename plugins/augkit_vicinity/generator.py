"""GEN-LM: MultiMix's vicinity generator (successive max and successive cross), batched.

Faithful to the UXLA paper (Bari et al., §3.2, "vicinity distribution"), with the details the paper leaves
open settled as follows:

* units are words; ``m = max(1, floor(P·L))`` of the L words are replaced (P = ``mask_ratio``), chosen
  among words of at least ``min_word_chars`` characters;
* δ mask sets per text: disjoint windows of one random permutation of the eligible words while they
  last, then fresh random sets, never a repeated set, fewer than δ only when fewer distinct sets exist;
* successive max: the chosen words are visited one at a time in random order; each is replaced by one
  mask token in the current text (earlier words already filled, later ones still original) and the
  masked LM's best word-initial piece is put there;
* successive cross: the words are split into two halves (for a sentence pair, the two texts); δ1 and δ2
  variants of each half, and every left × right combination is a sample.

All randomness for an example comes from ``derive_seed(seed, example.id)``, so outputs do not depend
on the batch, the order, or the number of processes. The hot path runs every pending (sample, step) of
the whole batch through the model together: one bucketed forward per masking step.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Literal, Sequence

from augkit import Example, Generator, ModelRef, Params, derive_seed, param

from .plan import plan_mask_sets


@dataclasses.dataclass
class VicinityParams(Params):
    model: ModelRef = param("xlm-roberta-large", help="masked LM: Hugging Face id or folder, or a fairseq XLM-R folder")
    mode: Literal["successive_max", "successive_cross"] = param("successive_max", help="GEN-LM variant")
    mask_ratio: float = param(0.30, help="P: share of a text's words to replace (m = max(1, floor(P*L)))", gt=0, le=1)
    samples_per_input: int = param(3, help="δ: samples per input (successive max)", ge=1, le=1000)
    cross_samples: list[int] = param([2, 2], help="[δ1, δ2]: variants per half (successive cross)")
    min_word_chars: int = param(1, help="only words with at least this many characters are replaced", ge=1)
    min_words: int = param(1, help="texts with fewer words are passed through (counted)", ge=0)
    max_words: int = param(0, help="texts with more words are passed through (0 = no limit)", ge=0)
    decoding: Literal["argmax", "sample"] = param("argmax", help="take the best piece, or sample one")
    top_k: int = param(0, help="sampling: draw among the k best pieces (0 = all)", ge=0)
    temperature: float = param(1.0, help="sampling temperature", gt=0)
    relabel: Literal["all", "masked"] = param("all", help="labeler relabels all words, or only replaced ones")
    long_sentences: Literal["window", "skip"] = param(
        "window", help="texts longer than the model's positions: predict in a window around the mask, or pass through"
    )
    max_tokens_per_batch: int = param(
        0,
        help="token budget of one encoder forward, padding included "
        "(0: 4096 on CPU, where activations then stay in cache; 32768 on GPU)",
        ge=0,
    )
    trust_remote_code: bool = param(False, help="allow the model's own code to run (only if you trust it)")

    def check(self):
        if len(self.cross_samples) != 2 or min(self.cross_samples) < 1:
            raise ValueError(f"cross_samples: expected two integers >= 1, got {self.cross_samples}")


@dataclasses.dataclass
class _Job:
    """One chain of successive predictions: a text's words and the positions to fill, in order."""

    example: int
    part: str  # "tokens", "a" or "b"
    variant: int
    pieces: list  # piece ids per word (mutated as words are filled)
    words: list  # words (mutated)
    positions: list  # positions to fill, in visiting order
    rng: random.Random | None = None
    step: int = 0


class VicinityGenerator(Generator):
    """MultiMix GEN-LM: label-preserving neighbours of each sentence from a masked LM."""

    name = "vicinity"
    Params = VicinityParams
    params: VicinityParams
    example_types = ("tagging", "pair")

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        from .mlm import MaskedLM

        self.lm = MaskedLM.load(
            self.params.model, device=device, precision=precision, trust_remote_code=self.params.trust_remote_code
        )

    def estimate(self, est):
        """``augkit plan``: every replaced word is one forward of its text through the masked LM (m =
        max(1, ⌊P·L⌋) per sample, δ samples per text, or δ1/δ2 in successive cross), plus the output layer
        at the masked position; samples written: δ (or δ1·δ2) per input."""
        from augkit.costs import DataSize, StageCost, Work, inference_memory

        p = self.params
        shape = est.model(p.model)
        if shape is None:
            return None
        size = est.size("corpus")
        pair = size.kind == "pair"
        texts = 2 if pair else 1
        length = size.words / texts
        deltas = p.cross_samples if p.mode == "successive_cross" else [p.samples_per_input] * texts
        if p.mode == "successive_cross" and texts == 1:
            length /= 2  # one text: its two halves
            texts = 2
        forwards_per_example = sum(
            deltas[min(t, len(deltas) - 1)] * max(1.0, p.mask_ratio * length) for t in range(texts)
        )
        tokens = DataSize(1, length).tokens()
        forwards = size.examples * forwards_per_example
        flops = shape.forward_flops(forwards * tokens, tokens) + forwards * 2 * shape.hidden * (
            shape.hidden + shape.vocab
        )
        budget = p.max_tokens_per_batch or (32768 if est.hw.gpu is not None else 4096)
        batch = max(1, int(budget // max(tokens, 1)))
        memory = inference_memory(shape, batch, int(tokens), half=est.hw.half, logits=batch * shape.vocab)
        outputs = size.examples * (
            p.cross_samples[0] * p.cross_samples[1] if p.mode == "successive_cross" else p.samples_per_input
        )
        cost = StageCost(
            examples=size.examples,
            work=[Work("GEN-LM", flops, forwards * tokens, memory, batches=forwards / batch, layers=shape.layers)],
            outputs=int(outputs),
            disk_bytes=outputs * (8 * size.words + 200),
        )
        cost.notes.append(
            f"{forwards_per_example:.1f} masked-LM forwards per input ({'pairs' if pair else 'one text'}"
            f" of about {size.words:.0f} words)"
        )
        return cost

    def use_model(self, lm) -> "VicinityGenerator":
        """Use an already loaded ``MaskedLM`` (Python API; skips ``setup``)."""
        self.lm, self._ready = lm, True
        return self

    # planning -----------------------------------------------------------------------------------
    def _texts(self, ex: Example) -> list[tuple[str, list[str]]]:
        if ex.type == "tagging":
            return [("tokens", list(ex.tokens))]
        return [("a", (ex.text_a or "").split())] + ([("b", ex.text_b.split())] if ex.text_b is not None else [])

    def _skip_reason(self, words: Sequence[str]) -> str | None:
        p = self.params
        if not words:
            return "passed_empty"
        if len(words) < p.min_words:
            return "passed_too_short"
        if p.max_words and len(words) > p.max_words:
            return "passed_too_long"
        return None

    def _plan(self, ex: Example, seed: int, n_tokens: dict[str, int]) -> dict[str, list[list[int]]] | None:
        """Mask sets (in visiting order) per part; None when the example is passed through."""
        p = self.params
        if p.long_sentences == "skip" and any(n + 2 > self.lm.max_len for n in n_tokens.values()):
            self.count("passed_too_long_for_model")
            return None
        rng = random.Random(derive_seed(seed, ex.id))
        texts = self._texts(ex)
        if len(texts) == 1 and p.mode == "successive_cross":  # one text: its two halves
            words = texts[0][1]
            half = len(words) // 2
            texts = [("left", words), ("right", words)]
            ranges = {"left": range(0, half), "right": range(half, len(words))}
        else:
            ranges = {name: range(len(words)) for name, words in texts}
        plans = {}
        for i, (name, words) in enumerate(texts):
            span = ranges[name]
            eligible = [j for j in span if len(words[j]) >= p.min_word_chars]
            m = max(1, math.floor(p.mask_ratio * len(span)))
            if p.mode == "successive_cross":
                delta = p.cross_samples[0 if i == 0 else 1]
            else:
                delta = p.samples_per_input
            plans[name] = plan_mask_sets(eligible, m, delta, rng)
        if not any(plans.values()):
            self.count("passed_no_eligible_words")
            return None
        return plans

    # generation ---------------------------------------------------------------------------------
    def augment_batch(self, examples: Sequence[Example], *, seed: int) -> list[Example]:
        p = self.params
        texts = [dict(self._texts(ex)) for ex in examples]
        bounded = []
        for t in texts:
            reason = next((r for r in map(self._skip_reason, t.values()) if r), None)
            if reason:
                self.count(reason)
            bounded.append(reason is None)
        # one tokenizer call for every text of the batch
        flat = [(i, name, words) for i, t in enumerate(texts) if bounded[i] for name, words in t.items()]
        pieces = self.lm.word_pieces([w for _, _, w in flat])
        piece_of = {(i, name): pc for (i, name, _), pc in zip(flat, pieces)}
        plans = [
            self._plan(ex, seed, {name: sum(map(len, piece_of[(i, name)])) for name in texts[i]})
            if bounded[i]
            else None
            for i, ex in enumerate(examples)
        ]
        jobs: list[_Job] = []
        for i, plan in enumerate(plans):
            if plan is None:
                continue
            for part, sets in plan.items():
                source = _source_part(examples[i], part)
                for v, positions in enumerate(sets):
                    rng = (
                        random.Random(derive_seed(seed, examples[i].id, "sample", part, v))
                        if p.decoding == "sample"
                        else None
                    )
                    jobs.append(
                        _Job(
                            i,
                            part,
                            v,
                            [list(x) for x in piece_of[(i, source)]],
                            list(texts[i][source]),
                            list(positions),
                            rng,
                        )
                    )
        self._run_jobs(jobs)
        return self._assemble(examples, plans, jobs, seed)

    def _run_jobs(self, jobs: list[_Job]) -> None:
        lm, p = self.lm, self.params
        active = [j for j in jobs if j.positions]
        while active:
            seqs, masks, live = [], [], []
            for job in active:
                pos = job.positions[job.step]
                before = [t for w in job.pieces[:pos] for t in w]
                after = [t for w in job.pieces[pos + 1 :] for t in w]
                seq = [lm.bos, *before, lm.mask, *after, lm.eos]
                mask_at = len(before) + 1
                if len(seq) > lm.max_len:
                    seq, mask_at = _window(seq, mask_at, lm.max_len, lm.bos, lm.eos)
                    self.count("windowed_predictions")
                seqs.append(seq)
                masks.append(mask_at)
                live.append(job)
            if live:
                uniforms = [job.rng.random() for job in live if job.rng] if p.decoding == "sample" else None
                budget = p.max_tokens_per_batch or (32768 if lm.device.type == "cuda" else 4096)
                choice = lm.predict(
                    seqs, masks, max_tokens=budget, uniforms=uniforms, top_k=p.top_k, temperature=p.temperature
                )
                for job, k in zip(live, choice):
                    pos = job.positions[job.step]
                    job.pieces[pos] = [int(lm.allowed[k])]
                    job.words[pos] = lm.allowed_words[k]
                    job.step += 1
            active = [j for j in active if j.step < len(j.positions)]

    def _assemble(self, examples, plans, jobs, seed) -> list[Example]:
        p = self.params
        by_ex: dict[int, dict[str, list[_Job]]] = {}
        for job in jobs:
            by_ex.setdefault(job.example, {}).setdefault(job.part, []).append(job)
        out: list[Example] = []
        for i, ex in enumerate(examples):
            if plans[i] is None:
                continue
            parts = by_ex.get(i, {})
            for k, combo in enumerate(self._combinations(ex, parts)):
                if ex.type == "tagging":
                    words, touched = list(ex.tokens), set()
                    for job in combo:
                        done = job.positions[: job.step]
                        for pos in done:
                            words[pos] = job.words[pos]
                        touched.update(done)
                    replaced = sorted(touched)
                    if not replaced:
                        continue
                    changed = [i for i in replaced if words[i] != ex.tokens[i]]
                    self.count("replaced_words", len(replaced))
                    self.count("replaced_words_unchanged", len(replaced) - len(changed))
                    # tags stay empty: a labeler (or a replaced_tags policy) gives them; with relabel="masked"
                    # it keeps orig_tags on the untouched words
                    out.append(
                        Example(
                            id=f"{ex.id}~v{k}",
                            type="tagging",
                            lang=ex.lang,
                            tokens=words,
                            tags=[],
                            source_id=ex.id,
                            component=self.display_name(),
                            replaced=replaced,
                            orig_tags=list(ex.tags),
                            keep_orig_tags=p.relabel == "masked",
                            meta={**self._meta(combo), "changed": changed},
                        )
                    )
                else:
                    original = {"a": (ex.text_a or "").split(), "b": (ex.text_b or "").split()}
                    texts = {key: list(words) for key, words in original.items()}
                    replaced_parts: dict[str, set] = {"a": set(), "b": set()}
                    for job in combo:
                        done = job.positions[: job.step]
                        part = _source_part(ex, job.part)
                        for pos in done:
                            texts[part][pos] = job.words[pos]
                        replaced_parts[part].update(done)
                    if not (replaced_parts["a"] or replaced_parts["b"]):
                        continue
                    meta = self._meta(combo)
                    for key in ("a", "b"):
                        done = sorted(replaced_parts[key])
                        changed = [i for i in done if texts[key][i] != original[key][i]]
                        meta.update({f"replaced_{key}": done, f"changed_{key}": changed})
                        self.count("replaced_words", len(done))
                        self.count("replaced_words_unchanged", len(done) - len(changed))
                    out.append(
                        Example(
                            id=f"{ex.id}~v{k}",
                            type="pair",
                            lang=ex.lang,
                            text_a=" ".join(texts["a"]),
                            text_b=" ".join(texts["b"]) if ex.text_b is not None else None,
                            label=ex.label,
                            source_id=ex.id,
                            component=self.display_name(),
                            meta=meta,
                        )
                    )
            self.count("augmented_inputs")
        return out

    def _combinations(self, ex: Example, parts: dict[str, list[_Job]]) -> list[tuple[_Job, ...]]:
        if self.params.mode == "successive_cross":
            left, right = (
                (parts.get("left", []), parts.get("right", []))
                if "left" in parts or "right" in parts
                else (parts.get("a", []), parts.get("b", []))
            )
            if left and right:
                return [(l, r) for l in left for r in right]
            return [(j,) for j in left or right]
        if ex.type == "tagging":
            return [(j,) for j in parts.get("tokens", [])]
        a, b = parts.get("a", []), parts.get("b", [])
        n = max(len(a), len(b))
        return [
            tuple(x for x in ((a[k % len(a)] if a else None), (b[k % len(b)] if b else None)) if x) for k in range(n)
        ]

    def _meta(self, combo) -> dict:
        p = self.params
        return {
            "mode": p.mode,
            "variants": [f"{j.part}{j.variant}" for j in combo],
            "mask_order": {j.part: j.positions[: j.step] for j in combo},
        }


def _source_part(ex: Example, part: str) -> str:
    """The text a job's part edits: a half of a single text edits that text."""
    if part in ("left", "right"):
        return "tokens" if ex.type == "tagging" else "a"
    return part


def _window(seq: list[int], mask_at: int, max_len: int, bos: int, eos: int) -> tuple[list[int], int]:
    """A window of at most ``max_len`` tokens (specials included) centred on the mask."""
    body = seq[1:-1]
    width = max_len - 2
    m = mask_at - 1
    start = min(max(0, m - width // 2), max(0, len(body) - width))
    return [bos, *body[start : start + width], eos], m - start + 1
