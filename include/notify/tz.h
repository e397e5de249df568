/*
 * tz.h - local time in a named zone (the `timezone` of a site's
 * _config.yml), without touching the process's environment.
 *
 * A zone is read from its TZif file (RFC 8536) under the system's
 * zoneinfo folder: the transitions it lists, then the POSIX TZ string of
 * its footer for the times after the last one (a "slim" file lists none
 * after 2007 or so).  setenv("TZ") + mktime() would do the same through
 * the environment, which is process-wide: not thread-safe, and a value
 * taken from the blog would steer the whole process.
 *
 * The zone name is untrusted (it comes from the blog): it must be a
 * relative path of [A-Za-z0-9_+-] and '/' only (no '.', so no ".."), at
 * most TZ_NAME_MAX bytes, not starting with '/'.  The file is untrusted
 * too: every count and index is checked before use.  Leap seconds (the
 * "right/" zones) are not applied.
 */
#ifndef NOTIFY_TZ_H
#define NOTIFY_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "notify/result.h"

struct tz;

#define TZ_DIR_DEFAULT "/usr/share/zoneinfo"
#define TZ_NAME_MAX 128		/* bytes of a zone name */
#define TZ_FILE_MAX (64 * 1024) /* bytes of a TZif file (the largest: 4 KB) */

/* Whether 'name' is an acceptable zone name (see above). */
bool tz_name_ok(const char *name);

/* Reads zone 'name' from folder 'dir' (NULL: TZ_DIR_DEFAULT).  On NT_OK
 * *out is owned (tz_free()); on failure it is untouched and 'err' names
 * the zone.  Results: NT_EINVAL (a name tz_name_ok() refuses), NT_ENOENT
 * (no such zone), NT_EIO, NT_ETOOBIG, NT_EPARSE (not a valid TZif file,
 * or a footer this reader does not understand). */
nt_rc tz_open(const char *dir, const char *name, struct tz **out,
	      struct nt_err *err);

/* Frees 'z'; tz_free(NULL) does nothing. */
void tz_free(struct tz *z);

/* The offset of zone 'z' from UTC at instant 't' (unix seconds), in
 * seconds east of Greenwich (Paris in summer: 7200). */
int32_t tz_utoff(const struct tz *z, int64_t t);

/* The instant (unix seconds) of the local time year-mon-day hour:min:sec
 * (mon 1-12; out-of-range fields carry over, as in timegm()) in zone 'z',
 * as mktime() with tm_isdst = -1 does.  A time that occurs twice (clocks
 * set back) is the second of the two (standard time: 02:30 in Paris on
 * 2026-10-25 is 01:30 UTC), a time that does not occur (clocks set
 * forward) is read with the offset in force before the change (02:30 in
 * Paris on 2026-03-29 is 01:30 UTC too); glibc chooses either by the
 * offset of its previous call, this always the same way. */
int64_t tz_mktime(const struct tz *z, int year, int mon, int day, int hour,
		  int min, int sec);

#endif
