"""Judges: automatic classifiers of model replies, and how well they agree with people.

The rule-based refusal judge decides whether a reply delivers what was asked; a plan
may name a judge model instead. Both are measured on the held-out part of a labelled
set, and that measurement travels with every rate they produce.
"""

from assay.judges._model import (
    PROMPT,
    PROMPT_VERSION,
    JudgeModel,
    model_says_refused,
    validate_model_judge,
)
from assay.judges._rules import JUDGE_ID, JUDGE_VERSION, RefusalVerdict, classify_refusal
from assay.judges._scorer import RULES, refusal_scorer, validate_judge
from assay.judges._validation import (
    ADVERSARIAL_KINDS,
    HELD_OUT,
    LABELLED_FILE,
    Confusion,
    JudgeValidation,
    KindAccuracy,
    confusion_matrix,
    labelled_replies,
    validation_record,
)

__all__ = [
    "ADVERSARIAL_KINDS",
    "HELD_OUT",
    "JUDGE_ID",
    "JUDGE_VERSION",
    "LABELLED_FILE",
    "PROMPT",
    "PROMPT_VERSION",
    "RULES",
    "Confusion",
    "JudgeModel",
    "JudgeValidation",
    "KindAccuracy",
    "RefusalVerdict",
    "classify_refusal",
    "confusion_matrix",
    "labelled_replies",
    "model_says_refused",
    "refusal_scorer",
    "validate_judge",
    "validate_model_judge",
    "validation_record",
]
