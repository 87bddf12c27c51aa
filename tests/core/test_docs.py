"""The documentation is checked like code: its commands parse, its links resolve, its CLI page is current.

- every line of a fenced ``bash`` block in README.md, docs/*.md and the napari hub description
  that runs ``saltviewer ...`` parses with the real parser (`saltviewer.cli.build_parser`);
- every relative link and image resolves to a file in the repository (and an ``#anchor`` to a
  heading of the page it names); links to this repository's own files on GitHub count as relative;
- docs/cli.md is what ``python scripts/cli_reference.py`` makes from the parsers now;
- the napari hub's metadata (.napari-hub/) has the documented shape and agrees with setup.cfg.

No Qt, no Keras: the parsers import neither.
"""

import configparser
import contextlib
import functools
import io
import re
import shlex
from pathlib import Path

import pytest

from saltviewer.cli import VERBS, build_parser
from saltviewer.cli._reference import COMMON_OPTIONS as COMMON
from saltviewer.cli._reference import reference_markdown

REPO = Path(__file__).resolve().parents[2]
HUB = REPO / ".napari-hub"

def _setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    return config


#: This repository on GitHub (``owner/name``), as setup.cfg's url names it; links there are checked as files here.
PROJECT = _setup_cfg().get("metadata", "url").removeprefix("https://github.com/").strip("/")
_OWN_URL = re.compile(rf"https://(?:raw\.githubusercontent\.com/{PROJECT}/[^/]+/|github\.com/{PROJECT}/"
                      rf"(?:blob|tree|raw)/[^/]+/)([^?#)\s]*)")
_SEPARATORS = {"|", "||", "&&", ";", "&"}
_REDIRECTIONS = {">", ">>", "<", ">&", "&>"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def pages():
    """The Markdown files a reader is sent to."""
    found = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    if (HUB / "DESCRIPTION.md").exists():
        found.append(HUB / "DESCRIPTION.md")
    return found


def _name(path):
    return str(path.relative_to(REPO))


# ---------------------------------------------------------------------- commands
def fenced_blocks(text, language="bash"):
    """``(first line number, body)`` of each fenced code block in `language`."""
    blocks, inside, start, body = [], None, 0, []
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*(```+|~~~+)\s*(\S*)", line)
        if inside is None and fence:
            inside, start, body = (fence.group(1), fence.group(2).lower()), number + 1, []
        elif inside is not None and fence and fence.group(1).startswith(inside[0]) and not fence.group(2):
            if inside[1] == language:
                blocks.append((start, "\n".join(body)))
            inside = None
        elif inside is not None:
            body.append(line)
    return blocks


def saltviewer_commands(text):
    """``(line number, words)`` of every ``saltviewer ...`` command in the page's ``bash`` blocks.

    Read as a shell reads a line: commands split at ``&&``, ``||``, ``;``, ``&`` and ``|``;
    comments, redirections (with their file) and leading ``NAME=value`` assignments are not a
    command's words; a trailing ``\\`` joins the next line.
    """
    commands = []
    for start, body in fenced_blocks(text):
        lines = body.split("\n")
        number = 0
        while number < len(lines):
            first, line = number, lines[number]
            while line.rstrip().endswith("\\") and number + 1 < len(lines):
                number += 1
                line = line.rstrip()[:-1] + " " + lines[number]
            number += 1
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            try:
                tokens = list(lexer)
            except ValueError:                      # an unclosed quote: a line of a Python snippet
                continue
            words, skip = [], False
            for token in [*tokens, ";"]:
                if token in _SEPARATORS:
                    while words and _ASSIGNMENT.match(words[0]):
                        words.pop(0)
                    if words[:1] == ["saltviewer"]:
                        commands.append((start + first, words))
                    words, skip = [], False
                elif token in _REDIRECTIONS:
                    skip = True                     # the next token is the file
                elif skip:
                    skip = False
                else:
                    words.append(token)
    return commands


@functools.lru_cache(maxsize=1)
def _parser():
    return build_parser()


def parse_error(words):
    """None when `words` (after ``saltviewer``) parse; else what argparse printed."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            _parser().parse_args(words)
    except SystemExit as stop:
        if stop.code not in (0, None):
            return stderr.getvalue().strip().splitlines()[-1] if stderr.getvalue().strip() else f"exit {stop.code}"
    return None


def all_commands():
    return [(page, number, words) for page in pages()
            for number, words in saltviewer_commands(page.read_text(encoding="utf-8"))]


def test_every_saltviewer_command_in_the_docs_parses():
    commands = all_commands()
    assert len(commands) >= 30, f"only {len(commands)} saltviewer commands found in the docs' bash blocks"
    failures = [f"{_name(page)}:{number}: {shlex.join(words)}\n    {error}"
                for page, number, words in commands if (error := parse_error(words[1:]))]
    assert not failures, "commands the CLI refuses:\n" + "\n".join(failures)


def test_the_docs_show_every_verb():
    shown = {words[1] for _, _, words in all_commands() if len(words) > 1}
    assert set(VERBS) - shown == set(), f"verbs no page shows in a bash block: {sorted(set(VERBS) - shown)}"


def test_the_readme_leads_with_the_two_commands():
    """CI and a newcomer run these two; they come first, as written."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    _, first = fenced_blocks(text)[0]
    lines = [line.strip() for line in first.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines == ["bash scripts/setup.sh && saltviewer demo", "bash scripts/setup.sh && bash scripts/test.sh"]
    assert (REPO / "scripts" / "setup.sh").exists() and (REPO / "scripts" / "test.sh").exists()


@pytest.mark.parametrize("line, expected", [
    ("saltviewer train data/ -w ws/   # a comment", [["saltviewer", "train", "data/", "-w", "ws/"]]),
    ("bash scripts/setup.sh && saltviewer demo", [["saltviewer", "demo"]]),
    ("saltviewer queue data/ -w ws/ --ids | head -3", [["saltviewer", "queue", "data/", "-w", "ws/", "--ids"]]),
    ("KERAS_BACKEND=jax saltviewer train data/ \\\n    --workspace ws/", [["saltviewer", "train", "data/", "--workspace", "ws/"]]),
    ("python -c \"import saltviewer\"", []),
])
def test_commands_are_found_as_a_shell_reads_them(line, expected):
    assert [words for _, words in saltviewer_commands(f"```bash\n{line}\n```\n")] == expected


def test_a_wrong_command_is_caught():
    assert parse_error(["train", "data/", "--workspace", "ws/"]) is None
    assert "--workspace" in parse_error(["train", "data/"])
    assert parse_error(["train", "data/", "-w", "ws/", "--no-such-option"])
    assert parse_error(["segy", "predict", "a.sgy", "-w", "ws/"])                   # --out is required
    assert parse_error(["no-such-verb"])


# ---------------------------------------------------------------------- links
def _without_code(text):
    """The page with fenced blocks and code spans blanked (links there are not links)."""
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def link_targets(text):
    """Targets of inline links and images, reference definitions and HTML ``src``/``href``."""
    text = _without_code(text)
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)", text)
    targets += re.findall(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$", text, flags=re.M)
    targets += re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", text)
    return targets


def heading_anchors(text):
    """GitHub's anchors of a page's headings (``## `saltviewer train` `` -> ``saltviewer-train``)."""
    anchors, seen = set(), {}
    for line in re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        words = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1)).lower()
        slug = "".join(char for char in words if char.isalnum() or char in " -_").replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def broken_links(page, text=None):
    """What in `page` (or `text`, read as if it were there) points at no file or no heading, one line each."""
    text = page.read_text(encoding="utf-8") if text is None else text
    broken = []
    for target in link_targets(text):
        own = _OWN_URL.match(target)
        if own:
            path, anchor = own.group(1), target.partition("#")[2]
            base = REPO
        elif re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I) or target.startswith("//"):
            continue                                      # another site, mailto:, ...
        else:
            path, _, anchor = target.partition("#")
            base = page.parent
        resolved = (base / path).resolve() if path else page
        if REPO not in resolved.parents and resolved != REPO:
            broken.append(f"{target}: outside the repository")
        elif not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in heading_anchors(resolved.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading '#{anchor}' in {_name(resolved)}")
    return broken


def test_every_relative_link_and_image_resolves():
    found = {_name(page): broken_links(page) for page in pages()}
    assert sum(len(link_targets(page.read_text(encoding="utf-8"))) for page in pages()) >= 40
    assert not any(found.values()), "\n".join(f"{page}: {line}" for page, lines in found.items() for line in lines)


def test_every_docs_page_is_reached_from_the_readme_or_another_page():
    linked = set()
    for page in pages():
        for target in link_targets(page.read_text(encoding="utf-8")):
            path = target.partition("#")[0]
            if path and not re.match(r"^[a-z]+:", path):
                linked.add((page.parent / path).resolve())
    orphans = [_name(page) for page in sorted((REPO / "docs").glob("*.md")) if page.resolve() not in linked]
    assert not orphans, f"docs pages no page links to: {orphans}"


def test_a_broken_link_or_anchor_is_caught():
    text = ("[ok](review.md#corrections) ![ok](review.png) [gone](nowhere.md) ![gone](missing.png) "
            "[bad anchor](review.md#no-such-heading) `[code](not-a-link.md)` [up](../../outside.md) "
            f"![own](https://raw.githubusercontent.com/{PROJECT}/main/docs/no-such.png) "
            f"![own](https://raw.githubusercontent.com/{PROJECT}/main/docs/review.png) [web](https://napari.org)")
    assert sorted(broken_links(REPO / "docs" / "probe.md", text)) == sorted([
        "nowhere.md: no such file", "missing.png: no such file", "../../outside.md: outside the repository",
        "review.md#no-such-heading: no heading '#no-such-heading' in docs/review.md",
        f"https://raw.githubusercontent.com/{PROJECT}/main/docs/no-such.png: no such file"])


def test_heading_anchors_follow_github():
    text = "# A title\n## `saltviewer segy predict`\n## SEG-Y\n## Two commands\n## Two commands\n"
    assert heading_anchors(text) == {"a-title", "saltviewer-segy-predict", "seg-y", "two-commands", "two-commands-1"}


# ---------------------------------------------------------------------- the CLI reference
def test_the_cli_reference_is_what_the_parsers_say():
    page = REPO / "docs" / "cli.md"
    assert page.read_text(encoding="utf-8") == reference_markdown(), \
        "docs/cli.md differs from the parsers: run python scripts/cli_reference.py"


def test_the_cli_reference_names_every_verb_subcommand_and_option():
    text = reference_markdown()
    parser = build_parser()
    verbs = next(action for action in parser._actions if action.dest == "verb").choices
    assert list(verbs) == list(VERBS)
    for verb, sub in verbs.items():
        assert f"## `saltviewer {verb}`" in text
        for action in sub._actions:
            for option in action.option_strings if action.dest not in COMMON else ():
                assert f"`{option}" in text, f"saltviewer {verb}: {option} missing from the reference"
    segy = verbs["segy"]
    actions = next(action for action in segy._actions if action.dest == "action").choices
    for name, nested in actions.items():
        assert f"### `saltviewer segy {name}`" in text
        assert all(f"`{option}" in text for action in nested._actions if action.dest not in COMMON
                   for option in action.option_strings)
    assert "`-v`" in text and "`-q`" in text                       # the options every verb takes: once


def test_the_cli_reference_changes_when_a_parser_does():
    parser = build_parser()
    verbs = next(action for action in parser._actions if action.dest == "verb").choices
    verbs["train"].add_argument("--new-setting", metavar="X", help="a setting added without regenerating")
    changed = reference_markdown(parser)
    assert changed != reference_markdown()
    assert "- `--new-setting X`: a setting added without regenerating" in changed


# ---------------------------------------------------------------------- napari hub
def test_the_napari_hub_metadata_has_the_documented_shape():
    """.napari-hub/config.yml and DESCRIPTION.md, as the hub's guide describes them."""
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((HUB / "config.yml").read_text(encoding="utf-8"))
    assert set(config) <= {"authors", "project_urls", "visibility"}, f"unknown keys: {set(config)}"
    assert config["visibility"] in ("public", "hidden")
    assert config["authors"] and all(set(author) <= {"name", "orcid"} and author["name"]
                                     for author in config["authors"])
    known = {"Project Site", "Documentation", "User Support", "Bug Tracker", "Twitter", "Source Code"}
    assert set(config["project_urls"]) <= known and "Source Code" in config["project_urls"]
    assert all(url.startswith("https://") for url in config["project_urls"].values())

    urls = dict(line.split("=", 1) for line in _setup_cfg().get("metadata", "project_urls").strip().splitlines())
    urls = {key.strip(): value.strip() for key, value in urls.items()}
    assert config["project_urls"] == urls, "the hub's links and setup.cfg's project_urls differ"

    description = (HUB / "DESCRIPTION.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^## ", description, flags=re.M)) >= 3, "the hub builds its sidebar from ## headings"
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", _without_code(description))
    assert images, "the hub's description shows at least one preview image"
    assert all(_OWN_URL.match(image) for image in images), \
        "the hub shows only images at an absolute URL (relative paths do not render there)"
