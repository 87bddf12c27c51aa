HELP = "list the curation items awaiting review, most disagreement first"
DESCRIPTION = ("List curation items, one per line: tile id, kind, state, disagreement (1 - mean pairwise IoU of the "
               "ensemble; for label items 1 - IoU with the training mask), agreement, coverage of the proposed mask, "
               "why it is there (confident salt, confident empty, disputed, label check, mosaic edge), criterion and "
               "reason. By default the proposed (undecided) items, most disagreement first.")


def add_arguments(parser):
    from ._review import add_store_arguments, fraction

    add_store_arguments(parser, user=False)
    parser.add_argument("--state", default="proposed",
                        choices=("proposed", "accepted", "rejected", "corrected", "decided", "all"),
                        help="which items (default proposed; 'decided' = accepted, rejected or corrected)")
    parser.add_argument("--kind", choices=("pseudo", "label"), help="only pseudo-labels or only label checks")
    parser.add_argument("--split", choices=("train", "test"), help="only tiles of this split")
    parser.add_argument("--criterion", help="only items chosen by this criterion (e.g. confident-salt)")
    parser.add_argument("--reason", choices=("confident salt", "confident empty", "disputed", "label check",
                                             "mosaic edge", "drawn by hand", "other"), metavar="REASON",
                        help="only items there for this reason: 'confident salt', 'confident empty', 'disputed', "
                             "'label check', 'mosaic edge', 'drawn by hand' or 'other'")
    for bound in ("min", "max"):
        for score in ("disagreement", "agreement"):
            parser.add_argument(f"--{bound}-{score}", type=fraction, metavar="F", help=f"{bound}imum {score}")
    parser.add_argument("--order", choices=("disagreement", "agreement", "tile", "recent"), default="disagreement",
                        help="sort order (default: most disagreement first)")
    parser.add_argument("--limit", type=int, metavar="N", help="show at most N items")
    parser.add_argument("--ids", action="store_true", help="print only the tile ids")
    parser.add_argument("--counts", action="store_true", help="print the number of items per kind and state")


def run(args):
    from ._review import open_review, print_lines

    dataset, _, store = open_review(args, create=False)
    with store:
        if args.counts:
            counts = store.counts(dataset)
            lines = [f"{kind:<6} " + "  ".join(f"{state} {n}" for state, n in states.items())
                     for kind, states in counts.items()]
            print_lines(lines + [f"revision {store.revision()}"])
            return 0
        state = {"all": None, "decided": ("accepted", "rejected", "corrected")}.get(args.state, args.state)
        items = store.items(dataset, state=state, kind=args.kind, split=args.split, criterion=args.criterion,
                            reason=args.reason,
                            min_disagreement=args.min_disagreement, max_disagreement=args.max_disagreement,
                            min_agreement=args.min_agreement, max_agreement=args.max_agreement, order=args.order,
                            limit=args.limit)
    if args.ids:
        print_lines(item.tile for item in items)
        return 0
    header = (f"# {'tile':<12} {'kind':<6} {'state':<9} {'why':<15} {'disagree':>8} {'agree':>6} {'cover':>6}  "
              f"{'criterion':<16} reason")
    rows = (f"{item.tile:<14} {item.kind:<6} {item.state:<9} {item.why:<15} {item.disagreement:>8.4f} "
            f"{item.agreement:>6.3f} {item.coverage:>6.3f}  {item.criterion:<16} {item.reason}" for item in items)
    print_lines([header, *rows])
    return 0
