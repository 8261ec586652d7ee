"""``pgpviewer --self-test``: prove that an installation works, end to end.

Run after installing (the installers' smoke test, and a first thing to ask a user for when
something is wrong). It

1. reports what is installed (from the bundle's ``versions.json``, or from package metadata in
   a source/pip install);
2. analyses the bundled sample with :func:`~pgpviewer.analyze.analyze_file` into a temporary
   folder (the sample is simulated with :mod:`pgpviewer.core.synthetic` when missing);
3. checks every file of the output contract (``../shared/spec/OUTPUTS.md``): present, required
   columns in contract order, values from the contract's vocabularies, at least one cell, and
   ``labels.tif`` of shape (T, Y, X) agreeing with ``cells.csv``;
4. opens the desktop window on the sample (``pgpviewer open SAMPLE --screenshot PNG`` in a new
   process, i.e. :func:`pgpviewer.gui.app.main`) and checks that the picture is not blank. A new
   process keeps a Qt crash (a missing system library, no OpenGL) from taking the self-test
   down with it, turns it into a readable message, and times a real start-up.

One line per check goes to stdout. Exit status 0 when every check passed, 1 otherwise (the
temporary folder is then kept and named, for inspection).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pgpviewer
from pgpviewer.selftest_checks import BOOLEANS as BOOLEANS
from pgpviewer.selftest_checks import EVENT_MODES as EVENT_MODES
from pgpviewer.selftest_checks import POPULATIONS as POPULATIONS
from pgpviewer.selftest_checks import TRACK_STATUSES as TRACK_STATUSES
from pgpviewer.selftest_checks import Check, check_outputs

# Packages named in the one-line version report (all are in versions.json).
KEY_PACKAGES = (
    "napari",
    "PySide6-Essentials",
    "vispy",
    "numpy",
    "scipy",
    "scikit-image",
    "tifffile",
    "pandas",
)
WINDOW_TIMEOUT_S = 300.0
# A window with an image in it has thousands of colours; a blank or failed one a handful.
MIN_SCREENSHOT_COLOURS = 64
MIN_SCREENSHOT_STD = 5.0


# -- versions ---------------------------------------------------------------------------------
def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def installed_versions() -> dict:
    """What this installation is made of.

    A bundle carries ``versions.json`` (written by ``packaging/pgpviewer.spec`` at build time:
    every distribution in the bundle, Python, platform, build date, git commit). A source or
    pip install reports the key packages from their metadata.
    """
    from pgpviewer.resources import resource_path

    recorded = resource_path("versions.json")
    if recorded.is_file():
        try:
            data = json.loads(recorded.read_text(encoding="utf-8"))
            data["source"] = f"bundle, built {data.get('built', '?')}"
            data["path"] = str(recorded)
            return data
        except (OSError, ValueError):
            pass  # fall through to metadata
    import importlib.metadata
    import platform

    packages = {"pgpviewer": pgpviewer.__version__}
    for name in KEY_PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return {
        "pgpviewer": pgpviewer.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "source": "frozen, no versions.json" if _frozen() else "installed packages",
        "packages": packages,
    }


def versions_line(info: dict) -> str:
    """``napari 0.9.2, PySide6-Essentials 6.12.0, …`` for the key packages."""
    packages = {_norm(k): v for k, v in info.get("packages", {}).items()}
    parts = [f"{name} {packages.get(_norm(name), '?')}" for name in KEY_PACKAGES]
    line = ", ".join(parts) + f"; Python {info.get('python', '?')}"
    if commit := info.get("git_commit"):
        dirty = " with local changes" if commit.endswith("-dirty") else ""
        line += f"; built from commit {commit[:12]}{dirty}"
    return line


# -- window ------------------------------------------------------------------------------------
def check_screenshot(path: Path) -> Check:
    """The screenshot exists and is not blank (enough colours and contrast)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return Check("screenshot", False, f"{path.name} was not written")
    try:
        import numpy as np
        from PIL import Image

        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except Exception as e:
        return Check("screenshot", False, f"unreadable PNG: {e.__class__.__name__}: {e}")
    h, w = rgb.shape[:2]
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
    packed |= rgb[..., 2]
    colours = int(np.unique(packed).size)
    std = float(rgb.std())
    ok = colours >= MIN_SCREENSHOT_COLOURS and std >= MIN_SCREENSHOT_STD and min(h, w) >= 100
    detail = f"{w}×{h} px, {colours} colours, contrast (std) {std:.1f}"
    return Check("screenshot", ok, detail if ok else f"looks blank: {detail}")


def display_problem() -> str | None:
    """Why a window cannot open here, or None."""
    platform_name = os.environ.get("QT_QPA_PLATFORM", "")
    if platform_name.startswith("offscreen"):
        return (
            "QT_QPA_PLATFORM=offscreen has no OpenGL, so the image canvas cannot draw; "
            "unset it (on a machine without a screen use `xvfb-run -a pgpviewer --self-test`)"
        )
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or platform_name
    ):
        return (
            "no display (DISPLAY is not set); on a machine without a screen run "
            "`xvfb-run -a pgpviewer --self-test`"
        )
    return None


def app_command() -> list[str]:
    """How to start pgpviewer again in a new process, frozen or not."""
    if _frozen():
        exe = Path(sys.executable)
        twin = exe.with_name(f"{exe.stem}-cli{exe.suffix}")  # Windows: console twin
        return [str(twin if exe.suffix.lower() == ".exe" and twin.is_file() else exe)]
    return [sys.executable, "-m", "pgpviewer"]


@dataclass
class WindowRun:
    """One ``pgpviewer open … --screenshot`` process: exit status, output, and when (seconds
    after the process was started) the GUI logged that its window was shown and the image
    drawn."""

    returncode: int | None
    output: str
    total_s: float
    marks: dict[str, float]
    timed_out: bool = False


# Lines the GUI logs at INFO level while starting (pgpviewer.gui.app).
GUI_MARKS = (("window shown", "window shown"), ("first file shown", "image drawn"))


def time_window(
    cmd: Sequence[str], *, env: dict | None = None, timeout_s: float = WINDOW_TIMEOUT_S
) -> WindowRun:
    """Run ``cmd`` (a ``pgpviewer open FILE --screenshot PNG``), timestamping the GUI's
    start-up log lines as they arrive: the times include the whole start-up (bundle loader,
    Python, imports), not just the part after ``main()``."""
    import threading

    env = dict(os.environ if env is None else env)
    env.setdefault("PGPVIEWER_LOG_LEVEL", "INFO")  # the GUI then logs its start-up
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        proc.kill()

    timer = threading.Timer(timeout_s, kill)
    timer.start()
    lines: list[str] = []
    marks: dict[str, float] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter() - start
            lines.append(line)
            for text, key in GUI_MARKS:
                if text in line and key not in marks:
                    marks[key] = now
        returncode = proc.wait()
    finally:
        timer.cancel()
    return WindowRun(
        returncode=None if killed.is_set() else returncode,
        output="".join(lines),
        total_s=time.perf_counter() - start,
        marks=marks,
        timed_out=killed.is_set(),
    )


def check_window(sample: Path, png: Path, *, timeout_s: float = WINDOW_TIMEOUT_S) -> list[Check]:
    """Open the desktop window on ``sample`` in a new process and save a screenshot."""
    if problem := display_problem():
        return [Check("window", False, problem)]
    cmd = [*app_command(), "open", str(sample), "--screenshot", str(png)]
    try:
        run = time_window(cmd, timeout_s=timeout_s)
    except OSError as e:
        return [Check("window", False, f"cannot start {cmd[0]}: {e}")]
    if run.timed_out:
        return [Check("window", False, f"no screenshot after {timeout_s:.0f} s (hung?)")]
    if run.returncode != 0:
        tail = _tail(run.output)
        hint = ""
        if "xcb" in tail and "plugin" in tail:
            hint = (
                " - Qt's X11 libraries are missing; on Debian/Ubuntu: sudo apt-get install "
                "libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libegl1 libgl1"
            )
        return [
            Check(
                "window",
                False,
                f"`{' '.join(cmd[-4:])}` exited with {_describe_status(run.returncode)}{hint}; "
                f"its last lines:\n{tail}",
            )
        ]
    marks = ", ".join(f"{key} at {t:.1f} s" for key, t in run.marks.items())
    return [
        Check(
            "window",
            True,
            f"new process: {marks + ', ' if marks else ''}screenshot saved at {run.total_s:.1f} s",
        ),
        check_screenshot(png),
    ]


# -- the self-test ----------------------------------------------------------------------------
def run_self_test(*, window: bool | None = None, keep: bool = False) -> int:
    """Run every check, print one line each, and return the exit status (0 = all passed).

    Parameters
    ----------
    window : bool, optional
        Also open the desktop window (default: yes, unless the environment variable
        ``PGPVIEWER_SELFTEST_WINDOW`` is ``0``).
    keep : bool, optional
        Keep the temporary folder even when everything passed.
    """
    if window is None:
        window = os.environ.get("PGPVIEWER_SELFTEST_WINDOW", "1") != "0"
    t0 = time.perf_counter()
    info = installed_versions()
    _say(
        f"pgpviewer self-test {pgpviewer.__version__} ({info.get('source', '?')}; "
        f"{info.get('platform', '?')})"
    )
    checks: list[Check] = [Check("versions", True, versions_line(info))]
    _say(checks[-1].line())
    tmp = Path(tempfile.mkdtemp(prefix="pgpviewer-selftest-"))

    def record(new: list[Check]) -> None:
        for c in new:
            checks.append(c)
            _say(c.line())

    try:
        sample, how = _sample(tmp)
        stack = None
        try:
            from pgpviewer.core.io import read_stack

            stack = read_stack(sample)
            record([Check("sample", True, f"{how}: {sample} ({_describe_stack(stack)})")])
        except Exception as e:
            record([Check("sample", False, f"cannot read {sample}: {_exc(e)}")])
        if stack is not None:
            record(_analyse(sample, tmp / "results", stack))
        if window:
            record(check_window(sample, tmp / "window.png"))
        else:
            _say("  skip  window: PGPVIEWER_SELFTEST_WINDOW=0")
    except Exception as e:  # a bug in the self-test itself, or a broken installation
        record([Check("self-test", False, _exc(e))])
    failed = [c for c in checks if not c.ok]
    elapsed = time.perf_counter() - t0
    if failed:
        names = ", ".join(dict.fromkeys(c.name for c in failed))
        _say(
            f"self-test FAILED: {len(failed)} of {len(checks)} checks failed ({names}); "
            f"files kept in {tmp}"
        )
        return 1
    if keep:
        _say(f"self-test passed: {len(checks)} checks in {elapsed:.1f} s; files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        _say(f"self-test passed: {len(checks)} checks in {elapsed:.1f} s")
    return 0


def _analyse(sample: Path, out: Path, stack) -> list[Check]:
    from pgpviewer.analyze import analyze_file

    start = time.perf_counter()
    try:
        result = analyze_file(sample, out)
    except Exception as e:
        return [Check("analyse", False, _exc(e))]
    elapsed = time.perf_counter() - start
    n_events = len(result.events)
    summary = Check(
        "analyse",
        True,
        f"{elapsed:.1f} s: {result.n_rows('cells')} cell rows, {len(result.tracks)} tracks, "
        f"{n_events} transfer event{'' if n_events == 1 else 's'}",
    )
    return [
        summary,
        *check_outputs(
            out,
            n_frames=stack.n_frames,
            shape_yx=stack.shape_yx,
            channel_names=stack.channel_names,
        ),
    ]


def _sample(tmp: Path) -> tuple[Path, str]:
    from pgpviewer.resources import sample_path

    bundled = sample_path()
    if bundled.is_file():
        return bundled, "bundled sample"
    from pgpviewer.core.synthetic import make_sample, write_simulation

    made = tmp / "sample.ome.tif"
    write_simulation(make_sample(), made, ground_truth=False)
    return made, f"bundled sample missing ({bundled}); simulated one"


def _describe_stack(stack) -> str:
    t, c, z, y, x = stack.shape
    zs = f", {z} z-planes" if z > 1 else ""
    return f"{t} frames, {c} channels ({', '.join(stack.channel_names)}){zs}, {y}×{x}"


def _describe_status(code: int) -> str:
    if code < 0:
        import signal

        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


def _tail(text: str, n: int = 12) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return "\n".join("        " + ln for ln in lines[-n:]) or "        (no output)"


def _exc(e: BaseException) -> str:
    if os.environ.get("PGPVIEWER_DEBUG"):
        import traceback

        traceback.print_exc()
    return f"{e.__class__.__name__}: {e}"


def _frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def _say(line: str) -> None:
    # A windowed Windows executable has no stdout: fall back to stderr, else stay silent.
    stream = sys.stdout or sys.stderr
    if stream is not None:
        print(line, file=stream, flush=True)
