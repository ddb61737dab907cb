/*
 * server.c - owns server mode's setup and teardown (keys, certificates,
 * the first-packet classifier, the endpoint table, the address pool), its
 * listening socket, the first packets of every source and the creation of
 * a control session per client, the session timers, and server_mode_ops:
 * what main.c calls (ctrl/mode.h).
 *
 * Thread: ctrl only. No state exists for a source until its third packet
 * proves the address (the cookie): resets and floods cost one classify call
 * each (ctrl/server/firstpkt.c). A datagram from a known address must carry
 * that client's session id, so a client that restarts from the same address
 * and port is handled as new. The rest of a client's life is in
 * server_client.c, its addresses and routes in server_route.c, the status
 * file in server_status.c, the TCP listening socket and closed connections
 * in server_tcp.c (server_int.h lists them).
 *
 * Timers:
 *   session timers     handshake, retransmits, renegotiation (srvsess.c); the
 *                      earliest is cached in s->next_ns, refreshed by
 *                      server_client_check, and run by server_run
 *   keepalive (1 s)    server_second: pings, ping-restart reaping, routes,
 *                      the pool file
 *   exit_deadline_ns   SIGTERM: wait for the clients' RESTART acks until then
 *
 * Control datagrams a session sends while ctrl handles one of its inputs or
 * timers are held (struct srv_txhold) until server_client_check has acted on
 * the session's new state, and go out then, in order. Our key-method-2 reply
 * or PUSH_REPLY makes a stock 2.6 client send on the new data keys at once,
 * and server_client_check is what installs those keys in the data plane:
 * sent straight away, the client's first packets on a renegotiated key could
 * beat the install to udp_rx and be dropped as udp_rx.drop.no_key (seen under
 * load: tests/interop/server_rekey_load.sh with CLIENT_IMPL=stock).
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../../core/addrtab.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../crypto/tlswrap.h"
#include "../../io/io.h"
#include "../config/config.h"
#include "../config/runcfg.h"
#include "../../io/pipeline.h"
#include "../proto/km2.h"
#include "../proto/occ.h"
#include "../proto/tls.h"
#include "server_int.h"

/* One input or timer's datagrams: up to 3 key states x (6 messages + acks), rounded up. */
#define SRV_TXHOLD_MAX	32

struct srv_txhold {
	bool is_on;
	unsigned int n;
	struct {
		union sockaddr_any sa;
		socklen_t salen;
		size_t len;
		uint8_t buf[WIRE_MAX];
	} d[SRV_TXHOLD_MAX];
};

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* ---- setup ----------------------------------------------------------- */

/* The text of a file option: inline data borrowed, a path read (*owned set). */
static const char *file_text(const struct options_file *f, char **owned, size_t *len, char *err,
			     size_t errlen)
{
	*owned = NULL;
	if (f->is_inline) {
		*len = strlen(f->data);
		return f->data;
	}
	if (config_file_load(f->data, owned, len, err, errlen))
		return NULL;
	return *owned;
}

static int server_wrap_setup(struct server *s, struct firstpkt_cfg *fc, char *err, size_t errlen)
{
	const struct options *o = s->o;
	const struct options_conn *ce = &o->conns.v[0];
	const struct options_file *tc = ce->tls_crypt.data ? &ce->tls_crypt : &o->tls_crypt;
	const struct options_file *ta = ce->tls_auth.data ? &ce->tls_auth : &o->tls_auth;
	const struct options_file *v2 = ce->tls_crypt_v2.data ? &ce->tls_crypt_v2 : &o->tls_crypt_v2;
	const struct options_file *f = v2->data ? v2 : tc->data ? tc : ta->data ? ta : NULL;
	char *owned;
	const char *text;
	size_t len;
	int rc;

	fc->wrap = FIRSTPKT_WRAP_NONE;
	if (!f)
		return 0;
	text = file_text(f, &owned, &len, err, errlen);
	if (!text)
		return -EINVAL;
	if (f == v2) {
		rc = wkc_server_key_parse(text, s->v2_key);
		fc->wrap = FIRSTPKT_WRAP_TLS_CRYPT_V2;
		fc->key = s->v2_key;
	} else {
		rc = dc_static_key_parse(text, s->wrap_key);
		fc->wrap = f == tc ? FIRSTPKT_WRAP_TLS_CRYPT : FIRSTPKT_WRAP_TLS_AUTH;
		fc->key = s->wrap_key;
		fc->auth_direction = ce->key_direction < 0 ? TLSWRAP_DIR_BIDI : ce->key_direction;
		fc->auth_digest = o->auth;
	}
	if (owned)
		config_file_unload(owned, len);
	if (rc)
		snprintf(err, errlen, "options: %s: not a valid key file", f == v2 ? "tls-crypt-v2" :
			 f == tc ? "tls-crypt" : "tls-auth");
	return rc ? -EINVAL : 0;
}

static int server_tls_setup(struct server *s, char *err, size_t errlen)
{
	const struct options *o = s->o;
	struct tls_conf tc;

	/* ca/cert/key or pkcs12: tls_ctx_create says what is missing. */
	runcfg_tls_conf(o, true, &tc);
	if (o->crl_verify_dir) {
		snprintf(err, errlen, "options: crl-verify ... dir is not supported (give a CRL file)");
		return -ENOTSUP;
	}
	return tls_ctx_create(&s->tctx, &tc, err, errlen);
}

static int server_check_options(const struct options *o, char *err, size_t errlen)
{
	if (o->auth_user_pass_verify && o->script_security < 2) {
		snprintf(err, errlen, "options: auth-user-pass-verify needs 'script-security 2' "
			 "(or higher) to run '%s'", o->auth_user_pass_verify);
		return -EINVAL;
	}
	/* As stock: without a client certificate something else must say who the client is. */
	if (!o->auth_user_pass_verify &&
	    (o->verify_client_cert != OPT_CLIENT_CERT_REQUIRE || o->username_as_common_name)) {
		snprintf(err, errlen, "options: %s must be used with an auth-user-pass-verify script",
			 o->username_as_common_name ? "username-as-common-name" :
			 "verify-client-cert none|optional");
		return -EINVAL;
	}
	if (!o->has_ifconfig_pool && !o->has_ifconfig_ipv6_pool && !o->client_config_dir) {
		snprintf(err, errlen, "options: server mode needs an address pool ('server', "
			 "'server-ipv6' or 'ifconfig-pool') or a client-config-dir with ifconfig-push");
		return -EINVAL;
	}
	return 0;
}

/*
 * The options checked, keys and certificates loaded, and the tables sized
 * for the data plane's peer slots. On failure @err says what is wrong and
 * everything built so far is released by server_teardown.
 */
static int server_setup(struct server *s, char *err, size_t errlen)
{
	struct options *o = s->o;
	struct firstpkt_cfg fc = { .hand_window_sec = o->hand_window };
	int rc;

	/* connect-freq-initial N S: N replies per S seconds to unknown sources, burst N. */
	if (o->connect_freq_initial_n && o->connect_freq_initial_sec) {
		fc.budget_rate = MAX(o->connect_freq_initial_n / o->connect_freq_initial_sec, 1u);
		fc.budget_burst = o->connect_freq_initial_n;
	}
	s->max = pipeline_max_peers(s->pl);
	s->next_ns = INT64_MAX;
	s->cl = calloc(s->max, sizeof(*s->cl));
	s->fr = malloc(sizeof(*s->fr));
	s->hold = calloc(1, sizeof(*s->hold));
	rc = !s->cl || !s->fr || !s->hold ? -ENOMEM : 0;
	rc = rc ?: server_check_options(o, err, errlen);
	rc = rc ?: server_wrap_setup(s, &fc, err, errlen);
	rc = rc ?: server_tls_setup(s, err, errlen);
	if (!rc && (rc = firstpkt_create(&s->fp, &fc)))
		snprintf(err, errlen, "server: cannot set up the first-packet classifier");
	if (!rc && (rc = addrtab_create(&s->addrs, s->max)))
		snprintf(err, errlen, "server: cannot allocate the endpoint table");
	if (!rc && (rc = srvpool_init(&s->pool, o)))
		snprintf(err, errlen, "server: cannot allocate the address pool");
	rc = rc ?: server_persist_load(s, err, errlen);
	if (!rc && o->auth_gen_token)
		rc = srvtoken_key_load(&s->token_key, o, err, errlen);
	if (rc) {
		if (rc == -ENOMEM && !err[0])
			snprintf(err, errlen, "server: out of memory");
		return rc;
	}
	s->scfg = (struct srvsess_cfg){
		.o = o, .tctx = s->tctx, .wrap = fc.wrap, .wrap_key = fc.key,
		.auth_direction = fc.auth_direction, .auth_digest = fc.auth_digest,
		.token_key = o->auth_gen_token ? &s->token_key : NULL,
	};
	return 0;
}

/*
 * Everything server_setup built, and every client (sessions freed, peers
 * and routes out of the data plane, which must still exist): at exit once
 * the data threads stopped, or after a failed setup. The pool file is
 * written one last time. Safe to call twice.
 */
static void server_teardown(struct server *s)
{
	server_persist_save(s);
	s->keep_conn = true;		/* the data threads stopped: nothing is sent now */
	for (uint32_t i = 0; s->cl && i < s->max; i++)
		if (s->cl[i].used)
			server_client_reap(s, &s->cl[i], NULL);
	if (s->pl && s->cl && pipeline_routes_publish(s->pl))
		log_warnx("server: cannot publish the routes at exit");
	firstpkt_free(s->fp);
	s->fp = NULL;
	if (s->addrs)
		addrtab_destroy(s->addrs);
	s->addrs = NULL;
	if (s->tctx)
		tls_ctx_put(s->tctx);
	s->tctx = NULL;
	srvpool_destroy(&s->pool);
	memset(&s->pool, 0, sizeof(s->pool));
	s->persist = false;
	OPENSSL_cleanse(s->wrap_key, sizeof(s->wrap_key));
	OPENSSL_cleanse(s->v2_key, sizeof(s->v2_key));
	OPENSSL_cleanse(&s->token_key, sizeof(s->token_key));
	free(s->fr);
	s->fr = NULL;
	free(s->hold);
	s->hold = NULL;
	free(s->cl);
	s->cl = NULL;
	s->max = 0;
}

/* The UDP socket (local address or any, port; of a lane group: main.c). The fd or -errno. */
static int server_udp_open(const char *local, uint16_t port, bool group)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_PASSIVE,
				  .ai_family = local ? AF_UNSPEC : AF_INET };
	struct addrinfo *res;
	char portstr[8];
	int fd;

	snprintf(portstr, sizeof(portstr), "%u", port);
	if (getaddrinfo(local, portstr, &hints, &res)) {
		log_warnx("udp: cannot resolve local '%s'", local ? local : "*");
		return -EHOSTUNREACH;
	}
	fd = group ? udp_open_reuseport((const union sockaddr_any *)res->ai_addr, res->ai_addrlen) :
		     udp_open((const union sockaddr_any *)res->ai_addr, res->ai_addrlen, NULL, 0);
	freeaddrinfo(res);
	if (fd < 0) {
		errno = -fd;
		log_warn("udp: cannot listen on %s:%u", local ? local : "*", port);
		return fd;
	}
	log_info("UDPv4 link local (bound): [AF_INET]%s:%u", local ? local : "*", port);
	return fd;
}

/* ---- sending --------------------------------------------------------- */

int server_send_to(struct server *s, const union sockaddr_any *sa, socklen_t len,
		   const uint8_t *buf, size_t n)
{
	int rc = pipeline_ctrl_send(s->pl, 0, sa, len, buf, n);

	if (rc == -ENOBUFS)
		s->st.tx_ctrl_errs++;
	return rc;
}

static void txhold_flush(struct server *s)
{
	struct srv_txhold *h = s->hold;

	for (unsigned int i = 0; h && i < h->n; i++)
		(void)server_send_to(s, &h->d[i].sa, h->d[i].salen, h->d[i].buf, h->d[i].len);
	if (h)
		h->n = 0;
}

void server_tcp_hangup(struct server *s, const union sockaddr_any *sa, socklen_t len)
{
	struct srv_txhold *h = s->hold;
	static const uint8_t none[1];

	if (!s->rc->tcp_server || !s->pl || !len)
		return;
	/* A packet of length 0 asks the link to close the connection (io/link.h). */
	if (h && h->is_on) {
		if (h->n == SRV_TXHOLD_MAX)
			txhold_flush(s);
		memcpy(&h->d[h->n].sa, sa, len);
		h->d[h->n].salen = len;
		h->d[h->n].len = 0;
		h->n++;
		return;
	}
	(void)server_send_to(s, sa, len, none, 0);
}

/* From here to txhold_end, a session's datagrams wait (see the file header). */
static void txhold_begin(struct server *s)
{
	if (s->hold)
		s->hold->is_on = true;
}

static void txhold_end(struct server *s)
{
	if (s->hold)
		s->hold->is_on = false;
	txhold_flush(s);
}

/* session_io.send for one client: to wherever it is now (float moves it). */
static int client_send(void *arg, const uint8_t *buf, size_t len)
{
	struct srv_client *c = arg;
	struct srv_txhold *h = c->srv->hold;

	c->ctrl_tx_bytes += len;
	if (h && h->is_on && len <= WIRE_MAX) {
		if (h->n == SRV_TXHOLD_MAX)
			txhold_flush(c->srv);	/* more than one input makes: keep the order */
		memcpy(&h->d[h->n].sa, &c->addr, c->addr_len);
		h->d[h->n].salen = c->addr_len;
		h->d[h->n].len = len;
		memcpy(h->d[h->n].buf, buf, len);
		h->n++;
		return 0;
	}
	return server_send_to(c->srv, &c->addr, c->addr_len, buf, len);
}

/* ---- first packets and sessions --------------------------------------- */

/* A CREATE verdict: the client proved its address; it gets a slot and a session. */
static void server_session_create(struct server *s, const struct pkt *p, int64_t now)
{
	struct session_io io = { .send = client_send };
	struct srv_client *c;
	char a[64];

	if (s->shutting_down)
		return;
	if (s->count >= s->max || (s->o->max_clients && s->count >= s->o->max_clients)) {
		s->st.refused_max_clients++;
		log_warnx("MULTI: new incoming connection from %s would exceed maximum number of "
			  "clients (%u)", srv_addr_str(&p->addr, a, sizeof(a)),
			  s->o->max_clients ? s->o->max_clients : s->max);
		return;
	}
	c = server_client_alloc(s);
	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->id = (uint32_t)(c - s->cl);
	c->srv = s;
	c->pool_idx = -1;
	c->cid = s->next_cid++;
	memcpy(&c->addr, &p->addr, p->addr_len);
	c->addr_len = p->addr_len;
	memcpy(c->sid, s->fr->pkt.sid, SID_LEN);
	io.arg = c;
	c->ctrl_rx_bytes = p->len;
	s->count++;
	txhold_begin(s);
	if (srvsess_create(&c->sess, &s->scfg, &io, s->fr, p->data, p->len, now)) {
		log_warnx("%s: cannot create a session", srv_addr_str(&p->addr, a, sizeof(a)));
		c->sess = NULL;
		server_client_reap(s, c, NULL);
		txhold_end(s);
		return;
	}
	if (addrtab_insert(s->addrs, &c->addr, c->id)) {
		server_client_reap(s, c, "cannot index the client's address");
		txhold_end(s);
		return;
	}
	s->st.sessions_created++;
	log_info("%s: new session, peer-id %u", srv_addr_str(&p->addr, a, sizeof(a)), c->id);
	server_client_check(s, c, now);
	txhold_end(s);
}

/* One control datagram (p->addr: its source): to its session, or to the classifier. */
/*
 * An authenticated OCC message from a client (ctrl/proto/occ.h):
 * OCC_REQUEST gets our options string, OCC_EXIT ends the client as stock
 * does for explicit-exit-notify without cc-exit.
 */
static void server_inband(void *m, const struct pkt *p, int64_t now_ns)
{
	struct server *s = m;
	struct srv_client *c = p->peer_id < s->max ? &s->cl[p->peer_id] : NULL;
	uint8_t buf[OCC_MAGIC_LEN + 1 + KM2_OPTIONS_MAX];
	int n;

	(void)now_ns;
	if (!c || !c->used || !c->active)
		return;
	switch (occ_parse(p->data, p->len)) {
	case OCC_REQUEST:
		n = occ_build(buf, sizeof(buf), OCC_REPLY, srvsess_occ_string(c->sess));
		if (n > 0)
			(void)pipeline_send_inband(s->pl, c->id, buf, (size_t)n);
		break;
	case OCC_EXIT:
		s->st.exits++;
		server_client_reap(s, c, "OCC exit message received by peer, client-instance exiting");
		break;
	default:
		break;
	}
}

static void server_input(void *m, const struct pkt *p, int64_t now_ns)
{
	struct server *s = m;
	struct srv_client *c = NULL;
	uint32_t id;

	if (p->len < 1 + SID_LEN || !p->addr_len)
		return;
	id = addrtab_lookup(s->addrs, &p->addr);
	if (id != ADDRTAB_NONE && id < s->max && s->cl[id].used) {
		c = &s->cl[id];
		/* Byte 1..8 is the sender's session id in the clear under every wrapping. */
		if (!memcmp(p->data + 1, c->sid, SID_LEN)) {
			c->ctrl_rx_bytes += p->len;
			txhold_begin(s);
			srvsess_input(c->sess, p->data, p->len, now_ns);
			server_client_check(s, c, now_ns);
			txhold_end(s);
			return;
		}
	}
	switch (firstpkt_classify(s->fp, p->data, p->len, &p->addr, p->addr_len, wall_ns(),
				  s->fr)) {
	case FIRSTPKT_REPLY:
		(void)server_send_to(s, &p->addr, p->addr_len, s->fr->reply, s->fr->reply_len);
		break;
	case FIRSTPKT_CREATE:
		if (c) {
			/* Same address and port, new session id: the client restarted. */
			s->st.restarts_same_endpoint++;
			s->st.replaced++;
			/* Over TCP the new session runs on the same connection. */
			s->keep_conn = true;
			server_client_reap(s, c, "restarted from the same address: old session "
					   "dropped");
			s->keep_conn = false;
		}
		server_session_create(s, p, now_ns);
		break;
	default:
		break;
	}
}

/* ---- timers ------------------------------------------------------------- */

/* Floats, session timers due, route publication; the SIGTERM exit once acked or late. */
static void server_run(void *m, int64_t now_ns)
{
	struct server *s = m;

	server_floats(s);
	server_tcp_closed(s);
	if (now_ns >= s->next_ns) {
		s->next_ns = INT64_MAX;
		for (uint32_t i = 0; i < s->max; i++) {
			struct srv_client *c = &s->cl[i];

			if (!c->used)
				continue;
			if (c->next_ns <= now_ns) {
				txhold_begin(s);
				srvsess_tick(c->sess, now_ns);
				server_client_check(s, c, now_ns);
				txhold_end(s);
			} else if (c->next_ns < s->next_ns) {
				s->next_ns = c->next_ns;
			}
		}
	}
	server_route_publish(s);
	if (s->exit_deadline_ns && (server_idle(s) || now_ns >= s->exit_deadline_ns))
		s->is_stopping = true;
}

static void server_second(void *m, int64_t now_ns)
{
	struct server *s = m;

	server_keepalive(s, now_ns);
	server_route_publish(s);
	server_persist_tick(s, now_ns);
}

static int64_t server_next_timeout(void *m, int64_t now_ns)
{
	struct server *s = m;

	(void)now_ns;
	if (s->exit_deadline_ns && s->exit_deadline_ns < s->next_ns)
		return s->exit_deadline_ns;
	return s->next_ns;
}

/* ---- the mode operations main.c calls (ctrl/mode.h) ------------------ */

static int server_create(void **out, struct runcfg *rc)
{
	struct server *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->rc = rc;
	s->o = rc->opts;
	s->udp_fd = -1;
	s->next_ns = INT64_MAX;
	/* A server is up (CONNECTED) while it listens; each client has its status line. */
	s->ci.state = CONN_CONNECTING;
	s->ci.reason = CONN_WHY_INIT;
	s->ci.since = time(NULL);
	*out = s;
	return 0;
}

static int server_udp(void *m)
{
	struct server *s = m;

	if (s->rc->tcp_server)
		s->udp_fd = server_tcp_open(s->rc->local_host, s->rc->local_port);
	else
		s->udp_fd = server_udp_open(s->rc->local_host, s->rc->local_port, s->rc->io_lanes > 1);
	return s->udp_fd;
}

/* One peer slot per client (max-clients), the server's key halves, client-to-client. */
static void server_pipeline_cfg(void *m, struct pipeline_cfg *pc)
{
	struct server *s = m;

	pc->is_server = true;
	pc->single_peer = false;
	pc->client_to_client = s->o->client_to_client;
	pc->max_peers = MAX(s->o->max_clients, 1u);
	/*
	 * Over TCP: room for every client plus as many connections that have not
	 * (or never will) become one; a connection silent for the clients'
	 * ping-restart is closed (io/tcp_server.c).
	 */
	pc->link_max_conns = 2 * pc->max_peers + 16;
	pc->link_idle_s = s->o->ping_rec_timeout;
}

static int server_attach(void *m, struct pipeline *pl)
{
	struct server *s = m;

	s->pl = pl;
	return 0;
}

static int server_start(void *m, const char *ifname, int64_t now_ns)
{
	struct server *s = m;
	char err[512] = "";
	int rc;

	(void)now_ns;
	rc = server_setup(s, err, sizeof(err));
	if (rc) {
		log_warnx("%s", err);
		server_teardown(s);
		return rc;
	}
	/* The management interface's >STATE: lines, as a stock server's. */
	snprintf(s->ci.local4, sizeof(s->ci.local4), "%s", s->o->ifconfig_local ?: "");
	snprintf(s->ci.local_ip, sizeof(s->ci.local_ip), "%s", s->rc->local_host ?: "");
	s->ci.local_port = s->rc->local_port;
	state_change(&s->ci, CONN_ASSIGN_IP, CONN_WHY_NONE, time(NULL));
	rc = server_tun_setup(s->o, ifname);
	if (rc)
		return rc;
	log_info("Initialization Sequence Completed");
	state_change(&s->ci, CONN_CONNECTED, CONN_WHY_INIT, time(NULL));
	return 0;
}

/*
 * SIGHUP: the CRL and the CA file read again (the next handshake of any
 * client, a connected client's renegotiation too, is checked against
 * them; a connected client whose certificate they refuse now, e.g. a
 * revoked one, is told to reconnect and dropped), and every connected
 * client's client-config-dir file: a client
 * whose file changed is told to reconnect (RESTART) so the new settings
 * apply, one that is now `disable`d is dropped; every other client stays.
 * Stock restarts the whole server instead, dropping every client.
 */
static void server_reload(struct server *s, int64_t now_ns)
{
	struct tls_conf tc;
	struct srv_ccd *ccd = malloc(sizeof(*ccd));
	char err[512] = "";
	unsigned int changed = 0;

	runcfg_tls_conf(s->o, true, &tc);
	if (tls_ctx_reload_store(s->tctx, &tc, err, sizeof(err)))
		log_warnx("SIGHUP: ca / crl-verify not reloaded, the old ones stay: %s", err);
	else
		log_info("SIGHUP: ca%s re-read", s->o->crl_verify.data ? " and crl-verify" : "");
	/* Connected clients whose certificate the new files refuse (a revoked one) go. */
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];
		struct chan *ch = c->used && c->active ? srvsess_chan(c->sess) : NULL;

		if (!ch || !ch->pri || !ch->pri->tls || !tls_conn_verify_again(ch->pri->tls))
			continue;
		log_warnx("SIGHUP: %s: %s", c->cn, tls_conn_error(ch->pri->tls));
		(void)srvsess_send_text(c->sess, "RESTART", now_ns);
		server_client_reap(s, c, "dropped: its certificate is no longer valid");
	}
	for (uint32_t i = 0; s->o->client_config_dir && i < s->max; i++) {
		struct srv_client *c = &s->cl[i];

		if (!ccd || !c->used || !c->active || !c->ccd)
			continue;
		if (srv_ccd_load(s->o, c->cn, ccd, err, sizeof(err)) ||
		    (c->mgmt_text && srv_ccd_apply_text(s->o, "client-auth", c->mgmt_text, ccd, err,
							 sizeof(err)))) {
			log_warnx("SIGHUP: %s", err);
			continue;
		}
		if (!memcmp(ccd, c->ccd, sizeof(*ccd)))
			continue;
		changed++;
		(void)srvsess_send_text(c->sess, ccd->disable ? "HALT" : "RESTART", now_ns);
		server_client_reap(s, c, ccd->disable ? "dropped: client-config-dir disables it" :
				   "client-config-dir changed: told to reconnect");
	}
	free(ccd);
	server_route_publish(s);
	log_info("SIGHUP: client-config-dir re-read, %u client(s) with changed settings "
		 "reconnecting, %u staying", changed, s->active);
}

/*
 * SIGUSR1, as stock's soft restart of a server: every client is told to
 * reconnect (RESTART) and dropped, the files are read again; the socket,
 * the TUN device and its routes stay.
 */
static void server_restart(struct server *s, int64_t now_ns)
{
	unsigned int n = 0;

	log_info("SIGUSR1[soft,sigusr1] received, process restarting");
	state_change(&s->ci, CONN_RECONNECTING, CONN_WHY_SIGUSR1, time(NULL));
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];

		if (!c->used)
			continue;
		if (c->active)
			(void)srvsess_send_text(c->sess, "RESTART", now_ns);
		server_client_reap(s, c, "SIGUSR1: client-instance restarting");
		n++;
	}
	server_route_publish(s);
	server_reload(s, now_ns);
	log_info("SIGUSR1: %u client(s) dropped", n);
	state_change(&s->ci, CONN_CONNECTED, CONN_WHY_SIGUSR1, time(NULL));
}

/*
 * SIGTERM/SIGINT: with explicit-exit-notify the clients are told to
 * reconnect and the process waits (2 s at most) for their acks; a second
 * one exits at once. SIGHUP reloads, SIGUSR1 restarts (above).
 */
static void server_signal(void *m, int signo, int64_t now_ns)
{
	struct server *s = m;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		state_change(&s->ci, CONN_EXITING, CONN_WHY_SIGNAL, time(NULL));
		if (!s->exit_deadline_ns && server_shutdown(s, now_ns))
			s->exit_deadline_ns = clock_mono_ns() + 2 * NS_PER_SEC;
		else
			s->is_stopping = true;
		break;
	case SIGHUP:
		if (s->tctx)
			server_reload(s, now_ns);
		break;
	case SIGUSR1:
		if (s->tctx)
			server_restart(s, now_ns);
		break;
	default:
		break;
	}
}

static bool server_done(void *m, int *status)
{
	struct server *s = m;

	if (s->is_stopping)
		*status = 0;
	return s->is_stopping;
}

/* Start-up is complete once start returned: user/group may go at once. */
static bool server_initialized(void *m)
{
	(void)m;
	return true;
}

/* A server is CONNECTED once it listens; its clients have their own lines. */
static const struct conn_info *server_conn_info(void *m)
{
	struct server *s = m;

	return &s->ci;
}

/* OpenVPN's status (server_status.c); key=value: the GLOBAL_STATS counters. */
static void server_status(void *m, enum status_fmt fmt, FILE *f)
{
	server_write_status(m, fmt, f);
}

static void server_stop(void *m)
{
	server_teardown(m);
}

static void server_free(void *m)
{
	struct server *s = m;

	server_teardown(s);
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	free(s);
}

const struct mode_ops server_mode_ops = {
	.name = "server",
	.has_ovpn_status = true,
	.create = server_create,
	.tun_ifconfig = NULL,
	.udp_open = server_udp,
	.pipeline_cfg = server_pipeline_cfg,
	.attach = server_attach,
	.start = server_start,
	.input = server_input,
	.inband = server_inband,
	.run = server_run,
	.next_timeout = server_next_timeout,
	.second = server_second,
	.signal = server_signal,
	.done = server_done,
	.initialized = server_initialized,
	.conn_info = server_conn_info,
	.write_status = server_status,
	.mgmt = &server_mgmt_ops,
	.stop = server_stop,
	.free = server_free,
};
