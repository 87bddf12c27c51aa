"""The Mosaics dock: mosaics of neighbouring tiles, shown stitched, decided several tiles at a
time (`widget.MosaicWidget`); the same without Qt in `mosaic_view`.
"""
