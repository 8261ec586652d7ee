"""Fixtures for the batch tests: tiny synthetic movies and real dask clusters on loopback.

* ``local_client`` — a :class:`distributed.LocalCluster` of 2 worker processes (1 thread each).
* ``remote_scheduler`` — a separate ``dask scheduler`` and ``dask worker`` (2 processes)
  started from the virtual environment's ``bin`` on 127.0.0.1 with random ports (a scheduler
  file, no port guessing); both are stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import batch_helpers
import cloudpickle
import pytest
from batch_testdata import write_movie

REPO = Path(__file__).resolve().parents[2]
cloudpickle.register_pickle_by_value(batch_helpers)


@pytest.fixture(scope="session")
def experiment(tmp_path_factory) -> Path:
    """``data/control/well1.ome.tif``, ``data/control/well2.ome.tif``, ``data/drug/well1.ome.tif``.

    Session-scoped and read-only: tests that change inputs make their own copies.
    """
    root = tmp_path_factory.mktemp("experiment") / "data"
    write_movie(root / "control" / "well1.ome.tif", seed=1)
    write_movie(root / "control" / "well2.ome.tif", seed=2)
    write_movie(root / "drug" / "well1.ome.tif", seed=3)
    return root


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("DASK_DISTRIBUTED__WORKER__DAEMON", "False")
    return env


@pytest.fixture(scope="session")
def local_client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.ERROR,
    )
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def remote_scheduler(tmp_path_factory):
    """Address of a separate scheduler process with a separate 2-process worker."""
    from distributed import Client

    bindir = Path(sys.executable).parent
    dask_cli = bindir / "dask"
    if not dask_cli.exists():
        pytest.skip(f"the dask command line is not installed beside {sys.executable}")
    tmp = tmp_path_factory.mktemp("dask-remote")
    sched_file = tmp / "scheduler.json"
    logs = [open(tmp / "scheduler.log", "w"), open(tmp / "worker.log", "w")]
    procs: list[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    str(dask_cli),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(sched_file),
                ],
                stdout=logs[0],
                stderr=subprocess.STDOUT,
                env=_env(),
                cwd=tmp,
            )
        )
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                pytest.fail("dask scheduler did not start:\n" + (tmp / "scheduler.log").read_text())
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but be safe
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:"), address
        procs.append(
            subprocess.Popen(
                [
                    str(dask_cli),
                    "worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--local-directory",
                    str(tmp / "w"),
                ],
                stdout=logs[1],
                stderr=subprocess.STDOUT,
                env=_env(),
                cwd=tmp,
            )
        )
        with Client(address, set_as_default=False, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            _stop(p)
        for f in logs:
            f.close()
