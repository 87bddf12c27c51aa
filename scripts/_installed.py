"""Whether saltviewer is installed from a clone with what some extras need (used by setup.sh).

    python scripts/_installed.py ROOT EXTRAS

Exit status 0 when the Python running this imports saltviewer (and its plugins and training
subpackages) from ROOT and every requirement in ROOT/setup.cfg of the base install and of the
comma-separated EXTRAS is installed in a version that satisfies it; 1 otherwise, with the first
thing missing on stdout. The requirements come from setup.cfg itself, not from the installed
metadata, so a dependency added since the last install is noticed. Run it from outside ROOT, so
that ROOT itself is not what Python finds. Imports no heavy package.
"""

import configparser
import importlib.metadata
import importlib.util
import os
import sys


def _requirement_class():
    try:
        from packaging.requirements import Requirement
    except ImportError:                      # pip carries its own copy
        from pip._vendor.packaging.requirements import Requirement
    return Requirement


def requirements(setup_cfg, extras):
    """The requirement lines of the base install and of the comma-separated `extras` in `setup_cfg`."""
    config = configparser.ConfigParser()
    config.read(setup_cfg, encoding="utf-8")
    lines = config.get("options", "install_requires", fallback="").splitlines()
    for extra in (e.strip() for e in extras.split(",")):
        if extra:
            if not config.has_option("options.extras_require", extra):
                raise SystemExit(f"{setup_cfg}: has no extra {extra!r}")
            lines += config.get("options.extras_require", extra).splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def missing(root, extras):
    """The first thing missing, as one line, or None when nothing is."""
    root = os.path.realpath(root)
    for module, folder in (("saltviewer", "saltviewer"), ("saltviewer.plugins", "plugins"),
                           ("saltviewer.training", "training")):
        try:
            spec = importlib.util.find_spec(module)
        except ImportError:
            spec = None
        if spec is None or spec.origin is None:
            return f"{module} is not installed"
        where = os.path.dirname(os.path.realpath(spec.origin))
        if where != os.path.join(root, folder):
            return f"{module} is installed from {where}, not from {root}"
    Requirement = _requirement_class()
    for line in requirements(os.path.join(root, "setup.cfg"), extras):
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return f"{requirement.name} is not installed"
        if not requirement.specifier.contains(version, prereleases=True):
            return f"{requirement.name} {version} does not satisfy {requirement}"
    return None


if __name__ == "__main__":
    problem = missing(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
    if problem:
        print(problem)
    sys.exit(1 if problem else 0)
