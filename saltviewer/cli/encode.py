HELP = "encode mask PNGs as a run-length submission CSV"


def add_arguments(parser):
    from pathlib import Path

    parser.add_argument("masks", type=Path, metavar="MASKS", help="folder of mask PNGs (id.png)")
    parser.add_argument("--out", "-o", type=Path, required=True, metavar="OUT.csv",
                        help="CSV to write (id,rle_mask; column-major, 1-based runs)")


def run(args):
    from ..score import read_truth
    from ..submission import write_submission

    masks = read_truth(args.masks)
    write_submission(args.out, list(masks), list(masks.values()))
    print(f"wrote {len(masks)} masks to {args.out}")
    return 0
