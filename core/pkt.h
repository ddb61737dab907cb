/*
 * pkt.h - packet buffers and per-thread pools (DESIGN.md §3, STYLE.md §3).
 *
 * A struct pkt is a header followed by its buffer. data/len describe the
 * current packet inside buf[]; PKT_HEADROOM before it and PKT_TAILROOM after
 * the largest payload let crypto add the data-channel header, packet-id and
 * tag in place. Pools come in size classes (PKT_CLASS_*): the large class
 * carries 64 KiB GSO super-packets without a change of layout.
 *
 * One owner at a time. A pool belongs to the thread that allocates from it
 * (its home); pool_get_burst() is home-only. Any thread may free a packet:
 * the home thread pushes it on its free stack, any other thread sends it
 * home over the home pool's return ring for that thread (one SPSC ring per
 * returning thread, wired by ctrl with pool_add_returner()).
 */
#ifndef SLUICE_PKT_H
#define SLUICE_PKT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "compiler.h"
#include "thread.h"

/* Room before data: TCP length (2) + P_DATA_V2 header (4) + pid (4) + tag (16), rounded. */
#define PKT_HEADROOM	64
/* Room after data: compression swap byte, padding and a spare tag. */
#define PKT_TAILROOM	64

enum pkt_class {
	PKT_CLASS_MTU = 0,	/* up to 2048 bytes of payload: tun-max-mtu 1600 + framing */
	PKT_CLASS_GSO,		/* up to 65535 bytes: one GSO/GRO super-packet */
};
#define PKT_MTU_DATA	2048
#define PKT_GSO_DATA	65536

#define POOL_MAX	256	/* pools in the process; pkt->pool_id is a uint16_t */

union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* pkt->verdict: PKT_OK or an enum drop_reason. */
#define PKT_OK		0

/* pkt->flags */
#define PKT_F_CONTROL	0x01	/* control-channel packet (udp_rx -> ctrl, ctrl -> udp_tx) */
#define PKT_F_PING	0x02	/* in-band message (ping, OCC) injected by ctrl for p->peer_id */
#define PKT_F_V1	0x04	/* P_DATA_V1 on the wire */
#define PKT_F_FWD	0x08	/* server: client-to-client, tun_tx -> tun_rx */
#define PKT_F_LANE	0x10	/* server: for a peer of another lane; tun_rx hands it over */
#define PKT_F_LANED	0x20	/* server: handed over by another lane's tun_rx (once only) */
/*
 * Decrypt -> tun_tx: the IPv4 header and transport checksums of the packet
 * at data were verified right after it was opened (gro_csum_note), so the
 * coalescer need not read it again. Whatever moves data or changes bytes
 * without keeping the checksums right clears it.
 */
#define PKT_F_CSUM_OK	0x40

struct pkt {
	uint8_t *data;		/* first byte of the packet */
	uint32_t len;		/* bytes at data */
	uint32_t room;		/* bytes of buf[] */
	uint16_t pool_id;	/* home pool */
	uint8_t verdict;	/* PKT_OK or enum drop_reason */
	uint8_t flags;
	uint8_t key_id;		/* data channel key_id (0..7) */
	uint8_t in_use;		/* DEBUG double-free check; 1 while owned */
	uint16_t owner;		/* DEBUG: thread id of the current owner */
	uint32_t peer_id;	/* peer table index this packet belongs to */
	uint32_t pid;		/* data-channel packet-id */
	uint32_t key_gen;	/* generation of the key slot that opened it */
	uint64_t seq;		/* free for tests and benches */
	/*
	 * The next packet of a chain that one I/O carries as a whole: the
	 * members of a coalesced TUN write (core/gro.c) or of one UDP GSO send
	 * (io/link_tx.c). NULL otherwise; the chain's owner owns every member.
	 */
	struct pkt *next;
	union sockaddr_any addr;	/* udp_rx: source; udp_tx: destination */
	socklen_t addr_len;
	alignas(CACHELINE) uint8_t buf[];
};

struct spsc;

struct pool {
	uint16_t id;
	int home_tid;			/* thread that allocates; -1 before adoption */
	uint32_t count;			/* packets owned by the pool in all */
	uint32_t nfree;			/* entries on the free stack */
	uint32_t data_room;		/* payload bytes, PKT_MTU_DATA or PKT_GSO_DATA */
	size_t stride;			/* bytes from one pkt to the next */
	struct pkt **free;		/* home-only stack */
	struct spsc *ret[THREAD_MAX];	/* return rings, indexed by freeing thread */
	uint8_t *mem;
	uint64_t leaked;		/* frees from threads with no return ring */
};

/* ctrl only. Creates @count packets of class @cls owned by thread @home_tid. */
int pool_create(struct pool **out, uint32_t count, enum pkt_class cls, int home_tid) __must_check;
/* ctrl only, after every thread that used it has stopped. */
void pool_destroy(struct pool *pool);
/* ctrl only: lets thread @tid free packets of @pool (creates its return ring). */
int pool_add_returner(struct pool *pool, int tid) __must_check;
/* ctrl only: hands @pool to thread @tid, before that thread starts. */
void pool_set_home(struct pool *pool, int tid);

/* Home thread only: fills @p with up to @n reset packets, returns how many. */
unsigned int pool_get_burst(struct pool *pool, struct pkt **p, unsigned int n) __must_check;
struct pkt *pool_get(struct pool *pool) __must_check;
/* Any registered thread. Consumes @p. */
void pkt_free(struct pkt *p);
void pkt_free_burst(struct pkt **p, unsigned int n);
/* Home thread: packets free now (stack plus a drain of the return rings). */
uint32_t pool_available(struct pool *pool);
struct pool *pool_by_id(uint16_t id);

static inline void pkt_reset(struct pkt *p)
{
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
	p->verdict = PKT_OK;
	p->flags = 0;
	p->key_id = 0;
	p->peer_id = 0;
	p->pid = 0;
	p->key_gen = 0;
	p->addr_len = 0;
	p->next = NULL;
}

static inline uint32_t pkt_headroom(const struct pkt *p)
{
	return (uint32_t)(p->data - p->buf);
}

static inline uint32_t pkt_tailroom(const struct pkt *p)
{
	return p->room - pkt_headroom(p) - p->len;
}

/* Largest payload a reset packet of this pool accepts at data. */
static inline uint32_t pkt_data_room(const struct pkt *p)
{
	return p->room - PKT_HEADROOM - PKT_TAILROOM;
}

/* Grows the packet at the front by @n bytes; returns the new start or NULL. */
static inline uint8_t *pkt_push(struct pkt *p, uint32_t n)
{
	if (unlikely(pkt_headroom(p) < n))
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}

/* Shrinks the packet at the front by @n bytes; returns the new start or NULL. */
static inline uint8_t *pkt_pull(struct pkt *p, uint32_t n)
{
	if (unlikely(p->len < n))
		return NULL;
	p->data += n;
	p->len -= n;
	return p->data;
}

#ifdef DEBUG
#define PKT_OWN(p)	((p)->owner = (uint16_t)thread_self_id())
#define PKT_ASSERT_OWNER(p) \
	do { if ((p)->owner != (uint16_t)thread_self_id()) pkt_owner_panic(p); } while (0)
void pkt_owner_panic(const struct pkt *p) __attribute__((noreturn));
#else
#define PKT_OWN(p)		do { (void)(p); } while (0)
#define PKT_ASSERT_OWNER(p)	do { (void)(p); } while (0)
#endif

#endif
