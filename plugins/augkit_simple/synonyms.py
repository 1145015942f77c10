"""Where synonyms come from: a dictionary file the user gives, or WordNet through nltk.

A dictionary is either TSV — a word, then its synonyms, tab-separated, one word per line (a synonym may
hold spaces: "United States") — or JSON — an object mapping each word to a list of synonyms. Lookups
ignore case; a capitalised word gets capitalised synonyms. Lists are sorted and deduplicated, so the
same seed picks the same synonym whatever order the file was written in.
"""

from __future__ import annotations

import json
from pathlib import Path

from augkit import DataError, read_lines

_PUNCT = "\"'()[]{}.,;:!?«»“”‘’"

# English function words, left alone by EDA's synonym replacement and insertion.
ENGLISH_STOPWORDS = frozenset(
    """
a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
now of off on once only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until up very was we
were what when where which while who whom why will with would you your yours yourself yourselves
""".split()
)


class Synonyms:
    """Synonym lookup: ``Synonyms.from_file(path)``, ``Synonyms.wordnet()`` or ``Synonyms({word: [...]})``."""

    def __init__(self, table: dict[str, list[str]], source: str = "a dictionary"):
        self.source = source
        self.table: dict[str, list[str]] = {}
        for word, syns in table.items():
            key = word.strip().lower()
            clean = sorted({s.strip() for s in syns if s.strip() and s.strip().lower() != key})
            if key and clean:
                self.table[key] = sorted(set(self.table.get(key, [])) | set(clean))
        self._wordnet = None

    @classmethod
    def from_file(cls, path: str | Path, encoding: str = "utf-8") -> "Synonyms":
        path = str(path)
        if path.lower().endswith(".json"):
            try:
                data = json.loads(Path(path).read_text(encoding=encoding))
            except FileNotFoundError:
                raise DataError("synonym dictionary not found", path=path) from None
            except json.JSONDecodeError as e:
                raise DataError(f"invalid JSON at column {e.colno}: {e.msg}", path=path, line=e.lineno) from None
            if not isinstance(data, dict) or not all(
                isinstance(v, list) and all(isinstance(s, str) for s in v) for v in data.values()
            ):
                raise DataError(
                    'expected a JSON object mapping each word to a list of synonyms, e.g. {"big": ["large", "huge"]}',
                    path=path,
                )
            return cls(data, source=path)
        table: dict[str, list[str]] = {}
        for n, line in read_lines(path, encoding):
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.rstrip("\r\n").split("\t")
            if len(cells) < 2 or not cells[0].strip():
                raise DataError("expected a word, a tab and its synonyms (tab-separated)", path=path, line=n)
            table.setdefault(cells[0], []).extend(cells[1:])
        return cls(table, source=path)

    @classmethod
    def wordnet(cls) -> "Synonyms":
        """WordNet through nltk (its data must be installed: ``python -m nltk.downloader wordnet``)."""
        try:
            from nltk.corpus import wordnet

            wordnet.ensure_loaded()
        except Exception as e:  # nltk missing, or its WordNet data
            raise DataError(
                "no synonyms: give a dictionary with synonyms_path (TSV: a word, then its synonyms, "
                "tab-separated; or JSON {word: [synonyms]}), or install nltk with its WordNet data "
                f"(pip install nltk; python -m nltk.downloader wordnet) — {type(e).__name__}: {e}"
            ) from None
        self = cls({}, source="WordNet (nltk)")
        self._wordnet = wordnet
        return self

    def __call__(self, word: str) -> list[str]:
        """The synonyms of ``word`` (sorted), capitalised like it; punctuation around it is kept."""
        lead = len(word) - len(word.lstrip(_PUNCT))
        core = word.strip(_PUNCT)
        if not core:
            return []
        key = core.lower()
        if self._wordnet is not None:
            if key not in self.table:
                names = {lemma.name().replace("_", " ") for syn in self._wordnet.synsets(key) for lemma in syn.lemmas()}
                self.table[key] = sorted(n for n in names if n.lower() != key)
            syns = self.table[key]
        else:
            syns = self.table.get(key, [])
        if core[:1].isupper():
            syns = [s[:1].upper() + s[1:] for s in syns]
        tail = word[lead + len(core) :]
        return [word[:lead] + s + tail for s in syns]


def load_synonyms(path: str | None, encoding: str = "utf-8") -> Synonyms:
    return Synonyms.from_file(path, encoding) if path else Synonyms.wordnet()


def load_stopwords(path: str | None, encoding: str = "utf-8") -> frozenset[str]:
    if not path:
        return ENGLISH_STOPWORDS
    return frozenset(line.strip().lower() for _, line in read_lines(path, encoding) if line.strip())
