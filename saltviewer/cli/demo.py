HELP = "the whole loop on a synthetic sample: train an ensemble, pseudo-label, find mosaics, open napari"
DESCRIPTION = ("Make a synthetic sample in OUT/data, train two small U-Nets with different seeds into "
               "OUT/workspace, predict every tile with both, propose pseudo-labels where they agree and queue "
               "for review where they do not, find the mosaics, then open napari with the Review, Mosaics, "
               "Retrain and Explore widgets on the result. A second run reuses what is there. Without a "
               "display (no $DISPLAY) the window opens under xvfb-run and a screenshot is saved instead.")


def add_arguments(parser):
    from pathlib import Path

    parser.add_argument("--out", type=Path, default=Path("saltviewer-demo"), metavar="DIR",
                        help="folder for the sample and the workspace (default: ./saltviewer-demo)")
    parser.add_argument("--n-train", type=int, default=300, metavar="N", help="labelled tiles (default 300)")
    parser.add_argument("--n-test", type=int, default=200, metavar="M", help="unlabelled tiles (default 200)")
    parser.add_argument("--epochs", type=int, default=8, metavar="E", help="epochs per fold (default 8)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the sample (default 0)")
    parser.add_argument("--screenshot", type=Path, default=None, metavar="FILE.png",
                        help="save a screenshot of the window once the first tile shows, then quit "
                             "(default without a display: OUT/demo.png)")
    parser.add_argument("--no-view", action="store_true", help="do the work but open no window")


def view_command(data, workspace, screenshot=None, display=None):
    """The command line that opens the viewer in a fresh process (under xvfb-run when there is no display).

    The window runs in its own process: TensorFlow, imported after napari has made its OpenGL
    context, can crash the process, and the demo has imported it to train.
    """
    import os
    import shutil
    import sys

    from .._errors import SaltviewerError

    command = [sys.executable, "-m", "saltviewer", "view", str(data), "--workspace", str(workspace)]
    if screenshot is not None:
        command += ["--screenshot", str(screenshot)]
    display = os.environ.get("DISPLAY") if display is None else display
    if not display:
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            raise SaltviewerError("no display ($DISPLAY is unset) and no xvfb-run to make one; install xvfb "
                                  "(bash scripts/setup.sh does) or pass --no-view.")
        command = [xvfb, "-a", "-s", "-screen 0 1600x1000x24"] + command
    return command


def run(args):
    import os
    import subprocess

    from .._errors import SaltviewerError
    from ..training.demo import demo_recipe, run_demo

    for name in ("n_train", "n_test", "epochs"):
        if getattr(args, name) < 1:
            raise SaltviewerError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}.")
    recipe = demo_recipe(args.epochs)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")         # TensorFlow's start-up chatter
    result = run_demo(args.out, n_train=args.n_train, n_test=args.n_test, seed=args.seed, recipe=recipe)
    scores = ", ".join(f"{v} {s:.3f}" for v, s in result.scores.items() if s is not None)
    print(f"done in {result.seconds['total']:.0f} s: out-of-fold scores {scores}; "
          f"{result.n_mosaics} mosaics over {result.n_mosaic_tiles} tiles")
    if args.no_view:
        print(f"open it with: saltviewer view {result.data} --workspace {result.workspace}")
        return 0
    screenshot = args.screenshot
    if screenshot is None and not os.environ.get("DISPLAY"):
        screenshot = args.out / "demo.png"
        print(f"no display: opening the viewer under xvfb-run to save a screenshot in {screenshot}")
    completed = subprocess.run(view_command(result.data, result.workspace, screenshot))
    if completed.returncode != 0:
        raise SaltviewerError(f"the viewer stopped with exit status {completed.returncode}; open it again with "
                              f"saltviewer view {result.data} --workspace {result.workspace}")
    if screenshot is None:
        return 0
    print(f"open it with: saltviewer view {result.data} --workspace {result.workspace}")
    return 0
