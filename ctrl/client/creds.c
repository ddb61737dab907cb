/*
 * creds.c - owns the client's credentials (creds.h): auth-user-pass from its
 * file, inline block or the terminal (ctrl/askpass.c), auth-nocache, and the
 * pushed auth-token with its username.
 *
 * As 2.6 (ssl.c auth_user_pass_setup, key_method_2_write; misc.c
 * get_user_pass_cr, set_auth_token, set_auth_token_user, purge_user_pass):
 * a file holds the username on its first line and the password on its
 * second; a file with a username only has the password asked for on the
 * terminal; a token is sent instead of the password once a server pushed
 * one and its username is known (the username we last sent, or
 * auth-token-user); without auth-nocache the credentials stay in memory for
 * reconnects, and stock's warning says so once.
 *
 * Thread: ctrl only (session.c and main.c call in).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../../core/log.h"
#include "../askpass.h"
#include "../config/options.h"
#include "creds.h"

_Static_assert(CREDS_LEN_MAX == ASKPASS_LEN_MAX, "one secret length for both");

/* auth-user-pass (stock's auth_user_pass). */
static struct {
	char user[CREDS_LEN_MAX];
	char pass[CREDS_LEN_MAX];
	bool defined;
} up;

/* The session token (stock's auth_token): defined once both parts are known. */
static struct {
	char user[CREDS_LEN_MAX];
	char token[CREDS_LEN_MAX];
	bool has_token;
} tok;

static bool cache_warned;

static void up_clear(void)
{
	OPENSSL_cleanse(&up, sizeof(up));
}

/* The text of the auth-user-pass file or block; a file is read into @buf. */
static int up_text(const struct options *o, char *buf, size_t len, const char **text)
{
	FILE *f;
	size_t n;

	if (o->auth_user_pass.is_inline) {
		*text = o->auth_user_pass.data;
		return 0;
	}
	f = fopen(o->auth_user_pass.data, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (n == len - 1)
		return -EFBIG;
	*text = buf;
	return 0;
}

/* Splits "user\npass\n..." into @u and @p; a line longer than the limit fails. */
static int up_parse(const char *text, char *u, char *p)
{
	size_t n = strcspn(text, "\r\n");

	if (n >= CREDS_LEN_MAX)
		return -EMSGSIZE;
	memcpy(u, text, n);
	u[n] = '\0';
	text += n;
	text += strspn(text, "\r") + (text[strspn(text, "\r")] == '\n');
	n = strcspn(text, "\r\n");
	if (n >= CREDS_LEN_MAX)
		return -EMSGSIZE;
	memcpy(p, text, n);
	p[n] = '\0';
	return 0;
}

/* Loads auth-user-pass now: file, block, or the terminal. */
static int up_load(const struct options *o, char *err, size_t errlen)
{
	static char buf[3 * CREDS_LEN_MAX];	/* ctrl only; cleansed after use */
	const char *text = NULL, *what;
	int rc;

	up_clear();
	if (!o->auth_user_pass.data) {
		what = "the terminal";
		rc = askpass_user_pass("Auth", up.user, sizeof(up.user), up.pass, sizeof(up.pass));
	} else {
		what = o->auth_user_pass.is_inline ? "its inline block" : o->auth_user_pass.data;
		rc = up_text(o, buf, sizeof(buf), &text);
		rc = rc ?: up_parse(text, up.user, up.pass);
		OPENSSL_cleanse(buf, sizeof(buf));
		if (!rc && !up.user[0])
			rc = -ENODATA;
		/* A username alone: the password is asked for (2.6). */
		if (!rc && !up.pass[0])
			rc = askpass_tty("Enter Auth Password:", false, up.pass, sizeof(up.pass));
	}
	if (rc) {
		snprintf(err, errlen, "options: auth-user-pass: cannot read the %s from %s: %s",
			 rc == -ENOTTY && o->auth_user_pass.data ? "password" :
			 "username and password", what,
			 rc == -ENODATA ? "no username in it" :
			 rc == -ENOTTY ? "no terminal to ask on" :
			 rc == -ECANCELED ? "end of input" : strerror(-rc));
		up_clear();
		return rc;
	}
	up.defined = true;
	return 0;
}

/* management-query-passwords without a file: the management client answers (client_mgmt.c). */
static bool up_from_mgmt(const struct options *o)
{
	return !o->auth_user_pass.data && o->management_query_passwords;
}

int creds_startup(const struct options *o, char *err, size_t errlen)
{
	if (!o->has_auth_user_pass || up.defined || up_from_mgmt(o))
		return 0;
	return up_load(o, err, errlen);
}

int creds_get(const struct options *o, const char **user, const char **pass, bool *is_token,
	      char *err, size_t errlen)
{
	int rc;

	*user = *pass = "";
	*is_token = false;
	if (tok.has_token && tok.user[0]) {
		*user = tok.user;
		*pass = tok.token;
		*is_token = true;
		return 0;
	}
	if (!o->has_auth_user_pass)
		return 0;
	if (!up.defined) {
		if (up_from_mgmt(o)) {
			snprintf(err, errlen, "auth-user-pass: the management interface gave none");
			return -ENODATA;
		}
		rc = up_load(o, err, errlen);
		if (rc)
			return rc;
	}
	*user = up.user;
	*pass = up.pass;
	return 0;
}

void creds_used(const struct options *o, bool was_token)
{
	if (was_token || !up.defined)
		return;
	/* The username a later pushed token goes with (key_method_2_write). */
	snprintf(tok.user, sizeof(tok.user), "%s", up.user);
	if (o->auth_nocache) {
		up_clear();
		return;
	}
	if (!cache_warned) {
		log_warnx("WARNING: this configuration may cache passwords in memory -- use the "
			  "auth-nocache option to prevent this");
		cache_warned = true;
	}
}

void creds_user_pass_set(const char *user, const char *pass)
{
	up_clear();
	snprintf(up.user, sizeof(up.user), "%s", user);
	snprintf(up.pass, sizeof(up.pass), "%s", pass);
	up.defined = true;
}

bool creds_user_pass_needed(const struct options *o)
{
	return o->has_auth_user_pass && !up.defined && !(tok.has_token && tok.user[0]);
}

void creds_purge(void)
{
	up_clear();
}

void creds_token_set(const char *token)
{
	if (!token || !*token)
		return;
	snprintf(tok.token, sizeof(tok.token), "%s", token);
	tok.has_token = true;
}

void creds_token_user_set(const char *b64)
{
	static unsigned char out[CREDS_LEN_MAX];	/* ctrl only; cleansed after use */
	size_t len = b64 ? strlen(b64) : 0;
	int n;

	if (!len)
		return;
	/* Room for the decoded bytes: 3 per 4 digits. */
	if (len > (sizeof(out) - 1) / 3 * 4) {
		log_warnx("PUSH: auth-token-user is too long, ignored");
		return;
	}
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	/* EVP_DecodeBlock counts '=' padding as zero bytes: drop them. */
	while (n > 0 && len && b64[len - 1] == '=') {
		n--;
		len--;
	}
	if (n <= 0 || memchr(out, '\0', (size_t)n)) {
		log_warnx("PUSH: Error decoding auth-token-username");
		OPENSSL_cleanse(out, sizeof(out));
		return;
	}
	OPENSSL_cleanse(tok.user, sizeof(tok.user));
	memcpy(tok.user, out, (size_t)n);
	OPENSSL_cleanse(out, sizeof(out));
}

bool creds_push_renewal(const char *msg, size_t len)
{
	static char copy[CREDS_LEN_MAX + 64];	/* ctrl only; cleansed after use */
	char *p, *comma;
	bool any = false;

	snprintf(copy, sizeof(copy), "%.*s", (int)MIN(len, sizeof(copy) - 1), msg);
	for (p = strchr(copy, ','); p; p = comma) {
		comma = strchr(++p, ',');
		if (comma)
			*comma = '\0';
		if (!strncmp(p, "auth-token ", 11)) {
			creds_token_set(p + 11);
			any = true;
		} else if (!strncmp(p, "auth-token-user ", 16)) {
			creds_token_user_set(p + 16);
		}
	}
	OPENSSL_cleanse(copy, sizeof(copy));
	return any;
}

bool creds_token_clear(void)
{
	bool had = tok.has_token && tok.user[0];

	OPENSSL_cleanse(&tok, sizeof(tok));
	return had;
}

bool creds_token_in_use(void)
{
	return tok.has_token && tok.user[0];
}

void creds_forget(void)
{
	up_clear();
	OPENSSL_cleanse(&tok, sizeof(tok));
}
