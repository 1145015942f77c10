"""GEN-LM's report section: examples of original and augmented sentences (changed words in bold) and how
many replaced words really changed."""

from __future__ import annotations

import json

from augkit import Corpus, ReportSection, ReportTable, hookimpl

from .generator import VicinityGenerator

SHOWN = 6


def _sources(stage, run) -> dict[str, list[str]]:
    """Words of the stage's input examples by id (inputs are data entries or earlier stages)."""
    manifest = stage.read_json("manifest.json") or {}
    refs = (manifest.get("inputs", {}).get("corpus") or {}).get("refs", [])
    words = {}
    for ref in refs:
        folder = run.out_dir / "data" / ref
        if not folder.exists():
            folder = next((s.folder / "data" for s in run.stages if s.name == ref), folder)
        if (folder / Corpus.META_FILE).exists():
            for ex in Corpus.load(folder):
                words[ex.id] = ex.tokens if ex.type == "tagging" else (ex.text_a or "").split()
    return words


def _marked(words: list[str], changed: set[int]) -> str:
    return " ".join(f"**{w}**" if i in changed else w for i, w in enumerate(words))


@hookimpl
def report_sections(run):
    sections = []
    for stage in run.stages_of(VicinityGenerator):
        if not (stage.folder / "data" / Corpus.META_FILE).exists():
            sections.append(ReportSection(f"GEN-LM examples ({stage.name})", "Not finished: no samples yet.", order=40))
            continue
        corpus = Corpus.load(stage.folder / "data")
        sources = _sources(stage, run)
        rows, seen = [], set()
        for ex in corpus:
            if ex.source_id in seen or ex.source_id not in sources:
                continue
            seen.add(ex.source_id)
            if ex.type == "tagging":
                changed, new = set(ex.meta.get("changed", ex.replaced)), ex.tokens
            else:
                changed, new = set(ex.meta.get("changed_a", ex.meta.get("replaced_a", []))), (ex.text_a or "").split()
            rows.append([ex.lang, " ".join(sources[ex.source_id]), _marked(new, changed)])
            if len(rows) == SHOWN:
                break
        stats = stage.stats or {}
        text = (
            f"{stats.get('outputs', len(corpus))} samples from {stats.get('inputs', '?')} sentences "
            f"({json.dumps(stage.read_json('manifest.json').get('params', {}).get('mode', ''))[1:-1]})."
        )
        if stats.get("replaced_words"):
            text += (
                f" Of {stats['replaced_words']} replaced words, {stats.get('replaced_words_unchanged', 0)} came "
                f"back as they were ({100 * stats.get('replaced_words_unchanged', 0) / stats['replaced_words']:.0f}%)."
            )
        sections.append(
            ReportSection(
                f"GEN-LM examples ({stage.name})",
                text + " Changed words are in bold.",
                [ReportTable(["lang", "original", "augmented"], rows)],
                order=40,
            )
        )
    return sections
