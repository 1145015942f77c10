"""``augkit xmixup-data TASK --from DIR --to DIR``: the parallel files the full X-Mixup recipes read, made
from the data the paper used, as the X-Mixup authors lay it out (their README: XTREME's data, plus their
translations from the link there).

XNLI (``--from`` holds):
  * ``XNLI-MT-1.0/multinli/multinli.train.{en,LANG}.tsv`` — XNLI's machine-translated MultiNLI training set
    (Conneau et al., 2018; on the Hugging Face hub as ``facebook/xnli``'s train splits): premise,
    hypothesis, label, one header line, the files aligned line by line;
  * ``translate-train-en/multinli.train.LANG-en.tsv`` (optional) — the authors' back-translations into
    English, aligned with the above;
  * ``XNLI-1.0/xnli.{dev,test}.tsv`` — XNLI's dev and test sets (language, gold label in columns 1–2,
    sentences in columns 7–8) and ``translate-dev/xnli.dev.tsv`` (the same layout, sentences in English) and
    ``translate-test/test.LANG.tsv`` (English premise, hypothesis, label; no header; the language's test
    lines in order) — XTREME's translate-test data.
PAWS-X:
  * ``LANG/train.tsv`` (id, sentence1, sentence2, label; header; LANG ≠ en: PAWS-X's machine-translated
    training set), aligned line by line with ``en/train.tsv``; ``translate-train-en/translated_train.LANG-en.tsv``
    (optional, back-translations, same layout);
  * ``LANG/dev_2k.tsv`` with ``translate-dev/dev_2k.LANG.tsv`` (same ids), ``LANG/test_2k.tsv`` with
    ``translate-test/test.LANG.tsv`` (English sentence1, sentence2, label; no header).

PAN-X and UD-POS (``--from DATA/panx`` or ``DATA/udpos``; one word per line, a tab, then a tag or other
columns, a blank line between sentences; a PAN-X ``LANG:`` prefix on a word is dropped):
  * ``en/train.tsv`` — XTREME's English training set (words and tags);
  * ``translate-train-logits/LANG.txt`` — the authors' translation of each English training sentence,
    aligned with it (the second column, their source model's logits, is not used: the recipes label the
    translations with their own source model in-run); ``translate-train-en-token/LANG.txt`` (optional) —
    its back-translation into English;
  * ``LANG/dev.tsv`` and ``LANG/test.tsv`` — XTREME's target-language dev and test sets (words and gold
    tags), with ``translate-dev-token/LANG.txt`` and ``translate-test-token/LANG.txt`` — their English
    translations, aligned sentence by sentence. A language without ``dev.tsv`` gets no dev file (said).
MLQA (``--from DATA/mlqa``, ``--squad DATA/squad``, by default the folder beside it; SQuAD v1.1 JSON):
  * ``squad/train-v1.1.json`` — the English training questions; ``squad/translate-train/
    squad.translate.train.en-LANG.json`` — XTREME's translated SQuAD, joined with the English by question
    id; ``squad/translate-train-en/squad.translate.train.en-LANG-en.json`` (optional) — the authors'
    back-translations, same ids;
  * ``mlqa/dev/dev-context-LANG-question-LANG.json`` and ``mlqa/test/test-context-LANG-question-LANG.json``
    — MLQA's dev and test sets; ``mlqa/translate-test/mlqa.translate.test.LANG-en.json`` — XTREME's
    English translation of the test set (same ids); for dev, ``mlqa/translate-dev/
    mlqa.translate.dev.LANG-en.json`` when present, else MLQA's own English version of each question
    (``dev-context-en-question-en.json``; MLQA is parallel, ids shared across languages).
  A translated training question whose answer is not where its offset says is located by a unique
  occurrence of the answer text in the context, else dropped; drops and questions without an English
  counterpart are counted and reported.

It writes, per language, ``train.LANG.jsonl`` (the English example with its label, tags or answers as the
source, the translation as the target, the back-translation when given), ``dev.LANG.jsonl`` and
``test.LANG.jsonl`` (the original example with its gold label, tags or answers as the target, its English
translation as the source) — the ``parallel`` format.
Every file is checked as it is read: a missing file, a short line or misaligned lines are errors naming
the file and line; nothing is written half (each output is written under a temporary name, then renamed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from augkit import DataError, atomic_write_text, read_lines

XNLI_LANGUAGES = ["ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
PAWSX_LANGUAGES = ["de", "es", "fr", "ja", "ko", "zh"]


def _rows(path: Path, *, header: bool, min_columns: int) -> list[list[str]]:
    """The tab-separated rows of ``path`` (without its header line), each with at least ``min_columns``."""
    if not path.is_file():
        raise DataError("file not found (see `augkit xmixup-data --help` for the layout)", path=str(path))
    rows = []
    for n, line in read_lines(str(path), "utf-8"):
        if header and n == 1:
            continue
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < min_columns:
            raise DataError(
                f"expected at least {min_columns} tab-separated columns, got {len(cols)}", path=str(path), line=n
            )
        rows.append(cols)
    return rows


def _nli_label(label: str) -> str:
    return "contradiction" if label == "contradictory" else label


def _pair(a: str, b: str) -> dict:
    return {"text_a": a, "text_b": b}


def _aligned(name: str, path: Path, rows: list, other: Path, other_rows: list, unit: str = "line") -> None:
    if len(rows) != len(other_rows):
        raise DataError(
            f"{len(rows)} {unit}s but {other} has {len(other_rows)}; the files must be aligned {unit} by {unit}",
            path=str(path),
        )


def _train_files(path: Path, en_path: Path, en: list, back_path: Path, columns: int) -> tuple[list, list | None]:
    """A language's training rows, aligned with the English ones, and its back-translations if given."""
    rows = _rows(path, header=True, min_columns=columns)
    _aligned("train", path, rows, en_path, en)
    back = _rows(back_path, header=True, min_columns=columns - 1) if back_path.is_file() else None
    if back is not None:
        _aligned("back", back_path, back, path, rows)
    return rows, back


def xnli(src: Path, languages: list[str], **_) -> Iterator[tuple[str, list[dict] | None, str | None]]:
    en_path = src / "XNLI-MT-1.0" / "multinli" / "multinli.train.en.tsv"
    en = _rows(en_path, header=True, min_columns=3)
    dev = _rows(src / "XNLI-1.0" / "xnli.dev.tsv", header=True, min_columns=8)
    dev_en_path = src / "translate-dev" / "xnli.dev.tsv"
    dev_en = _rows(dev_en_path, header=True, min_columns=8)
    _aligned("dev", src / "XNLI-1.0" / "xnli.dev.tsv", dev, dev_en_path, dev_en)
    test = _rows(src / "XNLI-1.0" / "xnli.test.tsv", header=True, min_columns=8)
    for lang in languages:
        path = src / "XNLI-MT-1.0" / "multinli" / f"multinli.train.{lang}.tsv"
        rows, back = _train_files(path, en_path, en, src / "translate-train-en" / f"multinli.train.{lang}-en.tsv", 3)
        train = []
        for i, (row, src_row) in enumerate(zip(rows, en)):
            label = _nli_label(row[2])
            if _nli_label(src_row[2]) != label:
                raise DataError(
                    f"label {row[2]!r} but the English line has {src_row[2]!r}: not aligned", path=str(path), line=i + 2
                )
            item = {
                "id": f"xnli-train-{i}",
                "label": label,
                "source": _pair(src_row[0], src_row[1]),
                "target": _pair(row[0], row[1]),
            }
            if back is not None:
                item["back"] = _pair(back[i][0], back[i][1])
            train.append(item)
        yield f"train.{lang}", train, None
        yield (
            f"dev.{lang}",
            [
                {
                    "id": f"xnli-dev-{i}",
                    "label": row[1],
                    "target": _pair(row[6], row[7]),
                    "source": _pair(en_row[6], en_row[7]),
                }
                for i, (row, en_row) in enumerate(zip(dev, dev_en))
                if row[0] == lang
            ],
            None,
        )
        mine = [row for row in test if row[0] == lang]
        trans_path = src / "translate-test" / f"test.{lang}.tsv"
        trans = _rows(trans_path, header=False, min_columns=3)
        _aligned("test", trans_path, trans, src / "XNLI-1.0" / "xnli.test.tsv", mine)
        yield (
            f"test.{lang}",
            [
                {"id": f"xnli-test-{i}", "label": row[1], "target": _pair(row[6], row[7]), "source": _pair(t[0], t[1])}
                for i, (row, t) in enumerate(zip(mine, trans))
            ],
            None,
        )


def pawsx(src: Path, languages: list[str], **_) -> Iterator[tuple[str, list[dict] | None, str | None]]:
    en_path = src / "en" / "train.tsv"
    en = _rows(en_path, header=True, min_columns=4)
    for lang in languages:
        path = src / lang / "train.tsv"
        rows, back = _train_files(path, en_path, en, src / "translate-train-en" / f"translated_train.{lang}-en.tsv", 4)
        train = []
        for i, (row, src_row) in enumerate(zip(rows, en)):
            item = {
                "id": f"pawsx-train-{row[0]}",
                "label": row[3],
                "source": _pair(src_row[1], src_row[2]),
                "target": _pair(row[1], row[2]),
            }
            if back is not None:
                item["back"] = _pair(back[i][1], back[i][2])
            train.append(item)
        yield f"train.{lang}", train, None
        dev_path, dev_en_path = src / lang / "dev_2k.tsv", src / "translate-dev" / f"dev_2k.{lang}.tsv"
        dev, dev_en = _rows(dev_path, header=True, min_columns=4), _rows(dev_en_path, header=True, min_columns=4)
        _aligned("dev", dev_path, dev, dev_en_path, dev_en)
        for n, (row, en_row) in enumerate(zip(dev, dev_en), start=2):
            if row[0] != en_row[0]:
                raise DataError(
                    f"id {row[0]!r} but {dev_en_path} has {en_row[0]!r} on this line", path=str(dev_path), line=n
                )
        yield (
            f"dev.{lang}",
            [
                {
                    "id": f"pawsx-dev-{row[0]}",
                    "label": en_row[3],
                    "target": _pair(row[1], row[2]),
                    "source": _pair(en_row[1], en_row[2]),
                }
                for row, en_row in zip(dev, dev_en)
            ],
            None,
        )
        test_path, trans_path = src / lang / "test_2k.tsv", src / "translate-test" / f"test.{lang}.tsv"
        test, trans = _rows(test_path, header=True, min_columns=4), _rows(trans_path, header=False, min_columns=3)
        _aligned("test", trans_path, trans, test_path, test)
        yield (
            f"test.{lang}",
            [
                {
                    "id": f"pawsx-test-{row[0]}",
                    "label": row[3],
                    "target": _pair(row[1], row[2]),
                    "source": _pair(t[0], t[1]),
                }
                for row, t in zip(test, trans)
            ],
            None,
        )


PANX_LANGUAGES = [
    "af",
    "ar",
    "bg",
    "de",
    "el",
    "es",
    "et",
    "eu",
    "fa",
    "fi",
    "fr",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "jv",
    "ka",
    "kk",
    "ko",
    "ml",
    "mr",
    "ms",
    "my",
    "nl",
    "pt",
    "ru",
    "sw",
    "ta",
    "te",
    "th",
    "tl",
    "tr",
    "ur",
    "vi",
    "yo",
    "zh",
]
UDPOS_LANGUAGES = [
    "af",
    "ar",
    "bg",
    "de",
    "el",
    "es",
    "et",
    "eu",
    "fa",
    "fi",
    "fr",
    "he",
    "hi",
    "hu",
    "id",
    "it",
    "ja",
    "kk",
    "ko",
    "mr",
    "nl",
    "pt",
    "ru",
    "ta",
    "te",
    "th",
    "tl",
    "tr",
    "ur",
    "vi",
    "yo",
    "zh",
]
MLQA_LANGUAGES = ["ar", "de", "es", "hi", "vi", "zh"]

Sentence = tuple[list[str], list[str]]


def _sentences(path: Path, *, tagged: bool, lang: str | None = None) -> list[Sentence]:
    """The blank-line-separated sentences of a word-per-line file: (words, tags). A blank line ends a
    sentence, so two in a row make an empty one (kept: the files are aligned by position); blank lines at
    the end are not sentences. With ``tagged`` every line needs a tag in its second column; a PAN-X
    ``lang:`` prefix on a word is dropped."""
    if not path.is_file():
        raise DataError("file not found (see `augkit xmixup-data --help` for the layout)", path=str(path))
    out: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    prefix = f"{lang}:" if lang else None
    for n, line in read_lines(str(path), "utf-8"):
        line = line.rstrip("\r\n")
        if not line.strip():
            out.append((words, tags))
            words, tags = [], []
            continue
        cols = line.split("\t")
        word = cols[0].strip()
        if prefix and word.startswith(prefix) and len(word) > len(prefix):
            word = word[len(prefix) :]
        if tagged:
            if len(cols) < 2 or not cols[1].strip() or not word:
                raise DataError("expected a word, a tab and its tag", path=str(path), line=n)
            tags.append(cols[1].strip())
        if word:
            words.append(word)
    out.append((words, tags))
    while out and not out[-1][0]:
        out.pop()
    return out


def _dropped(n: int, why: str) -> str | None:
    return f"{n} dropped ({why})" if n else None


def _tagging(task: str):
    def make(src: Path, languages: list[str], **_) -> Iterator[tuple[str, list[dict] | None, str | None]]:
        en_path = src / "en" / "train.tsv"
        en = _sentences(en_path, tagged=True, lang="en")
        for lang in languages:
            path = src / "translate-train-logits" / f"{lang}.txt"
            trans = _sentences(path, tagged=False)
            _aligned("train", path, trans, en_path, en, "sentence")
            back_path = src / "translate-train-en-token" / f"{lang}.txt"
            back = _sentences(back_path, tagged=False) if back_path.is_file() else None
            if back is not None:
                _aligned("back", back_path, back, path, trans, "sentence")
            train: list[dict] = []
            empty = 0
            for i, ((words, tags), (target, _no_tags)) in enumerate(zip(en, trans)):
                if not words or not target:
                    empty += 1
                    continue
                item = {
                    "id": f"{task}-train-{i}",
                    "source": {"tokens": words, "tags": tags},
                    "target": {"tokens": target},
                }
                if back is not None and back[i][0]:
                    item["back"] = {"tokens": back[i][0]}
                train.append(item)
            yield f"train.{lang}", train, _dropped(empty, "an empty sentence on one side")
            for split in ("dev", "test"):
                gold_path = src / lang / f"{split}.tsv"
                if split == "dev" and not gold_path.is_file():
                    yield (
                        f"dev.{lang}",
                        None,
                        (f"no {gold_path}: no dev file for {lang}; leave {lang}_dev out of the recipe's dev inputs"),
                    )
                    continue
                gold = _sentences(gold_path, tagged=True, lang=lang)
                en_side_path = src / f"translate-{split}-token" / f"{lang}.txt"
                en_side = _sentences(en_side_path, tagged=False)
                _aligned(split, en_side_path, en_side, gold_path, gold, "sentence")
                items: list[dict] = []
                empty = 0
                for i, ((words, tags), (english, _no_tags)) in enumerate(zip(gold, en_side)):
                    if not words or not english:
                        empty += 1
                        continue
                    items.append(
                        {
                            "id": f"{task}-{split}-{lang}-{i}",
                            "target": {"tokens": words, "tags": tags},
                            "source": {"tokens": english},
                        }
                    )
                yield f"{split}.{lang}", items, _dropped(empty, "an empty sentence on one side")

    return make


def _squad(path: Path) -> dict[str, dict]:
    """Question id -> {question, context, answers: [{text, start}]} of a SQuAD v1.1 JSON file."""
    if not path.is_file():
        raise DataError("file not found (see `augkit xmixup-data --help` for the layout)", path=str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))["data"]
        out = {}
        for article in data:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    out[str(qa["id"])] = {
                        "question": qa["question"],
                        "context": paragraph["context"],
                        "answers": [
                            {"text": a["text"], "start": int(a["answer_start"])} for a in qa.get("answers", [])
                        ],
                    }
    except json.JSONDecodeError as e:
        raise DataError(f"invalid JSON at column {e.colno}: {e.msg}", path=str(path), line=e.lineno) from None
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(
            f"not SQuAD v1.1 JSON (data → paragraphs → qas with id, question, answers): {type(e).__name__} {e}",
            path=str(path),
        ) from None
    if not out:
        raise DataError("holds no questions", path=str(path))
    return out


def _located(example: dict) -> dict | None:
    """``example`` with each answer at its offset in the context (a wrong offset is replaced by the answer
    text's only occurrence); None when an answer cannot be placed or there is none."""
    context, answers = example["context"], []
    for a in example["answers"]:
        text, start = a["text"], a["start"]
        if not text.strip():
            return None
        if start < 0 or context[start : start + len(text)] != text:
            start = context.find(text)
            if start < 0 or context.find(text, start + 1) >= 0:  # absent, or where is ambiguous
                return None
        answers.append({"text": a["text"], "start": start})
    if not answers or not example["question"].strip() or not context.strip():
        return None
    return {**example, "answers": answers}


def _question(example: dict) -> dict:
    return {"question": example["question"], "context": example["context"]}


def mlqa(
    src: Path, languages: list[str], *, squad: Path | None = None
) -> Iterator[tuple[str, list[dict] | None, str | None]]:
    squad = squad or src.parent / "squad"
    english = _squad(squad / "train-v1.1.json")
    for lang in languages:
        target = _squad(squad / "translate-train" / f"squad.translate.train.en-{lang}.json")
        back_path = squad / "translate-train-en" / f"squad.translate.train.en-{lang}-en.json"
        back = _squad(back_path) if back_path.is_file() else {}
        train, unplaced, unmatched = [], 0, 0
        for qid, ex in target.items():
            source = _located(english[qid]) if qid in english else None
            if source is None:
                unmatched += 1
                continue
            placed = _located(ex)
            if placed is None:
                unplaced += 1
                continue
            item = {"id": qid, "source": source, "target": placed}
            if qid in back and back[qid]["question"].strip() and back[qid]["context"].strip():
                item["back"] = _question(back[qid])
            train.append(item)
        notes = [
            n
            for n in (
                _dropped(unplaced, "the answer is not in the translated context"),
                _dropped(unmatched, "no English question with the same id"),
            )
            if n
        ]
        yield f"train.{lang}", train, "; ".join(notes) or None
        for split in ("dev", "test"):
            gold_path = src / split / f"{split}-context-{lang}-question-{lang}.json"
            gold = _squad(gold_path)
            trans_path = src / f"translate-{split}" / f"mlqa.translate.{split}.{lang}-en.json"
            if trans_path.is_file():
                en_side, source_name = _squad(trans_path), trans_path
            elif split == "dev":
                source_name = src / "dev" / "dev-context-en-question-en.json"
                en_side = _squad(source_name)
            else:
                raise DataError("file not found (XTREME's translate-test for MLQA)", path=str(trans_path))
            items, missing = [], 0
            for qid, ex in gold.items():
                if qid not in en_side:
                    missing += 1
                    continue
                items.append({"id": qid, "target": ex, "source": _question(en_side[qid])})
            if not items:
                raise DataError(f"no question id of {gold_path} is in this file", path=str(source_name))
            yield f"{split}.{lang}", items, _dropped(missing, f"no question with the same id in {source_name.name}")


TASKS = {
    "xnli": (xnli, XNLI_LANGUAGES),
    "pawsx": (pawsx, PAWSX_LANGUAGES),
    "panx": (_tagging("panx"), PANX_LANGUAGES),
    "udpos": (_tagging("udpos"), UDPOS_LANGUAGES),
    "mlqa": (mlqa, MLQA_LANGUAGES),
}


def prepare(
    task: str, src: str | Path, out: str | Path, languages: list[str] | None = None, *, squad: str | Path | None = None
) -> dict[str, tuple[int, str | None]]:
    """Write ``task``'s parallel files from ``src`` into ``out``; returns, per file written (or skipped),
    its number of examples and a note (what was dropped, or why it was not written)."""
    make, default = TASKS[task]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    extra = {"squad": Path(squad)} if squad is not None else {}
    counts: dict[str, tuple[int, str | None]] = {}
    for name, items, note in make(Path(src), languages or default, **extra):
        if items is not None:
            if not items:
                raise DataError(
                    f"no examples left for {name}.jsonl ({note or 'the source files are empty'})", path=str(src)
                )
            atomic_write_text(out / f"{name}.jsonl", "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items))
        counts[f"{name}.jsonl"] = (len(items or []), note)
    return counts


def register_command(subparsers) -> None:
    p = subparsers.add_parser(
        "xmixup-data",
        help="the parallel files of the full X-Mixup recipes, from XTREME's data and the X-Mixup authors' translations",
        description="Writes train/dev/test parallel JSON Lines per language (with back-translations "
        "when the folder has them) from the folder the X-Mixup authors' README "
        "lays out; the layout is documented in augkit_xmixup/prepare.py and "
        "docs/data.md.",
    )
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--from", dest="src", required=True, help="the folder laid out as the X-Mixup authors' data/TASK")
    p.add_argument(
        "--to", dest="out", required=True, help="where the recipe reads them (e.g. recipes/data/xmixup/xnli)"
    )
    p.add_argument("--languages", help="comma-separated target languages (default: the paper's)")
    p.add_argument(
        "--squad",
        help="mlqa: the folder with train-v1.1.json, translate-train/ and translate-train-en/ "
        "(default: squad beside --from)",
    )
    p.set_defaults(func=_cmd)


def _cmd(args) -> int:
    languages = [x.strip() for x in args.languages.split(",") if x.strip()] if args.languages else None
    counts = prepare(args.task, args.src, args.out, languages, squad=args.squad)
    for name, (n, note) in counts.items():
        if n or note is None:
            print(f"{Path(args.out) / name}: {n} examples" + (f" ({note})" if note else ""))
        else:
            print(f"{Path(args.out) / name}: not written: {note}")
    return 0
