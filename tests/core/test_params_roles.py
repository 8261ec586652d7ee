"""Parameters (validation, versions, JSON round trip) and channel roles."""

from __future__ import annotations

import json

import pytest

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import PARAMS_VERSION, AnalysisParams
from pgpviewer.core.roles import channel_column_name, guess_roles, resolve_roles


def test_round_trip_and_file(tmp_path):
    p = AnalysisParams().replace(z_projection="mean")
    assert AnalysisParams.from_json(p.to_json()) == p
    f = tmp_path / "p.json"
    f.write_text(p.to_json())
    assert AnalysisParams.load(f) == p
    # an analyze output's params.json (params nested under "params") is accepted too
    g = tmp_path / "out.json"
    g.write_text(json.dumps({"software": "pgpviewer", "params": p.to_dict()}))
    assert AnalysisParams.load(g) == p


def test_every_field_has_title_and_description():
    def walk(model):
        for name, field in type(model).model_fields.items():
            assert field.title and field.description, f"{type(model).__name__}.{name}"
            value = getattr(model, name)
            if hasattr(type(value), "model_fields"):
                walk(value)

    walk(AnalysisParams())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"segmentation": {"cell_diameter_px": -3}}, "segmentation.cell_diameter_px"),
        ({"segmentation": {"cell_diameter_px": "big"}}, "cell_diameter_px"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"version": PARAMS_VERSION + 1}, "format version"),
        ([1, 2], "JSON object"),
    ],
)
def test_invalid_params_give_one_clear_line(data, message):
    with pytest.raises(InputError, match=message) as err:
        AnalysisParams.from_dict(data, source="p.json")
    assert "\n" not in str(err.value)


def test_frozen():
    p = AnalysisParams()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError
        p.segmentation.cell_diameter_px = 3  # type: ignore[misc]


def test_guess_roles_from_common_names():
    assert guess_roles(["Hoechst 33342", "CellTracker Blue", "P-gp-EGFP"]) == {
        "nuclei": 0,
        "recipient": 1,
        "pgp": 2,
    }
    assert guess_roles(["DAPI", "DiD donor", "UIC2-PE", "Calcein AM"]) == {
        "nuclei": 0,
        "donor": 1,
        "pgp": 2,
        "efflux": 3,
    }
    assert guess_roles(["Channel 0", "Channel 1"]) == {}


def test_resolve_roles_by_name_and_index():
    names = ["Hoechst", "CellTracker", "P-gp"]
    assert resolve_roles({"pgp": "p-gp", "nuclei": "0"}, names) == {"nuclei": 0, "pgp": 2}
    with pytest.raises(InputError, match="no channel named 'GFP'"):
        resolve_roles({"pgp": "GFP"}, names, source="f.tif")
    with pytest.raises(InputError, match="channel 7"):
        resolve_roles({"pgp": 7}, names)
    with pytest.raises(InputError, match="unknown channel role"):
        resolve_roles({"cytoplasm": 0}, names)
    with pytest.raises(InputError, match="same channel"):
        resolve_roles({"pgp": 0, "nuclei": 0}, names)


def test_channel_column_name():
    assert channel_column_name("P-gp-EGFP") == "p_gp_egfp"
    assert channel_column_name("=cmd|x") == "_cmd_x"


def test_version_1_files_keep_their_results():
    """Settings added since format version 1 take the value that reproduces version-1 results
    when a v1 file lacks them; given values are kept; new files are written as the new version."""
    old = AnalysisParams.from_dict({"version": 1, "gate": {"false_positive_rate": 0.02}})
    assert old.version == PARAMS_VERSION == 4
    assert old.segmentation.cell_diameter_px == 30.0
    assert old.events.contact_source == "longest_border"
    assert old.events.trace_vesicles is False
    assert old.gate.false_positive_rate == 0.02
    kept = AnalysisParams.from_dict({"version": 1, "events": {"trace_vesicles": True}})
    assert kept.events.trace_vesicles is True and kept.events.contact_source == "longest_border"
    new = AnalysisParams()
    assert new.events.contact_source == "puncta" and new.events.trace_vesicles is True
    assert AnalysisParams.from_json(new.to_json()) == new


def test_version_2_files_keep_the_former_cell_diameter():
    # version 3 measures the cell diameter when it is not set (None); a v1/v2 file without it
    # keeps the former default 30 px, a given value is kept, a v3 file without it is automatic
    v2 = AnalysisParams.from_dict({"version": 2, "segmentation": {"min_area_px": 30}})
    assert v2.segmentation.cell_diameter_px == 30.0 and v2.segmentation.min_area_px == 30
    assert v2.events.contact_source == "puncta"  # v2 settings are not reset
    given = AnalysisParams.from_dict({"version": 2, "segmentation": {"cell_diameter_px": 44}})
    assert given.segmentation.cell_diameter_px == 44.0
    assert AnalysisParams.from_dict({"version": 3}).segmentation.cell_diameter_px is None
    assert AnalysisParams().segmentation.cell_diameter_px is None


def test_version_3_files_leave_out_every_cell_above_the_gate_cut_off():
    v3 = AnalysisParams.from_dict({"version": 3, "gate": {"outlier_sd": 4.0}})
    assert v3.gate.outlier_gap_sd == 0.0 and v3.gate.outlier_sd == 4.0
    assert AnalysisParams.from_dict({"version": 4}).gate.outlier_gap_sd == 2.0


def test_version_3_files_keep_the_former_source_donor_rules():
    v3 = AnalysisParams.from_dict({"version": 3, "events": {"vesicle_range_px": 120}})
    assert v3.events.vesicle_release_likelihood_ratio == 0.0
    assert v3.events.contact_puncta_in_donor is False
    assert v3.events.weak_contact_border_px == 0.0
    assert v3.events.vesicle_range_px == 120
    assert AnalysisParams.from_dict({"version": 4}).events == AnalysisParams().events
    assert AnalysisParams().events.vesicle_release_likelihood_ratio == 3.5


def test_automatic_settings_match_the_measured_values():
    """Results of a run with the cell diameter measured are current for 'auto' parameters, not
    for a different explicit diameter or other changed settings."""
    auto = AnalysisParams()
    ran = auto.replace(segmentation={**auto.segmentation.model_dump(), "cell_diameter_px": 21.5})
    assert auto.produced(ran) and ran.produced(ran)
    assert not ran.produced(auto)
    assert not ran.replace(segmentation={"cell_diameter_px": 30.0}).produced(ran)
    other = ran.replace(gate={**ran.gate.model_dump(), "false_positive_rate": 0.05})
    assert not auto.produced(other)
    assert not auto.produced(None)
