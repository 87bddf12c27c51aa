"""Mosaics: find the tiles that continue each other, grow them into grids, stitch, check and draw them.

A mosaic is a connected set of at least two tiles on an integer grid (row, col); every tile
sits in one place and every cell holds one tile. The package follows the work:

``compatibility``
    How well two tiles continue each other across an edge (`EdgeModel`, a linear
    prediction of the next line learned from the tiles' insides).
``search``
    Candidates and seeds for every tile side, with a KD-tree (`find_neighbours`,
    `search_candidates`).
``assembly``
    Greedy growth from the seeds with a margin over the runner-up (`grow_mosaics`).
``build``
    The whole of it for a dataset (`build_mosaics`), or mosaics from given pairs.
``grid``, ``files``
    `Mosaic` and `Mosaics` with their lookups and `stitch`; ``pairs.csv`` and
    ``mosaics.json``.
``context``
    Windows of a tile with its placed neighbours' pixels around it (mirrored where none).
``edges``, ``rules``, ``rendering``
    Salt that stops dead at a tile edge; what a tile's salt says about the tile below it
    (post-processing and review items); pictures of mosaics.

Files (``saltviewer mosaic DATA --out DIR``; with ``--workspace WS`` they go to
``WS/mosaics/<dataset key>/`` where the viewer finds them): ``pairs.csv`` (``kind,a,b``,
one row per pair of grid neighbours; ``right`` when `b` lies directly right of `a`,
``below`` when it lies directly below) and ``mosaics.json`` (the mosaics, their tiles'
rows and cols, the counts, the parameters and the conflicts).
"""

from .assembly import Placement, grow_mosaics
from .build import MAX_IMPLIED_NORM, assemble, build_mosaics, mosaics_from_pairs, mosaics_from_placements
from .compatibility import KINDS, EdgeModel, content_order
from .context import context_windows
from .edges import BoundaryScore, boundary_consistency, boundary_proposals, queue_boundary_items, review_items
from .files import FORMAT, FORMAT_VERSION, load_mosaics, mosaics_folder, read_mosaics, read_pairs, write_mosaics
from .grid import DIRECTIONS, Mosaic, Mosaics, stitch
from .links import Candidates, NeighbourPairs
from .rendering import render_mosaic
from .rules import POSTPROCESS_RULES, RULES, RuleFinding, mosaic_rules, queue_rule_items, rule_proposals, vertical_columns
from .search import find_neighbours, search_candidates

__all__ = ["Mosaic", "Mosaics", "BoundaryScore", "assemble", "build_mosaics", "stitch", "boundary_consistency",
           "review_items", "boundary_proposals", "queue_boundary_items", "render_mosaic", "write_mosaics",
           "read_mosaics", "load_mosaics", "mosaics_folder", "read_pairs", "DIRECTIONS", "mosaics_from_pairs",
           "mosaics_from_placements", "grow_mosaics", "Placement", "EdgeModel", "content_order", "KINDS", "find_neighbours",
           "search_candidates", "Candidates", "NeighbourPairs", "MAX_IMPLIED_NORM", "FORMAT", "FORMAT_VERSION",
           "context_windows", "RULES", "POSTPROCESS_RULES", "RuleFinding", "mosaic_rules", "rule_proposals", "queue_rule_items", "vertical_columns"]
