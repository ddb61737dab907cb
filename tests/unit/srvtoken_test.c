/*
 * srvtoken_test.c - auth-gen-token tokens (ctrl/server/srvtoken.h) against a
 * token a stock OpenVPN 2.6.14 server minted.
 *
 * The known answer: `openvpn --genkey auth-token` wrote the secret below; a
 * stock server with `auth-gen-token 0` and `auth-gen-token-secret` gave the
 * stock client alice the token below at 1796615438 (its log at verb 7,
 * "Generated token for client"). It must verify here for alice at that
 * time; expire after 2 x renewal, with a lifetime, and from the future;
 * fail for another user, another secret, a flipped digit or a bad length;
 * and a token made here must carry stock's session id and timestamps and
 * verify the same way. Table cases, then random round trips.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../ctrl/config/options.h"
#include "../../ctrl/server/srvtoken.h"
#include "harness.h"

static const char stock_secret[] =
	"-----BEGIN OpenVPN auth-token server key-----\n"
	"1rNGgJsrgBJUB5aH/u8mEo60t5y29RZdaKMtI1UOtbQAaev8LIJWL1IxkhhLKlpv\n"
	"PCHpR6REQSx5UlIzBOJJ6baT0Wmx2Pjm5LNFCXSsfcZ8QdehC1tDdUKGLEbTEjdi\n"
	"x/q2xKPmP9xLW3uXjztdgoFVCvUf+DbCkAX8FyLEYNE=\n"
	"-----END OpenVPN auth-token server key-----\n";
static const char stock_token[] =
	"SESS_ID_AT_1K1wNzYOzlWJvniWAAAAAGsWLQ4AAAAAaxYtDjwb4H5IZ5+1LXx52mRALCWm7omNbx6yGLGSxgBzaGU5";
#define STOCK_TIME	1796615438LL

static unsigned int case_no;

/* V(secret, user, token, now, lifetime, renewal, initial, want flags) */
static void v_case(int line, const struct srvtoken_key *k, const char *user, const char *tok,
		   int64_t now, unsigned int life, unsigned int renew, const char *initial,
		   unsigned int want)
{
	unsigned int got = srvtoken_verify(k, user, tok, now, life, renew, initial);

	case_no++;
	if (got != want)
		harness_fail(__FILE__, line, "case %u: flags %#x, want %#x", case_no, got, want);
}

#define V(k, u, t, now, l, r, i, want)	v_case(__LINE__, (k), (u), (t), (now), (l), (r), (i), (want))

static void load(struct srvtoken_key *k, const char *pem)
{
	static struct options o;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.auth_token_secret.data = pem;
	o.auth_token_secret.is_inline = true;
	MUST(srvtoken_key_load(k, &o, err, sizeof(err)));
}

int main(void)
{
	static struct options o;
	struct srvtoken_key k, other;
	char tok[SRVTOKEN_LEN + 1], tok2[SRVTOKEN_LEN + 1], bad[SRVTOKEN_LEN + 8], sid[32];
	char err[256];

	load(&k, stock_secret);
	memset(&o, 0, sizeof(o));
	MUST(srvtoken_key_load(&other, &o, err, sizeof(err)));	/* random */

	/* The stock server's token. */
	V(&k, "alice", stock_token, STOCK_TIME, 0, 3600, NULL, SRVTOKEN_HMAC_OK);	/*  1 */
	V(&k, "alice", stock_token, STOCK_TIME + 7199, 0, 3600, NULL, SRVTOKEN_HMAC_OK);
	V(&k, "alice", stock_token, STOCK_TIME + 7200, 0, 3600, NULL,
	  SRVTOKEN_HMAC_OK | SRVTOKEN_EXPIRED);					/*  3 */
	V(&k, "alice", stock_token, STOCK_TIME - 1, 0, 3600, NULL,
	  SRVTOKEN_HMAC_OK | SRVTOKEN_EXPIRED);					/* future */
	V(&k, "alice", stock_token, STOCK_TIME + 11, 10, 3600, NULL,
	  SRVTOKEN_HMAC_OK | SRVTOKEN_EXPIRED);					/* lifetime */
	V(&k, "alice", stock_token, STOCK_TIME + 10, 10, 3600, NULL, SRVTOKEN_HMAC_OK);
	V(&k, "bob", stock_token, STOCK_TIME, 0, 3600, NULL, 0);		/*  7 */
	V(&other, "alice", stock_token, STOCK_TIME, 0, 3600, NULL, 0);
	V(&k, "alice", stock_token, STOCK_TIME, 0, 3600, stock_token, SRVTOKEN_HMAC_OK);
	strcpy(bad, stock_token);
	bad[30] = bad[30] == 'A' ? 'B' : 'A';					/* forged */
	V(&k, "alice", bad, STOCK_TIME, 0, 3600, NULL, 0);			/* 10 */
	strcpy(bad, stock_token);
	bad[15] = bad[15] == 'A' ? 'B' : 'A';					/* in the session id */
	V(&k, "alice", stock_token, STOCK_TIME, 0, 3600, bad, 0);		/* session changed */
	strcpy(bad, stock_token);
	strcat(bad, "AAAA");
	V(&k, "alice", bad, STOCK_TIME, 0, 3600, NULL, 0);			/* too long */
	bad[SRVTOKEN_LEN - 4] = '\0';
	V(&k, "alice", bad, STOCK_TIME, 0, 3600, NULL, 0);			/* too short */
	strcpy(bad, stock_token);
	bad[40] = '*';
	V(&k, "alice", bad, STOCK_TIME, 0, 3600, NULL, 0);			/* not base64 */
	V(&k, "alice", "SESS_ID_AT_", STOCK_TIME, 0, 3600, NULL, 0);
	V(&k, "alice", "password", STOCK_TIME, 0, 3600, NULL, 0);		/* 16 */
	CHECK(srvtoken_is_token(stock_token) && !srvtoken_is_token("SESS_ID_A") &&
	      !srvtoken_is_token(""), "is_token");

	/* Made here, continuing stock's session: same id and first timestamp, then renewed. */
	MUST(srvtoken_generate(&k, "alice", stock_token, false, STOCK_TIME + 100, tok));
	CHECK(strlen(tok) == SRVTOKEN_LEN && !strncmp(tok, stock_token, SRVTOKEN_PREFIX_LEN +
							    SRVTOKEN_SID_B64_LEN),
	      "renewed token keeps the session id: %s", tok);
	V(&k, "alice", tok, STOCK_TIME + 100, 0, 3600, stock_token, SRVTOKEN_HMAC_OK);
	V(&k, "alice", tok, STOCK_TIME + 100, 50, 3600, stock_token,
	  SRVTOKEN_HMAC_OK | SRVTOKEN_EXPIRED);				/* first timestamp kept */
	srvtoken_session_id(tok, sid);
	CHECK(!strcmp(sid, "1K1wNzYOzlWJvniW"), "session id '%s'", sid);
	/* A new session; one for the empty username. */
	MUST(srvtoken_generate(&k, "carol", NULL, false, 5000, tok));
	V(&k, "carol", tok, 5000, 0, 60, NULL, SRVTOKEN_HMAC_OK);
	V(&k, "carol", tok, 5120, 0, 60, NULL, SRVTOKEN_HMAC_OK | SRVTOKEN_EXPIRED);
	MUST(srvtoken_generate(&k, "carol", NULL, true, 5000, tok2));
	V(&k, "carol", tok2, 5000, 0, 60, NULL, SRVTOKEN_HMAC_OK | SRVTOKEN_EMPTY_USER);
	CHECK(strncmp(tok, tok2, SRVTOKEN_PREFIX_LEN + SRVTOKEN_SID_B64_LEN),
	      "two new sessions share a session id");
	CHECK(srvtoken_generate(&k, "carol", "SESS_ID_AT_nope", false, 5000, tok) == -EINVAL,
	      "a malformed first token is refused");
	/* The secret must be the named PEM block. */
	memset(&o, 0, sizeof(o));
	o.auth_token_secret.data = "-----BEGIN OpenVPN Static key V1-----\nAAAA\n"
				   "-----END OpenVPN Static key V1-----\n";
	o.auth_token_secret.is_inline = true;
	CHECK(srvtoken_key_load(&other, &o, err, sizeof(err)) == -EINVAL &&
	      strstr(err, SRVTOKEN_PEM_NAME), "a wrong PEM block: %s", err);
	/* Random round trips. */
	srand(11);
	for (int i = 0; i < 2000; i++) {
		char user[16];
		int64_t t = STOCK_TIME + rand() % 100000;

		snprintf(user, sizeof(user), "u%d", rand());
		MUST(srvtoken_generate(&k, user, i % 2 ? stock_token : NULL, false, t, tok));
		if (srvtoken_verify(&k, user, tok, t + rand() % 60, 0, 30, NULL) !=
		    SRVTOKEN_HMAC_OK) {
			CHECK(0, "round trip %d failed", i);
			break;
		}
	}
	printf("srvtoken_test: %u table cases\n", case_no);
	return harness_done("srvtoken_test");
}
