#!/bin/sh
# `notify check-config` from the outside: the shipped file, secret files
# (missing, readable by others, fine), errors with file and line, and no
# secret in any output.
# usage: config.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
. "$root/tests/cli/lib.sh"

"$notify" -c "$root/conf/notify.conf" check-config --no-secrets \
	>"$tmp/out" 2>&1
check "shipped config is valid" $?
grep -q '^channels: 4$' "$tmp/out"
check "summary counts the channels" $?

"$notify" -c "$root/conf/notify.conf" check-config >"$tmp/out" 2>&1
check "missing secret file gives 78" $(($? != 78))
grep -q 'notify.conf:[0-9]*: secret file .*slack.url' "$tmp/out"
check "missing secret names config line and file" $?

secret='https://hooks.example.org/services/T000/B000/s3cr3tPathValue'
token='syt_c2VjcmV0_tokenValue0123'
printf '%s\n' "$secret" >"$tmp/slack.url"
printf '%s\n' "$token" >"$tmp/matrix.token"
cat >"$tmp/n.conf" <<CONF
site: { repo = "$root/examples/site"; };
channels = (
  { name = "soc"; type = "slack"; webhook_url_file = "slack.url"; },
  { name = "room"; type = "matrix"; homeserver = "https://m.example.org";
    room = "#r:example.org"; access_token_file = "matrix.token"; }
);
CONF
chmod 644 "$tmp/slack.url"
chmod 600 "$tmp/matrix.token"
"$notify" -c "$tmp/n.conf" check-config >"$tmp/out" 2>&1
check "secret readable by others gives 78" $(($? != 78))
grep -q 'n.conf:3: secret file .*readable by others' "$tmp/out"
check "readable secret is named with its line" $?
chmod 600 "$tmp/slack.url"
"$notify" -c "$tmp/n.conf" check-config >"$tmp/out" 2>&1
check "private secrets pass" $?
! grep -q -e "$secret" -e "$token" -e s3cr3t "$tmp/out"
check "no secret in the summary" $?

CREDENTIALS_DIRECTORY=$tmp/creds "$notify" -c "$tmp/n.conf" \
	check-config >"$tmp/out" 2>&1
grep -q "$tmp/creds/slack.url" "$tmp/out"
check "secrets are read from CREDENTIALS_DIRECTORY" $?

printf 'channels = ( { name = "a"; type = "slack";\n  colour = 1; } );\n' \
	>"$tmp/bad.conf"
"$notify" -c "$tmp/bad.conf" check-config >"$tmp/out" 2>&1
check "unknown key gives 78" $(($? != 78))
grep -q 'bad.conf:2: unknown key .colour.' "$tmp/out"
check "unknown key names file and line" $?

printf 'channels = ( { name = "m"; type = "smtp"; host = "h";\n  from = "a@b, c@d"; to = ["x@y"]; } );\n' >"$tmp/mail.conf"
"$notify" -c "$tmp/mail.conf" check-config >"$tmp/out" 2>&1
check "a From with two mailboxes gives 78" $(($? != 78))
grep -q "mail.conf:1: channel 'm'" "$tmp/out"
check "the mailbox error names the channel and line" $?

"$notify" -c "$tmp/none.conf" check-config >/dev/null 2>&1
check "missing config gives 78" $(($? != 78))

finish
