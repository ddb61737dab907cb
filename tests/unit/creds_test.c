/*
 * creds_test.c - the client's credentials (ctrl/client/creds.c): the
 * auth-user-pass file and inline block (CRLF, a missing file), auth-nocache
 * forgetting and re-reading, the pushed token replacing the password with
 * the username last sent or auth-token-user's (base64, bad base64 ignored),
 * renewals read from a later PUSH_REPLY, dropping the token on AUTH_FAILED.
 * No case needs a terminal (a username-only file would ask on one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../ctrl/client/creds.h"
#include "../../ctrl/config/options.h"
#include "harness.h"

static char path[64];
static char err[256];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	REQUIRE(f && fputs(text, f) >= 0 && !fclose(f), "cannot write %s", path);
}

/* G(case, want user, want pass, want token): what key-method 2 would carry now. */
static void g_case(int line, int no, struct options *o, const char *user, const char *pass,
		   bool token)
{
	const char *u, *p;
	bool is_token;
	int rc = creds_get(o, &u, &p, &is_token, err, sizeof(err));

	if (rc || strcmp(u, user) || strcmp(p, pass) || is_token != token)
		harness_fail(__FILE__, line, "case %d: rc %d '%s'/'%s' token %d, want '%s'/'%s' %d "
			     "(%s)", no, rc, rc ? "" : u, rc ? "" : p, is_token, user, pass, token,
			     rc ? err : "");
	else
		creds_used(o, is_token);
}

#define G(no, o, u, p, t)	g_case(__LINE__, (no), (o), (u), (p), (t))

int main(void)
{
	static struct options o;
	const char *u, *p;
	bool t;

	snprintf(path, sizeof(path), "/tmp/sluice-creds-%d", (int)getpid());
	o.has_auth_user_pass = true;
	o.auth_user_pass.data = path;

	write_file("alice\r\ns3cret\r\n");
	MUST(creds_startup(&o, err, sizeof(err)));
	G(1, &o, "alice", "s3cret", false);
	CHECK(!creds_user_pass_needed(&o), "case 2: cached credentials still needed");
	/* Cached (no auth-nocache): the file is not read again. */
	write_file("bob\nother\n");
	G(3, &o, "alice", "s3cret", false);
	/* auth-nocache: forgotten after use, read again next time. */
	o.auth_nocache = true;
	G(4, &o, "alice", "s3cret", false);
	CHECK(creds_user_pass_needed(&o), "case 5: nocache kept the password");
	G(6, &o, "bob", "other", false);
	/* A pushed token replaces the password, with the username last sent. */
	creds_token_set("SESS_ID_AT_tok1");
	CHECK(creds_token_in_use() && !creds_user_pass_needed(&o), "case 7: token not in use");
	unlink(path);			/* only the token can log in now */
	G(8, &o, "bob", "SESS_ID_AT_tok1", true);
	G(9, &o, "bob", "SESS_ID_AT_tok1", true);	/* and again (renegotiation) */
	/* auth-token-user: base64; bad base64 and NULs are ignored. */
	creds_token_user_set("Y2Fyb2w=");
	G(10, &o, "carol", "SESS_ID_AT_tok1", true);
	creds_token_user_set("!!!");
	creds_token_user_set("YQBi");		/* "a\0b" */
	G(11, &o, "carol", "SESS_ID_AT_tok1", true);
	creds_token_set("");			/* empty: ignored, as stock */
	G(12, &o, "carol", "SESS_ID_AT_tok1", true);
	/* A renewal in a later PUSH_REPLY; other options in it are not taken. */
	CHECK(creds_push_renewal("PUSH_REPLY,auth-token SESS_ID_AT_tok2,ping 5", 42),
	      "case 13: renewal not found");
	CHECK(!creds_push_renewal("PUSH_REPLY,ping 5", 17), "case 14: a renewal without a token");
	G(15, &o, "carol", "SESS_ID_AT_tok2", true);
	/* AUTH_FAILED: the token goes; the file (back now) logs in again. */
	CHECK(creds_token_clear() && !creds_token_clear(), "case 16: token clear");
	CHECK(creds_get(&o, &u, &p, &t, err, sizeof(err)) == -ENOENT && strstr(err, path),
	      "case 17: a missing auth file: '%s'", err);
	write_file("alice\ns3cret\n");
	G(18, &o, "alice", "s3cret", false);
	/* The username sent with the password is the token's when none is pushed. */
	creds_token_set("SESS_ID_AT_tok3");
	G(19, &o, "alice", "SESS_ID_AT_tok3", true);
	creds_forget();
	/* Inline block, and another source (management) filling them in. */
	o.auth_user_pass.data = "dave\npw\n";
	o.auth_user_pass.is_inline = true;
	o.auth_nocache = false;
	G(20, &o, "dave", "pw", false);
	creds_user_pass_set("erin", "pw2");
	G(21, &o, "erin", "pw2", false);
	creds_purge();
	CHECK(creds_user_pass_needed(&o), "case 22: purge kept them");
	G(23, &o, "dave", "pw", false);
	/* No auth-user-pass: nothing to send. */
	creds_forget();
	o.has_auth_user_pass = false;
	G(24, &o, "", "", false);
	/* A file without a username. */
	o.has_auth_user_pass = true;
	o.auth_user_pass.data = path;
	o.auth_user_pass.is_inline = false;
	write_file("\n\n");
	CHECK(creds_get(&o, &u, &p, &t, err, sizeof(err)) == -ENODATA &&
	      strstr(err, "no username"), "case 25: '%s'", err);
	unlink(path);
	creds_forget();
	return harness_done("creds_test");
}
