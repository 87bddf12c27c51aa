"""Why an item is under review, and what that allows: one place for the rule, read by the CLI and the GUI.

Selection writes a *criterion code* with every proposal (``saltviewer.pseudo``,
``saltviewer.mosaic``); a tile chosen by two rules carries both codes joined with ``+``
(``"confident-salt+pixel-confidence"``). For a person the codes fall into a few *reasons*:

=================  ==============================================  ==========================
reason             criterion codes                                 may be accepted as proposed
=================  ==============================================  ==========================
confident salt     ``confident-salt``, ``pixel-confidence``        yes; also in a batch
confident empty    ``confident-empty``                             yes; also in a batch
disputed           ``disagreement``                                no: pick a member's mask
                                                                   or draw one
label check        ``label-error``                                 yes, one at a time
mosaic edge        ``mosaic-edge``, ``mosaic-rule``                yes, one at a time
drawn by hand      ``manual``                                      nothing was proposed
=================  ==============================================  ==========================

A code this table does not know is shown as ``other`` and treated as a confident
proposal (selection rules added later choose confident tiles), unless it is joined with
a disputed code.

A tile no selection rule chose (a person picks it in the Mosaics dock) is proposed with the
ensemble's real scores, and its code is joined with ``disagreement`` when the scores say the
models dispute it (`dispute_of`): then, as for every disputed proposal, accepting it as it
is is refused, whichever dock or verb asks.
"""

__all__ = ["REASONS", "REASON_COLOURS", "DISPUTED_CRITERIA", "MIN_AGREEMENT", "reason_of", "is_disputed",
           "batch_acceptable", "accept_refusal", "dispute_of"]

#: criterion code -> reason
_CODES = {
    "confident-salt": "confident salt",
    "pixel-confidence": "confident salt",
    "confident-empty": "confident empty",
    "disagreement": "disputed",
    "label-error": "label check",
    "mosaic-edge": "mosaic edge",
    "mosaic-rule": "mosaic edge",
    "manual": "drawn by hand",
}
#: The reasons in the order a person meets them, with a one-line explanation each.
REASONS = {
    "confident salt": "the models agree on a salt body",
    "confident empty": "the models agree there is no salt",
    "disputed": "the models disagree; pick one model's mask or draw one",
    "label check": "the models agree with each other but not with the training mask",
    "mosaic edge": "salt stops dead at an edge shared with a neighbouring tile",
    "drawn by hand": "a mask drawn by a person, nothing proposed",
    "other": "chosen by another selection rule",
}
#: One colour per reason (readable on napari's dark theme), used by the queue and the grid.
REASON_COLOURS = {
    "confident salt": "#5bd778",
    "confident empty": "#8fb8de",
    "disputed": "#ff6b6b",
    "label check": "#ffb74d",
    "mosaic edge": "#e040fb",
    "drawn by hand": "#4fb3ff",
    "other": "#c0c4cc",
}
#: Codes whose proposal is not a confident mask: accepting it as proposed is refused.
DISPUTED_CRITERIA = frozenset({"disagreement"})
#: Mean IoU between the model versions' masks below which they dispute a tile (the level at which
#: `saltviewer.pseudo.select_label_errors` takes the models to agree with each other).
MIN_AGREEMENT = 0.8


def _codes(criterion):
    return [code.strip() for code in str(criterion or "").split("+") if code.strip()]


def reason_of(criterion):
    """The reason (a key of `REASONS`) of a criterion code.

    >>> reason_of("confident-salt+pixel-confidence")
    'confident salt'
    >>> reason_of("disagreement")
    'disputed'
    """
    codes = _codes(criterion)
    if is_disputed(criterion):
        return "disputed"
    for code in codes:
        if code in _CODES:
            return _CODES[code]
    return "other"


def is_disputed(criterion):
    """True when the proposal is one the models dispute: it may not be accepted as proposed."""
    return any(code in DISPUTED_CRITERIA for code in _codes(criterion))


def batch_acceptable(criterion, kind):
    """True when an item may be taken by a batch accept: a confident pseudo-label proposal.

    Label checks and mosaic edges change a training mask and are decided one at a time;
    disputed tiles and tiles drawn by hand are never taken.
    """
    return kind == "pseudo" and reason_of(criterion) in ("confident salt", "confident empty", "other")


def accept_refusal(tile, criterion):
    """The message refusing to accept a disputed proposal as it is, or None when it may be."""
    if not is_disputed(criterion):
        return None
    return (f"tile {tile!r} is disputed (criterion {criterion}): the models disagree, so its proposal cannot be "
            "accepted as it is; take one model's mask or draw one (correct), or reject it.")


def dispute_of(scores, min_agreement=MIN_AGREEMENT):
    """Why the model versions dispute a tile, from its ensemble scores; None when they agree.

    The models dispute a tile when some see salt in it and others none, or when their masks
    overlap with a mean IoU below `min_agreement`.

    Parameters
    ----------
    scores : dict
        A tile's scores as `saltviewer.ensemble.EnsembleScores.row` gives them
        (``mean_iou``, ``presence_votes``, ``members``, ``member_coverage``).
    min_agreement : float

    Returns
    -------
    why : str or None

    Examples
    --------
    >>> dispute_of({"mean_iou": 0.0, "presence_votes": 1, "members": 2, "member_coverage": [0.0, 0.42]})
    '1 of 2 model versions see salt (0% to 42% of the tile)'
    >>> dispute_of({"mean_iou": 0.93, "presence_votes": 2, "members": 2}) is None
    True
    """
    members = int(scores.get("members", 1))
    votes = int(scores.get("presence_votes", members))
    mean_iou = float(scores.get("mean_iou", 1.0))
    coverage = scores.get("member_coverage")
    spread = ""
    if coverage is not None and len(coverage):
        spread = f" ({100 * min(coverage):.0f}% to {100 * max(coverage):.0f}% of the tile)"
    if members > 1 and 0 < votes < members:
        return f"{votes} of {members} model versions see salt{spread}"
    if members > 1 and mean_iou < min_agreement:
        return f"the model versions' masks overlap with mean IoU {mean_iou:.2f} (below {min_agreement:.2f}){spread}"
    return None
