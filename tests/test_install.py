"""A bare install works: ``pip install .`` without extras in a fresh venv, then ``qa add`` of a page from
a local server and ``qa ask`` about it. Catches an import the code makes that pyproject does not declare
(something the test or ray extras would otherwise bring in)."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.install

ROOT = Path(__file__).resolve().parent.parent
PAGE = """<!doctype html><html><head><title>Bridge opens in Lund</title>
<meta name="author" content="Maria Lopez"><meta property="article:published_time" content="2024-05-06">
</head><body><article><h1>Bridge opens in Lund</h1>
<p>The mayor of Lund, Karl Olsen, opened the new north bridge on Monday after five years of work.</p>
<p>The bridge cost four million crowns and carries cyclists and pedestrians across the river.</p>
<p>Olsen said the town would build a second bridge in the south by 2027.</p>
</article></body></html>"""


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(folder), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/bridge.html"


def test_a_bare_install_adds_a_page_and_answers(tmp_path: Path) -> None:
    import torch

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # the CPU build of the torch already here (an unpinned torch would pull the CUDA build), then qa alone
    subprocess.run([*pip, f"torch=={torch.__version__.split('+')[0]}"], check=True, timeout=900)
    source = tmp_path / "source"  # a copy without the developer's venv, index or build leftovers
    leftovers = shutil.ignore_patterns(".venv*", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache")
    shutil.copytree(ROOT, source, ignore=lambda folder, names: [
        *leftovers(folder, names), *(n for n in ("index", "runs") if Path(folder) == ROOT and n in names)])
    subprocess.run([*pip, str(source)], check=True, timeout=1800)
    site = tmp_path / "site"
    site.mkdir()
    (site / "bridge.html").write_text(PAGE, encoding="utf-8")
    server, url = _serve(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(QA_CACHE=str(tmp_path / "cache"), HF_HUB_OFFLINE="1", PATH=f"{venv / 'bin'}:{env.get('PATH', '')}")
    qa = str(venv / "bin" / "qa")
    corpus, index = str(tmp_path / "news"), str(tmp_path / "news-index")
    try:
        added = subprocess.run([qa, "add", url, "--allow-private", "--corpus", corpus, "--index", index],
                               env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    finally:
        server.shutdown()
    assert added.returncode == 0, added.stderr[-3000:]
    assert "added" in added.stdout and "1 articles" in added.stdout
    asked = subprocess.run([qa, "ask", "Who opened the north bridge?", "--corpus", corpus, "--index", index],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert asked.returncode == 0, asked.stderr[-3000:]
    assert "Karl Olsen" in asked.stdout.splitlines()[0] and "Bridge opens in Lund" in asked.stdout
    info = subprocess.run([qa, "info", "--corpus", corpus, "--index", index], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert info.returncode == 0 and "reader" in info.stdout and "1 articles" in info.stdout, info.stderr[-2000:]
