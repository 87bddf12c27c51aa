"""Pseudo-label candidates from an ensemble's agreement, and likely label errors.

Two criteria choose unlabelled tiles whose consensus mask can be trusted enough to review:

``"agreement"`` (the default)
    *Confident empty* tiles: no member predicts any salt and few pixels are uncertain; and
    *confident salt* tiles: every member predicts salt, their masks agree (mean pairwise
    IoU at least `min_agreement`) and few pixels are uncertain. The share of empty tiles
    among the candidates is held to the share of empty masks in the labelled set (about
    39% on the competition data) unless told otherwise, keeping the most confident ones.
``"pixel-confidence"``
    Tiles whose consensus probability is confident (below 0.2 or above 0.8) on at least
    90% of their area and that are not blank: the consensus mask has salt (an empty
    prediction is confident almost everywhere; empties come from the agreement
    criterion, whose share is controlled).

Tiles whose image is blank (one grey level) are never candidates: they teach nothing.
Every candidate carries a criterion code and a sentence saying why it was chosen.

Labelled tiles get the same scores plus agreement with the ground truth: where the members
agree among themselves but their consensus contradicts the training mask (IoU at most
`max_truth_iou`), the tile is a likely label error, proposed for review as a ``"label"``
item. This is meaningful on out-of-fold predictions only: a model fits its own training
masks.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from ._errors import SaltviewerError
from ._errors import check_fraction as _check_fraction
from .ensemble import Ensemble
from .store import CurationStore, Proposal
from .workspace import as_workspace

__all__ = ["select_candidates", "select_label_errors", "select_for_review", "Selection", "propose_pseudo_labels",
           "PseudoLabelReport", "labelled_empty_share", "versions_with_predictions", "CRITERIA",
           "TGS_EMPTY_SHARE", "RANKS", "DEFAULT_RANK"]

CRITERIA = ("agreement", "pixel-confidence")
#: Rankings of the ranked selection (`select_candidates` with ``top`` or ``share``).
RANKS = ("expected-iou", "agreement")
#: The ranking used unless told otherwise (chosen on the precision-count curve of bench_loop.py).
DEFAULT_RANK = "expected-iou"
#: Share of empty masks among the competition's labelled tiles (1,250 of the 3,200 in ../shared/tgs: 39.1%).
TGS_EMPTY_SHARE = 0.39


@dataclass
class Selection:
    """Tiles chosen from `EnsembleScores`, each with its criterion and reason.

    Attributes
    ----------
    positions : (k,) ndarray of int64
        Positions into the scores, in order of confidence within each criterion.
    indices : (k,) ndarray of int64
        Dataset positions.
    ids : list of str
    criteria : list of str
        Criterion code per tile (``"confident-empty"``, ``"confident-salt"``,
        ``"pixel-confidence"``, ``"label-error"``, ``"disagreement"``).
    reasons : list of str
    empty : (k,) ndarray of bool
        The consensus mask is empty.
    stats : dict
        What was eligible, what was dropped and why, the empty share asked for and achieved.
    """

    positions: np.ndarray
    indices: np.ndarray
    ids: list
    criteria: list
    reasons: list
    empty: np.ndarray
    stats: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.positions)

    @property
    def empty_share(self):
        return float(self.empty.mean()) if len(self) else float("nan")

    def counts(self):
        """``{criterion: count}``."""
        result = {}
        for code in self.criteria:
            result[code] = result.get(code, 0) + 1
        return result


def _percent(value):
    return f"{100 * value:.1f}%"


def select_candidates(scores, criterion="agreement", *, empty_share=TGS_EMPTY_SHARE, min_agreement=0.9,
                      max_uncertain=0.05, confident_share=0.9, limit=None, eligible=None, top=None, share=None,
                      rank=DEFAULT_RANK):
    """Choose pseudo-label candidates among scored tiles.

    Parameters
    ----------
    scores : EnsembleScores
        Scores of the tiles to choose from (usually the unlabelled ones).
    criterion : {"agreement", "pixel-confidence", "both"} or sequence of them
    empty_share : float in [0, 1) or None
        Share of empty tiles among the candidates; None keeps every eligible tile.
    min_agreement : float
        Confident salt: least mean pairwise IoU of the members' masks.
    max_uncertain : float
        Agreement criterion: most uncertain pixels (consensus p in [0.2, 0.8]) allowed.
    confident_share : float
        Pixel-confidence criterion: least share of confident pixels (default 0.9).
    limit : int, optional
        Most candidates in all (the empty share is kept).
    eligible : (n,) array of bool, optional
        Tiles that may be chosen (e.g. unlabelled ones); blank images are always left out.
    top : int, optional
        Ranked selection: the `top` most confident tiles instead of those passing the
        thresholds (which are then not applied). Candidates are the tiles on which every
        member predicts salt, or none does; salt and empty ones are ranked apart by `rank`
        and taken with the empty share kept (`empty_share`; None keeps the ranking's own
        mix). How good each count is: benchmarks/bench_loop.py (precision-count curve).
    share : float in [0, 1], optional
        Ranked selection of this share of the eligible tiles (instead of `top`).
    rank : {"expected-iou", "agreement"}
        Ranking of the ranked selection: the consensus mask's expected IoU under the
        calibrated probabilities (empty tiles: least expected salt first), or the members'
        mean pairwise IoU times the share of confident pixels (empty tiles: smallest largest
        probability first).

    Returns
    -------
    selection : Selection
    """
    if top is not None or share is not None:
        return _ranked_candidates(scores, top=top, share=share, rank=rank, empty_share=empty_share,
                                  eligible=eligible)
    criteria = _criteria(criterion)
    min_agreement = _check_fraction(min_agreement, "min_agreement")
    max_uncertain = _check_fraction(max_uncertain, "max_uncertain")
    confident_share = _check_fraction(confident_share, "confident_share")
    if empty_share is not None:
        empty_share = _check_fraction(empty_share, "empty_share")
    if limit is not None and int(limit) < 0:
        raise SaltviewerError(f"limit must be a non-negative number of tiles, got {limit!r}.")
    n, m = len(scores), scores.members
    allowed, blank = _eligible(scores, eligible)
    confident = scores.confident
    stats = {"scored": n, "eligible": int(allowed.sum()), "blank_images_skipped": int(blank.sum()),
             "criteria": list(criteria), "empty_share_target": empty_share,
             "thresholds": {"min_agreement": min_agreement, "max_uncertain": max_uncertain,
                            "confident_share": confident_share}}
    reasons = {}
    salt = np.zeros(n, bool)
    empty = np.zeros(n, bool)
    if "agreement" in criteria:
        empty |= allowed & (scores.presence_votes == 0) & (scores.uncertain <= max_uncertain)
        agreeing = (allowed & (scores.presence_votes == m) & (scores.mean_iou >= min_agreement)
                    & (scores.uncertain <= max_uncertain) & (scores.coverage > 0))
        salt |= agreeing
        for k in np.flatnonzero(agreeing):
            reasons[k] = ["confident-salt", (
                f"all {m} models predict salt ({_percent(scores.coverage[k])} of the tile), mean IoU "
                f"{scores.mean_iou[k]:.3f} (least {scores.min_iou[k]:.3f}); "
                f"{_percent(confident[k])} of pixels confident")]
    if "pixel-confidence" in criteria:
        sure = allowed & (confident >= confident_share) & (scores.coverage > 0)
        for k in np.flatnonzero(sure):
            text = (f"{_percent(confident[k])} of pixels confident (p < {scores.uncertain_range[0]:g} or "
                    f"p > {scores.uncertain_range[1]:g}), consensus {_percent(scores.coverage[k])} salt, "
                    f"{scores.presence_votes[k]} of {m} models predict salt")
            if k in reasons:
                reasons[k][0] += "+pixel-confidence"
                reasons[k][1] += f"; also {text}"
            else:
                reasons[k] = ["pixel-confidence", text]
        salt |= sure
    for k in np.flatnonzero(empty):
        reasons[k] = ["confident-empty", (
            f"no model of {m} predicts salt; {_percent(confident[k])} of pixels confident, "
            f"largest consensus p {scores.max_probability[k]:.2f}")]
    salt_order = np.flatnonzero(salt)
    salt_order = salt_order[np.lexsort((np.array(scores.ids)[salt_order], scores.uncertain[salt_order],
                                        -scores.mean_iou[salt_order]))]
    empty_order = np.flatnonzero(empty)
    empty_order = empty_order[np.lexsort((np.array(scores.ids)[empty_order], scores.uncertain[empty_order],
                                          scores.max_probability[empty_order]))]
    n_salt, n_empty = len(salt_order), len(empty_order)
    stats.update(eligible_salt=n_salt, eligible_empty=n_empty)
    if empty_share is not None:
        if empty_share >= 1:
            n_salt = 0
        elif empty_share == 0:
            n_empty = 0
        else:
            wanted_empty = int(round(n_salt * empty_share / (1 - empty_share)))
            if wanted_empty <= n_empty:
                n_empty = wanted_empty
            else:
                n_salt = min(n_salt, int(round(n_empty * (1 - empty_share) / empty_share)))
    if limit is not None and n_salt + n_empty > int(limit):
        total = n_salt + n_empty
        keep_empty = int(round(int(limit) * n_empty / total))
        n_salt, n_empty = int(limit) - keep_empty, keep_empty
    stats.update(dropped_salt=len(salt_order) - n_salt, dropped_empty=len(empty_order) - n_empty)
    positions = np.concatenate([salt_order[:n_salt], empty_order[:n_empty]]).astype(np.int64)
    selection = Selection(positions=positions, indices=scores.indices[positions],
                          ids=[scores.ids[k] for k in positions], criteria=[reasons[k][0] for k in positions],
                          reasons=[reasons[k][1] for k in positions],
                          empty=np.r_[np.zeros(n_salt, bool), np.ones(n_empty, bool)], stats=stats)
    stats["empty_share_achieved"] = selection.empty_share if len(selection) else None
    return selection


def _eligible(scores, eligible):
    """(allowed, blank): the tiles that may be chosen (never blank images), and the blank ones left out."""
    n = len(scores)
    allowed = np.ones(n, bool) if eligible is None else np.asarray(eligible, bool).copy()
    if allowed.shape != (n,):
        raise SaltviewerError(f"eligible: expected {n} flags, got shape {allowed.shape}.")
    blank = allowed & scores.blank
    return allowed & ~scores.blank, blank


def _ranked_candidates(scores, *, top, share, rank, empty_share, eligible):
    if top is not None and share is not None:
        raise SaltviewerError("give top or share, not both.")
    if rank not in RANKS:
        raise SaltviewerError(f"rank must be one of {', '.join(RANKS)}, got {rank!r}.")
    if empty_share is not None:
        empty_share = _check_fraction(empty_share, "empty_share")
    n, m = len(scores), scores.members
    allowed, blank = _eligible(scores, eligible)
    if share is not None:
        wanted = int(round(_check_fraction(share, "share") * int(allowed.sum())))
    else:
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
            raise SaltviewerError(f"top must be a number of tiles >= 0, got {top!r}.")
        wanted = int(top)
    ids = np.array(scores.ids)
    salt = np.flatnonzero(allowed & (scores.presence_votes == m) & (scores.coverage > 0))
    empty = np.flatnonzero(allowed & (scores.presence_votes == 0) & (scores.coverage == 0))
    if rank == "expected-iou":
        salt = salt[np.lexsort((ids[salt], -scores.mean_iou[salt], -scores.expected_iou[salt]))]
        empty = empty[np.lexsort((ids[empty], scores.max_probability[empty], scores.expected_salt[empty]))]
    else:
        agreement = scores.mean_iou * (1 - scores.uncertain)      # agreeing on uncertain pixels is no agreement
        salt = salt[np.lexsort((ids[salt], scores.uncertain[salt], -agreement[salt]))]
        empty = empty[np.lexsort((ids[empty], scores.uncertain[empty], scores.max_probability[empty]))]
    if empty_share is None:     # one ranking of both kinds: by the ranking key
        key = np.full(n, np.inf)
        if rank == "expected-iou":
            key[salt], key[empty] = -scores.expected_iou[salt], -scores.expected_iou[empty]
        else:
            key[salt], key[empty] = -agreement[salt], scores.max_probability[empty] - 1
        both = np.concatenate([salt, empty])
        both = both[np.lexsort((ids[both], key[both]))][:wanted]
        n_salt = int(np.isin(both, salt).sum())
        n_empty = len(both) - n_salt
        salt, empty = both[np.isin(both, salt)], both[~np.isin(both, salt)]
    else:
        n_empty = min(len(empty), int(round(wanted * empty_share)))
        n_salt = min(len(salt), wanted - int(round(wanted * empty_share)))
        if 0 < empty_share < 1:     # one kind ran short: fewer of the other, so the share holds
            n_empty = min(n_empty, int(round(n_salt * empty_share / (1 - empty_share))))
            n_salt = min(n_salt, int(round(n_empty * (1 - empty_share) / empty_share)))
    positions = np.concatenate([salt[:n_salt], empty[:n_empty]]).astype(np.int64)
    how = ("expected IoU of the consensus" if rank == "expected-iou" else "agreement of the members")
    reasons, criteria = [], []
    for r, k in enumerate(salt[:n_salt]):
        criteria.append("confident-salt")
        reasons.append(f"rank {r + 1} of {len(salt)} salt tiles by {how}: all {m} models predict salt "
                       f"({_percent(scores.coverage[k])}), mean IoU {scores.mean_iou[k]:.3f}, expected IoU "
                       f"{scores.expected_iou[k]:.3f}")
    for r, k in enumerate(empty[:n_empty]):
        criteria.append("confident-empty")
        reasons.append(f"rank {r + 1} of {len(empty)} empty tiles by {how}: no model of {m} predicts salt, "
                       f"expected salt {_percent(scores.expected_salt[k])}, largest p {scores.max_probability[k]:.2f}")
    stats = {"scored": n, "eligible": int(allowed.sum()), "blank_images_skipped": int(blank.sum()),
             "criteria": [f"ranked by {rank}"], "empty_share_target": empty_share, "rank": rank,
             "wanted": wanted, "eligible_salt": int(len(salt)), "eligible_empty": int(len(empty)),
             "dropped_salt": int(len(salt) - n_salt), "dropped_empty": int(len(empty) - n_empty),
             "thresholds": {"top": top, "share": share, "rank": rank}}
    selection = Selection(positions=positions, indices=scores.indices[positions],
                          ids=[scores.ids[k] for k in positions], criteria=criteria, reasons=reasons,
                          empty=np.r_[np.zeros(n_salt, bool), np.ones(n_empty, bool)], stats=stats)
    stats["empty_share_achieved"] = selection.empty_share if len(selection) else None
    return selection


def _criteria(criterion):
    if isinstance(criterion, str):
        criterion = CRITERIA if criterion == "both" else (criterion,)
    criteria = tuple(dict.fromkeys(criterion))
    bad = [c for c in criteria if c not in CRITERIA]
    if bad or not criteria:
        shown = bad[0] if bad else criterion
        raise SaltviewerError(f"criterion must be 'agreement', 'pixel-confidence' or 'both', got {shown!r}.")
    return criteria


def select_label_errors(scores, *, min_agreement=0.8, max_truth_iou=0.5):
    """Labelled tiles whose training mask the whole ensemble contradicts.

    Needs two members or more (with one, nothing is chosen). Chosen where every member agrees
    on salt presence, their masks agree (mean pairwise
    IoU at least `min_agreement`), and the consensus mask has an IoU of at most
    `max_truth_iou` with the training mask (precision 0 in the competition metric).

    Parameters
    ----------
    scores : EnsembleScores
        Scored with ``truth=True``; tiles without a mask are ignored.

    Returns
    -------
    selection : Selection
        Most contradicted first.
    """
    min_agreement = _check_fraction(min_agreement, "min_agreement")
    max_truth_iou = _check_fraction(max_truth_iou, "max_truth_iou")
    m = scores.members
    with np.errstate(invalid="ignore"):
        chosen = (scores.labelled & ~scores.presence_disagreement & (scores.mean_iou >= min_agreement)
                  & (scores.truth_iou <= max_truth_iou) & ~scores.blank)
    if m < 2:
        chosen[:] = False       # one model contradicting a mask is its own error as often as the mask's
    positions = np.flatnonzero(chosen)
    positions = positions[np.lexsort((np.array(scores.ids)[positions], -scores.mean_iou[positions],
                                      scores.truth_iou[positions]))]
    reasons = []
    for k in positions:
        truth, cover = scores.truth_coverage[k], scores.coverage[k]
        if truth == 0:
            text = f"the training mask is empty, but all {m} models predict salt ({_percent(cover)} of the tile)"
        elif cover == 0:
            text = f"the training mask has salt ({_percent(truth)} of the tile), but no model of {m} predicts any"
        else:
            text = (f"the {m} models agree (mean IoU {scores.mean_iou[k]:.3f}) on a mask with IoU "
                    f"{scores.truth_iou[k]:.3f} with the training mask ({_percent(cover)} vs {_percent(truth)} salt)")
        reasons.append(text)
    return Selection(positions=positions.astype(np.int64), indices=scores.indices[positions],
                     ids=[scores.ids[k] for k in positions], criteria=["label-error"] * len(positions),
                     reasons=reasons, empty=scores.coverage[positions] == 0,
                     stats={"labelled": int(scores.labelled.sum()), "flagged": int(len(positions)),
                            "thresholds": {"min_agreement": min_agreement, "max_truth_iou": max_truth_iou}})


def select_for_review(scores, count, *, eligible=None, exclude=()):
    """The `count` tiles the members disagree on most, for a person to draw.

    Parameters
    ----------
    scores : EnsembleScores
    count : int
    eligible : (n,) array of bool, optional
    exclude : collection of int
        Positions into the scores to leave out (e.g. tiles already chosen).

    Returns
    -------
    selection : Selection
    """
    count = int(count)
    if count < 0:
        raise SaltviewerError(f"review count must be >= 0, got {count}.")
    allowed = np.ones(len(scores), bool) if eligible is None else np.asarray(eligible, bool).copy()
    allowed &= ~scores.blank
    allowed[list(exclude)] = False
    order = [k for k in scores.order() if allowed[k]]
    order = [k for k in order if scores.mean_iou[k] < 1 or scores.pixel_disagreement[k] > 0][:count]
    m = scores.members
    reasons = [f"the models disagree: mean IoU {scores.mean_iou[k]:.3f}, {scores.presence_votes[k]} of {m} predict "
               f"salt, {_percent(scores.pixel_disagreement[k])} of pixels split" for k in order]
    positions = np.array(order, np.int64)
    return Selection(positions=positions, indices=scores.indices[positions], ids=[scores.ids[k] for k in positions],
                     criteria=["disagreement"] * len(positions), reasons=reasons,
                     empty=scores.coverage[positions] == 0, stats={"review": len(positions)})


def labelled_empty_share(dataset):
    """Share of empty masks among a dataset's labelled tiles, or None without labels."""
    labelled = np.flatnonzero(dataset.has_mask)
    if not len(labelled):
        return None
    empty = 0
    for start in range(0, len(labelled), 1024):
        masks = dataset.masks(labelled[start:start + 1024])
        empty += int(np.count_nonzero(~masks.reshape(len(masks), -1).any(axis=1)))
    return empty / len(labelled)


def versions_with_predictions(workspace, dataset):
    """Model versions that have stored predictions for the dataset, oldest first."""
    workspace = as_workspace(workspace)
    return [v for v in workspace.versions() if workspace.has_predictions(v, dataset)]


@dataclass
class PseudoLabelReport:
    """What `propose_pseudo_labels` found and did (see `lines` for a printable summary)."""

    versions: tuple
    thresholds: list
    unlabelled: int
    labelled: int
    candidates: Selection
    label_errors: Selection
    review: Selection
    empty_share_source: str
    store: object = None
    queue: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    crf: bool = False
    calibrated: tuple = ()          # per member: read through its calibration table

    def lines(self):
        """The summary, one line per fact."""
        c = self.candidates
        stats = c.stats
        calibrated = self.calibrated or (False,) * len(self.versions)
        members = [f"{v} (threshold {t:g}{', calibrated' if c else ''})"
                   for v, t, c in zip(self.versions, self.thresholds, calibrated)]
        out = [f"models: {', '.join(members)}",
               f"scored: {self.unlabelled} unlabelled and {self.labelled} labelled tiles in {self.seconds:.1f} s"]
        counts = c.counts()
        shown = ", ".join(f"{counts[k]} {k}" for k in sorted(counts)) or "none"
        out.append(f"candidates: {len(c)} ({shown}) from criteria {', '.join(stats['criteria'])}")
        target = stats["empty_share_target"]
        if target is None:
            out.append(f"empty share: {_share(c.empty_share)} (not held)")
        else:
            out.append(f"empty share: {_share(c.empty_share)} (target {target:.1%}, {self.empty_share_source}); "
                       f"eligible {stats['eligible_empty']} empty and {stats['eligible_salt']} salt, "
                       f"dropped {stats['dropped_empty']} empty and {stats['dropped_salt']} salt")
        if stats.get("blank_images_skipped"):
            out.append(f"blank images skipped: {stats['blank_images_skipped']}")
        if self.labelled:
            out.append(f"likely label errors: {len(self.label_errors)} of {self.labelled} labelled tiles")
        if len(self.review):
            out.append(f"most disagreed tiles queued for drawing: {len(self.review)}")
        if self.crf:
            out.append("proposed masks: consensus refined by the dense CRF")
        if self.dry_run:
            out.append("dry run: nothing was written to the store")
        elif self.store is not None:
            s = self.store
            out.append(f"store: {s.added} added, {s.updated} updated, {s.unchanged} unchanged, "
                       f"{s.kept_decided} already decided (kept); revision {s.revision}")
            out.append(f"queue: {self.queue} items await review")
        return out


def _share(value):
    return "n/a" if value != value else f"{value:.1%}"


def propose_pseudo_labels(workspace, dataset, versions=None, *, store=None, criterion="agreement",
                          empty_share="auto", min_agreement=0.9, max_uncertain=0.05, confident_share=0.9,
                          limit=None, label_errors=True, label_min_agreement=0.8, max_truth_iou=0.5, review=0,
                          crf=None, dry_run=False, user=None, chunk=64, progress=None, top=None, share=None,
                          rank=DEFAULT_RANK):
    """Score the ensemble, choose candidates and propose them into the curation store.

    Parameters
    ----------
    workspace : Workspace or path
    dataset : Dataset
    versions : str or sequence of str, optional
        Members; by default every version with predictions for the dataset.
    store : CurationStore, optional
        By default the workspace's store.
    empty_share : "auto", float or None
        ``"auto"``: the labelled set's share of empty masks (`TGS_EMPTY_SHARE` when the
        dataset has no labels); a float; or None not to hold any share.
    label_errors : bool
        Also propose likely label errors among the labelled tiles (``"label"`` items).
    review : int
        Also queue this many of the most disagreed unlabelled tiles (criterion
        ``"disagreement"``) for a person to draw.
    crf : bool, optional
        Refine the proposed masks with the dense CRF (`saltviewer.crf`); by default what
        the CRF benchmark found best (`saltviewer.crf.CRF_DEFAULT`). Scores and selection
        use the plain consensus either way.
    dry_run : bool
        Choose and report, write nothing.

    top, share, rank
        Ranked selection instead of thresholds (see `select_candidates`).

    Other parameters are those of `select_candidates` and `select_label_errors`.

    Returns
    -------
    report : PseudoLabelReport
    """
    start = time.perf_counter()
    workspace = as_workspace(workspace)
    if crf is None:
        from .crf import CRF_DEFAULT, crf_available

        crf = CRF_DEFAULT and crf_available()
    elif crf:
        from .crf import CRF_MISSING, crf_available

        if not crf_available():
            raise SaltviewerError(CRF_MISSING + ".")
    if versions is None:
        versions = versions_with_predictions(workspace, dataset)
        if not versions:
            known = ", ".join(workspace.versions()) or "none"
            raise SaltviewerError(f"no model version in {workspace.path} has predictions for {dataset.root} "
                                  f"(versions: {known}); run `saltviewer predict` first.")
    ensemble = Ensemble(workspace, dataset, versions)
    if empty_share == "auto":
        held = labelled_empty_share(dataset)
        if held is None:
            held, source = TGS_EMPTY_SHARE, "the competition's share; this dataset has no labels"
        else:
            source = f"share of empty masks among the {int(dataset.has_mask.sum())} labelled tiles"
    elif empty_share is None:
        held, source = None, "not held"
    else:
        held, source = _check_fraction(empty_share, "empty_share"), "as asked"
    unlabelled = np.flatnonzero(~dataset.has_mask)
    # label checks cover the labelled tiles every member predicted (some may have run on the test split only)
    labelled = np.flatnonzero(dataset.has_mask & ensemble.predicted) if label_errors else np.array([], np.int64)
    scores = ensemble.scores(np.concatenate([unlabelled, labelled]), chunk=chunk, truth=bool(label_errors),
                             images=True, progress=progress)
    pool = np.zeros(len(scores), bool)
    pool[:len(unlabelled)] = True
    candidates = select_candidates(scores, criterion, empty_share=held, min_agreement=min_agreement,
                                   max_uncertain=max_uncertain, confident_share=confident_share, limit=limit,
                                   eligible=pool, top=top, share=share, rank=rank)
    errors = select_label_errors(scores, min_agreement=label_min_agreement, max_truth_iou=max_truth_iou)
    chosen = set(candidates.positions.tolist())
    for_review = select_for_review(scores, review, eligible=pool, exclude=chosen)
    report = PseudoLabelReport(versions=ensemble.versions, thresholds=[float(t) for t in ensemble.thresholds],
                               unlabelled=len(unlabelled), labelled=len(labelled), candidates=candidates,
                               label_errors=errors, review=for_review, empty_share_source=source, dry_run=dry_run,
                               crf=bool(crf), calibrated=tuple(c is not None for c in ensemble.calibrations))
    if not dry_run:
        proposals = []
        for selection, kind in ((candidates, "pseudo"), (for_review, "pseudo"), (errors, "label")):
            proposals.extend(_proposals(ensemble, scores, selection, kind, crf=crf))
        own = store is None
        store = store or CurationStore(workspace.store_path)
        try:
            report.store = store.propose(dataset, proposals, user=user)
            report.queue = len(store.queue(dataset))
        finally:
            if own:
                store.close()
    report.seconds = time.perf_counter() - start
    return report


def _proposals(ensemble, scores, selection, kind, crf=False):
    if not len(selection):
        return []
    masks = {}
    for positions, probability, mask in ensemble.consensus(selection.indices):
        if crf:
            from .crf import CRF_PARAMETERS, refine_with_crf

            images = ensemble.dataset.images(positions)
            mask = refine_with_crf(probability, images, **CRF_PARAMETERS) > 0.5
        masks.update(zip(positions.tolist(), mask))
    proposals = []
    for k, position, criterion, reason in zip(range(len(selection)), selection.positions, selection.criteria,
                                              selection.reasons):
        row = scores.row(position)
        row["criterion"] = criterion
        if crf:
            row["mask"] = "consensus refined by dense CRF"
        if "thresholds" in selection.stats:
            row["rule"] = selection.stats["thresholds"]
        if kind == "label":
            disagreement = 1 - float(scores.truth_iou[position])
        else:
            disagreement = float(scores.disagreement[position])
        proposals.append(Proposal(
            tile=selection.ids[k], mask=masks[int(selection.indices[k])], criterion=criterion, reason=reason,
            models=ensemble.versions, scores=row, kind=kind, disagreement=round(disagreement, 6),
            agreement=round(float(scores.mean_iou[position]), 6),
            uncertain=round(float(scores.uncertain[position]), 6)))
    return proposals
