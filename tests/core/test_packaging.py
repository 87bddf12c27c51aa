"""What setup.cfg declares against what the code imports, and the files a distribution needs."""

import ast
import configparser
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Import names whose distribution is named otherwise.
DISTRIBUTIONS = {"PIL": "pillow", "skimage": "scikit-image", "sklearn": "scikit-learn", "pydensecrf": "pydensecrf2",
                 "yaml": "pyyaml", "tensorflow": "tensorflow-cpu"}


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(lines):
    """Distribution names of requirement lines (markers and versions dropped)."""
    return {_normal(re.split(r"[<>=!~;\[ ]", line.strip(), maxsplit=1)[0]) for line in lines}


@pytest.fixture(scope="module")
def setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    return config


def _requirements(config, extra=None):
    text = (config.get("options", "install_requires") if extra is None
            else config.get("options.extras_require", extra))
    return [line for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _imports(folder):
    """Third-party top-level modules imported under `folder`: {module: at module level anywhere?}."""
    found = {}
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                root = module.split(".")[0]
                if root in sys.stdlib_module_names or root in ("saltviewer", "__future__"):
                    continue
                found[root] = found.get(root, False) or id(node) in top_level
    return found


def test_the_base_install_is_what_the_core_imports(setup_cfg):
    declared = _names(_requirements(setup_cfg))
    extras = {name: _names(_requirements(setup_cfg, name)) for name in setup_cfg.options("options.extras_require")}
    from_extras = set().union(*extras.values())
    imports = _imports(REPO / "saltviewer")
    used = {_normal(DISTRIBUTIONS.get(module, module)) for module in imports}
    at_import_time = {_normal(DISTRIBUTIONS.get(m, m)) for m, top in imports.items() if top}
    assert at_import_time <= declared, f"the core imports {at_import_time - declared} at import time"
    assert declared <= used, f"declared but never imported by the core: {declared - used}"
    assert used <= declared | from_extras, f"imported by the core but declared nowhere: {used - declared - from_extras}"


def test_every_package_folder_is_named_in_setup_cfg(setup_cfg):
    """A package folder that `packages` leaves out is missing from a wheel, not from ``pip install -e``."""
    folders = dict(line.split("=", 1) for line in setup_cfg.get("options", "package_dir").strip().splitlines())
    found = set()
    for package, folder in folders.items():
        root = REPO / folder.strip()
        for init in root.rglob("__init__.py"):
            parts = init.parent.relative_to(root).parts
            if "__pycache__" not in parts:
                found.add(".".join((package.strip(), *parts)))
    named = set(setup_cfg.get("options", "packages").split())
    assert not found - named, f"setup.cfg's [options] packages leaves out {sorted(found - named)}"
    assert not named - found, f"setup.cfg's [options] packages names what is no package folder: {sorted(named - found)}"


def test_training_and_plugins_need_only_their_extras(setup_cfg):
    declared = _names(_requirements(setup_cfg))
    for folder, extra in (("training", "train"), ("plugins", "gui")):
        needed = {_normal(DISTRIBUTIONS.get(m, m)) for m in _imports(REPO / folder)}
        offered = declared | _names(_requirements(setup_cfg, extra))
        for other in ("crf", "seismic"):               # the training code reaches those too
            if extra == "train" and setup_cfg.has_option("options.extras_require", other):
                offered |= _names(_requirements(setup_cfg, other))
        assert needed <= offered, f"{folder}/ imports {needed - offered}, which [{extra}] does not install"


def test_extras_say_what_they_hold(setup_cfg):
    extras = {name: _names(_requirements(setup_cfg, name)) for name in setup_cfg.options("options.extras_require")}
    assert {"gui", "pyqt5", "train", "jax", "crf", "dev", "all"} <= set(extras)
    assert "pyqt6" in extras["gui"] and "pyqt5" not in extras["gui"]          # Qt6 by default
    assert "pyqt5" in extras["pyqt5"] and "pyqt6" not in extras["pyqt5"]
    assert extras["pyqt5"] - {"pyqt5"} == extras["gui"] - {"pyqt6"}          # the same napari otherwise
    assert "jax" in extras["jax"] and "keras" in extras["jax"] and not {"tensorflow", "tensorflow-cpu"} & extras["jax"]
    assert {"pytest", "pytest-qt"} <= extras["dev"]
    user_extras = ["gui", "train", "crf"] + (["seismic"] if "seismic" in extras else [])
    assert extras["all"] == set().union(*(extras[e] for e in user_extras))    # everything a user needs
    assert not {"pytest", "pytest-qt", "pyqt5"} & extras["all"]                # not the test tools


def test_license_urls_and_classifiers_for_napari_hub(setup_cfg):
    license_text = (REPO / "LICENSE").read_text()
    assert setup_cfg.get("metadata", "license") == "BSD-3-Clause"
    assert license_text.startswith("BSD 3-Clause License") and "Neither the name of the copyright holder" in license_text
    urls = dict(line.split(" = ", 1) for line in setup_cfg.get("metadata", "project_urls").strip().splitlines())
    assert {"Source Code", "Bug Tracker", "Documentation", "User Support"} <= {k.strip() for k in urls}
    assert all(url.startswith("https://") for url in urls.values())
    classifiers = setup_cfg.get("metadata", "classifiers").strip().splitlines()
    assert "Framework :: napari" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)   # setuptools >= 77: the SPDX `license` only
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert any(c.startswith("Operating System ::") for c in classifiers)


def test_venv_is_ignored_by_git():
    lines = (REPO / ".gitignore").read_text().splitlines()
    assert ".venv/" in lines or ".venv" in lines
