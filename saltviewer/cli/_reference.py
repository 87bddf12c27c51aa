"""The command line reference (docs/cli.md), written from the parsers `build_parser` makes.

The page is made from the same argparse objects that ``saltviewer VERB --help`` prints, so it
cannot say something the command does not accept. It is built from the parsers' actions rather
than from ``format_help()``, whose layout changes with the terminal's width and the Python
version; the words (descriptions, help strings, metavars, choices, defaults named in the help)
are argparse's own.

``python scripts/cli_reference.py`` rewrites docs/cli.md; ``--check`` says whether it is stale.
``tests/core/test_docs.py`` fails when the checked-in page differs from `reference_markdown()`.
"""

import argparse

__all__ = ["reference_markdown", "walk_parsers", "COMMON_OPTIONS"]

#: Options every verb takes; the page names them once, at the top.
COMMON_OPTIONS = {"help", "verbose", "quiet", "version"}

_HEADER = """\
# Command line reference

<!-- Generated from the parsers by `python scripts/cli_reference.py`; do not edit by hand.
     tests/core/test_docs.py fails when this page differs from what the parsers say. -->

Every verb is `saltviewer VERB [options]`; `saltviewer VERB --help` prints the same options.
Every verb and subcommand also takes `-v` (debug lines on stderr, and the traceback of an
error) and `-q` (warnings and errors only). Exit status: 0 done, 1 an error (one line on
stderr), 2 a usage error. A guide to the verbs in the order of work is in the
[README](../README.md); this page lists every option.
"""


def walk_parsers(parser=None, path=("saltviewer",), help_line=None):
    """``(path, parser, help_line)`` of every parser under `parser`, depth first, in the order of ``--help``.

    `path` is the words that reach the parser (``("saltviewer", "segy", "predict")``); `help_line`
    is the line the parent's listing shows for it (None for the top parser).
    """
    if parser is None:
        from . import build_parser

        parser = build_parser()
    yield tuple(path), parser, help_line
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield from walk_parsers(sub, (*path, name), helps.get(name))


def _metavar(action):
    """What stands for the value(s) of `action`, as argparse's usage writes it."""
    if action.metavar is not None:
        metavar = action.metavar
    elif action.choices is not None:
        metavar = "{" + ",".join(str(choice) for choice in action.choices) + "}"
    elif action.option_strings:
        metavar = action.dest.upper()
    else:
        metavar = action.dest
    nargs = action.nargs
    if isinstance(metavar, tuple):
        return " ".join(metavar)
    if nargs is None:
        return metavar
    if nargs == argparse.OPTIONAL:
        return f"[{metavar}]"
    if nargs == argparse.ZERO_OR_MORE:
        return f"[{metavar} ...]"
    if nargs == argparse.ONE_OR_MORE:
        return f"{metavar} [{metavar} ...]"
    if isinstance(nargs, int):
        return " ".join([metavar] * nargs)
    return metavar


def _help(action, prog):
    """The action's help with argparse's ``%(default)s``-style fields filled in."""
    text = action.help or ""
    if "%" not in text:
        return text
    fields = {name: value for name, value in vars(action).items() if value is not argparse.SUPPRESS}
    fields["prog"] = prog
    if fields.get("choices") is not None:
        fields["choices"] = ", ".join(str(choice) for choice in fields["choices"])
    return text % fields


def _takes_value(action):
    return action.nargs != 0


def _invocation(action):
    """``--workspace WS``, ``-w WS`` or ``--context``, ``--no-context``, as code spans."""
    value = f" {_metavar(action)}" if _takes_value(action) else ""
    return ", ".join(f"`{option}{value}`" for option in action.option_strings)


def _inline(text):
    """One line of Markdown: runs of white space closed up, a ``<`` shown as itself (not taken for HTML)."""
    return " ".join(text.split()).replace("<", "&lt;")


def _synopsis(path, parser):
    """``saltviewer train DATA --workspace WS [options]``: the positionals and the required options."""
    words = list(path)
    for action in parser._actions:
        if action.dest in COMMON_OPTIONS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            words.append(action.metavar or "{" + ",".join(action.choices) + "}")
            words.append("...")
        elif not action.option_strings:
            words.append(_metavar(action))
        elif action.required:
            words.append(f"{action.option_strings[0]} {_metavar(action)}" if _takes_value(action)
                         else action.option_strings[0])
    if any(action.option_strings and not action.required and action.dest not in COMMON_OPTIONS
           for action in parser._actions):
        words.append("[options]")
    return " ".join(words)


def _parser_section(path, parser, help_line, shown):
    """The lines of one verb's (or subcommand's) section; `shown`: descriptions already on the page."""
    name = " ".join(path)
    lines = [f"{'#' * min(len(path), 3)} `{name}`", ""]
    description = _inline(parser.description or "")
    if help_line and not description.lower().startswith(help_line.lower()):
        lines += [_inline(help_line[0].upper() + help_line[1:]) + ".", ""]
    lines += ["```", _synopsis(path, parser), "```", ""]
    if description and description not in shown:
        lines += [description, ""]
        shown.add(description)
    for group in parser._action_groups:
        actions = [action for action in group._group_actions if action.dest not in COMMON_OPTIONS]
        if not actions:
            continue
        title = group.title or "options"
        if all(isinstance(action, argparse._SubParsersAction) for action in actions):
            title = "subcommands"
        elif title in ("positional arguments", "options", "optional arguments"):
            title = "arguments" if title.startswith("positional") else "options"
        lines += [f"*{_inline(title)}*", ""]
        if group.description:
            lines += [_inline(group.description), ""]
        for action in actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    lines.append(f"- `{choice.dest}`: {_inline(choice.help or '')}")
                continue
            what = _invocation(action) if action.option_strings else f"`{_metavar(action)}`"
            text = _inline(_help(action, parser.prog))
            if action.option_strings and action.required:
                text = f"(required) {text}"
            lines.append(f"- {what}: {text}".rstrip(": "))
        lines.append("")
    for group in parser._mutually_exclusive_groups:
        options = [action.option_strings[0] for action in group._group_actions]
        lines += ["At most one of " + ", ".join(f"`{option}`" for option in options) + ".", ""]
    return lines


def reference_markdown(parser=None):
    """The whole reference page as Markdown text (ending in one newline)."""
    lines = [_HEADER]
    found = list(walk_parsers(parser))
    verbs = [(path, help_line) for path, _, help_line in found if len(path) == 2]
    lines += ["## Verbs", ""]
    lines += [f"- [`{path[1]}`](#{_anchor(' '.join(path))}): {_inline(help_line or '')}" for path, help_line in verbs]
    lines.append("")
    shown = set()
    for path, sub, help_line in found[1:]:
        lines += _parser_section(path, sub, help_line, shown)
    return "\n".join(lines).rstrip("\n") + "\n"


def _anchor(heading):
    """GitHub's anchor for a heading whose text is `heading` in a code span."""
    kept = "".join(char for char in heading.lower() if char.isalnum() or char in " -_")
    return kept.replace(" ", "-")
