"""The pure maths of annotation: agreement coefficients, consolidation of answers, query specificity and priority,
and the decisions of the answer path (which question a pass asks, adaptive overlap over a candidate's questions).

Plain standard-library Python over ``(item, annotator, value)`` answer tuples, no Django import; the Django layer
feeds these functions and stores their output.
"""

from annotation.maths.agreement import (
    answers_by_item,
    cohen_kappa,
    gwet_ac1,
    krippendorff_alpha_nominal,
    pairwise_cohen_kappa,
    percent_agreement,
)
from annotation.maths.consolidation import (
    DS_PRIOR_CORRECT,
    DS_PRIOR_WRONG,
    Consolidated,
    dawid_skene,
    gold_accuracy,
    majority,
)
from annotation.maths.overlap import OverlapDecision, overlap_decide
from annotation.maths.passes import pass_question
from annotation.maths.specificity import (
    DEFAULT_K_MAX,
    DEFAULT_PRIORITY_WEIGHTS,
    SUPPORT_SATURATION,
    category_entropy,
    priority,
    query_specificity,
)

__all__ = [
    "DEFAULT_K_MAX",
    "DEFAULT_PRIORITY_WEIGHTS",
    "DS_PRIOR_CORRECT",
    "DS_PRIOR_WRONG",
    "SUPPORT_SATURATION",
    "Consolidated",
    "OverlapDecision",
    "answers_by_item",
    "category_entropy",
    "cohen_kappa",
    "dawid_skene",
    "gold_accuracy",
    "gwet_ac1",
    "krippendorff_alpha_nominal",
    "majority",
    "overlap_decide",
    "pairwise_cohen_kappa",
    "pass_question",
    "percent_agreement",
    "priority",
    "query_specificity",
]
