"""Conditions and replicates of a batch: the sample sheet, or the folder structure.

Sample sheet
------------
A CSV file (comma, semicolon or tab separated; UTF-8, an Excel BOM is fine) with a header row:

``file`` (required)
    A file name (``well1.ome.tif``; the name without its image suffix, ``well1``, works too), a
    path relative to the sheet's folder or to the folder that holds all inputs
    (``condA/well1.tif``), an absolute path, a folder (every image in it; or the folder as one
    movie when it is a frame folder), or a glob pattern (``condA/*.tif``).
``condition`` (required)
    Any text: ``control``, ``1:1``, ``verapamil 10 µM``…
``replicate`` (optional)
    Any text (``1``, ``B``…). Inputs that share a condition *and* a replicate (e.g. several
    positions of one well) are averaged before replicates are compared. Empty or missing:
    numbered 1, 2, 3… in input order within the condition.
``position`` (optional)
    Restricts the row to one position of a multi-position file.
any other column
    Kept and copied into ``batch_summary.csv`` and ``batch_files.csv``.

When an input matches several rows, an exact name or path beats a folder, which beats a glob
pattern; rows that still tie must agree, else the sheet is refused. A row that matches no input is
reported (exit status 2); an input that no row names is skipped with a warning.

Without a sheet
---------------
The condition of an input is the name of the folder that holds it (for a frame folder: the folder
that holds the frame folder); replicates are numbered 1, 2, 3… in input order (natural sort)
within each condition.
"""

from __future__ import annotations

import csv
import fnmatch
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pgpviewer.batch_inputs import GLOB_CHARS, BatchInput, image_stem
from pgpviewer.core.errors import InputError
from pgpviewer.core.export import SUMMARY_COLUMNS

SHEET_REQUIRED = ("file", "condition")
SHEET_KNOWN = ("file", "condition", "replicate", "position")
# Extra sheet columns must not shadow the columns batch_summary.csv writes itself.
RESERVED_COLUMNS = ("output", "status", "message", *SUMMARY_COLUMNS)


@dataclass(frozen=True)
class SheetRow:
    """One row of a sample sheet; ``line`` is its line number in the file (header = 1)."""

    line: int
    file: str
    condition: str
    replicate: str = ""
    position: int | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def has_glob(self) -> bool:
        return any(ch in self.file for ch in GLOB_CHARS)

    def assignment(self) -> tuple:
        return (self.condition, self.replicate, tuple(sorted(self.extra.items())))


@dataclass(frozen=True)
class SampleSheet:
    """A parsed sample sheet: rows plus the names of its extra columns, in file order."""

    path: Path
    rows: tuple[SheetRow, ...]
    extra_columns: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return self.path.resolve().parent


def _sniff(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        return csv.excel

    class Sheet(csv.excel):  # spreadsheet quoting ("" inside quotes), only the delimiter sniffed
        pass

    Sheet.delimiter = delimiter
    return Sheet


def read_sample_sheet(path: str | Path) -> SampleSheet:
    """Read and check a sample sheet (see the module docstring).

    Raises
    ------
    InputError
        Missing file, missing ``file``/``condition`` column, an empty ``file`` or ``condition``
        cell, or a ``position`` that is not a whole number (naming the line).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sheet.csv"
    >>> _ = p.write_text("File,Condition,Replicate,drug\\na.tif,ctrl,1,none\\n")
    >>> sheet = read_sample_sheet(p)
    >>> sheet.rows[0].condition, sheet.rows[0].replicate, sheet.rows[0].extra
    ('ctrl', '1', {'drug': 'none'})
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(path, "sample sheet not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "sample sheet is not UTF-8 text (save it as CSV UTF-8)") from None
    except OSError as e:
        raise InputError(path, f"cannot read the sample sheet ({e.strerror or e})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    reader = csv.reader(io.StringIO(text), _sniff(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(path, "sample sheet is empty") from None
    names = [h.strip() for h in header]
    lower = [n.lower() for n in names]
    missing = [c for c in SHEET_REQUIRED if c not in lower]
    if missing:
        raise InputError(
            path,
            f"sample sheet has no {' or '.join(repr(m) for m in missing)} column "
            f"(columns: {', '.join(names) or 'none'}; needed: file, condition[, replicate])",
        )
    dupes = sorted({n for n in lower if n and lower.count(n) > 1})
    if dupes:
        raise InputError(path, f"sample sheet repeats the column(s) {', '.join(dupes)}")
    extra_cols = [n for n, lo in zip(names, lower, strict=True) if lo not in SHEET_KNOWN and n]
    clash = [c for c in extra_cols if c.lower() in RESERVED_COLUMNS]
    if clash:
        raise InputError(path, f"sample sheet column {clash[0]!r} is reserved; rename it")
    rows = []
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cells = [c.strip() for c in cells] + [""] * (len(names) - len(cells))
        if len(cells) > len(names) and any(cells[len(names) :]):
            raise InputError(path, f"line {line_no} has more cells than the header has columns")
        rec = {lo: cells[i] for i, lo in enumerate(lower) if lo}
        if not rec["file"]:
            raise InputError(path, f"line {line_no} has an empty 'file' cell")
        if not rec["condition"]:
            raise InputError(path, f"line {line_no} ({rec['file']}) has an empty 'condition'")
        position = None
        if rec.get("position"):
            try:
                position = int(rec["position"])
                if position < 0:
                    raise ValueError
            except ValueError:
                raise InputError(
                    path, f"line {line_no}: position {rec['position']!r} is not a whole number ≥ 0"
                ) from None
        rows.append(
            SheetRow(
                line=line_no,
                file=rec["file"].replace("\\", "/"),
                condition=rec["condition"],
                replicate=rec.get("replicate", ""),
                position=position,
                extra={n: cells[names.index(n)] for n in extra_cols},
            )
        )
    if not rows:
        raise InputError(path, "sample sheet has a header but no rows")
    return SampleSheet(path=path, rows=tuple(rows), extra_columns=tuple(extra_cols))


def row_paths(sheet: SampleSheet, row: SheetRow) -> list[Path]:
    """What a row names on disk, relative to the sheet's folder (used without positional args)."""
    import glob as _glob

    pattern = row.file
    base = Path(pattern) if Path(pattern).is_absolute() else sheet.folder / pattern
    if row.has_glob:
        from tifffile import natural_sorted

        return [Path(p) for p in natural_sorted(_glob.glob(str(base), recursive=True))]
    if base.exists():
        return [base]
    # a bare name without suffix, or a name anywhere below the sheet folder, is matched later
    return []


# -- matching ---------------------------------------------------------------------------------
_EXACT, _FOLDER, _GLOB = 3, 2, 1


def _candidates(item: BatchInput, sheet_folder: Path) -> set[str]:
    p = item.path
    names = {p.name, p.as_posix(), item.name, image_stem(p)}
    if item.name:
        stem_rel = Path(item.name).parent / image_stem(p)
        names.add(stem_rel.as_posix())
    try:
        rel = p.relative_to(sheet_folder).as_posix()
        names.add(rel)
        names.add((Path(rel).parent / image_stem(p)).as_posix())
    except ValueError:
        pass
    return {n.removeprefix("./") for n in names if n}


def _match_level(row: SheetRow, item: BatchInput, sheet_folder: Path) -> int:
    if row.position is not None and (item.position or 0) != row.position:
        return 0
    pattern = row.file.removeprefix("./").rstrip("/")
    cands = _candidates(item, sheet_folder)
    if row.has_glob:
        return _GLOB if any(fnmatch.fnmatch(c, pattern) for c in cands) else 0
    if pattern in cands:
        return _EXACT
    target = Path(pattern) if Path(pattern).is_absolute() else sheet_folder / pattern
    try:
        target = target.resolve()
        if target.is_dir() and item.path != target:
            item.path.relative_to(target)
            return _FOLDER
    except (ValueError, OSError):
        pass
    if target == item.path:
        return _EXACT
    return 0


@dataclass
class SheetMatch:
    """Result of :func:`apply_sample_sheet`."""

    items: list[BatchInput]
    not_in_sheet: list[BatchInput]
    unused_rows: list[SheetRow]
    lines: list[int] = field(default_factory=list)  # the sheet line of each of ``items``


def apply_sample_sheet(sheet: SampleSheet, items: Sequence[BatchInput]) -> SheetMatch:
    """Give each input the condition, replicate and extra columns of its sample-sheet row.

    Raises
    ------
    InputError
        An input matched by rows that disagree (naming the input and the lines).
    """
    folder = sheet.folder
    matched: list[BatchInput] = []
    lines: list[int] = []
    not_in_sheet: list[BatchInput] = []
    used: set[int] = set()
    for item in items:
        levels = [(r, _match_level(r, item, folder)) for r in sheet.rows]
        best = max((lv for _, lv in levels), default=0)
        if best == 0:
            not_in_sheet.append(item)
            continue
        rows = [r for r, lv in levels if lv == best]
        if len({r.assignment() for r in rows}) > 1:
            lines = ", ".join(str(r.line) for r in rows)
            raise InputError(
                sheet.path,
                f"{item.label} is matched by lines {lines}, which give different conditions "
                "or replicates; make the rows name the files more precisely",
            )
        for r, lv in levels:
            if lv:
                used.add(r.line)
        row = rows[0]
        lines.append(row.line)
        matched.append(
            replace(item, condition=row.condition, replicate=row.replicate, extra=dict(row.extra))
        )
    unused = [r for r in sheet.rows if r.line not in used]
    return SheetMatch(matched, not_in_sheet, unused, lines)


def folder_conditions(items: Sequence[BatchInput]) -> list[BatchInput]:
    """Condition = name of the folder holding each input (no sample sheet)."""
    return [replace(i, condition=i.path.parent.name or str(i.path.parent)) for i in items]


def number_replicates(items: Sequence[BatchInput]) -> list[BatchInput]:
    """Fill empty replicates with 1, 2, 3… in input order within each condition.

    Numbers already given (by the sheet) in that condition are skipped.

    Examples
    --------
    >>> from pathlib import Path
    >>> xs = [BatchInput(Path(f"/{c}{i}"), condition=c, replicate=r)
    ...       for c, i, r in [("a", 1, ""), ("b", 1, ""), ("a", 2, "1"), ("a", 3, "")]]
    >>> [(i.condition, i.replicate) for i in number_replicates(xs)]
    [('a', '2'), ('b', '1'), ('a', '1'), ('a', '3')]
    """
    taken: dict[str, set[str]] = defaultdict(set)
    for i in items:
        if i.replicate:
            taken[i.condition].add(i.replicate)
    counter: dict[str, int] = defaultdict(int)
    out = []
    for i in items:
        if i.replicate:
            out.append(i)
            continue
        while True:
            counter[i.condition] += 1
            rep = str(counter[i.condition])
            if rep not in taken[i.condition]:
                break
        taken[i.condition].add(rep)
        out.append(replace(i, replicate=rep))
    return out
