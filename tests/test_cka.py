"""Linear CKA (`augkit_analysis`): the formula, its invariances, streaming, and `augkit analyze cka`."""
import json

import numpy as np
import pytest

from augkit_analysis import StreamingCKA, linear_cka


def _cka_by_kernels(x, y):
    """CKA the other way round: HSIC of centred linear kernels (Gram matrices), n × n."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    return np.sum(k * l) / np.sqrt(np.sum(k * k) * np.sum(l * l))


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 12))
    y = x @ rng.normal(size=(12, 9)) + 0.5 * rng.normal(size=(60, 9))
    return x, y


def test_cka_equals_the_kernel_form_and_is_one_for_identical_inputs(xy):
    x, y = xy
    assert linear_cka(x, y) == pytest.approx(_cka_by_kernels(x, y), rel=1e-10)
    assert linear_cka(x, x) == pytest.approx(1.0, rel=1e-12)
    assert 0 < linear_cka(x, np.random.default_rng(1).normal(size=x.shape)) < linear_cka(x, y) < 1


def test_cka_is_invariant_to_isotropic_scaling_and_orthogonal_transforms(xy):
    x, y = xy
    q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(12, 12)))
    base = linear_cka(x, y)
    assert linear_cka(3.7 * x, 0.2 * y) == pytest.approx(base, rel=1e-10)
    assert linear_cka(x @ q, y) == pytest.approx(base, rel=1e-10)
    assert linear_cka(x + 5.0, y - 2.0) == pytest.approx(base, rel=1e-10)  # centred: shifts do not matter
    scaled = x * np.linspace(0.1, 3, 12)  # anisotropic scaling does change it
    assert abs(linear_cka(scaled, y) - base) > 1e-3


def test_streaming_equals_all_at_once_and_its_memory_does_not_grow(xy):
    x, y = xy
    small = StreamingCKA(12, 9)
    for start, size in ((0, 1), (1, 7), (8, 30), (38, 22)):
        small.update(x[start:start + size], y[start:start + size])
    assert small.value() == pytest.approx(linear_cka(x, y), rel=1e-9)
    assert np.allclose(small.mean_x, x.mean(0)) and np.allclose(small.mean_y, y.mean(0))
    big = StreamingCKA(12, 9)
    for _ in range(50):
        big.update(np.tile(x, (4, 1)), np.tile(y, (4, 1)))
    assert big.n == 12000 and big.state_bytes() == small.state_bytes() == 8 * (12 + 9 + 144 + 81 + 108)


def test_analyze_cka_command_writes_tables_and_plots(cli, tmp_path, data_dir):
    out = tmp_path / "cka"
    proc = cli("analyze", "cka", "--model", "augkit:tiny-xlmr-trained", "--data",
               f"de={data_dir / 'xmixup' / 'nli.de-en.dev.tsv'}", "--data",
               f"de-ner={data_dir / 'xmixup' / 'ner.de-en.dev.jsonl'}", "-o", out, "--batch-size", "3", check=0)
    assert "linear CKA" in proc.stdout and "de-ner" in proc.stdout and "UNEXPECTED" not in proc.stderr
    result = json.loads((out / "cka.json").read_text())
    assert result["languages"] == ["de", "de-ner"] and result["layers"] == [0, 1, 2]
    assert all(0 <= v <= 1 for vals in result["cka"].values() for v in vals)
    rows = (out / "cka.csv").read_text().splitlines()
    assert rows[0] == "language,layer,cka,sentences" and len(rows) == 1 + 2 * 3
    for name in ("cka_heatmap.png", "centroids_pca.png", "scatter.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = cli("analyze", "cka", "--model", "augkit:tiny-xlmr", "--data", "de", "-o", out, check=2)
    assert "--data de: expected LANG=FILE" in proc.stderr


def test_cka_of_a_model_with_itself_on_identical_sides_is_one(tmp_path):
    import augkit
    from augkit_analysis import analyze_cka

    rows = [augkit.Example(id=f"x{i}", type="pair", text_a=t, meta={"parallel": {"source": {"text_a": t}}})
            for i, t in enumerate(["Der Hund schläft .", "Ein Mann liest ein Buch .", "Es regnet heute stark ."])]
    result = analyze_cka("augkit:tiny-xlmr", {"de": iter(rows)}, batch_size=2)
    assert result.sentences == {"de": 3} and all(v == pytest.approx(1.0, abs=1e-6) for v in result.cka["de"])


def test_the_cka_stage_measures_every_model_and_a_resumed_stage_keeps_finished_ones(tmp_path, data_dir):
    import logging

    import augkit
    from augkit.components import StageContext
    from augkit_analysis import CkaAnalyzer

    dev = augkit.read(str(data_dir / "xmixup" / "nli.de-en.dev.tsv"), "parallel", lang="de")
    models = [augkit.ModelSet.of("augkit:tiny-xlmr"), augkit.ModelSet.of("augkit:tiny-xlmr-trained")]
    out = tmp_path / "stage"

    def run():
        ctx = StageContext(name="cka", out_dir=out, seed=1, inputs={"model": models, "data": [dev]},
                           log=logging.getLogger("test"))
        return CkaAnalyzer(batch_size=2, scatter_samples=3).run_stage(ctx)

    stats = run()
    summary = json.loads((out / "cka.json").read_text())
    assert list(summary["models"]) == ["augkit:tiny-xlmr", "augkit:tiny-xlmr-trained"]
    assert [m["folder"] for m in summary["models"].values()] == ["models/augkit_tiny-xlmr", "models/augkit_tiny-xlmr-trained"]
    first, second = (out / m["folder"] / "cka.json" for m in summary["models"].values())
    assert set(stats) == {"augkit:tiny-xlmr/de_mean_cka", "augkit:tiny-xlmr-trained/de_mean_cka"}
    assert summary["models"]["augkit:tiny-xlmr"]["cka"] != summary["models"]["augkit:tiny-xlmr-trained"]["cka"]
    kept = first.stat().st_mtime_ns
    second.unlink()  # as if the stage was killed while measuring the second model
    (out / "cka.json").unlink()
    assert run() == stats and first.stat().st_mtime_ns == kept and second.exists()
    with pytest.raises(augkit.DataError, match="two corpora are in 'de'"):
        CkaAnalyzer().run_stage(StageContext(name="cka", out_dir=tmp_path / "x", seed=1,
                                             inputs={"model": models[:1], "data": [dev, dev]}))
