"""Executors: Monte Carlo and studies on a Dask cluster (docs/studies.md section 5).

The tests start their own scheduler and workers (``dask scheduler`` / ``dask worker``
on 127.0.0.1, free ports; workers with a nanny as by default, or without one where a
worker is killed) and stop them by process id; the numbers on a cluster must be those
of one local worker, bit for bit, even when a worker is killed mid-run.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Iterator

import pytest

import rrm_theory as rrm
from rrm_theory.cli import main
from rrm_theory.errors import RRMError
from rrm_theory.studies import Dask, InProcess, Processes, Store, load_study, results, run_study

ROOT = Path(__file__).resolve().parents[1]
TIMING = ("wall", "started", "finished")
STUDY = """
name = "noise"
seed = 7
methods = ["exact", "monte-carlo"]
[options.monte-carlo]
samples = 100000
[model]
defaults = { prior = 0.5, error = 0.1 }
generate = { shape = "balanced", depth = 2, branching = 3, rule = "majority" }
[vary]
"generate.internal.error" = { start = 0.0, stop = 0.19, num = 20 }
"""  # 20 values x 2 methods: 40 points


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(part: str) -> list[str]:
    """The ``dask scheduler`` / ``dask worker`` command of this environment."""
    exe = Path(sys.executable).with_name("dask")
    return [str(exe), part] if exe.exists() else [sys.executable, "-m", f"distributed.cli.dask_{part}"]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class _Cluster:
    """A scheduler and workers in subprocesses on loopback; every one stopped by pid."""

    def __init__(self, folder: Path, *, nanny: bool):
        self.folder, self.nanny = folder, nanny
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []

    def _start(self, command: list[str], log: str) -> subprocess.Popen:
        with open(self.folder / log, "wb") as out:
            process = subprocess.Popen(command, cwd=self.folder, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self, workers: int) -> None:
        port = self.address.rsplit(":", 1)[1]
        self._start(_dask("scheduler") + ["--host", "127.0.0.1", "--port", port, "--no-dashboard",
                                          "--dashboard-address", "127.0.0.1:0"], "scheduler.log")  # fmt: skip
        for _ in range(workers):
            self.add_worker()
        self.wait(workers)

    def add_worker(self) -> subprocess.Popen:
        n = len(self.workers)
        worker = self._start(_dask("worker") + [self.address, "--nthreads", "1", "--nworkers", "1",
                                                "--nanny" if self.nanny else "--no-nanny", "--no-dashboard",
                                                "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
                                                "--death-timeout", "60", "--local-directory", str(self.folder)],
                             f"worker-{n}.log")  # fmt: skip
        self.workers.append(worker)
        return worker

    def wait(self, workers: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=30)

    def stop(self) -> None:
        for process in reversed(self.processes):
            _stop(process)


@contextmanager
def _cluster(folder: Path, workers: int = 2, *, nanny: bool = True) -> Iterator[_Cluster]:
    """A cluster of ``workers`` one-thread workers (with a nanny each, as ``dask worker`` runs them by default;
    without, the pid of a worker process is that of the ``dask worker`` we started)."""
    pytest.importorskip("distributed")
    folder.mkdir(parents=True, exist_ok=True)
    cluster = _Cluster(folder, nanny=nanny)
    try:
        cluster.start(workers)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Cluster]:
    with _cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


@pytest.fixture(scope="module")
def study_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("study") / "noise.toml"
    path.write_text(STUDY)
    return path


def _sim(study: Path, folder: Path, *options: str) -> tuple[list[dict], str]:
    """Run ``rrm-theory sim`` into a fresh store; the stored rows (without timing) and the exported CSV."""
    store, table = folder / "store.sqlite", folder / "table.csv"
    folder.mkdir(parents=True, exist_ok=True)
    assert main(["sim", str(study), "--store", str(store), "--export", str(table), "--quiet", *options]) == 0
    return _rows(store), table.read_text()


def _rows(store: Path) -> list[dict]:
    with Store(store, lock=False) as s:
        rows = [{k: v for k, v in row.items() if k not in TIMING} for row in s.rows()]
    return sorted(rows, key=lambda r: (r["key"], r["method"]))


@pytest.fixture(scope="module")
def reference(study_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], str]:
    """The study on one local worker, in this process."""
    rows, table = _sim(study_file, tmp_path_factory.mktemp("one"), "--workers", "1")
    assert len(rows) == 40 == len({(r["key"], r["method"]) for r in rows})
    return rows, table


# Monte Carlo through an executor -----------------------------------------------------------------

MC_RUNS = [
    dict(samples=70_001),  # five chunks, the last one cut
    dict(samples=70_001, batch_size=1),
    dict(samples=1000, ci_width=0.01, batch_size=5000),  # rounds of a precision target
    dict(samples=1000, ci_width=0.001, max_samples=100_003),  # stopped by the hard cap, mid-chunk
]


def _tree() -> object:
    return rrm.balanced(2, 3, rule="majority", error=0.1, prior=0.5)


def _released(executor: Dask) -> None:
    deadline = time.monotonic() + 10  # a release reaches the scheduler asynchronously
    while executor.client.who_has() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert executor.client.who_has() == {}


@pytest.mark.parametrize("options", MC_RUNS)
def test_monte_carlo_on_dask_equals_one_worker(cluster, options):
    want = rrm.monte_carlo(_tree(), rng=99, workers=1, **options)
    with Dask(cluster.address, 2) as executor:
        got = rrm.monte_carlo(_tree(), rng=99, executor=executor, **options)
        _released(executor)  # the shared tree and the results: nothing left on the workers
    assert got.counts.tolist() == want.counts.tolist()
    assert (got.samples, got.seed, got.reached) == (want.samples, want.seed, want.reached)
    assert got.to_dict(per_node=True) == want.to_dict(per_node=True)


@pytest.mark.parametrize("executor", [InProcess, lambda: Processes(2)], ids=["in-process", "processes"])
def test_monte_carlo_on_local_executors_equals_one_worker(executor):
    for options in MC_RUNS[1:3]:
        want = rrm.monte_carlo(_tree(), rng=5, workers=1, **options)
        with executor() as ex:
            got = rrm.monte_carlo(_tree(), rng=5, executor=ex, workers=3, **options)  # the executor wins
        assert got.counts.tolist() == want.counts.tolist() and got.samples == want.samples


@pytest.mark.parametrize("bad", [3, "tcp://127.0.0.1:1", object()])
def test_monte_carlo_rejects_what_is_not_an_executor(bad):
    with pytest.raises(TypeError, match="executor must be an rrm_theory.studies Executor"):
        rrm.monte_carlo(_tree(), samples=10, rng=1, executor=bad)


def test_shared_objects_reach_the_tasks_once(cluster):
    with Dask(cluster.address, 2) as executor:
        handle = executor.share([1, 2, 3])
        assert len(executor.client.who_has(handle)[handle.key]) == 2  # on both workers before any task
        got = list(executor.run(itemgetter(0), [(handle, k) for k in range(4)]))  # a handle inside a task
        assert got == [[1, 2, 3]] * 4
        executor.unshare(handle)
        _released(executor)


def test_analyze_on_dask_equals_one_worker(cluster, tmp_path, capsys):
    spec = tmp_path / "tree.toml"
    spec.write_text('[defaults]\nprior = 0.5\nerror = 0.1\n[generate]\nshape = "balanced"\ndepth = 2\n'
                    'branching = 3\nrule = "majority"\n')  # fmt: skip
    runs = {}
    for where in (["--workers", "1"], ["--scheduler", cluster.address]):
        argv = ["analyze", str(spec), "--method", "monte-carlo", "--seed", "3", "--samples", "60000", "--json"]
        assert main(argv + where) == 0
        runs[where[0]] = capsys.readouterr().out
    assert runs["--workers"] == runs["--scheduler"] and '"samples": 60000' in runs["--workers"]


# Studies on a cluster ----------------------------------------------------------------------------


def test_sim_on_dask_equals_one_worker(cluster, study_file, reference, tmp_path):
    assert _sim(study_file, tmp_path, "--scheduler", cluster.address) == reference


def test_sim_on_a_local_cluster_equals_one_worker(study_file, reference, tmp_path):
    pytest.importorskip("distributed")
    assert _sim(study_file, tmp_path, "--scheduler", "local", "--workers", "2") == reference


def test_a_worker_killed_mid_run_loses_and_repeats_nothing(study_file, reference, tmp_path):
    with _cluster(tmp_path / "cluster", nanny=False) as c:  # no nanny to restart the killed worker
        with Dask(c.address, 2) as executor:
            pids = executor.client.run(os.getpid)  # worker address -> pid
            victim = next(a for a, pid in pids.items() if pid == c.workers[1].pid)
            killed = []

            def kill_when_busy(done: int, total: int) -> None:
                if not killed and done >= 6 and executor.client.processing([victim])[victim]:
                    os.kill(c.workers[1].pid, signal.SIGKILL)  # with a task in flight
                    killed.append(done)

            study = load_study(study_file)
            with Store(tmp_path / "store.sqlite") as store:
                summary = run_study(study, store=store, executor=executor, progress=kill_when_busy)
                again = run_study(study, store=store, executor=executor)
                table = results(store, study)
        assert killed and killed[0] < 40, "the worker was not killed mid-run"
        assert c.workers[1].wait(timeout=5) == -signal.SIGKILL
    assert (summary.total, summary.computed, again.computed, again.done_before) == (40, 40, 0, 40)
    assert _rows(tmp_path / "store.sqlite") == reference[0]  # every point once, the same numbers
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT key || method) FROM results").fetchone() == (40, 40)
    table.to_csv(tmp_path / "table.csv", index=False)
    assert (tmp_path / "table.csv").read_text() == reference[1]


def test_a_lost_scheduler_is_an_error_that_keeps_what_finished(study_file, reference, tmp_path):
    import dask

    quick = {"distributed.comm.timeouts.connect": "2s"}  # the client's attempts to reconnect
    with _cluster(tmp_path / "cluster", 1, nanny=False) as c, dask.config.set(quick):
        start = time.perf_counter()
        with pytest.raises(RRMError, match="a task was cancelled or its result lost"):
            with Dask(c.address, 1) as executor, Store(tmp_path / "store.sqlite") as store:
                def kill_scheduler(done: int, total: int) -> None:
                    if c.processes[0].poll() is None:
                        os.kill(c.processes[0].pid, signal.SIGKILL)

                run_study(load_study(study_file), store=store, executor=executor, progress=kill_scheduler)
        assert time.perf_counter() - start < 20  # neither the run nor closing the client hangs
    kept = _rows(tmp_path / "store.sqlite")
    assert 0 < len(kept) < 40 and all(row in reference[0] for row in kept)


# Errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["sim", "analyze"])
def test_an_unreachable_scheduler_is_one_line_and_status_1(command, study_file, tmp_path):
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    if command == "sim":
        argv = ["sim", str(study_file), "--store", str(tmp_path / "s.sqlite"), "--scheduler", address]
    else:
        spec = tmp_path / "tree.toml"
        spec.write_text('[generate]\nshape = "chain"\ndepth = 2\n[defaults]\nprior = 0.5\nerror = 0.1\n')
        argv = ["analyze", str(spec), "--method", "monte-carlo", "--samples", "1000", "--scheduler", address]
    env = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rrm_theory", *argv], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert time.perf_counter() - start < 20
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [f"rrm-theory: cannot reach the Dask scheduler at {address}: "
                                        f"Timed out trying to connect to {address} after 1 s"]  # fmt: skip


def test_a_malformed_address_is_an_rrm_error():
    pytest.importorskip("distributed")
    with pytest.raises(RRMError, match="cannot reach the Dask scheduler at http://x:1: unknown address scheme"):
        Dask("http://x:1", 1)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ModuleNotFoundError
    with pytest.raises(RRMError, match=r"pip install 'rrm-theory\[dask\]'"):
        Dask("local", 1)
