"""The SEG-Y dock and reader: predicted salt over a seismic section, from a place on it to its
tile in Review (`widget.SegyWidget`); SEG-Y lines and volumes as napari layers (`reader`).
"""
