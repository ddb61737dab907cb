/*
 * osslmem.h - OpenSSL's heap for libFuzzer harnesses that run TLS handshakes
 * per input (fuzz_srvsess.c). Header only: each harness is one .c file.
 *
 * Why: a handshake makes thousands of small OpenSSL allocations, and under
 * ASan each one pays for the sanitizer's allocator (stack unwinding into the
 * stack depot, quarantine, poisoning) and libFuzzer's malloc hooks: more than
 * the cryptography, about a third of fuzz_srvsess's profile. OpenSSL
 * is not instrumented, so ASan's checks of its heap bought little: what they
 * caught was our code running past a buffer OpenSSL allocated, and OpenSSL
 * objects our code leaks. Here OpenSSL allocates from glibc directly
 * (__libc_malloc & co., which ASan does not intercept), and the harness keeps
 * the second check itself: osslmem_live() counts OpenSSL's live blocks, and
 * an input after which more are live is run once more; OpenSSL's caches grow
 * once, a leak grows again, and that aborts the input as a finding.
 *
 * OSSLMEM=asan in the environment leaves OpenSSL on ASan's heap (slower, and
 * ASan's leak report then names the object). osslmem_init() must be the
 * first OpenSSL call of the process. Single-threaded harnesses only (the
 * counter is a plain integer).
 */
#ifndef SLUICE_FUZZ_OSSLMEM_H
#define SLUICE_FUZZ_OSSLMEM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sanitizer/common_interface_defs.h>

void *__libc_malloc(size_t n);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static long osslmem_blocks;
static bool osslmem_on;

static void *osslmem_malloc(size_t n, const char *file, int line)
{
	void *p = __libc_malloc(n ? n : 1);

	(void)file;
	(void)line;
	osslmem_blocks += p != NULL;
	return p;
}

static void osslmem_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	if (!p)
		return;
	osslmem_blocks--;
	__libc_free(p);
}

/* OpenSSL hands every realloc to the hook, NULL pointers and zero sizes included. */
static void *osslmem_realloc(void *p, size_t n, const char *file, int line)
{
	if (!p)
		return osslmem_malloc(n, file, line);
	if (!n) {
		osslmem_free(p, file, line);
		return NULL;
	}
	return __libc_realloc(p, n);
}

/* From LLVMFuzzerInitialize, before any other OpenSSL call. */
static void osslmem_init(void)
{
	const char *e = getenv("OSSLMEM");

	if (e && !strcmp(e, "asan"))
		return;
	if (!CRYPTO_set_mem_functions(osslmem_malloc, osslmem_realloc, osslmem_free)) {
		fprintf(stderr, "osslmem: OpenSSL allocated before osslmem_init\n");
		abort();
	}
	osslmem_on = true;
}

/* OpenSSL's live blocks (0 with OSSLMEM=asan: nothing to compare). */
static long osslmem_live(void)
{
	return osslmem_on ? osslmem_blocks : 0;
}

/* A finding: the report goes where the sanitizers' go (libFuzzer may have closed stderr). */
__attribute__((noreturn)) static void osslmem_leak_abort(const char *who, long blocks)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s: %ld OpenSSL blocks leaked per run of this input "
		 "(OSSLMEM=asan names them)", who, blocks);
	__sanitizer_report_error_summary(msg);
	abort();
}

#endif
