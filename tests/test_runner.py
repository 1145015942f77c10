"""The runner: output layout, refusal to clobber, resume by fingerprint, atomic artefacts."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from augkit import Corpus, RunError
from augkit.recipe import load_recipe
from augkit.runner import Runner

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "recipes" / "filters_demo.toml"


def test_run_writes_the_documented_layout(tmp_path, cli):
    out = tmp_path / "run"
    cli("run", DEMO, "-o", out, check=0)
    for name in ("resolved_recipe.toml", "overrides.txt", "env.json", "run.log", "results.json"):
        assert (out / name).is_file(), name
    stage = out / "stages" / "01-by_length"
    assert (stage / "_SUCCESS").exists() and (stage / "manifest.json").exists()
    manifest = json.loads((stage / "manifest.json").read_text())
    assert manifest["params"] == {"min_words": 5, "max_words": 20} and manifest["inputs"]["corpus"]["fingerprints"][0]
    env = json.loads((out / "env.json").read_text())
    assert env["seed"] == 42 and "torch" in env["packages"] and any(p["name"] == "basic" for p in env["plugins"])
    # what the run really used, not what was asked ("auto")
    hw = env["hardware"]
    assert (hw["device"], hw["precision"], hw["precision_requested"], hw["world_size"]) == ("cpu", "fp32", "auto", 1)
    assert hw["device_name"] and hw["torch"] and hw["gpu_count"] == 0
    assert json.loads((out / "results.json").read_text())["hardware"] == hw
    assert f"ran on cpu ({hw['device_name']}), precision fp32 (asked: auto), 1 process" in (out / "report.md").read_text()
    kept = Corpus.load(out / "stages" / "02-unique" / "data")
    assert all(5 <= len(ex.tokens) <= 20 for ex in kept) and len(kept) > 0
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed" and results["stages"]["by_length"]["total"] == 28


def test_resolved_recipe_reruns_as_is(tmp_path, cli):
    out = tmp_path / "run"
    cli("run", DEMO, "-o", out, "--set", "stages.by_length.params.max_words=9", check=0)
    again = tmp_path / "again"
    cli("run", out / "resolved_recipe.toml", "-o", again, check=0)
    a = list(Corpus.load(out / "stages" / "02-unique" / "data"))
    b = list(Corpus.load(again / "stages" / "02-unique" / "data"))
    assert a == b and all(len(ex.tokens) <= 9 for ex in a)
    assert (out / "overrides.txt").read_text() == "stages.by_length.params.max_words=9\n"


def test_a_run_folder_is_refused_without_resume_or_force(tmp_path, cli):
    out = tmp_path / "run"
    cli("run", DEMO, "-o", out, check=0)
    first = json.loads((out / "augkit-run.json").read_text())["run_id"]
    proc = cli("run", DEMO, "-o", out, check=2)
    assert "is not empty" in proc.stderr and "--resume" in proc.stderr
    cli("run", DEMO, "-o", out, "--force", check=0)
    assert json.loads((out / "augkit-run.json").read_text())["run_id"] != first   # a new run in its place
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.augkit-")]  # the old one is gone


def test_a_user_folder_is_refused_even_with_force(tmp_path, cli):
    out = tmp_path / "run"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    for flags in ([], ["--resume"], ["--force"]):
        proc = cli("run", DEMO, "-o", out, *flags, check=2)
        assert "is not an augkit run folder" in proc.stderr, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    assert (out / "precious.txt").read_text() == "keep me"


def test_unwritable_output_folder_is_a_clear_error(tmp_path, cli):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = cli("run", DEMO, "-o", blocker / "sub", check=2)
    assert "cannot be created: Not a directory" in proc.stderr


def test_resume_skips_unchanged_stages_and_redoes_changed_ones(tmp_path):
    out = tmp_path / "run"
    Runner(load_recipe(DEMO), out, interactive=False).run()
    first = (out / "stages" / "02-unique" / "_SUCCESS").stat().st_mtime_ns
    time.sleep(0.01)
    Runner(load_recipe(DEMO), out, resume=True, interactive=False).run()
    assert (out / "stages" / "02-unique" / "_SUCCESS").stat().st_mtime_ns == first
    plan = load_recipe(DEMO, ["stages.by_length.params.max_words=8"])
    Runner(plan, out, resume=True, interactive=False).run()
    # the changed stage and everything downstream were redone
    assert (out / "stages" / "02-unique" / "_SUCCESS").stat().st_mtime_ns != first
    assert all(len(ex.tokens) <= 8 for ex in Corpus.load(out / "stages" / "02-unique" / "data"))


def test_resume_and_force_together_are_refused(tmp_path):
    with pytest.raises(RunError, match="exclude each other"):
        Runner(load_recipe(DEMO), tmp_path / "x", resume=True, force=True)


def test_a_stage_killed_midway_is_not_trusted_on_resume(tmp_path):
    """Kill a run inside a stage: no _SUCCESS is left, and --resume redoes that stage."""
    out = tmp_path / "run"
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from augkit import hookimpl
from augkit.plugins import get_plugin_manager
class Killer:
    @hookimpl
    def on_stage_start(self, stage):
        if stage == "unique":
            os.kill(os.getpid(), signal.SIGKILL)
get_plugin_manager().register(Killer(), name="killer")
from augkit.cli import main
main(["run", {str(DEMO)!r}, "-o", {str(out)!r}])
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    assert (out / "stages" / "01-by_length" / "_SUCCESS").exists()
    assert not (out / "stages" / "02-unique" / "_SUCCESS").exists()
    # results.json says what was true when the process died: running, with the finished stage only
    killed = json.loads((out / "results.json").read_text())
    assert killed["status"] == "running" and list(killed["stages"]) == ["by_length"]
    Runner(load_recipe(DEMO), out, resume=True, interactive=False).run()
    assert (out / "stages" / "02-unique" / "_SUCCESS").exists()
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["status"] == "completed" and resumed["from_earlier_run"] == ["by_length"]


def test_dry_run_prints_plan_and_writes_nothing(tmp_path, cli):
    out = tmp_path / "run"
    proc = cli("run", DEMO, "-o", out, "--dry-run", check=0)
    assert "schema_version = 1" in proc.stdout and "by_length: filter with length" in proc.stdout
    assert not out.exists()
