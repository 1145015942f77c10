"""`augkit augment` with the vicinity generator on a CoNLL file and an NLI TSV, and inside a recipe."""
import json

import augkit
from augkit import Corpus


def test_augment_conll_with_vicinity(cli, tmp_path, data_dir):
    out = tmp_path / "aug.conll"
    proc = cli("augment", data_dir / "ner.de.dev.conll", "-o", out, "--generator", "vicinity", "--lang", "de",
               "--set", "model=augkit:tiny-xlmr", "--set", "samples_per_input=2", "--set", "mask_ratio=0.3",
               "--replaced-tags", "none", check=0)
    assert "6 inputs -> 12 new examples" in proc.stderr and "sentences/s" in proc.stderr
    src = list(augkit.read(data_dir / "ner.de.dev.conll"))
    # --replaced-tags none: the new sentences are written untagged (words only)
    got = list(augkit.read(out, "conll"))
    assert len(got) == 12 and [len(e.tokens) for e in got] == [len(s.tokens) for s in src for _ in range(2)]
    assert not out.with_name(out.name + ".augkit-work").exists()


def test_augment_nli_tsv_keeps_labels_and_jsonl_keeps_provenance(cli, tmp_path, data_dir):
    out = tmp_path / "aug.tsv"
    cli("augment", data_dir / "nli.de.dev.tsv", "-o", out, "--generator", "vicinity",
        "--set", "model=augkit:tiny-xlmr", "--set", "mode=successive_cross", "--set", "cross_samples=[2, 2]",
        "--include-original", check=0)
    rows = list(augkit.read(out, "tsv"))
    src = list(augkit.read(data_dir / "nli.de.dev.tsv"))
    assert len(rows) == len(src) * 5 and [r.label for r in rows[:5]] == [src[0].label] * 5
    js = tmp_path / "aug.jsonl"
    cli("augment", data_dir / "nli.de.dev.tsv", "-o", js, "--generator", "vicinity", "--set", "model=augkit:tiny-xlmr",
        check=0)
    first = json.loads(js.read_text().splitlines()[0])
    assert first["source_id"] == src[0].id and first["component"] == "vicinity" and first["meta"]["replaced_a"]


def test_augment_bad_parameter_and_bad_model_are_clear(cli, tmp_path, data_dir):
    proc = cli("augment", data_dir / "ner.de.dev.conll", "-o", tmp_path / "x.conll", "--generator", "vicinity",
               "--set", "mask_ratio=2", check=2)
    assert "vicinity.mask_ratio: expected a value <= 1, got 2.0" in proc.stderr
    proc = cli("augment", data_dir / "ner.de.dev.conll", "-o", tmp_path / "x.conll", "--generator", "vicinity",
               "--set", f"model={tmp_path}", "--replaced-tags", "keep", check=2)
    assert "not a model folder" in proc.stderr and not (tmp_path / "x.conll").exists()
    assert not (tmp_path / "x.conll.augkit-work").exists()  # the model is loaded before any work starts


def test_vicinity_stage_in_a_recipe_resumes_and_matches_the_python_api(tmp_path, data_dir):
    from augkit.recipe import load_recipe
    from augkit.runner import Runner
    from augkit_vicinity import VicinityGenerator

    recipe = tmp_path / "r.toml"
    recipe.write_text(f"""schema_version = 1
[run]
seed = 3
[data.en]
format = "conll"
path = "{data_dir / 'ner.en.train.conll'}"
lang = "en"
[data.de]
format = "conll"
path = "{data_dir / 'ner.de.train.conll'}"
lang = "de"
drop_labels = true
[[stages]]
name = "vicinity"
kind = "generate"
component = "vicinity"
inputs = {{ corpus = ["en", "de"] }}
params = {{ model = "augkit:tiny-xlmr", samples_per_input = 2 }}
options = {{ shard_size = 8, batch_size = 5 }}
""")
    out = tmp_path / "out"
    Runner(load_recipe(recipe), out, interactive=False).run()
    corpus = Corpus.load(out / "stages" / "01-vicinity" / "data")
    assert corpus.languages == ["de", "en"] and len(corpus) == 2 * (28 + 12)
    stats = json.loads((out / "stages" / "01-vicinity" / "stats.json").read_text())
    assert stats["shards"] == 5 and stats["outputs"] == 80
    inputs = list(Corpus.load(out / "data" / "en")) + list(Corpus.load(out / "data" / "de"))
    direct = augkit.augment(VicinityGenerator(model="augkit:tiny-xlmr", samples_per_input=2), 
        inputs, seed=augkit.derive_seed(3, "vicinity"))
    assert list(corpus) == direct


def test_torchrun_two_processes_give_the_one_process_output(tmp_path, data_dir):
    """A real multi-process launch: each rank takes its shards, rank 0 assembles; identical bytes."""
    import os
    import subprocess
    import sys

    args = ["augment", str(data_dir / "ner.en.train.conll"), "--generator", "vicinity", "--set",
            "model=augkit:tiny-xlmr", "--set", "samples_per_input=2", "--batch-size", "3", "--seed", "5",
            "--shard-size", "5", "--replaced-tags", "unknown"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = tmp_path / "one.jsonl"
    subprocess.run([sys.executable, "-m", "augkit", *args, "-o", str(one)], check=True, env=env, capture_output=True)
    two = tmp_path / "two.jsonl"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "augkit", *args, "-o", str(two)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # 6 shards of 5: rank 0 takes shards 0, 2, 4 (15 sentences), rank 1 shards 1, 3, 5 (13)
    assert "done, 15 sentences" in proc.stderr and "done, 13 sentences" in proc.stderr
    assert two.read_bytes() == one.read_bytes() and len(one.read_text().splitlines()) == 56


def test_torchrun_recipe_generate_stage_matches_one_process(tmp_path, data_dir):
    import os
    import subprocess
    import sys

    recipe = tmp_path / "r.toml"
    recipe.write_text(f"""schema_version = 1
[data.en]
format = "conll"
path = "{data_dir / 'ner.en.train.conll'}"
[[stages]]
name = "vicinity"
kind = "generate"
component = "vicinity"
inputs = {{ corpus = "en" }}
params = {{ model = "augkit:tiny-xlmr", samples_per_input = 2 }}
options = {{ shard_size = 4, batch_size = 3 }}
""")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "augkit", "run", str(recipe), "-o", str(tmp_path / "one")], check=True,
                   env=env, capture_output=True)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "augkit", "run", str(recipe), "-o", str(tmp_path / "two")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = tmp_path / "one" / "stages" / "01-vicinity" / "data"
    b = tmp_path / "two" / "stages" / "01-vicinity" / "data"
    assert sorted(p.name for p in b.glob("shard-*.arrow")) == [f"shard-{k:05d}.arrow" for k in range(7)]
    assert all((a / p.name).read_bytes() == p.read_bytes() for p in b.glob("shard-*.arrow"))
    assert list(Corpus.load(a)) == list(Corpus.load(b))
