"""Screenshots of the Review dock, the triage grid and the batch preview at a laptop's and a desktop's size.

Run under a virtual display of the size asked (the whole screen is captured)::

    xvfb-run -a -s "-screen 0 1366x768x24" python benchmarks/screenshots_review.py --size 1366x768
    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/screenshots_review.py --size 1600x1000

The data is the synthetic sample (``saltviewer sample``) with three hand-made model versions
(no network is trained) chosen so that one page of the grid holds every kind of tile a person
meets: confident salt (one tile almost all salt), confident empty, and disputed tiles (the
versions split: one sees no salt, the others a body of different sizes). The Review dock is
shown with a polygon cut out of the shown tile's mask and not saved yet. Writes
``review_SIZE.png``, ``triage_grid_SIZE.png`` and ``batch_preview_SIZE.png`` to ``--out``
(default ``docs/``), as palette PNGs.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def disk(centre, radius):
    y, x = np.ogrid[:101, :101]
    return (y - centre[0]) ** 2 + (x - centre[1]) ** 2 <= radius ** 2


def write_versions(dataset, workspace, n_versions=3):
    """Hand-made probability maps: labelled tiles get their training mask; unlabelled tile ``k`` is almost all
    salt (k % 6 == 0), empty (k % 6 == 1), split between the versions (k % 6 == 2: the first sees nothing) or
    a body whose size the versions nearly agree on."""
    test = dataset.indices("test")
    for v in range(n_versions):
        probs = np.full((len(dataset), 101, 101), 0.03, np.float32)
        for i in range(len(dataset)):
            truth = dataset.mask(i)
            if truth is not None:
                probs[i][np.roll(truth, v, axis=1)] = 0.95
                continue
            k = int(np.flatnonzero(test == i)[0])
            if k % 6 == 0:
                probs[i][4 + v:, :] = 0.97
            elif k % 6 == 1:
                continue
            elif k % 6 == 2:
                if v:
                    probs[i][disk((55, 50), 14 + 9 * v)] = 0.9
            else:
                probs[i][disk((50, 40 + 3 * (k % 5)), 16 + 2 * (k % 4) + v)] = 0.95
        version = workspace.add_version({"encoder": "hand-made", "threshold": 0.5, "oof_score": 0.7 + 0.01 * v,
                                         "note": "probability maps drawn by benchmarks/screenshots_review.py"})
        workspace.write_predictions(version, dataset, probs)


def settle(seconds=0.8):
    from qtpy.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def grab_screen(path):
    """The whole virtual screen (the window and any dialog over it) as a palette PNG."""
    from PIL import Image
    from qtpy.QtWidgets import QApplication

    settle(0.3)
    raw = Path(tempfile.mkdtemp()) / "screen.png"
    QApplication.primaryScreen().grabWindow(0).save(str(raw))
    with Image.open(raw) as image:
        image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
            path, optimize=True)
    print(f"wrote {path} ({path.stat().st_size / 1000:.0f} KB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1600x1000", help="WIDTHxHEIGHT of the window (and of the screen)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="saltviewer-screens-"))
    os.environ["SALTVIEWER_CONFIG_DIR"] = str(work / "config")

    from saltviewer import Workspace, make_sample, open_dataset
    from saltviewer.pseudo import propose_pseudo_labels

    data = make_sample(work / "data", n_train=60, n_test=12, seed=7)
    dataset = open_dataset(data)
    workspace = Workspace(work / "ws")
    write_versions(dataset, workspace)
    propose_pseudo_labels(workspace, dataset, empty_share=None, review=2, min_agreement=0.5, max_uncertain=0.2)

    import napari
    from qtpy.QtWidgets import QApplication

    from saltviewer.plugins.review.batch_preview import BatchPreviewDialog
    from saltviewer.plugins.common.session import session_for

    viewer = napari.Viewer(show=True)
    window = viewer.window._qt_window
    window.move(0, 0)
    window.resize(width, height)
    session_for(viewer).open(data, workspace.path)
    _, review = viewer.window.add_plugin_dock_widget("saltviewer", "Review")
    while review.current is None:
        settle(0.2)
    settle(1.5)
    QApplication.setActiveWindow(window)
    args.out.mkdir(parents=True, exist_ok=True)

    # the Review dock: a confident salt tile with a polygon cut out of its mask, not saved yet
    review.queue.reason_combo.setCurrentText("confident salt")
    settle()
    edit = next(layer for layer in viewer.layers if layer.metadata.get("saltviewer_role") == "review:edit")
    edit.paint_polygon(np.array([[10, 10], [10, 45], [45, 45], [45, 10]]), 0)
    settle()
    grab_screen(args.out / f"review_{args.size}.png")
    edit.undo()
    review.queue.reason_combo.setCurrentText("every reason")
    settle()

    # the grid: a page of mixed tiles (confident salt, empty, disputed), two marked
    review.show_grid()
    settle(1.5)
    triage = review.triage
    for k, cell in enumerate(triage.cells):
        if cell.batch_acceptable and k < 2:
            triage.mark(k, "accept" if k == 0 else "reject")
    settle()
    grab_screen(args.out / f"triage_grid_{args.size}.png")
    review.show_list()
    settle()

    # the batch preview, over the window
    items = review.reviewer.batch_candidates(0.6, masks=True)
    dialog = BatchPreviewDialog(review.reviewer.dataset, items, 0.6, review)
    dialog.show()
    dialog.move(max(0, (width - dialog.width()) // 2), max(0, (height - dialog.height()) // 2))
    settle(1.0)
    grab_screen(args.out / f"batch_preview_{args.size}.png")
    dialog.close()
    viewer.close()


if __name__ == "__main__":
    sys.exit(main())
