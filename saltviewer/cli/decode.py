HELP = "decode a run-length CSV into mask PNGs"


def add_arguments(parser):
    from pathlib import Path

    parser.add_argument("csv", type=Path, metavar="FILE.csv", help="id,rle_mask CSV")
    parser.add_argument("--out", "-o", type=Path, required=True, metavar="DIR", help="folder for id.png masks")


def run(args):
    from .._errors import SaltviewerError
    from ..submission import read_masks_csv
    from ..tiles import write_mask

    masks = read_masks_csv(args.csv)
    args.out.mkdir(parents=True, exist_ok=True)
    clashes = [i for i in masks if (args.out / f"{i}.png").exists()]
    if clashes:
        raise SaltviewerError(f"--out {args.out}: already holds {len(clashes)} of these masks "
                              f"(first {clashes[0]}.png); choose an empty folder.")
    for tile_id, mask in masks.items():
        write_mask(args.out / f"{tile_id}.png", mask)
    print(f"wrote {len(masks)} masks to {args.out}")
    return 0
