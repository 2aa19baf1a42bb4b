#!/usr/bin/env bash
# Makes sure Debian's bubblewrap is installed (the class grader runs every submission inside it) and prints
# the path of its binary.
exec "$(dirname "$0")/ensure-debian-package.sh" bubblewrap bwrap
