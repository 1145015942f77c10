"""Stage scores (``scores.json``) and the ``compare`` analyzer's arithmetic and errors. The analyzer inside
a real run (zero-shot, MultiMix, translate-train and X-Mixup side by side) is tested by the demo's
end-to-end test (test_demo.py)."""
import json
import statistics

import pytest

from augkit import DataError, StageScores, get_component
from augkit_analysis import compare


def _write(folder, metric, arms):
    folder.mkdir(parents=True, exist_ok=True)
    return StageScores(metric, arms).write(folder)


def test_scores_round_trip_and_the_comparison_averages_over_languages_per_model(tmp_path):
    _write(tmp_path / "02-warmup", "F1", {"zero-shot": {"xa": [0.5, 0.6, 0.7], "xb": [0.1, 0.2, 0.3]}})
    _write(tmp_path / "05-coteach", "F1", {"MultiMix": {"xa": [0.8, 0.7, 0.9], "xb": [0.3, 0.3, 0.3]}})
    scores = {"warmup": StageScores.read(tmp_path / "02-warmup"), "coteach": StageScores.read(tmp_path / "05-coteach")}
    assert scores["warmup"].arms["zero-shot"]["xb"] == [0.1, 0.2, 0.3]
    result = compare(scores)
    zs, mm = result["arms"]["zero-shot"], result["arms"]["MultiMix"]
    assert result["languages"] == ["xa", "xb"] and result["metric"] == "F1"
    assert zs["average"]["models"] == pytest.approx([0.3, 0.4, 0.5])
    assert mm["average"]["models"] == pytest.approx([0.55, 0.5, 0.6])
    assert zs["languages"]["xa"]["std"] == pytest.approx(statistics.stdev([0.5, 0.6, 0.7]))
    (gain,) = result["gains"]  # X-Mixup - translate-train: neither arm is there, so only the MultiMix gain
    assert gain["method"] == "MultiMix" and gain["baseline"] == "zero-shot"
    assert gain["gap"] == pytest.approx(0.55 - 0.4)
    assert gain["spread"] == pytest.approx(max(statistics.stdev([0.3, 0.4, 0.5]), statistics.stdev([0.55, 0.5, 0.6])))
    assert gain["clear"] is True
    flat = compare(scores, ["zero-shot - MultiMix"])["gains"][0]
    assert flat["gap"] == pytest.approx(-0.15) and flat["clear"] is False


def test_a_stage_without_scores_reads_as_none_and_bad_files_name_the_file_and_key(tmp_path):
    assert StageScores.read(tmp_path) is None
    path = tmp_path / "scores.json"
    for content, message in [("{", "cannot read scores"),
                             (json.dumps({"metric": "F1", "arms": {}}), "schema_version 1"),
                             (json.dumps({"schema_version": 1, "metric": "F1", "arms": {"X": {"xa": []}}}),
                              r"arms\.X\.xa: expected a non-empty list of numbers"),
                             (json.dumps({"schema_version": 1, "metric": "F1", "arms": {"X": {"xa": ["a"]}}}),
                              r"arms\.X\.xa")]:
        path.write_text(content)
        with pytest.raises(DataError, match=message) as e:
            StageScores.read(tmp_path)
        assert str(path) in str(e.value)


def test_comparisons_refuse_mixed_metrics_one_arm_twice_and_gains_of_absent_arms(tmp_path):
    a = StageScores("F1", {"zero-shot": {"xa": [0.5]}})
    with pytest.raises(DataError, match="different metrics.*a: F1, b: accuracy"):
        compare({"a": a, "b": StageScores("accuracy", {"X-Mixup": {"xa": [0.5]}})})
    with pytest.raises(DataError, match="arm 'zero-shot' is reported by both 'a' and 'b'"):
        compare({"a": a, "b": a})
    with pytest.raises(DataError, match="params.gains: 'X-Mixup - zero-shot': no stage reports 'X-Mixup'"):
        compare({"a": a}, ["X-Mixup - zero-shot"])
    with pytest.raises(Exception, match='is not "METHOD - BASELINE"'):
        get_component("analyzer", "compare", gains=["X-Mixup"])


def test_two_stages_with_the_same_arm_are_compared_once_one_is_renamed():
    """Two co-teaching stages (GEN-LM and Dai & Adel augmentation) both report "MultiMix": naming one
    arm by its stage makes them two rows, and a gain between them is the difference of their averages."""
    gen = StageScores("F1", {"MultiMix": {"xa": [0.6, 0.7], "xb": [0.5, 0.4]}})
    simple = StageScores("F1", {"MultiMix": {"xa": [0.5, 0.5], "xb": [0.4, 0.4]}})
    with pytest.raises(DataError, match="name one with params.arm_names"):
        compare({"gen": gen, "simple": simple})
    out = compare({"gen": gen, "simple": simple}, ["MultiMix - MultiMix, simple"],
                  {"simple": "MultiMix, simple"})
    assert list(out["arms"]) == ["MultiMix", "MultiMix, simple"]
    # per-model averages over languages: gen (0.55, 0.55), simple (0.45, 0.45)
    assert out["gains"][0]["gap"] == pytest.approx(0.10) and out["gains"][0]["clear"]
    same = compare({"gen": gen, "simple": simple}, None, {"simple:MultiMix": "MultiMix, simple"})
    assert list(same["arms"]) == ["MultiMix", "MultiMix, simple"]
    with pytest.raises(DataError, match="'other' names no compared stage"):
        compare({"gen": gen}, None, {"other": "x"})
