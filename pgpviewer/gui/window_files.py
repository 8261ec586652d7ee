"""The main window's file handling: opening files and folders, exporting results and images."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtWidgets import QFileDialog

from pgpviewer.core.errors import InputError
from pgpviewer.gui.analysis import export, folder_details
from pgpviewer.gui.dialogs import describe_error
from pgpviewer.gui.display import OpenedStack, prepare_stack
from pgpviewer.gui.workers import TaskWorker
from pgpviewer.session.experiment import default_results_dir, scan_folder


class WindowFilesMixin:
    """Opening (files, folders, frame folders, neighbours) and exporting (CSV, PNG, movie).

    Mixed into :class:`~pgpviewer.gui.main_window.MainWindow`; files are read and results
    written in :class:`~pgpviewer.gui.workers.TaskWorker` jobs.
    """

    # ------------------------------------------------------------------ opening --
    def open_paths(self, paths: list[str | Path]) -> None:
        """Open files or a folder as given on the command line or dropped on the window."""
        paths = [Path(p) for p in paths]
        if not paths:
            return
        first = paths[0]
        if first.is_dir():
            entries = self._entries(first)
            if entries:
                self.set_folder(first, open_first=True)
                return
            self.show_error("Cannot open", InputError(first, "folder contains no image files"))
            return
        self.set_folder(first.parent, open_first=False)
        self.open_path(first)

    def _entries(self, folder: Path):
        try:
            return scan_folder(folder)
        except InputError as e:
            self.show_error("Cannot open folder", e)
            return []

    def set_folder(self, folder: str | Path, open_first: bool = False) -> None:
        """Show an experiment folder's files (their details are read in the background)."""
        folder = Path(folder)
        entries = self._entries(folder)
        if self.session.folder == folder and self.file_panel.paths == [e.path for e in entries]:
            if open_first and entries:
                self.open_path(entries[0].path)
            return
        self.session.set_folder(folder)
        self.file_panel.set_folder(folder, entries)
        self.settings.add_recent_folder(folder)
        self.file_panel.set_recent_folders(self.settings.recent_folders)
        self._refresh_recent_menu()
        self._save_settings()
        for e in entries:
            self.file_panel.set_status(e.path, self.session.status(e.path))
        if self.session.path is not None:
            self.file_panel.select(self.session.path)
        if entries:
            job = TaskWorker(folder_details, [e.path for e in entries])
            job.succeeded.connect(self._details_ready)
            self._details_job = self.start_job(job)
        if open_first and entries:
            self.open_path(entries[0].path)

    def _details_ready(self, details) -> None:
        for d in details:
            self.file_panel.set_dims(d.path, d.dims, d.error)
            self.session.set_saved_run(d.path, d.saved)

    def open_path(self, path: str | Path) -> None:
        """Open one image file or frame folder (read in the background)."""
        path = Path(path)
        self._open_generation += 1
        gen = self._open_generation
        self.statusBar().showMessage(f"Opening {path.name}…")
        job = TaskWorker(prepare_stack, path)
        job.succeeded.connect(lambda opened, g=gen: self._opened(opened, g))
        job.failed.connect(lambda exc, g=gen, p=path: self._open_failed(exc, g, p))
        self._open_job = self.start_job(job)

    def open_neighbour(self, step: int) -> None:
        path = self.file_panel.neighbour(self.session.path, step)
        if path is not None:
            self.open_path(path)

    def _opened(self, opened: OpenedStack, generation: int) -> None:
        if generation != self._open_generation:
            return  # the user asked for another file meanwhile
        stack = opened.stack
        self.preview.cancel()
        folder = stack.path.parent if stack.path is not None else None
        roles = self.settings.recall_roles(folder, stack.channel_names) if folder else None
        if roles is None:
            from pgpviewer.core.roles import guess_roles

            roles = guess_roles(stack.channel_names)
        self.viewer.clear_preview()
        self._opened_stack = opened
        self.viewer.show_stack(opened, roles, self.session.params.z_projection)
        self.session.set_stack(stack, roles)
        self.file_panel.select(stack.path)
        note = f" — {stack.axes_note}" if stack.axes_note else ""
        if stack.n_z > 1:
            note += f" — z-stack shown as {self.session.params.z_projection} projection"
        self.statusBar().showMessage(
            f"Opened {stack.name}: {stack.n_frames} frames, {stack.n_channels} channels{note}", 8000
        )
        self.setWindowTitle(f"pgpviewer — {stack.name}")
        self.stack_shown.emit(stack)
        self._request_preview()

    def _open_failed(self, exc: BaseException, generation: int, path: Path) -> None:
        if generation != self._open_generation:
            return
        self.statusBar().showMessage(f"Could not open {path.name}", 8000)
        self.file_panel.set_dims(path, "unreadable", describe_error(exc)[0])
        self.show_error("Cannot open file", exc)

    def _open_file_dialog(self) -> None:
        start = str(self.session.folder or "")
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open image",
            start,
            "Images (*.tif *.tiff *.ome.tif *.btf *.png *.jpg);;All files (*)",
        )
        if path:
            self.open_paths([path])

    def _open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open experiment folder", str(self.session.folder or "")
        )
        if folder:
            self.set_folder(folder, open_first=True)

    def _open_frames_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a folder of frames", str(self.session.folder or "")
        )
        if folder:
            self.open_path(folder)

    # -------------------------------------------------------------------- export --
    def export_results_to(self, out_dir: str | Path) -> TaskWorker | None:
        """Write the shown result as the CSV contract into ``out_dir`` (in a worker)."""
        result = self.session.result
        if result is None:
            self.show_error("Nothing to export", InputError(None, "run the analysis first"))
            return None
        out_dir = Path(out_dir)
        self.statusBar().showMessage(f"Exporting to {out_dir}…")
        path = self.session.path
        job = TaskWorker(export, result, out_dir)
        job.succeeded.connect(lambda saved, d=out_dir, p=path: self._exported(d, p, saved))
        job.failed.connect(lambda e: self.show_error("Export failed", e))
        return self.start_job(job)

    def _exported(self, out_dir: Path, path, saved) -> None:
        self.settings.last_export_dir = str(out_dir.parent)
        self._save_settings()
        if path is not None and saved is not None and out_dir == default_results_dir(path):
            self.session.set_saved_run(path, saved)
        self.statusBar().showMessage(f"Results written to {out_dir}", 10000)
        self.exported.emit(out_dir)

    def _export_dialog(self) -> None:
        path = self.session.path
        start = default_results_dir(path) if path is not None else Path.home()
        folder = QFileDialog.getExistingDirectory(
            self, "Export results into folder (created or replaced)", str(start.parent)
        )
        if folder:
            out = Path(folder)
            if path is not None and out == start.parent:
                out = start  # the results folder: one subfolder per file
            self.export_results_to(out)

    def save_screenshot(self, path: str | Path, *, canvas_only: bool = True) -> Path:
        path = Path(path)
        if canvas_only:
            self.viewer.screenshot(str(path))
        else:
            self.grab().save(str(path))
        self.statusBar().showMessage(f"Saved {path}", 6000)
        return path

    def _screenshot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save screenshot", "screenshot.png", "PNG image (*.png)"
        )
        if path:
            self.save_screenshot(path)

    def _movie_dialog(self) -> None:
        from pgpviewer.gui.movie import export_movie_interactive

        path, _ = QFileDialog.getSaveFileName(
            self, "Export movie", "movie.gif", "Animated GIF (*.gif);;TIFF stack (*.tif)"
        )
        if path:
            export_movie_interactive(self, Path(path))
