"""The X-Mixup encoder pinned down on tiny random BERT and XLM-R models: what each stream computes,
the entropies, λ, padding and batch invariance, W/b training, scheduled sampling."""
import math

import numpy as np
import pytest
import torch

from augkit_xmixup import XMixupModel, attention_entropies
from augkit_xmixup.method import ScheduledSampler, sampling_probability


def _tiny(arch: str, head: str, layers: int = 3, seed: int = 0):
    from transformers import (BertConfig, BertForSequenceClassification, BertForTokenClassification,
                              XLMRobertaConfig, XLMRobertaForQuestionAnswering, XLMRobertaForSequenceClassification,
                              XLMRobertaForTokenClassification)

    torch.manual_seed(seed)
    common = dict(vocab_size=120, hidden_size=32, num_hidden_layers=layers, num_attention_heads=4,
                  intermediate_size=64, max_position_embeddings=80, num_labels=5)
    if arch == "bert":
        config = BertConfig(**common, pad_token_id=0)
        cls = {"pair": BertForSequenceClassification, "tagging": BertForTokenClassification}[head]
    else:
        config = XLMRobertaConfig(**common, pad_token_id=1, type_vocab_size=1)
        cls = {"pair": XLMRobertaForSequenceClassification, "tagging": XLMRobertaForTokenClassification,
               "qa": XLMRobertaForQuestionAnswering}[head]
    return cls(config).eval()


def _batch(model, lengths, seed):
    """Random token ids with real lengths ``lengths`` (padding after them)."""
    g = torch.Generator().manual_seed(seed)
    pad = model.config.pad_token_id
    width = max(lengths)
    ids = torch.full((len(lengths), width), pad, dtype=torch.long)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(5, 120, (n,), generator=g)
        mask[r, :n] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _pad_more(batch, extra, pad):
    ids = torch.cat([batch["input_ids"], torch.full((len(batch["input_ids"]), extra), pad)], dim=1)
    mask = torch.cat([batch["attention_mask"], torch.zeros((len(ids), extra), dtype=torch.long)], dim=1)
    return {"input_ids": ids, "attention_mask": mask}


def _real(x, mask):
    """The rows' values on real tokens only, as a flat tensor (``x`` may be padded wider than ``mask``)."""
    return x[:, :mask.shape[1]][mask.bool()]


ARCHS = [("bert", "tagging"), ("xlmr", "tagging"), ("bert", "pair"), ("xlmr", "pair")]


@pytest.mark.parametrize("arch,head", ARCHS)
def test_with_mixup_off_both_streams_equal_a_plain_forward(arch, head):
    model = _tiny(arch, head)
    xm = XMixupModel(model, mixup_layer=2).eval()
    src, tgt = _batch(model, [7, 4, 9], 1), _batch(model, [5, 11, 3], 2)
    with torch.no_grad():
        out = xm(src, tgt, mixup=False, output_hidden_states=True)
        for stream, inputs in ((out.source, src), (out.target, tgt)):
            plain = model(**inputs, output_hidden_states=True)
            m = inputs["attention_mask"]
            if head == "pair":
                torch.testing.assert_close(stream.output.logits, plain.logits, atol=1e-5, rtol=1e-5)
            else:
                torch.testing.assert_close(_real(stream.output.logits, m), _real(plain.logits, m), atol=1e-5, rtol=1e-5)
            assert len(stream.hidden_states) == len(plain.hidden_states) == 4
            for mine, theirs in zip(stream.hidden_states, plain.hidden_states):
                torch.testing.assert_close(_real(mine, m), _real(theirs, m), atol=1e-5, rtol=1e-5)
    assert out.lam is None


@pytest.mark.parametrize("arch", ["bert", "xlmr"])
def test_lambda_zero_target_is_plain_forward_with_one_more_layer_norm_and_source_never_changes(arch):
    model = _tiny(arch, "tagging")
    layer = 2
    xm = XMixupModel(model, mixup_layer=layer).eval()
    src, tgt = _batch(model, [6, 9], 3), _batch(model, [8, 5], 4)
    with torch.no_grad():
        out = xm(src, tgt, lam=torch.zeros(2), output_hidden_states=True)
        attention = model.base_model.encoder.layer[layer - 1].attention

        def norm_again(module, args, output):
            return (attention.output.LayerNorm(output[0]), *output[1:])

        handle = attention.register_forward_hook(norm_again)
        try:
            expected = model(**tgt, output_hidden_states=True)
        finally:
            handle.remove()
        m = tgt["attention_mask"]
        torch.testing.assert_close(_real(out.target.output.logits, m), _real(expected.logits, m), atol=1e-5, rtol=1e-5)
        # the source stream, with mixup on and an adaptive λ, is exactly the plain forward
        mixed = xm(src, tgt, output_hidden_states=True)
        plain = model(**src, output_hidden_states=True)
        ms = src["attention_mask"]
        for mine, theirs in zip(mixed.source.hidden_states, plain.hidden_states):
            torch.testing.assert_close(_real(mine, ms), _real(theirs, ms), atol=1e-5, rtol=1e-5)
        # and mixing does change the target stream (from layer l on, not below)
        plain_t = model(**tgt, output_hidden_states=True)
        assert torch.allclose(_real(mixed.target.hidden_states[layer - 1], m), _real(plain_t.hidden_states[layer - 1], m),
                              atol=1e-5)
        assert not torch.allclose(_real(mixed.target.hidden_states[layer], m), _real(plain_t.hidden_states[layer], m),
                                  atol=1e-3)


def _direct_entropies(scores, n_src, n_tgt):
    """H(A), H(Aᵀ) by the definitions, with explicit loops over the real tokens."""
    h_a, h_at = [], []
    for b in range(scores.shape[0]):
        ha = hat = 0.0
        for h in range(scores.shape[1]):
            s = scores[b, h, :n_tgt[b], :n_src[b]].astype(np.float64)
            rows = 0.0
            for i in range(n_tgt[b]):
                p = np.exp(s[i] - s[i].max())
                p /= p.sum()
                rows -= sum(x * math.log(x) for x in p if x > 0)
            ha += rows / n_tgt[b]
            cols = 0.0
            for j in range(n_src[b]):
                p = np.exp(s[:, j] - s[:, j].max())
                p /= p.sum()
                cols -= sum(x * math.log(x) for x in p if x > 0)
            hat += cols / n_src[b]
        h_a.append(ha / scores.shape[1])
        h_at.append(hat / scores.shape[1])
    return np.array(h_a), np.array(h_at)


def test_entropies_match_a_direct_computation_and_ignore_padding():
    rng = np.random.default_rng(0)
    n_src, n_tgt = [5, 3], [4, 6]
    scores = rng.normal(size=(2, 3, 8, 7)).astype(np.float32) * 2  # padding rows/columns hold junk
    src_mask = torch.tensor([[j < n for j in range(7)] for n in n_src])
    tgt_mask = torch.tensor([[i < n for i in range(8)] for n in n_tgt])
    h_a, h_at, a = attention_entropies(torch.from_numpy(scores), src_mask, tgt_mask)
    want_a, want_at = _direct_entropies(scores, n_src, n_tgt)
    np.testing.assert_allclose(h_a.numpy(), want_a, rtol=1e-5)
    np.testing.assert_allclose(h_at.numpy(), want_at, rtol=1e-5)
    assert float(a[0, :, :, 5:].abs().max()) == 0.0  # padded source columns get no attention
    # a known case: uniform scores give log(J) and log(I)
    h_a, h_at, _ = attention_entropies(torch.zeros(1, 2, 4, 3), torch.ones(1, 3), torch.ones(1, 4))
    assert h_a.item() == pytest.approx(math.log(3)) and h_at.item() == pytest.approx(math.log(4))


@pytest.mark.parametrize("arch", ["bert", "xlmr"])
def test_extra_padding_and_batch_composition_change_no_output_in_eval_mode(arch):
    model = _tiny(arch, "tagging")
    xm = XMixupModel(model, mixup_layer=1).eval()
    pad = model.config.pad_token_id
    src, tgt = _batch(model, [6, 9, 4], 5), _batch(model, [8, 5, 7], 6)
    with torch.no_grad():
        base = xm(src, tgt, output_hidden_states=True)
        for s, t in ((_pad_more(src, 5, pad), tgt), (src, _pad_more(tgt, 4, pad))):
            more = xm(s, t, output_hidden_states=True)
            torch.testing.assert_close(more.lam, base.lam, atol=1e-6, rtol=1e-5)
            torch.testing.assert_close(more.entropy, base.entropy, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(more.entropy_t, base.entropy_t, atol=1e-5, rtol=1e-5)
            for stream, ref, m in ((more.target, base.target, tgt["attention_mask"]),
                                   (more.source, base.source, src["attention_mask"])):
                torch.testing.assert_close(_real(stream.output.logits, m), _real(ref.output.logits, m),
                                           atol=1e-5, rtol=1e-5)
        # each example alone gives what it gave inside the batch
        for r in range(3):
            one = lambda b: {k: v[r:r + 1, :int(b["attention_mask"][r].sum())] for k, v in b.items()}
            alone = xm(one(src), one(tgt))
            assert alone.lam.item() == pytest.approx(base.lam[r].item(), abs=1e-6)
            m = tgt["attention_mask"][r:r + 1]
            torch.testing.assert_close(alone.target.output.logits[0], _real(base.target.output.logits[r:r + 1], m),
                                       atol=1e-5, rtol=1e-5)


def test_lambda_stays_below_lambda0_and_constant_mode_is_lambda0():
    model = _tiny("xlmr", "pair")
    src, tgt = _batch(model, [6, 9], 7), _batch(model, [8, 5], 8)
    with torch.no_grad():
        lam = XMixupModel(model, 1, lambda0=0.3).eval()(src, tgt).lam
        assert bool(((lam > 0) & (lam < 0.3)).all())
        const = XMixupModel(model, 1, lambda0=0.3, lambda_mode="constant").eval()(src, tgt).lam
        assert const.tolist() == pytest.approx([0.3, 0.3])
    with pytest.raises(ValueError, match="mixup_layer"):
        XMixupModel(model, 4)


def test_gradients_reach_w_and_b_which_change_in_training_and_lambda_stays_in_range():
    model = _tiny("bert", "pair")
    model.train()
    xm = XMixupModel(model, mixup_layer=2, lambda0=0.5)
    assert xm.mix_weight.item() == 1.0 and xm.mix_bias.item() == 0.0
    opt = torch.optim.AdamW(xm.parameters(), lr=1e-2)
    labels = torch.tensor([0, 3, 1, 2])
    for step in range(5):
        src, tgt = _batch(model, [6, 9, 4, 7], 10 + step), _batch(model, [8, 5, 7, 3], 20 + step)
        out = xm(src, tgt)
        loss = torch.nn.functional.cross_entropy(out.target.output.logits, labels)
        opt.zero_grad()
        loss.backward()
        assert xm.mix_weight.grad is not None and xm.mix_weight.grad.abs().item() > 0
        assert xm.mix_bias.grad is not None and xm.mix_bias.grad.abs().item() > 0
        assert bool(((out.lam > 0) & (out.lam < 0.5)).all())
        opt.step()
    assert xm.mix_weight.item() != 1.0 and xm.mix_bias.item() != 0.0


def test_scheduled_sampling_follows_p_star_per_batch_and_per_example():
    k = 50.0
    assert sampling_probability(0, k) == pytest.approx(k / (k + 1))
    assert sampling_probability(200, k) == pytest.approx(k / (k + math.exp(4)))
    assert sampling_probability(10**9, k) == 0.0
    n_draws = 4000
    for step in (0, 150, 250):
        p = sampling_probability(step, k)
        tol = 4 * math.sqrt(p * (1 - p) / n_draws) + 1e-9
        # per example: the share of real-source rows over many rows
        rows = ScheduledSampler(k, "example", seed=1).draw(step, n_draws)
        assert abs(rows.float().mean().item() - p) <= tol
        # per batch: every row of a batch alike, and the share of real-source batches is p*
        sampler = ScheduledSampler(k, "batch", seed=2)
        batches = [sampler.draw(step, 8) for _ in range(n_draws)]
        assert all(bool((b == b[0]).all()) for b in batches)
        assert abs(np.mean([bool(b[0]) for b in batches]) - p) <= tol
    assert bool(ScheduledSampler(k, enabled=False).draw(10**6, 3).all())


def test_loss_is_the_weighted_sum_of_its_logged_terms_and_consistency_weights_scale_only_their_term():
    from augkit_xmixup.method import Settings, compute_loss

    model = _tiny("xlmr", "pair", layers=2)
    xm = XMixupModel(model, mixup_layer=1).eval()
    src, tgt = _batch(model, [6, 9, 4, 7], 1), _batch(model, [8, 5, 7, 3], 2)
    labels = torch.tensor([0, 3, 1, 2])
    batch = {"source": {**src, "labels": labels}, "target": {**tgt, "labels": labels},
             "has_back": torch.zeros(4, dtype=torch.bool)}
    real = torch.ones(4, dtype=torch.bool)
    losses = {}
    for mse_w, kl_w in ((1.0, 1.0), (0.1, 0.5), (0.0, 0.0)):
        s = Settings(task="pair", alpha=0.4, mse_weight=mse_w, kl_weight=kl_w)
        loss, _, t = compute_loss(xm, batch, s, real)
        assert t["mse"] > 0 and t["kl"] > 0
        expected = 0.4 * t["loss_source"] + 0.6 * t["loss_target"] + mse_w * t["mse"] + kl_w * t["kl"]
        assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
        losses[mse_w, kl_w] = (float(loss.detach()), t)
    # the terms themselves do not depend on their weights; weight 0 equals the term switched off
    assert losses[1.0, 1.0][1]["mse"] == pytest.approx(losses[0.1, 0.5][1]["mse"])
    off, _, t_off = compute_loss(xm, batch, Settings(task="pair", alpha=0.4, mse=False, kl=False), real)
    assert float(off.detach()) == pytest.approx(losses[0.0, 0.0][0], rel=1e-6)
    assert "mse" not in t_off and "kl" not in t_off


def test_paper_defaults_are_none_and_come_from_the_task():
    """One sentinel for "the paper's value": None. X-Mixup's α, k and mixup layer follow Table 10 and §5.1
    per task unless set; k = 0 (once the sentinel) is now refused rather than read as "default"."""
    from augkit import ParamError, build_params
    from augkit_xmixup.trainer import XMixupParams, XMixupTrainer

    trainer = XMixupTrainer(model="augkit:tiny-xlmr")
    assert trainer.params.k is None and trainer.params.alpha is None and trainer.params.mixup_layer is None
    assert (trainer.settings("pair").k, trainer.settings("qa").k) == (1000.0, 2000.0)
    assert (trainer.settings("pair").alpha, trainer.settings("tagging").alpha) == (0.4, 0.8)
    assert XMixupTrainer(model="augkit:tiny-xlmr", k=5, alpha=0.3).settings("qa").k == 5.0
    with pytest.raises(ParamError, match=r"k: expected a value > 0"):
        build_params(XMixupParams, {"k": 0}, where="stages.x.params")
