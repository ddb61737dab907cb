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
