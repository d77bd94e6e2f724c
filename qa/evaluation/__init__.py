"""How good are the answers? Question files (EM/F1, retrieval, citations, abstention, calibration,
latency) and conversation files (first turns and follow-ups, with and without the history).

    report = evaluate("eval/seed_questions.jsonl")
    report = evaluate_conversations("eval/seed_conversations.jsonl")

One job per module, data flowing one way: ``files`` (reading question and conversation files),
``metrics`` (EM/F1, citation checks, percentiles, the F1-best threshold), ``results`` (the rows and
reports, as dataclasses), ``plots`` and ``reports`` (terminal tables, the JSON report and its
plots), ``corpora`` (the cached corpora of files that bring their own articles), ``runs``
(questions through a ``QA``) and ``conversations`` (conversations through ``QA.chat()``).
"""

from qa.evaluation.conversations import evaluate_conversations
from qa.evaluation.corpora import cache_dir, conversation_corpus, squad_corpus
from qa.evaluation.files import (
    EvalConversation,
    EvalQuestion,
    is_conversation_file,
    load_conversations,
    load_questions,
)
from qa.evaluation.metrics import (
    RIGHT_F1,
    Calibration,
    calibrate_min_score,
    contains_answer,
    exact_match,
    f1,
    inside,
    percentile,
    same_article,
    score_prediction,
)
from qa.evaluation.reports import format_conversation_report, format_report, plot_paths, write_report
from qa.evaluation.results import ConversationReport, QuestionResult, Report, TurnFigures, TurnResult
from qa.evaluation.runs import MODES, evaluate

__all__ = [
    "MODES", "RIGHT_F1", "Calibration", "ConversationReport", "EvalConversation", "EvalQuestion", "QuestionResult",
    "Report", "TurnFigures", "TurnResult", "cache_dir", "calibrate_min_score", "contains_answer",
    "conversation_corpus", "evaluate", "evaluate_conversations", "exact_match", "f1", "format_conversation_report",
    "format_report", "inside", "is_conversation_file", "load_conversations", "load_questions", "percentile",
    "plot_paths", "same_article", "score_prediction", "squad_corpus", "write_report",
]
