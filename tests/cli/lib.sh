# Sourced by the tests/cli scripts: one check a line, a closing count.
fails=0 passes=0

check() { # name, 0 when it holds
	if [ "$2" -eq 0 ]; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: $1"
	fi
}

finish() { # the closing line, and the exit status
	echo "$passes passed, $fails failed"
	test "$fails" -eq 0
}
