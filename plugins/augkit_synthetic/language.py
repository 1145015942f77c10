"""Languages: how an abstract clause becomes words.

The source language is English-like (``lexicon.py``). A target language differs from it in controlled
ways, each a setting of its ``[languages.<code>]`` table in the benchmark file:

* ``order``: ``"SVO"`` (as the source) or ``"SOV"`` (object, places and times before the verb);
* ``adjective``: ``"before"`` or ``"after"`` the noun;
* ``adposition``: ``"pre"`` (``in Berlin``) or ``"post"`` (``Berlin in``), also inside organisation names;
* ``negation``: ``"particle"`` (a word before the verb) or ``"suffix"`` (on the verb);
* ``article``: ``"word"`` (before the noun) or ``"suffix"`` (a definite suffix; no indefinite article);
* ``plural``, ``past``, ``definite``, ``negative``: the affixes (strings);
* word forms: every source word gets a target form made by a sound change (a seeded mapping of letters)
  and a word ending; a share of the content words (``cognates``, falling with the difficulty) keeps its
  source form, and so do numbers and punctuation (the anchors shared across languages);
* names: shared names keep their form, except that a share (rising with the difficulty) is spelt the
  target way; a share of the names in target text are local names that never occur in the source.

``realize(clause, language, order_of=other)`` uses the language's words and affixes in the other language's
word order — what a word-by-word machine translation produces (translationese).
"""

from __future__ import annotations

import dataclasses
import random
import string
from typing import Any

from .lexicon import ADJECTIVES, FUNCTION, NOUNS, ORG_HEADS, VERB_BASE

VOWELS = "aeiou"
CONSONANTS = "".join(c for c in string.ascii_lowercase if c not in VOWELS)


@dataclasses.dataclass
class Language:
    code: str
    order: str = "SVO"
    adjective: str = "before"
    adposition: str = "pre"
    negation: str = "particle"
    article: str = "word"
    plural: str = "s"
    past: str = ""
    definite: str = ""
    negative: str = "not"
    ending: str = ""
    forms: dict[str, str] = dataclasses.field(default_factory=dict)  # source word -> target word
    names: dict[str, str] = dataclasses.field(default_factory=dict)  # source name -> target spelling
    local_names: list[str] = dataclasses.field(default_factory=list)  # names only this language has
    is_source: bool = False

    def word(self, w: str) -> str:
        return w if self.is_source else self.forms.get(w, w)

    def name(self, n: str) -> str:
        return n if self.is_source else self.names.get(n, n)


SETTINGS = {
    "order": ("SVO", "SOV"),
    "adjective": ("before", "after"),
    "adposition": ("pre", "post"),
    "negation": ("particle", "suffix"),
    "article": ("word", "suffix"),
}


def source_language(code: str) -> Language:
    return Language(code, is_source=True)


def _sound_change(rng: random.Random) -> dict[str, str]:
    cons = list(CONSONANTS)
    shuffled = cons[:]
    rng.shuffle(shuffled)
    vows = list(VOWELS)
    vshuf = vows[:]
    rng.shuffle(vshuf)
    mapping = dict(zip(cons, shuffled))
    mapping.update(zip(vows, vshuf))
    # keep words pronounceable-looking: consonants stay consonants, vowels stay vowels
    return mapping


def _apply(mapping: dict[str, str], word: str) -> str:
    out = "".join(mapping.get(c.lower(), c) for c in word)
    return out[:1].upper() + out[1:] if word[:1].isupper() else out


def make_language(
    code: str,
    settings: dict[str, Any],
    *,
    seed: int,
    cognates: float,
    respelt_names: float,
    vocabulary: list[str],
    names: list[str],
    n_local_names: int = 24,
) -> Language:
    """A target language from its settings and the benchmark's seed: ``cognates`` of the content words
    keep their source form, ``respelt_names`` of the shared names are spelt the target way (the benchmark
    derives both from its difficulty; see the module docs)."""
    rng = random.Random(f"{seed}|language|{code}")
    lang = Language(code, **{k: settings[k] for k in SETTINGS if k in settings})
    lang.plural = settings.get("plural", rng.choice(["i", "en", "ler", "u"]))
    lang.past = settings.get("past", rng.choice(["ta", "du", "ek", "ro"]))
    lang.definite = settings.get("definite", rng.choice(["et", "an", "ul"]))
    lang.ending = settings.get("ending", rng.choice(["a", "o", "e", ""]))
    mapping = _sound_change(rng)
    used: set[str] = set()
    for w in sorted(set(vocabulary) | set(FUNCTION)):
        if w in (".",) or w.isdigit():
            continue
        if w in FUNCTION:
            form = _apply(mapping, w)[:3] or w
        elif rng.random() < cognates:
            form = w
        else:
            form = _apply(mapping, w) + (lang.ending if not w[:1].isupper() else "")
        while form in used and form != w:
            form += rng.choice(VOWELS)
        used.add(form)
        lang.forms[w] = form
    lang.negative = settings.get("negative_word", lang.forms.get("not", "na"))
    for n in sorted(set(names)):
        if rng.random() < respelt_names:
            lang.names[n] = _apply(mapping, n)
    syllables = [c + v for c in "bdgklmnprstvz" for v in VOWELS]
    while len(lang.local_names) < n_local_names:
        name = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))).capitalize()
        if name not in lang.local_names:
            lang.local_names.append(name)
    return lang


# realisation ---------------------------------------------------------------------------------------
Token = tuple[str, str]  # (word, tag)


def _entity(words: list[str], etype: str) -> list[Token]:
    return [(w, ("B-" if i == 0 else "I-") + etype) for i, w in enumerate(words)]


def _np(np: dict, lang: Language, order_like: Language) -> list[Token]:
    """A noun phrase: a name (PER/LOC), an organisation, an event (MISC), or a common noun phrase."""
    kind = np["kind"]
    if kind in ("PER", "LOC"):
        return _entity([lang.name(n) for n in np["name"]], kind)
    if kind == "ORG":
        if np.get("of"):  # "Institute of Berlin": the head, the adposition and the place
            head, of, place = lang.word(np["head"]), lang.word("of"), lang.name(np["of"])
            words = [head, of, place] if order_like.adposition == "pre" else [place, of, head]
        else:
            words = [lang.name(np["name"]), lang.word(np["head"])]
        return _entity(words, "ORG")
    if kind == "MISC":
        return _entity([lang.word(w) for w in np["words"]], "MISC")
    noun = np["noun"]
    if lang.is_source:
        form = NOUNS[noun][0] if np.get("plural") else noun
    else:
        form = lang.word(noun) + (lang.plural if np.get("plural") else "")
    adjs = [(lang.word(a), "O") for a in np.get("adjs", [])]
    det = np.get("det")
    if lang.is_source or lang.article == "word":  # articles are the language's own, whatever the order
        article = [] if det is None else [(lang.word("the" if det == "def" else "a"), "O")]
        if det == "indef" and np.get("plural"):
            article = []
    else:
        article = []
        if det == "def":
            form += lang.definite
    noun_word = [(form, "O")]
    body = adjs + noun_word if order_like.adjective == "before" else noun_word + adjs
    return article + body


def _pp(pp: dict, lang: Language, order_like: Language) -> list[Token]:
    adp = [(lang.word(pp["prep"]), "O")]
    inner = _np(pp["np"], lang, order_like)
    return adp + inner if order_like.adposition == "pre" else inner + adp


def _time(time: list[str], lang: Language) -> list[Token]:
    return [(w if w.isdigit() else lang.word(w), "O") for w in time]


def _verb(verb: str, negated: bool, lang: Language, order_like: Language) -> list[Token]:
    if lang.is_source:
        return [("did", "O"), ("not", "O"), (VERB_BASE[verb], "O")] if negated else [(verb, "O")]
    form = lang.word(VERB_BASE[verb]) + lang.past
    if not negated:
        return [(form, "O")]
    if lang.negation == "suffix":
        return [(form + lang.negative, "O")]
    return [(lang.negative, "O"), (form, "O")]


def realize(clause: dict, lang: Language, *, order_of: Language | None = None) -> list[Token]:
    """The words and NER tags of ``clause`` in ``lang``, in the word order of ``order_of`` (default: its
    own). Another language's order is what word-by-word machine translation gives (translationese)."""
    order_like = order_of or lang
    subj = _np(clause["subj"], lang, order_like)
    verb = _verb(clause["verb"], clause.get("neg", False), lang, order_like)
    obj = _np(clause["obj"], lang, order_like) if clause.get("obj") else []
    pps = [t for pp in clause.get("pps", []) for t in _pp(pp, lang, order_like)]
    time = _time(clause["time"], lang) if clause.get("time") else []
    if order_like.order == "SOV":
        tokens = time + subj + pps + obj + verb
    else:
        tokens = subj + verb + obj + pps + time
    return tokens + [(".", "O")]


def vocabulary() -> list[str]:
    """Every source word a target language needs a form for."""
    words = set(NOUNS) | set(ADJECTIVES) | set(VERB_BASE.values()) | set(ORG_HEADS) | set(FUNCTION)
    from .lexicon import MISC_NAMES, PREPOSITIONS, TIMES

    words |= {w for name in MISC_NAMES for w in name} | set(PREPOSITIONS) | {w for t in TIMES for w in t}
    words.discard("NUM")
    return sorted(words)
