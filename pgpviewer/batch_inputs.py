"""Finding the inputs of a batch: image files, frame folders and positions, and their output names.

Rules (documented for users in ``pgpviewer batch --help`` and the README):

* An argument that is a **file** is one input. An argument with glob characters (``*?[``) is
  expanded (``**`` recurses); every match is handled like an argument of its own.
* An argument that is a **folder** is searched recursively for images (``.tif``, ``.tiff``,
  ``.btf``, ``.png``, ``.jpg``…). Hidden files and folders (name starting with ``.``), earlier
  pgpviewer output folders (holding a ``params.json`` written by pgpviewer) and the batch output
  folder itself are skipped, as are ground-truth files written by the simulator
  (``*_gt_labels.tif``, ``*_gt_nuclei.tif``).
* A folder is read as **one movie of per-frame files** (a frame folder) when it holds at least two
  TIFF files, and no other images, whose names are the same except for one number that follows
  a time token (``t``, ``time``, ``frame``, ``tp`` or ``timepoint``, as in ``img_t001.tif`` or
  ``…--T00012--Z000--C.tif``). Anything else is a set of separate files: ``well_01.tif``,
  ``well_02.tif`` are two end-point images, not two frames.
* A multi-position OME-TIFF gives one input per position, named ``<stem>_pos<N>``.

Output names are the file name without its image suffix (``movie.ome.tif`` → ``movie``) or the
frame folder's name. When two inputs would share a name, the names of the folders that hold them
are prefixed (``condA_well1``, ``condB_well1``) until they differ.
"""

from __future__ import annotations

import glob as _glob
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import tifffile

from pgpviewer.core.errors import InputError
from pgpviewer.core.io import IMAGE_SUFFIXES, TIFF_SUFFIXES

GLOB_CHARS = "*?["
_IMAGE_SUFFIXES_LONG = (".ome.tiff", ".ome.tif", ".ome.btf")
_GT_SUFFIXES = ("_gt_labels", "_gt_nuclei")
_TIME_TOKEN_END = re.compile(r"(?i)(?:^|[^a-z])(?:t|time|frame|tp|timepoint)[_\-]?$")


@dataclass(frozen=True)
class BatchInput:
    """One unit of work of a batch: a file (or frame folder) and a position in it.

    Attributes
    ----------
    path : Path
        Absolute path of the image file or frame folder.
    position : int or None
        Position (series) index for multi-position files, None for single-position inputs.
    name : str
        Path relative to the batch's common folder (``/``-separated), shown to the user and
        written to the ``file`` column.
    output : str
        Name of the output folder inside the batch folder.
    condition, replicate : str
        Condition and replicate (from the sample sheet or the folder structure).
    extra : dict of str to str
        Extra sample-sheet columns for this input.
    """

    path: Path
    position: int | None = None
    name: str = ""
    output: str = ""
    condition: str = ""
    replicate: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        """``name`` plus the position when there is one (for messages)."""
        return self.name if self.position is None else f"{self.name} [position {self.position}]"

    @property
    def is_frame_folder(self) -> bool:
        return self.path.is_dir()


def image_stem(path: Path) -> str:
    """File name without its image suffix (``a.ome.tif`` → ``a``); a folder's own name."""
    name = path.name
    if path.is_dir():
        return name
    low = name.lower()
    for suffix in _IMAGE_SUFFIXES_LONG + IMAGE_SUFFIXES:
        if low.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def _is_hidden(path: Path) -> bool:
    return path.name.startswith(".")


def _is_pgpviewer_output(folder: Path) -> bool:
    p = folder / "params.json"
    if not p.is_file():
        return False
    try:
        head = p.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    return '"software": "pgpviewer"' in head


def _is_ground_truth(path: Path) -> bool:
    return image_stem(path).endswith(_GT_SUFFIXES)


def frame_folder_files(folder: Path) -> list[Path] | None:
    """The frames of ``folder`` if it is a frame folder (see the module docstring), else None."""
    try:
        entries = [p for p in folder.iterdir() if not _is_hidden(p)]
    except OSError:
        return None
    images = [p for p in entries if is_image_file(p)]
    if len(images) < 2 or any(p.suffix.lower() not in TIFF_SUFFIXES for p in images):
        return None
    # every name must have the same text between its numbers, and exactly one number may vary
    # between files: the one after a time token
    split = [re.split(r"(\d+)", image_stem(p)) for p in images]
    skeletons = {
        (tuple(parts[0::2]), p.suffix.lower()) for parts, p in zip(split, images, strict=True)
    }
    if len(skeletons) != 1:
        return None
    varying = [k for k in range(1, len(split[0]), 2) if len({int(s[k]) for s in split}) > 1]
    if len(varying) != 1 or not _TIME_TOKEN_END.search(split[0][varying[0] - 1]):
        return None
    return [Path(f) for f in tifffile.natural_sorted([str(p) for p in images])]


def _walk(folder: Path, skip: Sequence[Path]) -> Iterable[Path]:
    """Image files and frame folders under ``folder`` (depth first, natural order)."""
    if any(_same_or_inside(folder, s) for s in skip):
        return
    if _is_pgpviewer_output(folder):
        return
    if frame_folder_files(folder) is not None:
        yield folder
        return
    try:
        children = [p for p in folder.iterdir() if not _is_hidden(p)]
    except OSError as e:
        raise InputError(folder, f"cannot list the folder ({e.strerror or e})") from None
    children = [Path(p) for p in tifffile.natural_sorted([str(p) for p in children])]
    for child in children:
        if child.is_dir():
            yield from _walk(child, skip)
        elif is_image_file(child) and not _is_ground_truth(child):
            yield child


def _same_or_inside(path: Path, other: Path) -> bool:
    try:
        path.resolve().relative_to(other.resolve())
    except ValueError:
        return False
    return True


def find_inputs(args: Sequence[str | Path], *, skip: Sequence[Path] = ()) -> list[Path]:
    """Expand folders and globs into image files and frame folders (absolute, no duplicates).

    Parameters
    ----------
    args : sequence of str or Path
        Files, folders and glob patterns, as given on the command line.
    skip : sequence of Path
        Folders never searched (the batch output folder) and files never used (the control).

    Returns
    -------
    list of Path
        In the order of the arguments, each folder in natural order.

    Raises
    ------
    InputError
        An argument that matches nothing or does not exist.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    skip = [Path(s) for s in skip]

    def add(p: Path) -> None:
        p = p.resolve()
        if p not in seen and not any(p == s.resolve() for s in skip):
            seen.add(p)
            found.append(p)

    for arg in args:
        text = str(arg)
        if any(ch in text for ch in GLOB_CHARS) and not Path(text).exists():
            matches = tifffile.natural_sorted(_glob.glob(text, recursive=True))
            if not matches:
                raise InputError(text, "no files match this pattern")
            # from a pattern, only folders and image files (``data/*`` may match notes.txt)
            items = [Path(m) for m in matches]
            items = [p for p in items if p.is_dir() or is_image_file(p)]
        else:
            p = Path(text)
            if not p.exists():
                raise InputError(p, "file or folder not found")
            items = [p]  # a file named explicitly is analysed (and reported if unreadable)
        for p in items:
            if p.is_dir():
                for q in _walk(p, skip):
                    add(q)
            else:
                add(p)
    return found


def count_positions(path: Path) -> int:
    """Number of positions (series) of a TIFF file; 1 for anything else or unreadable files.

    Unreadable files are not rejected here: the analysis reports them as bad inputs.
    """
    if path.is_dir() or path.suffix.lower() not in TIFF_SUFFIXES:
        return 1
    try:
        from pgpviewer.core.io import read_stack

        return max(1, read_stack(path).n_positions)
    except InputError:
        return 1
    except Exception:  # pragma: no cover - a reader bug must not stop discovery
        return 1


def expand_positions(paths: Iterable[Path]) -> list[tuple[Path, int | None]]:
    """One ``(path, position)`` per position; ``position`` is None for single-position inputs."""
    out: list[tuple[Path, int | None]] = []
    for p in paths:
        n = count_positions(p)
        if n == 1:
            out.append((p, None))
        else:
            out.extend((p, i) for i in range(n))
    return out


def common_root(paths: Iterable[Path]) -> Path:
    """The deepest folder that holds every path (a frame folder counts as held by its parent)."""
    parents = [str(Path(p).parent) for p in paths]
    if not parents:
        return Path.cwd()
    try:
        return Path(os.path.commonpath(parents))
    except ValueError:  # different drives on Windows: names stay absolute
        return Path(parents[0]).parent


def relative_name(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def assign_outputs(items: Sequence[BatchInput]) -> list[BatchInput]:
    """Give every input a unique output folder name (see the module docstring).

    Examples
    --------
    >>> a = BatchInput(Path("/d/condA/well1.tif"), name="condA/well1.tif")
    >>> b = BatchInput(Path("/d/condB/well1.tif"), name="condB/well1.tif")
    >>> c = BatchInput(Path("/d/condB/m.ome.tif"), position=2, name="condB/m.ome.tif")
    >>> [i.output for i in assign_outputs([a, b, c])]
    ['condA_well1', 'condB_well1', 'm_pos2']
    """

    def base(item: BatchInput) -> str:
        stem = image_stem(item.path)
        return stem if item.position is None else f"{stem}_pos{item.position}"

    def with_parents(item: BatchInput, k: int) -> str:
        parents = Path(item.name).parent.parts if item.name else item.path.parent.parts
        parents = [p for p in parents if p not in ("", "/", ".")]
        use = parents[-k:] if k else []
        return "_".join([*use, base(item)])

    names = [base(i) for i in items]
    k = 0
    while True:
        groups: dict[str, list[int]] = defaultdict(list)
        for idx, name in enumerate(names):
            groups[_fold(name)].append(idx)
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            break
        k += 1
        if k > 32:
            break
        changed = False
        for group in clashes:
            for idx in group:
                new = with_parents(items[idx], k)
                changed |= new != names[idx]
                names[idx] = new
        if not changed:
            break
    # last resort: numbered suffixes, in input order
    used: dict[str, int] = {}
    final = []
    for name in names:
        key = _fold(name)
        if key in used:
            used[key] += 1
            name = f"{name}_{used[key]}"
        else:
            used[key] = 1
        final.append(_safe_name(name))
    return [replace(item, output=out) for item, out in zip(items, final, strict=True)]


def _fold(name: str) -> str:
    # case-insensitive file systems (macOS, Windows) would merge names that differ in case only
    return name.casefold()


def _safe_name(name: str) -> str:
    name = name.replace("/", "_").replace("\\", "_").strip()
    if name.startswith("."):
        name = "_" + name[1:]
    return name or "input"
