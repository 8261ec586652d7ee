"""pgpviewer.core: pure computation (numpy in, numpy/pandas out). Never imports Qt or napari."""

from pgpviewer.core.errors import Cancelled, InputError
from pgpviewer.core.io import read_stack
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.roles import ROLES, guess_roles, resolve_roles
from pgpviewer.core.stack import Stack

__all__ = [
    "ROLES",
    "AnalysisParams",
    "Cancelled",
    "InputError",
    "Stack",
    "guess_roles",
    "read_stack",
    "resolve_roles",
]
