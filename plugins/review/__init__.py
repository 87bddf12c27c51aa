"""The Review dock: the queue as a list, the triage grid, batch accept, corrections, the review
keys and the shown tile's unsaved edit (`widget.ReviewWidget`); the review loop, the grid's
picture and the cleanups without Qt (`reviewer`, `triage`, `outlines`, `cleanup`).
"""
