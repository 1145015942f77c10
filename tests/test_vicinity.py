"""GEN-LM (spec: shared/spec/multimix.md, "GEN-LM"), piece by piece, on a tiny real XLM-R."""
import math
import random

import pytest

import augkit
from augkit import Corpus, Example
from augkit.generation import generate_shards
from augkit.testing import check_generator_contract
from augkit_vicinity import MaskedLM, VicinityGenerator
from augkit_vicinity.plan import plan_mask_sets
from augkit_vicinity.reference import reference_successive_max


@pytest.fixture(scope="module")
def lm():
    return MaskedLM.load("augkit:tiny-xlmr")


@pytest.fixture(scope="module")
def ner():
    from conftest import DATA

    return list(augkit.read(DATA / "ner.en.train.conll", lang="en"))


@pytest.fixture(scope="module")
def nli():
    from conftest import DATA

    return list(augkit.read(DATA / "nli.en.train.tsv", lang="en"))


def gen(lm, **params):
    return VicinityGenerator(**params).use_model(lm)


# mask-set planning ---------------------------------------------------------------------------------
def test_mask_sets_start_with_disjoint_windows_of_one_permutation():
    sets = plan_mask_sets(list(range(10)), 3, 3, random.Random(0))
    assert len(sets) == 3 and all(len(s) == 3 for s in sets)
    assert len(set().union(*map(set, sets))) == 9  # pairwise disjoint


def test_mask_sets_then_fresh_random_sets_never_repeated():
    sets = plan_mask_sets(list(range(6)), 3, 5, random.Random(1))
    assert len(sets) == 5 and len({frozenset(s) for s in sets}) == 5
    assert set(sets[0]).isdisjoint(sets[1])


def test_fewer_sets_only_when_fewer_distinct_sets_exist():
    assert len(plan_mask_sets([0, 1, 2], 2, 10, random.Random(2))) == math.comb(3, 2)
    assert len(plan_mask_sets([4], 1, 3, random.Random(2))) == 1
    assert plan_mask_sets([], 1, 3, random.Random(2)) == []


# successive max ------------------------------------------------------------------------------------
def test_word_count_preserved_and_m_words_replaced(lm, ner):
    out = augkit.augment(gen(lm, samples_per_input=3, mask_ratio=0.3), ner, seed=7)
    by_src = {}
    for o in out:
        by_src.setdefault(o.source_id, []).append(o)
    src = {e.id: e for e in ner}
    for sid, outs in by_src.items():
        L = len(src[sid].tokens)
        m = max(1, math.floor(0.3 * L))
        for o in outs:
            assert len(o.tokens) == L and len(o.orig_tags) == L
            assert len(o.replaced) == m
            assert all(o.tokens[i] == src[sid].tokens[i] for i in range(L) if i not in o.replaced)
        # δ distinct mask sets per sentence
        assert len(outs) == 3 and len({frozenset(o.replaced) for o in outs}) == 3


def test_predictions_are_word_initial_pieces_never_specials(lm, ner):
    out = augkit.augment(gen(lm), ner[:10], seed=3)
    allowed = set(lm.allowed_words)
    specials = set(lm.tokenizer.all_special_tokens)
    for o in out:
        for i in o.replaced:
            assert o.tokens[i] in allowed and o.tokens[i] not in specials and o.tokens[i] != ""


def test_fast_path_equals_the_reference_loop_for_the_same_mask_choices(lm, ner):
    out = augkit.augment(gen(lm, samples_per_input=2), ner[:12], seed=11)
    src = {e.id: e for e in ner}
    for o in out:
        order = o.meta["mask_order"]["tokens"]
        assert o.tokens == reference_successive_max(lm, src[o.source_id].tokens, order)


def test_min_word_chars_limits_eligible_words(lm, ner):
    out = augkit.augment(gen(lm, min_word_chars=4), ner, seed=5)
    src = {e.id: e for e in ner}
    assert out and all(len(src[o.source_id].tokens[i]) >= 4 for o in out for i in o.replaced)


def test_labels_and_provenance(lm, ner):
    g = gen(lm, relabel="all")
    out = augkit.augment(g, ner[:5], seed=1)
    src = {e.id: e for e in ner}
    for o in out:
        assert o.source_id in src and o.component == "vicinity" and o.lang == "en"
        assert o.orig_tags == src[o.source_id].tags and o.tags == []  # the labeler relabels every word
        assert not o.keep_orig_tags
    masked = augkit.augment(gen(lm, relabel="masked"), ner[:5], seed=1)
    # tags stay empty (the labeler keeps orig_tags on untouched words); meta says which replaced words changed
    assert all(o.tags == [] and o.orig_tags == src[o.source_id].tags and o.keep_orig_tags for o in masked)
    for o in out + masked:
        assert o.meta["changed"] == [i for i in o.replaced if o.tokens[i] != src[o.source_id].tokens[i]]


# successive cross ----------------------------------------------------------------------------------
def test_successive_cross_gives_the_product_of_half_variants(lm, ner):
    long = [e for e in ner if len(e.tokens) >= 8][:6]
    out = augkit.augment(gen(lm, mode="successive_cross", cross_samples=[2, 3]), long, seed=2)
    for e in long:
        outs = [o for o in out if o.source_id == e.id]
        assert len(outs) == 6
        half = len(e.tokens) // 2
        for o in outs:
            assert any(i < half for i in o.replaced) and any(i >= half for i in o.replaced)
            assert len(o.tokens) == len(e.tokens)
        lefts = {tuple(o.tokens[:half]) for o in outs}
        rights = {tuple(o.tokens[half:]) for o in outs}
        assert len(lefts) <= 2 and len(rights) <= 3 and len(outs) == 2 * 3


def test_successive_cross_on_a_single_sentence_crosses_its_halves(lm, nli):
    """A single text (no second sentence) is split into halves, as a tagging sentence is."""
    singles = [Example(id=f"s{i}", type="pair", text_a=e.text_a, label=e.label) for i, e in enumerate(nli[:4])]
    out = augkit.augment(gen(lm, mode="successive_cross", cross_samples=[2, 3]), singles, seed=2)
    for e in singles:
        words = e.text_a.split()
        half = len(words) // 2
        outs = [o.text_a.split() for o in out if o.source_id == e.id]
        assert len(outs) == 6 and all(len(o) == len(words) for o in outs)
        assert len({tuple(o[:half]) for o in outs}) <= 2 and len({tuple(o[half:]) for o in outs}) <= 3
        assert all(o[:half] != words[:half] or o[half:] != words[half:] for o in outs)
    assert all(o.text_b is None and o.label for o in out)


def test_pairs_augment_both_texts_and_keep_the_label(lm, nli):
    out = augkit.augment(gen(lm, samples_per_input=2), nli, seed=4)
    src = {e.id: e for e in nli}
    assert len(out) == 2 * len(nli)
    for o in out:
        s = src[o.source_id]
        assert o.type == "pair" and o.label == s.label
        assert len(o.text_a.split()) == len(s.text_a.split()) and len(o.text_b.split()) == len(s.text_b.split())
        assert o.meta["replaced_a"] and o.meta["replaced_b"]
    cross = augkit.augment(gen(lm, mode="successive_cross", cross_samples=[2, 2]), nli[:4], seed=4)
    assert len(cross) == 4 * 4  # δ1 premise variants × δ2 hypothesis variants


# determinism, contract, processes, resume ------------------------------------------------------------
def test_generator_contract_and_sampling_determinism(lm, ner, nli):
    check_generator_contract(gen(lm), ner[:12])
    check_generator_contract(gen(lm, decoding="sample", top_k=5, temperature=0.8), ner[:12])
    check_generator_contract(gen(lm, mode="successive_cross"), nli[:6])


def test_sampling_differs_from_argmax_and_respects_top_k(lm, ner):
    a = augkit.augment(gen(lm), ner[:10], seed=9)
    s = augkit.augment(gen(lm, decoding="sample", temperature=5.0), ner[:10], seed=9)
    assert [o.replaced for o in a] == [o.replaced for o in s]  # same masks
    assert [o.tokens for o in a] != [o.tokens for o in s]
    one = augkit.augment(gen(lm, decoding="sample", top_k=1), ner[:10], seed=9)
    assert [o.tokens for o in one] == [o.tokens for o in a]  # top-1 sampling is argmax


def test_same_output_for_any_number_of_processes(lm, ner, tmp_path):
    corpus = Corpus.from_examples(ner)
    single = tmp_path / "one"
    generate_shards(gen(lm), corpus, single, seed=5, shard_size=5, batch_size=4)
    multi = tmp_path / "two"
    for rank in (1, 0):  # rank 0 assembles once every shard exists
        generate_shards(gen(lm), corpus, multi, seed=5, shard_size=5, batch_size=7, rank=rank, world_size=2)
    a, b = Corpus.load(single), Corpus.load(multi)
    assert len(a) == 3 * len(ner) and list(a) == list(b)
    assert sorted(p.read_bytes() for p in single.glob("shard-*.arrow")) == sorted(p.read_bytes() for p in multi.glob("shard-*.arrow"))


def test_interrupted_generation_resumes_at_the_first_missing_shard(lm, ner, tmp_path):
    corpus = Corpus.from_examples(ner)

    class Interrupted(VicinityGenerator):
        calls = 0

        def augment_batch(self, examples, *, seed):
            Interrupted.calls += 1
            if Interrupted.calls == 4:
                raise KeyboardInterrupt
            return super().augment_batch(examples, seed=seed)

    out = tmp_path / "gen"
    with pytest.raises(KeyboardInterrupt):
        generate_shards(Interrupted().use_model(lm), corpus, out, seed=5, shard_size=5, batch_size=5)
    assert len(list(out.glob("shard-*.arrow"))) == 3 and not (out / "corpus.json").exists()
    stats = generate_shards(gen(lm), corpus, out, seed=5, shard_size=5, batch_size=5)
    assert stats["shards_resumed"] == 3
    whole = tmp_path / "whole"
    generate_shards(gen(lm), corpus, whole, seed=5, shard_size=5, batch_size=5)
    assert list(Corpus.load(out)) == list(Corpus.load(whole))


# bad input -------------------------------------------------------------------------------------------
def test_empty_one_word_and_bounded_sentences_are_passed_through_and_counted(lm):
    exs = [Example("e", tokens=[], tags=[]), Example("one", tokens=["Berlin"], tags=["B-LOC"]),
           Example("ok", tokens="Peter lives in Berlin now".split(), tags=["B-PER", "O", "O", "B-LOC", "O"]),
           Example("long", tokens=["w"] * 30, tags=["O"] * 30)]
    g = gen(lm, min_words=2, max_words=20)
    out = augkit.augment(g, exs, seed=1)
    assert {o.source_id for o in out} == {"ok"}
    assert g.stats["passed_empty"] == 1 and g.stats["passed_too_short"] == 1 and g.stats["passed_too_long"] == 1
    single = augkit.augment(gen(lm), [exs[1]], seed=1)
    assert len(single) == 1 and single[0].replaced == [0]


def test_sentences_longer_than_the_model_are_windowed_or_skipped(lm):
    words = [f"word{i % 7}" for i in range(200)]  # well over the tiny model's 128 positions
    ex = Example("huge", tokens=words, tags=["O"] * 200)
    g = gen(lm, samples_per_input=1, mask_ratio=0.02)
    out = augkit.augment(g, [ex], seed=3)
    assert len(out) == 1 and len(out[0].tokens) == 200 and g.stats["windowed_predictions"] == 4
    s = gen(lm, long_sentences="skip")
    assert augkit.augment(s, [ex], seed=3) == [] and s.stats["passed_too_long_for_model"] == 1


def test_model_folder_without_mlm_head_is_refused(tmp_path):
    import shutil
    from pathlib import Path

    from transformers import XLMRobertaModel

    from augkit_vicinity import VicinityModelError

    src = Path(augkit.resolve_model("augkit:tiny-xlmr"))
    XLMRobertaModel.from_pretrained(src).save_pretrained(tmp_path / "enc")  # encoder only, no LM head
    for f in src.iterdir():
        if "token" in f.name or f.suffix == ".model":
            shutil.copy(f, tmp_path / "enc")
    with pytest.raises(VicinityModelError, match="no trained masked-LM head"):
        MaskedLM.load(str(tmp_path / "enc"))


def test_tokenizer_model_mismatch_is_refused(tmp_path):
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForMaskedLM

    from augkit_vicinity import VicinityModelError

    src = augkit.resolve_model("augkit:tiny-xlmr")
    tok = AutoTokenizer.from_pretrained(src)
    small = XLMRobertaForMaskedLM(XLMRobertaConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                                   num_attention_heads=1, intermediate_size=16))
    with pytest.raises(VicinityModelError, match="tokenizer/model mismatch"):
        MaskedLM(small, tok)
    with pytest.raises(VicinityModelError, match="not a model folder"):
        MaskedLM.load(str(tmp_path))
