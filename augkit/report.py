"""Run reports: ``report.html`` (self-contained: images embedded, no scripts, opens offline) and
``report.md`` (figures beside it in ``report_files/``), built from a run folder's artefacts alone.

The core writes the run's summary (recipe, what ran, what is missing); every plugin adds sections for
its own stages through the ``report_sections`` hook (``augkit.hookspecs``). A section is a title, Markdown
text, tables and PNG figures. Sections marked ``terminal`` also print their tables at the end of
``augkit run`` and ``augkit report``. ``augkit report RUN_DIR`` rebuilds the report at any time, also for
a run that stopped part-way: what exists is shown, what is missing is said.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger("augkit.report")


@dataclasses.dataclass
class ReportTable:
    """A table: column names and rows of values (numbers are shown as they are; format them first)."""

    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""
    #: the columns a terminal shows (None: all)
    terminal_columns: list[str] | None = None


@dataclasses.dataclass
class ReportFigure:
    """A PNG image (``png`` bytes; ``figure_png(fig)`` makes them from a matplotlib figure)."""

    title: str
    png: bytes
    caption: str = ""


@dataclasses.dataclass
class ReportSection:
    """One part of a report. ``text`` is Markdown (paragraphs, ``- `` lists, ``**bold**``, ```code```).
    ``order`` sorts sections (the run summary is 0, results 10, method details 50); ``terminal`` tables are
    also printed in the terminal at the end of a run."""

    title: str
    text: str = ""
    tables: list[ReportTable] = dataclasses.field(default_factory=list)
    figures: list[ReportFigure] = dataclasses.field(default_factory=list)
    order: int = 50
    terminal: bool = False


@dataclasses.dataclass
class StageInfo:
    """A recipe stage as a report sees it: where its artefacts are, whether it finished, its stats."""

    index: int
    name: str
    kind: str
    component: str
    folder: Path
    done: bool
    stats: dict | None
    cls: Any = None  # the component class, when its plugin is installed

    def read_json(self, relative: str) -> Any:
        """A JSON artefact of the stage, or None when it does not exist (yet)."""
        path = self.folder / relative
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


@dataclasses.dataclass
class RunInfo:
    """What a report is built from: the run folder, its resolved recipe and its stages."""

    out_dir: Path
    recipe: dict
    stages: list[StageInfo]
    status: str  # "completed", "running", "failed", "interrupted", "incomplete"
    #: what results.json says beyond the status: the failed stage and its error, the stages an earlier
    #: invocation made (``from_earlier_run``)
    results: dict = dataclasses.field(default_factory=dict)

    def stages_of(self, cls) -> list[StageInfo]:
        """The stages whose component is ``cls`` (or a subclass)."""
        return [s for s in self.stages if isinstance(s.cls, type) and issubclass(s.cls, cls)]


def format_score(x: Any) -> str:
    """A score in [0, 1] as shown in reports: × 100 with one decimal ("-" when absent)."""
    return f"{100 * x:.1f}" if isinstance(x, (int, float)) else "-"


def format_mean_std(entry: dict | None) -> str:
    """``mean ± std`` (× 100) of a results entry with ``mean`` and ``std`` ("-" when absent)."""
    return f"{format_score(entry['mean'])} ± {format_score(entry['std'])}" if entry else "-"


def figure_png(fig) -> bytes:
    """The PNG bytes of a matplotlib figure (which is then closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def pyplot():
    """matplotlib's pyplot with the headless Agg backend (reports never need a display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# reading a run ------------------------------------------------------------------------------------
def run_info(out_dir: str | Path, status: str | None = None, pm=None) -> RunInfo:
    """Describe the run in ``out_dir`` from its files (``resolved_recipe.toml``, stage folders)."""
    import tomllib

    from .errors import RunError
    from .plugins import get_plugin_manager
    from .recipe import STAGE_KINDS

    out = Path(out_dir)
    recipe_file = out / "resolved_recipe.toml"
    if not recipe_file.is_file():
        raise RunError(f"{out}: not an augkit run folder (no resolved_recipe.toml)")
    recipe = tomllib.loads(recipe_file.read_text(encoding="utf-8"))
    pm = pm or get_plugin_manager()
    stages = []
    for i, st in enumerate(recipe.get("stages", [])):
        name, kind, comp = st.get("name", f"stage{i + 1}"), st.get("kind", "?"), st.get("component", "?")
        folder = out / "stages" / f"{i + 1:02d}-{name}"
        done = (folder / "_SUCCESS").is_file()
        stats = None
        if (folder / "stats.json").is_file():
            try:
                stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
            except ValueError:
                stats = None
        try:
            cls = pm.resolve(STAGE_KINDS.get(kind, kind), comp)
        except Exception:
            cls = None
        stages.append(StageInfo(i, name, kind, comp, folder, done, stats, cls))
    results: dict = {}
    if (out / "results.json").is_file():
        try:
            results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        except ValueError:
            results = {}
    if status is None:
        from .run_folder import holder

        status = results.get("status") or ("completed" if stages and all(s.done for s in stages) else "incomplete")
        if status == "running" and holder(out) is None:
            status = "interrupted"  # it said running, and no process holds the folder any more
    return RunInfo(out, recipe, stages, status, results if isinstance(results, dict) else {})


def summary_section(run: RunInfo) -> ReportSection:
    r = run.recipe.get("run", {})
    env = {}
    if (run.out_dir / "env.json").is_file():
        env = json.loads((run.out_dir / "env.json").read_text(encoding="utf-8"))
    done = [s for s in run.stages if s.done]
    from .environment import describe_hardware

    hardware = env.get("hardware") or run.results.get("hardware") or {}
    where = (
        f"ran on {describe_hardware(hardware)}"
        if hardware
        else f"device `{r.get('device', 'auto')}`, precision `{r.get('precision', 'auto')}`"
    )
    lines = [
        f"Status: **{run.status}** — {len(done)} of {len(run.stages)} stages finished. Seed {r.get('seed', '?')}, "
        f"{where}."
    ]
    data = run.recipe.get("data", {})
    if data:
        lines.append(
            "Data: "
            + ", ".join(f"`{k}` ({v.get('format', '?')}, {v.get('lang', 'und')})" for k, v in data.items())
            + "."
        )
    if env:
        pk = env.get("packages", {})
        lines.append(
            "Ran with "
            + ", ".join(f"{k} {pk[k]}" for k in ("augkit", "torch", "transformers") if k in pk)
            + (f", git {env['augkit_git_sha'][:10]}" if env.get("augkit_git_sha") else "")
            + "."
        )
    if run.status in ("failed", "interrupted") and run.results.get("error"):
        lines.append(f"Stopped in `{run.results.get('failed_stage') or '?'}`: {run.results['error']}")
    kept = set(run.results.get("from_earlier_run") or [])
    if kept:
        lines.append(
            "Kept from an earlier run (unchanged, not run again): "
            + ", ".join(f"`{s.name}`" for s in run.stages if s.name in kept)
            + "."
        )
    missing = [s for s in run.stages if not s.done]
    if missing:
        lines.append(
            "Missing (not run or not finished): "
            + ", ".join(
                f"`{s.name}`" + (" (started, no result)" if s.folder.exists() else " (not started)") for s in missing
            )
            + ". Sections below show what exists."
        )
    rows = []
    for s in run.stages:
        counts = ", ".join(
            f"{k}={v}"
            for k, v in (s.stats or {}).items()
            if k != "seconds" and isinstance(v, (int, float)) and not isinstance(v, bool)
        )
        secs = (s.stats or {}).get("seconds")
        state = ("done (earlier run)" if s.name in kept else "done") if s.done else "missing"
        rows.append(
            [
                f"{s.index + 1}. {s.name}",
                s.kind,
                s.component,
                state,
                f"{secs:.1f}" if isinstance(secs, (int, float)) else "-",
                counts,
            ]
        )
    table = ReportTable(
        ["stage", "kind", "component", "status", "seconds", "counts"],
        rows,
        caption="stages",
        terminal_columns=["stage", "component", "status", "seconds"],
    )
    return ReportSection(f"Run {r.get('name', run.out_dir.name)}", "\n\n".join(lines), [table], order=0, terminal=True)


def collect_sections(run: RunInfo, pm=None) -> list[ReportSection]:
    """The run summary and every plugin's sections, in order. A plugin whose hook fails gets a section
    saying so (the rest of the report still builds)."""
    from .plugins import get_plugin_manager

    pm = pm or get_plugin_manager()
    sections = [summary_section(run)]
    for impl in pm.hook.report_sections.get_hookimpls():
        try:
            got = impl.function(run=run)
        except Exception as e:  # one plugin's bug must not cost the whole report
            log.warning("plugin %s could not build its report sections: %s", impl.plugin_name, e)
            got = [ReportSection(f"{impl.plugin_name}: section failed", f"`{type(e).__name__}: {e}`", order=99)]
        sections.extend(got or [])
    return sorted(sections, key=lambda s: s.order)


# rendering ------------------------------------------------------------------------------------------
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)


def markdown_to_html(text: str) -> str:
    """The small Markdown subset sections use: paragraphs, ``- `` lists, bold and code spans."""
    parts = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if lines and all(l.lstrip().startswith("- ") for l in lines):
            parts.append("<ul>" + "".join(f"<li>{_inline(l.lstrip()[2:])}</li>" for l in lines) + "</ul>")
        elif block.strip():
            parts.append(f"<p>{_inline(' '.join(l.strip() for l in lines))}</p>")
    return "\n".join(parts)


def _md_cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def render_markdown(sections: list[ReportSection], title: str, files_dir: Path) -> str:
    """The report as Markdown; figures are written into ``files_dir`` and linked relatively."""
    files_dir.mkdir(parents=True, exist_ok=True)
    out = [f"# {title}", ""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        if sec.text:
            out += [sec.text, ""]
        for t in sec.tables:
            if t.caption:
                out += [f"*{t.caption}*", ""]
            out.append("| " + " | ".join(map(_md_cell, t.columns)) + " |")
            out.append("|" + "|".join("---" for _ in t.columns) + "|")
            out += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in t.rows]
            out.append("")
        for k, fig in enumerate(sec.figures):
            name = f"{_slug(sec.title)}-{k}.png"
            atomic_write_bytes(files_dir / name, fig.png)
            out += [f"![{fig.title}]({files_dir.name}/{name})", ""]
            if fig.caption:
                out += [f"*{fig.caption}*", ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.45}h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;
margin-top:1.6em}table{border-collapse:collapse;margin:.6em 0 1em;font-size:.9em}th,td{border:1px solid #ccc;
padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f3f3f6}td.num{text-align:right;
font-variant-numeric:tabular-nums}caption{caption-side:top;text-align:left;font-style:italic;padding:.2em 0}
figure{display:inline-block;vertical-align:top;margin:1em 1em 1em 0;max-width:100%}
img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#555}
code{background:#f3f3f6;padding:0 .25em;border-radius:3px}td strong{background:#fff1a8;padding:0 .1em}
nav a{margin-right:1em}"""


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) or bool(re.fullmatch(r"[-+]?\d+(\.\d+)?( ± \d+(\.\d+)?)?", str(v)))


def render_html(sections: list[ReportSection], title: str) -> str:
    """The report as one self-contained HTML page (inline CSS, images as data URIs, no scripts)."""
    body = [
        f"<h1>{html.escape(title)}</h1>",
        "<nav>" + "".join(f'<a href="#{_slug(s.title)}">{html.escape(s.title)}</a>' for s in sections) + "</nav>",
    ]
    for sec in sections:
        body.append(f'<section id="{_slug(sec.title)}"><h2>{html.escape(sec.title)}</h2>')
        if sec.text:
            body.append(markdown_to_html(sec.text))
        for t in sec.tables:
            cap = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in t.columns)
            rows = "".join(
                "<tr>"
                + "".join(
                    f'<td class="num">{_inline(str(v))}</td>' if _is_num(v) else f"<td>{_inline(str(v))}</td>"
                    for v in row
                )
                + "</tr>"
                for row in t.rows
            )
            body.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        for fig in sec.figures:
            data = base64.b64encode(fig.png).decode("ascii")
            cap = f"<figcaption>{html.escape(fig.caption or fig.title)}</figcaption>"
            body.append(
                f'<figure><img alt="{html.escape(fig.title)}" src="data:image/png;base64,{data}">{cap}</figure>'
            )
        body.append("</section>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
        f"<body>{''.join(body)}</body></html>\n"
    )


def write_report(
    out_dir: str | Path, status: str | None = None, pm=None
) -> tuple[list[ReportSection], dict[str, Path]]:
    """Build the report of the run in ``out_dir`` and write ``report.html`` and ``report.md`` there
    (atomically); return the sections and the files."""
    import shutil

    run = run_info(out_dir, status, pm)
    sections = collect_sections(run, pm)
    title = f"augkit report: {run.recipe.get('run', {}).get('name') or run.out_dir.name}"
    files_dir = run.out_dir / "report_files"
    if files_dir.exists():
        shutil.rmtree(files_dir)
    md = render_markdown(sections, title, files_dir)
    atomic_write_text(run.out_dir / "report.md", md)
    atomic_write_text(run.out_dir / "report.html", render_html(sections, title))
    return sections, {"html": run.out_dir / "report.html", "md": run.out_dir / "report.md"}


def terminal_tables(sections: list[ReportSection]) -> list:
    """rich Tables of the sections marked ``terminal`` (what ``augkit run`` prints at the end)."""
    from rich.table import Table

    tables = []
    for sec in sections:
        if not sec.terminal:
            continue
        for t in sec.tables:
            table = Table(title=t.caption or sec.title)
            keep = [i for i, c in enumerate(t.columns) if t.terminal_columns is None or c in t.terminal_columns]
            for i in keep:
                table.add_column(str(t.columns[i]))
            for row in t.rows:
                table.add_row(*[re.sub(r"\*\*(.+?)\*\*", r"\1", str(row[i])) for i in keep])
            tables.append(table)
    return tables
