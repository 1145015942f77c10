"""A small multilingual benchmark that augkit builds itself, deterministically, from a benchmark file.

The benchmark file (TOML) fixes everything the data depends on::

    seed = 13            # the same file gives the same data on every machine
    difficulty = 0.5     # 0: targets close to the source ... 1: far (see below)
    source = "en"
    [ner]                # sentences per split
    train = 600
    dev = 100
    test = 300
    unlabelled = 600
    [nli]
    train = 600
    ...
    [text]
    sentences = 2000     # unlabelled sentences per language, for pretraining
    [languages.xa]       # each target language and how it differs from the source (``language.py``)
    order = "SVO"
    adjective = "after"
    ...

``difficulty`` sets the defaults of what makes transfer hard (each can also be set per language):
``cognates`` = 0.6 × (1 − d) of the content words keep their source form; ``respelt_names`` = 0.6 × d of
the shared names are spelt the target way; ``local_names`` = 0.15 + 0.35 × d of the names in target text
are local names the source never has; ``mt_literal`` = 0.4 + 0.4 × d of machine translations keep the
source's word order and ``mt_untranslated`` = 0.15 × d of their content words stay untranslated. Word
order, adpositions, negation and articles are each language's settings. What is known about transfer in
small masked LMs guided these choices: shared anchors (names, numbers, punctuation, cognates) carry it;
word-order differences and unseen names cost it.

Splits (reader parameter ``split``):

* ``train``: labelled source-language examples (the only gold labels a method may train on);
* ``dev``, ``test``: gold-labelled examples in any language (target labels exist only here);
  ``translations = true`` adds each one's machine translation into the source (translate-test);
* ``unlabelled``: natural target-language examples without labels;
* ``translate-train``: the ``train`` examples machine-translated into a target language, with their
  labels, their source side and a back-translation (X-Mixup's parallel data, ``meta["parallel"]``);
* ``text`` (``task = "text"``): unlabelled sentences of any language for pretraining.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from pathlib import Path
from typing import Any, Iterator

from augkit import DataError

from .grammar import NLI_LABELS, NamePool, clause, nli_pair
from .language import SETTINGS, Language, make_language, realize, source_language, vocabulary
from .lexicon import FIRST_NAMES, LAST_NAMES, PLACES

TASKS = ("ner", "nli")
SPLITS = ("train", "dev", "test", "unlabelled", "translate-train")
TOP_KEYS = {"seed", "difficulty", "source", "ner", "nli", "text", "languages"}
LANGUAGE_KEYS = set(SETTINGS) | {
    "plural",
    "past",
    "definite",
    "negative_word",
    "ending",
    "cognates",
    "respelt_names",
    "local_names",
    "mt_literal",
    "mt_untranslated",
}
SHARES = ("cognates", "respelt_names", "local_names", "mt_literal", "mt_untranslated")


@dataclasses.dataclass
class Benchmark:
    path: str
    seed: int
    difficulty: float
    source: str
    sizes: dict[str, dict[str, int]]
    text_sentences: int
    languages: dict[str, Language]
    shares: dict[str, dict[str, float]]

    def language(self, code: str, where: str) -> Language:
        if code == self.source:
            return source_language(code)
        if code not in self.languages:
            raise DataError(
                f"{where}: language {code!r} is not in the benchmark; it has {self.source!r} (source) and "
                f"{', '.join(map(repr, self.languages))}",
                path=self.path,
            )
        return self.languages[code]

    # examples --------------------------------------------------------------------------------------
    def _rng(self, *parts) -> random.Random:
        return random.Random("|".join(map(str, (self.seed, *parts))))

    def _names(self, lang: Language) -> NamePool:
        if lang.is_source:
            return NamePool()
        return NamePool(lang.local_names, self.shares[lang.code]["local_names"])

    def _mt(self, lang: Language, rng: random.Random) -> tuple[Language, Language | None]:
        """A machine-translation 'system' for one example: the target language with some words left
        untranslated, and the source's word order for a share of the examples."""
        share = self.shares[lang.code]
        noisy = dataclasses.replace(
            lang, forms={w: (w if rng.random() < share["mt_untranslated"] else f) for w, f in lang.forms.items()}
        )
        literal = source_language(self.source) if rng.random() < share["mt_literal"] else None
        return noisy, literal

    def examples(self, task: str, split: str, lang_code: str, *, translations: bool = False) -> Iterator[dict]:
        """Rows (dicts of Example fields) of one split (see the module docs)."""
        where = f"{task}/{split}"
        lang = self.language(lang_code, where)
        src = source_language(self.source)
        if task == "text":
            for i in range(self.text_sentences):
                rng = self._rng("text", lang_code, i)
                c = clause(rng, self._names(lang), entity_rich=rng.random() < 0.5)
                yield {
                    "id": f"text-{lang_code}-{i}",
                    "type": "tagging",
                    "lang": lang_code,
                    "tokens": [w for w, _ in realize(c, lang)],
                }
            return
        if split == "train" and not lang.is_source:
            raise DataError(
                f"{where}: labelled training data exists only in the source language "
                f'({self.source!r}); use split = "translate-train" or "unlabelled" for {lang_code!r}',
                path=self.path,
            )
        if split == "translate-train" and lang.is_source:
            raise DataError(
                f"{where}: translate-train is a translation into a target language, not into the source {lang_code!r}",
                path=self.path,
            )
        if split == "unlabelled" and lang.is_source:
            raise DataError(
                f"{where}: unlabelled data is target-language text; {lang_code!r} is the source", path=self.path
            )
        size_split = "train" if split == "translate-train" else split
        n = self.sizes[task][size_split]
        for i in range(n):
            if split in ("train", "translate-train"):
                rng = self._rng(task, "train", i)
                names = self._names(src)
            else:
                rng = self._rng(task, split, lang_code, i)
                names = self._names(lang)
            item = self._item(task, rng, names, i)
            ex_id = f"{task}-{split}-{lang_code}-{i}"
            if split == "translate-train":
                mt_rng = self._rng(task, "mt", lang_code, i)
                noisy, order = self._mt(lang, mt_rng)
                row = self._row(task, item, noisy, order, ex_id, lang_code, labelled=True)
                row["meta"] = {
                    "parallel": {
                        "source": self._side(task, item, src, None, labelled=True),
                        "back": self._side(task, item, src, lang, labelled=False),
                    }
                }
                yield row
                continue
            row = self._row(task, item, lang, None, ex_id, lang_code, labelled=split != "unlabelled")
            if translations and not lang.is_source:
                row["meta"] = {"parallel": {"source": self._side(task, item, src, lang, labelled=True)}}
            yield row

    def _item(self, task: str, rng: random.Random, names: NamePool, i: int):
        if task == "ner":
            return clause(rng, names)
        label = NLI_LABELS[i % 3] if rng.random() < 0.9 else rng.choice(NLI_LABELS)
        premise, hypothesis, _ = nli_pair(rng, names, label)
        return premise, hypothesis, label

    def _side(self, task, item, lang: Language, order: Language | None, *, labelled: bool) -> dict[str, Any]:
        if task == "ner":
            toks = realize(item, lang, order_of=order)
            return {"tokens": [w for w, _ in toks], **({"tags": [t for _, t in toks]} if labelled else {})}
        premise, hypothesis, label = item
        return {
            "text_a": " ".join(w for w, _ in realize(premise, lang, order_of=order)),
            "text_b": " ".join(w for w, _ in realize(hypothesis, lang, order_of=order)),
            **({"label": label} if labelled else {}),
        }

    def _row(self, task, item, lang, order, ex_id, lang_code, *, labelled: bool) -> dict[str, Any]:
        side = self._side(task, item, lang, order, labelled=labelled)
        return {"id": ex_id, "type": "tagging" if task == "ner" else "pair", "lang": lang_code, **side}


def _check_share(path: str, key: str, value) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise DataError(f"{key}: expected a number from 0 to 1, got {value!r}", path=path)
    return float(value)


def _check_size(path: str, key: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DataError(f"{key}: expected a whole number of examples (0 or more), got {value!r}", path=path)
    return value


def load_benchmark(path: str | Path) -> Benchmark:
    """Read and check a benchmark file (errors name the file and the key)."""
    path = str(path)
    p = Path(path)
    if not p.is_file():
        raise DataError("benchmark file not found (a TOML file; see augkit_synthetic.benchmark)", path=path)
    return _load(path, p.read_bytes())


@functools.lru_cache(maxsize=8)  # keyed on the content: an edited file is read anew
def _load(path: str, data: bytes) -> Benchmark:
    import tomllib

    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise DataError(f"not a valid TOML file: {e}", path=path) from None
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise DataError(f"{unknown[0]}: unknown key; expected {', '.join(sorted(TOP_KEYS))}", path=path)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise DataError(f"seed: expected a whole number, got {seed!r}", path=path)
    difficulty = _check_share(path, "difficulty", raw.get("difficulty", 0.5))
    source = raw.get("source", "en")
    if not isinstance(source, str) or not source:
        raise DataError(f"source: expected a language code, got {source!r}", path=path)
    sizes: dict[str, dict[str, int]] = {}
    defaults = {"train": 500, "dev": 100, "test": 200, "unlabelled": 500}
    for task in TASKS:
        table = raw.get(task, {})
        if not isinstance(table, dict):
            raise DataError(f"{task}: expected a table of split sizes ({', '.join(defaults)})", path=path)
        bad = sorted(set(table) - set(defaults))
        if bad:
            raise DataError(f"{task}.{bad[0]}: unknown split; expected {', '.join(defaults)}", path=path)
        sizes[task] = {k: _check_size(path, f"{task}.{k}", table.get(k, v)) for k, v in defaults.items()}
    text = raw.get("text", {})
    if not isinstance(text, dict) or set(text) - {"sentences"}:
        raise DataError("text: expected a table with sentences = N", path=path)
    text_sentences = _check_size(path, "text.sentences", text.get("sentences", 1000))
    langs_raw = raw.get("languages")
    if not isinstance(langs_raw, dict) or not langs_raw:
        raise DataError("languages: expected at least one [languages.<code>] table (a target language)", path=path)
    vocab = vocabulary()
    names = FIRST_NAMES + LAST_NAMES + PLACES
    languages, shares = {}, {}
    for code, settings in langs_raw.items():
        where = f"languages.{code}"
        if code == source:
            raise DataError(f"{where}: {code!r} is the source language", path=path)
        if not isinstance(settings, dict):
            raise DataError(f"{where}: expected a table of settings", path=path)
        bad = sorted(set(settings) - LANGUAGE_KEYS)
        if bad:
            raise DataError(
                f"{where}.{bad[0]}: unknown setting; expected {', '.join(sorted(LANGUAGE_KEYS))}", path=path
            )
        for key, choices in SETTINGS.items():
            if key in settings and settings[key] not in choices:
                raise DataError(
                    f"{where}.{key}: expected {' or '.join(map(repr, choices))}, got {settings[key]!r}", path=path
                )
        d = difficulty
        shares[code] = {
            "cognates": 0.6 * (1 - d),
            "respelt_names": 0.6 * d,
            "local_names": 0.15 + 0.35 * d,
            "mt_literal": 0.4 + 0.4 * d,
            "mt_untranslated": 0.15 * d,
        }
        for key in SHARES:
            if key in settings:
                shares[code][key] = _check_share(path, f"{where}.{key}", settings[key])
        languages[code] = make_language(
            code,
            settings,
            seed=seed,
            cognates=shares[code]["cognates"],
            respelt_names=shares[code]["respelt_names"],
            vocabulary=vocab,
            names=names,
        )
    return Benchmark(path, seed, difficulty, source, sizes, text_sentences, languages, shares)
