#!/bin/sh
# Corpus test: `notify parse --json` over shared/corpus/_posts must equal
# shared/corpus/expected.jsonl (list fields after the README's
# normalisation).  Exits 77 (skipped) when the shared folder is absent,
# and fails instead under CI=true, where it must be there.
# usage: run.sh NOTIFY CORPUS_DIR COMPARE_PY
set -u
notify=$1 corpus=$2 compare=$3
if [ ! -d "$corpus/_posts" ] || [ ! -f "$corpus/expected.jsonl" ]; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: no corpus at $corpus (CI=true: no skipping)"
		exit 1
	fi
	echo "SKIP: no corpus at $corpus"
	exit 77
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
# file-name order, as expected.jsonl is
"$notify" parse --json "$corpus"/_posts/*.md >"$out" || {
	echo "notify parse failed with status $?"
	exit 1
}
python3 "$compare" "$corpus/expected.jsonl" "$out"
