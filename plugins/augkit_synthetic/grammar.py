"""Abstract clauses (language-independent) for NER sentences and NLI pairs.

A clause is a dict: ``subj`` and ``obj`` noun phrases, ``verb`` (a past form from ``lexicon.VERBS``),
``neg``, ``pps`` (prepositional phrases) and ``time``. Noun phrases are names (``PER``, ``LOC``),
organisations (``ORG``), events (``MISC``) or common nouns with a determiner, adjectives and number.
What may be the object of a verb or follow a preposition is fixed (``lexicon``), so the context tells an
entity's type even where the name alone does not (Jordan, Florence and Paris are people and places).

NLI pairs start from one premise clause and change it by a rule whose label is known: drop a modifier
or generalise a noun (entailment), negate, take an antonym or move the event (contradiction), add a
modifier (neutral).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from .lexicon import (
    ADJECTIVES,
    FIRST_NAMES,
    LAST_NAMES,
    MISC_NAMES,
    NOUNS,
    ORG_HEADS,
    PEOPLE,
    PERSON_ADJECTIVES,
    PLACES,
    PREPOSITIONS,
    THING_ADJECTIVES,
    THINGS,
    TIMES,
    VERBS,
)

NLI_LABELS = ("entailment", "neutral", "contradiction")


class NamePool:
    """Where names come from: the shared gazetteers, and for target-language text also local names."""

    def __init__(self, local: list[str] | None = None, local_share: float = 0.0):
        self.local, self.local_share = list(local or []), local_share

    def _pick(self, rng: random.Random, shared: list[str]) -> str:
        if self.local and rng.random() < self.local_share:
            return rng.choice(self.local)
        return rng.choice(shared)

    def person(self, rng):
        first = self._pick(rng, FIRST_NAMES)
        return [first, self._pick(rng, LAST_NAMES)] if rng.random() < 0.6 else [first]

    def place(self, rng):
        return [self._pick(rng, PLACES)]


def noun_phrase(rng: random.Random, kind: str, names: NamePool, *, adjs_max: int = 1) -> dict:
    if kind == "PER":
        return {"kind": "PER", "name": names.person(rng)}
    if kind == "LOC":
        return {"kind": "LOC", "name": names.place(rng)}
    if kind == "ORG":
        head = rng.choice(ORG_HEADS)
        if head == "Institute" or rng.random() < 0.25:
            return {"kind": "ORG", "head": head, "of": names.place(rng)[0]}
        return {"kind": "ORG", "head": head, "name": rng.choice(names.person(rng))}
    if kind == "MISC":
        return {"kind": "MISC", "words": list(rng.choice(MISC_NAMES))}
    person = kind == "person"
    noun = rng.choice(PEOPLE if person else THINGS)
    pool = PERSON_ADJECTIVES if person else THING_ADJECTIVES
    adjs = rng.sample(pool, rng.randint(0, adjs_max))
    plural = rng.random() < 0.25
    det = rng.choice(["def", "indef"]) if not plural else rng.choice(["def", None])
    return {"kind": "common", "noun": noun, "adjs": adjs, "det": det, "plural": plural}


def clause(rng: random.Random, names: NamePool, *, entity_rich: bool = True) -> dict:
    """One clause; ``entity_rich`` (NER) favours names, otherwise common nouns (NLI)."""
    verb = rng.choice(list(VERBS))
    subj_kind = rng.choice(["PER", "PER", "ORG", "person"] if entity_rich else ["PER", "person", "person"])
    obj_kind = rng.choice(VERBS[verb])  # "thing", "person" or an entity type
    c: dict[str, Any] = {
        "subj": noun_phrase(rng, subj_kind, names),
        "verb": verb,
        "obj": noun_phrase(rng, obj_kind, names, adjs_max=2),
        "neg": False,
        "pps": [],
        "time": None,
    }
    n_pps = rng.choice([0, 1, 1, 2]) if entity_rich else rng.choice([0, 1])
    for prep in rng.sample(list(PREPOSITIONS), n_pps):
        c["pps"].append({"prep": prep, "np": noun_phrase(rng, rng.choice(PREPOSITIONS[prep]), names)})
    if rng.random() < 0.4:
        t = list(rng.choice(TIMES))
        c["time"] = [str(rng.randint(1990, 2024)) if w == "NUM" else w for w in t]
    if rng.random() < 0.15:
        c["neg"] = True
    return c


def _modifiable(c: dict) -> list[str]:
    """Which modifiers of a clause could be dropped."""
    out = []
    if c["obj"]["kind"] == "common" and c["obj"]["adjs"]:
        out.append("adj")
    if c["pps"]:
        out.append("pp")
    if c["time"]:
        out.append("time")
    if c["obj"]["kind"] == "common" and NOUNS[c["obj"]["noun"]][1]:
        out.append("hypernym")
    return out


def nli_pair(rng: random.Random, names: NamePool, label: str) -> tuple[dict, dict, str]:
    """(premise, hypothesis, rule) with the given label."""
    while True:
        p = clause(rng, names, entity_rich=False)
        p["neg"] = False
        h = copy.deepcopy(p)
        obj = h["obj"]
        if label == "entailment":
            rules = _modifiable(p)
            if not rules:
                continue
            rule = rng.choice(rules)
            if rule == "adj":
                obj["adjs"] = obj["adjs"][:-1]
            elif rule == "pp":
                h["pps"].pop(rng.randrange(len(h["pps"])))
            elif rule == "time":
                h["time"] = None
            else:
                obj["noun"] = NOUNS[obj["noun"]][1]
                obj["adjs"] = []
            return p, h, rule
        if label == "contradiction":
            rules = (
                ["negation"]
                + (["antonym"] if obj["kind"] == "common" and obj["adjs"] else [])
                + (["place"] if any(pp["prep"] == "in" for pp in p["pps"]) else [])
            )
            rule = rng.choice(rules)
            if rule == "negation":
                h["neg"] = True
            elif rule == "antonym":
                obj["adjs"] = [ADJECTIVES[obj["adjs"][0]]] + obj["adjs"][1:]
            else:
                pp = next(pp for pp in h["pps"] if pp["prep"] == "in")
                old = pp["np"]["name"]
                while pp["np"]["name"] == old:
                    pp["np"] = noun_phrase(rng, "LOC", names)
            return p, h, rule
        # neutral: the hypothesis says more than the premise
        rules = (
            (["adj"] if obj["kind"] == "common" and len(obj["adjs"]) < 2 else [])
            + (["pp"] if len(p["pps"]) < 2 else [])
            + (["time"] if not p["time"] else [])
        )
        if not rules:
            continue
        rule = rng.choice(rules)
        if rule == "adj":
            pool = PERSON_ADJECTIVES if obj["noun"] in PEOPLE else THING_ADJECTIVES
            free = [a for a in pool if a not in obj["adjs"] and ADJECTIVES[a] not in obj["adjs"]]
            obj["adjs"] = obj["adjs"] + [rng.choice(free)]
        elif rule == "pp":
            used = {pp["prep"] for pp in h["pps"]}
            prep = rng.choice([x for x in PREPOSITIONS if x not in used])
            h["pps"].append({"prep": prep, "np": noun_phrase(rng, rng.choice(PREPOSITIONS[prep]), names)})
        else:
            t = list(rng.choice(TIMES))
            h["time"] = [str(rng.randint(1990, 2024)) if w == "NUM" else w for w in t]
        return p, h, rule
