HELP = "write accepted and corrected masks as PNGs in the competition layout"
DESCRIPTION = (
    "Export the masks in force of accepted and corrected curation items as a folder in the competition layout: "
    "OUT/train/masks/<id>.png (0/255), OUT/train/images/<id>.png (unless --no-images), OUT/train.csv "
    "(id,rle_mask), OUT/depths.csv and OUT/export.json (provenance). The folder is written whole and swapped "
    "in; an existing export is replaced, any other non-empty folder is refused.")


def add_arguments(parser):
    from pathlib import Path

    from ._review import add_store_arguments

    add_store_arguments(parser, user=False)
    parser.add_argument("out", type=Path, metavar="OUT", help="folder to write")
    parser.add_argument("--kind", choices=("pseudo", "label", "all"), default="pseudo",
                        help="pseudo-labels (default), label corrections, or both")
    parser.add_argument("--no-images", dest="images", action="store_false", help="write masks only")


def run(args):
    from ..store import export_labels
    from ._review import open_review

    dataset, _, store = open_review(args, create=False)
    kinds = ("pseudo", "label") if args.kind == "all" else (args.kind,)
    with store:
        summary = export_labels(store, dataset, args.out, kinds=kinds, images=args.images)
    print(f"wrote {summary['masks']} masks ({summary['empty']} empty) to {args.out} "
          f"from store revision {summary['revision']}")
    return 0
