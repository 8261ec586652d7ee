"""The P-gp positivity gate: a recipient is P-gp positive when its ``pgp_score`` exceeds it.

The gate is calibrated on control recipients (a recipient-only culture, the t = 0 mixture, or the
first frame(s) of the movie) to a chosen false-positive rate ``fpr`` (default 1 %), or set by the
user (``GateParams.source == "manual"``).

Calibration rule (documented in the results through :class:`GateResult`):

* **already-positive cells left out**: control cells scoring more than ``outlier_sd`` robust SDs
  (1.4826 × MAD, default 3) above the control median are taken as P-gp positive already (a t = 0
  mixture contains recipients positive at the start) and are not used; with a normal control
  distribution this removes 0.13 % of negative cells, all of them above the 1 % gate anyway
  (z = 2.33), so the gate barely moves; a cut at 4 SD let a dim positive-at-start recipient
  (3.8 SD) into the ~20 frame-0 cells of bench_accuracy seed 10 and raised the gate from 24 to 37;
  but a cell above the cut-off stays in when it continues the rest without a gap: going up
  from the highest cell below the cut-off, cells are left out only from the first step of at
  least ``outlier_gap_sd`` robust SDs (default 2). Already-positive cells form a brighter group
  of their own; the high tail of the negatives does not. With ~20 control cells the MAD is
  itself uncertain: in a simulated frame 0, two negative recipients touching donors (scores 17.1
  and 18.6, median 6.7, robust SD 3.4) fell just above the 3-SD cut-off, the gate dropped from
  18.3 to 13.1 and 10 % of the recipients were called positive in every frame; the next cell up
  (70.7, a positive) lies 15 SDs higher;
* **empirical**: the ``1 − fpr`` quantile of the control scores (linear interpolation);
* **guard for few cells**: when fewer than ``10 / fpr`` control cells are available (fewer than
  ten expected above the gate, so the empirical quantile is essentially the sample maximum and
  too noisy), the gate is the larger of the empirical quantile and the robust normal-theory
  quantile ``median + z(1 − fpr) × 1.4826 × MAD`` (z = 2.326 for 1 %). The gate is never lower
  than either estimate then, so a handful of control cells cannot give a gate that lets far more
  than ``fpr`` of negative cells through when their scores are roughly normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import GateParams

_MAD_TO_SD = 1.4826
# With fewer than this many expected control cells above the gate, the robust guard applies.
_MIN_EXPECTED_ABOVE = 10


@dataclass(frozen=True)
class GateResult:
    """The P-gp gate used for an analysis.

    Attributes
    ----------
    value : float
        Threshold on ``pgp_score``; a cell is positive when its score is strictly above it.
    source : str
        Where it came from, in words (e.g. "recipients in the first 1 frame(s)").
    false_positive_rate : float
        The rate the gate was calibrated to (NaN for a gate set by the user).
    n_calibration_cells : int
        Number of control cells with a finite score used (0 for a manual gate without
        scores).
    method : str
        ``"quantile"`` (empirical quantile), ``"robust"`` (median + z × MAD guard won) or
        ``"manual"``.
    observed_false_positive_rate : float
        Fraction of the calibration cells above the gate (NaN without calibration cells).
    n_excluded_cells : int
        Control cells left out as already positive (see the module docstring).
    """

    value: float
    source: str
    false_positive_rate: float
    n_calibration_cells: int
    method: str = "quantile"
    observed_false_positive_rate: float = float("nan")
    n_excluded_cells: int = 0

    def to_dict(self) -> dict:
        """JSON-able dict (NaN becomes None)."""
        out = {}
        for k, v in self.__dict__.items():
            out[k] = None if isinstance(v, float) and math.isnan(v) else v
        return out


def _continuous_limit(values: np.ndarray, cut: float, gap: float) -> float:
    """Highest score kept: ``cut``, raised through the scores above it while each lies less than
    ``gap`` above the previous one (``gap`` 0: ``cut``)."""
    if gap <= 0:
        return cut
    below = values[values <= cut]
    limit = float(below.max()) if below.size else cut
    for v in np.sort(values[values > cut]).tolist():
        if v - limit >= gap:
            break
        limit = v
    return max(limit, cut)


def calibrate_gate(
    scores, params: GateParams | None = None, *, source: str = ""
) -> GateResult:
    """Calibrate the P-gp positivity gate on control scores, or take the user's value.

    Parameters
    ----------
    scores : array-like of float or None
        ``pgp_score`` of the control (P-gp negative) cells; NaNs are ignored. May be None for a
        manual gate.
    params : GateParams, optional
        ``source`` ("manual" uses ``manual_value``), ``false_positive_rate``.
    source : str
        Description of where the scores come from, stored in the result.

    Returns
    -------
    GateResult

    Raises
    ------
    InputError
        Manual gate without a value, or no control cells with a score.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = calibrate_gate(rng.normal(10, 2, 5000), GateParams(), source="controls")
    >>> round(g.value), g.method, g.n_calibration_cells
    (15, 'quantile', 5000)
    >>> calibrate_gate(None, GateParams(source="manual", manual_value=7.5)).value
    7.5
    """
    params = params or GateParams()
    values = None
    if scores is not None:
        values = np.asarray(scores, dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
    if params.source == "manual":
        if params.manual_value is None:
            raise InputError(
                None, "the gate source is 'manual' but no manual gate value was set "
                "(set gate.manual_value)",
            )
        value = float(params.manual_value)
        observed = float(np.mean(values > value)) if values is not None and values.size else np.nan
        return GateResult(
            value=value, source=source or "set by the user", false_positive_rate=float("nan"),
            n_calibration_cells=0 if values is None else int(values.size), method="manual",
            observed_false_positive_rate=observed,
        )
    if values is None or values.size == 0:
        where = f" ({source})" if source else ""
        raise InputError(
            None, f"cannot calibrate the P-gp gate: no control cells with a P-gp score{where}; "
            "check the P-gp channel and the recipient identity, use a control file, or set a "
            "manual gate",
        )
    n_excluded = 0
    if params.outlier_sd > 0 and values.size >= 3:
        med = float(np.median(values))
        sd = _MAD_TO_SD * float(np.median(np.abs(values - med)))
        if sd > 0:
            limit = _continuous_limit(values, med + params.outlier_sd * sd,
                                      params.outlier_gap_sd * sd)
            keep = values <= limit
            n_excluded = int((~keep).sum())
            values = values[keep]
    fpr = float(params.false_positive_rate)
    value = float(np.quantile(values, 1.0 - fpr))
    method = "quantile"
    if values.size < _MIN_EXPECTED_ABOVE / fpr:
        med = float(np.median(values))
        mad = float(np.median(np.abs(values - med)))
        robust = med + NormalDist().inv_cdf(1.0 - fpr) * _MAD_TO_SD * mad
        if robust > value:
            value, method = robust, "robust"
    return GateResult(
        value=value, source=source, false_positive_rate=fpr,
        n_calibration_cells=int(values.size), method=method,
        observed_false_positive_rate=float(np.mean(values > value)),
        n_excluded_cells=n_excluded,
    )
