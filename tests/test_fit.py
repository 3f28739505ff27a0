"""rrm_theory.fit: fitting error rates from labelled data (docs/fit.md).

Checked against closed-form Beta posteriors (gold only), against an independent plain
Dawid-Skene EM written here from the paper, against crowd-kit where it is installed, and
for coverage: simulated rates fall inside their 95% intervals about 95% of the time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tomllib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rrm_theory import from_dict, load_spec
from rrm_theory._cli_fit import add_fit_parser, run_fit
from rrm_theory.errors import SpecError
from rrm_theory.fit import Fit, fit_rates, read_labels
from rrm_theory.fit import _em

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"

SPEC = {
    "name": "two-helpers",
    "defaults": {"error": 0.1, "prior": 0.5},
    "nodes": {
        "verdict": {"rule": "all"},
        "heat": {"parent": "verdict"},
        "power": {"parent": "verdict", "false_accept": 0.2},
    },
}


def simulate(rng, *, tasks=500, fa=(0.1, 0.2, 0.05, 0.3, 0.15), fr=(0.05, 0.1, 0.2, 0.15, 0.25), per_item=3,
             gold=0.0, prevalence=0.6, node="heat"):  # fmt: skip
    """Labels of one leaf: each task judged by ``per_item`` of the workers, drawn at random."""
    fa, fr = np.asarray(fa), np.asarray(fr)
    J = len(fa)
    truth = (rng.random(tasks) < prevalence).astype(int)
    workers = np.argsort(rng.random((tasks, J)), axis=1)[:, :per_item]
    t = np.repeat(np.arange(tasks), per_item)
    w = workers.ravel()
    p1 = np.where(truth[t] == 1, 1 - fr[w], fa[w])
    label = (rng.random(len(t)) < p1).astype(int)
    has_gold = rng.random(tasks) < gold
    frame = pd.DataFrame({"task": [f"t{i}" for i in t], "node": node, "worker": [f"w{j}" for j in w],
                          "label": label, "gold": np.where(has_gold[t], truth[t], np.nan)})  # fmt: skip
    return frame, truth


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def spec_file(tmp_path: Path, spec=SPEC) -> Path:
    from rrm_theory import _toml

    path = tmp_path / "spec.toml"
    path.write_text(_toml.dumps(spec))
    return path


# ----------------------------------------------------------------- an independent plain EM

def plain_dawid_skene(rows, gold=None, *, tol=1e-12, max_iter=20000):
    """Dawid & Skene (1979), two classes, written from the paper: start from the
    proportions of each item's labels; M-step pi_jl = sum_i T_ij n_il / sum_i T_ij and
    p_j = mean_i T_ij; E-step T_ij proportional to p_j prod_k pi_jl(k). Items with gold
    keep T at their truth. Returns per worker (false_accept, false_reject)."""
    gold = gold or {}
    by_task = defaultdict(list)
    for task, worker, label in rows:
        by_task[task].append((worker, label))
    T = {t: (gold[t] if t in gold else sum(l for _, l in ls) / len(ls)) for t, ls in by_task.items()}
    workers = sorted({w for _, w, _ in rows})
    previous = None
    for _ in range(max_iter):
        num_fa, den_fa, num_fr, den_fr = (defaultdict(float) for _ in range(4))
        for t, ls in by_task.items():
            for w, l in ls:
                den_fa[w] += 1 - T[t]
                num_fa[w] += (1 - T[t]) * l
                den_fr[w] += T[t]
                num_fr[w] += T[t] * (1 - l)
        fa = {w: num_fa[w] / den_fa[w] for w in workers}
        fr = {w: num_fr[w] / den_fr[w] for w in workers}
        p = sum(T.values()) / len(T)
        params = [p] + [fa[w] for w in workers] + [fr[w] for w in workers]
        if previous is not None and max(abs(x - y) for x, y in zip(params, previous)) < tol:
            break
        previous = params
        for t, ls in by_task.items():
            if t in gold:
                continue
            one, zero = p, 1 - p
            for w, l in ls:
                one *= (1 - fr[w]) if l else fr[w]
                zero *= fa[w] if l else (1 - fa[w])
            T[t] = one / (one + zero)
    return {w: (fa[w], fr[w]) for w in workers}


def mle(rate):
    return rate.errors / rate.labels


# ----------------------------------------------------------------- estimator

def test_gold_only_gives_the_closed_form_beta_posteriors():
    rng = np.random.default_rng(1)
    frame, _ = simulate(rng, tasks=200, gold=1.0)
    prior, level = (0.5, 2.0), 0.9
    fit = fit_rates(frame, SPEC, prior=prior, level=level)
    heat = fit.evaluators["heat"]
    assert heat.em_items == 0 and heat.iterations == 0 and heat.gold == heat.labels == len(frame)
    g = frame.assign(gold=frame.gold.astype(int))
    for worker, rows in [(None, g)] + list(g.groupby("worker")):
        got = heat if worker is None else heat.workers[worker]
        for name, cls, wrong in (("false_accept", 0, 1), ("false_reject", 1, 0)):
            on = rows[rows.gold == cls]
            k, n = int((on.label == wrong).sum()), len(on)
            rate = getattr(got, name)
            a, b = prior[0] + k, prior[1] + n - k
            assert rate.beta == (a, b) and rate.errors == k and rate.labels == n and rate.information == 1.0
            assert rate.estimate == pytest.approx(a / (a + b), rel=1e-15)
            assert rate.interval == pytest.approx(stats.beta.ppf([0.05, 0.95], a, b), rel=1e-10)


def test_em_without_gold_matches_plain_dawid_skene():
    rng = np.random.default_rng(2)
    frame, _ = simulate(rng, tasks=400)
    fit = fit_rates(frame, SPEC, tol=1e-12, max_iter=20000)
    plain = plain_dawid_skene(list(zip(frame.task, frame.worker, frame.label)))
    heat = fit.evaluators["heat"]
    assert heat.converged and heat.em_items == 400
    for w, (fa, fr) in plain.items():
        assert mle(heat.workers[w].false_accept) == pytest.approx(fa, abs=1e-8)
        assert mle(heat.workers[w].false_reject) == pytest.approx(fr, abs=1e-8)


def test_em_with_some_gold_matches_plain_dawid_skene_with_gold_fixed():
    rng = np.random.default_rng(3)
    frame, _ = simulate(rng, tasks=400, gold=0.15)
    fit = fit_rates(frame, SPEC, tol=1e-12, max_iter=20000)
    gold = {t: int(g) for t, g in zip(frame.task, frame.gold) if not np.isnan(g)}
    plain = plain_dawid_skene(list(zip(frame.task, frame.worker, frame.label)), gold)
    heat = fit.evaluators["heat"]
    assert heat.em_items == 400 - len(gold) and heat.gold == 3 * len(gold)
    for w, (fa, fr) in plain.items():
        assert mle(heat.workers[w].false_accept) == pytest.approx(fa, abs=1e-8)
        assert mle(heat.workers[w].false_reject) == pytest.approx(fr, abs=1e-8)
    pooled_fa = sum(heat.workers[w].false_accept.errors for w in plain) / sum(
        heat.workers[w].false_accept.labels for w in plain)  # fmt: skip
    assert mle(heat.false_accept) == pytest.approx(pooled_fa, rel=1e-12)  # the pooled rate pools the labels


def test_agrees_with_crowdkit_dawid_skene():
    crowdkit = pytest.importorskip("crowdkit.aggregation", reason="crowd-kit is not installed (an optional check)")
    rng = np.random.default_rng(4)
    frame, _ = simulate(rng, tasks=400)
    fit = fit_rates(frame, SPEC, tol=1e-12, max_iter=20000)
    ds = crowdkit.DawidSkene(n_iter=20000, tol=1e-12).fit(frame[["task", "worker", "label"]])
    errors = ds.errors_  # index (worker, observed label), columns: the true label
    heat = fit.evaluators["heat"]
    for w in heat.workers:
        assert mle(heat.workers[w].false_accept) == pytest.approx(errors.loc[(w, 1), 0], abs=1e-4)
        assert mle(heat.workers[w].false_reject) == pytest.approx(errors.loc[(w, 0), 1], abs=1e-4)


@pytest.mark.parametrize("gold", [0.0, 0.1])
def test_rates_fall_inside_their_95_percent_intervals_about_95_percent_of_the_time(gold):
    """200 simulated tables (seeds 0-199), 5 workers with different rates, 3 labels per
    task: 2,000 worker intervals and 400 pooled ones per setting. The pooled truth is the
    label-weighted mean of the workers' true rates over the items of the class."""
    fa, fr = np.array([0.1, 0.2, 0.05, 0.3, 0.15]), np.array([0.05, 0.1, 0.2, 0.15, 0.25])
    hits, pooled_hits = [], []
    for seed in range(200):
        frame, truth = simulate(np.random.default_rng([seed, int(gold * 100)]), tasks=300, fa=fa, fr=fr, gold=gold)
        heat = fit_rates(frame, SPEC).evaluators["heat"]
        item_truth = truth[frame.task.str[1:].astype(int)]
        worker = frame.worker.str[1:].astype(int).to_numpy()
        for name, rates, cls in (("false_accept", fa, 0), ("false_reject", fr, 1)):
            for j in range(5):
                lo, hi = getattr(heat.workers[f"w{j}"], name).interval
                hits.append(lo <= rates[j] <= hi)
            n = np.bincount(worker[item_truth == cls], minlength=5)
            lo, hi = getattr(heat, name).interval
            pooled_hits.append(lo <= (n * rates).sum() / n.sum() <= hi)
    assert 0.93 <= np.mean(hits) <= 0.975, np.mean(hits)
    assert 0.91 <= np.mean(pooled_hits) <= 0.99, np.mean(pooled_hits)


def test_rates_the_labels_do_not_identify_keep_the_prior():
    """One label per item and no gold: the labels tell P(label = 1) only."""
    rng = np.random.default_rng(5)
    frame, _ = simulate(rng, tasks=300, per_item=1)
    heat = fit_rates(frame, SPEC, prior=(2.0, 3.0)).evaluators["heat"]
    for rate in [heat.false_accept, heat.false_reject] + [getattr(w, r) for w in heat.workers.values()
                                                          for r in ("false_accept", "false_reject")]:  # fmt: skip
        assert rate.information < 0.05
        assert rate.beta == pytest.approx((2.0, 3.0), abs=0.05 * max(rate.labels, 1))


def test_the_command_notes_rates_the_labels_say_nothing_about(tmp_path):
    frame, _ = simulate(np.random.default_rng(17), tasks=100, per_item=1)
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    code, out, err = cli(["fit", str(path), "--spec", str(spec_file(tmp_path))])
    assert code == 0 and "note: node heat: the labels say next to nothing about false_accept" in err


def test_more_labels_per_item_keep_more_information():
    shares = []
    for per_item in (2, 3, 5):
        frame, _ = simulate(np.random.default_rng(6), tasks=400, per_item=per_item)
        shares.append(fit_rates(frame, SPEC).evaluators["heat"].false_reject.information)
    assert 0 < shares[0] < shares[1] < shares[2] < 1


def test_many_workers_use_the_diagonal_of_the_information(monkeypatch):
    frame, _ = simulate(np.random.default_rng(7), tasks=400)
    dense = fit_rates(frame, SPEC).evaluators["heat"]
    monkeypatch.setattr(_em, "MAX_DENSE_PARAMETERS", 3)
    diagonal = fit_rates(frame, SPEC).evaluators["heat"]
    for w in dense.workers:
        d, g = dense.workers[w].false_accept, diagonal.workers[w].false_accept
        assert d.errors == g.errors and 0 < d.information <= g.information <= 1  # the diagonal ignores the others


def test_the_missing_information_sums_every_pair_of_labels_on_an_item():
    """_em._missing against the dense sum of x_i x_i^T, with items of 1 to 6 labels."""
    rng = np.random.default_rng(15)
    J, items = 6, 40
    sizes = rng.integers(1, J + 1, items)
    item = np.repeat(np.arange(items), sizes)
    rank = np.concatenate([rng.permutation(J)[:k] for k in sizes])
    a, b, c = rng.normal(size=len(item)), rng.normal(size=len(item)), rng.normal(size=items)
    X = np.zeros((items, 1 + 2 * J))
    X[:, 0] = c
    X[item, 1 + rank] = a
    X[item, 1 + J + rank] = b
    dense = _em._missing(c, item, rank, a, b, c[item], J, True)
    assert dense == pytest.approx(X.T @ X, abs=1e-12)
    assert _em._missing(c, item, rank, a, b, c[item], J, False) == pytest.approx(np.diag(X.T @ X), abs=1e-12)


def test_not_converging_is_reported(capsys, tmp_path):
    frame, _ = simulate(np.random.default_rng(8), tasks=200)
    heat = fit_rates(frame, SPEC, max_iter=2).evaluators["heat"]
    assert not heat.converged and heat.iterations == 2
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False)
    code, out, err = cli(["fit", str(path), "--spec", str(spec_file(tmp_path)), "--max-iter", "2"])
    assert code == 0 and "NOT converged" in out and "EM did not converge in 2 iterations" in err


def test_options_are_checked():
    frame, _ = simulate(np.random.default_rng(9), tasks=20)
    for kwargs in ({"level": 1.0}, {"level": 0}, {"prior": (0, 1)}, {"prior": (1, float("inf"))}, {"prior": 3},
                   {"max_iter": 0}, {"tol": -1.0}):  # fmt: skip
        with pytest.raises(ValueError):
            fit_rates(frame, SPEC, **kwargs)


# ----------------------------------------------------------------- internal nodes

def tree_labels(rng, tasks=600, *, with_input=True, fa=(0.1, 0.25), fr=(0.2, 0.05)):
    """An internal node 'verdict' (rule all over heat and power): its two workers judge
    U = all(children's reports), while the truth Y = all(children's truths)."""
    rows = []
    for t in range(tasks):
        y = {v: int(rng.random() < 0.7) for v in ("heat", "power")}
        reports = {v: y[v] if rng.random() > 0.15 else 1 - y[v] for v in y}
        u, truth = int(all(reports.values())), int(all(y.values()))
        for j in range(2):
            label = int(rng.random() < (1 - fr[j] if u else fa[j]))
            rows.append((f"t{t}", "verdict", f"boss{j}", label, truth if rng.random() < 0.5 else np.nan,
                         u if with_input and rng.random() < 0.7 else np.nan))  # fmt: skip
    return pd.DataFrame(rows, columns=["task", "node", "worker", "label", "gold", "input"])


def test_an_internal_node_with_input_fits_its_channel():
    frame = tree_labels(np.random.default_rng(10), tasks=3000)
    verdict = fit_rates(frame, SPEC).evaluators["verdict"]
    assert (verdict.rates, verdict.reference, verdict.leaf, verdict.written) == ("channel", "input", False, True)
    assert verdict.em_items == frame.groupby("task").input.count().eq(0).sum()  # no row of the item gives input
    for j, (fa, fr) in enumerate([(0.1, 0.2), (0.25, 0.05)]):
        w = verdict.workers[f"boss{j}"]
        assert w.false_accept.interval[0] - 0.02 < fa < w.false_accept.interval[1] + 0.02
        assert w.false_reject.interval[0] - 0.02 < fr < w.false_reject.interval[1] + 0.02


def test_an_internal_node_without_input_reports_observed_rates_from_gold_only():
    frame = tree_labels(np.random.default_rng(11), tasks=400, with_input=False).drop(columns="input")
    fit = fit_rates(frame, SPEC)
    verdict = fit.evaluators["verdict"]
    assert (verdict.rates, verdict.reference, verdict.written) == ("observed", "truth", False)
    frame["gold"] = frame.groupby("task").gold.transform("max")  # an item's gold may be on any of its rows
    gold = frame.dropna(subset=["gold"])
    assert verdict.unused == len(frame) - len(gold) > 0 and verdict.em_items == 0
    on = gold[gold.gold == 0]
    k = int(on.label.sum())
    assert verdict.false_accept.beta == (1 + k, 1 + len(on) - k)  # the closed form: labels against the truth
    spec = fit.fitted_spec()
    assert "false_accept" not in spec["nodes"]["verdict"] and "uncertainty" not in spec
    text = fit.dumps_spec()
    assert "# Not written: verdict: internal, without input" in text
    assert "give observed rates only, P(V=1 | Y=0) and P(V=0 | Y=1)" in " ".join(text.replace("\n#", "").split())
    assert f"#   verdict: false_accept {verdict.false_accept.estimate:.4g} [" in text


def test_input_on_a_leaf_is_an_input_error(tmp_path):
    path = write_csv(tmp_path / "labels.csv", "task,node,worker,label,input\nt1,heat,ann,1,\nt2,heat,ann,0,1\n")
    with pytest.raises(SpecError, match=r"labels.csv: line 3: column 'input': node 'heat' is a leaf.*give its truth "
                       "as gold"):  # fmt: skip
        fit_rates(path, SPEC)


# ----------------------------------------------------------------- the fitted spec

def fitted_example(spec=SPEC, **kwargs) -> Fit:
    rng = np.random.default_rng(12)
    heat, _ = simulate(rng, tasks=200, gold=0.2)
    power, _ = simulate(rng, tasks=200, gold=0.2, node="power")
    return fit_rates(pd.concat([heat, power], ignore_index=True), spec, **kwargs)


def test_the_fitted_spec_has_the_posterior_means_and_an_uncertainty_table():
    fit = fitted_example()
    text = fit.dumps_spec()
    doc = tomllib.loads(text)
    assert doc == fit.fitted_spec()
    assert doc["defaults"] == SPEC["defaults"] and doc["nodes"]["verdict"] == SPEC["nodes"]["verdict"]
    for v in ("heat", "power"):
        node = fit.evaluators[v]
        assert doc["nodes"][v]["false_accept"] == node.false_accept.estimate
        assert doc["nodes"][v]["false_reject"] == node.false_reject.estimate
        assert doc["uncertainty"]["nodes"][v] == {"false_accept": {"beta": list(node.false_accept.beta)},
                                                  "false_reject": {"beta": list(node.false_reject.beta)}}  # fmt: skip
        a, b = node.false_accept.beta
        assert f"[uncertainty.nodes.{v}]\nfalse_accept = {{ beta = [{a!r}, {b!r}] }}\n" in text
    assert set(doc["uncertainty"]) == {"nodes"}
    assert text.startswith("# Fitted by rrm-theory ") and "Not labelled, kept as in the spec: verdict." in text
    tree = from_dict({k: v for k, v in doc.items() if k != "uncertainty"})
    assert tree.nodes["heat"]["false_accept"] == fit.evaluators["heat"].false_accept.estimate
    assert tree.nodes["verdict"]["false_accept"] == 0.1  # unlabelled: as in the spec


def test_node_ids_that_toml_must_quote_are_written_quoted():
    spec = {"defaults": {"error": 0.1, "prior": 0.5},
            "nodes": {"root": {"rule": "all"}, "v1.2 \"x\"": {"parent": "root"}, "b": {"parent": "root"}}}  # fmt: skip
    frame, _ = simulate(np.random.default_rng(16), tasks=50, gold=1.0, node='v1.2 "x"')
    fit = fit_rates(frame, spec)
    text = fit.dumps_spec()
    assert '[uncertainty.nodes."v1.2 \\"x\\""]' in text
    assert tomllib.loads(text) == fit.fitted_spec()


def test_error_and_elo_shorthands_are_replaced_by_the_two_rates():
    spec = {"target_elo": 1500, "defaults": {"prior": 0.5, "error": 0.1},
            "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict", "error": 0.3},
                      "power": {"parent": "verdict", "elo": 1400, "false_reject": 0.1}}}  # fmt: skip
    doc = tomllib.loads(fitted_example(spec).dumps_spec())
    assert set(doc["nodes"]["heat"]) == {"parent", "false_accept", "false_reject"}
    assert set(doc["nodes"]["power"]) == {"parent", "false_accept", "false_reject"}
    from_dict({k: v for k, v in doc.items() if k != "uncertainty"})


def test_a_generated_spec_is_written_out_node_by_node(tmp_path):
    spec = {"defaults": {"error": 0.1, "prior": 0.5}, "generate": {"shape": "balanced", "depth": 1, "branching": 2,
                                                                   "rule": "any"}}  # fmt: skip
    frame, _ = simulate(np.random.default_rng(13), tasks=100, gold=0.5, node="L1_0")
    fit = fit_rates(frame, spec)
    doc = tomllib.loads(fit.dumps_spec())
    assert fit.generated and "generate" not in doc and set(doc["nodes"]) == {"L0_0", "L1_0", "L1_1"}
    assert "[generate] table is written out node by node" in fit.dumps_spec()
    assert doc["nodes"]["L1_0"]["false_accept"] == fit.evaluators["L1_0"].false_accept.estimate
    assert doc["nodes"]["L1_1"]["false_accept"] == 0.1


def test_a_spec_file_is_kept_as_written_and_the_fitted_file_reloads(tmp_path):
    spec = spec_file(tmp_path, {**SPEC, "blind_spots": {"shared": {"probability": 0.01, "members": ["heat", "power"]}}})
    fit = fitted_example(spec)
    assert fit.spec_source == str(spec) and fit.overridden == ("heat", "power")
    assert "counted twice when the fitted spec is analysed" in " ".join(fit.dumps_spec().replace("\n#", "").split())
    out = tmp_path / "fitted.toml"
    fit.write_spec(out)
    doc = tomllib.loads(out.read_text())
    assert doc["blind_spots"] == {"shared": {"probability": 0.01, "members": ["heat", "power"]}}
    with pytest.raises(SpecError, match="written as TOML"):
        fit.write_spec(tmp_path / "fitted.json")
    skip_unless_the_loader_takes_distributions()
    tree = load_spec(out)
    assert tree.nodes["heat"]["false_accept"] == fit.evaluators["heat"].false_accept.estimate
    assert tree.nodes["verdict"]["false_accept"] == 0.1
    written = (tree.graph.get("uncertainty") or {}).get("nodes", {}).get("heat", {}).get("false_accept")
    if written is not None:  # how the loader keeps distributions is its own; the numbers are the fit's
        assert (written.a, written.b) == fit.evaluators["heat"].false_accept.beta


def skip_unless_the_loader_takes_distributions():
    """The loader's [uncertainty] and inline distributions are being added alongside this module."""
    try:
        from_dict({"defaults": {"error": 0.1, "prior": 0.5}, "nodes": {"a": {"deception": {"beta": [1.0, 9.0]}}},
                   "uncertainty": {"nodes": {"a": {"false_accept": {"beta": [1.0, 2.0]}}}}})  # fmt: skip
    except SpecError:
        pytest.skip("the spec loader does not accept [uncertainty] and distributions yet")


def test_distributions_in_the_input_spec_are_kept_inline(tmp_path):
    skip_unless_the_loader_takes_distributions()
    spec = {"defaults": {"false_reject": 0.1, "prior": 0.5, "false_accept": {"uniform": [0.01, 0.2]}},
            "nodes": {"verdict": {"rule": "all"}, "heat": {"parent": "verdict", "false_reject": {"beta": [2.0, 9.0]}},
                      "power": {"parent": "verdict", "deception": {"beta": [1.0, 99.0]}}},
            "uncertainty": {"nodes": {"verdict": {"false_accept": {"beta": [1.0, 19.0]}}}}}  # fmt: skip
    frame, _ = simulate(np.random.default_rng(18), tasks=100, gold=0.5)
    fit = fit_rates(frame, spec)
    text = fit.dumps_spec()
    assert "false_accept = { uniform = [0.01, 0.2] }\n" in text and "deception = { beta = [1.0, 99.0] }\n" in text
    doc = tomllib.loads(text)
    assert doc["nodes"]["heat"]["false_reject"] == fit.evaluators["heat"].false_reject.estimate
    assert doc["uncertainty"]["nodes"]["verdict"] == {"false_accept": {"beta": [1.0, 19.0]}}
    heat = fit.evaluators["heat"]
    assert doc["uncertainty"]["nodes"]["heat"]["false_reject"] == {"beta": list(heat.false_reject.beta)}
    path = tmp_path / "fitted.toml"
    fit.write_spec(path)
    load_spec(path)


# ----------------------------------------------------------------- the table

def test_read_labels_gives_a_checked_frame_indexed_by_line(tmp_path):
    path = write_csv(tmp_path / "labels.csv", "task,node,worker,label,gold\n\nt1,heat,ann,TRUE,1.0\n"
                     "t1,heat,bob,0\n,,,,\n\"t\n2\",heat,ann,false,\nt3,power,bob,1,0\n")  # fmt: skip
    frame = read_labels(path)
    assert list(frame.index) == [3, 4, 6, 8] and frame.index.name == "line"
    assert list(frame.label) == [1, 0, 0, 1] and frame.label.dtype == np.int8
    assert list(frame.gold.astype(object).where(frame.gold.notna(), None)) == [1, None, None, 0]
    assert frame.task.iloc[2] == "t\n2" and frame.attrs["source"] == str(path)
    fit = fit_rates(frame, SPEC)
    assert fit.to_dict() == fit_rates(path, SPEC).to_dict()


@pytest.mark.parametrize("text, message", [
    ("task,node,label\nt1,heat,1\n", r"line 1: column 'worker' is missing \(the header has task, node, label"),
    ("task,node,worker,label,glod\n", r"line 1: unknown column 'glod' \(did you mean 'gold'\?"),
    ("task,node,worker,label,label\n", r"line 1: column 'label' is named twice"),
    ("", r"line 1 is empty: the first line names the columns"),
    ("task,node,worker,label\n", r"no labels \(the table has a header and no rows\)"),
    ("task,node,worker,label\nt1,heat,ann,2\n", r"line 2: column 'label': '2' is not a binary label \(0, 1, true or "
                                                r"false\)"),
    ("task,node,worker,label\nt1,heat,ann,1\nt2,heat,,1\n", r"line 3: column 'worker' is empty: every label names "
                                                            "the worker who gave it"),
    ("task,node,worker,label\nt1,heat,ann,\n", r"line 2: column 'label': worker 'ann' gives no label \(the cell is "
                                               r"empty\)"),
    ("task,node,worker,label,gold\nt1,heat,ann,1,x\n", r"line 2: column 'gold': 'x' is not a binary gold value"),
    ("task,node,worker,label\nt1,hat,ann,1\n", r"line 2: column 'node': 'hat' is not a node of spec 'two-helpers' "
                                               r"\(did you mean 'heat'\?\)"),
    ("task,node,worker,label\nt1,heat,ann,1\nt1,heat,ann,0\n", r"line 3: column 'worker': worker 'ann' labels task "
                                                               r"'t1' at node 'heat' a second time \(first on line 2\)"),
    ("task,node,worker,label,gold\nt1,heat,ann,1,1\nt1,heat,bob,1,0\n", r"line 3: column 'gold': gold=0 for task "
                                                                        r"'t1' at node 'heat', but line 2 gives gold=1"),
    ("task,node,worker,label\nt1,heat,ann,1,1\n", r"line 2: 5 cells, but the header names 4 columns"),
    ('task,node,worker,label\n"t\n1",heat,ann,1\nt2,heat,ann,1,1\n', r"line 4: 5 cells, but the header names 4"),
    ('task,node,worker,label\n"t\n1",heat,ann,1\nt2,heat,ann,7\n', r"line 4: column 'label': '7' is not a binary"),
])  # fmt: skip
def test_bad_tables_are_input_errors_naming_the_file_line_and_column(tmp_path, text, message):
    path = write_csv(tmp_path / "labels.csv", text)
    with pytest.raises(SpecError, match=r"^" + str(path).replace(".", r"\.") + ": " + message):
        fit_rates(path, SPEC)


def test_the_first_bad_row_is_reported(tmp_path):
    path = write_csv(tmp_path / "labels.csv", "task,node,worker,label\nt1,heat,ann,1\nt2,heat,bob,9\nt3,heat,,1\n")
    with pytest.raises(SpecError, match="line 3: column 'label'"):
        read_labels(path)


def test_a_dataframe_is_checked_and_its_rows_named_by_index():
    frame = pd.DataFrame({"task": [1, 2, 3], "node": "heat", "worker": ["a", "b", None], "label": [True, False, True]})
    with pytest.raises(SpecError, match=r"^labels: row 2: column 'worker' is empty"):
        fit_rates(frame, SPEC)
    frame.attrs["source"] = "mine"
    with pytest.raises(SpecError, match=r"^mine: row 1: column 'label': '0.5' is not a binary label"):
        fit_rates(frame.assign(worker="a", label=[1.0, 0.5, 1.0]), SPEC)
    with pytest.raises(SpecError, match=r"^mine: columns: unknown column 'extra'"):
        fit_rates(frame.assign(extra=1), SPEC)
    fit = fit_rates(frame.assign(worker="a"), SPEC)
    assert fit.source == "mine" and fit.evaluators["heat"].labels == 3


def test_only_regular_files_are_read(tmp_path):
    with pytest.raises(SpecError, match=r"not a regular file \(a directory\); a label table is a \.csv file"):
        fit_rates(tmp_path, SPEC)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match=r"pipe\.csv: not a regular file \(a FIFO\)"):
        fit_rates(fifo, SPEC)
    with pytest.raises(SpecError, match=r"gone\.csv: cannot read: No such file"):
        fit_rates(tmp_path / "gone.csv", SPEC)
    (tmp_path / "latin1.csv").write_bytes(b"task,node,worker,label\nt\xe9,heat,ann,1\n")
    with pytest.raises(SpecError, match=r"not UTF-8 text \(byte 24, on line 2\)"):
        fit_rates(tmp_path / "latin1.csv", SPEC)


def test_tab_separated_files_with_windows_line_ends_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_bytes("\ufefftask\tnode\tworker\tlabel\r\nt1\theat\tann\t1\r\nt2\theat\tann\t0\r\n".encode())
    frame = read_labels(path)
    assert list(frame.index) == [2, 3] and list(frame.columns) == ["task", "node", "worker", "label"]


# ----------------------------------------------------------------- the command

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rrm-theory")
    add_fit_parser(p.add_subparsers(dest="command"), "epilog")
    return p


def cli(argv):
    out, err = io.StringIO(), io.StringIO()
    code = run_fit(parser().parse_args(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def example_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(14)
    heat, _ = simulate(rng, tasks=150, gold=0.2)
    verdict = tree_labels(rng, tasks=100)
    path = tmp_path / "labels.csv"
    pd.concat([heat, verdict], ignore_index=True).to_csv(path, index=False)
    return path, spec_file(tmp_path)


def test_fit_json_matches_its_schema(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    labels, spec = example_files(tmp_path)
    code, out, err = cli(["fit", str(labels), "--spec", str(spec), "--json", "--level", "0.9"])
    assert code == 0 and err == "" and out.count("\n") == 1
    obj = json.loads(out)
    schema = json.loads((SCHEMAS / "fit.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(obj)
    assert obj["schema"] == "rrm-theory/fit/1" and obj["level"] == 0.9 and obj["unlabelled"] == ["power"]
    assert list(obj["evaluators"]) == ["verdict", "heat"]
    heat = obj["evaluators"]["heat"]
    assert set(heat["false_accept"]) >= {"estimate", "interval"} and heat["labels"] == 450
    assert set(heat["workers"]) == {f"w{j}" for j in range(5)}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({**obj, "surprise": 1})


def test_fit_prints_a_table_per_node_and_writes_the_fitted_spec(tmp_path):
    labels, spec = example_files(tmp_path)
    out_path = tmp_path / "fitted.toml"
    code, out, err = cli(["fit", str(labels), "--spec", str(spec), "--out", str(out_path)])
    assert code == 0 and err == ""
    assert "heat (leaf: channel rates, written): 450 labels on 150 items, " in out
    assert "verdict (internal, against its input: channel rates, written)" in out
    assert "  (pooled)  " in out and "  w4  " in out and f"fitted spec written to {out_path}" in out
    doc = tomllib.loads(out_path.read_text())
    assert set(doc["uncertainty"]["nodes"]) == {"verdict", "heat"}
    with pytest.raises(SpecError, match="--out writes the fitted spec as TOML"):
        cli(["fit", str(labels), "--spec", str(spec), "--out", str(tmp_path / "fitted.json")])


def test_registering_the_command_imports_only_the_standard_library():
    import subprocess
    import sys

    from rrm_theory import _cli_fit
    from rrm_theory.fit import DEFAULT_MAX_ITER

    assert _cli_fit.DEFAULT_MAX_ITER == DEFAULT_MAX_ITER
    code = ("import argparse, sys; from rrm_theory._cli_fit import add_fit_parser; "
            "add_fit_parser(argparse.ArgumentParser().add_subparsers(), ''); "
            "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'networkx') if m in sys.modules))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_fit_options_parse():
    args = parser().parse_args(["fit", "l.csv", "--spec", "s.toml", "--prior", "0.5,0.5"])
    assert args.prior == (0.5, 0.5) and args.level == 0.95 and args.out is None and not args.json
    for bad in (["--level", "1"], ["--prior", "1"], ["--prior", "0,1"]):
        with pytest.raises(SystemExit):
            parser().parse_args(["fit", "l.csv", "--spec", "s.toml", *bad])
    with pytest.raises(SystemExit):
        parser().parse_args(["fit", "l.csv"])  # --spec is required


def test_bad_input_through_the_command_is_a_spec_error(tmp_path):
    path = write_csv(tmp_path / "labels.csv", "task,node,worker,label\nt1,heat,ann,yes\n")
    with pytest.raises(SpecError, match="line 2: column 'label'"):
        cli(["fit", str(path), "--spec", str(spec_file(tmp_path))])
