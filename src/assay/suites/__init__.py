"""Test suites: Inspect tasks with declared risk areas, tiers, versions and data digests."""

from assay.suites._catalog import all_suites, get_suite
from assay.suites._registry import (
    EndpointFeatures,
    MetricKind,
    MetricSpec,
    RunChoice,
    SuiteSpec,
    Summary,
    grey_or_black_mc,
    rate_metric,
    rate_summary,
    suite,
)

__all__ = [
    "EndpointFeatures",
    "MetricKind",
    "MetricSpec",
    "RunChoice",
    "SuiteSpec",
    "Summary",
    "all_suites",
    "get_suite",
    "grey_or_black_mc",
    "rate_metric",
    "rate_summary",
    "suite",
]
