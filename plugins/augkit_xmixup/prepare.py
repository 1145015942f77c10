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

It writes, per language, ``train.LANG.jsonl`` (the English pair and label as the source, the translation
as the target, the back-translation when given), ``dev.LANG.jsonl`` and ``test.LANG.jsonl`` (the original
pair with its gold label as the target, its English translation as the source) — the ``parallel`` format.
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
            raise DataError(f"expected at least {min_columns} tab-separated columns, got {len(cols)}", path=str(path),
                            line=n)
        rows.append(cols)
    return rows


def _nli_label(label: str) -> str:
    return "contradiction" if label == "contradictory" else label


def _pair(a: str, b: str) -> dict:
    return {"text_a": a, "text_b": b}


def _aligned(name: str, path: Path, rows: list, other: Path, other_rows: list) -> None:
    if len(rows) != len(other_rows):
        raise DataError(f"{len(rows)} lines but {other} has {len(other_rows)}; the files must be aligned line by line",
                        path=str(path))


def _train_files(path: Path, en_path: Path, en: list, back_path: Path, columns: int) -> tuple[list, list | None]:
    """A language's training rows, aligned with the English ones, and its back-translations if given."""
    rows = _rows(path, header=True, min_columns=columns)
    _aligned("train", path, rows, en_path, en)
    back = _rows(back_path, header=True, min_columns=columns - 1) if back_path.is_file() else None
    if back is not None:
        _aligned("back", back_path, back, path, rows)
    return rows, back


def xnli(src: Path, languages: list[str]) -> Iterator[tuple[str, list[dict]]]:
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
                raise DataError(f"label {row[2]!r} but the English line has {src_row[2]!r}: not aligned", path=str(path),
                                line=i + 2)
            item = {"id": f"xnli-train-{i}", "label": label, "source": _pair(src_row[0], src_row[1]),
                    "target": _pair(row[0], row[1])}
            if back is not None:
                item["back"] = _pair(back[i][0], back[i][1])
            train.append(item)
        yield f"train.{lang}", train
        yield f"dev.{lang}", [{"id": f"xnli-dev-{i}", "label": row[1], "target": _pair(row[6], row[7]),
                               "source": _pair(en_row[6], en_row[7])}
                              for i, (row, en_row) in enumerate(zip(dev, dev_en)) if row[0] == lang]
        mine = [row for row in test if row[0] == lang]
        trans_path = src / "translate-test" / f"test.{lang}.tsv"
        trans = _rows(trans_path, header=False, min_columns=3)
        _aligned("test", trans_path, trans, src / "XNLI-1.0" / "xnli.test.tsv", mine)
        yield f"test.{lang}", [{"id": f"xnli-test-{i}", "label": row[1], "target": _pair(row[6], row[7]),
                                "source": _pair(t[0], t[1])} for i, (row, t) in enumerate(zip(mine, trans))]


def pawsx(src: Path, languages: list[str]) -> Iterator[tuple[str, list[dict]]]:
    en_path = src / "en" / "train.tsv"
    en = _rows(en_path, header=True, min_columns=4)
    for lang in languages:
        path = src / lang / "train.tsv"
        rows, back = _train_files(path, en_path, en, src / "translate-train-en" / f"translated_train.{lang}-en.tsv", 4)
        train = []
        for i, (row, src_row) in enumerate(zip(rows, en)):
            item = {"id": f"pawsx-train-{row[0]}", "label": row[3], "source": _pair(src_row[1], src_row[2]),
                    "target": _pair(row[1], row[2])}
            if back is not None:
                item["back"] = _pair(back[i][1], back[i][2])
            train.append(item)
        yield f"train.{lang}", train
        dev_path, dev_en_path = src / lang / "dev_2k.tsv", src / "translate-dev" / f"dev_2k.{lang}.tsv"
        dev, dev_en = _rows(dev_path, header=True, min_columns=4), _rows(dev_en_path, header=True, min_columns=4)
        _aligned("dev", dev_path, dev, dev_en_path, dev_en)
        for n, (row, en_row) in enumerate(zip(dev, dev_en), start=2):
            if row[0] != en_row[0]:
                raise DataError(f"id {row[0]!r} but {dev_en_path} has {en_row[0]!r} on this line", path=str(dev_path),
                                line=n)
        yield f"dev.{lang}", [{"id": f"pawsx-dev-{row[0]}", "label": en_row[3], "target": _pair(row[1], row[2]),
                               "source": _pair(en_row[1], en_row[2])} for row, en_row in zip(dev, dev_en)]
        test_path, trans_path = src / lang / "test_2k.tsv", src / "translate-test" / f"test.{lang}.tsv"
        test, trans = _rows(test_path, header=True, min_columns=4), _rows(trans_path, header=False, min_columns=3)
        _aligned("test", trans_path, trans, test_path, test)
        yield f"test.{lang}", [{"id": f"pawsx-test-{row[0]}", "label": row[3], "target": _pair(row[1], row[2]),
                                "source": _pair(t[0], t[1])} for row, t in zip(test, trans)]


TASKS = {"xnli": (xnli, XNLI_LANGUAGES), "pawsx": (pawsx, PAWSX_LANGUAGES)}


def prepare(task: str, src: str | Path, out: str | Path, languages: list[str] | None = None) -> dict[str, int]:
    """Write ``task``'s parallel files from ``src`` into ``out``; returns examples per file written."""
    make, default = TASKS[task]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, items in make(Path(src), languages or default):
        atomic_write_text(out / f"{name}.jsonl", "".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items))
        counts[f"{name}.jsonl"] = len(items)
    return counts


def register_command(subparsers) -> None:
    p = subparsers.add_parser("xmixup-data", help="the parallel files of the full X-Mixup recipes, from XTREME's "
                              "data and the X-Mixup authors' translations",
                              description="Writes train/dev/test parallel JSON Lines per language (with back-translations "
                                          "when the folder has them) from the folder the X-Mixup authors' README "
                                          "lays out; the layout is documented in augkit_xmixup/prepare.py and "
                                          "docs/data.md.")
    p.add_argument("task", choices=sorted(TASKS))
    p.add_argument("--from", dest="src", required=True, help="the folder laid out as the X-Mixup authors' data/TASK")
    p.add_argument("--to", dest="out", required=True, help="where the recipe reads them (e.g. recipes/data/xmixup/xnli)")
    p.add_argument("--languages", help="comma-separated target languages (default: the paper's)")
    p.set_defaults(func=_cmd)


def _cmd(args) -> int:
    languages = [x.strip() for x in args.languages.split(",") if x.strip()] if args.languages else None
    counts = prepare(args.task, args.src, args.out, languages)
    for name, n in counts.items():
        print(f"{Path(args.out) / name}: {n} examples")
    return 0
