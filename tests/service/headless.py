"""A headless Chromium for the page tests (Debian's chromium and chromium-driver)."""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest


def chromium_or_skip() -> Any:
    """A headless Chromium driven by Selenium, with WebGL (MapLibre draws with it), or a skip."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("no headless Chromium here (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # MapLibre draws with WebGL: headless Chromium has it in software (SwiftShader)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--window-size=1200,800"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver)
    return webdriver.Chrome(options=options, service=service)


def wait_for(browser: Any, script: str, *args: Any, seconds: float = 30) -> Any:
    """The first truthy value ``script`` returns in the page, asked every 0.2 s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = browser.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not true within {seconds} s: {script}")


def fresh_page(browser: Any, url: str) -> None:
    """The page at ``url`` afresh: no key kept in the tab's session storage by an earlier test."""
    browser.get(url)
    browser.execute_script("sessionStorage.clear()")
    browser.get(url)
