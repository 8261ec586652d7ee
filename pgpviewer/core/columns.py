"""Optional columns of the per-cell tables as numpy arrays (absent columns get a default).

Several steps (classification, events, the remote-source tracer) read columns that a table may
lack, e.g. when a channel role is not mapped; these two helpers are the one way they do it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["flag_column", "numeric_column"]


def numeric_column(table: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as float64 (non-numbers become NaN); all NaN when it is absent.

    Examples
    --------
    >>> numeric_column(pd.DataFrame({"a": [1, None]}), "a").tolist()
    [1.0, nan]
    >>> numeric_column(pd.DataFrame({"a": [1]}), "b").tolist()
    [nan]
    """
    if name in table.columns:
        return pd.to_numeric(table[name], errors="coerce").to_numpy(float)
    return np.full(len(table), np.nan)


def flag_column(table: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as bool (missing values are False); all False when it is absent.

    Examples
    --------
    >>> flag_column(pd.DataFrame({"a": [True, None]}), "a").tolist()
    [True, False]
    >>> flag_column(pd.DataFrame({"a": [1]}), "b").tolist()
    [False]
    """
    if name in table.columns:
        return table[name].fillna(False).astype(bool).to_numpy()
    return np.zeros(len(table), bool)
