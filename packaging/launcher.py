"""Entry script of the bundled app (PyInstaller runs this; installed wheels use ``pgpviewer``).

``freeze_support`` must come first: a frozen app re-runs its own executable for worker
processes (dask/distributed, concurrent.futures with processes), and this is what turns such a
run into a worker instead of a second app.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from pgpviewer.cli import main

    sys.exit(main())
