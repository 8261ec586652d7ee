"""Scoring against ground truth: label-image matching by IoU, F1, point matching.

Shared by the accuracy tests and the benchmarks so that every number is computed one way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class MatchResult:
    """Outcome of matching predicted objects to ground-truth objects.

    Attributes
    ----------
    tp, fp, fn : int
        Matched pairs, unmatched predictions, unmatched ground-truth objects.
    mean_iou : float
        Mean IoU (or mean distance for points) of the matched pairs (NaN when none).
    pairs : DataFrame
        ``gt``, ``pred``, ``score`` (IoU or distance) of each matched pair.
    """

    tp: int
    fp: int
    fn: int
    mean_iou: float
    pairs: pd.DataFrame

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 1.0


def iou_table(gt: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """IoU of every overlapping (ground truth, prediction) label pair via a contingency table.

    Parameters
    ----------
    gt, pred : ndarray of int, same shape
        Label images (0 = background).

    Returns
    -------
    DataFrame
        ``gt``, ``pred``, ``intersection``, ``iou`` for every pair that overlaps.

    Examples
    --------
    >>> gt = np.array([[1, 1, 0, 2]]); pred = np.array([[1, 0, 0, 2]])
    >>> iou_table(gt, pred)[["gt", "pred", "iou"]].values.tolist()
    [[1.0, 1.0, 0.5], [2.0, 2.0, 1.0]]
    """
    gt = np.asarray(gt).ravel().astype(np.int64)
    pred = np.asarray(pred).ravel().astype(np.int64)
    if gt.shape != pred.shape:
        raise ValueError("label images must have the same shape")
    ng = int(gt.max(initial=0)) + 1
    npr = int(pred.max(initial=0)) + 1
    area_g = np.bincount(gt, minlength=ng)
    area_p = np.bincount(pred, minlength=npr)
    both = (gt > 0) & (pred > 0)
    codes, inter = np.unique(gt[both] * npr + pred[both], return_counts=True)
    g = codes // npr
    p = codes % npr
    iou = inter / (area_g[g] + area_p[p] - inter)
    return pd.DataFrame({"gt": g, "pred": p, "intersection": inter, "iou": iou})


def match_labels(gt: np.ndarray, pred: np.ndarray, iou_threshold: float = 0.5) -> MatchResult:
    """Match predicted to ground-truth objects one-to-one by IoU.

    Parameters
    ----------
    gt, pred : ndarray of int, same shape
        Label images (0 = background).
    iou_threshold : float
        A pair matches when its IoU is strictly above this (≥ 0.5 makes matches unique; below,
        the assignment maximising total IoU is used).

    Returns
    -------
    MatchResult

    Examples
    --------
    >>> gt = np.zeros((10, 10), int); gt[:5] = 1; gt[5:] = 2
    >>> pred = np.zeros((10, 10), int); pred[:4] = 1; pred[4:] = 3
    >>> r = match_labels(gt, pred)
    >>> r.tp, r.fp, r.fn, round(r.mean_iou, 3)
    (2, 0, 0, 0.817)
    """
    table = iou_table(gt, pred)
    gt_ids = np.unique(np.asarray(gt))
    gt_ids = gt_ids[gt_ids > 0]
    pred_ids = np.unique(np.asarray(pred))
    pred_ids = pred_ids[pred_ids > 0]
    cand = table[table["iou"] > iou_threshold]
    if iou_threshold < 0.5 and len(cand):
        gi = {v: i for i, v in enumerate(np.unique(cand["gt"]))}
        pi = {v: i for i, v in enumerate(np.unique(cand["pred"]))}
        m = np.zeros((len(gi), len(pi)))
        m[[gi[v] for v in cand["gt"]], [pi[v] for v in cand["pred"]]] = cand["iou"]
        r, c = linear_sum_assignment(-m)
        ok = m[r, c] > iou_threshold
        inv_g = np.array(list(gi))
        inv_p = np.array(list(pi))
        pairs = pd.DataFrame({"gt": inv_g[r[ok]], "pred": inv_p[c[ok]], "score": m[r, c][ok]})
    else:
        pairs = pd.DataFrame({
            "gt": cand["gt"].to_numpy(), "pred": cand["pred"].to_numpy(),
            "score": cand["iou"].to_numpy(),
        })
    tp = len(pairs)
    mean = float(pairs["score"].mean()) if tp else float("nan")
    return MatchResult(
        tp=tp, fp=len(pred_ids) - tp, fn=len(gt_ids) - tp, mean_iou=mean,
        pairs=pairs.reset_index(drop=True),
    )


def match_label_stacks(
    gt: np.ndarray, pred: np.ndarray, iou_threshold: float = 0.5
) -> tuple[MatchResult, list[MatchResult]]:
    """Match label stacks (T, Y, X) frame by frame; returns the pooled result and per frame.

    The pooled ``pairs`` has an extra ``frame`` column.

    Examples
    --------
    >>> gt = np.zeros((2, 4, 4), int); gt[:, :2] = 1
    >>> total, per_frame = match_label_stacks(gt, gt)
    >>> total.f1, len(per_frame)
    (1.0, 2)
    """
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"shapes differ: {gt.shape} vs {pred.shape}")
    per = [match_labels(g, p, iou_threshold) for g, p in zip(gt, pred, strict=True)]
    pairs = pd.concat(
        [r.pairs.assign(frame=f) for f, r in enumerate(per)], ignore_index=True
    ) if per else pd.DataFrame(columns=["gt", "pred", "score", "frame"])
    tp = sum(r.tp for r in per)
    mean = float(pairs["score"].mean()) if tp else float("nan")
    total = MatchResult(
        tp=tp, fp=sum(r.fp for r in per), fn=sum(r.fn for r in per), mean_iou=mean,
        pairs=pairs,
    )
    return total, per


def match_points(
    gt: np.ndarray, pred: np.ndarray, max_distance: float
) -> MatchResult:
    """Match predicted to ground-truth points one-to-one within ``max_distance``.

    Minimises the total distance (Hungarian assignment on the pairs closer than
    ``max_distance``). ``mean_iou`` holds the mean distance of the matched pairs.

    Parameters
    ----------
    gt, pred : array-like of shape (N, D), (M, D)
    max_distance : float

    Examples
    --------
    >>> r = match_points([[0, 0], [10, 10]], [[0.5, 0], [30, 30]], 2.0)
    >>> r.tp, r.fp, r.fn, r.mean_iou
    (1, 1, 1, 0.5)
    """
    g = np.asarray(gt, dtype=float).reshape(-1, 2)
    p = np.asarray(pred, dtype=float).reshape(-1, 2)
    empty = pd.DataFrame({"gt": [], "pred": [], "score": []})
    if len(g) == 0 or len(p) == 0:
        return MatchResult(0, len(p), len(g), float("nan"), empty)
    tree = cKDTree(p)
    sparse = tree.sparse_distance_matrix(cKDTree(g), max_distance, output_type="coo_matrix")
    if sparse.nnz == 0:
        return MatchResult(0, len(p), len(g), float("nan"), empty)
    big = max_distance * 10 + 1
    m = np.full((len(p), len(g)), big)
    m[sparse.row, sparse.col] = sparse.data
    # exact zero distances are stored implicitly; recover them
    d0 = tree.query_ball_point(g, 1e-12)
    for j, near in enumerate(d0):
        for i in near:
            m[i, j] = 0.0
    r, c = linear_sum_assignment(m)
    ok = m[r, c] <= max_distance
    pairs = pd.DataFrame({"gt": c[ok], "pred": r[ok], "score": m[r, c][ok]})
    tp = int(ok.sum())
    return MatchResult(
        tp=tp, fp=len(p) - tp, fn=len(g) - tp,
        mean_iou=float(pairs["score"].mean()) if tp else float("nan"), pairs=pairs,
    )
