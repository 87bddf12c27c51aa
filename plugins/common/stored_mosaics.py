"""The workspace's mosaics, for every dock and job: the stored ones, or found and stored anew.

Thin over `saltviewer.mosaic` (what ``saltviewer mosaic --workspace`` does). The session loads
them once for the docks (`Session.mosaics`); the Find mosaics job runs `find_mosaics` in a
child process (`job_process`). No Qt.
"""

__all__ = ["load_mosaics", "find_mosaics"]


def load_mosaics(workspace, dataset):
    """The dataset's mosaics stored in the workspace (a `saltviewer.mosaic.Mosaics`), or None."""
    from saltviewer.mosaic import load_mosaics as load, mosaics_folder

    if not (mosaics_folder(workspace, dataset) / "mosaics.json").is_file():
        return None
    return load(workspace, dataset)


def find_mosaics(workspace, dataset, progress=None):
    """Find neighbours, assemble and store the mosaics (what ``saltviewer mosaic --workspace`` does)."""
    from saltviewer.mosaic import build_mosaics, mosaics_folder, write_mosaics

    dataset.use_cache(workspace)
    mosaics = build_mosaics(dataset, images=dataset.images(), progress=progress)
    if progress is not None:
        progress("writing the mosaics")        # (a job process is not ended while it writes its two files)
    write_mosaics(mosaics, mosaics_folder(workspace, dataset), labelled=dataset)
    return mosaics
