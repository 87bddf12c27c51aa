"""The session's tiny trained version: its recipe, what the fixture returns, and a copy of it.

The fixtures are in ``conftest.py`` beside this file (`tiny_version`, `tiny_workspace`); test
modules import the helpers from here::

    from tiny_versions import copy_version, graph_mode, tiny_recipe
"""

import contextlib
import shutil
from dataclasses import dataclass

__all__ = ["tiny_recipe", "TinyVersion", "copy_version", "graph_mode"]


@contextlib.contextmanager
def graph_mode():
    """TensorFlow's functions traced into graphs inside this block, as outside the tests.

    The training tests run TensorFlow's functions eagerly (conftest.py beside this file): on
    models this small a step costs milliseconds, while tracing it into a graph costs seconds
    per fold and loss stage. The session's tiny version trains in graph mode, as every run does
    outside the tests, and so does a test about tracing. Nothing changes on another backend.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(False)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


def tiny_recipe(**changes):
    """The recipe of the session's tiny version, with `changes` (a `TrainingRecipe`).

    Small encoder of width 4, 64-pixel inputs (resized), 2 folds, batches of 16, seed 1; a
    BCE + Dice epoch, then two Lovasz epochs averaged by SWA (the whole recipe: loss stages,
    SWA and the BatchNorm pass all run).
    """
    from saltviewer.recipe import TrainingRecipe

    recipe = TrainingRecipe.from_scratch(encoder="small", width=4, batch_size=16, seed=1, input_size=64,
                                         resize_mode="resize", folds=2, epochs=3,
                                         loss_schedule=(("bce_dice", 1), ("lovasz", 2)), swa_epochs=2)
    return recipe.replace(**changes)


@dataclass
class TinyVersion:
    """A trained version and how it was made (see `tiny_version`)."""

    workspace: object          # saltviewer.Workspace (read-only)
    result: object             # saltviewer.training.TrainResult
    events: list               # the ProgressEvents of its training
    recipe: object             # the TrainingRecipe

    @property
    def version(self):
        return self.result.version

    @property
    def card(self):
        return self.result.card


def copy_version(tiny, folder, *, predictions=True):
    """A workspace at `folder` holding a copy of `tiny`'s version (its models, card, out-of-fold
    maps, and with `predictions` the maps predicted so far); returns the `saltviewer.Workspace`.
    """
    from saltviewer import Workspace

    ignore = None if predictions else shutil.ignore_patterns("predictions")
    shutil.copytree(tiny.workspace.path, folder, ignore=ignore)
    return Workspace(folder)
