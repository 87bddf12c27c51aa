HELP = "accept, reject or correct curation items, accept all above an agreement level, or undo"
DESCRIPTION = (
    "Record review decisions in the curation store. 'accept ID...' puts the proposed masks in force, "
    "'reject ID...' turns proposals down, 'correct ID --mask FILE.png' puts a drawn mask in force (any unlabelled "
    "tile, proposed or not), 'accept-all --min-agreement F' accepts every proposed item whose ensemble agreement "
    "(mean pairwise IoU) is at least F as one batch, 'undo [ID]' takes back the last decision (of that tile, or "
    "the last in the store; a batch as a whole). Every change is appended to the history with your name.")


def add_arguments(parser):
    from pathlib import Path

    from ._review import add_store_arguments, fraction

    add_store_arguments(parser)
    parser.add_argument("action", choices=("accept", "reject", "correct", "accept-all", "undo"), metavar="ACTION",
                        help="accept, reject, correct, accept-all or undo")
    parser.add_argument("ids", nargs="*", metavar="ID", help="tile ids")
    parser.add_argument("--kind", choices=("pseudo", "label"),
                        help="item kind (default: label checks for labelled tiles, pseudo-labels otherwise; "
                             "accept-all: pseudo)")
    parser.add_argument("--mask", type=Path, metavar="FILE.png", help="correct: the drawn mask (101x101 PNG)")
    parser.add_argument("--min-agreement", type=fraction, metavar="F", help="accept-all: least agreement")
    parser.add_argument("--criterion", help="accept-all: only items chosen by this criterion")
    parser.add_argument("--note", help="a note stored with the decision")


def run(args):
    from .._errors import SaltviewerError
    from ._review import open_review

    action = args.action
    if action in ("accept", "reject", "correct") and not args.ids:
        raise SaltviewerError(f"{action}: give at least one tile id.")
    if action == "correct" and (args.mask is None or len(args.ids) != 1):
        raise SaltviewerError("correct: give exactly one tile id and --mask FILE.png.")
    if action == "accept-all" and (args.min_agreement is None or args.ids):
        raise SaltviewerError("accept-all: give --min-agreement F and no tile ids.")
    if action == "undo" and len(args.ids) > 1:
        raise SaltviewerError("undo: give at most one tile id (none: the last decision in the store).")
    mask = None
    if action == "correct":
        from ..tiles import read_mask

        mask = read_mask(args.mask)
    dataset, _, store = open_review(args, create=action == "correct")
    with store:
        if action == "accept-all":
            tiles = store.accept_all(dataset, args.min_agreement, kind=args.kind or "pseudo", criterion=args.criterion,
                                     note=args.note)
            print(f"accepted {len(tiles)} items with agreement >= {args.min_agreement:g} (one batch; "
                  "`saltviewer decide ... undo` takes it back)")
        elif action == "undo":
            items = store.undo(dataset, args.ids[0] if args.ids else None, kind=args.kind)
            if not items:
                print("nothing to undo")
            for item in items[:10]:
                print(f"undone: {item.tile} is {item.state} again")
            if len(items) > 10:
                print(f"... and {len(items) - 10} more decisions of the same batch undone")
        else:
            for tile in args.ids:
                if action == "correct":
                    item = store.correct(dataset, tile, mask, kind=args.kind, note=args.note)
                else:
                    item = getattr(store, action)(dataset, tile, kind=args.kind, note=args.note)
                print(f"{item.tile}: {item.state}")
        print(f"revision {store.revision()}")
    return 0
