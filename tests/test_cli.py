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
    assert code == 0 and err == ""
    obj = json.loads(out)
    assert list(obj)[:6] == ["name", "nodes", "leaves", "depth", "method", "root"]
    assert set(list(obj)[6:]) <= {"bounds", "robustness", "importance", "concentration"}  # added beside
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


def test_one_bad_spec_among_several_stops_before_any_output(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[nodes.a]\nprior = 2\n")
    code, out, err = run(["analyze", CATALOG[0], str(bad)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1


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
    assert code == 0
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
    assert obj["bounds"]["method"] == "fast" and obj["robustness"] is None and obj["importance"] is None
