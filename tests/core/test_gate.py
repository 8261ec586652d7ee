"""The P-gp positivity gate."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from pgpviewer.core.errors import InputError
from pgpviewer.core.gate import GateResult, calibrate_gate
from pgpviewer.core.params import GateParams


def test_quantile_gate_on_many_cells():
    rng = np.random.default_rng(0)
    scores = rng.normal(10, 2, 20000)
    g = calibrate_gate(scores, GateParams(false_positive_rate=0.01), source="controls")
    assert g.method == "quantile"
    assert g.value == pytest.approx(10 + 2.326 * 2, abs=0.15)
    assert g.observed_false_positive_rate == pytest.approx(0.01, abs=0.002)
    assert (g.source, g.false_positive_rate) == ("controls", 0.01)
    # a normal control's tail continues without a 2-SD gap: nobody is left out; the 3-robust-SD
    # cut alone removes ~0.13 % of it (all of them above the gate, which barely moves)
    assert g.n_calibration_cells == 20000 and g.n_excluded_cells == 0
    cut_only = calibrate_gate(scores, GateParams(outlier_gap_sd=0), source="controls")
    assert 10 <= cut_only.n_excluded_cells <= 50
    assert cut_only.value == pytest.approx(g.value, abs=0.15)
    g5 = calibrate_gate(scores, GateParams(false_positive_rate=0.05), source="x")
    assert g5.value < g.value


def test_robust_guard_with_few_cells():
    rng = np.random.default_rng(1)
    scores = rng.normal(10, 2, 30)
    g = calibrate_gate(scores, GateParams(), source="x")
    # never below either estimate
    assert g.value >= np.quantile(scores, 0.99) - 1e-9
    med = np.median(scores)
    robust = med + 2.3263 * 1.4826 * np.median(np.abs(scores - med))
    assert g.value >= robust - 1e-6
    # over many draws, the false-positive rate on fresh negatives stays near the target
    fprs = []
    for seed in range(200):
        r = np.random.default_rng(seed)
        gate = calibrate_gate(r.normal(10, 2, 30), GateParams(), source="x").value
        fprs.append(np.mean(r.normal(10, 2, 2000) > gate))
    assert np.mean(fprs) < 0.02


def test_already_positive_control_cells_are_left_out():
    rng = np.random.default_rng(2)
    negatives = rng.normal(8, 4, 60)
    positives = np.array([70.0, 85.0, 120.0, 95.0])  # recipients positive at t = 0
    g = calibrate_gate(np.concatenate([negatives, positives]), GateParams(), source="t0")
    assert g.n_excluded_cells == 4 and g.n_calibration_cells == 60
    assert g.value < 40
    keep_all = calibrate_gate(np.concatenate([negatives, positives]),
                              GateParams(outlier_sd=0), source="t0")
    assert keep_all.n_excluded_cells == 0 and keep_all.value > 70


def test_high_tail_of_negatives_stays_in_the_calibration():
    # a simulated frame 0 (21 recipients): two negatives touching donors (17.13, 18.58) lie just
    # above the 3-SD cut-off (16.9) but continue the rest; only the positive at 70.72 is out
    scores = [-4.7, -1.74, -1.29, 2.8, 3.16, 4.35, 5.04, 5.06, 5.57, 6.46, 6.66, 6.71, 6.76,
              7.14, 8.44, 8.92, 11.2, 11.69, 17.13, 18.58, 70.72]
    g = calibrate_gate(scores, GateParams(), source="t0")
    assert g.n_excluded_cells == 1 and g.value > 18.0
    cut_only = calibrate_gate(scores, GateParams(outlier_gap_sd=0), source="t0")
    assert cut_only.n_excluded_cells == 3 and cut_only.value < 17.13


def test_nan_scores_are_ignored_and_no_cells_is_an_error():
    g = calibrate_gate([1.0, np.nan, 2.0, 3.0, np.inf], GateParams(), source="x")
    assert g.n_calibration_cells == 3
    with pytest.raises(InputError, match="no control cells"):
        calibrate_gate([], GateParams(), source="recipients in the first 1 frame(s)")
    with pytest.raises(InputError, match="no control cells"):
        calibrate_gate([np.nan, np.nan], GateParams())
    with pytest.raises(InputError, match="no control cells"):
        calibrate_gate(None, GateParams(source="control"))


def test_manual_gate():
    g = calibrate_gate(None, GateParams(source="manual", manual_value=25.0),
                       source="set by the user")
    assert (g.value, g.method, g.source, g.n_calibration_cells) == (
        25.0, "manual", "set by the user", 0)
    assert math.isnan(g.false_positive_rate) and math.isnan(g.observed_false_positive_rate)
    g2 = calibrate_gate([10.0, 20.0, 30.0, 40.0], GateParams(source="manual", manual_value=25.0))
    assert g2.observed_false_positive_rate == 0.5
    with pytest.raises(InputError, match="manual"):
        calibrate_gate(None, GateParams(source="manual"))


def test_gate_result_is_frozen_and_json_able():
    g = calibrate_gate(None, GateParams(source="manual", manual_value=1.0))
    assert isinstance(g, GateResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.value = 2.0  # type: ignore[misc]
    d = g.to_dict()
    assert d["false_positive_rate"] is None
    json.dumps(d)
