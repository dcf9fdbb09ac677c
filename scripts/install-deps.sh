#!/usr/bin/env bash
# Installs the system packages corscope needs, only those missing. Debian/Ubuntu, as root.
#   scripts/install-deps.sh            build and run: libpcap, zlib, pkg-config
#   scripts/install-deps.sh test       + tshark and tcpdump (the differential tests' peers)
#   scripts/install-deps.sh bench      + nginx, wrk, tcpdump, tshark (the benchmark's traffic and peer)
set -euo pipefail

packages=(libpcap-dev zlib1g-dev pkg-config)
case "${1:-}" in
  test) packages+=(tshark tcpdump) ;;
  bench) packages+=(tshark tcpdump tcpreplay nginx-light wrk curl time) ;;
  "") ;;
  *) echo "usage: $0 [test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer it before it is asked.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do [ -x "$d/swift" ] && { echo "swift is in $d: add it to PATH" >&2; break; }; done
  echo "error: no Swift toolchain on PATH (Swift 6.x is needed; it is not a Debian package)" >&2
  exit 1
fi
