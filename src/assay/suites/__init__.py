"""Test suites: Inspect tasks with declared risk areas, tiers, versions and data digests."""

from assay.suites._registry import MetricSpec, SuiteSpec, all_suites, get_suite, register_suite

__all__ = ["MetricSpec", "SuiteSpec", "all_suites", "get_suite", "register_suite"]
