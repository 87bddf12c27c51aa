"""Screenshots of each saltviewer widget docked in napari on real data with real predictions.

Run under a display (a virtual one is fine)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/screenshots.py \\
        --models /work/bench/ws_tgs --out /work/bench/screens --readme docs/review.png

``--models`` is a workspace with trained versions and their predictions for ``--data``;
the screenshots work in a workspace of their own (``--workspace``) whose versions link to
those, so the curation store they write never touches the source. Writes review.png,
review_labelled.png, triage_grid.png, correction.png, history.png, mosaics.png, retrain.png
and explore.png to ``--out`` (the window at 1600 x 1000, as on a laptop screen) and, with
``--docs DIR``, smaller copies of the review, grid, correction and history pictures for the
README (each under 300 KB).
"""

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import TGS  # noqa: E402
from bench_gui import link_versions  # noqa: E402


def settle(seconds=0.6):
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def shoot(viewer, path):
    settle()
    from napari._qt.dialogs.qt_notification import NapariQtNotification

    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()                 # napari's start-up warnings are not part of the picture
    settle(0.3)
    viewer.screenshot(path=str(path), canvas_only=False)
    print(f"wrote {path}")


def pick_tile(review):
    """A proposed unlabelled tile with salt on which the versions disagree visibly, if any."""
    table = review.model.table
    best = None
    for k in range(len(table)):
        if table.split[k] != "test" or not 0.15 <= table.coverage[k] <= 0.7:
            continue
        if 0.15 <= table.disagreement[k] <= 0.7:
            return str(table.tile[k])
        best = best or str(table.tile[k])
    return best or (str(table.tile[0]) if len(table) else None)


def pick_mosaic(mosaics, dataset, first=25):
    """Among the largest mosaics, one close to square whose labelled tiles hold salt (a telling picture)."""
    def merit(position):
        mosaic = mosaics[position]
        rows, cols = mosaic.shape
        salt = sum(float(dataset.mask(i).mean()) for i in mosaic.indices if dataset.has_mask[i])
        return (1 + salt) * len(mosaic) * min(rows, cols) / max(rows, cols)

    return max(range(min(first, len(mosaics))), key=merit)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=TGS)
    parser.add_argument("--models", type=Path, default=Path("/work/bench/ws_tgs"))
    parser.add_argument("--workspace", type=Path, default=Path("/work/bench/gui_ws"))
    parser.add_argument("--out", type=Path, default=Path("/work/bench/screens"))
    parser.add_argument("--readme", type=Path, default=None, help="also write a small copy of review.png here")
    parser.add_argument("--docs", type=Path, default=None,
                        help="also write small copies of review.png, triage_grid.png, correction.png and history.png "
                             "into this folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SALTVIEWER_CONFIG_DIR", str(args.workspace / "config"))
    os.environ["NAPARI_CONFIG"] = str(Path(tempfile.mkdtemp(prefix="napari-config-")) / "settings.yaml")
    warnings.filterwarnings("ignore")

    from saltviewer import Workspace, open_dataset
    from saltviewer.pseudo import propose_pseudo_labels, versions_with_predictions
    from saltviewer.store import CurationStore

    dataset = open_dataset(args.data)
    workspace = Workspace(args.workspace)
    if not link_versions(args.models, workspace, dataset):
        sys.exit(f"{args.models} has no model version with predictions for {args.data}.")
    store = CurationStore(workspace.store_path)
    if not store.queue(dataset, limit=1):
        propose_pseudo_labels(workspace, dataset, versions_with_predictions(workspace, dataset), store=store,
                              top=3000, review=500)   # the 3,000 most confident (ranked), as a curator would
    store.close()
    from saltviewer.plugins.common.stored_mosaics import find_mosaics, load_mosaics

    if load_mosaics(workspace, dataset) is None:
        find_mosaics(workspace, dataset)

    import napari
    from napari.settings import get_settings

    from saltviewer.plugins import dock_widgets

    get_settings().application.gui_notification_level = "none"
    viewer = napari.Viewer(title=f"saltviewer: {args.data}", show=True)
    window = viewer.window._qt_window
    window.showNormal()
    window.setGeometry(0, 0, 1600, 1000)
    docked = dock_widgets(viewer, args.data, workspace.path, ("Review", "Mosaics", "Retrain", "Explore"))
    review, mosaics, retrain = docked["Review"], docked["Mosaics"], docked["Retrain"]
    settle(1.5)
    window.setGeometry(0, 0, 1600, 1000)
    review.user_edit.setText("alice")
    review.user_edit.editingFinished.emit()

    # --- review: a proposed tile where the models disagree
    tile = pick_tile(review)
    if tile is not None:
        review.show_tile(tile)
    viewer.reset_view()
    shoot(viewer, args.out / "review.png")
    if args.readme is not None:
        write_small(args.out / "review.png", args.readme)

    # --- review: a labelled tile, its training mask beside the models'
    labelled = [k for k in range(len(review.model.table)) if review.model.table.split[k] == "train"]
    tile = str(review.model.table.tile[labelled[0]]) if labelled else None
    if tile is None:
        tile = next(t for t, has in zip(dataset.ids, dataset.has_mask) if has and dataset.mask(t).mean() > 0.2)
    review.show_tile(tile)
    shoot(viewer, args.out / "review_labelled.png")

    shoot_review_views(viewer, review, args.out)

    # --- mosaics: the largest one, stitched
    _raise(mosaics)
    mosaics.reload()
    settle()
    if mosaics.mosaics:
        mosaics.show_mosaic(pick_mosaic(mosaics.mosaics, dataset))
    shoot(viewer, args.out / "mosaics.png")

    # --- retrain: the curves of the latest version's training, its score beside its parent's
    _raise(retrain)
    latest = versions_with_predictions(workspace, dataset)[-1]
    card = workspace.card(latest)
    retrain.plot.clear()
    for fold in card.get("fold_details") or []:
        for logs in fold.get("history") or []:
            retrain.plot.add_epoch(logs, fold=fold.get("fold", 0), n_folds=card.get("folds", 1))
    from saltviewer.plugins.retrain.retraining import compare_scores

    retrain.result_label.setText(compare_scores(workspace, latest))
    retrain.status_label.setText(f"Curves of {latest}'s training (from its card).")
    shoot(viewer, args.out / "retrain.png")

    # --- explore: the first figure, as wide as the dock
    explore = docked["Explore"]
    _raise(explore)
    worker = explore.explore()
    done = []
    worker.finished.connect(lambda: done.append(True))
    while not done:
        settle(0.5)
    settle(1.0)
    shoot(viewer, args.out / "explore.png")
    if args.docs is not None:
        for name in ("review", "triage_grid", "correction", "history"):
            write_small(args.out / f"{name}.png", args.docs / f"{name}.png")
    viewer.close()


def shoot_review_views(viewer, review, out):
    """The triage grid, an assisted correction of a disputed tile, and a tile's history."""
    from saltviewer.store import CurationStore

    _raise(review)
    # the grid: the first page of the queue, a few tiles marked
    review.queue.reason_combo.setCurrentText("every reason")
    review.show_grid()
    settle(1.0)
    triage = review.triage
    for k, mark in ((0, "reject"), (1, "accept"), (2, "accept"), (4, "open")):
        if k < len(triage.cells) and not triage.mark(k, mark):
            triage.mark(k, "reject")
    triage.move(to=5)
    shoot(viewer, out / "triage_grid.png")

    # a disputed tile corrected from one model's mask at a lower consensus threshold, then cleaned
    review.show_list()
    disputed = [str(t) for t, why in zip(review.model.table.tile, review.model.table.why) if why == "disputed"]
    tile = disputed[min(3, len(disputed) - 1)] if disputed else review.model.tile_at(0)
    review.show_tile(tile)
    view = review.current.view
    if view is not None:
        review.correction.slider.setValue(35)
        review._on_start_from(view.versions[-1])
        review._on_cleanup("fill_holes")
    shoot(viewer, out / "correction.png")

    # the history of a tile that two people decided
    review.queue.reason_combo.setCurrentText("confident")
    tile = review.model.tile_at(0)
    review.note_edit.setText("clear salt body, edge follows the reflector")
    review.show_tile(tile)
    review._on_accept()
    with CurationStore(review.reviewer.store.path, user="bob") as other:
        other.reject(review.reviewer.dataset, tile, note="top edge looks wrong to me")
    settle(2.5)                                    # the dock notices bob's decision by itself
    review.note_edit.setText("")
    review.show_tile(tile)
    review.tabs.setCurrentIndex(2)
    settle(0.5)
    shoot(viewer, out / "history.png")
    review.tabs.setCurrentIndex(0)


def _raise(widget):
    parent = widget.parent()
    while parent is not None and not hasattr(parent, "toggleViewAction"):
        parent = parent.parent()
    if parent is not None:
        parent.raise_()


def write_small(source, target, width=1000, limit=300_000):
    """A copy of a screenshot scaled to `width` pixels, as a palette PNG under `limit` bytes."""
    from PIL import Image

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image = image.convert("RGB")
        height = round(image.height * width / image.width)
        small = image.resize((width, height), Image.LANCZOS)
    for colours in (256, 128, 64):          # octree keeps the few pixels of coloured text
        small.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(target, optimize=True)
        if target.stat().st_size < limit:
            break
    print(f"wrote {target} ({target.stat().st_size / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
