"""Encoders (backbones) for the U-Nets: ``small``, ``resnet34``, ``resnet50``, ``xception``.

Each encoder is a `keras.Model` named ``encoder`` that maps a square image to a list of
feature maps, from the finest scale to the coarsest (the last one is the bottleneck).
``resnet50`` and ``xception`` come from `keras.applications` (ImageNet weights, none, or a
local weights file); ``resnet34`` and ``small`` are written here (no ImageNet weights
exist for them in Keras, so they take ``none`` or a local file).
"""

import math
from dataclasses import dataclass
from pathlib import Path

from .._errors import SaltviewerError

__all__ = ["ENCODERS", "EncoderSpec", "build_encoder", "check_encoder_weights"]


@dataclass(frozen=True)
class EncoderSpec:
    """What the U-Net needs to know about an encoder.

    Attributes
    ----------
    name : str
    input_size : int
        Default square input size (101 tiles are padded or resized to it).
    multiple : int
        The input size must be a multiple of this (the encoder's total stride).
    rgb : bool
        Takes 3 channels (a `keras.applications` model); grey tiles are repeated.
    preprocess : str
        Scaling of [0, 1] inputs: ``"unit"`` (to about [-2, 2]), ``"tf"`` ([-1, 1]) or
        ``"caffe"`` (x 255, minus the ImageNet channel means).
    imagenet : bool
        ImageNet weights exist through `keras.applications`.
    train_speed, predict_speed : float
        Tiles per second at `input_size` on 2 CPU cores, training and predicting (one pass),
        from benchmarks/results/training_throughput.json: what the Retrain dock's time
        estimate starts from before the workspace has measured its own.
    """

    name: str
    input_size: int
    multiple: int
    rgb: bool
    preprocess: str
    imagenet: bool
    train_speed: float = 50.0
    predict_speed: float = 200.0


ENCODERS = {
    "small": EncoderSpec("small", 128, 32, False, "unit", False, 51.2, 222.5),
    "resnet34": EncoderSpec("resnet34", 128, 32, False, "unit", False, 10.7, 44.3),
    "resnet50": EncoderSpec("resnet50", 128, 32, True, "caffe", True, 5.7, 28.3),
    "xception": EncoderSpec("xception", 128, 32, True, "tf", True, 4.5, 15.7),
}


def encoder_spec(name):
    """The `EncoderSpec` of an encoder name, or a clear error."""
    if name not in ENCODERS:
        raise SaltviewerError(f"encoder must be one of {', '.join(ENCODERS)}; got {name!r}.")
    return ENCODERS[name]


def check_encoder_weights(encoder, weights):
    """Validate ``--encoder-weights``: ``"none"``, ``"imagenet"`` or a local file path.

    Returns the weights as ``None``, ``"imagenet"`` or a `Path`.
    """
    spec = encoder_spec(encoder)
    if weights is None or str(weights).lower() == "none":
        return None
    if str(weights).lower() == "imagenet":
        if not spec.imagenet:
            raise SaltviewerError(f"--encoder-weights imagenet: Keras has no ImageNet weights for the {encoder!r} "
                                  "encoder; use --encoder-weights none, or a local weights file of this encoder.")
        return "imagenet"
    path = Path(weights)
    if not path.is_file():
        raise SaltviewerError(f"--encoder-weights {weights}: not 'none', 'imagenet' or an existing weights file.")
    return path


# ---------------------------------------------------------------------------- builders
def build_encoder(name, input_size, channels=1, weights=None, width=16):
    """Build an encoder model.

    Parameters
    ----------
    name : {"small", "resnet34", "resnet50", "xception"}
    input_size : int
        Square input size; a multiple of the encoder's total stride (32).
    channels : int
        Input channels of the own encoders (``small``, ``resnet34``); the
        `keras.applications` encoders always take 3.
    weights : None, "imagenet" or Path
        As returned by `check_encoder_weights`.
    width : int
        Base filters of the ``small`` encoder.

    Returns
    -------
    encoder : keras.Model
        Outputs a list of feature maps, finest first, the bottleneck last.
    """
    spec = encoder_spec(name)
    if input_size % spec.multiple:
        raise SaltviewerError(f"input_size must be a multiple of {spec.multiple} for the {name} encoder; got {input_size}.")
    if name == "small":
        model = _small(input_size, channels, width)
    elif name == "resnet34":
        model = _resnet34(input_size, channels)
    else:
        model = _application(name, input_size, weights)
        weights = None   # loaded by keras.applications itself
    if weights is not None:
        try:
            model.load_weights(str(weights))
        except Exception as error:   # noqa: BLE001 - any Keras/h5 failure becomes one line
            raise SaltviewerError(f"--encoder-weights {weights}: could not load into the {name} encoder "
                                  f"({type(error).__name__}: {str(error).splitlines()[0][:200]}).") from None
    return model


def _conv_bn(x, filters, kernel=3, strides=1, activation=True, name=None):
    from keras import layers

    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=None if name is None else name + "_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=None if name is None else name + "_bn")(x)
    if activation:
        x = layers.Activation("relu", name=None if name is None else name + "_relu")(x)
    return x


def residual_block(x, filters, strides=1, name=None):
    """Basic residual block: two 3x3 conv-BN, identity (or 1x1 projection) shortcut, ReLU."""
    from keras import layers

    shortcut = x
    y = _conv_bn(x, filters, 3, strides, True, None if name is None else name + "_1")
    y = _conv_bn(y, filters, 3, 1, False, None if name is None else name + "_2")
    if strides != 1 or int(x.shape[-1]) != filters:
        shortcut = _conv_bn(x, filters, 1, strides, False, None if name is None else name + "_proj")
    y = layers.Add(name=None if name is None else name + "_add")([shortcut, y])
    return layers.Activation("relu", name=None if name is None else name + "_out")(y)


def _small(size, channels, width):
    """A light residual encoder: a full-resolution stem, then one residual block per scale.

    Features at /1 (width/2), /2 (width), /4, /8, /16 and /32 (16 x width).
    """
    import keras
    from keras import layers

    inputs = keras.Input((size, size, channels), name="encoder_input")
    f0 = _conv_bn(inputs, max(width // 2, 4), 3, 1, True, "stem0")
    x = _conv_bn(f0, width, 3, 2, True, "stem1")
    features = [f0]
    x = residual_block(x, width, name="stage1")
    features.append(x)
    for k, factor in enumerate((2, 4, 8, 16), start=2):
        x = layers.MaxPooling2D(name=f"pool{k}")(x)
        x = residual_block(x, width * factor, name=f"stage{k}")
        features.append(x)
    return keras.Model(inputs, features, name="encoder")


def _resnet34(size, channels):
    """ResNet-34 (He et al., 2016): 7x7 stem, max-pool, basic blocks (3, 4, 6, 3)."""
    import keras
    from keras import layers

    inputs = keras.Input((size, size, channels), name="encoder_input")
    x = _conv_bn(inputs, 64, 7, 2, True, "conv1")
    features = [x]
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    for stage, (filters, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=2):
        for block in range(blocks):
            strides = 2 if block == 0 and stage > 2 else 1
            x = residual_block(x, filters, strides, name=f"conv{stage}_block{block + 1}")
        features.append(x)
    return keras.Model(inputs, features, name="encoder")


def _application(name, size, weights):
    """A keras.applications backbone, cut into one feature map per scale."""
    import keras

    constructor = {"resnet50": keras.applications.ResNet50, "xception": keras.applications.Xception}[name]
    arg = None if weights is None else str(weights)
    try:
        base = constructor(include_top=False, weights=arg, input_shape=(size, size, 3))
    except Exception as error:   # noqa: BLE001 - network, HDF5 or shape errors all end the same way
        if arg == "imagenet":
            reason = (str(error).splitlines() or [""])[0]
            reason = "download failed" if "URL fetch failure" in reason else f"{type(error).__name__}: {reason[:120]}"
            raise SaltviewerError(
                f"--encoder-weights imagenet: could not get the ImageNet weights of {name} "
                f"({reason}; this machine may be offline). "
                f"Use --encoder-weights none to train from scratch, or --encoder-weights PATH with a local "
                f"weights file of keras.applications.{constructor.__name__}(include_top=False).") from None
        raise SaltviewerError(f"--encoder-weights {arg}: could not load into keras.applications."
                              f"{constructor.__name__} ({type(error).__name__}: "
                              f"{str(error).splitlines()[0][:200]}).") from None
    # The last layer at each scale (scale = input size / feature size, rounded to a power of 2).
    by_scale = {}
    for layer in base.layers[1:]:
        shape = layer.output.shape
        if len(shape) != 4 or shape[1] is None or isinstance(layer, keras.layers.ZeroPadding2D):
            continue
        scale = round(math.log2(size / shape[1]))
        if scale >= 1:
            by_scale[scale] = layer.output
    features = [by_scale[s] for s in sorted(by_scale)]
    return keras.Model(base.input, features, name="encoder")
