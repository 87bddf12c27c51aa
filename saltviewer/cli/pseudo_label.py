HELP = "propose pseudo-label candidates from the ensemble's agreement into the curation store"
DESCRIPTION = (
    "Score the unlabelled tiles with an ensemble of model versions and propose confident ones as pseudo-label "
    "candidates into the workspace's curation store: confident empty and confident salt tiles with the share of "
    "empty candidates held to the labelled set's (criterion 'agreement'), and/or tiles confident on at least 90% "
    "of their pixels (criterion 'pixel-confidence'). Labelled tiles whose training mask the whole ensemble "
    "contradicts are proposed as likely label errors. Decisions already taken are never overwritten. "
    "Prints a summary; `saltviewer queue` lists what awaits review.")


def add_arguments(parser):
    from ._review import add_store_arguments, fraction

    add_store_arguments(parser)
    parser.add_argument("--models", "-m", nargs="+", metavar="V",
                        help="model versions, 'all' or 'latest' (default: every version with predictions for DATA)")
    parser.add_argument("--criterion", choices=("agreement", "pixel-confidence", "both"), default="agreement",
                        help="how candidates are chosen (default agreement)")
    parser.add_argument("--empty-share", default="auto", metavar="auto|none|F",
                        help="share of empty tiles among candidates: 'auto' (the labelled set's), 'none' "
                             "(not held) or a number in [0, 1) (default auto)")
    parser.add_argument("--min-agreement", type=fraction, default=0.9, metavar="F",
                        help="confident salt: least mean pairwise IoU of the members' masks (default 0.9)")
    parser.add_argument("--max-uncertain", type=fraction, default=0.05, metavar="F",
                        help="agreement criterion: most pixels with consensus p in [0.2, 0.8] (default 0.05)")
    parser.add_argument("--confident-share", type=fraction, default=0.9, metavar="F",
                        help="pixel-confidence criterion: least share of confident pixels (default 0.9)")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="threshold criteria: most candidates in all (the empty share is kept)")
    ranked = parser.add_mutually_exclusive_group()
    ranked.add_argument("--top", type=int, metavar="N",
                        help="ranked selection: the N most confident tiles on which every model predicts salt or "
                             "none does, ranked by --rank, with the empty share kept; the thresholds above are "
                             "not applied (docs/benchmarks.md, selection: how many and how good)")
    ranked.add_argument("--share", type=fraction, metavar="F",
                        help="ranked selection of this share of the unlabelled tiles (for example 0.17)")
    parser.add_argument("--rank", choices=("expected-iou", "agreement"), default="expected-iou",
                        help="ranking of --top/--share: the consensus mask's expected IoU under the calibrated "
                             "probabilities (default), or the members' mean IoU")
    parser.add_argument("--no-label-errors", dest="label_errors", action="store_false",
                        help="do not look for likely label errors among the labelled tiles")
    parser.add_argument("--label-min-agreement", type=fraction, default=0.8, metavar="F",
                        help="label errors: least mean pairwise IoU among members (default 0.8)")
    parser.add_argument("--max-truth-iou", type=fraction, default=0.5, metavar="F",
                        help="label errors: most IoU of the consensus with the training mask (default 0.5)")
    parser.add_argument("--review", type=int, default=0, metavar="N",
                        help="also queue the N unlabelled tiles the models disagree on most (default 0)")
    crf = parser.add_mutually_exclusive_group()
    crf.add_argument("--crf", dest="crf", action="store_true", default=None,
                     help="refine proposed masks with the dense CRF (needs the crf extra)")
    crf.add_argument("--no-crf", dest="crf", action="store_false",
                     help="propose the plain consensus masks (default: what benchmarks/results/crf.json found)")
    parser.add_argument("--dry-run", action="store_true", help="report what would be proposed; write nothing")


def _empty_share(text):
    from .._errors import SaltviewerError, check_fraction

    if text in ("auto", "none"):
        return None if text == "none" else "auto"
    try:
        return check_fraction(text, "--empty-share")
    except SaltviewerError:
        raise SaltviewerError(f"--empty-share: expected 'auto', 'none' or a number in [0, 1], got {text!r}.") from None


def run(args):
    from ..pseudo import propose_pseudo_labels
    from ._common import tqdm_progress
    from ._review import open_review, print_lines

    empty_share = _empty_share(args.empty_share)
    if args.limit is not None and args.limit < 0:
        from .._errors import SaltviewerError

        raise SaltviewerError(f"--limit: expected a number of tiles >= 0, got {args.limit}.")
    if args.top is not None and args.top < 0:
        from .._errors import SaltviewerError

        raise SaltviewerError(f"--top: expected a number of tiles >= 0, got {args.top}.")
    dataset, workspace, store = open_review(args, cache=True)
    versions = workspace.resolve_models(args.models) if args.models else None
    progress = tqdm_progress("scoring")
    try:
        report = propose_pseudo_labels(
            workspace, dataset, versions, store=store, criterion=args.criterion, empty_share=empty_share,
            min_agreement=args.min_agreement, max_uncertain=args.max_uncertain, confident_share=args.confident_share,
            limit=args.limit, label_errors=args.label_errors, label_min_agreement=args.label_min_agreement,
            max_truth_iou=args.max_truth_iou, review=args.review, crf=args.crf, dry_run=args.dry_run,
            user=args.user, progress=progress, top=args.top, share=args.share, rank=args.rank)
    finally:
        progress.close()
        store.close()
    print_lines(report.lines())
    return 0
