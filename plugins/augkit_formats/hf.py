from __future__ import annotations

import dataclasses
from typing import Iterator, Literal

from augkit import DataError, Example, Params, Reader, param


@dataclasses.dataclass
class HFParams(Params):
    config: str | None = param(None, help="dataset configuration (e.g. a language)")
    split: str = param("train", help="split to read")
    type: Literal["tagging", "pair", "qa"] = param("tagging", help="example type to build")
    tokens_field: str = "tokens"
    tags_field: str = "ner_tags"
    text_a_field: str = "premise"
    text_b_field: str = "hypothesis"
    label_field: str = "label"
    drop_labels: bool = False
    trust_remote_code: bool = param(False, help="allow the dataset's own loading script to run")


class HFReader(Reader):
    """A Hugging Face dataset by id (`path = "xtreme"`, `config = "PAN-X.de"`); class-label integers
    become their names. Needs a reachable hub or a local cache; offline it says how to use local files."""

    name = "hf"
    Params = HFParams
    reads_files = False  # `path` is a dataset id, not a file

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        import datasets

        p = self.params
        try:
            ds = datasets.load_dataset(source, p.config, split=p.split, trust_remote_code=p.trust_remote_code) \
                if p.trust_remote_code else datasets.load_dataset(source, p.config, split=p.split)
        except Exception as e:  # offline, unknown id, missing config: all end here
            raise DataError(
                f"could not load Hugging Face dataset {source!r} (config {p.config!r}, split {p.split!r}): "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}. Without hub access, download the "
                "files elsewhere and use a local format instead, e.g. format = \"conll\" (NER/POS), \"tsv\" "
                "(XNLI/PAWS-X), \"squad\" (QA) or \"jsonl\", with path = \"/path/to/file\".", path=source) from None
        feats = ds.features

        def names(field):
            f = feats.get(field)
            inner = getattr(f, "feature", f)
            return getattr(inner, "names", None)

        for i, row in enumerate(ds):
            ex_id = str(row.get("id", f"{name or source}-{i}"))
            if p.type == "tagging":
                tags = row.get(p.tags_field, [])
                tag_names = names(p.tags_field)
                tags = [tag_names[t] if tag_names and isinstance(t, int) else str(t) for t in tags]
                yield Example(id=ex_id, type="tagging", lang=lang, tokens=list(row[p.tokens_field]),
                              tags=[] if p.drop_labels else tags)
            elif p.type == "pair":
                label = row.get(p.label_field)
                label_names = names(p.label_field)
                if label is not None and label_names and isinstance(label, int):
                    label = label_names[label] if label >= 0 else None
                yield Example(id=ex_id, type="pair", lang=lang, text_a=row[p.text_a_field], text_b=row.get(p.text_b_field),
                              label=None if p.drop_labels or label is None else str(label))
            else:
                ans = row.get("answers", {"text": [], "answer_start": []})
                answers = [{"text": t, "start": s} for t, s in zip(ans["text"], ans["answer_start"])]
                yield Example(id=ex_id, type="qa", lang=lang, question=row["question"], context=row["context"],
                              answers=[] if p.drop_labels else answers)
