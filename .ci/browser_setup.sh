#!/usr/bin/env bash
# Make /usr/bin/chromium available for tests/test_browser.py (Playwright drives it; we never
# run `playwright install`, which downloads browsers from outside the package registries).
# Debian/Ubuntu only: installs the distribution's `chromium` package when it is missing.
set -euo pipefail

CHROMIUM="${LRCOURSE_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "browser_setup: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser_setup: no $CHROMIUM and no apt-get here; install Chromium and set LRCOURSE_CHROMIUM to its path." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "browser_setup: installing chromium needs root (or sudo); run: apt-get install -y chromium" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation

if [ ! -x "$CHROMIUM" ]; then
    echo "browser_setup: the chromium package did not provide $CHROMIUM (on Ubuntu it is a snap; use Debian's package or set LRCOURSE_CHROMIUM)." >&2
    exit 1
fi
echo "browser_setup: installed $("$CHROMIUM" --version 2>/dev/null)"
