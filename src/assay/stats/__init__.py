"""Statistics for decisions: intervals first, point estimates second."""

from assay.stats._intervals import Proportion, wilson

__all__ = ["Proportion", "wilson"]
