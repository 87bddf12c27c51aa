"""An ensemble of model versions: consensus, disagreement scores and per-tile display maps.

Each member is a model version with stored probability maps (``Workspace.open_predictions``:
``(N, 101, 101)`` uint8 of ``round(p * 255)``). A member's mask is ``p > threshold`` with the
threshold from its card (0.5 when the card has none). The consensus probability is the mean of
the members' probabilities, and the consensus mask is ``consensus > t`` where ``t`` is the mean
of the members' thresholds.

Scores for many tiles are computed in chunks read straight from the files into reused
buffers, so scoring the 18,000-tile pool with five members needs about 12 MB, not the
gigabyte the maps occupy (benchmarks/results/ensemble.json). `Ensemble.tile` gives everything the review widget shows for one
tile in well under a millisecond.

The package, by concept: `levels` (thresholds as integer levels of the uint8 maps, the
consensus threshold), `scores` (`EnsembleScores`, `TileView`) and `members` (`Ensemble`, which
opens the members' maps and scores them, and the shortcuts `ensemble_scores`, `ensemble_tile`).

Examples
--------
>>> ensemble = Ensemble(workspace, dataset, ["v0001", "v0002", "v0003"])   # doctest: +SKIP
>>> scores = ensemble.scores(dataset.indices("test"))                       # doctest: +SKIP
>>> worst = scores.ids_by_disagreement()[:20]                               # doctest: +SKIP
>>> view = ensemble.tile(worst[0])                                          # doctest: +SKIP
"""

from .levels import PIXELS, UNCERTAIN_RANGE, default_consensus_threshold, probability_level
from .members import Ensemble, ensemble_scores, ensemble_tile
from .scores import EnsembleScores, TileView

__all__ = ["Ensemble", "EnsembleScores", "TileView", "ensemble_scores", "ensemble_tile",
           "probability_level", "UNCERTAIN_RANGE"]
