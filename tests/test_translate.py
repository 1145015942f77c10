"""The translation plugin's machinery on a tiny MarianMT model built in-process (`augkit:tiny-marian`,
random weights: its translations are noise, which is enough to check what these tests check — language
codes per model family, length-sorted token-budget batching that gives every text the translation it
gets alone, per-text sampling seeds, every example type, QA answers located or the example dropped, and
`augkit augment` on text, CoNLL and CSV, and a recipe that makes X-Mixup's parallel data in-run).
Whether the generator translates real text well is a question for a trained model, not asked here."""
from __future__ import annotations

import csv

import pytest

import augkit
from augkit import Example, get_component
from augkit.testing import check_generator_contract

SHORT = dict(max_new_tokens=6)
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")


@pytest.fixture(scope="module")
def translator():
    from augkit_translate import Translator

    return Translator("augkit:tiny-marian")


def _examples():
    return [Example(id="p0", type="pair", lang="en", text_a="Anna lives in Berlin .", text_b="She is here .",
                    label="entailment"),
            Example(id="p1", type="pair", lang="en", text_a="The river is long and the city is old .", label="neutral"),
            Example(id="t0", type="tagging", lang="en", tokens="John met Anna in Paris".split(),
                    tags=["B-PER", "O", "B-PER", "O", "B-LOC"]),
            Example(id="q0", type="qa", lang="en", question="Where does Anna live ?",
                    context="Anna lives in Berlin .", answers=[{"text": "Berlin", "start": 14}])]


def test_language_codes_follow_the_model_family(translator):
    from augkit_translate.codes import LanguageError, plan_languages

    tok = translator.tokenizer
    assert plan_languages(tok, "some/opus-mt-en-de", "en", "de") == {"src_lang": None, "prefix": "", "forced_bos": None}
    with pytest.raises(LanguageError, match="translates en → de, not en → fr.*m2m100"):
        plan_languages(tok, "Helsinki-NLP/opus-mt-en-de", "en", "fr")
    from transformers import AutoTokenizer

    m2m = AutoTokenizer.from_pretrained(augkit.resolve_model("augkit:tiny-marian"))
    m2m.add_special_tokens({"additional_special_tokens": ["__en__", "__de__"]})
    assert plan_languages(m2m, "m2m", "en", "de") == {"src_lang": "en", "prefix": "", "forced_bos": "__de__"}
    with pytest.raises(LanguageError, match="no language token for 'sw'"):
        plan_languages(m2m, "m2m", "en", "sw")
    nllb = AutoTokenizer.from_pretrained(augkit.resolve_model("augkit:tiny-marian"))
    nllb.add_special_tokens({"additional_special_tokens": ["eng_Latn", "zho_Hans"]})
    assert plan_languages(nllb, "nllb", "en", "zh")["forced_bos"] == "zho_Hans"
    multi = AutoTokenizer.from_pretrained(augkit.resolve_model("augkit:tiny-marian"))
    multi.add_special_tokens({"additional_special_tokens": [">>fr<<", ">>es<<"]})
    assert plan_languages(multi, "opus-mt-en-ROMANCE", "en", "es")["prefix"] == ">>es<< "


def test_sorted_budget_batches_give_each_text_its_own_translation(translator):
    texts = ["Anna lives in Berlin .", "Hi .", "The river is long and the city is old and the people are kind .",
             "She is here .", "Paris"]
    keys = [str(i) for i in range(len(texts))]
    alone = [translator.translate([t], "en", "de", keys=[k], seed=1, max_new_tokens=8)[0] for t, k in zip(texts, keys)]
    for budget in (1, 16, 4096):
        assert translator.translate(texts, "en", "de", keys=keys, seed=1, max_new_tokens=8,
                                    max_tokens_per_batch=budget) == alone
    sampled = translator.translate(texts, "en", "de", keys=keys, seed=3, decoding="sample", max_new_tokens=8)
    assert sampled == translator.translate(texts[::-1], "en", "de", keys=keys[::-1], seed=3, decoding="sample",
                                           max_new_tokens=8)[::-1]
    assert sampled != translator.translate(texts, "en", "de", keys=keys, seed=4, decoding="sample", max_new_tokens=8)


def test_translate_and_backtranslate_honour_the_contract_on_every_example_type():
    gen = get_component("generator", "translate", target_lang="de", **SHORT)
    out = check_generator_contract(gen, _examples())
    by_id = {ex.source_id: ex for ex in out}
    assert by_id["p0"].label == "entailment" and by_id["p0"].lang == "de" and by_id["p0"].text_b
    assert by_id["p0"].meta["parallel"]["source"] == {"text_a": "Anna lives in Berlin .", "text_b": "She is here .",
                                                      "label": "entailment"}
    assert by_id["t0"].tags == [] and by_id["t0"].orig_tags == ["B-PER", "O", "B-PER", "O", "B-LOC"]
    # a QA example survives only when its translated answer is in its translated context
    qa = by_id.get("q0")
    assert (qa is None and gen.stats["qa_answer_not_in_translated_context_dropped"] >= 1) or \
        qa.context[qa.answers[0]["start"]:].startswith(qa.answers[0]["text"])
    back = get_component("generator", "backtranslate", pivot_lang="de", decoding="sample", **SHORT)
    out = check_generator_contract(back, _examples())
    assert out and all(ex.lang == "en" and "pivot" in ex.meta for ex in out)


def test_a_pair_the_model_does_not_cover_is_refused_naming_it(tmp_path):
    import shutil

    folder = tmp_path / "opus-mt-en-de"
    shutil.copytree(augkit.resolve_model("augkit:tiny-marian"), folder)
    gen = get_component("generator", "translate", model=str(folder), target_lang="fr", **SHORT)
    with pytest.raises(augkit.DataError, match="translates en → de, not en → fr"):
        augkit.augment(gen, _examples()[:1], seed=1)


def test_augment_command_backtranslates_text_conll_and_csv(cli, tmp_path, data_dir):
    txt = tmp_path / "in.txt"
    txt.write_text("Anna lives in Berlin .\nThe river is long .\n")
    cli("augment", txt, "-o", tmp_path / "bt.txt", "--generator", "backtranslate", "--set", "max_new_tokens=6",
        check=0)
    assert len((tmp_path / "bt.txt").read_text().splitlines()) == 2
    table = tmp_path / "in.csv"
    with table.open("w", newline="") as f:
        csv.writer(f).writerows([["text", "label"], ["Anna lives in Berlin .", "pos"], ["It rains .", "neg"]])
    cli("augment", table, "-o", tmp_path / "bt.csv", "--generator", "backtranslate", "--set", "max_new_tokens=6",
        check=0)
    with (tmp_path / "bt.csv").open(newline="") as f:
        assert [r["label"] for r in csv.DictReader(f)] == ["pos", "neg"]
    conll = data_dir / "ner.en.dev.conll"
    cli("augment", conll, "-o", tmp_path / "tr.conll", "--generator", "translate", "--set", "target_lang=de",
        "--set", "max_new_tokens=6", "--replaced-tags", "none", check=0)
    assert len(augkit.read(str(tmp_path / "tr.conll"))) == len(augkit.read(str(conll)))


def test_augment_writes_translations_as_xmixups_parallel_data(tmp_path, data_dir):
    """`augkit augment --generator translate --output-format parallel` writes what X-Mixup's `parallel`
    reader reads back: each translation with its source (and back-translation), labels kept; an example
    without a source side is refused naming it, and nothing is written."""
    from augkit.standalone import augment_file

    table = tmp_path / "in.csv"
    with table.open("w", newline="") as f:
        csv.writer(f).writerows([["text", "label"], ["Anna lives in Berlin .", "pos"], ["It rains .", "neg"]])
    out = tmp_path / "de.jsonl"
    augment_file(str(table), str(out), generator="translate", output_format="parallel",
                 params={"target_lang": "de", "back_translate": True, **SHORT})
    back = augkit.read(str(out), "parallel", lang="de")
    assert [ex.label for ex in back] == ["pos", "neg"]
    assert [ex.meta["parallel"]["source"]["text_a"] for ex in back] == ["Anna lives in Berlin .", "It rains ."]
    assert all(ex.meta["parallel"]["back"]["text_a"] and ex.lang == "de" for ex in back)
    conll = data_dir / "ner.en.dev.conll"
    augment_file(str(conll), str(tmp_path / "ner.jsonl"), generator="translate", output_format="parallel",
                 params={"target_lang": "de", **SHORT}, replaced_tags="none")
    tagged = augkit.read(str(tmp_path / "ner.jsonl"), "parallel", lang="de")
    gold = augkit.read(str(conll))
    assert [ex.meta["parallel"]["source"]["tags"] for ex in tagged] == [ex.tags for ex in gold]
    assert all(ex.tokens and not ex.tags for ex in tagged)
    with pytest.raises(augkit.DataError, match=r"example 1 \('p0'\) has no source side"):
        get_component("writer", "parallel").write(_examples()[:1], tmp_path / "plain.jsonl")
    assert not (tmp_path / "plain.jsonl").exists()


def test_a_recipe_makes_xmixups_parallel_data_with_back_translations_in_run(tmp_path, data_dir):
    """English NLI data → `translate` (en → de, with back-translations) → X-Mixup trains on it with
    scheduled sampling on: the translated corpus carries both sides in X-Mixup's parallel form."""
    import json

    from augkit import Corpus
    from augkit.testing import run_recipe

    recipe = tmp_path / "recipe.toml"
    recipe.write_text(f'''schema_version = 1
[run]
name = "translate-xmixup"
seed = 5
[data.en_train]
format = "tsv"
path = "{data_dir / 'nli.en.train.tsv'}"
lang = "en"
[data.de_dev]
format = "parallel"
path = "{data_dir / 'xmixup' / 'nli.de-en.dev.tsv'}"
lang = "de"
[[stages]]
name = "translate_train"
kind = "generate"
component = "translate"
inputs = {{ corpus = "en_train" }}
params = {{ model = "augkit:tiny-marian", target_lang = "de", back_translate = true, max_new_tokens = 8 }}
[[stages]]
name = "xmixup"
kind = "train"
component = "xmixup"
inputs = {{ train = "translate_train", dev = ["de_dev"], test = ["de_dev"] }}
params = {{ model = "augkit:tiny-xlmr", n_models = 1, mixup_layer = 1, batch_size = 4, max_steps = 4, eval_steps = 4, max_length = 32, k = 2 }}
''')
    results = run_recipe(recipe, tmp_path / "run")
    assert results["status"] == "completed"
    stage = next((tmp_path / "run" / "stages").glob("*translate_train"))
    made = list(Corpus.load(stage / "data"))
    source = augkit.read(str(data_dir / "nli.en.train.tsv"), lang="en")
    assert len(made) == len(source) and all(ex.lang == "de" for ex in made)
    for ex, src in zip(made, source):
        assert ex.meta["parallel"]["source"]["text_a"] == src.text_a and ex.label == src.label
        assert set(ex.meta["parallel"]["back"]) == {"text_a", "text_b"}
    folder = next((tmp_path / "run" / "stages").glob("*xmixup"))
    assert not any("scheduled sampling is off" in n for n in json.loads((folder / "results.json").read_text())["notes"])
    assert json.loads((folder / "models" / "model-0" / "train_report.json").read_text())["scheduled_sampling_active"]


def test_add_back_translation_gives_shipped_translations_a_back_side(data_dir):
    """XTREME-style translate-train pairs without back-translations get one each, their source side and
    label untouched, so X-Mixup's scheduled sampling can run on the benchmark's own translations."""
    reader = get_component("reader", "parallel")
    pairs = list(reader.read(str(data_dir / "xmixup" / "nli.en-de.train.jsonl"), lang="de"))
    for ex in pairs:
        ex.meta["parallel"].pop("back", None)
    gen = get_component("generator", "add-back-translation", back_lang="en", **SHORT)
    out = check_generator_contract(gen, pairs)
    assert [ex.source_id for ex in out] == [ex.id for ex in pairs]
    for ex, src in zip(out, pairs):
        assert (ex.text_a, ex.text_b, ex.label, ex.lang) == (src.text_a, src.text_b, src.label, "de")
        assert ex.meta["parallel"]["source"] == src.meta["parallel"]["source"]
        assert set(ex.meta["parallel"]["back"]) == {"text_a", "text_b"}
    tagging = list(reader.read(str(data_dir / "xmixup" / "ner.en-de.train.tsv"), lang="de"))
    out = augkit.augment(gen, tagging, seed=2)
    assert all(ex.meta["parallel"]["back"]["tokens"] for ex in out) and len(out) == len(tagging)


def test_the_back_translation_stage_the_xmixup_recipes_show_validates(tmp_path):
    """The commented `add-back-translation` stage in each full X-Mixup recipe, put in and read by the
    next stage, makes a valid recipe."""
    import re

    from conftest import ROOT

    from augkit.recipe import load_recipe

    for task in ("xnli", "pawsx", "panx", "udpos", "mlqa"):
        text = (ROOT / "recipes" / f"xmixup_{task}.toml").read_text()
        shown = re.search(r"#   \[\[stages\]\]\n((?:#   .*\n)+)", text).group(0)
        stage = "".join(line[4:] + "\n" for line in shown.splitlines())
        reader = "soft_de" if task in ("panx", "udpos") else "xmixup"
        before = text.count('"de_train"')
        text = re.sub(r'^(inputs = \{ (?:corpus = |train = \[[^\]]*))"de_train"', r'\1"back_de"', text, flags=re.M)
        assert text.count('"de_train"') == before - 1
        first = text.index("\n[[stages]]")
        text = text[:first] + "\n" + stage + text[first:]
        (tmp_path / f"{task}.toml").write_text(text)
        plan = load_recipe(tmp_path / f"{task}.toml")
        assert plan.stages[0].name == "back_de"
        assert "back_de" in str(next(s for s in plan.stages if s.name == reader).inputs)


def test_a_briefly_trained_tiny_model_translates_held_out_sentences(tmp_path):
    """The generator translating, not only running: a tiny Marian trained 400 steps on the synthetic
    benchmark's English → xa translate-train pairs translates held-out sentences far better (chrF, with
    sacrebleu) than the same model untrained."""
    sacrebleu = pytest.importorskip("sacrebleu")
    from conftest import ROOT

    from augkit_synthetic import load_benchmark
    from augkit_translate.tiny import train_tiny_mt

    bench = load_benchmark(ROOT / "recipes" / "data" / "synthetic" / "demo.toml")
    pairs = [(r["meta"]["parallel"]["source"]["text_a"], r["text_a"])
             for r in bench.examples("nli", "translate-train", "xa")]
    held, train = pairs[:100], pairs[100:]
    scores = {}
    for steps in (0, 400):
        folder = train_tiny_mt(tmp_path / f"mt{steps}", train, steps=steps)
        gen = get_component("generator", "translate", model=str(folder), target_lang="xa", max_new_tokens=48)
        made = augkit.augment(gen, [Example(id=f"h{i}", type="pair", lang="en", text_a=a) for i, (a, _) in enumerate(held)],
                           seed=0)
        assert len(made) == len(held)
        scores[steps] = sacrebleu.corpus_chrf([ex.text_a for ex in made], [[b for _, b in held]]).score
    assert scores[400] > 35 and scores[400] > 3 * scores[0], scores  # here: 46.4 against 9.6


def _mo_bytes(messages: dict[str, str], order: str = "<") -> bytes:
    """A compiled gettext catalog built by hand from the format's description (magic, count, the two
    tables of (length, offset), then the strings), in the header's charset."""
    import re
    import struct

    charset = re.search(r"charset=(\S+)", messages.get("", "")) or None
    enc = charset.group(1) if charset else "utf-8"
    keys = sorted(messages)
    ids, strs = [k.encode(enc) for k in keys], [messages[k].encode(enc) for k in keys]
    start = 20 + 16 * len(keys)
    blob, table_o, table_t = b"", [], []
    for group, table in ((ids, table_o), (strs, table_t)):
        for b in group:
            table.append((len(b), start + len(blob)))
            blob += b + b"\0"
    head = struct.pack(order + "5I", 0x950412DE, 0, len(keys), 20, 20 + 8 * len(keys))
    return head + b"".join(struct.pack(order + "2I", *e) for e in table_o + table_t) + blob


@pytest.mark.parametrize("order", ["<", ">"])
def test_gettext_catalogs_are_read_in_their_own_charset(tmp_path, order):
    from augkit_translate.tiny import gettext_pairs, read_mo

    messages = {"": "Content-Type: text/plain; charset=ISO-8859-1\n", "Checksum failed": "Prüfsumme fehlerhaft",
                "menu\x04Open file": "Datei öffnen", "one file\x00%d files": "eine Datei\x00%d Dateien",
                "Saved %s": "%s gespeichert", "_Quit": "_Beenden", "Same words": "Same words", "Untranslated": ""}
    mo = tmp_path / "de" / "LC_MESSAGES" / "app.mo"
    mo.parent.mkdir(parents=True)
    mo.write_bytes(_mo_bytes(messages, order))
    pairs = dict(read_mo(mo))
    assert pairs["Checksum failed"] == "Prüfsumme fehlerhaft" and pairs["Open file"] == "Datei öffnen"
    assert pairs["one file"] == "eine Datei" and "" not in pairs
    # only plain, translated, multi-word strings are kept as sentence pairs
    assert gettext_pairs("de", tmp_path) == [("Checksum failed", "Prüfsumme fehlerhaft"), ("Open file", "Datei öffnen"),
                                             ("one file", "eine Datei")]
    assert gettext_pairs("fr", tmp_path) == []
    (tmp_path / "bad.mo").write_bytes(b"not a catalog at all")
    with pytest.raises(ValueError, match="not a gettext catalog"):
        read_mo(tmp_path / "bad.mo")


def test_building_a_built_in_model_says_so_once(tmp_path, monkeypatch, capfd):
    """A first use builds the tiny model and says which, what and where (the first run is not silent);
    the next use takes the cached build without a word."""
    monkeypatch.setenv("AUGKIT_CACHE", str(tmp_path))
    folder = augkit.resolve_model("augkit:tiny-marian")
    err = capfd.readouterr().err
    assert "building the built-in model augkit:tiny-marian on first use" in err and str(tmp_path) in err
    assert "built augkit:tiny-marian in" in err
    assert augkit.resolve_model("augkit:tiny-marian") == folder and capfd.readouterr().err == ""


@pytest.mark.slow
def test_on_real_english_german_pairs_the_generator_translates_as_the_plain_loop_does(tmp_path):
    """Real text: English → German interface strings from the gettext catalogs installed on the machine
    (people's translations). A tiny Marian trained 200 steps on 3,000 of them (its output is far
    from German yet, but not empty, and ends at its own length): on 120 held-out real
    sentences (accents, punctuation, mixed lengths) the translate generator's sorted, token-budget batches
    give exactly the greedy translations of a plain batched generate loop in input order. (Whether a
    model this small learns real translation is the benchmark's question: benchmarks/bench_translate.py
    --pairs gettext trains longer and scores with sacrebleu against the untrained model and against
    copying the input.)"""
    import random

    import torch
    from transformers import AutoTokenizer, MarianMTModel

    from augkit_translate.tiny import gettext_pairs, train_tiny_mt

    pairs = gettext_pairs("de", max_words=6)
    if len(pairs) < 3120:
        pytest.skip(f"only {len(pairs)} English → German gettext pairs under /usr/share/locale/de "
                    "(a machine with more translated packages has them)")
    random.Random(0).shuffle(pairs)
    held, train = [a for a, _ in pairs[:120]], pairs[120:3120]
    folder = train_tiny_mt(tmp_path / "mt", train, steps=200, lr=2e-3, warmup_steps=50)
    gen = get_component("generator", "translate", model=str(folder), target_lang="de", max_new_tokens=32,
                        max_tokens_per_batch=512)
    made = [ex.text_a for ex in augkit.augment(gen, [Example(id=f"h{i}", type="pair", lang="en", text_a=a)
                                             for i, a in enumerate(held)], seed=0, keep_identical=True)]
    tok, model = AutoTokenizer.from_pretrained(str(folder)), MarianMTModel.from_pretrained(str(folder)).eval()
    plain = []
    with torch.inference_mode():
        for i in range(0, len(held), 32):
            enc = tok(held[i:i + 32], return_tensors="pt", padding=True)
            ids = model.generate(**enc, max_new_tokens=32, num_beams=1, do_sample=False)
            plain += [t.strip() for t in tok.batch_decode(ids, skip_special_tokens=True)]
    assert len(made) == len(held) and made == plain
