"""The Review widget on the 21,200 tiles of ../shared/tgs: time to open and show the first item, time
to step to the next item, to draw a page of the triage grid, to reload a queue of thousands of
items, a scripted triage session (one tile at a time against the grid), time to open each widget,
and memory (RSS).

Run under a display (a virtual one is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/bench_gui.py --models /work/bench/ws_tgs

The benchmark works in a workspace of its own (``--workspace``, default
/work/bench/gui_ws) whose model versions are links to those of ``--models`` (a workspace
with trained versions and their predictions for the data), so the curation store it
writes never touches the source. One-time work is done first and reported apart, never
inside the timings: packing the tiles into the workspace cache, and proposing candidates
into the store (``saltviewer pseudo-label``).

Timings: ``open_review_and_show_first_item_s`` runs from opening the data and asking napari
to dock the Review widget to the first tile drawn on the canvas (the dataset opened, the
queue read from the store, the ensemble opened, every layer made and drawn);
``next_item_data_ms`` from the Next button to the next tile's layers updated (store,
ensemble, layer data), ``next_item_ms`` the same plus the repaint of the window. Wall
times go with the process's CPU times: on a busy machine the wall time says more about
the neighbours than about saltviewer.

The grid: ``grid_page_ms`` from asking for a page of 6 x 4 tiles to the picture on the
canvas (the items and masks read from the store, the images, the members' masks from the
ensemble, the picture drawn, the layer updated), ``grid_page_repaint_ms`` with the window's
repaint. ``queue_reload_ms``: the queue of every item (thousands) read from the store and
shown in the table.

The triage session (`triage_session`): the same tiles of the queue, in its order, decided
twice by a scripted reviewer who turns down the tiles whose agreement is in the lowest tenth
of the session's and accepts the rest (a stand-in for a person's judgement; disputed tiles
are left out of both). One at a time: one key per tile (A or R, auto-advance), each drawing
the next tile. The grid: per page, one key marks the page accepted (Shift+A), one click per
tile to turn down, one key applies the marks (Enter); one page draw per page. Every decision
is written to the store in both. The figures count key presses and clicks (``inputs``) and
tile or page draws, time the machine's part, and turn them into tiles per minute with
stated costs per input (see ``triage_model``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS, write_results  # noqa: E402


def rss_mb():
    import psutil

    return round(psutil.Process().memory_info().rss / 2 ** 20, 1)


def anonymous_mb():
    """Private heap memory (Linux): RSS less the pages of memory-mapped files (tiles, predictions),
    which the kernel maps in around every tile read and takes back under pressure."""
    try:
        with open("/proc/self/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Anonymous:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def link_versions(source, workspace, dataset):
    """Link the source's versions that have predictions for the dataset into the workspace."""
    from saltviewer import Workspace
    from saltviewer.pseudo import versions_with_predictions

    source = Workspace(source)
    linked = []
    for version in versions_with_predictions(source, dataset):
        for folder, base in ((workspace.models_dir, source.models_dir), (workspace.predictions_dir, source.predictions_dir)):
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / version
            if not target.exists():
                target.symlink_to(base / version, target_is_directory=True)
        linked.append(version)
    return linked


def setup(args):
    """The one-time work (reported apart, never timed with the GUI): link versions, pack, propose, mosaics."""
    from saltviewer import Workspace, open_dataset
    from saltviewer.cache import pack_tiles
    from saltviewer.plugins.common.stored_mosaics import find_mosaics, load_mosaics
    from saltviewer.pseudo import propose_pseudo_labels, versions_with_predictions
    from saltviewer.store import CurationStore

    results = {}
    dataset = open_dataset(args.data)
    workspace = Workspace(args.workspace)
    versions = link_versions(args.models, workspace, dataset)
    if not versions:
        sys.exit(f"{args.models} has no model version with predictions for {args.data}; train and predict first.")
    results["versions"] = versions
    results["tiles"] = len(dataset)
    start = time.perf_counter()
    pack_tiles(dataset, workspace)
    results["pack_once_s (not in the timings)"] = round(time.perf_counter() - start, 2)
    store = CurationStore(workspace.store_path)
    if not store.queue(dataset, limit=1):
        start = time.perf_counter()
        propose_pseudo_labels(workspace, dataset, versions_with_predictions(workspace, dataset), store=store,
                              top=3000, review=500)   # the 3,000 most confident (ranked), as a curator would
        results["propose_once_s (not in the timings)"] = round(time.perf_counter() - start, 2)
    if load_mosaics(workspace, dataset) is None:
        start = time.perf_counter()
        find_mosaics(workspace, dataset)
        results["find_mosaics_once_s (not in the timings)"] = round(time.perf_counter() - start, 2)
    results["mosaics"] = len(load_mosaics(workspace, dataset))
    results["queue_items"] = len(store.queue(dataset))
    results["store_items"] = len(store.items(dataset))
    store.close()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--models", type=Path, default=Path("/work/bench/ws_tgs"),
                        help="workspace with trained versions and their predictions for DATA")
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench/gui_ws"))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--pages", type=int, default=12, help="grid pages to time")
    parser.add_argument("--session-pages", type=int, default=5, help="pages of 24 tiles in the triage session")
    parser.add_argument("--topic", default="gui", help="results file: benchmarks/results/TOPIC.json")
    parser.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup_only:
        print(json.dumps(setup(args)))
        return
    os.environ.setdefault("SALTVIEWER_CONFIG_DIR", str(args.workspace / "config"))
    warnings.filterwarnings("ignore")

    results = {"data": str(args.data), "models_from": str(args.models)}
    # the one-time work runs in a child process, so this process's memory is the viewer's alone
    child = subprocess.run([sys.executable, __file__, "--setup-only", "--data", str(args.data), "--models",
                            str(args.models), "--workspace", str(args.workspace)],
                           capture_output=True, text=True)
    if child.returncode:
        sys.exit(child.stderr.strip().splitlines()[-1] if child.stderr.strip() else "setup failed")
    results.update(json.loads(child.stdout.strip().splitlines()[-1]))

    results["rss_before_napari_mb"] = rss_mb()
    import napari
    from qtpy.QtWidgets import QApplication

    from saltviewer.plugins.common.session import session_for

    start = time.perf_counter()
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 950)
    QApplication.processEvents()
    results["napari_viewer_s (not in the timings)"] = round(time.perf_counter() - start, 2)
    results["rss_napari_mb"] = rss_mb()
    results["anonymous_napari_mb"] = anonymous_mb()

    # --- open the Review widget on the data and wait for the first tile on the canvas
    session = session_for(viewer)
    shown = []
    canvas = viewer.window._qt_viewer.canvas.native
    results["load_average_before"] = round(os.getloadavg()[0], 2)
    start, cpu = time.perf_counter(), time.process_time()
    session.open(args.data, args.workspace)
    results["open_data_and_workspace_s"] = round(time.perf_counter() - start, 3)
    dock_start, dock_cpu = time.perf_counter(), time.process_time()
    dock, review = viewer.window.add_plugin_dock_widget("saltviewer", "Review")
    results["open_review_widget_s"] = round(time.perf_counter() - dock_start, 3)
    results["open_review_widget_cpu_s"] = round(time.process_time() - dock_cpu, 3)
    review.tile_shown.connect(shown.append)
    while not shown and time.perf_counter() - start < 60:
        QApplication.processEvents()
    canvas.repaint()
    results["open_review_and_show_first_item_s"] = round(time.perf_counter() - start, 3)
    results["open_review_and_show_first_item_cpu_s"] = round(time.process_time() - cpu, 3)
    results["open_review_target_s"] = 3.0
    results["rss_after_open_mb"] = rss_mb()
    results["anonymous_after_open_mb"] = anonymous_mb()
    while session._packing is not None:
        QApplication.processEvents()
    QApplication.processEvents()

    # --- step through the queue with the Next button's action: first the tile's data and
    #     layers alone (store, ensemble, layer updates), then end to end with the repaint
    def step(repaint):
        before = len(shown)
        start, cpu = time.perf_counter(), time.process_time()
        review.buttons["next"].click()
        if repaint:
            canvas.repaint()
            QApplication.processEvents()
        wall, used = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000
        if not repaint:
            QApplication.processEvents()
        return wall, used, len(shown) > before

    for name, repaint in (("next_item_data_ms", False), ("next_item_ms", True)):
        walls, cpus = [], []
        for _ in range(args.steps // 2):
            wall, used, moved = step(repaint)
            if not moved:
                break
            walls.append(wall)
            cpus.append(used)
        results[f"{name}_median"] = round(statistics.median(walls), 1)
        results[f"{name}_p95"] = round(sorted(walls)[int(0.95 * (len(walls) - 1))], 1)
        results[f"{name}_cpu_median"] = round(statistics.median(cpus), 1)
        results[f"{name}_steps"] = len(walls)
    results["next_item_target_ms"] = 100
    results["rss_after_steps_mb"] = rss_mb()
    results["anonymous_after_steps_mb"] = anonymous_mb()

    # --- baseline in the same window: napari alone stepping a stack of the same tiles one slice
    #     on (the reader's lazy stack, one image layer), repaint included
    from saltviewer.plugins._reader import read_folder

    hidden = [layer for layer in viewer.layers if layer.visible]
    for layer in hidden:
        layer.visible = False
    data, kwargs, _ = read_folder(args.data)[0]
    stack = viewer.add_image(data, **kwargs)
    viewer.reset_view(layers=[stack])
    QApplication.processEvents()
    walls, cpus = [], []
    for i in range(1, args.steps // 2 + 1):
        start, cpu = time.perf_counter(), time.process_time()
        viewer.dims.set_point(0, i)
        canvas.repaint()
        QApplication.processEvents()
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    results["napari_baseline_next_slice_ms_median"] = round(statistics.median(walls), 1)
    results["napari_baseline_next_slice_ms_cpu_median"] = round(statistics.median(cpus), 1)
    results["next_item_over_baseline"] = round(results["next_item_ms_cpu_median"] / statistics.median(cpus), 2)
    viewer.layers.remove(stack)
    for layer in hidden:
        layer.visible = True

    # --- show the largest mosaic stitched
    start, cpu = time.perf_counter(), time.process_time()
    _, mosaics = viewer.window.add_plugin_dock_widget("saltviewer", "Mosaics", tabify=True)
    results["open_mosaics_widget_s"] = round(time.perf_counter() - start, 3)
    results["open_mosaics_widget_cpu_s"] = round(time.process_time() - cpu, 3)
    QApplication.processEvents()
    start, cpu = time.perf_counter(), time.process_time()
    mosaics.show_mosaic(0)
    canvas.repaint()
    QApplication.processEvents()
    results["show_largest_mosaic_s"] = round(time.perf_counter() - start, 3)
    results["show_largest_mosaic_cpu_s"] = round(time.process_time() - cpu, 3)
    results["largest_mosaic_tiles"] = len(mosaics.mosaics[0])

    # --- the triage grid and a long queue
    results.update(time_grid(viewer, review, canvas, args.pages))
    results.update(time_queue_reload(review))
    results["triage_session"] = triage_session(viewer, review, canvas, args.session_pages)

    # --- the other widgets
    start, cpu = time.perf_counter(), time.process_time()
    viewer.window.add_plugin_dock_widget("saltviewer", "Retrain", tabify=True)
    results["open_retrain_widget_s"] = round(time.perf_counter() - start, 3)
    results["open_retrain_widget_cpu_s"] = round(time.process_time() - cpu, 3)
    results["open_widget_target_s"] = 1.0
    results["tensorflow_imported_in_viewer"] = "tensorflow" in sys.modules
    results["rss_end_mb"] = rss_mb()
    results["anonymous_end_mb"] = anonymous_mb()
    results["load_average_after"] = round(os.getloadavg()[0], 2)
    results["cpus"] = os.cpu_count()
    results["note"] = ("a shared 2-core VM without a GPU: OpenGL is rendered in software (Mesa llvmpipe under Xvfb), "
                       "which is most of next_item_ms (next_item_data_ms is saltviewer's part); *_cpu_* is this "
                       "process's CPU time (Mesa's render threads included); with other jobs running, compare "
                       "CPU times; next_item_over_baseline compares CPU times with napari stepping a one-layer "
                       "stack of the same tiles in the same window")
    viewer.close()
    write_results(args.topic, results)


def time_grid(viewer, review, canvas, pages):
    """Median and p95 of drawing a 6 x 4 page of the grid (data and picture; then with the repaint)."""
    from qtpy.QtWidgets import QApplication

    review.queue.state_combo.setCurrentText("to review")
    review.queue.reason_combo.setCurrentText("every reason")
    triage = review.triage
    triage.set_size(6, 4)
    review.show_grid()
    QApplication.processEvents()
    data, painted, cpus = [], [], []
    for page in range(pages):
        start, cpu = time.perf_counter(), time.process_time()
        triage.page = page % max(1, triage.pages)
        triage.draw()
        data.append((time.perf_counter() - start) * 1000)
        canvas.repaint()
        QApplication.processEvents()
        painted.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return {"grid_tiles_per_page": len(triage.layout_), "grid_pages_timed": pages,
            "grid_page_ms_median": round(statistics.median(data), 1),
            "grid_page_ms_p95": round(sorted(data)[int(0.95 * (len(data) - 1))], 1),
            "grid_page_repaint_ms_median": round(statistics.median(painted), 1),
            "grid_page_repaint_ms_p95": round(sorted(painted)[int(0.95 * (len(painted) - 1))], 1),
            "grid_page_cpu_ms_median": round(statistics.median(cpus), 1),
            "grid_page_target_ms": 300}


def time_queue_reload(review):
    """Every item of the store listed (all states): read, built into the table, shown."""
    from qtpy.QtWidgets import QApplication

    review.show_list()
    walls = []
    review.queue.state_combo.setCurrentText("all")
    for _ in range(3):
        start = time.perf_counter()
        review.reload_queue()
        QApplication.processEvents()
        walls.append((time.perf_counter() - start) * 1000)
    n = review.model.rowCount()
    review.queue.state_combo.setCurrentText("to review")
    return {"queue_reload_items": n, "queue_reload_ms_median": round(statistics.median(walls), 1)}


#: Seconds a person spends per input, after the Keystroke-Level Model (Card, Moran and Newell 1980): a key
#: press (K) 0.28 s, pointing at a tile (P) 1.1 s, a click (B, press and release) 0.2 s, and the mental
#: preparation (M) 1.35 s that each decision needs (one per tile one at a time; one per page for
#: "the rest are fine", one per tile turned down in the grid). `look_s` is the time to look at one tile,
#: the same in both ways of working; the figures are given with and without it.
TRIAGE_MODEL = {"key_s": 0.28, "point_s": 1.1, "click_s": 0.2, "decide_s": 1.35, "look_s": 0.5}


def triage_session(viewer, review, canvas, pages):
    """The scripted triage session (see the module's notes); returns its counts, times and rates."""
    from qtpy.QtWidgets import QApplication

    from saltviewer.store import CurationStore

    review.show_list()
    review.queue.state_combo.setCurrentText("to review")
    review.queue.reason_combo.setCurrentText("confident")
    review.tile_box.advance_check.setChecked(True)
    per_page = len(review.triage.layout_)
    tiles = review.model.tiles_in_order()[:2 * pages * per_page]
    if len(tiles) < 2 * per_page:
        return {"skipped": f"only {len(tiles)} confident tiles to review"}
    half = len(tiles) // 2 // per_page * per_page
    single_tiles, grid_tiles = tiles[:half], tiles[half:2 * half]
    table = review.model.table
    agreement = {str(t): float(a) for t, a in zip(table.tile, table.agreement)}
    turn_down = set()
    for part in (single_tiles, grid_tiles):            # the lowest tenth of each half (ties by id): as many each
        turn_down |= set(sorted(part, key=lambda t: (agreement[t], t))[:max(1, len(part) // 10)])
    store = review.reviewer.store
    before = store.revision()

    # one at a time: A or R on each tile; auto-advance draws the next
    review.show_tile(single_tiles[0])
    QApplication.processEvents()
    keys, draws, start = 0, 0, time.perf_counter()
    for tile in single_tiles:
        if review.current is None or review.current.tile != tile:
            review.show_tile(tile)          # the queue's next tile is this one; a guard for ties in the order
        review.on_action("reject" if tile in turn_down else "accept")
        keys += 1
        draws += 1
        canvas.repaint()
        QApplication.processEvents()
    single_s = time.perf_counter() - start

    # the grid: Shift+A, a click per tile to turn down, Enter; one page draw per page (applying the marks
    # reloads the queue and draws the page of the next tiles to review)
    triage = review.triage
    review.reload_queue()
    review.show_grid()
    triage.go(0)
    grid_keys = grid_clicks = 0
    grid_draws = 1
    decided_grid = []
    start = time.perf_counter()
    for _ in range(len(grid_tiles) // per_page):
        on_page = [c.tile for c in triage.cells]
        triage.on_action("accept_rest")
        grid_keys += 1
        for k, tile in enumerate(on_page):
            if tile in turn_down:
                triage.mark(k, "reject")
                grid_clicks += 1
        decided_grid += on_page
        triage.on_action("apply")
        grid_keys += 1
        grid_draws += 1
        canvas.repaint()
        QApplication.processEvents()
    grid_s = time.perf_counter() - start
    with CurationStore(store.path) as check:
        written = [e for e in check.events(since=before) if e.action in ("accept", "reject")]
    m = TRIAGE_MODEL
    n_single, n_grid = len(single_tiles), len(decided_grid)
    rejected_single = sum(t in turn_down for t in single_tiles)
    rejected_grid = grid_clicks

    def rate(n, seconds):
        return round(60 * n / seconds, 1)

    person_single = n_single * (m["decide_s"] + m["key_s"])
    person_grid = (n_grid // per_page) * (m["decide_s"] + 2 * m["key_s"]) +         rejected_grid * (m["decide_s"] + m["point_s"] + m["click_s"])
    look_single, look_grid = n_single * m["look_s"], n_grid * m["look_s"]
    out = {
        "tiles_one_at_a_time": n_single, "tiles_grid": n_grid, "turned_down_one_at_a_time": rejected_single,
        "turned_down_grid": rejected_grid,
        "inputs_one_at_a_time": keys, "inputs_grid": grid_keys + grid_clicks, "grid_keys": grid_keys,
        "grid_clicks": grid_clicks, "draws_one_at_a_time": draws, "page_draws_grid": grid_draws,
        "inputs_per_tile_one_at_a_time": round(keys / n_single, 3),
        "inputs_per_tile_grid": round((grid_keys + grid_clicks) / n_grid, 3),
        "machine_s_one_at_a_time": round(single_s, 2), "machine_s_grid": round(grid_s, 2),
        "decisions_written": len(written),
        "triage_model": m,
        "tiles_per_minute_one_at_a_time": rate(n_single, person_single + single_s),
        "tiles_per_minute_grid": rate(n_grid, person_grid + grid_s),
        "tiles_per_minute_one_at_a_time_with_looking": rate(n_single, person_single + look_single + single_s),
        "tiles_per_minute_grid_with_looking": rate(n_grid, person_grid + look_grid + grid_s),
    }
    out["speedup"] = round(out["tiles_per_minute_grid"] / out["tiles_per_minute_one_at_a_time"], 2)
    out["speedup_with_looking"] = round(out["tiles_per_minute_grid_with_looking"]
                                        / out["tiles_per_minute_one_at_a_time_with_looking"], 2)
    out["speedup_target"] = 5.0
    return out


if __name__ == "__main__":
    main()
