"""Run reports: a run killed part-way still gets a report that says what is missing; a plugin's broken
section does not cost the report; text from data cannot inject HTML."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import augkit
from augkit import ReportSection, ReportTable, RunError, hookimpl
from augkit.report import markdown_to_html, render_html, write_report

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_killed_part_way_gets_a_report_of_what_exists(tmp_path, cli):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "augkit", "run", str(ROOT / "recipes" / "multimix_xner_tiny.toml"),
                             "-o", str(out), "--set", "stages.warmup.params.max_steps=6"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not (out / "stages" / "02-gen_source" / "_SUCCESS").exists():
            assert time.time() < deadline and proc.poll() is None, "the run ended or hung before its second stage"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "stages" / "04-coteach" / "_SUCCESS").exists()
    result = cli("report", out, check=0)
    assert "missing" in result.stdout
    md = (out / "report.md").read_text()
    # results.json said running when the process died; nobody holds the folder, so the report says interrupted
    assert "Status: **interrupted**" in md and "Missing (not run or not finished): " in md and "`coteach` (" in md
    assert "section failed" not in md
    assert "## Zero-shot baseline (warmup)" in md and "## GEN-LM examples (gen_source)" in md
    assert "## MultiMix results" not in md  # nothing to show yet, and the summary says why
    assert "<h2>Run multimix-xner-tiny</h2>" in (out / "report.html").read_text()


def test_a_folder_that_is_no_run_is_a_clear_error(tmp_path, cli):
    with pytest.raises(RunError, match="not an augkit run folder"):
        write_report(tmp_path)
    assert "not an augkit run folder (no resolved_recipe.toml)" in cli("report", tmp_path, check=2).stderr


class _Broken:
    @hookimpl
    def report_sections(self, run):
        raise ValueError("boom")


class _Fine:
    @hookimpl
    def report_sections(self, run):
        return [ReportSection("Mine", "**bold** and `code` <b>not html</b>",
                              [ReportTable(["a", "b"], [["<script>alert(1)</script>", 1.5]])], order=5)]


def test_plugin_sections_are_collected_and_a_broken_one_is_reported(tmp_path, augkit_plugin):
    augkit_plugin(_Broken(), name="broken")
    augkit_plugin(_Fine(), name="fine")
    recipe = tmp_path / "r.toml"
    recipe.write_text(f"""schema_version = 1
[run]
name = "tiny"
[data.en]
format = "conll"
path = "{ROOT / 'recipes' / 'data' / 'ner.en.dev.conll'}"
[[stages]]
name = "len"
kind = "filter"
component = "length"
inputs = {{ corpus = "en" }}
""")
    from augkit.testing import run_recipe

    run_recipe(recipe, tmp_path / "run")
    md = (tmp_path / "run" / "report.md").read_text()
    html = (tmp_path / "run" / "report.html").read_text()
    assert md.index("## Run tiny") < md.index("## Mine") < md.index("## broken: section failed")
    assert "ValueError: boom" in md
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>bold</strong> and <code>code</code> &lt;b&gt;not html&lt;/b&gt;" in html


def test_markdown_subset():
    assert markdown_to_html("a\nb\n\n- x\n- **y**") == "<p>a b</p>\n<ul><li>x</li><li><strong>y</strong></li></ul>"
    page = render_html([ReportSection("T", "t")], "title <x>")
    assert page.startswith("<!DOCTYPE html>") and "<title>title &lt;x&gt;</title>" in page


def test_the_browser_check_sees_errors_outside_requests_and_broken_images(tmp_path, augkit_browser):
    from augkit.browser import open_page

    page = tmp_path / "bad.html"
    page.write_text('<h1>Bad</h1><script>console.error("boom"); undefinedFunction();</script>'
                    '<img src="https://example.invalid/x.png"><img src="data:image/png;base64,AAAA">', encoding="utf-8")
    seen = open_page(page, browser=augkit_browser)
    assert seen.headings == ["Bad"] and "boom" in seen.console_errors
    assert any("undefinedFunction" in e for e in seen.page_errors)
    assert seen.requests == ["https://example.invalid/x.png"] and seen.images == [False, False]
