"""Find tiles that continue each other across an edge (kept here for existing imports).

The search lives in `saltviewer.mosaic.search` and the edge compatibility in
`saltviewer.mosaic.compatibility`; see there.
"""

from .mosaic.compatibility import (KINDS, MIN_CONTRAST, EdgeModel, band_contrast, border_features, edge_contrast,
                                  edge_texture, pair_costs)
from .mosaic.links import Candidates, NeighbourPairs
from .mosaic.search import (EPS, LOOP_MAX_NORM, MAX_CONTRAST_CHANGE, MAX_COST, MAX_NORM, MAX_TEXTURE, N_CANDIDATES,
                            N_COMPONENTS, RATIO, find_neighbours, search_candidates)

__all__ = ["KINDS", "NeighbourPairs", "Candidates", "EdgeModel", "find_neighbours", "search_candidates",
           "border_features", "pair_costs", "edge_contrast", "edge_texture", "band_contrast", "RATIO", "MAX_NORM",
           "MAX_COST", "LOOP_MAX_NORM", "MAX_TEXTURE", "MAX_CONTRAST_CHANGE", "MIN_CONTRAST", "N_COMPONENTS", "N_CANDIDATES", "EPS"]
