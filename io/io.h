/*
 * io.h - the four I/O loops and their setup helpers (DESIGN.md §2).
 *
 *   TUN --tun_rx--> enc ring[i]   (round robin)
 *   enc ring[i] --udp_tx--> UDP   (collected in the same order) + ctrl ring
 *   UDP --udp_rx--> dec ring[i]   (round robin) + ring to ctrl for control opcodes
 *   dec ring[i] --tun_tx--> TUN   (collected in the same order)
 *
 * io/ knows packets, rings and sockets, not crypto: the protocol decisions a
 * loop needs are stage ops that ctrl installs once at wiring time (l3fwd's
 * "decide once"). Each loop owns one io_uring created on its own thread.
 */
#ifndef SLUICE_IO_H
#define SLUICE_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/epoch.h"
#include "../core/pkt.h"
#include "../core/ring.h"
#include "../core/thread.h"
#include "../crypto/dc.h"

#define IO_WORKERS_MAX	16

struct tun_rx_thread;
struct tun_tx_thread;

/*
 * Stage ops mark a refused packet with p->verdict (an enum drop_reason); the
 * loop counts drop[verdict] and frees it, so an op must not count that drop
 * itself. The same holds for packets a worker refused: the collecting loop
 * (udp_tx, tun_tx) counts and frees them, and they still take their turn.
 */

/*
 * tun_rx op: for each packet just read from the TUN, pick the peer, key and
 * packet-id (p->peer_id, p->key_id, p->pid, p->addr) or set p->verdict.
 * Runs inside the thread's epoch section. Borrows the packets.
 */
typedef void (*tun_rx_classify_fn)(void *ctx, struct pkt **p, unsigned int n, struct stats *st);
/*
 * udp_rx op: validates a datagram at ingress (p->addr holds its source).
 * Returns PKT_OK for a data packet (to be dealt to a decrypt worker), PKT_OK
 * with *is_control set for a control packet (the loop marks it PKT_F_CONTROL
 * and hands it to ctrl), or a drop reason. Runs inside the thread's epoch
 * section when ctrl registered one (server mode deletes peers).
 */
typedef uint8_t (*udp_rx_classify_fn)(void *ctx, struct pkt *p, bool *is_control);
/*
 * tun_tx op: for each decrypted packet with verdict PKT_OK, runs the replay
 * window, strips compression framing and consumes in-band messages (ping,
 * OCC). Sets p->verdict for packets not to write; packets that must go to
 * ctrl get PKT_F_CONTROL, packets for another client (server with
 * client-to-client) PKT_F_FWD: they go back to tun_rx to be encrypted. Runs inside the thread's epoch section.
 */
typedef void (*tun_tx_accept_fn)(void *ctx, struct pkt **p, unsigned int n, int64_t now_ns,
				 struct stats *st);

struct tun_rx_thread {
	struct thread thr;
	int fd;				/* TUN queue, O_NONBLOCK */
	struct pool *pool;		/* home: this thread */
	struct spsc *out[IO_WORKERS_MAX];	/* to encrypt workers */
	unsigned int nout;
	struct spsc *inject;		/* from ctrl: pings and other in-band packets; may be NULL */
	struct spsc *fwd;		/* from tun_tx: client-to-client packets; may be NULL */
	struct doorbell db;		/* rung by ctrl (inject, stop) and tun_tx (fwd) */
	tun_rx_classify_fn classify;	/* NULL: every packet is PKT_OK */
	void *ctx;
	struct epoch_reader epoch;	/* registered by ctrl */
	unsigned int ring_flags;	/* set by the thread: IORING_SETUP_* the kernel took */
	int err;			/* set by the thread: -errno if the loop could not start */
};

struct udp_tx_thread {
	struct thread thr;
	int fd;				/* UDP socket; connected in client mode */
	struct spsc *in[IO_WORKERS_MAX];	/* from encrypt workers, collected in order */
	unsigned int nin;
	struct spsc *ctrl_in;		/* from ctrl; may be NULL */
	struct doorbell db;		/* rung by in[] and ctrl_in producers, and ctrl (stop) */
	const struct dc_peer_table *peers;	/* to stamp last_tx_ns (peer.h); may be NULL */
	struct epoch_reader epoch;	/* registered by ctrl when peers is set */
	unsigned int ring_flags;	/* set by the thread: IORING_SETUP_* the kernel took */
	int err;			/* set by the thread: -errno if the loop could not start */
};

struct udp_rx_thread {
	struct thread thr;
	int fd;
	struct pool *pool;		/* home: this thread */
	struct spsc *out[IO_WORKERS_MAX];	/* to decrypt workers */
	unsigned int nout;
	struct spsc *ctrl_out;		/* to ctrl; may be NULL */
	struct doorbell db;		/* stop requests */
	udp_rx_classify_fn classify;	/* NULL: every datagram is data */
	void *ctx;
	/* Registered by ctrl when classify reads peers a server may delete; else unused. */
	struct epoch_reader epoch;
	unsigned int ring_flags;	/* set by the thread: IORING_SETUP_* the kernel took */
	int err;			/* set by the thread: -errno if the loop could not start */
};

struct tun_tx_thread {
	struct thread thr;
	int fd;
	struct spsc *in[IO_WORKERS_MAX];	/* from decrypt workers, collected in order */
	unsigned int nin;
	struct spsc *ctrl_out;		/* to ctrl: OCC and other in-band messages; may be NULL */
	struct spsc *fwd_out;		/* to tun_rx: packets the op marked PKT_F_FWD; may be NULL */
	struct doorbell db;		/* rung by in[] producers, and ctrl (stop) */
	tun_tx_accept_fn accept;	/* NULL: accept as is */
	void *ctx;
	struct epoch_reader epoch;	/* registered by ctrl */
	unsigned int ring_flags;	/* set by the thread: IORING_SETUP_* the kernel took */
	int err;			/* set by the thread: -errno if the loop could not start */
};

/*
 * Thread mains (arg: the struct above). ctrl first wires the doorbell
 * (doorbell_init(&db)), the rings (each ring's consumer doorbell is the
 * consuming thread's db), the pools (home: the rx thread; every thread that
 * frees a packet registered with pool_add_returner) and the epoch readers.
 * If io_uring setup fails the thread stores -errno in err and returns at
 * once. Stop: thread_request_stop() then doorbell_kick(&db). On return the
 * loop has freed every packet it owned; packets still queued in its rings
 * belong to whoever drains those rings at teardown.
 */
void *tun_rx_thread_main(void *arg);
void *udp_tx_thread_main(void *arg);
void *udp_rx_thread_main(void *arg);
void *tun_tx_thread_main(void *arg);

/* TUN device (ctrl only). Opens or attaches @name ("" or "tun%d" picks one);
 * writes the kernel's name to @out_name (IFNAMSIZ). Returns the fd or -errno. */
int tun_open(const char *name, char *out_name, bool multi_queue);

/*
 * rtnetlink (ctrl only); each returns 0 or -errno (the kernel's ack, e.g.
 * -EEXIST for an address or route that is already there, -ESRCH or
 * -EADDRNOTAVAIL for one that is not). @family is AF_INET or AF_INET6; addresses
 * are struct in_addr / struct in6_addr in network order.
 * nl_link_set: sets the MTU (if @mtu > 0) and the up/down state.
 * nl_addr_add: @peer_or_null gives a point-to-point peer address.
 * nl_route_*: @dst NULL with @prefixlen 0 is the default route; @metric 0
 * leaves the kernel's default.
 */
int nl_link_set(const char *ifname, int mtu, bool up);
int nl_addr_add(const char *ifname, int family, const void *addr, int prefixlen,
		const void *peer_or_null);
int nl_addr_del(const char *ifname, int family, const void *addr, int prefixlen);
int nl_route_add(int family, const void *dst, int prefixlen, const void *gw_or_null,
		 const char *ifname_or_null, int metric);
/*
 * Asks the kernel how it reaches @dst now (ip route get): fills @gw_out
 * (address-sized) and *has_gw when the route has a gateway, and
 * @ifname_out (IFNAMSIZ) with the output device. ctrl only.
 */
int nl_route_get(int family, const void *dst, void *gw_out, bool *has_gw, char *ifname_out);
int nl_route_del(int family, const void *dst, int prefixlen, const void *gw_or_null,
		 const char *ifname_or_null, int metric);

/* UDP socket (ctrl only): bound to @local (port 0 = any), connected to
 * @remote if given, with large buffers. Returns the fd or -errno. */
int udp_open(const union sockaddr_any *local, socklen_t local_len,
	     const union sockaddr_any *remote, socklen_t remote_len);

#endif
