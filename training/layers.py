"""Small custom layers used by the U-Nets: reflect padding and scSE attention.

All math is in `keras.ops`, so the layers run on every Keras 3 backend.
"""

import keras
from keras import layers, ops

__all__ = ["ReflectPad2D", "SCSE"]


@keras.saving.register_keras_serializable(package="saltviewer")
class ReflectPad2D(layers.Layer):
    """Pad height and width by mirroring (without repeating the edge row).

    Parameters
    ----------
    padding : ((top, bottom), (left, right))
    """

    def __init__(self, padding, **kwargs):
        super().__init__(**kwargs)
        (top, bottom), (left, right) = padding
        self.padding = ((int(top), int(bottom)), (int(left), int(right)))

    def call(self, inputs):
        (top, bottom), (left, right) = self.padding
        return ops.pad(inputs, [[0, 0], [top, bottom], [left, right], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        n, h, w, c = input_shape
        return (n, None if h is None else h + top + bottom, None if w is None else w + left + right, c)

    def get_config(self):
        return dict(super().get_config(), padding=self.padding)


@keras.saving.register_keras_serializable(package="saltviewer")
class SCSE(layers.Layer):
    """Concurrent spatial and channel squeeze-and-excitation (Roy et al., 2018).

    ``out = x * cSE(x) + x * sSE(x)``: a channel gate from global pooling through a
    bottleneck, plus a per-pixel gate from a 1x1 convolution.

    Parameters
    ----------
    reduction : int
        Bottleneck ratio of the channel gate.
    """

    def __init__(self, reduction=4, **kwargs):
        super().__init__(**kwargs)
        self.reduction = int(reduction)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        hidden = max(channels // self.reduction, 1)
        self.squeeze = layers.Dense(hidden, activation="relu", name="squeeze")
        self.excite = layers.Dense(channels, activation="sigmoid", name="excite")
        self.spatial = layers.Conv2D(1, 1, activation="sigmoid", name="spatial")
        self.squeeze.build((None, channels))
        self.excite.build((None, hidden))
        self.spatial.build(input_shape)

    def call(self, inputs):
        pooled = ops.mean(inputs, axis=(1, 2))
        channel_gate = self.excite(self.squeeze(pooled))[:, None, None, :]
        return inputs * channel_gate + inputs * self.spatial(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return dict(super().get_config(), reduction=self.reduction)
