"""Channel roles: which channel is nuclei, donor, recipient, P-gp and efflux dye."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pgpviewer.core.roles import ROLES, guess_roles
from pgpviewer.gui.display import ROLE_COLORMAPS, ROLE_HINTS, ROLE_TITLES

_SWATCH = {
    "blue": "#3b6bff",
    "cyan": "#00e5ff",
    "green": "#3cff3c",
    "magenta": "#ff3cff",
    "yellow": "#ffe14d",
}
NONE_TEXT = "— none —"


class RolesPanel(QWidget):
    """One combo per role listing the file's channels; changes emit ``roles_edited``.

    Picking a channel already used by another role moves it (the other role becomes none).
    """

    roles_edited = Signal(dict)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._channel_names: list[str] = []
        self._updating = False
        self.combos: dict[str, QComboBox] = {}

        intro = QLabel(
            "Which channel shows what. Guessed from the channel names and "
            "remembered for this folder."
        )
        intro.setWordWrap(True)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for role in ROLES:
            combo = QComboBox()
            combo.setToolTip(ROLE_HINTS[role])
            combo.currentIndexChanged.connect(lambda _i, r=role: self._changed(r))
            color = _SWATCH.get(ROLE_COLORMAPS[role], "#cccccc")
            label = QLabel(f"<span style='color:{color}'>■</span> {ROLE_TITLES[role]}")
            label.setToolTip(ROLE_HINTS[role])
            form.addRow(label, combo)
            self.combos[role] = combo

        self.guess_button = QPushButton("Guess from names")
        self.guess_button.setToolTip("Map roles from channel names (Hoechst, GFP, CellTracker…)")
        self.guess_button.clicked.connect(self._guess)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.guess_button)

        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.set_channels([], {})

    # -- state ---------------------------------------------------------------------------
    def set_channels(self, channel_names: Sequence[str], roles: Mapping[str, int]) -> None:
        """Show the channels of the open file and the current mapping (emits nothing)."""
        self._channel_names = [str(n) for n in channel_names]
        self._updating = True
        for combo in self.combos.values():
            combo.clear()
            combo.addItem(NONE_TEXT, -1)
            for i, name in enumerate(self._channel_names):
                combo.addItem(f"{i}: {name}", i)
            combo.setEnabled(bool(self._channel_names))
        self._updating = False
        self.set_roles(roles)
        self.guess_button.setEnabled(bool(self._channel_names))

    def set_roles(self, roles: Mapping[str, int]) -> None:
        self._updating = True
        for role, combo in self.combos.items():
            idx = combo.findData(roles.get(role, -1))
            combo.setCurrentIndex(max(idx, 0))
        self._updating = False
        self._update_note(roles)

    def roles(self) -> dict[str, int]:
        out = {}
        for role, combo in self.combos.items():
            idx = combo.currentData()
            if idx is not None and idx >= 0:
                out[role] = int(idx)
        return out

    def set_role(self, role: str, channel: int | None) -> None:
        """Set one role as the user would (emits ``roles_edited``)."""
        combo = self.combos[role]
        combo.setCurrentIndex(max(combo.findData(-1 if channel is None else channel), 0))

    # -- slots ---------------------------------------------------------------------------
    def _changed(self, role: str) -> None:
        if self._updating:
            return
        chosen = self.combos[role].currentData()
        if chosen is not None and chosen >= 0:
            self._updating = True
            for other, combo in self.combos.items():
                if other != role and combo.currentData() == chosen:
                    combo.setCurrentIndex(0)
            self._updating = False
        roles = self.roles()
        self._update_note(roles)
        self.roles_edited.emit(roles)

    def _guess(self) -> None:
        roles = guess_roles(self._channel_names)
        self.set_roles(roles)
        self.roles_edited.emit(self.roles())

    def _update_note(self, roles: Mapping[str, int]) -> None:
        if not self._channel_names:
            self.note.setText("<i>Open a file to map its channels.</i>")
            return
        notes = []
        if "pgp" not in roles:
            notes.append(
                "<b>No P-gp channel:</b> cells are segmented and tracked, but P-gp, "
                "puncta and transfer events need one."
            )
        if "donor" not in roles and "recipient" not in roles:
            notes.append(
                "No identity channel: donors will be the cells P-gp positive in the first frame."
            )
        if "nuclei" not in roles:
            notes.append("No nuclei channel: touching cells are split less reliably.")
        self.note.setText(
            "<br>".join(f"<span style='color:#f0a030'>{n}</span>" for n in notes)
            or "<span style='color:#5fd35f'>All roles needed for the analysis are mapped.</span>"
        )
