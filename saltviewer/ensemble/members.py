"""An ensemble of model versions opened on one dataset: reading the stored maps, scoring, one tile."""

import math
import os

import numpy as np

from .._errors import SaltviewerError
from ..calibration import version_calibration
from ..rle import TILE_SHAPE
from ..workspace import as_workspace
from .levels import PIXELS, UNCERTAIN_RANGE, check_threshold, default_consensus_threshold, probability_level
from .scores import EnsembleScores, TileView, empty_scores, truth_scores

__all__ = ["Ensemble", "ensemble_scores", "ensemble_tile"]

_PACKED_WORDS = -(-PIXELS // 64)          # 160 uint64 words hold the 10,201 bits of a mask
_PACKED_BYTES = _PACKED_WORDS * 8


class Ensemble:
    """The members' stored probability maps for one dataset, opened once.

    Parameters
    ----------
    workspace : Workspace or path
    dataset : Dataset
    versions : str or sequence of str
        Version names, or ``"all"`` / ``"latest"`` (see `Workspace.resolve_models`).
    thresholds : sequence of float, optional
        One per member; by default each card's ``threshold`` (0.5 when absent).
    consensus_threshold : float, optional
        Threshold on the consensus probability; by default the mean of the members' (each
        carried through its calibration table when the members are calibrated).
    uncertain_range : (float, float)
        Consensus probabilities in this closed range are uncertain pixels.
    min_areas : sequence of int, optional
        One per member: a member's mask with fewer salt pixels is empty (the rule its
        submissions follow); by default each card's ``min_area`` (0 when absent).
    consensus_min_area : int, optional
        The same rule for the consensus mask; by default the members' mean.
    calibrate : bool
        Read each member's maps through its calibration table (`saltviewer.calibration`,
        fitted on its out-of-fold predictions) before they make the consensus probability,
        the uncertain pixels and the heat map; members without out-of-fold predictions are
        read as they are. The members' own masks always use their raw maps and thresholds.

    Raises
    ------
    SaltviewerError
        If a version is unknown, has no predictions for the dataset, or a threshold is
        not in [0, 1].
    """

    def __init__(self, workspace, dataset, versions="all", thresholds=None, consensus_threshold=None,
                 uncertain_range=UNCERTAIN_RANGE, min_areas=None, consensus_min_area=None, calibrate=True):
        self.workspace = as_workspace(workspace)
        self.dataset = dataset
        self.versions = tuple(self.workspace.resolve_models(versions))
        cards = [self.workspace.card(v) for v in self.versions]
        if thresholds is None:
            thresholds = [card.get("threshold", 0.5) for card in cards]
            thresholds = [0.5 if t is None else t for t in thresholds]
            where = [f"card of {v}" for v in self.versions]
        else:
            thresholds = list(thresholds)
            if len(thresholds) != len(self.versions):
                raise SaltviewerError(f"thresholds: need one per member ({len(self.versions)}), got {len(thresholds)}.")
            where = ["thresholds"] * len(thresholds)
        self.thresholds = np.array([check_threshold(t, w) for t, w in zip(thresholds, where)])
        # Each member's maps go through its calibration table (saltviewer.calibration) before
        # they are summed into the consensus; its own mask keeps its own threshold on its raw map.
        self.calibrations = [version_calibration(self.workspace, v, dataset, card=card) if calibrate else None
                             for v, card in zip(self.versions, cards)]
        identity = np.arange(256, dtype=np.uint8)
        self._luts = (None if all(c is None for c in self.calibrations)
                      else np.stack([identity if c is None else c for c in self.calibrations]))
        if consensus_threshold is None:
            consensus_threshold = default_consensus_threshold(self.thresholds, self._luts)
        self.consensus_threshold = check_threshold(consensus_threshold, "consensus_threshold")
        low, high = (float(x) for x in uncertain_range)
        if not 0 <= low <= high <= 1:
            raise SaltviewerError(f"uncertain_range: need 0 <= low <= high <= 1, got {uncertain_range!r}.")
        self.uncertain_range = (low, high)
        # A mask with fewer salt pixels than its version's tuned minimum area is empty, as in
        # the version's submissions (weak models scatter specks of salt over empty tiles).
        if min_areas is None:
            min_areas = [card.get("min_area") or 0 for card in cards]
        min_areas = list(min_areas)
        if len(min_areas) != len(self.versions) or any(not 0 <= int(a) <= PIXELS for a in min_areas):
            raise SaltviewerError(f"min_areas: need one area in 0..{PIXELS} per member ({len(self.versions)}), "
                                  f"got {min_areas!r}.")
        self.min_areas = np.array([int(a) for a in min_areas], np.int64)
        if consensus_min_area is None:
            consensus_min_area = int(round(float(self.min_areas.mean()))) if len(self.min_areas) else 0
        if not 0 <= int(consensus_min_area) <= PIXELS:
            raise SaltviewerError(f"consensus_min_area: need 0..{PIXELS}, got {consensus_min_area!r}.")
        self.consensus_min_area = int(consensus_min_area)
        self.maps = [self.workspace.open_predictions(v, dataset) for v in self.versions]
        # tiles some member never predicted (it ran on one split only) hold zeros, not predictions
        predicted = {v: self.workspace.predicted_tiles(v, dataset) for v in self.versions}
        self._unpredicted = {v: ~done for v, done in predicted.items() if not done.all()}
        #: (N,) bool: the tiles every member has predicted (others cannot be scored)
        self.predicted = np.logical_and.reduce([np.ones(len(dataset), bool), *predicted.values()])
        # Chunks are read through descriptors of the very files mapped (a version's predictions
        # rewritten meanwhile replace the name, not these), with positional reads (thread-safe).
        self._files = [os.open(maps.filename, os.O_RDONLY) for maps in self.maps]
        m = len(self.versions)
        self._member_levels = np.array([probability_level(t) for t in self.thresholds], np.uint8)
        self._consensus_level = probability_level(self.consensus_threshold, m)
        # consensus p < low  <=>  sum < ceil(255 m low);  consensus p > high  <=>  sum > floor(255 m high)
        self._low_level = int(math.ceil(round(low * 255 * m, 6)))
        self._high_level = probability_level(high, m)

    def __repr__(self):
        return f"<Ensemble of {len(self.versions)} ({', '.join(self.versions)}) on {len(self.dataset)} tiles>"

    def __len__(self):
        return len(self.versions)

    # ------------------------------------------------------------------ reading
    def close(self):
        """Close the prediction files (also done when the ensemble is garbage-collected)."""
        for fd in getattr(self, "_files", ()):
            try:
                os.close(fd)
            except OSError:
                pass
        self._files = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _read(self, indices, out):
        """Fill ``out[:, :k]`` with the members' maps of the tiles at sorted `indices`."""
        k = len(indices)
        contiguous = k and indices[-1] - indices[0] == k - 1
        if contiguous and not self._files:
            raise SaltviewerError("this Ensemble has been closed.")
        for member, maps in enumerate(self.maps):
            if contiguous:
                # Read through the file rather than the mapping, so that the pages read do not
                # stay resident in this process (the page cache keeps them for the next pass).
                target = out[member, :k].reshape(-1)          # a view: out is C-contiguous
                offset = maps.offset + int(indices[0]) * PIXELS
                done = 0
                while done < target.nbytes:
                    got = os.preadv(self._files[member], [memoryview(target)[done:]], offset + done)
                    if not got:
                        raise SaltviewerError(f"{maps.filename}: ends early; the predictions file is damaged.")
                    done += got
            else:
                out[member, :k] = maps[indices].reshape(k, -1)
        return out[:, :k]

    def _check_predicted(self, indices):
        for version, missing in self._unpredicted.items():
            lacking = np.flatnonzero(missing[indices])
            if len(lacking):
                first = self.dataset.ids[int(indices[lacking[0]])]
                raise SaltviewerError(
                    f"model version {version} has no predictions for {len(lacking)} of the {len(indices)} tiles asked "
                    f"for (first {first}); run `saltviewer predict {self.dataset.root} --workspace "
                    f"{self.workspace.path} --models {version}`.")

    # ------------------------------------------------------------------ scoring
    def scores(self, indices=None, chunk=64, truth=True, images=False, progress=None):
        """Score tiles, streaming over chunks.

        Parameters
        ----------
        indices : (n,) array of int or sequence of str, optional
            Dataset positions or tile ids; all tiles by default.
        chunk : int
            Tiles read at a time (memory is about ``chunk * 10201 * (3 m + 6)`` bytes; 64
            tiles, 13 MB with 5 members, was fastest in benchmarks/bench_ensemble.py).
        truth : bool
            Compare the consensus mask with the ground truth where the tile has one.
        images : bool
            Read the images to flag blank tiles (fast once the dataset uses its cache).
        progress : callable, optional
            Called as ``progress(done, total)`` after each chunk.

        Returns
        -------
        scores : EnsembleScores
        """
        indices = self._indices(indices)
        self._check_predicted(indices)
        n, m = len(indices), len(self.versions)
        chunk = max(1, int(chunk))
        result = empty_scores(n, m)
        order = np.argsort(indices, kind="stable")
        buffer = np.empty((m, min(chunk, max(n, 1)), PIXELS), np.uint8)
        with_truth = truth and bool(np.any(self.dataset.has_mask[indices]))
        for start in range(0, n, chunk):
            positions = order[start:start + chunk]
            sel = indices[positions]
            block = self._read(sel, buffer)
            part, consensus = self._score_block(block)
            for name, values in part.items():
                result[name][positions] = values
            if with_truth:
                labelled = self.dataset.has_mask[sel]
                if labelled.any():
                    truth_masks = self.dataset.masks(sel[labelled]).reshape(int(labelled.sum()), -1)
                    truth_scores(result, positions[labelled], consensus[labelled], truth_masks)
            if images:
                tiles = self.dataset.images(sel).reshape(len(sel), -1)
                result["blank"][positions] = (tiles.max(axis=1).astype(np.int16) - tiles.min(axis=1)) <= 1
            if progress is not None:
                progress(min(start + chunk, n), n)
        ids = self.dataset.ids
        return EnsembleScores(indices=indices, ids=tuple(ids[i] for i in indices), versions=self.versions,
                              thresholds=self.thresholds.copy(), uncertain_range=self.uncertain_range,
                              images_checked=bool(images), **result)

    def _indices(self, indices):
        if indices is None:
            return np.arange(len(self.dataset), dtype=np.int64)
        indices = list(indices) if not isinstance(indices, np.ndarray) else indices
        if len(indices) and isinstance(indices[0], str):
            indices = [self.dataset.index(i) for i in indices]
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.dataset)):
            bad = indices[(indices < 0) | (indices >= len(self.dataset))][0]
            raise SaltviewerError(f"indices: position {bad} is out of range for {len(self.dataset)} tiles.")
        return indices

    def _calibrate(self, block):
        """The (m, ...) uint8 maps through the members' calibration tables (as they are without)."""
        if self._luts is None:
            return block
        out = np.empty_like(block)
        for member in range(len(block)):
            np.take(self._luts[member], block[member], out=out[member])
        return out

    def _member_masks(self, block):
        """(m, k, P) bool: each member's masks of the (m, k, P) uint8 maps, small ones emptied."""
        masks = block > self._member_levels[:, None, None]
        if self.min_areas.any():
            masks[np.count_nonzero(masks, axis=2) < self.min_areas[:, None]] = False
        return masks

    def _consensus_masks(self, total):
        """Consensus masks of the members' summed maps (k, ...), small ones emptied."""
        consensus = total > self._consensus_level
        if self.consensus_min_area:
            area = np.count_nonzero(consensus.reshape(len(consensus), -1), axis=1)
            consensus[area < self.consensus_min_area] = False
        return consensus

    def _score_block(self, block):
        """Scores of the tiles in `block`, (m, k, P) uint8, and their consensus masks (k, P)."""
        m, k, _ = block.shape
        masks = self._member_masks(block)
        block = self._calibrate(block)
        packed = np.zeros((m, k, _PACKED_BYTES), np.uint8)
        packed[..., :(PIXELS + 7) // 8] = np.packbits(masks, axis=2)
        words = packed.view(np.uint64)
        counts = np.bitwise_count(words).sum(axis=2, dtype=np.int64)          # (m, k)
        if m > 1:
            ious = []
            for a in range(m):
                for b in range(a + 1, m):
                    inter = np.bitwise_count(words[a] & words[b]).sum(axis=1, dtype=np.int64)
                    union = counts[a] + counts[b] - inter
                    ious.append(np.where(union == 0, 1.0, inter / np.maximum(union, 1)))
            ious = np.array(ious)
            mean_iou, min_iou = ious.mean(axis=0), ious.min(axis=0)
            anyone = np.bitwise_or.reduce(words, axis=0)
            everyone = np.bitwise_and.reduce(words, axis=0)
            split = np.bitwise_count(anyone & ~everyone).sum(axis=1, dtype=np.int64)
        else:
            mean_iou = min_iou = np.ones(k)
            split = np.zeros(k, np.int64)
        total = block[0].astype(np.uint16)
        for member in range(1, m):
            total += block[member]
        consensus = self._consensus_masks(total)
        uncertain = np.count_nonzero((total >= self._low_level) & (total <= self._high_level), axis=1)
        scale = 255.0 * m
        mass = total.sum(axis=1, dtype=np.int64) / scale                       # expected salt pixels
        inside = np.where(consensus, total, 0).sum(axis=1, dtype=np.int64) / scale
        area = np.count_nonzero(consensus, axis=1)
        expected_iou = np.where(area > 0, inside / np.maximum(area + (mass - inside), 1e-9),
                                np.clip(1.0 - mass / PIXELS * 100.0, 0.0, 1.0))
        part = {
            "coverage": np.count_nonzero(consensus, axis=1) / PIXELS,
            "member_coverage": (counts / PIXELS).T,
            "mean_iou": mean_iou,
            "min_iou": min_iou,
            "uncertain": uncertain / PIXELS,
            "pixel_disagreement": split / PIXELS,
            "presence_votes": np.count_nonzero(counts > 0, axis=0),
            "max_probability": total.max(axis=1) / (255.0 * m),
            "expected_iou": expected_iou,
            "expected_salt": mass / PIXELS,
        }
        return part, consensus

    # ------------------------------------------------------------------ one tile
    def tile(self, tile):
        """Consensus, members and pixel disagreement of one tile, for display.

        Parameters
        ----------
        tile : str or int
            Tile id or dataset position.

        Returns
        -------
        view : TileView
        """
        i = self.dataset.index(tile)
        self._check_predicted(np.array([i]))
        m = len(self.versions)
        block = np.empty((m, 1, PIXELS), np.uint8)
        for member, maps in enumerate(self.maps):
            block[member, 0] = maps[i].reshape(-1)
        part, consensus = self._score_block(block)
        result = empty_scores(1, m)
        for name, values in part.items():
            result[name][:] = values
        truth = self.dataset.mask(i)
        if truth is not None:
            truth_scores(result, np.array([0]), consensus, truth.reshape(1, -1))
        scores = EnsembleScores(indices=np.array([i]), ids=(self.dataset.ids[i],), versions=self.versions,
                                thresholds=self.thresholds, uncertain_range=self.uncertain_range,
                                **result).row(0)
        maps = block[:, 0].reshape((m,) + TILE_SHAPE)
        probabilities = self._calibrate(maps).astype(np.float32) / 255
        member_masks = self._member_masks(maps.reshape(m, 1, PIXELS)).reshape((m,) + TILE_SHAPE)
        votes = member_masks.sum(axis=0, dtype=np.uint8)
        return TileView(
            index=i, id=self.dataset.ids[i], versions=self.versions, probabilities=probabilities,
            member_masks=member_masks, probability=probabilities.mean(axis=0),
            mask=consensus.reshape(TILE_SHAPE), votes=votes,
            disagreement=(np.minimum(votes, m - votes) / m).astype(np.float32),
            spread=probabilities.std(axis=0), truth=truth, scores=scores)

    def consensus(self, indices, chunk=256):
        """Consensus probabilities and masks of some tiles, chunk by chunk.

        Parameters
        ----------
        indices : (n,) array of int
            Dataset positions (any order).
        chunk : int

        Yields
        ------
        positions : (k,) ndarray of int64
            Dataset positions of this chunk, in the order given.
        probability : (k, 101, 101) ndarray of float32
        mask : (k, 101, 101) ndarray of bool
        """
        indices = self._indices(indices)
        m = len(self.versions)
        buffer = np.empty((m, min(chunk, max(len(indices), 1)), PIXELS), np.uint8)
        for start in range(0, len(indices), chunk):
            wanted = indices[start:start + chunk]
            order = np.argsort(wanted, kind="stable")
            block = self._calibrate(self._read(wanted[order], buffer))
            total = block[0].astype(np.uint16)
            for member in range(1, m):
                total += block[member]
            back = np.empty_like(order)
            back[order] = np.arange(len(order))
            total = total[back].reshape((-1,) + TILE_SHAPE)
            yield wanted, (total / np.float32(255 * m)).astype(np.float32), self._consensus_masks(total)



def ensemble_scores(workspace, dataset, versions="all", indices=None, chunk=64, truth=True, images=False,
                    progress=None, **options):
    """Score tiles by the agreement of an ensemble of model versions.

    A shortcut for ``Ensemble(workspace, dataset, versions, **options).scores(indices, ...)``;
    see `Ensemble` and `EnsembleScores`.

    Returns
    -------
    scores : EnsembleScores
    """
    return Ensemble(workspace, dataset, versions, **options).scores(
        indices, chunk=chunk, truth=truth, images=images, progress=progress)


def ensemble_tile(workspace, dataset, versions, tile, **options):
    """Consensus and disagreement maps of one tile (see `Ensemble.tile`).

    For many calls (a review widget stepping through tiles), keep an `Ensemble` and call
    its `tile` method: that opens the maps once.

    Returns
    -------
    view : TileView
    """
    return Ensemble(workspace, dataset, versions, **options).tile(tile)
