"""Running a study: compute the points the store lacks, store each as it finishes."""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from ..errors import RRMError
from .executors import Executor, InProcess
from .store import Store
from .study import Point, Study

__all__ = ["run_study", "compute", "RunSummary"]


@dataclass(frozen=True)
class RunSummary:
    """What a run did.

    Attributes
    ----------
    total : int
        (point, method) pairs of the study.
    done_before : int
        Already in the store when the run started (resumed).
    computed : int
        Computed and stored by this run.
    declined : int
        Of those, how many a method declined (stored with the reason, not retried).
    seconds : float
        Wall time of the run.

    Examples
    --------
    >>> summary = RunSummary(total=4, done_before=1, computed=3, declined=0, seconds=0.5)
    >>> summary.done_before + summary.computed == summary.total
    True
    """

    total: int
    done_before: int
    computed: int
    declined: int
    seconds: float


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def compute(point: Point, seed: int) -> dict[str, Any]:
    """The result of one point, what the store keeps.

    The JSON parts ``analyze --json`` or the theory command would print for it.

    Parameters
    ----------
    point : Point
        From :meth:`Study.points`.
    seed : int
        The study's seed; a stochastic method draws from ``point.seed_sequence(seed)``.

    Returns
    -------
    dict
        The result, or ``{"declined": reason}`` when the method declines the point:
        every :class:`~rrm_theory.errors.RRMError` (ExactRefused, SpecError, ...) is one.

    Raises
    ------
    ValueError
        For a method option out of range (a study checks them first).

    Examples
    --------
    >>> from rrm_theory.studies import study_from_dict
    >>> study = study_from_dict({"methods": ["exact"], "model": {
    ...     "defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 1}}})
    >>> result = compute(study.points()[0], study.seed)
    >>> round(result["root"]["false_accept"], 4)
    0.18
    """
    from ..errors import RRMError as _Declined

    try:
        if point.kind != "analysis":
            from .._cli_theory import COMMANDS
            from ._theory import namespace

            obj, _ = COMMANDS[point.kind](namespace(point.kind, point.parameters or {}))
            return obj
        return _analysis(point, seed)
    except _Declined as exc:
        return {"declined": str(exc)}


def _analysis(point: Point, seed: int) -> dict[str, Any]:
    from ..spec import from_dict

    tree = from_dict(point.spec, source=point.study)
    o = point.options
    if point.method == "exact":
        from ..exact import exact_analysis

        return {"root": exact_analysis(tree).root.to_dict()}
    if point.method == "monte-carlo":
        from ..montecarlo import monte_carlo

        kwargs = {k.replace("-", "_"): v for k, v in o.items() if v is not None}
        kwargs.setdefault("samples", 100_000)
        if "max_samples" in kwargs:
            kwargs["samples"] = min(kwargs["samples"], kwargs["max_samples"])
        result = monte_carlo(tree, rng=point.seed_sequence(seed), workers=1, **kwargs)
        return result.to_dict()
    if point.method == "bounds":
        from ..bounds import DEFAULT_BUDGET, bounds

        method = o.get("bounds", "auto")
        if method == "none":
            return {"declined": "bounds = none"}
        return bounds(tree, method=method, budget=o.get("bounds-budget", DEFAULT_BUDGET)).to_dict()
    if point.method == "robustness":
        from ..adversary import robustness

        return robustness(tree, budget=o.get("budget", 3), root_corruptible=bool(o.get("corrupt-root"))).to_dict()
    if point.method == "importance":
        from ..importance import importance

        ranked = importance(tree, samples=o.get("samples") or 100_000, rng=point.seed_sequence(seed),
                            confidence=o.get("confidence", 0.95))  # fmt: skip
        return {"method": ranked.method, "nodes": ranked.to_list()}
    raise ValueError(f"unknown method {point.method!r}")  # pragma: no cover - validated by the study


def _row(point: Point, seed: int) -> dict[str, Any]:
    from .. import __version__

    started, clock = _now(), time.perf_counter()
    result = compute(point, seed)
    model = point.spec if point.spec is not None else point.parameters
    spec_hash = hashlib.sha256(json.dumps(model, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return {
        "key": point.key, "method": point.method, "study": point.study, "kind": point.kind,
        "axes": [list(pair) for pair in point.values], "result": result, "version": __version__,
        "spec_hash": spec_hash, "seed": seed, "wall": time.perf_counter() - clock, "started": started,
        "finished": _now(),
    }  # fmt: skip


def _run_batch(task: tuple[list[Point], int]) -> list[dict[str, Any]]:
    points, seed = task
    return [_row(p, seed) for p in points]


def _batches(points: Sequence[Point], workers: int, size: int | None) -> list[list[Point]]:
    if size is None:  # a few batches per worker; small enough that a crash loses little, and progress moves
        size = max(1, min(64, len(points) // (8 * max(1, workers)) or 1))
    return [list(points[i : i + size]) for i in range(0, len(points), size)]


def run_study(
    study: Study,
    *,
    store: Store,
    executor: Executor | None = None,
    quick: bool = False,
    fresh: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Compute every point of ``study`` that ``store`` lacks, storing each as it finishes.

    Parameters
    ----------
    study : Study
        From :func:`load_study`.
    store : Store
        The results database; rows already in it are not computed again.
    executor : Executor, keyword-only
        Where the points run (default: in this process).
    quick : bool, keyword-only
        Use the study's ``[quick]`` axes.
    fresh : bool, keyword-only
        Delete this study's stored rows first (other studies' rows in the store stay).
    batch_size : int, keyword-only
        Points per task (default: a few tasks per worker, at most 64 points each).
    progress : callable, keyword-only
        Called as ``progress(done, total)`` after each stored batch.

    Returns
    -------
    RunSummary

    Raises
    ------
    SpecError
        For a point whose spec is not valid (:meth:`Study.points`).
    RRMError
        From the executor (a Dask cluster that lost a task for good, say).

    Warns
    -----
    RuntimeWarning
        When the store holds rows of another rrm-theory version (they are kept).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from rrm_theory.studies import Store, load_study, results
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "s.toml").write_text('''
    ... methods = ["exact"]
    ... [model]
    ... defaults = { error = 0.1, prior = 0.5 }
    ... generate = { shape = "chain", depth = 1 }
    ... [vary]
    ... "generate.depth" = [1, 2]
    ... ''')
    >>> with Store(folder / "s.sqlite") as store:
    ...     first = run_study(load_study(folder / "s.toml"), store=store)
    ...     again = run_study(load_study(folder / "s.toml"), store=store)   # resumes: nothing to do
    >>> first.computed, again.computed, again.done_before
    (2, 0, 2)
    """
    from .. import __version__

    start = time.perf_counter()
    points = study.points(quick=quick)
    if fresh:  # this study's rows only: a store may be shared with other studies
        store.clear((p.key, p.method) for p in points)
    done = store.done()
    old = store.versions() - {__version__}
    if old and not fresh:
        warnings.warn(
            f"{store.path}: rows written by rrm-theory {', '.join(sorted(old))} are kept; this is {__version__} "
            "(use --fresh to recompute everything)",
            RuntimeWarning,
            stacklevel=2,
        )
    todo = [p for p in points if (p.key, p.method) not in done]
    before = len(points) - len(todo)
    executor = executor or InProcess()
    batches = _batches(todo, executor.workers, batch_size)
    computed = declined = 0
    for rows in executor.run(_run_batch, [(b, study.seed) for b in batches]):
        for row in rows:
            store.add(row)
            computed += 1
            declined += "declined" in row["result"]
        if progress is not None:
            progress(before + computed, len(points))
    if computed != len(todo):  # pragma: no cover - every task returns all of its rows
        raise RRMError(f"{study.label}: {len(todo) - computed} points were not computed")
    return RunSummary(len(points), before, computed, declined, time.perf_counter() - start)
