"""Analysis parameters: frozen, validated, versioned models with a JSON round trip.

Each pipeline stage has a ``*Params`` model; :class:`AnalysisParams` groups them. Field metadata
(``title``, ``description``, bounds and ``json_schema_extra={"unit": ...}``) is what the GUI's
parameter form is generated from, so every field must carry a title, a description and a unit
where it has one. Unknown keys, wrong types and files from a newer version are refused with a
clear error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pgpviewer.core.errors import InputError

PARAMS_VERSION = 4
#: Settings added (or whose default changed) after format version 1, with the value that
#: reproduces version-1 results: a version-1 file that lacks them is read with these
#: (re-running it gives the same tables).
_ADDED_IN_V2 = {
    "events": {
        "trace_vesicles": False, "contact_source": "longest_border", "hysteresis_noise_sds": 0.0,
    },
    "measurement": {"neighbour_exclusion_px": 0},
}
#: The same for version 2: ``segmentation.cell_diameter_px`` became automatic (None) in
#: version 3; a version-1 or -2 file without it keeps the former default.
_ADDED_IN_V3 = {"segmentation": {"cell_diameter_px": 30.0}}
#: The same for version 3: ``gate.outlier_gap_sd`` (version 4) keeps only a separate bright group
#: out of the gate's calibration; earlier versions left out every cell above the cut-off. The
#: ``events`` entries switch off the source-donor evidence added in version 4.
_ADDED_IN_V4 = {"gate": {"outlier_gap_sd": 0.0}, "events": {
    "vesicle_release_likelihood_ratio": 0.0, "contact_puncta_in_donor": False,
    "weak_contact_border_px": 0.0}}
#: The cell diameter used when it is neither set nor measurable (too few single cells).
DEFAULT_CELL_DIAMETER_PX = 30.0


def _unit(unit: str, **extra: Any) -> dict[str, Any]:
    return {"unit": unit, **extra}


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class SegmentationParams(_Params):
    """Whole-cell instance segmentation (owned by ``segmentation.py``)."""

    method: str = Field(
        "classical",
        min_length=1,
        title="Method",
        description="Segmentation backend (a name registered with "
        "pgpviewer.core.segmentation.register_segmenter). 'classical': per-channel threshold + "
        "seeded watershed, no trained model.",
        json_schema_extra={"choices": ["classical"]},
    )
    cell_diameter_px: float | None = Field(
        None,
        ge=4,
        le=500,
        title="Cell diameter",
        description="Typical diameter of one cell; sets the background scale, seed spacing and "
        "size limits. Not set (auto): measured from the image (median size of the cells that are "
        "clearly single; once per movie, and the value used is saved with the results).",
        json_schema_extra=_unit("px"),
    )
    smoothing_sigma_px: float = Field(
        1.0,
        ge=0,
        le=20,
        title="Smoothing",
        description="Gaussian smoothing before thresholding.",
        json_schema_extra=_unit("px"),
    )
    threshold_method: Literal["otsu", "li", "triangle"] = Field(
        "otsu",
        title="Threshold method",
        description="Automatic threshold separating cells from background.",
    )
    threshold_factor: float = Field(
        1.0,
        gt=0,
        le=5,
        title="Threshold factor",
        description="Multiplies the automatic threshold (below 1 includes dimmer cell edges).",
    )
    min_area_px: int = Field(
        40,
        ge=1,
        le=100000,
        title="Minimum cell area",
        description="Objects smaller than this are debris and removed.",
        json_schema_extra=_unit("px"),
    )
    split_touching: bool = Field(
        True,
        title="Split touching cells",
        description="Split touching cells by seeded watershed (nuclei as seeds when mapped).",
    )
    exclude_border_fragments: bool = Field(
        False,
        title="Drop border fragments",
        description="Remove cells cut by the image border whose visible area is under half the "
        "typical cell area.",
    )


class ClassificationParams(_Params):
    """Donor / recipient / unknown per track (owned by ``classification.py``)."""

    method: Literal["auto", "identity", "pgp_first_frame"] = Field(
        "auto",
        title="Population from",
        description="'identity': donor/recipient dyes; 'pgp_first_frame': donors are the cells "
        "P-gp positive in the first frame (when no identity channel exists); 'auto': identity "
        "dyes when mapped, else P-gp in the first frame.",
    )
    min_confidence: float = Field(
        0.6,
        ge=0.5,
        le=1.0,
        title="Minimum vote",
        description="Fraction of a track's frames that must agree; below it the track is "
        "'unknown'.",
    )
    min_fold_change: float = Field(
        3.0,
        ge=1.0,
        le=1000.0,
        title="Minimum bright/dim ratio",
        description="In each frame, cells are split into dye-bright and dye-dim only when the "
        "bright group's median signal is at least this many times the dim group's; otherwise "
        "the frame is taken as one population (bright = above 3 noise SDs).",
    )


class PunctaParams(_Params):
    """P-gp puncta (vesicle) detection (owned by ``puncta.py``)."""

    enabled: bool = Field(True, title="Detect puncta", description="Detect P-gp puncta.")
    spot_sigma_px: float = Field(
        1.2,
        ge=0.5,
        le=10,
        title="Spot size (sigma)",
        description="Gaussian sigma of a diffraction-limited spot.",
        json_schema_extra=_unit("px"),
    )
    threshold_snr: float = Field(
        4.0,
        ge=0.5,
        le=100,
        title="Spot threshold (SNR)",
        description="Minimum spot amplitude above local background, in noise standard deviations.",
    )
    min_distance_px: int = Field(
        2,
        ge=1,
        le=50,
        title="Minimum spot distance",
        description="Closest two separate spots may be.",
        json_schema_extra=_unit("px"),
    )


class MeasurementParams(_Params):
    """Per-cell measurements (owned by ``measurements.py``)."""

    membrane_width_px: int = Field(
        2,
        ge=1,
        le=20,
        title="Membrane rim width",
        description="Width of the rim inside the cell border counted as membrane.",
        json_schema_extra=_unit("px"),
    )
    donor_exclusion_px: int = Field(
        1,
        ge=0,
        le=10,
        title="Donor exclusion",
        description="Recipient pixels within this distance of a donor mask are excluded from its "
        "P-gp measures (a touching donor's rim is not transfer).",
        json_schema_extra=_unit("px"),
    )
    neighbour_exclusion_px: int = Field(
        2,
        ge=0,
        le=20,
        title="Neighbour spill-over exclusion",
        description="Pixels of a recipient (or unknown cell) within this distance of any other "
        "cell are left out of its P-gp intensity measures (pgp_score, rim and cytoplasm means): "
        "a bright neighbour's light blurred by the PSF (≈ 2 σ of a ~1 px σ PSF) and a border "
        "misplaced by the segmentation are not transfer. A cell with no pixel left keeps the "
        "donor-excluded pixels. Puncta are still counted up to the donor exclusion. 0: off.",
        json_schema_extra=_unit("px"),
    )
    background: Literal["local", "global"] = Field(
        "global",
        title="Background",
        description="'global': per-frame background from pixels outside all cells; 'local': "
        "a ring around each cell.",
    )
    contact_gap_px: int = Field(
        1,
        ge=0,
        le=10,
        title="Contact gap",
        description="Cells separated by at most this many background pixels still touch (0: "
        "only directly adjacent cells touch).",
        json_schema_extra=_unit("px"),
    )


class GateParams(_Params):
    """The P-gp positivity gate (owned by ``gate.py``)."""

    source: Literal["first_frames", "control", "manual"] = Field(
        "first_frames",
        title="Gate from",
        description="'first_frames': recipients in the first frame(s) of this movie; 'control': "
        "recipients in a control file (--control); 'manual': the value below.",
    )
    false_positive_rate: float = Field(
        0.01,
        gt=0,
        lt=0.5,
        title="False-positive rate",
        description="Fraction of control recipients allowed above the gate.",
    )
    n_first_frames: int = Field(
        1,
        ge=1,
        le=100,
        title="Calibration frames",
        description="Number of first frames used when the gate comes from this movie.",
        json_schema_extra=_unit("frames"),
    )
    manual_value: float | None = Field(
        None,
        title="Manual gate",
        description="P-gp score threshold when the source is manual.",
    )
    outlier_sd: float = Field(
        3.0,
        ge=0,
        le=100,
        title="Already-positive cut-off",
        description="Control cells scoring more than this many robust SDs (1.4826 × MAD) above "
        "the control median are taken as already P-gp positive (e.g. recipients positive at "
        "t = 0) and left out of the calibration; 0 uses every control cell.",
    )
    outlier_gap_sd: float = Field(
        2.0,
        ge=0,
        le=100,
        title="Already-positive gap",
        description="Cells above the cut-off are left out only from the first gap of at least "
        "this many robust SDs between consecutive scores upwards: already-positive cells form a "
        "brighter group of their own, while the high tail of the negatives (e.g. recipients "
        "touching donors) continues the rest and stays in; 0 leaves out every cell above the "
        "cut-off.",
    )


class TrackingParams(_Params):
    """Linking cells over time (owned by ``tracking.py``)."""

    max_distance_px: float | None = Field(
        None,
        gt=0,
        le=1000,
        title="Maximum displacement",
        description="Largest distance a cell may move between consecutive frames; also the "
        "limit across a gap and between a mother and each daughter. Empty (auto): the median "
        "cell diameter, from the cells' areas (25 px when areas are unknown).",
        json_schema_extra=_unit("px"),
    )
    gap_closing_frames: int = Field(
        2,
        ge=0,
        le=20,
        title="Gap closing",
        description="Frames a cell may be missed and still be linked.",
        json_schema_extra=_unit("frames"),
    )
    divisions: bool = Field(
        True, title="Detect divisions", description="Link daughters to their parent track."
    )
    area_change_weight: float = Field(
        0.0,
        ge=0,
        le=10,
        title="Area change penalty",
        description="Weight of the relative area change in the linking cost (0 = distance "
        "only; 1 makes a link between cells of 2:1 area cost as much as a 1.5× longer move).",
    )


class EventParams(_Params):
    """Transfer events (owned by ``events.py``)."""

    min_persistence_frames: int = Field(
        3,
        ge=1,
        le=1000,
        title="Minimum persistence",
        description="A recipient must stay positive this many frames for an event.",
        json_schema_extra=_unit("frames"),
    )
    hysteresis_noise_sds: float = Field(
        3.0,
        ge=0,
        le=20,
        title="Hysteresis margin",
        description="Two-level rule for a recipient's positive state, in units of the "
        "within-cell noise SD (estimated from frame-to-frame changes of negative recipients' "
        "P-gp scores): a cell turns positive only when its score is this margin above both "
        "the gate and its own baseline, stays positive until it falls back to its baseline "
        "or this margin below the gate, and the run starts where the rise above its baseline "
        "began. 0: a single threshold (the gate).",
    )
    contact_lookback_frames: int = Field(
        2,
        ge=0,
        le=100,
        title="Contact look-back",
        description="A donor contact this many frames before the event still counts as contact.",
        json_schema_extra=_unit("frames"),
    )
    donor_search_distance_px: float = Field(
        60.0,
        ge=0,
        le=10000,
        title="Donor search distance",
        description="Without contact and without P-gp puncta to trace, the nearest donor "
        "within this distance is the source.",
        json_schema_extra=_unit("px"),
    )
    contact_source: Literal["puncta", "longest_border"] = Field(
        "puncta",
        title="Contact source donor",
        description="How the source donor of a contact event is chosen among the donors "
        "touching the recipient. 'puncta': the one whose shared border lies nearest the "
        "recipient's new P-gp puncta at the onset, weighed against border length (contact "
        "transfer deposits P-gp at the contact site); the longest shared border when there are "
        "no such puncta. "
        "'longest_border': always the donor with the longest shared border.",
    )
    contact_puncta_in_donor: bool = Field(
        True,
        title="Contact puncta in donor masks",
        description="With contact_source 'puncta': new P-gp puncta inside a touching donor's "
        "mask next to the recipient are weak evidence that this donor gave (the masks of "
        "touching cells are uncertain by a few pixels at their border, so a deposit can fall "
        "inside the donor's mask).",
    )
    weak_contact_border_px: float = Field(
        10.0,
        ge=0,
        le=1000,
        title="Weak contact border",
        description="A contact whose shared borders are all at most this long is taken as an "
        "artefact of touching masks (mode remote, source traced like a vesicle's) when every "
        "new P-gp punctum of the recipient around the onset lies far (> 10 px) from every "
        "touching donor. 0: every mask contact counts.",
        json_schema_extra=_unit("px"),
    )
    trace_vesicles: bool = Field(
        True,
        title="Trace vesicles",
        description="For remote events, find the source donor by tracing the arriving P-gp "
        "punctum back along its path (needs puncta); otherwise the nearest donor.",
    )
    vesicle_lookback_frames: int = Field(
        3,
        ge=1,
        le=20,
        title="Vesicle look-back",
        description="Frames before the onset in which the arriving punctum and its path in "
        "transit are searched.",
        json_schema_extra=_unit("frames"),
    )
    vesicle_max_step_px: float = Field(
        80.0,
        gt=0,
        le=10000,
        title="Vesicle step",
        description="Largest distance a vesicle in transit moves between two frames.",
        json_schema_extra=_unit("px"),
    )
    vesicle_path_tolerance_px: float = Field(
        3.0,
        gt=0,
        le=100,
        title="Vesicle path tolerance",
        description="Largest distance of a punctum from the straight, constant-speed path "
        "extrapolated from the later positions of the vesicle.",
        json_schema_extra=_unit("px"),
    )
    vesicle_min_snr: float = Field(
        10.0,
        ge=0,
        le=1000,
        title="Vesicle SNR",
        description="Smallest signal-to-noise ratio of a punctum outside donors and P-gp "
        "positive cells taken as a vesicle in transit (fainter spots are mostly noise or "
        "cell texture).",
    )
    vesicle_range_px: float = Field(
        150.0,
        gt=0,
        le=10000,
        title="Vesicle range",
        description="Largest donor-recipient distance for a source found without a traced "
        "path: from the direction the punctum arrived from, or a release seen at the donor.",
        json_schema_extra=_unit("px"),
    )
    vesicle_release_likelihood_ratio: float = Field(
        3.5,
        ge=0,
        le=1000,
        title="Release spot weight",
        description="How much more likely a donor in the arrival direction is the source when "
        "a P-gp spot is seen at its facing edge one frame before the arrival (a release "
        "seen); 3.7 pooled over simulated co-cultures (1–9 by condition). 0: such a release "
        "outranks every source found from the direction alone.",
    )
    arrival_position_error_px: float = Field(
        1.0,
        gt=0,
        le=50,
        title="Arrival position error",
        description="Uncertainty of the arriving punctum's position relative to the "
        "recipient's centroid; sets how closely a donor must lie on the arrival direction.",
        json_schema_extra=_unit("px"),
    )


class AnalysisParams(_Params):
    """Every parameter of one analysis; saved to and loaded from ``params.json``.

    Examples
    --------
    >>> p = AnalysisParams()
    >>> AnalysisParams.from_json(p.to_json()) == p
    True
    """

    version: int = Field(
        PARAMS_VERSION,
        title="Parameter format version",
        description="Version of this parameter format.",
    )
    z_projection: Literal["max", "mean", "middle"] = Field(
        "max",
        title="Z projection",
        description="How z-stacks become one image per frame before analysis.",
    )
    segmentation: SegmentationParams = Field(
        default_factory=SegmentationParams, title="Cells", description="Cell segmentation."
    )
    classification: ClassificationParams = Field(
        default_factory=ClassificationParams, title="Populations",
        description="Donor / recipient assignment per track.",
    )
    puncta: PunctaParams = Field(
        default_factory=PunctaParams, title="Puncta", description="P-gp puncta (vesicles)."
    )
    measurement: MeasurementParams = Field(
        default_factory=MeasurementParams, title="Measurements",
        description="Per-cell intensity measurements.",
    )
    gate: GateParams = Field(
        default_factory=GateParams, title="P-gp gate", description="The positivity threshold."
    )
    tracking: TrackingParams = Field(
        default_factory=TrackingParams, title="Tracking", description="Linking cells over time."
    )
    events: EventParams = Field(
        default_factory=EventParams, title="Transfer events",
        description="Detection of donor→recipient transfer.",
    )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: object = None) -> AnalysisParams:
        """Validate a dict (e.g. from params.json); raises :class:`InputError` when invalid."""
        if not isinstance(data, dict):
            raise InputError(source, "parameters must be a JSON object")
        version = data.get("version", PARAMS_VERSION)
        if not isinstance(version, int) or version > PARAMS_VERSION:
            raise InputError(
                source,
                f"parameters are format version {version!r}; this pgpviewer reads up to "
                f"{PARAMS_VERSION} (update pgpviewer)",
            )
        if version < PARAMS_VERSION:
            data = _upgrade(data, version)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise InputError(source, f"invalid parameter {where}: {first['msg']}") from None

    @classmethod
    def from_json(cls, text: str, *, source: object = None) -> AnalysisParams:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(source, f"not valid JSON ({e})") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def load(cls, path: str | Path) -> AnalysisParams:
        """Read parameters from a params JSON file.

        Accepts both a bare parameter file and the ``params.json`` that ``analyze`` writes
        (its ``"params"`` entry is used).
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(p, "file not found") from None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(p, f"cannot read parameters ({e})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(p, f"not valid JSON ({e})") from None
        if isinstance(data, dict) and "params" in data and "software" in data:
            data = data["params"]
        return cls.from_dict(data, source=p)

    def replace(self, **changes: Any) -> AnalysisParams:
        """A copy with some fields changed, validated again."""
        return type(self).model_validate({**self.to_dict(), **changes})

    def produced(self, used: AnalysisParams | None) -> bool:
        """True when an analysis run with ``used`` is what these (requested) parameters give.

        Settings left automatic here are filled in by the analysis (the cell diameter measured
        on the movie), so any value there matches; everything else must be equal.

        Examples
        --------
        >>> auto = AnalysisParams()
        >>> ran = auto.replace(segmentation={"cell_diameter_px": 21.5})
        >>> auto.produced(ran), ran.produced(auto), ran.produced(ran)
        (True, False, True)
        """
        if used is None:
            return False
        if self.segmentation.cell_diameter_px is None:
            seg = {**used.segmentation.model_dump(), "cell_diameter_px": None}
            used = used.replace(segmentation=seg)
        return used == self


def _upgrade(data: dict[str, Any], version: int) -> dict[str, Any]:
    """An older parameter dict as the current version: settings added or changed since get the
    values that reproduce that version's results."""
    data = dict(data)
    tables = [(2, _ADDED_IN_V2), (3, _ADDED_IN_V3), (4, _ADDED_IN_V4)]
    for added_in, table in tables:
        if version >= added_in:
            continue
        for section, legacy in table.items():
            given = data.get(section, {})
            if isinstance(given, dict):
                data[section] = {**legacy, **given}
    data["version"] = PARAMS_VERSION
    return data
