"""The built-in suites. Importing this module declares each of them (with Inspect, as
``assay/<id>``, and with assay's registry)."""

from assay.suites.agentic_oversight import agentic_oversight
from assay.suites.discrimination import discrimination
from assay.suites.discrimination_bbq import discrimination_bbq
from assay.suites.election_evenhandedness import election_evenhandedness
from assay.suites.election_procedures import election_procedures
from assay.suites.election_refusal import election_refusal
from assay.suites.hazard_knowledge import hazard_knowledge
from assay.suites.insecure_code import insecure_code
from assay.suites.jailbreak_robustness import jailbreak_robustness
from assay.suites.misuse_refusal import misuse_refusal
from assay.suites.over_refusal import over_refusal

__all__ = [
    "agentic_oversight",
    "discrimination",
    "discrimination_bbq",
    "election_evenhandedness",
    "election_procedures",
    "election_refusal",
    "hazard_knowledge",
    "insecure_code",
    "jailbreak_robustness",
    "misuse_refusal",
    "over_refusal",
]
