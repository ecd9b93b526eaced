#!/usr/bin/env bash
# Make /usr/bin/chromium available for tests/test_browser.py (Playwright drives it; we never
# run `playwright install`, which downloads browsers from outside the package registries),
# and a copy of MathJax 3 from the npm registry in .cache/mathjax, which the test serves in
# place of the CDN so that it can check every formula typesets.
# Debian/Ubuntu only: installs the distribution's `chromium` package when it is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CHROMIUM="${LRCOURSE_CHROMIUM:-/usr/bin/chromium}"
MATHJAX="${LRCOURSE_MATHJAX:-$ROOT/.cache/mathjax}"
MATHJAX_VERSION=3.2.2  # the newest 3.x: what the book's mathjax@3 CDN address serves

install_mathjax() {
    if [ -f "$MATHJAX/es5/tex-mml-chtml.js" ]; then
        echo "browser_setup: MathJax already in $MATHJAX"
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "browser_setup: no npm to fetch MathJax $MATHJAX_VERSION; install npm, or unpack the mathjax package into $MATHJAX." >&2
        return 1
    fi
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "mathjax@$MATHJAX_VERSION" >/dev/null)
    mkdir -p "$MATHJAX"
    tar -xzf "$tmp/mathjax-$MATHJAX_VERSION.tgz" -C "$MATHJAX" --strip-components=1
    rm -rf "$tmp"
    echo "browser_setup: MathJax $MATHJAX_VERSION unpacked in $MATHJAX"
}

install_chromium() {
    if [ -x "$CHROMIUM" ]; then
        echo "browser_setup: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") already installed"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "browser_setup: no $CHROMIUM and no apt-get here; install Chromium and set LRCOURSE_CHROMIUM to its path." >&2
        return 1
    fi

    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO="sudo"
        else
            echo "browser_setup: installing chromium needs root (or sudo); run: apt-get install -y chromium" >&2
            return 1
        fi
    fi

    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends chromium fonts-liberation

    if [ ! -x "$CHROMIUM" ]; then
        echo "browser_setup: the chromium package did not provide $CHROMIUM (on Ubuntu it is a snap; use Debian's package or set LRCOURSE_CHROMIUM)." >&2
        return 1
    fi
    echo "browser_setup: installed $("$CHROMIUM" --version 2>/dev/null)"
}

install_chromium
install_mathjax
