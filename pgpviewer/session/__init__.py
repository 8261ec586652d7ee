"""Qt-free application state: the session model, undo/redo commands, settings, experiment folder.

Imports run one way: ``gui → session → core``. Nothing here imports Qt or napari.
"""

from pgpviewer.session.commands import CallbackCommand, Command, CommandStack, MacroCommand
from pgpviewer.session.session import FileStatus, RunTicket, Session, validate_roles
from pgpviewer.session.settings import AppSettings, load_settings, save_settings

__all__ = [
    "AppSettings",
    "CallbackCommand",
    "Command",
    "CommandStack",
    "FileStatus",
    "MacroCommand",
    "RunTicket",
    "Session",
    "load_settings",
    "save_settings",
    "validate_roles",
]
