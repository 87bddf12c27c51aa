"""The ``saltviewer`` command line: one module per verb in this package.

Each verb module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args)``
(returning an exit code). Verb modules import heavy frameworks inside ``run`` only, so
``saltviewer --help`` stays fast. A `SaltviewerError` ends in one clear line on stderr and
exit code 2, never a traceback.
"""

import argparse
import importlib
import pkgutil
import sys

from .._errors import SaltviewerError

__all__ = ["main", "build_parser"]


def _verb_modules():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield info.name.replace("_", "-"), importlib.import_module(f"{__name__}.{info.name}")


def build_parser():
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="saltviewer",
        description="Delineate salt bodies in seismic tiles: data, training, review and curation.")
    parser.add_argument("--version", action="version", version=f"saltviewer {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, module in _verb_modules():
        sub = verbs.add_parser(name, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP))
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run, _verb=name)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except SaltviewerError as error:
        print(f"saltviewer {args._verb}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"saltviewer {args._verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
