#!/usr/bin/env bash
# ensure-debian-package.sh PACKAGE BINARY [BINARY...]
# Prints the path of the first BINARY found on PATH; when none is, installs Debian's PACKAGE with apt-get
# (as root, or through sudo) and looks again. Used for what the kit needs from the system: chromium (web
# pages are tested in a real headless browser) and bubblewrap (the class grader's sandbox).
set -euo pipefail

package=$1
shift

find_binary() {
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  done
  return 1
}

if path=$(find_binary "$@"); then
  echo "$path"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "ensure-debian-package: $package is not installed and this user cannot install it (not root, no sudo): apt-get install $package" >&2
  exit 1
fi

echo "ensure-debian-package: installing Debian's $package package (once)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "$package" >&2
find_binary "$@"
