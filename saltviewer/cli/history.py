HELP = "show the curation history of a tile, or the latest changes in the store"
DESCRIPTION = ("Print the append-only history of a tile's curation item (proposals, decisions, undos, with who and "
               "when) with --tile ID, or the latest changes in the whole store.")


def add_arguments(parser):
    from ._review import add_store_arguments

    add_store_arguments(parser, user=False)
    parser.add_argument("--tile", "-t", metavar="ID", help="the tile whose history to show (default: the whole store)")
    parser.add_argument("--kind", choices=("pseudo", "label"),
                        help="item kind (default: label for a labelled tile, pseudo otherwise)")
    parser.add_argument("--last", type=int, default=20, metavar="N", help="without ID: the last N changes (default 20)")


def _line(event):
    what = event.action
    if event.action == "undo":
        what = f"undo of event {event.undoes}"
    elif event.redoes is not None:
        what = f"{event.action} (redo)"
    if event.how is not None:                 # how a decision was made: reviewed, or unseen in a batch
        what = f"{what} [{event.how}{'' if event.reviewed else ', unseen'}]"
    detail = event.detail
    extra = "; ".join(str(detail[k]) for k in ("reason", "batch", "source", "note") if detail.get(k))
    if event.action in ("propose", "repropose") and detail.get("models"):
        extra = f"{extra} [models {', '.join(detail['models'])}]"
    states = f"{event.state_before or '-'} -> {event.state_after}"
    return f"{event.id:>6}  {event.at}  {event.user:<12} {event.tile:<12} {what:<22} {states:<22} {extra}".rstrip()


def run(args):
    from ._review import open_review, print_lines

    dataset, _, store = open_review(args, create=False)
    with store:
        if args.tile:
            events = store.history(dataset, args.tile, kind=args.kind)
            if not events:
                print(f"{args.tile}: no item in the curation store")
                return 0
            item = store.item(dataset, args.tile, kind=args.kind)
            lines = [_line(e) for e in events] + [f"now: {item.state}"]
        else:
            since = max(0, store.revision() - max(args.last, 0))
            lines = [_line(e) for e in store.events(since=since)]
    print_lines(lines)
    return 0
