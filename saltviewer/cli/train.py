HELP = "train a k-fold U-Net ensemble on the labelled tiles and save it as a new model version"
DESCRIPTION = ("Train one model per fold (stratified by salt coverage) with BCE + Dice then Lovasz, "
               "normalized-gradient SGD with cosine restarts, SWA and flip TTA; tune the threshold and "
               "minimum salt area on the out-of-fold predictions; write everything as a new version "
               "models/vNNNN in the workspace. Prints the version and its out-of-fold score.")


def add_arguments(parser):
    from ._common import add_data_argument, add_workspace_argument

    add_data_argument(parser)
    add_workspace_argument(parser)
    parser.add_argument("--encoder", default=None, choices=["small", "resnet34", "resnet50", "xception"],
                        help="encoder (default small, or the --base version's)")
    parser.add_argument("--folds", type=int, default=3, metavar="K", help="k-fold cross-validation (default 3)")
    parser.add_argument("--epochs", type=int, default=24, metavar="N",
                        help="epochs per fold (default 24; with --budget, fewer when time runs short)")
    parser.add_argument("--encoder-weights", default="none", metavar="W",
                        help="none (default), imagenet (needs the network), or a local weights file")
    parser.add_argument("--pseudo-labels", default=None, choices=["accepted"],
                        help="also train on the accepted and corrected pseudo-labels of the curation store, and use "
                             "the training masks that review corrected in place of the originals")
    parser.add_argument("--budget", type=float, default=None, metavar="MINUTES",
                        help="stop cleanly when the time runs out, keeping the best weights so far")
    parser.add_argument("--channels", nargs="+", default=(), metavar="NAME",
                        help="extra input channels from saltviewer.features")
    parser.add_argument("--base", default=None, metavar="VERSION", help="start from this version's weights")
    parser.add_argument("--batch-size", type=int, default=32, help="tiles per training batch (default 32)")
    parser.add_argument("--optimizer", default="nsgd", choices=["nsgd", "adam"],
                        help="normalised-gradient SGD (default) or Adam")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate of each cosine cycle")
    parser.add_argument("--input-size", type=int, default=None, help="encoder input size (default 128)")
    parser.add_argument("--resize-mode", default="pad", choices=["pad", "resize"],
                        help="fit 101x101 tiles to the input size by padding (default) or resizing")
    parser.add_argument("--width", type=int, default=16, help="base filters of the small encoder")
    parser.add_argument("--hypercolumn", action="store_true", help="hypercolumn decoder head")
    parser.add_argument("--no-tta", dest="tta", action="store_false", help="no flip TTA for the OOF maps")
    parser.add_argument("--seed", type=int, default=0, help="seed of folds, augmentation and weights (default 0)")


class _Progress:
    """Drives a tqdm bar per fold and prints a line per epoch."""

    def __init__(self):
        self.bar = None
        self.key = None

    def __call__(self, event):
        import sys

        from ._common import progress_bar

        if event.kind == "batch":
            key = (event.fold, event.epoch)
            if key != self.key:
                self.close()
                self.key = key
                self.bar = progress_bar(f"fold {event.fold + 1}/{event.n_folds} epoch {event.epoch + 1}/{event.n_epochs}",
                                        event.n_batches)
                self.bar.unit = "batch"
            self.bar.update(1)
            if "loss" in event.logs:
                self.bar.set_postfix(loss=f"{event.logs['loss']:.4f}", refresh=False)
        elif event.kind == "epoch":
            self.close()
            logs = event.logs
            extra = "".join(f"  {k} {logs[k]:.4f}" for k in ("loss", "val_loss", "val_score") if k in logs)
            print(f"fold {event.fold + 1}/{event.n_folds} epoch {event.epoch + 1}/{event.n_epochs}{extra}",
                  file=sys.stderr, flush=True)
        elif event.kind == "phase":
            self.close()
            print(event.message, file=sys.stderr, flush=True)
        elif event.kind == "fold":
            score = event.logs.get("val_score")
            print(f"fold {event.fold + 1}/{event.n_folds}: validation score "
                  f"{'n/a' if score is None else f'{score:.4f}'}", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.key = None


def run(args):
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ..training import train_model

    progress = _Progress()
    try:
        result = train_model(args.data, args.workspace, encoder=args.encoder, epochs=args.epochs, folds=args.folds,
                             encoder_weights=args.encoder_weights, pseudo_labels=args.pseudo_labels,
                             base_version=args.base, channels=tuple(args.channels), budget_minutes=args.budget,
                             seed=args.seed, on_progress=progress, batch_size=args.batch_size,
                             optimizer=args.optimizer, max_lr=args.lr, input_size=args.input_size,
                             resize_mode=args.resize_mode, width=args.width, hypercolumn=args.hypercolumn,
                             tta=args.tta)
    finally:
        progress.close()
    card = result.card
    print(f"version: {result.version}")
    print(f"encoder: {card['encoder']}  folds: {card['folds']}  epochs: {card['epochs']}"
          f"{'  (cut by the time budget)' if card['cut_by_budget'] else ''}")
    print(f"threshold: {card['threshold']}  min area: {card['min_area']}")
    print(f"oof score: {card['oof_score']:.4f}")
    return 0
