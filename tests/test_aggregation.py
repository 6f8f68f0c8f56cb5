from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats

from geochem_bench.board.aggregation import (
    Interval,
    SuiteScore,
    interquartile_mean,
    overall_ranks,
    paired_difference,
    rank,
    score_suite,
    score_task,
)
from geochem_bench.evaluation.records import (
    DatasetInfo,
    ErrorBlocks,
    Hardware,
    ResultRecord,
    SubmissionInfo,
    TaskInfo,
)

HOST = Hardware(platform="test", python="3.11", cpu="test", n_cpus=1)


def make_record(
    fold: int,
    sse: list[float],
    sse_reference: list[float],
    n: list[int] | None = None,
    n_folds: int = 1,
    name: str = "model",
    task_id: str = "toy/cu/s4/grid",
    seed: int = 0,
    stochastic: bool = False,
) -> ResultRecord:
    """A scored record of one element whose metrics agree with its error blocks."""
    n = n or [1] * len(sse)
    rmse = float(np.sqrt(sum(sse) / sum(n)))
    skill = 1.0 - float(np.sqrt(sum(sse) / sum(sse_reference)))
    return ResultRecord(
        status="ok",
        submission=SubmissionInfo(name=name, version="1", stochastic=stochastic),
        package_version="0",
        benchmark_version="1.0",
        task=TaskInfo(
            id=task_id,
            version="1",
            scene="toy",
            elements=["Cu"],
            scale=4,
            protocol=task_id.rsplit("/", 1)[-1],
            n_folds=n_folds,
        ),
        fold=fold,
        dataset=DatasetInfo(scene="toy", version="1", sha256={"truth": "0"}),
        metrics={
            "Cu": {"rmse": rmse, "skill": skill, "n": float(sum(n))},
            "overall": {"skill": skill},
        },
        errors={"Cu": ErrorBlocks(n=n, sse=sse, sse_reference=sse_reference)},
        hardware=HOST,
        seed=seed,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_iqm_matches_the_trimmed_mean_and_a_hand_value():
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    assert interquartile_mean(x) == pytest.approx(stats.trim_mean(x, 0.25))
    # n = 5: a quarter is 1.25 values, so the 2nd and 4th sorted values count 3/4
    assert interquartile_mean(np.array([9.0, 1.0, 2.0, 3.0, 4.0])) == pytest.approx(
        (0.75 * 2 + 3 + 0.75 * 4) / 2.5
    )
    rows = rng.normal(size=(3, 8))
    assert np.allclose(interquartile_mean(rows, axis=-1), [stats.trim_mean(r, 0.25) for r in rows])
    with pytest.raises(ValueError, match="undefined"):
        interquartile_mean(np.array([]))


def test_point_estimate_is_the_mean_of_the_fold_skills():
    records = [
        make_record(0, [1.0, 2.0], [2.0, 2.0], n_folds=2),
        make_record(1, [4.0, 1.0], [2.0, 4.0], n_folds=2),
    ]
    score = score_task(records, n_boot=200)
    expected = np.mean([r.metrics["overall"]["skill"] for r in records])
    assert score.skill.estimate == pytest.approx(expected)
    assert score.rmse["Cu"].estimate == pytest.approx(
        np.mean([r.metrics["Cu"]["rmse"] for r in records])
    )


def test_bootstrap_distribution_matches_exact_enumeration():
    """With 4 blocks the bootstrap has 4^4 equally likely resamples: enumerate them all."""
    sse, ref, n = [0.5, 3.0, 1.0, 6.0], [1.0, 2.0, 2.5, 4.0], [3, 5, 2, 6]
    exact_skill, exact_rmse = [], []
    for draw in itertools.product(range(4), repeat=4):
        s = sum(sse[i] for i in draw)
        exact_skill.append(1 - np.sqrt(s / sum(ref[i] for i in draw)))
        exact_rmse.append(np.sqrt(s / sum(n[i] for i in draw)))
    score = score_task([make_record(0, sse, ref, n)], n_boot=40_000)
    grid = np.linspace(min(exact_skill), max(exact_skill), 25)
    exact_cdf = [np.mean(np.array(exact_skill) <= g) for g in grid]
    boot_cdf = [np.mean(score.replicates <= g) for g in grid]
    assert np.max(np.abs(np.array(exact_cdf) - boot_cdf)) < 0.01
    for bound, q in ((score.skill.low, 0.025), (score.skill.high, 0.975)):
        spread = max(exact_skill) - min(exact_skill)
        assert bound == pytest.approx(np.quantile(exact_skill, q), abs=0.03 * spread)
    assert score.rmse["Cu"].low == pytest.approx(np.quantile(exact_rmse, 0.025), abs=0.05)


def test_bootstrap_is_paired_across_submissions_and_reproducible():
    a = score_task([make_record(0, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0], name="a")], n_boot=500)
    b = score_task([make_record(0, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0], name="b")], n_boot=500)
    c = score_task([make_record(0, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])], n_boot=500, seed=1)
    assert np.array_equal(a.replicates, b.replicates)
    assert not np.array_equal(a.replicates, c.replicates)


def test_missing_and_failed_folds_are_named():
    with pytest.raises(ValueError, match=r"folds \[1\] have no record"):
        score_task([make_record(0, [1.0], [1.0], n_folds=2)])


def test_suite_score_is_the_iqm_with_a_stratified_interval():
    tasks = [
        score_task(
            [make_record(0, [s, 1.0, 2.0], [2.0, 2.0, 2.0], task_id=f"toy/t{i}/s4/grid")],
            n_boot=300,
        )
        for i, s in enumerate([0.5, 1.0, 1.5, 2.0, 4.0])
    ]
    suite = score_suite(tasks, [t.task_id for t in tasks])
    assert suite.iqm.estimate == pytest.approx(
        interquartile_mean(np.array([t.skill.estimate for t in tasks]))
    )
    assert suite.iqm.low < suite.iqm.estimate < suite.iqm.high
    assert suite.complete
    assert not score_suite(tasks[:3], [t.task_id for t in tasks]).complete


def _suite(name: str, low: float, high: float, complete: bool = True) -> SuiteScore:
    return SuiteScore(name, "1", Interval((low + high) / 2, low, high), 2 if complete else 1, 2)


def test_seeds_are_averaged_and_resampled_within_each_fold():
    blocks = list(np.random.default_rng(0).uniform(0.9, 1.1, 40))
    ref = [2.0] * 40
    runs = [[b * f for b in blocks] for f in (0.6, 0.9, 1.3)]  # three seeds, three skills
    records = [make_record(0, sse, ref, seed=k, stochastic=True) for k, sse in enumerate(runs)]
    score = score_task(records, n_boot=3000)
    per_seed = [r.metrics["overall"]["skill"] for r in records]
    assert score.skill.estimate == pytest.approx(np.mean(per_seed))
    assert score.n_seeds == 3
    one = score_task([make_record(0, runs[1], ref)], n_boot=3000)
    # seed variance widens the interval far beyond what the blocks alone give one seed
    assert (score.skill.high - score.skill.low) > 3 * (one.skill.high - one.skill.low)
    # a replicate drawing the worst seed three times reaches about its skill, no lower
    assert score.replicates.min() > min(per_seed) - 0.05


def test_a_stochastic_submission_needs_three_seeds():
    one = make_record(0, [1.0, 2.0], [2.0, 2.0], stochastic=True)
    with pytest.raises(ValueError, match=r"ranked on seeds \[0, 1, 2\]"):
        score_task([one])
    deterministic = make_record(0, [1.0, 2.0], [2.0, 2.0])
    assert score_task([deterministic], n_boot=100).n_seeds == 1


def test_folds_need_the_same_seeds():
    records = [
        make_record(0, [1.0], [2.0], n_folds=2, seed=0),
        make_record(0, [1.0], [2.0], n_folds=2, seed=1),
        make_record(1, [1.0], [2.0], n_folds=2, seed=0),
    ]
    with pytest.raises(ValueError, match="same seeds"):
        score_task(records)


def test_ranks_come_from_paired_differences():
    """Two submissions whose intervals overlap are still ordered when one is better on every
    resampled replicate (the paired difference excludes 0)."""
    ref = [2.0, 5.0, 2.0, 9.0, 3.0, 4.0]
    base = [1.0, 4.0, 2.0, 8.0, 2.5, 1.0]
    worse = [v * 1.05 for v in base]
    a = score_task([make_record(0, base, ref, name="a")], n_boot=2000)
    b = score_task([make_record(0, worse, ref, name="b")], n_boot=2000)
    sa, sb = score_suite([a], [a.task_id]), score_suite([b], [b.task_id])
    assert sa.iqm.overlaps(sb.iqm)  # side by side the intervals cannot tell them apart
    ranked = rank([sb, sa])
    assert [(s.submission, s.rank) for s in ranked] == [("a", 1), ("b", 2)]


def test_overall_rank_is_the_mean_of_per_protocol_ranks():
    rows = [
        replace(_suite("a", 0.5, 0.6), protocol="grid", rank=1),
        replace(_suite("b", 0.1, 0.2), protocol="grid", rank=2),
        replace(_suite("a", 0.1, 0.2), protocol="points", rank=3),
        replace(_suite("b", 0.5, 0.6), protocol="points", rank=1),
        replace(_suite("c", 0.5, 0.6), protocol="points", rank=1),  # no grid rank
    ]
    overall = overall_ranks(rows, ["grid", "points"])
    assert [(o.submission, o.mean_rank) for o in overall] == [("b", 1.5), ("a", 2.0)]
    assert overall[0].ranks == {"grid": 2, "points": 1}


def test_ranks_tie_when_intervals_overlap():
    """Without paired replicates (no error blocks), disjoint intervals decide."""
    ranked = rank(
        [
            _suite("c", 0.1, 0.2),
            _suite("b", 0.45, 0.55),
            _suite("a", 0.5, 0.7),
            _suite("d", 0.15, 0.5),
            _suite("partial", 0.9, 1.0, complete=False),
        ]
    )
    assert [(s.submission, s.rank) for s in ranked] == [
        ("a", 1),  # overlaps b
        ("b", 1),  # overlaps a and d
        ("d", 1),  # overlaps b and c
        ("c", 3),  # a and b lie wholly above it
        ("partial", None),  # incomplete: shown, never ranked
    ]


def test_paired_difference_is_narrower_than_the_two_intervals():
    sse_a, sse_b, ref = [1.0, 4.0, 2.0, 8.0], [1.1, 4.4, 2.2, 8.8], [2.0, 5.0, 2.0, 9.0]
    a = score_task([make_record(0, sse_a, ref, name="a")], n_boot=2000)
    b = score_task([make_record(0, sse_b, ref, name="b")], n_boot=2000)
    diff = paired_difference(a, b)
    assert diff.estimate == pytest.approx(a.skill.estimate - b.skill.estimate)
    assert 0 < diff.low <= diff.high  # b errs 10 % more in every block: a is better, surely
    assert diff.high - diff.low < (a.skill.high - a.skill.low) / 2
    same = paired_difference(a, a)
    assert same.estimate == 0 and same.low == 0 and same.high == 0
    other = score_task([make_record(0, sse_a, ref, task_id="toy/zn/s4/grid")], n_boot=2000)
    with pytest.raises(ValueError, match="cannot pair"):
        paired_difference(a, other)


def test_seeds_are_fixed_not_chosen():
    """A stochastic submission is ranked on seeds 0, 1, 2; a deterministic one on seed 0."""
    lucky = [make_record(0, [1.0, 2.0], [2.0, 2.0], seed=s, stochastic=True) for s in (0, 1, 7)]
    with pytest.raises(ValueError, match=r"ranked on seeds \[0, 1, 2\]"):
        score_task(lucky)
    with pytest.raises(ValueError, match=r"ranked on seeds \[0\]"):
        score_task([make_record(0, [1.0, 2.0], [2.0, 2.0], seed=16)])
    mixed = [make_record(0, [1.0], [2.0], seed=s, stochastic=s > 0) for s in (0, 1, 2)]
    with pytest.raises(ValueError, match="disagree"):
        score_task(mixed)


def test_clones_count_once_in_ranks():
    ref = [2.0, 5.0, 2.0, 9.0, 3.0, 4.0]
    good = [v * 0.5 for v in ref]
    bad = [v * 0.9 for v in ref]
    suites = [
        score_suite([score_task([make_record(0, sse, ref, name=name)], n_boot=500)], ["t"])
        for name, sse in (("a", good), ("a2", good), ("a3", good), ("b", bad))
    ]
    suites = [replace(s, n_tasks=1, n_suite_tasks=1) for s in suites]
    ranked = {s.submission: s.rank for s in rank(suites)}
    assert ranked == {"a": 1, "a2": 1, "a3": 1, "b": 2}  # not 4: the three copies are one


def test_near_copies_count_once_and_do_not_beat_each_other():
    """Red team: copies with one block's error moved by 1e-9 ranked 1-4 and pushed b to 5."""
    ref = [2.0, 5.0, 2.0, 9.0, 3.0, 4.0]
    good = [v * 0.5 for v in ref]
    bad = [v * 0.9 for v in ref]
    runs = [("a", good)]
    runs += [(f"a{k}", [good[0] * (1 + 1e-9 * k), *good[1:]]) for k in (1, 2, 3)]
    runs += [("b", bad)]
    suites = [
        score_suite([score_task([make_record(0, sse, ref, name=name)], n_boot=500)], ["t"])
        for name, sse in runs
    ]
    suites = [replace(s, n_tasks=1, n_suite_tasks=1) for s in suites]
    ranked = {s.submission: s.rank for s in rank(suites)}
    assert ranked == {"a": 1, "a1": 1, "a2": 1, "a3": 1, "b": 2}


def test_a_difference_below_the_floor_is_no_rank():
    """A real but negligible gain (0.00035 of skill, below MIN_EFFECT) ranks no one above."""
    from geochem_bench.board.aggregation import MIN_EFFECT

    ref = [2.0, 5.0, 2.0, 9.0, 3.0, 4.0]
    base = [v * 0.5 for v in ref]  # skill 1 - sqrt(0.5) = 0.2929
    tiny = [v * (1 - MIN_EFFECT) for v in base]  # skill 0.2932: 0.00035 better in every block
    clear = [v * 0.9 for v in base]  # skill 0.3292
    suites = [
        score_suite([score_task([make_record(0, sse, ref, name=name)], n_boot=500)], ["t"])
        for name, sse in (("base", base), ("tiny", tiny), ("clear", clear))
    ]
    suites = [replace(s, n_tasks=1, n_suite_tasks=1) for s in suites]
    ranked = {s.submission: s.rank for s in rank(suites)}
    assert ranked == {"clear": 1, "tiny": 2, "base": 2}
