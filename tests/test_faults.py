"""Fault injection: augkit used as a careless or a hostile user would use it, through the command line in
a real process. Every refused input is one line (``error: ...``), exit code 2, no traceback, nothing left
behind (no ``*.augkit-work``, no 0-byte Arrow file) and the user's files untouched; ``--force`` deletes
only a run augkit made; one writer per run folder; results.json tells the truth; a kill or a folder made
read-only mid-run, then ``--resume``, gives what an uninterrupted run gives."""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import AUGKIT, run_cli

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "recipes" / "data"
FILTERS = ROOT / "recipes" / "filters_demo.toml"
XNLI = ROOT / "recipes" / "xmixup_xnli_tiny.toml"
CONLL = DATA / "ner.en.train.conll"


# helpers -------------------------------------------------------------------------------------------------
def refused(proc, *expected: str, code: int = 2) -> str:
    """Assert the one-line refusal: exit ``code``, no traceback, exactly one ``error:`` line holding every
    ``expected`` text; return that line."""
    assert proc.returncode == code, f"exit {proc.returncode}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for text in expected:
        assert text in errors[0], f"{text!r} not in {errors[0]!r}"
    return errors[0]


def run_parallel(*commands, **kwargs) -> list[subprocess.CompletedProcess]:
    """Run several independent ``augkit`` command lines at once (each in its own process, as
    ``run_cli`` does); their results in order."""
    procs = [subprocess.Popen([*AUGKIT, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, **kwargs) for args in commands]
    out = []
    for proc, args in zip(procs, commands):
        stdout, stderr = proc.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    return out


def snapshot(*roots: Path) -> dict[str, str]:
    """Path -> content hash (or link target) of everything under ``roots``, links not followed."""
    out = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                if p.is_symlink():
                    out[str(p)] = "-> " + os.readlink(p)
                elif p.is_file():
                    out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
                else:
                    out[str(p)] = "dir"
        if not any(k.startswith(str(root)) for k in out):
            out[str(root)] = "exists" if root.exists() else "missing"
    return out


def leftovers(folder: Path) -> list[str]:
    """What a refused command must not leave: work folders and empty Arrow files."""
    bad = [str(p) for p in folder.rglob("*.augkit-work")]
    bad += [str(p) for p in folder.rglob("*.arrow") if p.stat().st_size == 0]
    return bad


def write_recipe(folder: Path, text: str, name: str = "recipe.toml") -> Path:
    path = folder / name
    path.write_text("schema_version = 1\n" + text, encoding="utf-8")
    return path


CONLL_ENTRY = f'[data.en]\nformat = "conll"\npath = "{CONLL}"\nlang = "en"\n'
FILTER_STAGE = '[[stages]]\nname = "len"\nkind = "filter"\ncomponent = "length"\ninputs = { corpus = "en" }\n'


def _poison(folder: Path) -> None:
    """Replace the folder's safetensors weights by a pickle that would run code when unpickled."""
    (folder / "model.safetensors").unlink()
    canary = folder.parent / "PAYLOAD_RAN"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {canary}",))

    with open(folder / "pytorch_model.bin", "wb") as f:
        pickle.dump({"weight": Payload()}, f)


@pytest.fixture(scope="module")
def pickled_models(tmp_path_factory) -> dict[str, Path]:
    """Tiny models whose weights are hostile pickles: a masked LM and a tagging model."""
    from augkit import build_tiny_xlmr
    from augkit.tasks import load_task_model

    base = tmp_path_factory.mktemp("pickled")
    lines = (ROOT / "augkit" / "resources" / "tiny_corpus.txt").read_text(encoding="utf-8").splitlines()
    mlm = build_tiny_xlmr(base / "mlm", lines)
    load_task_model(str(mlm), "tagging", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC",
                                          "I-MISC"], seed=1).save(str(base / "tagger"))
    for name in ("mlm", "tagger"):
        _poison(base / name)
    return {"mlm": base / "mlm", "tagger": base / "tagger"}


def without_root_override():
    """A ``preexec_fn`` under which permission bits hold for the child even when the tests run as root
    (root ignores them): the child drops the capabilities that override them (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH, CAP_FOWNER) from its bounding set before exec. None when not root."""
    if os.geteuid() != 0:
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def drop():
        for cap in (1, 2, 3):
            if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return drop


def read_only_is_enforced(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        proc = subprocess.run([sys.executable, "-c", f"open({str(probe / 'x')!r}, 'w')"], capture_output=True,
                              preexec_fn=without_root_override())
    except OSError:
        return False
    finally:
        probe.chmod(0o755)
    return proc.returncode != 0


# --force deletes only augkit's runs ------------------------------------------------------------------------
def test_force_on_a_home_like_folder_deletes_nothing(tmp_path):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    (home / ".profile").write_text("export X=1\n")
    (home / ".ssh" / "id_ed25519").write_text("secret")
    (home / "Documents").mkdir()
    (home / "Documents" / "thesis.tex").write_text("\\section{Intro}")
    before = snapshot(home)
    # as a folder that is not a run, and as the user's real home folder ($HOME points at it)
    refused(run_cli("run", FILTERS, "-o", home, "--force"), "is not an augkit run folder", "nothing was deleted")
    (home / "augkit-run.json").write_text(json.dumps({"augkit_run": 1, "run_id": "forged"}))
    refused(run_cli("run", FILTERS, "-o", home, "--force", env={"HOME": str(home)}), "is the home folder")
    (home / "augkit-run.json").unlink()
    assert snapshot(home) == before


def test_force_on_the_working_directory_of_a_project_deletes_nothing(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "recipes", project / "recipes")
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    before = snapshot(project)
    refused(run_cli("run", "recipes/filters_demo.toml", "-o", ".", "--force", cwd=project),
            "is not an augkit run folder")
    refused(run_cli("run", "filters_demo.toml", "-o", "..", "--force", cwd=project / "recipes"),
            "is not an augkit run folder")
    assert snapshot(project) == before


def test_force_on_a_run_folder_that_holds_the_recipe_or_its_data_deletes_nothing(tmp_path):
    out = tmp_path / "run"
    run_cli("run", FILTERS, "-o", out, check=0)
    # the user keeps the recipe and its data inside the run folder, then forces a rerun into it
    shutil.copy(CONLL, out / "mine.conll")
    recipe = write_recipe(out, f'[data.en]\nformat = "conll"\npath = "mine.conll"\nlang = "en"\n' + FILTER_STAGE)
    before = snapshot(out)
    line = refused(run_cli("run", recipe, "-o", out, "--force"), "--force:", "nothing was deleted")
    assert "the recipe" in line or "input data.en" in line
    # the recipe outside, only the data inside
    outside = write_recipe(tmp_path, f'[data.en]\nformat = "conll"\npath = "{out / "mine.conll"}"\nlang = "en"\n'
                           + FILTER_STAGE)
    refused(run_cli("run", outside, "-o", out, "--force"), "holds input data.en")
    assert snapshot(out) == before


def test_force_never_follows_a_symbolic_link(tmp_path):
    target = tmp_path / "real-run"
    run_cli("run", FILTERS, "-o", target, check=0)
    link = tmp_path / "link"
    link.symlink_to(target)
    before = snapshot(target)
    refused(run_cli("run", FILTERS, "-o", link, "--force"), "is a symbolic link", "never deletes through a link")
    assert snapshot(target) == before and link.is_symlink()


def test_force_replaces_a_run_without_touching_what_its_links_point_to(tmp_path):
    out = tmp_path / "run"
    run_cli("run", FILTERS, "-o", out, check=0)
    outside = tmp_path / "corpora"
    outside.mkdir()
    (outside / "big.conll").write_text("precious\n")
    (out / "stages" / "linked").symlink_to(outside)  # a user linked a folder into the run
    first = json.loads((out / "augkit-run.json").read_text())["run_id"]
    run_cli("run", FILTERS, "-o", out, "--force", check=0)
    assert json.loads((out / "augkit-run.json").read_text())["run_id"] != first
    assert not (out / "stages" / "linked").exists()
    assert (outside / "big.conll").read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpora", "run"]  # nothing moved aside is left


def test_force_on_the_root_folder_is_refused():
    proc = run_cli("run", FILTERS, "-o", "/", "--force")
    refused(proc, "/")
    assert Path("/etc").is_dir()


def test_resume_into_a_folder_that_is_not_a_run_is_refused(tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "todo.txt").write_text("buy milk")
    before = snapshot(out)
    refused(run_cli("run", FILTERS, "-o", out, "--resume"), "--resume:", "is not an augkit run folder")
    assert snapshot(out) == before


def test_a_run_folder_of_an_earlier_augkit_is_still_recognised(tmp_path):
    out = tmp_path / "run"
    run_cli("run", FILTERS, "-o", out, check=0)
    (out / "augkit-run.json").unlink()  # as an augkit from before the marker left it
    (out / ".augkit.lock").unlink()
    run_cli("run", FILTERS, "-o", out, "--resume", check=0)
    assert json.loads((out / "augkit-run.json").read_text())["augkit_run"] == 1


def test_augment_overwrite_replaces_only_the_output_file(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("the cat sat on the mat\n" * 3)
    out = tmp_path / "out.txt"
    out.write_text("old output\n")
    sibling = tmp_path / "notes.txt"
    sibling.write_text("keep")
    foreign = tmp_path / "out.txt.augkit-work"  # a folder of that name the user made
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep too")
    args = ["augment", src, "-o", out, "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr", "--overwrite"]
    refused(run_cli(*args), "is not augkit's work folder")
    assert (foreign / "mine.txt").read_text() == "keep too" and out.read_text() == "old output\n"
    shutil.rmtree(foreign)
    run_cli(*args, check=0)
    assert out.read_text() != "old output\n" and sibling.read_text() == "keep"
    assert not foreign.exists()
    refused(run_cli("augment", src, "-o", tmp_path, "--generator", "vicinity"), "is a folder")


# one writer per run folder ------------------------------------------------------------------------------
SLOW_HOOK = """
import sys, time
from augkit import hookimpl
from augkit.plugins import get_plugin_manager
class Slow:
    @hookimpl
    def on_stage_start(self, stage):
        if stage == "unique":
            time.sleep(float(sys.argv[1]))
get_plugin_manager().register(Slow(), name="slow")
from augkit.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def test_a_second_run_on_a_folder_in_use_refuses_at_once_naming_the_holder(tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-c", SLOW_HOOK, "8", "run", str(FILTERS), "-o", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out / "stages" / "02-unique" / "fingerprint").exists():
            time.sleep(0.05)
        assert (out / "stages" / "02-unique").exists(), first.communicate()[1]
        status = json.loads((out / "results.json").read_text())
        assert status["status"] == "running" and status["pid"] == first.pid  # results.json says it is running
        for flags in ([], ["--resume"], ["--force"], ["--resume", "--set", "run.seed=6"]):
            started = time.time()
            line = refused(run_cli("run", FILTERS, "-o", out, *flags),
                           "is in use by", f"PID {first.pid}", f"on host {socket.gethostname()}")
            assert time.time() - started < 30, line
        assert first.poll() is None  # the holder was not disturbed
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed" and results["from_earlier_run"] == []
    assert "PID" not in (out / "run.log").read_text()  # the refused runs wrote nothing into the run


def test_a_lock_left_by_a_killed_run_is_taken_over_with_a_message(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_HOOK, "60", "run", str(FILTERS), "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "stages" / "02-unique" / "fingerprint").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    report = run_cli("report", out, check=0)
    assert "interrupted" in (out / "report.md").read_text(), report.stdout  # it said running; nobody runs it
    resumed = run_cli("run", FILTERS, "-o", out, "--resume", check=0)
    assert f"left by PID {proc.pid}" in resumed.stderr and "taken over" in resumed.stderr
    assert json.loads((out / "results.json").read_text())["status"] == "completed"


def test_a_second_augment_of_the_same_output_refuses_while_the_first_runs(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("".join(f"the cat number {i} sat on the mat near the door\n" for i in range(4000)))
    out = tmp_path / "out.txt"
    args = ["augment", str(src), "-o", str(out), "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr"]
    first = subprocess.Popen([*AUGKIT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        work = tmp_path / "out.txt.augkit-work"
        deadline = time.time() + 120
        while time.time() < deadline and not (work / "fingerprint").exists() and first.poll() is None:
            time.sleep(0.05)
        assert first.poll() is None, first.communicate()[1]
        refused(run_cli(*args), "work folder", "is in use by", f"PID {first.pid}")
    finally:
        first.kill()
        first.wait()
    assert not out.exists()


# results.json tells the truth ------------------------------------------------------------------------------
def test_a_failed_resume_says_failed_in_results_and_report(tmp_path):
    out = tmp_path / "run"
    recipe = write_recipe(tmp_path, CONLL_ENTRY + FILTER_STAGE
                          + '[[stages]]\nname = "xm"\nkind = "filter"\ncomponent = "dedupe"\ninputs = { corpus = "len" }\n')
    run_cli("run", recipe, "-o", out, check=0)
    assert json.loads((out / "results.json").read_text())["status"] == "completed"
    # the data changes into something unreadable between the runs
    bad = tmp_path / "bad.conll"
    bad.write_bytes(b"Word\tO\n\xff\xfe broken\tO\n")
    proc = run_cli("run", recipe, "-o", out, "--resume", "--set", f"data.en.path={bad}")
    refused(proc, str(bad), "cannot decode")
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "failed" and results["failed_stage"] == "data en" and "cannot decode" in results["error"]
    md = (out / "report.md").read_text()
    assert "Status: **failed**" in md and "cannot decode" in md
    # a resume that keeps the earlier results says so
    run_cli("run", recipe, "-o", out, "--resume", check=0)
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed" and results["from_earlier_run"] == ["len", "xm"]
    assert "done (earlier run)" in (out / "report.md").read_text()


# every refused input is one line ---------------------------------------------------------------------------
def test_a_pickled_model_is_refused_with_how_to_convert_it_on_every_path(pickled_models, tmp_path):
    pickled_model, tagger = pickled_models["mlm"], pickled_models["tagger"]
    src = tmp_path / "in.txt"
    src.write_text("the cat sat on the mat\n")
    conll = tmp_path / "in.conll"
    shutil.copy(CONLL, conll)
    before = snapshot(tmp_path, pickled_model, tagger)
    cases = [
        ("augment", src, "-o", tmp_path / "a.txt", "--generator", "vicinity", "--set", f"model={pickled_model}"),
        ("augment", conll, "-o", tmp_path / "b.conll", "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr",
         "--label-with", tagger),
        ("analyze", "cka", "--model", pickled_model, "--data", f"de={DATA / 'xmixup' / 'nli.de-en.test.tsv'}",
         "-o", tmp_path / "cka"),
    ]
    # a label stage's model input; a recipe's model parameter (then its --resume, below)
    label = write_recipe(tmp_path, CONLL_ENTRY + '[[stages]]\nname = "lab"\nkind = "label"\n'
                         f'component = "multimix-labeler"\ninputs = {{ corpus = "en", model = "{tagger}" }}\n',
                         name="label.toml")
    out = tmp_path / "run"
    args = ("run", XNLI, "-o", out, "--set", f"stages.xmixup.params.model={pickled_model}")
    cases += [("run", label, "-o", tmp_path / "run2"), args]
    for proc in run_parallel(*cases):
        refused(proc, "refuses to unpickle", "convert it once to safetensors", "model.safetensors")
    refused(run_cli(*args, "--resume"), "refuses to unpickle")
    assert json.loads((out / "results.json").read_text())["failed_stage"] == "xmixup"
    assert not (pickled_model.parent / "PAYLOAD_RAN").exists()  # never unpickled
    after = snapshot(tmp_path, pickled_model, tagger)
    assert {k: v for k, v in after.items() if k in before} == before  # the inputs are untouched
    assert leftovers(tmp_path) == []


NONSENSE = {  # override -> what its line of the refusal says
    "stages.coteach.params.alpha=inf": "stages.coteach.params.alpha: expected a finite number, got inf",
    "stages.coteach.params.train_epochs=inf": "stages.coteach.params.train_epochs: expected a finite number, got inf",
    "stages.coteach.params.learning_rate=nan": "stages.coteach.params.learning_rate: expected a finite number, got nan",
    "stages.warmup.params.learning_rate=inf": "stages.warmup.params.learning_rate: expected a finite number, got inf",
    "stages.warmup.params.n_models=1000000000": "stages.warmup.params.n_models: expected a value <= 100",
    "stages.warmup.params.train_epochs=1e300": "stages.warmup.params.train_epochs: expected a value <= 10000",
    "data.en_train.encoding=klingon": "data.en_train.encoding: unknown text encoding 'klingon'",
    "data.en_dev.encoding=base64": "data.en_dev.encoding: 'base64' is not a text encoding",
    "data.de_train.limit=-5": "data.de_train.limit: expected a number of examples >= 0",
    "data.es_train.path=/dev/zero": "data.es_train.path: /dev/zero is a character device",
}


def refused_collected(proc, expected: list[str]) -> None:
    """A recipe refused as a whole: exit 2, no traceback, one ``error:`` line saying how many problems, then
    each problem on its own line."""
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and f"{len(expected)} problems:" in lines[0], proc.stderr
    for text in expected:
        assert sum(text in l for l in lines[1:]) == 1, f"{text!r} not on one line of:\n{proc.stderr}"
    assert len(lines) == len(expected) + 1, proc.stderr


def test_nonsense_in_a_recipe_is_refused_by_validate_and_run(tmp_path):
    recipe = ROOT / "recipes" / "multimix_xner_tiny.toml"
    sets = [a for o in NONSENSE for a in ("--set", o)]
    out = tmp_path / "run"
    alone = list(NONSENSE.items())[:2]  # alone, each is the one line of the refusal
    procs = run_parallel(("validate", recipe, *sets), ("run", recipe, "-o", out, *sets),
                         *[("validate", recipe, "--set", o) for o, _ in alone])
    refused_collected(procs[0], list(NONSENSE.values()))
    refused_collected(procs[1], list(NONSENSE.values()))
    for proc, (_, expected) in zip(procs[2:], alone):
        refused(proc, expected)
    assert not out.exists()


def test_a_data_path_that_is_a_folder_fifo_or_device_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.conll"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.conll"
    folder.mkdir()
    entries = {"fifo": (fifo, "a FIFO (named pipe)"), "folder": (folder, "a folder"),
               "null": (Path("/dev/null"), "a character device")}
    recipe = write_recipe(tmp_path, "".join(f'[data.{name}]\nformat = "conll"\npath = "{path}"\nlang = "en"\n'
                                            for name, (path, _) in entries.items())
                          + FILTER_STAGE.replace('corpus = "en"', 'corpus = "fifo"'))
    expected = [f"data.{name}.path: {path} is {kind}" for name, (path, kind) in entries.items()]
    procs = run_parallel(("validate", recipe), ("run", recipe, "-o", tmp_path / "run"),
                         # augment reads its input itself
                         ("augment", fifo, "-o", tmp_path / "o.conll", "--generator", "vicinity", "--replaced-tags",
                          "keep"),
                         ("augment", "/dev/zero", "-o", tmp_path / "o.txt", "--format", "txt", "--generator",
                          "vicinity"))
    refused_collected(procs[0], expected)
    refused_collected(procs[1], expected)
    refused(procs[2], "FIFO")
    refused(procs[3], "character device")
    assert leftovers(tmp_path) == [] and not (tmp_path / "run").exists()


def test_an_unknown_encoding_is_refused_before_reading(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("the cat sat\n")
    read, write = run_parallel(
        ("augment", src, "-o", tmp_path / "o.txt", "--generator", "vicinity", "--read-opt", "encoding=utf-99"),
        ("augment", src, "-o", tmp_path / "o.txt", "--generator", "vicinity", "--write-opt", "encoding=klingon"))
    refused(read, "unknown text encoding 'utf-99'")
    refused(write, "unknown text encoding 'klingon'")
    assert leftovers(tmp_path) == [] and not (tmp_path / "o.txt").exists()


def test_a_huge_single_line_is_refused_with_the_limit_not_a_crash(tmp_path):
    src = tmp_path / "huge.txt"
    with open(src, "wb") as f:
        f.write(b"word " * (10 << 20))  # 50 MB, no newline
    before = snapshot(tmp_path)
    line = refused(run_cli("augment", src, "-o", tmp_path / "o.txt", "--generator", "vicinity",
                           "--set", "model=augkit:tiny-xlmr"), f"{src}:1:", "line longer than 1048576 bytes",
                   "max_line_bytes")
    assert "max_line_bytes" in line
    assert snapshot(tmp_path) == before and leftovers(tmp_path) == []


def test_a_data_error_leaves_no_empty_arrow_file(tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("Word\tO\nsecond\n")  # the second line has no tag column
    recipe = write_recipe(tmp_path, f'[data.en]\nformat = "conll"\npath = "{bad}"\nlang = "en"\n' + FILTER_STAGE)
    out = tmp_path / "run"
    refused(run_cli("run", recipe, "-o", out), f"{bad}:2:")
    assert leftovers(out) == [] and not (out / "data" / "en").exists()
    assert json.loads((out / "results.json").read_text())["status"] == "failed"


def test_mixup_layer_outside_the_model_is_refused_before_anything_runs(tmp_path):
    cases = (("0", "expected a value >= 1"), ("99", "expected 1..2 (the model augkit:tiny-xlmr-trained has 2 layers)"))
    procs = run_parallel(*[cmd for value, _ in cases for cmd in (
        ("validate", XNLI, "--set", f"stages.xmixup.params.mixup_layer={value}"),
        ("run", XNLI, "-o", tmp_path / "run", "--set", f"stages.xmixup.params.mixup_layer={value}"))])
    for proc, expected in zip(procs, [e for _, e in cases for _ in (0, 1)]):
        refused(proc, expected)
    assert not (tmp_path / "run").exists()


def test_force_into_a_folder_that_cannot_be_written_is_one_line(tmp_path):
    if not read_only_is_enforced(tmp_path):
        pytest.skip("this machine cannot make a folder read-only for a child process")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    kw = dict(capture_output=True, text=True, preexec_fn=without_root_override(), timeout=600)
    try:
        refused(subprocess.run([*AUGKIT, "run", str(FILTERS), "-o", str(ro / "run"), "--force"], **kw),
                "cannot be created", "Permission denied")
        refused(subprocess.run([*AUGKIT, "augment", str(CONLL), "-o", str(ro / "o.conll"), "--generator",
                                "vicinity", "--replaced-tags", "keep"], **kw), "cannot be written")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


# UTF-16/32 -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le"])
def test_utf16_and_utf32_files_read_correctly(encoding, tmp_path):
    from augkit import read

    text = CONLL.read_text(encoding="utf-8").replace("\n", "\r\n" if encoding == "utf-16" else "\n")
    path = tmp_path / "in.conll"
    path.write_bytes(text.encode(encoding))
    got, expected = list(read(str(path), "conll", encoding=encoding)), list(read(str(CONLL), "conll"))
    assert [(ex.tokens, ex.tags) for ex in got] == [(ex.tokens, ex.tags) for ex in expected] and len(got) > 10
    if encoding == "utf-16":  # and through a recipe run, as a user would
        recipe = write_recipe(tmp_path, f'[data.en]\nformat = "conll"\npath = "{path}"\nlang = "en"\n'
                              f'encoding = "{encoding}"\n' + FILTER_STAGE)
        run_cli("run", recipe, "-o", tmp_path / "run", check=0)
        assert json.loads((tmp_path / "run" / "results.json").read_text())["stages"]["len"]["total"] == len(expected)
    assert leftovers(tmp_path) == []


# interrupted runs resume to the same result ---------------------------------------------------------------------
KILLER = """
import os, signal, sys
point = sys.argv[1]
import transformers
if point == "mid-training":  # inside the first model's training, after 5 optimizer steps
    step = transformers.Trainer.training_step
    calls = []
    def training_step(self, *a, **k):
        calls.append(1)
        if len(calls) == 6:
            os.kill(os.getpid(), signal.SIGKILL)
        return step(self, *a, **k)
    transformers.Trainer.training_step = training_step
from augkit import hookimpl
from augkit.plugins import get_plugin_manager
class Killer:
    @hookimpl
    def on_stage_start(self, stage):
        if (point, stage) in (("stage-start", "xmixup"), ("next-stage", "cka")):
            os.kill(os.getpid(), signal.SIGKILL)
get_plugin_manager().register(Killer(), name="killer")
from augkit.cli import main
main(sys.argv[2:])
"""
XNLI_FAST = ["--set", "stages.xmixup.params.baseline=false"]


def _weights(run: Path) -> dict[str, dict]:
    from safetensors.torch import load_file

    stage = run / "stages" / "01-xmixup"
    return {str(p.relative_to(stage)): load_file(p) for p in sorted(stage.rglob("*.safetensors"))}


def assert_close_tree(a, b, where: str = "") -> None:
    """``a == b`` for nested dicts and lists, floats compared up to summation order (see below)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_close_tree(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close_tree(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-6), where
    else:
        assert a == b, where


def assert_same_training(a: Path, b: Path) -> None:
    """The two runs trained the same models: the same files, tensors and step counts, equal up to float
    summation order. CPU kernels may sum in another order from one process to the next (a CI machine
    once gave a scalar 7e-9 apart), while a resume that skipped, repeated or reordered a step, or lost
    the optimiser or random state, moves weights by orders of magnitude more than this tolerance."""
    import torch

    wa, wb = _weights(a), _weights(b)
    assert wa and sorted(wa) == sorted(wb)
    for name in wa:
        assert sorted(wa[name]) == sorted(wb[name]), name
        for key in wa[name]:
            torch.testing.assert_close(wa[name][key], wb[name][key], rtol=1e-5, atol=1e-6, msg=f"{name}: {key}")


@pytest.fixture(scope="module")
def xnli_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("xnli-ref") / "run"
    run_cli("run", XNLI, "-o", out, *XNLI_FAST, check=0)
    return out


@pytest.mark.parametrize("point", ["stage-start", "mid-training", "next-stage"])
def test_xmixup_killed_then_resumed_equals_an_uninterrupted_run(point, xnli_reference, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", KILLER, point, "run", str(XNLI), "-o", str(out), *XNLI_FAST],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert json.loads((out / "results.json").read_text())["status"] == "running"
    run_cli("run", XNLI, "-o", out, "--resume", *XNLI_FAST, check=0)
    stage, ref = out / "stages" / "01-xmixup", xnli_reference / "stages" / "01-xmixup"
    a, b = json.loads((stage / "results.json").read_text()), json.loads((ref / "results.json").read_text())
    assert a["languages"] == b["languages"] and a["models"].keys() == b["models"].keys()
    assert_close_tree(a["models"], b["models"])
    assert_same_training(out, xnli_reference)
    cka = [{m: v["cka"] for m, v in json.loads((run / "stages" / "02-cka" / "cka.json").read_text())["models"].items()}
           for run in (out, xnli_reference)]
    assert cka[0] and assert_close_tree(cka[0], cka[1]) is None
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed"
    assert results["from_earlier_run"] == (["xmixup"] if point == "next-stage" else [])


READ_ONLY_MIDWAY = """
import os, sys
from augkit import hookimpl
from augkit.plugins import get_plugin_manager
class ReadOnly:
    @hookimpl
    def on_stage_start(self, stage, out_dir):
        if stage == "unique":  # the disk (or an admin) makes the run read-only under the running process
            for folder in (out_dir, os.path.dirname(out_dir), os.path.dirname(os.path.dirname(out_dir))):
                os.chmod(folder, 0o555)
get_plugin_manager().register(ReadOnly(), name="read-only")
from augkit.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_a_folder_made_read_only_mid_run_fails_in_one_line_and_resumes_identically(tmp_path):
    if not read_only_is_enforced(tmp_path):
        pytest.skip("this machine cannot make a folder read-only for a child process")
    ref, out = tmp_path / "ref", tmp_path / "run"
    kw = dict(capture_output=True, text=True, preexec_fn=without_root_override(), timeout=600)
    try:
        assert subprocess.run([*AUGKIT, "run", str(FILTERS), "-o", str(ref)], **kw).returncode == 0
        proc = subprocess.run([sys.executable, "-c", READ_ONLY_MIDWAY, "run", str(FILTERS), "-o", str(out)], **kw)
        refused(proc, "Permission denied")
        for folder in (out, out / "stages", out / "stages" / "02-unique"):
            folder.chmod(0o755)
        assert not (out / "stages" / "02-unique" / "_SUCCESS").exists()
        resumed = subprocess.run([*AUGKIT, "run", str(FILTERS), "-o", str(out), "--resume"], **kw)
        assert resumed.returncode == 0, resumed.stderr
        for rel in ("stages/01-by_length/data/data-00000.arrow", "stages/02-unique/data/data-00000.arrow",
                    "data/en_train/data-00000.arrow"):
            assert (out / rel).read_bytes() == (ref / rel).read_bytes(), rel
        results = json.loads((out / "results.json").read_text())
        assert results["status"] == "completed" and results["from_earlier_run"] == ["by_length"]
    finally:
        for folder in (out, out / "stages", out / "stages" / "02-unique"):
            if folder.exists():
                folder.chmod(0o755)
