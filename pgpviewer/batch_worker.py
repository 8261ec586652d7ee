"""Set-up of the worker processes of the local cluster that ``pgpviewer batch`` starts.

Loaded by dask as a worker *preload* (``dask_setup`` runs in each worker process). Ctrl-C in a
terminal signals the whole process group: the command itself stops the batch and closes the
cluster cleanly, so the workers ignore SIGINT instead of each printing a traceback.
"""

from __future__ import annotations

import signal
import threading


def dask_setup(worker) -> None:  # the dask preload interface
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
