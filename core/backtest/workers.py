"""Worker processes on this machine, shared by sweeps and the Monte Carlo: each worker gets the
history tape once, pins BLAS to one thread (the workers share the cores) and ignores ctrl-c
(the parent stops them)."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from contextlib import contextmanager

from core.model.errors import InputError

DIED = ("a worker process ended abruptly (killed, or out of memory) and took its share of the"
        " work with it; nothing was written: run it again, or with --workers 1")

_TAPE = None  # this worker's tape, sent once by the initializer


def tape():
    return _TAPE


def cores() -> int:
    """The cores this process may run on (its affinity or container limit where the platform
    says, which os.cpu_count ignores)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _start(shared) -> None:
    import signal
    global _TAPE
    _TAPE = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl-c stops the parent, not N tracebacks
    one_blas_thread()


def one_blas_thread() -> None:
    """A worker shares the cores with the others: BLAS threads would only compete."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1, user_api="blas")


@contextmanager
def pool(workers: int, shared):
    """A process pool whose workers hold `shared` as tape(). On an error or ctrl-c the running
    tasks are stopped, not waited for."""
    # spawn, not fork: a fork of a parent running threads (a progress bar, a Dask client) can
    # deadlock, and spawn is what macOS and Windows do anyway
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=(shared,))
    try:
        yield executor
    except BrokenExecutor:  # a worker killed (kill -9, the OOM killer): one line, not a traceback
        _terminate(executor)
        raise InputError(DIED, field="--workers") from None
    except BaseException:
        _terminate(executor)
        raise
    finally:
        executor.shutdown(cancel_futures=True)


def _terminate(executor) -> None:
    for process in list(executor._processes.values()):  # public only from Python 3.14 (terminate_workers)
        process.terminate()
