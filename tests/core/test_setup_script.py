"""scripts/setup.sh on a Python that refuses pip (PEP 668) and on one that takes packages.

The refusing Python is a stand-in: a script that answers ``-m pip install`` as Debian's
externally managed Python does and hands everything else to the Python running the tests. The
virtual environment is made with ``--system-site-packages --without-pip`` (the running Python's
pip serves it) and only the core, and pip stays offline and builds in place where it can
(`_offline_pip`: no index is asked for setuptools), so the install takes seconds
(the dependencies are already there) while every step of the script runs for real.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or os.name != "posix", reason="needs bash")

REFUSING_PYTHON = """#!/bin/sh
if [ "$1" = "-m" ] && [ "$2" = "pip" ] && [ "$3" = "install" ]; then
  echo "error: externally-managed-environment" >&2
  echo "This environment is externally managed (stand-in for Debian's Python)." >&2
  exit 1
fi
exec "{python}" "$@"
"""


def _copy_of_the_clone(folder):
    """The files setup.sh needs, as in a fresh clone (no .venv, no build output)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", "results", "*.png")
    folder.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, folder / name)
    for name in ("saltviewer", "plugins", "training", "scripts"):
        shutil.copytree(REPO / name, folder / name, ignore=ignore)
    return folder


def _run_setup(clone, env, *args):
    return subprocess.run(["bash", str(clone / "scripts" / "setup.sh"), *args], capture_output=True, text=True,
                          env=env, timeout=900)


@pytest.fixture
def refusing_python(tmp_path):
    path = tmp_path / "bin" / "python3"
    path.parent.mkdir()
    path.write_text(REFUSING_PYTHON.format(python=sys.executable))
    path.chmod(0o755)
    return path


TOOLS = ("bash", "sh", "dirname", "readlink", "mktemp", "grep", "cat", "rm", "id", "ln", "mkdir", "date")


def _environment(tmp_path, python):
    """A PATH of the shell tools setup.sh uses and an empty ~/.local/bin; no apt (no system packages)."""
    home = tmp_path / "home"
    (home / ".local" / "bin").mkdir(parents=True)
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = shutil.which(tool)
        if found and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    return dict(os.environ, PYTHON=str(python), HOME=str(home), SALTVIEWER_EXTRAS="",
                SALTVIEWER_VENV_OPTIONS="--system-site-packages --without-pip", PIP_NO_INPUT="1",
                PATH=os.pathsep.join([str(home / ".local" / "bin"), str(tools)]), **_offline_pip())


def _offline_pip():
    """pip told to build saltviewer in place and ask no index, when this Python has what the build
    needs (setuptools 64 or newer and wheel, as pyproject.toml asks); else pip as it comes."""
    try:
        import setuptools
        import wheel  # noqa: F401
    except ImportError:
        return {}
    if int(setuptools.__version__.split(".")[0]) < 64:
        return {}
    return {"PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0"}


def test_a_python_that_refuses_pip_gets_a_venv_in_the_clone_and_saltviewer_on_path(tmp_path, refusing_python):
    clone = _copy_of_the_clone(tmp_path / "clone")
    env = _environment(tmp_path, refusing_python)
    first = _run_setup(clone, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "making a virtual environment in" in first.stdout and "externally managed" in first.stdout
    venv_python = clone / ".venv" / "bin" / "python"
    assert first.stdout.strip().splitlines()[-1] == f"setup: ready (python: {venv_python})"

    where = subprocess.run([str(venv_python), "-c", "import saltviewer, saltviewer.plugins; "
                            "print(saltviewer.__file__); print(saltviewer.plugins.__file__)"],
                           capture_output=True, text=True, cwd="/", timeout=120)
    assert where.returncode == 0, where.stderr
    assert where.stdout.split() == [str(clone / "saltviewer" / "__init__.py"), str(clone / "plugins" / "__init__.py")]

    link = Path(env["HOME"]) / ".local" / "bin" / "saltviewer"
    assert link.is_symlink() and link.resolve() == (clone / ".venv" / "bin" / "saltviewer").resolve()
    version = subprocess.run(["saltviewer", "--version"], capture_output=True, text=True, env=env, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("saltviewer "), version.stderr

    again = _run_setup(clone, env)                                   # the second time: nothing to do
    assert again.returncode == 0, again.stderr
    assert "installing" not in again.stdout and "making" not in again.stdout
    assert again.stdout.strip().splitlines()[-1] == f"setup: ready (python: {venv_python})"


def test_dry_run_says_which_python_it_would_use(tmp_path):
    clone = _copy_of_the_clone(tmp_path / "clone")
    env = _environment(tmp_path, sys.executable)
    plain = _run_setup(clone, env, "--dry-run")
    assert plain.returncode == 0, plain.stderr
    managed = (Path(sys.base_prefix) / "lib").glob("python3*/EXTERNALLY-MANAGED")
    if sys.prefix == sys.base_prefix and any(managed):
        pytest.skip("the Python running the tests is externally managed itself")
    assert f"would install into {sys.executable} (it takes packages)" in plain.stdout
    assert not (clone / ".venv").exists()

    debian = Path("/usr/bin/python3")
    marker = list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED"))
    if debian.exists() and marker:
        env["PYTHON"] = str(debian)
        system = _run_setup(clone, env, "--dry-run")
        assert system.returncode == 0, system.stderr
        assert f"would install into {clone / '.venv' / 'bin' / 'python'}" in system.stdout
        assert "externally managed (PEP 668)" in system.stdout
        assert not (clone / ".venv").exists()                       # a dry run makes nothing


def test_an_old_python_is_refused_in_one_line(tmp_path):
    clone = _copy_of_the_clone(tmp_path / "clone")
    old = tmp_path / "bin" / "python3"
    old.parent.mkdir()
    old.write_text("#!/bin/sh\ncase \"$*\" in *platform*) echo 3.8.10 ;; *) exit 1 ;; esac\n")
    old.chmod(0o755)
    result = _run_setup(clone, _environment(tmp_path, old))
    assert result.returncode == 1
    assert result.stderr.strip() == f"setup: error: {old} is Python 3.8.10; saltviewer needs 3.10 or newer (set PYTHON)"
