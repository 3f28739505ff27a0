"""The study catalog in sims/: every study loads, validates and runs its [quick] axes; a few
rows equal direct calls of the public API, to the last bit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import rrm_theory
from rrm_theory.cli import main
from rrm_theory.studies import METRIC_COLUMNS, load_study

SIMS = Path(__file__).resolve().parent.parent / "sims"
STUDIES = sorted(SIMS.glob("*.toml"))

# the columns each method (analysis) or theory kind adds to the table, and those that must be filled
_BOUNDED = [f"{m}_{end}" for m in ("false_accept", "false_reject", "error") for end in ("lower", "upper")]
COLUMNS = {
    "exact": (list(METRIC_COLUMNS), ["p_good", "error"]),
    "monte-carlo": (list(METRIC_COLUMNS) + [f"{m}_{end}" for m in METRIC_COLUMNS for end in ("lo", "hi")]
                    + ["samples"], ["p_good", "error", "error_lo", "error_hi", "samples"]),  # fmt: skip
    "bounds": (_BOUNDED + ["bounds_method"], ["error_lower", "error_upper", "bounds_method"]),
    "robustness": (["corruptions", "worst_false_accept"], ["corruptions", "worst_false_accept"]),
    "depth": (["errors", "max_depth", "unbounded", "target", "model"], ["errors", "unbounded"]),
    "levels": (["assisted", "unaided", "helper", "fixed_points", "stable", "max_level", "unbounded", "model"],
               ["assisted", "unaided", "helper", "fixed_points", "stable"]),  # fmt: skip
    "nso": (["optimal_steps", "success", "success_by_steps", "game", "gap"], ["optimal_steps", "success",
                                                                             "success_by_steps"]),  # fmt: skip
}


def test_the_catalog_is_there():
    names = {p.stem for p in STUDIES}
    assert {"depth-by-rule", "noise-phase", "deception-depth", "blind-spots", "audits", "influence",
            "adversary-catalog", "training-levels", "nested-oversight"} <= names  # fmt: skip
    readme = (SIMS / "README.md").read_text()
    for path in STUDIES:
        assert f"[{path.name}]({path.name})" in readme, f"sims/README.md does not list {path.name}"
    ignored = (SIMS.parent / ".gitignore").read_text().split()
    assert "sims/*.sqlite*" in ignored, "the studies' results stores are not to be committed"


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_study_loads_and_its_points_validate(path):
    text = path.read_text()
    assert text.startswith("# "), "a study opens with its comment block (question, numbers, size)"
    assert "Size and time" in text and "scale up" in text
    study = load_study(path)
    assert study.name == path.stem
    assert study.quick, "every catalog study has a [quick] table"
    full, quick = study.points(), study.points(quick=True)
    assert 0 < len(quick) < len(full)
    assert len({(p.key, p.method) for p in full}) == len(full)


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.stem)
def test_quick_run_exports_a_full_table(path, tmp_path):
    study = load_study(path)
    csv = tmp_path / f"{study.name}.csv"
    argv = ["sim", str(path), "--quick", "--store", str(tmp_path / f"{study.name}.sqlite"), "--export", str(csv),
            "--quiet", "--workers", "1"]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(csv)
    points = study.points(quick=True)
    axes = [p for dim in study.axes for p, _ in dim]
    for column in ["study", *axes, "method", "version", "key"]:
        assert column in table.columns, column
    assert "declined" not in table.columns or table["declined"].isna().all()
    assert set(table["key"]) == {p.key for p in points}
    for method, rows in table.groupby("method"):
        columns, filled = COLUMNS[method]
        missing = [c for c in columns if c not in table.columns]
        assert not missing, f"{method}: no column {missing}"
        empty = [c for c in filled if rows[c].isna().any()]
        assert not empty, f"{method}: empty {empty}"
    if study.kind == "analysis":
        budget = study.options.get("robustness", {}).get("budget", 3)
        per_point = {"robustness": budget + 1}
        assert len(table) == sum(per_point.get(p.method, 1) for p in points)
    else:
        assert len(table) == len(points)


def _run(name, tmp_path):
    path = SIMS / f"{name}.toml"
    study = load_study(path)
    csv = tmp_path / f"{name}.csv"
    argv = ["sim", str(path), "--quick", "--store", str(tmp_path / f"{name}.sqlite"), "--export", str(csv),
            "--quiet", "--workers", "1"]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(csv)
    return study, study.points(quick=True), table


def _row(table, point):
    rows = table[(table["key"] == point.key) & (table["method"] == point.method)]
    assert len(rows) == 1
    return rows.iloc[0]


def _same(stored, direct):
    """A CSV cell (NaN for empty) against the API's number (None for null), bit for bit."""
    if direct is None:
        return isinstance(stored, float) and math.isnan(stored)
    return stored == direct


def test_depth_by_rule_rows_are_the_public_api(tmp_path):
    study, points, table = _run("depth-by-rule", tmp_path)
    seen = set()
    for point in points:
        tree = rrm_theory.from_dict(point.spec)
        row = _row(table, point)
        seen.add(point.method)
        if point.method == "exact":
            root = rrm_theory.exact_analysis(tree).root.to_dict()
            for m in METRIC_COLUMNS:
                assert _same(row[m], root[m]), (point.values, m)
        elif point.method == "monte-carlo":
            samples = study.options["monte-carlo"]["samples"]
            result = rrm_theory.monte_carlo(tree, samples=samples, rng=point.seed_sequence(study.seed),
                                            workers=1).to_dict()  # fmt: skip
            assert row["samples"] == result["samples"] == samples
            for m in METRIC_COLUMNS:
                estimate = result[m]
                assert _same(row[m], None if estimate is None else estimate["estimate"]), (point.values, m)
                assert _same(row[f"{m}_lo"], None if estimate is None else estimate["ci"][0])
                assert _same(row[f"{m}_hi"], None if estimate is None else estimate["ci"][1])
        else:
            bounds = rrm_theory.bounds(tree).to_dict()
            assert row["bounds_method"] == bounds["method"]
            for m in ("false_accept", "false_reject", "error"):
                lower, upper = (None, None) if bounds[m] is None else bounds[m]
                assert _same(row[f"{m}_lower"], lower) and _same(row[f"{m}_upper"], upper), (point.values, m)
    assert seen == {"exact", "monte-carlo", "bounds"}


def test_blind_spots_correlated_independent_and_bounds(tmp_path):
    study, points, table = _run("blind-spots", tmp_path)
    for point in points:
        if point.method == "exact":
            root = rrm_theory.exact_analysis(rrm_theory.from_dict(point.spec)).root.to_dict()
            assert _same(_row(table, point)["false_accept"], root["false_accept"])
    table["p"] = table["blind_spots.g.probability"] + table["generate.leaves.deception"]
    exact = table[table["method"] == "exact"].set_index(["generate.branching", "p", "description"])
    bounds = table[table["method"] == "bounds"].set_index(["generate.branching", "p", "description"])
    for (n, p, model), row in exact.iterrows():
        band = bounds.loc[(n, p, model)]
        # both models have the same marginals: one band, and it holds both exact values
        other = bounds.loc[(n, p, "independent" if model == "correlated" else "correlated")]
        assert band["false_accept_lower"] == pytest.approx(other["false_accept_lower"], abs=1e-12)
        assert band["false_accept_upper"] == pytest.approx(other["false_accept_upper"], abs=1e-12)
        assert band["false_accept_lower"] - 1e-12 <= row["false_accept"] <= band["false_accept_upper"] + 1e-12
        if model == "correlated":
            assert row["false_accept"] >= p  # the shared blind spot alone makes the committee approve
        if n == 1:  # a group of one is a deception rate
            assert row["false_accept"] == pytest.approx(exact.loc[(n, p, "independent")]["false_accept"], abs=1e-15)


def test_noise_phase_rows_are_the_per_level_map(tmp_path):
    from rrm_theory import homogeneous as hom

    study, points, table = _run("noise-phase", tmp_path)
    for point in points:
        row = _row(table, point)
        errors = json.loads(row["errors"])
        o = point.parameters
        assert len(errors) == o["max_depth"] + 1
        model = hom.Homogeneous.symmetric("majority", o["branching"], o["error"], prior=1.0)
        direct = [m["error"] for _, m in zip(range(o["max_depth"] + 1), hom.iter_metrics_by_depth(model))]
        assert errors == direct
        for depth in range(4):  # the map is the exact analysis of the generated tree
            tree = rrm_theory.balanced(depth, o["branching"], rule="majority", prior=1.0, error=o["error"])
            exact = rrm_theory.exact_analysis(tree).root.error
            assert errors[depth] == pytest.approx(exact, rel=1e-12, abs=1e-15)


def test_theory_rows_are_the_public_api(tmp_path):
    from rrm_theory.levels import TrainingModel, trajectory
    from rrm_theory.nso import GAMES, optimal_steps

    _, points, table = _run("nested-oversight", tmp_path)
    for point in points:
        row, o = _row(table, point), point.parameters
        result = optimal_steps(GAMES[o["game"]], o["gap"], max_steps=o["max_steps"])
        assert row["success"] == result.success and row["optimal_steps"] == result.optimal_steps
        assert json.loads(row["success_by_steps"]) == list(result.success_by_steps)
    _, points, table = _run("training-levels", tmp_path)
    for point in points:
        row, o = _row(table, point), point.parameters
        model = TrainingModel(human_error=o["human_error"], difficulty=o["difficulty"], helpers=o["helpers"],
                              amplification=o["amplification"], gap=o["gap"], combine_error=o["combine_error"],
                              rule=o["rule"], human_vote=not o["no_human_vote"])  # fmt: skip
        assert json.loads(row["assisted"]) == trajectory(model, o["levels"])["assisted"]


def test_adversary_curves_start_at_the_exact_false_accept(tmp_path):
    study, points, table = _run("adversary-catalog", tmp_path)
    budget = study.options["robustness"]["budget"]
    for point in points:
        tree = rrm_theory.from_dict(point.spec)
        rows = table[(table["key"] == point.key) & (table["method"] == point.method)]
        if point.method == "robustness":
            curve = rrm_theory.robustness(tree, budget=budget).to_dict()["worst_false_accept"]
            assert list(rows.sort_values("corruptions")["worst_false_accept"]) == curve
            assert all(a <= b + 1e-15 for a, b in zip(curve, curve[1:]))
            exact = rrm_theory.exact_analysis(tree).root.false_accept
            assert curve[0] == pytest.approx(exact, rel=1e-12)
