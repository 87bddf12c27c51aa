"""Figures of an `Exploration`: each function returns a `matplotlib.figure.Figure`.

Figures are built as bare `Figure` objects, never through pyplot, so they touch no global
state: the report saves them with ``figure.savefig(path)`` and a napari dock can show the
same object on a Qt canvas (``FigureCanvasQTAgg(figure)``). `FIGURES` lists them in report
order with a title; `unavailable(name, exploration)` says why a figure cannot be drawn for
a dataset (no masks, no depths), or None.
"""

import textwrap

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ._errors import SaltviewerError
from .explore import N_COVERAGE_CLASSES, SUSPICIOUS_REASONS, coverage_class_label

__all__ = ["FIGURES", "FIGURE_TITLES", "unavailable", "make_figure", "coverage_figure", "depth_figure",
           "salt_depth_figure", "intensity_figure", "examples_figure", "suspicious_figure",
           "duplicates_figure", "features_figure"]

TITLE_SIZE = 13
LABEL_SIZE = 11
TICK_SIZE = 10
SMALL_SIZE = 9
#: Width in inches of the narrow layout: a dock beside the viewer is about 400 pixels wide.
NARROW_WIDTH = 4.0

TRAIN_COLOUR = "#1f77b4"
TEST_COLOUR = "#ff7f0e"
SALT_COLOUR = "#d62728"
SEDIMENT_COLOUR = "#2ca02c"
OUTLINE_COLOUR = "#ffd400"
_SALT_FILL = ListedColormap([OUTLINE_COLOUR])


def _figure(width, height):
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _panels(n, narrow, width, height, **kwargs):
    """A figure of `n` panels side by side (`width` x `height` inches), or, `narrow`, one above
    the other in a figure `NARROW_WIDTH` inches wide (a dock beside the viewer)."""
    if narrow:
        fig = _figure(NARROW_WIDTH, 3.4 * n + 0.8)
        kwargs = {("height_ratios" if k == "width_ratios" else k): v for k, v in kwargs.items()}
        return fig, fig.subplots(n, 1, **kwargs)
    fig = _figure(width, height)
    return fig, fig.subplots(1, n, **kwargs)


def _suptitle(fig, text, narrow):
    """The figure's title, wrapped to the narrow layout's width."""
    if narrow:
        text = "\n".join(textwrap.wrap(text, 34))
    fig.suptitle(text, fontsize=TITLE_SIZE, fontweight="bold")


def _axes_style(ax, title=None, xlabel=None, ylabel=None):
    if title:
        ax.set_title(title, fontsize=LABEL_SIZE + 1)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)


def _dataset_name(exploration):
    return exploration.dataset.root.name or str(exploration.dataset.root)


def _show_tile(ax, image, mask=None, title=None, outline=True):
    """A tile in grey with its mask as a translucent fill and an outline; no ticks."""
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    if mask is not None and mask.any():
        ax.imshow(np.ma.masked_where(~mask, mask), cmap=_SALT_FILL, alpha=0.25, interpolation="nearest")
        if outline and not mask.all():
            ax.contour(mask.astype(float), levels=[0.5], colors=OUTLINE_COLOUR, linewidths=1.3)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=SMALL_SIZE, pad=2)


def _percent(coverage):
    """Salt share as text that never shows a partial mask as 0% or 100%."""
    if 0 < coverage < 0.01:
        return "<1%"
    if 0.99 < coverage < 1:
        return ">99%"
    return f"{coverage:.0%}"


def _empty_axes(ax, text):
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=SMALL_SIZE, color="0.4", transform=ax.transAxes)


# -- the figures ---------------------------------------------------------------------------

def coverage_figure(exploration, narrow=False):
    """Salt coverage of the labelled tiles: its distribution, and the count per coverage class.

    `narrow` stacks the panels for a dock (as every multi-panel figure here)."""
    _require_masks(exploration)
    coverage = exploration.coverage[exploration.has_mask]
    classes = exploration.coverage_class[exploration.has_mask]
    fig, (left, right) = _panels(2, narrow, 12, 4.6, width_ratios=[1, 1.15])
    salty = coverage[coverage > 0] * 100
    left.hist(salty, bins=np.arange(0, 102, 2), color=SALT_COLOUR, alpha=0.85, edgecolor="white", linewidth=0.4)
    _axes_style(left, f"Coverage of the {len(salty):,} masks with salt", "salt coverage (% of tile)", "masks")
    left.set_xlim(0, 100)
    counts = np.bincount(classes, minlength=N_COVERAGE_CLASSES)
    colours = ["0.55"] + [SALT_COLOUR] * (N_COVERAGE_CLASSES - 1)
    bars = right.bar(np.arange(N_COVERAGE_CLASSES), counts, color=colours, alpha=0.85)
    right.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize=SMALL_SIZE, padding=2)
    right.set_xticks(np.arange(N_COVERAGE_CLASSES),
                     [coverage_class_label(k) for k in range(N_COVERAGE_CLASSES)], rotation=45, ha="right")
    right.margins(y=0.12)
    empty = exploration.empty_share
    _axes_style(right, f"Coverage classes ({empty:.1%} of masks are empty)", "coverage class (salt % of tile)",
                "masks")
    _suptitle(fig, f"Salt coverage: {exploration.n_masks:,} masks of {_dataset_name(exploration)}", narrow)
    return fig


def depth_figure(exploration, narrow=False):
    """Depth distribution of the train and test tiles."""
    _require_depths(exploration)
    depths, split = exploration.depths, exploration.split
    known = np.isfinite(depths)
    fig, ax = _panels(1, narrow, 8, 4.6)
    bins = np.linspace(np.nanmin(depths), np.nanmax(depths), 41)
    for name, colour in (("train", TRAIN_COLOUR), ("test", TEST_COLOUR)):
        values = depths[known & (split == name)]
        if len(values):
            weights = np.full(len(values), 100.0 / len(values))
            ax.hist(values, bins=bins, weights=weights, histtype="stepfilled", alpha=0.35, color=colour,
                    edgecolor=colour, linewidth=1.4, label=f"{name} ({len(values):,} tiles)")
    _axes_style(ax, None, "depth (ft)", "share of the split's tiles (%)")
    ax.legend(fontsize=TICK_SIZE)
    missing = int((~known).sum())
    note = f"; {missing:,} tiles without depth" if missing else ""
    _suptitle(fig, f"Depth of the tiles of {_dataset_name(exploration)}{note}", narrow)
    return fig


def salt_depth_figure(exploration, bins=10, narrow=False):
    """Salt versus depth: coverage of each labelled tile, and the share of tiles with salt per depth bin."""
    from .explore import salt_by_depth

    _require_masks(exploration)
    _require_depths(exploration)
    labelled = exploration.has_mask & np.isfinite(exploration.depths)
    if not labelled.any():
        raise SaltviewerError("no labelled tile has a depth; cannot draw salt against depth.")
    depths, coverage = exploration.depths[labelled], exploration.coverage[labelled]
    table = salt_by_depth(depths, coverage, bins=bins)
    fig, (left, right) = _panels(2, narrow, 12, 4.6)
    empty = coverage == 0
    left.scatter(depths[~empty], coverage[~empty] * 100, s=6, alpha=0.35, color=SALT_COLOUR, linewidths=0,
                 label=f"with salt ({(~empty).sum():,})")
    left.scatter(depths[empty], np.zeros(empty.sum()), s=6, alpha=0.25, color="0.45", linewidths=0,
                 label=f"empty ({empty.sum():,})")
    _axes_style(left, "Coverage of each labelled tile", "depth (ft)", "salt coverage (% of tile)")
    left.set_ylim(-3, 103)
    left.legend(fontsize=TICK_SIZE, loc="upper left", markerscale=2.5)
    edges = table["edges"]
    centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    bars = right.bar(centres, table["with_salt"] * 100, width=width * 0.9, color=SALT_COLOUR, alpha=0.75,
                     label="tiles with any salt")
    right.bar_label(bars, labels=[f"n={c}" for c in table["count"]], fontsize=SMALL_SIZE - 1, padding=2)
    right.plot(centres, table["mean_coverage"] * 100, "o-", color="black", markersize=4, label="mean coverage")
    right.set_ylim(0, 108)
    _axes_style(right, f"Salt per depth bin ({bins} bins of {width[0]:.0f} ft)", "depth (ft)",
                "% of tiles / % of pixels")
    right.legend(fontsize=TICK_SIZE, loc="upper left")
    _suptitle(fig, f"Salt versus depth in {_dataset_name(exploration)}", narrow)
    return fig


def intensity_figure(exploration, narrow=False):
    """Grey levels: per-tile mean and standard deviation by split; salt and sediment pixels."""
    mean, std, split, blank = exploration.mean, exploration.std, exploration.split, exploration.blank
    panels = 3 if exploration.mask_pixels is not None else 2
    fig, axes = _panels(panels, narrow, 5 * panels, 4.6)
    for ax, values, label, top in ((axes[0], mean, "tile mean grey level (0-255)", 255),
                                   (axes[1], std, "tile standard deviation (grey levels)", None)):
        top = top if top is not None else max(float(values.max()), 1.0)
        bins = np.linspace(0, top, 52)
        for name, colour in (("train", TRAIN_COLOUR), ("test", TEST_COLOUR)):
            chosen = (split == name) & ~blank
            if chosen.any():
                weights = np.full(chosen.sum(), 100.0 / chosen.sum())
                ax.hist(values[chosen], bins=bins, weights=weights, histtype="stepfilled", alpha=0.35,
                        color=colour, edgecolor=colour, linewidth=1.2, label=f"{name} ({chosen.sum():,})")
        _axes_style(ax, None, label, "share of the split's tiles (%)")
        ax.legend(fontsize=TICK_SIZE, title="non-blank tiles", title_fontsize=SMALL_SIZE)
    axes[0].set_title("Brightness of each tile", fontsize=LABEL_SIZE + 1)
    axes[1].set_title("Contrast of each tile", fontsize=LABEL_SIZE + 1)
    if panels == 3:
        ax = axes[2]
        # Bins of 8 grey levels: the TGS tiles were contrast-stretched, so single levels comb.
        levels = np.arange(0, 256, 8) + 3.5
        for name, colour in (("salt", SALT_COLOUR), ("sediment", SEDIMENT_COLOUR)):
            counts = exploration.mask_pixels[name].reshape(32, 8).sum(1)
            if counts.sum():
                ax.plot(levels, counts / counts.sum() * 100, color=colour, linewidth=1.6,
                        label=f"{name} pixels ({counts.sum() / 1e6:.1f} M)")
        _axes_style(ax, "Grey levels inside and outside salt", "grey level (0-255, bins of 8)",
                    "share of pixels (%)")
        ax.set_xlim(0, 255)
        ax.legend(fontsize=TICK_SIZE, title="labelled non-blank tiles", title_fontsize=SMALL_SIZE)
    n_blank = int(blank.sum())
    _suptitle(fig, f"Intensity of the tiles of {_dataset_name(exploration)}: {n_blank:,} blank (constant) "
                   f"tile{'s' if n_blank != 1 else ''} left out of the histograms", narrow)
    return fig


def examples_figure(exploration, per_class=6, seed=0, narrow=False):
    """Tiles drawn at random from each coverage class, with their mask filled and outlined."""
    _require_masks(exploration)
    rng = np.random.default_rng(seed)
    if narrow:
        per_class = min(per_class, 3)
        fig = _figure(NARROW_WIDTH, 1.3 * N_COVERAGE_CLASSES + 1.2)
    else:
        fig = _figure(1.45 * per_class + 1.2, 1.5 * N_COVERAGE_CLASSES + 0.6)
    grid = fig.subplots(N_COVERAGE_CLASSES, per_class, squeeze=False)
    for k in range(N_COVERAGE_CLASSES):
        members = np.flatnonzero(exploration.coverage_class == k)
        chosen = np.sort(rng.choice(members, size=min(per_class, len(members)), replace=False)) if len(members) else []
        for col in range(per_class):
            ax = grid[k, col]
            if col < len(chosen):
                i = chosen[col]
                _show_tile(ax, exploration.images[i], exploration.mask(i),
                           f"{exploration.ids[i]}\n{_percent(exploration.coverage[i])} salt")
            else:
                _empty_axes(ax, "no tile" if col == 0 else "")
            if col == 0:
                ax.set_ylabel(f"{coverage_class_label(k)}\n({len(members):,})", fontsize=LABEL_SIZE)
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
    _suptitle(fig, "Example tiles per coverage class (class and count on the left;"
                   + (" " if narrow else "\n") + "salt filled and outlined in yellow)", narrow)
    return fig


def suspicious_figure(exploration, per_reason=6, narrow=False):
    """Up to `per_reason` flagged masks for each rule of `SUSPICIOUS_REASONS`."""
    _require_masks(exploration)
    reasons = list(SUSPICIOUS_REASONS)
    if narrow:
        per_reason = min(per_reason, 3)
        fig = _figure(NARROW_WIDTH, 1.5 * len(reasons) + 1.2)
    else:
        fig = _figure(1.55 * per_reason + 1.4, 1.75 * len(reasons) + 0.7)
    grid = fig.subplots(len(reasons), per_reason, squeeze=False)
    for row, reason in enumerate(reasons):
        flagged = _most_telling(exploration, reason, per_reason)
        for col in range(per_reason):
            ax = grid[row, col]
            if col < len(flagged):
                i = flagged[col]
                mask = exploration.mask(i)
                if reason == "tiny speck":
                    extra = f"\nsmallest region {exploration.smallest_area[i]} px"
                else:
                    extra = f"\n{_percent(exploration.coverage[i])} salt"
                _show_tile(ax, exploration.images[i], mask, f"{exploration.ids[i]}{extra}")
                if reason == "tiny speck":
                    _circle_specks(ax, mask, exploration.min_area)
            else:
                _empty_axes(ax, "none flagged" if col == 0 else "")
            if col == 0:
                ax.axis("on")
                ax.set_xticks([])
                ax.set_yticks([])
                total = int(exploration.suspicious[reason].sum())
                ax.set_ylabel(f"{reason}\n({total:,} masks)", fontsize=LABEL_SIZE)
    _suptitle(fig, "Suspicious masks: examples per rule (salt filled and outlined in yellow)", narrow)
    return fig


def _most_telling(exploration, reason, count):
    """The flagged tiles to show first: the least salt on every edge, the smallest specks,
    else spread evenly over the flagged ids."""
    flagged = np.flatnonzero(exploration.suspicious[reason])
    if reason == "salt on every edge":
        flagged = flagged[np.argsort(exploration.coverage[flagged], kind="stable")]
    elif reason == "tiny speck":
        flagged = flagged[np.argsort(exploration.smallest_area[flagged], kind="stable")]
    elif len(flagged) > count:
        flagged = flagged[np.linspace(0, len(flagged) - 1, count).round().astype(int)]
    return flagged[:count]


def _circle_specks(ax, mask, min_area):
    """Ring each salt region smaller than `min_area` pixels, which is too small to see."""
    from scipy import ndimage

    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if not count:
        return
    sizes = np.bincount(labels.ravel())[1:]
    centres = ndimage.center_of_mass(mask, labels, np.arange(1, count + 1))
    for size, (row, col) in zip(sizes, centres):
        if size < min_area:
            ax.scatter([col], [row], s=160, facecolors="none", edgecolors="#ff2d55", linewidths=1.6)


def duplicates_figure(exploration, pairs=8, narrow=False):
    """Near-duplicate pairs over the range of correlations found, and each group of identical tiles.

    Each pair is shown with one grey scale stretched over the two tiles' grey levels, so
    that faint structure in dark or flat tiles shows.
    """
    near, correlations = exploration.near_pairs, exploration.near_correlations
    groups = exploration.duplicate_groups
    shown_pairs = np.linspace(0, len(near) - 1, min(pairs, len(near))).round().astype(int) if len(near) else []
    shown_groups = groups[:4]
    cols = 2 if narrow else 4
    pair_rows = int(np.ceil(len(shown_pairs) / (cols // 2)))
    group_rows = int(np.ceil(len(shown_groups) / cols))
    rows = pair_rows + group_rows
    title = (f"Near-duplicates (correlation >= {exploration.min_correlation:g}): {len(near):,} pairs"
             + (f", {len(shown_pairs)} shown from strongest to weakest" if len(near) else "")
             + f";\nexact duplicates: {len(groups):,} group{'s' if len(groups) != 1 else ''} of identical tiles")
    if narrow:
        title = title.replace(";\n", "; ")
    if rows == 0:
        fig = _figure(NARROW_WIDTH if narrow else 8, 2.2)
        ax = fig.subplots()
        _empty_axes(ax, "No exact or near-duplicate tiles were found.")
        ax.texts[0].set_fontsize(LABEL_SIZE + 1)
        _suptitle(fig, title, narrow)
        return fig
    fig = _figure(NARROW_WIDTH, 2.0 * rows + 1.6) if narrow else _figure(2.1 * cols + 0.6, 2.35 * rows + 0.9)
    grid = fig.subplots(rows, cols, squeeze=False)
    for ax in grid.ravel():
        ax.axis("off")
    for k, p in enumerate(shown_pairs):
        i, j = near[p]
        row, col = divmod(k, cols // 2)
        low = int(min(exploration.images[i].min(), exploration.images[j].min()))
        high = int(max(exploration.images[i].max(), exploration.images[j].max()))
        for offset, t in enumerate((i, j)):
            ax = grid[row, 2 * col + offset]
            ax.axis("on")
            ax.imshow(exploration.images[t], cmap="gray", vmin=low, vmax=max(high, low + 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{exploration.ids[t]}\n({exploration.split[t]})", fontsize=SMALL_SIZE, pad=2)
        grid[row, 2 * col].set_ylabel(f"pair {p + 1}\nr = {correlations[p]:.3f}", fontsize=SMALL_SIZE + 1)
    for k, group in enumerate(shown_groups):
        row, col = divmod(k, cols)
        ax = grid[pair_rows + row, col]
        ax.axis("on")
        splits = ", ".join(f"{int(np.sum(exploration.split[group] == s))} {s}" for s in ("train", "test")
                           if np.any(exploration.split[group] == s))
        image = exploration.images[group[0]]
        label = f"{len(group)} identical tiles\n({splits})"
        if exploration.blank[group[0]]:
            label += f"\nall grey level {int(image[0, 0])}"
        _show_tile(ax, image, None, label)
    _suptitle(fig, title + ("; " if narrow else "\n") + "(grey scale stretched over each pair)", narrow)
    return fig


def features_figure(exploration, tile=None, names=None, narrow=False):
    """The simple feature channels (`saltviewer.features`) of one tile, with colour bars."""
    from .features import FEATURE_NAMES, compute_features

    if tile is None:
        tile = _typical_tile(exploration)
    i = exploration.dataset.index(tile)
    names = tuple(names) if names is not None else FEATURE_NAMES
    if "depth" in names and not np.isfinite(exploration.depths[i]):
        names = tuple(n for n in names if n != "depth")
    features = compute_features(exploration.images[i:i + 1], exploration.depths[i:i + 1], names)[0]
    cols = 2 if narrow else 4
    rows = int(np.ceil((len(names) + 1) / cols))
    fig = _figure(NARROW_WIDTH, 1.9 * rows + 0.9) if narrow else _figure(3.2 * cols, 3.0 * rows + 0.6)
    grid = fig.subplots(rows, cols, squeeze=False)
    for ax in grid.ravel():
        ax.axis("off")
    ax = grid[0, 0]
    ax.axis("on")
    mask = exploration.mask(i)
    ax.imshow(exploration.images[i], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    if mask is not None and mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=OUTLINE_COLOUR, linewidths=1.3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"tile {exploration.ids[i]}" + (" (salt outlined)" if mask is not None and mask.any() else ""),
                 fontsize=LABEL_SIZE)
    for k, name in enumerate(names, start=1):
        ax = grid[k // cols, k % cols]
        ax.axis("on")
        channel = features[..., k - 1]
        low, high = _FEATURE_RANGES.get(name, (None, None))
        if name in ("laplacian", "cumsum"):
            extent = max(float(np.abs(channel).max()), 1e-3)
            low, high = -extent, extent
        cmap = "RdBu_r" if name in ("laplacian", "cumsum") else "viridis"
        shown = ax.imshow(channel, cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        title = name
        if name == "depth":
            title = f"depth = {channel[0, 0]:.3f} ({exploration.depths[i]:.0f} ft)"
        ax.set_title(title, fontsize=LABEL_SIZE)
        bar = fig.colorbar(shown, ax=ax, shrink=0.85)
        bar.ax.tick_params(labelsize=SMALL_SIZE)
    _suptitle(fig, "Simple feature channels of one tile (saltviewer.features)", narrow)
    return fig


_FEATURE_RANGES = {"depth": (0, 1), "position": (0, 1), "entropy": (0, 1)}


def _typical_tile(exploration):
    """A labelled tile with salt over about half of it, else the first non-blank tile."""
    candidates = np.flatnonzero((exploration.coverage_class >= 4) & (exploration.coverage_class <= 6)
                                & ~exploration.blank)
    if len(candidates):
        return int(candidates[0])
    live = np.flatnonzero(~exploration.blank)
    return int(live[0]) if len(live) else 0


# -- what can be drawn ---------------------------------------------------------------------

def _require_masks(exploration):
    reason = _no_masks(exploration)
    if reason:
        raise SaltviewerError(reason)


def _require_depths(exploration):
    reason = _no_depths(exploration)
    if reason:
        raise SaltviewerError(reason)


def _no_masks(exploration):
    if not exploration.n_masks:
        return ("The dataset has no masks (no train/masks folder or train.csv rows), so there is no salt "
                "to measure.")
    return None


def _no_depths(exploration):
    if not np.isfinite(exploration.depths).any():
        return "The dataset has no depths (no depths.csv), so there is no depth to plot."
    return None


def _no_salt_depth(exploration):
    reason = _no_masks(exploration) or _no_depths(exploration)
    if reason is None and not (exploration.has_mask & np.isfinite(exploration.depths)).any():
        reason = "No labelled tile has a depth, so salt cannot be plotted against depth."
    return reason


FIGURES = {
    "coverage": (coverage_figure, "Salt coverage and coverage classes", _no_masks),
    "examples": (examples_figure, "Example tiles per coverage class", _no_masks),
    "depth": (depth_figure, "Depth distribution", _no_depths),
    "salt_depth": (salt_depth_figure, "Salt versus depth", _no_salt_depth),
    "intensity": (intensity_figure, "Intensity statistics", None),
    "suspicious": (suspicious_figure, "Suspicious masks", _no_masks),
    "duplicates": (duplicates_figure, "Duplicates and near-duplicates", None),
    "features": (features_figure, "Simple feature channels", None),
}
"""Name -> (function, title, why-unavailable check), in report order."""

FIGURE_TITLES = {name: title for name, (_, title, _) in FIGURES.items()}


def unavailable(name, exploration):
    """Why figure `name` cannot be drawn for this exploration (one sentence), or None."""
    _, _, check = _lookup(name)
    return check(exploration) if check is not None else None


def make_figure(name, exploration, narrow=False):
    """Draw figure `name` (a key of `FIGURES`) and return the `Figure`.

    `narrow`: panels one above the other (grids of tiles with fewer columns), `NARROW_WIDTH`
    inches wide, for a dock."""
    function, _, _ = _lookup(name)
    fig = function(exploration, narrow=narrow)
    if narrow:
        for ax in fig.axes:                      # panel titles wrapped to their panel's width
            title = ax.get_title()
            chars = max(12, int(40 * ax.get_position().width / 0.8))
            if len(title) > chars and "\n" not in title:
                ax.set_title("\n".join(textwrap.wrap(title, chars)), fontsize=ax.title.get_fontsize())
    return fig


def _lookup(name):
    try:
        return FIGURES[name]
    except KeyError:
        raise SaltviewerError(f"unknown figure {name!r}; valid names: {', '.join(FIGURES)}.") from None
