"""``translate`` and ``backtranslate``: generators over Hugging Face sequence-to-sequence MT models.

Every example type: a pair's two texts; a tagged sentence's words (joined with spaces, the translation
split on spaces; its tags are left to a label stage or ``--label-with``, since words do not align
across languages); a QA example's question, context and answers — each answer is translated and must
be found in the translated context, else the example is dropped and counted. A translated example
records its source side in ``meta["parallel"]`` (X-Mixup's parallel data) and, for back-translations,
the pivot text in ``meta["pivot"]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from augkit import Example, Generator, ModelRef, Params, param

from .translator import Translator


@dataclasses.dataclass
class DecodingParams(Params):
    decoding: Literal["greedy", "beam", "sample"] = param("greedy", help="greedy, beam search or sampling")
    num_beams: int = param(4, help="beam width (decoding = beam)", ge=1, le=64)
    top_p: float = param(0.9, help="nucleus mass (decoding = sample)", gt=0, le=1)
    temperature: float = param(1.0, help="sampling temperature (decoding = sample)", gt=0)
    max_new_tokens: int = param(256, help="longest translation, in tokens", ge=1, le=4096)
    max_tokens_per_batch: int = param(
        4096, help="padded source tokens per batch (inputs are sorted by length and packed up to this)", ge=1
    )
    source_lang: str | None = param(None, help="the inputs' language (default: each example's lang)")
    trust_remote_code: bool = param(False, help="allow a hub model's own code to run")


@dataclasses.dataclass
class TranslateParams(DecodingParams):
    model: ModelRef = param(
        "augkit:tiny-marian",
        help="a translation model: MarianMT (Helsinki-NLP/opus-mt-SRC-TGT), "
        "M2M100 (facebook/m2m100_418M), NLLB (facebook/nllb-200-distilled-600M), mBART-50, or a "
        "folder",
    )
    target_lang: str = param("de", help="the language to translate into (ISO 639-1, e.g. de)")
    back_translate: bool = param(
        False,
        help="also translate each translation back into the source language and "
        "keep it as the example's back-translation (X-Mixup's scheduled sampling uses it)",
    )
    back_model: ModelRef | None = param(
        None, help="the model for the way back (default: model, for a many-to-many model)"
    )


@dataclasses.dataclass
class BacktranslateParams(DecodingParams):
    model: ModelRef = param("augkit:tiny-marian", help="the model into the pivot language")
    back_model: ModelRef | None = param(
        None, help="the model from the pivot back (default: model, for a many-to-many model)"
    )
    pivot_lang: str = param("de", help="the language to translate through (ISO 639-1)")


def _texts(ex: Example) -> list[str]:
    if ex.type == "pair":
        return [ex.text_a or ""] + ([ex.text_b] if ex.text_b is not None else [])
    if ex.type == "tagging":
        return [" ".join(ex.tokens)]
    return [ex.question or "", ex.context or ""] + [a["text"] for a in ex.answers]


def _side(ex: Example) -> dict:
    if ex.type == "pair":
        return {
            "text_a": ex.text_a,
            **({"text_b": ex.text_b} if ex.text_b is not None else {}),
            **({"label": ex.label} if ex.label is not None else {}),
        }
    if ex.type == "tagging":
        return {"tokens": list(ex.tokens), **({"tags": list(ex.tags)} if ex.tags else {})}
    return {"question": ex.question, "context": ex.context, **({"answers": ex.answers} if ex.answers else {})}


def _back_side(translated: Example, texts: list[str]) -> dict | None:
    """The back-translation of ``translated`` as a parallel side (a QA one has question and context only:
    the answers are the source's)."""
    side: dict[str, Any]
    if translated.type == "pair":
        side = {"text_a": texts[0], **({"text_b": texts[1]} if translated.text_b is not None else {})}
    elif translated.type == "tagging":
        side = {"tokens": texts[0].split()}
    else:
        side = {"question": texts[0], "context": texts[1]}
    return side if all(side.values()) else None


class _SeqToSeqGenerator(Generator):
    params: DecodingParams
    example_types = ("pair", "tagging", "qa")
    labels_outputs = False  # translated words carry no tags (pairs keep their label)

    def _decoding(self) -> dict:
        p = self.params
        return dict(
            decoding=p.decoding,
            num_beams=p.num_beams,
            top_p=p.top_p,
            temperature=p.temperature,
            max_new_tokens=p.max_new_tokens,
            max_tokens_per_batch=p.max_tokens_per_batch,
        )

    def _run(self, translator: Translator, examples, source_of, target: str, seed: int, tag: str) -> list[list[str]]:
        """Each example's texts translated into ``target`` (one call per source language)."""
        out: list[list[str]] = [[] for _ in examples]
        by_lang: dict[str, list[int]] = {}
        for k, ex in enumerate(examples):
            by_lang.setdefault(source_of(ex), []).append(k)
        for lang, members in by_lang.items():
            texts, keys, owners = [], [], []
            for k in members:
                for j, text in enumerate(_texts(examples[k])):
                    texts.append(text)
                    keys.append(f"{examples[k].id}|{tag}|{j}")
                    owners.append(k)
            done = translator.translate(texts, lang, target, keys=keys, seed=seed, **self._decoding())
            for k, text in zip(owners, done):
                out[k].append(text)
        return out

    def _build(self, ex: Example, texts: list[str], lang: str, new_id: str, meta: dict) -> Example | None:
        common: dict[str, Any] = dict(id=new_id, lang=lang, source_id=ex.id, component=self.display_name(), meta=meta)
        if ex.type == "pair":
            if not texts[0] or (ex.text_b is not None and not texts[1]):
                self.count("empty_translation_dropped")
                return None
            return Example(
                type="pair",
                text_a=texts[0],
                text_b=texts[1] if ex.text_b is not None else None,
                label=ex.label,
                **common,
            )
        if ex.type == "tagging":
            tokens = texts[0].split()
            if not tokens:
                self.count("empty_translation_dropped")
                return None
            return Example(
                type="tagging",
                tokens=tokens,
                tags=[],
                replaced=list(range(len(tokens))),
                orig_tags=list(ex.tags),
                **{**common, "meta": {**meta, "changed": list(range(len(tokens)))}},
            )
        question, context, answers = texts[0], texts[1], []
        for text in texts[2:]:
            start = context.find(text) if text else -1
            if start < 0:
                self.count("qa_answer_not_in_translated_context_dropped")
                return None
            answers.append({"text": text, "start": start})
        if not question or not context:
            self.count("empty_translation_dropped")
            return None
        return Example(type="qa", question=question, context=context, answers=answers, **common)


class TranslateGenerator(_SeqToSeqGenerator):
    """Translates each example into ``target_lang`` with a Hugging Face MT model (MarianMT, M2M100, NLLB,
    mBART-50): translate-train data from source-language data, each output carrying its source side."""

    name = "translate"
    Params = TranslateParams
    params: TranslateParams

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        p = self.params
        self.translator = Translator(p.model, device=device, precision=precision, trust_remote_code=p.trust_remote_code)
        self.back = None
        if p.back_translate:
            self.back = (
                self.translator
                if p.back_model in (None, p.model)
                else Translator(p.back_model, device=device, precision=precision, trust_remote_code=p.trust_remote_code)
            )

    def augment_batch(self, examples, *, seed):
        p = self.params
        source_of = (lambda ex: p.source_lang) if p.source_lang else (lambda ex: ex.lang)
        done = self._run(self.translator, examples, source_of, p.target_lang, seed, "tr")
        made = []
        for ex, texts in zip(examples, done):
            new = self._build(
                ex, texts, p.target_lang, f"{ex.id}~tr-{p.target_lang}", {"parallel": {"source": _side(ex)}}
            )
            if new is not None:
                made.append((ex, new))
        if self.back is not None and made:
            sources = {ex.id: source_of(ex) for ex, _ in made}
            by_lang: dict[str, list[int]] = {}
            for k, (ex, _) in enumerate(made):
                by_lang.setdefault(sources[ex.id], []).append(k)
            for lang, members in by_lang.items():
                done = self._run(
                    self.back, [made[k][1] for k in members], lambda t: p.target_lang, lang, seed, "tr-back"
                )
                for k, texts in zip(members, done):
                    ex, new = made[k]
                    side = _back_side(new, texts)
                    if side is None:
                        self.count("empty_back_translation")
                        continue
                    made[k] = (ex, new.replace(meta={**new.meta, "parallel": {**new.meta["parallel"], "back": side}}))
                    self.count("back_translated")
        for _ in made:
            self.count("translated")
        return [new for _, new in made]


class BacktranslateGenerator(_SeqToSeqGenerator):
    """Round trip through ``pivot_lang``: paraphrases of each example in its own language (and X-Mixup's
    back-translations); the pivot text is kept in ``meta["pivot"]``."""

    name = "backtranslate"
    Params = BacktranslateParams
    params: BacktranslateParams

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        p = self.params
        self.forward = Translator(p.model, device=device, precision=precision, trust_remote_code=p.trust_remote_code)
        self.backward = (
            self.forward
            if p.back_model in (None, p.model)
            else Translator(p.back_model, device=device, precision=precision, trust_remote_code=p.trust_remote_code)
        )

    def augment_batch(self, examples, *, seed):
        p = self.params
        source_of = (lambda ex: p.source_lang) if p.source_lang else (lambda ex: ex.lang)
        there = self._run(self.forward, examples, source_of, p.pivot_lang, seed, "bt-there")
        pivots = [self._build(ex, texts, p.pivot_lang, f"{ex.id}~pivot", {}) for ex, texts in zip(examples, there)]
        kept = [(ex, pv) for ex, pv in zip(examples, pivots) if pv is not None]
        back: list[list[str]] = [[] for _ in kept]
        by_lang: dict[str, list[int]] = {}
        for k, (ex, _) in enumerate(kept):
            by_lang.setdefault(source_of(ex), []).append(k)
        for lang, members in by_lang.items():  # back into each example's own language
            done = self._run(
                self.backward, [kept[k][1] for k in members], lambda pv: p.pivot_lang, lang, seed, "bt-back"
            )
            for k, texts in zip(members, done):
                back[k] = texts
        out = []
        for (ex, pivot), texts in zip(kept, back):
            new = self._build(ex, texts, source_of(ex), f"{ex.id}~bt-{p.pivot_lang}", {"pivot": _side(pivot)})
            if new is not None:
                self.count("back_translated")
                out.append(new)
        return out


@dataclasses.dataclass
class AddBackParams(DecodingParams):
    model: ModelRef = param("augkit:tiny-marian", help="the model from the examples' language into source_lang")
    back_lang: str = param("en", help="the language of the parallel source side (what to translate back into)")


class AddBackTranslationGenerator(_SeqToSeqGenerator):
    """For parallel data that has no back-translations (XTREME's translate-train): each example again,
    with its text translated back into ``back_lang`` kept as its back-translation
    (``meta["parallel"]["back"]``) — so X-Mixup's scheduled sampling can run on the translations a
    benchmark ships. Examples without a parallel source side pass through unchanged (counted)."""

    name = "add-back-translation"
    Params = AddBackParams
    params: AddBackParams
    changes_text = False  # the same example again, with a back-translation added

    def setup(self, device: str = "cpu", precision: str = "auto") -> None:
        self.translator = Translator(
            self.params.model, device=device, precision=precision, trust_remote_code=self.params.trust_remote_code
        )

    def augment_batch(self, examples, *, seed):
        p = self.params
        done = self._run(self.translator, examples, lambda ex: p.source_lang or ex.lang, p.back_lang, seed, "add-back")
        out = []
        for ex, texts in zip(examples, done):
            parallel = ex.meta.get("parallel") or {}
            side = _back_side(ex, texts) if "source" in parallel else None
            if side is None:
                self.count("without_source_side" if "source" not in parallel else "empty_back_translation")
            else:
                parallel = {**parallel, "back": side}
                self.count("back_translated")
            out.append(
                ex.replace(
                    id=f"{ex.id}~bt",
                    source_id=ex.id,
                    component=self.display_name(),
                    meta={**ex.meta, "parallel": parallel},
                )
            )
        return out
