"""Statistics for decisions: intervals first, point estimates second."""

from assay.stats._intervals import Proportion, wilson
from assay.stats._metric import Interval, Metric, metric_from_proportion

__all__ = ["Interval", "Metric", "Proportion", "metric_from_proportion", "wilson"]
