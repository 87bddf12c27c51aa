HELP = "write an HTML report about a dataset: coverage, depths, intensities, odd masks, duplicates"
DESCRIPTION = ("Explore a dataset and write DIR/index.html with PNG figures and CSV tables beside it "
               "(readable offline): salt coverage and coverage classes, share of empty masks, depths and "
               "salt versus depth, intensity statistics, example tiles per coverage class, suspicious "
               "masks, exact and near-duplicate tiles. Works on a pool without masks too.")


def add_arguments(parser):
    from pathlib import Path

    from ._common import add_data_argument, add_workspace_argument

    add_data_argument(parser)
    parser.add_argument("--out", "-o", type=Path, required=True, metavar="DIR",
                        help="folder for the report (created if missing)")
    add_workspace_argument(parser, required=False)
    parser.add_argument("--min-correlation", type=float, default=0.8, metavar="R",
                        help="tiles correlating at least R are near-duplicates (default 0.8)")
    parser.add_argument("--min-area", type=int, default=10, metavar="PX",
                        help="salt regions smaller than PX pixels are tiny specks (default 10)")


def run(args):
    from ..dataset import open_dataset
    from ..report import write_report
    from ._common import tqdm_progress

    dataset = open_dataset(args.data)
    if args.workspace is not None:
        from ..workspace import Workspace

        dataset.use_cache(Workspace(args.workspace))
    progress = _Phases(tqdm_progress)
    try:
        index = write_report(dataset, args.out, progress=progress, min_area=args.min_area,
                             min_correlation=args.min_correlation)
    finally:
        progress.close()
    import json

    summary = json.loads((index.parent / "summary.json").read_text())
    empty = "n/a" if summary["empty_share"] is None else f"{summary['empty_share']:.1%}"
    print(f"{dataset.root}: {summary['tiles']} tiles, {summary['masks']} masks, empty {empty}, "
          f"{summary['blank_tiles']} blank, {summary['suspicious_masks']} suspicious masks, "
          f"{summary['duplicate_tiles']} tiles in {summary['duplicate_groups']} duplicate groups, "
          f"{summary['near_duplicate_pairs']} near-duplicate pairs")
    print(f"wrote {index}")
    return 0


class _Phases:
    """A ``progress(done, total)`` that starts a fresh bar whenever the work restarts."""

    def __init__(self, make_bar):
        self.make_bar = make_bar
        self.bar = None
        self.last = None

    def __call__(self, done, total):
        if self.bar is None or self.last is None or done < self.last[0] or total != self.last[1]:
            self.close()
            self.bar = self.make_bar("exploring")
        self.bar(done, total)
        self.last = (done, total)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
