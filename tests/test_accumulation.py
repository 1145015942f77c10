"""Exact gradient accumulation: one optimizer step over the same examples as batch B × accumulation 1
and as batch B/k × accumulation k logs the same loss and gradient norm, clips to the same gradient and
makes the same update — for a plain task model, with a trainer hook (MultiMix's confidence penalty), with
X-Mixup's loss function and with the balanced batch sampler. The test checks the mechanism (what one
step does to the weights), not a transformers version's internals."""
from __future__ import annotations

import pytest
import torch

from augkit import Example, RunError, get_component, resolve_model
from augkit.tasks import (BalancedBatchSampler, BatchSplit, FeatureDataset, TrainingParams, build_trainer, encode,
                          feature_collator, largest_fitting, load_task_model)
from augkit.tasks.training import longest_items

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
WORDS = "anna lives in berlin and paul works at the station near vienna with maria".split()
SPLITS = [(8, 1), (2, 4), (4, 2)]  # (micro-batch, accumulation passes): 8 examples per optimizer step each


def _examples(n: int, offset: int = 0) -> list[Example]:
    """Tagged sentences of different lengths (so micro-batches hold different numbers of tokens)."""
    out = []
    for i in range(n):
        length = 3 + (i * 5 + offset) % 9
        words = [WORDS[(i + offset + j) % len(WORDS)] for j in range(length)]
        tags = [LABELS[(i + j) % len(LABELS)] if j % 3 == 0 else "O" for j in range(length)]
        out.append(Example(f"s{offset}-{i}", tokens=words, tags=tags))
    return out


def _no_dropout(model):
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


class _Capture:
    """The clipped gradient just before the optimizer steps."""

    def __init__(self, model):
        from transformers import TrainerCallback

        capture = self

        class Callback(TrainerCallback):
            def on_pre_optimizer_step(self, args, state, control, **kw):
                capture.grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}

        self.callback, self.grads = Callback(), None


def _one_step(model, batch_size: int, micro: int, accumulation: int, max_grad_norm: float = 1e6, **kwargs) -> dict:
    """One optimizer step of ``batch_size`` examples as ``accumulation`` passes of at most ``micro``."""
    params = TrainingParams(learning_rate=1e-2, batch_size=batch_size, micro_batch_size=micro, max_steps=1,
                            max_grad_norm=max_grad_norm, logging_steps=1)
    capture = _Capture(model)
    history: list = []
    trainer = build_trainer(model, params, steps=1, seed=3, callbacks=[capture.callback], history=history, **kwargs)
    assert trainer.augkit_split.accumulation == accumulation and trainer.args.gradient_accumulation_steps == accumulation
    trainer.train()
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    return {"loss": history[0]["loss"], "grad_norm": history[0]["grad_norm"], "grads": capture.grads,
            "weights": weights}


def _same_step(run, splits=SPLITS) -> list[dict]:
    """``run(batch_size, grad_accum, max_grad_norm)`` for every split, with the clipping threshold at 1.5×
    the step's gradient norm: the step is not clipped, and a loss scaled by the accumulation (k× the
    norm) would be — so a wrong scale shows in the update, not only in the logged numbers."""
    norm = run(*splits[0], 1e6)["grad_norm"]
    runs = [run(b, k, 1.5 * norm) for b, k in splits]
    first = runs[0]
    for other in runs[1:]:
        assert other["loss"] == pytest.approx(first["loss"], rel=1e-4)
        assert other["grad_norm"] == pytest.approx(first["grad_norm"], rel=1e-4)
        scale = max(float(g.abs().max()) for g in first["grads"].values())
        for name, grad in first["grads"].items():
            torch.testing.assert_close(other["grads"][name], grad, rtol=1e-3, atol=1e-4 * scale)
        # AdamW's first step moves each weight by about ±lr whatever the gradient's size, so float noise in a
        # gradient near zero moves a weight by a little of lr: the updates are compared at 1% of lr (the
        # logged loss, the norm and the clipped gradient above are what a wrong scale changes)
        for name, w in first["weights"].items():
            torch.testing.assert_close(other["weights"][name], w, rtol=0, atol=1e-4)
    return runs


@pytest.fixture(scope="module")
def tagging_data():
    tm = load_task_model(resolve_model("augkit:tiny-xlmr"), "tagging", LABELS, seed=1)
    feats = encode(_examples(8), tm.tokenizer, "tagging", 32, {l: i for i, l in enumerate(LABELS)})
    return tm, feats


def _plain_run(tagging_data, batch_size, grad_accum, max_grad_norm, hooks=()):
    tm, feats = tagging_data
    model = _no_dropout(load_task_model(resolve_model("augkit:tiny-xlmr"), "tagging", LABELS, seed=1).model)
    return _one_step(model, 8, batch_size, grad_accum, max_grad_norm, train_dataset=FeatureDataset(feats),
                     data_collator=feature_collator(tm.tokenizer.pad_token_id), hooks=hooks)


def test_a_plain_task_model_takes_the_same_step_however_the_batch_is_split(tagging_data):
    _same_step(lambda b, k, clip: _plain_run(tagging_data, b, k, clip))


def test_a_trainer_hook_takes_the_same_step_however_the_batch_is_split(tagging_data):
    def penalty():
        return [get_component("trainer_hook", "confidence-penalty", beta=1.0)]

    runs = _same_step(lambda b, k, clip: _plain_run(tagging_data, b, k, clip, hooks=penalty()))
    assert runs[0]["loss"] != pytest.approx(_plain_run(tagging_data, 8, 1, 1e6)["loss"])  # the hook is in the loss


def test_the_balanced_sampler_gives_each_step_the_same_examples_however_it_is_split(tagging_data):
    tm, _ = tagging_data
    index = {l: i for i, l in enumerate(LABELS)}
    feats = encode(_examples(6), tm.tokenizer, "tagging", 32, index) + \
        encode(_examples(10, offset=4), tm.tokenizer, "tagging", 32, index)
    def run(b, k, clip):
        sampler = BalancedBatchSampler([6, 10], 8, 0.7, 1, seed=5)
        model = _no_dropout(load_task_model(resolve_model("augkit:tiny-xlmr"), "tagging", LABELS, seed=1).model)
        out = _one_step(model, 8, b, k, clip, train_dataset=FeatureDataset(feats),
                        data_collator=feature_collator(tm.tokenizer.pad_token_id), batch_sampler=sampler)
        micro_batches = list(sampler)
        assert len(micro_batches) == k and all(len(m) == b for m in micro_batches)
        return {**out, "step": sorted(i for m in micro_batches for i in m)}

    runs = _same_step(run)
    assert all(r["step"] == runs[0]["step"] for r in runs)  # the same examples, split differently


class _PairItems(torch.utils.data.Dataset):
    """Parallel pairs as X-Mixup's loss reads them: source and target token ids and a label."""

    def __init__(self, n: int, pad: int):
        g = torch.Generator().manual_seed(0)
        self.pad, self.items = pad, []
        for i in range(n):
            s, t = 4 + (i * 3) % 7, 3 + (i * 5) % 8
            self.items.append((torch.randint(5, 120, (s,), generator=g), torch.randint(5, 120, (t,), generator=g), i % 3))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def collate(self, rows):
        def side(seqs):
            width = max(len(x) for x in seqs)
            ids = torch.full((len(seqs), width), self.pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, x in enumerate(seqs):
                ids[r, :len(x)], mask[r, :len(x)] = x, 1
            return {"input_ids": ids, "attention_mask": mask}

        labels = torch.tensor([r[2] for r in rows])
        return {"source": {**side([r[0] for r in rows]), "labels": labels},
                "target": {**side([r[1] for r in rows]), "labels": labels},
                "has_back": torch.zeros(len(rows), dtype=torch.bool)}


def test_x_mixups_loss_takes_the_same_step_however_the_batch_is_split():
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    from augkit_xmixup import XMixupModel
    from augkit_xmixup.method import Settings, compute_loss

    settings = Settings(task="pair", alpha=0.4)

    def loss_fn(model, inputs):
        return compute_loss(model, inputs, settings, torch.ones(inputs["has_back"].shape[0], dtype=torch.bool))

    def run(b, k, clip):
        torch.manual_seed(0)
        config = XLMRobertaConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=64, max_position_embeddings=80, num_labels=3, pad_token_id=1,
                                  type_vocab_size=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        xm = XMixupModel(XLMRobertaForSequenceClassification(config), mixup_layer=1)
        data = _PairItems(7, pad=1)
        return _one_step(xm, 7, b, k, clip, train_dataset=data, data_collator=data.collate, loss_fn=loss_fn)

    # 7 pairs: the micro-batches hold 2, 2, 2, 1 (or 4, 3), so a mean of micro-batch means would not do
    _same_step(run, splits=[(7, 1), (2, 4), (4, 2)])


def test_a_batch_splits_into_the_fewest_passes_that_fit_the_micro_batch():
    # (batch, micro, processes) -> (micro-batch used, accumulation passes), worked out by hand
    cases = {(64, 64, 1): (64, 1), (64, 16, 1): (16, 4), (64, 16, 2): (16, 2), (64, 16, 8): (8, 1),
             (64, 20, 1): (16, 4), (64, 48, 3): (22, 1), (64, 16, 3): (11, 2), (7, 2, 1): (2, 4), (5, 64, 2): (3, 1)}
    for (batch, micro, procs), want in cases.items():
        split = BatchSplit.of(batch, micro, procs)
        assert (split.micro_batch, split.accumulation) == want, (batch, micro, procs)
        assert split.pieces * split.micro_batch >= batch > split.pieces * (split.micro_batch - 1)
    with pytest.raises(RunError, match="smaller than the 4 processes"):
        BatchSplit.of(3, 1, 4)


def test_the_memory_probe_tries_the_longest_items_first(tagging_data):
    tm, feats = tagging_data  # 8 tagged sentences of 3 to 11 words
    order = longest_items(FeatureDataset(feats))
    lengths = [len(feats[i].input_ids) for i in order]
    assert sorted(order) == list(range(8)) and lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1]
    pairs = _PairItems(7, pad=1)  # tuples of (source ids, target ids, label)
    sizes = [len(pairs[i][0]) + len(pairs[i][1]) for i in longest_items(pairs)]
    assert sizes == sorted(sizes, reverse=True)


def test_auto_micro_batch_search_halves_until_the_probe_fits():
    tried = []

    def fits_under(limit):
        def fits(m):
            tried.append(m)
            return m <= limit
        return fits

    assert largest_fitting(64, fits_under(64)) == 64 and tried == [64]
    tried.clear()
    assert largest_fitting(64, fits_under(20)) == 16 and tried == [64, 32, 16]
    tried.clear()
    assert largest_fitting(48, fits_under(7)) == 6 and tried == [48, 24, 12, 6]
    tried.clear()
    assert largest_fitting(5, fits_under(0)) == 0 and tried == [5, 3, 2, 1]
