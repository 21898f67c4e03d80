"""``rolecall eval``: a fixed suite of role-plays, held under any settings, scored by what the turns say."""

from rolecall.evaluation.runner import Evaluation, eval_label
from rolecall.evaluation.scoring import Scorecard, SideScore
from rolecall.evaluation.suite import Case, Suite, load_suite, overrides_from

__all__ = ["Case", "Evaluation", "Scorecard", "SideScore", "Suite", "eval_label", "load_suite", "overrides_from"]
