"""Build the pgpviewer desktop bundle and this OS's installer, in one command.

    python packaging/build.py [--clean] [--no-installer] [--installer-only]

Run it with the Python of an environment where pgpviewer's GUI dependencies and PyInstaller are
installed (``pip install -e ".[gui]" pyinstaller``). It

1. makes the installer icons when missing (``packaging/make_icons.py``);
2. runs PyInstaller on ``packaging/pgpviewer.spec``: the one-folder windowed bundle
   ``dist/pgpviewer/`` (macOS: also ``dist/pgpviewer.app``), with ``versions.json`` inside;
3. checks that the bundle starts (``pgpviewer --version``);
4. makes the installer of the OS it runs on:

   * Linux: ``dist/pgpviewer_<version>_<arch>.deb`` (``/opt/pgpviewer``, ``/usr/bin/pgpviewer``,
     a desktop entry with icon and TIFF/OME-TIFF MIME types; Depends on the system libraries the
     bundle links to, found with ``ldd`` and ``dpkg -S``, plus the GL/xcb libraries Qt loads);
   * Windows: ``dist/pgpviewer-<version>-windows-<arch>-setup.exe`` with Inno Setup's ``ISCC``
     (``packaging/windows/pgpviewer.iss``);
   * macOS: ``dist/pgpviewer-<version>-macos-<arch>.dmg`` (``packaging/macos/make_dmg.sh``).

Sizes and times go to stdout and to ``build/bundle-info.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "packaging"
DIST = ROOT / "dist"
BUILD = ROOT / "build"
WORK = BUILD / "pyinstaller"
BUNDLE = DIST / "pgpviewer"
NAME = "pgpviewer"
IS_WIN, IS_MAC = sys.platform.startswith("win"), sys.platform == "darwin"
IS_LINUX = sys.platform.startswith("linux")

# Qt loads these at run time (dlopen) or through its platform plugin; users' desktops have them,
# minimal systems and containers often do not. Without libxcb-icccm4/libxcb-keysyms1 Qt aborts
# with a message that wrongly blames libxcb-cursor0.
DEB_BASE_DEPENDS = [
    "libgl1",
    "libegl1",
    "libopengl0",
    "libglx0",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcb1",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xfixes0",
    "libxcb-xkb1",
    "libx11-xcb1",
    "libfontconfig1",
    "libfreetype6",
    "libdbus-1-3",
]
# Wayland sessions (X11/XWayland works without them), software GL, fonts, the MIME database.
DEB_RECOMMENDS = [
    "libgl1-mesa-dri",
    "libwayland-cursor0",
    "libwayland-egl1",
    "fonts-dejavu-core",
    "shared-mime-info",
]
# Linked only by Qt's Wayland plugins; recommended above, so not worth a warning.
OPTIONAL_SONAMES = {"libwayland-cursor.so.0", "libwayland-egl.so.1"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    parser.add_argument("--no-installer", action="store_true", help="only build dist/pgpviewer")
    parser.add_argument(
        "--installer-only", action="store_true", help="reuse dist/pgpviewer, remake the installer"
    )
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    import pgpviewer

    version = pgpviewer.__version__
    info: dict = {"version": version, "platform": platform.platform()}
    t0 = time.perf_counter()
    if not args.installer_only:
        info.update(build_bundle(clean=args.clean))
    elif not executable().is_file():
        return fail(f"--installer-only: no bundle at {BUNDLE}; build it first")
    info["bundle_bytes"] = tree_size(BUNDLE)
    info["start_version_s"] = smoke_version(version)
    say(
        f"bundle: {BUNDLE} ({human(info['bundle_bytes'])}); `--version` answered in "
        f"{info['start_version_s']:.2f} s"
    )

    if not args.no_installer:
        t1 = time.perf_counter()
        if IS_LINUX:
            installer = make_deb(version)
        elif IS_WIN:
            installer = make_windows_setup(version)
        elif IS_MAC:
            installer = make_dmg(version)
        else:
            installer = None
            say(f"no installer recipe for {sys.platform}; the bundle is in {BUNDLE}")
        if installer is not None:
            info["installer"] = str(installer)
            info["installer_bytes"] = installer.stat().st_size
            info["installer_s"] = round(time.perf_counter() - t1, 1)
            say(
                f"installer: {installer} ({human(info['installer_bytes'])}, "
                f"{info['installer_s']:.1f} s)"
            )
    info["total_s"] = round(time.perf_counter() - t0, 1)
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bundle-info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    say(f"done in {info['total_s']:.0f} s (details in {BUILD / 'bundle-info.json'})")
    return 0


# -- bundle -----------------------------------------------------------------------------------
def build_bundle(*, clean: bool) -> dict:
    try:
        import PyInstaller
    except ImportError:
        raise SystemExit(
            "build: PyInstaller is not installed in this Python "
            f"({sys.executable}); pip install pyinstaller"
        ) from None
    sys.path.insert(0, str(HERE))
    from make_icons import ensure_icons

    for path in ensure_icons():
        say(f"icons: wrote {path.relative_to(ROOT)}")
    say(f"pyinstaller {PyInstaller.__version__}: building {BUNDLE} (about 1–2 minutes)")
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(DIST),
        "--workpath",
        str(WORK),
        str(HERE / "pgpviewer.spec"),
    ]
    if clean:
        cmd.insert(3, "--clean")
    env = dict(os.environ)
    env.pop("QT_QPA_PLATFORM", None)  # hooks import Qt; never with a leftover "offscreen"
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    elapsed = round(time.perf_counter() - start, 1)
    if not executable().is_file():
        raise SystemExit(f"build: PyInstaller finished but {executable()} is missing")
    versions = json.loads((WORK / NAME / "versions.json").read_text(encoding="utf-8"))
    say(
        f"bundle built in {elapsed:.0f} s with {len(versions['packages'])} distributions "
        "(list in _internal/pgpviewer/_resources/versions.json)"
    )
    return {"pyinstaller": PyInstaller.__version__, "bundle_s": elapsed}


def executable(*, console: bool = True) -> Path:
    """The bundle's executable (Windows: the console twin unless ``console=False``)."""
    if IS_WIN:
        return BUNDLE / (f"{NAME}-cli.exe" if console else f"{NAME}.exe")
    return BUNDLE / NAME


def smoke_version(version: str) -> float:
    """Run ``pgpviewer --version`` from the bundle; returns the seconds it took."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(executable()), "--version"], capture_output=True, text=True, timeout=120
    )
    elapsed = time.perf_counter() - start
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or version not in out:
        raise SystemExit(f"build: the bundle does not start: `pgpviewer --version` said:\n{out}")
    return round(elapsed, 2)


# -- Linux: .deb ------------------------------------------------------------------------------
def make_deb(version: str) -> Path:
    if not shutil.which("dpkg-deb"):
        raise SystemExit("build: dpkg-deb not found; a .deb can only be made on Debian/Ubuntu")
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    stage = BUILD / "deb" / f"{NAME}_{version}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    opt = stage / "opt" / NAME
    opt.parent.mkdir(parents=True)
    _copy_tree(BUNDLE, opt)

    (stage / "usr" / "bin").mkdir(parents=True)
    os.symlink(f"/opt/{NAME}/{NAME}", stage / "usr" / "bin" / NAME)
    share = stage / "usr" / "share"
    _install(HERE / "linux" / "pgpviewer.desktop", share / "applications" / f"{NAME}.desktop")
    _install(HERE / "linux" / "pgpviewer-mime.xml", share / "mime" / "packages" / f"{NAME}.xml")
    icons = ROOT / "resources" / "icons"
    _install(icons / "pgpviewer.svg", share / "icons/hicolor/scalable/apps" / f"{NAME}.svg")
    from PIL import Image

    with Image.open(icons / "pgpviewer.png") as im:
        for size in (48, 128, 256, 512):
            target = share / f"icons/hicolor/{size}x{size}/apps/{NAME}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            im.convert("RGBA").resize((size, size), Image.Resampling.LANCZOS).save(target)
    doc = share / "doc" / NAME
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(COPYRIGHT, encoding="utf-8")

    found, missing = system_library_packages(opt, ignore=OPTIONAL_SONAMES)
    depends = sorted(set(DEB_BASE_DEPENDS) | found)
    if missing:
        say(
            "warning: libraries the bundle links to that no package here provides: "
            + ", ".join(sorted(missing))
        )
    extra = sorted(found - set(DEB_BASE_DEPENDS))
    say(f"deb: Depends = base list + {len(extra)} found with ldd: {', '.join(extra) or '-'}")
    installed_kb = (tree_size(stage) + 1023) // 1024
    control = stage / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        "\n".join(
            [
                f"Package: {NAME}",
                f"Version: {version}",
                f"Architecture: {arch}",
                "Maintainer: pgpviewer developers <pgpviewer@users.noreply.github.com>",
                f"Installed-Size: {installed_kb}",
                f"Depends: {', '.join(depends)}",
                f"Recommends: {', '.join(DEB_RECOMMENDS)}",
                "Section: science",
                "Priority: optional",
                "Homepage: https://github.com/pgpviewer/pgpviewer",
                "Description: measure P-glycoprotein transfer between cells",
                " pgpviewer analyses fluorescence time-lapses of donor and recipient cell",
                " co-cultures: it segments, classifies and tracks cells, counts P-gp puncta,",
                " detects transfer events and writes per-cell tables, with a desktop app",
                " built on napari. Self-contained: its Python and libraries are in",
                " /opt/pgpviewer. Check an installation with `pgpviewer --self-test`.",
                "",
            ]
        ),
        encoding="utf-8",
    )
    _normalise_modes(stage)
    DIST.mkdir(exist_ok=True)
    deb = DIST / f"{NAME}_{version}_{arch}.deb"
    cmd = ["dpkg-deb", "--root-owner-group", "-Zzstd", "-z3", "--build", str(stage), str(deb)]
    if subprocess.run(cmd, capture_output=True, text=True).returncode != 0:
        cmd[cmd.index("-Zzstd")] = "-Zxz"  # older dpkg without zstd
        subprocess.run(cmd, check=True)
    shutil.rmtree(stage)
    return deb


def system_library_packages(
    bundle: Path, *, ignore: set[str] = frozenset()
) -> tuple[set[str], set[str]]:
    """Debian packages providing the shared libraries the bundle's ELF files need from the
    system (what ``dpkg-shlibdeps`` does for packages built from source).

    Returns the package names and the library names that nothing on this system provides.
    Libraries named in ``ignore`` are left out (optional ones, declared as Recommends).
    """
    elves = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    inside = {p.name for p in bundle.rglob("*")}
    env = dict(os.environ)
    lib_dirs = sorted({str(p.parent) for p in elves if ".so" in p.name})
    env["LD_LIBRARY_PATH"] = os.pathsep.join(lib_dirs)
    needed: dict[str, str | None] = {}
    pattern = re.compile(r"^\s*(\S+)\s+=>\s+(not found|\S+)")
    for chunk in _chunks(elves, 200):
        out = subprocess.run(
            ["ldd", *map(str, chunk)], capture_output=True, text=True, env=env
        ).stdout
        for line in out.splitlines():
            m = pattern.match(line)
            if not m or m.group(1) in inside or m.group(1) in ignore:
                continue
            path = m.group(2)
            needed[m.group(1)] = None if path == "not found" else path
    missing = {name for name, path in needed.items() if path is None}
    paths = sorted({p for p in needed.values() if p})
    packages: set[str] = set()
    unowned = set()
    for path in paths:
        owner = _dpkg_owner(path)
        if owner:
            packages.add(owner)
        else:
            unowned.add(Path(path).name)
    return packages, missing | unowned


def _dpkg_owner(path: str) -> str | None:
    real = os.path.realpath(path)
    candidates = {path, real}
    for p in list(candidates):  # merged /usr: files are registered under either name
        if p.startswith("/usr/lib/"):
            candidates.add(p[len("/usr") :])
        elif p.startswith("/lib/"):
            candidates.add("/usr" + p)
    for p in sorted(candidates):
        out = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if out.returncode == 0 and ":" in out.stdout:
            return out.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _copy_tree(src: Path, dst: Path) -> None:
    """Copy with hard links when possible (fast, no extra space), else real copies."""

    def link_or_copy(s: str, d: str) -> None:
        try:
            os.link(s, d)
        except OSError:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, symlinks=True, copy_function=link_or_copy)


def _install(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _normalise_modes(stage: Path) -> None:
    """Directories 755, executables 755, other files 644 (whatever the umask was).

    Hard-linked files share their mode with dist/, which gets the same normalisation.
    """
    for path in [stage, *stage.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        if path.is_dir() or mode & 0o111:
            path.chmod(0o755)
        else:
            path.chmod(0o644)


COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: pgpviewer

Files: *
Copyright: pgpviewer developers
License: BSD-3-Clause

Files: opt/pgpviewer/_internal/*
Comment: Third-party components bundled by PyInstaller (Python, Qt/PySide6 under the LGPL-3.0,
 napari, NumPy, SciPy, scikit-image, pandas, ...) keep their own licences; where the
 distribution ships them, they are in opt/pgpviewer/_internal/*.dist-info and
 opt/pgpviewer/_internal/PySide6/. versions.json in
 opt/pgpviewer/_internal/pgpviewer/_resources lists every bundled distribution and version.
"""


# -- Windows: Inno Setup ----------------------------------------------------------------------
def make_windows_setup(version: str) -> Path | None:
    iscc = shutil.which("iscc") or shutil.which("ISCC")
    for candidate in (
        Path(os.environ.get("ProgramFiles(x86)", r"C:\Program Files (x86)")) / "Inno Setup 6",
        Path(os.environ.get("ProgramFiles", r"C:\Program Files")) / "Inno Setup 6",
    ):
        if not iscc and (candidate / "ISCC.exe").is_file():
            iscc = str(candidate / "ISCC.exe")
    if not iscc:
        say(
            "Inno Setup (ISCC.exe) not found: no Setup.exe made; install it from jrsoftware.org "
            "or `choco install innosetup`; the bundle is in dist/pgpviewer"
        )
        return None
    arch = "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x64"
    base = f"{NAME}-{version}-windows-{arch}-setup"
    subprocess.run(
        [
            iscc,
            f"/DAppVersion={version}",
            f"/DSourceDir={BUNDLE}",
            f"/DIconFile={ROOT / 'resources' / 'icons' / 'pgpviewer.ico'}",
            f"/DOutputDir={DIST}",
            f"/DOutputBaseFilename={base}",
            f"/DArch={arch}",
            str(HERE / "windows" / "pgpviewer.iss"),
        ],
        check=True,
    )
    return DIST / f"{base}.exe"


# -- macOS: .dmg ------------------------------------------------------------------------------
def make_dmg(version: str) -> Path:
    app = DIST / f"{NAME}.app"
    if not app.is_dir():
        raise SystemExit(f"build: {app} is missing (the spec's BUNDLE step)")
    arch = platform.machine() or "unknown"
    dmg = DIST / f"{NAME}-{version}-macos-{arch}.dmg"
    subprocess.run(["bash", str(HERE / "macos" / "make_dmg.sh"), str(app), str(dmg)], check=True)
    return dmg


# -- helpers ----------------------------------------------------------------------------------
def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (symlinks not followed, hard links once)."""
    seen, total = set(), 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def say(message: str) -> None:
    print(f"build: {message}", flush=True)


def fail(message: str) -> int:
    print(f"build: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
