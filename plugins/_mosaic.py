"""What the mosaic widget needs from the core mosaic module, in one place.

Thin calls into `saltviewer.mosaic`; when that module is absent they raise ImportError
and the widget says so.
"""

__all__ = ["load_mosaics", "build_mosaics", "seam_mismatches", "neighbour_lookup"]


def load_mosaics(workspace, dataset):
    """The mosaics stored for the dataset, largest first; each has a ``grid`` of positions."""
    from saltviewer import mosaic

    return mosaic.load_mosaics(workspace, dataset)


def build_mosaics(workspace, dataset):
    from saltviewer import mosaic

    return mosaic.build_mosaics(workspace, dataset)


def seam_mismatches(grid, masks):
    """(row, col, kind, score) of the seams where the masks do not continue."""
    from saltviewer import mosaic

    return mosaic.seam_mismatches(grid, masks)


def neighbour_lookup(workspace, dataset):
    """A callable ``tile id -> {side: tile id}``, or None without mosaics."""
    try:
        from saltviewer import mosaic
    except ImportError:
        return None
    return mosaic.neighbour_lookup(workspace, dataset)
