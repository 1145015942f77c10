from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from augkit import DataError, Encoding, Example, Params, Reader, Writer, atomic_write_json, param, read_text


@dataclasses.dataclass
class SquadParams(Params):
    encoding: Encoding = param(Encoding("utf-8"), help="file encoding")
    drop_labels: bool = param(False, help="drop answers on read")


class SquadReader(Reader):
    """SQuAD v1/v2 JSON (also MLQA, XQuAD): data → paragraphs → context, qas → id, question, answers."""

    name = "squad"
    Params = SquadParams
    params: SquadParams
    example_types = ("qa",)
    suffixes = (".json",)

    def read(self, source: str, *, lang: str = "und", name: str | None = None) -> Iterator[Example]:
        path = Path(source)
        text = read_text(source, self.params.encoding)  # one JSON document: its lines may be long
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"invalid JSON at column {e.colno}: {e.msg}", path=source, line=e.lineno) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise DataError('expected a SQuAD object with a "data" list', path=source)
        count = 0
        for a, article in enumerate(doc["data"]):
            for p, para in enumerate(article.get("paragraphs", [])):
                if "context" not in para or "qas" not in para:
                    raise DataError(f'data[{a}].paragraphs[{p}]: expected "context" and "qas"', path=source)
                for q, qa in enumerate(para["qas"]):
                    if "question" not in qa:
                        raise DataError(f'data[{a}].paragraphs[{p}].qas[{q}]: missing "question"', path=source)
                    answers = (
                        []
                        if self.params.drop_labels
                        else [
                            {"text": ans["text"], "start": int(ans.get("answer_start", -1))}
                            for ans in qa.get("answers", [])
                        ]
                    )
                    meta = {"title": article.get("title", "")}
                    if qa.get("is_impossible"):
                        meta["is_impossible"] = True
                    yield Example(
                        id=str(qa.get("id", f"{name or path.stem}-{count}")),
                        type="qa",
                        lang=lang,
                        question=qa["question"],
                        context=para["context"],
                        answers=answers,
                        meta=meta,
                    )
                    count += 1
        if count == 0:
            raise DataError("file holds no questions", path=source)


class SquadWriter(Writer):
    """Writes SQuAD JSON, one paragraph per run of examples sharing a context."""

    name = "squad"
    example_types = ("qa",)
    suffixes = (".json",)

    def write(self, examples: Iterable[Example], path) -> int:
        data: list[dict] = []
        count = 0
        for ex in examples:
            title = ex.meta.get("title", "")
            if not data or data[-1]["title"] != title:
                data.append({"title": title, "paragraphs": []})
            paras = data[-1]["paragraphs"]
            if not paras or paras[-1]["context"] != ex.context:
                paras.append({"context": ex.context, "qas": []})
            qa: dict[str, Any] = {
                "id": ex.id,
                "question": ex.question,
                "answers": [{"text": a["text"], "answer_start": a["start"]} for a in ex.answers],
            }
            if ex.meta.get("is_impossible"):
                qa["is_impossible"] = True
            paras[-1]["qas"].append(qa)
            count += 1
        atomic_write_json(path, {"version": "augkit", "data": data})
        return count
