"""Remember choices between sessions (data folder, workspace, filters) in a small JSON file.

The file is ``settings.json`` in ``$SALTVIEWER_CONFIG_DIR`` when set, else in
``~/.config/saltviewer`` (``$XDG_CONFIG_HOME/saltviewer`` when that is set). A damaged
file is ignored, never fatal.
"""

import json
import os
from pathlib import Path

__all__ = ["config_dir", "settings_path", "load_settings", "save_settings"]


def config_dir():
    """The folder holding saltviewer's settings."""
    explicit = os.environ.get("SALTVIEWER_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "saltviewer"


def settings_path():
    return config_dir() / "settings.json"


def load_settings():
    """The remembered settings (a dict; empty when none were saved or the file is damaged)."""
    try:
        with open(settings_path(), encoding="utf-8") as handle:
            settings = json.load(handle)
    except (OSError, ValueError):
        return {}
    return settings if isinstance(settings, dict) else {}


def save_settings(**fields):
    """Merge `fields` into the remembered settings and write them atomically.

    Returns the settings as written. A folder that cannot be written is not an error
    (settings are a convenience); the dict is still returned.
    """
    from saltviewer._atomic import atomic_open

    settings = load_settings()
    settings.update({k: (str(v) if isinstance(v, Path) else v) for k, v in fields.items()})
    try:
        with atomic_open(settings_path(), "w", encoding="utf-8") as handle:
            json.dump(settings, handle, indent=2, sort_keys=True)
    except OSError:
        pass
    return settings
