"""What each n counts, and why it is not the number of items planned."""

from __future__ import annotations

from assay.report._counts import group_label, suite_counts, what_n_counts
from tests.report._sample import sample_report


def _suite(suite_id: str):  # type: ignore[no-untyped-def]
    report = sample_report()
    return report, next(s for s in report.suites if s.id == suite_id)


def test_n_says_what_it_counts_when_items_were_left_out() -> None:
    """Discrimination showed n=79 for 120 items scored without saying why."""
    report, suite = _suite("discrimination")
    counts = suite_counts(report, suite)
    assert (counts.used, counts.unit, counts.scored, counts.planned) == (
        79,
        "explicit-fill items",
        120,
        120,
    )
    assert counts.short == "79 of 120"
    assert (
        counts.sentence == "all 120 planned items scored; the estimate uses 79 explicit-fill items"
    )


def test_n_explains_errors_sequential_stops_and_unfinished_audits() -> None:
    report, misuse = _suite("misuse_refusal")
    assert suite_counts(report, misuse).why_unscored == (
        "2 failed with an error",
        "60 not needed: the sequential test stopped once the finding was settled",
    )
    _, hazard = _suite("hazard_knowledge")
    assert suite_counts(report, hazard).why_unscored == (
        "10 not scored: the audit did not finish (rerun it to resume)",
    )


def test_n_of_pairs_and_of_the_strongest_attack() -> None:
    report, pairs = _suite("election_evenhandedness")
    assert what_n_counts(pairs.metrics[0]) == "mirrored pairs"
    assert suite_counts(report, pairs).sentence.endswith("the estimate uses 20 mirrored pairs")
    _, jailbreak = _suite("jailbreak_robustness")
    counts = suite_counts(report, jailbreak)
    assert counts.unit == "requests under the strongest transformation"
    assert not counts.left_out  # the other 48 are other transformations, not dropped


def test_every_shipped_primary_metric_has_a_known_unit() -> None:
    """A suite whose estimate is not over its items must say over what."""
    from assay.stats import Metric
    from assay.suites import all_suites

    for suite in all_suites():
        metric = Metric(name=suite.primary_metric.name, value=0.0, ci=None, n=1)
        unit = what_n_counts(metric)
        if not suite.per_sample_rate and suite.id not in ("discrimination_bbq",):
            assert unit != "items" or suite.id == "discrimination", suite.id


def test_groups_name_their_key_when_a_suite_has_several() -> None:
    _, discrimination = _suite("discrimination")
    labels = [group_label(discrimination, g) for g in discrimination.breakdown]
    assert labels[0] == "explicit effect: gender[T.female]"
    assert labels[-1] == "implicit effect: race[T.Black]"
    _, jailbreak = _suite("jailbreak_robustness")
    assert group_label(jailbreak, jailbreak.breakdown[0]) == "none"
