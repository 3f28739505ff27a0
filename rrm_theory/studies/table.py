"""A study's results as one tidy table: a row per observation, a column per variable.

Columns: ``study``, one per axis (named by its path), ``method``, then the five
metrics of ``analyze --json`` (``p_good``, ``error``, ``false_accept``,
``false_reject``, ``youden``). Monte Carlo adds ``<metric>_lo`` and ``<metric>_hi``
(interval ends); bounds fill ``<metric>_lower`` and ``<metric>_upper`` for
``false_accept``, ``false_reject`` and ``error`` (and ``bounds_method``);
``robustness`` has one row per number of corruptions (``corruptions``,
``worst_false_accept``); ``importance`` one row per node (``node``, ``rank`` and
its measures); theory studies have their command's JSON keys (lists as JSON
text). ``declined`` holds the reason a method declined a point; ``version`` the
package version that computed the row; ``key`` the point's hash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import RRMError
from .store import Store
from .study import Study

__all__ = ["results", "export", "METRIC_COLUMNS"]

#: The metric columns every analysis table has, in order (those of ``analyze --json``).
METRIC_COLUMNS = ("p_good", "error", "false_accept", "false_reject", "youden")
_BOUNDED = ("false_accept", "false_reject", "error")
_IMPORTANCE = ("false_accept_if_perfect", "false_reject_if_perfect", "false_accept_if_failed",
               "risk_reduction_worth", "risk_achievement_worth")  # fmt: skip


def _records(row: dict[str, Any]) -> list[dict[str, Any]]:
    base: dict[str, Any] = {"study": row["study"]}
    for path, value in row["axes"]:
        base[path] = value if not isinstance(value, (list, dict)) else json.dumps(value)
    base["method"] = row["method"]
    tail = {"version": row["version"], "key": row["key"]}
    result = row["result"]
    if "declined" in result:
        return [base | {"declined": result["declined"]} | tail]
    method = row["method"]
    if row["kind"] != "analysis":
        flat = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in result.items()}
        return [base | flat | tail]
    if method == "exact":
        return [base | result["root"] | tail]
    if method == "monte-carlo":
        out = dict(base)
        for m in METRIC_COLUMNS:
            e = result.get(m)
            out[m] = None if e is None else e["estimate"]
            out[f"{m}_lo"], out[f"{m}_hi"] = (None, None) if e is None else e["ci"]
        out["samples"] = result["samples"]
        return [out | tail]
    if method == "bounds":
        out = dict(base)
        for m in _BOUNDED:
            out[f"{m}_lower"], out[f"{m}_upper"] = (None, None) if result[m] is None else result[m]
        out["bounds_method"] = result["method"]
        return [out | tail]
    if method == "robustness":
        curve = result["worst_false_accept"] or []
        return [base | {"corruptions": t, "worst_false_accept": x} | tail for t, x in enumerate(curve)]
    if method == "importance":
        records = []
        for rank, node in enumerate(result["nodes"], start=1):
            out = base | {"node": node["node"], "rank": rank, "importance_method": result["method"]}
            out |= {k: node[k] for k in _IMPORTANCE}
            out["birnbaum_false_accept"] = node["d_false_accept"]["false_accept"]
            records.append(out | tail)
        return records
    raise RRMError(f"unknown method {method!r} in the store")  # pragma: no cover


def results(store: Store | str | Path, study: Study | None = None, *, quick: bool = False) -> Any:
    """The stored results as a pandas DataFrame (the columns of the module docstring).

    Parameters
    ----------
    store : Store or path
        The results database.
    study : Study, optional
        Only this study's points (in its grid order); default every stored row.
    quick : bool, keyword-only
        With ``study``: its ``[quick]`` points.

    Returns
    -------
    pandas.DataFrame
        One row per observation; the stored points that ``study`` lacks are left out.

    Raises
    ------
    RRMError
        If ``store`` is a path to a file that is not a results store.
    SpecError
        With ``study``, for a point whose spec is not valid.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from rrm_theory.studies import Store, run_study, study_from_dict
    >>> study = study_from_dict({"methods": ["exact"], "vary": {"generate.depth": [1, 2]},
    ...     "model": {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "chain", "depth": 1}}})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.sqlite"
    >>> with Store(path) as store:
    ...     _ = run_study(study, store=store)
    >>> table = results(path, study)
    >>> table["generate.depth"].tolist(), [round(x, 4) for x in table["false_accept"]]
    ([1, 2], [0.18, 0.244])
    """
    import pandas as pd

    own = not isinstance(store, Store)
    handle = Store(store, lock=False) if own else store
    try:
        if study is None:
            rows = list(handle.rows())
        else:
            order = {(p.key, p.method): i for i, p in enumerate(study.points(quick=quick))}
            rows = sorted(handle.rows(order), key=lambda r: order[(r["key"], r["method"])])
    finally:
        if own:
            handle.close()
    records = [record for row in rows for record in _records(row)]
    table = pd.DataFrame.from_records(records)
    if any(row["kind"] == "analysis" for row in rows):  # the five metrics always, right after the method
        for m in METRIC_COLUMNS:
            if m not in table:
                table[m] = None
        columns = list(table.columns)
        lead = columns[: columns.index("method") + 1]
        rest = [c for c in columns if c not in lead and c not in METRIC_COLUMNS]
        table = table[lead + list(METRIC_COLUMNS) + rest]
    for column in ("corruptions", "rank", "samples"):  # whole numbers, with gaps where they do not apply
        if column in table:
            table[column] = table[column].astype("Int64")
    return table


def export(table: Any, path: str | Path) -> None:
    """Write the table as CSV (``.csv``) or Parquet (``.parquet``; needs pyarrow).

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`results`.
    path : str or pathlib.Path
        The file; its suffix names the format. The index is not written.

    Raises
    ------
    RRMError
        For another suffix, or ``.parquet`` without pyarrow.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> export(pd.DataFrame({"depth": [1, 2], "error": [0.18, 0.244]}), path)
    >>> path.read_text().splitlines()
    ['depth,error', '1,0.18', '2,0.244']
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        table.to_csv(path, index=False)
    elif suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ModuleNotFoundError:
            raise RRMError("Parquet needs pyarrow: pip install 'rrm-theory[parquet]'") from None
        table.to_parquet(path, index=False)
    else:
        raise RRMError(f"{path}: export to .csv or .parquet")
