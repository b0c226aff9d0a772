#!/bin/bash
# Installs every Debian 12 package that building Postroom, its tests and its
# benchmarks need. Idempotent: does nothing when everything is installed.
set -euo pipefail

PACKAGES=(
    # build
    build-essential meson ninja-build pkg-config gettext clang clang-format
    libglib2.0-dev glib-networking libgnutls28-dev libgda-5.0-dev libgda-5.0-postgres
    liblua5.4-dev libgmime-3.0-dev libcrypt-dev
    # tests: TLS clients and certificates, store tests, scripted clients
    gnutls-bin openssl postgresql python3 valgrind curl swaks libnet-ssleay-perl fetchmail
    # the IMAP tests' two-way sync client (mbsync)
    isync
    # the sender tests' DNS server on loopback
    dnsmasq-base
    # the collector tests' ISP: Dovecot's pop3d, run by the tests on loopback
    dovecot-pop3d
    # benchmarks and the SDK example build test (nm)
    binutils procps
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
