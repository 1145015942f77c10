"""`augkit xmixup-data`: the full X-Mixup recipes' parallel files from XTREME-shaped folders (the layout the
X-Mixup authors describe), with back-translations when present; misaligned files are refused by name."""
from __future__ import annotations

import json
from pathlib import Path

from augkit import Corpus, get_component

H_MT = "premise\thypo\tlabel\n"
XNLI_HEAD = "language\tgold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\n"


def _xnli_row(lang, label, a, b):
    return f"{lang}\t{label}\t_\t_\t_\t_\t{a}\t{b}\n"


def make_xnli(root):
    mt = root / "XNLI-MT-1.0" / "multinli"
    mt.mkdir(parents=True)
    (mt / "multinli.train.en.tsv").write_text(H_MT + "A man sleeps .\tA man rests .\tentailment\n"
                                              "Kids play .\tNobody plays .\tcontradictory\n")
    (mt / "multinli.train.de.tsv").write_text(H_MT + "Ein Mann schläft .\tEin Mann ruht .\tentailment\n"
                                              "Kinder spielen .\tNiemand spielt .\tcontradictory\n")
    (mt / "multinli.train.fr.tsv").write_text(H_MT + "Un homme dort .\tUn homme se repose .\tentailment\n"
                                              "Des enfants jouent .\tPersonne ne joue .\tcontradictory\n")
    (root / "translate-train-en").mkdir()
    (root / "translate-train-en" / "multinli.train.de-en.tsv").write_text(
        H_MT + "A man is sleeping .\tA man is resting .\tentailment\nChildren play .\tNo one plays .\tcontradictory\n")
    (root / "XNLI-1.0").mkdir()
    (root / "XNLI-1.0" / "xnli.dev.tsv").write_text(XNLI_HEAD + _xnli_row("de", "neutral", "Er geht .", "Er eilt .")
                                                    + _xnli_row("fr", "entailment", "Il va .", "Il part ."))
    (root / "translate-dev").mkdir()
    (root / "translate-dev" / "xnli.dev.tsv").write_text(XNLI_HEAD + _xnli_row("de", "neutral", "He walks .", "He hurries .")
                                                         + _xnli_row("fr", "entailment", "He goes .", "He leaves ."))
    (root / "XNLI-1.0" / "xnli.test.tsv").write_text(XNLI_HEAD + _xnli_row("fr", "neutral", "Elle lit .", "Elle étudie .")
                                                     + _xnli_row("de", "contradiction", "Sie liest .", "Sie schläft .")
                                                     + _xnli_row("de", "entailment", "Es regnet .", "Es ist nass ."))
    (root / "translate-test").mkdir()
    (root / "translate-test" / "test.de.tsv").write_text("She reads .\tShe sleeps .\tcontradiction\n"
                                                         "It rains .\tIt is wet .\tentailment\n")
    (root / "translate-test" / "test.fr.tsv").write_text("She reads .\tShe studies .\tneutral\n")


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_xnli_files_become_parallel_files_the_reader_takes_with_back_translations(tmp_path, cli):
    make_xnli(tmp_path / "src")
    out = cli("xmixup-data", "xnli", "--from", tmp_path / "src", "--to", tmp_path / "out", "--languages", "de,fr",
              check=0).stdout
    assert "train.de.jsonl: 2 examples" in out and "test.de.jsonl: 2 examples" in out
    train = _lines(tmp_path / "out" / "train.de.jsonl")
    assert train[1] == {"id": "xnli-train-1", "label": "contradiction",
                        "source": {"text_a": "Kids play .", "text_b": "Nobody plays ."},
                        "target": {"text_a": "Kinder spielen .", "text_b": "Niemand spielt ."},
                        "back": {"text_a": "Children play .", "text_b": "No one plays ."}}
    assert "back" not in _lines(tmp_path / "out" / "train.fr.jsonl")[0]  # no back-translations given for fr
    test = _lines(tmp_path / "out" / "test.de.jsonl")
    assert [(t["label"], t["target"]["text_a"], t["source"]["text_a"]) for t in test] == \
        [("contradiction", "Sie liest .", "She reads ."), ("entailment", "Es regnet .", "It rains .")]
    dev = _lines(tmp_path / "out" / "dev.fr.jsonl")
    assert dev == [{"id": "xnli-dev-1", "label": "entailment", "target": {"text_a": "Il va .", "text_b": "Il part ."},
                    "source": {"text_a": "He goes .", "text_b": "He leaves ."}}]
    reader = get_component("reader", "parallel")
    examples = list(reader.read(str(tmp_path / "out" / "train.de.jsonl"), lang="de"))
    assert [e.text_a for e in examples] == ["Ein Mann schläft .", "Kinder spielen ."]
    assert examples[0].meta["parallel"]["back"]["text_a"] == "A man is sleeping ."
    assert Corpus.from_examples(examples).labels == ["contradiction", "entailment"]


def test_misaligned_or_missing_files_are_refused_naming_them(tmp_path, cli):
    make_xnli(tmp_path / "src")
    de = tmp_path / "src" / "XNLI-MT-1.0" / "multinli" / "multinli.train.de.tsv"
    de.write_text(de.read_text().splitlines(keepends=True)[0] + de.read_text().splitlines(keepends=True)[1])
    err = cli("xmixup-data", "xnli", "--from", tmp_path / "src", "--to", tmp_path / "out", "--languages", "de",
              check=2).stderr
    assert "multinli.train.de.tsv" in err and "1 lines but" in err and "aligned line by line" in err
    assert not (tmp_path / "out" / "train.de.jsonl").exists()
    err = cli("xmixup-data", "pawsx", "--from", tmp_path / "src", "--to", tmp_path / "out2", check=2).stderr
    assert "en/train.tsv" in err and "file not found" in err


def test_pawsx_files_become_parallel_files(tmp_path, cli):
    src = tmp_path / "src"
    head = "id\tsentence1\tsentence2\tlabel\n"
    for lang, rows in {"en": ["1\tA cat .\tThe cat .\t1", "2\tA dog .\tA bird .\t0"],
                       "de": ["1\tEine Katze .\tDie Katze .\t1", "2\tEin Hund .\tEin Vogel .\t0"]}.items():
        (src / lang).mkdir(parents=True)
        (src / lang / "train.tsv").write_text(head + "\n".join(rows) + "\n")
    (src / "de" / "dev_2k.tsv").write_text(head + "7\tHallo .\tHi .\t1\n")
    (src / "de" / "test_2k.tsv").write_text(head + "9\tJa .\tNein .\t0\n")
    for folder, name, text in (("translate-dev", "dev_2k.de.tsv", head + "7\tHello .\tHi .\t1\n"),
                               ("translate-test", "test.de.tsv", "Yes .\tNo .\t0\n")):
        (src / folder).mkdir(exist_ok=True)
        (src / folder / name).write_text(text)
    cli("xmixup-data", "pawsx", "--from", src, "--to", tmp_path / "out", "--languages", "de", check=0)
    train = _lines(tmp_path / "out" / "train.de.jsonl")
    assert train[0] == {"id": "pawsx-train-1", "label": "1", "source": {"text_a": "A cat .", "text_b": "The cat ."},
                        "target": {"text_a": "Eine Katze .", "text_b": "Die Katze ."}}
    assert _lines(tmp_path / "out" / "test.de.jsonl")[0]["source"] == {"text_a": "Yes .", "text_b": "No ."}
    assert _lines(tmp_path / "out" / "dev.de.jsonl")[0]["target"]["text_a"] == "Hallo ."


def _conll(sentences):
    """Word-per-line text, a blank line after each sentence (tags, when given, in a second column)."""
    return "".join("".join(f"{w}\t{t}\n" if t is not None else f"{w}\n" for w, t in s) + "\n" for s in sentences)


def make_panx(root):
    """An XTREME-shaped PAN-X folder as the X-Mixup authors lay it out: English training set (with PAN-X's
    `en:` prefixes), token translations with a logits column, one back-translation, dev only for de."""
    english = [[("en:John", "B-PER"), ("en:lives", "O"), ("en:in", "O"), ("en:Paris", "B-LOC")],
               [("en:EU", "B-ORG"), ("en:rules", "O")],
               [("en:Hello", "O")]]
    (root / "en").mkdir(parents=True)
    (root / "en" / "train.tsv").write_text(_conll(english))
    logits = "0.1 0.9 0.0"
    for lang, translated in {"de": [["John", "wohnt", "in", "Paris"], ["EU", "Regeln"], ["Hallo"]],
                             "fr": [["John", "habite", "à", "Paris"], [], ["Bonjour"]]}.items():
        (root / "translate-train-logits").mkdir(exist_ok=True)
        (root / "translate-train-logits" / f"{lang}.txt").write_text(
            _conll([[(w, logits) for w in s] for s in translated]))
        (root / lang).mkdir()
        (root / lang / "test.tsv").write_text(_conll([[(f"{lang}:Berlin", "B-LOC"), (f"{lang}:ist", "O")]]))
        (root / "translate-test-token").mkdir(exist_ok=True)
        (root / "translate-test-token" / f"{lang}.txt").write_text(_conll([[("Berlin", None), ("is", None)]]))
    (root / "translate-train-en-token").mkdir()
    (root / "translate-train-en-token" / "de.txt").write_text(
        _conll([[(w, None) for w in s] for s in [["John", "lives", "in", "Paris"], ["EU", "rules"], ["Hello"]]]))
    (root / "de" / "dev.tsv").write_text(_conll([[("de:Anna", "B-PER"), ("de:lacht", "O")],
                                                 [("de:Rom", "B-LOC")]]))
    (root / "translate-dev-token").mkdir()
    (root / "translate-dev-token" / "de.txt").write_text(_conll([[("Anna", None), ("laughs", None)], [("Rome", None)]]))


def test_panx_token_translations_become_parallel_tagging_files(tmp_path, cli):
    make_panx(tmp_path / "src")
    out = cli("xmixup-data", "panx", "--from", tmp_path / "src", "--to", tmp_path / "out", "--languages", "de,fr",
              check=0).stdout
    assert "train.de.jsonl: 3 examples" in out
    # fr's second translation is empty: dropped and counted; fr has no dev set: said, nothing written
    assert "train.fr.jsonl: 2 examples (1 dropped (an empty sentence on one side))" in out
    assert "dev.fr.jsonl: not written" in out and "fr_dev" in out and not (tmp_path / "out" / "dev.fr.jsonl").exists()
    train = _lines(tmp_path / "out" / "train.de.jsonl")
    assert train[0] == {"id": "panx-train-0",
                        "source": {"tokens": ["John", "lives", "in", "Paris"], "tags": ["B-PER", "O", "O", "B-LOC"]},
                        "target": {"tokens": ["John", "wohnt", "in", "Paris"]},
                        "back": {"tokens": ["John", "lives", "in", "Paris"]}}
    assert [t["id"] for t in _lines(tmp_path / "out" / "train.fr.jsonl")] == ["panx-train-0", "panx-train-2"]
    assert _lines(tmp_path / "out" / "dev.de.jsonl")[1] == {
        "id": "panx-dev-de-1", "target": {"tokens": ["Rom"], "tags": ["B-LOC"]}, "source": {"tokens": ["Rome"]}}
    reader = get_component("reader", "parallel")
    test = list(reader.read(str(tmp_path / "out" / "test.fr.jsonl"), lang="fr"))
    assert [(e.tokens, e.tags) for e in test] == [(["Berlin", "ist"], ["B-LOC", "O"])]
    assert test[0].meta["parallel"]["source"] == {"tokens": ["Berlin", "is"]}
    train_de = list(reader.read(str(tmp_path / "out" / "train.de.jsonl"), lang="de"))
    assert train_de[1].tokens == ["EU", "Regeln"] and train_de[1].meta["parallel"]["source"]["tags"] == ["B-ORG", "O"]


def test_tagging_files_out_of_step_are_refused_naming_the_file(tmp_path, cli):
    make_panx(tmp_path / "src")
    (tmp_path / "src" / "translate-test-token" / "de.txt").write_text(_conll([[("Berlin", None)], [("extra", None)]]))
    err = cli("xmixup-data", "udpos", "--from", tmp_path / "src", "--to", tmp_path / "out", "--languages", "de",
              check=2).stderr
    assert "translate-test-token/de.txt" in err and "2 sentences but" in err and "aligned sentence by sentence" in err
    (tmp_path / "src" / "en" / "train.tsv").write_text("John\tB-PER\nlives\n\n")
    err = cli("xmixup-data", "udpos", "--from", tmp_path / "src", "--to", tmp_path / "out", check=2).stderr
    assert "en/train.tsv:2: expected a word, a tab and its tag" in err


def _squad_json(questions):
    """SQuAD v1.1 JSON: one article, a paragraph per (context, [(id, question, [(answer, start)])])."""
    return json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [
        {"context": c, "qas": [{"id": i, "question": q, "answers": [{"text": a, "answer_start": s} for a, s in ans]}
                               for i, q, ans in qs]} for c, qs in questions]}]})


def make_mlqa(root):
    squad, mlqa = root / "squad", root / "mlqa"
    for folder in (squad / "translate-train", squad / "translate-train-en", mlqa / "dev", mlqa / "test",
                   mlqa / "translate-test"):
        folder.mkdir(parents=True)
    (squad / "train-v1.1.json").write_text(_squad_json([
        ("Anna lives in Bonn.", [("q1", "Where does Anna live?", [("Bonn", 14)])]),
        ("Tom met Eva in Rome. Eva smiled.", [("q2", "Who did Tom meet?", [("Eva", 8)]),
                                              ("q3", "Where?", [("Rome", 15)])])]))
    (squad / "translate-train" / "squad.translate.train.en-de.json").write_text(_squad_json([
        ("Anna wohnt in Bonn.", [("q1", "Wo wohnt Anna?", [("Bonn", 3)])]),          # wrong offset, one Bonn
        ("Tom traf Eva in Rom. Eva lachte.", [("q2", "Wen traf Tom?", [("Eva", 40)]),  # wrong offset, two Evas
                                              ("q3", "Wo?", [("Rom", 16)])]),
        ("Neu.", [("q9", "Was?", [("Neu", 0)])])]))                                    # no English q9
    (squad / "translate-train-en" / "squad.translate.train.en-de-en.json").write_text(_squad_json([
        ("Anna resides in Bonn.", [("q1", "Where does Anna reside?", [("Bonn", -1)])])]))
    (mlqa / "dev" / "dev-context-de-question-de.json").write_text(_squad_json([
        ("Der Rhein fließt.", [("d1", "Was fließt?", [("Der Rhein", 0)])])]))
    (mlqa / "dev" / "dev-context-en-question-en.json").write_text(_squad_json([
        ("The Rhine flows.", [("d1", "What flows?", [("The Rhine", 0)])])]))
    (mlqa / "test" / "test-context-de-question-de.json").write_text(_squad_json([
        ("Kiel liegt am Meer.", [("t1", "Wo liegt Kiel?", [("am Meer", 11)]), ("t2", "Was liegt?", [("Kiel", 0)])])]))
    (mlqa / "translate-test" / "mlqa.translate.test.de-en.json").write_text(_squad_json([
        ("Kiel is by the sea.", [("t1", "Where is Kiel?", [("by the sea", 8)]),
                                 ("t2", "What lies?", [("Kiel", 0)])])]))


def test_mlqa_joins_squad_with_its_translation_by_question_id(tmp_path, cli):
    make_mlqa(tmp_path)
    out = cli("xmixup-data", "mlqa", "--from", tmp_path / "mlqa", "--to", tmp_path / "out", "--languages", "de",
              check=0).stdout
    assert ("train.de.jsonl: 2 examples (1 dropped (the answer is not in the translated context); "
            "1 dropped (no English question with the same id))") in out
    train = {t["id"]: t for t in _lines(tmp_path / "out" / "train.de.jsonl")}
    assert train["q1"] == {"id": "q1",
                           "source": {"question": "Where does Anna live?", "context": "Anna lives in Bonn.",
                                      "answers": [{"text": "Bonn", "start": 14}]},
                           "target": {"question": "Wo wohnt Anna?", "context": "Anna wohnt in Bonn.",
                                      "answers": [{"text": "Bonn", "start": 14}]},  # placed at its only occurrence
                           "back": {"question": "Where does Anna reside?", "context": "Anna resides in Bonn."}}
    assert "back" not in train["q3"] and train["q3"]["target"]["answers"] == [{"text": "Rom", "start": 16}]
    dev = _lines(tmp_path / "out" / "dev.de.jsonl")
    assert dev == [{"id": "d1", "target": {"question": "Was fließt?", "context": "Der Rhein fließt.",
                                           "answers": [{"text": "Der Rhein", "start": 0}]},
                    "source": {"question": "What flows?", "context": "The Rhine flows."}}]
    reader = get_component("reader", "parallel")
    test = list(reader.read(str(tmp_path / "out" / "test.de.jsonl"), lang="de"))
    assert [(e.id, e.question, e.answers) for e in test] == [
        ("t1", "Wo liegt Kiel?", [{"text": "am Meer", "start": 11}]), ("t2", "Was liegt?", [{"text": "Kiel", "start": 0}])]
    assert test[0].meta["parallel"]["source"] == {"question": "Where is Kiel?", "context": "Kiel is by the sea."}
    examples = list(reader.read(str(tmp_path / "out" / "train.de.jsonl"), lang="de"))
    assert examples[0].meta["parallel"]["back"]["question"] == "Where does Anna reside?"


def test_prepared_files_are_the_ones_the_full_recipes_read(tmp_path):
    """The full recipes' paths and the command's output names agree: after preparing German, the recipe
    no longer lists German's files among the missing ones (what `augkit validate` prints)."""
    import shutil

    from augkit_xmixup.prepare import prepare
    from conftest import ROOT

    from augkit.recipe import data_sources, load_recipe

    make_panx(tmp_path / "src")
    make_mlqa(tmp_path)
    for task, src in (("panx", tmp_path / "src"), ("udpos", tmp_path / "src"), ("mlqa", tmp_path / "mlqa")):
        recipe = tmp_path / "recipes" / f"xmixup_{task}.toml"
        recipe.parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / "recipes" / f"xmixup_{task}.toml", recipe)
        out = tmp_path / "recipes" / "data" / "xmixup" / task
        prepare(task, src, out, ["de"])
        missing = dict(data_sources(load_recipe(recipe))[0])
        assert Path(missing["ar_test"]) == out / "test.ar.jsonl"
        assert not {"de_train", "de_dev", "de_test"} & set(missing)


def _hub_folder(root, configs, features):
    """A dataset repository as the Hugging Face hub holds it (one parquet file per configuration and split,
    configurations declared in the README's YAML), read offline by `datasets.load_dataset(folder, config)`."""
    import datasets

    yaml = ["---", "configs:"]
    for config, rows in configs.items():
        (root / "train").mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_list(rows, features=features).to_parquet(str(root / "train" / f"{config}.parquet"))
        yaml += [f"- config_name: {config}", "  data_files:", "  - split: train", f"    path: train/{config}.parquet"]
    (root / "README.md").write_text("\n".join(yaml + ["---", ""]))


def test_hub_translate_train_reads_like_the_prepared_files(tmp_path, cli):
    """XNLI's machine-translated training sets as hub configurations (facebook/xnli's layout: a
    configuration per language, the same rows in the same order) give the same pairs as the files
    `augkit xmixup-data` makes from XNLI-MT-1.0; rows out of step are refused by their labels."""
    import datasets

    make_xnli(tmp_path / "src")
    cli("xmixup-data", "xnli", "--from", tmp_path / "src", "--to", tmp_path / "out", "--languages", "de", check=0)
    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"])})
    mt = tmp_path / "src" / "XNLI-MT-1.0" / "multinli"
    configs = {}
    for lang in ("en", "de"):
        lines = (mt / f"multinli.train.{lang}.tsv").read_text().splitlines()[1:]
        configs[lang] = [{"premise": a, "hypothesis": b, "label": 2 if c == "contradictory" else 0}
                         for a, b, c in (line.split("\t") for line in lines)]
    _hub_folder(tmp_path / "xnli", configs, features)
    hub = list(get_component("reader", "hf-parallel", config="de").read(str(tmp_path / "xnli"), lang="de"))
    files = list(get_component("reader", "parallel").read(str(tmp_path / "out" / "train.de.jsonl"), lang="de"))
    assert len(hub) == 2
    for h, f in zip(hub, files):
        assert (h.text_a, h.text_b, h.label, h.lang) == (f.text_a, f.text_b, f.label, f.lang)
        assert h.meta["parallel"]["source"] == f.meta["parallel"]["source"]
    configs["de"].reverse()  # labels now differ row by row
    _hub_folder(tmp_path / "xnli2", configs, features)
    reader = get_component("reader", "hf-parallel", config="de")
    try:
        list(reader.read(str(tmp_path / "xnli2"), lang="de"))
    except Exception as e:
        assert "row 0" in str(e) and "'contradiction' in de but 'entailment' in en" in str(e) and "not aligned" in str(e)
    else:
        raise AssertionError("rows out of step were read")


def test_hub_translate_train_joined_by_id_leaves_out_rows_without_a_source(tmp_path, caplog):
    """PAWS-X's layout: configurations with an id column; a translated row whose id has no English row
    is left out and counted."""
    import datasets

    features = datasets.Features({"id": datasets.Value("int32"), "sentence1": datasets.Value("string"),
                                  "sentence2": datasets.Value("string"), "label": datasets.ClassLabel(names=["0", "1"])})
    _hub_folder(tmp_path / "pawsx", {
        "en": [{"id": 1, "sentence1": "A cat .", "sentence2": "The cat .", "label": 1},
               {"id": 2, "sentence1": "A dog .", "sentence2": "A bird .", "label": 0}],
        "de": [{"id": 2, "sentence1": "Ein Hund .", "sentence2": "Ein Vogel .", "label": 0},
               {"id": 7, "sentence1": "Neu .", "sentence2": "Alt .", "label": 0},
               {"id": 1, "sentence1": "Eine Katze .", "sentence2": "Die Katze .", "label": 1}]}, features)
    reader = get_component("reader", "hf-parallel", config="de", join="id")
    with caplog.at_level("WARNING", logger="augkit.data"):
        got = list(reader.read(str(tmp_path / "pawsx"), lang="de"))
    assert [(e.id, e.text_a, e.label, e.meta["parallel"]["source"]["text_a"]) for e in got] == [
        ("2", "Ein Hund .", "0", "A dog ."), ("1", "Eine Katze .", "1", "A cat .")]
    assert "1 of 3 de rows have no en row with the same id" in caplog.text


def test_the_hub_entries_the_recipes_document_validate(tmp_path):
    """The `hf-parallel` entry shown in the XNLI and PAWS-X recipe headers, put in place of the prepared
    German training file, makes a valid recipe whose German training data comes from the hub."""
    import re

    from conftest import ROOT

    from augkit.recipe import data_sources, load_recipe

    for task in ("xnli", "pawsx"):
        text = (ROOT / "recipes" / f"xmixup_{task}.toml").read_text()
        shown = re.search(r"#   \[data\.de_train\]\n((?:#   .*\n)+)", text).group(1)
        entry = "".join(line[4:].split("  #")[0].rstrip() + "\n" for line in shown.splitlines(keepends=True))
        text = re.sub(r"^\[data\.de_train\]\n(?:(?!\[).*\n)+", "[data.de_train]\n" + entry + "\n", text, count=1,
                      flags=re.M)
        (tmp_path / f"{task}.toml").write_text(text)
        missing, fetched = data_sources(load_recipe(tmp_path / f"{task}.toml"))
        assert [name for name, _ in fetched] == ["de_train"] and "de_train" not in dict(missing)
        assert "de_dev" in dict(missing)
