"""Exceptions a person can act on."""


class SaltviewerError(ValueError):
    """Bad input or state, with a message that names the file or argument and the rule.

    It derives from `ValueError` so callers that catch the standard type keep working.
    The CLI and the GUI print its message as one line, never a traceback.
    """


class DataError(SaltviewerError):
    """A data file or folder breaks a rule of the competition layout."""
