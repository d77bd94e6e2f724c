"""How good are the answers? Question files (``questions``: EM/F1, retrieval, citations, abstention,
calibration, latency) and conversation files (``conversations``: first turns and follow-ups, with and
without the history).

    report = evaluate("eval/seed_questions.jsonl")
    report = evaluate_conversations("eval/seed_conversations.jsonl")
"""

from qa.evaluation.conversations import (
    ConversationReport,
    EvalConversation,
    TurnFigures,
    TurnResult,
    conversation_corpus,
    evaluate_conversations,
    format_conversation_report,
    inside,
    is_conversation_file,
    load_conversations,
    same_article,
)
from qa.evaluation.questions import (
    MODES,
    RIGHT_F1,
    Calibration,
    EvalQuestion,
    QuestionResult,
    Report,
    cache_dir,
    calibrate_min_score,
    contains_answer,
    evaluate,
    exact_match,
    f1,
    format_report,
    load_questions,
    percentile,
    plot_paths,
    score_prediction,
    squad_corpus,
    write_report,
)

__all__ = [
    "MODES", "RIGHT_F1", "Calibration", "ConversationReport", "EvalConversation", "EvalQuestion", "QuestionResult",
    "Report", "TurnFigures", "TurnResult", "cache_dir", "calibrate_min_score", "contains_answer",
    "conversation_corpus", "evaluate", "evaluate_conversations", "exact_match", "f1", "format_conversation_report",
    "format_report", "inside", "is_conversation_file", "load_conversations", "load_questions", "percentile",
    "plot_paths", "same_article", "score_prediction", "squad_corpus", "write_report",
]
