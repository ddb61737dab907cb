/*
 * session.c - owns the client's side of the control channel
 * (openvpn-wire.md §15(a), §4-§9): the client role on top of ctrl/proto/chan.c
 * (which owns wrapping, key states, TLS, renegotiation and their timers).
 * This file says what a client says and hears: the hard reset of a fresh
 * session id, key-method 2 with our peer info, PUSH_REQUEST until a
 * complete PUSH_REPLY (push-continuation), the data keys (EKM or the legacy
 * PRF), dynamic tls-crypt once pushed, and the server's messages:
 * AUTH_FAILED (with TEMP[backoff,advance], a refused auth-token and
 * auth-retry as a reconnect), AUTH_PENDING (the push deadline moves to its
 * timeout), INFO_PRE / INFO, RESTART, HALT and EXIT. The credentials in
 * our key-method 2 (auth-user-pass, or the pushed auth-token that replaces
 * the password on every later key) come from creds.c.
 *
 * Timers, besides chan's: the PUSH_REQUEST timer (first one 1 s after our
 * key-method 2, then every 5 s), and AUTH_PENDING's deadline, which
 * replaces the hand-window of the first key while the server authenticates.
 *
 * Thread: ctrl only. Datagrams go out through the caller's io->send, so
 * this file knows nothing of the data plane.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../../core/log.h"
#include "../../crypto/kdf.h"
#include "../../crypto/tlswrap.h"
#include "../config/options.h"
#include "../config/runcfg.h"
#include "../proto/chan.h"
#include "../proto/ctlmsg.h"
#include "../proto/km2.h"
#include "../proto/tls.h"
#include "../state.h"
#include "creds.h"
#include "session.h"

#define NS_PER_SEC		1000000000LL
#define PUSH_FIRST_NS		(1 * NS_PER_SEC)	/* first PUSH_REQUEST after km2 */
#define PUSH_EVERY_NS		(5 * NS_PER_SEC)	/* then every 5 s until PUSH_REPLY */
#define SESSION_INFO_MAX	256

struct session {
	struct chan ch;			/* first: container_of from chan callbacks */
	struct options *o;
	struct tls_ctx *tctx;
	int64_t push_next_ns;		/* next PUSH_REQUEST (CHAN_KS_PULL) */
	bool push_asked;		/* a PUSH_REQUEST went out since the last TLS up */
	bool push_partial;		/* push-continuation 2 seen */
	bool is_v2;			/* tls-crypt-v2: reset V3, WKc appended */
	size_t wrap_conn;		/* the connection entry the wrapping was made for */
	bool next_remote;		/* the server's RESTART said [N], or TEMP said advance */
	bool auth_temp;			/* the restart is AUTH_FAILED,TEMP */
	unsigned int backoff_s;		/* AUTH_FAILED,TEMP[backoff N] */
	bool auth_pending;		/* AUTH_PENDING seen, no PUSH_REPLY yet */
	struct kdf_key_source src;	/* our key-method-2 randoms */
	char info[SESSION_INFO_MAX];	/* the last INFO_PRE / INFO text */
	struct session_keys keys;
	uint64_t push_requests;
	uint64_t auth_pendings;
	char occ[KM2_OPTIONS_MAX];	/* our OCC string */
	char peer_info[1024];		/* our peer info */
};

static struct session *session_of(struct chan *c)
{
	return (struct session *)c;
}

/* Reads a whole (small) file for key/credential options given as a path. */
static char *session_file_read(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "options: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = calloc(1, 65536);
	n = buf ? fread(buf, 1, 65535, f) : 0;
	fclose(f);
	if (!buf || n == 65535) {
		snprintf(err, errlen, "options: cannot read %s (too large?)", path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The text of a file option: inline data is borrowed, a path is read (*owned set). */
static const char *session_file_text(const struct options_file *f, char **owned, char *err,
				     size_t errlen)
{
	*owned = NULL;
	if (f->is_inline)
		return f->data;
	*owned = session_file_read(f->data, err, errlen);
	return *owned;
}

/* The control channel wrapping of the connection entry in use (o->conn_cur). */
static int session_wrap_create(struct session *s, struct tlswrap **w, char *err, size_t errlen)
{
	const struct options_conn *ce = &s->o->conns.v[s->o->conn_cur];
	const struct options_file *tc = ce->tls_crypt.data ? &ce->tls_crypt : &s->o->tls_crypt;
	const struct options_file *ta = ce->tls_auth.data ? &ce->tls_auth : &s->o->tls_auth;
	uint8_t key[KEY2_LEN];
	char *owned;
	const char *text;
	int rc;

	s->wrap_conn = s->o->conn_cur;
	s->is_v2 = false;
	if (ce->tls_crypt_v2.data || s->o->tls_crypt_v2.data) {
		const struct options_file *v2 = ce->tls_crypt_v2.data ? &ce->tls_crypt_v2 :
						&s->o->tls_crypt_v2;

		text = session_file_text(v2, &owned, err, errlen);
		if (!text)
			return -EINVAL;
		/* Early negotiation (§2.5): the server may ask us to resend WKc. */
		rc = tlswrap_create_crypt_v2_client(w, text, true);
		if (owned) {
			OPENSSL_cleanse(owned, strlen(owned));
			free(owned);
		}
		if (rc)
			snprintf(err, errlen, "options: cannot load the tls-crypt-v2 client key: %s",
				 tlswrap_strerror(rc));
		s->is_v2 = true;
		return rc;
	}
	if (!tc->data && !ta->data)
		return tlswrap_create_none(w);
	text = session_file_text(tc->data ? tc : ta, &owned, err, errlen);
	if (!text)
		return -EINVAL;
	rc = dc_static_key_parse(text, key);
	if (owned) {
		OPENSSL_cleanse(owned, strlen(owned));
		free(owned);
	}
	if (rc) {
		snprintf(err, errlen, "options: %s: not an OpenVPN static key",
			 tc->data ? "tls-crypt" : "tls-auth");
		OPENSSL_cleanse(key, sizeof(key));
		return -EINVAL;
	}
	if (tc->data)
		rc = tlswrap_create_crypt(w, key, false);
	else
		rc = tlswrap_create_auth(w, key, ce->key_direction < 0 ?
					 TLSWRAP_DIR_BIDI : ce->key_direction, s->o->auth);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc)
		snprintf(err, errlen, "options: cannot set up control channel wrapping");
	return rc;
}

static int session_tls_create(struct session *s, char *err, size_t errlen)
{
	struct tls_conf tc;

	runcfg_tls_conf(s->o, false, &tc);
	return tls_ctx_create(&s->tctx, &tc, err, errlen);
}

/*
 * The setenv values 2.6 sends as peer info (ssl.c push_peer_info): IV_SSO
 * and IV_GUI_VER always, UV_* with push-peer-info. NULL when none.
 */
static const char *session_peer_info_extra(const struct options *o, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < o->setenvs.n; i++) {
		const struct options_setenv *e = &o->setenvs.v[i];
		int w;

		if (strcmp(e->name, "IV_SSO") && strcmp(e->name, "IV_GUI_VER") &&
		    !(o->push_peer_info && !strncmp(e->name, "UV_", 3)))
			continue;
		w = snprintf(buf + n, len - n, "%s=%s\n", e->name, e->value);
		if (w < 0 || (size_t)w >= len - n) {
			log_warnx("TLS: peer info from setenv is too long; '%s' left out", e->name);
			buf[n] = '\0';
			break;
		}
		n += (size_t)w;
	}
	return n ? buf : NULL;
}

/* Our key-method-2 message, the first TLS application data (§4). */
static int session_km2_send(struct session *s, struct chan_key *k)
{
	const struct options_conn *ce = &s->o->conns.v[s->o->conn_cur];
	struct km2_occ occ = {
		.tun_mtu = ce->tun_mtu,
		.occ_mtu = ce->occ_mtu,
		.tls_auth = tlswrap_mode_get(s->ch.wrap) == TLSWRAP_TLS_AUTH,
		.comp = s->o->comp != OPT_COMP_NONE,
		.comp_v1_framing = s->o->comp == OPT_COMP_LZO_STUB || s->o->comp == OPT_COMP_LZO ||
				   s->o->comp == OPT_COMP_STUB || s->o->comp == OPT_COMP_LZ4,
		.key_direction = ce->key_direction == 0 ? KM2_KEYDIR_0 :
				 ce->key_direction == 1 ? KM2_KEYDIR_1 : KM2_KEYDIR_NONE,
	};
	/*
	 * 2.6's pull client bits (openvpn-wire.md §4): dynamic tls-crypt and
	 * AUTH_PENDING keywords and AUTH_FAILED,TEMP are understood, pushed
	 * --dns is not (bit 6 stays clear).
	 */
	struct km2_peer_info pi = {
		.iv_proto = IV_PROTO_DATA_V2 | IV_PROTO_REQUEST_PUSH | IV_PROTO_CC_EXIT_NOTIFY |
			    IV_PROTO_AUTH_PENDING_KW | IV_PROTO_AUTH_FAIL_TEMP |
			    (s->o->test_no_dyn_tls_crypt ? 0 : IV_PROTO_DYN_TLS_CRYPT) |
			    (s->o->test_no_ekm ? 0 : IV_PROTO_TLS_KEY_EXPORT),
		.mtu = ce->tun_mtu_max,
		.ciphers = s->o->data_ciphers,
		/* LZ4 and LZO are announced only when we may compress. */
		.comp = s->o->allow_compression == OPT_ALLOW_COMP_YES ? KM2_COMP_ALL : KM2_COMP_STUBS,
	};
	struct km2_msg m = { 0 };
	static char extra[512];		/* ctrl only */
	uint8_t *buf = chan_scratch.stream;	/* free now: TLS output is moved later */
	bool is_token;
	char err[256];
	int n, rc;

	pi.extra = session_peer_info_extra(s->o, extra, sizeof(extra));
	if (km2_occ_build(s->occ, sizeof(s->occ), &occ) < 0 ||
	    km2_peer_info_build(s->peer_info, sizeof(s->peer_info), &pi) < 0) {
		log_warnx("TLS: cannot build the key-method-2 options or peer info");
		return -EINVAL;
	}
	/* A pushed token replaces the password; a forgotten password is asked for again. */
	rc = creds_get(s->o, &m.username, &m.password, &is_token, err, sizeof(err));
	if (rc) {
		log_warnx("%s", err);
		chan_end_for(&s->ch, CHAN_FAILED, CONN_WHY_CONFIG);
		return rc;
	}
	if (is_token)
		log_info("TLS: sending the auth-token instead of the password (key_id %u)",
			 k->key_id);
	rc = km2_source_random(&s->src, true);
	if (rc)
		return rc;
	m.src = s->src;
	k->cli_src = s->src;
	m.options = s->occ;
	m.peer_info = s->peer_info;
	n = km2_build(buf, sizeof(chan_scratch.stream), &m, true);
	if (n < 0) {
		log_warnx("TLS: cannot build the key-method-2 message");
		return n;
	}
	rc = chan_write(k, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(chan_scratch.stream));
	if (!rc)
		creds_used(s->o, is_token);
	return rc;
}

static void session_text_send(struct chan_key *k, const char *what,
			      int (*build)(char *, size_t))
{
	char buf[64];
	int n = build(buf, sizeof(buf));

	if (n < 0 || chan_write(k, buf, (size_t)n))
		log_warnx("TLS: cannot send %s", what);
}

static void session_log_warnings(struct session *s)
{
	for (size_t i = 0; i < s->o->warnings.n; i++)
		log_warnx("%s", s->o->warnings.v[i]);
	options_warnings_clear(s->o);
}

/* Key state @k is negotiated (and the push applied): export its data keys (§5.1). */
static void session_keys_derive(struct session *s, struct chan_key *k)
{
	struct options *o = s->o;
	enum dc_cipher c = o->cipher ? dc_cipher_from_name(o->cipher) : DC_CIPHER_NONE;
	int rc;

	if (c == DC_CIPHER_NONE) {
		log_warnx("OPTIONS ERROR: data channel cipher '%s' is not supported (AES-128-GCM, "
			  "AES-256-GCM, CHACHA20-POLY1305)", o->cipher ? o->cipher : "BF-CBC");
		chan_end_for(&s->ch, CHAN_FAILED, CONN_WHY_CONFIG);
		return;
	}
	if (o->protocol_flags & OPT_PROTO_TLS_EKM) {
		rc = tls_conn_export(k->tls, KDF_EKM_DATAKEYS_LABEL, KDF_EKM_DATAKEYS_LEN,
				     s->keys.key2);
	} else {
		/* No tls-ekm pushed: OpenVPN's own PRF over both key-method-2 messages. */
		rc = kdf_openvpn_prf(&k->cli_src, &k->srv_src, s->ch.sid, s->ch.peer_sid,
				     s->keys.key2);
	}
	OPENSSL_cleanse(&k->cli_src, sizeof(k->cli_src));
	OPENSSL_cleanse(&k->srv_src, sizeof(k->srv_src));
	if (rc) {
		log_warnx("TLS: cannot derive the data channel keys");
		chan_end(&s->ch, CHAN_RESTART);
		return;
	}
	s->keys.key_id = k->key_id;
	s->keys.cipher = c;
	s->keys.tx_peer_id = o->has_peer_id ? o->peer_id : PEER_ID_NONE;
	s->keys.is_reneg = k != s->ch.pri;
	log_info("Data Channel: cipher '%s', peer-id: %d, key derivation: %s, key_id %u",
		 dc_cipher_name(c), o->has_peer_id ? (int)o->peer_id : -1,
		 o->protocol_flags & OPT_PROTO_TLS_EKM ? "tls-ekm" : "openvpn-prf", k->key_id);
	k->st = CHAN_KS_KEYS_READY;
}

/* A sanitized copy of a control message for the log (ctrl only). */
static char session_log_buf[CTLMSG_MAX];

/* The first pull's token: kept by creds.c across renegotiations and reconnects. */
static void session_push_token(struct session *s)
{
	if (s->o->auth_token_user)
		creds_token_user_set(s->o->auth_token_user);
	if (s->o->auth_token) {
		creds_token_set(s->o->auth_token);
		log_info("PUSH: auth-token received: it replaces the password from now on");
	}
}

static void session_push_reply(struct session *s, struct chan_key *k, const struct ctlmsg *m)
{
	char err[256];
	int cont = 0;

	/* After the first pull only a renewed auth-token is taken (2.6 sends one per key). */
	if (k != s->ch.pri || k->st != CHAN_KS_PULL) {
		if (creds_push_renewal(m->text, m->len))
			log_info("PUSH: the server renewed our auth-token");
		else
			log_debug("PUSH: ignoring an extra PUSH_REPLY");
		return;
	}
	log_info("PUSH: Received control message: '%s'",
		 ctlmsg_sanitize(m->text, session_log_buf, sizeof(session_log_buf)));
	if (options_apply_push(s->o, m->text, m->len, &cont, err, sizeof(err))) {
		session_log_warnings(s);
		log_warnx("%s", err);
		log_warnx("OPTIONS ERROR: failed to import the pushed options, exiting");
		chan_end_for(&s->ch, CHAN_FAILED, CONN_WHY_CONFIG);
		return;
	}
	session_log_warnings(s);
	session_push_token(s);
	s->push_partial = cont == 2;
	if (s->push_partial)
		return;
	s->auth_pending = false;
	/* 2.6 makes the dynamic tls-crypt key from this first TLS session now (§2.6). */
	if ((s->o->protocol_flags & OPT_PROTO_DYN_TLS_CRYPT) && chan_dyn_enable(&s->ch)) {
		log_warnx("TLS: cannot derive the dynamic tls-crypt key");
		chan_end(&s->ch, CHAN_RESTART);
		return;
	}
	session_keys_derive(s, k);
}

/*
 * AUTH_FAILED (§9). TEMP[backoff N,advance no|addr|remote]:msg is a
 * temporary refusal: reconnect after at least N s, to the same remote
 * unless it says advance remote or addr (2.6 semantics; sluice resolves
 * one address per remote, so the next address is the next remote).
 * Otherwise, as 2.6's receive_auth_failed: if we sent a token, it is
 * dropped and we reconnect to the same remote with the password (a
 * restarted server, or AUTH_FAILED,SESSION: token expired); with
 * auth-retry nointeract we reconnect, with interact after forgetting the
 * credentials so they are asked for again; else the client ends.
 */
static void session_auth_failed(struct session *s, const struct ctlmsg *m)
{
	const char *why = NULL;

	log_warnx("AUTH: Received control message: %s", m->text);
	if (!m->is_temp && creds_token_clear())
		why = CONN_WHY_AUTH_TOKEN;
	else if (!m->is_temp && s->o->auth_retry != OPT_AUTH_RETRY_NONE)
		why = CONN_WHY_AUTH_FAILURE;
	if (why) {
		if (s->o->auth_retry == OPT_AUTH_RETRY_INTERACT)
			creds_purge();
		/* No advance (stock sets no_advance): as TEMP without a backoff. */
		s->auth_temp = true;
		s->backoff_s = 0;
		chan_end_for(&s->ch, CHAN_RESTART, why);
		return;
	}
	if (m->is_temp) {
		s->auth_temp = true;
		s->backoff_s = m->temp_backoff;
		s->next_remote = m->temp_advance == CTLMSG_ADVANCE_REMOTE ||
				 m->temp_advance == CTLMSG_ADVANCE_ADDR;
		log_warnx("SIGUSR1[soft,auth-temp-failure] received, process restarting "
			  "(server temporary reject, backoff %u s, %s)", m->temp_backoff,
			  s->next_remote ? "next remote" : "same remote");
		chan_end_for(&s->ch, CHAN_RESTART, CONN_WHY_AUTH_TEMP);
		return;
	}
	log_warnx("SIGTERM[soft,auth-failure] received, process exiting");
	chan_end_for(&s->ch, CHAN_FAILED, CONN_WHY_AUTH_FAILURE);
}

/*
 * AUTH_PENDING[,timeout N] (§9): the server authenticates out of band. As
 * 2.6, the push deadline becomes the key's start plus min(N, max(reneg-sec/2,
 * hand-window)), hand-window when no timeout was given; PUSH_REQUEST goes
 * on every 5 s so the server keeps answering.
 */
static void session_auth_pending(struct session *s, struct chan_key *k, const struct ctlmsg *m)
{
	unsigned int hw = s->ch.hand_window_s, max = MAX(s->o->reneg_sec / 2, hw);
	unsigned int tmo = m->has_timeout ? MIN(m->timeout, max) : hw;
	int64_t start = k->hand_deadline_ns - (int64_t)hw * NS_PER_SEC;

	if (k != s->ch.pri || k->st != CHAN_KS_PULL)
		return;
	s->auth_pendings++;
	s->auth_pending = true;
	log_info("AUTH_PENDING received, extending handshake timeout from %us to %us", hw, tmo);
	k->hand_deadline_ns = start + (int64_t)tmo * NS_PER_SEC;
}

/* INFO_PRE,<text> / INFO,<text>: logged, and kept for the status ("info="). */
static void session_info(struct session *s, const struct ctlmsg *m)
{
	log_info("Info command was pushed by server ('%s')", m->arg);
	snprintf(s->info, sizeof(s->info), "%s", m->arg);
}

static void session_ctlmsg(struct session *s, struct chan_key *k, const struct ctlmsg *m)
{
	switch (m->type) {
	case CTLMSG_PUSH_REPLY:
		session_push_reply(s, k, m);
		break;
	case CTLMSG_AUTH_FAILED:
		session_auth_failed(s, m);
		break;
	case CTLMSG_HALT:
		log_warnx("Received control message: %s: server asked us to halt", m->text);
		chan_end_for(&s->ch, CHAN_FAILED, CONN_WHY_SERVER_HALT);
		break;
	case CTLMSG_RESTART:
		log_warnx("Received control message: %s: server-pushed connection reset",
			  m->text);
		/* Without [P], stock forgets the auth-user-pass credentials (not the token). */
		if (!m->keep_auth)
			creds_purge();
		s->next_remote = m->next_remote;
		chan_end_for(&s->ch, CHAN_RESTART, CONN_WHY_SERVER_RESTART);
		break;
	case CTLMSG_EXIT:
		log_warnx("Received control message: EXIT: the server is shutting down");
		chan_end_for(&s->ch, CHAN_RESTART, CONN_WHY_SERVER_EXIT);
		break;
	case CTLMSG_INFO:
	case CTLMSG_INFO_PRE:
		session_info(s, m);
		break;
	case CTLMSG_AUTH_PENDING:
		session_auth_pending(s, k, m);
		break;
	case CTLMSG_INVALID:
		log_debug("TLS: dropped a control message with control characters");
		break;
	default:
		log_warnx("WARNING: Received unknown control message: %s", m->text);
		break;
	}
}

/* chan_ops.record: one TLS record of application data from the server on @k. */
static void session_record(struct chan *ch, struct chan_key *k, char *rec, size_t n,
			   int64_t now_ns)
{
	struct session *s = session_of(ch);
	struct ctlmsg_iter it;
	struct ctlmsg m;

	(void)now_ns;
	if (k->st == CHAN_KS_KM2) {
		struct km2_msg km;
		const char *why = NULL;

		if (km2_parse(&km, (const uint8_t *)rec, n, false, &why)) {
			log_warnx("TLS Error: bad key-method-2 message from the server: %s",
				  why ? why : "malformed");
			chan_end(ch, CHAN_RESTART);
			return;
		}
		log_debug("TLS: server options '%s'", km.options);
		k->srv_src = km.src;
		OPENSSL_cleanse(&km.src, sizeof(km.src));
		/* A renegotiation has no push: the keys follow the first one's options. */
		if (k == ch->pri)
			k->st = CHAN_KS_PULL;
		else
			session_keys_derive(s, k);
		/* A 2.6 server's next message (a renewed auth-token, AUTH_FAILED) may follow. */
		if (km.len >= n)
			return;
		rec += km.len;
		n -= km.len;
	}
	ctlmsg_iter_init(&it, rec, n);
	while (!ch->end && k->st >= CHAN_KS_PULL && ctlmsg_next(&it, &m))
		session_ctlmsg(s, k, &m);
}

/* chan_ops.tls_up: TLS of @k is up; our key-method-2 message goes first (§4). */
static int session_tls_up(struct chan *ch, struct chan_key *k, int64_t now_ns)
{
	struct session *s = session_of(ch);
	const char *cn = tls_conn_peer_cn(k->tls);

	log_info("[%s] Peer Connection Initiated (key_id %u)", cn ? cn : "?", k->key_id);
	if (session_km2_send(s, k))
		return -EIO;
	if (k == ch->pri) {
		s->push_next_ns = now_ns + PUSH_FIRST_NS;
		s->push_asked = false;
	}
	return 0;
}

static const struct chan_ops session_chan_ops = {
	.tls_up = session_tls_up,
	.record = session_record,
};

int session_create(struct session **out, struct options *o, const struct session_io *io,
		   char *err, size_t errlen)
{
	struct session *s = calloc(1, sizeof(*s));
	struct tlswrap *w = NULL;
	int rc;

	if (!s) {
		snprintf(err, errlen, "session: out of memory");
		return -ENOMEM;
	}
	s->o = o;
	rc = session_wrap_create(s, &w, err, errlen);
	rc = rc ?: session_tls_create(s, err, errlen);
	rc = rc ?: creds_startup(o, err, errlen);
	chan_init(&s->ch, &session_chan_ops, io, s->tctx, w, false, o->tls_timeout,
		  o->hand_window, o->tran_window);
	s->ch.reneg_ns = (int64_t)o->reneg_sec * NS_PER_SEC;
	s->ch.answer_reset_with_tls = o->test_reneg_ovpn3;
	if (rc) {
		session_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	chan_release(&s->ch);
	if (s->tctx)
		tls_ctx_put(s->tctx);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

enum session_state session_state(const struct session *s)
{
	static const enum session_state map[] = {
		[CHAN_KS_DEAD] = SESSION_RESTART,
		[CHAN_KS_RESET_SENT] = SESSION_RESET_SENT,
		[CHAN_KS_TLS] = SESSION_TLS,
		[CHAN_KS_KM2] = SESSION_KM2,
		[CHAN_KS_AUTH] = SESSION_KM2,
		[CHAN_KS_PULL] = SESSION_PULL,
		[CHAN_KS_KEYS_READY] = SESSION_KEYS_READY,
		[CHAN_KS_ACTIVE] = SESSION_ACTIVE,
	};

	if (s->ch.end >= CHAN_FAILED)
		return SESSION_FAILED;
	if (s->ch.end)
		return SESSION_RESTART;
	return map[chan_key_state(&s->ch)];
}

/*
 * Another connection entry may wrap the control channel differently (its
 * own tls-auth, tls-crypt or tls-crypt-v2 key, or none): a new attempt on
 * it starts with its wrapping. All key states are dropped by then.
 */
static int session_wrap_follow(struct session *s)
{
	struct tlswrap *w = NULL;
	char err[256];
	int rc;

	if (s->wrap_conn == s->o->conn_cur)
		return 0;
	rc = session_wrap_create(s, &w, err, sizeof(err));
	if (rc) {
		log_warnx("%s", err);
		tlswrap_free(w);
		return rc;
	}
	chan_set_wrap(&s->ch, w);
	return 0;
}

int session_start(struct session *s, int64_t now_ns)
{
	struct chan *ch = &s->ch;
	int rc;

	chan_reset(ch);
	rc = session_wrap_follow(s);
	if (rc)
		return rc;
	ch->now_ns = now_ns;
	if (RAND_bytes(ch->sid, SID_LEN) != 1)
		return -EIO;
	memset(ch->peer_sid, 0, SID_LEN);
	s->push_partial = false;
	s->next_remote = false;
	s->auth_temp = false;
	s->backoff_s = 0;
	s->auth_pending = false;
	s->info[0] = '\0';
	ch->wkc_resend = s->is_v2;	/* the server's reset says whether it wants WKc again */
	ch->pri = chan_key_begin(ch, 0, s->is_v2 ? P_CONTROL_HARD_RESET_CLIENT_V3 :
				 P_CONTROL_HARD_RESET_CLIENT_V2, now_ns);
	if (!ch->pri)
		return -ENOMEM;
	log_info("TLS: Initial packet to server, sid=%02x%02x%02x%02x%02x%02x%02x%02x",
		 ch->sid[0], ch->sid[1], ch->sid[2], ch->sid[3], ch->sid[4], ch->sid[5],
		 ch->sid[6], ch->sid[7]);
	chan_send(ch, ch->pri, now_ns);
	return 0;
}

void session_input(struct session *s, const uint8_t *buf, size_t len, int64_t now_ns)
{
	chan_input(&s->ch, buf, len, now_ns);
}

void session_tick(struct session *s, int64_t now_ns)
{
	struct chan_key *k = s->ch.pri;

	if (s->ch.end || !k)
		return;
	if (k->st == CHAN_KS_PULL && !s->push_partial && now_ns >= s->push_next_ns &&
	    now_ns < k->hand_deadline_ns) {
		session_text_send(k, "PUSH_REQUEST", ctlmsg_build_push_request);
		s->push_requests++;
		s->push_asked = true;
		log_info("SENT CONTROL: 'PUSH_REQUEST' (status=1)");
		s->push_next_ns = now_ns + PUSH_EVERY_NS;
	}
	chan_tick(&s->ch, now_ns);
}

bool session_pull_asked(const struct session *s)
{
	return s->push_asked;
}

int64_t session_next_timeout(const struct session *s, int64_t now_ns)
{
	int64_t t = chan_next_timeout(&s->ch, now_ns);

	if (!s->ch.end && s->ch.pri && s->ch.pri->st == CHAN_KS_PULL && s->push_next_ns < t)
		t = s->push_next_ns;
	return t;
}

int session_take_keys(struct session *s, struct session_keys *k)
{
	if (session_state(s) != SESSION_KEYS_READY)
		return -EAGAIN;
	*k = s->keys;
	OPENSSL_cleanse(s->keys.key2, sizeof(s->keys.key2));
	chan_keys_taken(&s->ch);
	return 0;
}

bool session_take_next_remote(struct session *s)
{
	bool n = s->next_remote;

	s->next_remote = false;
	return n;
}

bool session_take_auth_temp(struct session *s, unsigned int *backoff_s)
{
	bool t = s->auth_temp;

	*backoff_s = s->backoff_s;
	s->auth_temp = false;
	s->backoff_s = 0;
	return t;
}

unsigned int session_take_retired(struct session *s)
{
	return chan_take_retired(&s->ch);
}

bool session_send_exit(struct session *s, int64_t now_ns)
{
	struct chan_key *k = s->ch.pri;

	if (s->ch.end || !k || k->st != CHAN_KS_ACTIVE || !k->tls ||
	    !(s->o->protocol_flags & OPT_PROTO_CC_EXIT))
		return false;
	session_text_send(k, "EXIT", ctlmsg_build_exit);
	log_info("SENT CONTROL: 'EXIT'");
	chan_send(&s->ch, k, now_ns);
	return true;
}

bool session_idle(const struct session *s)
{
	return chan_idle(&s->ch);
}

const char *session_auth_state(const struct session *s)
{
	return s->auth_pending ? "AUTH_PENDING" : NULL;
}

const char *session_occ_string(const struct session *s)
{
	return s->occ[0] ? s->occ : NULL;
}

const char *session_info_text(const struct session *s)
{
	return s->info;
}

const char *session_end_reason(const struct session *s)
{
	return s->ch.end_why ? s->ch.end_why : CONN_WHY_NONE;
}

struct chan *session_chan(struct session *s)
{
	return &s->ch;
}

void session_write_stats(const struct session *s, FILE *f)
{
	chan_write_stats(&s->ch, f);
	fprintf(f, "ctrl.push_requests=%llu\nctrl.auth_pending=%llu\n",
		(unsigned long long)s->push_requests, (unsigned long long)s->auth_pendings);
	/* The server's words are printable (ctlmsg drops control characters). */
	if (s->info[0])
		fprintf(f, "info=%s\n", s->info);
}
