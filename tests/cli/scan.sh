#!/bin/sh
# `notify scan` from the outside (docs: /work/contract/watch.md): small
# sites built here, one git repository (or plain folder) per case, and a
# Slack channel pointed at tests/peers/http_peer.py whenever a scan must
# really send (so that the state advances).  What would be announced is
# read from `scan --dry-run` (one "--- NAME (TYPE) CTYPE, N bytes: KEY"
# line per message), what was sent from the peer's record (one line per
# request).
# usage: scan.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
case $notify in /*) ;; *) notify=$PWD/$notify ;; esac
case $root in /*) ;; *) root=$PWD/$root ;; esac
tmp=$(mktemp -d) || exit 1
peer=
cleanup() {
	if [ -n "$peer" ]; then
		kill "$peer" 2>/dev/null
		wait "$peer" 2>/dev/null
	fi
	[ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
# shellcheck source=tests/cli/lib.sh disable=SC1091
. "$root/tests/cli/lib.sh"

# dates without a zone are read in the site's timezone: the machine's
# must not matter
TZ=UTC
export TZ
# git never reads the user's or the machine's configuration here
GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

# ---- the peer ---------------------------------------------------------

python3 "$root/tests/peers/http_peer.py" --record "$tmp/rec" \
	--port-file "$tmp/port" --max-lifetime 300 >/dev/null 2>&1 &
peer=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -s "$tmp/port" ]; then
	echo "FAIL: http_peer.py did not start"
	exit 1
fi
port=$(cat "$tmp/port")
printf 'http://127.0.0.1:%s/slack/scan-test\n' "$port" >"$tmp/slack.url"
chmod 600 "$tmp/slack.url"

reqs() { # requests the peer has received so far
	if [ -f "$tmp/rec" ]; then
		n=$(wc -l <"$tmp/rec")
		echo $((n))
	else
		echo 0
	fi
}

# ---- sites --------------------------------------------------------------

# newsite NAME [MODE]: a site with one post in $repo: a git repository
# where it is committed (MODE git, the default), a git repository with no
# commit yet (empty) or a plain folder (dir); its state in $site, its
# configuration in $conf (one Slack channel, soc), with $chans (more
# channels) and $extra (more settings) when set.
extra="" chans=""
newsite() {
	site=$tmp/$1
	repo=$site/site
	conf=$tmp/$1.conf
	mkdir -p "$repo/_posts"
	printf 'title: "t"\nurl: "https://blog.example.org"\ntimezone: UTC\n' \
		>"$repo/_config.yml"
	post "$repo/_posts/2026-01-01-first.md" First "2026-01-01 10:00:00 +0000"
	case ${2:-git} in
	git) git init -q -b main "$repo" && commit "first post" ;;
	empty) git init -q -b main "$repo" ;;
	esac
	cat >"$conf" <<CONF
site: { repo = "$repo"; };
state = "$site/state.db";
parser: { max_post_bytes = 1024; };
alerts: { templates = "$root/conf/templates"; };
channels = (
  { name = "soc"; type = "slack"; webhook_url_file = "slack.url"; }$chans
);
$extra
CONF
}

# post FILE TITLE DATE [FRONT-MATTER LINE]: a small post with key points
post() {
	cat >"$1" <<POST
---
title: '$2'
date: $3
tags: [veille-cyber]
${4:-}
---
**Points clés :**

*   Point $2.
POST
}

g() {
	git -C "$repo" -c user.name="notify test" -c user.email=test@example.org \
		-c commit.gpgsign=false "$@"
}

commit() { # MESSAGE: everything in the work tree
	g add -A && g commit -q -m "$1"
}

# scan [ARGS]: notify scan on $conf; stdout in $tmp/out, stderr in
# $tmp/err, and the requests it made in $sent
sent=0
scan() {
	before=$(reqs)
	"$notify" -c "$conf" scan "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	sent=$(($(reqs) - before))
	cat "$tmp/err" >>"$tmp/all-err"
	return $rc
}

# expect NAME EXIT SENT [ARGS]: one check, the exit status and the
# requests made by one scan
expect() {
	name=$1 want_rc=$2 want_sent=$3
	shift 3
	scan "$@"
	rc=$?
	if [ $rc -ne "$want_rc" ] || [ "$sent" -ne "$want_sent" ]; then
		check "$name: exit $want_rc, $want_sent sent (got exit $rc, $sent sent)" 1
		sed 's/^/    /' "$tmp/err"
	else
		check "$name" 0
	fi
}

# headers: the message lines of the last --dry-run
headers() { grep '^--- ' "$tmp/out"; }
err_has() { grep -q -- "$1" "$tmp/err"; }

# sent_titles N: the titles of the last N requests, in order, one a line
sent_titles() {
	tail -n "$1" "$tmp/rec" | python3 -c '
import json, sys
for line in sys.stdin:
    print(json.loads(line)["json"]["blocks"][0]["text"]["text"])'
}

ahead() { # SECONDS FORMAT: the time SECONDS from now, UTC
	date -u -d "@$(($(date +%s) + $1))" "+$2"
}

# ---- git mode: baseline, then only what commits add ----------------------

newsite base
expect "first scan: exit 0, nothing sent" 0 0
err_has baseline
check "first scan says baseline on stderr" $?
test -s "$site/state.db"
check "the baseline is recorded in the state file" $?
expect "second scan, nothing new: nothing sent" 0 0
! err_has baseline
check "the second scan is no baseline" $?

# two posts in one commit: file names in one order, dates in the other
post "$repo/_posts/2026-02-01-aaa-late.md" Late "2026-02-01 18:00:00 +0000"
post "$repo/_posts/2026-02-01-zzz-early.md" Early "2026-02-01 06:00:00 +0000"
commit "two posts"
expect "a commit adding 2 posts: 2 sent" 0 2
test "$(sent_titles 2 | tr '\n' ' ')" = "Early Late "
check "sent in front-matter date order, not file-name order" $?
expect "the same commit scanned again: nothing sent (exactly once)" 0 0
mkdir -p "$repo/_posts/2026"
post "$repo/_posts/2026/2026-02-03-nested.md" Nested "2026-02-03 10:00:00 +0000"
commit "a post in a subfolder of _posts"
expect "a post in a subfolder of _posts: 1 sent" 0 1

printf '\nUne ligne de plus.\n' >>"$repo/_posts/2026-02-01-aaa-late.md"
commit "modify"
expect "a commit modifying a post: nothing sent" 0 0
g rm -q _posts/2026-01-01-first.md
commit "delete"
expect "a commit deleting a post: nothing sent" 0 0
g mv _posts/2026-02-01-zzz-early.md _posts/2026-02-02-early-renamed.md
commit "rename"
expect "a commit renaming a post (git mv): nothing sent" 0 0
printf '\nEncore.\n' >>"$repo/_posts/2026-02-02-early-renamed.md"
commit "modify the renamed post"
expect "then modifying it under its new name: nothing sent" 0 0

# ---- files that are no post ------------------------------------------------

newsite skip
scan
mkdir -p "$repo/_drafts"
post "$repo/_drafts/2026-03-01-draft.md" Draft "2026-03-01 10:00:00 +0000"
commit "a draft"
expect "a draft (_drafts/): nothing sent" 0 0
err_has draft
check "stderr says draft" $?
g mv _drafts/2026-03-01-draft.md _posts/2026-03-01-draft.md
commit "publish the draft"
expect "a draft moved into _posts (git mv): 1 sent" 0 1

echo "not a post" >"$repo/_posts/README.txt"
commit "readme"
expect "README.txt under _posts: nothing sent" 0 0
err_has "_posts/README.txt: not a post"
check "stderr says not a post" $?

post "$tmp/outside.md" Outside "2026-03-02 10:00:00 +0000"
ln -s "$tmp/outside.md" "$repo/_posts/2026-03-02-link.md"
commit "a symbolic link"
expect "a symbolic link under _posts: nothing sent" 0 0
err_has "2026-03-02-link.md: a symbolic link"
check "stderr says symbolic link" $?

post "$repo/_posts/2026-03-03-big.md" Big "2026-03-03 10:00:00 +0000"
i=0
while [ $i -lt 40 ]; do
	echo "*   Une ligne pour dépasser parser.max_post_bytes ($i)." \
		>>"$repo/_posts/2026-03-03-big.md"
	i=$((i + 1))
done
commit "a large post"
expect "a post over parser.max_post_bytes: nothing sent" 0 0
err_has "2026-03-03-big.md: too large"
check "stderr says too large" $?

cp "$root/tests/data/posts/bad-yaml.md" "$repo/_posts/2026-03-04-bad.md"
post "$repo/_posts/2026-03-05-good.md" Good "2026-03-05 10:00:00 +0000"
commit "a bad post and a good one"
expect "a bad post and a good one in one commit: the good one sent" 0 1
test "$(sent_titles 1)" = Good
check "the one sent is the good post" $?
test "$(grep -c '2026-03-04-bad.md' "$tmp/err")" -eq 1 &&
	grep -q '^notify: .*_posts/2026-03-04-bad.md:[0-9]' "$tmp/err"
check "the bad post: one error line naming the file and line" $?
expect "the bad post is not retried at the next scan" 0 0
sed -i 's/^title: \(.*\)$/title: "\1"/' "$repo/_posts/2026-03-04-bad.md"
commit "fix the bad post"
expect "the bad post fixed by a later commit: 1 sent" 0 1
expect "and not again" 0 0

# ---- published: false, then true ------------------------------------------

newsite pub
scan
post "$repo/_posts/2026-04-01-hidden.md" Hidden "2026-04-01 10:00:00 +0000" \
	"published: false"
commit "unpublished"
expect "published: false: nothing sent" 0 0
err_has "2026-04-01-hidden.md: published: false"
check "stderr says published: false" $?
post "$repo/_posts/2026-04-01-hidden.md" Hidden "2026-04-01 10:00:00 +0000" \
	"published: true"
commit "publish"
expect "published flipped to true: 1 sent" 0 1
expect "and not again" 0 0

# ---- future dates ------------------------------------------------------------

newsite future # its _config.yml does not set future: Jekyll's false
scan
day=$(ahead 3600 %Y-%m-%d)
post "$repo/_posts/$day-soon.md" Soon "$(ahead 3600 '%Y-%m-%d %H:%M:%S +0000')"
commit "a post dated in an hour"
expect "a post dated 1 h ahead (future unset): nothing sent" 0 0
err_has "holds $day-soon until"
check "stderr says it holds the post" $?
expect "still held at the next scan" 0 0

newsite future2
printf 'future: true\n' >>"$repo/_config.yml"
commit "future: true"
scan
post "$repo/_posts/$day-soon.md" Soon "$(ahead 3600 '%Y-%m-%d %H:%M:%S +0000')"
commit "a post dated in an hour"
expect "a post dated 1 h ahead with future: true: 1 sent" 0 1

# a post held 5 seconds: sent by the first scan after its date (the
# check is at the end of the script, when its date has come)
newsite held
printf 'future: false\n' >>"$repo/_config.yml"
commit "future: false"
scan
held_at=$(($(date +%s) + 5))
held_day=$(date -u -d "@$held_at" +%Y-%m-%d)
post "$repo/_posts/$held_day-held.md" Held \
	"$(date -u -d "@$held_at" '+%Y-%m-%d %H:%M:%S +0000')"
commit "a post dated in 5 s"
expect "a post dated 5 s ahead (future: false): nothing sent" 0 0
err_has "holds $held_day-held until"
check "... stderr says it holds the post" $?
held_conf=$conf

# a date without a zone is in the site's timezone: 13 h ahead of UTC is
# the past at UTC+14, 11 h behind UTC the future at UTC-12
newsite east
sed -i 's|^timezone: .*|timezone: Pacific/Kiritimati|' "$repo/_config.yml"
commit "timezone"
scan
post "$repo/_posts/$(ahead 46800 %Y-%m-%d)-east.md" East \
	"$(ahead 46800 '%Y-%m-%d %H:%M:%S')"
commit "a post dated without a zone"
expect "no zone, site at UTC+14, local time 1 h past: 1 sent" 0 1
newsite west
sed -i 's|^timezone: .*|timezone: Etc/GMT+12|' "$repo/_config.yml"
commit "timezone"
scan
post "$repo/_posts/$(ahead -39600 %Y-%m-%d)-west.md" West \
	"$(ahead -39600 '%Y-%m-%d %H:%M:%S')"
commit "a post dated without a zone"
expect "no zone, site at UTC-12, local time 1 h ahead: nothing sent" 0 0
err_has "holds .*-west until"
check "... stderr says it holds the post" $?

# ---- digests -------------------------------------------------------------------

extra='delivery: { digest_threshold = 2; };'
chans=',
  { name = "soc5"; type = "slack"; webhook_url_file = "slack.url";
    digest_threshold = 5; },
  { name = "soc3"; type = "slack"; webhook_url_file = "slack.url";
    digest_threshold = 3; }'
newsite digest
extra="" chans=""
scan
post "$repo/_posts/2026-05-01-a.md" A "2026-05-01 12:00:00 +0000"
post "$repo/_posts/2026-05-01-b.md" B "2026-05-01 08:00:00 +0000"
post "$repo/_posts/2026-05-01-c.md" C "2026-05-01 10:00:00 +0000"
commit "three posts"
expect "dry run of 3 posts: exit 0, nothing sent" 0 0 --dry-run
test "$(headers | grep -c '^--- soc (slack)')" -eq 1
check "threshold 2, 3 posts: one message" $?
headers | grep -q '^--- soc (slack) .*: digest-3-2026-05-01-b\b'
check "its key is digest-3- and the earliest post by date" $?
test "$(headers | grep -c '^--- soc5 (slack)')" -eq 3
check "a channel with digest_threshold = 5 gets 3 messages" $?
test "$(headers | grep -c '^--- soc3 (slack)')" -eq 3
check "a channel with digest_threshold = 3 gets 3 messages (not over it)" $?
test "$(headers | grep '^--- soc5 (slack)' | sed 's/.*: //' | tr '\n' ' ')" = \
	"2026-05-01-b 2026-05-01-c 2026-05-01-a "
check "the single messages come in date order" $?

# ---- history rewritten ---------------------------------------------------------

newsite rewrite
scan
post "$repo/_posts/2026-06-01-kept.md" Kept "2026-06-01 10:00:00 +0000"
commit "kept"
post "$repo/_posts/2026-06-02-undone.md" Undone "2026-06-02 10:00:00 +0000"
commit "undone"
expect "before the rewrite: 2 sent" 0 2
g reset -q --hard HEAD~1
post "$repo/_posts/2026-06-03-after.md" After "2026-06-03 10:00:00 +0000"
commit "after the rewrite"
expect "history rewritten, then 1 post committed: 1 sent" 0 1
test "$(sent_titles 1)" = After
check "the one sent is the new post" $?
err_has "no longer in the history"
check "stderr warns about the history" $?
expect "and nothing at the next scan" 0 0

# ---- merges ----------------------------------------------------------------------

newsite merge
scan
g checkout -q -b topic
post "$repo/_posts/2026-07-01-topic.md" Topic "2026-07-01 10:00:00 +0000"
commit "on the branch"
g checkout -q main
post "$repo/_posts/2026-07-02-main.md" Main "2026-07-02 10:00:00 +0000"
commit "on main"
expect "a commit on main while a branch waits: 1 sent" 0 1
expect "the branch is not watched: nothing sent" 0 0
g merge -q --no-ff -m "merge topic" topic
expect "the branch merged (--no-ff): 1 sent" 0 1
test "$(sent_titles 1)" = Topic
check "the one sent is the branch's post" $?
expect "and nothing at the next scan" 0 0

# ---- --baseline, --backfill ----------------------------------------------------------

newsite baseline
post "$repo/_posts/2026-08-01-unseen.md" Unseen "2026-08-01 10:00:00 +0000"
commit "unseen"
expect "--baseline on a fresh state with posts: nothing sent" 0 0 --baseline
expect "then a scan: nothing sent" 0 0
post "$repo/_posts/2026-08-02-more.md" More "2026-08-02 10:00:00 +0000"
commit "more"
expect "--baseline with an unseen commit: nothing sent" 0 0 --baseline
expect "then a scan: nothing sent" 0 0

newsite backfill
# names in one order, dates in another: the newest by date are c and a
post "$repo/_posts/2026-09-01-a.md" BfA "2026-09-05 10:00:00 +0000"
post "$repo/_posts/2026-09-02-b.md" BfB "2026-09-02 10:00:00 +0000"
post "$repo/_posts/2026-09-03-c.md" BfC "2026-09-09 10:00:00 +0000"
post "$repo/_posts/2026-09-04-d.md" BfD "2026-09-04 10:00:00 +0000"
commit "four more posts (five in all)"
expect "--backfill 2 --dry-run: nothing sent" 0 0 --backfill 2 --dry-run
test "$(headers | sed 's/.*: //' | tr '\n' ' ')" = "2026-09-01-a 2026-09-03-c "
check "... it prints the 2 newest by date" $?
expect "--backfill 2 on a fresh state with 5 posts: 2 sent" 0 2 --backfill 2
test "$(sent_titles 2 | tr '\n' ' ')" = "BfA BfC "
check "the 2 newest by date, oldest first" $?
expect "then a scan: nothing sent" 0 0
expect "then --backfill 2 again: nothing sent" 0 0 --backfill 2

# ---- --dry-run --------------------------------------------------------------------

newsite dry
expect "--dry-run on a fresh state: nothing sent" 0 0 --dry-run
test ! -s "$tmp/out"
check "... and nothing printed" $?
expect "a real scan afterwards is the baseline" 0 0
err_has baseline
check "... it says baseline" $?
post "$repo/_posts/2026-10-01-dry.md" Dry "2026-10-01 10:00:00 +0000"
commit "dry"
cp "$site/state.db" "$tmp/state.before"
expect "--dry-run with a new post: nothing sent" 0 0 --dry-run
test "$(headers | wc -l)" -eq 1 && headers | grep -q ': 2026-10-01-dry$'
check "... it prints the message" $?
expect "--dry-run again prints it again" 0 0 --dry-run
test "$(headers | wc -l)" -eq 1
check "... (the first dry run recorded nothing)" $?
cmp -s "$site/state.db" "$tmp/state.before"
check "the state file is unchanged by --dry-run" $?
expect "a real scan afterwards still sends it" 0 1

# ---- directory mode ------------------------------------------------------------------

extra='watch: { mode = "dir"; };'
newsite dir dir
extra=
test ! -e "$repo/.git"
check "the dir-mode site is a plain folder" $?
expect "dir mode, first scan: baseline, nothing sent" 0 0
err_has baseline
check "... it says baseline" $?
post "$repo/_posts/2026-11-01-new.md" New "2026-11-01 10:00:00 +0000"
expect "dir mode, a new file: 1 sent" 0 1
expect "dir mode, then nothing" 0 0
echo "notes" >"$repo/_posts/notes.txt"
expect "dir mode, a file that is no post: nothing sent" 0 0
err_has "_posts/notes.txt: not a post"
check "... stderr says not a post" $?
ln -s "$tmp/outside.md" "$repo/_posts/2026-11-02-link.md"
expect "dir mode, a symbolic link: nothing sent" 0 0
err_has "2026-11-02-link.md: a symbolic link"
check "... stderr says symbolic link" $?
# The post id is the file name less its extension: a new extension
# keeps the id, so the post stays seen.
mv "$repo/_posts/2026-11-01-new.md" "$repo/_posts/2026-11-01-new.markdown"
expect "dir mode, a seen post given another extension: nothing sent" 0 0
# A seen post renamed while no daemon runs: its id changes, and scan,
# which only lists the folder (no inotify, so no IN_MOVED_FROM/TO pair),
# cannot tell a rename from a new file, so it is announced as new.  The
# contract says that "a rename inside the folder of a seen post is not
# new", which only the daemon can honour: the behaviour of scan is
# printed here, not asserted.
mv "$repo/_posts/2026-11-01-new.markdown" "$repo/_posts/2026-11-01-renamed.md"
scan --dry-run
echo "note: dir mode, a seen post renamed between two scans:" \
	"$(headers | wc -l) message(s) in a dry run"

# ---- renames, and the baseline --------------------------------------------------------

# A commit that deletes a seen post and adds another, short and alike
# (these test posts differ in 3 of their 9 lines): git's own 50 %
# similarity would pair them as a rename, and the new post would be
# lost; notify takes only a near copy for a rename.
newsite alike
post "$repo/_posts/2026-10-01-other.md" Other "2026-10-01 10:00:00 +0000"
commit "another post"
scan
g rm -q _posts/2026-01-01-first.md
post "$repo/_posts/2026-10-02-new.md" New "2026-10-02 10:00:00 +0000"
commit "a post deleted, another added"
expect "a seen post deleted and a similar new one added: 1 sent" 0 1

# The baseline records the published posts as seen, not the others: one
# published later is announced then, one dated ahead is held.
newsite unpub empty
post "$repo/_posts/2026-10-03-hidden.md" Hidden "2026-10-03 10:00:00 +0000" \
	"published: false"
post "$repo/_posts/2099-01-01-ahead.md" Ahead "2099-01-01 10:00:00 +0000"
commit "first posts, one unpublished, one ahead"
expect "baseline with an unpublished and a future post: nothing sent" 0 0
err_has "holds 2099-01-01-ahead until"
check "... the future one is held at the baseline" $?
sed -i 's/^published: false$/published: true/' "$repo/_posts/2026-10-03-hidden.md"
commit "publish"
expect "published after the baseline: 1 sent" 0 1
expect "and not again" 0 0

# ---- a repository without any commit yet -------------------------------------------------

newsite empty empty
expect "a repository with no commit: baseline, nothing sent" 0 0
err_has baseline
check "... it says baseline" $?
commit "first post"
expect "its first commit: 1 sent" 0 1
expect "and not again" 0 0

# ---- a hostile file name -------------------------------------------------------------

# An escape character in a post's file name reaches neither the dry-run
# output nor the log.
newsite hostile
scan
esc=$(printf '\033')
post "$repo/_posts/2026-10-05-esc${esc}x.md" Esc "2026-10-05 10:00:00 +0000"
echo x >"$repo/_posts/notes${esc}.txt"
commit "a name with an escape"
scan --dry-run
! grep -q "$esc" "$tmp/out" && grep -q ': 2026-10-05-esc?x$' "$tmp/out"
check "dry run: the file name's escape character is shown as ?" $?
! grep -q "$esc" "$tmp/err" && grep -q 'notes?.txt: not a post' "$tmp/err"
check "log: the escape character is shown as ?" $?

# ---- progress on a terminal, a summary line under systemd -------------------------

newsite tty
scan
for d in 14 15 16; do
	post "$repo/_posts/2026-10-$d-tty-$d.md" "Tty $d" "2026-10-$d 10:00:00 +0000"
done
commit "three posts"
cp -r "$site" "$site.journal"
if command -v script >/dev/null 2>&1; then
	script -qec "'$notify' -c '$conf' scan" /dev/null >"$tmp/on-tty" 2>&1
	grep -q "$(printf '\r')notify: 3/3 sent" "$tmp/on-tty"
	check "on a terminal: a progress line (done/total)" $?
	! grep -q "delivery id=" "$tmp/on-tty"
	check "... instead of a line per delivery" $?
	# a post file named to set the terminal's title: shown with '?'
	post "$repo/_posts/2026-10-17-a${esc}]0;pwned$(printf '\007')b.md" \
		"Tty 17" "2026-10-17 10:00:00 +0000"
	commit "a hostile name"
	script -qec "'$notify' -c '$conf' scan" /dev/null >"$tmp/on-tty" 2>&1
	grep -q 'now 2026-10-17-a?\]0;pwned?b' "$tmp/on-tty" &&
		! grep -q "${esc}]" "$tmp/on-tty"
	check "... where a file name's controls are shown as ?" $?
fi
# the same batch, under systemd: stderr is the journal
rm -rf "$site" && mv "$site.journal" "$site"
: >"$tmp/journal"
jstream=$(stat -c '%d:%i' "$tmp/journal")
JOURNAL_STREAM=$jstream "$notify" -c "$conf" scan 2>>"$tmp/journal"
grep -q "^<5>delivered: 3 sent, 0 queued for retry, 0 failed" "$tmp/journal"
check "under systemd: a summary line, with its priority" $?
! grep -q "$(printf '\r')" "$tmp/journal"
check "... and no progress line" $?

# ---- a repository owned by another user --------------------------------------------

# Under systemd (DynamicUser=) the service never owns the repository;
# libgit2 refuses such a repository unless its owner check is off, and
# notify must not fall back to directory mode then.  Needs root, to run
# as nobody.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
	id nobody >/dev/null 2>&1; then
	newsite owned
	chmod 755 "$tmp" "$site"
	mkdir "$site/state" && chown nobody "$site/state"
	sed -i "s|state = \"$site/state.db\"|state = \"$site/state/state.db\"|" "$conf"
	cp "$tmp/slack.url" "$site/state/slack.url" && chown nobody "$site/state/slack.url"
	sed -i "s|webhook_url_file = \"slack.url\"|webhook_url_file = \"$site/state/slack.url\"|" "$conf"
	chmod 644 "$conf"
	# the build tree may sit in a folder only root enters (a clone in
	# mktemp -d): the programs go where nobody can run them
	mkdir -m 755 "$site/bin"
	cp "$notify" "$(dirname "$notify")/notify-scan" "$site/bin/"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$site/bin/notify" -c "$conf" scan >"$tmp/out" 2>"$tmp/err"
	rc=$?; sed "s/^/    /" "$tmp/err"
	check "as another user than the repository's owner: exit 0" $rc
	err_has "at commit"
	check "... it reads the git history (not directory mode)" $?
else
	echo "note: not root (or no setpriv): the other-owner case is not run"
fi

# ---- bad usage and bad configuration ------------------------------------------------

conf=$tmp/base.conf
scan --backfill x
check "--backfill x: 64" $(($? != 64))
scan --backfill
check "--backfill without N: 64" $(($? != 64))
scan --backfill -1
check "--backfill -1: 64" $(($? != 64))
scan --baseline --backfill 2
check "--baseline --backfill 2: 64" $(($? != 64))
scan --backfill 2 --baseline
check "--backfill 2 --baseline: 64" $(($? != 64))
grep -q '^usage: notify .*scan' "$tmp/err"
check "... with the usage line" $?
scan extra
check "an operand: 64" $(($? != 64))

grep -v '^site:' "$tmp/base.conf" >"$tmp/norepo.conf"
conf=$tmp/norepo.conf
expect "no site.repo: exit 78, nothing sent" 78 0
test "$(wc -l <"$tmp/err")" -eq 1 && err_has 'site.repo'
check "... one error line naming site.repo" $?
grep -v '^state' "$tmp/base.conf" >"$tmp/nostate.conf"
conf=$tmp/nostate.conf
expect "no state: exit 78, nothing sent" 78 0
test "$(wc -l <"$tmp/err")" -eq 1 && err_has "'state'"
check "... one error line naming state" $?

sed 's|mode = "dir"|mode = "git"|' "$tmp/dir.conf" >"$tmp/notgit.conf"
conf=$tmp/notgit.conf
expect "watch.mode = git on a plain folder: exit 78" 78 0
err_has "not a git work tree"
check "... it says not a git work tree" $?

# ---- the post held since the start of the script --------------------------------------

conf=$held_conf
i=0
while [ "$(date +%s)" -le "$held_at" ] && [ $i -lt 70 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect "the held post, once its date has come: 1 sent" 0 1
test "$(sent_titles 1)" = Held
check "... it is the held post" $?
expect "and not again" 0 0

# under -Db_sanitize=address,undefined: a UBSan report does not change
# the exit status unless UBSAN_OPTIONS says so
! grep -q -e 'runtime error:' -e 'Sanitizer' "$tmp/all-err"
check "no sanitizer report on any stderr" $?
grep -e 'runtime error:' -e 'Sanitizer' "$tmp/all-err" | head -5

finish
