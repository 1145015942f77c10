"""The README's main command, recipes/demo.toml, in its smallest configuration: the same recipe (every
stage, both tasks) on a small benchmark file and few steps, run from the command line as a user runs it."""
import json
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "recipes" / "demo.toml"
ARMS = {"NER": ["zero-shot", "MultiMix", "MultiMix, Dai & Adel", "X-Mixup", "translate-train"],
        "NLI": ["zero-shot", "MultiMix", "X-Mixup", "translate-train"]}
GAINS = {"NER": [("MultiMix", "zero-shot"), ("MultiMix", "MultiMix, Dai & Adel"), ("X-Mixup", "translate-train")],
         "NLI": [("MultiMix", "zero-shot"), ("X-Mixup", "translate-train")]}

SMALL_BENCHMARK = (ROOT / "recipes" / "data" / "synthetic" / "demo.toml").read_text().split("[ner]")[0] + """
[ner]
train = 120
dev = 40
test = 60
unlabelled = 80
[nli]
train = 120
dev = 40
test = 60
unlabelled = 80
[text]
sentences = 300
""" + "[languages" + (ROOT / "recipes" / "data" / "synthetic" / "demo.toml").read_text().split("[languages", 1)[1]


def smallest(benchmark: Path) -> list[str]:
    """--set overrides that shrink the demo: the small benchmark, 2 models per arm, few steps."""
    recipe = tomllib.loads(DEMO.read_text())
    sets = [f"data.{name}.path={benchmark}" for name in recipe["data"]]
    sets += ["stages.pretrain.params.max_steps=80", "stages.pretrain.params.batch_size=16"]
    for task in ("ner", "nli"):
        sets += [f"stages.{task}_zero_shot.params.n_models=2", f"stages.{task}_zero_shot.params.max_steps=60",
                 f"stages.{task}_zero_shot.params.eval_steps=30",
                 f"stages.{task}_multimix.params.train_epochs=0.5", f"stages.{task}_multimix.params.eval_steps=10",
                 f"stages.{task}_xmixup.params.n_models=2", f"stages.{task}_xmixup.params.max_steps=12",
                 f"stages.{task}_xmixup.params.eval_steps=6", f"stages.{task}_xmixup.params.batch_size=16"]
    sets += ["stages.ner_multimix_simple.params.train_epochs=0.5", "stages.ner_multimix_simple.params.eval_steps=10"]
    return [x for s in sets for x in ("--set", s)]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from conftest import run_cli

    folder = tmp_path_factory.mktemp("demo")
    benchmark = folder / "small.toml"
    benchmark.write_text(SMALL_BENCHMARK)
    out = folder / "run"
    proc = run_cli("run", DEMO, "-o", out, *smallest(benchmark), check=0)
    return out, proc.stdout + proc.stderr


def _stage(run, name):
    return next((run / "stages").glob(f"*-{name}"))


def test_the_demo_runs_every_stage_and_prints_one_comparison_table_per_task(demo_run):
    out, printed = demo_run
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed"
    assert len(results["stages"]) == len(tomllib.loads(DEMO.read_text())["stages"])
    for task, metric in (("NER", "F1"), ("NLI", "accuracy")):
        table = printed.split(f"{task}: target-language test {metric} x 100")[1].split("gain =")[0]
        for arm in ARMS[task]:
            assert arm in table
        assert "xa" in table and "xb" in table and "average" in table
        comparison = json.loads((_stage(out, f"{task.lower()}_compare") / "comparison.json").read_text())
        assert comparison["metric"] == metric and comparison["languages"] == ["xa", "xb"]
        assert list(comparison["arms"]) == ARMS[task]
        assert [(g["method"], g["baseline"]) for g in comparison["gains"]] == GAINS[task]


def test_the_comparison_holds_the_scores_each_stage_measured(demo_run):
    out, _ = demo_run
    for task in ("ner", "nli"):
        arms = json.loads((_stage(out, f"{task}_compare") / "comparison.json").read_text())["arms"]
        warmup = json.loads((_stage(out, f"{task}_zero_shot") / "warmup.json").read_text())
        coteach = json.loads((_stage(out, f"{task}_multimix") / "results.json").read_text())
        xmixup = json.loads((_stage(out, f"{task}_xmixup") / "results.json").read_text())
        for lang in ("xa", "xb"):
            assert arms["zero-shot"]["languages"][lang]["models"] == warmup["zero_shot_test"][lang]["models"]
            assert arms["MultiMix"]["languages"][lang]["models"] == coteach["languages"][lang]["test"]["models"]
            assert arms["X-Mixup"]["languages"][lang]["models"] == xmixup["languages"][lang]["models"]
            assert arms["translate-train"]["languages"][lang]["models"] == xmixup["baseline"][lang]["models"]
            assert len(arms["X-Mixup"]["languages"][lang]["models"]) == 2
            if task == "ner":
                simple = json.loads((_stage(out, "ner_multimix_simple") / "results.json").read_text())
                assert arms["MultiMix, Dai & Adel"]["languages"][lang]["models"] == \
                    simple["languages"][lang]["test"]["models"]
        gain = json.loads((_stage(out, f"{task}_compare") / "comparison.json").read_text())["gains"][0]
        assert gain["gap"] == pytest.approx(arms["MultiMix"]["average"]["mean"] - arms["zero-shot"]["average"]["mean"])


def test_every_later_stage_uses_the_models_made_in_the_run(demo_run):
    out, _ = demo_run
    pretrained = str(_stage(out, "pretrain") / "models")
    for name in ("ner_zero_shot", "ner_gen_source", "nli_gen_target", "nli_xmixup"):
        manifest = json.loads((_stage(out, name) / "manifest.json").read_text())
        assert pretrained in json.dumps(manifest["params"]["model"]), name
    stats = json.loads((out / "results.json").read_text())["stages"]["pretrain"]
    assert stats["masked_accuracy_after"] > stats["masked_accuracy_before"]
    # even this small, the NER models learn the source language from the pretrained encoder
    assert min(json.loads((_stage(out, "ner_zero_shot") / "warmup.json").read_text())["source_dev"]) > 0.15


def test_the_report_shows_both_comparisons_with_their_plots(demo_run):
    out, _ = demo_run
    md = (out / "report.md").read_text()
    for task in ("NER", "NLI"):
        section = md.split(f"## Comparison: {task}")[1].split("\n## ")[0]
        assert "| zero-shot |" in section and "| X-Mixup |" in section and "![" in section
    assert md.index("## Comparison: NER") < md.index("## Comparison: NLI")
    # each task's MultiMix results sit beside the zero-shot of the warm-up stage they started from
    for task in ("ner", "nli"):
        section = md.split(f"## MultiMix results ({task}_multimix)")[1].split("\n## ")[0]
        zero = json.loads((_stage(out, f"{task}_zero_shot") / "warmup.json").read_text())["zero_shot_test"]["xb"]
        assert f"{100 * zero['mean']:.1f} ± {100 * zero['std']:.1f} |" in section.split("| xb | test |")[1].split("\n")[0]
    html = (out / "report.html").read_text()
    assert html.count("Comparison: N") >= 2 and "data:image/png;base64" in html
    # the test sets' sizes beside the scores (the small benchmark has 60 test sentences per language)
    assert "| arm | xa (n=60) | xb (n=60) | average | stage |" in md.split("## Comparison: NER")[1]
    assert "| xb | test |" in md and md.split("## MultiMix results (ner_multimix)")[1].split("| xb | test |")[1] \
        .split("\n")[0].endswith("| 60 |")


def test_a_resumed_run_marks_what_it_kept_from_the_earlier_run(demo_run):
    """Last in this file: it resumes the module's run with a new comparison title."""
    from conftest import run_cli

    out, _ = demo_run
    run_cli("run", DEMO, "-o", out, "--resume", *smallest(Path(str(out.parent / "small.toml"))),
            "--set", "stages.ner_compare.params.title=NER again", check=0)
    md = (out / "report.md").read_text()
    section = md.split("## Comparison: NER again")[1].split("\n## ")[0]
    assert "| ner_zero_shot (earlier run) |" in section and "| ner_xmixup (earlier run) |" in section
    assert "done (earlier run)" in md.split("## Comparison")[0]
