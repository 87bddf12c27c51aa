HELP = "write the probability maps of model versions for a dataset, and optionally a submission"
DESCRIPTION = ("Predict every tile of DATA (or one split) with each chosen version (a k-fold version "
               "averages its fold models, with flip TTA), storing the maps in the workspace. With "
               "--submission, also write an id,rle_mask CSV of the test tiles from the average of the "
               "chosen versions, binarised with their tuned threshold and minimum salt area.")


def add_arguments(parser):
    from pathlib import Path

    from ._common import add_data_argument, add_workspace_argument

    add_data_argument(parser)
    add_workspace_argument(parser)
    parser.add_argument("--models", nargs="+", default=["latest"], metavar="NAME",
                        help="all, latest (default) or version names")
    parser.add_argument("--split", default="all", choices=["train", "test", "all"],
                        help="tiles to predict (default all)")
    parser.add_argument("--submission", type=Path, default=None, metavar="OUT.csv",
                        help="also write a submission of the --split tiles (of the test tiles for 'all'; "
                             "of every tile when there are no test tiles)")
    parser.add_argument("--no-tta", dest="tta", action="store_false", help="no flip test-time augmentation")
    parser.add_argument("--folds", type=int, nargs="+", default=None, metavar="K",
                        help="use only these fold models of each version (default all)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="tiles per prediction batch (default 64)")
    parser.add_argument("--threshold", type=float, default=None, help="override the tuned threshold")
    parser.add_argument("--min-area", type=int, default=None, help="override the tuned minimum salt area")


def run(args):
    import os
    import time

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from .. import Workspace, open_dataset
    from ..training import predict_dataset, write_ensemble_submission
    from ._common import log, progress_bar

    workspace = Workspace(args.workspace)
    dataset = open_dataset(args.data)
    versions = workspace.resolve_models(args.models)
    bars = {}

    def on_progress(event):
        if event.kind == "batch":
            bar = bars.get(event.message)
            if bar is None:
                bar = bars[event.message] = progress_bar(f"predict {event.message}", event.n_batches)
            bar.update(event.batch - bar.n)
        elif event.kind == "done" and event.message in bars:
            bars.pop(event.message).close()

    start = time.monotonic()
    try:
        paths = predict_dataset(dataset, workspace, versions, split=args.split, tta=args.tta, on_progress=on_progress,
                                batch_size=args.batch_size, folds=args.folds)
    finally:
        for bar in bars.values():
            bar.close()
    n = len(dataset.indices(args.split))
    seconds = time.monotonic() - start
    for version, path in paths.items():
        print(f"{version}: {path}")
    log.info("predicted %d tiles with %d version(s) in %.1f s", n, len(versions), seconds)
    if args.submission is not None:
        info = write_ensemble_submission(dataset, workspace, versions, args.submission,
                                         split="test" if args.split == "all" else args.split,
                                         threshold=args.threshold, min_area=args.min_area)
        print(f"submission: {info.path} ({info.n_tiles} tiles, {info.n_salt} with salt; threshold "
              f"{info.threshold}, min area {info.min_area}, from {info.tuned_on})")
    return 0
