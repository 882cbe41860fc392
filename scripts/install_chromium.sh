#!/usr/bin/env bash
# Installs Debian's chromium, which the preview test renders pages with. Does nothing when it is
# already there, so CI can run it on every job.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

# CI runs as root; elsewhere fall back to sudo when it is available.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
