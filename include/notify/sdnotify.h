/*
 * sdnotify.h - the systemd notify protocol (Type=notify, WatchdogSec=)
 * without libsystemd: one datagram of newline-separated KEY=VALUE lines to
 * the AF_UNIX socket named by $NOTIFY_SOCKET.  See docs/protocols.md 6.1.
 *
 * Outside systemd (NOTIFY_SOCKET unset) every call is a successful no-op,
 * so the service code calls these unconditionally.  No state is kept: each
 * call opens, uses and closes its own socket (a few calls a minute), so
 * there is no descriptor to leak into children or to go stale.
 */
#ifndef NOTIFY_SDNOTIFY_H
#define NOTIFY_SDNOTIFY_H

#include <stdint.h>

#include "notify/result.h"

/* Sends 'state' as one datagram to $NOTIFY_SOCKET, e.g. "READY=1",
 * "WATCHDOG=1", "STOPPING=1" or "READY=1\nSTATUS=watching".  'state' is
 * borrowed and sent as it is: each '\n' starts a new KEY=VALUE, so never
 * put untrusted text in it (use sdn_status()).
 * NOTIFY_SOCKET unset or empty: nothing is sent, NT_OK.  Otherwise it must
 * be a filesystem path ("/run/systemd/notify") or an abstract socket
 * ("@name"), short enough for sockaddr_un.
 * Results: NT_OK; NT_EINVAL ('state' NULL or empty, NOTIFY_SOCKET neither
 * '/' nor '@', or too long); NT_EIO (socket, connect or send failed).  On
 * failure 'err' (may be NULL) holds one line naming the socket. */
nt_rc sdn_notify(const char *state, struct nt_err *err);

/* Sends "STATUS=<text>" (shown by `systemctl status`), the text formatted
 * printf-style from 'fmt'.  CR and LF in the text become spaces, so a
 * formatted post title can neither split the line nor smuggle in another
 * KEY=VALUE; text longer than SDN_STATUS_MAX bytes is cut on a UTF-8
 * boundary.  Results as sdn_notify(), without the detail; a status is
 * advisory, so callers may ignore them. */
nt_rc sdn_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Bytes of status text kept by sdn_status(), not counting "STATUS=". */
#define SDN_STATUS_MAX 200

/* The watchdog interval in microseconds: $WATCHDOG_USEC when it is all
 * digits, greater than 0 and fits in int64_t, and $WATCHDOG_PID is unset or
 * equals getpid() (otherwise the watchdog is some other process's, e.g. a
 * parent's); else 0, meaning no watchdog.  The caller pings with
 * sdn_notify("WATCHDOG=1") at least every half of it, from its main loop.
 * Reads the environment on each call and changes nothing. */
int64_t sdn_watchdog_usec(void);

#endif
