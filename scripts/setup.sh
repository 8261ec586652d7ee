#!/usr/bin/env bash
# Install everything pgpviewer needs for development on Debian/Ubuntu: the few system libraries
# Qt and Xvfb need, then a local virtual environment (.venv) with pgpviewer and its pinned
# dependencies. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# g++ builds pgpviewer's compiled kernels (Cython, see hatch_build.py)
for pkg in xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libgl1 libegl1 \
           libgl1-mesa-dri libfontconfig1 libdbus-1-3 g++; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing system packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install with your package manager: ${need_apt[*]}" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.pgpviewer-installed
# reinstall when the dependencies or the compiled kernels' sources changed
stale=$(find pyproject.toml hatch_build.py pgpviewer -name '*.pyx' -newer "$stamp" -o \
        \( -name pyproject.toml -o -name hatch_build.py \) -newer "$stamp" 2>/dev/null | head -1 || true)
built=yes  # every compiled kernel module (pgpviewer/core/_c*.pyx) has its extension
for pyx in pgpviewer/core/_c*.pyx; do
  ls "${pyx%.pyx}".*.so >/dev/null 2>&1 || built=no
done
if [ ! -f "$stamp" ] || [ -n "$stale" ] || [ "$built" = no ]; then
  echo "setup: installing pgpviewer and its dependencies into .venv (about a minute)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
