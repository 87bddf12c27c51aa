"""The ``saltviewer`` command line: one module per verb in this package.

Each verb module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args)``
(returning an exit code). Verb modules import heavy frameworks inside ``run`` only, so
``saltviewer --help`` stays fast. ``saltviewer --help`` lists the verbs in the order of the
workflow (`VERBS`); a verb module not named there is listed after them.

Output: what a verb finds or makes (its result) is printed on stdout; diagnostics go through
`logging` to stderr (see ``_common.log``): ``-q`` keeps warnings and errors only, ``-v`` adds
debug lines and the traceback of an error.

Exit codes: 0 done; 1 a runtime error (bad data, a missing file, a missing extra...), shown
as one line ``saltviewer VERB: error: ...`` without a traceback; 2 a usage error (argparse's,
or `UsageError`); 130 interrupted.
"""

import argparse
import importlib
import logging
import pkgutil
import sys

from .._errors import SaltviewerError
from ._common import UsageError, choose_keras_backend, configure_logging, missing_extra

__all__ = ["main", "build_parser", "VERBS"]

#: The verbs in the order of the workflow, as ``saltviewer --help`` lists them.
VERBS = ("sample", "check", "explore", "train", "predict", "pseudo-label", "queue", "decide", "history",
         "mosaic", "view", "export", "encode", "decode", "score", "demo", "segy")


def _verb_modules():
    """``(name, module)`` of every verb, in the order of `VERBS`, unknown ones after them."""
    names = [info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]
    rank = {verb: n for n, verb in enumerate(VERBS)}
    names.sort(key=lambda name: (rank.get(name.replace("_", "-"), len(rank)), name))
    for name in names:
        yield name.replace("_", "-"), importlib.import_module(f"{__name__}.{name}")


def _verbosity_options(parser, defaults):
    """``-v`` and ``-q``; accepted before or after the verb (the verb's copy only sets what is given)."""
    default = 0 if defaults else argparse.SUPPRESS
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="more detail on stderr: -v debug lines and the traceback of an error")
    parser.add_argument("-q", "--quiet", action="count", default=default,
                        help="less on stderr: warnings and errors only, no progress bars")


def _with_nested(parser):
    """`parser` and the parsers of its own subcommands, if it has any."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                yield from _with_nested(nested)


def build_parser():
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="saltviewer",
        description="Delineate salt bodies in seismic tiles: data, training, review and curation.",
        epilog="Run 'saltviewer VERB --help' for the options of a verb. Exit status: 0 done, 1 error, 2 usage.")
    parser.add_argument("--version", action="version", version=f"saltviewer {__version__}",
                        help="print the version and exit")
    _verbosity_options(parser, defaults=True)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", title="verbs (in the order of the workflow)")
    for name, module in _verb_modules():
        sub = verbs.add_parser(name, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP))
        module.add_arguments(sub)
        for parser_ in _with_nested(sub):                      # `segy predict ... -v` too
            _verbosity_options(parser_, defaults=False)
        sub.set_defaults(_run=module.run, _verb=name)
    return parser


def main(argv=None):
    """Run ``saltviewer`` with `argv` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verbosity = args.verbose - args.quiet
    configure_logging(verbosity)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    log = logging.getLogger("saltviewer.cli")
    if choose_keras_backend():
        log.debug("TensorFlow is not installed: Keras runs on JAX")
    prefix = f"saltviewer {args._verb}"
    try:
        return int(args._run(args) or 0)
    except UsageError as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return 2
    except SaltviewerError as error:
        log.debug("traceback:", exc_info=True)
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return 1
    except ImportError as error:
        log.debug("traceback:", exc_info=True)
        extra = missing_extra(error)
        if extra is None:
            print(f"{prefix}: error: {error}", file=sys.stderr)
        else:
            print(f"{prefix}: error: {extra}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:                       # `saltviewer ... | head`: end quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:                    # a bug or an environment problem: one line unless -v
        log.debug("traceback:", exc_info=True)
        hint = "" if verbosity > 0 else " (run again with -v for the traceback)"
        print(f"{prefix}: error: {type(error).__name__}: {error}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
