"""The example third-party plugin, installed with pip, is listed, runs from a recipe and from
`augkit augment`, and passes the generator contract: proof that the public API is enough."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "augkit-mention-replace"


def test_installed_plugin_is_listed(example_plugin_installed, cli):
    info = {p["name"]: p for p in json.loads(cli("plugins", "--json", check=0).stdout)}
    entry = info["mention_replace"]
    assert entry["distribution"] == "augkit-mention-replace" and entry["version"] == "0.1.0"
    assert entry["components"]["generator"][0]["name"] == "mention-replace"


def test_installed_plugin_runs_from_a_recipe(example_plugin_installed, cli, tmp_path):
    out = tmp_path / "run"
    cli("run", PLUGIN / "recipe.toml", "-o", out, check=0)
    stats = json.loads((out / "results.json").read_text())["stages"]["replaced"]
    assert stats["inputs"] == 28 and stats["outputs"] == 56 and stats["mentions_replaced"] > 0
    script = f"""
import augkit
c = augkit.Corpus.load({str(out / 'stages' / '01-replaced' / 'data')!r})
for ex in c:
    assert len(ex.tokens) == len(ex.tags) and ex.component == "mention-replace" and ex.source_id
print(sum(1 for ex in c if ex.replaced))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(proc.stdout) > 0


def test_installed_plugin_passes_the_generator_contract(example_plugin_installed, data_dir):
    script = f"""
import augkit
from augkit.testing import check_generator_contract
gen = augkit.get_component("generator", "mention-replace", mentions_path={str(data_dir / 'ner.en.train.conll')!r},
                           samples_per_input=2)
examples = list(augkit.read({str(data_dir / 'ner.en.dev.conll')!r}))
out = check_generator_contract(gen, examples)
print(len(out))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == 10  # 6 sentences x 2, less the 2 that drew the mention they had


def test_augment_command_with_the_plugin(example_plugin_installed, cli, tmp_path, data_dir):
    out = tmp_path / "aug.conll"
    proc = cli("augment", data_dir / "ner.en.dev.conll", "-o", out, "--generator", "mention-replace",
               "--set", f"mentions_path={data_dir / 'ner.en.train.conll'}", "--include-original", check=0)
    assert "6 inputs -> 5 new examples (+6 originals)" in proc.stderr and "identical_dropped=1" in proc.stderr
    text = out.read_text()
    assert text.count("\n\n") == 11
    again = cli("augment", data_dir / "ner.en.dev.conll", "-o", out, "--generator", "mention-replace",
                "--set", f"mentions_path={data_dir / 'ner.en.train.conll'}", check=2)
    assert "exists; pass --overwrite" in again.stderr and out.read_text() == text
