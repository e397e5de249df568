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
alerts: { templates = "$root/conf/templates"; };
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
grep -q 'n.conf:4: secret file .*readable by others' "$tmp/out"
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

# What check-config passed and every send then refused (issue 11.5).
mkdir -p "$tmp/h"
printf 'https://hooks.example.org/services/T/B/x\n' >"$tmp/h/real.url"
chmod 600 "$tmp/h/real.url"
ln -s real.url "$tmp/h/slack.url"
cat >"$tmp/h/n.conf" <<CONF
alerts: { templates = "$root/conf/templates"; };
channels = ( { name = "soc"; type = "slack";
  webhook_url_file = "slack.url"; } );
CONF
"$notify" -c "$tmp/h/n.conf" check-config >"$tmp/out" 2>&1
check "a secret file that is a symbolic link gives 78" $(($? != 78))
grep -q 'n.conf:3: secret file .*slack.url: .*symbolic link' "$tmp/out"
check "the link is named with its line" $?

rm "$tmp/h/slack.url"
printf 'http://hooks.example.org/services/T/B/s3cr3t\n' >"$tmp/h/slack.url"
chmod 600 "$tmp/h/slack.url"
"$notify" -c "$tmp/h/n.conf" check-config >"$tmp/out" 2>&1
check "an http:// URL to another host in a secret file gives 78" \
	$(($? != 78))
grep -q 'n.conf:3: secret file .*slack.url: .*https://' "$tmp/out" &&
	! grep -q s3cr3t "$tmp/out"
check "it names the file and line, never the URL" $?
printf 'http://127.0.0.1:9/hook\n' >"$tmp/h/slack.url"
"$notify" -c "$tmp/h/n.conf" check-config >"$tmp/out" 2>&1
check "an http:// URL to the loopback passes" $?
printf 'hooks.example.org/services/T/B/x\n' >"$tmp/h/slack.url"
"$notify" -c "$tmp/h/n.conf" check-config >"$tmp/out" 2>&1
check "a secret that is no URL at all gives 78" $(($? != 78))
printf 'http://hooks.example.org/services/T/B/x\n' >"$tmp/h/slack.url"
sed 's|type = "slack";|type = "slack"; allow_http = true;|' \
	"$tmp/h/n.conf" >"$tmp/h/allow.conf"
"$notify" -c "$tmp/h/allow.conf" check-config >"$tmp/out" 2>&1
check "with allow_http = true it passes" $?

printf 'https://hooks.example.org/services/T/B/x\n' >"$tmp/h/slack.url"
sed "s|$root/conf/templates|$tmp/no-such-templates|" "$tmp/h/n.conf" \
	>"$tmp/h/notpl.conf"
"$notify" -c "$tmp/h/notpl.conf" check-config >"$tmp/out" 2>&1
check "a missing templates folder gives 78" $(($? != 78))
grep -q "notpl.conf:1: .*no-such-templates" "$tmp/out"
check "the folder is named with its line" $?
mkdir -p "$tmp/h/tpl/en"
sed "s|$root/conf/templates|$tmp/h/tpl|" "$tmp/h/n.conf" \
	>"$tmp/h/halftpl.conf"
"$notify" -c "$tmp/h/halftpl.conf" check-config >"$tmp/out" 2>&1
check "a templates folder without some templates takes the built-in ones" $?
printf '{{#open}} never closed\n' >"$tmp/h/tpl/en/subject.mustache"
"$notify" -c "$tmp/h/halftpl.conf" check-config >"$tmp/out" 2>&1
check "a broken template in the folder gives 78" $(($? != 78))
grep -q "tpl/en/subject.mustache" "$tmp/out"
check "the broken template is named" $?

# over the size notify watch refuses (1 MiB): refused before libconfig
# reads it (a 10 MB string took it 81 s of CPU)
python3 -c 'import sys; sys.stdout.write("state = \"" + "a" * 1100000 + "\";\n")' \
	>"$tmp/big.conf"
"$notify" -c "$tmp/big.conf" check-config >"$tmp/out" 2>&1
check "a configuration over 1 MiB gives 78" $(($? != 78))
test "$(wc -l <"$tmp/out")" -eq 1 &&
	grep -q 'big.conf: .*over the 1048576 byte cap' "$tmp/out"
check "one line names the file and the cap" $?
printf 'state = "a";\000\nstate = "b";\n' >"$tmp/nul.conf"
"$notify" -c "$tmp/nul.conf" check-config >"$tmp/out" 2>&1
check "a NUL byte in the configuration gives 78" $(($? != 78))
grep -q 'nul.conf:1: .*NUL' "$tmp/out"
check "the NUL byte is named with its line" $?

finish
