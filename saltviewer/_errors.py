"""Exceptions a person can act on, and the argument checks that raise them."""


class SaltviewerError(ValueError):
    """Bad input or state, with a message that names the file or argument and the rule.

    It derives from `ValueError` so callers that catch the standard type keep working.
    The CLI and the GUI print its message as one line, never a traceback.
    """


class TrainingCancelled(Exception):
    """Training or prediction stopped because its ``cancel`` event was set; nothing was written.

    Defined here, with the other errors, so that training's modules and the docks that run
    them can name it without importing each other (or Keras).
    """


class DataError(SaltviewerError):
    """A data file or folder breaks a rule of the competition layout."""


def check_fraction(value, name):
    """`value` as a float in [0, 1], or a `SaltviewerError` naming `name`.

    The one fraction rule of the library (shares, agreements, thresholds of selection); the
    command line adds its flag to the message where it catches it.

    >>> check_fraction("0.25", "share")
    0.25
    >>> check_fraction(2, "share")
    Traceback (most recent call last):
    ...
    saltviewer._errors.SaltviewerError: share must be a number in [0, 1], got 2.0.
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0 <= value <= 1:
        raise SaltviewerError(f"{name} must be a number in [0, 1], got {value!r}.")
    return value
