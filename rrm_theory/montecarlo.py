"""Monte Carlo simulation of evaluation trees, with confidence intervals (MODEL.md sections 2, 3).

Samples whole episodes of the model, every feature included, for any valid tree:
many overlapping blind spots that exact analysis declines are no harder here.
It is also the independent check that the exact analysis is right.

Reproducibility
    Episodes are drawn in fixed *chunks* of ``64 * words`` episodes, where the
    number of words per chunk depends only on the tree's size (256 words,
    16,384 episodes, up to 65,536 nodes; fewer for larger trees to bound
    memory). Chunk k draws from its own stream,
    ``Generator(PCG64(SeedSequence(seed, spawn_key=(k,))))``, i.e. the k-th
    child of ``SeedSequence(seed)``. A run of n episodes uses chunks
    0, 1, ... in order, the last one cut to length; results are integer counts
    summed over chunks. Batch size (chunks per task) and the number of worker
    processes only decide who samples which chunk, so the same seed gives
    bit-identical results whatever they are. A precision target extends a run
    with further chunks in a schedule that depends only on the counts.

Intervals
    See :mod:`rrm_theory.intervals`: Wilson (default) or Clopper-Pearson for
    proportions, applied to the conditional rates given their random
    denominators; for ``youden``, Newcombe's hybrid score interval with Wilson
    and a Bonferroni difference of Clopper-Pearson intervals with
    Clopper-Pearson. Choose Clopper-Pearson for rare events or guaranteed
    coverage.
"""

from __future__ import annotations

import os
import multiprocessing
import signal
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Hashable, Mapping

import networkx as nx
import numpy as np

from ._compile import Compiled, compile_tree
from ._sampler import ChunkSampler
from .intervals import INTERVALS, difference_interval, proportion_interval
from .results import ByNode

if TYPE_CHECKING:  # the executors live in a higher layer; imported at run time only when one is given
    from .studies.executors import Executor

__all__ = ["Estimate", "MonteCarloResult", "monte_carlo", "chunk_episodes", "seed_sequence", "DEFAULT_MAX_SAMPLES"]

#: Default cap on the episodes a precision target may ask for.
DEFAULT_MAX_SAMPLES = 100_000_000
_WORDS = 256
_MEMORY_WORDS = 1 << 24  # node-words of state per chunk (two arrays of 8 bytes: 256 MiB)


def chunk_words(nodes: int) -> int:
    words = _WORDS
    while words > 16 and nodes * words > _MEMORY_WORDS:
        words //= 2
    return words


def chunk_episodes(tree: nx.DiGraph) -> int:
    """Episodes per chunk (the unit of reproducibility) for ``tree``.

    ``64 * words``, with 256 words up to 65,536 nodes and fewer for larger trees
    (at least 16), so that a chunk's state stays within 256 MiB.

    Parameters
    ----------
    tree : networkx.DiGraph
        An evaluation tree (only its size matters).

    Returns
    -------
    int
        Episodes per chunk: chunk k of a run draws from the k-th child of ``SeedSequence(seed)``.

    Raises
    ------
    AttributeError
        If ``tree`` is not a networkx graph.

    Examples
    --------
    >>> from rrm_theory import balanced
    >>> chunk_episodes(balanced(2, 2, rule="all", error=0.1, prior=0.5))
    16384
    """
    return 64 * chunk_words(tree.number_of_nodes())


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    estimate : float
        The sample proportion (or, for ``youden``, difference of proportions).
    ci : tuple of (float, float)
        The confidence interval ``(lo, hi)`` (:mod:`rrm_theory.intervals`).

    Examples
    --------
    >>> Estimate(0.25, (0.2, 0.3)).to_dict()
    {'estimate': 0.25, 'ci': [0.2, 0.3]}
    """

    estimate: float
    ci: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        """The estimate as ``analyze --json`` prints it (the interval as a list)."""
        return {"estimate": self.estimate, "ci": [self.ci[0], self.ci[1]]}


def _estimates(counts: np.ndarray, n: int, confidence: float, interval: str) -> dict[str, Estimate | None]:
    good, false_accepts, false_rejects = (int(x) for x in counts)
    bad = n - good
    out: dict[str, Estimate | None] = {
        "p_good": Estimate(good / n, proportion_interval(good, n, confidence, interval)),
        "error": Estimate(
            (false_accepts + false_rejects) / n,
            proportion_interval(false_accepts + false_rejects, n, confidence, interval),
        ),
        "false_accept": None,
        "false_reject": None,
        "youden": None,
    }
    if bad:
        out["false_accept"] = Estimate(false_accepts / bad, proportion_interval(false_accepts, bad, confidence, interval))
    if good:
        out["false_reject"] = Estimate(false_rejects / good, proportion_interval(false_rejects, good, confidence, interval))
    if bad and good:
        # youden = P(V = 1 | Y = 1) - P(V = 1 | Y = 0), two independent proportions
        out["youden"] = Estimate(
            1.0 - false_accepts / bad - false_rejects / good,
            difference_interval(good - false_rejects, good, false_accepts, bad, confidence, interval),
        )
    return out


class _PerNode(ByNode[Mapping[str, "Estimate | None"]]):
    """Per-node estimates, computed on access from the counts."""

    def __init__(self, nodes: list[Hashable], counts: np.ndarray, n: int, confidence: float, interval: str):
        super().__init__(nodes)
        self._counts, self._n, self._conf, self._interval = counts, n, confidence, interval

    def _row(self, i: int) -> Mapping[str, Estimate | None]:
        return _estimates(self._counts[i], self._n, self._conf, self._interval)


@dataclass(frozen=True)
class MonteCarloResult:
    """A Monte Carlo estimate of the metrics of MODEL.md section 3.

    Attributes
    ----------
    name : str
        The tree's name.
    root_node : hashable
        The root's node id.
    samples : int
        Episodes sampled.
    seed : int
        The seed; ``monte_carlo(tree, rng=seed, ...)`` repeats the run exactly.
    confidence, interval : float, str
        Interval level and method for proportions.
    root : dict
        Metric -> :class:`Estimate`, or None where undefined in the sample
        (no episode with the conditioning truth).
    per_node : mapping
        Node -> the same dict for that node's report.
    counts : ndarray, shape (nodes, 3)
        Per node (in graph order): episodes with Y = 1, with Y = 0 and V = 1,
        with Y = 1 and V = 0.
    target_ci_width : float or None
        The precision asked for, if any.
    reached : bool or None
        Whether every defined root interval is narrower than the target
        (False means the sample cap stopped the run first).

    Examples
    --------
    >>> from rrm_theory import chain, monte_carlo
    >>> result = monte_carlo(chain(1, error=0.1, prior=0.5), samples=20_000, rng=3)
    >>> result.samples, result.seed, result.interval, result.counts.shape
    (20000, 3, 'wilson', (2, 3))
    >>> fa = result.root["false_accept"]
    >>> fa.ci[0] < 0.18 < fa.ci[1]                       # exact: 0.18
    True
    >>> result.widest()[0]                               # the widest root interval
    'youden'
    """

    name: str
    root_node: Hashable
    samples: int
    seed: int
    confidence: float
    interval: str
    root: dict[str, Estimate | None]
    per_node: Mapping[Hashable, Mapping[str, Estimate | None]]
    counts: np.ndarray
    target_ci_width: float | None = None
    reached: bool | None = None

    def widest(self) -> tuple[str, float]:
        """The defined root metric with the widest interval, and that width."""
        widths = {m: e.ci[1] - e.ci[0] for m, e in self.root.items() if e is not None}
        metric = max(widths, key=widths.__getitem__)
        return metric, widths[metric]

    def to_dict(self, *, per_node: bool = False) -> dict[str, Any]:
        """The ``"monte_carlo"`` object of ``rrm-theory analyze --json``."""
        out: dict[str, Any] = {"samples": self.samples, "seed": self.seed}
        out.update({m: (None if e is None else e.to_dict()) for m, e in self.root.items()})
        out["confidence"] = self.confidence
        out["interval"] = self.interval
        if self.target_ci_width is not None:
            out["target_ci_width"] = self.target_ci_width
            out["reached"] = self.reached
        if per_node:
            out["per_node"] = {
                str(v): {m: (None if e is None else e.to_dict()) for m, e in est.items()}
                for v, est in self.per_node.items()
            }
        return out


def _seed(rng: np.random.Generator | np.random.SeedSequence | int | None) -> int:
    if rng is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng={rng} is negative; a seed is a non-negative integer")
        return int(rng)
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63))
    if isinstance(rng, np.random.SeedSequence):  # SPEC 7: a seed sequence is a seed
        return int(rng.generate_state(1, np.uint64)[0])
    raise TypeError(f"rng must be a numpy Generator, a SeedSequence, an int seed or None, not {type(rng).__name__}")


def seed_sequence(rng: np.random.Generator | np.random.SeedSequence | int | None) -> np.random.SeedSequence:
    """A SeedSequence from any ``rng`` argument (SPEC 7), for spawning independent streams.

    Parameters
    ----------
    rng : numpy.random.Generator, numpy.random.SeedSequence, int or None
        A SeedSequence is returned as it is; otherwise the seed :func:`monte_carlo`
        would use (an int itself, one draw of a Generator, fresh OS entropy for None).

    Returns
    -------
    numpy.random.SeedSequence

    Raises
    ------
    ValueError
        For a negative int.
    TypeError
        For anything else than the types above.

    Examples
    --------
    >>> seed_sequence(7).entropy
    7
    >>> import numpy as np
    >>> s = np.random.SeedSequence(1)
    >>> seed_sequence(s) is s
    True
    """
    if isinstance(rng, np.random.SeedSequence):
        return rng
    return np.random.SeedSequence(_seed(rng))


_SMALL_JOB = 1 << 26  # node-episodes: below, workers=None samples in this process

# Worker processes keep one sampler each, built once by the pool's initializer.
_WORKER: dict[str, Any] = {}


def _init_worker(c: Compiled, words: int, seed: int) -> None:
    # a worker: the parent handles Ctrl-C and ends it (not in a Dask worker's task thread, where
    # signal.signal raises and the worker handles its own signals)
    if multiprocessing.parent_process() is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER.update(sampler=ChunkSampler(c, words), seed=seed)


def _run_chunks(task: tuple[int, int, int]) -> np.ndarray:
    """Counts summed over chunks ``first .. last - 1`` (the last cut to ``tail`` episodes)."""
    first, last, tail = task
    return _chunk_counts(_WORKER["sampler"], _WORKER["seed"], first, last, tail)


def _chunk_counts(sampler: ChunkSampler, seed: int, first: int, last: int, tail: int) -> np.ndarray:
    episodes = 64 * sampler.words
    total = np.zeros((sampler.c.size, 3), dtype=np.int64)
    for k in range(first, last):
        stream = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))
        total += sampler.sample(stream, tail if k == last - 1 and tail else episodes)
    return total


# An executor's workers have no initializer: each task carries the run's token and the shared
# compiled tree, and a worker keeps the samplers of its last few runs by token.
_SAMPLERS: dict[str, ChunkSampler] = {}


def _run_shared_chunks(task: tuple[str, Compiled, int, int, int, int, int]) -> tuple[int, np.ndarray]:
    """A self-contained :func:`_run_chunks`: (episodes sampled, counts)."""
    token, c, words, seed, first, last, tail = task
    sampler = _SAMPLERS.get(token)
    if sampler is None:
        while len(_SAMPLERS) >= 4:
            _SAMPLERS.pop(next(iter(_SAMPLERS)), None)
        sampler = _SAMPLERS[token] = ChunkSampler(c, words)
    episodes = 64 * words
    return (last - first) * episodes - (episodes - tail if tail else 0), _chunk_counts(sampler, seed, first, last, tail)


class _Runner:
    """Samples ranges of chunks, in this process, in a pool of workers, or through an executor."""

    def __init__(self, c: Compiled, words: int, seed: int, workers: int, batch_chunks: int, progress: bool,
                 executor: Executor | None = None):  # fmt: skip
        self.c, self.words, self.seed = c, words, seed
        self.workers, self.batch = workers, batch_chunks
        self.pool: ProcessPoolExecutor | None = None
        self.executor, self.shared = executor, None
        self.bar: Any = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=0, unit="episode", unit_scale=True, delay=1.0, leave=False)
        if executor is not None:
            self.workers = max(1, executor.workers)
            self.token = uuid.uuid4().hex
            self.shared = executor.share(c)  # once per worker, not once per task
        elif workers == 1:
            _init_worker(c, words, seed)
        else:
            self.pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(c, words, seed))

    def run(self, first: int, samples: int) -> np.ndarray:
        """Counts of episodes ``first * chunk .. first * chunk + samples`` (first on a chunk boundary)."""
        episodes = 64 * self.words
        chunks = -(-samples // episodes)
        tail = samples - (chunks - 1) * episodes
        # at least four tasks per worker, so that no worker idles (numbers do not depend on it)
        parallel = self.pool is not None or self.executor is not None
        step = max(1, min(self.batch, -(-chunks // (4 * self.workers)))) if parallel else self.batch
        tasks = []
        for lo in range(first, first + chunks, step):
            hi = min(lo + step, first + chunks)
            tasks.append((lo, hi, tail if hi == first + chunks else 0))
        if self.bar is not None:
            self.bar.total += samples
            self.bar.refresh()
        total = np.zeros((self.c.size, 3), dtype=np.int64)
        if self.executor is not None:
            return self._run_executor(self.executor, tasks, total)
        results = self.pool.map(_run_chunks, tasks) if self.pool else map(_run_chunks, tasks)
        for task, counts in zip(tasks, results):
            total += counts
            if self.bar is not None:
                lo, hi, cut = task
                self.bar.update((hi - lo) * episodes - (episodes - cut if cut else 0))
        return total

    def _run_executor(self, executor: Executor, tasks: list[tuple[int, int, int]], total: np.ndarray) -> np.ndarray:
        """The tasks through the executor, in whatever order they finish (the counts are integers)."""
        results = executor.run(_run_shared_chunks, [(self.token, self.shared, self.words, self.seed, *task)
                                                         for task in tasks])  # fmt: skip
        try:
            for done, counts in results:
                total += counts
                if self.bar is not None:
                    self.bar.update(done)
        finally:  # an interrupt or an error: the executor drops the tasks left
            close = getattr(results, "close", None)
            if close is not None:
                close()
        return total

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        self._unshare()
        if self.bar is not None:
            self.bar.close()

    def _unshare(self) -> None:
        if self.executor is not None and self.shared is not None:
            shared, self.shared = self.shared, None
            self.executor.unshare(shared)  # the executor itself is the caller's: it stays open

    def abort(self) -> None:
        """End the worker processes at once (on an interrupt, a SIGTERM or an error)."""
        if self.pool is not None:
            processes = list(getattr(self.pool, "_processes", {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in processes:
                if p.is_alive():
                    p.terminate()
            for p in processes:
                p.join(timeout=5)
        self._unshare()
        if self.bar is not None:
            self.bar.close()


def monte_carlo(
    tree: nx.DiGraph | Compiled,
    *,
    samples: int = 100_000,
    rng: np.random.Generator | np.random.SeedSequence | int | None = None,
    batch_size: int = 1 << 20,
    workers: int | None = 1,
    ci_width: float | None = None,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    confidence: float = 0.95,
    interval: str = "wilson",
    progress: bool = False,
    executor: Executor | None = None,
) -> MonteCarloResult:
    """Estimate the metrics of every node by sampling episodes.

    Parameters
    ----------
    tree : networkx.DiGraph or Compiled
        An evaluation tree, or its compiled form (:func:`compile_tree`).
    samples : int, keyword-only
        Episodes to sample (with ``ci_width``: the first round).
    rng : numpy.random.Generator, numpy.random.SeedSequence, int or None, keyword-only
        The seed (SPEC 7). An int is used as the seed itself; a Generator
        gives one draw as the seed, a SeedSequence one word of its state; None
        draws a fresh seed from the OS. The seed used is reported in the result.
    batch_size : int, keyword-only
        Episodes per task (rounded up to whole chunks); a memory and
        scheduling knob that never changes the numbers.
    workers : int or None, keyword-only
        Local worker processes; the numbers are those of ``workers=1``. None:
        every CPU this process may use, or this process alone for a small job
        (under about 2**26 node-episodes, where starting workers costs more
        than they save).
    ci_width : float, optional, keyword-only
        Sample until every defined root interval is narrower than this.
    max_samples : int, keyword-only
        A hard cap on the episodes sampled: a precision target's last round
        is cut to fit it (reproducibly: a cut chunk uses its first episodes),
        and stopping there is reported (``reached=False``), never silent;
        ``samples`` above it is an error.
    confidence : float, keyword-only
        Interval level, in (0, 1).
    interval : {"wilson", "clopper-pearson"}, keyword-only
        Interval method (``youden``: Newcombe's with Wilson, a Bonferroni
        difference of Clopper-Pearson intervals with Clopper-Pearson).
    progress : bool, keyword-only
        Show a tqdm progress bar (after one second).
    executor : rrm_theory.studies.Executor, optional, keyword-only
        Sample the chunks through this executor instead of local workers:
        ``Dask(address, n)`` (a Dask cluster), ``Processes(n)`` or
        ``InProcess()``. It wins over ``workers``, which is then ignored. The
        compiled tree is sent to each worker once (:meth:`Executor.share`);
        the numbers are those of ``workers=1``. The executor stays open (its
        owner closes it), so several runs can share one cluster.

    Returns
    -------
    MonteCarloResult

    Raises
    ------
    ValueError
        For an option out of range, or a negative seed.
    TypeError
        For an ``executor`` that is not an :class:`~rrm_theory.studies.Executor`,
        or an ``rng`` of another type than those above.
    SpecError
        If ``tree`` is not a valid evaluation tree.
    RRMError
        From the executor (a Dask cluster that lost a task for good, say).

    Examples
    --------
    >>> from rrm_theory import chain, monte_carlo
    >>> result = monte_carlo(chain(3, error=0.1, prior=0.5), samples=100_000, rng=7)
    >>> fa = result.root["false_accept"]
    >>> fa.ci[0] < 0.2952 < fa.ci[1]            # exact: (1 - 0.8**4) / 2
    True
    >>> monte_carlo(chain(3, error=0.1, prior=0.5), samples=100_000, rng=7, workers=2).counts.tolist() \\
    ...     == result.counts.tolist()
    True
    """
    _check_options(samples, batch_size, workers, ci_width, max_samples, confidence, interval)
    _check_executor(executor)
    c = compile_tree(tree)
    seed = _seed(rng)
    words = chunk_words(c.size)
    episodes = 64 * words
    if ci_width is not None:  # rounds end on chunk boundaries, but never past the cap
        samples = min(max_samples, -(-samples // episodes) * episodes)
    if workers is None and executor is None:
        small = ci_width is None and samples * c.size < _SMALL_JOB
        workers = 1 if small else default_workers()
    runner = _Runner(c, words, seed, workers or 1, max(1, -(-batch_size // episodes)), progress, executor)
    try:
        counts = runner.run(0, samples)
        n = samples
        result = _result(c, counts, n, seed, confidence, interval, ci_width)
        while ci_width is not None and not result.reached and n < max_samples:
            _, width = result.widest()
            grow = max(2.0, min(16.0, 1.2 * (width / ci_width) ** 2))  # width ~ 1 / sqrt(n)
            target = min(max_samples, -(-int(n * grow) // episodes) * episodes)  # the last round is cut
            counts = counts + runner.run(n // episodes, target - n)
            n = target
            result = _result(c, counts, n, seed, confidence, interval, ci_width)
    except BaseException:
        runner.abort()  # interrupted or terminated: end the workers now, do not wait for them
        raise
    runner.close()
    return result


def _result(
    c: Compiled, counts: np.ndarray, n: int, seed: int,
    confidence: float, interval: str, ci_width: float | None,
) -> MonteCarloResult:  # fmt: skip
    order = c.order  # per-node results in the graph's order
    ordered = counts[order]
    ordered.setflags(write=False)
    root = _estimates(counts[0], n, confidence, interval)
    reached = None
    if ci_width is not None:
        reached = all(e.ci[1] - e.ci[0] < ci_width for e in root.values() if e is not None)
    return MonteCarloResult(
        name=c.name,
        root_node=c.nodes[0],
        samples=n,
        seed=seed,
        confidence=confidence,
        interval=interval,
        root=root,
        per_node=_PerNode(list(map(c.nodes.__getitem__, order.tolist())), ordered, n, confidence, interval),
        counts=ordered,
        target_ci_width=ci_width,
        reached=reached,
    )


def _check_options(
    samples: int, batch_size: int, workers: int, ci_width: float | None,
    max_samples: int, confidence: float, interval: str,
) -> None:  # fmt: skip
    def whole(name: str, value: object, low: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name}={value!r} is not a whole number >= {low}")

    whole("samples", samples, 1)
    whole("batch_size", batch_size, 1)
    if workers is not None:
        whole("workers", workers, 1)
    whole("max_samples", max_samples, 1)
    if samples > max_samples:
        raise ValueError(f"samples={samples} is more than max_samples={max_samples} (a hard cap)")
    if ci_width is not None and not (isinstance(ci_width, (int, float)) and 0.0 < ci_width <= 2.0):
        raise ValueError(f"ci_width={ci_width!r} is not a width in (0, 2]")
    if not (isinstance(confidence, float) and 0.0 < confidence < 1.0):
        raise ValueError(f"confidence={confidence!r} is not in (0, 1)")
    if interval not in INTERVALS:
        raise ValueError(f"interval={interval!r} is not one of {', '.join(INTERVALS)}")


def _check_executor(executor: object) -> None:
    if executor is None:
        return
    from .studies.executors import Executor  # only here: the executors are a higher layer

    if not isinstance(executor, Executor):
        raise TypeError(f"executor must be an rrm_theory.studies Executor (Dask, Processes, InProcess) or None, "
                        f"not {type(executor).__name__}")  # fmt: skip


def default_workers() -> int:
    """The number of CPUs this process may use.

    Its CPU affinity where the system reports it (Linux), else ``os.cpu_count()``.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> default_workers() >= 1
    True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

