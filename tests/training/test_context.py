"""The context U-Net: a window in, the middle tile's logits out, trainable and saved like the others."""

import numpy as np
import pytest


@pytest.mark.parametrize("margin", [0, 13, 20])
def test_a_window_goes_in_and_the_tile_comes_out(margin, tmp_path):
    import keras

    from saltviewer.training.context import build_context_unet
    from saltviewer.training.losses import BCEDice

    model = build_context_unet(margin, width=4, levels=2)
    size = 101 + 2 * margin
    assert model.input_shape == (None, size, size, 1) and model.output_shape == (None, 101, 101, 1)
    rng = np.random.default_rng(0)
    windows = rng.random((4, size, size, 1)).astype("float32")
    masks = (windows[:, margin:margin + 101, margin:margin + 101] > 0.5).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=BCEDice())
    history = model.fit(windows, masks, epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    path = tmp_path / "context.keras"
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(windows, verbose=0), model.predict(windows, verbose=0), atol=1e-5)
