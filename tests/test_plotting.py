"""Plotting functions draw exactly their input (read back from the returned Axes)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import rrm_theory as rrm  # noqa: E402
from rrm_theory import plotting  # noqa: E402
from rrm_theory.strategies import trees  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_importing_rrm_theory_does_not_import_matplotlib():
    code = "import rrm_theory, sys; rrm_theory.exact_analysis; print('matplotlib' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


probabilities = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=30)
@given(st.lists(st.tuples(probabilities, probabilities, probabilities), min_size=1, max_size=8), st.booleans())
def test_depth_curve_draws_its_table(values, with_series):
    plt.close("all")
    rows = []
    for depth, (fa, lo, hi) in enumerate(values):
        lo, hi = min(lo, fa), max(hi, fa)
        for series in (["a", "b"] if with_series else ["a"]):
            rows.append({"generate.depth": depth, "rule": series, "method": "exact", "false_accept": fa})
            rows.append({"generate.depth": depth, "rule": series, "method": "monte-carlo", "false_accept": fa,
                         "false_accept_lo": lo, "false_accept_hi": hi})
            rows.append({"generate.depth": depth, "rule": series, "method": "bounds",
                         "false_accept_lower": lo, "false_accept_upper": hi})  # fmt: skip
    table = pd.DataFrame(rows)
    fig, ax = plt.subplots()
    plotting.depth_curve(table, series="rule" if with_series else None, ax=ax)
    exact = [v[0] for v in values]
    lines = [line for line in ax.lines if len(line.get_xdata()) and line.get_linestyle() != "None"]
    assert [line.get_ydata().tolist() for line in lines[:1]] == [exact]
    bands = [c for c in ax.collections if c.__class__.__name__ in ("FillBetweenPolyCollection", "PolyCollection")]
    assert len(bands) == (2 if with_series else 1)
    bars = [c for c in ax.containers if c.__class__.__name__ == "ErrorbarContainer"]
    data_line = bars[0].lines[0]
    assert data_line.get_ydata().tolist() == exact
    segments = bars[0].lines[2][0].get_segments()
    ends = [e for s in segments for e in (float(s[0][1]), float(s[1][1]))]
    want = [e for fa, lo, hi in values for e in (min(lo, fa), max(hi, fa))]
    assert ends == pytest.approx(want, abs=1e-12)  # drawn as y -+ err, so to rounding
    assert ax.get_ylabel() == "P(approve | bad work)"


@settings(max_examples=20)
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_phase_diagram_cells_are_the_table(nx, ny, data):
    plt.close("all")
    values = data.draw(st.lists(probabilities, min_size=nx * ny, max_size=nx * ny))
    xs, ys = np.linspace(0.01, 0.3, nx), np.arange(ny)
    table = pd.DataFrame([{"e": x, "d": y, "error": values[j * nx + i]} for j, y in enumerate(ys)
                          for i, x in enumerate(xs)])  # fmt: skip
    fig, ax = plt.subplots()
    plotting.phase_diagram(table, x="e", y="d", threshold=1 / 6, ax=ax)
    assert np.asarray(ax.collections[0].get_array()).ravel().tolist() == values
    assert [line.get_xdata()[0] for line in ax.lines] == [1 / 6, 1 / 6]  # the threshold, at its exact value


def test_adversary_curve_draws_the_robustness_curve():
    tree = rrm.load_spec("models/chip-design.toml")
    result = rrm.robustness(tree, budget=3)
    fig, ax = plt.subplots()
    plotting.adversary_curve({"chip": result, "again": result}, ax=ax)
    assert [line.get_ydata().tolist() for line in ax.lines] == [result.worst_false_accept] * 2
    assert [line.get_xdata().tolist() for line in ax.lines][0] == [0, 1, 2, 3]
    table = pd.DataFrame({"model": ["m"] * 4, "method": "robustness", "corruptions": [0, 1, 2, 3],
                          "worst_false_accept": result.worst_false_accept})  # fmt: skip
    fig, ax = plt.subplots()
    assert plotting.adversary_curve(table, ax=ax).lines[0].get_ydata().tolist() == result.worst_false_accept


def test_importance_chart_bars_are_the_rates():
    ranked = rrm.importance(rrm.load_spec("models/fantasy-novel.toml"))
    fig, ax = plt.subplots()
    plotting.importance_chart(ranked, top=5, ax=ax)
    perfect, failed = ax.containers[:2]
    base = ranked.root.false_accept
    for bar, record in zip(perfect, ranked.top(5)):
        assert bar.get_x() == 0 and base + bar.get_width() == pytest.approx(record.false_accept_if_perfect)
    for bar, record in zip(failed, ranked.top(5)):
        assert base + bar.get_width() == pytest.approx(record.false_accept_if_failed)


@settings(max_examples=30)
@given(trees(max_nodes=12, features=["blind_spots"]))
def test_tree_diagram_colours_every_node_by_its_metric(tree):
    plt.close("all")
    fig, ax = plt.subplots()
    plotting.tree_diagram(tree, ax=ax)
    want = [rrm.exact_analysis(tree).per_node[v].false_accept for v in tree]
    got = np.ma.filled(np.ma.asarray(ax.collections[1].get_array(), dtype=float), np.nan).tolist()
    assert [None if np.isnan(g) else g for g in got] == want
    pos = plotting.tree_layout(tree)
    for v in tree:  # a parent is centred over its children, one level above them
        kids = list(tree.successors(v))
        if kids:
            assert pos[v][0] == (pos[kids[0]][0] + pos[kids[-1]][0]) / 2 and pos[kids[0]][1] == pos[v][1] - 1
    leaves = sorted(pos[v][0] for v in tree if not tree.out_degree(v))
    assert leaves == list(range(len(leaves)))  # no two leaves share a place


def test_levels_trajectory_draws_the_trajectory_and_fixed_points():
    from rrm_theory import levels

    model = levels.TrainingModel(human_error=0.1, difficulty=0.95, helpers=3, amplification=2.0, gap=0.05)
    fig, ax = plt.subplots()
    plotting.levels_trajectory(model, levels=12, ax=ax)
    path = levels.trajectory(model, 12)
    assert ax.lines[0].get_ydata().tolist() == path["assisted"] and ax.lines[1].get_ydata().tolist() == path["unaided"]
    inside = [x for x, _ in levels.level_fixed_points(model) if 0 < x < 0.5]
    assert [line.get_ydata()[0] for line in ax.lines[2:]] == inside


def test_nso_panels_equal_the_closed_form():
    gaps = [0, 250, 500, 1000, 1500]
    table = plotting.nso_table(gaps)
    axes = plotting.nso_panels(table)
    for line, game in zip(axes[0].lines, plotting.oversight.GAME_ORDER):
        want = [rrm.nso.optimal_steps(rrm.nso.GAMES[game], g).success for g in gaps]
        assert line.get_label() == game and line.get_ydata().tolist() == want
    steps = [line.get_ydata().tolist() for line in axes[1].lines]
    assert steps[0] == [rrm.nso.optimal_steps(rrm.nso.GAMES["mafia"], g).optimal_steps for g in gaps]


def test_paper_style_sizes_fonts_and_no_titles(tmp_path):
    with plotting.paper_style(columns=1):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        plotting.save(fig, tmp_path / "a.pdf")
        plotting.save(fig, tmp_path / "b.pdf")
        plotting.save(fig, tmp_path / "a.png")
        plotting.save(fig, tmp_path / "b.png")
    assert fig.get_size_inches()[0] == pytest.approx(3.4) and ax.get_title() == ""
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert b"/Subtype /TrueType" in (tmp_path / "a.pdf").read_bytes() or b"FontFile2" in (tmp_path / "a.pdf").read_bytes()
    with pytest.raises(ValueError, match="columns=3"):
        with plotting.paper_style(columns=3):
            pass
