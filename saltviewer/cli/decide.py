HELP = "accept, reject or correct curation items, accept all above an agreement level, undo or redo"
DESCRIPTION = (
    "Record review decisions in the curation store. 'accept ID...' puts the proposed masks in force (a disputed "
    "proposal, where the models disagree, is refused: correct it), 'reject ID...' turns proposals down, "
    "'correct ID --mask FILE.png' puts a drawn mask in force (any unlabelled tile, proposed or not), 'correct ID "
    "--from-model vNNNN' puts that model version's mask in force, 'accept-all --min-agreement F' accepts every "
    "confident proposed pseudo-label whose ensemble agreement (mean pairwise IoU) is at least F as one batch "
    "(disputed tiles and label checks never), 'undo [ID]' takes back your own last decision (of that tile, or your "
    "last in the store; a batch as a whole) and 'redo' makes your last undone decisions again. --any undoes or "
    "redoes someone else's. Every change is appended to the history with your name (--user, default the login "
    "name).")


def add_arguments(parser):
    from pathlib import Path

    from ._review import add_store_arguments, fraction

    add_store_arguments(parser)
    parser.add_argument("action", choices=("accept", "reject", "correct", "accept-all", "undo", "redo"),
                        metavar="ACTION", help="accept, reject, correct, accept-all, undo or redo")
    parser.add_argument("ids", nargs="*", metavar="ID", help="tile ids")
    parser.add_argument("--kind", choices=("pseudo", "label"),
                        help="item kind (default: label checks for labelled tiles, pseudo-labels otherwise; "
                             "accept-all: pseudo)")
    parser.add_argument("--mask", type=Path, metavar="FILE.png", help="correct: the drawn mask (101x101 PNG)")
    parser.add_argument("--from-model", metavar="VERSION",
                        help="correct: put this model version's mask in force (e.g. for a disputed tile)")
    parser.add_argument("--min-agreement", type=fraction, metavar="F", help="accept-all: least agreement")
    parser.add_argument("--criterion", help="accept-all: only items chosen by this criterion")
    parser.add_argument("--any", action="store_true",
                        help="undo/redo: the last decision in the store whoever made it (default: your own)")
    parser.add_argument("--note", help="a note stored with the decision")


def _check(args):
    from .._errors import SaltviewerError

    action = args.action
    if action in ("accept", "reject", "correct") and not args.ids:
        raise SaltviewerError(f"{action}: give at least one tile id.")
    if action == "correct" and (len(args.ids) != 1 or (args.mask is None) == (args.from_model is None)):
        raise SaltviewerError("correct: give exactly one tile id and either --mask FILE.png or --from-model VERSION.")
    if action != "correct" and (args.mask is not None or args.from_model is not None):
        raise SaltviewerError(f"{action}: --mask and --from-model go with correct only.")
    if action == "accept-all" and (args.min_agreement is None or args.ids):
        raise SaltviewerError("accept-all: give --min-agreement F and no tile ids.")
    if action == "undo" and len(args.ids) > 1:
        raise SaltviewerError("undo: give at most one tile id (none: your last decision in the store).")
    if action == "redo" and args.ids:
        raise SaltviewerError("redo: takes no tile id (it makes your last undone decisions again).")
    if args.any and action not in ("undo", "redo"):
        raise SaltviewerError(f"{action}: --any goes with undo and redo only.")


def _model_mask(workspace, dataset, version, tile):
    from ..ensemble import Ensemble

    with Ensemble(workspace, dataset, [version]) as ensemble:
        return ensemble.tile(tile).member_masks[0], ensemble.versions[0]


def run(args):
    from ._review import open_review, print_lines

    _check(args)
    action = args.action
    mask = None
    if action == "correct" and args.mask is not None:
        from ..tiles import read_mask

        mask = read_mask(args.mask)
    dataset, workspace, store = open_review(args, create=action == "correct")
    lines = []
    with store:
        if action == "accept-all":
            tiles = store.accept_all(dataset, args.min_agreement, kind=args.kind or "pseudo", criterion=args.criterion,
                                     note=args.note)
            lines.append(f"accepted {len(tiles)} items with agreement >= {args.min_agreement:g} (one batch; "
                         "`saltviewer decide ... undo` takes it back)")
        elif action in ("undo", "redo"):
            lines.extend(_undo_or_redo(args, dataset, store))
        elif action == "correct":
            source = None
            if args.from_model is not None:
                mask, source = _model_mask(workspace, dataset, args.from_model, args.ids[0])
            item = store.correct(dataset, args.ids[0], mask, kind=args.kind, note=args.note, source=source)
            lines.append(f"{item.tile}: {item.state}" + (f" (the mask of {source})" if source else ""))
        else:
            for tile in args.ids:
                item = getattr(store, action)(dataset, tile, kind=args.kind, note=args.note)
                lines.append(f"{item.tile}: {item.state}")
        lines.append(f"revision {store.revision()}")
    print_lines(lines)
    return 0


def _undo_or_redo(args, dataset, store):
    """Lines saying what was undone or redone, and whose."""
    if args.action == "undo":
        plan = store.undo_plan(dataset, args.ids[0] if args.ids else None, kind=args.kind, any=args.any)
    else:
        plan = store.redo_plan(any=args.any)
    if not plan:
        line = f"nothing of {store.user}'s to {args.action}" if not args.any else f"nothing to {args.action}"
        if plan.others:
            line += (f" ({plan.others} decision{'s' if plan.others != 1 else ''} by others are in force; "
                     "--any takes back the last of them)")
        return [line]
    lines = [plan.describe()]
    items = store.undo(plan=plan) if args.action == "undo" else store.redo(plan=plan)
    for item in items[:10]:
        lines.append(f"{args.action}ne: {item.tile} is {item.state} again")
    if len(items) > 10:
        lines.append(f"... and {len(items) - 10} more decisions of the same batch")
    return lines
