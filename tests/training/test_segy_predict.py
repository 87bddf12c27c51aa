"""segy predict with real (tiny) Keras models: the same numbers as the tile pipeline, Dask as memory."""

import json
import shutil

import numpy as np
import pytest

segyio = pytest.importorskip("segyio", reason="segyio is not installed (pip install segyio)")
pytest.importorskip("dask", reason="dask is not installed (pip install 'dask[array]')")

from saltviewer import Ensemble, Workspace, open_dataset  # noqa: E402
from saltviewer.sample import synthetic_section  # noqa: E402
from saltviewer.seismic import cut_tiles, fit_scaling, open_segy, predict_volume, tile_grid  # noqa: E402


@pytest.fixture(scope="module")
def two_versions(sample_dir, tmp_path_factory):
    """A workspace with a tiny trained version and a second member with the same models and another
    threshold (so the consensus rule of two members is exercised)."""
    from saltviewer.training import train_model

    root = tmp_path_factory.mktemp("segy_ws")
    workspace = Workspace(root / "ws")
    result = train_model(sample_dir, workspace, encoder="small", width=4, epochs=1, folds=2, batch_size=16,
                         loss_schedule=[("bce_dice", 1)], swa_epochs=0, seed=1)
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
    info = predict_segy(tmp_path / "one.sgy", workspace, tmp_path / "out" / "salt.sgy", versions, overlap=50)
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
    probability = predict_segy(tmp_path / "line.sgy", workspace, tmp_path / "p.sgy", versions, overlap=40)
    mask = predict_segy(tmp_path / "line.sgy", workspace, tmp_path / "m.sgy", versions, overlap=40, mask=True)
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
