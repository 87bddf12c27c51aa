"""saltviewer: delineate salt bodies in seismic tiles.

The core package needs only numpy, scikit-image, scikit-learn and Pillow; Keras lives in
`saltviewer.training` and napari in `saltviewer.plugins`, both imported only when used.
"""

__version__ = "0.1.0"

from ._errors import DataError, SaltviewerError
from .check import check_dataset
from .dataset import Dataset, open_dataset
from .metric import IOU_THRESHOLDS, competition_score, image_precisions
from .rle import TILE_SHAPE, rle_decode, rle_encode
from .sample import make_sample
from .score import score_submission
from .submission import read_submission, write_submission
from .tiles import read_image, read_mask, write_image, write_mask
from .workspace import Workspace
from .ensemble import Ensemble, ensemble_scores
from .store import CurationStore
from .pseudo import propose_pseudo_labels
from .crf import refine_with_crf
from .neighbours import find_neighbours
from .mosaic import Mosaics, build_mosaics, load_mosaics, stitch
from .explore import explore_dataset
from .features import FEATURE_NAMES, compute_features

__all__ = [
    "DataError", "SaltviewerError", "check_dataset", "Dataset", "open_dataset", "IOU_THRESHOLDS",
    "competition_score", "image_precisions", "TILE_SHAPE", "rle_decode", "rle_encode", "make_sample",
    "score_submission", "read_submission", "write_submission", "read_image", "read_mask", "write_image",
    "write_mask", "Workspace",
    "Ensemble", "ensemble_scores", "CurationStore", "propose_pseudo_labels", "refine_with_crf",
    "find_neighbours", "Mosaics", "build_mosaics", "load_mosaics", "stitch", "explore_dataset", "FEATURE_NAMES",
    "compute_features",
]
