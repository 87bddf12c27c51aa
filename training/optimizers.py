"""The normalized-gradient optimizer and the cosine-with-restarts learning-rate schedule."""

import math

import keras
from keras import ops

from .._errors import SaltviewerError

__all__ = ["NormalizedSGD", "CosineRestarts", "make_optimizer"]


@keras.saving.register_keras_serializable(package="saltviewer")
class NormalizedSGD(keras.optimizers.Optimizer):
    """SGD with Nesterov momentum on gradients divided by their own L2 norm.

    For each variable ``w`` with gradient ``g``::

        u = g / (||g||_2 + epsilon)
        m = momentum * m - lr * u
        w = w + momentum * m - lr * u      (Nesterov; w = w + m without it)

    Each variable moves by about ``lr`` per step whatever the scale of its gradient,
    which keeps deep and shallow layers learning at the same pace. ``learning_rate`` may
    be a `keras.optimizers.schedules.LearningRateSchedule` (e.g. `CosineRestarts`); it is
    evaluated at every step on the optimizer's own iteration counter, so the schedule
    really drives the update.
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, nesterov=True, epsilon=1e-8, name="normalized_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum < 1.0:
            raise SaltviewerError(f"momentum must be in [0, 1); got {momentum}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.epsilon = float(epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = [self.add_variable_from_reference(v, "momentum") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        norm = ops.sqrt(ops.sum(ops.square(gradient)))
        unit = gradient / (norm + self.epsilon)
        m = self.momentums[self._get_variable_index(variable)]
        self.assign(m, ops.subtract(ops.multiply(m, self.momentum), ops.multiply(unit, learning_rate)))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(m, self.momentum), ops.multiply(unit, learning_rate)))
        else:
            self.assign_add(variable, m)

    def get_config(self):
        return dict(super().get_config(), momentum=self.momentum, nesterov=self.nesterov, epsilon=self.epsilon)


@keras.saving.register_keras_serializable(package="saltviewer")
class CosineRestarts(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine annealing with warm restarts (Loshchilov and Hutter, 2017), per step.

    ``lr(step) = min_lr + (max_lr - min_lr) (1 + cos(pi t / T)) / 2`` where ``t`` is the
    step within the current cycle of ``T = cycle_steps`` steps; then it restarts at
    ``max_lr``. An optional linear warm-up over the first `warmup_steps` steps.

    Parameters
    ----------
    max_lr, min_lr : float
    cycle_steps : int
    warmup_steps : int
    """

    def __init__(self, max_lr, cycle_steps, min_lr=0.0, warmup_steps=0):
        if cycle_steps < 1:
            raise SaltviewerError(f"cycle_steps must be at least 1; got {cycle_steps}.")
        self.max_lr = float(max_lr)
        self.min_lr = float(min_lr)
        self.cycle_steps = int(cycle_steps)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        t = ops.mod(step, float(self.cycle_steps))
        cosine = self.min_lr + (self.max_lr - self.min_lr) * 0.5 * (1.0 + ops.cos(math.pi * t / self.cycle_steps))
        if self.warmup_steps:
            warm = self.max_lr * (step + 1.0) / float(self.warmup_steps)
            cosine = ops.where(step < self.warmup_steps, ops.minimum(warm, cosine), cosine)
        return cosine

    def get_config(self):
        return {"max_lr": self.max_lr, "min_lr": self.min_lr, "cycle_steps": self.cycle_steps,
                "warmup_steps": self.warmup_steps}


def make_optimizer(name, schedule):
    """``"nsgd"`` (normalized-gradient Nesterov SGD) or ``"adam"``, driven by `schedule`."""
    if name == "nsgd":
        return NormalizedSGD(learning_rate=schedule, momentum=0.9, nesterov=True)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=schedule)
    raise SaltviewerError(f"optimizer must be 'nsgd' or 'adam'; got {name!r}.")
