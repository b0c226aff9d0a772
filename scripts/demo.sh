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

# The modules run straight from the build tree (build/modules/ holds them
# side by side, finding the SDK library of the same build).
MODULES="pop3;imap4;smtp"
MODULE_DIR="$BUILD/modules"
SERVICES=$(
    cat <<CFG
[delivery]
default_domain=localhost
local_domains=localhost;example.com

[pop3]
listen=127.0.0.1:1110;127.0.0.1:1995/tls

[imap4]
listen=127.0.0.1:1143;127.0.0.1:1993/tls

[smtp]
listen=127.0.0.1:2525

[submission]
listen=127.0.0.1:2587

[smtps]
listen=127.0.0.1:2465/tls
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
    "$CTL" --config "$CONFIG" mapping add info demo
    "$CTL" --config "$CONFIG" deliver --from postmaster@localhost demo <<'MSG'
From: Postroom <postmaster@localhost>
To: demo@localhost
Subject: Welcome to Postroom

This message was delivered with `postroomctl deliver`. Deliver more with:

  printf 'Subject: test\n\nhello\n' | build/server/ctl/postroomctl \
      --config demo/postroomd.conf deliver info@example.com
MSG
fi

cat <<TXT

Postroom demo: config $CONFIG, data in $DEMO/data, user demo / password demo.

  POP3 on 127.0.0.1:1110 (plain, STLS offered) and 127.0.0.1:1995 (implicit TLS,
  self-signed certificate). Point a mail client at it, or try:
    curl -s pop3://demo:demo@127.0.0.1:1110/1
    curl -sk pop3s://demo:demo@127.0.0.1:1995/
    python3 -c "import poplib; p=poplib.POP3('127.0.0.1',1110); p.user('demo'); p.pass_('demo'); print(p.stat())"
  IMAP on 127.0.0.1:1143 (plain, STARTTLS offered) and 127.0.0.1:1993 (implicit TLS).
  Try (the mailbox is shared with POP3, which locks it while a session is open):
    curl -s imap://demo:demo@127.0.0.1:1143/
    curl -sk "imaps://demo:demo@127.0.0.1:1993/INBOX;UID=1"
  SMTP on 127.0.0.1:2525 (incoming mail), 127.0.0.1:2587 (submission: STARTTLS,
  then AUTH as demo/demo) and 127.0.0.1:2465 (implicit TLS, AUTH). Try:
    swaks --server 127.0.0.1:2525 --to info@example.com
    swaks --server 127.0.0.1:2587 --tls --auth-user demo \\
        --auth-password demo --from demo@localhost --to demo@localhost
  Mail for demo@localhost, demo@example.com and info@example.com lands in the demo mailbox:
    echo hello | $CTL --config $CONFIG deliver info@example.com
  Mail to other domains waits in the queue ($CTL --config $CONFIG queue list):
  the sender module is not enabled in the demo, so nothing leaves this machine.

Starting postroomd in the foreground; stop it with Ctrl-C.

TXT
exec "$BUILD/server/daemon/postroomd" --config "$CONFIG" --foreground
