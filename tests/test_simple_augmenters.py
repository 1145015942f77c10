"""The simple label-preserving augmenters: EDA (Wei & Zou, 2019) for classification and pairs, Dai & Adel
(2020) for tagging. Each operation is checked against what the papers define, computed independently;
tags are right by construction; both generators honour the generator contract and run from
`augkit augment` on .txt, CoNLL and CSV files, which read back complete."""
from __future__ import annotations

import collections
import csv
import random

import pytest

import augkit
from augkit import Example, get_component
from augkit.testing import check_generator_contract

SYNONYMS = "big\tlarge\thuge\nplays\tperforms\ncity\ttown\tbig city\nmusic\ttunes\nParis\tCity of Light\nwoman\tlady\n"


@pytest.fixture
def synonyms(tmp_path):
    path = tmp_path / "synonyms.tsv"
    path.write_text(SYNONYMS)
    return path


def _pairs():
    return [Example(id=f"p{i}", type="pair", lang="en", text_a=a, text_b=b, label=lab) for i, (a, b, lab) in enumerate([
        ("A man plays music in the big city .", "A man performs .", "entailment"),
        ("The woman plays in Paris .", "Nobody plays .", "contradiction"),
        ("Music is big .", None, "neutral")])]


def _tagged():
    rows = [("John Smith lives in the big city of Paris .", "B-PER I-PER O O O O O O B-LOC O"),
            ("Anna met the woman from Siemens in Berlin .", "B-PER O O O O B-ORG O B-LOC O"),
            ("Paris plays music .", "B-LOC O O O")]
    return [Example(id=f"t{i}", type="tagging", lang="en", tokens=s.split(), tags=t.split())
            for i, (s, t) in enumerate(rows)]


# --- EDA ----------------------------------------------------------------------------------------
def test_eda_operations_change_as_many_words_as_alpha_says(synonyms):
    from augkit_simple.eda import random_deletion, random_insertion, random_swap, synonym_replacement
    from augkit_simple.synonyms import ENGLISH_STOPWORDS, Synonyms

    syn = Synonyms.from_file(synonyms)
    words = "a big man plays music in the big city with a woman".split()  # 12 words
    n = max(1, int(0.25 * len(words)))  # EDA: n = α·l, at least 1 → 3
    rng = random.Random(0)
    out = synonym_replacement(words, n, syn, ENGLISH_STOPWORDS, rng)
    changed = [i for i, (a, b) in enumerate(zip(words, out)) if a != b]
    assert len(out) == len(words) and len(changed) == 3
    assert all(out[i] in syn(words[i]) and words[i] not in ENGLISH_STOPWORDS for i in changed)
    out = random_insertion(words, n, syn, ENGLISH_STOPWORDS, random.Random(1))
    extra = collections.Counter(out) - collections.Counter(words)
    all_synonyms = {s for w in words for s in syn(w)}
    assert len(out) == len(words) + 3 and sum(extra.values()) == 3 and set(extra) <= all_synonyms
    out = random_swap(words, n, random.Random(2))
    assert sorted(out) == sorted(words) and out != words
    # random deletion keeps each word with probability 1 - α: over many draws, close to α·l deleted
    deleted = [len(words) - len(random_deletion(words, 0.25, random.Random(k))) for k in range(2000)]
    assert abs(sum(deleted) / len(deleted) - 0.25 * len(words)) < 0.15
    assert random_deletion(["one"], 0.99, random.Random(3)) == ["one"]
    assert len(random_deletion(words, 1.0, random.Random(4))) == 1  # never empty


def test_eda_generator_keeps_labels_spreads_operations_and_honours_the_contract(synonyms):
    gen = get_component("generator", "eda", synonyms_path=str(synonyms), alpha=0.2, samples_per_input=8)
    out = check_generator_contract(gen, _pairs())
    by_source = collections.defaultdict(list)
    for ex in out:
        by_source[ex.source_id].append(ex)
    src = {ex.id: ex for ex in _pairs()}
    for sid, outs in by_source.items():
        assert len(outs) <= 8 and all(o.label == src[sid].label for o in outs)
        assert all((o.text_a, o.text_b) != (src[sid].text_a, src[sid].text_b) for o in outs)  # copies dropped
        assert len({(o.text_a, o.text_b) for o in outs}) == len(outs)
        assert (src[sid].text_b is None) == all(o.text_b is None for o in outs)
    assert {ex.meta["operation"] for ex in out} == {"sr", "ri", "rs", "rd"}
    only_a = get_component("generator", "eda", operations=["rs"], texts="a", samples_per_input=2)
    assert all(o.text_b == src[o.source_id].text_b for o in augkit.augment(only_a, _pairs(), seed=3))


def test_eda_without_a_synonym_source_says_how_to_get_one():
    pytest.importorskip("augkit_simple")
    try:
        import nltk  # noqa: F401
        pytest.skip("nltk is installed here")
    except ImportError:
        pass
    gen = get_component("generator", "eda")
    with pytest.raises(augkit.DataError, match="synonyms_path.*nltk"):
        augkit.augment(gen, _pairs(), seed=1)
    # without sr and ri no synonyms are needed
    assert augkit.augment(get_component("generator", "eda", operations=["rs", "rd"]), _pairs(), seed=1)


# --- Dai & Adel ----------------------------------------------------------------------------------
def test_label_wise_token_replacement_draws_same_tag_words_from_the_corpus():
    corpus = _tagged()
    gen = get_component("generator", "dai-adel", operations=["lwtr"], p=1.0, samples_per_input=3)
    out = augkit.augment(gen, corpus, seed=5)
    words_of = collections.defaultdict(set)
    for ex in corpus:
        for w, t in zip(ex.tokens, ex.tags):
            words_of[t].add(w)
    src = {ex.id: ex for ex in corpus}
    assert out
    for ex in out:
        assert ex.tags == src[ex.source_id].tags  # tags unchanged
        assert all(w in words_of[t] for w, t in zip(ex.tokens, ex.tags))
        assert ex.replaced == [i for i, (a, b) in enumerate(zip(src[ex.source_id].tokens, ex.tokens)) if a != b]
    # in proportion to their counts: "O"-words drawn over many sentences follow the corpus's frequencies
    gen = get_component("generator", "dai-adel", operations=["lwtr"], p=1.0, samples_per_input=200)
    drawn = collections.Counter(w for ex in augkit.augment(gen, corpus, seed=1) for w, t in zip(ex.tokens, ex.tags) if t == "O")
    counts = collections.Counter(w for ex in corpus for w, t in zip(ex.tokens, ex.tags) if t == "O")
    total_drawn, total = sum(drawn.values()), sum(counts.values())
    assert abs(drawn["."] / total_drawn - counts["."] / total) < 0.05  # "." is 3 of the 16 O-words


def test_synonym_replacement_extends_the_tags_of_a_several_word_synonym(synonyms):
    gen = get_component("generator", "dai-adel", operations=["sr"], p=1.0, synonyms_path=str(synonyms))
    out = {ex.source_id: ex for ex in augkit.augment(gen, _tagged(), seed=2)}
    first = out["t0"]
    # "Paris" (B-LOC) has one synonym, "City of Light": B-LOC I-LOC I-LOC; "big" → large|huge (O)
    i = first.tokens.index("City")
    assert first.tokens[i:i + 3] == ["City", "of", "Light"] and first.tags[i:i + 3] == ["B-LOC", "I-LOC", "I-LOC"]
    assert first.tokens[first.tokens.index("the") + 1] in ("large", "huge")
    assert len(first.tags) == len(first.tokens) and set(first.replaced) >= {i, i + 1, i + 2}
    assert all(first.tokens[k] in ("City", "of", "Light", "large", "huge", "town", "big") for k in first.replaced)


def test_mention_replacement_uses_same_type_mentions_and_rebuilds_iob2():
    gen = get_component("generator", "dai-adel", operations=["mr"], p=1.0, samples_per_input=4)
    corpus = _tagged()
    out = augkit.augment(gen, corpus, seed=4)
    from augkit_simple.dai_adel import mention_spans

    pool = collections.defaultdict(set)
    for ex in corpus:
        for s, e, typ in mention_spans(ex.tags):
            pool[typ].add(tuple(ex.tokens[s:e]))
    src = {ex.id: ex for ex in corpus}
    for ex in out:
        before, after = mention_spans(src[ex.source_id].tags), mention_spans(ex.tags)
        assert [t for _, _, t in before] == [t for _, _, t in after]  # same types in the same order
        for s, e, typ in after:
            assert tuple(ex.tokens[s:e]) in pool[typ]
            assert ex.tags[s:e] == [f"B-{typ}"] + [f"I-{typ}"] * (e - s - 1)
    assert any(ex.tokens[:2] == ["Anna"] or ex.tokens[0] == "Anna" for ex in out if ex.source_id == "t0")


def test_shuffle_within_segments_keeps_each_segments_words_and_every_tag():
    from augkit_simple.dai_adel import segments

    assert segments("B-PER I-PER O O B-LOC B-LOC O".split()) == [(0, 2), (2, 4), (4, 5), (5, 6), (6, 7)]
    gen = get_component("generator", "dai-adel", operations=["sis"], p=1.0, samples_per_input=3)
    corpus = _tagged()
    src = {ex.id: ex for ex in corpus}
    out = augkit.augment(gen, corpus, seed=7)
    assert out
    for ex in out:
        orig = src[ex.source_id]
        assert ex.tags == orig.tags
        for s, e in segments(orig.tags):
            assert sorted(ex.tokens[s:e]) == sorted(orig.tokens[s:e])


def test_dai_adel_honours_the_contract_and_its_draws_ignore_corpus_order(synonyms):
    gen = get_component("generator", "dai-adel", synonyms_path=str(synonyms), samples_per_input=2, p=0.8)
    out = check_generator_contract(gen, _tagged())
    assert {ex.meta["operation"] for ex in out} == {"lwtr", "sr", "mr", "sis"}
    assert all(len(ex.tags) == len(ex.tokens) and ex.orig_tags for ex in out)
    assert gen.stats.get("unchanged_or_repeated_dropped", 0) >= 0


# --- from the command line -------------------------------------------------------------------------
def test_augment_command_runs_each_augmenter_on_txt_conll_and_csv(cli, tmp_path, synonyms, data_dir):
    txt = tmp_path / "in.txt"
    txt.write_text("The big city plays music .\nA woman plays in Paris .\n")
    cli("augment", txt, "-o", tmp_path / "eda.txt", "--generator", "eda", "--set", f"synonyms_path={synonyms}",
        "--set", "samples_per_input=4", check=0)
    lines = (tmp_path / "eda.txt").read_text().splitlines()
    assert 2 <= len(lines) <= 8 and all(line.strip() for line in lines)
    vocabulary = set(txt.read_text().split()) | {w for line in SYNONYMS.splitlines() for s in line.split("\t")
                                                 for w in s.split()}
    assert all(set(line.split()) <= vocabulary for line in lines)
    table = tmp_path / "in.csv"
    with table.open("w", newline="") as f:
        csv.writer(f).writerows([["text", "label"], ["The big city plays music .", "pos"],
                                 ["A woman plays in Paris .", "neg"]])
    cli("augment", table, "-o", tmp_path / "eda.csv", "--generator", "eda", "--set", "operations=[\"rs\",\"rd\"]",
        check=0)
    with (tmp_path / "eda.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and {r["label"] for r in rows} <= {"pos", "neg"}
    conll = data_dir / "ner.en.train.conll"
    cli("augment", conll, "-o", tmp_path / "da.conll", "--generator", "dai-adel", "--set", f"synonyms_path={synonyms}",
        check=0)
    made = augkit.read(str(tmp_path / "da.conll"))
    source = augkit.read(str(conll))
    assert len(made) > len(source)  # four operations, about one output each
    tags = {t for ex in source for t in ex.tags}
    assert all(len(ex.tags) == len(ex.tokens) and set(ex.tags) <= tags for ex in made)


def test_a_recipe_stage_augments_with_dai_adel_and_matches_the_python_api(tmp_path, synonyms, data_dir):
    """In a recipe the stage sees the whole training set (its word distribution and mentions), as
    `augment` does: the stage's corpus (in shards of 5, batches of 3) equals the Python API's output."""
    from augkit import Corpus
    from augkit.seeding import derive_seed
    from augkit.testing import run_recipe

    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'''schema_version = 1
[run]
name = "simple"
seed = 11
[data.en_train]
format = "conll"
path = "{data_dir / 'ner.en.train.conll'}"
lang = "en"
[[stages]]
name = "dai_adel"
kind = "generate"
component = "dai-adel"
inputs = {{ corpus = "en_train" }}
params = {{ synonyms_path = "{synonyms}", p = 0.5 }}
options = {{ batch_size = 3, shard_size = 5 }}
''')
    results = run_recipe(recipe, tmp_path / "run")
    assert results["status"] == "completed"
    stage = next((tmp_path / "run" / "stages").glob("*dai_adel"))
    made = list(Corpus.load(stage / "data"))
    source = Corpus.load(next((tmp_path / "run" / "data").iterdir()))
    expected = augkit.augment(get_component("generator", "dai-adel", synonyms_path=str(synonyms), p=0.5), 
        list(source), seed=derive_seed(11, "dai_adel"))  # a stage's seed: the run's and its name
    assert [(e.tokens, e.tags) for e in made] == [(e.tokens, e.tags) for e in expected] and made
