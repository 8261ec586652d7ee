"""The dask.distributed cluster of ``pgpviewer batch``: connecting, and checking its workers.

A new :class:`distributed.LocalCluster`, an existing scheduler (``tcp://host:8786``) or a client
given by the caller; the workers must run this pgpviewer version. Used by :mod:`pgpviewer.batch`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pgpviewer
from pgpviewer.core.errors import InputError


def worker_version() -> str:
    """pgpviewer version on a worker (checked before a remote cluster is used)."""
    return pgpviewer.__version__


@contextlib.contextmanager
def connect(
    scheduler: str | None = None, workers: int | None = None, client: Any = None
) -> Iterator[tuple[Any, str]]:
    """A dask.distributed client: the one given, one to ``scheduler``, or a new LocalCluster.

    Yields ``(client, description)``; a cluster started here is closed on exit.
    """
    from distributed import Client, LocalCluster

    if client is not None:
        yield client, f"the given dask client ({client.scheduler.address})"
        return
    if scheduler:
        scheduler = check_scheduler_address(scheduler)
        try:
            c = Client(scheduler, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise InputError(
                None, f"cannot connect to the dask scheduler at {scheduler} ({e})"
            ) from None
        try:
            yield c, f"the dask cluster at {scheduler}"
        finally:
            c.close()
        return
    if not workers:
        from pgpviewer.core.pipeline import default_workers

        workers = default_workers()
    n = workers
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",  # never the shared default port 8787
        silence_logs=logging.ERROR,
        preload=["pgpviewer.batch_worker"],  # workers leave Ctrl-C to this process
    )
    try:
        c = Client(cluster, set_as_default=False)
        try:
            yield c, f"a local cluster of {n} worker process{'es' if n != 1 else ''}"
        finally:
            c.close()
    finally:
        cluster.close()


def check_scheduler_address(address: str) -> str:
    """``host:port`` or ``tcp://host:port`` (checked before connecting; a bad one is an
    InputError, not a 40 s hang)."""
    from distributed.comm import get_address_host_port

    text = address.strip()
    if "://" not in text:
        text = f"tcp://{text}"
    try:
        get_address_host_port(text)
    except (ValueError, TypeError) as e:
        raise InputError(
            None,
            f"--scheduler {address!r} is not a dask scheduler address such as "
            f"tcp://10.0.0.5:8786 ({e})",
        ) from None
    return text


def check_workers(client: Any, timeout_s: float = 60.0) -> int:
    """Wait for at least one worker and check that all run this pgpviewer version."""
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (TimeoutError, OSError):
        raise InputError(
            None, f"the dask scheduler has no workers (waited {timeout_s:.0f} s)"
        ) from None
    try:
        versions = client.run(worker_version)
    except Exception as e:
        raise InputError(
            None,
            f"dask workers cannot run pgpviewer ({e.__class__.__name__}: {e}); "
            "install the same pgpviewer on every worker",
        ) from None
    wrong = {addr: v for addr, v in versions.items() if v != pgpviewer.__version__}
    if wrong:
        addr, v = next(iter(wrong.items()))
        raise InputError(
            None,
            f"dask worker {addr} runs pgpviewer {v}, this is {pgpviewer.__version__}; "
            "outputs must come from one version",
        )
    return len(versions)
