/*
 * log.c - owns the process log sink. Any thread may call it, but only ctrl
 * and start-up code do (data threads count instead of logging). A line is
 * formatted into one buffer and written with one write(2), so lines from
 * different threads never interleave.
 *
 * Besides stderr or syslog, a line may go to one sink (log_set_sink: the
 * management interface), only when it is logged on the thread that set the
 * sink, and never from inside the sink itself. `mute` counts consecutive
 * lines of one call site; its state is shared by all threads without a
 * lock (a race only miscounts a suppressed line).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_verbosity = 1;
static int log_syslog;
static log_sink_fn log_sink;
static void *log_sink_arg;
static pthread_t log_sink_thread;
static bool log_in_sink;
static int log_no_time;
static int mute_cutoff;
static const char *mute_fmt;	/* the category of the last line */
static int mute_count;

void log_init(int verbosity, int use_syslog)
{
	log_verbosity = verbosity;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog("sluice", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_open_syslog(const char *ident)
{
	/* openlog keeps the pointer: the name must outlive the options it came from. */
	static char name[64];

	snprintf(name, sizeof(name), "%s", ident);
	openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

void log_set_verbosity(int verbosity)
{
	log_verbosity = verbosity;
}

int log_get_verbosity(void)
{
	return log_verbosity;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
	log_sink_thread = pthread_self();
}

void log_set_timestamps(int on)
{
	log_no_time = !on;
}

void log_set_mute(int n)
{
	mute_cutoff = n < 0 ? 0 : n;
	mute_count = 0;
	mute_fmt = NULL;
}

int log_get_mute(void)
{
	return mute_cutoff;
}

/* One finished message to stderr (with a timestamp) or syslog, and to the sink. */
static void log_emit(int pri, const char *msg)
{
	char line[1100];
	size_t off;

	if (log_syslog) {
		syslog(pri, "%s", msg);
	} else {
		struct timespec ts;
		struct tm tm;
		int n;

		off = 0;
		if (!log_no_time) {
			clock_gettime(CLOCK_REALTIME, &ts);
			localtime_r(&ts.tv_sec, &tm);
			off = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ", &tm);
		}
		n = snprintf(line + off, sizeof(line) - off, "%s", msg);
		if (n > 0)
			off += (size_t)n;
		if (off > sizeof(line) - 2)
			off = sizeof(line) - 2;
		line[off++] = '\n';
		if (write(STDERR_FILENO, line, off) < 0) {
			/* Nowhere left to report a failing log write. */
		}
	}
	if (log_sink && !log_in_sink && pthread_equal(pthread_self(), log_sink_thread)) {
		log_in_sink = true;
		log_sink(log_sink_arg, pri, msg);
		log_in_sink = false;
	}
}

/* True when `mute` suppresses this line of category @fmt (stock's error.c check_mute). */
static bool log_muted(int pri, const char *fmt)
{
	char note[128];
	int suppressed;

	if (mute_cutoff <= 0 || pri <= LOG_CRIT)
		return false;
	if (fmt == mute_fmt) {
		if (mute_count >= mute_cutoff) {
			mute_count++;
			return true;
		}
		mute_count++;
		return false;
	}
	suppressed = mute_count - mute_cutoff;
	if (suppressed > 0) {
		snprintf(note, sizeof(note), "%d variation(s) on previous %d message(s) "
			 "suppressed by --mute", suppressed, mute_cutoff);
		log_emit(LOG_INFO, note);
	}
	mute_fmt = fmt;
	mute_count = 1;
	return false;
}

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];
	int n;

	if (log_muted(pri, fmt))
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (suffix && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", suffix);
	log_emit(pri, msg);
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (log_verbosity < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
	errno = saved;
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
