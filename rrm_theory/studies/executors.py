"""Where a study's points run: in this process, in local worker processes, or on a Dask cluster.

An executor maps a function over tasks and yields the results as they complete
(in any order: every point's numbers depend only on the point). The caller
writes each result to the store as it arrives, so what finishes is kept
whatever happens to the rest.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

from ..errors import RRMError
from ..montecarlo import default_workers

__all__ = ["Executor", "InProcess", "Processes", "Dask", "executor_for", "default_workers"]


class Executor:
    """Runs ``fn`` over tasks, yielding results as they complete.

    ``fn`` and the tasks must pickle (a worker has no initializer): ``fn`` a
    module-level function, each task self-contained. An object every task needs
    is sent once with :meth:`share` and its handle put in the tasks. An executor
    is a context manager: leaving the block closes it, or on an error aborts it.
    Subclasses implement :meth:`run` and set ``workers`` (tasks run at once).

    Examples
    --------
    >>> with InProcess() as executor:
    ...     handle = executor.share({"rate": 0.1})
    ...     results = list(executor.run(abs, [-1, 2, -3]))
    >>> results, handle
    ([1, 2, 3], {'rate': 0.1})
    """

    workers = 1

    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:  # pragma: no cover
        """Yield ``fn(task)`` for every task, in the order they complete."""
        raise NotImplementedError

    def share(self, obj: Any) -> Any:
        """A handle to ``obj`` to put in tasks in its place (as a task, or in a task's
        tuples, lists and dicts); ``fn`` receives ``obj``.

        Here the handle is ``obj`` itself (pickled with each task); a cluster sends
        it to every worker once.
        """
        return obj

    def unshare(self, handle: Any) -> None:
        """Release what :meth:`share` sent (the handle is not used again)."""

    def close(self) -> None:
        """Release the workers."""

    def abort(self) -> None:
        """End the workers at once (an interrupt, a signal, an error)."""
        self.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class InProcess(Executor):
    """Every task in this process, in order.

    Examples
    --------
    >>> list(InProcess().run(abs, [-1, 2, -3]))
    [1, 2, 3]
    """

    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        for task in tasks:
            yield fn(task)


class Processes(Executor):
    """A pool of local worker processes.

    A few tasks per worker are in flight at once; the rest are submitted as
    results come back, which they do in the order they complete.

    Parameters
    ----------
    workers : int
        The number of worker processes (>= 1).

    Raises
    ------
    ValueError
        If ``workers`` is less than 1.

    Examples
    --------
    >>> with Processes(2) as executor:
    ...     results = sorted(executor.run(abs, [-1, 2, -3]))
    >>> results
    [1, 2, 3]
    """

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = ProcessPoolExecutor(workers)

    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        pending: set[Future] = set()
        queue = iter(tasks)
        try:
            for task in queue:  # a few tasks in flight per worker, the rest submitted as they finish
                pending.add(self.pool.submit(fn, task))
                if len(pending) >= 4 * self.workers:
                    break
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.add(self.pool.submit(fn, nxt))
        finally:  # the caller stopped early (an error, an interrupt): drop what has not started
            for future in pending:
                future.cancel()

    def close(self) -> None:
        self.pool.shutdown()

    def abort(self) -> None:
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p.is_alive():
                p.terminate()
        for p in processes:
            p.join(timeout=5)


_CLOSE_SECONDS = 10  # close() and abort() give up on an unresponsive scheduler after this
# Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's thresholds so that
# every array of a Monte Carlo chunk (megabytes, allocated and freed per chunk) is fresh pages from the
# kernel: chunks sample 2x slower. A local cluster is started without it (docs/studies.md, section 5).
_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


def _warm() -> None:
    """Import what every point needs (run on each worker of a cluster this package starts)."""
    import importlib

    for name in ("rrm_theory.studies.run", "rrm_theory.exact", "rrm_theory.spec"):
        importlib.import_module(name)


class Dask(Executor):
    """A Dask distributed cluster (needs the ``dask`` extra: ``pip install 'rrm-theory[dask]'``).

    Parameters
    ----------
    address : str
        ``tcp://HOST:PORT`` of a running scheduler (any address ``distributed.Client``
        takes), or ``"local"`` for a ``LocalCluster`` of ``workers`` processes, one
        thread each and no dashboard, started here and stopped by :meth:`close`.
    workers : int, optional
        The size of a local cluster (default: every CPU this process may use); a
        running cluster has its own workers.
    timeout : float, optional, keyword-only
        Seconds to wait for the scheduler; default Dask's
        ``distributed.comm.timeouts.connect`` (30 s, or the environment's
        ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``).

    Raises
    ------
    RRMError
        dask.distributed is not installed, or the scheduler cannot be reached.

    Notes
    -----
    The tasks of a worker that dies are run again on another by the scheduler;
    a task lost with ``distributed.scheduler.allowed-failures`` + 1 workers in
    turn (4 by default) is an RRMError, as is losing the scheduler. Every task
    yields its result exactly once. A task that raises is a bug and is not
    retried: its error reaches the caller.

    Examples
    --------
    Starting a cluster takes seconds, so the run below is not executed here:

    >>> issubclass(Dask, Executor)
    True
    >>> with Dask("local", 2) as dask:                                     # doctest: +SKIP
    ...     summary = run_study(study, store=store, executor=dask)
    """

    def __init__(self, address: str, workers: int | None = None, *, timeout: float | None = None):
        try:
            from distributed import Client, LocalCluster
        except ModuleNotFoundError:
            raise RRMError("a Dask scheduler needs dask.distributed: pip install 'rrm-theory[dask]'") from None
        self.address = address
        self.cluster = None
        if address == "local":
            import dask

            workers = default_workers() if workers is None else workers
            try:
                with dask.config.set({_TRIM: None}):  # glibc's own malloc thresholds: see _TRIM
                    self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                dashboard_address=None)  # fmt: skip
            except (OSError, RuntimeError, TimeoutError) as exc:  # its worker processes failed to start
                raise RRMError(f"cannot start a local Dask cluster of {workers} workers: {exc}") from None
            try:
                self.client = Client(self.cluster)
            except BaseException:
                self.cluster.close(timeout=_CLOSE_SECONDS)
                raise
        else:
            options = {} if timeout is None else {"timeout": timeout}
            try:
                self.client = Client(address, **options)
            except (OSError, TimeoutError, ValueError) as exc:  # refused, timed out; a malformed address
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise RRMError(f"cannot reach the Dask scheduler at {address}: {why}") from None
        # tasks in parallel, for batching only (a cluster may grow or shrink during the run)
        self.workers = max(1, sum(self.client.nthreads().values()))
        if self.cluster is not None:  # our own workers: load the engine now, as part of starting them
            self.client.run(_warm)

    def run(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed
        from distributed.comm import CommClosedError
        from distributed.scheduler import KilledWorker

        futures = self.client.map(fn, list(tasks), pure=False)  # one message for every task
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except KilledWorker:
                    import dask

                    tries = dask.config.get("distributed.scheduler.allowed-failures") + 1
                    raise RRMError(f"Dask scheduler {self.address}: a task was lost with {tries} workers in turn "
                                   "(distributed.scheduler.allowed-failures); do the workers run out of memory?"
                                   ) from None  # fmt: skip
                except (CancelledError, CommClosedError):
                    raise RRMError(f"Dask scheduler {self.address}: a task was cancelled or its result lost (the "
                                   "scheduler was lost or restarted, or every worker holding its data "
                                   "died)") from None  # fmt: skip
                future.release()  # the worker may free the result now
                yield result
        finally:  # done, or the caller stopped early: the scheduler forgets what is left
            for future in futures:
                future.release()

    def share(self, obj: Any) -> Any:
        """``obj`` on every worker, sent once (a Dask future, which tasks may carry in tuples,
        lists and dicts; a worker that joins later fetches it from another)."""
        try:
            [handle] = self.client.scatter([obj], broadcast=True, hash=False)  # a list would go item by item
            return handle
        except TimeoutError:
            raise RRMError(f"Dask scheduler {self.address}: no workers to send the data to") from None

    def unshare(self, handle: Any) -> None:
        handle.release()

    def close(self) -> None:
        try:
            self.client.close(timeout=_CLOSE_SECONDS)
        except (OSError, TimeoutError):  # an unreachable scheduler: nothing left to release
            pass
        if self.cluster is not None:
            try:
                self.cluster.close(timeout=_CLOSE_SECONDS)
            except (OSError, TimeoutError):  # its worker processes end with this process anyway
                pass


def executor_for(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor of ``--workers`` and ``--scheduler``: Dask, local processes or this process.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default :func:`default_workers`); 1 runs in this process.
        With a scheduler: the size of a ``"local"`` cluster.
    scheduler : str, optional
        A Dask scheduler's address, or ``"local"`` (see :class:`Dask`).

    Returns
    -------
    Executor
        :class:`Dask` with a scheduler, else :class:`InProcess` for one worker and
        :class:`Processes` for more. The caller closes it.

    Raises
    ------
    RRMError
        With a scheduler, as :class:`Dask`.
    ValueError
        If ``workers`` is less than 1.

    Examples
    --------
    >>> type(executor_for(1)).__name__
    'InProcess'
    >>> with executor_for(2) as executor:
    ...     type(executor).__name__
    'Processes'
    """
    workers = default_workers() if workers is None else workers
    if scheduler is not None:
        return Dask(scheduler, workers)
    return InProcess() if workers == 1 else Processes(workers)
