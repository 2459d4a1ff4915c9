"""The review page in a real browser (Debian's chromium and chromedriver, driven by Selenium):
accept one event, correct one, add one; kill the server and start it again; reload: all
three are there; and `clinnlp train --base` reads the corrections."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from .conftest import RASH, make_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


def start_server(run: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "clinnlp", "review", str(run), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "Reviewing ... at http://127.0.0.1:PORT/ ; ..."
    address = next((w for w in line.split() if w.startswith("http://127.0.0.1:")), None)
    assert address, (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, address


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(str(DRIVER)), options=options)


def wait(driver, condition, timeout: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(condition)


def mark(driver, ident: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'mark[data-entity="{ident}"]')


def saved(driver, action: str):
    from selenium.webdriver.common.by import By

    wait(driver, lambda d: f"Saved: {action}" in d.find_element(By.ID, "message").text)


def open_note(driver, address: str, note: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(address)
    button = wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f'[data-note="{note}"]'))
    button.click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "mark[data-entity]"))


def test_browser_review_survives_a_killed_server(tmp_path: Path, tiny_model: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    run = make_run(tmp_path / "run")
    proc, address = start_server(run)
    driver = browser()
    try:
        open_note(driver, address, "clinic/rash")
        body = driver.find_element(By.TAG_NAME, "body")
        mark(driver, "T1").click()
        body.send_keys("a")  # accept the rash by keyboard
        saved(driver, "accept")
        mark(driver, "T4").click()  # correct the nausea: negated, caused by lisinopril
        Select(driver.find_element(By.ID, "status")).select_by_value("negated")
        driver.find_element(By.CSS_SELECTOR, '#drugs input[value="T3"]').click()
        driver.find_element(By.ID, "save").click()
        saved(driver, "edit")
        start = RASH.index("noted")
        driver.execute_script(  # select the word "noted" in the note, as a mouse would
            """
            const box = document.getElementById('text');
            const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
            let total = 0, node;
            while ((node = walker.nextNode())) {
              if (node.parentNode.classList.contains('tag')) continue;
              const len = node.textContent.length;
              if (total + len > arguments[0]) {
                const range = document.createRange();
                range.setStart(node, arguments[0] - total);
                range.setEnd(node, arguments[0] - total + 5);
                const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
                return;
              }
              total += len;
            }
            """,
            start,
        )
        body.send_keys("n")  # a new event from the selected words
        saved(driver, "add")
        shot = os.environ.get("CLINNLP_REVIEW_SCREENSHOT") or str(tmp_path / "review.png")
        driver.save_screenshot(shot)
        assert Path(shot).stat().st_size > 10_000

        proc.send_signal(signal.SIGKILL)  # no shutdown: what was answered is on disk
        proc.wait(timeout=30)
        proc, address = start_server(run)
        open_note(driver, address, "clinic/rash")
        assert "accepted" in mark(driver, "T1").get_attribute("class")
        assert "negated" in mark(driver, "T4").get_attribute("title")
        added = driver.find_elements(By.CSS_SELECTOR, "mark.added")
        assert [a.get_attribute("data-start") for a in added] == [str(start)]
    finally:
        driver.quit()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    from clinnlp.cli import app
    from clinnlp.readers.brat import read_brat

    (doc,) = read_brat(run / "review")
    assert any(e.text == "noted" for e in doc.entities)
    out = tmp_path / "retrained"
    started = time.perf_counter()
    result = CliRunner().invoke(
        app,
        [
            "train",
            str(run / "review"),
            "--base",
            str(tiny_model),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--max-steps",
            "1",
            "--dev-fraction",
            "0",
            "--precision",
            "fp32",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").is_file() and time.perf_counter() - started < 300
