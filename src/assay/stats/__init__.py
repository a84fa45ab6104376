"""Statistics for decisions: intervals first, point estimates second."""

from assay.stats._bootstrap import cluster_bootstrap
from assay.stats._combined import MaxEstimate, WidenedEstimate, folded, rate_components
from assay.stats._design import (
    Design,
    DesignedEstimate,
    DesignKind,
    OperatingCharacteristics,
    SequentialMonitor,
    operating_characteristics,
    stopping_point,
)
from assay.stats._estimates import (
    BootstrapEstimate,
    CorrectedRateEstimate,
    NormalEstimate,
    PairedDifferenceEstimate,
    RateEstimate,
    RateMethod,
    cs_p_value,
    metric_from_proportion,
    zero_width,
)
from assay.stats._exact import binomial_p_value, clopper_pearson
from assay.stats._group_sequential import GroupSequentialDesign, Spending, boundaries, spent
from assay.stats._intervals import Proportion, wilson
from assay.stats._judge import CorrectedRate, corrected_rate, metric_from_corrected
from assay.stats._metric import (
    Estimate,
    Interval,
    Metric,
    format_value,
    metric_from_estimate,
    p_value,
)
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
from assay.stats._regression import (
    LinearFit,
    LogisticFit,
    average_marginal_effect,
    firth_logistic,
    ols_cluster_robust,
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
    "BootstrapEstimate",
    "ConfidenceSequence",
    "CorrectedRate",
    "CorrectedRateEstimate",
    "Design",
    "DesignKind",
    "DesignedEstimate",
    "DetectableEffect",
    "Estimate",
    "GroupSequentialDesign",
    "Interval",
    "IntervalMethod",
    "LinearFit",
    "LogisticFit",
    "MaxEstimate",
    "Metric",
    "MultipleTests",
    "NormalEstimate",
    "OperatingCharacteristics",
    "PairedDifference",
    "PairedDifferenceEstimate",
    "Proportion",
    "RateEstimate",
    "RateMethod",
    "SequentialDecision",
    "SequentialMonitor",
    "SequentialState",
    "SequentialTest",
    "Spending",
    "WidenedEstimate",
    "average_marginal_effect",
    "benjamini_hochberg",
    "binomial_p_value",
    "boundaries",
    "clopper_pearson",
    "cluster_bootstrap",
    "confidence_sequence",
    "confidence_sequence_bounds",
    "corrected_rate",
    "cs_p_value",
    "firth_logistic",
    "folded",
    "format_value",
    "holm",
    "metric_from_corrected",
    "metric_from_estimate",
    "metric_from_proportion",
    "minimum_detectable_effect",
    "ols_cluster_robust",
    "operating_characteristics",
    "p_value",
    "paired_difference",
    "power_to_decide",
    "rate_components",
    "sample_size_to_decide",
    "samples_to_settle",
    "spent",
    "stopping_point",
    "wilson",
    "zero_width",
]
