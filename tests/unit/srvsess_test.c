/*
 * srvsess_test.c - ctrl/server/srvsess.c (and ctrl/server/srvpush.c) against our own client
 * (ctrl/client/session.c) in memory: no sockets, a fake monotonic clock.
 *
 * A throwaway PKI is made with the openssl CLI in a private temp dir (skip,
 * exit 77, if it is missing); static keys and the tls-crypt-v2 keys are made
 * here (crypto/wkc.h wraps the client key as `openvpn --genkey` would).
 * Each case builds a client session from a config text and a server
 * (firstpkt classifier + srvsess) and shuttles datagrams through two queues:
 * until the server session exists, client datagrams go to firstpkt_classify
 * (REPLY goes back, CREATE makes the session), then to srvsess_input. The
 * clock only moves to the next timer either side asks for. The lossy cases
 * drop datagrams on a fixed splitmix64 pattern (SRVSESS_TEST_SEED picks
 * another), never two in a row in one direction, so retries stay bounded.
 * SRVSESS_TEST_VERB=1|2 shows both ends' logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pki.h"
#include "srvsess_rig.h"

/* ---- cases ------------------------------------------------------------------------- */

static void case_basic(enum wrap w, const char *name)
{
	struct setup su = { .wrap = w };

	printf("basic handshake, %s\n", name);
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	CHECK(rig.copt->has_peer_id && rig.copt->peer_id == 5, "client peer-id");
	CHECK(rig.fp_drops == 0, "classifier dropped %u", rig.fp_drops);
	CHECK(srv_stat("rx_unwrap_errs") == 0 && srv_stat("rx_parse_errs") == 0,
	      "bad datagrams on a clean run");
	/* Our first packet after the stateless reset is no replay to the client. */
	CHECK(cli_stat("rx_unwrap_errs") == 0, "client unwrap errors %llu",
	      cli_stat("rx_unwrap_errs"));
	/* EXIT from the client (cc-exit was pushed). */
	CHECK(session_send_exit(rig.cli, now), "session_send_exit");
	deliver();
	CHECK(srv_state() == SRVSESS_EXITED, "server state %d after EXIT", srv_state());
	rig_down();
}

static void case_prf(void)
{
	struct setup su = { .wrap = W_NONE };

	printf("legacy PRF keys\n");
	rig_up(&su);
	to_auth();
	/* Left in AUTH, the client asks for the push; it is kept for the accept. */
	CHECK(!run(quiet, 2), "quiet");
	CHECK(srv_state() == SRVSESS_AUTH, "state %d", srv_state());
	CHECK(srv_stat("push_requests") >= 1, "push requests %llu", srv_stat("push_requests"));
	accept_and_keys(push_prf, false);
	rig_down();

	printf("legacy PRF keys, client without EKM\n");
	su.no_ekm = true;
	rig_up(&su);
	to_auth();
	CHECK(!(srvsess_client(rig.srv)->peer.iv_proto & IV_PROTO_TLS_KEY_EXPORT), "IV_PROTO %u",
	      srvsess_client(rig.srv)->peer.iv_proto);
	accept_and_keys(push_prf, false);
	rig_down();
}

static void case_reject(void)
{
	struct setup su = { .wrap = W_CRYPT };

	printf("reject\n");
	rig_up(&su);
	to_auth();
	srvsess_reject(rig.srv, "bad password");
	CHECK(srv_state() == SRVSESS_REJECTED, "server state %d after reject", srv_state());
	CHECK(run(cli_over, 10), "client did not stop");
	CHECK(session_state(rig.cli) == SESSION_FAILED, "client state %d", session_state(rig.cli));
	CHECK(run(srv_over, 10), "server did not end");
	CHECK(srv_state() == SRVSESS_FAILED, "server state %d", srv_state());
	rig_down();

	/* The AUTH_FAILED is never acknowledged: FAILED after the linger time. */
	printf("reject, client gone\n");
	rig_up(&su);
	to_auth();
	rig.drop_s2c = true;
	srvsess_reject(rig.srv, NULL);
	for (int i = 0; i < 100 && srv_state() == SRVSESS_REJECTED; i++) {
		now += NS / 2;
		srvsess_tick(rig.srv, now);
	}
	CHECK(srv_state() == SRVSESS_FAILED, "server state %d", srv_state());
	rig_down();
}

static void case_garbage(void)
{
	struct setup su = { .wrap = W_NONE };
	uint8_t buf[512];
	enum srvsess_state st;
	unsigned long long bad;

	printf("garbage to an established session\n");
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	st = srv_state();
	/* Random bytes, a truncated packet, a forged session id, an unknown key_id. */
	for (int i = 0; i < 64; i++) {
		REQUIRE(RAND_bytes(buf, sizeof(buf)) == 1, "RAND_bytes");
		srvsess_input(rig.srv, buf, (size_t)(i * 7) % sizeof(buf), now);
	}
	buf[0] = P_CONTROL_V1 << 3;
	srvsess_input(rig.srv, buf, 5, now);
	memset(buf, 0, 64);
	buf[0] = P_CONTROL_V1 << 3;		/* wrong sid, no acks, mid 2 */
	buf[13] = 2;
	srvsess_input(rig.srv, buf, 20, now);
	buf[0] = P_CONTROL_V1 << 3 | 5;		/* key_id 5 */
	srvsess_input(rig.srv, buf, 20, now);
	buf[0] = P_CONTROL_HARD_RESET_SERVER_V2 << 3;
	srvsess_input(rig.srv, buf, 14, now);
	buf[0] = P_DATA_V2 << 3;
	srvsess_input(rig.srv, buf, 40, now);
	CHECK(srv_state() == st, "state %d -> %d", st, srv_state());
	bad = srv_stat("rx_unwrap_errs") + srv_stat("rx_parse_errs") + srv_stat("rx_other_key") +
	      srv_stat("rx_reliable_drops");
	CHECK(bad == 69, "bad datagrams counted: %llu of 69", bad);
	CHECK(rig.s2c.head == rig.s2c.tail, "server answered garbage");
	/* Still alive: EXIT gets through. */
	CHECK(session_send_exit(rig.cli, now), "session_send_exit");
	deliver();
	CHECK(srv_state() == SRVSESS_EXITED, "server state %d after EXIT", srv_state());
	rig_down();

	printf("replayed and garbage datagrams, tls-crypt\n");
	su.wrap = W_CRYPT;
	rig_up(&su);
	to_auth();
	st = srv_state();
	REQUIRE(RAND_bytes(buf, sizeof(buf)) == 1, "RAND_bytes");
	buf[0] = P_CONTROL_V1 << 3;
	srvsess_input(rig.srv, buf, 300, now);
	CHECK(srv_stat("rx_unwrap_errs") == 1, "unwrap errors %llu", srv_stat("rx_unwrap_errs"));
	CHECK(srv_state() == st, "state %d -> %d", st, srv_state());
	accept_and_keys(push_ekm, true);
	rig_down();
}

static void case_lossy(enum wrap w, const char *name)
{
	struct setup su = { .wrap = w, .cli_reneg = 20 };
	int64_t start = now;

	printf("up to 40%% loss both ways, %s\n", name);
	rig_up(&su);
	rig.loss_pct = 40;
	rig.rng = getenv("SRVSESS_TEST_SEED") ? strtoull(getenv("SRVSESS_TEST_SEED"), NULL, 0) : 1;
	to_auth();
	accept_and_keys(push_ekm, true);
	REQUIRE(run(keys_or_over, 60) && both_keys(), "renegotiation: client %d server %d",
		session_state(rig.cli), srv_state());
	keys_match(1, true, 5);
	CHECK(rig.lost >= 3, "only %u of %u datagrams lost", rig.lost, rig.sent);
	printf("  %u of %u datagrams lost, %.1f s\n", rig.lost, rig.sent,
	       (double)(now - start) / NS);
	CHECK(cli_stat("rx_unwrap_errs") == 0 && srv_stat("rx_unwrap_errs") == 0,
	      "unwrap errors (client %llu server %llu)", cli_stat("rx_unwrap_errs"),
	      srv_stat("rx_unwrap_errs"));
	rig_down();
}

static void case_long_push(void)
{
	struct setup su = { .wrap = W_NONE };
	static char push[8192];
	char *p = push;

	printf("long push with push-continuation\n");
	p += sprintf(p, "%s", push_ekm);
	for (int i = 0; i < 60; i++)
		p += sprintf(p, ",route 198.19.%d.0 255.255.255.0", 100 + i);
	rig_up(&su);
	to_auth();
	accept_and_keys(push, true);
	CHECK(rig.copt->routes.n == 60, "client routes %zu", rig.copt->routes.n);
	CHECK(srv_stat("push_replies") == 1, "push replies %llu", srv_stat("push_replies"));
	rig_down();
}

static void case_send_text(void)
{
	struct setup su = { .wrap = W_NONE };

	printf("RESTART and HALT to the client\n");
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	CHECK(srvsess_send_text(rig.srv, "RESTART", now), "send RESTART");
	CHECK(run(cli_over, 10), "client ignored RESTART");
	CHECK(session_state(rig.cli) == SESSION_RESTART, "client state %d", session_state(rig.cli));
	rig_down();

	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	CHECK(srvsess_send_text(rig.srv, "HALT", now), "send HALT");
	CHECK(run(cli_over, 10), "client ignored HALT");
	CHECK(session_state(rig.cli) == SESSION_FAILED, "client state %d", session_state(rig.cli));
	rig_down();
}

static void case_hand_window(void)
{
	struct setup su = { .wrap = W_AUTH };

	printf("hand-window\n");
	rig_up(&su);
	/* The client's reset, our reply, its ClientHello: then the client hears nothing. */
	rig.drop_after_create = true;
	deliver();
	REQUIRE(rig.srv, "no server session");
	CHECK(srv_state() == SRVSESS_TLS, "state %d", srv_state());
	for (int i = 0; i < 200 && srv_state() != SRVSESS_FAILED; i++) {
		int64_t t = srvsess_next_timeout(rig.srv, now);

		REQUIRE(t != INT64_MAX, "no timer while negotiating");
		now = t > now ? t : now;
		srvsess_tick(rig.srv, now);
	}
	CHECK(srv_state() == SRVSESS_FAILED, "state %d", srv_state());
	CHECK(srv_stat("rel_tx_retransmits") >= 3, "retransmits %llu",
	      srv_stat("rel_tx_retransmits"));
	rig_down();
}

/* srvpush by itself: sizes, markers, and nothing lost. */
static void case_remap(void)
{
	struct setup su = { .wrap = W_NONE, .up = "up-ctl.txt" };
	const struct srvsess_client *c;
	FILE *f = fopen(pki_path("up-ctl.txt"), "w");

	printf("control characters in the username and password\n");
	REQUIRE(f, "cannot write up-ctl.txt");
	fputs("ali\001ce\tbob\033[31m\nsec\177ret\r\n", f);
	fclose(f);
	rig_up(&su);
	REQUIRE(run(srv_auth, 60), "server never reached AUTH");
	c = srvsess_client(rig.srv);
	CHECK(!strcmp(c->username, "ali_ce_bob_[31m"), "username '%s'", c->username);
	CHECK(!strcmp(c->password, "sec_ret"), "password '%s'", c->password);
	CHECK(!strchr(c->peer_info, '\r') && !strchr(c->peer_info, '\t'), "peer info kept a "
	      "control character");
	rig_down();
}

int main(void)
{
	make_pki();
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(getenv("SRVSESS_TEST_VERB") ? atoi(getenv("SRVSESS_TEST_VERB")) : 0, 0);
	case_basic(W_NONE, "no wrapping");
	case_basic(W_AUTH, "tls-auth");
	case_basic(W_CRYPT, "tls-crypt");
	case_basic(W_V2, "tls-crypt-v2");
	case_prf();
	case_reject();
	case_remap();
	case_garbage();
	case_lossy(W_NONE, "no wrapping");
	case_lossy(W_CRYPT, "tls-crypt");
	case_lossy(W_V2, "tls-crypt-v2");
	case_long_push();
	case_send_text();
	case_hand_window();
	return harness_done("srvsess_test");
}
