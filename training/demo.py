"""The whole loop on a synthetic sample, in one call: data, an ensemble, predictions,
pseudo-labels, mosaics, and napari with the widgets docked on the result.

`run_demo` does the work that needs no window (Keras is imported inside, when training);
`saltviewer demo` then opens napari, or saves a screenshot of it when asked or when there is
no display. It lives in `saltviewer.training` because it trains: the core never imports
training.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import SaltviewerError
from ..recipe import TrainingRecipe

__all__ = ["run_demo", "DemoResult", "DEMO_RECIPE", "demo_recipe"]

#: Two small versions trained with different seeds and fold splits: an ensemble whose members
#: agree on most tiles and disagree on some, in about two minutes on two CPU cores. BCE + Dice
#: throughout: on 300 synthetic tiles a short Lovasz stage scored worse (out-of-fold 0.69 against
#: 0.83) and leaves probabilities near 0.5, where the agreement criterion finds no candidate.
DEMO_EPOCHS = 8
DEMO_RECIPE = tuple(TrainingRecipe.from_scratch(folds=2, epochs=DEMO_EPOCHS, width=8, seed=seed,
                                                 loss_schedule=(("bce_dice", DEMO_EPOCHS),)) for seed in (1, 2))


def demo_recipe(epochs=DEMO_EPOCHS):
    """`DEMO_RECIPE` with another number of epochs per fold."""
    return tuple(r.replace(epochs=epochs, loss_schedule=(("bce_dice", epochs),)) for r in DEMO_RECIPE)


@dataclass
class DemoResult:
    """What `run_demo` made."""

    data: Path
    workspace: Path
    versions: list
    scores: dict                      # version -> out-of-fold score
    proposed: list                    # lines of the pseudo-label report
    n_mosaics: int
    n_mosaic_tiles: int
    seconds: dict = field(default_factory=dict)


def _say(say, message):
    if say is not None:
        say(message)


def run_demo(out_dir, n_train=300, n_test=200, seed=0, recipe=DEMO_RECIPE, say=print):
    """Make the sample, train the ensemble, predict, propose pseudo-labels and find mosaics.

    Parameters
    ----------
    out_dir : str or Path
        ``out_dir/data`` receives the sample (reused when it is already there) and
        ``out_dir/workspace`` the models, predictions, store and mosaics. Versions already
        in the workspace are kept: a second run adds none when the recipe is complete.
    n_train, n_test, seed : int
        Size and seed of the sample.
    recipe : sequence of TrainingRecipe (or of dict of recipe settings)
        One per version: the from-scratch preset with the demo's changes (small models,
        BCE + Dice only: a short Lovasz stage left the demo's models no confident tiles).
    say : callable or None
        Receives one line per step.

    Returns
    -------
    result : DemoResult
    """
    from ..dataset import open_dataset
    from ..mosaic import build_mosaics, mosaics_folder, write_mosaics
    from ..pseudo import propose_pseudo_labels
    from ..sample import make_sample
    from ..workspace import Workspace

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SaltviewerError(f"--out {out_dir}: is a file; expected a folder for the demo.")
    data, workspace_path = out_dir / "data", out_dir / "workspace"
    seconds = {}
    started = time.perf_counter()
    if (data / "train").is_dir():
        _say(say, f"1/5 using the synthetic sample already in {data}")
    else:
        if data.exists() and any(data.iterdir()):
            raise SaltviewerError(f"--out {out_dir}: {data} holds files that are not a demo sample; "
                                  "choose another folder.")
        _say(say, f"1/5 making a synthetic sample: {n_train} labelled and {n_test} unlabelled tiles in {data}")
        make_sample(data, n_train=n_train, n_test=n_test, seed=seed)
    dataset = open_dataset(data)
    workspace = Workspace(workspace_path)
    dataset.use_cache(workspace)
    seconds["sample"] = round(time.perf_counter() - started, 1)

    from .fit import train_model
    from .predict import predict_dataset

    versions = workspace.versions()
    scores = {v: workspace.card(v).get("oof_score") for v in versions}
    for k, settings in enumerate(recipe[len(versions):], start=len(versions)):
        step = time.perf_counter()
        settings = settings if isinstance(settings, TrainingRecipe) else TrainingRecipe.from_scratch(**settings)
        _say(say, f"2/5 training model {k + 1} of {len(recipe)} ({settings.encoder or 'small'} encoder, "
                  f"{settings.folds} folds of {settings.epochs} epochs)")
        result = train_model(dataset, workspace, settings)
        versions.append(result.version)
        scores[result.version] = result.card.get("oof_score")
        _say(say, f"    {result.version}: out-of-fold score {result.card.get('oof_score', float('nan')):.3f} "
                  f"in {time.perf_counter() - step:.0f} s")
    seconds["train"] = round(time.perf_counter() - started - seconds["sample"], 1)

    step = time.perf_counter()
    missing = [v for v in versions if not workspace.has_predictions(v, dataset)]
    if missing:
        _say(say, f"3/5 predicting all {len(dataset)} tiles with {', '.join(missing)}")
        predict_dataset(dataset, workspace, missing)
    seconds["predict"] = round(time.perf_counter() - step, 1)

    step = time.perf_counter()
    _say(say, "4/5 proposing pseudo-labels where the ensemble agrees, and queueing where it does not")
    report = propose_pseudo_labels(workspace, dataset, versions, review=20)
    lines = report.lines()
    for line in lines:
        _say(say, f"    {line}")
    seconds["pseudo_labels"] = round(time.perf_counter() - step, 1)

    step = time.perf_counter()
    _say(say, "5/5 finding neighbouring tiles and assembling mosaics")
    mosaics = build_mosaics(dataset, images=dataset.images())
    write_mosaics(mosaics, mosaics_folder(workspace, dataset), labelled=dataset)
    n_tiles = sum(len(m) for m in mosaics)
    _say(say, f"    {len(mosaics)} mosaics covering {n_tiles} of {len(dataset)} tiles")
    from ..mosaic import queue_boundary_items, review_items

    edges = queue_boundary_items(workspace, dataset, review_items(mosaics, dataset.mask, limit=5))
    if edges:
        _say(say, f"    {edges} labelled tiles queued where salt stops dead at a mosaic edge")
    seconds["mosaics"] = round(time.perf_counter() - step, 1)
    seconds["total"] = round(time.perf_counter() - started, 1)
    return DemoResult(data, workspace_path, versions, scores, lines, len(mosaics), n_tiles, seconds)
