"""Seismic data in SEG-Y: lines and volumes in, salt out.

- `open_segy` opens a 2-D line or a 3-D volume (segyio for headers and geometry, samples
  read in blocks of traces, lazily for volumes: `SeismicData.to_dask`).
- `fit_scaling` maps amplitudes to the 8-bit grey levels of the training tiles (a robust
  percentile clip per file by default; see `saltviewer.seismic.scaling`).
- `tile_grid` / `predict_section` cut a section into overlapping 101 x 101 tiles and blend
  per-tile predictions back with a weighted window.
- `write_segy_like` writes values with the input's geometry and headers.
- `cut_tiles` writes a section's tiles as a data folder in the competition layout with a
  manifest; `section_masks` maps the masks decided on those tiles back onto the section.

Prediction with a workspace's models lives in `saltviewer.training.section` (Keras); the
command line is ``saltviewer segy``. Importing this package needs neither segyio nor Dask:
they are imported when a file is opened or a dask array is made.
"""

from .scaling import SCALING_METHODS, AmplitudeScaling, fit_scaling
from .segy import SAMPLE_FORMATS, SeismicData, VolumeArray, ibm_to_float32, open_segy
from .tiling import TILE, blend_window, check_tileable, predict_section, tile_grid, tile_starts
from .write import write_segy_like
from .folder import TileManifest, cut_tiles, read_manifest, section_masks
from .volume import (block_widths, check_written, mark_missing, output_chunks, predict_volume, prediction_mask,
                     section_mask, volume_output)

__all__ = ["open_segy", "SeismicData", "VolumeArray", "ibm_to_float32", "SAMPLE_FORMATS", "AmplitudeScaling",
           "fit_scaling", "SCALING_METHODS", "TILE", "tile_starts", "tile_grid", "blend_window", "predict_section",
           "write_segy_like", "cut_tiles", "TileManifest", "read_manifest", "section_masks", "predict_volume",
           "section_mask", "volume_output", "output_chunks", "check_written", "mark_missing", "block_widths",
           "check_tileable", "prediction_mask"]
