#!/bin/sh
# Install the system packages the test rig needs (Dovecot IMAP+LMTP, PostgreSQL), only if missing,
# and the two libraries OpenCV (used by the OCR of photographed forms) loads at run time.
# Idempotent; run as root. Prints one line saying what it did.
set -eu

PKGS="dovecot-imapd dovecot-lmtpd postgresql fonts-wqy-zenhei libgl1 libglib2.0-0"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
missing="${missing# }"

if [ -z "$missing" ]; then
    echo "install-test-deps: nothing to do ($PKGS already installed)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing: $missing; run as root to install them" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/install-test-deps.XXXXXX.log)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1 </dev/null; then
    echo "install-test-deps: FAILED installing: $missing (log: $log)" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
rm -f "$log"
# The Debian packages start system services where a service manager runs; the rig never uses them.
echo "install-test-deps: installed $missing"
