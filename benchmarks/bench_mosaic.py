"""Mosaics: the synthetic samples against their true layout, and the 21,200 TGS tiles (time with
the reading of the packed tiles, memory, counts, and an honest precision: an exhaustive second
matcher as a referee, contact sheets of the edges it disputes, and a replay of every step of
the growth against the costs of all pairs).

Run: nice -n 15 python benchmarks/bench_mosaic.py [--workspace WS] [--repeat 3] [--part all]
     nice -n 15 python benchmarks/bench_mosaic.py --part seeds   # nine more samples, merged in
     python benchmarks/bench_mosaic.py --part seams         # what one seam's cost can tell, merged in
     python benchmarks/bench_mosaic.py --part wide          # TGS with --max-norm 2.0 --max-texture 0.9
     python benchmarks/bench_mosaic.py --time-only          # one timed run in this process, as JSON

The workspace keeps the packed tile cache (built on the first run); default
/tmp/saltviewer-bench-ws. The contact sheets go to benchmarks/results/mosaic_*.png (the edges
shown, in order, to benchmarks/results/mosaic_sheets.json); the judgements of a person who
looked at them are read from benchmarks/mosaic_audit.json (sheet -> edge -> right / wrong /
unclear) and turned into the precision estimate: each sheet's share of wrong edges times its
edges. `--part referee` redraws the sheets and the estimate alone; `--part rules --oof
ws/models/vN/oof.npz` adds the rules' effect on out-of-fold predictions.
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "core"))
from _util import RESULTS, TGS, write_results  # noqa: E402

from saltviewer import make_sample, open_dataset  # noqa: E402
from saltviewer.mosaic import EdgeModel, build_mosaics, grow_mosaics, search_candidates  # noqa: E402
from saltviewer.mosaic.compatibility import edge_contrast  # noqa: E402

AUDIT = HERE / "mosaic_audit.json"
WORKSPACE = Path(tempfile.gettempdir()) / "saltviewer-bench-ws"


# ------------------------------------------------------------------ the synthetic samples
def _truth(root, dataset):
    with open(root / "sample_layout.csv", newline="") as handle:
        where = {(int(r["section"]), int(r["row"]), int(r["col"])): r["id"] for r in csv.DictReader(handle)}
    truth = set()
    for (section, r, c), tile in where.items():
        for kind, cell in (("right", (section, r, c + 1)), ("below", (section, r + 1, c))):
            if cell in where:
                truth.add((kind, tile, where[cell]))
    return truth


def _share(part, whole):
    return round(len(part) / len(whole), 4) if whole else None


# The margins of the growth before joins widened their margin with every below edge (issue 14):
# a flat product of 1 for any join of two or more edges, no smooth single edges, loops at 0.9.
FLAT_MARGINS = dict(loop_ratio=0.9, join_ratio=1.0, join_step=1.0, join_smooth=1e9, smooth_edge=1e-9,
                    smooth_ratio=1e-9)


def sample_figures(root, **growth):
    dataset = open_dataset(root)
    images = dataset.images()
    truth = _truth(root, dataset)
    flat = set()
    for kind, a, b in truth:
        side_a = edge_contrast(images[[dataset.index(a)]], kind, "out")[0]
        side_b = edge_contrast(images[[dataset.index(b)]], kind, "in")[0]
        if min(side_a, side_b) < 4.0:
            flat.add((kind, a, b))
    start = time.perf_counter()
    mosaics = build_mosaics(dataset, images=images, **growth)
    seconds = time.perf_counter() - start
    found = set(mosaics.pairs)
    textured = truth - flat
    figures = {"tiles": len(dataset), "true_edges": len(truth), "flat_true_edges": len(flat),
               "edges_found": len(found), "wrong_edges": len(found - truth),
               "precision": _share(found & truth, found),
               "recall_textured": _share(found & textured, textured),
               "recall_flat": _share(found & flat, flat),
               "tiles_placed": mosaics.tiles_covered, "mosaics": len(mosaics), "seconds": round(seconds, 2)}
    for kind in ("right", "below"):
        mine = {p for p in found if p[0] == kind}
        true = {p for p in textured if p[0] == kind}
        figures[kind] = {"found": len(mine), "wrong": len(mine - truth), "recall_textured": _share(mine & true, true)}
    return figures


def seeds_figures(tmp, seeds=(2, 3, 4, 5, 6, 8, 9, 10, 11)):
    """More synthetic samples (400+100 tiles each), summed, with the default margins and the flat
    ones before them: the gain of one setting is a few edges a sample, so one sample says little."""
    totals = {}
    for seed in seeds:
        root = make_sample(Path(tmp) / f"more{seed}", n_train=400, n_test=100, seed=seed)
        for name, growth in (("default", {}), ("flat_join_margins_before", FLAT_MARGINS)):
            figures = sample_figures(root, **growth)
            total = totals.setdefault(name, {"edges_found": 0, "wrong_edges": 0, "true_textured": 0,
                                             "found_textured": 0, "per_seed_precision_recall_below_recall": {}})
            textured = figures["true_edges"] - figures["flat_true_edges"]
            total["edges_found"] += figures["edges_found"]
            total["wrong_edges"] += figures["wrong_edges"]
            total["true_textured"] += textured
            total["found_textured"] += round(figures["recall_textured"] * textured)
            total["per_seed_precision_recall_below_recall"][seed] = [
                figures["precision"], figures["recall_textured"], figures["below"]["recall_textured"]]
    for total in totals.values():
        total["precision"] = round(1 - total["wrong_edges"] / total["edges_found"], 4)
        total["recall_textured"] = round(total["found_textured"] / total["true_textured"], 4)
    return dict(totals, seeds=list(seeds), tiles_each=500)


# ------------------------------------------------------------------ how far one seam alone can go
RATIO_BINS = (0.0, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)


def seam_figures(tmp, seeds=(0, 2, 3, 4, 5, 6)):
    """What a single seam's cost can tell, kind by kind, on synthetic samples (400+100 tiles each):
    every pair of sides scored (the default `EdgeModel`), flat sides left out.

    - of the true textured edges: the share whose two tiles are each other's best match, the
      share that also passes the growth's ratio test alone (0.8), and where the nearest
      look-alike of the others comes from (another section, or the same one);
    - of the mutual best pairs, binned by their ratio (best over runner-up, the worse of the two
      tiles): how many, and the share that are true edges;
    - the tiles with a single true neighbour whose edge is not a mutual best match within the
      search's ratio (0.95): no assembly can place them from the seams, a ceiling on recall.
    """
    per_kind = {kind: {"true_textured": 0, "mutual_best": 0, "passes_0.8_alone": 0, "look_alike_other_section": 0,
                       "look_alike_same_section": 0, "bins": {}} for kind in ("right", "below")}
    textured_total, forced_misses = 0, 0
    for seed in seeds:
        root = make_sample(Path(tmp) / f"seams{seed}", n_train=400, n_test=100, seed=seed)
        dataset = open_dataset(root)
        images = dataset.images()
        truth = {(kind, dataset.index(a), dataset.index(b)) for kind, a, b in _truth(root, dataset)}
        with open(root / "sample_layout.csv", newline="") as handle:
            section = {dataset.index(r["id"]): int(r["section"]) for r in csv.DictReader(handle)}
        degree = np.zeros(len(images), int)
        for _, a, b in truth:
            degree[a] += 1
            degree[b] += 1
        model = EdgeModel().fit(images)
        for kind, figures in per_kind.items():
            out, into = (f.astype(np.float64) for f in model.features(images, kind))
            d = (out ** 2).sum(1)[:, None] + (into ** 2).sum(1)[None] - 2 * out @ into.T
            np.fill_diagonal(d, np.inf)
            d[edge_contrast(images, kind, "out") < 4.0] = np.inf
            d[:, edge_contrast(images, kind, "in") < 4.0] = np.inf

            def ratio_and_rivals(a, b):
                row, col = d[a].copy(), d[:, b].copy()
                row[b] = col[a] = np.inf
                return np.sqrt(max(d[a, b] / row.min(), d[a, b] / col.min())), row.argmin(), col.argmin()

            for k, a, b in truth:
                if k != kind or not np.isfinite(d[a, b]):
                    continue
                textured_total += 1
                figures["true_textured"] += 1
                ratio, rival_b, rival_a = ratio_and_rivals(a, b)
                figures["mutual_best"] += int(ratio < 1)
                figures["passes_0.8_alone"] += int(ratio < 0.8)
                if ratio >= 0.8:
                    nearest = rival_b if d[a, rival_b] <= d[rival_a, b] else rival_a
                    figures["look_alike_same_section" if section[nearest] == section[a]
                            else "look_alike_other_section"] += 1
                forced_misses += int(min(degree[a], degree[b]) == 1 and ratio >= 0.95)
            best_b, best_a = d.argmin(1), d.argmin(0)
            for a in range(len(images)):
                b = best_b[a]
                if not np.isfinite(d[a, b]) or best_a[b] != a:
                    continue
                ratio = ratio_and_rivals(a, b)[0]
                low = max(x for x in RATIO_BINS if x <= ratio) if ratio < 1 else RATIO_BINS[-2]
                cell = figures["bins"].setdefault(f"{low:g}", [0, 0])
                cell[0] += 1
                cell[1] += int((kind, a, b) in truth)
    for figures in per_kind.values():
        figures["bins"] = {f"ratio from {low}": {"pairs": n, "true_share": round(t / n, 3)}
                           for low, (n, t) in sorted(figures["bins"].items(), key=lambda x: float(x[0]))}
        for key in ("mutual_best", "passes_0.8_alone"):
            figures[key + "_share"] = round(figures[key] / max(figures["true_textured"], 1), 3)
    return dict(per_kind, seeds=list(seeds), tiles_each=500,
                single_neighbour_edges_no_seam_can_place=forced_misses,
                recall_ceiling_from_them=round(1 - forced_misses / max(textured_total, 1), 4))


# ------------------------------------------------------------------ timing, in a process of its own
def time_only(workspace):
    """Read the packed tiles, search and grow; print wall and CPU seconds and the peak memory."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    dataset = open_dataset(TGS)
    dataset.use_cache(workspace)
    images = dataset.images()
    loaded = time.perf_counter()
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seeds, candidates, stats = search_candidates(images)
    searched = time.perf_counter()
    placements = grow_mosaics(candidates, seeds, len(images))
    grown = time.perf_counter()
    print(json.dumps({
        "open_and_read_packed_tiles_seconds": round(loaded - start_wall, 2),
        "search_seconds": round(searched - loaded, 2), "growth_seconds": round(grown - searched, 2),
        "total_seconds": round(grown - start_wall, 2), "total_cpu_seconds": round(time.process_time() - start_cpu, 2),
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "memory_after_reading_tiles_mib": round(rss_loaded / 1024, 1),
        "tiles_placed": sum(len(p) for p in placements), "mosaics": len(placements),
        "threads": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}))


def timed_runs(workspace, repeat):
    runs = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, __file__, "--time-only", "--workspace", str(workspace)],
                              capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda run: run["total_seconds"])
    return dict(best, runs=[run["total_seconds"] for run in runs])


# ------------------------------------------------------------------ the referee
def referee_tables(images, model, chunk=2048):
    """An exhaustive second matcher: every pair of sides scored (float32 matrix products), each
    side's best partner. Returns ``kind -> (best partner of each out side, of each in side)``."""
    tables = {}
    for kind in ("right", "below"):
        out, into = model.features(images, kind)
        usable_out = edge_contrast(images, kind, "out") >= 4.0
        usable_in = edge_contrast(images, kind, "in") >= 4.0
        norm_out, norm_in = (out ** 2).sum(1), (into ** 2).sum(1)
        n = len(images)
        best_b, best_a, value_a = np.full(n, -1), np.full(n, -1), np.full(n, np.inf)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            d = norm_out[start:stop, None] + norm_in[None, :] - 2 * out[start:stop] @ into.T
            d[np.arange(stop - start), np.arange(start, stop)] = np.inf
            d[~usable_out[start:stop]] = np.inf
            d[:, ~usable_in] = np.inf
            best_b[start:stop] = np.where(np.isfinite(d.min(1)), d.argmin(1), -1)
            column = d.argmin(0)
            better = d[column, np.arange(n)] < value_a
            value_a = np.where(better, d[column, np.arange(n)], value_a)
            best_a = np.where(better, column + start, best_a)
        tables[kind] = (best_b, best_a)
    return tables


def edges_and_loops(mosaics, dataset):
    edges = [(kind, dataset.index(a), dataset.index(b)) for kind, a, b in mosaics.pairs]
    in_loop = set()
    for mosaic in mosaics:
        for r, c in zip(mosaic.rows, mosaic.cols):
            corner = [mosaic.at(r, c), mosaic.at(r, c + 1), mosaic.at(r + 1, c), mosaic.at(r + 1, c + 1)]
            if None not in corner:
                a, b, c_, d = (dataset.index(t) for t in corner)
                in_loop |= {("right", a, b), ("right", c_, d), ("below", a, c_), ("below", b, d)}
    return edges, in_loop


def verdict(tables, kind, a, b):
    best_b, best_a = tables[kind]
    agree_a, agree_b = best_b[a] == b, best_a[b] == a
    return "agree" if agree_a and agree_b else ("partial" if agree_a or agree_b else "disagree")


def seam_sheet(images, edges, path, labels, band=36, scale=3, columns=8):
    """A contact sheet of seams: `band` pixels of each tile either side, b right of a (a below
    edge is turned so that its seam stands upright too), a red tick over and under the seam."""
    from PIL import Image, ImageDraw

    cells = []
    for (kind, a, b), label in zip(edges, labels):
        if kind == "right":
            seam = np.concatenate([images[a][:, -band:], images[b][:, :band]], axis=1)
        else:
            seam = np.concatenate([images[a][-band:], images[b][:band]], axis=0).T
        picture = np.repeat(np.repeat(seam, scale, 0), scale, 1)
        canvas = np.full((picture.shape[0] + 24, picture.shape[1] + 6, 3), 30, np.uint8)
        canvas[12:12 + picture.shape[0], 3:3 + picture.shape[1]] = picture[:, :, None]
        image = Image.fromarray(canvas)
        draw = ImageDraw.Draw(image)
        x = 3 + band * scale
        draw.line([x, 0, x, 10], fill=(255, 0, 0), width=2)
        draw.line([x, canvas.shape[0] - 11, x, canvas.shape[0]], fill=(255, 0, 0), width=2)
        draw.text((2, 0), label, fill=(255, 255, 0))
        cells.append(np.asarray(image))
    blank = np.full_like(cells[0], 30)
    rows = [np.concatenate(cells[i:i + columns] + [blank] * (columns - len(cells[i:i + columns])), axis=1)
            for i in range(0, len(cells), columns)]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def referee_figures(dataset, images, mosaics, sample=24, seed=0, prefix="mosaic_"):
    """The referee's verdict on every edge, contact sheets of samples, and the precision the
    audit of those sheets gives (a seam judged on another group's sheet keeps its judgement:
    the picture is the same)."""
    tables = referee_tables(images, EdgeModel.extrapolating(0.5))
    edges, in_loop = edges_and_loops(mosaics, dataset)
    groups = {}
    for edge in edges:
        groups.setdefault(f"{verdict(tables, *edge)}{' in a 2x2 loop' if edge in in_loop else ''}", []).append(edge)
    audit = json.loads(AUDIT.read_text()) if AUDIT.is_file() else {}
    anywhere = {edge: word for group in audit.values() if isinstance(group, dict) for edge, word in group.items()}
    rng = np.random.default_rng(seed)
    figures, wrong_estimate, pooled_estimate, shown = {}, 0.0, 0.0, {}
    for name in sorted(groups):
        members = sorted(groups[name])
        picked = [members[i] for i in sorted(rng.choice(len(members), min(sample, len(members)), replace=False))]
        slug = name.replace(" ", "_").replace("2x2_", "")
        labels = [f"{k} {kind[0]} {dataset.ids[a][:6]}|{dataset.ids[b][:6]}" for k, (kind, a, b) in enumerate(picked)]
        seam_sheet(images, picked, RESULTS / f"{prefix}{slug}.png", labels)
        shown[slug] = [f"{kind} {dataset.ids[a]} {dataset.ids[b]}" for kind, a, b in picked]
        judged = [audit.get(slug, {}).get(edge, anywhere.get(edge)) for edge in shown[slug]]
        counts = {word: judged.count(word) for word in ("right", "wrong", "unclear")}
        entry = {"edges": len(members), "sheet": f"benchmarks/results/{prefix}{slug}.png", "shown": len(picked),
                 "audit": counts if any(counts.values()) else "not judged yet"}
        if None in judged:
            entry["not_judged"] = [edge for edge, word in zip(shown[slug], judged) if word is None]
        if any(counts.values()):
            share = counts["wrong"] / max(counts["right"] + counts["wrong"] + counts["unclear"], 1)
            entry["wrong_share_seen"] = round(share, 3)
            wrong_estimate += share * len(members)
        # Every seam of the group judged on any sheet so far (earlier samples, blind looks): more of them.
        every = [anywhere[key] for key in (f"{kind} {dataset.ids[a]} {dataset.ids[b]}" for kind, a, b in members)
                 if key in anywhere]
        if every:
            pooled = {word: every.count(word) for word in ("right", "wrong", "unclear")}
            entry["every_judged_seam"] = dict(pooled, wrong_share=round(pooled["wrong"] / len(every), 3))
            pooled_estimate += pooled["wrong"] / len(every) * len(members)
        figures[name] = entry
    figures["edges"] = len(edges)
    (RESULTS / f"{prefix}sheets.json").write_text(json.dumps(shown, indent=1) + "\n")
    if audit:
        figures["estimated_wrong_edges"] = round(wrong_estimate)
        figures["estimated_precision"] = round(1 - wrong_estimate / max(len(edges), 1), 4)
        figures["estimated_precision_every_judged_seam"] = round(1 - pooled_estimate / max(len(edges), 1), 4)
        figures["audit_note"] = audit.get("note", "")
    return figures, {name: sorted(members) for name, members in groups.items()}


def replay_figures(images):
    """Every step of the growth on the TGS tiles re-checked against the costs of all pairs."""
    from mosaic_reference import Costs, replay_against_exhaustive_costs

    seeds, candidates, _ = search_candidates(images)
    placements, log = grow_mosaics(candidates, seeds, len(images), record=True)
    start = time.perf_counter()
    wrong = replay_against_exhaustive_costs(candidates, log, Costs(candidates))
    steps = {}
    for entry in log:
        steps[entry.reason] = steps.get(entry.reason, 0) + 1
    failed = {}
    for entry in {id(e): e for e in wrong}.values():
        failed[entry.reason] = failed.get(entry.reason, 0) + 1
    return {"steps": steps, "steps_an_exhaustive_search_would_not_take": failed,
            "edges_in_those_steps": sum(len(e.links) for e in {id(e): e for e in wrong}.values()),
            "replay_seconds": round(time.perf_counter() - start, 1)}


# ------------------------------------------------------------------ the rules down mosaic columns
def rules_figures(dataset, mosaics, oof_path):
    """The rules' effect on out-of-fold predictions of the labelled tiles, and their findings
    on the training masks.

    Two ways to meet a tile's upper neighbour: as its mask in force (a labelled neighbour's
    training mask; what predicting a pool tile next to labelled ones would use), or as its own
    out-of-fold prediction (every tile predicted). Scores are the competition's per-image
    precision over the labelled tiles the rules change, and over all labelled tiles.
    """
    from saltviewer.metric import image_precisions
    from saltviewer.mosaic import mosaic_rules
    from saltviewer.thresholds import apply_threshold

    oof = np.load(oof_path)
    card = json.loads((Path(oof_path).parent / "card.json").read_text())
    threshold, min_area = float(card.get("threshold", 0.5)), int(card.get("min_area") or 0)
    ids = [str(i) for i in oof["ids"]]
    predicted = dict(zip(ids, apply_threshold(oof["probabilities"], threshold, min_area)))
    labelled = [dataset.ids[i] for i in np.flatnonzero(dataset.has_mask)]
    truth = {tile: dataset.mask(tile) for tile in labelled}
    figures = {"oof": str(oof_path), "model": card.get("version"), "model_oof_score": card.get("oof_score"),
               "threshold": threshold, "min_area": min_area}
    _, findings = mosaic_rules(mosaics, truth.get, settled=truth)
    figures["training_masks_contradicted"] = {
        rule: sum(1 for f in findings if f.rule == rule and not f.changed) for rule in ("vertical", "under-salt")}
    figures["training_masks_checked_by_a_rule"] = len({f.below for f in findings})
    for name, upper in (("upper neighbour as its mask in force", truth), ("every tile predicted", predicted)):
        for rules in (("vertical",), ("under-salt",), ("vertical", "under-salt")):
            changed = {}
            for tile in labelled:
                if tile not in predicted:
                    continue
                masks = dict(upper)
                masks[tile] = predicted[tile]                   # the tile itself is predicted
                mosaic = mosaics.mosaic_of(tile)
                if mosaic is None:
                    continue
                row, col = mosaic.position(tile)
                above = mosaic.at(row - 1, col)
                if above is None or above not in masks:
                    continue
                new, _ = mosaic_rules([mosaic], masks.get, rules=rules)
                if tile in new:
                    changed[tile] = new[tile]
            tiles = sorted(changed)
            before = image_precisions(np.stack([truth[t] for t in tiles]), np.stack([predicted[t] for t in tiles])) \
                if tiles else np.zeros(0)
            after = image_precisions(np.stack([truth[t] for t in tiles]), np.stack([changed[t] for t in tiles])) \
                if tiles else np.zeros(0)
            every = [t for t in labelled if t in predicted]
            figures[f"{name}: {' + '.join(rules)}"] = {
                "tiles_changed": len(tiles), "precision_before_on_them": round(float(before.mean()), 4) if tiles else None,
                "precision_after_on_them": round(float(after.mean()), 4) if tiles else None,
                "score_change_over_all_labelled_tiles": round(float((after - before).sum()) / len(every), 5)}
    return figures


def count_figures(dataset, mosaics):
    sizes = [len(m) for m in mosaics]
    return dict(mosaics.counts(), largest_mosaic=f"{len(mosaics[0])} tiles on {mosaics[0].shape[0]}x{mosaics[0].shape[1]}",
                mosaic_sizes={f"{lo}-{hi}": int(sum(lo <= s <= hi for s in sizes))
                              for lo, hi in ((2, 2), (3, 5), (6, 20), (21, 50), (51, 10_000))},
                labelled_tiles_placed=int(sum(m.n_labelled(dataset) for m in mosaics)),
                seeds=mosaics.stats.get("seeds"))


# The looser limits that place more TGS tiles (`--part wide`): what they add, and at what precision.
WIDE = dict(max_norm=2.0, max_texture=0.9)


def wide_figures(dataset, images):
    """The TGS tiles with the `WIDE` limits: counts, time, the referee (sheets mosaic_wide_*), and
    what the mosaics add over the default limits: edges, and the two-tile mosaics among them."""
    start = time.perf_counter()
    wide = build_mosaics(dataset, images=images, **WIDE)
    seconds = time.perf_counter() - start
    default = build_mosaics(dataset, images=images)
    added = set(wide.pairs) - set(default.pairs)
    in_default = {tile for mosaic in default for tile in mosaic.ids}
    new_tiles = [tile for mosaic in wide for tile in mosaic.ids if tile not in in_default]
    pair_mosaics = [mosaic for mosaic in wide if len(mosaic) == 2 and not set(mosaic.ids) & in_default]
    referee, _ = referee_figures(dataset, images, wide, prefix="mosaic_wide_")
    return {"command": "saltviewer mosaic DATA --max-norm 2.0 --max-texture 0.9 (bench_mosaic.py --part wide)",
            "tgs_counts": count_figures(dataset, wide), "seconds_in_this_process": round(seconds, 2),
            "default_tiles": len(in_default), "tiles_added": len(new_tiles),
            "edges_added": {kind: sum(p[0] == kind for p in added) for kind in ("right", "below")},
            "edges_dropped": len(set(default.pairs) - set(wide.pairs)),
            "new_two_tile_mosaics": {"count": len(pair_mosaics),
                                     "below": sum(m.shape == (2, 1) for m in pair_mosaics)},
            "tgs_referee": referee}


# ------------------------------------------------------------------ main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=WORKSPACE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--part", choices=("all", "synthetic", "seeds", "seams", "tgs", "referee", "wide", "rules"), default="all",
                        help="seeds: nine more synthetic samples, default margins against the flat ones before "
                             "(merged into the results file)")
    parser.add_argument("--oof", type=Path, action="append", default=[],
                        help="oof.npz of a model version (beside its card.json) for the rules' measured effect")
    parser.add_argument("--time-only", action="store_true")
    parser.add_argument("--no-replay", action="store_true", help="skip the exhaustive replay (minutes)")
    args = parser.parse_args()
    if args.time_only:
        time_only(args.workspace)
        return
    # Parts measured on their own (seeds, seams, wide, earlier settings kept for comparison) stay.
    results = json.loads((RESULTS / "mosaic.json").read_text()) if (RESULTS / "mosaic.json").is_file() else {}
    results = {k: v for k, v in results.items() if k not in ("machine", "measured")}
    results["cpu_cores"] = os.cpu_count()
    if args.part in ("all", "synthetic"):
        with tempfile.TemporaryDirectory() as tmp:
            for n_train, n_test, seed in ((400, 100, 0), (60, 20, 7), (1500, 500, 1)):
                root = make_sample(Path(tmp) / f"sample{seed}", n_train=n_train, n_test=n_test, seed=seed)
                results[f"synthetic_sample_{n_train}+{n_test}_seed{seed}"] = sample_figures(root)
    if args.part == "seeds":
        results = json.loads((RESULTS / "mosaic.json").read_text()) if (RESULTS / "mosaic.json").is_file() else {}
        with tempfile.TemporaryDirectory() as tmp:
            results["synthetic_more_samples"] = seeds_figures(tmp)
        write_results("mosaic", {k: v for k, v in results.items() if k not in ("machine", "measured")})
        return
    if args.part == "seams":
        results = json.loads((RESULTS / "mosaic.json").read_text()) if (RESULTS / "mosaic.json").is_file() else {}
        with tempfile.TemporaryDirectory() as tmp:
            results["what_one_seam_tells"] = seam_figures(tmp)
        write_results("mosaic", {k: v for k, v in results.items() if k not in ("machine", "measured")})
        return
    if args.part == "referee" and (TGS / "train" / "images").is_dir():
        dataset = open_dataset(TGS)
        dataset.use_cache(args.workspace)
        images = dataset.images()
        results = json.loads((RESULTS / "mosaic.json").read_text())
        results["tgs_referee"], _ = referee_figures(dataset, images, build_mosaics(dataset, images=images))
        write_results("mosaic", {k: v for k, v in results.items() if k not in ("machine", "measured")})
        return
    if args.part == "wide" and (TGS / "train" / "images").is_dir():
        dataset = open_dataset(TGS)
        dataset.use_cache(args.workspace)
        results = json.loads((RESULTS / "mosaic.json").read_text())
        results.pop("tgs_with_max_norm_2.0_max_texture_0.9", None)
        results["tgs_wide_limits"] = wide_figures(dataset, dataset.images())
        write_results("mosaic", {k: v for k, v in results.items() if k not in ("machine", "measured")})
        return
    if args.part == "rules" and (TGS / "train" / "images").is_dir():
        dataset = open_dataset(TGS)
        dataset.use_cache(args.workspace)
        mosaics = build_mosaics(dataset, images=dataset.images())
        results = json.loads((RESULTS / "mosaic.json").read_text()) if (RESULTS / "mosaic.json").is_file() else {}
        results["tgs_rules"] = [rules_figures(dataset, mosaics, path) for path in args.oof]
        write_results("mosaic", {k: v for k, v in results.items() if k not in ("machine", "measured")})
        return
    if args.part in ("all", "tgs") and (TGS / "train" / "images").is_dir():
        dataset = open_dataset(TGS)
        dataset.use_cache(args.workspace)
        images = dataset.images()
        results["tgs_timing"] = timed_runs(args.workspace, args.repeat)
        mosaics = build_mosaics(dataset, images=images)
        results["tgs_counts"] = count_figures(dataset, mosaics)
        results["tgs_referee"], _ = referee_figures(dataset, images, mosaics)
        if not args.no_replay:
            results["tgs_replay"] = replay_figures(images)
    write_results("mosaic", {k: v for k, v in results.items() if k not in ("machine", "measured")})


if __name__ == "__main__":
    main()
