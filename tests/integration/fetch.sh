#!/bin/sh
# `notify watch` with watch.remote: the branch is fetched and
# fast-forwarded (with the work tree), so a post pushed to the remote is
# announced; a remote that goes away is logged and tried again, never
# fatal; a work tree with local changes to a file the remote changed is
# not overwritten.  The remote is a bare repository on disk (no network),
# the Slack receiver tests/peers/http_peer.py on 127.0.0.1.
# usage: fetch.sh NOTIFY SOURCE_ROOT
set -u
notify=$1 root=$2
case $notify in /*) ;; *) notify=$PWD/$notify ;; esac
case $root in /*) ;; *) root=$PWD/$root ;; esac
tmp=$(mktemp -d) || exit 1
peer="" daemon=""
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon"
	[ -n "$peer" ] && kill "$peer" 2>/dev/null && wait "$peer"
	[ -n "${KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
. "$root/tests/cli/lib.sh"

python3 "$root/tests/peers/http_peer.py" --record "$tmp/rec" \
	--port-file "$tmp/port" --max-lifetime 120 >/dev/null 2>&1 &
peer=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ -s "$tmp/port" ] || { echo "FAIL: http_peer.py did not start"; exit 1; }
printf 'http://127.0.0.1:%s/slack/fetch-test\n' "$(cat "$tmp/port")" \
	>"$tmp/slack.url"
chmod 600 "$tmp/slack.url"

g() { # DIR ARGS...: git without the machine's settings
	d=$1
	shift
	HOME=$tmp GIT_CONFIG_NOSYSTEM=1 git -C "$d" -c user.name="notify test" \
		-c user.email=test@example.org -c commit.gpgsign=false "$@"
}

post() { # FILE TITLE
	cat >"$1" <<POST
---
title: '$2'
date: 2026-10-01 10:00:00 +0000
tags: [veille-cyber]
---
**Points clés :**

*   $2, point unique.
POST
}

# the blog: a bare remote, the site notify watches (a clone), and the
# author's clone that pushes
mkdir -p "$tmp/author/_posts"
printf 'title: "t"\nurl: "https://blog.example.org"\n' >"$tmp/author/_config.yml"
post "$tmp/author/_posts/2026-09-01-first.md" First
g "$tmp" init -q -b main author
g "$tmp/author" add -A
g "$tmp/author" commit -q -m first
git clone -q --bare "$tmp/author" "$tmp/remote.git"
g "$tmp/author" remote add origin "$tmp/remote.git"
git clone -q "$tmp/remote.git" "$tmp/site"

cat >"$tmp/notify.conf" <<CONF
site: { repo = "$tmp/site"; };
state = "$tmp/state.db";
alerts: { templates = "$root/conf/templates"; };
watch: { remote = "origin"; branch = "main"; fetch_interval = 1; };
channels = ( { name = "soc"; type = "slack"; webhook_url_file = "slack.url"; } );
CONF

reqs() { [ -f "$tmp/rec" ] && wc -l <"$tmp/rec" || echo 0; }

wait_reqs() { # N: until the receiver got N requests, at most 10 s
	i=0
	while [ "$(reqs)" -lt "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	test "$(reqs)" -ge "$1"
}

wait_log() { # TEXT: until the daemon logged it, at most 10 s
	i=0
	while ! grep -q "$1" "$tmp/log" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$tmp/log"
}

"$notify" -c "$tmp/notify.conf" watch 2>"$tmp/log" &
daemon=$!
wait_log "watching"
check "the service starts (baseline)" $?

post "$tmp/author/_posts/2026-10-02-pushed.md" Pushed
g "$tmp/author" add -A
g "$tmp/author" commit -q -m pushed
g "$tmp/author" push -q origin main
wait_reqs 1
check "a post pushed to the remote is fetched and announced" $?
test -f "$tmp/site/_posts/2026-10-02-pushed.md"
check "... the work tree was fast-forwarded" $?
test "$(g "$tmp/site" rev-parse main)" = "$(g "$tmp/author" rev-parse main)"
check "... and the branch" $?

mv "$tmp/remote.git" "$tmp/gone.git"
wait_log "will try again"
check "a remote gone: the fetch failure is logged" $?
sleep 1.5
kill -0 "$daemon" 2>/dev/null
check "... and the service goes on" $?
mv "$tmp/gone.git" "$tmp/remote.git"

# a local change to a file the remote changes: the fast-forward would
# overwrite it, so it is refused and logged
sed -i 's/point unique/changed here/' "$tmp/site/_posts/2026-09-01-first.md"
sed -i 's/point unique/changed there/' "$tmp/author/_posts/2026-09-01-first.md"
post "$tmp/author/_posts/2026-10-03-third.md" Third
g "$tmp/author" add -A
g "$tmp/author" commit -q -m third
g "$tmp/author" push -q origin main
wait_log "fast-forward"
check "local changes in the work tree: the fast-forward is refused, logged" $?
grep -q "changed here" "$tmp/site/_posts/2026-09-01-first.md"
check "... and the local change is kept" $?
test "$(reqs)" -eq 1
check "... and nothing announced" $?
g "$tmp/site" checkout -q -- _posts/2026-09-01-first.md
wait_reqs 2
check "once the work tree is clean, the post is fetched and announced" $?

kill "$daemon"
wait "$daemon"
check "SIGTERM: exit 0" $?
daemon=""
sleep 0.5
test "$(reqs)" -eq 2
check "each post announced once" $?
if grep -q "fetch-test" "$tmp/log"; then
	check "no webhook path in the log" 1
fi
finish
