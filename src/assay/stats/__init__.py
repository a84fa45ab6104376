"""Statistics for decisions: intervals first, point estimates second."""

from assay.stats._bootstrap import BootstrapInterval, cluster_bootstrap
from assay.stats._intervals import Proportion, wilson
from assay.stats._metric import Interval, Metric, format_value, metric_from_proportion
from assay.stats._paired import PairedDifference, paired_difference

__all__ = [
    "BootstrapInterval",
    "Interval",
    "Metric",
    "PairedDifference",
    "Proportion",
    "cluster_bootstrap",
    "format_value",
    "metric_from_proportion",
    "paired_difference",
    "wilson",
]
