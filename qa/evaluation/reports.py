"""Reports for people and files: the terminal tables of a question or conversation evaluation, and
the JSON report written in one atomic step, with its plots beside it.

    print(format_report(report)); write_report(report, "report.json")
    print(format_conversation_report(conversation_report))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.errors import QAError
from qa.evaluation.metrics import CONFIDENT, RIGHT_F1
from qa.evaluation.plots import reliability_diagram, score_histogram
from qa.evaluation.results import NO_HISTORY, ConversationReport, Report
from qa.files import write_atomic
from qa.followup import parse_parts

# -- files ------------------------------------------------------------------------------------


def write_report(report: Report, path: str | Path, plots: bool = True) -> Path:
    """Write the report as JSON in one atomic step (a crash never leaves half a file), and with
    ``plots`` its reliability diagram and score histogram as PNG beside it (``plot_paths``)."""
    path = Path(path)
    try:
        _write_json(path, report.to_dict())
        if plots and report.rows:
            diagram, histogram = plot_paths(path)
            reliability_diagram(report, diagram)
            score_histogram(report, histogram)
    except OSError as exc:
        raise QAError(f"cannot write the report to {path}: {exc}") from None
    return path


def write_conversation_report(report: ConversationReport, path: str | Path) -> Path:
    """Write a conversation evaluation as JSON in one atomic step."""
    path = Path(path)
    try:
        _write_json(path, report.to_dict())
    except OSError as exc:
        raise QAError(f"cannot write the report to {path}: {exc}") from None
    return path


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def plot_paths(report_path: str | Path) -> tuple[Path, Path]:
    """Where ``write_report`` puts the plots of a report: ``<name>.reliability.png``, ``<name>.scores.png``."""
    path = Path(report_path)
    return path.with_suffix(".reliability.png"), path.with_suffix(".scores.png")


# -- the terminal ---------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:5.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def format_report(report: Report) -> str:
    """A compact table of the figures, for the terminal."""
    r = report
    lines = [
        f"{r.source}: {r.questions} questions ({r.answerable} answerable, {r.unanswerable} unanswerable), "
        f"{r.mode}",
        f"reader {r.reader}" + (f", embedder {r.embedder}" if r.embedder else "")
        + (f", corpus {r.corpus}" if r.corpus else "") + f", min_score {r.min_score:.3g}",
        "",
        f"{'':14}{'EM':>8}{'F1':>8}{'n':>6}",
        f"{'overall':14}{_pct(r.exact):>8}{_pct(r.f1):>8}{r.questions:>6}",
        f"{'answerable':14}{_pct(r.has_ans_exact):>8}{_pct(r.has_ans_f1):>8}{r.answerable:>6}",
        f"{'unanswerable':14}{_pct(r.no_ans_exact):>8}{_pct(r.no_ans_f1):>8}{r.unanswerable:>6}",
        "",
    ]
    if r.mode == "end-to-end":
        lines.append(f"{'retrieval recall@' + str(r.top_passages):24}{_pct(r.retrieval_recall):>8}")
    lines += [
        f"{'citation accuracy':24}{_pct(r.citation_accuracy):>8}   of {r.answered} answered",
        f"{'abstention precision':24}{_pct(r.abstention_precision):>8}   of {r.abstained} abstained",
        f"{'abstention recall':24}{_pct(r.abstention_recall):>8}   of {r.unanswerable} unanswerable",
        f"{'latency p50 / p95':24}{_ms(r.latency_p50_ms):>8} / {_ms(r.latency_p95_ms)}",
        f"{'throughput':24}{'-' if r.throughput_qps is None else f'{r.throughput_qps:.2f} q/s':>8}",
    ]
    if r.ece is not None:
        lines += ["", f"{'calibration (ECE)':24}{r.ece:>8.3f}   score = probability the answer is right (F1 >= 0.5)",
                  f"{'  score bin':14}{'answers':>9}{'mean score':>12}{'right':>8}"]
        lines += [f"  {b['low']:.1f}-{b['high']:.1f}{'':5}{b['n']:>9}{100 * b['mean_score']:>11.1f}%"
                  f"{100 * b['right']:>7.1f}%" for b in r.reliability if b["n"]]
    if r.calibration is not None:
        c = r.calibration
        lines.append(
            f"{'best min_score':24}{c.min_score:>8.3g}   F1 {_pct(c.f1).strip()}, EM {_pct(c.exact).strip()} "
            f"({c.answered} answered) on these questions"
        )
    return "\n".join(lines)


def run_label(run: str) -> str:
    """How a conversation run is headed: "no history", "history" (every part), or its parts."""
    return "no history" if run == NO_HISTORY else ("history" if run == ",".join(sorted(parse_parts("all")))
                                                   else run.replace(",", "+"))


def format_conversation_report(report: ConversationReport) -> str:
    """First turns and follow-ups, each run side by side, for the terminal."""
    r = report
    runs = list(r.runs)
    lines = [
        f"{r.source}: {r.conversations} conversations, {r.turns} turns, end to end over {r.corpus}",
        f"reader {r.reader}; right = " + ("prediction inside a gold evidence span (yes/no turns not scored)"
                                          if r.spans else f"F1 >= {RIGHT_F1}"),
        "",
    ]
    width = max(12, *(len(run_label(x)) + 2 for x in runs))
    rows = [("F1", "f1", _pct), ("EM", "exact", _pct), ("right", "right", _pct),
            (f"wrong at score >= {CONFIDENT}", "wrong_confident", str),
            ("right, own article", "right_in_article", _pct), ("cited from own article", "in_article", _pct),
            ("answered", "answered", _pct), ("abstained, unanswerable", "abstention_recall", _pct),
            ("latency p50", "latency_p50_ms", _ms)]
    for kind in ("first", "follow-up"):
        counts = r.runs[runs[0]][kind]
        lines.append(f"{kind + ' turns':26}" + "".join(f"{run_label(x):>{width}}" for x in runs)
                     + f"   ({counts.turns} scored, {counts.answerable} answerable)")
        for label, attr, fmt in rows:
            values = [getattr(r.runs[x][kind], attr) for x in runs]
            if all(v is None for v in values):
                continue
            lines.append(f"  {label:24}" + "".join(f"{fmt(v):>{width}}" for v in values))
        lines.append("")
    return "\n".join(lines).rstrip()


__all__ = [
    "format_conversation_report", "format_report", "plot_paths", "run_label",
    "write_conversation_report", "write_report",
]
