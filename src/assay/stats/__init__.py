"""Statistics for decisions: intervals first, point estimates second."""

from assay.stats._bootstrap import BootstrapInterval, cluster_bootstrap
from assay.stats._exact import binomial_p_value, clopper_pearson
from assay.stats._intervals import Proportion, wilson
from assay.stats._judge import CorrectedRate, corrected_rate, metric_from_corrected
from assay.stats._metric import Interval, Metric, format_value, metric_from_proportion
from assay.stats._multiple import MultipleTests, benjamini_hochberg, holm
from assay.stats._paired import PairedDifference, paired_difference
from assay.stats._power import (
    DetectableEffect,
    IntervalMethod,
    minimum_detectable_effect,
    power_to_decide,
    sample_size_to_decide,
    samples_to_settle,
)
from assay.stats._sequential import (
    ConfidenceSequence,
    SequentialDecision,
    SequentialState,
    SequentialTest,
    confidence_sequence,
    confidence_sequence_bounds,
)

__all__ = [
    "BootstrapInterval",
    "ConfidenceSequence",
    "CorrectedRate",
    "DetectableEffect",
    "Interval",
    "IntervalMethod",
    "Metric",
    "MultipleTests",
    "PairedDifference",
    "Proportion",
    "SequentialDecision",
    "SequentialState",
    "SequentialTest",
    "benjamini_hochberg",
    "binomial_p_value",
    "clopper_pearson",
    "cluster_bootstrap",
    "confidence_sequence",
    "confidence_sequence_bounds",
    "corrected_rate",
    "format_value",
    "holm",
    "metric_from_corrected",
    "metric_from_proportion",
    "minimum_detectable_effect",
    "paired_difference",
    "power_to_decide",
    "sample_size_to_decide",
    "samples_to_settle",
    "wilson",
]
