/*
 * server.c - owns server mode's clients: the stateless first packets
 * (ctrl/server/firstpkt.c), one control session per client (ctrl/server/srvsess.c), the
 * decision to admit it (ctrl/server/srvpolicy.c), its peer slot, keys and routes
 * in the data plane (io/pipeline.h), keepalive, float, reaping and the
 * status file.
 *
 * Thread: ctrl only. A client is indexed by its peer-id, which is also its
 * slot in the data plane's peer table; control datagrams find it through
 * the endpoint table (core/addrtab.h) and must carry its session id, so a
 * client that restarts from the same address and port is handled as new.
 * No state exists for a source until its third packet proves the address
 * (the cookie): resets and floods cost one classify call each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../../core/addrtab.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../crypto/tlswrap.h"
#include "../../io/io.h"
#include "../config/config.h"
#include "firstpkt.h"
#include "../config/options.h"
#include "../../io/pipeline.h"
#include "../config/runcfg.h"
#include "server.h"
#include "srvpolicy.h"
#include "srvsess.h"
#include "../proto/tls.h"

#define NS_PER_SEC	1000000000LL
#define CN_MAX		128

struct server_stats {
	uint64_t sessions_created;
	uint64_t clients_connected;	/* keys installed for the first time */
	uint64_t clients_reaped;
	uint64_t auth_failed;
	uint64_t refused_max_clients;
	uint64_t floats;
	uint64_t restarts_same_endpoint;
	uint64_t tx_ctrl_errs;
	uint64_t inactivity_timeouts;
	uint64_t exits;
};

struct srv_client {
	bool used;
	bool active;			/* data keys installed */
	bool peer_added;
	uint32_t id;
	struct server *srv;
	struct srvsess *sess;
	union sockaddr_any addr;
	socklen_t addr_len;
	uint8_t sid[SID_LEN];		/* the client's session id */
	int pool_idx;			/* -1: no pool entry */
	uint32_t v4, v4_second;		/* network order; v4 0: none */
	bool has_v6;
	uint8_t v6[16];
	struct srv_ccd *ccd;
	enum dc_cipher cipher;
	char cn[CN_MAX];
	char user[CN_MAX];
	time_t since;
	int64_t up_ns;
	int64_t next_ns;		/* srvsess_next_timeout, cached */
};

struct server {
	struct options *o;
	struct pipeline *pl;
	struct firstpkt *fp;
	struct firstpkt_result *fr;
	struct tls_ctx *tctx;
	struct srvsess_cfg scfg;
	uint8_t wrap_key[KEY2_LEN];
	uint8_t v2_key[WKC_SERVER_KEY_LEN];
	struct addrtab *addrs;
	struct srv_client *cl;
	uint32_t max;			/* peer slots */
	uint32_t next_id;		/* next-fit cursor: an id is not reused at once */
	uint32_t count;			/* slots in use */
	uint32_t active;
	struct srvpool pool;
	bool routes_dirty;
	uint32_t float_cursor;
	int64_t next_ns;		/* earliest session timer */
	bool shutting_down;
	bool persist;			/* ifconfig-pool-persist in use */
	int64_t persist_next_ns;
	struct server_stats st;
	char push[4096];
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
	struct tls_conf tc = {
		.is_server = true,
		.ca = { o->ca.data, o->ca.is_inline },
		.cert = { o->cert.data, o->cert.is_inline },
		.key = { o->key.data, o->key.is_inline },
		.extra_certs = { o->extra_certs.data, o->extra_certs.is_inline },
		.crl = { o->crl_verify.data, o->crl_verify.is_inline },
		.dh = { o->dh_none ? NULL : o->dh.data, o->dh.is_inline },
		.version_min = (enum tls_ver)o->tls_version_min,
		.version_max = (enum tls_ver)o->tls_version_max,
		.cipher_list = o->tls_cipher,
		.ciphersuites = o->tls_ciphersuites,
		.groups = o->tls_groups,
		.cert_profile = o->tls_cert_profile,
		.remote_cert_tls = (enum tls_cert_tls)o->remote_cert_tls,
		.verify_x509_name = o->verify_x509_name,
		.verify_x509_type = (enum tls_x509_type)o->verify_x509_type,
		.client_cert = (enum tls_client_cert)o->verify_client_cert,
	};

	if (!o->ca.data || !o->cert.data || !o->key.data) {
		snprintf(err, errlen, "options: server mode needs 'ca', 'cert' and 'key'");
		return -EINVAL;
	}
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
	if (!o->has_ifconfig_pool && !o->has_ifconfig_ipv6_pool && !o->client_config_dir) {
		snprintf(err, errlen, "options: server mode needs an address pool ('server', "
			 "'server-ipv6' or 'ifconfig-pool') or a client-config-dir with ifconfig-push");
		return -EINVAL;
	}
	return 0;
}

int server_create(struct server **out, struct options *o, struct pipeline *pl, char *err,
		  size_t errlen)
{
	struct firstpkt_cfg fc = { .hand_window_sec = o->hand_window };
	struct server *s = calloc(1, sizeof(*s));
	int rc;

	/* connect-freq-initial N S: N replies per S seconds to unknown sources, burst N. */
	if (o->connect_freq_initial_n && o->connect_freq_initial_sec) {
		fc.budget_rate = MAX(o->connect_freq_initial_n / o->connect_freq_initial_sec, 1u);
		fc.budget_burst = o->connect_freq_initial_n;
	}

	if (!s) {
		snprintf(err, errlen, "server: out of memory");
		return -ENOMEM;
	}
	s->o = o;
	s->pl = pl;
	s->max = pipeline_max_peers(pl);
	s->next_ns = INT64_MAX;
	s->cl = calloc(s->max, sizeof(*s->cl));
	s->fr = malloc(sizeof(*s->fr));
	rc = !s->cl || !s->fr ? -ENOMEM : 0;
	rc = rc ?: server_check_options(o, err, errlen);
	rc = rc ?: server_wrap_setup(s, &fc, err, errlen);
	rc = rc ?: server_tls_setup(s, err, errlen);
	if (!rc && (rc = firstpkt_create(&s->fp, &fc)))
		snprintf(err, errlen, "server: cannot set up the first-packet classifier");
	if (!rc && (rc = addrtab_create(&s->addrs, s->max)))
		snprintf(err, errlen, "server: cannot allocate the endpoint table");
	if (!rc && (rc = srvpool_init(&s->pool, o)))
		snprintf(err, errlen, "server: cannot allocate the address pool");
	if (!rc && o->ifconfig_pool_persist) {
		if (o->duplicate_cn) {
			log_warnx("WARNING: --ifconfig-pool-persist will not work with --duplicate-cn");
		} else if ((rc = srvpool_persist_load(&s->pool, o->ifconfig_pool_persist))) {
			snprintf(err, errlen, "ifconfig-pool-persist: cannot read %s: %s",
				 o->ifconfig_pool_persist, strerror(-rc));
		} else {
			s->persist = true;
			s->persist_next_ns = clock_mono_ns() +
					     (int64_t)o->ifconfig_pool_persist_sec * NS_PER_SEC;
		}
	}
	if (rc) {
		if (rc == -ENOMEM && !err[0])
			snprintf(err, errlen, "server: out of memory");
		server_free(s);
		return rc;
	}
	s->scfg = (struct srvsess_cfg){
		.o = o, .tctx = s->tctx, .wrap = fc.wrap, .wrap_key = fc.key,
		.auth_direction = fc.auth_direction, .auth_digest = fc.auth_digest,
	};
	*out = s;
	return 0;
}

static void client_reap(struct server *s, struct srv_client *c, const char *why);

/* ifconfig-pool-persist SECONDS 0 makes the file read-only, as in stock. */
static void server_persist_save(struct server *s)
{
	int rc;

	if (!s->persist || !s->o->ifconfig_pool_persist_sec)
		return;
	rc = srvpool_persist_save(&s->pool, s->o->ifconfig_pool_persist);
	if (rc) {
		errno = -rc;
		log_warn("ifconfig-pool-persist: cannot write %s", s->o->ifconfig_pool_persist);
	}
}

void server_free(struct server *s)
{
	if (!s)
		return;
	server_persist_save(s);
	for (uint32_t i = 0; s->cl && i < s->max; i++)
		if (s->cl[i].used)
			client_reap(s, &s->cl[i], NULL);
	if (s->pl && pipeline_routes_publish(s->pl))
		log_warnx("server: cannot publish the routes at exit");
	firstpkt_free(s->fp);
	if (s->addrs)
		addrtab_destroy(s->addrs);
	if (s->tctx)
		tls_ctx_put(s->tctx);
	srvpool_destroy(&s->pool);
	OPENSSL_cleanse(s->wrap_key, sizeof(s->wrap_key));
	OPENSSL_cleanse(s->v2_key, sizeof(s->v2_key));
	free(s->fr);
	free(s->cl);
	free(s);
}

/* ---- sending --------------------------------------------------------- */

static int send_to(struct server *s, const union sockaddr_any *sa, socklen_t len,
		   const uint8_t *buf, size_t n)
{
	int rc = pipeline_ctrl_send(s->pl, PEER_ID_NONE, sa, len, buf, n);

	if (rc == -ENOBUFS)
		s->st.tx_ctrl_errs++;
	return rc;
}

/* session_io.send for one client: to wherever it is now (float moves it). */
static int client_send(void *arg, const uint8_t *buf, size_t len)
{
	struct srv_client *c = arg;

	return send_to(c->srv, &c->addr, c->addr_len, buf, len);
}

/* ---- client lifecycle ------------------------------------------------ */

static const char *client_name(const struct srv_client *c, char *buf, size_t len)
{
	char a[64];

	snprintf(buf, len, "%s/%s", c->cn[0] ? c->cn : "UNDEF",
		 srv_addr_str(&c->addr, a, sizeof(a)));
	return buf;
}

static void client_reap(struct server *s, struct srv_client *c, const char *why)
{
	char name[200];

	if (why)
		log_info("%s %s", client_name(c, name, sizeof(name)), why);
	srvsess_free(c->sess);
	(void)addrtab_remove(s->addrs, &c->addr);
	if (c->peer_added) {
		pipeline_route_del_peer(s->pl, c->id);
		s->routes_dirty = true;
		pipeline_peer_del(s->pl, c->id);
	}
	if (c->pool_idx >= 0)
		srvpool_release(&s->pool, (uint32_t)c->pool_idx);
	if (c->active)
		s->active--;
	free(c->ccd);
	memset(c, 0, sizeof(*c));
	s->count--;
	s->st.clients_reaped++;
}

static struct srv_client *client_alloc(struct server *s)
{
	for (uint32_t k = 0; k < s->max; k++) {
		uint32_t i = (s->next_id + k) % s->max;

		if (!s->cl[i].used) {
			s->next_id = (i + 1) % s->max;
			return &s->cl[i];
		}
	}
	return NULL;
}

static void client_reject(struct server *s, struct srv_client *c, const char *why,
			  const char *reason)
{
	char name[200];

	log_warnx("%s %s", client_name(c, name, sizeof(name)), why);
	srvsess_reject(c->sess, reason);
	s->st.auth_failed++;
}

/* duplicate-cn off: a new login with a CN that is connected drops the old session. */
static void client_drop_duplicates(struct server *s, struct srv_client *c)
{
	if (s->o->duplicate_cn)
		return;
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *o = &s->cl[i];

		if (!o->used || o == c || strcmp(o->cn, c->cn) ||
		    srvsess_state(o->sess) < SRVSESS_AUTH)
			continue;
		log_info("MULTI: new connection by client '%s' will cause previous active "
			 "sessions by this client to be dropped. Remember to use the "
			 "--duplicate-cn option if you want multiple clients using the same "
			 "certificate or username to concurrently connect.", c->cn);
		client_reap(s, o, "dropped: replaced by a new session with the same common name");
	}
}

/* Addresses from client-config-dir or the pool. */
static int client_addresses(struct server *s, struct srv_client *c)
{
	bool need_pool = (!c->ccd->has_ifconfig && s->pool.has_v4) ||
			 (!c->ccd->has_ifconfig6 && s->pool.has_v6);

	c->pool_idx = -1;
	if (need_pool) {
		int idx = srvpool_alloc(&s->pool, c->cn);

		if (idx < 0)
			return idx;
		c->pool_idx = idx;
	}
	if (c->ccd->has_ifconfig) {
		c->v4 = c->ccd->ifc_local;
		c->v4_second = c->ccd->ifc_second;
	} else if (s->pool.has_v4) {
		srvpool_v4(&s->pool, (uint32_t)c->pool_idx, s->o, &c->v4, &c->v4_second);
	}
	if (c->ccd->has_ifconfig6) {
		memcpy(c->v6, c->ccd->ifc6, 16);
		c->has_v6 = true;
	} else if (s->pool.has_v6) {
		srvpool_v6(&s->pool, (uint32_t)c->pool_idx, c->v6);
		c->has_v6 = true;
	}
	return 0;
}

/* SRVSESS_AUTH: admit the client (script, CCD, cipher, address) or refuse it. */
static void client_auth(struct server *s, struct srv_client *c)
{
	const struct srvsess_client *ci = srvsess_client(c->sess);
	struct srvsess_accept acc = { .peer_id = c->id };
	struct srv_push_in pin = { .o = s->o, .peer = &ci->peer, .peer_id = c->id };
	char err[512] = "", name[200];
	int rc;

	snprintf(c->cn, sizeof(c->cn), "%s", s->o->username_as_common_name && ci->username[0] ?
		 ci->username : ci->common_name);
	snprintf(c->user, sizeof(c->user), "%s", ci->username);
	if (s->o->auth_user_pass_verify && srv_auth_script(s->o, ci, &c->addr) != 0) {
		client_reject(s, c, "TLS Auth Error: Auth Username/Password verification failed "
			      "for peer", NULL);
		return;
	}
	c->ccd = calloc(1, sizeof(*c->ccd));
	if (!c->ccd) {
		client_reject(s, c, "out of memory", NULL);
		return;
	}
	if (srv_ccd_load(s->o, c->cn, c->ccd, err, sizeof(err))) {
		log_warnx("%s", err);
		client_reject(s, c, "client-config-dir file refused", NULL);
		return;
	}
	if (c->ccd->disable) {
		client_reject(s, c, "MULTI: client has been rejected due to 'disable' directive",
			      NULL);
		return;
	}
	if (!(ci->peer.iv_proto & IV_PROTO_DATA_V2)) {
		client_reject(s, c, "client does not support P_DATA_V2 (peer-id); sluice serves "
			      "OpenVPN 2.4 and later clients", "client too old");
		return;
	}
	c->cipher = srv_cipher_pick(s->o, &ci->peer);
	if (c->cipher == DC_CIPHER_NONE) {
		log_warnx("%s: no common data cipher: server data-ciphers '%s', client IV_CIPHERS "
			  "'%s'", client_name(c, name, sizeof(name)), s->o->data_ciphers,
			  ci->peer.has_ciphers ? ci->peer.ciphers : "(none)");
		client_reject(s, c, "cipher negotiation failed", "Data channel cipher "
			      "negotiation failed (no shared cipher)");
		return;
	}
	client_drop_duplicates(s, c);
	if (client_addresses(s, c)) {
		client_reject(s, c, "MULTI: no free address in the pool", NULL);
		return;
	}
	pin.ccd = c->ccd;
	pin.v4_local = c->v4;
	pin.v4_second = c->v4_second;
	pin.has_v6 = c->has_v6;
	memcpy(pin.v6, c->v6, 16);
	pin.cipher = c->cipher;
	pin.ekm = !s->o->test_no_ekm && (ci->peer.iv_proto & IV_PROTO_TLS_KEY_EXPORT);
	rc = srv_push_build(s->push, sizeof(s->push), &pin);
	if (rc < 0) {
		client_reject(s, c, "PUSH_REPLY too long", NULL);
		return;
	}
	acc.push = s->push;
	acc.cipher = c->cipher;
	acc.ekm = pin.ekm;
	if (srvsess_accept(c->sess, &acc)) {
		client_reject(s, c, "cannot accept the session", NULL);
		return;
	}
	log_info("%s MULTI: peer-id %u, cipher %s, %s", client_name(c, name, sizeof(name)), c->id,
		 dc_cipher_name(c->cipher), pin.ekm ? "tls-ekm" : "openvpn-prf");
}

static int client_routes_add(struct server *s, struct srv_client *c)
{
	int rc = 0;

	if (c->v4)
		rc = pipeline_route_add(s->pl, AF_INET, &c->v4, 32, c->id);
	if (!rc && c->has_v6)
		rc = pipeline_route_add(s->pl, AF_INET6, c->v6, 128, c->id);
	for (unsigned int i = 0; !rc && i < c->ccd->n_iroutes; i++)
		rc = pipeline_route_add(s->pl, c->ccd->iroute[i].family, c->ccd->iroute[i].addr,
					c->ccd->iroute[i].plen, c->id);
	s->routes_dirty = true;
	return rc;
}

static void client_log_learn(struct srv_client *c)
{
	char a[INET6_ADDRSTRLEN], name[200];

	client_name(c, name, sizeof(name));
	if (c->v4)
		log_info("MULTI: Learn: %s -> %s", inet_ntop(AF_INET, &c->v4, a, sizeof(a)), name);
	if (c->has_v6)
		log_info("MULTI: Learn: %s -> %s", inet_ntop(AF_INET6, c->v6, a, sizeof(a)), name);
	for (unsigned int i = 0; i < c->ccd->n_iroutes; i++)
		log_info("MULTI: internal route %s/%u -> %s",
			 inet_ntop(c->ccd->iroute[i].family, c->ccd->iroute[i].addr, a, sizeof(a)),
			 c->ccd->iroute[i].plen, name);
}

/* First keys: the peer slot, its routes; every time: the key and the send key_id. */
static int client_keys(struct server *s, struct srv_client *c)
{
	struct session_keys k;
	int rc = srvsess_take_keys(c->sess, &k);

	if (rc)
		return rc;
	if (!c->peer_added) {
		rc = pipeline_peer_add(s->pl, c->id, k.tx_peer_id, &c->addr, c->addr_len);
		if (!rc) {
			c->peer_added = true;
			pipeline_peer_set_comp(s->pl, c->id, runcfg_comp(s->o));
			rc = client_routes_add(s, c);
		}
	}
	rc = rc ?: pipeline_key_install(s->pl, c->id, k.key_id, k.cipher, k.key2);
	OPENSSL_cleanse(k.key2, sizeof(k.key2));
	if (rc)
		return rc;
	pipeline_key_set_tx(s->pl, c->id, k.key_id);
	if (!c->active) {
		c->active = true;
		c->since = time(NULL);
		c->up_ns = clock_mono_ns();
		s->active++;
		s->st.clients_connected++;
		client_log_learn(c);
	}
	return 0;
}

/* Acts on the session's state until it settles. */
static void client_check(struct server *s, struct srv_client *c, int64_t now)
{
	for (int guard = 0; guard < 4 && c->used; guard++) {
		unsigned int gone = srvsess_take_retired(c->sess);
		enum srvsess_state st = srvsess_state(c->sess);

		for (uint8_t kid = 0; gone && c->peer_added && kid < KEY_ID_COUNT; kid++)
			if (gone & (1u << kid))
				pipeline_key_retire(s->pl, c->id, kid);
		switch (st) {
		case SRVSESS_AUTH:
			client_auth(s, c);
			break;
		case SRVSESS_KEYS_READY:
			if (client_keys(s, c)) {
				client_reap(s, c, "cannot install data channel keys");
				return;
			}
			break;
		case SRVSESS_EXITED:
			s->st.exits++;
			client_reap(s, c, "SIGTERM[soft,remote-exit] received, client-instance exiting");
			return;
		case SRVSESS_FAILED:
			client_reap(s, c, "control channel closed, client-instance exiting");
			return;
		default:
			goto out;
		}
		if (srvsess_state(c->sess) == st)
			break;
	}
out:
	c->next_ns = srvsess_next_timeout(c->sess, now);
	if (c->next_ns < s->next_ns)
		s->next_ns = c->next_ns;
}

/* A CREATE verdict: the client proved its address; it gets a slot and a session. */
static void client_create(struct server *s, const struct pkt *p, int64_t now)
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
	c = client_alloc(s);
	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->id = (uint32_t)(c - s->cl);
	c->srv = s;
	c->pool_idx = -1;
	memcpy(&c->addr, &p->addr, p->addr_len);
	c->addr_len = p->addr_len;
	memcpy(c->sid, s->fr->pkt.sid, SID_LEN);
	io.arg = c;
	s->count++;
	if (srvsess_create(&c->sess, &s->scfg, &io, s->fr, p->data, p->len, now)) {
		log_warnx("%s: cannot create a session", srv_addr_str(&p->addr, a, sizeof(a)));
		c->sess = NULL;
		client_reap(s, c, NULL);
		return;
	}
	if (addrtab_insert(s->addrs, &c->addr, c->id)) {
		client_reap(s, c, "cannot index the client's address");
		return;
	}
	s->st.sessions_created++;
	log_info("%s: new session, peer-id %u", srv_addr_str(&p->addr, a, sizeof(a)), c->id);
	client_check(s, c, now);
}

void server_input(struct server *s, const struct pkt *p, int64_t now_ns)
{
	uint32_t id;
	struct srv_client *c = NULL;

	if (p->len < 1 + SID_LEN || !p->addr_len)
		return;
	id = addrtab_lookup(s->addrs, &p->addr);
	if (id != ADDRTAB_NONE && id < s->max && s->cl[id].used) {
		c = &s->cl[id];
		/* Byte 1..8 is the sender's session id in the clear under every wrapping. */
		if (!memcmp(p->data + 1, c->sid, SID_LEN)) {
			srvsess_input(c->sess, p->data, p->len, now_ns);
			client_check(s, c, now_ns);
			return;
		}
	}
	switch (firstpkt_classify(s->fp, p->data, p->len, &p->addr, p->addr_len, wall_ns(),
				  s->fr)) {
	case FIRSTPKT_REPLY:
		(void)send_to(s, &p->addr, p->addr_len, s->fr->reply, s->fr->reply_len);
		break;
	case FIRSTPKT_CREATE:
		if (c) {
			/* Same address and port, new session id: the client restarted. */
			s->st.restarts_same_endpoint++;
			client_reap(s, c, "restarted from the same address: old session dropped");
		}
		client_create(s, p, now_ns);
		break;
	default:
		break;
	}
}

/* ---- timers ------------------------------------------------------------- */

static void server_floats(struct server *s)
{
	struct peer_endpoint ep;
	uint32_t id;
	char a[64], b[64];

	while (pipeline_float_next(s->pl, &s->float_cursor, &id, &ep)) {
		struct srv_client *c = id < s->max ? &s->cl[id] : NULL;
		uint32_t other;

		if (!c || !c->used || !c->peer_added)
			continue;
		other = addrtab_lookup(s->addrs, &ep.sa);
		if (other == id)
			continue;
		if (other != ADDRTAB_NONE) {
			log_warnx("float: %s moved to %s, which another client uses; ignored", c->cn,
				  srv_addr_str(&ep.sa, a, sizeof(a)));
			continue;
		}
		if (pipeline_peer_set_remote(s->pl, id, &ep.sa, ep.len))
			continue;
		(void)addrtab_remove(s->addrs, &c->addr);
		log_info("%s: peer float from %s to %s", c->cn, srv_addr_str(&c->addr, a, sizeof(a)),
			 srv_addr_str(&ep.sa, b, sizeof(b)));
		memcpy(&c->addr, &ep.sa, ep.len);
		c->addr_len = ep.len;
		if (addrtab_insert(s->addrs, &c->addr, id))
			log_warnx("float: cannot index %s", c->cn);
		s->st.floats++;
	}
}

void server_run(struct server *s, int64_t now_ns)
{
	server_floats(s);
	if (now_ns >= s->next_ns) {
		s->next_ns = INT64_MAX;
		for (uint32_t i = 0; i < s->max; i++) {
			struct srv_client *c = &s->cl[i];

			if (!c->used)
				continue;
			if (c->next_ns <= now_ns) {
				srvsess_tick(c->sess, now_ns);
				client_check(s, c, now_ns);
			} else if (c->next_ns < s->next_ns) {
				s->next_ns = c->next_ns;
			}
		}
	}
	if (s->routes_dirty && !pipeline_routes_publish(s->pl))
		s->routes_dirty = false;
}

void server_second(struct server *s, int64_t now_ns)
{
	const struct options *o = s->o;

	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];
		struct pipeline_peer_stats ps;
		int64_t last_tx, last_rx;

		if (!c->used || !c->active || !pipeline_peer_stats(s->pl, i, &ps))
			continue;
		last_tx = ps.last_tx_ns;
		last_rx = ps.last_rx_ns;
		last_tx = last_tx > c->up_ns ? last_tx : c->up_ns;
		last_rx = last_rx > c->up_ns ? last_rx : c->up_ns;
		if (o->ping && now_ns - last_tx >= (int64_t)o->ping * NS_PER_SEC)
			(void)pipeline_send_ping(s->pl, i);
		if (o->ping_rec_timeout && now_ns - last_rx >= (int64_t)o->ping_rec_timeout * NS_PER_SEC) {
			s->st.inactivity_timeouts++;
			client_reap(s, c, "Inactivity timeout (--ping-restart), client-instance "
				    "restarting");
		}
	}
	if (s->routes_dirty && !pipeline_routes_publish(s->pl))
		s->routes_dirty = false;
	if (s->persist && s->o->ifconfig_pool_persist_sec && now_ns >= s->persist_next_ns) {
		server_persist_save(s);
		s->persist_next_ns = now_ns + (int64_t)s->o->ifconfig_pool_persist_sec * NS_PER_SEC;
	}
}

int64_t server_next_timeout(struct server *s, int64_t now_ns)
{
	(void)now_ns;
	return s->next_ns;
}

bool server_shutdown(struct server *s, int64_t now_ns)
{
	unsigned int een = s->o->conns.n ? s->o->conns.v[0].explicit_exit_notify : 0;
	bool sent = false;

	s->shutting_down = true;
	if (!een)
		return false;
	/* explicit-exit-notify on a server: tell clients to reconnect (2: to the next remote). */
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];

		if (c->used && c->active &&
		    srvsess_send_text(c->sess, een >= 2 ? "RESTART,[N]" : "RESTART", now_ns))
			sent = true;
	}
	return sent;
}

bool server_idle(const struct server *s)
{
	for (uint32_t i = 0; i < s->max; i++)
		if (s->cl[i].used && s->cl[i].active && !srvsess_idle(s->cl[i].sess))
			return false;
	return true;
}

unsigned int server_clients(const struct server *s)
{
	return s->active;
}

/* ---- status ------------------------------------------------------------- */

static void status_counters(struct server *s, FILE *f, char sep)
{
	const uint64_t *fc = firstpkt_counters(s->fp);
	const struct server_stats *st = &s->st;

#define G(name, v) fprintf(f, "GLOBAL_STATS%c%s%c%llu\n", sep, name, sep, (unsigned long long)(v))
	G("sessions_created", st->sessions_created);
	G("clients_connected", st->clients_connected);
	G("clients_reaped", st->clients_reaped);
	G("clients_active", s->active);
	G("auth_failed", st->auth_failed);
	G("refused_max_clients", st->refused_max_clients);
	G("floats", st->floats);
	G("restarts_same_endpoint", st->restarts_same_endpoint);
	G("inactivity_timeouts", st->inactivity_timeouts);
	G("exits", st->exits);
	G("tx_ctrl_errs", st->tx_ctrl_errs);
	for (int r = 0; r < FIRSTPKT_REASON_MAX; r++) {
		char name[64];
		const char *n = firstpkt_reason_name((enum firstpkt_reason)r);
		size_t k = 0;

		for (; *n && k < sizeof(name) - 1; n++)
			name[k++] = (*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') ? *n : '_';
		name[k] = 0;
		fprintf(f, "GLOBAL_STATS%cfirstpkt_%s%c%llu\n", sep, name, sep,
			(unsigned long long)fc[r]);
	}
#undef G
}

static void status_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

void server_write_status(struct server *s, FILE *f, unsigned int version)
{
	char sep = version == 3 ? '\t' : ',', now_s[32], since[32], a[64], v4[16], v6[48];
	time_t now = time(NULL);

	status_time(now, now_s, sizeof(now_s));
	if (version == 2 || version == 3) {
		fprintf(f, "TITLE%csluice (OpenVPN 2.6 compatible) server\n", sep);
		fprintf(f, "TIME%c%s%c%lld\n", sep, now_s, sep, (long long)now);
		fprintf(f, "HEADER%cCLIENT_LIST%cCommon Name%cReal Address%cVirtual Address%c"
			"Virtual IPv6 Address%cBytes Received%cBytes Sent%cConnected Since%c"
			"Connected Since (time_t)%cUsername%cClient ID%cPeer ID%c"
			"Data Channel Cipher\n", sep, sep, sep, sep, sep, sep, sep, sep, sep, sep,
			sep, sep, sep);
	} else {
		fprintf(f, "OpenVPN CLIENT LIST\nUpdated,%s\n", now_s);
		fprintf(f, "Common Name,Real Address,Bytes Received,Bytes Sent,Connected Since\n");
	}
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];
		struct pipeline_peer_stats ps;
		unsigned long long rxb, txb;

		if (!c->used || !c->active)
			continue;
		status_time(c->since, since, sizeof(since));
		srv_addr_str(&c->addr, a, sizeof(a));
		v4[0] = v6[0] = 0;
		if (c->v4)
			inet_ntop(AF_INET, &c->v4, v4, sizeof(v4));
		if (c->has_v6)
			inet_ntop(AF_INET6, c->v6, v6, sizeof(v6));
		(void)pipeline_peer_stats(s->pl, i, &ps);	/* zeroed if none */
		rxb = ps.rx_bytes;
		txb = ps.tx_bytes;
		if (version == 2 || version == 3)
			fprintf(f, "CLIENT_LIST%c%s%c%s%c%s%c%s%c%llu%c%llu%c%s%c%lld%c%s%c%u%c%u%c%s\n",
				sep, c->cn, sep, a, sep, v4, sep, v6, sep, rxb, sep, txb, sep, since,
				sep, (long long)c->since, sep, c->user[0] ? c->user : "UNDEF", sep,
				c->id, sep, c->id, sep, dc_cipher_name(c->cipher));
		else
			fprintf(f, "%s,%s,%llu,%llu,%s\n", c->cn, a, rxb, txb, since);
	}
	if (version == 2 || version == 3)
		fprintf(f, "HEADER%cROUTING_TABLE%cVirtual Address%cCommon Name%cReal Address%c"
			"Last Ref%cLast Ref (time_t)\n", sep, sep, sep, sep, sep, sep);
	else
		fprintf(f, "ROUTING TABLE\nVirtual Address,Common Name,Real Address,Last Ref\n");
	for (uint32_t i = 0; i < s->max; i++) {
		struct srv_client *c = &s->cl[i];

		if (!c->used || !c->active || !c->v4)
			continue;
		srv_addr_str(&c->addr, a, sizeof(a));
		inet_ntop(AF_INET, &c->v4, v4, sizeof(v4));
		if (version == 2 || version == 3)
			fprintf(f, "ROUTING_TABLE%c%s%c%s%c%s%c%s%c%lld\n", sep, v4, sep, c->cn, sep,
				a, sep, now_s, sep, (long long)now);
		else
			fprintf(f, "%s,%s,%s,%s\n", v4, c->cn, a, now_s);
	}
	if (version == 2 || version == 3) {
		fprintf(f, "GLOBAL_STATS%cMax bcast/mcast queue length%c0\n", sep, sep);
		status_counters(s, f, sep);
	} else {
		/* Version 1 stays exactly stock's layout; the counters are in 2 and 3. */
		fprintf(f, "GLOBAL STATS\nMax bcast/mcast queue length,0\n");
	}
	fprintf(f, "END\n");
}

/* ---- device and socket ---------------------------------------------- */

static void route4_add(const char *ifname, const struct options_route *r)
{
	struct in_addr dst, mask;
	uint32_t m;
	int plen = 0, err;

	if (inet_pton(AF_INET, r->network, &dst) != 1 ||
	    inet_pton(AF_INET, r->netmask ? r->netmask : "255.255.255.255", &mask) != 1) {
		log_warnx("route: cannot add '%s %s': only numeric network/netmask supported",
			  r->network, r->netmask ? r->netmask : "");
		return;
	}
	for (m = ntohl(mask.s_addr); m & 0x80000000u; m <<= 1)
		plen++;
	dst.s_addr &= mask.s_addr;
	err = nl_route_add(AF_INET, &dst, plen, NULL, ifname,
			   r->metric && strcmp(r->metric, "default") ? atoi(r->metric) : 0);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route: cannot add %s/%d dev %s", r->network, plen, ifname);
		return;
	}
	log_info("route: %s/%d dev %s", r->network, plen, ifname);
}

static void route6_add(const char *ifname, const char *net)
{
	char buf[64], *slash;
	struct in6_addr a;
	int plen = 128, err;

	snprintf(buf, sizeof(buf), "%s", net);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		plen = atoi(slash + 1);
	}
	if (inet_pton(AF_INET6, buf, &a) != 1 || plen < 0 || plen > 128) {
		log_warnx("route-ipv6: cannot add '%s'", net);
		return;
	}
	err = nl_route_add(AF_INET6, &a, plen, NULL, ifname, 0);
	if (err && err != -EEXIST) {
		errno = -err;
		log_warn("route-ipv6: cannot add %s dev %s", net, ifname);
		return;
	}
	log_info("route-ipv6: %s dev %s", net, ifname);
}

int server_tun_setup(const struct options *o, const char *ifname)
{
	if (o->ifconfig_ipv6_local) {
		struct in6_addr a;
		int err;

		if (inet_pton(AF_INET6, o->ifconfig_ipv6_local, &a) != 1) {
			log_warnx("tun: bad ifconfig-ipv6 '%s'", o->ifconfig_ipv6_local);
			return -EINVAL;
		}
		log_info("tun: add address %s/%u on %s", o->ifconfig_ipv6_local,
			 o->ifconfig_ipv6_netbits, ifname);
		err = nl_addr_add(ifname, AF_INET6, &a, (int)o->ifconfig_ipv6_netbits, NULL);
		if (err && err != -EEXIST) {
			errno = -err;
			log_warn("tun: cannot add %s to %s", o->ifconfig_ipv6_local, ifname);
			return err;
		}
	}
	for (size_t i = 0; i < o->routes.n; i++)
		route4_add(ifname, &o->routes.v[i]);
	for (size_t i = 0; i < o->routes6.n; i++)
		route6_add(ifname, o->routes6.v[i].network);
	return 0;
}

int server_udp_open(const char *local, uint16_t port)
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
	fd = udp_open((const union sockaddr_any *)res->ai_addr, res->ai_addrlen, NULL, 0);
	freeaddrinfo(res);
	if (fd < 0) {
		errno = -fd;
		log_warn("udp: cannot listen on %s:%u", local ? local : "*", port);
		return fd;
	}
	log_info("UDPv4 link local (bound): [AF_INET]%s:%u", local ? local : "*", port);
	return fd;
}
