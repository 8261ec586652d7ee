"""pgpviewer itself: the GUI, the self-test and the batch workers are imported lazily by the CLI,
so collect every submodule explicitly, and any data files that appear inside the package. Its
resources (``resources/`` → ``pgpviewer/_resources``) and the build's ``versions.json`` are added
by ``pgpviewer.spec``."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules

hiddenimports = collect_submodules("pgpviewer")
datas = collect_data_files("pgpviewer")
