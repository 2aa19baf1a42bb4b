#!/usr/bin/env bash
# Makes sure Debian's chromium is installed (the kit tests its web pages in a real headless browser) and
# prints the path of its binary.
exec "$(dirname "$0")/ensure-debian-package.sh" chromium chromium chromium-browser
