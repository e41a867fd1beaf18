#!/usr/bin/env bash
# Installs the real servers the test suite starts on 127.0.0.1:
#   Debian: OpenSSH server + clients (ssh), OpenStack Swift + memcached (S3), git (GitHub stand-in),
#           tmux (the CLI's progress display is checked in a real terminal)
#   npm:    Azurite (Azure Blob) and firebase-tools' Cloud Storage emulator (GCS), pinned in servers/
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(openssh-server openssh-client openssh-sftp-server swift-proxy swift-account swift-container swift-object memcached git tmux)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
  echo "installing Debian packages: ${missing[*]}"
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  # Package scripts must not start sshd on :22 or memcached system-wide: the tests start their own.
  added_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [[ -z $added_policy ]] || $sudo rm -f /usr/sbin/policy-rc.d
fi

echo "installing test servers from npm (servers/)"
npm ci --prefix servers --no-audit --no-fund --loglevel=error

# Polars is an optional adapter, used here only by tests and benchmarks. Its 0.26.1 release names
# platform packages that were never published, so no lockfile can hold it and `npm ci` would
# refuse the project: it is installed beside the locked tree instead, for this platform.
if ! node -e 'require("nodejs-polars")' 2>/dev/null; then
  echo "installing nodejs-polars (test/bench adapter)"
  platform=$(node -p 'process.platform + "-" + process.arch')
  npm install --no-save --no-audit --no-fund --loglevel=error nodejs-polars@0.26.1 "nodejs-polars-${platform/linux-x64/linux-x64-gnu}@0.26.1"
fi
