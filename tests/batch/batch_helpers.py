"""Helpers shipped to dask workers by value (``cloudpickle.register_pickle_by_value``).

They wrap the real :func:`~pgpviewer.analyze.analyze_file` to make a task slow (so a worker can
be killed while it runs) or to fail unexpectedly for chosen inputs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def slow_analyze(path, out_dir, *, marker_dir, delay_s, slow_names=(), **kwargs):
    """Leave ``<marker_dir>/<name>.<pid>`` when starting, sleep, then analyse for real."""
    from pgpviewer.analyze import analyze_file

    name = Path(path).name
    if not slow_names or name in slow_names:
        Path(marker_dir, f"{name}.{os.getpid()}").write_text(str(time.time()))
        time.sleep(delay_s)
    return analyze_file(path, out_dir, **kwargs)


def failing_analyze(path, out_dir, **kwargs):
    """A bug in the analysis for inputs whose name starts with ``boom``."""
    from pgpviewer.analyze import analyze_file

    if Path(path).name.startswith("boom"):
        raise RuntimeError("simulated bug")
    return analyze_file(path, out_dir, **kwargs)
