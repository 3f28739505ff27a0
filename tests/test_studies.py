"""Studies: files, points and keys, the results store, resuming after SIGKILL, the table."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rrm_theory as rrm
from rrm_theory.cli import main
from rrm_theory.errors import SpecError
from rrm_theory.studies import Store, StoreBusy, load_study, results, run_study, study_from_dict
from rrm_theory.studies.executors import InProcess, Processes

pd = pytest.importorskip("pandas")

BASE = '''
name = "grid"
seed = 7
methods = ["exact", "monte-carlo"]
[options.monte-carlo]
samples = 3000
[model]
defaults = { error = 0.1, prior = 0.5 }
generate = { shape = "balanced", depth = 1, branching = 3, rule = "majority" }
[vary]
"generate.depth" = [0, 1, 2]
"generate.internal.error" = { start = 0.0, stop = 0.3, num = 4 }
[quick]
"generate.depth" = [1]
'''


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_points_and_quick(tmp_path):
    study = load_study(write(tmp_path, BASE))
    points = study.points()
    assert len(points) == 3 * 4 * 2  # depth x error x method
    assert len(study.points(quick=True)) == 1 * 4 * 2
    values = {dict(p.values)["generate.internal.error"] for p in points}
    assert values == {0.0, 0.1, 0.2, 0.3}


def test_same_spec_same_key_and_stream(tmp_path):
    """A point's key hashes what it computes, so its random stream depends on nothing else."""
    a = load_study(write(tmp_path, BASE))
    b = load_study(write(tmp_path, BASE.replace('"generate.depth" = [0, 1, 2]', '"generate.depth" = [2, 1]'), "t.toml"))
    keys_a = {(p.key, p.method): p for p in a.points()}
    keys_b = {(p.key, p.method): p for p in b.points()}
    assert set(keys_b) < set(keys_a)
    k = next(iter(keys_b))
    assert keys_a[k].seed_sequence(7).generate_state(4).tolist() == keys_b[k].seed_sequence(7).generate_state(4).tolist()


def test_zip_axes_vary_together(tmp_path):
    text = BASE.replace('[quick]\n"generate.depth" = [1]\n', "") + '''
[zip.noise]
"generate.leaves.error" = [0.05, 0.1]
"generate.leaves.prior" = [0.4, 0.6]
'''
    study = load_study(write(tmp_path, text))
    pairs = {(dict(p.values)["generate.leaves.error"], dict(p.values)["generate.leaves.prior"]) for p in study.points()}
    assert pairs == {(0.05, 0.4), (0.1, 0.6)}


def test_a_segment_with_a_dot_is_quoted(tmp_path):
    text = '''
methods = ["exact"]
[model]
defaults = { error = 0.1, prior = 0.5 }
nodes = { r = { rule = "all" }, "v1.2" = { parent = "r" }, b = { parent = "r" } }
[vary]
'nodes."v1.2".false_accept' = [0.0, 0.5]
'''
    points = load_study(write(tmp_path, text)).points()
    assert [p.spec["nodes"]["v1.2"]["false_accept"] for p in points] == [0.0, 0.5]


BAD = [
    ("unknown-key", "colour = 'red'\n" + BASE, ["s.toml", "unknown key 'colour'"]),
    ("unknown-method", BASE.replace('"exact", "monte-carlo"', '"exact", "magic"'), ["methods", "'magic'"]),
    ("unknown-option", BASE.replace("samples = 3000", "samples = 3000\nsteps = 4"), ["[options.monte-carlo]", "'steps'"]),
    ("bad-option-value", BASE.replace("samples = 3000", "samples = -5"), ["[options.monte-carlo]", "-5"]),
    ("missing-path", BASE.replace('"generate.depth" = [0, 1, 2]', '"nodes.heat.false_accept" = [0.1]').replace(
        '[quick]\n"generate.depth" = [1]\n', ""),
     ["axis nodes.heat.false_accept", "does not exist"]),
    ("value-out-of-range", BASE.replace("stop = 0.3", "stop = 1.5"), ["generate.internal.error=1.5", "not a probability"]),
    ("bad-axis-values", BASE.replace('[0, 1, 2]', '"deep"'), ["axis generate.depth", "not a list of values"]),
    ("zip-lengths", BASE + '[zip.z]\n"generate.leaves.error" = [0.1]\n"generate.leaves.prior" = [0.5, 0.6]\n',
     ["zip axes", "different lengths"]),
    ("quick-unknown-axis", BASE + '"generate.branching" = [2]\n', ["[quick] axis generate.branching"]),
    ("no-model", "methods = ['exact']\n", ["model is missing"]),
    ("bad-kind", 'kind = "poetry"\n' + BASE, ["kind=poetry", "not one of"]),
    ("theory-bad-parameter", 'kind = "nso"\n[parameters]\nmax_steps = 10\n[vary]\ngap = [100]\ngame = ["chess"]\n',
     ["game=chess", "'chess'"]),
    ("missing-spec-file", 'model = "nowhere.toml"\n' + BASE.replace(
        "[model]\ndefaults = { error = 0.1, prior = 0.5 }\ngenerate = { shape = \"balanced\", depth = 1, branching = "
        "3, rule = \"majority\" }", ""), ["nowhere.toml"]),
]  # fmt: skip


@pytest.mark.parametrize("case, text, fragments", BAD, ids=[b[0] for b in BAD])
def test_malformed_studies_are_one_line_input_errors(case, text, fragments, tmp_path, capsys):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_study(path).points()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))
    code = main(["sim", str(path), "--store", str(tmp_path / "x.sqlite"), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def rows_without_times(store_path: Path) -> list[tuple]:
    with sqlite3.connect(store_path) as db:
        return sorted(db.execute("SELECT key, method, study, axes, result, version, spec_hash, seed FROM results"))


@pytest.mark.parametrize("workers", [1, 2])
def test_rows_equal_direct_calls_of_the_api(tmp_path, workers):
    study = load_study(write(tmp_path, BASE))
    executor = InProcess() if workers == 1 else Processes(workers)
    with Store(tmp_path / "s.sqlite") as store, executor:
        run_study(study, store=store, executor=executor)
        table = results(store, study)
    assert len(table) == len(study.points())
    for point, (_, row) in zip(study.points(), table.iterrows()):
        tree = rrm.from_dict(point.spec)
        if point.method == "exact":
            want = rrm.exact_analysis(tree).root
            assert row["false_accept"] == want.false_accept and row["error"] == want.error  # to the last bit
        else:
            mc = rrm.monte_carlo(tree, samples=3000, rng=point.seed_sequence(study.seed), workers=1)
            assert row["false_reject"] == mc.root["false_reject"].estimate
            assert (row["error_lo"], row["error_hi"]) == mc.root["error"].ci


def test_resume_skips_stored_points_and_changed_studies_add_points(tmp_path):
    path = write(tmp_path, BASE)
    with Store(tmp_path / "s.sqlite") as store:
        first = run_study(load_study(path), store=store, quick=True)
        second = run_study(load_study(path), store=store)
        path.write_text(BASE.replace("[0, 1, 2]", "[0, 1, 2, 3]"))
        third = run_study(load_study(path), store=store)
        assert (first.computed, second.done_before, second.computed) == (8, 8, 16)
        assert (third.done_before, third.computed) == (24, 8)
        assert len(store.done()) == 32


def test_a_second_run_of_a_store_is_refused_while_one_holds_it(tmp_path):
    with Store(tmp_path / "s.sqlite"):
        with pytest.raises(StoreBusy, match="another run is using this store"):
            Store(tmp_path / "s.sqlite")
    Store(tmp_path / "s.sqlite").close()  # released when the holder closes (or dies)


def test_rows_of_another_version_are_kept_with_a_warning(tmp_path):
    path = write(tmp_path, BASE)
    with Store(tmp_path / "s.sqlite") as store:
        run_study(load_study(path), store=store, quick=True)
        store.db.execute("UPDATE results SET version = '0.0.1'")
        with pytest.warns(RuntimeWarning, match="0.0.1"):
            again = run_study(load_study(path), store=store, quick=True)
        assert again.computed == 0
        fresh = run_study(load_study(path), store=store, quick=True, fresh=True)
        assert fresh.computed == 8 and store.versions() == {rrm.__version__}


def test_declined_points_are_stored_with_the_reason(tmp_path):
    text = '''
methods = ["exact"]
[model]
defaults = { error = 0.1, prior = 0.5 }
[model.nodes.r]
rule = "weighted"
threshold = 0.5
[vary]
"nodes.r.threshold" = [0.5]
'''
    nodes = "".join(f'[model.nodes.c{i}]\nparent = "r"\nweight = {1 + 0.37 * i + 0.001 * i * i:.3f}\n' for i in range(30))
    path = write(tmp_path, text.replace("[vary]", nodes + "[vary]"))
    with Store(tmp_path / "s.sqlite") as store:
        summary = run_study(load_study(path), store=store)
        table = results(store)
    assert summary.declined == 1 and "distinct partial sums" in table["declined"][0]


def _run_in_child(path: Path, store: Path, workers: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path.cwd()))
    return subprocess.Popen([sys.executable, "-m", "rrm_theory", "sim", str(path), "--store", str(store),
                             "--workers", str(workers), "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_runs_lose_nothing_and_repeat_nothing(tmp_path, workers):
    """SIGKILL at random moments, several times, then complete: the table equals an uninterrupted run's."""
    text = BASE.replace('"generate.depth" = [0, 1, 2]', '"generate.depth" = [0, 1, 2, 3, 4]').replace(
        "num = 4", "num = 12").replace("samples = 3000", "samples = 200000")  # fmt: skip
    path = write(tmp_path, text)
    whole = tmp_path / "whole.sqlite"
    assert main(["sim", str(path), "--store", str(whole), "--workers", "1", "--quiet"]) == 0
    killed = tmp_path / "killed.sqlite"
    rng = random.Random(workers)
    counts = []

    def stored() -> list[str]:
        if not killed.exists():
            return []
        try:
            with sqlite3.connect(killed, timeout=10) as db:
                return [k for (k,) in db.execute("SELECT key || method FROM results")]
        except sqlite3.OperationalError:  # the table is not created yet
            return []

    for _ in range(4):
        before = len(stored())
        proc = _run_in_child(path, killed, workers)
        deadline = time.monotonic() + 60
        while len(stored()) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # kill only once this run has committed something
        time.sleep(rng.uniform(0.0, 0.4))
        os.killpg(proc.pid, signal.SIGKILL)  # the command and its workers, without warning
        proc.wait()
        keys = stored()
        assert len(keys) == len(set(keys))  # never a duplicate
        counts.append(len(keys))
    assert main(["sim", str(path), "--store", str(killed), "--workers", str(workers), "--quiet"]) == 0
    assert rows_without_times(killed) == rows_without_times(whole)
    total = len(rows_without_times(whole))
    assert counts == sorted(counts)  # committed rows survive every kill
    assert any(0 < c < total for c in counts), (counts, total)  # some kill landed mid-run


def test_sim_command_status_json_export(tmp_path, capsys):
    path = write(tmp_path, BASE)
    store = tmp_path / "s.sqlite"
    assert main(["sim", str(path), "--store", str(store), "--status"]) == 0
    assert "exact 0/12, monte-carlo 0/12" in capsys.readouterr().out
    assert main(["sim", str(path), "--store", str(store), "--workers", "1", "--quick", "--json",
                 "--export", str(tmp_path / "t.csv")]) == 0  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 8 and {line["schema"] for line in lines} == {"rrm-theory/sim/1"}
    table = pd.read_csv(tmp_path / "t.csv")
    assert list(table.columns[:4]) == ["study", "generate.depth", "generate.internal.error", "method"]
    assert {"false_accept_lo", "false_accept_hi"} <= set(table.columns) and len(table) == 8
    if pytest.importorskip("pyarrow"):
        assert main(["sim", str(path), "--store", str(store), "--quick", "--export", str(tmp_path / "t.parquet")]) == 0
        assert len(pd.read_parquet(tmp_path / "t.parquet")) == 8


def test_theory_study_rows_use_the_commands_keys(tmp_path):
    text = 'kind = "nso"\n[parameters]\nmax_steps = 8\n[vary]\ngame = ["debate", "mafia"]\ngap = [0, 400]\n'
    path = write(tmp_path, text)
    with Store(tmp_path / "n.sqlite") as store:
        run_study(load_study(path), store=store)
        table = results(store, load_study(path))
    assert {"optimal_steps", "success"} <= set(table.columns) and len(table) == 4
    want = rrm.nso.optimal_steps(rrm.nso.GAMES["debate"], 400, max_steps=8)
    got = table[(table["game"] == "debate") & (table["gap"] == 400)].iloc[0]
    assert got["optimal_steps"] == want.optimal_steps and got["success"] == want.success


def test_bounds_robustness_importance_columns(tmp_path):
    text = '''
methods = ["bounds", "robustness", "importance"]
model = "MODELS/chip-design.toml"
[options.robustness]
budget = 2
[vary]
"defaults.audit" = [0.0, 0.2]
'''.replace("MODELS", str(Path.cwd() / "models"))
    with Store(tmp_path / "b.sqlite") as store:
        study = load_study(write(tmp_path, text))
        run_study(study, store=store)
        table = results(store, study)
    bounds = table[table["method"] == "bounds"]
    assert bounds["false_accept_lower"].notna().all() and bounds["p_good"].isna().all()
    curve = table[table["method"] == "robustness"]
    assert sorted(curve["corruptions"].unique()) == [0, 1, 2]
    ranked = table[table["method"] == "importance"]
    assert len(ranked) == 2 * 7 and set(ranked["rank"]) == set(range(1, 8))


def test_logspace_and_whole_number_spacing():
    study = study_from_dict({"kind": "nso", "parameters": {"max_steps": 3},
                             "vary": {"gap": {"logspace": {"start": 10, "stop": 1000, "num": 3}},
                                      "game": {"values": ["debate"]}}})  # fmt: skip
    assert [dict(p.values)["gap"] for p in study.points()] == [10.0, 100.0, 1000.0]
    assert np.allclose([dict(p.values)["gap"] for p in study.points()], [10, 100, 1000])


def test_fresh_clears_only_its_own_study_in_a_shared_store(tmp_path):
    a = write(tmp_path, BASE, "a.toml")
    b = write(tmp_path, BASE.replace("[0, 1, 2]", "[3, 4]").replace('"generate.depth" = [1]', '"generate.depth" = [3]'), "b.toml")
    store = str(tmp_path / "shared.sqlite")
    assert main(["sim", str(a), str(b), "--store", store, "--fresh", "--quick", "--workers", "1", "--quiet"]) == 0
    with Store(store) as s:
        assert len(s.done()) == 16  # both studies' quick points survive


def test_sim_json_lines_match_the_schema(tmp_path, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).resolve().parent.parent / "docs" / "schemas" / "sim.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    check = jsonschema.Draft202012Validator(schema)
    sims = Path(__file__).resolve().parent.parent / "sims"
    seen = set()
    for name in ("adversary-catalog", "nested-oversight", "depth-by-rule"):
        main(["sim", str(sims / f"{name}.toml"), "--quick", "--store", str(tmp_path / f"{name}.sqlite"),
              "--json", "--quiet"])  # fmt: skip
        for line in capsys.readouterr().out.splitlines():
            obj = json.loads(line)
            check.validate(obj)
            seen.add(obj["method"])
    assert {"exact", "robustness", "nso", "monte-carlo", "bounds"} <= seen
