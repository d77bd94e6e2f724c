"""Add, remove and restore articles through the chat page in headless Chromium, on a server with a
write token: the add form stays hidden until the Articles tab's sign-in takes the token (a wrong one
is refused); upload a file and paste a URL (served by a local web server started here), wait for the
background index update, open an article from the list, ask about the added page and check the
citation's date, source and resolved day; remove that article (the next answer does not cite it),
then restore it from the trash (cited again).

    python scripts/check_ui_articles.py              # qa serve with the packaged models on a copy of seeds/

Needs Chromium, its driver and selenium, like scripts/check_ui.py. Exit status 0 when every check passed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from check_ui import follow_up, free_port, start_browser, wait_for_server  # noqa: E402
from sample_site import BRIDGE, Site  # noqa: E402

TOKEN = "page-check-secret-token"
UPLOAD = "Harbour notes\n12 February 2024\nThe ferry Nordlys left Bergen at noon with 212 passengers aboard.\n"


def open_tab(driver: Any, name: str) -> None:
    """Click the page's tab called ``name``."""
    from selenium.webdriver.common.by import By

    next(b for b in driver.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text == name).click()


def pick(driver: Any, dropdown: str, text: str) -> None:
    """Choose the first option of the dropdown ``dropdown`` (a CSS id) that matches ``text``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, f"{dropdown} input")
    box.click()
    box.send_keys(text)
    time.sleep(0.5)
    box.send_keys(Keys.ARROW_DOWN, Keys.ENTER)


def main() -> int:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    site = Site()
    page = site.page("/news/bridge.html", BRIDGE)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(ROOT / "seeds", corpus)
        upload = Path(tmp) / "harbour-notes.txt"
        upload.write_text(UPLOAD, encoding="utf-8")
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        server = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "serve", "--port", str(port),
                                   "--corpus", str(corpus), "--index", str(Path(tmp) / "index"), "--allow-private"],
                                  cwd=ROOT, env={**os.environ, "QA_API_TOKEN": f"checker={TOKEN}"})
        driver = None
        try:
            wait_for_server(url, 240, server)
            driver = start_browser(str(Path(tmp) / "profile"))
            wait = WebDriverWait(driver, 240)
            driver.get(url)
            wait.until(lambda d: "article" in d.find_element(By.ID, "qa-status").text)
            open_tab(driver, "Articles")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#qa-token input"))
            if any(e.is_displayed() for e in driver.find_elements(By.ID, "qa-add")):
                problems.append("the add button shows before anyone signed in")
            token = driver.find_element(By.CSS_SELECTOR, "#qa-token input")
            token.send_keys("not-the-right-token")
            driver.find_element(By.ID, "qa-sign-in").click()
            wait.until(lambda d: "valid token" in d.find_element(By.ID, "qa-signed").text)
            token = driver.find_element(By.CSS_SELECTOR, "#qa-token input")
            token.clear()
            token.send_keys(TOKEN)
            driver.find_element(By.ID, "qa-sign-in").click()
            wait.until(lambda d: "Signed in as checker" in d.find_element(By.ID, "qa-signed").text)
            print("signed in:", driver.find_element(By.ID, "qa-signed").text)
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#qa-upload input[type=file]"))
            driver.find_element(By.CSS_SELECTOR, "#qa-upload input[type=file]").send_keys(str(upload))
            try:
                WebDriverWait(driver, 60).until(lambda d: "harbour-notes" in d.find_element(By.ID, "qa-upload").text)
            except Exception:
                print("UPLOAD TEXT:", repr(driver.find_element(By.ID, "qa-upload").text))
                print(driver.find_element(By.ID, "qa-upload").get_attribute("outerHTML")[:3000])
                driver.save_screenshot("/tmp/upload.png")
                raise
            driver.find_element(By.CSS_SELECTOR, "#qa-urls textarea").send_keys(page)
            driver.find_element(By.ID, "qa-add").click()
            wait.until(lambda d: d.find_element(By.ID, "qa-added").text.count("added") >= 2)
            added = driver.find_element(By.ID, "qa-added").text
            began = time.monotonic()
            wait.until(lambda d: "3 articles" in d.find_element(By.ID, "qa-status").text)
            print(f"added:\n{added}\nindexed {time.monotonic() - began:.1f} s after the page said so; status: "
                  f"{driver.find_element(By.ID, 'qa-status').text}")
            wait.until(lambda d: "Lyon opens its new bridge" in d.find_element(By.ID, "qa-article-table").text)
            table = driver.find_element(By.ID, "qa-article-table").text
            if "Daily Rhône" not in table or "2024-03-26" not in table:
                problems.append(f"the article list lacks the page's source or date: {table[:500]!r}")
            pick(driver, "#qa-article-pick", "Lyon opens")
            wait.until(lambda d: "Pont Schuman" in d.find_element(By.ID, "qa-article").text)
            open_tab(driver, "Chat")
            answer = follow_up(driver, "When did the mayor of Lyon open the Pont Schuman?", 240)
            print(f"answer: {answer['text']}")
            for expected in ("Monday", "Daily Rhône", "2024-03-26", "Monday (25 March 2024)"):
                if expected not in answer["text"]:
                    problems.append(f"the answer lacks {expected!r}: {answer['text']!r}")
            driver.save_screenshot(str(ROOT / "docs" / "chat-articles.png"))
            # remove the page's article: the next answer must not cite it; then bring it back
            open_tab(driver, "Articles")
            pick(driver, "#qa-article-pick", "Lyon opens")
            wait.until(lambda d: "Pont Schuman" in d.find_element(By.ID, "qa-article").text)
            driver.find_element(By.ID, "qa-remove").click()
            wait.until(lambda d: "removed" in d.find_element(By.ID, "qa-trash-result").text)
            print("removed:", driver.find_element(By.ID, "qa-trash-result").text)
            open_tab(driver, "Chat")
            gone = follow_up(driver, "Who opened the new Pont Schuman in Lyon?", 240)
            print(f"after removal: {gone['text'][:200]!r}")
            if "Daily Rhône" in gone["text"] or "Lyon opens its new bridge" in gone["text"]:
                problems.append(f"a removed article is still cited: {gone['text'][:300]!r}")
            open_tab(driver, "Articles")
            pick(driver, "#qa-trash-pick", "Lyon opens")
            time.sleep(0.5)
            driver.find_element(By.ID, "qa-restore").click()
            wait.until(lambda d: "restored" in d.find_element(By.ID, "qa-trash-result").text)
            wait.until(lambda d: "3 articles" in d.find_element(By.ID, "qa-status").text)
            open_tab(driver, "Chat")
            back = follow_up(driver, "Who opened the new Pont Schuman in Lyon?", 240)
            print(f"after restore: {back['text'][:200]!r}")
            if "Daily Rhône" not in back["text"]:
                problems.append(f"a restored article is not cited again: {back['text'][:300]!r}")
            audit = (corpus / ".qa-audit.jsonl").read_text(encoding="utf-8").splitlines()
            actions = [(entry["who"], entry["action"]) for entry in map(json.loads, audit)]
            print("audit:", actions)
            if actions != [("checker", "add"), ("checker", "remove"), ("checker", "restore")]:
                problems.append(f"the audit log says {actions}")
        finally:
            if driver is not None:
                driver.quit()
            server.terminate()
            server.wait(30)
            site.server.shutdown()
    for problem in problems:
        print("PROBLEM:", problem)
    print("all checks passed" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
