"""Settings: defaults, round trip, per-folder roles, and bad files never blocking start-up."""

from __future__ import annotations

import json
import logging

import pytest

from pgpviewer.session.settings import (
    CONFIG_DIR_ENV,
    MAX_RECENT_FOLDERS,
    SETTINGS_VERSION,
    AppSettings,
    load_settings,
    save_settings,
    settings_path,
)


def test_round_trip_and_location(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "cfg"))
    assert settings_path() == tmp_path / "cfg" / "settings.json"
    s = AppSettings(live_preview=True, last_export_dir="/x")
    s.add_recent_folder(tmp_path)
    s.remember_roles(tmp_path, {"nuclei": 0, "pgp": 2}, ["Hoechst", "CT", "P-gp-EGFP"])
    assert save_settings(s)
    data = json.loads(settings_path().read_text())
    assert data["version"] == SETTINGS_VERSION
    back = load_settings()
    assert back == s
    assert not list(settings_path().parent.glob(".settings-*"))  # no temp file left


def test_recent_folders_are_unique_and_bounded(tmp_path):
    s = AppSettings()
    for i in range(MAX_RECENT_FOLDERS + 3):
        s.add_recent_folder(tmp_path / str(i))
    s.add_recent_folder(tmp_path / "3")
    assert len(s.recent_folders) == MAX_RECENT_FOLDERS
    assert s.recent_folders[0].endswith("/3") and len(set(s.recent_folders)) == MAX_RECENT_FOLDERS


def test_roles_recalled_by_channel_name(tmp_path):
    s = AppSettings()
    s.remember_roles(tmp_path, {"nuclei": 0, "pgp": 2}, ["Hoechst", "CT", "P-gp-EGFP"])
    # channel order differs in another file of the same experiment
    assert s.recall_roles(tmp_path, ["P-gp-EGFP", "Hoechst"]) == {"nuclei": 1, "pgp": 0}
    assert s.recall_roles(tmp_path, ["DAPI", "GFP"]) is None  # a remembered channel is missing
    assert s.recall_roles(tmp_path / "other", ["Hoechst"]) is None


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2, 3]",
        "\x00\xff\xfe garbage",
        "",
        '{"version": 1, "recent_folders": "not a list", "live_preview": "yes"}',
    ],
)
def test_corrupt_settings_are_ignored_with_a_warning(tmp_path, caplog, content):
    p = tmp_path / "settings.json"
    p.write_bytes(
        content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content
    )
    with caplog.at_level(logging.WARNING, logger="pgpviewer.session.settings"):
        s = load_settings(p)
    assert s.recent_folders == [] and s.live_preview is False
    if content:
        assert caplog.records, "a warning names the ignored file or setting"


def test_partly_valid_file_keeps_the_good_values(tmp_path, caplog):
    p = tmp_path / "settings.json"
    p.write_text(
        json.dumps(
            {
                "version": 99,
                "recent_folders": ["/a"],
                "live_preview": 3,
                "unknown_key": 1,
                "roles_by_folder": {"/a": {"pgp": 2}},
            }
        )
    )
    with caplog.at_level(logging.WARNING):
        s = load_settings(p)
    assert s.recent_folders == ["/a"] and s.live_preview is False
    assert s.roles_by_folder == {}  # channel names must be strings
    assert any("newer" in r.message for r in caplog.records)


def test_unwritable_location_does_not_raise(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert save_settings(AppSettings(), blocker / "sub" / "settings.json") is False
