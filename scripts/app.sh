#!/usr/bin/env bash
# Set up (if needed) and open the pgpviewer desktop app on the bundled sample.
# Extra arguments go to `pgpviewer` (e.g. `bash scripts/app.sh open my_movie.ome.tif`).
# On a machine without a display the app runs on a virtual screen (Xvfb) and saves a
# screenshot of the window to pgpviewer-window.png instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec .venv/bin/pgpviewer "$@"
fi
echo "app: no display found; drawing the window on a virtual screen into pgpviewer-window.png"
if [ $# -eq 0 ]; then set -- open; fi
exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/pgpviewer "$@" --screenshot pgpviewer-window.png
