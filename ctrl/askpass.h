/*
 * askpass.h - asking people for secrets (stock's console input, misc.c
 * get_user_pass / console_builtin.c), and the private key passphrase of
 * `askpass [FILE]`, for both roles.
 *
 * Prompts go to the controlling terminal (/dev/tty), with echo off for
 * passwords, as stock's builtin console does; there is no fallback to
 * stdin/stderr, so a process without a terminal (a service, after `daemon`)
 * gets -ENOTTY at once instead of hanging.
 *
 * Entry points other input paths can share (the management interface's
 * `>PASSWORD:` queries fill the same secrets): askpass_user_pass() asks for
 * a username and password the way stock words it, askpass_key_pass_set()
 * stores a private key passphrase however it was obtained.
 *
 * Thread: ctrl only. Secrets live in static buffers of this file, cleansed
 * by askpass_forget() and at exit.
 */
#ifndef SLUICE_ASKPASS_H
#define SLUICE_ASKPASS_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/compiler.h"

struct options;

/* USER_PASS_LEN of a stock build with PKCS#11 (Debian's): the longest secret. */
#define ASKPASS_LEN_MAX		4096

/*
 * Writes @prompt to the terminal and reads one line into @buf (@len bytes,
 * NUL-terminated, line end removed); with @echo false the typed characters
 * are not shown (and a newline is written after them). Returns 0, -ENOTTY
 * (no controlling terminal), -ECANCELED (end of input), -EMSGSIZE (longer
 * than @len - 1; @buf is cleansed) or another negative errno. A line that
 * was read is left in @buf even if restoring the terminal fails.
 */
int askpass_tty(const char *prompt, bool echo, char *buf, size_t len) __must_check;

/*
 * Stock's auth prompt: "Enter @what Username:" (echoed) then "Enter @what
 * Password:" (not echoed), e.g. @what "Auth" for auth-user-pass. Returns 0
 * or askpass_tty's errors; on error both buffers are cleansed.
 */
int askpass_user_pass(const char *what, char *user, size_t ulen, char *pass,
		      size_t plen) __must_check;

/*
 * Start-up, before the process detaches from its terminal (stock's
 * init_query_passwords): `askpass FILE` reads the passphrase from the first
 * line of FILE, a bare `askpass` asks "Enter Private Key Password:" now.
 * Nothing to do without askpass. Returns 0 or a negative errno with @err set
 * ("options: askpass: ...").
 */
int askpass_startup(const struct options *o, char *err, size_t errlen) __must_check;

/* Stores @pass as the private key passphrase (askpass, or a management answer). */
void askpass_key_pass_set(const char *pass);

/*
 * tls_conf.passphrase (ctrl/proto/tls.h): the passphrase of an encrypted key
 * or PKCS#12 bundle into @buf: the stored one, else asked on the terminal
 * now ("Enter Private Key Password:") and stored. 0, -ENOKEY (none stored
 * and no terminal) or -EMSGSIZE. @arg is unused.
 */
int askpass_key_passphrase(void *arg, char *buf, size_t len);

/* Forgets the stored passphrase (a wrong one, or exit). */
void askpass_forget(void);

#endif
