"""Readers and writers: what they read, how they fail, and that writers round-trip readers."""
import json

import pytest

import augkit
from augkit import Corpus, DataError, Example


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_conll_reads_sentences_skips_docstart_and_keeps_language(tmp_path):
    p = write(tmp_path, "a.conll", "-DOCSTART- -X- O O\n\nEU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\nBlackburn NNP I-PER\n")
    corpus = augkit.read(p, "conll", lang="en")
    exs = list(corpus)
    assert [e.tokens for e in exs] == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert [e.tags for e in exs] == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert {e.lang for e in exs} == {"en"} and exs[0].id != exs[1].id


def test_conll_iob1_to_iob2_on_request(tmp_path):
    p = write(tmp_path, "a.conll", "Peter I-PER\nBlackburn I-PER\nand O\nEU I-ORG\nUK I-LOC\nEU B-ORG\nX I-ORG\n")
    assert list(augkit.read(p, "conll"))[0].tags == ["I-PER", "I-PER", "O", "I-ORG", "I-LOC", "B-ORG", "I-ORG"]
    converted = list(augkit.read(p, "conll", iob1_to_iob2=True))[0].tags
    assert converted == ["B-PER", "I-PER", "O", "B-ORG", "B-LOC", "B-ORG", "I-ORG"]


def test_conll_single_column_is_unlabelled_and_drop_labels_drops(tmp_path):
    p = write(tmp_path, "a.conll", "Hallo\nWelt\n\nNoch\neins\n")
    assert [e.tags for e in augkit.read(p, "conll")] == [[], []]
    q = write(tmp_path, "b.conll", "Hallo O\nWelt O\n")
    assert list(augkit.read(q, "conll", drop_labels=True))[0].tags == []


def test_conll_encoding_option(tmp_path):
    p = write(tmp_path, "a.conll", "Müller B-PER\nsagt O\n", encoding="latin-1")
    assert list(augkit.read(p, "conll", encoding="latin-1"))[0].tokens == ["Müller", "sagt"]


@pytest.mark.parametrize("text,line,needle", [
    ("a O\nb O\nc\n", 3, "tag is missing"),
    ("a O\nb X O\n", 2, "expected 2 columns"),
    ("EU NNP B-NP B-PER\nrejects VBZ B-VP O\n\nPeter B-PER\n", 4,
     "expected 4 columns (as on line 1), found 2 in 'Peter B-PER': the column layout changes here"),
    ("a O\nb B-FOO\n", 2, "not in the label set"),
])
def test_conll_malformed_lines_name_file_and_line(tmp_path, text, line, needle):
    p = write(tmp_path, "bad.conll", text)
    with pytest.raises(DataError) as e:
        list(augkit.read(p, "conll", labels=["O", "B-PER", "I-PER"]))
    assert f"bad.conll:{line}:" in str(e.value) and needle in str(e.value)


def test_conll_wrong_encoding_names_line_and_suggests_option(tmp_path):
    p = write(tmp_path, "latin.conll", "Hallo O\nMüller B-PER\n", encoding="latin-1")
    with pytest.raises(DataError) as e:
        list(augkit.read(p, "conll"))
    assert "latin.conll:2:" in str(e.value) and "encoding" in str(e.value)


def test_empty_and_missing_files_are_clear_errors(tmp_path):
    p = write(tmp_path, "empty.conll", "\n\n")
    with pytest.raises(DataError, match="empty.conll: file holds no examples"):
        list(augkit.read(p, "conll"))
    with pytest.raises(DataError, match="nope.conll: file not found"):
        list(augkit.read(tmp_path / "nope.conll", "conll"))


def test_conllu_reads_upos_and_skips_ranges_and_comments(tmp_path):
    text = ("# sent_id = s1\n# text = Vámonos al mar\n1-2\tVámonos\t_\t_\t_\t_\t_\t_\t_\t_\n"
            "1\tVamos\tir\tVERB\t_\t_\t0\troot\t_\t_\n2\tnos\tnosotros\tPRON\t_\t_\t1\tobj\t_\t_\n"
            "3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_\n3\ta\ta\tADP\t_\t_\t5\tcase\t_\t_\n4\tel\tel\tDET\t_\t_\t5\tdet\t_\t_\n"
            "5\tmar\tmar\tNOUN\t_\t_\t1\tobl\t_\t_\n5.1\tx\tx\tX\t_\t_\t_\t_\t_\t_\n\n")
    ex = list(augkit.read(write(tmp_path, "a.conllu", text), "conllu", lang="es"))[0]
    assert ex.tokens == ["Vamos", "nos", "a", "el", "mar"]
    assert ex.tags == ["VERB", "PRON", "ADP", "DET", "NOUN"]
    bad = write(tmp_path, "b.conllu", "1\tVamos\tir\tVERB\n")
    with pytest.raises(DataError, match="b.conllu:1: expected 10"):
        list(augkit.read(bad, "conllu"))


def test_tsv_pairs_with_and_without_header(tmp_path, data_dir):
    corpus = augkit.read(data_dir / "nli.en.train.tsv", "tsv", lang="en")
    ex = corpus[0]
    assert ex.type == "pair" and ex.text_a.startswith("A man") and ex.label == "entailment"
    paws = write(tmp_path, "paws.tsv", "id\tsentence1\tsentence2\tlabel\n7\tA b .\tB a .\t1\n")
    ex = list(augkit.read(paws, "tsv"))[0]
    assert (ex.id, ex.text_a, ex.text_b, ex.label) == ("7", "A b .", "B a .", "1")
    plain = write(tmp_path, "x.tsv", "p1\th1\tneutral\np2\th2\tentailment\n")
    assert [e.label for e in augkit.read(plain, "tsv")] == ["neutral", "entailment"]
    ragged = write(tmp_path, "r.tsv", "p1\th1\tneutral\np2\th2\n")
    with pytest.raises(DataError, match="r.tsv:2: expected 3"):
        list(augkit.read(ragged, "tsv"))


def test_jsonl_reads_all_types_and_rejects_unknown_fields(tmp_path):
    rows = [{"tokens": ["a", "b"], "tags": ["O", "B-X"]}, {"text_a": "p", "text_b": "h", "label": "c"},
            {"question": "q?", "context": "ctx", "answers": [{"text": "ctx", "start": 0}]}]
    p = write(tmp_path, "a.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    assert [e.type for e in augkit.read(p, "jsonl")] == ["tagging", "pair", "qa"]
    bad = write(tmp_path, "b.jsonl", '{"tokens": ["a"], "tgas": ["O"]}\n')
    with pytest.raises(DataError, match='b.jsonl:1: unknown field .tgas. \\(did you mean "tags"\\?\\)'):
        list(augkit.read(bad, "jsonl"))
    broken = write(tmp_path, "c.jsonl", '{"tokens": ["a"]}\n{"tokens": \n')
    with pytest.raises(DataError, match="c.jsonl:2: invalid JSON"):
        list(augkit.read(broken, "jsonl"))


def test_squad_reads_questions(tmp_path):
    doc = {"data": [{"title": "T", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "q1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}]}]}]}]}
    p = write(tmp_path, "a.json", json.dumps(doc))
    ex = list(augkit.read(p, "squad", lang="en"))[0]
    assert ex.type == "qa" and ex.answers == [{"text": "France", "start": 12}] and ex.id == "q1"
    with pytest.raises(DataError, match='a2.json: expected a SQuAD object with a "data" list'):
        list(augkit.read(write(tmp_path, "a2.json", "[]"), "squad"))


SAMPLES = {
    "conll": [Example("a", tokens=["Peter", "lives", "in", "Köln"], tags=["B-PER", "O", "O", "B-LOC"]),
              Example("b", tokens=["Hi"], tags=["O"])],
    "conllu": [Example("s1", tokens=["Vamos", "al", "mar"], tags=["VERB", "ADP", "NOUN"])],
    "jsonl": [Example("a", tokens=["x"], tags=["O"], source_id="z", component="g", replaced=[0], orig_tags=["O"],
                      meta={"k": 1}),
              Example("b", type="pair", text_a="p", text_b="h", label="neutral", lang="de"),
              Example("c", type="qa", question="q?", context="c t", answers=[{"text": "t", "start": 2}])],
    "tsv": [Example("1", type="pair", text_a="Ein Mann .", text_b="Ein Mensch .", label="entailment")],
    "squad": [Example("q1", type="qa", question="Wo?", context="In Köln.", answers=[{"text": "Köln", "start": 3}],
                      meta={"title": "T"}),
              Example("q2", type="qa", question="Was?", context="In Köln.", answers=[], meta={"title": "T"})],
}
SUFFIX = {"conll": ".conll", "conllu": ".conllu", "jsonl": ".jsonl", "tsv": ".tsv", "squad": ".json"}
FIELDS = {"conll": ("tokens", "tags"), "conllu": ("tokens", "tags"), "tsv": ("id", "text_a", "text_b", "label"),
          "squad": ("id", "question", "context", "answers"), "jsonl": None}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_writers_round_trip_readers(tmp_path, fmt):
    path = tmp_path / f"out{SUFFIX[fmt]}"
    assert augkit.write(SAMPLES[fmt], path, fmt) == len(SAMPLES[fmt])
    back = list(augkit.read(path, fmt, lang=SAMPLES[fmt][0].lang))
    fields = FIELDS[fmt]
    if fields is None:
        assert back == SAMPLES[fmt]
    else:
        assert [[getattr(e, f) for f in fields] for e in back] == [[getattr(e, f) for f in fields] for e in SAMPLES[fmt]]


def test_format_is_detected_from_the_suffix(data_dir, tmp_path):
    assert augkit.read(data_dir / "ner.en.dev.conll").types == ["tagging"]
    with pytest.raises(DataError, match="cannot tell the format"):
        augkit.read(tmp_path / "x.weird")


def test_hf_reader_offline_says_how_to_use_local_files():
    with pytest.raises(DataError) as e:
        list(augkit.read("augkit-no-such/dataset", "hf", config="de"))
    assert "format = \"conll\"" in str(e.value) and "augkit-no-such/dataset" in str(e.value)


def test_corpus_is_arrow_backed_and_round_trips_on_disk(tmp_path, data_dir):
    corpus = augkit.read(data_dir / "ner.en.train.conll", lang="en")
    assert len(corpus) == 28 and corpus.labels == sorted(corpus.labels) and "B-PER" in corpus.labels
    corpus.save(tmp_path / "c")
    again = augkit.Corpus.load(tmp_path / "c")
    assert list(again) == list(corpus) and again.labels == corpus.labels
    assert len(again.dataset.shard(num_shards=4, index=1)) == 7  # a real datasets.Dataset underneath


def test_a_corpus_written_before_keep_orig_tags_loads_with_the_flag_from_its_meta(tmp_path, capfd):
    """Corpus files from before ``Example.keep_orig_tags`` recorded GEN-LM's ``relabel = "masked"`` in
    ``meta``; a resumed run reads them with the flag set from there, quietly (no progress bar)."""
    import pyarrow as pa
    from datasets import Dataset, Features

    from augkit.data import features

    Corpus.from_examples([Example("a", tokens=["x"], orig_tags=["O"], replaced=[0], meta={"relabel": "masked"}),
                          Example("b", tokens=["y"], orig_tags=["O"], replaced=[0], meta={"relabel": "all"})]
                         ).save(tmp_path / "c")
    file = tmp_path / "c" / "data-00000.arrow"
    old = Features({k: v for k, v in features().items() if k != "keep_orig_tags"})
    table = Dataset.from_list(Dataset.from_file(str(file)).remove_columns("keep_orig_tags").to_list(),
                              features=old).data.table
    with pa.OSFile(str(file), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)
    capfd.readouterr()
    loaded = Corpus.load(tmp_path / "c")
    assert [ex.keep_orig_tags for ex in loaded] == [True, False]
    assert "Casting" not in capfd.readouterr().err
    assert loaded.table().schema.equals(features().arrow_schema)
