"""The JAX checks of the training tests, in one process (run by the `jax_checks` fixture).

Keras picks its backend once per process and XLA its device count, so the JAX checks run
apart from the TensorFlow tests; one process serves both files that read its answer
(``test_backend_jax.py``, ``test_distribute.py``) and pays JAX's start once.

Run as ``KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2
python jax_checks.py [--sample] [DATA FOLDER]``, with ``--sample`` making the test session's
synthetic sample (60 labelled and 20 test tiles, seed 7) in DATA first; prints one JSON line:

``toy``
    a two-layer model fitted on one device and data-parallel on two (weights replicated,
    the difference of the weights after the same steps, the distribution restored, and the
    errors of bad arguments);
``single`` (with DATA)
    `train_model` on JAX on one device (64-pixel inputs, a BCE + Dice and a Lovasz stage, one
    epoch each), then `predict_dataset`;
``parallel`` (with DATA)
    the same recipe and seed inside `data_parallel` over the two devices, and how far its
    weights and scores are from the single-device run's.

For each `train_model` run, ``fit_devices`` lists, per ``model.fit`` call, the numbers of
devices that hold the fitted model's weights (recorded by a wrapper around ``keras.Model.fit``).
"""

import json
import sys


def toy():
    import numpy as np

    import keras
    from saltviewer import SaltviewerError
    from saltviewer.training.distribute import data_parallel, device_count

    def make():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((16, 16, 1))
        x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(x))
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        return model

    rng = np.random.default_rng(0)
    x, y = rng.random((8, 16, 16, 1), np.float32), rng.random((8, 16, 16, 1), np.float32)
    single = make()
    single.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    with data_parallel(batch_size=8) as distribution:
        model = make()
        replicas = [len(v.value.sharding.device_set) for v in model.weights]
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        inside = keras.distribution.distribution() is distribution
    errors = []
    for kwargs in ({"batch_size": 9}, {"devices": 3}):
        try:
            with data_parallel(**kwargs):
                pass
        except SaltviewerError as error:
            errors.append(str(error))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(make().get_weights(), single.get_weights()))
    return {"devices": device_count(), "replicas": replicas, "inside": inside,
            "restored": keras.distribution.distribution() is None, "errors": errors, "moved": moved,
            "difference": max(float(np.abs(a - b).max()) for a, b in zip(single.get_weights(), model.get_weights()))}


def trained(data, workspace, parallel):
    import numpy as np

    import keras
    from saltviewer import Workspace, open_dataset
    from saltviewer.training import predict_dataset, train_model
    from saltviewer.training.distribute import data_parallel

    fitted = []
    plain_fit = keras.Model.fit

    def fit(self, *args, **kwargs):              # which devices hold the weights of what train_model fits
        fitted.append(sorted({len(v.value.sharding.device_set) for v in self.weights}))
        return plain_fit(self, *args, **kwargs)

    keras.Model.fit = fit
    try:
        # one model on 64-pixel inputs: XLA compiles each loss stage's step, slow on 2 CPU cores
        settings = dict(encoder="small", width=4, epochs=2, folds=1, batch_size=16, input_size=64,
                        resize_mode="resize", loss_schedule=[("bce_dice", 1), ("lovasz", 1)], swa_epochs=0,
                        tta=False, seed=1)
        if parallel:
            with data_parallel(batch_size=16):
                result = train_model(data, workspace, **settings)
        else:
            result = train_model(data, workspace, **settings)
    finally:
        keras.Model.fit = plain_fit
    answer = {"backend": keras.backend.backend(), "card_backend": result.card["keras_backend"],
              "version": result.version, "oof": result.card["oof_score"], "threshold": result.card["threshold"],
              "fit_devices": fitted, "stages": [d["loss_schedule"] for d in result.card["fold_details"]]}
    if not parallel:
        dataset = open_dataset(data)
        predict_dataset(dataset, workspace, [result.version], tta=False)
        maps = np.asarray(Workspace(workspace).open_predictions(result.version, dataset))
        answer.update(predicted=list(maps.shape), predicted_max=int(maps.max()))
    return answer, result.path / "fold0.keras"


def main(argv):
    import numpy as np

    import keras

    answer = {"toy": toy()}
    if argv[:1] == ["--sample"]:
        from saltviewer import make_sample

        argv = argv[1:]
        make_sample(argv[0], n_train=60, n_test=20, seed=7)
    if len(argv) > 1:
        data, folder = argv[0], argv[1]
        answer["single"], single = trained(data, f"{folder}/single", parallel=False)
        answer["parallel"], parallel = trained(data, f"{folder}/parallel", parallel=True)
        a = keras.saving.load_model(single, compile=False).get_weights()
        b = keras.saving.load_model(parallel, compile=False).get_weights()
        answer["parallel"]["weights_difference"] = max(float(np.abs(x - y).max()) for x, y in zip(a, b))
        answer["parallel"]["weights_scale"] = max(float(np.abs(x).max()) for x in a)
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
