"""Looking suites up: the built-in suites are imported on first use, so that importing
:mod:`assay.suites` for its types stays light."""

from __future__ import annotations

from assay._util.errors import UsageError
from assay.suites._registry import SuiteSpec, registered_suites


def get_suite(suite_id: str) -> SuiteSpec:
    """The suite ``suite_id``; a usage error naming the known suites if there is none."""
    suites = _suites()
    try:
        return suites[suite_id]
    except KeyError:
        known = ", ".join(sorted(suites))
        raise UsageError(f"unknown suite {suite_id!r}", hint=f"known suites: {known}") from None


def all_suites() -> list[SuiteSpec]:
    """Every registered suite, by id."""
    suites = _suites()
    return [suites[k] for k in sorted(suites)]


def _suites() -> dict[str, SuiteSpec]:
    import assay.suites._builtin  # noqa: F401  (importing the modules declares the suites)

    return registered_suites()
