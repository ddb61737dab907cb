/*
 * log.h - logging in the style of OpenBSD iked log.c.
 *
 * Foreground: stderr with a timestamp, as openvpn prints. Background: syslog.
 * errno is preserved across every call. Data threads never log (STYLE.md §8);
 * they count.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

#include "compiler.h"

void log_init(int verbosity, int use_syslog);
/*
 * A second destination for every line logged on the calling thread (the
 * management interface's >LOG:, ctrl only): @fn gets the syslog priority
 * and the message without its timestamp. Lines logged while @fn runs, or
 * on other threads, reach only the usual sink. NULL removes it.
 */
typedef void (*log_sink_fn)(void *arg, int pri, const char *msg);
void log_set_sink(log_sink_fn fn, void *arg);
/*
 * `mute N` as stock: at most N consecutive lines of one category (here: one
 * call site's format), then one "N variation(s) on previous M message(s)
 * suppressed by --mute" line when another category comes. 0: off.
 */
void log_set_mute(int n);
int log_get_mute(void);
/* `suppress-timestamps`: stderr lines without the date (journald adds its own). */
void log_set_timestamps(int on);
/* Sends every later line to syslog as @ident (`daemon NAME`; the name is copied). */
void log_open_syslog(const char *ident);
void log_set_verbosity(int verbosity);
int log_get_verbosity(void);
void log_warn(const char *fmt, ...) __printf(1, 2);	/* appends strerror(errno) */
void log_warnx(const char *fmt, ...) __printf(1, 2);
void log_info(const char *fmt, ...) __printf(1, 2);
void log_debug(const char *fmt, ...) __printf(1, 2);	/* verbosity >= 2 */
void fatal(const char *fmt, ...) __printf(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) __printf(1, 2) __attribute__((noreturn));

#endif
