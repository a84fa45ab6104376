"""Campaigns: many targets audited against one or more plans, in-process or on a Ray
cluster, with one comparison report."""

from assay.campaign._compare import AuditEntry, comparison_rows, render_markdown
from assay.campaign._ray import DispatchStats, Retry
from assay.campaign._run import CampaignOutcome, Executor, run_campaign
from assay.campaign._spec import Campaign, CampaignTarget, load_campaign

__all__ = [
    "AuditEntry",
    "Campaign",
    "CampaignOutcome",
    "CampaignTarget",
    "DispatchStats",
    "Executor",
    "Retry",
    "comparison_rows",
    "load_campaign",
    "render_markdown",
    "run_campaign",
]
