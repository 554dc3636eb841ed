#!/usr/bin/env bash
# One-time (idempotent) set-up on a fresh Debian machine: system packages, then a virtualenv
# with the project and its test dependencies.  Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  espeak-ng libespeak-ng1 libportaudio2 sox   # TTS voice, audio device library, audio tools
  baresip sip-tester                          # real SIP peers for the telephony tests
  chromium fonts-wqy-microhei                 # real browser for the console tests (+ a CJK font for its screenshots)
  postgresql kamailio                         # shared store + SIP load balancer (scale-out tests)
  kamailio-tls-modules rtpengine-daemon       # encrypted edge: SIP over TLS + SRTP relay (userspace, no kernel module)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python dependencies into .venv (first run takes a few minutes)"
  # (this machine's pip config names optional local mirrors; their "ignored" warnings are noise)
  .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | { grep -v "^WARNING: Location" || true; }
  rm -f .venv/.installed-*
  touch "$stamp"
fi
