"""MultiMix pieces, one by one against shared/spec/multimix.md, on tiny real models and data."""
import math

import numpy as np
import pytest
import torch

import augkit
from augkit import Corpus, DataError, Example
from augkit_multimix.distill import AgreementFilter, ConfidenceDistiller, GMMDistiller, confidence, self_loss
from augkit_multimix.hooks import ConfidencePenalty
from augkit_multimix.labeler import TaskModelLabeler

from augkit.tasks import (BalancedBatchSampler, encode, load_task_model, mixture_probabilities, predict_probs,
                          repair_iob, score)

LABELS = ["B-LOC", "B-PER", "I-PER", "O"]


def tagged(i, probs, tags=None):
    probs = np.asarray(probs, dtype=np.float32)
    return Example(f"x{i}", tokens=["w"] * len(probs), tags=tags or [LABELS[k] for k in probs.argmax(1)],
                   probs=probs.tolist())


# distillers -------------------------------------------------------------------------------------------
def test_confidence_is_the_mean_over_words_of_the_max_probability():
    probs = [[[0.9, 0.1], [0.6, 0.4]], [[0.5, 0.5]]]
    assert np.allclose(confidence(probs), [0.75, 0.5])


def test_confidence_distiller_keeps_top_floor_n_eta_ties_by_id_in_corpus_order():
    exs = [tagged(i, [[p, 1 - p, 0, 0]]) for i, p in enumerate([0.6, 0.9, 0.6, 0.95, 0.7])]
    res = ConfidenceDistiller(eta=0.6).filter(Corpus.from_examples(exs))
    assert res.kept == math.floor(5 * 0.6) == 3 and [e.id for e in res.corpus] == ["x1", "x3", "x4"]
    tie = ConfidenceDistiller(eta=0.5).filter(Corpus.from_examples([tagged(i, [[0.6, 0.4, 0, 0]]) for i in (3, 1, 2, 0)]))
    assert [e.id for e in tie.corpus] == ["x1", "x0"]  # the two smallest ids, in corpus order
    none = ConfidenceDistiller(eta=0.1).filter(Corpus.from_examples(exs[:3]))
    assert none.kept == 0 and none.notes


def test_gmm_keeps_the_low_loss_component():
    rng = np.random.default_rng(0)
    good = [tagged(i, [[p, 1 - p, 0, 0]]) for i, p in enumerate(rng.uniform(0.93, 0.99, 30))]
    bad = [tagged(100 + i, [[p, 1 - p, 0, 0]]) for i, p in enumerate(rng.uniform(0.5, 0.6, 30))]
    res = GMMDistiller().filter(Corpus.from_examples(good + bad))
    kept = {e.id for e in res.corpus}
    assert kept == {e.id for e in good}
    assert np.allclose(self_loss([[[0.5, 0.5]], [[1.0, 0.0], [0.25, 0.75]]]), [np.log(2), -np.log(0.75) / 2])


def test_co_teaching_sets_each_epochs_eta_as_the_distillers_threshold():
    """Epoch e distils with eta[e-1] in the parameter the distiller names: confidence's share kept, gmm's
    posterior threshold (compared with the distillers run by hand at those values)."""
    from types import SimpleNamespace

    from augkit_multimix.coteach import CoTeachingTrainer

    rng = np.random.default_rng(1)
    corpus = Corpus.from_examples([tagged(i, [[p, 1 - p, 0, 0]]) for i, p in
                                   enumerate(rng.uniform(0.5, 0.99, 40))])
    ctx = SimpleNamespace(resolve=augkit.resolve)
    for distiller, eta, by_hand in [("confidence", [0.3, 0.6], [ConfidenceDistiller(eta=0.3), ConfidenceDistiller(eta=0.6)]),
                                    ("gmm", [0.2, 0.999], [GMMDistiller(posterior_threshold=0.2),
                                                           GMMDistiller(posterior_threshold=0.999)])]:
        trainer = CoTeachingTrainer(distiller=distiller, eta=eta, epochs=2, mixtures=[["source"], ["source"]])
        for e, expected in enumerate(by_hand, start=1):
            counts: dict = {}
            kept = trainer._distil(ctx, corpus, e, counts, "t:distilled_by_0")
            assert [x.id for x in kept] == [x.id for x in expected.filter(corpus).corpus]
            assert counts["t:distilled_by_0"] == len(kept)
        assert len(trainer._distil(ctx, corpus, 1, {}, "k")) != len(trainer._distil(ctx, corpus, 2, {}, "k"))


def test_gmm_loss_is_the_cross_entropy_of_the_label_the_example_carries():
    # the labeler's argmax is I-PER, but repair_iob (or relabel = "masked") made the carried tag B-PER
    probs = [[0.05, 0.20, 0.75, 0.0], [0.0, 0.4, 0.1, 0.5]]
    ex = tagged(0, probs, tags=["B-PER", "O"])
    corpus = Corpus.from_examples([ex], labels=LABELS)
    by_hand = (-math.log(0.20) - math.log(0.5)) / 2  # the carried tags' probabilities, mean over words
    assert self_loss(corpus)[0] == pytest.approx(by_hand)
    assert self_loss(corpus)[0] != pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)  # not -log max p
    unknown = Corpus.from_examples([tagged(0, probs, tags=["_", "O"])], labels=LABELS)
    assert self_loss(unknown)[0] == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)  # "_": most probable
    pair = Corpus.from_examples([Example("p", type="pair", text_a="a", text_b="b", label="neutral", probs=[[0.7, 0.2, 0.1]])],
                                labels=["entailment", "neutral", "contradiction"])
    assert self_loss(pair)[0] == pytest.approx(-math.log(0.2))


def test_gmm_with_too_few_or_identical_losses_keeps_all_and_says_so():
    few = GMMDistiller().filter(Corpus.from_examples([tagged(i, [[0.9, 0.1, 0, 0]]) for i in range(3)]))
    assert few.kept == 3 and "not fitted" in few.notes[0]
    same = GMMDistiller().filter(Corpus.from_examples([tagged(i, [[0.9, 0.1, 0, 0]]) for i in range(20)]))
    assert same.kept == 20 and "not fitted" in same.notes[0]


def test_agreement_keeps_examples_both_peers_selected_with_identical_labels():
    a = [Example("1", tokens=["a", "b"], tags=["B-PER", "O"]), Example("2", tokens=["c"], tags=["O"]),
         Example("3", tokens=["d", "e"], tags=["B-PER", "I-PER"])]
    b = [Example("1", tokens=["a", "b"], tags=["B-PER", "O"]), Example("3", tokens=["d", "e"], tags=["B-PER", "O"])]
    res = AgreementFilter().filter(Corpus.from_examples(a), Corpus.from_examples(b))
    assert [e.id for e in res.corpus] == ["1"] and res.kept == 1
    pa = [Example("p", type="pair", text_a="x", label="neutral"), Example("q", type="pair", text_a="y", label="entailment")]
    pb = [Example("p", type="pair", text_a="x", label="neutral"), Example("q", type="pair", text_a="y", label="neutral")]
    assert [e.id for e in AgreementFilter().filter(Corpus.from_examples(pa), Corpus.from_examples(pb)).corpus] == ["p"]


def test_distillers_need_label_distributions():
    with pytest.raises(DataError, match="run a labeler first"):
        ConfidenceDistiller().filter(Corpus.from_examples([Example("a", tokens=["x"], tags=["O"])]))


def test_filters_are_usable_by_name_from_the_public_api():
    f = augkit.get_component("filter", "gmm", n_components=3)
    assert isinstance(f, GMMDistiller) and f.params.n_components == 3


# balanced sampling ------------------------------------------------------------------------------------
def test_mixture_probabilities_follow_f_to_the_alpha():
    p = mixture_probabilities([100, 300, 0], 0.7)
    f = np.array([0.25, 0.75])
    expected = f ** 0.7 / (f ** 0.7).sum()
    assert np.allclose(p[:2], expected) and p[2] == 0
    assert np.allclose(mixture_probabilities([100, 300], 1.0), [0.25, 0.75])
    assert np.allclose(mixture_probabilities([100, 300], 0.0), [0.5, 0.5])
    assert mixture_probabilities([0, 0], 0.7).sum() == 0


def test_sampler_draws_one_dataset_per_batch_at_the_right_rates():
    sampler = BalancedBatchSampler([40, 360, 0], batch_size=4, alpha=0.5, n_steps=4000, seed=1)
    from_first = 0
    for batch in sampler:
        sources = {0 if i < 40 else 1 for i in batch}
        assert len(sources) == 1 and len(batch) == 4
        from_first += sources == {0}
    assert abs(from_first / 4000 - mixture_probabilities([40, 360, 0], 0.5)[0]) < 0.03
    small = list(BalancedBatchSampler([3], batch_size=8, alpha=0.7, n_steps=2, seed=0))
    assert [sorted(b) for b in small] == [[0, 1, 2], [0, 1, 2]]  # fewer than one batch: a short batch


def test_sampler_gives_each_process_its_share_of_every_steps_examples():
    """The global batch of every step is the same on 1 or 2 processes and with or without accumulation:
    the processes' micro-batches partition it."""
    one = list(BalancedBatchSampler([5, 30], batch_size=8, alpha=0.7, n_steps=6, seed=3))
    assert len(one) == 6 and all(len(b) in (5, 8) for b in one)  # the 5-example set gives a short step
    split = [BalancedBatchSampler([5, 30], batch_size=8, alpha=0.7, n_steps=6, seed=3, rank=r, world_size=2,
                                  grad_accum=2) for r in (0, 1)]
    ranks = [list(s) for s in split]
    assert len(ranks[0]) == len(ranks[1]) == 12 == len(split[0])
    for step, whole in enumerate(one):
        parts = ranks[0][2 * step:2 * step + 2] + ranks[1][2 * step:2 * step + 2]
        assert sorted(i for p in parts for i in p) == sorted(whole)  # the same examples, split four ways
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert ranks[0] != ranks[1]


# confidence penalty -----------------------------------------------------------------------------------
def test_confidence_penalty_is_minus_beta_times_mean_entropy_over_labelled_positions():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0], [1.0, 1.0]]])
    labels = torch.tensor([[1, -100, 0]])
    att = torch.tensor([[1, 1, 1]])
    out = type("O", (), {"logits": logits})()
    p = torch.softmax(logits, -1)
    ent = -(p * p.log()).sum(-1)[0]
    hook = ConfidencePenalty(beta=0.5)
    got = hook.extra_loss(model=None, inputs={"attention_mask": att}, outputs=out, labels=labels)
    assert torch.allclose(got, -0.5 * (ent[0] + ent[2]) / 2)
    all_tok = ConfidencePenalty(beta=0.5, average="all_tokens").extra_loss(
        model=None, inputs={"attention_mask": att}, outputs=out, labels=labels)
    assert torch.allclose(all_tok, -0.5 * ent.mean())


# task models, labeler, metric -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tagger():
    return load_task_model("augkit:tiny-xlmr", "tagging", LABELS)


def test_labels_sit_on_first_subwords_and_long_sentences_become_windows(tagger):
    tok, labels = tagger.tokenizer, tagger.labels
    ex = Example("a", tokens=["Unbelievably", "long", "Peterson"], tags=["O", "O", "B-PER"])
    (f,) = encode([ex], tok, "tagging", 64, {l: i for i, l in enumerate(labels)})
    firsts = [i for i, w in enumerate(f.first_word) if w >= 0]
    assert len(firsts) == 3 and [f.labels[i] for i in firsts] == [3, 3, 1]
    assert all(l == -100 for i, l in enumerate(f.labels) if i not in firsts)
    long = Example("b", tokens=[f"w{i}" for i in range(100)], tags=["O"] * 100)
    stats = {}
    feats = encode([long], tok, "tagging", 32, {l: i for i, l in enumerate(labels)}, stats)
    assert len(feats) > 1 and all(len(x.input_ids) <= 32 for x in feats) and stats["split_into_windows"] == 1
    assert sum(sum(1 for w in x.first_word if w >= 0) for x in feats) == 100  # no word is lost
    probs = predict_probs(tagger, [long], max_length=32)[0]
    assert probs.shape == (100, 4) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_labeler_gives_distributions_pseudo_labels_and_respects_masked_relabel(tagger):
    labels = tagger.labels
    exs = [Example("a", tokens=["Peter", "lives", "here"]),
           Example("g", tokens=["Anna", "lives", "here"], orig_tags=["B-PER", "O", "O"], replaced=[1],
                   keep_orig_tags=True),
           # the same example without the flag: every word takes the model's label (a meta note is no flag)
           Example("h", tokens=["Anna", "lives", "here"], orig_tags=["B-PER", "O", "O"], replaced=[1],
                   meta={"relabel": "masked"})]
    out = list(TaskModelLabeler().label(Corpus.from_examples(exs), tagger))
    argmax = [[labels[int(np.argmax(p))] for p in ex.probs] for ex in out]
    assert len(out[0].probs) == 3 and out[0].tags == argmax[0]
    assert out[1].tags == ["B-PER", argmax[1][1], "O"] and out[2].tags == argmax[2]
    assert argmax[1] != ["B-PER", argmax[1][1], "O"]  # so keeping the original tags shows


def test_repair_iob_and_seqeval_micro_f1():
    assert repair_iob(["O", "I-PER", "I-PER", "I-LOC", "B-LOC", "I-LOC"]) == ["O", "B-PER", "I-PER", "B-LOC", "B-LOC", "I-LOC"]
    exs = [Example("a", tokens=["P", "x", "L"], tags=["B-PER", "O", "B-LOC"])]
    onehot = np.eye(4, dtype=np.float32)
    assert score(exs, [onehot[[1, 3, 0]]], LABELS, "tagging") == 1.0
    assert score(exs, [onehot[[1, 3, 3]]], LABELS, "tagging") == pytest.approx(2 / 3)


def test_span_f1_equals_seqeval_on_random_tag_sequences():
    """augkit's array-based chunk F1 gives exactly seqeval's micro F1 (default mode): IOB1, IOB2, IOBES,
    ill-formed sequences, tags without a prefix, gold tags the model does not know, empty sentences."""
    import random
    import warnings

    from seqeval.metrics import f1_score

    from augkit.tasks import span_f1

    rng = random.Random(0)
    tags = ["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "E-PER", "S-LOC", "I-MISC", "B-MISC", "X", "PER", "B-_"]
    model_labels = [t for t in dict.fromkeys(tags) if t != "I-MISC"]  # gold-only tag: I-MISC
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(600):
            gold = [[rng.choice(tags) for _ in range(rng.randrange(0, 8))] for _ in range(rng.randrange(1, 6))]
            pred = [[rng.choice(model_labels) for _ in g] for g in gold]
            ids = np.array([model_labels.index(t) for p in pred for t in p], dtype=np.int64)
            expected = f1_score(gold, pred)
            assert span_f1(gold, ids, model_labels) == expected, (gold, pred)
            checked += 0 < expected < 1
    assert checked > 100  # most cases are neither trivially 0 nor 1


def test_the_labeler_refuses_examples_of_another_task_than_its_model_by_id():
    tm = load_task_model("augkit:tiny-xlmr", "tagging", ["O", "B-PER", "I-PER"], seed=0)
    mixed = augkit.concat([Corpus.from_examples([Example("t1", lang="de", tokens=["Anna", "schläft", "."])]),
                           Corpus.from_examples([Example("p1", type="pair", lang="de", text_a="Anna schläft.", text_b="Sie ruht.")])])
    with pytest.raises(DataError, match="example 'p1' is a pair example; the model is a tagging model"):
        TaskModelLabeler(max_length=32).label(mixed, tm)
