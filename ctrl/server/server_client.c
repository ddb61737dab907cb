/*
 * server_client.c - owns one client's life in server mode once its session
 * exists: admission when its TLS and key-method-2 are in (the
 * auth-user-pass-verify script, client-config-dir, NCP, duplicate-cn, its
 * addresses, the PUSH_REPLY), its data keys and peer slot, renegotiated
 * and retired keys, keepalive and ping-restart, float to a new address
 * after an authenticated packet, the explicit exit (its own, and the
 * RESTART a server sends on SIGTERM), and reaping.
 *
 * Thread: ctrl only. server.c creates the session and calls
 * server_client_check after every input or timer; the session's state
 * (srvsess.h) drives what happens here:
 *
 *   SRVSESS_AUTH        admit (server_client_auth) or refuse (AUTH_FAILED)
 *   SRVSESS_KEYS_READY  install the keys; the first time also the peer and routes
 *   SRVSESS_EXITED      the client said EXIT: reaped
 *   SRVSESS_FAILED      the control channel is dead: reaped
 *
 * A reaped client's slot is zeroed and reused only after every other free
 * slot (next fit), so a late packet for an old peer-id finds nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "../../core/addrtab.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../config/runcfg.h"
#include "../../io/pipeline.h"
#include "../proto/handover.h"
#include "../proto/tls.h"
#include "server_int.h"

/* ---- admission --------------------------------------------------------- */

/* Log prefix of the client's hand-over lines: "[CN] ". */
static const char *client_tag(const struct srv_client *c)
{
	static char tag[CN_MAX + 4];

	snprintf(tag, sizeof(tag), "[%s] ", c->cn[0] ? c->cn : "UNDEF");
	return tag;
}

const char *server_client_name(const struct srv_client *c, char *buf, size_t len)
{
	char a[64];

	snprintf(buf, len, "%s/%s", c->cn[0] ? c->cn : "UNDEF",
		 srv_addr_str(&c->addr, a, sizeof(a)));
	return buf;
}

/* The auth script's run is over (or the client is): its child and files go. */
static void client_auth_end(struct server *s, struct srv_client *c)
{
	if (!c->auth)
		return;
	srvauth_end(c->auth);
	free(c->auth);
	c->auth = NULL;
	s->auth_jobs--;
}

void server_client_reap(struct server *s, struct srv_client *c, const char *why)
{
	char name[200];

	if (why)
		log_info("%s %s", server_client_name(c, name, sizeof(name)), why);
	/* Over TCP the client's connection goes with it, as stock (after what was sent). */
	if (!s->keep_conn)
		server_tcp_hangup(s, &c->addr, c->addr_len);
	server_mgmt_disconnect(s, c);
	free(c->mgmt_text);
	client_auth_end(s, c);
	srvsess_free(c->sess);
	(void)addrtab_remove(s->addrs, &c->addr);
	server_route_del_client(s, c);
	if (c->peer_added)
		pipeline_peer_del(s->pl, c->id);
	if (c->active)
		s->active--;
	free(c->ccd);
	memset(c, 0, sizeof(*c));
	s->count--;
	s->st.clients_reaped++;
}

struct srv_client *server_client_alloc(struct server *s)
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

	log_warnx("%s %s", server_client_name(c, name, sizeof(name)), why);
	srvsess_reject(c->sess, reason);
	s->st.auth_failed++;
}

/* duplicate-cn off: a new login with a CN that is connected drops the old session. */
static void client_drop_duplicates(struct server *s, struct srv_client *c)
{
	/* No common name (no certificate, no username-as-common-name): nothing to match (2.6). */
	if (s->o->duplicate_cn || !c->cn[0])
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
		s->st.replaced++;
		server_client_reap(s, o, "dropped: replaced by a new session with the same "
				   "common name");
	}
}

/*
 * auth-user-pass-verify, started on the first call and polled on later ones
 * (srvauth.c): false while the decision is pending or when the client was
 * refused, true once accepted (or when no script is configured).
 */
static bool client_auth_script(struct server *s, struct srv_client *c, int64_t now)
{
	const struct srvsess_client *ci = srvsess_client(c->sess);
	char reason[SRVAUTH_REASON_MAX];
	enum srvauth_verdict v;

	if (!s->o->auth_user_pass_verify)
		return true;
	if (!c->auth) {
		c->auth = calloc(1, sizeof(*c->auth));
		if (!c->auth || srvauth_start(c->auth, s->o, ci, &c->addr, now)) {
			free(c->auth);
			c->auth = NULL;
			client_reject(s, c, "TLS Auth Error: Auth Username/Password verification "
				      "failed for peer (the script could not run)", NULL);
			return false;
		}
		s->auth_jobs++;
	}
	v = srvauth_poll(c->auth, s->o, c->sess, now, reason, sizeof(reason));
	if (v == SRVAUTH_WAIT)
		return false;
	client_auth_end(s, c);
	if (v == SRVAUTH_OK)
		return true;
	client_reject(s, c, "TLS Auth Error: Auth Username/Password verification failed "
		      "for peer", reason[0] ? reason : NULL);
	return false;
}

/* management-client-auth (server_mgmt.c): true once the management client accepted. */
static bool client_auth_mgmt(struct server *s, struct srv_client *c)
{
	char reason[SRVAUTH_REASON_MAX];

	switch (server_mgmt_auth(s, c, reason, sizeof(reason))) {
	case SRVAUTH_OK:
		return true;
	case SRVAUTH_FAIL:
		client_reject(s, c, "MULTI: connection rejected by the management interface",
			      reason[0] ? reason : NULL);
		return false;
	default:
		return false;
	}
}

/*
 * auth-gen-token at the first key (stock's verify_user_pass): a token that
 * verifies stands in for the script, unless external-auth; a refused one
 * refuses the client ("SESSION: token expired" when it only expired); a
 * session without one gets its session id now, so the script sees it.
 * Returns 1 (token accepted: no script), 0 (the script decides) or -1
 * (refused).
 */
static int client_auth_token(struct server *s, struct srv_client *c, int64_t now)
{
	const struct srvsess_client *ci = srvsess_client(c->sess);
	const struct options *o = s->o;

	(void)now;
	if (!o->auth_gen_token || c->auth)
		return 0;
	if (ci->has_token && !o->auth_token_external) {
		if (ci->token_flags == SRVTOKEN_HMAC_OK) {
			log_info("[%s] TLS: Username/auth-token authentication succeeded for "
				 "username '%s'", c->cn, ci->username);
			return 1;
		}
		srvsess_token_wipe(c->sess);
		client_reject(s, c, "TLS: Username/auth-token authentication failed",
			      (ci->token_flags & SRVTOKEN_EXPIRED) &&
			      (ci->token_flags & SRVTOKEN_HMAC_OK) ? "SESSION: token expired" : NULL);
		return -1;
	}
	if (!srvsess_token(c->sess)[0] && srvsess_token_issue(c->sess, (int64_t)time(NULL)))
		log_warnx("[%s] auth-gen-token: cannot start a token session", c->cn);
	return 0;
}

/* SRVSESS_AUTH: admit the client (script, CCD, cipher, address) or refuse it. */
static void client_auth(struct server *s, struct srv_client *c, int64_t now)
{
	const struct srvsess_client *ci = srvsess_client(c->sess);
	struct srvsess_accept acc = { .peer_id = c->id };
	struct srv_push_in pin = { .o = s->o, .peer = &ci->peer, .peer_id = c->id };
	char err[512] = "", name[200];
	int rc;

	snprintf(c->cn, sizeof(c->cn), "%s", s->o->username_as_common_name && ci->username[0] ?
		 ci->username : ci->common_name);
	snprintf(c->user, sizeof(c->user), "%s", ci->username);
	/* As 2.6's key_method_2_read / verify_user_pass, before any script runs. */
	if (s->o->auth_user_pass_verify && (!ci->username[0] || !ci->password[0])) {
		client_reject(s, c, "TLS Error: Auth Username/Password was not provided by peer",
			      NULL);
		return;
	}
	if (s->o->username_as_common_name && strlen(ci->username) > TLS_CN_MAX) {
		client_reject(s, c, "TLS Auth Error: --username-as-common name specified and "
			      "username is longer than the maximum permitted Common Name length "
			      "of 64 characters", NULL);
		return;
	}
	rc = client_auth_token(s, c, now);
	if (rc < 0 || (rc == 0 && (!client_auth_script(s, c, now) || !client_auth_mgmt(s, c))))
		return;
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
	/* management `client-auth` text: client-config-dir directives on top of the file's. */
	if (c->mgmt_text && srv_ccd_apply_text(s->o, "client-auth", c->mgmt_text, c->ccd, err,
					       sizeof(err))) {
		log_warnx("%s", err);
		client_reject(s, c, "client-auth text refused", NULL);
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
			  "'%s'", server_client_name(c, name, sizeof(name)), s->o->data_ciphers,
			  ci->peer.has_ciphers ? ci->peer.ciphers : "(none)");
		client_reject(s, c, "cipher negotiation failed", "Data channel cipher "
			      "negotiation failed (no shared cipher)");
		return;
	}
	client_drop_duplicates(s, c);
	if (server_route_assign(s, c)) {
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
	pin.dyn_tls_crypt = !s->o->test_no_dyn_tls_crypt &&
			    (ci->peer.iv_proto & IV_PROTO_DYN_TLS_CRYPT);
	/* The session's token, renewed now (generate_auth_token on success). */
	if (s->o->auth_gen_token && !srvsess_token_issue(c->sess, (int64_t)time(NULL)))
		pin.auth_token = srvsess_token(c->sess);
	rc = srv_push_build(s->push, sizeof(s->push), &pin);
	if (rc < 0) {
		client_reject(s, c, "PUSH_REPLY too long", NULL);
		return;
	}
	acc.push = s->push;
	acc.cipher = c->cipher;
	acc.ekm = pin.ekm;
	acc.dyn_tls_crypt = pin.dyn_tls_crypt;
	if (srvsess_accept(c->sess, &acc)) {
		client_reject(s, c, "cannot accept the session", NULL);
		return;
	}
	log_info("%s MULTI: peer-id %u, cipher %s, %s", server_client_name(c, name, sizeof(name)),
		 c->id, dc_cipher_name(c->cipher), pin.ekm ? "tls-ekm" : "openvpn-prf");
}

/* ---- keys and state ---------------------------------------------------- */

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
			rc = server_route_add_client(s, c);
		}
	}
	rc = rc ?: pipeline_key_install(s->pl, c->id, k.key_id, k.cipher, k.key2);
	OPENSSL_cleanse(k.key2, sizeof(k.key2));
	if (rc)
		return rc;
	if (!c->active)
		handover_init(&c->ho, s->pl, c->id, s->o->hand_window, s->o->tran_window, 0);
	handover_install(&c->ho, k.key_id, clock_mono_ns());
	if (!c->active) {
		c->active = true;
		c->since = time(NULL);
		c->up_ns = clock_mono_ns();
		s->active++;
		s->st.clients_connected++;
		server_route_log_learn(c);
		server_mgmt_established(s, c);
	}
	return 0;
}


/* Acts on the session's state until it settles. */
void server_client_check(struct server *s, struct srv_client *c, int64_t now)
{
	for (int guard = 0; guard < 4 && c->used; guard++) {
		enum srvsess_state st = srvsess_state(c->sess);

		/* Data keys follow the peer (handover.c), not the control states. */
		(void)srvsess_take_retired(c->sess);
		switch (st) {
		case SRVSESS_AUTH:
			client_auth(s, c, now);
			break;
		case SRVSESS_KEYS_READY:
			if (client_keys(s, c)) {
				server_client_reap(s, c, "cannot install data channel keys");
				return;
			}
			break;
		case SRVSESS_EXITED:
			s->st.exits++;
			server_client_reap(s, c, "SIGTERM[soft,remote-exit] received, "
					   "client-instance exiting");
			return;
		case SRVSESS_FAILED:
			s->st.session_failures++;
			server_client_reap(s, c, "control channel closed, client-instance exiting");
			return;
		default:
			goto out;
		}
		if (srvsess_state(c->sess) == st)
			break;
	}
out:
	if (c->used && c->active)
		handover_tick(&c->ho, srvsess_chan(c->sess), now, client_tag(c));
	c->next_ns = srvsess_next_timeout(c->sess, now);
	/* A running or deferred auth script is looked at again soon. */
	if (c->used && c->auth && now + SRVAUTH_POLL_NS < c->next_ns)
		c->next_ns = now + SRVAUTH_POLL_NS;
	if (c->next_ns < s->next_ns)
		s->next_ns = c->next_ns;
}


/* ---- keepalive, float, exit ------------------------------------------ */

void server_floats(struct server *s)
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

void server_keepalive(struct server *s, int64_t now_ns)
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
			server_client_reap(s, c, "Inactivity timeout (--ping-restart), "
					   "client-instance restarting");
			continue;
		}
		/* The renegotiation hold is renewed here even when the session is quiet. */
		handover_tick(&c->ho, srvsess_chan(c->sess), now_ns, client_tag(c));
		srvsess_token_tick(c->sess, now_ns, (int64_t)time(NULL));
	}
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
