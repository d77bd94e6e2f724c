"""Launch the chat UI: ``python app.py [--host H] [--port P] [--corpus DIR] [--index DIR]``.

Unset options come from ``QA_*`` environment variables, then the defaults (127.0.0.1:7860, seeds/, index/).
"""

from __future__ import annotations

import argparse
import sys

from qa.errors import QAError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the news articles in a browser.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 7860)")
    parser.add_argument("--corpus", help="folder of articles (default seeds/)")
    parser.add_argument("--index", help="index folder (default index/)")
    parser.add_argument("--reader", help="extractive QA model name or path")
    parser.add_argument("--embedder", help="sentence-transformers model name or path")
    parser.add_argument("--backend", choices=["auto", "fp32", "bf16", "int8"],
                        help="how the models run (default auto: chosen for this CPU)")
    args = parser.parse_args(argv)
    from qa.ui import serve  # gradio loads only once the arguments are known to be fine

    try:
        serve(host=args.host, port=args.port, corpus=args.corpus, index=args.index, reader=args.reader,
              embedder=args.embedder, backend=args.backend)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
