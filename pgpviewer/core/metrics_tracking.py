"""Accuracy of tracks and transfer events against ground truth.

Used by the tests and benchmarks, and usable on any annotated movie. A *link* is an edge
between two detections of the same cell in successive observations (same track, consecutive
frames present in the track, gaps allowed) or between a mother's last detection and a
daughter's first. Detections are identified by ``(frame, label)`` so prediction and ground truth
must be tables over the same detections (e.g. tracks built from ground-truth masks).
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pandas as pd

__all__ = [
    "division_scores",
    "event_scores",
    "label_contacts",
    "label_table",
    "link_scores",
    "track_divisions",
    "track_links",
]

Node = tuple[int, int]


def track_links(
    table: pd.DataFrame,
    *,
    track_col: str = "track_id",
    parent_col: str | None = "parent_track_id",
    node_cols: tuple[str, str] = ("frame", "label"),
) -> set[tuple[Node, Node]]:
    """All links of a track table as ``((frame, label), (frame, label))`` pairs.

    Parameters
    ----------
    table : DataFrame
        One row per detection with ``node_cols``, ``track_col`` and optionally ``parent_col``
        (nullable; the mother's track id for daughters). Rows whose track id is NA or negative
        (false detections in some annotations) are ignored.
    track_col, parent_col : str
        Column names; ``parent_col=None`` ignores lineage.
    node_cols : tuple of str
        The columns identifying a detection.

    Returns
    -------
    set of tuple
        Links from the earlier to the later detection.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"frame": [0, 1, 2, 2], "label": [1, 1, 1, 2],
    ...                   "track_id": [1, 1, 2, 3], "parent_track_id": [None, None, 1, 1]})
    >>> sorted(track_links(t))
    [((0, 1), (1, 1)), ((1, 1), (2, 1)), ((1, 1), (2, 2))]
    """
    f, lab = node_cols
    tid = pd.to_numeric(table[track_col], errors="coerce")
    ok = tid.notna() & (tid >= 0)
    t = pd.DataFrame(
        {"f": table[f].to_numpy()[ok], "l": table[lab].to_numpy()[ok],
         "t": tid[ok].astype(np.int64).to_numpy()}
    ).sort_values(["t", "f", "l"], kind="stable")
    same = t["t"].to_numpy()[1:] == t["t"].to_numpy()[:-1]
    fr, la = t["f"].to_numpy(), t["l"].to_numpy()
    links = {
        ((int(fr[i]), int(la[i])), (int(fr[i + 1]), int(la[i + 1])))
        for i in np.flatnonzero(same)
    }
    if parent_col is not None and parent_col in table.columns:
        first = t.groupby("t").head(1).set_index("t")
        last = t.groupby("t").tail(1).set_index("t")
        par = pd.to_numeric(table[parent_col], errors="coerce")[ok]
        pairs = pd.DataFrame({"t": tid[ok].astype(np.int64), "p": par}).dropna().drop_duplicates()
        for child, mother in zip(pairs["t"], pairs["p"].astype(np.int64), strict=True):
            if mother in last.index and child in first.index:
                m, c = last.loc[mother], first.loc[child]
                links.add(((int(m["f"]), int(m["l"])), (int(c["f"]), int(c["l"]))))
    return links


def link_scores(truth: set, predicted: set) -> dict[str, float]:
    """Recall ("link accuracy"), precision and F1 of predicted links against true links.

    Examples
    --------
    >>> s = link_scores({(1, 2), (2, 3)}, {(1, 2), (2, 4)})
    >>> s["link_accuracy"], s["link_precision"], s["n_true_links"]
    (0.5, 0.5, 2)
    """
    hit = len(truth & predicted)
    rec = hit / len(truth) if truth else float("nan")
    prec = hit / len(predicted) if predicted else float("nan")
    f1 = 2 * hit / (len(truth) + len(predicted)) if (truth or predicted) else float("nan")
    return {
        "link_accuracy": rec,
        "link_precision": prec,
        "link_f1": f1,
        "n_true_links": len(truth),
        "n_predicted_links": len(predicted),
    }


def track_divisions(
    table: pd.DataFrame,
    *,
    track_col: str = "track_id",
    parent_col: str = "parent_track_id",
    node_cols: tuple[str, str] = ("frame", "label"),
) -> dict[Node, frozenset[Node]]:
    """Divisions as mother's last detection → set of the daughters' first detections.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"frame": [0, 1, 1], "label": [1, 1, 2],
    ...                   "track_id": [1, 2, 3], "parent_track_id": [None, 1, 1]})
    >>> track_divisions(t)
    {(0, 1): frozenset({(1, 1), (1, 2)})}
    """
    out: dict[Node, set[Node]] = {}
    for (m, c) in track_links(table, track_col=track_col, parent_col=parent_col,
                              node_cols=node_cols) - track_links(
        table, track_col=track_col, parent_col=None, node_cols=node_cols
    ):
        out.setdefault(m, set()).add(c)
    return {k: frozenset(v) for k, v in out.items()}


def division_scores(truth: dict, predicted: dict) -> dict[str, float]:
    """Recall and precision of divisions from :func:`track_divisions`.

    A predicted division matches a true one when it has the same mother detection and the same
    set of daughter detections.

    Examples
    --------
    >>> d = {(0, 1): frozenset({(1, 1), (1, 2)})}
    >>> division_scores(d, d)["division_recall"]
    1.0
    """
    hit = sum(1 for k, v in predicted.items() if truth.get(k) == v)
    return {
        "division_recall": hit / len(truth) if truth else float("nan"),
        "division_precision": hit / len(predicted) if predicted else float("nan"),
        "n_true_divisions": len(truth),
        "n_predicted_divisions": len(predicted),
    }


def event_scores(
    truth: pd.DataFrame,
    predicted: pd.DataFrame,
    *,
    truth_cols: tuple[str, str] = ("recipient_id", "frame"),
    predicted_cols: tuple[str, str] = ("recipient_id", "frame"),
    donor_cols: tuple[str, str] | None = None,
    tolerance_frames: int = 2,
) -> dict[str, float]:
    """Match predicted transfer events to true ones; precision, recall, F1 and donor accuracy.

    A predicted event matches a true one of the same recipient whose onset is within
    ``tolerance_frames``; each event is matched at most once, closest onsets first. Recipient
    ids must already be in the same id space (map predicted tracks to true cell ids first).

    Parameters
    ----------
    truth, predicted : DataFrame
        Events with a recipient id and an onset frame column.
    truth_cols, predicted_cols : tuple of str
        ``(recipient column, frame column)`` in each table.
    donor_cols : tuple of str, optional
        ``(true donor column, predicted donor column)``, both in the true id space; when given,
        ``donor_accuracy`` is the fraction of matched events with the same donor.
    tolerance_frames : int
        Largest onset difference of a match.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``n_true``, ``n_predicted``, ``n_matched``,
        ``mean_abs_onset_error_frames`` and, with ``donor_cols``, ``donor_accuracy``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"recipient_id": [1, 2], "frame": [5, 9]})
    >>> p = pd.DataFrame({"recipient_id": [1, 3], "frame": [6, 9]})
    >>> event_scores(t, p)["f1"]
    0.5
    """
    tr, tf = truth_cols
    pr, pf = predicted_cols
    cand: list[tuple[int, int, int]] = []
    by_rec: dict[Hashable, list[int]] = {}
    for i, r in enumerate(truth[tr].tolist()):
        by_rec.setdefault(r, []).append(i)
    tframes = truth[tf].to_numpy()
    pframes = predicted[pf].to_numpy()
    for j, r in enumerate(predicted[pr].tolist()):
        for i in by_rec.get(r, []):
            d = abs(int(tframes[i]) - int(pframes[j]))
            if d <= tolerance_frames:
                cand.append((d, i, j))
    cand.sort()
    used_t: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for d, i, j in cand:
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            pairs.append((i, j, d))
    n_t, n_p, n_m = len(truth), len(predicted), len(pairs)
    out = {
        "precision": n_m / n_p if n_p else float("nan"),
        "recall": n_m / n_t if n_t else float("nan"),
        "f1": 2 * n_m / (n_t + n_p) if (n_t + n_p) else float("nan"),
        "n_true": n_t,
        "n_predicted": n_p,
        "n_matched": n_m,
        "mean_abs_onset_error_frames": float(np.mean([d for *_, d in pairs])) if pairs
        else float("nan"),
    }
    if donor_cols is not None:
        td, pd_ = donor_cols
        tdon = truth[td].tolist()
        pdon = predicted[pd_].tolist()
        same = [
            (pd.isna(tdon[i]) and pd.isna(pdon[j]))
            or (not pd.isna(tdon[i]) and not pd.isna(pdon[j]) and tdon[i] == pdon[j])
            for i, j, _ in pairs
        ]
        out["donor_accuracy"] = float(np.mean(same)) if same else float("nan")
    return out


def label_table(labels: np.ndarray, *, first_frame: int = 0) -> pd.DataFrame:
    """Centroid and area of every label in a label movie (tracker input from masks).

    Parameters
    ----------
    labels : ndarray of int, shape (T, Y, X)
        Label images; 0 is background.
    first_frame : int
        Frame number of ``labels[0]``.

    Returns
    -------
    DataFrame
        ``frame, label, centroid_y, centroid_x, area_px``, sorted by frame and label.

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.zeros((1, 4, 4), int)
    >>> lab[0, :2, :2] = 3
    >>> label_table(lab)
       frame  label  centroid_y  centroid_x  area_px
    0      0      3         0.5         0.5        4
    """
    labels = np.asarray(labels)
    _, h, w = labels.shape
    yy = np.repeat(np.arange(h, dtype=np.float64), w)
    xx = np.tile(np.arange(w, dtype=np.float64), h)
    parts = []
    for t, lab in enumerate(labels):
        flat = lab.ravel().astype(np.int64)
        n = int(flat.max()) + 1 if flat.size else 1
        area = np.bincount(flat, minlength=n)
        ids = np.flatnonzero(area)
        ids = ids[ids > 0]
        sy = np.bincount(flat, weights=yy, minlength=n)[ids]
        sx = np.bincount(flat, weights=xx, minlength=n)[ids]
        parts.append(pd.DataFrame({
            "frame": t + first_frame, "label": ids, "centroid_y": sy / area[ids],
            "centroid_x": sx / area[ids], "area_px": area[ids],
        }))
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"frame": np.int64, "label": np.int64, "area_px": np.int64})


def label_contacts(labels: np.ndarray, *, first_frame: int = 0) -> pd.DataFrame:
    """Pairs of labels sharing a border, with the border length, per frame.

    The border length is the number of 4-connected pixel pairs (one pixel in each label).

    Parameters
    ----------
    labels : ndarray of int, shape (T, Y, X)
    first_frame : int
        Frame number of ``labels[0]``.

    Returns
    -------
    DataFrame
        ``frame, label_a, label_b, border_px`` with ``label_a < label_b``.

    Examples
    --------
    >>> import numpy as np
    >>> lab = np.array([[[1, 1, 2], [1, 1, 2]]])
    >>> label_contacts(lab)
       frame  label_a  label_b  border_px
    0      0        1        2          2
    """
    labels = np.asarray(labels)
    parts = []
    for t, lab in enumerate(labels):
        a = np.concatenate([lab[:, :-1].ravel(), lab[:-1, :].ravel()]).astype(np.int64)
        b = np.concatenate([lab[:, 1:].ravel(), lab[1:, :].ravel()]).astype(np.int64)
        k = (a != b) & (a > 0) & (b > 0)
        lo, hi = np.minimum(a[k], b[k]), np.maximum(a[k], b[k])
        if len(lo) == 0:
            continue
        pair, n = np.unique(np.stack([lo, hi], axis=1), axis=0, return_counts=True)
        parts.append(pd.DataFrame({"frame": t + first_frame, "label_a": pair[:, 0],
                                   "label_b": pair[:, 1], "border_px": n}))
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=np.int64)
                             for c in ("frame", "label_a", "label_b", "border_px")})
    out = pd.concat(parts, ignore_index=True)
    return out.astype(np.int64)
