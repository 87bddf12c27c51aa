"""Write an exploration as a folder a browser opens offline: index.html, PNG figures, CSV tables.

Nothing in the page is fetched from the network: the style is inline and the figures are
files beside the page.
"""

import csv
import html
import json
import os
import time
from pathlib import Path

import numpy as np

from ._atomic import atomic_open, atomic_path
from .explore import SUSPICIOUS_REASONS, explore_dataset
from .figures import FIGURES, make_figure, unavailable

__all__ = ["write_report"]

_FOLD_ROWS = 25          # longer tables are folded under a <details> element

_NOTES = {
    "coverage": "Share of each mask's pixels that are salt. Classes as in the public TGS baseline used to "
                "stratify folds: empty masks are class 0, the rest fall into coverage deciles.",
    "examples": "Tiles drawn at random (fixed seed) from each coverage class; salt is filled and outlined.",
    "depth": "Depth of each tile from depths.csv, as a share of its split so that train and test compare.",
    "salt_depth": "Left: every labelled tile. Right: share of labelled tiles with any salt in each depth bin "
                  "(bars, with the number of tiles) and their mean coverage (line).",
    "intensity": "Per-tile mean (brightness) and standard deviation (contrast) of the grey levels; blank "
                 "tiles (one grey level only) are counted in the title and left out.{salt_note}",
    "suspicious": "Masks that break a rule a person should check; each is a hint, not a verdict. The table "
                  "below lists every flagged id.",
    "duplicates": "Exact duplicates share every pixel (found by hashing). Near-duplicates are pairs of tiles "
                  "whose grey levels correlate at least {min_correlation:g}: the same picture up to "
                  "brightness, contrast and small changes. The tables below list them all.",
    "features": "The channels of saltviewer.features for one tile, as a model would see them (see the "
                "saltviewer.features module notes for each channel's meaning and range).",
}

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1250px;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.meta { color: #666; } img { max-width: 100%; border: 1px solid #eee; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.skip { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 0.9em; }
code, .ids { font-family: Menlo, Consolas, monospace; font-size: 0.92em; }
details summary { cursor: pointer; color: #0645ad; margin: 0.4em 0; }
"""


def write_report(dataset, out_dir, exploration=None, progress=None, dpi=100, **options):
    """Explore `dataset` (unless `exploration` is given) and write the report into `out_dir`.

    Parameters
    ----------
    dataset : Dataset
    out_dir : str or Path
        Created if missing; files of an earlier report there are replaced.
    exploration : Exploration, optional
        Computed by `explore_dataset`; computed here when omitted (with ``**options``).
    progress : callable, optional
        Called as ``progress(done, total)`` while exploring and while drawing.
    dpi : int
        Resolution of the PNG figures.

    Returns
    -------
    index : Path
        ``out_dir / "index.html"``. Beside it: one PNG per figure, ``summary.json``,
        ``suspicious.csv``, ``duplicates.csv`` and ``near_duplicates.csv``.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if exploration is None:
        exploration = explore_dataset(dataset, progress=progress, **options)
    explored = time.perf_counter() - started
    sections = []
    names = list(FIGURES)
    for k, name in enumerate(names):
        _, title, _ = FIGURES[name]
        reason = unavailable(name, exploration)
        stale = out_dir / f"{name}.png"
        if reason is not None and stale.exists():
            stale.unlink()           # from an earlier report of another dataset
        if reason is None:
            figure = make_figure(name, exploration)
            with atomic_path(out_dir / f"{name}.png", suffix=".png") as tmp:
                figure.savefig(tmp, dpi=dpi, format="png")
                _readable(tmp)
        sections.append(_section(name, title, reason, exploration))
        if progress is not None:
            progress(k + 1, len(names))
    summary = exploration.summary()
    summary["seconds"] = {"explore": round(explored, 1), "total": round(time.perf_counter() - started, 1)}
    _write_tables(exploration, out_dir)
    with atomic_open(out_dir / "summary.json") as handle:
        json.dump(summary, handle, indent=2)
        _readable(handle.name)
    page = _page(exploration, summary, sections)
    with atomic_open(out_dir / "index.html", encoding="utf-8") as handle:
        handle.write(page)
        _readable(handle.name)
    return out_dir / "index.html"


def _readable(path):
    """Give a report file the permissions of a normally created file (temporary files are private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


# -- the page ------------------------------------------------------------------------------

def _e(value):
    return html.escape(str(value))


def _section(name, title, reason, exploration):
    parts = [f'<h2 id="{name}">{_e(title)}</h2>']
    if reason is not None:
        parts.append(f'<p class="skip">Skipped: {_e(reason)}</p>')
    else:
        salt_note = (" Right: grey levels of the salt and of the sediment pixels of the labelled tiles."
                     if exploration.n_masks else "")
        note = _NOTES.get(name, "").format(min_correlation=exploration.min_correlation, salt_note=salt_note)
        if note:
            parts.append(f"<p>{_e(note)}</p>")
        parts.append(f'<p><img src="{name}.png" alt="{_e(title)}"></p>')
    if name == "suspicious" and reason is None:
        parts.append(_suspicious_table(exploration))
    if name == "duplicates":
        parts.append(_duplicates_tables(exploration))
    return "\n".join(parts)


def _table(header, rows, numeric=()):
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{_e(v)}</td>' if k in numeric else f"<td>{v}</td>"
                        for k, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    table = f"<table><tr>{head}</tr>\n" + "\n".join(body) + "</table>"
    if len(rows) > _FOLD_ROWS:
        return f"<details><summary>show all {len(rows):,} rows</summary>\n{table}\n</details>"
    return table


def _suspicious_table(exploration):
    flagged = np.flatnonzero(exploration.any_suspicious())
    rules = "".join(f"<li><b>{_e(reason)}</b>: {_e(text.format(min_area=exploration.min_area))} "
                    f"({int(exploration.suspicious[reason].sum()):,} masks)</li>"
                    for reason, text in SUSPICIOUS_REASONS.items())
    intro = (f"<p>{len(flagged):,} of {exploration.n_masks:,} masks are flagged by at least one rule:</p>"
             f"<ul>{rules}</ul>")
    if not len(flagged):
        return intro
    rows = [(f'<span class="ids">{_e(exploration.ids[i])}</span>', f"{exploration.coverage[i] * 100:.1f}",
             exploration.smallest_area[i], _e(", ".join(exploration.reasons(i)))) for i in flagged]
    return intro + _table(("id", "salt %", "smallest salt region (px)", "reasons"), rows, numeric=(1, 2))


def _duplicates_tables(exploration):
    parts = []
    groups = exploration.duplicate_groups
    parts.append(f"<h3>Exact duplicates: {len(groups):,} group{'s' if len(groups) != 1 else ''}, "
                 f"{sum(len(g) for g in groups):,} tiles</h3>")
    if groups:
        rows = []
        for k, group in enumerate(groups, start=1):
            blank = "yes" if exploration.blank[group[0]] else "no"
            conflict = _mask_conflict(exploration, group)
            ids = " ".join(exploration.ids[i] for i in group)
            cell = f'<span class="ids">{_e(ids)}</span>'
            if len(group) > 12:
                cell = f'<details><summary>{len(group)} ids</summary><span class="ids">{_e(ids)}</span></details>'
            splits = ", ".join(f"{int(np.sum(exploration.split[group] == s))} {s}" for s in ("train", "test"))
            rows.append((k, len(group), _e(splits), blank, _e(conflict), cell))
        parts.append(_table(("group", "tiles", "splits", "blank", "masks agree", "ids"), rows, numeric=(0, 1)))
    pairs, correlations = exploration.near_pairs, exploration.near_correlations
    parts.append(f"<h3>Near-duplicates: {len(pairs):,} pairs with correlation &ge; "
                 f"{exploration.min_correlation:g}</h3>")
    if len(pairs):
        rows = [(f'<span class="ids">{_e(exploration.ids[i])}</span>', _e(exploration.split[i]),
                 f'<span class="ids">{_e(exploration.ids[j])}</span>', _e(exploration.split[j]), f"{c:.3f}")
                for (i, j), c in zip(pairs, correlations)]
        parts.append(_table(("id", "split", "id", "split", "correlation"), rows, numeric=(4,)))
    return "\n".join(parts)


def _mask_conflict(exploration, group):
    labelled = [i for i in group if exploration.has_mask[i]]
    if len(labelled) < 2:
        return "n/a"
    first = exploration.mask(labelled[0])
    same = all(np.array_equal(first, exploration.mask(i)) for i in labelled[1:])
    return "yes" if same else "NO: masks differ"


def _page(exploration, summary, sections):
    dataset = exploration.dataset
    empty = "n/a (no masks)" if summary["empty_share"] is None else f"{summary['empty_share']:.1%}"
    reasons = ", ".join(f"{n:,} {r}" for r, n in summary["suspicious_by_reason"].items())
    facts = [
        ("tiles", f"{summary['tiles']:,} ({summary['train']:,} train, {summary['test']:,} test)"),
        ("masks", f"{summary['masks']:,}"),
        ("empty masks", empty),
        ("tiles with a depth", f"{summary['depths_known']:,}"),
        ("blank (constant) tiles", f"{summary['blank_tiles']:,}"),
        ("suspicious masks", f"{summary['suspicious_masks']:,}" + (f" ({reasons})" if summary["masks"] else "")),
        ("exact duplicates", f"{summary['duplicate_groups']:,} group{'s' if summary['duplicate_groups'] != 1 else ''}"
                             f", {summary['duplicate_tiles']:,} tiles"),
        ("near-duplicates", f"{summary['near_duplicate_pairs']:,} pairs among {summary['near_duplicate_tiles']:,} "
                            f"tiles (correlation &ge; {summary['min_correlation']:g})"),
    ]
    rows = "\n".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in facts)
    contents = " &middot; ".join(f'<a href="#{name}">{_e(title)}</a>' for name, (_, title, _) in FIGURES.items())
    stamp = time.strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>saltviewer exploration: {_e(dataset.root.name)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Exploration of <code>{_e(dataset.root)}</code></h1>
<p class="meta">Written by <code>saltviewer explore</code> on {stamp} in {summary['seconds']['total']} s.
Tables as CSV: <a href="suspicious.csv">suspicious.csv</a>, <a href="duplicates.csv">duplicates.csv</a>,
<a href="near_duplicates.csv">near_duplicates.csv</a>; numbers: <a href="summary.json">summary.json</a>.</p>
<table>{rows}</table>
<p>{contents}</p>
{chr(10).join(sections)}
</body></html>
"""


def _write_tables(exploration, out_dir):
    ids, split = exploration.ids, exploration.split
    with atomic_open(out_dir / "suspicious.csv", newline="") as handle:
        writer = csv.writer(handle)
        _readable(handle.name)
        writer.writerow(["id", "coverage", "smallest_region_px"] + list(SUSPICIOUS_REASONS))
        for i in np.flatnonzero(exploration.any_suspicious()):
            writer.writerow([ids[i], f"{exploration.coverage[i]:.5f}", int(exploration.smallest_area[i])]
                            + [int(exploration.suspicious[r][i]) for r in SUSPICIOUS_REASONS])
    with atomic_open(out_dir / "duplicates.csv", newline="") as handle:
        writer = csv.writer(handle)
        _readable(handle.name)
        writer.writerow(["group", "id", "split"])
        for k, group in enumerate(exploration.duplicate_groups, start=1):
            for i in group:
                writer.writerow([k, ids[i], split[i]])
    with atomic_open(out_dir / "near_duplicates.csv", newline="") as handle:
        writer = csv.writer(handle)
        _readable(handle.name)
        writer.writerow(["id_a", "split_a", "id_b", "split_b", "correlation"])
        for (i, j), c in zip(exploration.near_pairs, exploration.near_correlations):
            writer.writerow([ids[i], split[i], ids[j], split[j], f"{c:.4f}"])
