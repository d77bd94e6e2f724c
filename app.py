"""Launch the chat page and the JSON API: ``python app.py [options]``, the same as ``qa serve [options]``
(``--host``, ``--port``, ``--corpus``, ``--index``, ``--reader``, ``--embedder``, ``--backend``,
``--allow-private``; unset options come from ``QA_*`` environment variables, then the defaults).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run ``qa serve`` with ``argv`` (default: this process's arguments); its exit status."""
    from qa.cli import cli

    try:
        cli.main(["serve", *(sys.argv[1:] if argv is None else argv)], prog_name="app.py")
    except SystemExit as exc:  # click ends with one: 0, 1 for a user error, 2 for a bad option
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
