"""User settings that survive restarts: recent folders, channel roles per folder, window layout.

Stored as versioned JSON in the platform's config folder (``platformdirs``), or in
``$PGPVIEWER_CONFIG_DIR`` when set (tests, portable installs). Reading never fails: a missing,
corrupt or partly invalid file gives defaults for what cannot be read and a log warning,
never an error at start-up (the approach of pymmcore-gui's ``_settings.py``).
Writing is atomic (temporary file, then rename) and never raises either.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SETTINGS_VERSION = 1
SETTINGS_FILE_NAME = "settings.json"
CONFIG_DIR_ENV = "PGPVIEWER_CONFIG_DIR"
MAX_RECENT_FOLDERS = 10


def config_dir() -> Path:
    """Folder holding ``settings.json``."""
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env)
    from platformdirs import user_config_dir

    return Path(user_config_dir("pgpviewer", appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE_NAME


@dataclass
class AppSettings:
    """Everything the app remembers between runs.

    Attributes
    ----------
    recent_folders : list of str
        Experiment folders, most recent first.
    roles_by_folder : dict
        Folder → {role: channel name}: the channel mapping chosen for that experiment.
    last_params_dir, last_export_dir : str or None
        Where the last params.json was loaded/saved and where results were last exported.
    live_preview : bool
        Whether the segmentation/puncta preview was on.
    window_geometry, window_state : str or None
        Base64 of Qt's saveGeometry()/saveState() (opaque here).
    """

    version: int = SETTINGS_VERSION
    recent_folders: list[str] = field(default_factory=list)
    roles_by_folder: dict[str, dict[str, str]] = field(default_factory=dict)
    last_params_dir: str | None = None
    last_export_dir: str | None = None
    live_preview: bool = False
    window_geometry: str | None = None
    window_state: str | None = None

    # -- recent folders ------------------------------------------------------------------
    def add_recent_folder(self, folder: str | Path) -> None:
        key = _folder_key(folder)
        self.recent_folders = [key] + [f for f in self.recent_folders if f != key]
        del self.recent_folders[MAX_RECENT_FOLDERS:]

    # -- channel roles per folder --------------------------------------------------------
    def remember_roles(
        self, folder: str | Path, roles: Mapping[str, int], channel_names: Sequence[str]
    ) -> None:
        """Remember ``roles`` (role → channel index) for ``folder`` by channel name."""
        self.roles_by_folder[_folder_key(folder)] = {
            role: str(channel_names[idx])
            for role, idx in roles.items()
            if 0 <= idx < len(channel_names)
        }

    def recall_roles(
        self, folder: str | Path, channel_names: Sequence[str]
    ) -> dict[str, int] | None:
        """The roles remembered for ``folder`` mapped onto these channel names.

        Returns None when nothing is remembered or a remembered channel is missing in this
        file (the caller then guesses from the names).
        """
        saved = self.roles_by_folder.get(_folder_key(folder))
        if not saved:
            return None
        names = [str(n) for n in channel_names]
        out: dict[str, int] = {}
        for role, name in saved.items():
            if name not in names:
                return None
            out[role] = names.index(name)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _folder_key(folder: str | Path) -> str:
    return str(Path(folder).expanduser().resolve())


def _valid(name: str, value: Any) -> bool:
    """Type check of one settings field read from JSON."""
    if name == "version":
        return isinstance(value, int)
    if name == "recent_folders":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if name == "roles_by_folder":
        return isinstance(value, dict) and all(
            isinstance(k, str)
            and isinstance(v, dict)
            and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items())
            for k, v in value.items()
        )
    if name == "live_preview":
        return isinstance(value, bool)
    return value is None or isinstance(value, str)


def load_settings(path: str | Path | None = None) -> AppSettings:
    """Read settings; never raises (bad content is ignored with a warning in the log)."""
    p = Path(path) if path is not None else settings_path()
    defaults = AppSettings()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return defaults
    except (OSError, UnicodeDecodeError) as e:
        logger.warning("Ignoring unreadable settings file %s: %s", p, e)
        return defaults
    if not text.strip():
        return defaults
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        logger.warning("Ignoring corrupt settings file %s: %s", p, e)
        return defaults
    if not isinstance(data, dict):
        logger.warning("Ignoring settings file %s: not a JSON object", p)
        return defaults
    version = data.get("version")
    if isinstance(version, int) and version > SETTINGS_VERSION:
        logger.warning(
            "Settings file %s is from a newer pgpviewer (format %s); reading what is known",
            p,
            version,
        )
    values: dict[str, Any] = {}
    for f in fields(AppSettings):
        if f.name == "version" or f.name not in data:
            continue
        if _valid(f.name, data[f.name]):
            values[f.name] = data[f.name]
        else:
            logger.warning("Ignoring invalid setting %r in %s", f.name, p)
    return AppSettings(**values)


def save_settings(settings: AppSettings, path: str | Path | None = None) -> bool:
    """Write settings atomically; returns False (and logs) when it cannot."""
    p = Path(path) if path is not None else settings_path()
    data = settings.to_dict()
    data["version"] = SETTINGS_VERSION
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=p.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        logger.warning("Could not save settings to %s: %s", p, e)
        return False
    return True
