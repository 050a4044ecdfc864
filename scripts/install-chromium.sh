#!/usr/bin/env bash
# Make sure the OS's headless Chromium and its driver are installed for the playground's real-browser test
# (tests/service/api/test_pages_browser.py, loadtests/browser.py): Debian packages chromium + chromium-driver.
#   scripts/install-chromium.sh
# Prints "installed" when both were already there (quick: no apt call), "installed now" after installing them.
# Where they cannot be installed (no root, no apt, no package index) it says so loudly and exits 0: the browser
# test then skips with a loud reason, and the rest of the suite still runs.
set -uo pipefail
CHROMIUM="${SENTIMENT_CHROMIUM:-/usr/bin/chromium}"
CHROMEDRIVER="${SENTIMENT_CHROMEDRIVER:-/usr/bin/chromedriver}"

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
    echo installed
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "WARNING: NO CHROMIUM: $CHROMIUM or $CHROMEDRIVER is missing and cannot be installed here (needs root + apt);" \
        "the playground's browser test will be skipped" >&2
    exit 0
fi
echo "installing chromium chromium-driver with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2 \
    && [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
    echo "installed now"
    exit 0
fi
echo "WARNING: NO CHROMIUM: apt-get could not install chromium chromium-driver; the playground's browser test will be" \
    "skipped" >&2
exit 0
