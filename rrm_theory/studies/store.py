"""The results database of a study: SQLite, one row per finished (point, method).

Each row is committed in its own transaction as soon as its point finishes, so a
run killed at any moment (SIGKILL included) keeps every row it committed, and a
resumed run skips them: nothing is lost, nothing repeated. The database runs in
WAL mode; a second run on the same store while one holds it is refused with a
clear message (an exclusive lock on ``<store>.lock``, released by the kernel when
the holder dies, so a killed run never leaves a stale lock).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import RRMError

__all__ = ["Store", "Row", "StoreBusy"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    study TEXT NOT NULL,
    kind TEXT NOT NULL,
    axes TEXT NOT NULL,
    result TEXT NOT NULL,
    version TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    wall REAL NOT NULL,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    PRIMARY KEY (key, method)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_FORMAT = "1"  # the table layout; bumped if a column changes meaning


class StoreBusy(RRMError):
    """Another run holds the store.

    Raised by :class:`Store` (with ``lock=True``) while another open store holds
    the lock on ``<store>.lock``, in this process or another.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.sqlite"
    >>> with Store(path):
    ...     try:
    ...         Store(path)
    ...     except StoreBusy:
    ...         print("busy")
    busy
    """


#: One stored row: ``key``, ``method``, ``study``, ``kind``, ``axes``, ``result``, ``version``,
#: ``spec_hash``, ``seed``, ``wall``, ``started``, ``finished``.
Row = dict[str, Any]


class Store:
    """A study's SQLite store (``with Store(path) as store: ...``).

    Parameters
    ----------
    path : str or pathlib.Path
        The database file (created with its folder if missing).
    lock : bool, keyword-only
        Hold the store exclusively (a run does; reading results does not need to).

    Raises
    ------
    StoreBusy
        With ``lock=True``, while another run holds the store.
    RRMError
        If the file is not a results store, or one of another format.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.sqlite"
    >>> with Store(path) as store:
    ...     store.done(), store.versions()
    (set(), set())
    """

    def __init__(self, path: str | Path, *, lock: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = None
        if lock:
            self._acquire()
        try:
            self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
            self.db.executescript(_SCHEMA)
            found = self.db.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if found is None:
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (_FORMAT,))
            elif found[0] != _FORMAT:
                raise RRMError(f"{self.path}: a results store of format {found[0]}, not {_FORMAT}; use --fresh")
        except sqlite3.DatabaseError as exc:
            self.close()
            raise RRMError(f"{self.path}: not a results store ({exc}); use another --store or --fresh") from None

    def _acquire(self) -> None:
        lock_path = Path(str(self.path) + ".lock")
        handle = open(lock_path, "a+")
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: SQLite's own locking still protects the rows
            pass
        except OSError:
            handle.close()
            raise StoreBusy(
                f"{self.path}: another run is using this store; wait for it to finish, or give --store PATH"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database and release the lock (closing twice is harmless)."""
        db = getattr(self, "db", None)
        if db is not None:
            db.close()
            self.db = None  # type: ignore[assignment]
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None

    def done(self) -> set[tuple[str, str]]:
        """The (key, method) pairs already stored."""
        return {(k, m) for k, m in self.db.execute("SELECT key, method FROM results")}

    def versions(self) -> set[str]:
        """The package versions that wrote the stored rows."""
        return {v for (v,) in self.db.execute("SELECT DISTINCT version FROM results")}

    def add(self, row: Row) -> None:
        """Store one finished (point, method), in its own transaction (a duplicate is ignored)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row["key"], row["method"], row["study"], row["kind"], json.dumps(row["axes"]),
                 json.dumps(row["result"], allow_nan=False), row["version"], row["spec_hash"], row["seed"],
                 row["wall"], row["started"], row["finished"]),  # fmt: skip
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def clear(self, keys: Iterable[tuple[str, str]] | None = None) -> None:
        """Delete the rows of these (key, method) pairs, or every row (``--fresh``)."""
        if keys is None:
            self.db.execute("DELETE FROM results")
            return
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany("DELETE FROM results WHERE key = ? AND method = ?", list(keys))
        self.db.execute("COMMIT")

    def rows(self, keys: Iterable[tuple[str, str]] | None = None) -> Iterator[Row]:
        """Stored rows (all, or those of the given (key, method) pairs), in insertion order."""
        wanted = None if keys is None else set(keys)
        query = "SELECT key, method, study, kind, axes, result, version, spec_hash, seed, wall, started, finished " \
                "FROM results ORDER BY rowid"  # fmt: skip
        for key, method, study, kind, axes, result, version, spec_hash, seed, wall, started, finished in \
                self.db.execute(query):  # fmt: skip
            if wanted is not None and (key, method) not in wanted:
                continue
            yield {"key": key, "method": method, "study": study, "kind": kind, "axes": json.loads(axes),
                   "result": json.loads(result), "version": version, "spec_hash": spec_hash, "seed": seed,
                   "wall": wall, "started": started, "finished": finished}  # fmt: skip
