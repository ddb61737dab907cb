/*
 * testkey.c - owns the fixed-key test mode (`test-data-key FILE DIR`): the
 * data plane runs with one static key in slot 0 of peer 0, over a UDP socket
 * connected to `remote`, with no control channel, no timers and no
 * reconnect. The namespace data-plane tests and the benchmarks run it.
 *
 * Thread: ctrl only; main.c calls in through testkey_mode_ops (ctrl/mode.h).
 * Control packets that arrive anyway are counted by main.c and freed.
 * SIGTERM/SIGINT exit at once; SIGHUP/SIGUSR1 are logged and ignored.
 */
#include <errno.h>
#include <time.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "../core/log.h"
#include "client/client.h"
#include "config/options.h"
#include "config/runcfg.h"
#include "../io/pipeline.h"
#include "state.h"
#include "testkey.h"

struct testkey {
	struct runcfg *rc;
	int udp_fd;
	bool is_stopping;
	struct conn_info ci;		/* always CONNECTED: one fixed key, no handshake */
};

static int testkey_create(void **out, struct runcfg *rc)
{
	struct testkey *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->rc = rc;
	t->ci.state = CONN_CONNECTED;
	t->ci.reason = CONN_WHY_NONE;
	t->ci.since = time(NULL);
	t->udp_fd = -1;
	*out = t;
	return 0;
}

static int testkey_udp_open(void *m)
{
	struct testkey *t = m;
	union sockaddr_any remote;

	t->udp_fd = client_udp_open(t->rc, &remote);
	return t->udp_fd;
}

/* Direction 0 takes the server's key halves, 1 the client's (like key-direction). */
static void testkey_pipeline_cfg(void *m, struct pipeline_cfg *pc)
{
	struct testkey *t = m;

	pc->is_server = t->rc->test_key_direction == 0;
	pc->single_peer = true;
	pc->client_to_client = false;
	pc->max_peers = 1;
}

/* The key goes in before the threads start, so no packet meets a peer without one. */
static int testkey_attach(void *m, struct pipeline *pl)
{
	struct testkey *t = m;
	struct runcfg *rc = t->rc;
	int err;

	err = pipeline_peer_add(pl, 0, rc->test_peer_id, NULL, 0);
	err = err ?: pipeline_key_install(pl, 0, 0, rc->test_cipher, rc->test_key);
	if (err) {
		errno = -err;
		log_warn("pipeline: cannot install the test key");
		return err;
	}
	pipeline_key_set_tx(pl, 0, 0);
	pipeline_peer_set_comp(pl, 0, runcfg_comp(rc->opts));
	return 0;
}

static int testkey_start(void *m, const char *ifname, int64_t now_ns)
{
	struct testkey *t = m;
	struct runcfg *rc = t->rc;

	(void)ifname;
	(void)now_ns;
	log_info("data plane up: %s, %u crypto worker(s) per direction, peer-id %u, test key "
		 "direction %d", dc_cipher_name(rc->test_cipher), rc->workers, rc->test_peer_id,
		 rc->test_key_direction);
	log_info("Initialization Sequence Completed");
	return 0;
}

/* No control channel: main.c counts what arrives and frees it. */
static void testkey_input(void *m, const struct pkt *p, int64_t now_ns)
{
	(void)m;
	(void)p;
	(void)now_ns;
}

static void testkey_idle(void *m, int64_t now_ns)
{
	(void)m;
	(void)now_ns;
}

static int64_t testkey_next_timeout(void *m, int64_t now_ns)
{
	(void)m;
	(void)now_ns;
	return INT64_MAX;
}

static void testkey_signal(void *m, int signo, int64_t now_ns)
{
	struct testkey *t = m;

	(void)now_ns;
	if (signo == SIGTERM || signo == SIGINT)
		t->is_stopping = true;
	else
		log_info("signal %d ignored: restart needs a control channel", signo);
}

static bool testkey_done(void *m, int *status)
{
	struct testkey *t = m;

	if (t->is_stopping)
		*status = 0;
	return t->is_stopping;
}

static bool testkey_initialized(void *m)
{
	(void)m;
	return true;
}

static const struct conn_info *testkey_conn_info(void *m)
{
	struct testkey *t = m;

	return &t->ci;
}

/* The key=value status has the data plane's counters only (status.c writes them). */
static void testkey_write_status(void *m, enum status_fmt fmt, FILE *f)
{
	(void)m;
	(void)fmt;
	(void)f;
}

static void testkey_stop(void *m)
{
	(void)m;
}

static void testkey_free(void *m)
{
	struct testkey *t = m;

	if (t->udp_fd >= 0)
		close(t->udp_fd);
	free(t);
}

const struct mode_ops testkey_mode_ops = {
	.name = "test-data-key",
	.has_ovpn_status = false,
	.create = testkey_create,
	.tun_ifconfig = NULL,
	.udp_open = testkey_udp_open,
	.pipeline_cfg = testkey_pipeline_cfg,
	.attach = testkey_attach,
	.start = testkey_start,
	.input = testkey_input,
	.run = testkey_idle,
	.next_timeout = testkey_next_timeout,
	.second = testkey_idle,
	.signal = testkey_signal,
	.done = testkey_done,
	.initialized = testkey_initialized,
	.conn_info = testkey_conn_info,
	.write_status = testkey_write_status,
	.stop = testkey_stop,
	.free = testkey_free,
};
