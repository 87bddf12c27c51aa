"""Fixtures shared by every test room: small synthetic data, the real data when present."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TGS = Path(os.environ.get("SALTVIEWER_TGS", REPO.parent / "shared" / "tgs"))


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    """A small synthetic dataset (60 train, 20 test tiles), made once per test session.

    Treat it as read-only; copy it (``shutil.copytree``) to change it.
    """
    from saltviewer import make_sample

    return make_sample(tmp_path_factory.mktemp("sample") / "data", n_train=60, n_test=20, seed=7)


@pytest.fixture(scope="session")
def sample_dataset(sample_dir):
    from saltviewer import open_dataset

    return open_dataset(sample_dir)


@pytest.fixture
def workspace(tmp_path):
    from saltviewer import Workspace

    return Workspace(tmp_path / "ws")


@pytest.fixture(scope="session")
def tgs_dir():
    """The real competition data in ../shared/tgs; tests that use it skip without it."""
    if not (TGS / "train" / "images").is_dir():
        pytest.skip(f"the TGS data is not at {TGS} (set SALTVIEWER_TGS to its folder)")
    return TGS
