"""What the docks share: the viewer's session (data, workspace, store, mosaics), background work
and child processes with their progress bar, settings, layers found by role, colours, the data
bar, the error log and the choice of Qt binding.

Nothing here imports a dock's package; importing this package imports nothing (no Qt).
"""
