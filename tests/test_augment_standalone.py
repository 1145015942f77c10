"""A generator on its own (`augkit augment`, `augment_file`, `augkit.augment`): what it writes is
training data augkit reads back, inputs as users have them, and clear messages instead of tracebacks."""
import csv
import dataclasses
import json
from pathlib import Path

import pytest

import augkit
from augkit import UNKNOWN_TAG, DataError, Example, Generator, RunError, example_rng, hookimpl
from augkit.standalone import augment_file
from augkit.testing import plugin_with

VICINITY = {"model": "augkit:tiny-xlmr", "samples_per_input": 2}
DATA = Path(__file__).resolve().parents[1] / "recipes" / "data"
QA = [Example(id=f"q{i}", type="qa", lang="en", question=q, context=c, answers=[{"text": a, "start": c.index(a)}])
      for i, (q, c, a) in enumerate([
          ("Where does Anna live ?", "Anna lives in Berlin and works in Potsdam .", "Berlin"),
          ("Who founded the company ?", "The company was founded by Max Weber in 1990 .", "Max Weber"),
          ("When did the train leave ?", "The train left at noon , two hours late .", "at noon")])]


def _aug(tmp_path, src, out_name, **kw):
    out = tmp_path / out_name
    kw.setdefault("params", VICINITY)
    stats = augment_file(str(src), str(out), generator=kw.pop("generator", "vicinity"), interactive=False, **kw)
    return out, stats


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny task models saved as a user's model folders would be (random heads: labels are still valid)."""
    from augkit.tasks import load_task_model

    folder = tmp_path_factory.mktemp("models")
    ner_labels = augkit.infer_labels(augkit.read(DATA / "ner.en.train.conll"))
    load_task_model("augkit:tiny-xlmr", "tagging", ner_labels, seed=1).save(folder / "ner")
    load_task_model("augkit:tiny-xlmr", "pair", ["contradiction", "entailment", "neutral"], seed=1).save(folder / "nli")
    return {"ner": folder / "ner", "nli": folder / "nli", "ner_labels": ner_labels}


# tags of augmented sentences ---------------------------------------------------------------------------
def test_tagged_input_needs_a_choice_and_a_refusal_leaves_nothing(tmp_path, data_dir):
    with pytest.raises(RunError, match="--replaced-tags keep") as e:
        _aug(tmp_path, data_dir / "ner.de.dev.conll", "x.conll")
    assert "--label-with MODEL" in str(e.value)
    assert not list(tmp_path.iterdir())  # neither the output nor a work folder


@pytest.mark.parametrize("policy", ["keep", "unknown", "drop"])
def test_replaced_tags_policies_give_conll_augkit_reads_back(tmp_path, data_dir, policy):
    src = {ex.id: ex for ex in augkit.read(data_dir / "ner.en.train.conll")}
    out, stats = _aug(tmp_path, data_dir / "ner.en.train.conll", "aug.conll", replaced_tags=policy,
                      include_original=True, params={**VICINITY, "mask_ratio": 0.5})
    back = list(augkit.read(out))  # the reader accepts the file: every sentence is tagged
    raw = augkit.augment(augkit.get_component("generator", "vicinity", **VICINITY, mask_ratio=0.5), 
        list(src.values()), seed=augkit.derive_seed(42, "augment"))
    kept = [ex for ex in raw if not (policy == "drop" and any(ex.orig_tags[i] != "O" for i in ex.meta["changed"]))]
    assert len(back) == len(src) + len(kept) == stats["written"]
    new = [b for b in back if b.tokens not in [s.tokens for s in src.values()]]
    by_tokens = {tuple(ex.tokens): ex for ex in kept}
    for b in back:
        ex = by_tokens.get(tuple(b.tokens))
        if ex is None:
            continue
        changed = set(ex.meta["changed"])
        assert all(b.tags[i] == ex.orig_tags[i] for i in range(len(b.tags)) if i not in changed)
        want = {"keep": [ex.orig_tags[i] for i in sorted(changed)], "unknown": [UNKNOWN_TAG] * len(changed),
                "drop": ["O"] * len(changed)}[policy]
        assert [b.tags[i] for i in sorted(changed)] == want
    assert new and any(ex.meta["changed"] for ex in kept)
    if policy == "drop":
        assert stats["dropped_changed_entity"] == len(raw) - len(kept) > 0
    if policy == "unknown":  # the unknown tag is no label, and training ignores it
        assert UNKNOWN_TAG not in augkit.Corpus.from_examples(back).labels


def test_changed_positions_say_which_replaced_words_differ(tmp_path, data_dir):
    out, stats = _aug(tmp_path, data_dir / "ner.en.train.conll", "aug.jsonl", replaced_tags="none")
    src = {ex.id: ex for ex in augkit.read(data_dir / "ner.en.train.conll")}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    same = 0
    for r in rows:
        orig = src[r["source_id"]].tokens
        assert r["meta"]["changed"] == [i for i in r["replaced"] if r["tokens"][i] != orig[i]]
        same += len(r["replaced"]) - len(r["meta"]["changed"])
    assert stats["replaced_words"] == sum(len(r["replaced"]) for r in rows)
    assert stats["replaced_words_unchanged"] == same


def test_unknown_tags_are_ignored_by_training(data_dir):
    from augkit.tasks import encode, load_task_model

    tm = load_task_model("augkit:tiny-xlmr", "tagging", ["O", "B-PER", "I-PER"], seed=0)
    ex = Example(id="a", tokens=["Anna", "sagt", "hallo"], tags=["B-PER", UNKNOWN_TAG, "O"])
    (feat,) = encode([ex], tm.tokenizer, "tagging", 32, {"O": 0, "B-PER": 1, "I-PER": 2})
    assert list(feat.labels[feat.labels != -100]) == [1, 0]  # "sagt" is in the input, without a loss


def test_label_with_a_task_model_labels_new_sentences_and_keeps_gold_on_originals(tmp_path, data_dir, models):
    src = list(augkit.read(data_dir / "ner.en.dev.conll"))
    out, stats = _aug(tmp_path, data_dir / "ner.en.dev.conll", "aug.conll", label_with=str(models["ner"]),
                      include_original=True, params={**VICINITY, "relabel": "masked"})
    back = list(augkit.read(out, labels=models["ner_labels"]))  # every tag is one of the model's labels
    assert stats["labelled"] == 12 and len(back) == 18
    originals = [b for i, b in enumerate(back) if i % 3 == 0]
    assert [b.tags for b in originals] == [s.tags for s in src]  # inputs keep their gold tags
    raw = augkit.augment(augkit.get_component("generator", "vicinity", **VICINITY, relabel="masked"), 
        src, seed=augkit.derive_seed(42, "augment"))
    for b, ex in zip([b for i, b in enumerate(back) if i % 3], raw):
        assert b.tokens == ex.tokens  # relabel="masked": untouched words keep the original tags
        assert all(b.tags[i] == ex.orig_tags[i] for i in range(len(b.tags)) if i not in ex.replaced)
    # pairs: the model relabels every new pair
    out, _ = _aug(tmp_path, data_dir / "nli.de.dev.tsv", "aug.jsonl", label_with=str(models["nli"]))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all(r["label"] in ("contradiction", "entailment", "neutral") and len(r["probs"][0]) == 3
                        for r in rows)


def test_label_with_on_the_command_line(cli, tmp_path, data_dir, models):
    out = tmp_path / "aug.conll"
    proc = cli("augment", data_dir / "ner.de.dev.conll", "-o", out, "--generator", "vicinity", "--set",
               "model=augkit:tiny-xlmr", "--label-with", models["ner"], "--include-original", check=0)
    assert "6 inputs -> 18 new examples (+6 originals)" in proc.stderr and "labelled=18" in proc.stderr
    assert len(_written(out, labels=models["ner_labels"])) == 24
    proc = cli("augment", data_dir / "ner.de.dev.conll", "-o", tmp_path / "x.conll", "--generator", "vicinity",
               "--set", "model=augkit:tiny-xlmr", "--label-with", models["nli"], check=2)
    assert "this is a pair model; it cannot label tagging examples" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aug.conll"]  # nothing left by the refused run


def test_python_api_labels_with_a_model_or_a_policy(data_dir, models):
    gen = augkit.get_component("generator", "vicinity", **VICINITY)
    src = list(augkit.read(data_dir / "ner.en.dev.conll"))[:3]
    raw = augkit.augment(gen, src, seed=3)
    assert all(ex.tags == [] for ex in raw)  # exactly what a recipe stage stores
    labelled = augkit.augment(gen, src, seed=3, label_with=str(models["ner"]))
    assert [ex.tokens for ex in labelled] == [ex.tokens for ex in raw]
    assert all(len(ex.tags) == len(ex.tokens) and set(ex.tags) <= set(models["ner_labels"]) for ex in labelled)
    kept = augkit.augment(gen, src, seed=3, replaced_tags="keep")
    assert [ex.tags for ex in kept] == [ex.orig_tags for ex in raw]


# the writers refuse what their readers would reject; every writer round-trips -----------------------------
def test_conll_writer_refuses_tagged_and_untagged_sentences_in_one_file(tmp_path):
    out = tmp_path / "mixed.conll"
    examples = [Example(id="a", tokens=["Anna", "lacht"], tags=["B-PER", "O"]), Example(id="b", tokens=["Er", "geht"])]
    with pytest.raises(DataError, match="example 'b' is untagged but 'a' is tagged") as e:
        augkit.write(examples, out)
    assert "--label-with" in str(e.value) and not out.exists()
    for bad, why in ([Example(id="c", tokens=["New York"], tags=["B-LOC"])], "holds whitespace"), \
                    ([Example(id="d", tokens=[])], "has no words"):
        with pytest.raises(DataError, match=why):
            augkit.write(bad, out)
    assert not out.exists()


class _QuestionShuffle(Generator):
    """A tiny QA generator for the SQuAD round trip: the question's words in another order (never the same)."""

    name = "question-shuffle"
    example_types = ("qa",)
    labels_outputs = True

    def augment_batch(self, examples, *, seed):
        out = []
        for ex in examples:
            words = ex.question.split()
            cut = example_rng(seed, ex.id).randrange(1, len(words))
            words = words[cut:] + words[:cut]
            out.append(ex.replace(id=f"{ex.id}~q0", question=" ".join(words), source_id=ex.id,
                                  component=self.display_name()))
        return out


class _QAPlugin:
    @hookimpl
    def register_generators(self, register):
        register(_QuestionShuffle)


def _written(path, fmt=None, **opts) -> list:
    return list(augkit.read(path, fmt, **opts))


ROUND_TRIPS = {  # writer suffix: (input, options)
    "conll": ("ner.en.dev.conll", {"replaced_tags": "keep"}),
    "conllu": ("ner.en.dev.conll", {"replaced_tags": "unknown"}),
    "jsonl": ("ner.en.dev.conll", {"replaced_tags": "none"}),
    "tsv": ("nli.de.dev.tsv", {}),
    "csv": ("nli.de.dev.tsv", {}),
    "txt": ("nli.de.dev.tsv", {"params": {**VICINITY, "mode": "successive_cross", "cross_samples": [2, 2]}}),
    "json": ("qa", {"generator": "question-shuffle", "params": {}}),
}


@pytest.mark.parametrize("include_original", [False, True], ids=["new", "with-originals"])
@pytest.mark.parametrize("suffix", sorted(ROUND_TRIPS))
def test_every_writer_round_trips_through_augkit_augment(tmp_path, data_dir, augkit_plugin, suffix, include_original):
    name, options = ROUND_TRIPS[suffix]
    if name == "qa":
        augkit_plugin(_QAPlugin(), name="qa-test")
        src = tmp_path / "qa.json"
        augkit.write(QA, src)
    elif suffix == "txt":  # plain text in, plain text out
        src = tmp_path / "sentences.txt"
        src.write_text("\n".join(ex.text_a for ex in augkit.read(data_dir / name)) + "\n")
    else:
        src = data_dir / name
    inputs = _written(src)
    out, stats = _aug(tmp_path, src, f"out.{suffix}", include_original=include_original, **options)
    back = _written(out)
    assert len(back) == stats["written"] == stats["outputs"] + (len(inputs) if include_original else 0) > 0
    if include_original:  # each input, then the examples made from it
        assert [_text(b) for b in back if _text(b) in {_text(i) for i in inputs}][: len(inputs)] == \
            [_text(i) for i in inputs]
        assert _text(back[0]) == _text(inputs[0])
    if suffix in ("conll", "conllu", "tsv", "csv", "json"):
        assert all(b.is_labelled for b in back)  # valid training data
    if suffix in ("jsonl", "tsv", "csv", "json"):  # formats that keep ids: every new example names its source
        ids = {b.id for b in back}
        assert all("~" in b.id or b.id in {i.id for i in inputs} for b in back) and len(ids) == len(back)


def _text(ex):
    return (tuple(ex.tokens), ex.text_a, ex.text_b, ex.question)


# inputs as users have them ------------------------------------------------------------------------------
def test_plain_text_in_and_out_with_lang_limit_and_seed(cli, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Der Hund schläft im Garten .\n\nDie Katze trinkt Milch in der Küche .\n"
                   "Ein Mann liest eine Zeitung am Bahnhof .\n")
    out = tmp_path / "out.txt"
    proc = cli("augment", src, "-o", out, "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr",
               "--lang", "de", "--limit", "2", "--seed", "7", check=0)
    assert "2 inputs -> 6 new examples" in proc.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 6 and all(len(line.split()) in (6, 8) for line in lines)
    other = tmp_path / "other.txt"
    cli("augment", src, "-o", other, "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr", "--limit", "2",
        "--seed", "8", check=0)
    assert other.read_text() != out.read_text()  # --seed reaches the generator


def test_csv_with_its_own_column_names_keeps_them_and_the_other_columns(cli, tmp_path):
    src = tmp_path / "reviews.csv"
    with open(src, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["review", "stars", "shop"])
        w.writerow(["Das Essen war sehr gut und warm", "5", "Berlin, Mitte"])
        w.writerow(["Der Kellner war langsam und unfreundlich", "1", "Köln"])
    proc = cli("augment", src, "-o", tmp_path / "x.csv", "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr",
               check=2)
    assert "no text column in the header (review, stars, shop)" in proc.stderr and "text_column" in proc.stderr
    out = tmp_path / "aug.csv"
    cli("augment", src, "-o", out, "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr",
        "--read-opt", "text_column=review", "--read-opt", "label_column=stars", "--include-original", check=0)
    rows = list(csv.DictReader(open(out, newline="")))
    assert list(rows[0]) == ["review", "stars", "shop"]  # the input's columns, in its order, none added
    assert [r["stars"] for r in rows] == ["5"] * 4 + ["1"] * 4  # labels kept (label preservation)
    assert [r["shop"] for r in rows] == ["Berlin, Mitte"] * 4 + ["Köln"] * 4  # other columns come along
    back = _written(out, text_column="review", label_column="stars")
    assert len(back) == 8 and back[0].text_a == "Das Essen war sehr gut und warm"
    tagged = tmp_path / "tagged.csv"  # columns in another order, a language column, no label column
    tagged.write_text("language,id,sentence\nde,r1,Das Essen war sehr gut und warm\nde,r2,Der Kellner war langsam\n")
    augment_file(str(tagged), str(tmp_path / "tagged_aug.csv"), generator="vicinity", params=VICINITY,
                 interactive=False)
    rows = list(csv.DictReader(open(tmp_path / "tagged_aug.csv", newline="")))
    assert list(rows[0]) == ["language", "id", "sentence"] and {r["language"] for r in rows} == {"de"}
    assert len(rows) == 4 and all(r["id"].startswith(("r1~", "r2~")) for r in rows)


def test_datasets_and_strings_come_back_as_they_went_in(data_dir):
    from datasets import ClassLabel, Dataset, Features, List, Value, concatenate_datasets

    gen = augkit.get_component("generator", "vicinity", **VICINITY)
    texts = augkit.augment(gen, ["Der Hund schläft im Garten .", "Die Katze trinkt Milch ."], seed=1)
    assert isinstance(texts, list) and len(texts) == 4 and all(isinstance(t, str) for t in texts)
    assert augkit.augment(gen, "Der Hund schläft im Garten .", seed=1) == texts[:2]
    src = list(augkit.read(data_dir / "ner.en.dev.conll"))
    names = augkit.infer_labels(src)
    feats = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=names)),
                      "langs": List(Value("string"))})
    ds = Dataset.from_list([{"tokens": ex.tokens, "ner_tags": [names.index(t) for t in ex.tags],
                             "langs": ["en"] * len(ex.tokens)} for ex in src], features=feats)
    with pytest.raises(DataError, match="'ner_tags' column needs a tag for every word") as e:
        augkit.augment(gen, ds, seed=1)
    assert "'unknown'" not in str(e.value)  # a ClassLabel column has no value for it
    fresh = augkit.get_component("generator", "vicinity", **VICINITY)
    with pytest.raises(DataError, match="'ner_tags' column is a ClassLabel .* no value for an unknown tag"):
        augkit.augment(fresh, ds, seed=1, replaced_tags="unknown")
    assert not fresh.stats  # refused before generating anything
    new = augkit.augment(gen, ds, seed=1, replaced_tags="keep")
    assert isinstance(new, Dataset) and new.features == ds.features and len(new) == 12
    assert new[0]["langs"] == ds[0]["langs"] and new[0]["ner_tags"] == ds[0]["ner_tags"]
    assert len(concatenate_datasets([ds, new])) == 18  # dataset.map-style code needs no conversion
    pairs = Dataset.from_list([{"premise": ex.text_a, "hypothesis": ex.text_b, "label": i % 3}
                               for i, ex in enumerate(augkit.read(data_dir / "nli.de.dev.tsv"))],
                              features=Features({"premise": Value("string"), "hypothesis": Value("string"),
                                                 "label": ClassLabel(names=["entailment", "neutral", "contradiction"])}))
    out = augkit.augment(gen, pairs, seed=1)
    assert out.features == pairs.features and out["label"][:2] == [0, 0]


def test_unsupported_inputs_are_named(data_dir):
    from datasets import Dataset, DatasetDict

    gen = augkit.get_component("generator", "vicinity", **VICINITY)
    with pytest.raises(TypeError, match="takes augkit.Example objects .* got int"):
        augkit.augment(gen, 42)
    with pytest.raises(TypeError, match="found a dict"):
        augkit.augment(gen, [{"tokens": ["a"]}])
    with pytest.raises(DataError, match="pass one split, e.g. dataset\\['train'\\]"):
        augkit.augment(gen, DatasetDict({"train": Dataset.from_list([{"text": "a b"}])}))
    with pytest.raises(DataError, match="its columns \\(review, stars\\) fit no example type"):
        augkit.augment(gen, Dataset.from_list([{"review": "gut", "stars": 5}]))
    assert len(augkit.augment(gen, Dataset.from_list([{"review": "sehr gut hier", "stars": 5}]), seed=0,
                           columns={"text_a": "review", "label": "stars"})) == 2
    with pytest.raises(DataError, match="vicinity augments tagging and pair examples; the input holds qa examples"):
        augkit.augment(gen, QA)


def test_hf_reader_takes_saved_folders_data_files_pairs_and_qa(cli, tmp_path, data_dir):
    from datasets import Dataset, DatasetDict

    pairs = Dataset.from_list([{"premise": ex.text_a, "hypothesis": ex.text_b, "label": ex.label}
                               for ex in augkit.read(data_dir / "nli.de.dev.tsv")])
    DatasetDict({"train": pairs}).save_to_disk(str(tmp_path / "saved"))
    got = list(augkit.read(str(tmp_path / "saved"), "hf", lang="de"))
    assert len(got) == len(pairs) and got[0].type == "pair" and got[0].label == pairs[0]["label"]
    with pytest.raises(DataError, match="split 'test' is not in this saved dataset \\(its splits: train\\)"):
        list(augkit.read(str(tmp_path / "saved"), "hf", split="test"))
    out = tmp_path / "aug.tsv"  # what ended in KeyError: 'tokens'
    cli("augment", tmp_path / "saved", "--format", "hf", "-o", out, "--generator", "vicinity",
        "--set", "model=augkit:tiny-xlmr", check=0)
    assert len(_written(out)) == 3 * len(pairs)
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps({"id": ex.id, "question": ex.question, "context": ex.context,
                                      "answers": {"text": [a["text"] for a in ex.answers],
                                                  "answer_start": [a["start"] for a in ex.answers]}}) + "\n"
                          for ex in QA))
    got = list(augkit.read("json", "hf", data_files=[str(qa)]))
    assert got[0].type == "qa" and got[0].answers and got[0].context[got[0].answers[0]["start"]:].startswith(
        got[0].answers[0]["text"])
    with pytest.raises(DataError, match="data_files: file not found"):
        list(augkit.read("json", "hf", data_files=[str(tmp_path / "nope.jsonl")]))
    with pytest.raises(DataError, match="tagging examples need a tokens column"):
        list(augkit.read("json", "hf", data_files=[str(qa)], type="tagging"))


# messages, not tracebacks ---------------------------------------------------------------------------------
def test_reader_and_writer_options_are_separate_from_generator_parameters(cli, tmp_path):
    src = tmp_path / "latin.conll"
    src.write_bytes("Müller B-PER\nsagt O\nhallo O\n\nJörg B-PER\nlacht O\n".encode("latin-1"))
    base = ["augment", src, "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr", "--replaced-tags", "keep"]
    proc = cli(*base, "-o", tmp_path / "a.conll", check=2)
    assert "latin.conll:1:" in proc.stderr and "--read-opt encoding=latin-1" in proc.stderr
    assert not (tmp_path / "a.conll.augkit-work").exists()
    proc = cli(*base, "-o", tmp_path / "a.conll", "--set", "encoding=latin-1", check=2)
    assert "not a vicinity parameter but an option of the conll reader: pass --read-opt encoding=latin-1" in proc.stderr
    cli(*base, "-o", tmp_path / "a.conll", "--read-opt", "encoding=latin-1", "--write-opt", "separator=\t", check=0)
    text = (tmp_path / "a.conll").read_text()
    assert "\tB-PER" in text and _written(tmp_path / "a.conll")[0].tags[0] == "B-PER"
    proc = cli(*base, "-o", tmp_path / "b.conll", "--read-opt", "encodng=latin-1", check=2)
    assert 'encodng: unknown parameter (did you mean "encoding"?)' in proc.stderr and "--read-opt" in proc.stderr


def test_a_format_mismatch_is_found_before_any_generation(cli, tmp_path, data_dir):
    proc = cli("augment", data_dir / "nli.de.dev.tsv", "-o", tmp_path / "y.conll", "--generator", "vicinity",
               "--set", "model=augkit:tiny-xlmr", check=2)
    assert "the conll format holds tagging examples, and this run makes pair examples" in proc.stderr
    assert "tsv (.tsv)" in proc.stderr and "sentences/s" not in proc.stderr
    mixed = tmp_path / "mixed.jsonl"  # a format holding several types: checked once read, still before generating
    augkit.write([*augkit.read(data_dir / "nli.de.dev.tsv")], mixed)
    proc = cli("augment", mixed, "-o", tmp_path / "z.conll", "--generator", "vicinity", "--set",
               "model=augkit:tiny-xlmr", check=2)
    assert "this run makes pair examples" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.jsonl"]


def test_cuda_without_cuda_is_a_message(cli, tmp_path, data_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = cli("augment", data_dir / "nli.de.dev.tsv", "-o", tmp_path / "y.tsv", "--generator", "vicinity",
               "--set", "model=augkit:tiny-xlmr", "--device", "cuda", check=2)
    assert proc.stderr.startswith("error: device 'cuda':") and "Traceback" not in proc.stderr
    gen = augkit.get_component("generator", "vicinity", **VICINITY)
    with pytest.raises(RunError, match="device 'cuda'"):
        augkit.augment(gen, ["Der Hund schläft ."], device="cuda")
    with pytest.raises(RunError, match="expected \"auto\", \"cpu\", \"cuda\""):
        augkit.augment(gen, ["Der Hund schläft ."], device="gpu")
    assert not list(tmp_path.iterdir())


def test_version_help_and_plugins_show(cli):
    assert cli("--version", check=0).stdout.strip() == f"augkit {augkit.__version__}"
    help_text = cli("augment", "--help", check=0).stdout
    assert "vicinity (tagging, pair)" in help_text and "mask_ratio=0.3" in help_text
    assert "conll" in help_text and ".csv" in help_text and ".txt" in help_text and "--read-opt" in help_text
    shown = cli("plugins", "show", "vicinity", check=0).stdout
    assert "generator vicinity:vicinity" in shown and "mask_ratio: float = 0.3" in shown
    assert "share of a text's words to replace" in shown
    described = json.loads(cli("plugins", "show", "conll", "--json", check=0).stdout)
    assert {d["kind"] for d in described} == {"reader", "writer"}
    assert "did you mean \"vicinity\"" in cli("plugins", "show", "vicinty", check=2).stderr


ROUNDTRIP_EXAMPLES = {
    "tagging": [Example(id="t0", tokens=["Anna", "wohnt", "in", "Köln"], tags=["B-PER", "O", UNKNOWN_TAG, "B-LOC"]),
                Example(id="t1", tokens=["Er", "lacht"], tags=["O", "O"])],
    "pair": [Example(id="p0", type="pair", text_a="Ein Mann, der liest.", text_b="Jemand liest.", label="entailment"),
             Example(id="p1", type="pair", text_a="Es regnet \"stark\".", text_b="Die Sonne scheint.",
                     label="contradiction")],
    "single": [Example(id="s0", type="pair", text_a="Der Hund schläft."), Example(id="s1", type="pair", text_a="Ja.")],
    "qa": QA,
}


@pytest.mark.parametrize("fmt,kind", [("conll", "tagging"), ("conllu", "tagging"), ("jsonl", "tagging"),
                                      ("jsonl", "pair"), ("jsonl", "qa"), ("tsv", "pair"), ("csv", "pair"),
                                      ("csv", "single"), ("txt", "single"), ("squad", "qa")])
def test_check_writer_roundtrip_on_every_builtin_format(tmp_path, fmt, kind):
    from augkit.testing import check_writer_roundtrip

    writer, reader = augkit.resolve("writer", fmt)(), augkit.resolve("reader", fmt)()
    back = check_writer_roundtrip(writer, reader, ROUNDTRIP_EXAMPLES[kind], tmp_path / f"x.{fmt}")
    assert len(back) == len(ROUNDTRIP_EXAMPLES[kind])
    if kind == "tagging":
        assert back[0].tags[2] == UNKNOWN_TAG


def test_a_character_the_output_encoding_cannot_hold_is_a_message(tmp_path):
    out = tmp_path / "x.txt"
    with pytest.raises(DataError, match="'日本' cannot be written as latin-1; choose another `encoding`"):
        augkit.write([Example(id="a", type="pair", text_a="Tokio liegt in 日本")], out, encoding="latin-1")
    assert not out.exists()
    src = tmp_path / "latin.csv"
    src.write_bytes("text,label\nMüller lacht,pos\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.csv:2: cannot decode .* --read-opt encoding=latin-1"):
        list(augkit.read(src))
    assert list(augkit.read(src, encoding="latin-1"))[0].text_a == "Müller lacht"


class EchoOrSwapGenerator(Generator):
    """For each input: the input unchanged (a copy) and the input with its first two words swapped."""

    name = "echo-or-swap"
    example_types = ("pair",)

    def augment_batch(self, examples, *, seed):
        out = []
        for ex in examples:
            words = ex.text_a.split()
            for k, text in enumerate((ex.text_a, " ".join([words[1], words[0], *words[2:]]))):
                out.append(ex.replace(id=f"{ex.id}~e{k}", text_a=text, source_id=ex.id, component=self.name))
        return out


def test_copies_of_the_input_are_dropped_and_counted_and_strings_can_name_their_source(tmp_path, augkit_plugin):
    texts = ["Der Hund schläft .", "Die Katze trinkt Milch ."]
    gen = EchoOrSwapGenerator()
    assert augkit.augment(gen, texts, seed=1) == ["Hund Der schläft .", "Katze Die trinkt Milch ."]
    assert gen.stats["identical_dropped"] == 2
    assert augkit.augment(gen, texts, seed=1, return_sources=True) == [("Der Hund schläft .", "Hund Der schläft ."),
                                                               ("Die Katze trinkt Milch .", "Katze Die trinkt Milch .")]
    assert len(augkit.augment(EchoOrSwapGenerator(), texts, seed=1, keep_identical=True)) == 4
    with pytest.raises(ValueError, match="return_sources=True is for strings"):
        augkit.augment(gen, [Example("a", text_a="Der Hund schläft .")], return_sources=True)

    augkit_plugin(plugin_with(EchoOrSwapGenerator), name="echo")
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts) + "\n")
    stats = augment_file(str(src), str(tmp_path / "out.txt"), generator="echo-or-swap", interactive=False)
    assert stats["identical_dropped"] == 2 and (tmp_path / "out.txt").read_text().splitlines() == \
        ["Hund Der schläft .", "Katze Die trinkt Milch ."]
    stats = augment_file(str(src), str(tmp_path / "all.txt"), generator="echo-or-swap", interactive=False,
                         keep_identical=True)
    assert stats["outputs"] == 4 and "identical_dropped" not in stats
