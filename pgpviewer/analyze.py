"""Analyse one file end to end: read, choose roles, run the pipeline, write the contract.

Shared by ``pgpviewer analyze``, ``pgpviewer batch`` and the GUI, so all three give identical
outputs for the same file and parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgpviewer.core.errors import InputError
from pgpviewer.core.io import read_stack
from pgpviewer.core.params import AnalysisParams
from pgpviewer.core.progress import CancelCheck, ProgressCallback
from pgpviewer.core.roles import guess_roles, resolve_roles
from pgpviewer.core.stack import Stack
from pgpviewer.core.validate import check_analysable


@dataclass(frozen=True)
class RoleChoice:
    roles: dict[str, int]
    how: str  # "given", "guessed from channel names", ...

    def describe(self, stack: Stack) -> str:
        text = ", ".join(f"{r}={stack.channel_names[i]} ({i})" for r, i in self.roles.items())
        return f"channel roles ({self.how}): {text}"


def parse_channel_args(items: Sequence[str], source: object = None) -> dict[str, str]:
    """``["nuclei=0", "pgp=P-gp"]`` → ``{"nuclei": "0", "pgp": "P-gp"}``."""
    mapping: dict[str, str] = {}
    for item in items:
        role, sep, value = item.partition("=")
        if not sep or not role.strip() or not value.strip():
            raise InputError(source, f"--channel {item!r} is not of the form ROLE=NAME_OR_INDEX")
        mapping[role.strip().lower()] = value.strip()
    return mapping


def choose_roles(stack: Stack, mapping: Mapping[str, str | int] | None = None) -> RoleChoice:
    """Roles as given (names or indices), else guessed from the channel names.

    A single-channel stack without recognisable names is analysed as nuclei.
    """
    if mapping:
        return RoleChoice(resolve_roles(mapping, stack.channel_names, source=stack.path), "given")
    roles = guess_roles(stack.channel_names)
    if roles:
        return RoleChoice(roles, "guessed from channel names")
    if stack.n_channels == 1:
        return RoleChoice({"nuclei": 0}, "single channel analysed as nuclei")
    raise InputError(
        stack.path,
        f"cannot guess channel roles from the names ({', '.join(stack.channel_names)}); "
        "pass --channel ROLE=NAME_OR_INDEX",
    )


def parse_frames(text: str, n_frames: int, path: object = None) -> tuple[int, int]:
    """Parse ``A:B`` (either side optional) against a stack of ``n_frames`` frames."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        a = int(parts[0]) if parts[0].strip() else 0
        b = int(parts[1]) if parts[1].strip() else n_frames
    except ValueError:
        raise InputError(path, f"--frames {text!r} is not of the form A:B") from None
    a, b, _ = slice(a, b).indices(n_frames)
    if b <= a:
        raise InputError(path, f"--frames {text!r} selects no frame (file has {n_frames})")
    return a, b


def analyze_file(
    path: str | Path,
    out_dir: str | Path,
    *,
    channels: Mapping[str, str | int] | None = None,
    params: AnalysisParams | None = None,
    control: str | Path | None = None,
    frames: str | None = None,
    position: int = 0,
    axes: str | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    log: Callable[[str], None] | None = None,
):
    """Analyse one image file and write the output contract into ``out_dir``.

    Parameters
    ----------
    path : str or Path
        Image file, frame folder or glob (see :func:`~pgpviewer.core.io.read_stack`).
    out_dir : str or Path
        Output folder (written atomically).
    channels : mapping, optional
        Role → channel name or index; guessed from channel names when omitted.
    params : AnalysisParams, optional
        Parameters; defaults when omitted.
    control : path, optional
        Control file for the gate (switches the gate source to ``control``).
    frames : str, optional
        ``"A:B"`` frame range.
    position, axes, workers, progress, cancel
        As for :func:`read_stack` and :func:`run_pipeline`.
    log : callable, optional
        Receives one-line notes (roles used, ...).

    Returns
    -------
    PipelineResult
    """
    from pgpviewer.core.export import (
        check_output_dir,
        export_results,
        remove_stale_temporaries,
    )
    from pgpviewer.core.pipeline import run_pipeline

    log = log or (lambda _msg: None)
    # everything that can be refused is refused before any pixel is analysed
    check_output_dir(Path(out_dir))
    remove_stale_temporaries(Path(out_dir))
    stack = read_stack(path, position=position, axes=axes)
    if frames:
        a, b = parse_frames(frames, stack.n_frames, stack.path)
        stack = stack.with_frames(a, b)
    check_analysable(stack)
    choice = choose_roles(stack, channels)
    params = params or AnalysisParams()
    control_stack = None
    if control is not None:
        control_stack = read_stack(control)
        check_analysable(control_stack)
        if params.gate.source != "control":
            params = params.replace(gate={**params.gate.model_dump(), "source": "control"})
        control_roles = choose_roles(control_stack, channels).roles
    else:
        control_roles = None
    log(choice.describe(stack))
    if stack.axes_note:
        log(f"note: {stack.axes_note}")
    log(f"analysing {stack.name}: {stack.n_frames} frame(s), {stack.n_channels} channel(s)")
    try:
        result = run_pipeline(
            stack,
            choice.roles,
            params,
            control=control_stack,
            control_roles=control_roles,
            workers=workers,
            progress=progress,
            cancel=cancel,
        )
    except InputError as e:
        if e.path is not None:
            raise
        raise InputError(stack.path, e.problem) from None  # name the file in the message
    export_results(result, out_dir)
    return result
