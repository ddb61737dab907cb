/*
 * pipeline_compat.h - TEMPORARY, REMOVED AT MERGE.
 *
 * The data plane's handle is becoming opaque (io/): ctrl will reach it only
 * through functions. Until that branch lands, these static inline shims give
 * ctrl/main.c, ctrl/server/ and ctrl/client/client.c the same names and
 * contracts, implemented over the fields of today's struct pipeline, so the
 * callers already contain no field access. At the merge this header is
 * deleted and its includers switch to the io/ header that declares them.
 *
 * All of them: ctrl thread only.
 */
#ifndef SLUICE_PIPELINE_COMPAT_H
#define SLUICE_PIPELINE_COMPAT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pipeline.h"

/* The eventfd of ctrl's doorbell, rung by udp_rx and tun_tx; ctrl polls it. */
static inline int pipeline_ctrl_fd(const struct pipeline *pl)
{
	return pl->ctrl_db.efd;
}

/*
 * Tells the producers ctrl is about to sleep on pipeline_ctrl_fd. Returns
 * false (sleep cancelled) when control packets, in-band messages or float
 * events are already pending: ctrl must not block then.
 */
static inline bool pipeline_ctrl_prepare_sleep(struct pipeline *pl)
{
	doorbell_prepare_sleep(&pl->ctrl_db);
	if (spsc_count(pl->udp_to_ctrl) || spsc_count(pl->tun_tx_to_ctrl) ||
	    __atomic_load_n(&pl->float_events, __ATOMIC_ACQUIRE) != pl->float_seen) {
		doorbell_cancel_sleep(&pl->ctrl_db);
		return false;
	}
	return true;
}

/* After ctrl woke up (or did not sleep): clears the doorbell. */
static inline void pipeline_ctrl_wake_clear(struct pipeline *pl)
{
	doorbell_clear(&pl->ctrl_db);
}

/* Up to @max control packets udp_rx queued for ctrl; ctrl owns (and frees) them. */
static inline unsigned int pipeline_ctrl_recv(struct pipeline *pl, struct pkt **p,
					      unsigned int max)
{
	return spsc_dequeue_burst(pl->udp_to_ctrl, p, max);
}

/* Up to @max in-band messages (OCC) tun_tx queued for ctrl; ctrl owns (and frees) them. */
static inline unsigned int pipeline_inband_recv(struct pipeline *pl, struct pkt **p,
						unsigned int max)
{
	return spsc_dequeue_burst(pl->tun_tx_to_ctrl, p, max);
}

/*
 * Copies @buf into a packet of the control pool and queues it to udp_tx,
 * to @to (NULL, @tolen 0: the connected socket's remote). Returns 0,
 * -ENOMEM when the control pool is empty, -ENOBUFS when the ring to udp_tx
 * is full, or -EMSGSIZE when @len does not fit a packet.
 */
static inline int pipeline_ctrl_send(struct pipeline *pl, uint32_t peer_id,
				     const union sockaddr_any *to, socklen_t tolen, const void *buf,
				     size_t len)
{
	struct pkt *p = pool_get(pl->ctrl_pool);

	if (!p)
		return -ENOMEM;
	if (len > pkt_data_room(p)) {
		pkt_free(p);
		return -EMSGSIZE;
	}
	memcpy(p->data, buf, len);
	p->len = (uint32_t)len;
	if (to && tolen)
		memcpy(&p->addr, to, tolen);
	p->addr_len = to ? tolen : 0;
	p->peer_id = peer_id;
	p->flags = PKT_F_CONTROL;
	if (spsc_enqueue_burst(pl->ctrl_to_udp, &p, 1) != 1) {
		pkt_free(p);
		return -ENOBUFS;
	}
	return 0;
}

/* The peer-id peer @id stamps on P_DATA_V2 (PEER_ID_NONE: none, or no such peer). */
static inline uint32_t pipeline_peer_tx_peer_id(const struct pipeline *pl, uint32_t id)
{
	const struct peer *pr = id < pl->peers.size ? pl->peers.slot[id] : NULL;

	return pr ? pr->tx_peer_id : PEER_ID_NONE;
}

/* The size of the peer table (peer ids are 0 .. max - 1). */
static inline uint32_t pipeline_max_peers(const struct pipeline *pl)
{
	return pl->peers.size;
}

#endif
