#!/bin/sh
# Self-signed certificate for the loopback test peers (127.0.0.1, localhost).
# usage: make_cert.sh DIR   -> DIR/cert.pem, DIR/key.pem (valid 2 days)
set -eu
if [ $# -ne 1 ]; then
	echo "usage: make_cert.sh DIR" >&2
	exit 2
fi
dir=$1
if ! command -v openssl >/dev/null 2>&1; then
	echo "make_cert.sh: openssl not found (apt-get install -y openssl)" >&2
	exit 77
fi
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || {
	echo "make_cert.sh: openssl req failed" >&2
	exit 1
}
chmod 644 "$dir/cert.pem"
echo "$dir/cert.pem $dir/key.pem"
