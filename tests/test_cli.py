"""The ``rrm-theory`` command line: output formats, exit status, entry points."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rrm_theory as rrm
from rrm_theory.cli import main

CATALOG = sorted(str(p) for p in Path("models").glob("*.toml"))
ROOT_KEYS = ["p_good", "error", "false_accept", "false_reject", "youden"]


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_exactly_the_documented_keys(capsys):
    code, out, err = run(["analyze", "models/chip-design.toml", "--json"], capsys)
    assert code == 0 and err == "" and out.count("\n") == 1  # one JSON line, even for one spec
    obj = json.loads(out)
    assert list(obj)[:2] == ["schema", "version"] and obj["schema"] == "rrm-theory/analyze/1"
    assert obj["version"] == rrm.__version__
    assert list(obj)[2:8] == ["name", "nodes", "leaves", "depth", "method", "root"]
    assert set(list(obj)[8:]) <= {"bounds", "robustness", "importance", "concentration", "source", "skipped"}
    assert list(obj["root"]) == ROOT_KEYS
    assert (obj["name"], obj["nodes"], obj["leaves"], obj["depth"], obj["method"]) == (
        "chip-design", 7, 5, 2, "exact")
    exact = rrm.exact_analysis(rrm.load_spec("models/chip-design.toml")).root
    assert obj["root"] == exact.to_dict()


def test_json_per_node(capsys):
    code, out, _ = run(["analyze", "models/chip-design.toml", "--json", "--per-node"], capsys)
    obj = json.loads(out)
    tree = rrm.load_spec("models/chip-design.toml")
    assert list(obj["per_node"]) == list(tree)
    assert all(list(m) == ROOT_KEYS for m in obj["per_node"].values())
    assert obj["per_node"]["design"] == obj["root"]


def test_json_null_for_undefined_metrics(tmp_path, capsys):
    path = tmp_path / "sure.toml"
    path.write_text('[defaults]\nerror = 0.1\nprior = 1.0\n[generate]\nshape = "chain"\ndepth = 2\n')
    obj = json.loads(run(["analyze", str(path), "--json"], capsys)[1])
    assert obj["root"]["false_accept"] is None and obj["root"]["youden"] is None
    assert obj["root"]["p_good"] == 1.0


def test_several_specs_one_json_object_per_line(capsys):
    code, out, _ = run(["analyze", *CATALOG, "--json"], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == len(CATALOG) >= 5
    names = [json.loads(line)["name"] for line in lines]
    assert names == [Path(p).stem for p in CATALOG]


def test_human_summary(capsys):
    code, out, _ = run(["analyze", "models/chip-design.toml"], capsys)
    assert code == 0
    assert out.startswith("chip-design: 7 nodes, 5 leaves, depth 2")
    assert "false_accept      0.2330" in out
    worst = out.split("worst evaluators")[1].split("bounds without independence")[0]
    assert "design " not in worst  # the root is reported above, not ranked
    assert worst.index("security") < worst.index("side-channels")


def test_comparison_table_for_several_specs(capsys):
    code, out, _ = run(["analyze", *CATALOG], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:8] == ["name", "nodes", "depth", *ROOT_KEYS]
    assert "FA bounds" in lines[0] and "FA, 1 corrupt" in lines[0]
    assert len(lines) == 1 + len(CATALOG)
    chip = next(line for line in lines if line.startswith("chip-design"))
    assert "0.2330" in chip and "0.7455" in chip  # exact false_accept, and after one corruption


def test_one_bad_spec_among_several_reports_the_good_ones_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[nodes.a]\nprior = 2\n")
    code, out, err = run(["analyze", CATALOG[0], str(bad), CATALOG[1], "--json"], capsys)
    assert code == 2 and err.count("\n") == 1 and "bad.toml" in err
    assert [json.loads(line)["source"] for line in out.splitlines()] == [CATALOG[0], CATALOG[1]]


def ring_spec(tmp_path: Path) -> Path:
    """17 overlapping blind spots: more than exact analysis conditions on."""
    nodes = "".join(f'[nodes.c{i}]\nparent = "r"\n' for i in range(17))
    groups = "".join(f'[blind_spots.g{i}]\nprobability = 0.1\nmembers = ["c{i}", "c{(i + 1) % 17}"]\n'
                     for i in range(17))
    path = tmp_path / "ring.toml"
    path.write_text('[defaults]\nerror = 0.1\nprior = 0.5\n' + groups + '[nodes.r]\nrule = "majority"\n' + nodes)
    return path


def test_exact_refusal_with_method_exact_exits_1_with_one_line(tmp_path, capsys):
    code, out, err = run(["analyze", str(ring_spec(tmp_path)), "--method", "exact"], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Monte Carlo" in err and "--method monte-carlo" in err


def test_exact_refusal_falls_back_to_monte_carlo_by_default(tmp_path, capsys):
    code, out, err = run(["analyze", str(ring_spec(tmp_path)), "--json", "--seed", "3", "--samples", "20000"],
                         capsys)
    assert code == 0 and err.startswith("rrm-theory: note: exact analysis declined")
    obj = json.loads(out)
    assert obj["method"] == "monte-carlo" and obj["monte_carlo"]["samples"] == 20000
    assert obj["root"]["error"] == obj["monte_carlo"]["error"]["estimate"]


def test_monte_carlo_json_block(capsys):
    code, out, _ = run(["analyze", "models/chip-design.toml", "--json", "--samples", "50000", "--seed", "11"],
                       capsys)
    obj = json.loads(out)
    assert obj["method"] == "exact"
    block = obj["monte_carlo"]
    assert list(block)[:7] == ["samples", "seed", *ROOT_KEYS]
    assert (block["samples"], block["seed"]) == (50000, 11)
    for m in ROOT_KEYS:
        lo, hi = block[m]["ci"]
        assert lo <= block[m]["estimate"] <= hi
    again = json.loads(run(["analyze", "models/chip-design.toml", "--json", "--samples", "50000", "--seed", "11",
                            "--workers", "2", "--batch-size", "1000"], capsys)[1])
    assert again["monte_carlo"] == block


def test_sample_cap_is_reported_not_silent(capsys):
    code, out, err = run(["analyze", "models/chip-design.toml", "--method", "monte-carlo", "--seed", "1",
                          "--samples", "1000", "--ci-width", "0.001", "--max-samples", "40000", "--json"], capsys)
    assert code == 4  # a precision target missed
    assert err.startswith("rrm-theory: warning: chip-design: stopped at the sample cap (40,000 episodes)")
    block = json.loads(out)["monte_carlo"]
    assert block["samples"] == 40000 and block["reached"] is False and block["target_ci_width"] == 0.001


def test_seed_is_fresh_and_reported_when_not_given(capsys):
    first = json.loads(run(["analyze", "models/flat-ai-feedback.toml", "--method", "monte-carlo", "--json",
                            "--samples", "5000"], capsys)[1])["monte_carlo"]
    again = json.loads(run(["analyze", "models/flat-ai-feedback.toml", "--method", "monte-carlo", "--json",
                            "--samples", "5000", "--seed", str(first["seed"])], capsys)[1])["monte_carlo"]
    assert again == first


@pytest.mark.parametrize(
    "args",
    [[], ["analyse", "x.toml"], ["analyze"], ["analyze", "x.toml", "--jsn"], ["analyze", "x.toml", "--samples", "0"],
     ["analyze", "x.toml", "--ci-width", "1.5"], ["analyze", "x.toml", "--seed", "-1"],
     ["analyze", "x.toml", "--method", "mc"], ["analyze", "x.toml", "--workers", "two"]],
)
def test_usage_errors_are_one_line_exit_2(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    _, err = capsys.readouterr()
    assert info.value.code == 2 and err.count("\n") == 1 and "--help" in err


def test_deep_chain_per_node_json(tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text('[defaults]\nerror = 0.01\nprior = 0.5\n[generate]\nshape = "chain"\ndepth = 3000\n')
    obj = json.loads(run(["analyze", str(path), "--json", "--per-node"], capsys)[1])
    assert obj["depth"] == 3000 and len(obj["per_node"]) == 3001


def _environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path.cwd()) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_python_dash_m_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "rrm_theory", "analyze", "models/chip-design.toml", "--json"],
                          capture_output=True, text=True, env=_environment())
    assert done.returncode == 0 and json.loads(done.stdout)["name"] == "chip-design"


def test_bad_input_from_a_real_process_is_one_line_and_status_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[defaults]\nerror = 0.1\nprior = 0.5\n[nodes.a]\nfalse_accept = 1.3\n")
    done = subprocess.run([sys.executable, "-m", "rrm_theory", "analyze", str(path)],
                          capture_output=True, text=True, env=_environment())
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"rrm-theory: error: {path}: node 'a': false_accept=1.3 is not a probability in [0, 1]\n"


def test_console_script_when_installed():
    script = shutil.which("rrm-theory", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("rrm-theory is not installed next to this interpreter")
    done = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"rrm-theory {rrm.__version__}"


def test_monte_carlo_summary_ranks_evaluators_not_the_root_when_the_root_is_listed_last(tmp_path, capsys):
    path = tmp_path / "late.toml"
    path.write_text('[defaults]\nerror = 0.1\nprior = 0.5\n[nodes.a]\nparent = "r"\n[nodes.b]\nparent = "r"\n'
                    '[nodes.r]\nrule = "all"\n')
    code, out, _ = run(["analyze", str(path), "--method", "monte-carlo", "--seed", "1", "--samples", "5000"], capsys)
    ranked = out.split("worst evaluators")[1].split("bounds without")[0].splitlines()[2:]
    assert code == 0 and sorted(line.split()[0] for line in ranked) == ["a", "b"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_unwritable_output_is_one_line_and_status_1():
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "rrm_theory", "analyze", "models/chip-design.toml"],
                              stdout=full, stderr=subprocess.PIPE, text=True, env=_environment())
    assert done.returncode == 1
    assert done.stderr.startswith("rrm-theory: cannot write the output:") and done.stderr.count("\n") == 1


def test_bounds_robustness_importance_keys(capsys):
    code, out, _ = run(["analyze", "models/chip-design.toml", "--json", "--budget", "2"], capsys)
    obj = json.loads(out)
    assert code == 0
    assert list(obj["bounds"]) == ["false_accept", "false_reject", "error", "method"]
    assert obj["bounds"]["method"] in ("tight", "fast")
    lo, hi = obj["bounds"]["false_accept"]
    assert lo <= obj["root"]["false_accept"] <= hi
    rob = obj["robustness"]
    assert rob["budget"] == 2 and len(rob["worst_false_accept"]) == 3
    assert rob["worst_false_accept"][0] == pytest.approx(obj["root"]["false_accept"])
    assert isinstance(rob["min_corruptions"], int)
    ranking = obj["importance"]
    assert [r["node"] for r in ranking][0] == "design" and len(ranking) == 7
    gains = [obj["root"]["false_accept"] - r["false_accept_if_perfect"] for r in ranking]
    assert gains == sorted(gains, reverse=True)
    assert set(ranking[0]["d_false_accept"]) == {"false_accept", "false_reject", "deception", "audit"}


def test_human_summary_shows_bounds_curve_and_ranking(capsys):
    code, out, _ = run(["analyze", "models/flat-ai-feedback.toml", "--corrupt-root"], capsys)
    assert code == 0
    assert "bounds without independence (tight, by linear programming)" in out
    assert "adversary corrupting up to 3 helpers and the root" in out
    assert "most important evaluators" in out


def test_monte_carlo_only_skips_the_analytic_extras(capsys):
    obj = json.loads(run(["analyze", "models/chip-design.toml", "--json", "--method", "monte-carlo",
                          "--samples", "2000", "--seed", "1"], capsys)[1])
    assert "bounds" not in obj and "monte_carlo" in obj


def test_declined_trees_still_get_bounds(tmp_path, capsys):
    obj = json.loads(run(["analyze", str(ring_spec(tmp_path)), "--json", "--seed", "2", "--samples", "5000"],
                         capsys)[1])
    assert obj["bounds"]["method"] == "fast" and obj["robustness"] is None
    assert "exact analysis" in obj["skipped"]["adversary"]
    assert all(r["intervals"] is not None for r in obj["importance"])  # Monte Carlo importance


def test_max_samples_is_a_hard_cap(capsys):
    """Once, --ci-width 0.0001 with --max-samples 1000 ran 114,688 episodes and exited 0."""
    code, out, err = run(["analyze", "models/chip-design.toml", "--method", "monte-carlo", "--seed", "1",
                          "--ci-width", "0.0001", "--max-samples", "1000", "--json"], capsys)
    block = json.loads(out)["monte_carlo"]
    assert code == 4 and block["samples"] == 1000 and block["reached"] is False
    assert err.count("\n") == 1 and "raise --max-samples" in err
    again = json.loads(run(["analyze", "models/chip-design.toml", "--method", "monte-carlo", "--seed", "1",
                            "--ci-width", "0.0001", "--max-samples", "1000", "--json", "--workers", "2"],
                           capsys)[1])["monte_carlo"]
    assert again == block  # the cut round is reproducible


def test_samples_beyond_the_cap_is_a_usage_error(capsys):
    code, out, err = run(["analyze", "models/chip-design.toml", "--samples", "5000", "--max-samples", "1000"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "--max-samples" in err


@pytest.mark.parametrize("codes, worst", [([0, 3], 3), ([3, 4], 4), ([4, 1], 1), ([1, 2], 2), ([0, 0], 0)])
def test_a_batch_exits_with_the_most_serious_status(codes, worst):
    from rrm_theory.cli import worst_status

    assert worst_status(codes) == worst == worst_status(list(reversed(codes)))


def test_exit_status_table_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = capsys.readouterr().out
    assert "4 a precision target" in out.replace("\n", " ") and "130/143" in out


@pytest.mark.parametrize("option, key", [("--no-adversary", "robustness"), ("--no-importance", "importance")])
def test_expensive_extras_can_be_skipped(option, key, capsys):
    obj = json.loads(run(["analyze", "models/chip-design.toml", "--json", option], capsys)[1])
    assert obj[key] is None and obj["skipped"][{"robustness": "adversary"}.get(key, key)] == option


@pytest.mark.parametrize("choice", ["tight", "fast", "none"])
def test_bounds_option(choice, capsys):
    obj = json.loads(run(["analyze", "models/chip-design.toml", "--json", "--bounds", choice], capsys)[1])
    if choice == "none":
        assert obj["bounds"] is None and obj["skipped"]["bounds"] == "--bounds none"
    else:
        assert obj["bounds"]["method"] == choice


def test_bounds_budget_decides_and_says_so(capsys):
    code, out, err = run(["analyze", "models/book-summarization.toml", "--json", "--bounds-budget", "0.001"], capsys)
    assert code == 0 and json.loads(out)["bounds"]["method"] == "fast"
    assert "--bounds-budget 0.001" in err and err.count("\n") == 1
    code, out, _ = run(["analyze", "models/book-summarization.toml", "--json", "--bounds-budget", "60"], capsys)
    assert json.loads(out)["bounds"]["method"] == "tight"


def test_skipped_parts_are_named_in_the_summary(tmp_path, capsys):
    code, out, err = run(["analyze", str(ring_spec(tmp_path)), "--seed", "2", "--samples", "5000"], capsys)
    assert code == 0
    assert "adversary skipped: it needs exact analysis" in out and "importance: Monte Carlo estimates" in out


def test_a_budget_of_zero_does_not_claim_a_corruption_happens(capsys):
    code, out, _ = run(["analyze", "models/chip-design.toml", "--budget", "0"], capsys)
    line = next(line for line in out.splitlines() if "most likely bad outcome" in line)
    assert "beyond the budget of 0" in line


def test_json_never_carries_nan():
    from rrm_theory._jsonl import json_line

    with pytest.raises(ValueError, match="root.false_accept"):
        json_line("analyze", {"root": {"false_accept": float("nan")}})


def test_library_defaults_match_the_help(capsys):
    from rrm_theory import bounds as _b  # noqa: F401  (the function; the module below)
    import rrm_theory.cli as cli
    from rrm_theory import intervals, montecarlo
    from rrm_theory.bounds import DEFAULT_BUDGET

    assert cli.DEFAULT_MAX_SAMPLES == montecarlo.DEFAULT_MAX_SAMPLES and cli.INTERVALS == intervals.INTERVALS
    assert cli.DEFAULT_BOUNDS_BUDGET == DEFAULT_BUDGET


def _children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig, status", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_ends_the_command_and_its_workers(sig, status):
    """SIGTERM to ``analyze --workers 2`` once left both workers alive, re-parented to init."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "rrm_theory", "analyze", "models/book-summarization.toml",
                             "--method", "monte-carlo", "--samples", "90000000", "--workers", "2", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment())  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = {p for p in _children(proc.pid) if _alive(p)}
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(1.0)  # let them get going
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == status and "Traceback" not in err, err
    time.sleep(0.5)
    assert not any(_alive(p) for p in workers), "a worker outlived the command"


HEAVY = ("sympy", "scipy.stats", "scipy.optimize", "scipy.spatial", "matplotlib")


@pytest.mark.parametrize("argv, heavy_allowed", [
    (["--version"], ()),
    (["--help"], ()),
    (["analyze", "models/chip-design.toml", "--method", "exact", "--bounds", "none", "--no-adversary",
      "--no-importance"], ()),
    (["analyze", "models/chip-design.toml", "--json"], ()),
    (["check", "models/chip-design.toml"], ()),
])  # fmt: skip
def test_commands_load_only_what_they_need(argv, heavy_allowed):
    """sympy, scipy.stats and scipy.optimize load only in the code paths that need them."""
    code = ("import sys, rrm_theory.cli as cli\n"
            "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})), file=sys.stderr)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=_environment())
    loaded = eval(done.stderr.strip().splitlines()[-1])
    assert [m for m in loaded if not m.startswith(heavy_allowed or ("-",))] == [], loaded


def test_auto_bounds_stopped_past_their_rounds_say_so(capsys, monkeypatch):
    import importlib

    monkeypatch.setattr(importlib.import_module("rrm_theory.bounds"), "AUTO_ROUNDS", 0)  # a cap of 1 round
    code, out, err = run(["analyze", "models/chip-design.toml", "--no-adversary", "--no-importance"], capsys)
    assert code == 0
    assert "bounds: the fast inequalities, as the tight bounds' column generation (14 free response bits) " \
           "passed 1 round," in err


def test_a_json_line_refuses_a_nan_and_says_where():
    from rrm_theory._jsonl import json_line

    assert json_line("check", {"a": [1.0, {"b": None}]}).endswith('"a": [1.0, {"b": null}]}')
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"refusing to write .* at a\[1\]\.b of a JSON line"):
            json_line("check", {"a": [1.0, {"b": bad}]})
