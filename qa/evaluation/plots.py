"""Plots of an evaluation report (matplotlib, no display needed): is ``Answer.score`` a probability?

    reliability_diagram(report, "report.reliability.png")   # mean score vs share right, per bin
    score_histogram(report, "report.scores.png")            # scores of right, wrong and unanswerable
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from qa.evaluation.results import Report
from qa.files import write_atomic


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt


def reliability_diagram(report: Report, path: str | Path) -> Path:
    """Share of right answers against mean score per score bin; the diagonal is perfect calibration."""
    plt = _pyplot()
    bins = [b for b in report.reliability if b["n"]]
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    width = 1.0 / max(1, len(report.reliability))
    ax.bar([b["low"] for b in bins], [b["right"] for b in bins], width=width, align="edge", alpha=0.35,
           edgecolor="tab:blue", label="share right in bin")
    ax.plot([b["mean_score"] for b in bins], [b["right"] for b in bins], marker="o", color="tab:blue",
            label="mean score vs share right")
    for b in bins:
        ax.annotate(str(b["n"]), (b["low"] + width / 2, b["right"]), ha="center", va="bottom", fontsize=7)
    ax.set(xlim=(0, 1), ylim=(0, 1.05), xlabel="Answer.score", ylabel="share of answers right (F1 >= 0.5)",
           title=f"{Path(report.source).name}, {report.mode}: ECE {report.ece or 0:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def score_histogram(report: Report, path: str | Path) -> Path:
    """Scores of the best candidates: right, wrong, and those of unanswerable questions (should abstain)."""
    plt = _pyplot()
    rows = [r for r in report.rows if r.candidate is not None]
    groups = {
        "right": [r.score for r in rows if r.right],
        "wrong": [r.score for r in rows if r.answerable and not r.right],
        "should have abstained": [r.score for r in rows if not r.answerable],
    }
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    edges = [i / 20 for i in range(21)]
    colors = {"right": "tab:green", "wrong": "tab:red", "should have abstained": "tab:orange"}
    for name, scores in groups.items():
        if scores:
            ax.hist(scores, bins=edges, histtype="stepfilled", alpha=0.4, color=colors[name],
                    label=f"{name} ({len(scores)})")
    ax.axvline(report.min_score, color="black", lw=1, ls="--", label=f"threshold {report.min_score:.3g}")
    ax.set(xlim=(0, 1), xlabel="Answer.score", ylabel="questions",
           title=f"{Path(report.source).name}, {report.mode}: best candidate's score")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    fig.tight_layout()
    fig.savefig(png, format="png")
    plt.close(fig)
    write_atomic(path, png.getvalue())
    return path


__all__ = ["reliability_diagram", "score_histogram"]
