#!/bin/sh
# Runs a libFuzzer binary for the fuzz suite and sums up its final stats.
#
# usage: run-fuzzer.sh FUZZER CORPUS_DIR CRASH_DIR SEEDS_DIR [FLAG...]
#
# CORPUS_DIR (created if needed, kept between runs) receives the inputs
# libFuzzer finds; SEEDS_DIR is only read.  A crash, leak, UB report or
# hang leaves its reproducer in CRASH_DIR and fails the test; replay it
# with "fuzz_replay FILE" or "FUZZER FILE".
set -u

if [ $# -lt 4 ]; then
	echo "usage: $0 FUZZER CORPUS_DIR CRASH_DIR SEEDS_DIR [FLAG...]" >&2
	exit 2
fi
fuzzer=$1 corpus=$2 crashes=$3 seeds=$4
shift 4
mkdir -p "$corpus" "$crashes" || exit 1
log=$crashes/last-run.log
# Reproducers of earlier runs are left alone; only new ones fail the test.
before=$(ls -A "$crashes")

# sh has no pipefail: the fuzzer's status comes back through a file.
{
	"$fuzzer" -artifact_prefix="$crashes/" "$@" "$corpus" "$seeds"
	echo $? >"$crashes/.status"
} 2>&1 | tee "$log"
status=$(cat "$crashes/.status")

stat_of() {
	sed -n "s/^stat::$1: *//p" "$log"
}
found=$(ls -A "$crashes" | grep -vxF -e last-run.log -e .status |
	grep -vxF -e "$before" -e '' | sed "s|^|$crashes/|")
echo "fuzz: $(stat_of number_of_executed_units) execs," \
	"$(stat_of average_exec_per_sec) exec/s," \
	"$(stat_of new_units_added) new units," \
	"peak RSS $(stat_of peak_rss_mb) MB," \
	"$(echo "$found" | grep -c .) reproducer(s), fuzzer status $status"
if [ -n "$found" ]; then
	echo "$found"
fi
# libFuzzer reports a crash with status 77 by default, which meson would
# take for a skip: any failure is 1 here.
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
	exit 1
fi
exit 0
