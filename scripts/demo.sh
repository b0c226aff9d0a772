#!/bin/bash
# Builds Postroom and runs it in the foreground from the build tree with a
# demo configuration in ./demo (127.0.0.1, high ports, user demo/demo).
# Stop it with Ctrl-C. Remove ./demo to start from scratch.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build
DEMO=$ROOT/demo

scripts/install-deps.sh
if [ -f "$BUILD/build.ninja" ]; then
    meson setup --reconfigure "$BUILD"
else
    meson setup "$BUILD"
fi
ninja -C "$BUILD"

mkdir -p "$DEMO"
chmod 0700 "$DEMO"

if [ ! -f "$DEMO/key.pem" ]; then
    cat >"$DEMO/cert.cfg" <<'CFG'
cn = "localhost"
organization = "Postroom demo"
dns_name = "localhost"
ip_address = "127.0.0.1"
expiration_days = 365
tls_www_server
signing_key
encryption_key
CFG
    certtool --generate-privkey --outfile "$DEMO/key.pem" 2>/dev/null
    chmod 0600 "$DEMO/key.pem"
    certtool --generate-self-signed --load-privkey "$DEMO/key.pem" \
        --template "$DEMO/cert.cfg" --outfile "$DEMO/cert.pem" 2>/dev/null
fi

# Modules to run and where they listen. As the real services land, enable
# them here (and drop testproto), e.g.:
#   MODULES="pop3;smtp;imap4"
#   [pop3]  listen=127.0.0.1:1110;127.0.0.1:1995/tls
#   [smtp]  listen=127.0.0.1:1025;127.0.0.1:1587
#   [imap4] listen=127.0.0.1:1143;127.0.0.1:1993/tls
# (module_dir then becomes "$BUILD/modules" plus the module subdirectories,
# or an install's moduledir).
MODULES="testproto"
MODULE_DIR="$BUILD/tests/testmodule"
SERVICES=$(
    cat <<CFG
[testproto]
listen=127.0.0.1:1110;127.0.0.1:1995/tls
CFG
)

CONFIG=$DEMO/postroomd.conf
cat >"$CONFIG" <<CFG
# Written by scripts/demo.sh; rewritten on every run.
[server]
data_dir=$DEMO/data
module_dir=$MODULE_DIR
hostname=localhost

[modules]
enabled=$MODULES

[tls]
certificate=$DEMO/cert.pem
key=$DEMO/key.pem

[log]
level=info

$SERVICES
CFG

CTL=$BUILD/server/ctl/postroomctl
if [ ! -d "$DEMO/data" ]; then
    mkdir -p "$DEMO/data"
    chmod 0700 "$DEMO/data"
    "$CTL" --config "$CONFIG" init
    printf 'demo' >"$DEMO/password"
    chmod 0600 "$DEMO/password"
    "$CTL" --config "$CONFIG" user add demo --password-file "$DEMO/password"
    rm -f "$DEMO/password"
fi

cat <<TXT

Postroom demo: config $CONFIG, data in $DEMO/data, user demo / password demo.

  testproto (POP3-like) on 127.0.0.1:1110 (STLS) and 127.0.0.1:1995 (TLS):
    python3 -m telnetlib 127.0.0.1 1110    then: CAPA, USER demo, PASS demo, WHOAMI, QUIT
    gnutls-cli --insecure --crlf --starttls-proto=pop3 -p 1110 127.0.0.1
    openssl s_client -quiet -connect 127.0.0.1:1995

Starting postroomd in the foreground; stop it with Ctrl-C.

TXT
exec "$BUILD/server/daemon/postroomd" --config "$CONFIG" --foreground
