"""Models that see a tile with its neighbours around it: a context window in, the tile's mask out.

`saltviewer.mosaic.context_windows` cuts a window of ``101 + 2 * margin`` pixels around each
tile (its placed neighbours' pixels, mirrored where none); `build_context_unet` predicts the
middle tile's logits from it. The same network fed mirror-padded tiles is the comparison
without context (benchmarks/bench_context.py), so the two differ in what fills the margin only.
"""

import keras
from keras import layers

from .layers import ReflectPad2D

__all__ = ["build_context_unet"]

TILE = 101


def _block(x, filters, name):
    for k in range(2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{k}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{k}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{k}")(x)
    return x


def build_context_unet(margin, *, width=8, levels=3, name="context_unet"):
    """A small U-Net from a context window to the logits of the tile in its middle.

    Parameters
    ----------
    margin : int
        Pixels of context on each side of the tile (the window is ``101 + 2 margin``).
    width : int
        Filters of the first scale (doubled at each scale below).
    levels : int
        Scales below full resolution.

    Returns
    -------
    model : keras.Model
        ``(batch, 101 + 2 margin, 101 + 2 margin, 1)`` -> logits ``(batch, 101, 101, 1)``.
    """
    size = TILE + 2 * margin
    step = 2 ** levels
    padded = -(-size // step) * step
    before = (padded - size) // 2
    after = padded - size - before
    inputs = keras.Input((size, size, 1), name="windows")
    x = ReflectPad2D(((before, after), (before, after)), name="reflect_pad")(inputs) if padded > size else inputs
    skips = []
    for level in range(levels):
        x = _block(x, width * 2 ** level, f"down{level}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    x = _block(x, width * 2 ** levels, "bottom")
    for level in reversed(range(levels)):
        x = layers.UpSampling2D(2, name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _block(x, width * 2 ** level, f"dec{level}")
    logits = layers.Conv2D(1, 1, dtype="float32", name="logits")(x)
    crop = before + margin
    logits = layers.Cropping2D(((crop, padded - crop - TILE), (crop, padded - crop - TILE)), name="tile")(logits)
    return keras.Model(inputs, logits, name=name)
