"""The ``pgpviewer`` command line (see ../shared/spec/OUTPUTS.md).

The GUI is imported only for the commands that open a window, so that ``analyze``, ``info``
and friends start fast and run where no Qt is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pgpviewer
from pgpviewer.cli_batch import HANDLERS as BATCH_HANDLERS
from pgpviewer.cli_batch import add_parsers as add_batch_parsers
from pgpviewer.core.errors import Cancelled, InputError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pgpviewer",
        description="Measure P-glycoprotein transfer from donor to recipient cells in "
        "fluorescence images. Without a command, opens the desktop app on the bundled sample.",
    )
    parser.add_argument("--version", action="version", version=f"pgpviewer {pgpviewer.__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the sample, analyse it, check the tables, exit 0 on success",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("open", help="open files or a folder in the desktop app")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--screenshot", metavar="PNG", help="draw the window, save it as PNG and exit")

    p = sub.add_parser("analyze", help="analyse one file and write the tables")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="ROLE=NAME_OR_INDEX",
        help="map a channel to a role (nuclei, donor, recipient, pgp, efflux); "
        "repeatable; guessed from channel names when omitted",
    )
    p.add_argument(
        "--params", metavar="PARAMS.json", help="parameters (e.g. an earlier params.json)"
    )
    p.add_argument(
        "--control",
        metavar="FILE",
        help="control culture (recipients only, or t=0) to calibrate the P-gp gate",
    )
    p.add_argument("--frames", metavar="A:B", help="analyse frames A to B-1 only")
    p.add_argument(
        "--position",
        type=int,
        default=0,
        metavar="N",
        help="position (series) in a multi-position file",
    )
    p.add_argument(
        "--axes",
        metavar="AXES",
        help="axes of the stored data when the file does not say (e.g. ZYX)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="frames analysed in parallel (default: all cores)",
    )
    p.add_argument(
        "--export-tracks",
        action="store_true",
        help="also write the tracks for TrackMate (Fiji): trackmate.xml, trackmate_spots.csv",
    )

    p = sub.add_parser("info", help="describe an image file")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--position", type=int, default=0, metavar="N")
    p.add_argument("--axes", metavar="AXES")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("sample", help="write the bundled sample stack")
    p.add_argument("--out", required=True, metavar="FILE")
    add_batch_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pgpviewer`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_library_logs()
    with _terminate_as_interrupt():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.self_test:
            from pgpviewer.selftest import run_self_test

            return run_self_test()
        if args.command in (None, "open"):
            from pgpviewer.gui.app import main as gui_main

            paths = getattr(args, "paths", None) or []
            return gui_main(paths, screenshot=getattr(args, "screenshot", None))
        handlers = {"analyze": cmd_analyze, "info": cmd_info, "sample": cmd_sample}
        handler = {**handlers, **BATCH_HANDLERS}[args.command]
        return handler(args)
    except InputError as e:
        print(f"pgpviewer: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Cancelled:
        print("pgpviewer: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        tty = getattr(sys.stderr, "isatty", lambda: False)()
        start = "\n" if tty else ""  # end a progress bar drawn in place
        print(f"{start}pgpviewer: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except Exception as e:  # unexpected: one line, details on request
        if os.environ.get("PGPVIEWER_DEBUG"):
            raise
        print(
            f"pgpviewer: unexpected error: {e.__class__.__name__}: {e} "
            "(set PGPVIEWER_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Make SIGTERM (``kill``, a job scheduler stopping the run) stop like Ctrl-C.

    Ctrl-C raises KeyboardInterrupt, which removes temporary output and exits with 130 and one
    line; SIGTERM would otherwise end the process at once and leave a temporary folder behind.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _quiet_library_logs() -> None:
    """Keep tifffile's log messages off stderr (read_stack turns them into errors or notes)."""
    log = logging.getLogger("tifffile")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())


# -- commands -----------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    from pgpviewer.core.io import read_stack
    from pgpviewer.core.roles import guess_roles

    stack = read_stack(args.file, position=args.position, axes=args.axes)
    roles = guess_roles(stack.channel_names)
    by_index = {i: r for r, i in roles.items()}
    info = stack.describe()
    info["size_on_disk_bytes"] = _size_on_disk(Path(args.file))
    info["guessed_roles"] = roles
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return EXIT_OK
    t, c, z, y, x = stack.shape
    px = stack.pixel_size_um
    lines = [
        f"file:            {stack.path}",
        f"axes:            TCZYX (stored as {stack.source_axes})",
        f"shape:           T={t} C={c} Z={z} Y={y} X={x}",
        f"dtype:           {stack.dtype}",
        f"pixel size:      {f'{px[0]:.4g} × {px[1]:.4g} µm (y × x)' if px else 'unknown'}",
        f"z step:          {f'{stack.z_step_um:.4g} µm' if stack.z_step_um else 'unknown'}",
        f"frame interval:  "
        f"{f'{stack.frame_interval_s:.4g} s' if stack.frame_interval_s else 'unknown'}",
        f"positions:       {stack.n_positions} (showing {stack.position})",
        f"size on disk:    {_human_bytes(info['size_on_disk_bytes'])} "
        f"({_human_bytes(stack.nbytes)} of pixels)",
        "channels:",
    ]
    for i, name in enumerate(stack.channel_names):
        role = by_index.get(i)
        lines.append(f"  {i}: {name}" + (f"  (guessed role: {role})" if role else ""))
    if stack.axes_note:
        lines.append(f"note:            {stack.axes_note}")
    print("\n".join(lines))
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    from pgpviewer.resources import sample_path

    out = Path(args.out)
    src = sample_path()
    if out.exists() and out.is_dir():
        raise InputError(out, "is a folder; give a file name such as sample.ome.tif")
    tmp = out.with_name(f".{out.name}.part")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_file():
            shutil.copyfile(src, tmp)
        else:  # a source tree without the generated sample: make it
            from pgpviewer.core.synthetic import make_sample, write_simulation

            write_simulation(make_sample(), tmp, ground_truth=False)
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(out, f"cannot write ({e.strerror or e})") from None
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    from pgpviewer.analyze import analyze_file, parse_channel_args
    from pgpviewer.core.params import AnalysisParams
    from pgpviewer.textprogress import TextProgress

    params = AnalysisParams.load(args.params) if args.params else None
    channels = parse_channel_args(args.channel, args.file)
    bar = TextProgress(unit_name="steps")
    result = analyze_file(
        args.file,
        args.out,
        channels=channels,
        params=params,
        control=args.control,
        frames=args.frames,
        position=args.position,
        axes=args.axes,
        workers=args.workers,
        progress=bar,
        log=lambda msg: print(msg, file=sys.stderr),
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.export_tracks:
        from pgpviewer.core.trackmate import export_trackmate

        export_trackmate(result, args.out)
    from pgpviewer.report import write_report

    try:
        write_report(args.out)
    except (OSError, ValueError) as e:  # the tables are written; the report is a convenience
        print(f"note: report not written ({e})", file=sys.stderr)
    n_events = len(result.events)
    bar.finish(
        f"wrote {args.out} ({result.n_rows('cells')} cell rows, {len(result.tracks)} tracks, "
        f"{n_events} transfer event{'s' if n_events != 1 else ''})"
    )
    return EXIT_OK


# -- helpers ------------------------------------------------------------------------------
def _size_on_disk(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in p.iterdir() if f.is_file())
    return p.stat().st_size if p.exists() else 0


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
