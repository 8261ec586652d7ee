"""Whole-cell segmentation on small hand-made images (accuracy on realistic data: see
test_accuracy_core1.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from pgpviewer.core.errors import InputError
from pgpviewer.core.metrics import match_labels
from pgpviewer.core.params import SegmentationParams
from pgpviewer.core.segmentation import (
    SEGMENTERS,
    register_segmenter,
    segment_cells,
    smooth_background,
)

SHAPE = (96, 128)


def _disk(center, radius, shape=SHAPE):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2


def _render(mask_values, *, noise=2.0, background=100.0, blur=1.0, seed=0, shape=SHAPE):
    """Sum of (mask, value) pairs, blurred, on a background, with Gaussian noise; uint16."""
    img = np.zeros(shape)
    for mask, value in mask_values:
        img += value * mask
    img = ndi.gaussian_filter(img, blur) + background
    img += np.random.default_rng(seed).normal(0, noise, shape)
    return np.clip(np.rint(img), 0, 65535).astype(np.uint16)


def _gt(*masks):
    lab = np.zeros(masks[0].shape, np.int32)
    for i, m in enumerate(masks, start=1):
        lab[m & (lab == 0)] = i
    return lab


def test_output_contract_consecutive_int32():
    a, b = _disk((30, 30), 10), _disk((60, 90), 12)
    lab = segment_cells({"nuclei": _render([(a, 200), (b, 200)])},
                        SegmentationParams(cell_diameter_px=22))
    assert lab.dtype == np.int32 and lab.shape == SHAPE
    assert sorted(np.unique(lab)) == [0, 1, 2]
    assert match_labels(_gt(a, b), lab).tp == 2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_any_dtype(dtype):
    a = _disk((40, 50), 12)
    img = _render([(a, 100)]).astype(np.float64) / 4
    lab = segment_cells({"nuclei": img.astype(dtype)}, SegmentationParams(cell_diameter_px=24))
    assert lab.max() == 1


def test_empty_and_constant_images_give_no_cells():
    p = SegmentationParams()
    assert segment_cells({"nuclei": np.zeros(SHAPE, np.uint16)}, p).max() == 0
    noise = _render([], noise=3.0)
    assert segment_cells({"nuclei": noise, "pgp": noise}, p).max() == 0


def test_errors():
    with pytest.raises(InputError, match="at least one"):
        segment_cells({}, SegmentationParams())
    with pytest.raises(InputError, match="one shape"):
        segment_cells({"nuclei": np.zeros((4, 4)), "pgp": np.zeros((5, 5))})
    with pytest.raises(InputError, match="unknown segmentation method"):
        segment_cells({"nuclei": np.zeros((8, 8))}, SegmentationParams(method="cellpose9"))


def test_registry_plugs_in_a_backend():
    calls = []

    @register_segmenter("halves")
    def halves(images, params):
        calls.append(sorted(images))
        shape = next(iter(images.values())).shape
        out = np.zeros(shape, np.int32)
        out[:, : shape[1] // 2] = 7  # any ids: segment_cells renumbers
        out[:, shape[1] // 2 :] = 3
        return out

    try:
        lab = segment_cells({"pgp": np.zeros((4, 6))}, SegmentationParams(method="halves"))
        assert calls == [["pgp"]]
        assert lab.tolist()[0] == [1, 1, 1, 2, 2, 2]
    finally:
        del SEGMENTERS["halves"]
    assert "classical" in SEGMENTERS


def test_touching_cells_split_on_nuclei():
    # two touching cells of one dye with clearly separate nuclei
    a, b = _disk((48, 44), 20), _disk((48, 80), 18)
    b &= ~a
    na, nb = _disk((48, 44), 7), _disk((48, 82), 6)
    images = {
        "nuclei": _render([(na, 400), (nb, 400)], seed=1),
        "recipient": _render([(a, 150), (b, 220)], seed=2),
    }
    lab = segment_cells(images, SegmentationParams(cell_diameter_px=38))
    m = match_labels(_gt(a, b), lab)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)
    assert m.mean_iou > 0.8


def test_rim_only_donor_is_one_whole_cell():
    cell = _disk((48, 64), 22)
    rim = cell & ~_disk((48, 64), 20)
    nucleus = _disk((48, 64), 8)
    images = {"nuclei": _render([(nucleus, 300)], seed=3), "pgp": _render([(rim, 400)], seed=4)}
    lab = segment_cells(images, SegmentationParams(cell_diameter_px=40))
    assert lab.max() == 1
    m = match_labels(cell.astype(np.int32), lab)
    assert m.tp == 1 and m.mean_iou > 0.85


def test_rim_only_donor_without_nuclei():
    cell = _disk((48, 64), 22)
    rim = cell & ~_disk((48, 64), 20)
    lab = segment_cells({"pgp": _render([(rim, 400)], seed=5)},
                        SegmentationParams(cell_diameter_px=40))
    assert lab.max() == 1
    assert match_labels(cell.astype(np.int32), lab).mean_iou > 0.85


def test_dim_recipient_next_to_bright_donor():
    donor = _disk((48, 40), 18)
    recipient = _disk((48, 74), 16) & ~donor
    images = {
        "nuclei": _render([(_disk((48, 40), 6), 300), (_disk((48, 76), 6), 300)], seed=6),
        "recipient": _render([(recipient, 25)], seed=7),  # dim dye
        "pgp": _render([(donor, 3000)], seed=8),  # very bright donor
    }
    lab = segment_cells(images, SegmentationParams(cell_diameter_px=34))
    m = match_labels(_gt(donor, recipient), lab)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)
    assert m.mean_iou > 0.75


def test_uneven_illumination():
    yy, xx = np.mgrid[: SHAPE[0], : SHAPE[1]]
    cells = [_disk((25, 25), 9), _disk((70, 30), 9), _disk((30, 100), 9), _disk((72, 105), 9)]
    img = _render([(c, 120) for c in cells], seed=9).astype(float)
    img *= 0.6 + 0.8 * xx / SHAPE[1]  # 2.3-fold illumination gradient
    img += 80 * yy / SHAPE[0]  # and a background ramp above the dimmest cell's contrast
    lab = segment_cells({"recipient": img}, SegmentationParams(cell_diameter_px=18))
    m = match_labels(_gt(*cells), lab)
    assert (m.tp, m.fp, m.fn) == (4, 0, 0)


def test_debris_and_border_fragments():
    cells = [_disk((30, 40), 10), _disk((60, 90), 10), _disk((70, 30), 10)]
    debris = _disk((15, 110), 2)
    fragment = _disk((48, -4), 10)  # a cell mostly outside the image
    img = _render([(m, 200) for m in [*cells, debris, fragment]], seed=10)
    base = dict(cell_diameter_px=20, min_area_px=40)
    lab = segment_cells({"nuclei": img}, SegmentationParams(**base))
    assert lab.max() == 4  # debris removed, fragment kept
    lab = segment_cells({"nuclei": img},
                        SegmentationParams(**base, exclude_border_fragments=True))
    assert lab.max() == 3
    assert (lab[:, 0] == 0).all()


def test_split_touching_off_keeps_connected_objects_whole():
    a, b = _disk((48, 50), 16), _disk((48, 78), 16)
    img = _render([(a | b, 200)], seed=11)
    assert segment_cells({"nuclei": img}, SegmentationParams(cell_diameter_px=32)).max() == 2
    lab = segment_cells({"nuclei": img},
                        SegmentationParams(cell_diameter_px=32, split_touching=False))
    assert lab.max() == 1


def test_cell_without_visible_body_is_grown_from_its_nucleus():
    # donors show in P-gp; the recipient only has a nucleus
    donors = [_disk((25, 25), 14), _disk((70, 25), 14), _disk((25, 100), 14),
              _disk((70, 100), 14), _disk((48, 62), 12)]
    rec_nucleus = _disk((80, 64), 6)
    nuclei = [_disk((25, 25), 6), _disk((70, 25), 6), _disk((25, 100), 6), _disk((70, 100), 6),
              _disk((48, 62), 6), rec_nucleus]
    images = {
        "nuclei": _render([(n, 300) for n in nuclei], seed=12),
        "pgp": _render([(d, 200) for d in donors], seed=13),
    }
    lab = segment_cells(images, SegmentationParams(cell_diameter_px=28))
    assert lab.max() == 6
    rec = lab[80, 64]
    assert rec > 0
    area = int((lab == rec).sum())
    assert area > 2 * rec_nucleus.sum()  # grown beyond the nucleus


def test_smooth_background_follows_a_ramp_not_the_cells():
    xx = np.mgrid[:128, :128][1]
    img = 50 + 0.5 * xx + 200 * _disk((64, 64), 10, (128, 128))
    bg = smooth_background(img, 80)
    assert abs(float(bg[64, 64]) - (50 + 0.5 * 64)) < 10
    assert abs(float(bg[10, 120]) - (50 + 0.5 * 120)) < 10


def _touching_pair():
    """Two cells pressed against each other (shared straight border at x = 62)."""
    a, b = _disk((48, 44), 19), _disk((48, 80), 19)
    xx = np.mgrid[: SHAPE[0], : SHAPE[1]][1]
    a &= xx < 62
    b &= xx >= 62
    return a, b


def _rim(cell):
    return cell & ~ndi.binary_erosion(cell, iterations=2)


def test_touching_rim_only_donors_without_nuclei_are_two_cells():
    # P-gp only on the membranes (the shared one is brighter: two membranes), nothing inside
    a, b = _touching_pair()
    images = {"pgp": _render([(_rim(a), 400), (_rim(b), 400)], seed=11)}
    lab = segment_cells(images, SegmentationParams())
    m = match_labels(_gt(a, b), lab)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)
    assert m.mean_iou > 0.8


def test_rim_donor_with_dim_cytoplasm_without_nuclei_is_one_cell():
    # bright rim above a dim, textured cytoplasm: the maxima lie on the rim, not inside
    cell = _disk((48, 64), 22)
    tex = 1 + 0.3 * ndi.gaussian_filter(np.random.default_rng(3).normal(0, 1, SHAPE), 2) * 4
    img = _render([(_rim(cell), 500), (cell * tex, 90)], seed=12)
    lab = segment_cells({"pgp": img}, SegmentationParams())
    m = match_labels(cell.astype(np.int32), lab)
    assert lab.max() == 1 and m.tp == 1 and m.mean_iou > 0.85


def test_touching_volume_cells_without_nuclei_split_at_their_valley():
    # a volume dye, dimmer towards each cell's edge (thinner there): a valley where they touch
    a, b = _touching_pair()
    dist = ndi.distance_transform_edt(a) + ndi.distance_transform_edt(b)
    thick = (1 - 0.75 * np.exp(-dist / 3.0)) * (a | b)
    images = {"recipient": _render([(thick * a, 300), (thick * b, 180)], seed=13)}
    lab = segment_cells(images, SegmentationParams())
    m = match_labels(_gt(a, b), lab)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)
    assert m.mean_iou > 0.8


def test_simulated_field_without_nuclei():
    # recipient dye + P-gp only (no nuclei): measured F1 0.85-0.92 on these frames (0.46-0.53
    # with the former blob-maxima seeds)
    from pgpviewer.core.metrics import match_label_stacks
    from pgpviewer.core.synthetic import simulate_coculture

    sim = simulate_coculture(seed=1, n_frames=15, shape_yx=(256, 256), n_cells=40,
                             include_nuclei=False)
    frames = [0, 14]
    labs = np.stack([
        segment_cells({r: sim.image[t][i] for r, i in sim.channel_roles.items()})
        for t in frames
    ])
    acc, _ = match_label_stacks(sim.labels[frames], labs)
    assert acc.f1 >= 0.8
    assert acc.mean_iou >= 0.82


def test_small_touching_nuclei_split_after_refinement():
    # small cells whose nuclei touch at the low detection threshold (blur) but not at their
    # refined edges: one cell each
    shape = (64, 64)
    a, b = _disk((32, 24), 8, shape), _disk((32, 40), 8, shape)
    b &= ~a
    na, nb = _disk((32, 26), 4, shape), _disk((32, 37), 4, shape)
    images = {
        "nuclei": _render([(na, 500), (nb, 500)], seed=14, blur=2.0, shape=shape),
        "recipient": _render([(a, 200), (b, 200)], seed=15, blur=2.0, shape=shape),
    }
    lab = segment_cells(images, SegmentationParams())
    m = match_labels(_gt(a, b), lab)
    assert (m.tp, m.fp, m.fn) == (2, 0, 0)
