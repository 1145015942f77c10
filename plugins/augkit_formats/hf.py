from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterator, Literal

from augkit import DataError, Example, Params, Reader, dataset_examples, param


@dataclasses.dataclass
class HFParams(Params):
    config: str | None = param(None, help="dataset configuration (e.g. a language)")
    split: str = param("train", help="split to read")
    type: Literal["tagging", "pair", "qa"] | None = param(
        None,
        help="example type to build (default: from the columns: tokens → tagging, question + context → "
        "QA, a text column → pair)",
    )
    data_files: list[str] | None = param(
        None,
        help='local files for a generic builder (path = "json", "csv", "parquet" or "text"), e.g. ["data/train.jsonl"]',
    )
    tokens_field: str | None = param(None, help="the word-list column (default: tokens or words)")
    tags_field: str | None = param(None, help="the tag column (default: ner_tags, pos_tags, tags, upos or labels)")
    text_a_field: str | None = param(None, help="the (first) text column (default: premise, sentence1, sentence, text)")
    text_b_field: str | None = param(None, help="the second text column (default: hypothesis or sentence2)")
    label_field: str | None = param(None, help="the class column (default: label, labels or gold_label)")
    drop_labels: bool = param(False, help="drop tags/labels on read")
    trust_remote_code: bool = param(False, help="allow the dataset's own loading script to run")


_FIELD_PARAMS = {
    "tokens": "tokens_field",
    "tags": "tags_field",
    "text_a": "text_a_field",
    "text_b": "text_b_field",
    "label": "label_field",
}


class HFReader(Reader):
    """A Hugging Face dataset: a hub id (`path = "google/xtreme"`, `config = "PAN-X.de"`), a folder written by
    `save_to_disk` (read with `load_from_disk`; a DatasetDict gives `split`), or local files through a
    generic builder (`path = "json"`, `data_files = ["train.jsonl"]`). Tagging, pair and QA datasets;
    columns are found by name (or named with the `*_field` options), class-label integers become their
    names. Offline, a hub id needs a local cache; the error says how to use local files instead."""

    name = "hf"
    Params = HFParams
    params: HFParams
    reads_files = False  # `path` is a dataset id, a builder name or a folder

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        p = self.params
        ds = self._load(source)
        columns = {f: getattr(p, opt) for f, opt in _FIELD_PARAMS.items() if getattr(p, opt) is not None}
        yield from dataset_examples(
            ds, lang=lang, type=p.type, columns=columns, name=name or _stem(source), drop_labels=p.drop_labels
        )

    def _load(self, source: str):
        import datasets

        p = self.params
        folder = Path(source).expanduser()
        if folder.is_dir() and (
            (folder / "dataset_info.json").is_file()
            or (folder / "dataset_dict.json").is_file()
            or (folder / "state.json").is_file()
        ):
            try:
                ds = datasets.load_from_disk(str(folder))
            except Exception as e:
                raise DataError(
                    f"cannot load this saved dataset: {type(e).__name__}: {_first_line(e)}", path=source
                ) from None
            if isinstance(ds, datasets.DatasetDict):
                if p.split not in ds:
                    raise DataError(
                        f"split {p.split!r} is not in this saved dataset (its splits: {', '.join(ds)})", path=source
                    )
                ds = ds[p.split]
            return ds
        kwargs: dict[str, Any] = {"split": p.split}
        if p.data_files is not None:
            missing = [
                f for f in p.data_files if "://" not in f and not any(c in f for c in "*?[") and not Path(f).exists()
            ]
            if missing:
                raise DataError(f"data_files: file not found: {missing[0]}", path=source)
            kwargs["data_files"] = list(p.data_files)
        if p.trust_remote_code:
            kwargs["trust_remote_code"] = True
        try:
            return datasets.load_dataset(source, p.config, **kwargs)
        except Exception as e:  # offline, unknown id, missing config: all end here
            raise DataError(
                f"could not load Hugging Face dataset {source!r} (config {p.config!r}, split {p.split!r}): "
                f"{type(e).__name__}: {_first_line(e)}. Without hub access, use local data: a folder written by "
                'save_to_disk as path; path = "json" (or "csv", "parquet") with data_files = [...]; or another '
                'format: format = "conll" (NER/POS), "tsv" or "csv" (XNLI/PAWS-X), "squad" (QA) or "jsonl", '
                'with path = "/path/to/file".',
                path=source,
            ) from None


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else ""


def _stem(source: str) -> str:
    return Path(source).name or source
