"""The ``batch`` and ``report`` commands of the ``pgpviewer`` command line.

Wired into :mod:`pgpviewer.cli` with ``add_parsers(sub)``; every parser sets ``handler`` (a
function ``(args) -> exit status``). Input errors raise :class:`InputError` (one line, exit 2 in
``cli.main``); a batch in which some inputs failed returns 2 (bad inputs) or 1 (unexpected).
"""

from __future__ import annotations

import argparse
import sys

from pgpviewer.core.errors import InputError

BATCH_EPILOG = """\
inputs: files, folders (searched recursively for TIFF/PNG/JPEG images; a folder of frame files
named like img_t001.tif is one movie) and glob patterns ('data/*/*.ome.tif'; quote them). A
multi-position OME-TIFF gives one input per position (<stem>_pos<N>). Without inputs, the files
named in --sample-sheet are used (paths relative to the sheet).

conditions: from --sample-sheet (CSV with columns file, condition[, replicate, ...]; extra
columns are kept), else the name of the folder holding each file; replicates are numbered in
file order within a condition when not given.

writes DIR/<input>/ (the analyze outputs and report.html), DIR/batch_summary.csv,
DIR/conditions.csv (mean fraction of recipients positive per condition and frame with its 95 %
CI across replicates), DIR/batch_files.csv, DIR/batch.json and DIR/report.html. Running the same
command again skips inputs whose output is complete. Exit status: 0 all inputs analysed,
2 some inputs were bad (listed), 1 unexpected failures.
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add ``batch`` and ``report`` to the ``pgpviewer`` sub-command parsers."""
    p = subparsers.add_parser(
        "batch",
        help="analyse many files (a whole experiment) and compare conditions",
        description="Analyse every image of an experiment on a local or remote dask cluster "
        "and summarise the conditions.",
        epilog=BATCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "inputs", nargs="*", metavar="FOLDER_OR_GLOB", help="folders, files or glob patterns"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="batch output folder")
    p.add_argument(
        "--sample-sheet",
        metavar="CSV",
        help="conditions and replicates: columns file, condition[, replicate, ...]",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="use a running dask cluster (e.g. tcp://10.0.0.5:8786); its workers "
        "must see the same paths",
    )
    where.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: all cores)",
    )
    p.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="ROLE=NAME_OR_INDEX",
        help="map a channel to a role for every file (repeatable); guessed from "
        "channel names when omitted",
    )
    p.add_argument(
        "--params",
        metavar="PARAMS.json",
        help="parameters for every file (e.g. an earlier params.json)",
    )
    p.add_argument(
        "--control",
        metavar="FILE",
        help="control culture used to calibrate the P-gp gate of every file",
    )
    p.add_argument("--frames", metavar="A:B", help="analyse frames A to B-1 of every file")
    p.add_argument(
        "--axes", metavar="AXES", help="axes of the stored data when files do not say (e.g. TYX)"
    )
    p.add_argument("--no-report", action="store_true", help="do not write the HTML reports")
    p.set_defaults(handler=cmd_batch)

    p = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of an analyze or batch folder",
        description="Write DIR/report.html (inline charts, no network) for an analyze or "
        "batch output folder.",
    )
    p.add_argument("folder", metavar="DIR")
    p.add_argument(
        "--no-gallery",
        action="store_true",
        help="leave out the event crops (which read the input file)",
    )
    p.set_defaults(handler=cmd_report)


def cmd_batch(args: argparse.Namespace) -> int:
    from pgpviewer.analyze import parse_channel_args
    from pgpviewer.batch import run_batch
    from pgpviewer.core.params import AnalysisParams

    if args.workers is not None and args.workers < 1:
        raise InputError(None, f"--workers must be at least 1, got {args.workers}")
    params = AnalysisParams.load(args.params) if args.params else None
    channels = parse_channel_args(args.channel)
    result = run_batch(
        args.inputs,
        args.out,
        sample_sheet=args.sample_sheet,
        scheduler=args.scheduler,
        workers=args.workers,
        channels=channels or None,
        params=params,
        control=args.control,
        frames=args.frames,
        axes=args.axes,
        write_reports=not args.no_report,
        stream=sys.stderr,
    )
    return result.exit_status


def cmd_report(args: argparse.Namespace) -> int:
    from pgpviewer.report import write_report

    out = write_report(args.folder, gallery=not args.no_gallery)
    print(f"wrote {out}", file=sys.stderr)
    return 0


HANDLERS = {"batch": cmd_batch, "report": cmd_report}
