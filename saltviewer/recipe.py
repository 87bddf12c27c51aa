"""The training recipe: every setting of a training run, with its defaults stated once.

The command line (`saltviewer train`), the Retrain dock and the demo all build a
`TrainingRecipe` and hand it to `saltviewer.training.train_model`; the version's card keeps
it (``card["recipe"]``), so a version says exactly how it was made.

Two presets:

`TrainingRecipe.from_scratch()`
    3 folds x 24 epochs, BCE + Dice then Lovasz hinge: the CPU recipe measured in
    ``benchmarks/bench_training_quality.py`` (out-of-fold 0.750 on the 3,200 TGS tiles in
    44 minutes on 2 CPU cores).
`TrainingRecipe.fine_tune()`
    A short turn of the curation loop from a parent version (``--base``): 4 epochs per
    fold at a lower peak learning rate on the parent's last loss (no restart of BCE + Dice),
    after a warm-up of half an epoch, with weight averaging over the last two epochs. An
    epoch is the fold's labelled training tiles, where the tiles reviewed since the parent
    (new labels) count twice, so the turn grows with what a person reviewed: each new label
    is seen 8 times, each older one 4 times. Pseudo-labels accepted unseen take at most a
    third of an epoch and weigh half a label, so the time does not grow with the pool
    (``benchmarks/bench_loop.py``).

Reviewed tiles (decided while shown: `saltviewer.store.provenance`) are labels in both
presets: they train at full weight and validate in their fold.

This module is core: it imports neither Keras nor Qt.
"""

import dataclasses
from dataclasses import dataclass

from ._errors import SaltviewerError

__all__ = ["TrainingRecipe", "EPOCH_TILES", "estimate_training_seconds", "Recommendation", "recommend_retrain",
           "SCRATCH_WHEN_LABELS_GROW"]

#: A retrain from scratch is recommended once the tiles reviewed since the parent add at least
#: this share to the labels the parent had (see `recommend_retrain`).
SCRATCH_WHEN_LABELS_GROW = 0.5

#: Rules for the number of tiles drawn per epoch (or a positive int).
EPOCH_TILES = ("labelled+pseudo", "labelled")


@dataclass(frozen=True)
class TrainingRecipe:
    """Every setting of a training run (see `saltviewer.training.train_model`).

    Parameters
    ----------
    encoder : str or None
        A name of `saltviewer.training.encoders.ENCODERS` (checked by training, where the
        encoders live); None: ``"small"``, or the parent's encoder when fine-tuning.
    folds : int
        k of k-fold cross-validation; every fold model is kept (the version is their
        ensemble). 1 trains one model with a stratified fifth held out.
    epochs : int
        Epochs per fold over all loss stages.
    loss_schedule : tuple of (str, int), optional
        ``(("bce_dice", 12), ("lovasz", 12))``; default: BCE + Dice for the first half of the
        epochs (rounded up), Lovasz for the rest.
    optimizer : {"nsgd", "adam"}
    max_lr : float, optional
        Peak learning rate of each cosine cycle (default 0.005 for nsgd, 0.001 for adam).
    min_lr_ratio : float
    swa_epochs : int, optional
        Average the weights of this many final epochs (default: a quarter of the last
        stage, at least 2, when it has 4 epochs or more; 0 disables).
    augment, tta : bool
    batch_size : int
    input_size : int, optional
        The encoder's input size (128 by default).
    resize_mode : {"pad", "resize"}
    width : int
        Base filters of the small encoder.
    hypercolumn, scse : bool
    channels : tuple of str
        Extra input channels from `saltviewer.features`.
    encoder_weights : str
        ``"none"``, ``"imagenet"`` or a local weights file.
    budget_minutes : float, optional
        Wall-time budget of the whole run.
    seed : int
    bn_batches : int, optional
    pseudo_fraction : float in [0, 1)
        The largest share of an epoch's tiles drawn from pseudo-labels: they help and never
        swamp the hand labels. With fewer pseudo-labels, all of them.
    epoch_tiles : {"labelled+pseudo", "labelled"} or int
        Tiles drawn per epoch: the fold's labelled training tiles plus the pseudo-labels the
        share allows; only as many as the labelled training tiles (pseudo-labels take
        `pseudo_fraction` of them, so the time of an epoch does not depend on the pool); or
        a number.
    context : bool or None
        Feed each tile in a window with its mosaic neighbours' pixels around it
        (`saltviewer.training.context`) instead of mirroring it out; None: as the parent
        version, else off.
    pseudo_weight : float in (0, 1]
        Weight of a pseudo-label's loss against a label's (pseudo-labels are tiles accepted
        unseen; reviewed tiles are labels and weigh 1).
    new_label_repeat : int
        How many times a labelled tile the parent did not train on (a tile reviewed since)
        is drawn per pass over the labels; 1 draws every label alike.
    continue_loss : bool
        With a parent: train the whole run on the parent's last loss (one cosine cycle)
        instead of `loss_schedule`.
    warmup_epochs : float, optional
        Linear warm-up of the learning rate over this many epochs at the start of the run;
        None: a tenth of the first stage (at most one epoch) from scratch, none from a parent.
    """

    encoder: str = None
    folds: int = 3
    epochs: int = 24
    loss_schedule: tuple = None
    optimizer: str = "nsgd"
    max_lr: float = None
    min_lr_ratio: float = 0.01
    swa_epochs: int = None
    augment: bool = True
    tta: bool = True
    batch_size: int = 32
    input_size: int = None
    resize_mode: str = "pad"
    width: int = 16
    hypercolumn: bool = False
    scse: bool = True
    channels: tuple = ()
    encoder_weights: str = "none"
    budget_minutes: float = None
    seed: int = 0
    bn_batches: int = None
    pseudo_fraction: float = 1 / 3
    epoch_tiles: object = "labelled+pseudo"
    context: bool = None
    pseudo_weight: float = 0.5
    new_label_repeat: int = 1
    continue_loss: bool = False
    warmup_epochs: float = None

    def __post_init__(self):
        # normalise the sequences so that a recipe read back from JSON compares equal
        if self.loss_schedule is not None:
            object.__setattr__(self, "loss_schedule", tuple((str(loss), int(n)) for loss, n in self.loss_schedule))
        object.__setattr__(self, "channels", tuple(self.channels or ()))

    # ------------------------------------------------------------------ presets
    @classmethod
    def from_scratch(cls, **changes):
        """The default recipe: 3 folds x 24 epochs from random weights."""
        return cls().replace(**changes)

    @classmethod
    def fine_tune(cls, parent=None, **changes):
        """A short turn of the loop from a parent version (see the module's notes).

        Parameters
        ----------
        parent : dict, optional
            The parent's card: the fine-tune keeps its number of folds (so that every tile
            stays in its fold and the two versions compare on the same tiles) and its
            architecture (encoder, input size and resize mode, width, decoder, channels).
        """
        base = cls(folds=3, epochs=4, max_lr=0.002, swa_epochs=2, epoch_tiles="labelled", continue_loss=True,
                   warmup_epochs=0.5, new_label_repeat=2)
        if parent:
            kept = {"folds": parent.get("folds"), "encoder": parent.get("encoder"),
                    "input_size": parent.get("input_size"), "resize_mode": parent.get("resize_mode"),
                    "width": parent.get("width"), "hypercolumn": parent.get("hypercolumn"),
                    "scse": parent.get("scse"), "channels": tuple(parent.get("channels") or ())}
            base = base.replace(**{k: v for k, v in kept.items() if v is not None})
        return base.replace(**changes)

    def replace(self, **changes):
        """A copy with some settings changed; an unknown name is an error that names it."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SaltviewerError(f"training recipe: unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}.")
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ checks
    def check(self):
        """Raise `SaltviewerError` naming the first setting that breaks its rule; return self."""
        def need(ok, name, rule):
            if not ok:
                raise SaltviewerError(f"{name} must be {rule}, got {getattr(self, name)!r}.")

        need(self.encoder is None or isinstance(self.encoder, str), "encoder", "an encoder's name")
        need(_is_int(self.folds) and self.folds >= 1, "folds", "an integer of at least 1")
        need(_is_int(self.epochs) and self.epochs >= 1, "epochs", "an integer of at least 1")
        if self.loss_schedule is not None:
            total = sum(n for _, n in self.loss_schedule)
            need(total == self.epochs and all(n >= 1 for _, n in self.loss_schedule), "loss_schedule",
                 f"stages of at least 1 epoch adding up to epochs ({self.epochs})")
            need(all(loss in ("bce_dice", "lovasz", "bce") for loss, _ in self.loss_schedule), "loss_schedule",
                 "stages named bce_dice, lovasz or bce")
        need(self.optimizer in ("nsgd", "adam"), "optimizer", "'nsgd' or 'adam'")
        need(self.max_lr is None or (_is_number(self.max_lr) and self.max_lr > 0), "max_lr", "a positive number")
        need(_is_number(self.min_lr_ratio) and 0 <= self.min_lr_ratio <= 1, "min_lr_ratio", "a number in [0, 1]")
        need(self.swa_epochs is None or (_is_int(self.swa_epochs) and self.swa_epochs >= 0), "swa_epochs",
             "an integer of at least 0")
        need(_is_int(self.batch_size) and self.batch_size >= 1, "batch_size", "an integer of at least 1")
        need(self.input_size is None or (_is_int(self.input_size) and self.input_size >= 16), "input_size",
             "an integer of at least 16")
        need(self.resize_mode in ("pad", "resize"), "resize_mode", "'pad' or 'resize'")
        need(_is_int(self.width) and self.width >= 1, "width", "an integer of at least 1")
        need(self.budget_minutes is None or (_is_number(self.budget_minutes) and self.budget_minutes > 0),
             "budget_minutes", "a positive number of minutes")
        need(_is_int(self.seed), "seed", "an integer")
        need(self.bn_batches is None or (_is_int(self.bn_batches) and self.bn_batches >= 1), "bn_batches",
             "an integer of at least 1")
        need(_is_number(self.pseudo_fraction) and 0 <= self.pseudo_fraction < 1, "pseudo_fraction",
             "a number in [0, 1)")
        need(self.epoch_tiles in EPOCH_TILES or (_is_int(self.epoch_tiles) and self.epoch_tiles >= 1), "epoch_tiles",
             f"one of {', '.join(EPOCH_TILES)} or a positive number of tiles")
        need(self.context is None or isinstance(self.context, bool), "context", "true or false")
        need(_is_number(self.pseudo_weight) and 0 < self.pseudo_weight <= 1, "pseudo_weight", "a number in (0, 1]")
        need(_is_int(self.new_label_repeat) and self.new_label_repeat >= 1, "new_label_repeat",
             "an integer of at least 1")
        need(isinstance(self.continue_loss, bool), "continue_loss", "true or false")
        need(self.warmup_epochs is None or (_is_number(self.warmup_epochs) and self.warmup_epochs >= 0),
             "warmup_epochs", "a number of epochs of at least 0")
        if self.context:
            need(self.resize_mode == "pad", "resize_mode", "'pad' with context (the window is cut, not resized)")
            need(not self.channels, "channels", "empty with context (feature channels have no context windows yet)")
        return self

    # ------------------------------------------------------------------ derived
    def schedule(self, parent_loss=None):
        """The loss schedule as a list of ``(loss, epochs)``.

        Parameters
        ----------
        parent_loss : str, optional
            The parent version's last loss: with `continue_loss`, the whole run trains on it.
        """
        if self.continue_loss and parent_loss:
            return [(str(parent_loss), self.epochs)]
        if self.loss_schedule is not None:
            return [tuple(stage) for stage in self.loss_schedule]
        lovasz = self.epochs // 2
        return [("bce_dice", self.epochs - lovasz)] + ([("lovasz", lovasz)] if lovasz else [])

    def peak_lr(self):
        return float(self.max_lr) if self.max_lr is not None else (0.005 if self.optimizer == "nsgd" else 0.001)

    def epoch_size(self, labelled, pseudo):
        """Tiles drawn per epoch, and how many of them are pseudo-labels.

        Parameters
        ----------
        labelled : int
            The fold's labelled training tiles.
        pseudo : int
            Pseudo-labelled tiles available.

        Returns
        -------
        total, from_pseudo : int

        Examples
        --------
        >>> TrainingRecipe().epoch_size(200, 1000)        # a third at most: 100 of 300
        (300, 100)
        >>> TrainingRecipe(epoch_tiles="labelled").epoch_size(200, 1000)
        (200, 67)
        >>> TrainingRecipe(epoch_tiles="labelled").epoch_size(200, 0)
        (200, 0)
        """
        f = float(self.pseudo_fraction)
        if self.epoch_tiles == "labelled+pseudo":
            share = int(round(labelled * f / (1 - f))) if f > 0 else 0
            from_pseudo = min(pseudo, share)
            return labelled + from_pseudo, from_pseudo
        total = labelled if self.epoch_tiles == "labelled" else int(self.epoch_tiles)
        from_pseudo = min(pseudo, int(round(total * f))) if labelled else min(pseudo, total)
        return total, from_pseudo

    def estimate_seconds(self, labelled, pseudo=0, *, new=0, train_speed, predict_speed):
        """Rough wall time of a run on this recipe (see `estimate_training_seconds`)."""
        return estimate_training_seconds(self, labelled, pseudo, new=new, train_speed=train_speed,
                                         predict_speed=predict_speed)

    def times_seen(self, new=False):
        """How many times a label is drawn in a run of one fold (a new one: `new_label_repeat` times
        as often), when an epoch is a pass over the labels.

        >>> TrainingRecipe.fine_tune().times_seen(), TrainingRecipe.fine_tune().times_seen(new=True)
        (4, 8)
        """
        return int(self.epochs) * (int(self.new_label_repeat) if new else 1)

    # ------------------------------------------------------------------ card
    def to_card(self):
        """A JSON-ready dict of every setting (and, under ``resolved``, the defaults they gave)."""
        card = dataclasses.asdict(self)
        if self.loss_schedule is not None:
            card["loss_schedule"] = [list(stage) for stage in self.loss_schedule]
        card["channels"] = list(self.channels)
        card["resolved"] = {"loss_schedule": [list(stage) for stage in self.schedule()], "max_lr": self.peak_lr()}
        return card

    @classmethod
    def from_card(cls, card):
        """The recipe kept in a version's card (``card["recipe"]``), or None for older cards."""
        recipe = card.get("recipe") if isinstance(card, dict) else None
        if not recipe:
            return None
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in recipe.items() if k in known})


def estimate_training_seconds(recipe, labelled, pseudo=0, *, new=0, train_speed, predict_speed):
    """Wall time of a training run: the tiles drawn over all folds and epochs at `train_speed`,
    the validation passes, BatchNorm pass and out-of-fold prediction at `predict_speed`, and a
    fixed start-up.

    Parameters
    ----------
    recipe : TrainingRecipe
    labelled : int
        Labelled tiles (all folds together), reviewed tiles included.
    pseudo : int
        Pseudo-labelled tiles available (accepted unseen).
    new : int
        Of the labelled tiles, those the parent did not train on (drawn `new_label_repeat`
        times per pass).
    train_speed, predict_speed : float
        Tiles per second at input size 128 (the encoder's `EncoderSpec` speeds, or what the
        workspace measured); scaled by the input size.

    Returns
    -------
    seconds : float

    Examples
    --------
    >>> round(estimate_training_seconds(TrainingRecipe.fine_tune(), 3200, 5000, train_speed=50, predict_speed=200) / 60)
    11
    """
    scale = (128 / int(recipe.input_size or 128)) ** 2
    train_speed, predict_speed = float(train_speed) * scale, float(predict_speed) * scale
    n_models = max(int(recipe.folds), 1)
    per_fold_labelled = labelled * (n_models - 1) / n_models if n_models > 1 else labelled * 0.8
    validation = labelled / n_models if n_models > 1 else labelled * 0.2
    share = (n_models - 1) / n_models if n_models > 1 else 0.8
    draws = per_fold_labelled + int(new) * share * (int(recipe.new_label_repeat) - 1)
    per_epoch, _ = recipe.epoch_size(int(round(draws)), int(pseudo))
    train = n_models * recipe.epochs * per_epoch / train_speed
    # per epoch a validation pass; per fold a BatchNorm pass over the training tiles and the OOF with TTA
    evaluate = n_models * (recipe.epochs * validation + per_fold_labelled + validation * (2 if recipe.tta else 1))
    return float(train + evaluate / predict_speed + 10 + 5 * n_models)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


@dataclass(frozen=True)
class Recommendation:
    """Which preset to retrain with, why, and what each choice would cost.

    Attributes
    ----------
    preset : {"fine-tune", "scratch"}
    reason : str
        One sentence for the person.
    minutes : dict of str to float
        Estimated minutes of each preset (``"fine-tune"`` is absent without a parent).
    new_reviewed : int
        Tiles reviewed since the parent (not among the labels it trained on).
    """

    preset: str
    reason: str
    minutes: dict
    new_reviewed: int


def recommend_retrain(labelled, reviewed, parent_card=None, *, pseudo=0, train_speed, predict_speed,
                      grow=SCRATCH_WHEN_LABELS_GROW):
    """Recommend a fine-tune of the parent or a retrain from scratch, from what is new.

    A fine-tune is the quick default: it starts from the parent and draws every label new
    since it twice per epoch. Once the tiles reviewed since the parent add `grow` (half) or
    more to the labels the parent trained on, the labels are a different set: a retrain from
    scratch sees each of them 24 times instead of 8 and splits its folds over all of them.

    Parameters
    ----------
    labelled : int
        The dataset's labelled tiles.
    reviewed : collection of str
        Ids of the tiles reviewed in the curation store (`MasksInForce.reviewed`, unlabelled).
    parent_card : dict, optional
        The version a fine-tune would start from.
    pseudo : int
        Pseudo-labels accepted unseen.
    train_speed, predict_speed : float
        Tiles per second (see `estimate_training_seconds`).

    Returns
    -------
    recommendation : Recommendation

    Examples
    --------
    >>> card = {"folds": 3, "ids_count": 500, "reviewed_labels": None, "encoder": "small"}
    >>> recommend_retrain(500, [f"t{i}" for i in range(40)], card, train_speed=50, predict_speed=200).preset
    'fine-tune'
    >>> recommend_retrain(500, [f"t{i}" for i in range(300)], card, train_speed=50, predict_speed=200).preset
    'scratch'
    """
    reviewed = set(reviewed)
    scratch = TrainingRecipe.from_scratch()
    minutes = {"scratch": scratch.estimate_seconds(labelled + len(reviewed), pseudo, train_speed=train_speed,
                                                   predict_speed=predict_speed) / 60}
    if not parent_card:
        return Recommendation("scratch", "There is no version to fine-tune yet: train one from scratch.", minutes,
                              len(reviewed))
    had = set(((parent_card.get("reviewed_labels") or {}).get("tiles") or {}))
    new = len(reviewed - had)
    parent_labels = int(parent_card.get("ids_count") or labelled) + len(had)
    tune = TrainingRecipe.fine_tune(parent_card)
    minutes["fine-tune"] = tune.estimate_seconds(labelled + len(reviewed), pseudo, new=new, train_speed=train_speed,
                                                 predict_speed=predict_speed) / 60
    share = new / max(parent_labels, 1)
    if share >= grow:
        reason = (f"{new:,} tiles reviewed since the parent add {share:.0%} to its {parent_labels:,} labels: "
                  f"retrain from scratch, so that every label is seen {scratch.times_seen()} times "
                  f"(a fine-tune sees the new ones {tune.times_seen(new=True)} times).")
        return Recommendation("scratch", reason, minutes, new)
    if new:
        reason = (f"{new:,} tiles reviewed since the parent ({share:.0%} of its {parent_labels:,} labels): a "
                  f"fine-tune takes them in quickly, each seen {tune.times_seen(new=True)} times; from scratch "
                  f"pays once they add {grow:.0%}.")
    else:
        reason = "Nothing reviewed since the parent: a fine-tune is the quick turn (pseudo-labels only)."
    return Recommendation("fine-tune", reason, minutes, new)
