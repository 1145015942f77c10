"""`augkit xmixup-data`: the full X-Mixup recipes' parallel files from XTREME-shaped folders (the layout the
X-Mixup authors describe), with back-translations when present; misaligned files are refused by name."""
from __future__ import annotations

import json

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
