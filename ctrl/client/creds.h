/*
 * creds.h - the client's credentials, as 2.6's ssl.c keeps them
 * (auth_user_pass and auth_token): the auth-user-pass username and
 * password (a file, an inline block, or the terminal), auth-nocache, and
 * the session token a server pushed (auth-token, auth-token-user), which
 * replaces the password on every later key-method 2 (renegotiation and
 * reconnect) until the server refuses it.
 *
 * Life of the secrets:
 *   start-up       creds_startup() reads the file or asks the terminal
 *                  ("Enter Auth Username:" / "Enter Auth Password:") before
 *                  the process detaches (stock's init_query_passwords)
 *   key-method 2   creds_get() hands out the token when there is one, else
 *                  the username and password (read or asked again if they
 *                  were forgotten); creds_used() then forgets the password
 *                  with auth-nocache, and remembers the username the token
 *                  goes with
 *   PUSH_REPLY     creds_token_set() / creds_token_user_set() (base64)
 *   AUTH_FAILED    creds_token_clear(): a token in use is dropped, and the
 *                  client reconnects with its password; creds_purge() for
 *                  auth-retry interact and a server's RESTART without [P]
 *
 * Other sources may fill the username and password with
 * creds_user_pass_set() (the management interface's answer to a
 * `>PASSWORD:Need 'Auth' username/password` query) and ask
 * creds_user_pass_needed() first.
 *
 * Thread: ctrl only. One set per process (a process runs one client), in
 * static buffers of creds.c, cleansed when forgotten and by creds_forget().
 */
#ifndef SLUICE_CREDS_H
#define SLUICE_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "../../core/compiler.h"

struct options;

/* USER_PASS_LEN of a stock build with PKCS#11 (Debian's). */
#define CREDS_LEN_MAX		4096

/*
 * Start-up: with auth-user-pass, reads its file or inline block, or asks on
 * the terminal when it names no file. Returns 0 or a negative errno with
 * @err set ("options: auth-user-pass: ...").
 */
int creds_startup(const struct options *o, char *err, size_t errlen) __must_check;

/*
 * What goes into our key-method-2 message: *@user and *@pass point at the
 * token and its username when a token is set, else at the auth-user-pass
 * credentials (loaded or asked for again when forgotten), else at "" (no
 * auth-user-pass). *@is_token says which. Valid until the next creds_*
 * call. Returns 0 or a negative errno with @err set (the file vanished,
 * no terminal to ask on).
 */
int creds_get(const struct options *o, const char **user, const char **pass, bool *is_token,
	      char *err, size_t errlen) __must_check;
/*
 * After the message went out (@was_token: creds_get's *is_token): the
 * username a later token goes with is the one just sent; auth-nocache
 * forgets the username and password now.
 */
void creds_used(const struct options *o, bool was_token);

/* The username and password from another source (management); marks them known. */
void creds_user_pass_set(const char *user, const char *pass);
/* True if auth-user-pass is configured and its credentials are not known now. */
bool creds_user_pass_needed(const struct options *o);
/* Forgets the username and password (auth-retry interact, RESTART without [P]). */
void creds_purge(void);

/* A pushed auth-token (empty is ignored, as stock does). */
void creds_token_set(const char *token);
/* A pushed auth-token-user: the base64 of the username the token goes with. */
void creds_token_user_set(const char *b64);
/*
 * A PUSH_REPLY after the first pull (2.6 servers renew the token on every
 * renegotiation): takes its auth-token and auth-token-user and nothing
 * else; true if it held a token.
 */
bool creds_push_renewal(const char *msg, size_t len);
/* AUTH_FAILED: drops the token; true if one was in use (reconnect with the password). */
bool creds_token_clear(void);
/* True if the next key-method 2 sends a token. */
bool creds_token_in_use(void);

/* Forgets everything (exit). */
void creds_forget(void);

#endif
