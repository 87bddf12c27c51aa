"""Colours shared by the widgets, so a mask looks the same in every view."""

SALT = "#ff8c1a"          # the mask in force: ground truth, accepted or corrected pseudo-label
CONSENSUS = "#ffe14d"     # the ensemble's consensus mask (drawn as a contour)
MISMATCH = "#ff3b3b"      # boundary inconsistencies in mosaics
VERSION_COLOURS = ("#36c5f0", "#e040fb", "#7cff5b", "#ff6f91", "#4d7cff", "#00e5c0", "#c0ca33", "#b39ddb")
STATE_COLOURS = {"proposed": "#9aa0a6", "accepted": "#5bd778", "corrected": "#4fb3ff", "rejected": "#ff6b6b",
                 "labelled": "#d8d8d8", "disputed": "#ff9e40"}


def shown_state(state, disputed):
    """The state as a person reads it: a proposed tile the models dispute is ``"disputed"`` (it cannot be
    accepted as proposed), not ``"proposed"``."""
    return "disputed" if disputed and state == "proposed" else state


def label_colours(colour):
    """A napari Labels colormap: 0 transparent, every other label `colour`."""
    return {None: colour, 0: "transparent", 1: colour}


def version_colour(position):
    return VERSION_COLOURS[position % len(VERSION_COLOURS)]

#: The reason an item is queued, as the queue's Why column and the grid's captions show it.
WHY_SHORT = {"confident salt": "salt", "confident empty": "empty", "disputed": "disputed",
             "label check": "label check", "mosaic edge": "mosaic edge", "drawn by hand": "by hand", "other": "other"}
