/*
 * srvsess_token.c - owns one client session's auth-gen-token state: what
 * the token a client logs in with says (stock's verify_user_pass and
 * add_session_token_env), the session's tokens (generate_auth_token keeps
 * the session id of the first), the check of a renegotiation's token, the
 * renewed token after each renegotiation (resend_auth_token_renegotiation)
 * and on the renewal timer (check_send_auth_token), and refusing a
 * renegotiation whose token is bad (AUTH_FAILED, then the session ends, as
 * stock kills the client).
 *
 * Renegotiations that send a password instead of a token are accepted as
 * before, without running auth-user-pass-verify again (sluice checks
 * credentials at the session's start only; stock would run the script).
 *
 * Timers: token_renew_ns, the renewal push (when auth-gen-token's renewal
 * period is shorter than reneg-sec), driven by srvsess_token_tick.
 *
 * Thread: ctrl only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../../core/log.h"
#include "../config/options.h"
#include "srvsess_int.h"

/* add_session_token_env's $session_state for the verify flags of a presented token. */
static const char *token_state(unsigned int f)
{
	if (!(f & SRVTOKEN_HMAC_OK))
		return "Invalid";
	switch (f & (SRVTOKEN_EMPTY_USER | SRVTOKEN_EXPIRED)) {
	case 0:
		return "Authenticated";
	case SRVTOKEN_EXPIRED:
		return "Expired";
	case SRVTOKEN_EMPTY_USER:
		return "AuthenticatedEmptyUser";
	default:
		return "ExpiredEmptyUser";
	}
}

void srvsess_token_first(struct srvsess *s)
{
	const struct options *o = s->o;
	struct srvsess_client *cl = &s->client;

	if (!s->cfg->token_key)
		return;
	cl->session_state = "Initial";
	cl->session_id = s->session_id;
	if (!srvtoken_is_token(cl->password))
		return;
	cl->has_token = true;
	cl->token_flags = srvtoken_verify(s->cfg->token_key, cl->username, cl->password,
					  (int64_t)time(NULL), o->auth_token_lifetime,
					  o->auth_token_renewal, NULL);
	cl->session_state = token_state(cl->token_flags);
	/* A token made for an unknown username: the username cannot be trusted. */
	if (cl->token_flags & SRVTOKEN_EMPTY_USER) {
		s->username[0] = '\0';
		s->token_empty_user = true;
	}
	/*
	 * An authentic token continues its session (id and first timestamp:
	 * stock's auth_token_initial); a refused one is wiped by the caller.
	 */
	if (cl->token_flags & SRVTOKEN_HMAC_OK) {
		s->token_initial = strdup(cl->password);
		srvtoken_session_id(cl->password, s->session_id);
	}
}

int srvsess_token_issue(struct srvsess *s, int64_t now)
{
	const struct options *o = s->o;
	int rc;

	if (!s->cfg->token_key)
		return -EINVAL;
	rc = srvtoken_generate(s->cfg->token_key, s->client.username, s->token_initial,
			       s->token_empty_user, now, s->token);
	if (rc)
		return rc;
	if (!s->token_initial) {
		s->token_initial = strdup(s->token);
		if (!s->token_initial)
			return -ENOMEM;
	}
	srvtoken_session_id(s->token, s->session_id);
	s->client.session_id = s->session_id;
	if (o->auth_token_renewal < o->reneg_sec)
		s->token_renew_ns = s->ch.now_ns +
				    (int64_t)o->auth_token_renewal * SRVSESS_NS_PER_SEC;
	return 0;
}

const char *srvsess_token(const struct srvsess *s)
{
	return s->token;
}

void srvsess_token_wipe(struct srvsess *s)
{
	if (s->token_initial) {
		OPENSSL_cleanse(s->token_initial, strlen(s->token_initial));
		free(s->token_initial);
	}
	s->token_initial = NULL;
	OPENSSL_cleanse(s->token, sizeof(s->token));
	s->token_renew_ns = 0;
}

/* "PUSH_REPLY,auth-token <token>" on @k: stock's send_push_reply_auth_token. */
static void token_send(struct srvsess *s, struct chan_key *k, int64_t now)
{
	static char text[32 + SRVTOKEN_LEN];	/* ctrl only; cleansed after use */

	if (srvsess_token_issue(s, now)) {
		log_warnx("[%s] auth-gen-token: cannot make a new token", srvsess_cn(s));
		return;
	}
	snprintf(text, sizeof(text), "PUSH_REPLY,auth-token %s", s->token);
	if (srvsess_text_write(k, text)) {
		log_info("SENT CONTROL [%s]: 'PUSH_REPLY,auth-token' (renewed)", srvsess_cn(s));
		chan_send(&s->ch, k, s->ch.now_ns);
	}
	OPENSSL_cleanse(text, sizeof(text));
}

bool srvsess_token_reneg(struct srvsess *s, const char *user, const char *pass, char *reason,
			 size_t rlen)
{
	const struct options *o = s->o;
	unsigned int f;

	reason[0] = '\0';
	if (!s->cfg->token_key || !srvtoken_is_token(pass))
		return true;
	f = srvtoken_verify(s->cfg->token_key, user, pass, (int64_t)time(NULL),
			    o->auth_token_lifetime, o->auth_token_renewal, s->token_initial);
	if (f == SRVTOKEN_HMAC_OK) {
		log_info("[%s] TLS: Username/auth-token authentication succeeded for username "
			 "'%s'", srvsess_cn(s), user);
		return true;
	}
	if (f & SRVTOKEN_EXPIRED) {
		log_info("[%s] --auth-gen-token: auth-token from client expired", srvsess_cn(s));
		snprintf(reason, rlen, "SESSION: token expired");
	}
	log_warnx("[%s] TLS: Username/auth-token authentication failed for username '%s'",
		  srvsess_cn(s), user);
	srvsess_token_wipe(s);
	return false;
}

void srvsess_token_renew(struct srvsess *s, struct chan_key *k)
{
	if (s->cfg->token_key && s->token_initial)
		token_send(s, k, (int64_t)time(NULL));
}

void srvsess_token_tick(struct srvsess *s, int64_t now_ns, int64_t now)
{
	struct chan_key *k = s->ch.pri;

	if (!s->token_renew_ns || now_ns < s->token_renew_ns || s->ch.end || !k ||
	    k->st != CHAN_KS_ACTIVE || s->ch.nxt)
		return;
	s->ch.now_ns = now_ns;
	token_send(s, k, now);
}

void srvsess_reneg_reject(struct srvsess *s, struct chan_key *k, const char *reason)
{
	char *msg = srvsess_msg_buf;
	int n;

	n = ctlmsg_build_auth_failed(msg, CTLMSG_MAX, reason && *reason ? reason : NULL);
	if (n < 0 || chan_write(k, msg, (size_t)n)) {
		srvsess_fail(s);
		return;
	}
	log_info("SENT CONTROL [%s]: '%s' (status=1)", srvsess_cn(s), msg);
	chan_end(&s->ch, CHAN_REJECTED);
	s->reject_deadline_ns = s->ch.now_ns + SRVSESS_REJECT_LINGER_NS;
	chan_send(&s->ch, k, s->ch.now_ns);
}
