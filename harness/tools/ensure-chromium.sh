#!/usr/bin/env bash
# Makes sure Debian's chromium is installed (the kit tests its web pages in a real headless browser) and
# prints the path of its binary. Installs it with apt-get when absent (as root, or through sudo).
set -euo pipefail

find_chromium() {
  for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}

if path=$(find_chromium); then
  echo "$path"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "ensure-chromium: chromium is not installed and this user cannot install it (not root, no sudo): apt-get install chromium" >&2
  exit 1
fi

echo "ensure-chromium: installing Debian's chromium package (once)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
find_chromium
