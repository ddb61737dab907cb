/*
 * loadgen.h - the load generator's state (bench/loadgen.c runs the sessions,
 * bench/loadgen_cli.c parses the arguments and prints the results). Thread:
 * main only.
 */
#ifndef SLUICE_BENCH_LOADGEN_H
#define SLUICE_BENCH_LOADGEN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../core/clock.h"
#include "../core/proto.h"
#include "../ctrl/config/options.h"
#include "../ctrl/client/session.h"

#define LOADGEN_EVENTS_MAX	256	/* epoll events per wakeup */
#define LOADGEN_RX_BUDGET	64	/* datagrams per socket per wakeup: fairness */
#define LOADGEN_EXIT_WAIT_NS	(1 * NSEC_PER_SEC)	/* for the EXIT's ack, then drop it */
#define LOADGEN_TIMER_MIN_NS	NSEC_PER_MSEC	/* never spin on a timer in the past */
#define LOADGEN_SESSIONS_MAX	100000u	/* one fd and one session each */

enum slot_state {
	SLOT_FREE,		/* no socket; session idle, ready for the next handshake */
	SLOT_HANDSHAKE,		/* in flight */
	SLOT_HELD,		/* established, kept open (--hold) */
	SLOT_CLOSING,		/* EXIT sent, waiting for its ack */
};

enum fail_reason { FAIL_TIMEOUT, FAIL_RESTART, FAIL_FATAL, FAIL_SOCKET, FAIL_COUNT };

struct loadgen;

/* One client: its options (pushes are applied to them), session and socket. */
struct slot {
	struct loadgen *lg;
	struct options o;
	struct session *s;
	int fd;
	enum slot_state st;
	int64_t start_ns;
	int64_t deadline_ns;	/* handshake timeout, or end of the EXIT wait */
	int64_t next_ns;	/* earliest of the session's timers and deadline_ns */
	int64_t leave_ns;	/* --leave-after: when this held session says EXIT */
};

struct loadgen {
	/* Arguments. */
	const char *config;
	unsigned int total;
	unsigned int conc;
	bool hold;
	unsigned int max_secs;
	unsigned int hs_timeout;
	unsigned int leave_after;	/* seconds, 0: held sessions stay */
	unsigned int seed;		/* 0: from the clock */
	bool has_seed;
	/* --src-net: source addresses handed out in turn (host order). */
	uint32_t src_base, src_count, src_next;
	/* The server, from the config's first remote. */
	struct sockaddr_storage srv;
	socklen_t srv_len;
	char srv_str[300];
	/* Source ports handed out in turn (see loadgen_bind). */
	unsigned int port_lo, port_span, port_next;
	int ep;
	struct slot *slots;
	unsigned int nslots;
	unsigned int *free_idx;	/* stack of SLOT_FREE slots */
	unsigned int nfree;
	/* Sockets of finished sessions, open until exit or the ring is full (slot_release). */
	int *linger;
	unsigned int linger_cap, linger_head, linger_n;
	/* Progress. */
	unsigned int started, ok, inflight, held, closing, lost;
	unsigned int exit_unacked;	/* EXITs the server did not ack in time */
	unsigned int rekeys;		/* renegotiated keys of established sessions */
	unsigned int left;		/* --leave-after: sessions that left */
	unsigned int fails[FAIL_COUNT];
	int64_t *lat_ns;	/* [ok] handshake latencies, lat_cap of them */
	unsigned int lat_cap;
	int64_t t0_ns;
	int64_t hs_end_ns;	/* all handshakes resolved (0: not yet) */
	int64_t next_ns;	/* earliest slot timer */
	uint64_t rx_ctrl, rx_data, rx_errs, tx_errs;
	struct epoll_event evs[LOADGEN_EVENTS_MAX];
	uint8_t rx_buf[WIRE_MAX];
};

/* Set by SIGTERM/SIGINT (loadgen_cli.c): the current phase ends. */
extern volatile sig_atomic_t loadgen_stop;

/* Every slot's options and session (TLS context) before the clock starts. */
int loadgen_setup(struct loadgen *lg, char *err, size_t errlen);
/* Handshake phase: until -n were resolved, or -t / a signal. */
void loadgen_run(struct loadgen *lg, int64_t end_ns);
/* --hold: says "ready ..." on stdout, then keeps the sessions until told. */
void loadgen_hold(struct loadgen *lg, int64_t end_ns);
/* EXIT to every established session, then waits (bounded) for the acks. */
void loadgen_shutdown(struct loadgen *lg);
void loadgen_free(struct loadgen *lg);

#endif
