/*
 * srvsess.c - owns the life cycle of the server's control channel for one
 * client (openvpn-wire.md §15(b), §2.7, §10) over the shared channel of
 * ctrl/proto/chan.c: its creation from the stateless handshake's third
 * packet (wrapping made here, one replay id after the stateless reset),
 * the reneg-sec with 2.6's per-client jitter, the state the caller sees,
 * the rejection linger and the key hand-over. srvsess_msg.c owns what is
 * said over TLS (key-method 2, push, accept/reject, data keys);
 * srvsess_int.h is what both share.
 *
 * Timers, besides chan's: after srvsess_reject, AUTH_FAILED's ack is
 * awaited until reject_deadline_ns (SRVSESS_REJECT_LINGER_NS).
 *
 * Thread: ctrl only. Datagrams go out through the caller's io->send.
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
#include "../config/options.h"
#include "srvsess_int.h"

char srvsess_msg_buf[CTLMSG_MAX];

void srvsess_fail(struct srvsess *s)
{
	chan_end(&s->ch, CHAN_FAILED);
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

/* Log prefix: "[CN] " once the certificate is known. */
static const char *srvsess_tag(const struct chan *ch)
{
	const struct srvsess *s = (const struct srvsess *)ch;

	return s->tag;
}

void srvsess_tag_update(struct srvsess *s)
{
	snprintf(s->tag, sizeof(s->tag), "[%s] ", srvsess_cn(s));
}

/* chan_ops.tls_up: the client sends its key-method 2 first; we answer it. */
static int srvsess_tls_up(struct chan *ch, struct chan_key *k, int64_t now_ns)
{
	(void)ch;
	(void)k;
	(void)now_ns;
	return 0;
}

static const struct chan_ops srvsess_chan_ops = {
	.tls_up = srvsess_tls_up,
	.record = srvsess_record,
	.tag = srvsess_tag,
};

/* The session's wrapping: the same the firstpkt classifier checked. */
static int srvsess_wrap_create(struct srvsess *s, const struct firstpkt_result *fr,
			       struct tlswrap **w)
{
	const struct srvsess_cfg *cfg = s->cfg;
	uint8_t plain[CTL_HDR_LEN + 1] = { 0 }, out[CTL_HDR_LEN + 1 + 128];
	struct timespec ts;
	int rc;

	switch (cfg->wrap) {
	case FIRSTPKT_WRAP_NONE:
		return tlswrap_create_none(w);
	case FIRSTPKT_WRAP_TLS_AUTH:
		rc = tlswrap_create_auth(w, cfg->wrap_key, cfg->auth_direction, cfg->auth_digest);
		break;
	case FIRSTPKT_WRAP_TLS_CRYPT:
		rc = tlswrap_create_crypt(w, cfg->wrap_key, true);
		break;
	case FIRSTPKT_WRAP_TLS_CRYPT_V2:
		if (!fr->has_client_key)
			return -EINVAL;
		rc = tlswrap_create_crypt(w, fr->client.kc, true);
		break;
	default:
		return -EINVAL;
	}
	if (rc)
		return rc;
	/* The stateless reset used replay id 1: our first packet must carry 2 (§2.7). */
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = tlswrap_wrap(*w, plain, sizeof(plain), out, sizeof(out), (uint32_t)ts.tv_sec);
	return rc < 0 ? rc : 0;
}

int srvsess_create(struct srvsess **out, const struct srvsess_cfg *cfg,
		   const struct session_io *io, const struct firstpkt_result *fr,
		   const uint8_t *dgram, size_t len, int64_t now_ns)
{
	struct tlswrap *w = NULL;
	struct srvsess *s;
	struct chan *ch;
	int rc;

	*out = NULL;
	if (fr->verdict != FIRSTPKT_CREATE || !fr->pkt.n_acks || !cfg->o || !cfg->tctx)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->o = cfg->o;
	s->client.common_name = s->client.username = s->client.password = "";
	s->client.peer_info = s->client.options = "";
	rc = srvsess_wrap_create(s, fr, &w);
	ch = &s->ch;
	chan_init(ch, &srvsess_chan_ops, io, cfg->tctx, w, true, s->o->tls_timeout,
		  s->o->hand_window, s->o->tran_window);
	if (rc)
		goto fail;
	ch->now_ns = now_ns;
	ch->reneg_ns = srvsess_reneg_interval(s->o);
	memcpy(ch->sid, fr->pkt.peer_sid, SID_LEN);
	memcpy(ch->peer_sid, fr->pkt.sid, SID_LEN);
	ch->pri = chan_key_begin(ch, 0, 0, now_ns);
	if (!ch->pri) {
		rc = -ENOMEM;
		goto fail;
	}
	/* Our reset went out statelessly, and the client's third packet acked it. */
	reliable_skip_reset(ch->pri->rel);
	rc = chan_key_tls_start(ch, ch->pri);
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
	chan_release(&s->ch);
	if (s->password)
		OPENSSL_cleanse(s->password, strlen(s->password));
	free(s->cn);
	free(s->username);
	free(s->password);
	free(s->peer_info);
	free(s->options);
	free(s->push);
	srvsess_token_wipe(s);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

enum srvsess_state srvsess_state(const struct srvsess *s)
{
	static const enum srvsess_state map[] = {
		[CHAN_KS_DEAD] = SRVSESS_FAILED,
		[CHAN_KS_RESET_SENT] = SRVSESS_TLS,
		[CHAN_KS_TLS] = SRVSESS_TLS,
		[CHAN_KS_KM2] = SRVSESS_TLS,
		[CHAN_KS_AUTH] = SRVSESS_AUTH,
		[CHAN_KS_PULL] = SRVSESS_PUSH,
		[CHAN_KS_KEYS_READY] = SRVSESS_KEYS_READY,
		[CHAN_KS_ACTIVE] = SRVSESS_ACTIVE,
	};

	switch (s->ch.end) {
	case CHAN_LIVE:
		return map[chan_key_state(&s->ch)];
	case CHAN_REJECTED:
		return SRVSESS_REJECTED;
	case CHAN_EXITED:
		return SRVSESS_EXITED;
	default:
		return SRVSESS_FAILED;
	}
}

const struct srvsess_client *srvsess_client(const struct srvsess *s)
{
	return &s->client;
}

/* REJECTED ends once AUTH_FAILED is acknowledged, or after SRVSESS_REJECT_LINGER_NS. */
static void srvsess_reject_check(struct srvsess *s, int64_t now_ns)
{
	if (s->ch.end != CHAN_REJECTED)
		return;
	if (srvsess_idle(s) || now_ns >= s->reject_deadline_ns) {
		log_info("[%s] client rejected: AUTH_FAILED %s", srvsess_cn(s),
			 srvsess_idle(s) ? "delivered" : "not acknowledged");
		srvsess_fail(s);
	}
}

void srvsess_input(struct srvsess *s, const uint8_t *buf, size_t len, int64_t now_ns)
{
	chan_input(&s->ch, buf, len, now_ns);
	srvsess_reject_check(s, now_ns);
}

void srvsess_tick(struct srvsess *s, int64_t now_ns)
{
	chan_tick(&s->ch, now_ns);
	srvsess_reject_check(s, now_ns);
}

int64_t srvsess_next_timeout(const struct srvsess *s, int64_t now_ns)
{
	int64_t t = chan_next_timeout(&s->ch, now_ns);

	if (s->ch.end == CHAN_REJECTED && s->reject_deadline_ns < t)
		t = s->reject_deadline_ns;
	return t;
}

int srvsess_take_keys(struct srvsess *s, struct session_keys *k)
{
	if (srvsess_state(s) != SRVSESS_KEYS_READY)
		return -EAGAIN;
	*k = s->keys;
	OPENSSL_cleanse(s->keys.key2, sizeof(s->keys.key2));
	chan_keys_taken(&s->ch);
	return 0;
}

unsigned int srvsess_take_retired(struct srvsess *s)
{
	return chan_take_retired(&s->ch);
}

bool srvsess_idle(const struct srvsess *s)
{
	return chan_idle(&s->ch);
}

const char *srvsess_occ_string(const struct srvsess *s)
{
	return s->occ[0] ? s->occ : NULL;
}

struct chan *srvsess_chan(struct srvsess *s)
{
	return &s->ch;
}

void srvsess_write_stats(const struct srvsess *s, FILE *f)
{
	chan_write_stats(&s->ch, f);
	fprintf(f, "ctrl.push_requests=%llu\nctrl.push_replies=%llu\n",
		(unsigned long long)s->stats.push_requests,
		(unsigned long long)s->stats.push_replies);
}
