"""Editor widgets generated from pydantic field metadata (title, description, bounds, unit).

In the spirit of magicgui's ``create_widget``: each field of a ``*Params`` model becomes one
:class:`FieldEditor` (a spin box, check box, combo box or line edit) with the field's title as
label, its unit as suffix, its bounds as range and its description as tooltip.
"""

from __future__ import annotations

import math
import typing
from types import NoneType, UnionType
from typing import Any, Literal

from pydantic.fields import FieldInfo
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

_BIG = 1e9


def field_unit(info: FieldInfo) -> str:
    extra = info.json_schema_extra
    return str(extra.get("unit", "")) if isinstance(extra, dict) else ""


def field_choices(info: FieldInfo) -> list[Any] | None:
    """Allowed values: a Literal's, or ``json_schema_extra["choices"]``."""
    ann = info.annotation
    if typing.get_origin(ann) is Literal:
        return list(typing.get_args(ann))
    extra = info.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("choices"), list | tuple):
        return list(extra["choices"])
    return None


def field_bounds(info: FieldInfo, integer: bool, eps: float | None = None) -> tuple[float, float]:
    """(minimum, maximum) accepted, from Ge/Gt/Le/Lt metadata (open bounds nudged inside by
    ``eps``: 1 for integers, the smallest step shown for floats)."""
    lo, hi = -_BIG, _BIG
    eps = (1 if integer else 1e-6) if eps is None else eps
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = max(lo, m.ge)
        if getattr(m, "gt", None) is not None:
            lo = max(lo, m.gt + eps)
        if getattr(m, "le", None) is not None:
            hi = min(hi, m.le)
        if getattr(m, "lt", None) is not None:
            hi = min(hi, m.lt - eps)
    return lo, hi


def _decimals(info: FieldInfo) -> int:
    """Enough decimals for the default and the bounds (0.01 → 3), at least 2."""
    values = [info.default]
    for m in info.metadata:
        values += [getattr(m, a, None) for a in ("ge", "gt", "le", "lt")]
    small = [
        abs(v)
        for v in values
        if isinstance(v, int | float) and not isinstance(v, bool) and 0 < abs(v) < 1
    ]
    if not small:
        return 2
    return int(min(6, max(2, -math.floor(math.log10(min(small))) + 1)))


def _base_type(ann: Any) -> tuple[Any, bool]:
    """(type, optional) for ``X`` or ``X | None``."""
    if isinstance(ann, UnionType) or typing.get_origin(ann) is typing.Union:
        args = [a for a in typing.get_args(ann) if a is not NoneType]
        optional = len(args) < len(typing.get_args(ann))
        if len(args) == 1:
            return args[0], optional
    return ann, False


class FieldEditor(QObject):
    """One field's widget, with ``value()``/``set_value()`` and a ``changed`` signal."""

    changed = Signal()

    def __init__(self, name: str, info: FieldInfo, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.info = info
        self.title = info.title or name.replace("_", " ").capitalize()
        self.unit = field_unit(info)
        self.default = info.default
        self.widget = self._make(parent)
        tip = info.description or ""
        if self.unit:
            tip += f" [{self.unit}]"
        self.widget.setToolTip(tip)
        self.set_value(self.default)

    def _make(self, parent: QWidget | None) -> QWidget:
        base, optional = _base_type(self.info.annotation)
        self.optional = optional
        choices = field_choices(self.info)
        if choices is not None:
            self.kind = "choice"
            w = QComboBox(parent)
            for c in choices:
                w.addItem(str(c).replace("_", " "), c)
            w.currentIndexChanged.connect(self.changed)
            return w
        if base is bool:
            self.kind = "bool"
            w = QCheckBox(parent)
            w.toggled.connect(self.changed)
            return w
        if base in (int, float):
            integer = base is int
            decimals = 0 if integer else _decimals(self.info)
            lo, hi = field_bounds(self.info, integer, None if integer else 10.0**-decimals)
            if integer and not optional:
                self.kind = "int"
                w = QSpinBox(parent)
                w.setRange(int(max(lo, -(2**31) + 1)), int(min(hi, 2**31 - 1)))
            else:
                # optional numbers: one step below the minimum means "not set" (None)
                self.kind = "optional" if optional else "float"
                w = QDoubleSpinBox(parent)
                w.setDecimals(decimals)
                step = 10.0**-decimals if decimals else 1.0
                self._sentinel = lo - step if optional else None
                w.setRange(self._sentinel if optional else lo, hi)
                w.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
                if optional:
                    desc = (self.info.description or "").lower()
                    w.setSpecialValueText("auto" if "auto" in desc else "not set")
            if self.unit:
                w.setSuffix(f" {self.unit}")
            w.setKeyboardTracking(False)
            w.setAccelerated(True)
            w.valueChanged.connect(self.changed)
            return w
        # free text (empty = None when optional)
        self.kind = "text"
        w = QLineEdit(parent)
        w.editingFinished.connect(self.changed)
        return w

    def value(self) -> Any:
        w = self.widget
        if self.kind == "choice":
            return w.currentData()
        if self.kind == "bool":
            return w.isChecked()
        if self.kind == "int":
            return int(w.value())
        if self.kind == "float":
            return float(w.value())
        if self.kind == "optional":
            v = float(w.value())
            return None if v <= self._sentinel + 1e-12 else v
        text = w.text().strip()
        return text if text or not self.optional else None

    def set_value(self, value: Any) -> None:
        w = self.widget
        w.blockSignals(True)
        try:
            if self.kind == "choice":
                idx = w.findData(value)
                if idx < 0 and value is not None:
                    w.addItem(str(value), value)
                    idx = w.count() - 1
                w.setCurrentIndex(max(idx, 0))
            elif self.kind == "bool":
                w.setChecked(bool(value))
            elif self.kind in ("int", "float"):
                w.setValue(value if value is not None else 0)
            elif self.kind == "optional":
                w.setValue(self._sentinel if value is None else value)
            else:
                w.setText(
                    ""
                    if value is None
                    else f"{value:g}"
                    if isinstance(value, float)
                    else str(value)
                )
        finally:
            w.blockSignals(False)

    @property
    def is_default(self) -> bool:
        return self.value() == self.default
