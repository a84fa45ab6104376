"""Inspect entry point: ``inspect eval assay/<suite>`` finds assay's tasks here.

Importing the built-in suites declares each task with Inspect (and each suite with
assay's registry).
"""

import assay.suites._builtin  # noqa: F401
