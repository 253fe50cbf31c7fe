"""Take a screenshot of the map page from a running service (the README's: --out docs/map.png).

    hotspots serve --events demo/events.parquet &       # after `make demo`'s data and model
    .venv/bin/python docs/map_screenshot.py --key "$(cat demo/read.key)" --out docs/map.png

Headless Debian Chromium through selenium, with WebGL in software, as tests/service/
test_map_page.py drives it: the key is typed, the page waits for the cells and the numbered
areas, area 1 is clicked (its what, when and why shown), and the window is saved.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from selenium import webdriver


def browser(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--hide-scrollbars", f"--window-size={width},{height}"):  # fmt: skip
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(options=options, service=service)


def wait(driver: webdriver.Chrome, script: str, seconds: float = 60) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"not true within {seconds} s: {script}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Example: .venv/bin/python docs/map_screenshot.py --url http://127.0.0.1:8000 "
        '--key "$(cat demo/read.key)" --out docs/map.png',
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000",
                        help="The running service (hotspots serve) whose /map is taken "
                        "[default: %(default)s].")
    parser.add_argument("--key", required=True,
                        help="A key with forecasts:read, e.g. $(cat demo/read.key).")
    parser.add_argument("--out", type=Path, default=Path("map.png"),
                        help="The PNG written, replaced if it exists; the README's is "
                        "docs/map.png, written only when named [default: %(default)s, in the "
                        "current folder].")
    parser.add_argument("--width", type=int, default=1200,
                        help="Browser window width, pixels: the PNG's [default: %(default)s].")
    parser.add_argument("--height", type=int, default=760,
                        help="Browser window height, pixels; the PNG is the page below the "
                        "browser's own bar (617 of 760 on Debian's Chromium 156) "
                        "[default: %(default)s].")
    args = parser.parse_args()
    driver = browser(args.width, args.height)
    try:
        driver.get(f"{args.url}/map")
        driver.find_element("id", "key").send_keys(args.key)
        driver.find_element("css selector", "#key-form button").click()
        drawn = wait(driver, "const d = window.hotspotsMap.drawn(); "
                             "return d && d.cells && d.areas && d.labels && d;")  # fmt: skip
        driver.find_element("css selector", ".area-label").click()  # rank 1 is added first
        wait(driver, "return document.getElementById('area').textContent.includes('Area 1')")
        time.sleep(1.0)  # the last tiles of the canvas
        driver.save_screenshot(str(args.out))
        print(f"drawn {drawn}; wrote {args.out}")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
