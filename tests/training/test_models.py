"""U-Net construction: every encoder offline, padding and resizing, save/load."""

import keras
import numpy as np
import pytest

from saltviewer import SaltviewerError
from saltviewer.training.models import build_unet


@pytest.mark.parametrize("encoder", ["small", "resnet34", "resnet50", "xception"])
def test_every_encoder_builds_offline_and_maps_101_to_101(encoder):
    model = build_unet(encoder, encoder_weights="none")
    x = np.random.default_rng(0).random((2, 101, 101, 1)).astype("float32")
    logits = model.predict_on_batch(x)
    assert logits.shape == (2, 101, 101, 1) and np.all(np.isfinite(logits))


@pytest.mark.parametrize("options", [dict(resize_mode="resize", input_size=64), dict(hypercolumn=True, scse=False),
                                     dict(channels=3, width=8)])
def test_small_unet_options(options):
    model = build_unet("small", **options)
    x = np.random.default_rng(0).random((1, 101, 101, options.get("channels", 1))).astype("float32")
    assert model.predict_on_batch(x).shape == (1, 101, 101, 1)


def test_rgb_encoders_take_extra_channels():
    model = build_unet("resnet50", channels=2, input_size=64, resize_mode="resize")
    assert model.input_shape == (None, 101, 101, 2)
    assert model.get_layer("channels_to_rgb").output.shape[-1] == 3


def test_imagenet_weights_offline_give_one_clear_error():
    try:
        build_unet("resnet50", encoder_weights="imagenet", input_size=64, resize_mode="resize")
    except SaltviewerError as error:
        message = str(error)
        assert "--encoder-weights none" in message and "local weights file" in message
        assert "\n" not in message
    else:   # pragma: no cover - only where the weights can be downloaded or are cached
        pytest.skip("ImageNet weights were available here")


def test_encoder_weights_choices_are_checked(tmp_path):
    with pytest.raises(SaltviewerError, match="no ImageNet weights for the 'small'"):
        build_unet("small", encoder_weights="imagenet")
    with pytest.raises(SaltviewerError, match="existing weights file"):
        build_unet("small", encoder_weights=tmp_path / "missing.weights.h5")
    with pytest.raises(SaltviewerError, match="encoder must be one of small, resnet34"):
        build_unet("vgg16")


def test_local_encoder_weights_file_is_loaded(tmp_path):
    model = build_unet("small", width=4)
    encoder = model.get_layer("encoder")
    encoder.save_weights(tmp_path / "enc.weights.h5")
    other = build_unet("small", width=4, encoder_weights=tmp_path / "enc.weights.h5")
    for a, b in zip(encoder.get_weights(), other.get_layer("encoder").get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(SaltviewerError, match="could not load"):
        build_unet("small", width=8, encoder_weights=tmp_path / "enc.weights.h5")


def test_reflect_padding_mirrors_the_tile():
    from saltviewer.training.layers import ReflectPad2D

    x = np.arange(2 * 5 * 5, dtype="float32").reshape(1, 5, 5, 2)
    padded = keras.ops.convert_to_numpy(ReflectPad2D(((2, 1), (1, 2)))(x))
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (2, 1), (1, 2), (0, 0)), mode="reflect"))


def test_saved_model_predicts_the_same(tmp_path):
    model = build_unet("small", width=4, hypercolumn=True)
    x = np.random.default_rng(3).random((2, 101, 101, 1)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), rtol=1e-4, atol=1e-5)


def test_sigmoid_is_exact_enough_and_never_overflows():
    from saltviewer.training.tta import sigmoid

    z = np.concatenate([np.linspace(-30, 30, 10001), [-1e4, 1e4, 0.0]]).astype(np.float32)
    expected = 1 / (1 + np.exp(-z.astype(np.float64)))
    got = sigmoid(z)
    assert got.dtype == np.float32 and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, atol=2e-7)
    assert got[-3] == 0.0 and got[-2] == 1.0 and got[-1] == 0.5
