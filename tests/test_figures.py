"""`rrm-theory figures --quick`: every file of the set, decodable, not blank, byte-identical twice;
the NSO data equal the closed form; the phase diagrams' threshold lines sit at the exact thresholds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

import rrm_theory as rrm  # noqa: E402
from rrm_theory.plotting.figure_set import FIGURES, figure_names  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIMS = ROOT / "sims"
GAMES = ["mafia", "debate", "backdoor-code", "wargames"]


def _figures(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rrm_theory", "figures", *argv], capture_output=True, text=True,
                          cwd=cwd, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    for out in (first, second):
        run = _figures("--quick", "--sims", str(SIMS), "--out", str(out), "--workers", "1")
        assert run.returncode == 0, run.stderr
    return first, second


def test_every_file_of_the_set_is_written(quick_runs):
    first, _ = quick_runs
    want = {f"{name}.{ext}" for name in figure_names() for ext in ("pdf", "png", "csv")} | {"README.md"}
    assert {p.name for p in first.iterdir()} == want
    readme = (first / "README.md").read_text()
    for figure in FIGURES:
        assert f"## {figure.name}" in readme and f"]({figure.name}.png)" in readme
        assert figure.question in readme


def test_every_png_decodes_and_is_not_blank(quick_runs):
    first, _ = quick_runs
    for name in figure_names():
        image = mpimg.imread(first / f"{name}.png")
        assert image.ndim == 3 and min(image.shape[:2]) > 300, name  # 300 dpi: a column is over 900 pixels
        pixels = image[..., :3].reshape(-1, 3)
        inked = np.any(pixels < 0.9, axis=1).mean()
        assert 0.01 < inked < 0.9, f"{name}: {inked:.3f} of the pixels carry ink"
        assert (first / f"{name}.pdf").read_bytes().startswith(b"%PDF-")


def test_two_runs_give_identical_bytes(quick_runs):
    first, second = quick_runs
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_pdf_has_no_timestamps_and_embeds_truetype_fonts(quick_runs):
    first, _ = quick_runs
    pdf = (first / "depth-by-rule.pdf").read_bytes()
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # Type 42: TrueType embedded, no Type 3 fonts


def test_nso_csv_is_the_closed_form(quick_runs):
    first, _ = quick_runs
    (csv,) = [p for p in first.glob("*.csv") if "nso" in p.name]
    table = pd.read_csv(csv)
    assert list(table.columns) == ["game", "gap", "optimal_steps", "success"]
    assert set(table["game"]) == set(GAMES)
    assert not table.duplicated(["game", "gap"]).any()
    for row in table.itertuples():
        best = rrm.nso.optimal_steps(rrm.nso.GAMES[row.game], row.gap)
        assert row.optimal_steps == best.optimal_steps
        assert row.success == pytest.approx(best.success, rel=1e-12, abs=1e-15)


def test_csv_is_the_plotted_data_of_the_depth_figure(quick_runs):
    first, _ = quick_runs
    table = pd.read_csv(first / "depth-by-rule.csv")
    assert {"generate.depth", "method", "error", "error_lo", "error_hi"} <= set(table.columns) and len(table) > 0
    assert set(table["method"]) == {"exact", "monte-carlo", "bounds"}
    probabilities = table.filter(regex="^error")
    assert ((probabilities >= 0) & (probabilities <= 1) | probabilities.isna()).all().all()


def _draw(name: str, quick_table: pd.DataFrame) -> list:
    (figure,) = [f for f in FIGURES if f.name == name]
    fig, axes = plt.subplots(*figure.panels, squeeze=False)
    figure.draw(quick_table, axes.ravel(), ROOT)
    return list(axes.ravel())


def _quick_table(study_file: str, tmp_path: Path) -> pd.DataFrame:
    from rrm_theory.studies import Store, load_study, results, run_study

    study = load_study(SIMS / study_file)
    with Store(tmp_path / "s.sqlite") as store:
        run_study(study, store=store, quick=True, progress=None)
        return results(store, study, quick=True)


def _vertical_lines(ax) -> list[float]:
    return [float(line.get_xdata()[0]) for line in ax.lines
            if len(set(np.asarray(line.get_xdata(), float))) == 1 and line.get_linestyle() == "--"]  # fmt: skip


def test_noise_phase_threshold_lines_sit_at_the_exact_thresholds(tmp_path):
    from rrm_theory import homogeneous

    table = _quick_table("noise-phase.toml", tmp_path)
    axes = _draw("noise-phase", table)
    branchings = sorted(table["branching"].unique())[:3]
    for ax, k in zip(axes, branchings):
        want = homogeneous.noise_threshold("majority", int(k))["threshold"]
        assert _vertical_lines(ax) == [want]
    plt.close("all")


def test_deception_threshold_lines_sit_at_the_exact_thresholds(tmp_path):
    from rrm_theory import homogeneous

    table = _quick_table("deception-depth.toml", tmp_path)
    axes = _draw("deception-depth", table)
    errors = sorted(table["defaults.error"].unique())[:2]
    for ax, err in zip(axes, errors):
        want = homogeneous.deception_threshold("majority", 3, error=float(err))["threshold"]
        assert _vertical_lines(ax) == [want]
    plt.close("all")


def test_unknown_figure_and_missing_sims_are_input_errors(tmp_path):
    run = _figures("no-such-figure", "--out", str(tmp_path))
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "'no-such-figure' is not a figure" in run.stderr
    run = _figures("--sims", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "no studies folder" in run.stderr
    run = _figures("--format", "gif", "--out", str(tmp_path))
    assert run.returncode == 2 and "--format" in run.stderr
    assert not list(tmp_path.iterdir())


def test_one_figure_is_drawn_alone_without_the_readme(tmp_path):
    run = _figures("nso-nested-oversight", "--quick", "--out", str(tmp_path), "--format", "png")
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nso-nested-oversight.csv", "nso-nested-oversight.png"]
    assert "README.md" in run.stderr


def test_the_committed_set_is_complete():
    committed = ROOT / "figures"
    names = {p.name for p in committed.iterdir()}
    for name in figure_names():
        assert {f"{name}.pdf", f"{name}.png", f"{name}.csv"} <= names, name
    readme = (committed / "README.md").read_text()
    assert all(f"## {name}" in readme for name in figure_names())
    assert "--quick" not in readme.split("\n")[3], "the committed set is the full one, not the quick one"
