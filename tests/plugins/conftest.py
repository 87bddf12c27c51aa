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
