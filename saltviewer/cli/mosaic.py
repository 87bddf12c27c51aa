HELP = "find neighbouring tiles and assemble them into mosaics (pairs.csv, mosaics.json)"
DESCRIPTION = ("Find the tiles of DATA that continue each other across an edge (each tile's next line "
               "predicted from its last ones, a KD-tree over the predictions), grow mosaics from the surest "
               "mutual best matches, placing a tile only where it beats the runner-up against every placed "
               "neighbour, join mosaics that continue each other, and write pairs.csv (kind,a,b) and "
               "mosaics.json. "
               "With --workspace the tiles load from the workspace's packed cache and the files go to "
               "WS/mosaics/<dataset key>/, where the viewer finds them. Where tiles have masks, the edges "
               "where salt stops dead at a tile boundary, and the training masks that the tile above "
               "contradicts (a salt flank that does not continue down, an empty tile under salt), are "
               "listed and, with --workspace, queued for review.")


def add_arguments(parser):
    from pathlib import Path

    from ..mosaic import search as nb
    from ._common import add_data_argument, add_workspace_argument

    add_data_argument(parser)
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="folder for pairs.csv and mosaics.json (default: WS/mosaics/<dataset key>)")
    add_workspace_argument(parser, required=False)
    search = parser.add_argument_group("search (defaults tuned on the TGS data)")
    search.add_argument("--ratio", type=float, default=nb.RATIO,
                        help=f"best match must be nearer than RATIO x the runner-up, from both tiles (default {nb.RATIO})")
    search.add_argument("--max-norm", type=float, default=nb.MAX_NORM,
                        help="largest boundary cost relative to the tiles' inside cost "
                             f"(about 1 = seamless; default {nb.MAX_NORM})")
    search.add_argument("--max-cost", type=float, default=nb.MAX_COST,
                        help=f"largest boundary cost in edge standard deviations (default {nb.MAX_COST})")
    search.add_argument("--loop-max-norm", type=float, default=nb.LOOP_MAX_NORM,
                        help="largest boundary cost of an edge that closes a loop of matches, relative to the "
                             f"tiles' inside cost (default {nb.LOOP_MAX_NORM})")
    search.add_argument("--max-texture", type=float, default=nb.MAX_TEXTURE,
                        help="largest difference between the textures of two tiles along a seam that rests on one "
                             f"edge alone (log units; default {nb.MAX_TEXTURE})")
    search.add_argument("--max-contrast-change", type=float, default=nb.MAX_CONTRAST_CHANGE,
                        help="largest difference between the spreads of grey levels of two tiles near a seam that "
                             f"rests on one edge alone (log units, 0.8 = a factor 2.2; default {nb.MAX_CONTRAST_CHANGE})")
    search.add_argument("--min-contrast", type=float, default=nb.MIN_CONTRAST,
                        help=f"flatter edges (std in grey levels) never match (default {nb.MIN_CONTRAST})")
    search.add_argument("--exact", action="store_true",
                        help="settle every border completely (never misses a pair; much slower)")
    search.add_argument("--verify", action="store_true",
                        help="check every kept pair exactly against all tiles (about twice the time)")
    parser.add_argument("--review", type=int, default=5, metavar="N",
                        help="print the N tile edges where the masks disagree most, and with --workspace queue their "
                             "tiles for review (default 5; 0: none)")
    parser.add_argument("--png", type=int, default=0, metavar="N",
                        help="also draw the N largest mosaics, with mask outlines, as PNG files in DIR/png")


def run(args):
    import time

    import numpy as np

    from .._errors import SaltviewerError
    from ..dataset import open_dataset
    from ..mosaic import build_mosaics, mosaics_folder, render_mosaic, review_items, write_mosaics

    if args.out is None and args.workspace is None:
        raise SaltviewerError("give --out DIR or --workspace WS (the mosaics then go to WS/mosaics/<dataset key>).")
    if args.png < 0 or args.review < 0:
        raise SaltviewerError(f"--png and --review must be >= 0, got {args.png} and {args.review}.")
    dataset = open_dataset(args.data)
    start = time.perf_counter()
    if args.workspace is not None:
        from ..workspace import Workspace

        dataset.use_cache(Workspace(args.workspace))     # packed once, memory-mapped after
    out = args.out if args.out is not None else mosaics_folder(args.workspace, dataset)
    images = dataset.images()
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    mosaics = build_mosaics(dataset, images=images, ratio=args.ratio, max_norm=args.max_norm,
                            max_cost=args.max_cost, loop_max_norm=args.loop_max_norm, max_texture=args.max_texture,
                            max_contrast_change=args.max_contrast_change, min_contrast=args.min_contrast,
                            exact=args.exact, verify=args.verify)
    found = time.perf_counter() - start
    pairs_path, json_path = write_mosaics(mosaics, out, labelled=dataset)
    counts = mosaics.counts()
    print(f"{len(dataset):,} tiles loaded in {loaded:.1f} s; searched and assembled in {found:.1f} s")
    print(f"pairs: {counts['pairs']:,} ({counts['right']:,} right, {counts['below']:,} below)")
    largest = f" (largest: {len(mosaics[0])} tiles on {mosaics[0].shape[0]}x{mosaics[0].shape[1]})" if len(mosaics) else ""
    print(f"mosaics: {counts['mosaics']:,}{largest}")
    print(f"tiles covered: {counts['tiles']:,} of {len(dataset):,} ({counts['tiles'] / max(len(dataset), 1):.1%})")
    if counts["conflicts"]:
        print(f"conflicting pairs set aside: {counts['conflicts']}")
    print(f"wrote {pairs_path} and {json_path}")
    if args.review and dataset.has_mask.any():
        items = review_items(mosaics, dataset.mask, limit=args.review)
        if items:
            print(f"edges where ground-truth salt stops at a tile boundary (worst {len(items)}):")
            for s in items:
                print(f"  mosaic {s.mosaic} row {s.row} col {s.col}: {s.b} {'right of' if s.kind == 'right' else 'below'} "
                      f"{s.a}: {s.mismatch} of {s.salt} edge salt pixels unmatched")
            if args.workspace is not None:
                from ..mosaic import queue_boundary_items

                queued = queue_boundary_items(args.workspace, dataset, items)
                print(f"queued {queued} of their tiles for review in {args.workspace} "
                      f"(label items, criterion mosaic-edge; tiles already under review left as they are)")
    if dataset.has_mask.any():
        from ..mosaic import mosaic_rules

        settled = {dataset.ids[i] for i in np.flatnonzero(dataset.has_mask)}
        _, findings = mosaic_rules(mosaics, dataset.mask, settled=settled)
        contradicted = [f for f in findings if not f.changed]
        if contradicted:
            counts = ", ".join(f"{sum(f.rule == rule for f in contradicted)} {rule}" for rule in ("vertical", "under-salt"))
            print(f"training masks that the tile above contradicts ({counts}):")
            for f in contradicted[:args.review]:
                print(f"  mosaic {f.mosaic} row {f.row + 1} col {f.col}: {f.below} below {f.above} ({f.rule}, "
                      f"IoU {f.iou:.2f} with what the rule asks)")
            if args.workspace is not None and args.review:
                from ..mosaic import queue_rule_items

                queued = queue_rule_items(args.workspace, dataset, contradicted)
                print(f"queued {queued} of them for review in {args.workspace} (label items, criterion mosaic-rule)")
    if args.png:
        from PIL import Image

        from .._atomic import atomic_path

        folder = out / "png"
        for mosaic in mosaics.mosaics[:args.png]:
            picture = render_mosaic(mosaic, dataset.image, dataset.mask)
            with atomic_path(folder / f"mosaic_{mosaic.number:04d}.png", suffix=".png") as tmp:
                Image.fromarray(picture).save(tmp, format="PNG")
        print(f"drew {min(args.png, len(mosaics))} mosaics in {folder}")
    return 0
