"""Recipe validation happens before anything heavy, and every error names file, key and expectation."""
import dataclasses
from pathlib import Path

import pytest

from augkit import RecipeError
from augkit.recipe import apply_overrides, load_recipe

ROOT = Path(__file__).resolve().parents[1]

BASE = """schema_version = 1
[run]
seed = 3
[data.en]
format = "conll"
path = "{data}/ner.en.train.conll"
lang = "en"
[[stages]]
name = "short"
kind = "filter"
component = "length"
inputs = {{ corpus = "en" }}
params = {{ max_words = 12 }}
"""


def recipe(tmp_path, data_dir, text=BASE, **fmt):
    p = tmp_path / "r.toml"
    p.write_text(text.format(data=data_dir, **fmt))
    return p


def error(path, overrides=()):
    with pytest.raises(RecipeError) as e:
        load_recipe(path, list(overrides))
    return str(e.value)


def test_every_shipped_recipe_validates():
    recipes = sorted((ROOT / "recipes").glob("*.toml"))
    assert recipes
    for path in recipes:
        plan = load_recipe(path)
        assert plan.stages, path


def test_valid_recipe_gives_a_plan_with_absolute_paths_and_typed_params(tmp_path, data_dir):
    plan = load_recipe(recipe(tmp_path, data_dir))
    assert plan.run.seed == 3 and plan.stages[0].params.max_words == 12
    assert Path(plan.raw["data"]["en"]["path"]).is_absolute()


def test_toml_syntax_error_gives_line_and_column(tmp_path, data_dir):
    p = recipe(tmp_path, data_dir, BASE.replace("seed = 3", "seed = = 3"))
    msg = error(p)
    assert msg.startswith(f"{p}:3:") and "TOML syntax error" in msg


def test_unknown_key_has_full_path_and_did_you_mean(tmp_path, data_dir):
    msg = error(recipe(tmp_path, data_dir, BASE.replace("max_words", "max_wrods")))
    assert "stages.short.params.max_wrods: unknown parameter" in msg and 'did you mean "max_words"' in msg
    msg = error(recipe(tmp_path, data_dir, BASE.replace("seed = 3", "sed = 3")))
    assert "run.sed" in msg and 'did you mean "seed"' in msg
    msg = error(recipe(tmp_path, data_dir, BASE.replace('lang = "en"', 'lang = "en"\nencodng = "utf-8"')))
    assert "data.en.encodng" in msg and 'did you mean "encoding"' in msg


def test_wrong_type_names_key_and_expected_type(tmp_path, data_dir):
    msg = error(recipe(tmp_path, data_dir, BASE.replace("max_words = 12", 'max_words = "twelve"')))
    assert "stages.short.params.max_words: expected integer, got string 'twelve'" in msg
    msg = error(recipe(tmp_path, data_dir, BASE.replace("seed = 3", "seed = 3.5")))
    assert "run.seed: expected integer, got float 3.5" in msg


def test_unknown_component_lists_installed_ones(tmp_path, data_dir):
    msg = error(recipe(tmp_path, data_dir, BASE.replace('component = "length"', 'component = "lenght"')))
    assert "unknown filter 'lenght'" in msg and 'did you mean "length"' in msg and "basic:length" in msg


def test_missing_input_path_and_bad_references(tmp_path, data_dir):
    msg = error(recipe(tmp_path, data_dir, BASE.replace("ner.en.train.conll", "missing.conll")))
    assert "data.en.path: input file not found" in msg and "missing.conll" in msg
    msg = error(recipe(tmp_path, data_dir, BASE.replace('corpus = "en"', 'corpus = "de"')))
    assert "stages.short.inputs.corpus: unknown reference 'de'" in msg


def test_schema_version_is_required(tmp_path, data_dir):
    assert "schema_version: missing" in error(recipe(tmp_path, data_dir, BASE.replace("schema_version = 1", "")))
    assert "expected 1, got 7" in error(recipe(tmp_path, data_dir, BASE.replace("schema_version = 1", "schema_version = 7")))


def test_overrides_by_stage_name_and_index_are_validated(tmp_path, data_dir):
    p = recipe(tmp_path, data_dir)
    assert load_recipe(p, ["stages.short.params.max_words=5"]).stages[0].params.max_words == 5
    assert load_recipe(p, ["stages.0.params.min_words=2", "run.seed=13"]).run.seed == 13
    assert 'did you mean "max_words"' in error(p, ["stages.short.params.max_word=5"])
    assert "no stage named 'shrt'" in error(p, ["stages.shrt.params.max_words=5"])
    raw = apply_overrides({"a": {"b": 1}}, ["a.b=[1, 2]", "a.c=hello world"])
    assert raw == {"a": {"b": [1, 2], "c": "hello world"}}


def test_validate_command_accepts_good_and_rejects_bad_recipes(tmp_path, data_dir, cli):
    good = recipe(tmp_path, data_dir)
    assert "ok" in cli("validate", good, check=0).stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.format(data=data_dir).replace("max_words", "maxwords"))
    proc = cli("validate", bad, check=2)
    assert proc.stderr.startswith("error: ") and "stages.short.params.maxwords" in proc.stderr


def test_a_recipe_with_three_mistakes_reports_all_three(tmp_path):
    from augkit import RecipeError

    recipe = ROOT / "recipes" / "multimix_xner_tiny.toml"
    with pytest.raises(RecipeError) as e:
        load_recipe(recipe, ["data.en_train.lnag=en", "stages.warmup.params.n_modles=3",
                             "stages.coteach.params.eta=[0.8, 2.0, 1.0]"])
    assert len(e.value.problems) == 3
    text = str(e.value)
    assert "3 problems" in text and "data.en_train.lnag" in text and "n_modles" in text and "eta" in text


def test_params_constructed_directly_are_validated_like_a_recipes():
    from augkit import ParamError
    from augkit_vicinity import VicinityParams

    with pytest.raises(ParamError, match=r"VicinityParams\.mask_ratio: expected a value <= 1"):
        VicinityParams(mask_ratio=5.0)
    with pytest.raises(ParamError, match=r"VicinityParams\.samples_per_input: expected integer"):
        VicinityParams(samples_per_input="three")
    assert VicinityParams(mask_ratio=0.5).mask_ratio == 0.5


def test_a_params_check_uses_the_registry_it_is_given():
    from augkit import Distiller, ParamError, Params, build_params, param
    from augkit.plugins import PluginManager
    from augkit.testing import plugin_with
    from augkit_multimix.coteach import CoTeachParams

    @dataclasses.dataclass
    class KeepParams(Params):
        keep: float = param(0.5, gt=0, le=1)

    class MyDistiller(Distiller):
        name = "my-distiller"
        Params = KeepParams
        threshold = "keep"

    pm = PluginManager()
    pm.register(plugin_with(MyDistiller), name="mine")
    params = build_params(CoTeachParams, {"distiller": "my-distiller"}, resolve=pm.resolve)
    assert params.distiller == "my-distiller"
    with pytest.raises(ParamError, match="unknown filter 'my-distiller'"):  # not in the process-wide registry
        build_params(CoTeachParams, {"distiller": "my-distiller"})


def test_co_teaching_takes_only_a_distiller_and_sets_only_its_threshold():
    """The distiller contract: co-teaching's eta sets, epoch by epoch, the parameter the distiller names as
    its threshold, validated as that parameter; a filter that is no distiller is refused with why."""
    from augkit import Distiller, ParamError, build_params
    from augkit_multimix.coteach import CoTeachParams

    def coteach(**raw):
        return build_params(CoTeachParams, raw, where="stages.coteach.params")

    assert coteach(distiller="gmm", eta=[0.5, 0.6, 0.7]).eta == [0.5, 0.6, 0.7]
    with pytest.raises(ParamError, match=r"'agreement' is a filter but not a distiller"):
        coteach(distiller="agreement")
    with pytest.raises(ParamError, match=r"'length' is a filter but not a distiller"):
        coteach(distiller="length")
    # gmm's threshold is its posterior threshold (< 1): the confidence schedule's 1.0 is no value for it
    with pytest.raises(ParamError, match=r"eta\[1\] \(sets gmm.posterior_threshold\).*expected a value < 1"):
        coteach(distiller="gmm")
    with pytest.raises(ParamError, match=r"eta\[0\] \(sets confidence.eta\).*expected a value > 0"):
        coteach(eta=[0.0, 1.0, 1.0])
    with pytest.raises(ParamError, match=r"distiller_params.posterior_threshold: eta sets it"):
        coteach(distiller="gmm", eta=[0.5] * 3, distiller_params={"posterior_threshold": 0.4})
    with pytest.raises(TypeError, match=r"threshold = 'eta' is not one of its parameters"):
        type("Bad", (Distiller,), {"threshold": "eta"})


def test_an_analyze_stage_is_checked_like_any_stage_and_feeds_no_other(tmp_path, data_dir):
    analyze = BASE + """[[stages]]
name = "cka"
kind = "analyze"
component = "cka"
inputs = {{ model = ["augkit:tiny-xlmr-trained"], data = ["short"] }}
params = {{ models = "every" }}
hooks = [{{ component = "xmixup-none" }}]
[[stages]]
name = "again"
kind = "filter"
component = "length"
inputs = {{ corpus = "cka" }}
"""
    msg = error(recipe(tmp_path, data_dir, analyze))
    assert "stages.cka.params.models" in msg and "'selected'" in msg and "'all'" in msg
    assert "stages.cka.hooks: only train stages take hooks" in msg
    assert ("stages.again.inputs.corpus: 'cka' is an analyze stage; its results go to the report and are no "
            "input of other stages") in msg
    good = analyze.replace('models = "every"', 'models = "all"').replace(
        'hooks = [{{ component = "xmixup-none" }}]\n', "").split("[[stages]]\nname = \"again\"")[0]
    plan = load_recipe(recipe(tmp_path, data_dir, good))
    assert [(s.name, s.kind, s.component_cls.kind) for s in plan.stages] == [("short", "filter", "filter"),
                                                                             ("cka", "analyze", "analyzer")]
    assert "kind: expected one of 'generate', 'label', 'filter', 'train', 'analyze'" in error(
        recipe(tmp_path, data_dir, good.replace('kind = "analyze"', 'kind = "analyse"')))


def test_a_recipe_with_the_retired_grad_accum_is_told_how_to_rewrite_it(tmp_path, data_dir):
    text = BASE.replace('kind = "filter"\ncomponent = "length"', 'kind = "train"\ncomponent = "multimix-warmup"') \
        .replace("{{ max_words = 12 }}", '{{ model = "augkit:tiny-xlmr", batch_size = 4, grad_accum = 5 }}') \
        .replace('{{ corpus = "en" }}', '{{ train = "en", dev = "en" }}')
    msg = error(recipe(tmp_path, data_dir, text))
    assert "stages.short.params.grad_accum: no longer a parameter" in msg
    assert "batch_size = your batch_size × grad_accum" in msg and "micro_batch_size" in msg
    fixed = text.replace("batch_size = 4, grad_accum = 5", "batch_size = 20, micro_batch_size = 4")
    plan = load_recipe(recipe(tmp_path, data_dir, fixed), [])
    assert plan.stages[0].params.batch_size == 20 and plan.stages[0].params.micro_batch_size == 4


def test_validate_names_every_missing_data_file_and_the_run_stops_naming_them_all(tmp_path, cli):
    recipe_path = ROOT / "recipes" / "xmixup_xnli_tiny.toml"
    sets = []
    for name in ("train", "de_dev", "de_test"):
        sets += ["--set", f"data.{name}.path={tmp_path / ('gone-' + name + '.jsonl')}"]
    out = cli("validate", recipe_path, *sets, check=0).stdout
    assert "ok (3 data entries" in out and "3 data files are not here yet" in out
    for name in ("train", "de_dev", "de_test"):
        assert f"data.{name}: {tmp_path / ('gone-' + name + '.jsonl')}" in out
    assert "from a hub" not in out
    run = cli("run", recipe_path, "-o", tmp_path / "run", *sets, check=2)
    assert "3 data files not found" in run.stderr and all(f"gone-{n}.jsonl" in run.stderr for n in ("train", "de_dev", "de_test"))
    import json

    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["status"] == "failed" and results["failed_stage"] == "data" and "gone-de_test" in results["error"]
    hub = cli("validate", ROOT / "recipes" / "multimix_xnli.toml", check=0).stdout
    assert "20 data entries come from a hub" in hub and "data.en_train: facebook/xnli (en, train)" in hub


def test_run_trust_remote_code_which_never_reached_a_model_is_refused_saying_where_it_goes(tmp_path, data_dir):
    msg = error(recipe(tmp_path, data_dir, BASE.replace("seed = 3", "seed = 3\ntrust_remote_code = true")))
    assert "run.trust_remote_code: no longer a parameter: it never reached a model" in msg
    assert "in the params of the stage whose model needs its own code" in msg
