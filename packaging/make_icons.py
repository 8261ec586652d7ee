"""Make the installer icons from resources/icons/pgpviewer.svg (or .png).

    python packaging/make_icons.py [--force]

* ``pgpviewer.png`` (512×512) is rendered from the SVG with Qt's SVG renderer when it is
  missing (or with ``--force``);
* ``pgpviewer.ico`` (Windows: 16–256 px) and ``pgpviewer.icns`` (macOS: 16–512 px) are made
  from the PNG with Pillow whenever they are missing or older than the PNG.

``packaging/build.py`` calls :func:`ensure_icons` before every build, so replacing the PNG or the
SVG is all it takes to change the icon everywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SVG, PNG = ICONS / "pgpviewer.svg", ICONS / "pgpviewer.png"
ICO, ICNS = ICONS / "pgpviewer.ico", ICONS / "pgpviewer.icns"
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def render_svg(svg: Path, png: Path, size: int = 512) -> None:
    """Render ``svg`` into a ``size``×``size`` PNG with Qt (no display needed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot read {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(png)):
        raise SystemExit(f"make_icons: cannot write {png}")


def _stale(target: Path, source: Path) -> bool:
    return not target.is_file() or target.stat().st_mtime < source.stat().st_mtime


def ensure_icons(force: bool = False) -> list[Path]:
    """Make whichever icon files are missing or stale; returns the files written."""
    written = []
    if force or not PNG.is_file():
        if not SVG.is_file():
            raise SystemExit(f"make_icons: neither {PNG} nor {SVG} exists")
        render_svg(SVG, PNG)
        written.append(PNG)
    from PIL import Image

    with Image.open(PNG) as im:
        im = im.convert("RGBA")
        if im.size != (512, 512):
            im = im.resize((512, 512), Image.Resampling.LANCZOS)
        if force or _stale(ICO, PNG):
            im.save(ICO, format="ICO", sizes=ICO_SIZES)
            written.append(ICO)
        if force or _stale(ICNS, PNG):
            im.save(ICNS, format="ICNS")
            written.append(ICNS)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="remake every icon file")
    args = parser.parse_args(argv)
    for path in ensure_icons(force=args.force):
        print(f"make_icons: wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
