"""The synthetic benchmark (augkit_synthetic): deterministic, labels only where a method may have them,
targets that differ from the source in the ways the benchmark file says, clear errors for bad files."""
import pytest

import augkit
from augkit_synthetic import load_benchmark

BENCH = """seed = {seed}
difficulty = {difficulty}
source = "en"
[ner]
train = 60
dev = 20
test = 30
unlabelled = 40
[nli]
train = 90
dev = 20
test = 30
unlabelled = 40
[text]
sentences = 50
[languages.xa]
order = "SVO"
adjective = "after"
[languages.xb]
order = "SOV"
adposition = "post"
negation = "suffix"
article = "suffix"
"""


@pytest.fixture
def bench(tmp_path):
    def make(seed=13, difficulty=0.5, text=BENCH, name="bench.toml"):
        path = tmp_path / name
        path.write_text(text.format(seed=seed, difficulty=difficulty), encoding="utf-8")
        return str(path)

    return make


def read(path, lang, task, split="train", **kw):
    return list(augkit.read(path, "synthetic", lang=lang, task=task, split=split, **kw))


def test_the_same_file_gives_the_same_data_and_another_seed_other_data(bench):
    a = read(bench(), "xb", "ner", "test")
    again = read(bench(name="copy.toml"), "xb", "ner", "test")
    assert [e.to_row() for e in a] == [e.to_row() for e in again] and len(a) == 30
    other = read(bench(seed=14, name="other.toml"), "xb", "ner", "test")
    assert [e.tokens for e in a] != [e.tokens for e in other]


def test_labels_exist_only_where_a_method_may_see_them(bench):
    path = bench()
    train = read(path, "en", "ner")
    assert len(train) == 60 and all(e.tags and len(e.tags) == len(e.tokens) for e in train)
    assert {t[2:] for e in train for t in e.tags if t != "O"} == {"PER", "ORG", "LOC", "MISC"}
    unlabelled = read(path, "xa", "ner", "unlabelled")
    assert len(unlabelled) == 40 and all(not e.tags for e in unlabelled)
    assert all(e.label is None for e in read(path, "xb", "nli", "unlabelled"))
    test = read(path, "xa", "nli", "test")
    assert all(e.label in ("entailment", "neutral", "contradiction") for e in test)
    with pytest.raises(augkit.DataError, match=r"ner/train: labelled training data exists only in the source language"):
        read(path, "xa", "ner")
    with pytest.raises(augkit.DataError, match="language 'xc' is not in the benchmark"):
        read(path, "xc", "ner", "test")


def test_translate_train_carries_the_source_labels_and_a_back_translation(bench):
    path = bench()
    source = read(path, "en", "ner")
    tt = read(path, "xb", "ner", "translate-train")
    assert len(tt) == len(source)
    for src, ex in zip(source, tt):
        par = ex.meta["parallel"]
        assert par["source"] == {"tokens": src.tokens, "tags": src.tags}
        assert sorted(par["back"]["tokens"]) == sorted(src.tokens)  # the source words, in the target's order
        assert len(ex.tags) == len(ex.tokens)
        # every entity of the source survives translation with its type
        assert sorted(t for t in ex.tags if t.startswith("B-")) == sorted(t for t in src.tags if t.startswith("B-"))
    dev = read(path, "xa", "nli", "dev", translations=True)
    assert all(ex.meta["parallel"]["source"]["label"] == ex.label for ex in dev)


def test_targets_differ_in_the_ways_the_file_says(bench):
    path = bench()
    bm = load_benchmark(path)
    xa, xb = bm.languages["xa"], bm.languages["xb"]
    # SOV: the verb (past suffix) ends the clause in xb; SVO xa has it after the subject
    tests = read(path, "xb", "ner", "test")
    assert all(e.tokens[-1] == "." for e in tests)
    ends = sum(e.tokens[-2].endswith(xb.past) or e.tokens[-2].endswith(xb.past + xb.negative) for e in tests)
    assert ends == len(tests)
    # negation: a suffix in xb, a word before the verb in xa
    nli_xb = read(path, "xb", "nli", "test")
    nli_xa = read(path, "xa", "nli", "test")
    negated_xb = [e for e in nli_xb if e.text_b.split()[-2].endswith(xb.negative) and e.label == "contradiction"]
    negated_xa = [e for e in nli_xa if f" {xa.negative} " in f" {e.text_b} " and e.label == "contradiction"]
    assert negated_xb and negated_xa


def share_kept(path, lang):
    """Share of translated words that are the source word itself (cognates, names, numbers)."""
    same = total = 0
    for ex in read(path, lang, "ner", "translate-train"):
        src = set(ex.meta["parallel"]["source"]["tokens"])
        same += sum(t in src for t in ex.tokens)
        total += len(ex.tokens)
    return same / total


def test_difficulty_moves_how_much_the_languages_share(bench):
    easy, hard = bench(difficulty=0.0, name="easy.toml"), bench(difficulty=1.0, name="hard.toml")
    assert share_kept(easy, "xa") > share_kept(bench(name="mid.toml"), "xa") > share_kept(hard, "xa")
    local = lambda p: sum(n in load_benchmark(p).languages["xa"].local_names for e in read(p, "xa", "ner", "test")
                          for n in e.tokens)
    assert local(hard) > local(easy) > 0


def test_nli_labels_follow_from_the_rules(bench):
    pairs = read(bench(), "en", "nli")
    counts = {l: sum(e.label == l for e in pairs) for l in ("entailment", "neutral", "contradiction")}
    assert all(20 <= c <= 40 for c in counts.values()), counts
    hypernyms = {"vehicle", "animal", "text", "building", "food", "instrument", "person", "people", "vehicles",
                 "animals", "texts", "buildings", "foods", "instruments"}
    for e in pairs:
        a, b = e.text_a.split(), e.text_b.split()
        if e.label == "entailment":  # says less: no word the premise lacks but a more general noun
            assert set(b) - set(a) <= hypernyms and len(b) <= len(a)
        elif e.label == "neutral":  # says more
            assert len(b) > len(a) and set(a) <= set(b)
        else:
            assert len(b) == len(a) + 2 and "not" in b or len(b) == len(a)


@pytest.mark.parametrize("old, new, message", [
    ("source = ", "noise = 1\nsource = ", "noise: unknown key"),
    ("difficulty = 0.5", "difficulty = 2", "difficulty: expected a number from 0 to 1, got 2"),
    ('order = "SOV"', 'order = "OSV"', "languages.xb.order: expected 'SVO' or 'SOV', got 'OSV'"),
    ("train = 60", "train = -1", "ner.train: expected a whole number of examples"),
    ("[languages.xa]", "[languages.en]", "languages.en: 'en' is the source language"),
    ("[languages.xa]", "[languages.xa]\ncognate = 0.2", "languages.xa.cognate: unknown setting"),
    ("seed = 13", "seed = [", "not a valid TOML file"),
])
def test_a_bad_benchmark_file_names_the_file_and_the_key(bench, old, new, message):
    text = BENCH.format(seed=13, difficulty=0.5)
    assert old in text
    path = bench(text=text.replace(old, new).replace("{", "{{").replace("}", "}}"))
    with pytest.raises(augkit.DataError) as e:
        read(path, "xa", "ner", "test")
    assert message in str(e.value) and "bench.toml" in str(e.value)


def test_word_by_word_translation_keeps_the_target_s_affixes(bench):
    """Translationese keeps the source's order but not its articles: xb marks definiteness by a suffix."""
    path = bench()
    xb = load_benchmark(path).languages["xb"]
    articles = {xb.word("the"), xb.word("a")}
    for ex in read(path, "xb", "ner", "translate-train"):
        assert not articles & set(ex.tokens)
