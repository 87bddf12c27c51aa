"""Train on several devices: Keras 3's data-parallel distribution on the JAX backend.

`data_parallel` sets ``keras.distribution.DataParallel`` over the devices for the duration
of a ``with`` block: every model built inside keeps a replica of its weights on each device,
each batch is split along its first axis across them, and the gradients are averaged (an
all-reduce that XLA inserts). `train_model` itself is unchanged, so a k-fold version trained
this way is written, scored and predicted as any other.

On one machine with several GPUs::

    KERAS_BACKEND=jax python -c "
    from saltviewer.training import train_model
    from saltviewer.training.distribute import data_parallel
    with data_parallel():                       # every GPU JAX sees
        train_model('data/', 'ws/', encoder='resnet34', batch_size=64)"

Use a batch size that the number of devices divides (each device gets ``batch_size / n``).
On the CPU the same code runs on virtual devices:
``XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax``.
"""

import contextlib

from .._errors import SaltviewerError

__all__ = ["data_parallel", "device_count"]


def device_count(kind=None):
    """How many devices Keras's distribution API sees (JAX backend), optionally of a kind ("gpu", "cpu")."""
    import keras

    return len(keras.distribution.list_devices(kind))


@contextlib.contextmanager
def data_parallel(devices=None, batch_size=None):
    """Train data-parallel over several devices inside this block.

    Parameters
    ----------
    devices : int or sequence of str, optional
        How many devices (the first ones), or their names as
        ``keras.distribution.list_devices()`` gives them; default all of them.
    batch_size : int, optional
        When given, checked to be a multiple of the number of devices.

    Yields
    ------
    distribution : keras.distribution.DataParallel

    Raises
    ------
    SaltviewerError
        When the Keras backend is not JAX, fewer devices exist than asked for, or the batch
        size does not split evenly.
    """
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        raise SaltviewerError(f"data-parallel training needs the JAX backend (KERAS_BACKEND=jax); this process "
                              f"runs Keras on {backend!r}.")
    available = keras.distribution.list_devices()
    if devices is None:
        chosen = list(available)
    elif isinstance(devices, int):
        if not 1 <= devices <= len(available):
            raise SaltviewerError(f"--devices {devices}: JAX sees {len(available)} device(s) "
                                  f"({', '.join(available)}).")
        chosen = list(available[:devices])
    else:
        chosen = list(devices)
        unknown = [d for d in chosen if d not in available]
        if unknown:
            raise SaltviewerError(f"--devices: {unknown[0]!r} is not among {', '.join(available)}.")
    if batch_size is not None and int(batch_size) % len(chosen):
        raise SaltviewerError(f"--batch-size {batch_size}: must be a multiple of the {len(chosen)} devices, so "
                              "that each gets an equal share of every batch.")
    previous = keras.distribution.distribution()
    distribution = keras.distribution.DataParallel(devices=chosen)
    keras.distribution.set_distribution(distribution)
    try:
        yield distribution
    finally:
        keras.distribution.set_distribution(previous)
