"""segy predict with real (tiny) Keras models: the same numbers as the tile pipeline, Dask as memory."""

import json
import shutil

import numpy as np
import pytest

segyio = pytest.importorskip("segyio", reason="segyio is not installed (pip install segyio)")
pytest.importorskip("dask", reason="dask is not installed (pip install 'dask[array]')")

from saltviewer import Ensemble, open_dataset  # noqa: E402
from saltviewer.sample import synthetic_section  # noqa: E402
from saltviewer.seismic import cut_tiles, fit_scaling, open_segy, predict_volume, tile_grid  # noqa: E402


@pytest.fixture(scope="module")
def two_versions(tiny_version, sample_dir, tmp_path_factory):
    """A workspace with the session's tiny trained version (tests/training/conftest.py) and a second
    member with the same models and another threshold (so the consensus rule of two members is
    exercised)."""
    from tiny_versions import copy_version

    workspace = copy_version(tiny_version, tmp_path_factory.mktemp("segy_ws") / "ws", predictions=False)
    result = tiny_version.result
    card = dict(workspace.card(result.version))
    card["threshold"] = 0.35
    source = workspace.version_dir(result.version)

    def copy(folder):
        for name in card["fold_models"] + ["oof.npz"]:
            shutil.copy(source / name, folder)

    second = workspace.add_version({k: v for k, v in card.items() if k not in ("version", "created")}, copy)
    # calibrate both on the training data (kept in their cards), as the ensemble of the curation loop does
    from saltviewer.calibration import version_calibration

    for version in (result.version, second):
        version_calibration(workspace, version, open_dataset(sample_dir))
    assert all("calibration" in workspace.card(v) for v in (result.version, second))
    return workspace, [result.version, second]


def _line(path, seed=3, rows=1, cols=1):
    image, _ = synthetic_section(np.random.default_rng(seed), rows, cols)
    segyio.tools.from_array(str(path), (image.T.astype(np.float32) - 128) / 32, format=1)
    return image


def test_one_tile_line_gives_the_tile_pipeline_consensus(two_versions, tmp_path):
    from saltviewer.training import predict_dataset
    from saltviewer.training.section import predict_segy

    workspace, versions = two_versions
    _line(tmp_path / "one.sgy")
    cut_tiles(tmp_path / "one.sgy", tmp_path / "tiles")
    dataset = open_dataset(tmp_path / "tiles")
    predict_dataset(dataset, workspace, versions)
    with Ensemble(workspace, dataset, versions) as ensemble:
        _, probability, mask = next(ensemble.consensus([0]))
        threshold = ensemble.consensus_threshold
    info = predict_segy(tmp_path / "one.sgy", workspace, tmp_path / "out" / "salt.sgy", versions, overlap=50,
                        mute=None)
    values = open_segy(info.segy).read()
    assert np.allclose(values.T, probability[0], atol=1e-6)
    assert info.settings["ensemble"]["consensus_threshold"] == pytest.approx(threshold)
    cutoff, min_area = info.settings["ensemble"]["mask_cutoff"], info.settings["ensemble"]["min_area"]
    if mask[0].any():                      # the same pixels as the ensemble's consensus mask
        assert np.array_equal(values.T > cutoff, mask[0])
    else:                                  # emptied by the minimum area, as the tile rule does
        assert (values.T > cutoff).sum() < min_area
    sidecar = json.loads(info.sidecar.read_text())
    assert sidecar["ensemble"]["versions"] == versions and sidecar["scaling"]["method"] == "file"
    assert np.array_equal(np.load(info.array), values)


def test_a_line_with_overlap_and_its_mask(two_versions, tmp_path):
    from saltviewer.training.section import predict_segy

    workspace, versions = two_versions
    _line(tmp_path / "line.sgy", rows=2, cols=3)
    probability = predict_segy(tmp_path / "line.sgy", workspace, tmp_path / "p.sgy", versions, overlap=40, mute=None)
    mask = predict_segy(tmp_path / "line.sgy", workspace, tmp_path / "m.sgy", versions, overlap=40, mask=True,
                        mute=None)
    p, m = open_segy(probability.segy).read(), open_segy(mask.segy).read()
    assert p.shape == m.shape == (303, 202) and 0 <= p.min() and p.max() <= 1
    assert set(np.unique(m)) <= {0.0, 1.0}
    assert not (m.astype(bool) & (p <= mask.settings["ensemble"]["mask_cutoff"])).any()
    assert probability.n_tiles == len(tile_grid((303, 202), overlap=40)[0])


def test_dask_volume_equals_the_in_memory_volume(two_versions, tmp_path):
    from saltviewer.training.section import SectionPredictor

    workspace, versions = two_versions
    image, _ = synthetic_section(np.random.default_rng(5), 2, 3)
    volume = np.stack([np.roll(image, 7 * k, axis=1).T for k in range(3)]).astype(np.float32)[:, :260, :150]
    segyio.tools.from_array(str(tmp_path / "cube.sgy"), (volume - 128) / 32, format=5)
    data = open_segy(tmp_path / "cube.sgy")
    predictor = SectionPredictor(workspace, versions, scaling=fit_scaling(data), samples=data.samples)
    memory = predict_volume(data, predictor, 30, engine="memory")
    blocks = predict_volume(data, predictor, 30, chunks=(2, 110), num_workers=2)
    assert memory.shape == data.shape
    assert np.abs(memory - blocks).max() < 1e-5


def test_cli_segy_predict_writes_a_mask(two_versions, tmp_path, capsys):
    from saltviewer.cli import main

    workspace, versions = two_versions
    _line(tmp_path / "line.sgy", rows=1, cols=2)
    code = main(["segy", "predict", str(tmp_path / "line.sgy"), "-w", str(workspace.path), "--out",
                 str(tmp_path / "salt.sgy"), "--models", *versions, "--mask", "--overlap", "30", "--no-tta"])
    assert code == 0
    out = capsys.readouterr().out
    assert "salt mask of the line" in out and f"ensemble {', '.join(versions)}" in out
    assert set(np.unique(open_segy(tmp_path / "salt.sgy").read())) <= {0.0, 1.0}


def test_a_non_rectangular_volume_keeps_its_traces_and_says_what_they_mean(two_versions, tmp_path):
    """Missing traces are predicted over (zeros) but never written as traces; the textual header
    and the sidecar say what the samples are now."""
    from saltviewer.training.section import predict_segy

    workspace, versions = two_versions
    image, _ = synthetic_section(np.random.default_rng(9), 2, 3)
    grid = np.stack([np.roll(image, 5 * k, axis=1).T for k in range(3)]).astype(np.float32)[:, :230, :140]
    present = np.ones(grid.shape[:2], bool)
    present[0, :40] = False
    il, xl = np.nonzero(present)
    spec = segyio.spec()
    spec.format, spec.samples, spec.tracecount = 5, np.arange(140) * 4.0, len(il)
    with segyio.create(str(tmp_path / "survey.sgy"), spec) as f:
        for t, (i, x) in enumerate(zip(il, xl)):
            f.header[t] = {189: 10 + int(i), 193: 100 + int(x), segyio.TraceField.TRACE_SAMPLE_COUNT: 140}
            f.trace[t] = (grid[i, x] - 128) / 32
        f.bin.update({segyio.BinField.Samples: 140, segyio.BinField.Format: 5, segyio.BinField.Interval: 4000})
    info = predict_segy(tmp_path / "survey.sgy", workspace, tmp_path / "salt.sgy", versions, overlap=0, tta=False,
                        chunks=(2, 110))
    assert info.settings["missing_traces"]["count"] == 40
    with segyio.open(str(info.segy), ignore_geometry=True) as f:
        assert f.tracecount == len(il)                                  # no trace invented
        text = segyio.tools.wrap(f.text[0])
    assert "SAMPLES ARE SALT PROBABILITY 0..1" in text and "(NOT AMPLITUDES)" in text
    import zarr

    array = zarr.open_array(str(info.array), mode="r")[...]
    assert np.isnan(array[~present]).all() and not np.isnan(array[present]).any()
    assert np.array_equal(open_segy(info.segy).read()[present], array[present])


def test_no_salt_in_a_water_column_or_dead_traces_and_the_sidecar_says_so(two_versions, tmp_path):
    from saltviewer.training.section import predict_segy

    workspace, versions = two_versions
    image, _ = synthetic_section(np.random.default_rng(4), 2, 3)
    amplitudes = (image.astype(np.float32) - 128) / 32
    water = np.random.default_rng(5).standard_normal((120, amplitudes.shape[1])).astype(np.float32) * 0.01
    section = np.concatenate([water, amplitudes])
    section[:, [30, 31, 250]] = 0.0                                    # dead traces
    segyio.tools.from_array(str(tmp_path / "marine.sgy"), section.T.copy(), format=5)
    info = predict_segy(tmp_path / "marine.sgy", workspace, tmp_path / "salt.sgy", versions, overlap=30, tta=False,
                        mask=True)
    mask = open_segy(info.segy).read().T
    quiet = info.settings["quiet_zones"]
    assert quiet["applied"] and quiet["dead_traces"] == 3 and 116 <= quiet["median_top_samples"] <= 120
    assert mask[:116].sum() == 0 and mask[:, [30, 31, 250]].sum() == 0
    with segyio.open(str(info.segy), ignore_geometry=True) as f:
        assert "0 IN QUIET ZONES (WATER, MUTES, DEAD TRACES)" in segyio.tools.wrap(f.text[0])
