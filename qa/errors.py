"""User-facing errors: one base class, a subclass per kind of problem, messages that name the fix."""

from __future__ import annotations


class QAError(Exception):
    """A problem the user can fix; the CLI prints it and exits with status 1."""


class QuestionError(QAError, ValueError):
    """The question is empty, whitespace or too long."""


class CorpusError(QAError):
    """The corpus folder is missing or holds no readable article."""


class CorruptIndexError(QAError):
    """The index on disk is corrupt, unreadable or from another version."""


class ModelError(QAError):
    """A model could not be found or loaded."""


class IndexBusyError(QAError):
    """Another process holds the index's write lock for longer than we wait."""


class SourceError(QAError):
    """A URL, feed or upload could not be fetched or read as an article."""


class AccessError(QAError):
    """A write without a valid token, on a read-only server, or a public bind without a token."""
