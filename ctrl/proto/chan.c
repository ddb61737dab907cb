/*
 * chan.c - owns one OpenVPN control channel for either role (chan.h):
 * wrapping (static and dynamic tls-crypt), the key states with their
 * reliability layers and TLS sessions, the TLS pump, renegotiation with the
 * key hand-over, and the channel's timers:
 *   retransmissions   reliable_next_timeout of each live key state
 *   hand-window       from a key state's start until its keys are ready
 *   reneg-sec         from the primary's activation (or chan_reneg_hold)
 *   tran-window       the lame duck's control state ends
 * What is said over TLS belongs to the role (chan_ops).
 *
 * Thread: ctrl only. Every channel borrows chan_scratch during one call;
 * a channel never calls into another one, so nothing is overwritten under
 * a caller (a role's io.send may queue, never re-enter a channel).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../../core/log.h"
#include "../../crypto/tlswrap.h"
#include "../state.h"
#include "chan.h"
#include "ctlpkt.h"

#define CHAN_NS_PER_SEC		1000000000LL
#define CHAN_HAND_WINDOW_DEFAULT	60	/* --hand-window */
#define CHAN_TRAN_WINDOW_DEFAULT	3600	/* --tran-window */
/* The length of the dynamic tls-crypt key: a whole static key (§2.6). */
#define CHAN_DYN_KEY_LEN	KEY2_LEN
#define CHAN_DYN_LABEL		"EXPORTER-OpenVPN-dynamic-tls-crypt"

struct chan_scratch chan_scratch;

static const char *chan_tag(const struct chan *c)
{
	return c->ops->tag ? c->ops->tag(c) : "";
}

static const char *chan_peer_name(const struct chan *c)
{
	return c->is_server ? "client" : "server";
}

void chan_init(struct chan *c, const struct chan_ops *ops, const struct session_io *io,
	       struct tls_ctx *tctx, struct tlswrap *wrap, bool is_server,
	       unsigned int tls_timeout_s, unsigned int hand_window_s,
	       unsigned int tran_window_s)
{
	c->ops = ops;
	c->io = *io;
	c->tctx = tctx;
	c->wrap = wrap;
	c->is_server = is_server;
	c->tls_timeout_s = tls_timeout_s ? tls_timeout_s : TLS_TIMEOUT_DEFAULT_SEC;
	c->hand_window_s = hand_window_s ? hand_window_s : CHAN_HAND_WINDOW_DEFAULT;
	c->tran_window_s = tran_window_s ? tran_window_s : CHAN_TRAN_WINDOW_DEFAULT;
}

/* ---- key states ---- */

/* Frees key state @k's TLS session and reliability layer. */
static void chan_key_drop(struct chan_key *k)
{
	tls_conn_free(k->tls);
	k->tls = NULL;
	if (k->rel)
		reliable_release(k->rel);
	free(k->rel);
	k->rel = NULL;
	k->st = CHAN_KS_DEAD;
	OPENSSL_cleanse(&k->cli_src, sizeof(k->cli_src));
	OPENSSL_cleanse(&k->srv_src, sizeof(k->srv_src));
}

/* A buffer that is not pri/nxt/lame, with its reliability layer allocated. */
static struct chan_key *chan_key_slot(struct chan *c)
{
	for (int i = 0; i < 3; i++) {
		struct chan_key *k = &c->kbuf[i];

		if (k == c->pri || k == c->nxt || k == c->lame)
			continue;
		if (!k->rel)
			k->rel = calloc(1, sizeof(*k->rel));
		return k->rel ? k : NULL;
	}
	return NULL;
}

void chan_reset(struct chan *c)
{
	for (int i = 0; i < 3; i++)
		chan_key_drop(&c->kbuf[i]);
	c->pri = c->nxt = c->lame = NULL;
	c->end = CHAN_LIVE;
	c->end_why = NULL;
	c->retire_mask = 0;
	c->reneg_hold_ns = 0;
	c->wkc_resend = false;
	/* Dynamic tls-crypt comes from the first TLS session: a new one, a new key. */
	tlswrap_free(c->dyn);
	c->dyn = NULL;
}

void chan_release(struct chan *c)
{
	chan_reset(c);
	tlswrap_free(c->wrap);
	c->wrap = NULL;
}

void chan_set_wrap(struct chan *c, struct tlswrap *wrap)
{
	tlswrap_free(c->dyn);
	c->dyn = NULL;
	tlswrap_free(c->wrap);
	c->wrap = wrap;
}

/* The wrapping of packets with @key_id: dynamic tls-crypt for renegotiations. */
static struct tlswrap *chan_wrap_for(const struct chan *c, uint8_t key_id)
{
	return key_id && c->dyn ? c->dyn : c->wrap;
}

struct chan_key *chan_key_begin(struct chan *c, uint8_t key_id, uint8_t reset_op,
				int64_t now_ns)
{
	struct chan_key *k = chan_key_slot(c);
	size_t max;

	if (!k)
		return NULL;
	max = reliable_max_payload(TLS_MTU_DEFAULT, false,
				   tlswrap_overhead(chan_wrap_for(c, key_id), P_CONTROL_V1));
	tls_conn_free(k->tls);
	k->tls = NULL;
	k->key_id = key_id;
	k->active_ns = 0;
	k->expire_ns = 0;
	reliable_release(k->rel);
	reliable_init(k->rel, key_id, c->sid, c->tls_timeout_s * 1000, max);
	/* Key 0 of a client learns the server's session id from its reset. */
	if (key_id || c->is_server)
		reliable_set_peer_sid(k->rel, c->peer_sid);
	k->st = CHAN_KS_RESET_SENT;
	k->hand_deadline_ns = now_ns + (int64_t)c->hand_window_s * CHAN_NS_PER_SEC;
	/*
	 * Every message of a handshake is resent every 2 x tls-timeout at most,
	 * not 2, 4, 8, 16... s. A client's first reset finds the server again
	 * within seconds after an outage; through heavy loss a message lost three
	 * times costs 2+4+4 s, not 2+4+8 s, which keeps the tail of a handshake
	 * inside hand-window (a few more packets, only to a peer that answered).
	 */
	reliable_set_timeout_max(k->rel, 2 * (int64_t)c->tls_timeout_s * CHAN_NS_PER_SEC);
	if (reset_op && reliable_send_msg(k->rel, reset_op, NULL, 0)) {
		chan_key_drop(k);
		return NULL;
	}
	return k;
}

int chan_key_tls_start(struct chan *c, struct chan_key *k)
{
	if (tls_conn_create(&k->tls, c->tctx)) {
		log_warnx("%sTLS: out of memory for the TLS session of key_id %u", chan_tag(c),
			  k->key_id);
		return -ENOMEM;
	}
	k->st = CHAN_KS_TLS;
	return 0;
}

void chan_end(struct chan *c, enum chan_end why)
{
	chan_end_for(c, why, CONN_WHY_TLS_ERROR);
}

void chan_end_for(struct chan *c, enum chan_end why, const char *reason)
{
	if (why > c->end) {
		c->end = why;
		c->end_why = reason;
	}
	if (c->end < CHAN_RESTART)
		return;
	for (int i = 0; i < 3; i++) {
		tls_conn_free(c->kbuf[i].tls);
		c->kbuf[i].tls = NULL;
	}
}

/* ---- output ---- */

/*
 * The replay timestamp of our wrapped packets: unix seconds from
 * CLOCK_REALTIME. A server's stateless reply is stamped from the same clock
 * (time() reads the coarse clock, which may still show the previous
 * second, and the peer would then drop our next packets as replays).
 */
static uint32_t chan_wall_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_sec;
}

/* Wraps and sends every packet key state @k's reliability layer has due. */
static void chan_flush(struct chan *c, struct chan_key *k, int64_t now_ns)
{
	struct tlswrap *w = chan_wrap_for(c, k->key_id);
	struct ctlpkt p;

	while (reliable_next_out(k->rel, now_ns, &p)) {
		int n = ctlpkt_build(&p, chan_scratch.plain, sizeof(chan_scratch.plain));
		int m;

		if (n < 0) {
			c->stats.tx_errs++;
			continue;
		}
		m = tlswrap_wrap(w, chan_scratch.plain, (size_t)n, chan_scratch.wire,
				 sizeof(chan_scratch.wire), chan_wall_sec());
		if (m < 0 || c->io.send(c->io.arg, chan_scratch.wire, (size_t)m)) {
			c->stats.tx_errs++;
			continue;
		}
		c->stats.tx_pkts++;
		if (w == c->dyn)
			c->stats.dyn_wrapped++;
	}
}

/* Moves TLS ciphertext of @k into reliable messages while the send window has room. */
static void chan_tls_out(struct chan *c, struct chan_key *k)
{
	uint8_t *stream = chan_scratch.stream;
	size_t room;

	/*
	 * tls-crypt-v2 with early negotiation: the first control packet after
	 * the server's reset is P_CONTROL_WKC_V1 and carries WKc again (§2.5),
	 * so its TLS payload must leave room for the key.
	 */
	if (c->wkc_resend && k->key_id == 0 && k->tls && tls_conn_pending(k->tls) &&
	    reliable_send_room(k->rel) > 0) {
		size_t max = reliable_max_payload(TLS_MTU_DEFAULT, false,
						  tlswrap_overhead(c->wrap, P_CONTROL_WKC_V1));
		size_t n = tls_conn_output(k->tls, stream, MIN(max, sizeof(chan_scratch.stream)));

		if (n && reliable_send_msg(k->rel, P_CONTROL_WKC_V1, stream, n) == 0)
			c->wkc_resend = false;
	}
	while (k->tls && tls_conn_pending(k->tls) && (room = reliable_send_room(k->rel)) > 0) {
		size_t n = tls_conn_output(k->tls, stream, MIN(room, sizeof(chan_scratch.stream)));

		if (!n)
			break;
		reliable_write(k->rel, P_CONTROL_V1, stream, n);
	}
}

void chan_send(struct chan *c, struct chan_key *k, int64_t now_ns)
{
	if (c->end < CHAN_EXITED)
		chan_tls_out(c, k);
	chan_flush(c, k, now_ns);
}

int chan_write(struct chan_key *k, const void *buf, size_t len)
{
	if (!k->tls)
		return -ENOTCONN;
	return tls_conn_write(k->tls, buf, len);
}

/* ---- TLS ---- */

static void chan_handshake(struct chan *c, struct chan_key *k, int64_t now_ns)
{
	char desc[256];
	int rc = tls_conn_handshake(k->tls);

	if (rc == TLS_HS_AGAIN)
		return;
	if (rc < 0) {
		log_warnx("%s", tls_conn_error(k->tls));
		log_warnx("%sTLS Error: TLS handshake failed%s", chan_tag(c),
			  k->key_id ? " (renegotiation)" : "");
		/* Flush the alert before giving up. */
		chan_tls_out(c, k);
		chan_flush(c, k, now_ns);
		chan_end(c, CHAN_RESTART);
		return;
	}
	tls_conn_describe(k->tls, desc, sizeof(desc));
	log_info("%sControl Channel: %s", chan_tag(c), desc);
	k->st = CHAN_KS_KM2;
	if (c->ops->tls_up && c->ops->tls_up(c, k, now_ns))
		chan_end(c, CHAN_RESTART);
}

void chan_pump(struct chan *c, struct chan_key *k, int64_t now_ns)
{
	uint8_t *stream = chan_scratch.stream;
	char *rec = chan_scratch.rec;
	size_t n;

	while (k->tls && (n = reliable_read(k->rel, stream, sizeof(chan_scratch.stream))) > 0) {
		if (tls_conn_input(k->tls, stream, n)) {
			log_warnx("%sTLS Error: too much unread TLS data from the %s", chan_tag(c),
				  chan_peer_name(c));
			chan_end(c, CHAN_RESTART);
			return;
		}
	}
	if (k->st == CHAN_KS_TLS && k->tls)
		chan_handshake(c, k, now_ns);
	while (k->tls && c->end < CHAN_EXITED && k->st >= CHAN_KS_KM2) {
		ssize_t r = tls_conn_read(k->tls, rec, TLS_RECORD_MAX);

		if (r == 0)
			break;
		if (r < 0) {
			/* A lame duck's TLS session may end; its data keys live on. */
			if (k == c->lame) {
				tls_conn_free(k->tls);
				k->tls = NULL;
				break;
			}
			if (r == -ECONNRESET)
				log_warnx("%sTLS Error: %s closed the TLS session", chan_tag(c),
					  chan_peer_name(c));
			else
				log_warnx("%sTLS Error: %s", chan_tag(c), tls_conn_error(k->tls));
			chan_end(c, CHAN_RESTART);
			return;
		}
		rec[r] = '\0';
		c->ops->record(c, k, rec, (size_t)r, now_ns);
	}
	/* After EXIT, FAILED or RESTART only acks go out (the peer stops resending). */
	if (k->rel)
		chan_send(c, k, now_ns);
}

/* ---- renegotiation ---- */

uint8_t chan_key_id_next(uint8_t key_id)
{
	return key_id >= KEY_ID_COUNT - 1 ? 1 : key_id + 1;
}

int chan_reneg_begin(struct chan *c, int64_t now_ns, bool ours)
{
	uint8_t kid;
	struct chan_key *k;

	if (c->nxt || !c->pri || c->pri->st != CHAN_KS_ACTIVE || c->end)
		return -EBUSY;
	if (ours && now_ns < c->reneg_hold_ns)
		return -EAGAIN;
	kid = chan_key_id_next(c->pri->key_id);
	k = chan_key_begin(c, kid, ours || !c->answer_reset_with_tls ? P_CONTROL_SOFT_RESET_V1 : 0,
			   now_ns);
	if (!k) {
		log_warnx("%sTLS: cannot queue the soft reset for key_id %u", chan_tag(c), kid);
		return -ENOBUFS;
	}
	c->nxt = k;
	if (ours)
		c->stats.reneg_local++;
	else
		c->stats.reneg_peer++;
	if (ours)
		log_info("%sTLS: soft reset sec=%lld/%lld key_id=%u", chan_tag(c),
			 (long long)((now_ns - c->pri->active_ns) / CHAN_NS_PER_SEC),
			 (long long)(c->reneg_ns / CHAN_NS_PER_SEC), kid);
	else
		log_info("%sTLS: soft reset requested by the %s, key_id=%u", chan_tag(c),
			 chan_peer_name(c), kid);
	return 0;
}

void chan_reneg_hold(struct chan *c, int64_t until_ns)
{
	c->reneg_hold_ns = until_ns;
}

/* The key state a packet with @key_id belongs to, or NULL. */
static struct chan_key *chan_key_find(struct chan *c, uint8_t key_id)
{
	if (c->pri && c->pri->st != CHAN_KS_DEAD && c->pri->key_id == key_id)
		return c->pri;
	if (c->nxt && c->nxt->key_id == key_id)
		return c->nxt;
	if (c->lame && c->lame->key_id == key_id)
		return c->lame;
	return NULL;
}

/* Lame duck past tran-window, renegotiation past hand-window, reneg-sec due. */
static void chan_reneg_tick(struct chan *c, int64_t now_ns)
{
	if (c->lame && now_ns >= c->lame->expire_ns) {
		log_info("%sTLS: tls_process: killed expiring key (key_id %u)", chan_tag(c),
			 c->lame->key_id);
		c->retire_mask |= 1u << c->lame->key_id;
		chan_key_drop(c->lame);
		c->lame = NULL;
	}
	if (c->nxt && c->nxt->st < CHAN_KS_KEYS_READY && now_ns >= c->nxt->hand_deadline_ns) {
		log_warnx("%sTLS Error: TLS key negotiation failed to occur within %u seconds "
			  "(renegotiation of key_id %u)", chan_tag(c), c->hand_window_s,
			  c->nxt->key_id);
		chan_end(c, CHAN_RESTART);
		return;
	}
	if (!c->nxt && c->reneg_ns && c->pri->st == CHAN_KS_ACTIVE &&
	    now_ns >= c->pri->active_ns + c->reneg_ns)
		(void)chan_reneg_begin(c, now_ns, true);
}

/* ---- input ---- */

/* Opcodes the peer may send once a channel exists (§1.2); resets only as repeats. */
static bool chan_opcode_ok(const struct chan *c, uint8_t opcode)
{
	switch (opcode) {
	case P_CONTROL_SOFT_RESET_V1:
	case P_CONTROL_V1:
	case P_ACK_V1:
		return true;
	case P_CONTROL_HARD_RESET_CLIENT_V2:
	case P_CONTROL_HARD_RESET_CLIENT_V3:
	case P_CONTROL_WKC_V1:
		return c->is_server;
	case P_CONTROL_HARD_RESET_SERVER_V2:
		return !c->is_server;
	default:
		return false;
	}
}

/*
 * Early-negotiation TLVs in the server's reset (§2.5): u16 type, u16 length,
 * value; unknown types are skipped. True if EARLY_NEG_FLAGS has RESEND_WKC.
 */
static bool chan_tlv_resend_wkc(const uint8_t *b, size_t len)
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

/*
 * What a key state whose reset is out takes before it runs TLS. Key 0 (a
 * client's first): only the server's hard reset, which names the server's
 * session id. A renegotiation: the peer's soft reset, acks, and the peer's
 * first TLS bytes (its session id is known already).
 */
static bool chan_reset_sent_takes(const struct chan_key *k, uint8_t opcode)
{
	if (!k->key_id)
		return opcode == P_CONTROL_HARD_RESET_SERVER_V2;
	return opcode == P_CONTROL_SOFT_RESET_V1 || opcode == P_CONTROL_V1 ||
	       opcode == P_ACK_V1;
}

/* Whether @k leaves RESET_SENT after packet @p (reliable_input said @rc). */
static const char *chan_reset_sent_why(const struct chan_key *k, const struct ctlpkt *p,
				       int rc)
{
	if (rc == RELIABLE_IN_NEW && p->opcode == P_CONTROL_HARD_RESET_SERVER_V2)
		return "initial packet from server";
	if (!k->key_id)
		return NULL;
	if (rc == RELIABLE_IN_NEW && p->opcode == P_CONTROL_SOFT_RESET_V1)
		return "peer soft reset";
	if (rc == RELIABLE_IN_NEW && p->opcode == P_CONTROL_V1)
		return "peer started TLS";
	if (reliable_unacked(k->rel) == 0)
		return "our soft reset acknowledged";
	return NULL;
}

void chan_input(struct chan *c, const uint8_t *buf, size_t len, int64_t now_ns)
{
	uint8_t *plain = chan_scratch.plain;
	struct chan_key *k;
	struct ctlpkt p;
	const char *why;
	int n, rc;

	if (c->end >= CHAN_EXITED)
		return;
	c->now_ns = now_ns;
	c->stats.rx_pkts++;
	n = tlswrap_unwrap(chan_wrap_for(c, len ? buf[0] & P_KEY_ID_MASK : 0), buf, len, plain,
			   sizeof(chan_scratch.plain), now_ns);
	/*
	 * The OpenVPN 3 core wraps every control packet with the dynamic key
	 * once it has one, key_id 0 included (2.6 does so for key_id > 0 only):
	 * a key_id 0 packet the static wrap refuses gets a second try.
	 */
	if (n < 0 && c->dyn && len && !(buf[0] & P_KEY_ID_MASK))
		n = tlswrap_unwrap(c->dyn, buf, len, plain, sizeof(chan_scratch.plain), now_ns);
	if (n < 0) {
		c->stats.rx_unwrap_errs++;
		log_debug("%scontrol packet dropped: %s", chan_tag(c), tlswrap_strerror(n));
		return;
	}
	if (ctlpkt_parse(&p, plain, (size_t)n) || !chan_opcode_ok(c, p.opcode)) {
		c->stats.rx_parse_errs++;
		return;
	}
	k = chan_key_find(c, p.key_id);
	/* The peer's renegotiation: only the successor of an established key. */
	if (!k && p.opcode == P_CONTROL_SOFT_RESET_V1 && p.mid == 0 && !c->nxt && c->pri &&
	    p.key_id == chan_key_id_next(c->pri->key_id) && !chan_reneg_begin(c, now_ns, false))
		k = c->nxt;
	if (!k || !k->rel) {
		c->stats.rx_other_key++;
		return;
	}
	if (k->st == CHAN_KS_RESET_SENT && !chan_reset_sent_takes(k, p.opcode)) {
		c->stats.rx_parse_errs++;
		return;
	}
	rc = reliable_input(k->rel, &p);
	if (rc < 0) {
		c->stats.rx_reliable_drops++;
		return;
	}
	if (k->st == CHAN_KS_RESET_SENT && (why = chan_reset_sent_why(k, &p, rc))) {
		if (!k->key_id) {
			memcpy(c->peer_sid, k->rel->peer_sid, SID_LEN);
			if (c->wkc_resend)
				c->wkc_resend = chan_tlv_resend_wkc(p.payload, p.payload_len);
			log_info("TLS: Initial packet from server, starting TLS");
		} else {
			log_info("%sTLS: key_id %u: %s, starting TLS", chan_tag(c), k->key_id, why);
		}
		if (chan_key_tls_start(c, k)) {
			chan_end(c, CHAN_FAILED);
			return;
		}
	}
	chan_pump(c, k, now_ns);
}

void chan_tick(struct chan *c, int64_t now_ns)
{
	struct chan_key *k = c->pri;

	if (c->end >= CHAN_EXITED || !k)
		return;
	c->now_ns = now_ns;
	if (!c->end && k->st < CHAN_KS_KEYS_READY && now_ns >= k->hand_deadline_ns) {
		log_warnx("%sTLS Error: TLS key negotiation failed to occur within %u seconds "
			  "(check your network connectivity)", chan_tag(c), c->hand_window_s);
		log_warnx("TLS Error: TLS handshake failed%s", k->st == CHAN_KS_RESET_SENT ?
			  ": no response from server" : "");
		chan_end(c, CHAN_RESTART);
		return;
	}
	chan_reneg_tick(c, now_ns);
	if (c->end >= CHAN_EXITED)
		return;
	chan_pump(c, k, now_ns);
	if (c->nxt && c->end < CHAN_EXITED)
		chan_pump(c, c->nxt, now_ns);
	if (c->lame && c->end < CHAN_EXITED)
		chan_pump(c, c->lame, now_ns);
}

static int64_t chan_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t chan_next_timeout(const struct chan *c, int64_t now_ns)
{
	const struct chan_key *k = c->pri;
	int64_t t;

	if (c->end >= CHAN_EXITED || !k)
		return INT64_MAX;
	t = reliable_next_timeout(k->rel, now_ns);
	if (!c->end && k->st < CHAN_KS_KEYS_READY)
		t = chan_min(t, k->hand_deadline_ns);
	if (c->nxt) {
		t = chan_min(t, reliable_next_timeout(c->nxt->rel, now_ns));
		if (c->nxt->st < CHAN_KS_KEYS_READY)
			t = chan_min(t, c->nxt->hand_deadline_ns);
	} else if (c->reneg_ns && k->st == CHAN_KS_ACTIVE) {
		int64_t due = k->active_ns + c->reneg_ns;

		t = chan_min(t, due > c->reneg_hold_ns ? due : c->reneg_hold_ns);
	}
	if (c->lame) {
		t = chan_min(t, reliable_next_timeout(c->lame->rel, now_ns));
		t = chan_min(t, c->lame->expire_ns);
	}
	return t;
}

/* ---- keys ---- */

enum chan_ks chan_key_state(const struct chan *c)
{
	if (c->nxt && c->nxt->st == CHAN_KS_KEYS_READY)
		return CHAN_KS_KEYS_READY;
	return c->pri ? c->pri->st : CHAN_KS_DEAD;
}

struct chan_key *chan_keys_taken(struct chan *c)
{
	if (c->nxt && c->nxt->st == CHAN_KS_KEYS_READY) {
		/* The previous lame duck is replaced; the old primary becomes one. */
		if (c->lame) {
			log_info("%sTLS: tls_process: killed expiring key (key_id %u)", chan_tag(c),
				 c->lame->key_id);
			c->retire_mask |= 1u << c->lame->key_id;
			chan_key_drop(c->lame);
		}
		c->lame = c->pri;
		c->lame->expire_ns = c->now_ns + (int64_t)c->tran_window_s * CHAN_NS_PER_SEC;
		c->pri = c->nxt;
		c->nxt = NULL;
		c->stats.renegotiations++;
	}
	c->pri->st = CHAN_KS_ACTIVE;
	c->pri->active_ns = c->now_ns;
	return c->pri;
}

unsigned int chan_take_retired(struct chan *c)
{
	unsigned int m = c->retire_mask;

	c->retire_mask = 0;
	return m;
}

int chan_dyn_enable(struct chan *c)
{
	uint8_t ekm[CHAN_DYN_KEY_LEN];
	int rc;

	if (c->dyn)
		return 0;
	if (!c->pri || c->pri->key_id || !c->pri->tls)
		return -EINVAL;
	rc = tls_conn_export(c->pri->tls, CHAN_DYN_LABEL, sizeof(ekm), ekm);
	if (!rc)
		rc = tlswrap_dynamic_init(&c->dyn, c->wrap, ekm, c->is_server);
	OPENSSL_cleanse(ekm, sizeof(ekm));
	return rc;
}

bool chan_idle(const struct chan *c)
{
	const struct chan_key *k = c->pri;

	return !k || !k->rel ||
	       (reliable_unacked(k->rel) == 0 && (!k->tls || !tls_conn_pending(k->tls)));
}

void chan_write_stats(const struct chan *c, FILE *f)
{
	const struct reliable_stats *r = c->pri && c->pri->rel ? &c->pri->rel->stats : NULL;

	fprintf(f, "ctrl.rx_pkts=%llu\nctrl.rx_unwrap_errs=%llu\nctrl.rx_parse_errs=%llu\n"
		"ctrl.rx_other_key=%llu\n"
		"ctrl.rx_reliable_drops=%llu\nctrl.tx_pkts=%llu\nctrl.tx_errs=%llu\n"
		"ctrl.rel_tx_retransmits=%llu\nctrl.rel_rx_dups=%llu\nctrl.renegotiations=%llu\n"
		"ctrl.reneg_local=%llu\nctrl.reneg_peer=%llu\n"
		"ctrl.dyn_tls_crypt=%d\nctrl.dyn_wrapped=%llu\nctrl.key_id=%u\n",
		(unsigned long long)c->stats.rx_pkts, (unsigned long long)c->stats.rx_unwrap_errs,
		(unsigned long long)c->stats.rx_parse_errs,
		(unsigned long long)c->stats.rx_other_key,
		(unsigned long long)c->stats.rx_reliable_drops,
		(unsigned long long)c->stats.tx_pkts, (unsigned long long)c->stats.tx_errs,
		(unsigned long long)(r ? r->tx_retransmits : 0),
		(unsigned long long)(r ? r->rx_dups : 0),
		(unsigned long long)c->stats.renegotiations,
		(unsigned long long)c->stats.reneg_local, (unsigned long long)c->stats.reneg_peer,
		c->dyn != NULL,
		(unsigned long long)c->stats.dyn_wrapped, c->pri ? c->pri->key_id : 0);
}
