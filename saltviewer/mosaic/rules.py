"""Rules down the columns of a mosaic: what a tile's salt says about the tile below it.

Two rules that strong teams of the TGS competition applied with mosaics:

``vertical``
    A tile whose mask is *vertical* (every column all salt or no salt: a salt flank that
    crosses the tile from top to bottom) continues into the tile below: the same columns
    are salt there, from top to bottom.
``under-salt``
    A tile under a bottom edge that is salt from side to side lies inside the salt body:
    an empty mask there is suspicious. As a post-processing step the tile becomes salt.

`mosaic_rules` walks every column of every mosaic from the top, so a rule that sets a tile
can set the one below it in turn. Masks a person has settled (training masks, accepted or
corrected pseudo-labels) are never changed: where a rule contradicts one, it is a finding
for review (`rule_proposals`, `queue_rule_items`).
"""

from collections import namedtuple

import numpy as np

from .._errors import SaltviewerError
from .edges import as_bool
from .grid import getter

__all__ = ["RULES", "POSTPROCESS_RULES", "RuleFinding", "vertical_columns", "mosaic_rules", "rule_proposals", "queue_rule_items"]

RULES = ("vertical", "under-salt")
#: The rules worth applying to predictions: on out-of-fold predictions of the TGS labelled tiles
#: the flank rule fixed 6 tiles (+0.002 on the score of 3,200) and the under-salt rule cost as
#: much, the labels calling those tiles empty (benchmarks/results/mosaic.json, "tgs_rules").
POSTPROCESS_RULES = ("vertical",)
TOLERANCE = 0.02        # share of a column that may disagree with all-or-nothing
MIN_IOU = 0.9           # a settled mask agrees with a rule when their IoU is at least this

RuleFinding = namedtuple("RuleFinding", "rule mosaic above below row col changed iou")
RuleFinding.__doc__ = """A rule that fired on the edge between a tile (``above``) and the tile below it.

Fields: ``rule`` (``vertical`` or ``under-salt``); ``mosaic`` number; tile ids ``above`` and
``below``; ``row``, ``col`` of ``above``; ``changed``, whether the tile below was set by the
rule (False: its mask is settled, and the rule contradicts it); ``iou`` between the mask
the rule asks for and the mask the tile had."""


def vertical_columns(mask, tolerance=TOLERANCE):
    """The salt columns of a vertical mask, or None.

    Parameters
    ----------
    mask : (H, W) ndarray of bool
    tolerance : float
        Share of each column that may disagree with all salt or no salt.

    Returns
    -------
    columns : (W,) ndarray of bool or None
        None when the mask is empty, full, or not vertical.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((4, 5), bool); mask[:, 3:] = True
    >>> vertical_columns(mask).tolist()
    [False, False, False, True, True]
    """
    mask = np.asarray(mask, dtype=bool)
    share = mask.mean(axis=0)
    columns = share >= 0.5
    if not columns.any() or columns.all():
        return None
    if np.any(np.minimum(share, 1 - share) > tolerance):
        return None
    return columns


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def mosaic_rules(mosaics, masks, settled=(), rules=RULES, tolerance=TOLERANCE, min_iou=MIN_IOU):
    """Apply the rules down every column of every mosaic.

    Parameters
    ----------
    mosaics : Mosaics or iterable of Mosaic
    masks : callable, mapping or array
        As for `stitch`: each tile's current (H, W) mask (a predicted mask, or the mask in
        force), None where there is none.
    settled : collection of str
        Tile ids whose masks a person settled: never changed, checked against the rules.
    rules : sequence of {"vertical", "under-salt"}
    tolerance : float
        See `vertical_columns`.
    min_iou : float
        A settled mask that agrees this well with what a rule asks is not a finding.

    Returns
    -------
    changed : dict
        ``tile id -> (H, W) ndarray of bool``: the masks the rules set.
    findings : list of RuleFinding
        Every rule that fired, top to bottom.
    """
    unknown = set(rules) - set(RULES)
    if unknown:
        raise SaltviewerError(f"rules: unknown rule(s) {sorted(unknown)}; choose from {list(RULES)}.")
    settled = set(settled)
    changed, findings = {}, []
    for mosaic in mosaics:
        get = getter(masks, mosaic)
        order = {tile: k for k, tile in enumerate(mosaic.ids)}

        def current(tile):
            if tile in changed:
                return changed[tile]
            value = get(order[tile])
            return None if value is None else as_bool(np.asarray(value))

        for row in range(mosaic.shape[0] - 1):
            for col in range(mosaic.shape[1]):
                above, below = mosaic.at(row, col), mosaic.at(row + 1, col)
                if above is None or below is None:
                    continue
                upper, lower = current(above), current(below)
                if upper is None:
                    continue
                wanted, rule = None, None
                columns = vertical_columns(upper, tolerance) if "vertical" in rules else None
                if columns is not None:
                    wanted, rule = np.repeat(columns[None, :], upper.shape[0], axis=0), "vertical"
                elif "under-salt" in rules and upper[-1].all() and (lower is None or not lower.any()):
                    wanted, rule = np.ones_like(upper), "under-salt"
                if wanted is None:
                    continue
                iou = _iou(wanted, lower) if lower is not None else 0.0
                if below in settled:
                    if iou < min_iou:
                        findings.append(RuleFinding(rule, mosaic.number, above, below, row, col, False, iou))
                    continue
                if lower is None or not np.array_equal(wanted, lower):
                    changed[below] = wanted
                    findings.append(RuleFinding(rule, mosaic.number, above, below, row, col, True, iou))
    return changed, findings


def rule_proposals(findings, dataset):
    """Review items for the settled training masks the rules contradict.

    Returns
    -------
    proposals : list of saltviewer.store.Proposal
        One ``"label"`` item (criterion ``"mosaic-rule"``) per tile whose training mask a
        rule contradicts; the proposed mask is the training mask as it is (a person
        corrects it, or rejects the item to keep it). Their agreement is 0, so batch
        acceptance never takes them; their disagreement is 1 - IoU with the rule's mask.
    """
    from ..store import Proposal

    what = {"vertical": "the salt flank of the tile above ({above}) runs down to this tile, but its mask does "
                        "not continue it",
            "under-salt": "the tile above ({above}) is salt along its whole bottom edge, but this tile's mask "
                          "is empty"}
    proposals, seen = [], set()
    for finding in findings:
        if finding.changed or finding.below in seen:
            continue
        index = dataset.index(finding.below)
        if not dataset.has_mask[index]:
            continue
        seen.add(finding.below)
        proposals.append(Proposal(
            tile=finding.below, mask=dataset.mask(index), criterion="mosaic-rule", kind="label",
            reason=f"{what[finding.rule].format(above=finding.above)} (mosaic {finding.mosaic})",
            scores={"rule": finding.rule, "mosaic": int(finding.mosaic), "above": finding.above,
                    "iou_with_rule": round(float(finding.iou), 4)},
            disagreement=float(1 - finding.iou), agreement=0.0, uncertain=0.0))
    return proposals


def queue_rule_items(workspace, dataset, findings):
    """Put `rule_proposals` of `findings` into the workspace's curation store (tiles that already
    have a ``"label"`` item are left as they are). Returns the number of tiles queued."""
    from .edges import queue_label_proposals

    return queue_label_proposals(workspace, dataset, rule_proposals(findings, dataset))
