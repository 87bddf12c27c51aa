from pathlib import Path

HELP = "seismic SEG-Y lines and volumes: predict salt on them, cut them into tiles, put masks back"
DESCRIPTION = (
    "saltviewer segy predict SECTION.sgy -w WS --out SALT.sgy: tile a 2-D line or every section of a 3-D volume "
    "with overlap, predict with the workspace's ensemble (the same versions, calibration, threshold and flip TTA "
    "as tiles), blend the overlaps and write the salt probability (or, with --mask, the mask) as SEG-Y with the "
    "input's headers, plus SALT.npy (SALT.zarr for volumes) and SALT.json. Volumes run out of core on Dask "
    "(local threads, or --scheduler ADDRESS for a dask.distributed cluster). "
    "saltviewer segy tiles SECTION.sgy OUT_DIR: cut into a data folder in the competition layout with a "
    "manifest, for the curation loop. saltviewer segy assemble OUT_DIR -w WS --out MASKS.sgy: the masks in "
    "force on those tiles (accepted, corrected, labelled; --predicted fills the rest from the ensemble) back "
    "on the section.")


def add_arguments(parser):
    from pathlib import Path

    from ._common import add_workspace_argument

    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(sub):
        sub.add_argument("--scaling", choices=["file", "tile"], default="file",
                         help="amplitudes to grey levels: 'file' a robust 0.5-99.5 percentile clip fitted on the "
                              "file (default), 'tile' each tile stretched to its own range as the TGS tiles were")
        sub.add_argument("--direction", choices=["inline", "crossline"], default="inline",
                         help="volumes: the sections cut or predicted (default inline)")
        sub.add_argument("--iline-byte", type=int, default=189, metavar="BYTE",
                         help="trace header byte of the inline number (default 189)")
        sub.add_argument("--xline-byte", type=int, default=193, metavar="BYTE",
                         help="trace header byte of the crossline number (default 193)")

    predict = actions.add_parser("predict", help="predict salt on a SEG-Y line or volume and write it as SEG-Y",
                                 description=DESCRIPTION)
    predict.add_argument("section", type=Path, metavar="SECTION.sgy", help="a SEG-Y line (2-D) or volume (3-D)")
    add_workspace_argument(predict)
    predict.add_argument("--out", type=Path, required=True, metavar="SALT.sgy",
                         help="SEG-Y to write (.npy/.zarr and .json go beside it)")
    predict.add_argument("--models", nargs="+", default=["latest"], metavar="NAME",
                         help="all, latest (default) or version names: the ensemble")
    predict.add_argument("--mask", action="store_true", help="write the salt mask (0/1), not the probability")
    predict.add_argument("--overlap", type=int, default=50, help="pixels shared by neighbouring tiles (default 50)")
    predict.add_argument("--no-tta", dest="tta", action="store_false", help="no flip test-time augmentation")
    predict.add_argument("--folds", type=int, nargs="+", default=None, metavar="K",
                         help="use only these fold models of each version (default all)")
    predict.add_argument("--batch-size", type=int, default=64, metavar="N", help="tiles per batch (default 64)")
    predict.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="volumes: a dask.distributed scheduler (tcp://host:8786); default local threads")
    predict.add_argument("--workers", type=int, default=None, metavar="N", help="volumes: local threads")
    predict.add_argument("--chunks", type=int, nargs=2, default=None, metavar=("SECTIONS", "TRACES"),
                         help="volumes: sections and traces per Dask block (default 2 512)")
    predict.add_argument("--mute-level", type=float, default=0.05, metavar="FRACTION",
                         help="no salt in quiet zones (water column, top and bottom mutes, dead traces, flat runs): "
                              "samples whose nearby |amplitude| stays under this fraction of the file's robust "
                              "amplitude, from a trace's top or bottom (default 0.05; stated in the .json)")
    predict.add_argument("--no-mute", dest="mute_level", action="store_const", const=None,
                         help="predict quiet zones like any other part of the section")
    common(predict)
    predict.set_defaults(_segy=_predict)

    tiles = actions.add_parser("tiles", help="cut a SEG-Y line or volume into a data folder of tiles with a manifest")
    tiles.add_argument("section", type=Path, metavar="SECTION.sgy", help="a SEG-Y line (2-D) or volume (3-D)")
    tiles.add_argument("out", type=Path, metavar="OUT_DIR", help="new or empty folder")
    tiles.add_argument("--overlap", type=int, default=0, help="pixels shared by neighbouring tiles (default 0)")
    tiles.add_argument("--every", type=int, default=1, metavar="K", help="volumes: every K-th section (default 1)")
    tiles.add_argument("--sections", type=int, nargs="+", default=None, metavar="N",
                       help="volumes: these inline (or crossline) numbers")
    common(tiles)
    tiles.set_defaults(_segy=_tiles)

    assemble = actions.add_parser("assemble", help="the masks in force on a tiles folder, back on its section as SEG-Y")
    assemble.add_argument("folder", type=Path, metavar="OUT_DIR", help="a folder made by `segy tiles`")
    add_workspace_argument(assemble, required=False)
    assemble.add_argument("--out", type=Path, required=True, metavar="MASKS.sgy",
                          help="SEG-Y to write, with the section's headers")
    assemble.add_argument("--predicted", action="store_true",
                          help="fill tiles without a decision with the ensemble's consensus mask")
    assemble.add_argument("--models", nargs="+", default=["all"], metavar="NAME",
                          help="with --predicted: the ensemble (default all)")
    assemble.set_defaults(_segy=_assemble)


def run(args):
    from ._common import UsageError

    out = getattr(args, "out", None)
    if args.action in ("predict", "assemble") and out.suffix.lower() not in (".sgy", ".segy"):
        raise UsageError(f"--out {out}: must end in .sgy or .segy (the .npy/.zarr and .json go beside it).")
    if args.action == "predict" and args.mute_level is not None and not 0 < args.mute_level < 1:
        raise UsageError(f"--mute-level must be a fraction between 0 and 1; got {args.mute_level}.")
    if args.action in ("predict", "tiles") and not 0 <= args.overlap <= 100:
        raise UsageError(f"--overlap must be a whole number of pixels from 0 to 100; got {args.overlap}.")
    if args.action == "predict" and out.resolve() == args.section.resolve():
        raise UsageError(f"--out {out}: is the input file; choose another output (inputs are never overwritten).")
    return args._segy(args)


def _predict(args):
    import os
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ..training.section import predict_segy
    from ._common import tqdm_progress

    progress = tqdm_progress("predict")
    try:
        info = predict_segy(args.section, args.workspace, args.out, args.models, overlap=args.overlap,
                            scaling=args.scaling, mask=args.mask, tta=args.tta, direction=args.direction,
                            scheduler=args.scheduler, chunks=args.chunks, num_workers=args.workers,
                            batch_size=args.batch_size, folds=args.folds, progress=progress,
                            iline=args.iline_byte, xline=args.xline_byte, mute=args.mute_level)
    finally:
        progress.close()
    ensemble = info.settings["ensemble"]
    print(f"{info.segy}: salt {info.values} of the {info.kind} ({info.settings['geometry']})")
    print(f"{info.array}: the same values; {info.sidecar}: how they were made")
    print(f"ensemble {', '.join(ensemble['versions'])}: mask where consensus > {ensemble['mask_cutoff']:.4f}, "
          f"regions under {ensemble['min_area']} px removed; scaling {info.settings['scaling']['method']} "
          f"[{info.settings['scaling']['low']:.4g}, {info.settings['scaling']['high']:.4g}]")
    print(f"{info.n_tiles} tiles in {info.seconds:.1f} s ({info.tiles_per_second:.1f} tiles/s)", file=sys.stderr)
    return 0


def _tiles(args):
    from ..seismic import cut_tiles

    manifest = cut_tiles(args.section, args.out, overlap=args.overlap, scaling=args.scaling, direction=args.direction,
                         every=args.every, sections=args.sections, iline=args.iline_byte, xline=args.xline_byte)
    settings = manifest.settings
    n_sections = len(settings["section_positions"])
    print(f"{manifest.folder}: {len(manifest)} tiles from {n_sections} section{'s' if n_sections != 1 else ''} of "
          f"{settings['geometry']}")
    print(f"manifest: {manifest.folder / 'segy_manifest.json'}; places: {manifest.folder / 'segy_tiles.csv'}")
    return 0


def _assemble(args):
    from ..seismic import mark_missing, open_segy, read_manifest, section_masks, write_segy_like
    from .._atomic import atomic_path
    from .._errors import SaltviewerError

    import numpy as np

    manifest = read_manifest(args.folder)
    if args.predicted and args.workspace is None:
        raise SaltviewerError("--predicted needs --workspace WS (the ensemble's predictions of the tiles).")
    values, counts = section_masks(args.folder, args.workspace, versions=args.models, predicted=args.predicted)
    source = open_segy(manifest.source, iline=manifest.settings.get("iline_byte", 189),
                       xline=manifest.settings.get("xline_byte", 193))
    if tuple(source.shape) != tuple(values.shape):
        raise SaltviewerError(f"{manifest.source}: is now {source.shape}, but the tiles were cut from "
                              f"{tuple(values.shape)}; cut the tiles again.")
    mark_missing(values, source.present)
    meaning = ["SALTVIEWER SEGY ASSEMBLE: SAMPLES ARE SALT MASKS IN FORCE ON THE TILES,",
               "1 SALT, 0 NOT SALT, -1 UNDECIDED (NOT AMPLITUDES), 4-BYTE IEEE FLOAT",
               f"TILES: {Path(args.folder).name}"[:76]]
    try:
        with atomic_path(args.out.with_suffix(".npy"), suffix=".npy") as tmp:
            np.save(tmp, values)
            write_segy_like(source, args.out, values, meaning=meaning)
    except OSError as error:
        raise SaltviewerError(f"--out {args.out}: cannot be written ({error.strerror or error}).") from None
    print(f"{args.out}: masks of {len(manifest) - counts['undecided']} of {len(manifest)} tiles "
          f"({counts['label']} labelled, {counts['review']} reviewed, {counts['ensemble']} from the ensemble); "
          "1 salt, 0 not salt, -1 undecided")
    return 0
