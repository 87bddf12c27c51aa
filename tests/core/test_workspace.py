import json
import multiprocessing
import os

import numpy as np
import pytest

from saltviewer import SaltviewerError, Workspace


def test_versions_are_numbered_and_never_overwritten(workspace):
    assert workspace.versions() == [] and workspace.latest() is None
    v1 = workspace.add_version({"encoder": "small"}, lambda d: (d / "model.bin").write_bytes(b"one"))
    v2 = workspace.add_version({"encoder": "small", "parent": v1})
    assert (v1, v2) == ("v0001", "v0002")
    assert workspace.versions() == ["v0001", "v0002"]
    assert (workspace.version_dir(v1) / "model.bin").read_bytes() == b"one"
    assert workspace.card(v2)["parent"] == "v0001" and workspace.card(v2)["version"] == "v0002"
    assert workspace.resolve_models("all") == ["v0001", "v0002"]
    assert workspace.resolve_models(["latest", "v0001", "v0002"]) == ["v0002", "v0001"]
    with pytest.raises(SaltviewerError, match="'v0009' is not in workspace"):
        workspace.resolve_models(["v0009"])


def test_a_crash_while_writing_leaves_no_version(workspace):
    def explode(folder):
        (folder / "model.keras").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        workspace.add_version({"encoder": "small"}, explode)
    assert workspace.versions() == []
    assert [p for p in workspace.models_dir.iterdir()] == []   # no temporary left either


def test_an_incomplete_folder_is_not_a_version(workspace):
    (workspace.models_dir / "v0001").mkdir(parents=True)       # e.g. killed after mkdir
    assert workspace.versions() == []
    assert workspace.add_version({"encoder": "x"}) == "v0002"


def _add_many(path, n):
    ws = Workspace(path)
    return [ws.add_version({"encoder": "race"}) for _ in range(n)]


def test_concurrent_writers_get_distinct_versions(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_add_many, [(tmp_path / "ws", 5), (tmp_path / "ws", 5)])
    names = sorted(results[0] + results[1])
    assert len(set(names)) == 10
    assert Workspace(tmp_path / "ws").versions() == names


def test_cards_are_appended_to_never_rewritten(workspace):
    v = workspace.add_version({"encoder": "small", "threshold": 0.5})
    workspace.update_card(v, predicted=["abc"])
    assert workspace.card(v)["predicted"] == ["abc"]
    with pytest.raises(SaltviewerError, match="never rewritten"):
        workspace.update_card(v, threshold=0.4)
    assert workspace.card(v)["threshold"] == 0.5


def test_predictions_round_trip_streaming_and_aligned(workspace, sample_dataset):
    v = workspace.add_version({"encoder": "small"})
    rng = np.random.default_rng(0)
    probabilities = rng.random((len(sample_dataset), 101, 101)).astype(np.float32)
    calls = []

    def chunks(start, stop):
        calls.append((start, stop))
        return probabilities[start:stop]

    path = workspace.write_predictions(v, sample_dataset, chunks, chunk=32)
    assert calls == [(0, 32), (32, 64), (64, 80)]
    maps = workspace.open_predictions(v, sample_dataset)
    assert isinstance(maps, np.memmap) and maps.dtype == np.uint8
    np.testing.assert_allclose(maps / 255.0, probabilities, atol=0.5 / 255 + 1e-7)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["key"] == sample_dataset.key and meta["count"] == 80


def test_bad_predictions_write_nothing(workspace, sample_dataset):
    v = workspace.add_version({"encoder": "small"})
    bad = np.full((len(sample_dataset), 101, 101), 1.5, np.float32)
    with pytest.raises(SaltviewerError, match=r"within \[0, 1\]"):
        workspace.write_predictions(v, sample_dataset, bad)
    assert not workspace.has_predictions(v, sample_dataset)
    assert not any(p.name.endswith(".npy") for p in (workspace.predictions_dir / v).iterdir())
    with pytest.raises(SaltviewerError, match="has no predictions"):
        workspace.open_predictions(v, sample_dataset)


def test_workspace_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(SaltviewerError, match="is a file"):
        Workspace(tmp_path / "f")
