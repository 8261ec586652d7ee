#!/usr/bin/env bash
# Wrap dist/pgpviewer.app (made by PyInstaller's BUNDLE step in packaging/pgpviewer.spec) into a
# compressed disk image with an /Applications link for drag-and-drop installation.
#
#   bash packaging/macos/make_dmg.sh dist/pgpviewer.app dist/pgpviewer-0.1.0-macos-arm64.dmg
#
# Normally run by `python packaging/build.py`. Uses `create-dmg` (brew install create-dmg) when
# present for a laid-out window, else plain `hdiutil`.
#
# Signing: PyInstaller signs the app ad hoc, which is enough to run it on the machine that built
# it and in CI. For distribution, set MACOS_CODESIGN_IDENTITY ("Developer ID Application: …")
# to sign with the hardened runtime here; then notarise the .dmg with
#   xcrun notarytool submit DMG --keychain-profile PROFILE --wait && xcrun stapler staple DMG
set -euo pipefail

APP=${1:?usage: make_dmg.sh APP DMG}
DMG=${2:?usage: make_dmg.sh APP DMG}
VOLNAME="pgpviewer"
HERE="$(cd "$(dirname "$0")" && pwd)"
ICON="$HERE/../../resources/icons/pgpviewer.icns"

[ -d "$APP" ] || { echo "make_dmg: $APP not found" >&2; exit 1; }

if [ -n "${MACOS_CODESIGN_IDENTITY:-}" ]; then
  echo "make_dmg: signing $APP as $MACOS_CODESIGN_IDENTITY"
  codesign --force --deep --options runtime --timestamp \
    --sign "$MACOS_CODESIGN_IDENTITY" "$APP"
fi
codesign --verify --deep --strict "$APP" || echo "make_dmg: warning: codesign --verify failed" >&2

rm -f "$DMG"
if command -v create-dmg >/dev/null 2>&1; then
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  cp -R "$APP" "$stage/"
  # create-dmg exits 2 when it could not make the window pretty (e.g. no Finder in CI): the image
  # is still made then.
  create-dmg --volname "$VOLNAME" --volicon "$ICON" --window-size 560 340 --icon-size 96 \
    --icon "$(basename "$APP")" 140 160 --app-drop-link 420 160 --hide-extension "$(basename "$APP")" \
    "$DMG" "$stage" || [ $? -eq 2 ]
else
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  cp -R "$APP" "$stage/"
  ln -s /Applications "$stage/Applications"
  hdiutil create -volname "$VOLNAME" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$DMG"
fi
[ -f "$DMG" ] || { echo "make_dmg: $DMG was not made" >&2; exit 1; }
echo "make_dmg: wrote $DMG"
