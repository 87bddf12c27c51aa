"""U-Nets for 101x101 seismic tiles.

A model takes tiles as they are, ``(batch, 101, 101, channels)`` float32 in [0, 1]
(channel 0 the image / 255, the others extra feature channels), brings them to the
encoder's size inside the graph (reflect padding by default, or bilinear resizing),
and returns **logits** ``(batch, 101, 101, 1)`` cropped (or resized) back to exactly
101x101. Apply a sigmoid to get probabilities (`saltviewer.training.predict` does).
"""

from .._errors import SaltviewerError
from .encoders import build_encoder, check_encoder_weights, encoder_spec, residual_block

__all__ = ["build_unet", "context_margin", "TILE"]

TILE = 101


def context_margin(input_size):
    """Pixels of context on each side of the tile that a context model of this input size sees.

    The window is ``101 + 2 * margin`` pixels, the margin rounded up so that the window is
    centred on the tile (a horizontal flip keeps the tile in place); the model crops it to
    `input_size`, the tile where a mirror-padding model puts it.

    >>> context_margin(128), context_margin(101)
    (14, 0)
    """
    return max(0, (int(input_size) - TILE + 1) // 2)


def build_unet(encoder="small", *, input_size=None, resize_mode="pad", channels=1, encoder_weights="none",
               width=16, decoder_blocks=1, hypercolumn=False, scse=True, context=False, name=None):
    """Build a U-Net with the given encoder.

    Parameters
    ----------
    encoder : {"small", "resnet34", "resnet50", "xception"}
    input_size : int, optional
        Size the 101x101 tile is brought to (default: the encoder's, 128).
    resize_mode : {"pad", "resize"}
        ``"pad"`` mirrors the tile out to `input_size` and crops the output back;
        ``"resize"`` resizes bilinearly both ways.
    channels : int
        Input channels: 1 for the image alone, more with extra feature channels.
    encoder_weights : "none", "imagenet" or path
        ImageNet weights need the network; offline use ``"none"`` or a local file.
    width : int
        Base filters of the ``small`` encoder.
    decoder_blocks : int
        Residual blocks per decoder scale (none at full resolution, where they are costly).
    hypercolumn : bool
        Concatenate every decoder scale (upsampled) before the head.
    scse : bool
        Add a concurrent spatial/channel squeeze-excitation block at each decoder scale
        below full resolution.
    context : bool
        Take each tile in a window of ``101 + 2 * context_margin(input_size)`` pixels (its
        mosaic neighbours around it, `saltviewer.mosaic.context_windows`) instead of
        mirroring it out inside the graph; ``"pad"`` only. The weights are those of the
        model without context: given the tile mirrored out to the window, it computes
        exactly what that model computes.

    Returns
    -------
    model : keras.Model
        ``(batch, 101, 101, channels)`` -> logits ``(batch, 101, 101, 1)`` (float32); with
        `context`, ``(batch, W, W, channels)`` windows in.
    """
    import keras
    from keras import layers

    from .layers import SCSE, ReflectPad2D

    spec = encoder_spec(encoder)
    weights = check_encoder_weights(encoder, encoder_weights)
    size = int(input_size or spec.input_size)
    if resize_mode not in ("pad", "resize"):
        raise SaltviewerError(f"resize_mode must be 'pad' or 'resize'; got {resize_mode!r}.")
    if resize_mode == "pad" and size < TILE:
        raise SaltviewerError(f"input_size {size} is smaller than the {TILE}-pixel tile; use resize_mode='resize'.")
    if channels < 1:
        raise SaltviewerError(f"channels must be at least 1; got {channels}.")

    if context and (resize_mode != "pad" or size <= TILE):
        raise SaltviewerError(f"context needs resize_mode 'pad' and an input_size above {TILE} (the window is "
                              f"cut to it); got {resize_mode!r} and {size}.")
    if context:
        margin = context_margin(size)
        window = TILE + 2 * margin
        inputs = keras.Input((window, window, channels), name="windows")
        before = (size - TILE) // 2
        after = size - TILE - before
        crop = ((margin - before, margin - after), (margin - before, margin - after))
        x = layers.Cropping2D(crop, name="window_crop")(inputs) if window > size else inputs
    elif resize_mode == "pad":
        inputs = keras.Input((TILE, TILE, channels), name="tiles")
        before = (size - TILE) // 2
        after = size - TILE - before
        x = ReflectPad2D(((before, after), (before, after)), name="reflect_pad")(inputs) if size > TILE else inputs
    else:
        inputs = keras.Input((TILE, TILE, channels), name="tiles")
        x = layers.Resizing(size, size, interpolation="bilinear", name="resize_in")(inputs)

    if spec.rgb:
        if channels == 1:
            x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
        elif channels != 3:
            x = layers.Conv2D(3, 1, name="channels_to_rgb")(x)
    if spec.preprocess == "unit":
        x = layers.Rescaling(4.0, offset=-2.0, name="scale")(x)
    elif spec.preprocess == "tf":
        x = layers.Rescaling(2.0, offset=-1.0, name="scale")(x)
    else:   # caffe: x 255, BGR order, minus ImageNet means
        x = layers.Rescaling(255.0, name="scale")(x)
        x = layers.Normalization(mean=[103.939, 116.779, 123.68], variance=[1.0, 1.0, 1.0], name="imagenet_mean")(x)

    enc = build_encoder(encoder, size, channels=int(x.shape[-1]), weights=weights, width=width)
    features = enc(x)
    skips, x = list(features[:-1]), features[-1]

    decoded = []
    for level, skip in reversed(list(enumerate(skips))):
        filters = _decoder_filters(int(skip.shape[-1]))
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", name=f"up{level}")(x)
        x = _align(x, skip.shape[1], f"align{level}")
        x = layers.Concatenate(name=f"skip{level}")([x, skip])
        full_resolution = int(skip.shape[1]) >= size
        # At full resolution a residual block costs as much as the rest of the decoder; skip it there.
        x = _decoder_block(x, filters, 0 if full_resolution else decoder_blocks, scse and not full_resolution,
                           f"dec{level}", SCSE)
        decoded.append(x)
    if x.shape[1] != size:   # the finest skip is coarser than the input: one more upsampling
        filters = max(int(x.shape[-1]) // 2, 8)
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", name="up_final")(x)
        x = _align(x, size, "align_final")
        x = _decoder_block(x, filters, 0, False, "dec_final", SCSE)
        decoded.append(x)
    if hypercolumn and len(decoded) > 1:
        columns = []
        for k, feature in enumerate(decoded[:-1]):
            factor = size // int(feature.shape[1])
            if factor > 1:
                feature = layers.UpSampling2D(factor, interpolation="bilinear", name=f"hyper_up{k}")(feature)
            columns.append(_align(feature, size, f"hyper_align{k}"))
        x = layers.Concatenate(name="hypercolumn")(columns + [x])
        x = layers.Conv2D(int(decoded[-1].shape[-1]), 3, padding="same", activation="relu", name="hyper_conv")(x)
    logits = layers.Conv2D(1, 1, name="logits_full", dtype="float32")(x)
    if resize_mode == "pad":
        before = (size - TILE) // 2
        after = size - TILE - before
        logits = layers.Cropping2D(((before, after), (before, after)), name="logits")(logits) if size > TILE else logits
    else:
        logits = layers.Resizing(TILE, TILE, interpolation="bilinear", name="logits")(logits)
    return keras.Model(inputs, logits, name=name or f"unet_{encoder}")


def _decoder_filters(skip_channels):
    return int(min(max(skip_channels // 2, 8), 256))


def _decoder_block(x, filters, blocks, scse, name, scse_layer):
    from keras import layers

    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=name + "_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=name + "_bn")(x)
    x = layers.Activation("relu", name=name + "_relu")(x)
    for k in range(blocks):
        x = residual_block(x, filters, name=f"{name}_res{k}")
    if scse:
        x = scse_layer(name=name + "_scse")(x)
    return x


def _align(x, target, name):
    """Crop or zero-pad a feature map to ``target x target`` (shapes are static)."""
    from keras import layers

    diff = int(target) - int(x.shape[1])
    if diff == 0:
        return x
    before, after = abs(diff) // 2, abs(diff) - abs(diff) // 2
    if diff > 0:
        return layers.ZeroPadding2D(((before, after), (before, after)), name=name)(x)
    return layers.Cropping2D(((before, after), (before, after)), name=name)(x)
