#!/usr/bin/env python3
"""Write docs/cli.md, the command line reference, from the parsers of `saltviewer`.

    python scripts/cli_reference.py            # rewrite docs/cli.md
    python scripts/cli_reference.py --check    # exit 1 if docs/cli.md differs from the parsers

Run it after changing a verb's arguments or help; tests/core/test_docs.py fails until you do.
"""

import argparse
import sys
from pathlib import Path

from saltviewer.cli._reference import reference_markdown

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether docs/cli.md is up to date")
    args = parser.parse_args(argv)
    text = reference_markdown()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else None
    if args.check:
        if current == text:
            print(f"{PAGE.name} is up to date")
            return 0
        print(f"{PAGE.name} differs from the parsers: run python scripts/cli_reference.py", file=sys.stderr)
        return 1
    if current != text:
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE}")
    else:
        print(f"{PAGE.name} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
