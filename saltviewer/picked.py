"""Proposals for tiles a person picked: the ensemble's real scores, and disputed where the models dispute them."""

import numpy as np

from .pseudo import Selection, _proposals
from .store.reasons import dispute_of

__all__ = ["picked_proposals"]


def picked_proposals(ensemble, tiles, *, code, reason):
    """Proposals for unlabelled tiles a person picked (no selection rule chose them), with the real scores.

    Each gets the ensemble's consensus mask and its scores (agreement, disagreement,
    uncertain pixels), as `propose_pseudo_labels` gives them; its criterion is `code`,
    joined with ``"disagreement"`` when the models dispute the tile
    (`saltviewer.store.reasons.dispute_of`), so that accepting it as it is is refused like
    that of any disputed proposal.

    Parameters
    ----------
    ensemble : saltviewer.ensemble.Ensemble
    tiles : sequence of str
        Unlabelled tile ids with predictions.
    code : str
        Criterion code (``"mosaic-dock"``).
    reason : str
        Why the person picked them; a dispute is added to it.

    Returns
    -------
    proposals : list of saltviewer.store.Proposal
    disputes : dict
        ``tile id -> why the models dispute it`` for the disputed ones.
    """
    tiles = [str(t) for t in tiles]
    if not tiles:
        return [], {}
    dataset = ensemble.dataset
    indices = np.array([dataset.index(t) for t in tiles], np.int64)
    scores = ensemble.scores(indices, truth=False)
    criteria, reasons, disputes = [], [], {}
    for k, tile in enumerate(tiles):
        why = dispute_of(scores.row(k))
        if why is None:
            criteria.append(code)
            reasons.append(reason)
        else:
            disputes[tile] = why
            criteria.append(f"{code}+disagreement")
            reasons.append(f"{reason}; the models dispute it: {why}")
    selection = Selection(positions=np.arange(len(tiles)), indices=indices, ids=tiles, criteria=criteria,
                          reasons=reasons, empty=scores.coverage == 0)
    return _proposals(ensemble, scores, selection, "pseudo"), disputes
