"""The analysis parameters as a form generated from :class:`AnalysisParams`, grouped by stage."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from pgpviewer.core.errors import InputError
from pgpviewer.core.params import AnalysisParams
from pgpviewer.gui.params_form import FieldEditor

STAGE_TITLES = {
    "general": "General",
    "segmentation": "Cell segmentation",
    "classification": "Donor / recipient",
    "puncta": "P-gp puncta",
    "measurement": "Measurements",
    "gate": "P-gp positivity gate",
    "tracking": "Tracking",
    "events": "Transfer events",
}
_HIDDEN = {"version"}
_EXPANDED = {"general", "segmentation", "puncta", "gate"}


def _first_line(doc: str | None) -> str:
    line = (doc or "").strip().splitlines()[0] if doc else ""
    return line.split(" (owned by")[0].rstrip(".") + ("." if line else "")


class ParamsPanel(QWidget):
    """Form for every analysis parameter; edits emit ``params_edited`` with validated params.

    Signals
    -------
    params_edited(AnalysisParams)
        After each valid edit (invalid combinations are reported under the buttons).
    preview_toggled(bool)
        The live preview check box.
    error_raised(Exception)
        Loading a parameter file failed (the window shows it).
    """

    params_edited = Signal(object)
    preview_toggled = Signal(bool)
    error_raised = Signal(object)

    def __init__(self, params: AnalysisParams | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.last_dir: str = ""
        self.editors: dict[tuple[str, str], FieldEditor] = {}
        self.labels: dict[tuple[str, str], QLabel] = {}
        self.sections: dict[str, QCollapsible] = {}
        self._params = params or AnalysisParams()

        self.preview_check = QCheckBox("Live preview")
        self.preview_check.setToolTip(
            "Show segmentation and puncta of the current frame with these parameters "
            "(computed in the background, a moment after each change)"
        )
        self.preview_check.toggled.connect(self.preview_toggled)
        self.reset_button = QPushButton("Defaults")
        self.reset_button.setToolTip("Reset every parameter to its default")
        self.reset_button.clicked.connect(self.reset)
        self.load_button = QPushButton("Load…")
        self.load_button.setToolTip(
            "Load parameters from a params.json (also one written by an analysis)"
        )
        self.load_button.clicked.connect(self._load_clicked)
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save these parameters as params.json")
        self.save_button.clicked.connect(self._save_clicked)
        top = QHBoxLayout()
        top.addWidget(self.preview_check)
        top.addStretch(1)
        for b in (self.reset_button, self.load_button, self.save_button):
            top.addWidget(b)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff6b6b;")
        self.error_label.setVisible(False)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.setSpacing(2)
        for stage, model, fields in self._stages():
            section = QCollapsible(STAGE_TITLES.get(stage, stage.replace("_", " ").title()))
            section.setToolTip(_first_line(model.__doc__) if stage != "general" else "")
            content = QWidget()
            form = QFormLayout(content)
            form.setContentsMargins(14, 2, 4, 6)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            for name, info in fields:
                editor = FieldEditor(name, info, content)
                editor.changed.connect(self._edited)
                label = QLabel(editor.title)
                label.setToolTip(editor.widget.toolTip())
                form.addRow(label, editor.widget)
                self.editors[(stage, name)] = editor
                self.labels[(stage, name)] = label
            section.addWidget(content)
            if stage in _EXPANDED:
                section.expand(animate=False)
            else:
                section.collapse(animate=False)
            body_layout.addWidget(section)
            self.sections[stage] = section
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.error_label)
        layout.addWidget(scroll, 1)
        self.set_params(self._params)

    # -- structure -----------------------------------------------------------------------
    @staticmethod
    def _stages():
        general = []
        stages = []
        for name, info in AnalysisParams.model_fields.items():
            if name in _HIDDEN:
                continue
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                stages.append((name, ann, list(ann.model_fields.items())))
            else:
                general.append((name, info))
        return [("general", AnalysisParams, general), *stages]

    # -- values --------------------------------------------------------------------------
    def params(self) -> AnalysisParams:
        return self._params

    def _collect(self) -> dict:
        data: dict = {"version": self._params.version}
        for (stage, name), editor in self.editors.items():
            if stage == "general":
                data[name] = editor.value()
            else:
                data.setdefault(stage, {})[name] = editor.value()
        return data

    def set_params(self, params: AnalysisParams) -> None:
        """Show ``params`` (emits nothing)."""
        self._params = params
        for (stage, name), editor in self.editors.items():
            owner = params if stage == "general" else getattr(params, stage)
            editor.set_value(getattr(owner, name))
        self._mark_changed()
        self.error_label.setVisible(False)

    def _edited(self) -> None:
        try:
            params = AnalysisParams.from_dict(self._collect())
        except InputError as e:
            self.error_label.setText(e.problem)
            self.error_label.setVisible(True)
            return
        self.error_label.setVisible(False)
        self._params = params
        self._mark_changed()
        self.params_edited.emit(params)

    def _mark_changed(self) -> None:
        for key, editor in self.editors.items():
            label = self.labels[key]
            font = label.font()
            font.setBold(not editor.is_default)
            label.setFont(font)

    def reset(self) -> None:
        self.set_params(AnalysisParams())
        self.params_edited.emit(self._params)

    # -- files ---------------------------------------------------------------------------
    def load(self, path: str | Path) -> AnalysisParams:
        """Load params from ``path`` (raises InputError), show and emit them."""
        params = AnalysisParams.load(path)
        self.last_dir = str(Path(path).parent)
        self.set_params(params)
        self.params_edited.emit(params)
        return params

    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.write_text(self._params.to_json() + "\n", encoding="utf-8")
        self.last_dir = str(p.parent)

    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load parameters", self.last_dir, "Parameters (*.json);;All files (*)"
        )
        if path:
            try:
                self.load(path)
            except InputError as e:
                self.error_raised.emit(e)

    def _save_clicked(self) -> None:
        start = str(Path(self.last_dir) / "params.json") if self.last_dir else "params.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save parameters", start, "Parameters (*.json)")
        if path:
            try:
                self.save(path)
            except OSError as e:
                self.error_raised.emit(InputError(path, f"cannot write ({e.strerror or e})"))
