"""How a decision was made, and whether that makes the tile a reviewed label.

A person decides a tile in one of four ways, and the curation store records which with
every decision (``events.how``):

==========  ==========================================================  ==============
how         made                                                        the tile is
==========  ==========================================================  ==============
``tile``    on one tile shown on its own (the Review dock, ``decide``)  reviewed
``grid``    on a page of tiles a person looked at (the grid)            reviewed
``mosaic``  on tiles shown stitched in a mosaic (the Mosaics dock)      reviewed
``batch``   in a batch accepted unseen ("Accept N...", ``accept-all``)  not reviewed
==========  ==========================================================  ==============

A correction is always reviewed: a person drew or chose the mask. A reviewed tile trains as
a label does (full weight, in a fold's training and validation tiles); a tile accepted
unseen stays a pseudo-label (`saltviewer.training.train_model`).
"""

from .._errors import SaltviewerError

__all__ = ["HOWS", "REVIEWED_HOWS", "check_how", "is_reviewed", "legacy_how"]

#: The ways a decision is made, as the store records them.
HOWS = ("tile", "grid", "mosaic", "batch")
#: The ways in which a person saw the tile decided.
REVIEWED_HOWS = frozenset({"tile", "grid", "mosaic"})


def check_how(how):
    """`how` if it is one of `HOWS`, else a `SaltviewerError` naming it."""
    if how not in HOWS:
        raise SaltviewerError(f"how must be one of {', '.join(HOWS)} (how the decision was made), got {how!r}.")
    return how


def is_reviewed(action, how):
    """Whether a decision makes its tile a reviewed label.

    >>> is_reviewed("accept", "tile"), is_reviewed("accept", "batch"), is_reviewed("correct", "batch")
    (True, False, True)
    """
    return action == "correct" or how in REVIEWED_HOWS


def legacy_how(action, detail):
    """How a decision written before the store recorded it (schema 2) was most likely made.

    Corrections and single decisions were made on a tile shown; batches were unseen unless
    their note says they came from a grid page or the Mosaics dock.

    >>> legacy_how("accept", {"batch": "accept all with agreement >= 0.9"})
    'batch'
    >>> legacy_how("accept", {"batch": "triage grid page 3: 20 accepted, 4 rejected"})
    'grid'
    >>> legacy_how("accept", {})
    'tile'
    """
    batch = str((detail or {}).get("batch") or "")
    if not batch or action == "correct":
        return "tile"
    if "Mosaics dock" in batch:
        return "mosaic"
    if "grid" in batch or "page" in batch:
        return "grid"
    return "batch"
