"""Build the desktop bundle and the .deb, install it, and run the installed app's self-test.

What a user gets from the installer, checked end to end on this machine:
``python packaging/build.py`` → ``apt-get install ./dist/pgpviewer_*.deb`` →
``xvfb-run -a /usr/bin/pgpviewer --self-test``. Also measures the bundle and .deb sizes and the
installed app's start-up (process start → window shown), prints them and records them in
``build/bundle-metrics.json``. The package stays installed (a later run upgrades it in place).

Needs Linux, root, apt-get, dpkg-deb, xvfb-run and PyInstaller; skipped with the reason
otherwise. Takes 3–5 minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pgpviewer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist"
BUNDLE_BUDGET_MB = 450
STARTUP_BUDGET_S = 3.0  # reported against, not asserted: timings depend on the machine's load
INSTALLED = Path("/usr/bin/pgpviewer")


def _skip_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the .deb is built and installed on Linux only"
    if os.geteuid() != 0:
        return "installing the .deb needs root (run the suite as root, e.g. in CI)"
    for tool in ("apt-get", "dpkg-deb", "xvfb-run"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return "PyInstaller is not installed (pip install -e '.[packaging]')"
    return None


def _mb(n: int) -> float:
    return n / 2**20


@pytest.fixture(scope="module")
def installed() -> dict:
    """Build, install, and return the build's measurements."""
    if reason := _skip_reason():
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    build = subprocess.run(
        [sys.executable, "packaging/build.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    print(build.stdout)
    info = json.loads((REPO / "build" / "bundle-info.json").read_text(encoding="utf-8"))
    deb = Path(info["installer"])
    assert deb.is_file() and deb.parent == DIST
    assert re.fullmatch(rf"pgpviewer_{re.escape(pgpviewer.__version__)}_\w+\.deb", deb.name)
    install = subprocess.run(
        ["apt-get", "install", "-y", "--reinstall", f"./{deb.relative_to(REPO)}"],
        cwd=REPO,
        env={**env, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return info


def test_the_deb_installs_the_app_the_launcher_and_the_desktop_entry(installed):
    assert INSTALLED.is_symlink() and os.readlink(INSTALLED) == "/opt/pgpviewer/pgpviewer"
    desktop = Path("/usr/share/applications/pgpviewer.desktop").read_text(encoding="utf-8")
    assert "Exec=pgpviewer open %F" in desktop
    assert "image/tiff;" in desktop and "image/x-ome-tiff;" in desktop
    assert Path("/usr/share/icons/hicolor/256x256/apps/pgpviewer.png").is_file()
    assert Path("/usr/share/mime/packages/pgpviewer.xml").is_file()
    control = subprocess.run(
        ["dpkg-deb", "-f", installed["installer"], "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for lib in ("libgl1", "libegl1", "libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4"):
        assert lib in control
    versions = Path("/opt/pgpviewer/_internal/pgpviewer/_resources/versions.json")
    recorded = json.loads(versions.read_text(encoding="utf-8"))
    assert recorded["pgpviewer"] == pgpviewer.__version__ and "napari" in recorded["packages"]


def test_the_installed_version_answers(installed):
    out = subprocess.run([str(INSTALLED), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and pgpviewer.__version__ in out.stdout


def test_the_installed_self_test_passes(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", str(INSTALLED), "--self-test"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "(bundle, built " in proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("self-test passed")
    installed["self_test_stdout"] = proc.stdout


def test_size_and_start_up(installed, tmp_path):
    """Bundle ≤ 450 MB (asserted); start-up, from process start to the window shown, measured
    three times (recorded, and the best compared with the 3 s goal, not asserted)."""
    from pgpviewer.resources import sample_path
    from pgpviewer.selftest import time_window

    bundle_mb = _mb(installed["bundle_bytes"])
    deb_mb = _mb(installed["installer_bytes"])
    sample = Path("/opt/pgpviewer/_internal/pgpviewer/_resources/sample") / sample_path().name
    # Under pytest-xvfb (or a desktop) DISPLAY is set: time the app alone. Otherwise each run
    # gets its own xvfb-run, whose start-up (timed empty) is subtracted.
    prefix, overhead = [], 0.0
    if not os.environ.get("DISPLAY"):
        prefix = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"]
        overhead = time_window([*prefix, "true"], timeout_s=60).total_s
    runs = []
    for i in range(3):
        cmd = [
            *prefix,
            str(INSTALLED),
            "open",
            str(sample),
            "--screenshot",
            str(tmp_path / f"{i}.png"),
        ]
        run = time_window(cmd, timeout_s=300)
        assert run.returncode == 0, run.output[-3000:]
        runs.append(run)
    shown = [r.marks.get("window shown", float("nan")) - overhead for r in runs]
    drawn = [r.marks.get("image drawn", float("nan")) - overhead for r in runs]
    start = time.perf_counter()
    subprocess.run([str(INSTALLED), "--version"], capture_output=True, check=True)
    version_s = time.perf_counter() - start
    metrics = {
        "bundle_mb": round(bundle_mb, 1),
        "deb_mb": round(deb_mb, 1),
        "build_s": installed.get("bundle_s"),
        "startup_window_shown_s": [round(s, 2) for s in shown],
        "startup_image_drawn_s": [round(s, 2) for s in drawn],
        "xvfb_run_overhead_s": round(overhead, 2),
        "version_command_s": round(version_s, 2),
    }
    (REPO / "build" / "bundle-metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    best = min(shown)
    print(
        f"\nbundle {bundle_mb:.0f} MB (budget {BUNDLE_BUDGET_MB}), .deb {deb_mb:.0f} MB; "
        f"installed app: window shown {best:.2f} s after start (best of 3; goal "
        f"{STARTUP_BUDGET_S:.0f} s{'' if best <= STARTUP_BUDGET_S else ' - OVER'}), image drawn "
        f"{min(drawn):.2f} s; `--version` {version_s:.2f} s; details in build/bundle-metrics.json"
    )
    assert bundle_mb <= BUNDLE_BUDGET_MB
    assert best < 60, "the window took over a minute to show"
