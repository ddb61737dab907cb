/*
 * session.c - owns the client control channel of one key_id
 * (openvpn-wire.md §15(a), §1-§9): hard reset and the server's answer, TLS
 * carried by the reliability layer, key-method 2, PUSH_REQUEST/PUSH_REPLY
 * (with push-continuation), AUTH_FAILED/RESTART/HALT, and the EKM export
 * of the data keys, and renegotiation (§10): a soft reset from either side
 * runs a fresh TLS session and key-method 2 on the next key_id; the old
 * key stays a lame duck (decrypt, late control packets) until tran-window
 * or the next renegotiation.
 *
 * Thread: ctrl only. Datagrams go out through the caller's io->send, so
 * this file knows nothing of the data plane.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../../core/log.h"
#include "../../crypto/kdf.h"
#include "../../crypto/tlswrap.h"
#include "../proto/ctlmsg.h"
#include "../proto/ctlpkt.h"
#include "../proto/km2.h"
#include "../config/options.h"
#include "../proto/reliable.h"
#include "session.h"
#include "../proto/tls.h"

#define NS_PER_SEC		1000000000LL
#define PUSH_FIRST_NS		(1 * NS_PER_SEC)	/* first PUSH_REQUEST after km2 */
#define PUSH_EVERY_NS		(5 * NS_PER_SEC)	/* then every 5 s until PUSH_REPLY */
#define SESSION_USER_MAX	512

struct session_stats {
	uint64_t rx_unwrap_errs;	/* HMAC/tag, replay, length */
	uint64_t rx_parse_errs;		/* malformed control packet */
	uint64_t rx_other_key;		/* key_id we do not run (renegotiation) */
	uint64_t rx_reliable_drops;	/* refused by the reliability layer */
	uint64_t tx_pkts;
	uint64_t tx_errs;
	uint64_t push_requests;
	uint64_t renegotiations;	/* completed */
};

/* One key state (key_id): its own reliability layer and TLS session. */
struct session_key {
	struct tls_conn *tls;
	struct reliable *rel;
	enum session_state st;		/* RESET_SENT .. ACTIVE */
	uint8_t key_id;
	int64_t hand_deadline_ns;	/* hand-window: give up negotiating */
	int64_t active_ns;		/* keys taken: reneg-sec runs from here */
	int64_t expire_ns;		/* lame duck: tran-window ends */
	/* Key-method-2 randoms of both sides, for the legacy PRF (§5.2); cleansed after use. */
	struct kdf_key_source cli_src;
	struct kdf_key_source srv_src;
};

struct session {
	struct options *o;
	struct session_io io;
	struct tls_ctx *tctx;
	struct tlswrap *wrap;
	struct session_key *pri;	/* the established (or first) key state */
	struct session_key *nxt;	/* renegotiating, or NULL */
	struct session_key *lame;	/* previous key until tran-window, or NULL */
	struct session_key kbuf[3];
	enum session_state state;	/* 0, or SESSION_RESTART/SESSION_FAILED */
	uint8_t retire_mask;		/* key_ids whose data keys to retire */
	int64_t now_ns;			/* of the current input/tick */
	uint8_t sid[SID_LEN];
	int64_t push_next_ns;		/* next PUSH_REQUEST (SESSION_PULL) */
	bool push_partial;		/* push-continuation 2 seen */
	bool is_v2;			/* tls-crypt-v2: reset V3, WKc appended */
	size_t wrap_conn;		/* the connection entry s->wrap was made for */
	bool next_remote;		/* the server's RESTART said [N] */
	bool wkc_resend;		/* server asked: next control packet is WKC_V1 */
	struct kdf_key_source src;	/* our key-method-2 randoms */
	char user[SESSION_USER_MAX];
	char pass[SESSION_USER_MAX];
	struct session_keys keys;
	struct session_stats stats;
	uint8_t plain[WIRE_MAX + 64];	/* unwrapped packet in / built packet out */
	uint8_t wire[WIRE_MAX + 64];	/* wrapped packet out */
	uint8_t stream[TLS_CHANNEL_BUF_SIZE];	/* reliable stream -> TLS; TLS -> reliable */
	char rec[TLS_RECORD_MAX + 1];	/* one TLS record of plaintext */
	char occ[KM2_OPTIONS_MAX];	/* our OCC string */
	char peer_info[1024];		/* our peer info */
};

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
static int session_wrap_create(struct session *s, char *err, size_t errlen)
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
		rc = tlswrap_create_crypt_v2_client(&s->wrap, text, true);
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
		return tlswrap_create_none(&s->wrap);
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
		rc = tlswrap_create_crypt(&s->wrap, key, false);
	else
		rc = tlswrap_create_auth(&s->wrap, key, ce->key_direction < 0 ?
					 TLSWRAP_DIR_BIDI : ce->key_direction, s->o->auth);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc)
		snprintf(err, errlen, "options: cannot set up control channel wrapping");
	return rc;
}

static int session_tls_create(struct session *s, char *err, size_t errlen)
{
	const struct options *o = s->o;
	struct tls_conf tc = {
		.is_server = false,
		.ca = { o->ca.data, o->ca.is_inline },
		.cert = { o->cert.data, o->cert.is_inline },
		.key = { o->key.data, o->key.is_inline },
		.extra_certs = { o->extra_certs.data, o->extra_certs.is_inline },
		.crl = { o->crl_verify.data, o->crl_verify.is_inline },
		.version_min = (enum tls_ver)o->tls_version_min,
		.version_max = (enum tls_ver)o->tls_version_max,
		.cipher_list = o->tls_cipher,
		.ciphersuites = o->tls_ciphersuites,
		.groups = o->tls_groups,
		.cert_profile = o->tls_cert_profile,
		.remote_cert_tls = (enum tls_cert_tls)o->remote_cert_tls,
		.verify_x509_name = o->verify_x509_name,
		.verify_x509_type = (enum tls_x509_type)o->verify_x509_type,
	};

	return tls_ctx_create(&s->tctx, &tc, err, errlen);
}

/* auth-user-pass from a file or inline block: username line, password line. */
static int session_user_pass_load(struct session *s, char *err, size_t errlen)
{
	char *owned, *nl;
	const char *text;

	if (!s->o->has_auth_user_pass)
		return 0;
	if (!s->o->auth_user_pass.data) {
		snprintf(err, errlen, "options: auth-user-pass without a file (stdin prompt) is "
			 "not supported");
		return -ENOTSUP;
	}
	text = session_file_text(&s->o->auth_user_pass, &owned, err, errlen);
	if (!text)
		return -EINVAL;
	snprintf(s->user, sizeof(s->user), "%s", text);
	nl = strchr(s->user, '\n');
	if (nl) {
		snprintf(s->pass, sizeof(s->pass), "%s", nl + 1);
		*nl = '\0';
	}
	s->user[strcspn(s->user, "\r")] = '\0';
	s->pass[strcspn(s->pass, "\r\n")] = '\0';
	if (owned) {
		OPENSSL_cleanse(owned, strlen(owned));
		free(owned);
	}
	return 0;
}

int session_create(struct session **out, struct options *o, const struct session_io *io,
		   char *err, size_t errlen)
{
	struct session *s = calloc(1, sizeof(*s));
	int rc;

	if (!s) {
		snprintf(err, errlen, "session: out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < 3; i++) {
		s->kbuf[i].rel = malloc(sizeof(*s->kbuf[i].rel));
		if (!s->kbuf[i].rel) {
			session_free(s);
			snprintf(err, errlen, "session: out of memory");
			return -ENOMEM;
		}
	}
	s->pri = &s->kbuf[0];
	s->o = o;
	s->io = *io;
	rc = session_wrap_create(s, err, errlen);
	rc = rc ?: session_tls_create(s, err, errlen);
	rc = rc ?: session_user_pass_load(s, err, errlen);
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
	for (int i = 0; i < 3; i++) {
		tls_conn_free(s->kbuf[i].tls);
		free(s->kbuf[i].rel);
	}
	if (s->tctx)
		tls_ctx_put(s->tctx);
	tlswrap_free(s->wrap);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

enum session_state session_state(const struct session *s)
{
	if (s->state >= SESSION_RESTART)
		return s->state;
	if (s->nxt && s->nxt->st == SESSION_KEYS_READY)
		return SESSION_KEYS_READY;
	return s->pri->st;
}

/* A key state that is not one of pri/nxt/lame (there are three buffers). */
static struct session_key *session_key_free_slot(struct session *s)
{
	for (int i = 0; i < 3; i++) {
		struct session_key *k = &s->kbuf[i];

		if (k != s->pri && k != s->nxt && k != s->lame)
			return k;
	}
	return NULL;
}

/* Drops key state @k's TLS session; it no longer takes packets. */
static void session_key_drop(struct session_key *k)
{
	tls_conn_free(k->tls);
	k->tls = NULL;
	k->st = SESSION_RESTART;
	OPENSSL_cleanse(&k->cli_src, sizeof(k->cli_src));
	OPENSSL_cleanse(&k->srv_src, sizeof(k->srv_src));
}

static void session_fail(struct session *s, struct session_key *k, enum session_state st)
{
	s->state = st;
	k->st = st;
	tls_conn_free(k->tls);
	k->tls = NULL;
}

/* Sends every packet key state @k's reliability layer has due. */
static void session_flush(struct session *s, struct session_key *k, int64_t now_ns)
{
	struct ctlpkt p;

	while (reliable_next_out(k->rel, now_ns, &p)) {
		int n = ctlpkt_build(&p, s->plain, sizeof(s->plain));
		int m;

		if (n < 0) {
			s->stats.tx_errs++;
			continue;
		}
		m = tlswrap_wrap(s->wrap, s->plain, (size_t)n, s->wire, sizeof(s->wire),
				 (uint32_t)time(NULL));
		if (m < 0 || s->io.send(s->io.arg, s->wire, (size_t)m)) {
			s->stats.tx_errs++;
			continue;
		}
		s->stats.tx_pkts++;
	}
}

/* Moves TLS ciphertext into reliable messages while the send window has room. */
static void session_tls_out(struct session *s, struct session_key *k)
{
	size_t room;

	/*
	 * tls-crypt-v2 with early negotiation: the first control packet after the
	 * server's reset is P_CONTROL_WKC_V1 and carries WKc again (§2.5), so its
	 * TLS payload must leave room for the key.
	 */
	if (s->wkc_resend && k->key_id == 0 && k->tls && tls_conn_pending(k->tls) &&
	    reliable_send_room(k->rel) > 0) {
		size_t max = reliable_max_payload(TLS_MTU_DEFAULT, false,
						  tlswrap_overhead(s->wrap, P_CONTROL_WKC_V1));
		size_t n = tls_conn_output(k->tls, s->stream, MIN(max, sizeof(s->stream)));

		if (n && reliable_send_msg(k->rel, P_CONTROL_WKC_V1, s->stream, n) == 0)
			s->wkc_resend = false;
	}
	while (k->tls && tls_conn_pending(k->tls) && (room = reliable_send_room(k->rel)) > 0) {
		size_t n = tls_conn_output(k->tls, s->stream,
					   room < sizeof(s->stream) ? room : sizeof(s->stream));

		if (!n)
			break;
		reliable_write(k->rel, P_CONTROL_V1, s->stream, n);
	}
}

/*
 * Early-negotiation TLVs in the server's reset (§2.5): u16 type, u16 length,
 * value; unknown types are skipped. True if EARLY_NEG_FLAGS has RESEND_WKC.
 */
static bool session_tlv_resend_wkc(const uint8_t *b, size_t len)
{
	while (len >= 4) {
		uint16_t type = load_be16(b), vlen = load_be16(b + 2);

		if ((size_t)vlen + 4 > len)
			return false;
		if (type == TLV_TYPE_EARLY_NEG_FLAGS && vlen == 2 &&
		    (load_be16(b + 4) & EARLY_NEG_FLAG_RESEND_WKC))
			return true;
		b += 4 + vlen;
		len -= 4 + (size_t)vlen;
	}
	return false;
}

/* Resets key state @k for @key_id and queues our reset (hard for 0, soft otherwise). */
static int session_key_begin(struct session *s, struct session_key *k, uint8_t key_id,
			     int64_t now_ns)
{
	size_t max = reliable_max_payload(TLS_MTU_DEFAULT, false,
					  tlswrap_overhead(s->wrap, P_CONTROL_V1));
	unsigned int tmo = s->o->tls_timeout ? s->o->tls_timeout : TLS_TIMEOUT_DEFAULT_SEC;
	unsigned int hw = s->o->hand_window ? s->o->hand_window : 60;

	tls_conn_free(k->tls);
	k->tls = NULL;
	k->key_id = key_id;
	k->active_ns = 0;
	k->expire_ns = 0;
	reliable_init(k->rel, key_id, s->sid, tmo * 1000, max);
	if (key_id)
		reliable_set_peer_sid(k->rel, s->pri->rel->peer_sid);
	k->st = SESSION_RESET_SENT;
	k->hand_deadline_ns = now_ns + (int64_t)hw * NS_PER_SEC;
	return reliable_send_msg(k->rel, key_id ? P_CONTROL_SOFT_RESET_V1 :
				 s->is_v2 ? P_CONTROL_HARD_RESET_CLIENT_V3 :
				 P_CONTROL_HARD_RESET_CLIENT_V2, NULL, 0);
}

/*
 * Another connection entry may wrap the control channel differently (its
 * own tls-auth, tls-crypt or tls-crypt-v2 key, or none): a new attempt on
 * it starts with its wrapping. All key states are dropped by then.
 */
static int session_wrap_follow(struct session *s)
{
	char err[256];
	int rc;

	if (s->wrap_conn == s->o->conn_cur)
		return 0;
	tlswrap_free(s->wrap);
	s->wrap = NULL;
	rc = session_wrap_create(s, err, sizeof(err));
	if (rc)
		log_warnx("%s", err);
	return rc;
}

int session_start(struct session *s, int64_t now_ns)
{
	int rc;

	for (int i = 0; i < 3; i++)
		session_key_drop(&s->kbuf[i]);
	rc = session_wrap_follow(s);
	if (rc)
		return rc;
	s->pri = &s->kbuf[0];
	s->nxt = NULL;
	s->lame = NULL;
	s->state = 0;
	s->retire_mask = 0;
	s->now_ns = now_ns;
	if (RAND_bytes(s->sid, SID_LEN) != 1)
		return -EIO;
	s->push_partial = false;
	s->wkc_resend = false;
	s->next_remote = false;
	rc = session_key_begin(s, s->pri, 0, now_ns);
	if (rc)
		return rc;
	log_info("TLS: Initial packet to server, sid=%02x%02x%02x%02x%02x%02x%02x%02x",
		 s->sid[0], s->sid[1], s->sid[2], s->sid[3], s->sid[4], s->sid[5], s->sid[6],
		 s->sid[7]);
	session_flush(s, s->pri, now_ns);
	return 0;
}

/* Our key-method-2 message, the first TLS application data (§4). */
static int session_km2_send(struct session *s, struct session_key *k)
{
	const struct options_conn *ce = &s->o->conns.v[s->o->conn_cur];
	struct km2_occ occ = {
		.tun_mtu = ce->tun_mtu,
		.occ_mtu = ce->occ_mtu,
		.tls_auth = tlswrap_mode_get(s->wrap) == TLSWRAP_TLS_AUTH,
		.comp = s->o->comp != OPT_COMP_NONE,
		.comp_v1_framing = s->o->comp == OPT_COMP_LZO_STUB || s->o->comp == OPT_COMP_LZO ||
				   s->o->comp == OPT_COMP_STUB || s->o->comp == OPT_COMP_LZ4,
		.key_direction = ce->key_direction == 0 ? KM2_KEYDIR_0 :
				 ce->key_direction == 1 ? KM2_KEYDIR_1 : KM2_KEYDIR_NONE,
	};
	/* No IV_PROTO_DYN_TLS_CRYPT: renegotiations keep the session's wrapping. */
	struct km2_peer_info pi = {
		.iv_proto = IV_PROTO_DATA_V2 | IV_PROTO_REQUEST_PUSH | IV_PROTO_CC_EXIT_NOTIFY |
			    (s->o->test_no_ekm ? 0 : IV_PROTO_TLS_KEY_EXPORT),
		.mtu = ce->tun_mtu_max,
		.ciphers = s->o->data_ciphers,
		/* LZ4 is announced only when we may compress; LZO is not implemented. */
		.comp = s->o->allow_compression == OPT_ALLOW_COMP_YES ? KM2_COMP_LZ4 : KM2_COMP_STUBS,
	};
	struct km2_msg m = { .username = s->user, .password = s->pass };
	uint8_t *buf = s->stream;	/* free now: TLS output is moved later */
	int n, rc;

	if (km2_occ_build(s->occ, sizeof(s->occ), &occ) < 0 ||
	    km2_peer_info_build(s->peer_info, sizeof(s->peer_info), &pi) < 0) {
		log_warnx("TLS: cannot build the key-method-2 options or peer info");
		return -EINVAL;
	}
	rc = km2_source_random(&s->src, true);
	if (rc)
		return rc;
	m.src = s->src;
	k->cli_src = s->src;
	m.options = s->occ;
	m.peer_info = s->peer_info;
	n = km2_build(buf, sizeof(s->stream), &m, true);
	if (n < 0) {
		log_warnx("TLS: cannot build the key-method-2 message");
		return n;
	}
	rc = tls_conn_write(k->tls, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(s->stream));
	return rc;
}

static void session_text_send(struct session_key *k, const char *what,
			      int (*build)(char *, size_t))
{
	char buf[64];
	int n = build(buf, sizeof(buf));

	if (n < 0 || !k->tls || tls_conn_write(k->tls, buf, (size_t)n))
		log_warnx("TLS: cannot send %s", what);
}

static void session_log_warnings(struct session *s)
{
	for (size_t i = 0; i < s->o->warnings.n; i++)
		log_warnx("%s", s->o->warnings.v[i]);
	options_warnings_clear(s->o);
}

/* Key state @k is negotiated (and the push applied): export its data keys (§5.1). */
static void session_keys_derive(struct session *s, struct session_key *k)
{
	struct options *o = s->o;
	enum dc_cipher c = o->cipher ? dc_cipher_from_name(o->cipher) : DC_CIPHER_NONE;
	int rc;

	if (c == DC_CIPHER_NONE) {
		log_warnx("OPTIONS ERROR: data channel cipher '%s' is not supported (AES-128-GCM, "
			  "AES-256-GCM, CHACHA20-POLY1305)", o->cipher ? o->cipher : "BF-CBC");
		session_fail(s, k, SESSION_FAILED);
		return;
	}
	if (o->protocol_flags & OPT_PROTO_TLS_EKM) {
		rc = tls_conn_export(k->tls, KDF_EKM_DATAKEYS_LABEL, KDF_EKM_DATAKEYS_LEN,
				     s->keys.key2);
	} else {
		/* No tls-ekm pushed: OpenVPN's own PRF over both key-method-2 messages. */
		rc = kdf_openvpn_prf(&k->cli_src, &k->srv_src, s->sid, s->pri->rel->peer_sid,
				     s->keys.key2);
	}
	OPENSSL_cleanse(&k->cli_src, sizeof(k->cli_src));
	OPENSSL_cleanse(&k->srv_src, sizeof(k->srv_src));
	if (rc) {
		log_warnx("TLS: cannot derive the data channel keys");
		session_fail(s, k, SESSION_RESTART);
		return;
	}
	s->keys.key_id = k->key_id;
	s->keys.cipher = c;
	s->keys.tx_peer_id = o->has_peer_id ? o->peer_id : PEER_ID_NONE;
	s->keys.is_reneg = k != s->pri;
	log_info("Data Channel: cipher '%s', peer-id: %d, key derivation: %s, key_id %u",
		 dc_cipher_name(c), o->has_peer_id ? (int)o->peer_id : -1,
		 o->protocol_flags & OPT_PROTO_TLS_EKM ? "tls-ekm" : "openvpn-prf", k->key_id);
	k->st = SESSION_KEYS_READY;
}

static void session_push_reply(struct session *s, struct session_key *k,
			       const struct ctlmsg *m)
{
	char err[256];
	int cont = 0;

	if (k != s->pri || k->st != SESSION_PULL) {
		log_debug("PUSH: ignoring an extra PUSH_REPLY");
		return;
	}
	log_info("PUSH: Received control message: '%s'", m->text);
	if (options_apply_push(s->o, m->text, m->len, &cont, err, sizeof(err))) {
		session_log_warnings(s);
		log_warnx("%s", err);
		log_warnx("OPTIONS ERROR: failed to import the pushed options, exiting");
		session_fail(s, k, SESSION_FAILED);
		return;
	}
	session_log_warnings(s);
	s->push_partial = cont == 2;
	if (!s->push_partial)
		session_keys_derive(s, k);
}

static void session_ctlmsg(struct session *s, struct session_key *k, const struct ctlmsg *m)
{
	switch (m->type) {
	case CTLMSG_PUSH_REPLY:
		session_push_reply(s, k, m);
		break;
	case CTLMSG_AUTH_FAILED:
		log_warnx("AUTH: Received control message: %s", m->text);
		log_warnx("SIGTERM[soft,auth-failure] received, process exiting");
		session_fail(s, k, SESSION_FAILED);
		break;
	case CTLMSG_HALT:
		log_warnx("Received control message: %s: server asked us to halt", m->text);
		session_fail(s, k, SESSION_FAILED);
		break;
	case CTLMSG_RESTART:
		log_warnx("Received control message: %s: server-pushed connection reset",
			  m->text);
		s->next_remote = m->next_remote;
		session_fail(s, k, SESSION_RESTART);
		break;
	case CTLMSG_EXIT:
		log_warnx("Received control message: EXIT: the server is shutting down");
		session_fail(s, k, SESSION_RESTART);
		break;
	case CTLMSG_INFO:
	case CTLMSG_INFO_PRE:
		log_info("Received control message: %s", m->text);
		break;
	case CTLMSG_AUTH_PENDING:
		log_info("Received control message: %s (auth pending; waiting)", m->text);
		break;
	case CTLMSG_INVALID:
		log_debug("TLS: dropped a control message with control characters");
		break;
	default:
		log_warnx("WARNING: Received unknown control message: %s", m->text);
		break;
	}
}

/* One TLS record of application data from the server on key state @k. */
static void session_record(struct session *s, struct session_key *k, size_t n)
{
	struct ctlmsg_iter it;
	struct ctlmsg m;

	if (k->st == SESSION_KM2) {
		struct km2_msg km;
		const char *why = NULL;

		if (km2_parse(&km, (const uint8_t *)s->rec, n, false, &why)) {
			log_warnx("TLS Error: bad key-method-2 message from the server: %s",
				  why ? why : "malformed");
			session_fail(s, k, SESSION_RESTART);
			return;
		}
		log_debug("TLS: server options '%s'", km.options);
		k->srv_src = km.src;
		OPENSSL_cleanse(&km.src, sizeof(km.src));
		/* A renegotiation has no push: the keys follow the first one's options. */
		if (k == s->pri)
			k->st = SESSION_PULL;
		else
			session_keys_derive(s, k);
		return;
	}
	ctlmsg_iter_init(&it, s->rec, n);
	while (!s->state && k->st >= SESSION_PULL && k->st <= SESSION_ACTIVE &&
	       ctlmsg_next(&it, &m))
		session_ctlmsg(s, k, &m);
}

static void session_tls_handshake(struct session *s, struct session_key *k, int64_t now_ns)
{
	char desc[256];
	int rc = tls_conn_handshake(k->tls);

	if (rc == TLS_HS_AGAIN)
		return;
	if (rc < 0) {
		log_warnx("%s", tls_conn_error(k->tls));
		log_warnx("TLS Error: TLS handshake failed%s", k->key_id ?
			  " (renegotiation)" : "");
		/* Flush the alert before giving up. */
		session_tls_out(s, k);
		session_flush(s, k, now_ns);
		session_fail(s, k, SESSION_RESTART);
		return;
	}
	tls_conn_describe(k->tls, desc, sizeof(desc));
	log_info("Control Channel: %s", desc);
	log_info("[%s] Peer Connection Initiated (key_id %u)", tls_conn_peer_cn(k->tls) ?
		 tls_conn_peer_cn(k->tls) : "?", k->key_id);
	if (session_km2_send(s, k)) {
		session_fail(s, k, SESSION_RESTART);
		return;
	}
	k->st = SESSION_KM2;
	if (k == s->pri)
		s->push_next_ns = now_ns + PUSH_FIRST_NS;
}

/* Runs TLS of key state @k on whatever arrived, then sends what it produced. */
static void session_pump(struct session *s, struct session_key *k, int64_t now_ns)
{
	size_t n;

	while (k->tls && (n = reliable_read(k->rel, s->stream, sizeof(s->stream))) > 0) {
		if (tls_conn_input(k->tls, s->stream, n)) {
			log_warnx("TLS Error: too much unread TLS data from the server");
			session_fail(s, k, SESSION_RESTART);
			return;
		}
	}
	if (k->st == SESSION_TLS)
		session_tls_handshake(s, k, now_ns);
	while (k->tls && !s->state && k->st >= SESSION_KM2 && k->st <= SESSION_ACTIVE) {
		ssize_t r = tls_conn_read(k->tls, s->rec, sizeof(s->rec) - 1);

		if (r == 0)
			break;
		if (r < 0) {
			/* A lame duck's TLS session may end; its data keys live on. */
			if (k == s->lame) {
				tls_conn_free(k->tls);
				k->tls = NULL;
				break;
			}
			log_warnx("TLS Error: %s", r == -ECONNRESET ? "server closed the TLS "
				  "session" : tls_conn_error(k->tls));
			session_fail(s, k, SESSION_RESTART);
			return;
		}
		s->rec[r] = '\0';
		session_record(s, k, (size_t)r);
	}
	session_tls_out(s, k);
	session_flush(s, k, now_ns);
}

static uint8_t session_key_id_next(uint8_t key_id)
{
	return key_id >= KEY_ID_COUNT - 1 ? 1 : key_id + 1;
}

/* Starts renegotiating the successor of the primary key_id (§10). */
static int session_reneg_begin(struct session *s, int64_t now_ns, bool ours)
{
	struct session_key *k = session_key_free_slot(s);
	uint8_t kid = session_key_id_next(s->pri->key_id);

	if (!k || s->nxt || s->pri->st != SESSION_ACTIVE)
		return -EBUSY;
	if (session_key_begin(s, k, kid, now_ns)) {
		log_warnx("TLS: cannot queue the soft reset for key_id %u", kid);
		return -ENOBUFS;
	}
	s->nxt = k;
	if (ours)
		log_info("TLS: soft reset sec=%lld/%u key_id=%u",
			 (long long)((now_ns - s->pri->active_ns) / NS_PER_SEC), s->o->reneg_sec,
			 kid);
	else
		log_info("TLS: soft reset requested by the server, key_id=%u", kid);
	return 0;
}

/* The key state a packet with @key_id belongs to, or NULL. */
static struct session_key *session_key_find(struct session *s, uint8_t key_id)
{
	if (s->pri->st <= SESSION_ACTIVE && s->pri->key_id == key_id)
		return s->pri;
	if (s->nxt && s->nxt->key_id == key_id)
		return s->nxt;
	if (s->lame && s->lame->key_id == key_id)
		return s->lame;
	return NULL;
}

/* The peer's reset arrived on a key in RESET_SENT: start the TLS client. */
static void session_key_tls_start(struct session *s, struct session_key *k)
{
	if (tls_conn_create(&k->tls, s->tctx)) {
		session_fail(s, k, SESSION_FAILED);
		return;
	}
	if (!k->key_id)
		log_info("TLS: Initial packet from server, starting TLS");
	else
		log_info("TLS: peer soft reset on key_id %u, starting TLS", k->key_id);
	k->st = SESSION_TLS;
}

void session_input(struct session *s, const uint8_t *buf, size_t len, int64_t now_ns)
{
	struct session_key *k;
	struct ctlpkt p;
	uint8_t reset_op;
	int n, rc;

	if (s->state >= SESSION_RESTART)
		return;
	s->now_ns = now_ns;
	n = tlswrap_unwrap(s->wrap, buf, len, s->plain, sizeof(s->plain), now_ns);
	if (n < 0) {
		s->stats.rx_unwrap_errs++;
		log_debug("control packet dropped: %s", tlswrap_strerror(n));
		return;
	}
	if (ctlpkt_parse(&p, s->plain, (size_t)n)) {
		s->stats.rx_parse_errs++;
		return;
	}
	k = session_key_find(s, p.key_id);
	/* Server-initiated renegotiation: only the successor of an established key. */
	if (!k && p.opcode == P_CONTROL_SOFT_RESET_V1 && !s->nxt &&
	    p.key_id == session_key_id_next(s->pri->key_id) &&
	    !session_reneg_begin(s, now_ns, false))
		k = s->nxt;
	if (!k) {
		s->stats.rx_other_key++;
		return;
	}
	reset_op = k->key_id ? P_CONTROL_SOFT_RESET_V1 : P_CONTROL_HARD_RESET_SERVER_V2;
	/* Until the server's reset, nothing else may set the peer's session id. */
	if (k->st == SESSION_RESET_SENT && p.opcode != reset_op) {
		s->stats.rx_parse_errs++;
		return;
	}
	rc = reliable_input(k->rel, &p);
	if (rc < 0) {
		s->stats.rx_reliable_drops++;
		return;
	}
	if (rc == RELIABLE_IN_NEW && p.opcode == reset_op && k->st == SESSION_RESET_SENT) {
		if (p.opcode == P_CONTROL_HARD_RESET_SERVER_V2 && s->is_v2)
			s->wkc_resend = session_tlv_resend_wkc(p.payload, p.payload_len);
		session_key_tls_start(s, k);
		if (s->state)
			return;
	}
	session_pump(s, k, now_ns);
}

/* Lame duck past tran-window, reneg-sec due, renegotiation past hand-window. */
static void session_reneg_tick(struct session *s, int64_t now_ns)
{
	if (s->lame && now_ns >= s->lame->expire_ns) {
		log_info("TLS: tls_process: killed expiring key (key_id %u)", s->lame->key_id);
		s->retire_mask |= 1u << s->lame->key_id;
		session_key_drop(s->lame);
		s->lame = NULL;
	}
	if (s->nxt && s->nxt->st < SESSION_KEYS_READY && now_ns >= s->nxt->hand_deadline_ns) {
		log_warnx("TLS Error: TLS key negotiation failed to occur within %u seconds "
			  "(renegotiation of key_id %u)",
			  s->o->hand_window ? s->o->hand_window : 60, s->nxt->key_id);
		session_fail(s, s->nxt, SESSION_RESTART);
		return;
	}
	if (!s->nxt && s->o->reneg_sec && s->pri->st == SESSION_ACTIVE &&
	    now_ns >= s->pri->active_ns + (int64_t)s->o->reneg_sec * NS_PER_SEC)
		(void)session_reneg_begin(s, now_ns, true);
}

void session_tick(struct session *s, int64_t now_ns)
{
	struct session_key *k = s->pri;

	if (s->state >= SESSION_RESTART)
		return;
	s->now_ns = now_ns;
	if (k->st < SESSION_KEYS_READY && now_ns >= k->hand_deadline_ns) {
		log_warnx("TLS Error: TLS key negotiation failed to occur within %u seconds "
			  "(check your network connectivity)",
			  s->o->hand_window ? s->o->hand_window : 60);
		log_warnx("TLS Error: TLS handshake failed%s", k->st == SESSION_RESET_SENT ?
			  ": no response from server" : "");
		session_fail(s, k, SESSION_RESTART);
		return;
	}
	if (k->st == SESSION_PULL && !s->push_partial && now_ns >= s->push_next_ns) {
		session_text_send(k, "PUSH_REQUEST", ctlmsg_build_push_request);
		s->stats.push_requests++;
		log_info("SENT CONTROL: 'PUSH_REQUEST' (status=1)");
		s->push_next_ns = now_ns + PUSH_EVERY_NS;
	}
	session_reneg_tick(s, now_ns);
	if (s->state)
		return;
	session_pump(s, k, now_ns);
	if (s->nxt && !s->state)
		session_pump(s, s->nxt, now_ns);
	if (s->lame && !s->state)
		session_pump(s, s->lame, now_ns);
}

static int64_t session_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t session_next_timeout(const struct session *s, int64_t now_ns)
{
	const struct session_key *k = s->pri;
	int64_t t;

	if (s->state >= SESSION_RESTART)
		return INT64_MAX;
	t = reliable_next_timeout(k->rel, now_ns);
	if (k->st < SESSION_KEYS_READY)
		t = session_min(t, k->hand_deadline_ns);
	if (k->st == SESSION_PULL)
		t = session_min(t, s->push_next_ns);
	if (s->nxt) {
		t = session_min(t, reliable_next_timeout(s->nxt->rel, now_ns));
		if (s->nxt->st < SESSION_KEYS_READY)
			t = session_min(t, s->nxt->hand_deadline_ns);
	} else if (s->o->reneg_sec && k->st == SESSION_ACTIVE) {
		t = session_min(t, k->active_ns + (int64_t)s->o->reneg_sec * NS_PER_SEC);
	}
	if (s->lame) {
		t = session_min(t, reliable_next_timeout(s->lame->rel, now_ns));
		t = session_min(t, s->lame->expire_ns);
	}
	return t;
}

int session_take_keys(struct session *s, struct session_keys *k)
{
	unsigned int tw = s->o->tran_window ? s->o->tran_window : 3600;

	if (session_state(s) != SESSION_KEYS_READY)
		return -EAGAIN;
	*k = s->keys;
	OPENSSL_cleanse(s->keys.key2, sizeof(s->keys.key2));
	if (s->nxt && s->nxt->st == SESSION_KEYS_READY) {
		/* The previous lame duck is replaced; the old primary becomes one. */
		if (s->lame) {
			log_info("TLS: tls_process: killed expiring key (key_id %u)",
				 s->lame->key_id);
			s->retire_mask |= 1u << s->lame->key_id;
			session_key_drop(s->lame);
		}
		s->lame = s->pri;
		s->lame->expire_ns = s->now_ns + (int64_t)tw * NS_PER_SEC;
		s->pri = s->nxt;
		s->nxt = NULL;
		s->stats.renegotiations++;
	}
	s->pri->st = SESSION_ACTIVE;
	s->pri->active_ns = s->now_ns;
	return 0;
}

bool session_take_next_remote(struct session *s)
{
	bool n = s->next_remote;

	s->next_remote = false;
	return n;
}

unsigned int session_take_retired(struct session *s)
{
	unsigned int m = s->retire_mask;

	s->retire_mask = 0;
	return m;
}

bool session_send_exit(struct session *s, int64_t now_ns)
{
	struct session_key *k = s->pri;

	if (s->state || k->st != SESSION_ACTIVE || !k->tls ||
	    !(s->o->protocol_flags & OPT_PROTO_CC_EXIT))
		return false;
	session_text_send(k, "EXIT", ctlmsg_build_exit);
	log_info("SENT CONTROL: 'EXIT'");
	session_tls_out(s, k);
	session_flush(s, k, now_ns);
	return true;
}

bool session_idle(const struct session *s)
{
	return reliable_unacked(s->pri->rel) == 0;
}

void session_write_stats(const struct session *s, FILE *f)
{
	const struct reliable_stats *r = &s->pri->rel->stats;

	fprintf(f, "ctrl.rx_unwrap_errs=%llu\nctrl.rx_parse_errs=%llu\nctrl.rx_other_key=%llu\n"
		"ctrl.rx_reliable_drops=%llu\nctrl.tx_pkts=%llu\nctrl.tx_errs=%llu\n"
		"ctrl.push_requests=%llu\nctrl.rel_tx_retransmits=%llu\nctrl.rel_rx_dups=%llu\n"
		"ctrl.renegotiations=%llu\nctrl.key_id=%u\n",
		(unsigned long long)s->stats.rx_unwrap_errs,
		(unsigned long long)s->stats.rx_parse_errs,
		(unsigned long long)s->stats.rx_other_key,
		(unsigned long long)s->stats.rx_reliable_drops,
		(unsigned long long)s->stats.tx_pkts, (unsigned long long)s->stats.tx_errs,
		(unsigned long long)s->stats.push_requests,
		(unsigned long long)r->tx_retransmits, (unsigned long long)r->rx_dups,
		(unsigned long long)s->stats.renegotiations, s->pri->key_id);
}
