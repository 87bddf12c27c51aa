"""Keras 3 U-Nets for salt segmentation: build, train (k-fold, versioned), predict.

Imported as ``saltviewer.training``. Names are loaded lazily, so ``import
saltviewer.training`` does not import Keras until a model-related name is used.

Public API
----------
train_model(data, workspace, *, encoder, epochs, folds, ...) -> TrainResult
    Train a k-fold ensemble and write it as one new model version.
predict_dataset(data, workspace, versions, *, split, tta, ...) -> dict of version to Path
    Write probability maps of versions for a dataset.
write_ensemble_submission(data, workspace, versions, path, ...) -> SubmissionInfo
    A competition CSV from one version or the average of several.
build_unet(encoder, ...) -> keras.Model
TrainingCancelled, TrainResult, ProgressEvent
BCEDice, LovaszHinge, NormalizedSGD, CosineRestarts, SWA, recompute_batchnorm, ...
run_demo(out_dir, ...) -> DemoResult
    The whole loop on a synthetic sample (what ``saltviewer demo`` runs).
"""

import importlib

_EXPORTS = {
    "train_model": "fit", "TrainResult": "fit", "TrainingCancelled": "fit", "default_loss_schedule": "fit",
    "predict_dataset": "predict", "load_version_models": "predict", "write_ensemble_submission": "predict",
    "SubmissionInfo": "predict", "ensemble_threshold": "predict",
    "build_unet": "models", "ENCODERS": "encoders", "build_encoder": "encoders",
    "BCEDice": "losses", "LovaszHinge": "losses", "get_loss": "losses",
    "NormalizedSGD": "optimizers", "CosineRestarts": "optimizers",
    "SWA": "callbacks", "BestWeights": "callbacks", "ValidationScore": "callbacks", "TrainingControl": "callbacks",
    "ProgressReporter": "callbacks", "ProgressEvent": "callbacks", "recompute_batchnorm": "callbacks",
    "TileBatches": "data", "augment": "data", "as_inputs": "data",
    "stratified_folds": "folds", "coverage_classes": "folds",
    "predict_probabilities": "tta", "predict_logits": "tta",
    "ReflectPad2D": "layers", "SCSE": "layers",
    "run_demo": "demo", "DemoResult": "demo", "DEMO_RECIPE": "demo", "demo_recipe": "demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
