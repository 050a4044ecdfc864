"""The README's screenshot of the playground (docs/playground.png): the committed model served by `sentiment serve`,
the page's example tweets classified in the OS's headless Chromium (loadtests/browser.py), 1200x800, reduced to a
256-colour palette (text and flat colours survive it; a few times smaller than the plain PNG).

    python -m loadtests.screenshot [--model models/default] [--out docs/playground.png]

It fails if the page requested anything from another host or logged an error while it was taken.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

from loadtests import browser
from service.api.launcher import serving
from service.core.paths import REPO


def take(model: Path, width: int, height: int) -> bytes:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with serving(model, "--workers", "1") as server, browser.chromium(width, height) as d:
        d.get(server.url + "/")
        wait = WebDriverWait(d, 60)
        wait.until(lambda d: d.find_elements(By.ID, "model-name"))
        d.find_element(By.ID, "examples").click()
        d.find_element(By.ID, "classify").click()
        wait.until(
            lambda d: (
                (r := d.find_elements(By.CSS_SELECTOR, ".result"))
                and all(li.find_elements(By.CSS_SELECTOR, ".token") for li in r)
            )
        )
        d.execute_script("document.activeElement.blur()")  # no focus ring and no hover in the picture
        ActionChains(d).move_to_element(d.find_element(By.CSS_SELECTOR, ".brand")).perform()
        time.sleep(0.6)  # the score bars' 0.35 s transition
        png = d.get_screenshot_as_png()
        elsewhere = browser.foreign(browser.requested_urls(d), server.url)
        errors = browser.console_errors(d)
    if elsewhere or errors:
        raise SystemExit(f"error: the page requested {elsewhere} from other hosts / logged {errors}")
    return png


def optimise(png: bytes) -> bytes:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=REPO / "models" / "default")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "playground.png")
    p.add_argument("--width", type=int, default=1200)
    p.add_argument("--height", type=int, default=800)
    args = p.parse_args(argv)
    reason = browser.missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 2
    png = optimise(take(args.model, args.width, args.height))
    args.out.write_bytes(png)
    print(f"{args.out}: {args.width}x{args.height}, {len(png) / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
