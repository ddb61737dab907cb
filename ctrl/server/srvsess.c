/*
 * srvsess.c - owns the server's control channel for one client
 * (openvpn-wire.md §15(b), §1-§3, §10): the session's own wrapping (replay
 * state starts here, one replay id after the stateless reset), the key
 * states with their reliability layer and TLS server session, timers
 * (hand-window, retransmissions, reneg-sec, tran-window), renegotiation
 * from either side with a lame duck, and the session's life cycle.
 * srvsess_msg.c owns what is said over TLS (key-method 2, push,
 * accept/reject, data keys); srvsess_int.h is what both share.
 *
 * Thread: ctrl only. Every session shares one set of scratch buffers
 * (there is one ctrl thread, and no call re-enters another session).
 * Datagrams go out through the caller's io->send.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../../core/log.h"
#include "../../crypto/tlswrap.h"
#include "../proto/ctlpkt.h"
#include "../proto/km2.h"
#include "../config/options.h"
#include "srvsess_int.h"

struct srvsess_scratch srvsess_scratch;

/* ---- key states ---- */

/* A key state that is not pri/nxt/lame, with its reliability layer allocated. */
static struct srvsess_key *srvsess_key_slot(struct srvsess *s)
{
	for (int i = 0; i < 3; i++) {
		struct srvsess_key *k = &s->kbuf[i];

		if (k == s->pri || k == s->nxt || k == s->lame)
			continue;
		if (!k->rel)
			k->rel = malloc(sizeof(*k->rel));
		return k->rel ? k : NULL;
	}
	return NULL;
}

/* Frees key state @k's TLS session and reliability layer. */
static void srvsess_key_drop(struct srvsess_key *k)
{
	tls_conn_free(k->tls);
	k->tls = NULL;
	free(k->rel);
	k->rel = NULL;
	k->st = SRVSESS_KS_DEAD;
	OPENSSL_cleanse(&k->cli_src, sizeof(k->cli_src));
	OPENSSL_cleanse(&k->srv_src, sizeof(k->srv_src));
}

/* The session is over (the reason was logged); nothing more is sent. */
void srvsess_fail(struct srvsess *s)
{
	s->state = SRVSESS_FAILED;
	for (int i = 0; i < 3; i++) {
		tls_conn_free(s->kbuf[i].tls);
		s->kbuf[i].tls = NULL;
	}
}

/* Resets key state @k for @key_id: fresh reliability layer, hand-window from now. */
static void srvsess_key_init(struct srvsess *s, struct srvsess_key *k, uint8_t key_id,
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
	reliable_set_peer_sid(k->rel, s->peer_sid);
	k->hand_deadline_ns = now_ns + (int64_t)hw * SRVSESS_NS_PER_SEC;
}

static int srvsess_key_tls_start(struct srvsess *s, struct srvsess_key *k)
{
	if (tls_conn_create(&k->tls, s->cfg->tctx)) {
		log_warnx("TLS: out of memory for the TLS session of key_id %u", k->key_id);
		return -ENOMEM;
	}
	k->st = SRVSESS_KS_TLS;
	return 0;
}

/* ---- output ---- */

/*
 * The wrap's replay timestamp. Same clock as the stateless reply's
 * (ctrl/server/server.c passes CLOCK_REALTIME to firstpkt): time() reads the coarse
 * clock, which can still show the previous second just after the reply was
 * stamped with the new one, and the client then drops our packets as replays.
 */
static uint32_t srvsess_wall_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_sec;
}

/* Sends every packet key state @k's reliability layer has due. */
void srvsess_flush(struct srvsess *s, struct srvsess_key *k, int64_t now_ns)
{
	struct ctlpkt p;

	while (reliable_next_out(k->rel, now_ns, &p)) {
		int n = ctlpkt_build(&p, srvsess_scratch.plain, sizeof(srvsess_scratch.plain));
		int m;

		if (n < 0) {
			s->stats.tx_errs++;
			continue;
		}
		m = tlswrap_wrap(s->wrap, srvsess_scratch.plain, (size_t)n, srvsess_scratch.wire,
				 sizeof(srvsess_scratch.wire), srvsess_wall_sec());
		if (m < 0 || s->io.send(s->io.arg, srvsess_scratch.wire, (size_t)m)) {
			s->stats.tx_errs++;
			continue;
		}
		s->stats.tx_pkts++;
	}
}

/* Moves TLS ciphertext into reliable messages while the send window has room. */
void srvsess_tls_out(struct srvsess_key *k)
{
	size_t room;

	while (k->tls && tls_conn_pending(k->tls) && (room = reliable_send_room(k->rel)) > 0) {
		size_t n = tls_conn_output(k->tls, srvsess_scratch.stream,
					   MIN(room, sizeof(srvsess_scratch.stream)));

		if (!n)
			break;
		reliable_write(k->rel, P_CONTROL_V1, srvsess_scratch.stream, n);
	}
}

/* ---- TLS ---- */

static void srvsess_tls_handshake(struct srvsess *s, struct srvsess_key *k, int64_t now_ns)
{
	char desc[256];
	int rc = tls_conn_handshake(k->tls);

	if (rc == TLS_HS_AGAIN)
		return;
	if (rc < 0) {
		log_warnx("%s", tls_conn_error(k->tls));
		log_warnx("TLS Error: TLS handshake failed%s", k->key_id ? " (renegotiation)" : "");
		/* Flush the alert before giving up. */
		srvsess_tls_out(k);
		srvsess_flush(s, k, now_ns);
		srvsess_fail(s);
		return;
	}
	tls_conn_describe(k->tls, desc, sizeof(desc));
	log_info("Control Channel: %s", desc);
	k->st = SRVSESS_KS_KM2;
}

/* Runs TLS of key state @k on whatever arrived, then sends what it produced. */
static void srvsess_pump(struct srvsess *s, struct srvsess_key *k, int64_t now_ns)
{
	uint8_t *stream = srvsess_scratch.stream;
	char *rec = srvsess_scratch.rec;
	size_t n;

	while (k->tls && (n = reliable_read(k->rel, stream, TLS_CHANNEL_BUF_SIZE)) > 0) {
		if (tls_conn_input(k->tls, stream, n)) {
			log_warnx("TLS Error: too much unread TLS data from the client");
			srvsess_fail(s);
			return;
		}
	}
	if (k->st == SRVSESS_KS_TLS)
		srvsess_tls_handshake(s, k, now_ns);
	while (k->tls && s->state < SRVSESS_EXITED && k->st >= SRVSESS_KS_KM2) {
		ssize_t r = tls_conn_read(k->tls, rec, TLS_RECORD_MAX);

		if (r == 0)
			break;
		if (r < 0) {
			/* A lame duck's TLS session may end; its data keys live on. */
			if (k == s->lame) {
				tls_conn_free(k->tls);
				k->tls = NULL;
				break;
			}
			log_warnx("[%s] TLS Error: %s", srvsess_cn(s), r == -ECONNRESET ?
				  "client closed the TLS session" : tls_conn_error(k->tls));
			srvsess_fail(s);
			return;
		}
		rec[r] = '\0';
		srvsess_record(s, k, (size_t)r, now_ns);
	}
	if (s->state == SRVSESS_EXITED) {
		/* Acknowledge the EXIT before the caller reaps us, as stock does. */
		srvsess_flush(s, k, now_ns);
		return;
	}
	if (s->state > SRVSESS_EXITED)
		return;
	srvsess_tls_out(k);
	srvsess_flush(s, k, now_ns);
}

/* ---- renegotiation ---- */

static uint8_t srvsess_key_id_next(uint8_t key_id)
{
	return key_id >= KEY_ID_COUNT - 1 ? 1 : key_id + 1;
}

/* Starts renegotiating the successor of the primary key_id (§10). */
static int srvsess_reneg_begin(struct srvsess *s, int64_t now_ns, bool ours)
{
	struct srvsess_key *k;
	uint8_t kid = srvsess_key_id_next(s->pri->key_id);

	if (s->nxt || s->pri->st != SRVSESS_KS_ACTIVE || s->state)
		return -EBUSY;
	k = srvsess_key_slot(s);
	if (!k)
		return -ENOMEM;
	srvsess_key_init(s, k, kid, now_ns);
	if (reliable_send_msg(k->rel, P_CONTROL_SOFT_RESET_V1, NULL, 0)) {
		log_warnx("TLS: cannot queue the soft reset for key_id %u", kid);
		return -ENOBUFS;
	}
	k->st = SRVSESS_KS_RESET_SENT;
	s->nxt = k;
	if (ours)
		log_info("[%s] TLS: soft reset sec=%lld/%lld key_id=%u", srvsess_cn(s),
			 (long long)((now_ns - s->pri->active_ns) / SRVSESS_NS_PER_SEC),
			 (long long)(s->reneg_ns / SRVSESS_NS_PER_SEC), kid);
	else
		log_info("[%s] TLS: soft reset requested by the client, key_id=%u",
			 srvsess_cn(s), kid);
	return 0;
}

/* The key state a packet with @key_id belongs to, or NULL. */
static struct srvsess_key *srvsess_key_find(struct srvsess *s, uint8_t key_id)
{
	if (s->pri->st != SRVSESS_KS_DEAD && s->pri->key_id == key_id)
		return s->pri;
	if (s->nxt && s->nxt->key_id == key_id)
		return s->nxt;
	if (s->lame && s->lame->key_id == key_id)
		return s->lame;
	return NULL;
}

/* Lame duck past tran-window, renegotiation past hand-window, reneg-sec due. */
static void srvsess_reneg_tick(struct srvsess *s, int64_t now_ns)
{
	if (s->lame && now_ns >= s->lame->expire_ns) {
		log_info("[%s] TLS: tls_process: killed expiring key (key_id %u)", srvsess_cn(s),
			 s->lame->key_id);
		s->retire_mask |= 1u << s->lame->key_id;
		srvsess_key_drop(s->lame);
		s->lame = NULL;
	}
	if (s->nxt && s->nxt->st < SRVSESS_KS_KEYS_READY && now_ns >= s->nxt->hand_deadline_ns) {
		log_warnx("[%s] TLS Error: TLS key negotiation failed to occur within %u seconds "
			  "(renegotiation of key_id %u)", srvsess_cn(s),
			  s->o->hand_window ? s->o->hand_window : 60, s->nxt->key_id);
		srvsess_fail(s);
		return;
	}
	if (!s->nxt && s->reneg_ns && s->pri->st == SRVSESS_KS_ACTIVE &&
	    now_ns >= s->pri->active_ns + s->reneg_ns)
		(void)srvsess_reneg_begin(s, now_ns, true);
}

/* reneg-sec less 2.6's per-client jitter: up to 10%, or down to the given minimum. */
static int64_t srvsess_reneg_interval(const struct options *o)
{
	unsigned int sec = o->reneg_sec, span, r = 0;

	if (!sec)
		return 0;
	if (o->reneg_sec_min >= 0)
		span = sec > (unsigned int)o->reneg_sec_min ?
		       sec - (unsigned int)o->reneg_sec_min : 1;
	else
		span = sec / 10 ? sec / 10 : 1;
	if (span > 1 && RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	return (int64_t)(sec - r % span) * SRVSESS_NS_PER_SEC;
}

/* ---- public ---- */

/* What a client may send once its session exists (§1.2); resets only as duplicates. */
static bool srvsess_opcode_from_client(uint8_t opcode)
{
	switch (opcode) {
	case P_CONTROL_HARD_RESET_CLIENT_V2:
	case P_CONTROL_HARD_RESET_CLIENT_V3:
	case P_CONTROL_SOFT_RESET_V1:
	case P_CONTROL_V1:
	case P_CONTROL_WKC_V1:
	case P_ACK_V1:
		return true;
	default:
		return false;
	}
}

static int srvsess_wrap_create(struct srvsess *s, const struct firstpkt_result *fr)
{
	const struct srvsess_cfg *cfg = s->cfg;
	uint8_t plain[CTL_HDR_LEN + 1] = { 0 }, out[CTL_HDR_LEN + 1 + 128];
	int rc;

	switch (cfg->wrap) {
	case FIRSTPKT_WRAP_NONE:
		return tlswrap_create_none(&s->wrap);
	case FIRSTPKT_WRAP_TLS_AUTH:
		rc = tlswrap_create_auth(&s->wrap, cfg->wrap_key, cfg->auth_direction,
					 cfg->auth_digest);
		break;
	case FIRSTPKT_WRAP_TLS_CRYPT:
		rc = tlswrap_create_crypt(&s->wrap, cfg->wrap_key, true);
		break;
	case FIRSTPKT_WRAP_TLS_CRYPT_V2:
		if (!fr->has_client_key)
			return -EINVAL;
		rc = tlswrap_create_crypt(&s->wrap, fr->client.kc, true);
		break;
	default:
		return -EINVAL;
	}
	if (rc)
		return rc;
	/* The stateless reset used replay id 1: our first packet must carry 2 (§2.7). */
	rc = tlswrap_wrap(s->wrap, plain, sizeof(plain), out, sizeof(out), srvsess_wall_sec());
	return rc < 0 ? rc : 0;
}

int srvsess_create(struct srvsess **out, const struct srvsess_cfg *cfg,
		   const struct session_io *io, const struct firstpkt_result *fr,
		   const uint8_t *dgram, size_t len, int64_t now_ns)
{
	struct srvsess *s;
	int rc;

	*out = NULL;
	if (fr->verdict != FIRSTPKT_CREATE || !fr->pkt.n_acks || !cfg->o || !cfg->tctx)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->o = cfg->o;
	s->io = *io;
	s->now_ns = now_ns;
	memcpy(s->sid, fr->pkt.peer_sid, SID_LEN);
	memcpy(s->peer_sid, fr->pkt.sid, SID_LEN);
	s->reneg_ns = srvsess_reneg_interval(s->o);
	s->client.common_name = s->client.username = s->client.password = "";
	s->client.peer_info = s->client.options = "";
	rc = srvsess_wrap_create(s, fr);
	if (rc)
		goto fail;
	s->pri = srvsess_key_slot(s);
	if (!s->pri) {
		rc = -ENOMEM;
		goto fail;
	}
	srvsess_key_init(s, s->pri, 0, now_ns);
	reliable_skip_reset(s->pri->rel);
	rc = srvsess_key_tls_start(s, s->pri);
	if (rc)
		goto fail;
	srvsess_input(s, dgram, len, now_ns);
	*out = s;
	return 0;
fail:
	srvsess_free(s);
	return rc;
}

void srvsess_free(struct srvsess *s)
{
	if (!s)
		return;
	for (int i = 0; i < 3; i++)
		srvsess_key_drop(&s->kbuf[i]);
	tlswrap_free(s->wrap);
	if (s->password)
		OPENSSL_cleanse(s->password, strlen(s->password));
	free(s->cn);
	free(s->username);
	free(s->password);
	free(s->peer_info);
	free(s->options);
	free(s->push);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

enum srvsess_state srvsess_state(const struct srvsess *s)
{
	static const enum srvsess_state map[] = {
		[SRVSESS_KS_DEAD] = SRVSESS_FAILED,
		[SRVSESS_KS_RESET_SENT] = SRVSESS_TLS,
		[SRVSESS_KS_TLS] = SRVSESS_TLS,
		[SRVSESS_KS_KM2] = SRVSESS_TLS,
		[SRVSESS_KS_AUTH] = SRVSESS_AUTH,
		[SRVSESS_KS_PUSH] = SRVSESS_PUSH,
		[SRVSESS_KS_KEYS_READY] = SRVSESS_KEYS_READY,
		[SRVSESS_KS_ACTIVE] = SRVSESS_ACTIVE,
	};

	if (s->state)
		return s->state;
	if (s->nxt && s->nxt->st == SRVSESS_KS_KEYS_READY)
		return SRVSESS_KEYS_READY;
	return map[s->pri->st];
}

const struct srvsess_client *srvsess_client(const struct srvsess *s)
{
	return &s->client;
}

/* REJECTED ends once AUTH_FAILED is acknowledged, or after SRVSESS_REJECT_LINGER_NS. */
static void srvsess_reject_check(struct srvsess *s, int64_t now_ns)
{
	if (s->state != SRVSESS_REJECTED)
		return;
	if (srvsess_idle(s) || now_ns >= s->reject_deadline_ns) {
		log_info("[%s] client rejected: AUTH_FAILED %s", srvsess_cn(s),
			 srvsess_idle(s) ? "delivered" : "not acknowledged");
		srvsess_fail(s);
	}
}

void srvsess_input(struct srvsess *s, const uint8_t *buf, size_t len, int64_t now_ns)
{
	uint8_t *plain = srvsess_scratch.plain;
	struct srvsess_key *k;
	struct ctlpkt p;
	int n, rc;

	if (s->state >= SRVSESS_EXITED)
		return;
	s->now_ns = now_ns;
	n = tlswrap_unwrap(s->wrap, buf, len, plain, sizeof(srvsess_scratch.plain), now_ns);
	if (n < 0) {
		s->stats.rx_unwrap_errs++;
		log_debug("control packet dropped: %s", tlswrap_strerror(n));
		return;
	}
	if (ctlpkt_parse(&p, plain, (size_t)n) || !srvsess_opcode_from_client(p.opcode)) {
		s->stats.rx_parse_errs++;
		return;
	}
	k = srvsess_key_find(s, p.key_id);
	/* Client-initiated renegotiation: only the successor of an established key. */
	if (!k && p.opcode == P_CONTROL_SOFT_RESET_V1 && p.mid == 0 && !s->nxt &&
	    p.key_id == srvsess_key_id_next(s->pri->key_id) &&
	    !srvsess_reneg_begin(s, now_ns, false))
		k = s->nxt;
	if (!k || !k->rel) {
		s->stats.rx_other_key++;
		return;
	}
	/* Until the client's soft reset, only acks may arrive for a new key. */
	if (k->st == SRVSESS_KS_RESET_SENT && p.opcode != P_CONTROL_SOFT_RESET_V1 &&
	    p.opcode != P_ACK_V1) {
		s->stats.rx_parse_errs++;
		return;
	}
	rc = reliable_input(k->rel, &p);
	if (rc < 0) {
		s->stats.rx_reliable_drops++;
		return;
	}
	if (rc == RELIABLE_IN_NEW && p.opcode == P_CONTROL_SOFT_RESET_V1 &&
	    k->st == SRVSESS_KS_RESET_SENT) {
		log_info("[%s] TLS: soft reset on key_id %u, starting TLS", srvsess_cn(s),
			 k->key_id);
		if (srvsess_key_tls_start(s, k)) {
			srvsess_fail(s);
			return;
		}
	}
	srvsess_pump(s, k, now_ns);
	srvsess_reject_check(s, now_ns);
}

void srvsess_tick(struct srvsess *s, int64_t now_ns)
{
	struct srvsess_key *k = s->pri;

	if (s->state >= SRVSESS_EXITED)
		return;
	s->now_ns = now_ns;
	if (!s->state && k->st < SRVSESS_KS_KEYS_READY && now_ns >= k->hand_deadline_ns) {
		log_warnx("[%s] TLS Error: TLS key negotiation failed to occur within %u seconds "
			  "(check your network connectivity)", srvsess_cn(s),
			  s->o->hand_window ? s->o->hand_window : 60);
		log_warnx("TLS Error: TLS handshake failed");
		srvsess_fail(s);
		return;
	}
	srvsess_reneg_tick(s, now_ns);
	if (s->state >= SRVSESS_EXITED)
		return;
	srvsess_pump(s, k, now_ns);
	if (s->nxt && s->state < SRVSESS_EXITED)
		srvsess_pump(s, s->nxt, now_ns);
	if (s->lame && s->state < SRVSESS_EXITED)
		srvsess_pump(s, s->lame, now_ns);
	srvsess_reject_check(s, now_ns);
}

static int64_t srvsess_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t srvsess_next_timeout(const struct srvsess *s, int64_t now_ns)
{
	const struct srvsess_key *k = s->pri;
	int64_t t;

	if (s->state >= SRVSESS_EXITED)
		return INT64_MAX;
	t = reliable_next_timeout(k->rel, now_ns);
	if (s->state == SRVSESS_REJECTED)
		t = srvsess_min(t, s->reject_deadline_ns);
	else if (k->st < SRVSESS_KS_KEYS_READY)
		t = srvsess_min(t, k->hand_deadline_ns);
	if (s->nxt) {
		t = srvsess_min(t, reliable_next_timeout(s->nxt->rel, now_ns));
		if (s->nxt->st < SRVSESS_KS_KEYS_READY)
			t = srvsess_min(t, s->nxt->hand_deadline_ns);
	} else if (s->reneg_ns && k->st == SRVSESS_KS_ACTIVE) {
		t = srvsess_min(t, k->active_ns + s->reneg_ns);
	}
	if (s->lame) {
		t = srvsess_min(t, reliable_next_timeout(s->lame->rel, now_ns));
		t = srvsess_min(t, s->lame->expire_ns);
	}
	return t;
}

int srvsess_take_keys(struct srvsess *s, struct session_keys *k)
{
	unsigned int tw = s->o->tran_window ? s->o->tran_window : 3600;

	if (srvsess_state(s) != SRVSESS_KEYS_READY)
		return -EAGAIN;
	*k = s->keys;
	OPENSSL_cleanse(s->keys.key2, sizeof(s->keys.key2));
	if (s->nxt && s->nxt->st == SRVSESS_KS_KEYS_READY) {
		/* The previous lame duck is replaced; the old primary becomes one. */
		if (s->lame) {
			log_info("[%s] TLS: tls_process: killed expiring key (key_id %u)",
				 srvsess_cn(s), s->lame->key_id);
			s->retire_mask |= 1u << s->lame->key_id;
			srvsess_key_drop(s->lame);
		}
		s->lame = s->pri;
		s->lame->expire_ns = s->now_ns + (int64_t)tw * SRVSESS_NS_PER_SEC;
		s->pri = s->nxt;
		s->nxt = NULL;
		s->stats.renegotiations++;
	}
	s->pri->st = SRVSESS_KS_ACTIVE;
	s->pri->active_ns = s->now_ns;
	return 0;
}

unsigned int srvsess_take_retired(struct srvsess *s)
{
	unsigned int m = s->retire_mask;

	s->retire_mask = 0;
	return m;
}

bool srvsess_idle(const struct srvsess *s)
{
	const struct srvsess_key *k = s->pri;

	return reliable_unacked(k->rel) == 0 && (!k->tls || !tls_conn_pending(k->tls));
}

void srvsess_write_stats(const struct srvsess *s, FILE *f)
{
	const struct reliable_stats *r = &s->pri->rel->stats;

	fprintf(f, "ctrl.rx_unwrap_errs=%llu\nctrl.rx_parse_errs=%llu\nctrl.rx_other_key=%llu\n"
		"ctrl.rx_reliable_drops=%llu\nctrl.tx_pkts=%llu\nctrl.tx_errs=%llu\n"
		"ctrl.push_requests=%llu\nctrl.push_replies=%llu\nctrl.rel_tx_retransmits=%llu\n"
		"ctrl.rel_rx_dups=%llu\nctrl.renegotiations=%llu\nctrl.key_id=%u\n",
		(unsigned long long)s->stats.rx_unwrap_errs,
		(unsigned long long)s->stats.rx_parse_errs,
		(unsigned long long)s->stats.rx_other_key,
		(unsigned long long)s->stats.rx_reliable_drops,
		(unsigned long long)s->stats.tx_pkts, (unsigned long long)s->stats.tx_errs,
		(unsigned long long)s->stats.push_requests,
		(unsigned long long)s->stats.push_replies,
		(unsigned long long)r->tx_retransmits, (unsigned long long)r->rx_dups,
		(unsigned long long)s->stats.renegotiations, s->pri->key_id);
}
