#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: core, CLI, real-data and GUI tests
# (GUI tests start their own virtual screen through pytest-xvfb). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
unset QT_QPA_PLATFORM  # napari canvases need a real (virtual) X screen, not "offscreen"
exec .venv/bin/python -m pytest "$@"
