/*
 * srvsess_msg.c - owns what the server session says and hears on its
 * control channel once TLS is up (openvpn-wire.md §4, §5, §9): the client's
 * key-method-2 message and ours, what the client told (CN, username,
 * peer info) and the caller's accept/reject, PUSH_REQUEST -> PUSH_REPLY,
 * EXIT and other control messages, and the data keys of each key_id.
 * srvsess.c owns the transport under it (srvsess_int.h).
 *
 * Thread: ctrl only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../../core/log.h"
#include "../../crypto/kdf.h"
#include "../proto/ctlmsg.h"
#include "../proto/km2.h"
#include "../config/options.h"
#include "srvpush.h"
#include "srvsess_int.h"

/* A sanitized copy of a control message for the log (ctrl only). */
static char srvsess_log_buf[CTLMSG_MAX];

bool srvsess_text_write(struct chan_key *k, const char *text)
{
	int n = ctlmsg_build(srvsess_msg_buf, sizeof(srvsess_msg_buf), text);

	if (n < 0 || chan_write(k, srvsess_msg_buf, (size_t)n)) {
		log_warnx("TLS: cannot send control message '%.40s'", text);
		return false;
	}
	return true;
}

/* Our key-method-2 message (§4): randoms for the PRF, OCC with tls-server, no peer info. */
static int srvsess_km2_send(struct srvsess *s, struct chan_key *k)
{
	const struct options *o = s->o;
	const struct options_conn *ce = o->conns.n ? &o->conns.v[0] : &o->ce;
	struct km2_occ occ = {
		.is_server = true,
		.is_tap = o->dev_kind == OPT_DEV_TAP,
		.proto = ce->proto == OPT_PROTO_TCP_SERVER ? KM2_PROTO_TCP_SERVER : KM2_PROTO_UDP,
		.tun_mtu = ce->tun_mtu,
		.occ_mtu = ce->occ_mtu,
		.tls_auth = s->cfg->wrap == FIRSTPKT_WRAP_TLS_AUTH,
		.comp = o->comp != OPT_COMP_NONE,
		.comp_v1_framing = o->comp == OPT_COMP_LZO_STUB || o->comp == OPT_COMP_LZO ||
				   o->comp == OPT_COMP_STUB || o->comp == OPT_COMP_LZ4,
		.key_direction = s->cfg->wrap != FIRSTPKT_WRAP_TLS_AUTH ? KM2_KEYDIR_NONE :
				 s->cfg->auth_direction == 0 ? KM2_KEYDIR_0 :
				 s->cfg->auth_direction == 1 ? KM2_KEYDIR_1 : KM2_KEYDIR_NONE,
	};
	struct km2_msg m = { 0 };
	char *occ_str = s->occ;
	int n, rc;

	if (km2_occ_build(occ_str, sizeof(s->occ), &occ) < 0) {
		log_warnx("TLS: cannot build the key-method-2 options string");
		return -EINVAL;
	}
	rc = km2_source_random(&k->srv_src, false);
	if (rc)
		return rc;
	m.src = k->srv_src;
	m.options = occ_str;
	n = km2_build(chan_scratch.stream, sizeof(chan_scratch.stream), &m, false);
	OPENSSL_cleanse(&m.src, sizeof(m.src));
	if (n < 0) {
		log_warnx("TLS: cannot build the key-method-2 message");
		return n;
	}
	rc = chan_write(k, chan_scratch.stream, (size_t)n);
	OPENSSL_cleanse(chan_scratch.stream, (size_t)n);
	return rc;
}

/* ---- keys and push ---- */

/* Key state @k is negotiated (and, first key, pushed): export its data keys (§5). */
static void srvsess_keys_derive(struct srvsess *s, struct chan_key *k)
{
	int rc;

	if (s->acc.ekm)
		rc = tls_conn_export(k->tls, KDF_EKM_DATAKEYS_LABEL, KDF_EKM_DATAKEYS_LEN,
				     s->keys.key2);
	else	/* The TLS client's source and session id come first either way. */
		rc = kdf_openvpn_prf(&k->cli_src, &k->srv_src, s->ch.peer_sid, s->ch.sid,
				     s->keys.key2);
	OPENSSL_cleanse(&k->cli_src, sizeof(k->cli_src));
	OPENSSL_cleanse(&k->srv_src, sizeof(k->srv_src));
	if (rc) {
		log_warnx("[%s] TLS: cannot derive the data channel keys", srvsess_cn(s));
		srvsess_fail(s);
		return;
	}
	s->keys.key_id = k->key_id;
	s->keys.cipher = s->acc.cipher;
	s->keys.tx_peer_id = s->acc.peer_id;
	s->keys.is_reneg = k != s->ch.pri;
	log_info("[%s] Data Channel: cipher '%s', peer-id: %u, key derivation: %s, key_id %u",
		 srvsess_cn(s), dc_cipher_name(s->acc.cipher), s->acc.peer_id,
		 s->acc.ekm ? "tls-ekm" : "openvpn-prf", k->key_id);
	k->st = CHAN_KS_KEYS_READY;
}

/* Sends the PUSH_REPLY sequence on @k; the first one also derives the keys. */
static void srvsess_push_send(struct srvsess *s, struct chan_key *k, int64_t now_ns)
{
	struct srvpush_iter it;
	const char *msg;

	srvpush_iter_init(&it, s->push);
	while ((msg = srvpush_next(&it)) != NULL) {
		if (!srvsess_text_write(k, msg)) {
			srvsess_fail(s);
			return;
		}
		log_info("SENT CONTROL [%s]: '%s' (status=1)", srvsess_cn(s),
			 ctlmsg_sanitize(msg, srvsess_log_buf, sizeof(srvsess_log_buf)));
	}
	s->stats.push_replies++;
	s->push_expiry_ns = now_ns + SRVSESS_PUSH_EXPIRY_NS;
	if (k->st != CHAN_KS_PULL)
		return;
	/* 2.6 makes the dynamic tls-crypt key from this first TLS session now (§2.6). */
	if (s->acc.dyn_tls_crypt && chan_dyn_enable(&s->ch)) {
		log_warnx("[%s] TLS: cannot derive the dynamic tls-crypt key", srvsess_cn(s));
		srvsess_fail(s);
		return;
	}
	srvsess_keys_derive(s, k);
}

static void srvsess_push_request(struct srvsess *s, struct chan_key *k, int64_t now_ns)
{
	s->stats.push_requests++;
	log_debug("[%s] PUSH: Received control message: 'PUSH_REQUEST'", srvsess_cn(s));
	if (s->ch.end == CHAN_REJECTED)
		return;
	if (k->st == CHAN_KS_AUTH || k->st == CHAN_KS_KM2) {
		s->push_requested = true;
	} else if (k->st == CHAN_KS_PULL || (s->push && now_ns >= s->push_expiry_ns)) {
		srvsess_push_send(s, k, now_ns);
	}
}

static void srvsess_ctlmsg(struct srvsess *s, struct chan_key *k, const struct ctlmsg *m,
			   int64_t now_ns)
{
	switch (m->type) {
	case CTLMSG_PUSH_REQUEST:
		srvsess_push_request(s, k, now_ns);
		break;
	case CTLMSG_EXIT:
		log_info("[%s] CC-EEN exit message received by peer", srvsess_cn(s));
		chan_end(&s->ch, CHAN_EXITED);
		break;
	case CTLMSG_INVALID:
		log_debug("[%s] TLS: dropped a control message with control characters",
			  srvsess_cn(s));
		break;
	default:
		log_info("[%s] WARNING: Received unexpected control message: %s", srvsess_cn(s),
			 m->text);
		break;
	}
}

/* ---- the client's key-method-2 message ---- */

static char *srvsess_strdup(const char *str)
{
	return strdup(str ? str : "");
}

/*
 * What a client says about itself reaches scripts, their environment and
 * files, the status file and the log: as stock 2.6 (string_mod_remap_name),
 * every control character (below 32, and DEL) becomes '_', so a username
 * with a newline cannot add a line to the via-file or the status file.
 */
static void srvsess_remap(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 32 || *s == 127)
			*s = '_';
}

/* Peer info keeps its line structure; within each line the same remap. */
static void srvsess_remap_lines(char *s)
{
	for (; s && *s; s++)
		if (((unsigned char)*s < 32 && *s != '\n') || *s == 127)
			*s = '_';
}

/* First key: keep what the client told us for the caller's decision. */
static int srvsess_client_keep(struct srvsess *s, const struct chan_key *k,
			       const struct km2_msg *km)
{
	s->cn = srvsess_strdup(tls_conn_peer_cn(k->tls));
	s->username = srvsess_strdup(km->username);
	s->password = srvsess_strdup(km->password);
	s->peer_info = srvsess_strdup(km->peer_info);
	s->options = srvsess_strdup(km->options);
	if (!s->cn || !s->username || !s->password || !s->peer_info || !s->options)
		return -ENOMEM;
	srvsess_remap(s->cn);
	srvsess_remap(s->username);
	srvsess_remap(s->password);
	srvsess_remap_lines(s->peer_info);
	srvsess_remap(s->options);
	s->client.common_name = s->cn;
	s->client.username = s->username;
	s->client.password = s->password;
	s->client.peer_info = s->peer_info;
	s->client.options = s->options;
	km2_peer_info_parse(&s->client.peer, s->peer_info);
	srvsess_tag_update(s);
	srvsess_token_first(s);
	return 0;
}

/* Renegotiation: certificate CN and username may not change (tls_lock_common_name). */
static bool srvsess_client_same(struct srvsess *s, const struct chan_key *k,
				const struct km2_msg *km)
{
	static char cn[256], user[KM2_USER_PASS_MAX + 1];	/* ctrl only */

	snprintf(cn, sizeof(cn), "%s", tls_conn_peer_cn(k->tls) ? tls_conn_peer_cn(k->tls) : "");
	snprintf(user, sizeof(user), "%s", km->username);
	srvsess_remap(cn);
	srvsess_remap(user);
	if (strcmp(cn, s->cn)) {
		log_warnx("TLS Auth Error: TLS object CN attempted to change from '%s' to '%s' "
			  "-- tunnel disabled", s->cn, cn);
		return false;
	}
	if (strcmp(user, s->username)) {
		log_warnx("TLS Auth Error: username attempted to change from '%s' to '%s' -- "
			  "tunnel disabled", s->username, user);
		return false;
	}
	return true;
}

/*
 * The client's key-method-2 message on @k: answer with ours (§4). Returns
 * the bytes it took (a control message may follow in the same record), 0
 * when the session failed.
 */
static size_t srvsess_km2_in(struct srvsess *s, struct chan_key *k, char *rec, size_t n)
{
	char reason[64] = "";
	struct km2_msg km;
	size_t used;
	const char *why = NULL;
	bool reneg_ok = true;
	int rc = km2_parse(&km, (const uint8_t *)rec, n, true, &why);

	if (rc) {
		log_warnx("TLS Error: bad key-method-2 message from the client: %s",
			  why ? why : "malformed");
		srvsess_fail(s);
		goto out;
	}
	k->cli_src = km.src;
	if (k == s->ch.pri && !s->cn) {
		rc = srvsess_client_keep(s, k, &km);
	} else if (!srvsess_client_same(s, k, &km)) {
		srvsess_fail(s);
		goto out;
	} else {
		/* auth-gen-token: a renegotiation's token must still verify. */
		reneg_ok = srvsess_token_reneg(s, km.username, km.password, reason,
					       sizeof(reason));
	}
	rc = rc ?: srvsess_km2_send(s, k);
	if (rc) {
		srvsess_fail(s);
		goto out;
	}
	log_debug("[%s] TLS: client options '%s'", srvsess_cn(s), km.options);
	if (k == s->ch.pri) {
		log_info("[%s] Peer Connection Initiated (key_id %u)", srvsess_cn(s), k->key_id);
		k->st = CHAN_KS_AUTH;
	} else if (!reneg_ok) {
		/* As stock: our key-method 2 went out, then AUTH_FAILED, and the client goes. */
		srvsess_reneg_reject(s, k, reason);
	} else {
		/* A renegotiation has no push: the keys follow the first key's choices. */
		srvsess_keys_derive(s, k);
		if (!s->ch.end)
			srvsess_token_renew(s, k);
	}
out:
	/* The credentials are in the message: wiped (all of the record if it was bad). */
	used = s->ch.end >= CHAN_RESTART ? 0 : km.len;
	OPENSSL_cleanse(&km, sizeof(km));
	OPENSSL_cleanse(rec, used ? used : n);
	return used;
}

void srvsess_record(struct chan *ch, struct chan_key *k, char *rec, size_t n, int64_t now_ns)
{
	struct srvsess *s = (struct srvsess *)ch;
	struct ctlmsg_iter it;
	struct ctlmsg m;

	if (k->st == CHAN_KS_KM2) {
		size_t used = srvsess_km2_in(s, k, rec, n);

		if (!used || used >= n)
			return;
		rec += used;
		n -= used;
	}
	ctlmsg_iter_init(&it, rec, n);
	while (s->ch.end < CHAN_EXITED && ctlmsg_next(&it, &m))
		srvsess_ctlmsg(s, k, &m, now_ns);
}

int srvsess_accept(struct srvsess *s, const struct srvsess_accept *a)
{
	struct chan_key *k = s->ch.pri;
	int rc;

	if (s->ch.end || k->st != CHAN_KS_AUTH)
		return -EAGAIN;
	if (a->cipher == DC_CIPHER_NONE || a->cipher >= DC_CIPHER_MAX)
		return -EINVAL;
	rc = srvpush_check(a->push);
	if (rc) {
		log_warnx("[%s] PUSH: cannot send the push options: %s", srvsess_cn(s),
			  rc == -EMSGSIZE ? "--push option is too long" :
			  "control characters in an option");
		return rc;
	}
	s->push = srvsess_strdup(a->push);
	if (!s->push)
		return -ENOMEM;
	s->acc = *a;
	s->acc.push = s->push;
	k->st = CHAN_KS_PULL;
	/* 2.6 clients set IV_PROTO_REQUEST_PUSH: the reply goes out without a request. */
	if (s->push_requested || (s->client.peer.iv_proto & IV_PROTO_REQUEST_PUSH))
		srvsess_push_send(s, k, s->ch.now_ns);
	if (!s->ch.end)
		chan_send(&s->ch, k, s->ch.now_ns);
	return 0;
}

void srvsess_reject(struct srvsess *s, const char *reason)
{
	struct chan_key *k = s->ch.pri;
	char *msg = srvsess_msg_buf;
	int n;

	if (s->ch.end || k->st != CHAN_KS_AUTH)
		return;
	n = ctlmsg_build_auth_failed(msg, CTLMSG_MAX, reason);
	/* A reason the client would drop (control characters): none at all. */
	if (n < 0)
		n = ctlmsg_build_auth_failed(msg, CTLMSG_MAX, NULL);
	if (n < 0 || chan_write(k, msg, (size_t)n)) {
		log_warnx("[%s] TLS: cannot send AUTH_FAILED", srvsess_cn(s));
		srvsess_fail(s);
		return;
	}
	log_info("SENT CONTROL [%s]: '%s' (status=1)", srvsess_cn(s), msg);
	chan_end(&s->ch, CHAN_REJECTED);
	s->reject_deadline_ns = s->ch.now_ns + SRVSESS_REJECT_LINGER_NS;
	chan_send(&s->ch, k, s->ch.now_ns);
}

int srvsess_auth_pending(struct srvsess *s, unsigned int timeout_s, const char *extra)
{
	struct chan_key *k = s->ch.pri;
	unsigned int hw = s->ch.hand_window_s, max = MAX(s->o->reneg_sec / 2, hw);
	int64_t start = k->hand_deadline_ns - (int64_t)hw * SRVSESS_NS_PER_SEC;
	int64_t ran = (s->ch.now_ns - start) / SRVSESS_NS_PER_SEC;
	static char text[CTLMSG_MAX];	/* ctrl only */

	if (s->ch.end || k->st != CHAN_KS_AUTH)
		return -EAGAIN;
	if (snprintf(text, sizeof(text), "INFO_PRE,%s", extra) >= (int)sizeof(text) ||
	    ctlmsg_build(srvsess_msg_buf, sizeof(srvsess_msg_buf), text) < 0)
		return -EINVAL;
	timeout_s = MIN(timeout_s, ran < max ? max - (unsigned int)ran : 0);
	if (s->client.peer.iv_proto & IV_PROTO_AUTH_PENDING_KW)
		snprintf(text, sizeof(text), "AUTH_PENDING,timeout %u", timeout_s);
	else
		snprintf(text, sizeof(text), "AUTH_PENDING");
	if (!srvsess_text_write(k, text))
		return -EIO;
	log_info("SENT CONTROL [%s]: '%s' (status=1)", srvsess_cn(s), text);
	snprintf(text, sizeof(text), "INFO_PRE,%s", extra);
	if (!srvsess_text_write(k, text))
		return -EIO;
	log_info("SENT CONTROL [%s]: '%s' (status=1)", srvsess_cn(s), text);
	k->hand_deadline_ns = s->ch.now_ns + (int64_t)timeout_s * SRVSESS_NS_PER_SEC;
	chan_send(&s->ch, k, s->ch.now_ns);
	return 0;
}

bool srvsess_send_text(struct srvsess *s, const char *text, int64_t now_ns)
{
	struct chan_key *k = s->ch.pri;

	if (s->ch.end || k->st < CHAN_KS_AUTH || !srvsess_text_write(k, text))
		return false;
	log_info("SENT CONTROL [%s]: '%s' (status=1)", srvsess_cn(s), text);
	s->ch.now_ns = now_ns;
	chan_send(&s->ch, k, now_ns);
	return true;
}
