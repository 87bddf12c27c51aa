"""Fixtures for the napari plugin tests: an isolated settings folder, a reviewed workspace.

Run under a virtual display::

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m pytest tests/plugins -q
"""

import pytest


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    """Each test remembers its choices in a folder of its own, never in ~/.config."""
    folder = tmp_path / "config"
    monkeypatch.setenv("SALTVIEWER_CONFIG_DIR", str(folder))
    return folder


def pytest_configure(config):
    # napari on Qt5 warns that it cannot detect the system theme; not ours to fix.
    config.addinivalue_line("filterwarnings", "ignore:System theme detection:UserWarning")
    config.addinivalue_line("filterwarnings", "ignore:.*json_encoders.*:DeprecationWarning")


def disk(shape, centre, radius):
    import numpy as np

    y, x = np.ogrid[:shape[0], :shape[1]]
    return (y - centre[0]) ** 2 + (x - centre[1]) ** 2 <= radius ** 2


def write_versions(dataset, workspace, n_versions=3, seed=0):
    """Model versions with stored probability maps made by hand (no network is trained).

    Labelled tiles get their training mask, shifted a little per version; unlabelled tile
    ``k`` gets a disk whose radius differs between versions by ``k % 4`` pixels (so the
    ensemble disagrees more on some tiles than on others), and every third one is empty
    for all versions (confident empty). Returns the version names.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(dataset)
    versions = []
    for v in range(n_versions):
        probs = np.full((n, 101, 101), 0.03, np.float32)
        for i in range(n):
            truth = dataset.mask(i)
            if truth is not None:
                mask = np.roll(truth, v, axis=1)
            else:
                k = int(np.flatnonzero(dataset.indices("test") == i)[0])
                if k % 3 == 0:
                    continue
                mask = disk((101, 101), (50, 45 + 2 * (k % 5)), 12 + 2 * (k % 7) + v * (k % 4))
            probs[i][mask] = 0.95
        probs += rng.uniform(0, 0.02, probs.shape).astype(np.float32)
        version = workspace.add_version({"encoder": "hand-made", "threshold": 0.5, "oof_score": 0.7 + 0.01 * v,
                                         "note": "probability maps drawn by tests/plugins/conftest.py"})
        workspace.write_predictions(version, dataset, np.clip(probs, 0, 1))
        versions.append(version)
    return versions


@pytest.fixture(scope="session")
def review_template(sample_dataset, tmp_path_factory):
    """A workspace with three hand-made versions, proposals in its store and the sample's
    mosaics, made once; tests get copies (`review_workspace`)."""
    from saltviewer import Workspace
    from saltviewer.plugins.common.stored_mosaics import find_mosaics
    from saltviewer.pseudo import propose_pseudo_labels

    workspace = Workspace(tmp_path_factory.mktemp("review") / "ws")
    write_versions(sample_dataset, workspace)
    report = propose_pseudo_labels(workspace, sample_dataset, empty_share=None, review=6, min_agreement=0.5,
                                   max_uncertain=0.2)
    assert report.queue > 0
    assert len(find_mosaics(workspace, sample_dataset)) > 0
    return workspace


@pytest.fixture
def review_workspace(review_template, tmp_path):
    """A fresh copy of `review_template` (versions, proposals, mosaics) for one test to change."""
    import shutil

    from saltviewer import Workspace

    shutil.copytree(review_template.path, tmp_path / "ws", ignore=shutil.ignore_patterns("cache"))
    return Workspace(tmp_path / "ws")


@pytest.fixture
def mosaic_workspace(review_workspace):
    """The review workspace (it holds the sample's mosaics too)."""
    return review_workspace
