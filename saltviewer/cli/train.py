HELP = "train a k-fold U-Net ensemble on the labelled tiles (or fine-tune one) and save it as a new model version"
DESCRIPTION = ("Train one model per fold (stratified by salt coverage) with BCE + Dice then Lovasz, "
               "normalized-gradient SGD with cosine restarts, SWA and flip TTA; tune the threshold and "
               "minimum salt area on the out-of-fold predictions; write everything as a new version "
               "models/vNNNN in the workspace. With --base, a short fine-tune from that version (the "
               "'fine-tune' recipe: 4 epochs per fold, each as long as the labelled tiles, a third of them "
               "pseudo-labels when --pseudo-labels accepted), keeping its folds so the two compare on the same "
               "tiles. Prints the version, its out-of-fold score and its parent's on the same tiles.")

#: Command-line flag of each recipe setting (a library error names the setting; the CLI adds the flag).
FLAGS = {"encoder": "--encoder", "folds": "--folds", "epochs": "--epochs", "encoder_weights": "--encoder-weights",
         "budget_minutes": "--budget", "channels": "--channels", "batch_size": "--batch-size",
         "optimizer": "--optimizer", "max_lr": "--lr", "input_size": "--input-size", "resize_mode": "--resize-mode",
         "context": "--context",
         "width": "--width", "hypercolumn": "--hypercolumn", "tta": "--no-tta", "seed": "--seed",
         "pseudo_fraction": "--pseudo-fraction", "epoch_tiles": "--epoch-tiles", "swa_epochs": "--swa-epochs",
         "loss_schedule": "--epochs"}


def _epoch_tiles(text):
    from ..recipe import EPOCH_TILES

    if text in EPOCH_TILES:
        return text
    try:
        return int(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"expected {' or '.join(EPOCH_TILES)} or a number of tiles, got {text!r}")


def add_arguments(parser):
    import argparse

    from ..training.encoders import ENCODERS      # no Keras: the encoders' table only
    from ._common import add_data_argument, add_workspace_argument

    add_data_argument(parser)
    add_workspace_argument(parser)
    parser.add_argument("--recipe", choices=["scratch", "fine-tune"], default=None,
                        help="the preset the options below change: 'scratch' (3 folds x 24 epochs; the default) or "
                             "'fine-tune' (the default with --base: 4 short epochs per fold from the parent)")
    parser.add_argument("--base", default=None, metavar="VERSION",
                        help="start from this version's weights ('latest' for the newest); keeps its folds")
    parser.add_argument("--pseudo-labels", default=None, choices=["accepted"],
                        help="also train on the accepted and corrected pseudo-labels of the curation store, and use "
                             "the training masks that review corrected in place of the originals")
    recipe = parser.add_argument_group("recipe settings (default: the preset's)")
    recipe.add_argument("--encoder", default=None, choices=list(ENCODERS),
                        help="encoder (default small, or the --base version's)")
    recipe.add_argument("--folds", type=int, default=None, metavar="K", help="k-fold cross-validation (default 3)")
    recipe.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="epochs per fold (scratch 24, fine-tune 4; with --budget, fewer when time runs short)")
    recipe.add_argument("--pseudo-fraction", type=float, default=None, metavar="F",
                        help="largest share of an epoch's tiles drawn from pseudo-labels (default 0.33)")
    recipe.add_argument("--epoch-tiles", type=_epoch_tiles, default=None, metavar="RULE",
                        help="tiles per epoch: labelled+pseudo (scratch), labelled (fine-tune: the time does not "
                             "grow with the pseudo-labels) or a number")
    recipe.add_argument("--encoder-weights", default=None, metavar="W",
                        help="none (default), imagenet (needs the network), or a local weights file")
    recipe.add_argument("--budget", type=float, default=None, metavar="MINUTES",
                        help="stop cleanly when the time runs out, keeping the best weights so far")
    recipe.add_argument("--channels", nargs="+", default=None, metavar="NAME",
                        help="extra input channels from saltviewer.features")
    recipe.add_argument("--batch-size", type=int, default=None, help="tiles per training batch (default 32)")
    recipe.add_argument("--optimizer", default=None, choices=["nsgd", "adam"],
                        help="normalised-gradient SGD (default) or Adam")
    recipe.add_argument("--lr", type=float, default=None,
                        help="peak learning rate of each cosine cycle (scratch 0.005, fine-tune 0.002)")
    recipe.add_argument("--swa-epochs", type=int, default=None, metavar="N",
                        help="average the weights of the last N epochs (0: none)")
    recipe.add_argument("--input-size", type=int, default=None, help="encoder input size (default 128)")
    recipe.add_argument("--resize-mode", default=None, choices=["pad", "resize"],
                        help="fit 101x101 tiles to the input size by padding (default) or resizing")
    recipe.add_argument("--context", action=argparse.BooleanOptionalAction, default=None,
                        help="feed each tile with its mosaic neighbours' pixels around it instead of mirroring it "
                             "(the workspace's mosaics, assembled first if there are none; default: as the base "
                             "version, else off)")
    recipe.add_argument("--width", type=int, default=None, help="base filters of the small encoder (default 16)")
    recipe.add_argument("--hypercolumn", action="store_true", default=None, help="hypercolumn decoder head")
    recipe.add_argument("--no-tta", dest="tta", action="store_false", default=None,
                        help="no flip TTA for the OOF maps")
    recipe.add_argument("--seed", type=int, default=None, help="seed of folds, augmentation and weights (default 0)")


def build_recipe(args, parent=None):
    """The `TrainingRecipe` the arguments ask for: the preset (a fine-tune keeps the `parent`
    card's folds), changed by the options given."""
    from .._errors import SaltviewerError
    from ..recipe import TrainingRecipe

    preset = args.recipe or ("fine-tune" if args.base else "scratch")
    recipe = TrainingRecipe.fine_tune(parent) if preset == "fine-tune" else TrainingRecipe.from_scratch()
    given = {"encoder": args.encoder, "folds": args.folds, "epochs": args.epochs,
             "pseudo_fraction": args.pseudo_fraction, "epoch_tiles": args.epoch_tiles,
             "encoder_weights": args.encoder_weights, "budget_minutes": args.budget,
             "channels": tuple(args.channels) if args.channels is not None else None,
             "batch_size": args.batch_size, "optimizer": args.optimizer, "max_lr": args.lr,
             "swa_epochs": args.swa_epochs, "input_size": args.input_size, "resize_mode": args.resize_mode,
             "width": args.width, "hypercolumn": args.hypercolumn, "tta": args.tta, "seed": args.seed,
             "context": args.context}
    try:
        return recipe.replace(**{k: v for k, v in given.items() if v is not None}).check(), preset
    except SaltviewerError as error:
        name = str(error).split(" ", 1)[0]
        raise SaltviewerError(f"{FLAGS[name]}: {error}" if name in FLAGS else str(error)) from None


class _Progress:
    """Drives a tqdm bar per fold and prints a line per epoch."""

    def __init__(self):
        self.bar = None
        self.key = None

    def __call__(self, event):
        from ._common import log, progress_bar

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
            log.info("fold %d/%d epoch %d/%d%s", event.fold + 1, event.n_folds, event.epoch + 1, event.n_epochs, extra)
        elif event.kind == "phase":
            self.close()
            log.info("%s", event.message)
        elif event.kind == "fold":
            score = event.logs.get("val_score")
            log.info("fold %d/%d: validation score %s", event.fold + 1, event.n_folds,
                     "n/a" if score is None else f"{score:.4f}")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.key = None


def run(args):
    import os

    from ..workspace import as_workspace

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    workspace = as_workspace(args.workspace)
    base = args.base
    if base == "latest":
        base = workspace.resolve_models(["latest"])[0]
    recipe, preset = build_recipe(args, workspace.card(base) if base else None)
    from ..training import train_model

    progress = _Progress()
    try:
        result = train_model(args.data, workspace, recipe, pseudo_labels=args.pseudo_labels, base_version=base,
                             on_progress=progress)
    finally:
        progress.close()
    for line in summary_lines(result.card):
        print(line)
    return 0


#: Below this many tiles per fold and epoch, a run from scratch says that more draws paid off in
#: bench_loop (500 labels: 333 per fold by default; 1,000 scored +0.062 [0.053, 0.071], 3 seeds).
FEW_EPOCH_TILES = 1000


def summary_lines(card):
    """What a finished training run prints: version, recipe, data used, scores."""
    recipe = card.get("recipe") or {}
    stages = ", ".join(f"{loss} {n}" for loss, n in (recipe.get("resolved") or {}).get("loss_schedule", []))
    lines = [f"version: {card['version']}" + (f" (fine-tuned from {card['parent']})" if card.get("parent") else ""),
             f"recipe: {card['folds']} folds x {card['epochs']} epochs ({stages}), epoch tiles "
             f"{recipe.get('epoch_tiles', 'labelled+pseudo')}, pseudo-labels at most "
             f"{recipe.get('pseudo_fraction', 0):.0%} of an epoch",
             f"encoder: {card['encoder']}  folds: {card['folds']}  epochs: {card['epochs']}"
             f"{'  (cut by the time budget)' if card['cut_by_budget'] else ''}  "
             f"time: {card['timings']['total_s'] / 60:.1f} min"]
    pseudo = card.get("pseudo_labels") or {}
    reviewed = card.get("reviewed_labels") or {}
    corrections = (card.get("label_corrections") or {}).get("count", 0)
    lines.append(f"trained on: {card['ids_count']} labelled tiles, {reviewed.get('count', 0)} reviewed tiles as "
                 f"labels, {pseudo.get('count', 0)} unreviewed pseudo-labels, {corrections} corrected training masks")
    if reviewed:
        lines.append(f"reviewed tiles joined the labels: {reviewed['count']} (in their folds, full weight; "
                     f"{reviewed.get('new', 0)} new since the parent, each seen {reviewed.get('new_times_seen')} "
                     f"times, the others {reviewed.get('times_seen')})")
    if pseudo:
        lines.append(f"unreviewed pseudo-labels (accepted unseen): {pseudo['count']}, weight "
                     f"{pseudo.get('weight', 1):g}, at most {recipe.get('pseudo_fraction', 0):.0%} of an epoch")
    context = card.get("context")
    if context:
        lines.append(f"context: each tile with {context['margin']} pixels of its mosaic neighbours around it "
                     f"({context['labelled_tiles_placed']} of the labelled tiles placed in "
                     f"{context['mosaics']} mosaics; the others mirrored)")
    lines.append(f"threshold: {card['threshold']}  min area: {card['min_area']}")
    lines.append(f"oof score: {card['oof_score']:.4f}")
    drawn = [fold.get("epoch_tiles") for fold in card.get("fold_details") or []]
    if (not card.get("parent") and not isinstance(recipe.get("epoch_tiles"), int) and drawn
            and all(isinstance(n, int) for n in drawn) and max(drawn) < FEW_EPOCH_TILES):
        lines.append(f"few labels: each fold's epoch drew {max(drawn)} tiles; on 500 TGS labels, "
                     f"--epoch-tiles {FEW_EPOCH_TILES} (3x the steps) scored +0.06 on held-out tiles "
                     f"(docs/benchmarks.md, the curation loop)")
    parent = card.get("parent_oof_score")
    if parent:
        mine = parent.get("version_score", card["oof_score"])
        lines.append(f"parent {card['parent']} on the same {parent['tiles']} tiles: {parent['score']:.4f}, "
                     f"this version {mine:.4f} ({mine - parent['score']:+.4f})")
    return lines
