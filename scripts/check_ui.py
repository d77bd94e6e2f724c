"""Drive the chat UI in headless Chromium: ask a question, wait for the answer, ask a follow-up in the
same conversation, check that it shows the completed question ("Interpreted as: ..."), reload the page
and check that the conversation is shown again and goes on (a terse "Which day?" is still read in
it); then stop the server with the page open (SIGTERM: it must exit within ``STOP_SECONDS``), start it
again, reload, and check that the conversation is still there and the follow-up is still read in it;
save a screenshot.

    python scripts/check_ui.py                         # app.py with the default models, seeds/
    python scripts/check_ui.py --reader /tmp/model     # another reader
    QA_MIN_SCORE=0 python scripts/check_ui.py          # never abstain: an answer even from a weak reader
    python scripts/check_ui.py --hostile               # a corpus of HTML/JS payloads, scripted models:
                                                       # they must show as text and never run

Needs Chromium, its driver and selenium (``apt-get install chromium chromium-driver``,
``pip install selenium``); nothing is downloaded. Not part of the test suite: it starts a
browser and (without --hostile) the real models. Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1300",
]
# Payloads planted in the hostile corpus; each would set window.__xss if it ever ran.
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "[click me](javascript:window.__xss=3)",
    "$$\\alpha$$",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app exited with status {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError(f"no answer from {url} after {timeout:.0f} s")


def start_browser(profile: str) -> Any:
    # Never let selenium-manager look for (or download) a browser or driver.
    os.environ["SE_OFFLINE"] = "true"
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def ask(driver: Any, url: str, question: str, timeout: float) -> dict[str, Any]:
    """Ask ``question`` on the page; what the chat and the status line show afterwards."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    wait = WebDriverWait(driver, timeout)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#qa-question textarea")))
    wait.until(lambda d: "Loading" not in d.find_element(By.ID, "qa-status").text)
    box.send_keys(question)
    driver.find_element(By.ID, "qa-send").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#qa-chat .qa-answer, #qa-chat .qa-error")))
    time.sleep(0.5)  # let the status line and the scroll settle
    for summary in driver.find_elements(By.CSS_SELECTOR, "#qa-chat details.qa-context summary")[:1]:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
        summary.click()
    time.sleep(0.3)
    chat = driver.find_element(By.ID, "qa-chat")
    return {
        "status": driver.find_element(By.ID, "qa-status").text,
        "chat": chat.text,
        "answers": len(chat.find_elements(By.CSS_SELECTOR, ".qa-answer")),
        "errors": [e.text for e in chat.find_elements(By.CSS_SELECTOR, ".qa-error")],
        "citations": len(chat.find_elements(By.CSS_SELECTOR, ".qa-citation")),
        "marks": [m.text for m in chat.find_elements(By.CSS_SELECTOR, ".qa-sentence mark")],
        "context_open": bool(chat.find_elements(By.CSS_SELECTOR, "details.qa-context[open]")),
        "injected": len(chat.find_elements(By.CSS_SELECTOR, "script, img, .katex")),
        "links": [a.get_attribute("href") for a in chat.find_elements(By.CSS_SELECTOR, "a[href]")],
        "xss": driver.execute_script("return window.__xss === undefined ? null : window.__xss;"),
    }


def follow_up(driver: Any, question: str, timeout: float) -> dict[str, Any]:
    """Ask ``question`` on the page as it is (the same conversation); what the new answer shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    chat = driver.find_element(By.ID, "qa-chat")
    before = len(chat.find_elements(By.CSS_SELECTOR, ".qa-answer, .qa-error"))
    box = driver.find_element(By.CSS_SELECTOR, "#qa-question textarea")
    box.send_keys(question)
    driver.find_element(By.ID, "qa-send").click()
    WebDriverWait(driver, timeout).until(
        lambda d: len(d.find_element(By.ID, "qa-chat").find_elements(By.CSS_SELECTOR, ".qa-answer, .qa-error"))
        > before)
    time.sleep(0.5)
    answers = driver.find_element(By.ID, "qa-chat").find_elements(By.CSS_SELECTOR, ".qa-answer, .qa-error")
    last = answers[-1]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", last)
    interpreted = last.find_elements(By.CSS_SELECTOR, ".qa-interpreted")
    return {"text": last.text, "interpreted": interpreted[0].text if interpreted else None}


STOP_SECONDS = 10  # docker stop and systemd kill a service that has not exited 10 s after SIGTERM


def stop(proc: subprocess.Popen[bytes], limit: float = 30) -> float:
    """SIGTERM ``proc``; the seconds it took to exit (inf: killed after ``limit``)."""
    began = time.monotonic()
    proc.terminate()
    try:
        proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return float("inf")
    return time.monotonic() - began


def answers_shown(driver: Any) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_element(By.ID, "qa-chat").find_elements(By.CSS_SELECTOR, ".qa-answer"))


def reload_and_continue(driver: Any, question: str, timeout: float, before: int | None = None) -> dict[str, Any]:
    """Reload the page: how many earlier answers it shows again (of ``before``, else of those it showed
    just now), and what ``question`` is then read as."""
    from selenium.webdriver.support.ui import WebDriverWait

    before = answers_shown(driver) if before is None else before
    driver.refresh()
    wait = WebDriverWait(driver, timeout)
    with contextlib.suppress(Exception):  # too few shown: reported as a failed check below
        wait.until(lambda d: answers_shown(d) >= before)
    return {"before": before, "shown": answers_shown(driver), **follow_up(driver, question, timeout)}


# -- the hostile corpus: scripted models, so the answer always cites the payloads ------------


class HashEmbedder:
    name = "hash-embedder"

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, hash(word) % 64] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)


NAME = "Mallory Evans"


class ScriptedReader:
    """Answers NAME wherever a passage holds it."""

    min_score = 0.1
    min_score_retrieved = 0.1
    calibration = None

    def read_many(self, items: list[tuple[str, list[Any]]]) -> list[Any]:
        from qa.schema import Reading, Span

        readings = []
        for _, passages in items:
            spans = [Span(n, p.text.index(NAME), p.text.index(NAME) + len(NAME), NAME, 0.9)
                     for n, p in enumerate(passages) if NAME in p.text]
            readings.append(Reading(spans, [0.1 if NAME in p.text else 0.9 for p in passages]))
        return readings


def hostile_qa(folder: Path) -> Any:
    from qa.pipeline import QA

    corpus = folder / "corpus"
    corpus.mkdir()
    record = {
        "title": f"Hostile title {PAYLOADS[1]}",
        "url": "javascript:window.__xss=4",
        "text": "\n".join([
            f"Intro {PAYLOADS[0]} before the answer.",
            f"{PAYLOADS[1]} {NAME} offered Russia cooperation {PAYLOADS[2]} on Monday.",
            f"After the answer {PAYLOADS[3]} and more.",
        ]),
    }
    (corpus / "hostile.json").write_text(json.dumps(record), encoding="utf-8")
    return QA(corpus=corpus, index=folder / "index", reader=ScriptedReader(), embedder=HashEmbedder())


# -- main -------------------------------------------------------------------------------------


def check(result: dict[str, Any], hostile: bool) -> list[str]:
    problems = []
    if not re.search(r"\d+ articles? · \d+ sentences? · corpus ", result["status"]):
        problems.append(f"unexpected status line: {result['status']!r}")
    if result["errors"]:
        problems.append(f"the chat shows an error: {result['errors']}")
    if not result["answers"]:
        problems.append("no answer in the chat")
    if result["citations"] and not result["marks"]:
        problems.append("a citation without a <mark>ed answer in its sentence")
    if result["marks"] and not result["context_open"]:
        problems.append("the article context did not open")
    if hostile:
        if result["xss"] is not None:
            problems.append(f"a payload ran: window.__xss = {result['xss']}")
        if result["injected"]:
            problems.append(f"{result['injected']} script/img/katex element(s) made it into the chat")
        if any(link and not link.startswith(("http:", "https:")) for link in result["links"]):
            problems.append(f"unsafe link: {result['links']}")
        for payload in PAYLOADS[:3]:
            if payload not in result["chat"]:
                problems.append(f"payload not shown as text: {payload}")
        if result["marks"] != [NAME]:
            problems.append(f"expected {NAME} marked, got {result['marks']}")
    return problems


def shown_again(step: dict[str, Any], after: str, question: str, expect: str) -> list[str]:
    """Print what the page showed after a reload or a restart, and what is wrong with it."""
    print(f"--- after the {after}: {step['shown']} of {step['before']} answers shown again; then {question}\n"
          f"{step['text']}")
    problems = []
    if step["shown"] < step["before"]:
        problems.append(f"after the {after} the page shows {step['shown']} of {step['before']} answers")
    if expect and expect not in (step["interpreted"] or ""):
        problems.append(f"after the {after}, {question!r} shows {step['interpreted']!r}, expected {expect!r}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--question", default="Who offered Russia cooperation?")
    parser.add_argument("--follow-up", default="What did he propose to the Russian services?",
                        help="asked next in the same conversation (not with --hostile); '' to skip")
    parser.add_argument("--expect", default="Interpreted as: What did Emmanuel Macron propose",
                        help="what the follow-up's answer must show")
    parser.add_argument("--after-reload", default="Which day?",
                        help="asked after reloading the page, in the same conversation ('' to skip)")
    parser.add_argument("--expect-after-reload", default="Interpreted as: Which day",
                        help="what that answer must show")
    parser.add_argument("--yes-or-no", default="Is Macron talking to Vladimir Putin directly?",
                        help="asked last: its answer must say that a span is no yes or no ('' to skip)")
    parser.add_argument("--no-restart", dest="restart", action="store_false",
                        help="skip stopping and restarting the server between turns")
    parser.add_argument("--corpus", help="folder of articles (default: the app's, seeds/)")
    parser.add_argument("--index", help="index folder (default: a temporary one)")
    parser.add_argument("--reader", help="reader model name or path (default: the app's)")
    parser.add_argument("--embedder", help="embedder model name or path (default: the app's)")
    parser.add_argument("--hostile", action="store_true", help="serve a corpus of HTML/JS payloads instead")
    parser.add_argument("--screenshot", type=Path, default=ROOT / "runs" / "ui-check" / "answer.png")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the app, the answer")
    args = parser.parse_args()
    args.screenshot.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"

    with tempfile.TemporaryDirectory(prefix="qa-ui-check-") as tmp:
        proc, app, log = None, None, Path(tmp) / "app.log"
        driver = None
        try:
            if args.hostile:
                from qa.serving.server import serve

                app = serve(hostile_qa(Path(tmp)), port=port, block=False)
            else:
                command = [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
                           "--index", args.index or str(Path(tmp) / "index")]
                for option in ("corpus", "reader", "embedder"):
                    if getattr(args, option):
                        command += [f"--{option}", getattr(args, option)]
                env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                       "GRADIO_ANALYTICS_ENABLED": "False"}
                with log.open("wb") as out:
                    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                wait_for_server(url, args.timeout, proc)
            driver = start_browser(str(Path(tmp) / "profile"))
            began = time.monotonic()
            result = ask(driver, url, args.question, args.timeout)
            second = third = fourth = fifth = stopped = None
            if args.follow_up and not args.hostile:
                second = follow_up(driver, args.follow_up, args.timeout)
                if args.after_reload:
                    third = reload_and_continue(driver, args.after_reload, args.timeout)
                if args.restart and proc is not None:
                    shown = answers_shown(driver)  # a page cut off from its server may show none until reloaded
                    stopped = stop(proc)
                    with log.open("ab") as out:
                        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                    wait_for_server(url, args.timeout, proc)
                    fourth = reload_and_continue(driver, args.follow_up, args.timeout, before=shown)
                if args.yes_or_no:
                    fifth = follow_up(driver, args.yes_or_no, args.timeout)
            driver.save_screenshot(str(args.screenshot))
        except Exception as exc:  # noqa: BLE001 - report whatever went wrong, with the app's log
            print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
            if log.exists():
                print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
            return 1
        finally:
            if driver is not None:
                driver.quit()
            if app is not None:
                app.close()
            if proc is not None:
                stop(proc, 20)

    print(f"status: {result['status']}")
    print(f"answered in {time.monotonic() - began:.1f} s (page load included)\n--- chat ---")
    print(result["chat"])
    print(f"--- screenshot: {args.screenshot}")
    problems = check(result, args.hostile)
    if second is not None:
        print(f"--- follow-up: {args.follow_up}\n{second['text']}")
        if args.expect and args.expect not in (second["interpreted"] or ""):
            problems.append(f"the follow-up shows {second['interpreted']!r}, expected {args.expect!r}")
    if third is not None:
        problems += shown_again(third, "reload", args.after_reload, args.expect_after_reload)
    if stopped is not None:
        print(f"--- stopped with the page open in {stopped:.1f} s (SIGTERM)")
        if stopped > STOP_SECONDS:
            problems.append(f"the server took {stopped:.1f} s to stop with the page open (> {STOP_SECONDS} s)")
    if fourth is not None:
        problems += shown_again(fourth, "restart", args.follow_up, args.expect)
    if fifth is not None:
        print(f"--- a yes-or-no question: {args.yes_or_no}\n{fifth['text']}")
        if "yes or a no" not in fifth["text"]:
            problems.append("the answer to a yes-or-no question does not say that it is no yes or no")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    if not problems:
        print("OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
