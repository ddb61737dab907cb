/*
 * harness.h - the check macros and small helpers every unit test shares
 * (STYLE.md §10): one program per module, exiting 0 pass, 1 fail, 77 skip.
 *
 * Include it from the test's one .c file only: it defines the failure count
 * and static helpers. CHECK may run on any thread: a failure is counted with
 * an atomic add and printed under the stdout lock, so concurrent failures do
 * not interleave and TSan sees no race; a passing CHECK costs only its
 * condition (nothing is counted), so the concurrency tests keep their timing.
 * Reports go to stdout, flushed, so they stay in order with the test's own
 * progress lines in the log tests/run.sh keeps.
 *
 *   CHECK(cond, fmt, ...)       report "file:line: message" and count a failure
 *   CHECK_INT(got, want)        CHECK for integers, printing both
 *   CHECK_STR(got, want)        CHECK for strings (either may be NULL)
 *   MUST(expr)                  setup: @expr (0 or a negative errno) must be 0, else exit 1
 *   REQUIRE(cond, fmt, ...)     setup: @cond must hold, else report and exit 1
 *   FATAL(fmt, ...)             report and exit 1
 *   harness_skip(fmt, ...)      print the reason as the last line and exit 77
 *   harness_done(name)          "name: ok" or "name: N failure(s)"; returns the exit code
 *   harness_rnd(&state)         xorshift64*: a fixed seed gives the same data every run
 *   harness_scale(tsan)         SLUICE_TEST_SCALE, else 1 (@tsan under TSan)
 *   harness_unhex(s, out, cap)  hex digits, blanks and '|' skipped, to bytes
 */
#ifndef SLUICE_TEST_HARNESS_H
#define SLUICE_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* Exit code of a skipped test (liburing's and automake's convention). */
#define HARNESS_SKIP	77

/* Failed CHECKs so far; read it only when no other thread can CHECK. */
static unsigned int failures;

static inline void __attribute__((format(printf, 4, 0)))
harness_vreport(const char *file, int line, const char *what, const char *fmt, va_list ap)
{
	flockfile(stdout);
	printf("%s:%d: %s", file, line, what);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
}

/* Counts and reports one failed check. Any thread. Cold and out of line: small frames. */
static void __attribute__((format(printf, 3, 4), cold, noinline, unused))
harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	harness_vreport(file, line, "", fmt, ap);
	va_end(ap);
}

/* Reports a broken setup step and ends the test as failed. */
static void __attribute__((format(printf, 3, 4), noreturn, cold, noinline, unused))
harness_fatal(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	harness_vreport(file, line, "fatal: ", fmt, ap);
	va_end(ap);
	exit(1);
}

#define CHECK(cond, ...)							\
	do {									\
		if (!(cond))							\
			harness_fail(__FILE__, __LINE__, __VA_ARGS__);		\
	} while (0)

#define CHECK_INT(got, want)							\
	do {									\
		long long _g = (long long)(got), _w = (long long)(want);	\
		CHECK(_g == _w, "%s: expected %lld, got %lld", #got, _w, _g);	\
	} while (0)

#define CHECK_STR(got, want)							\
	do {									\
		const char *_g = (got), *_w = (want);				\
		CHECK(_g && _w ? !strcmp(_g, _w) : _g == _w,			\
		      "%s: expected '%s', got '%s'", #got, _w ? _w : "(null)",	\
		      _g ? _g : "(null)");					\
	} while (0)

#define MUST(expr)								\
	do {									\
		long _rc = (long)(expr);					\
		if (_rc)							\
			harness_fatal(__FILE__, __LINE__, "setup failed: %s = %ld (%s)", \
				      #expr, _rc, _rc < 0 ? strerror((int)-_rc) : "?"); \
	} while (0)

#define REQUIRE(cond, ...)							\
	do {									\
		if (!(cond))							\
			harness_fatal(__FILE__, __LINE__, __VA_ARGS__);		\
	} while (0)

#define FATAL(...)	harness_fatal(__FILE__, __LINE__, __VA_ARGS__)

/* Prints why the test cannot run here (tests/run.sh shows the last line) and exits 77. */
static inline void __attribute__((format(printf, 1, 2), noreturn))
harness_skip(const char *fmt, ...)
{
	va_list ap;

	printf("skip: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(HARNESS_SKIP);
}

/* The last line of a test and its exit code. Main thread, after all threads stopped. */
static inline int harness_done(const char *name)
{
	if (failures) {
		printf("%s: %u failure(s)\n", name, failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

/* xorshift64*: deterministic and good enough for test data. */
static inline uint64_t harness_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/*
 * How much of its full size a randomized or stress test runs: SLUICE_TEST_SCALE
 * if set and positive, else 1, or @under_tsan in a TSan build (which runs
 * 5-15 times slower).
 */
static inline double harness_scale(double under_tsan)
{
	const char *s = getenv("SLUICE_TEST_SCALE");
	double v = s ? strtod(s, NULL) : (UNDER_TSAN ? under_tsan : 1.0);

	return v > 0 ? v : 1.0;
}

/*
 * Hex digits (either case; blanks and '|' are skipped, for readable test
 * vectors) to at most @cap bytes of @out. Returns the length. A test vector
 * with any other character, an odd digit or too many bytes is a broken test:
 * exit 1.
 */
static inline size_t harness_unhex(const char *s, uint8_t *out, size_t cap)
{
	const char *start = s;
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == '|')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			FATAL("bad hex in test vector at offset %zu: %s", (size_t)(s - start), start);
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			FATAL("test vector longer than %zu bytes: %s", cap, start);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		FATAL("odd number of hex digits in test vector: %s", start);
	return n;
}

#endif
