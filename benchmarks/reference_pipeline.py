"""A plain scikit-image pipeline, the yardstick for pgpviewer's speed and accuracy.

What a careful analyst would write in a notebook: per frame, gaussian → Otsu → distance
transform → peak_local_max → watershed → regionprops_table (mean intensity of every channel).
Single process, one frame at a time, no optimisation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from skimage import filters, measure, segmentation
from skimage.feature import peak_local_max


def reference_segment(image: np.ndarray, cell_diameter_px: float = 30.0) -> np.ndarray:
    """Segment cells in one (C, Y, X) frame: the sum of min-max normalised channels."""
    img = image.astype(np.float32)
    lo = img.min(axis=(1, 2), keepdims=True)
    hi = img.max(axis=(1, 2), keepdims=True)
    combined = ((img - lo) / np.maximum(hi - lo, 1e-6)).sum(axis=0)
    smooth = filters.gaussian(combined, sigma=1.5)
    mask = smooth > filters.threshold_otsu(smooth)
    distance = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(distance, min_distance=int(cell_diameter_px / 3), labels=mask,
                           exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return segmentation.watershed(-distance, markers, mask=mask).astype(np.int32)


def reference_frame(image: np.ndarray, cell_diameter_px: float = 30.0):
    """Labels and a per-cell table for one (C, Y, X) frame."""
    labels = reference_segment(image, cell_diameter_px)
    table = pd.DataFrame(measure.regionprops_table(
        labels, intensity_image=np.moveaxis(image, 0, -1),
        properties=("label", "area", "centroid", "intensity_mean")))
    return labels, table
