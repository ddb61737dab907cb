/*
 * srvsess_flow_test.c - ctrl/server/srvsess.c against our own client in
 * memory (the rig of srvsess_rig.h): renegotiation started by either end and
 * in every order of the two soft resets, a PUSH_REPLY split over several
 * messages, and deferred authentication (auth-pending) answered late.
 * srvsess_test.c has the handshake under each wrapping, rejects, garbage,
 * loss and timeouts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pki.h"
#include "srvsess_rig.h"

/* ---- cases ------------------------------------------------------------------------- */

static void case_reneg_client(void)
{
	struct setup su = { .wrap = W_AUTH, .cli_reneg = 5 };

	printf("client renegotiation, key_id 1..7 and wrap to 1\n");
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	for (unsigned int i = 1; i <= 8; i++) {
		uint8_t kid = i <= 7 ? (uint8_t)i : 1;
		/* Renegotiation i replaces the lame duck: the key before the previous. */
		unsigned int want = i >= 2 ? 1u << (i - 2) : 0;

		REQUIRE(run(keys_or_over, 20) && both_keys(),
			"renegotiation %u: client %d server %d", i, session_state(rig.cli),
			srv_state());
		keys_match(kid, true, 5);
		/* The lame duck before the previous key is gone once a third key is in. */
		CHECK(session_take_retired(rig.cli) == want, "client retired (reneg %u)", i);
		CHECK(srvsess_take_retired(rig.srv) == want, "server retired (reneg %u)", i);
	}
	CHECK(srv_stat("renegotiations") == 8, "renegotiations %llu", srv_stat("renegotiations"));
	CHECK(srv_stat("key_id") == 1, "key_id");
	rig_down();
}

static void case_reneg_server(enum wrap w, const char *name)
{
	struct setup su = { .wrap = w, .srv_reneg = 9, .tran_window = 5 };
	unsigned int cm = 0, sm = 0;

	printf("server renegotiation, tran-window, %s\n", name);
	rig_up(&su);
	to_auth();
	accept_and_keys(push_ekm, true);
	REQUIRE(run(keys_or_over, 20) && both_keys(), "renegotiation: client %d server %d",
		session_state(rig.cli), srv_state());
	keys_match(1, true, 5);
	/* Past tran-window the key_id 0 lame duck is retired on both ends. */
	CHECK(!run(quiet, 6), "quiet");
	cm = session_take_retired(rig.cli);
	sm = srvsess_take_retired(rig.srv);
	CHECK(cm == 1 && sm == 1, "retired after tran-window: client %x server %x", cm, sm);
	CHECK(srv_state() == SRVSESS_ACTIVE, "server state %d", srv_state());
	/* The next one starts reneg-sec after key_id 1 became active. */
	REQUIRE(run(keys_or_over, 20) && both_keys(), "second renegotiation");
	keys_match(2, true, 5);
	rig_down();
}

static void case_push_split(void)
{
	static char push[16384], joined[16384];
	struct srvpush_iter it;
	const char *m;
	char *p = push;
	int n = 0;

	printf("push splitting\n");
	srvpush_iter_init(&it, "");
	m = srvpush_next(&it);
	CHECK(m && !strcmp(m, "PUSH_REPLY"), "empty push: '%s'", m ? m : "(null)");
	CHECK(!srvpush_next(&it), "one message only");
	srvpush_iter_init(&it, "route 1.2.3.0 255.255.255.0,ping 10");
	m = srvpush_next(&it);
	CHECK(m && !strcmp(m, "PUSH_REPLY,route 1.2.3.0 255.255.255.0,ping 10"), "'%s'", m);
	CHECK(!srvpush_next(&it), "one message only");
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "%sroute 10.%d.%d.0 255.255.255.0", i ? "," : "", i / 7, i);
	CHECK(srvpush_check(push) == 0, "check");
	srvpush_iter_init(&it, push);
	joined[0] = '\0';
	while ((m = srvpush_next(&it)) != NULL) {
		const char *body = m + strlen("PUSH_REPLY,");
		const char *tail = strstr(m, ",push-continuation ");
		bool last = it.is_done;

		n++;
		CHECK(strlen(m) < SRVPUSH_BUNDLE_SIZE, "message %d is %zu bytes", n, strlen(m));
		CHECK(tail && tail[19] == (last ? '1' : '2') && !tail[20], "marker of %d: '%s'", n,
		      tail ? tail : m);
		if (tail)
			sprintf(joined + strlen(joined), "%s%.*s", joined[0] ? "," : "",
				(int)(tail - body), body);
	}
	CHECK(n >= 7, "messages %d", n);
	CHECK(!strcmp(joined, push), "options lost or reordered");
	memset(push, 'x', 1000);
	push[1000] = '\0';
	CHECK(srvpush_check(push) == -EMSGSIZE, "too long");
	CHECK(srvpush_check("ping 10,route\n1") == -EINVAL, "control character");
	CHECK(srvpush_check(NULL) == 0, "NULL");
}

/*
 * A renegotiation in each order a peer may use (openvpn-wire.md §10; chan.h),
 * with dynamic tls-crypt over tls-crypt: the client answers the server's
 * soft reset with only TLS (the OpenVPN 3 core), the server answers the
 * client's with only TLS (so the client starts on the ack of its own), and
 * both soft resets cross. Each runs twice; the keys must match every time.
 */
static void case_reneg_orders(void)
{
	static const struct {
		const char *name;
		struct setup su;
		unsigned int cli_local, srv_local;
	} cases[] = {
		{ "server starts, client answers with TLS only",
		  { .wrap = W_CRYPT, .srv_reneg = 9, .cli_ovpn3 = true }, 0, 2 },
		{ "client starts, server answers with TLS only",
		  { .wrap = W_CRYPT, .cli_reneg = 9, .srv_ack_only = true }, 2, 0 },
		{ "both start at once (crossing soft resets)",
		  { .wrap = W_CRYPT, .cli_reneg = 9, .srv_reneg = 9, .srv_exact = true }, 2, 2 },
	};
	static const char push_dyn[] =
		"ifconfig 198.19.1.2 255.255.255.0,peer-id 5,cipher AES-256-GCM,"
		"protocol-flags cc-exit tls-ekm dyn-tls-crypt,topology subnet";

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct srvsess_accept a = {
			.push = push_dyn, .cipher = DC_AES_256_GCM, .peer_id = 5, .ekm = true,
			.dyn_tls_crypt = true,
		};

		printf("renegotiation order: %s\n", cases[i].name);
		rig_up(&cases[i].su);
		to_auth();
		CHECK(srvsess_client(rig.srv)->peer.iv_proto & IV_PROTO_DYN_TLS_CRYPT,
		      "client did not announce dyn-tls-crypt");
		srvsess_chan(rig.srv)->answer_reset_with_tls = cases[i].su.srv_ack_only;
		REQUIRE(!srvsess_accept(rig.srv, &a), "srvsess_accept");
		REQUIRE(run(cli_keys, 60), "client never got keys (state %d)", session_state(rig.cli));
		keys_match(0, false, 5);
		for (uint8_t kid = 1; kid <= 2; kid++) {
			REQUIRE(run(keys_or_over, 20) && both_keys(), "renegotiation %u: client %d "
			     "server %d", kid, session_state(rig.cli), srv_state());
			keys_match(kid, true, 5);
		}
		CHECK(cli_stat("reneg_local") == cases[i].cli_local, "client started %llu",
		      cli_stat("reneg_local"));
		CHECK(srv_stat("reneg_local") == cases[i].srv_local, "server started %llu",
		      srv_stat("reneg_local"));
		CHECK(cli_stat("dyn_tls_crypt") == 1 && srv_stat("dyn_tls_crypt") == 1,
		      "dynamic tls-crypt off");
		CHECK(cli_stat("dyn_wrapped") > 0 && srv_stat("dyn_wrapped") > 0,
		      "no packet wrapped with dynamic tls-crypt: client %llu server %llu",
		      cli_stat("dyn_wrapped"), srv_stat("dyn_wrapped"));
		CHECK(cli_stat("rx_unwrap_errs") == 0 && srv_stat("rx_unwrap_errs") == 0,
		      "unwrap errors: client %llu server %llu", cli_stat("rx_unwrap_errs"),
		      srv_stat("rx_unwrap_errs"));
		rig_down();
	}
}

/*
 * Deferred authentication: AUTH_PENDING,timeout N and INFO_PRE to our
 * client (it announces AUTH_PENDING_KW), which must wait past its own
 * hand-window for the decision, then AUTH_FAILED,TEMP, then a success.
 */
static void case_auth_pending(void)
{
	/* Both caps are max(reneg-sec / 2, hand-window): 1800 s here. */
	struct setup su = { .wrap = W_CRYPT, .cli_reneg = 3600, .srv_reneg = 3600 };
	struct srvsess_accept a = {
		.push = push_ekm, .cipher = DC_AES_256_GCM, .peer_id = 5, .ekm = true,
	};
	unsigned int backoff = 0;

	printf("AUTH_PENDING, INFO_PRE, then accepted after the client's hand-window\n");
	rig_up(&su);
	to_auth();
	CHECK(srvsess_client(rig.srv)->peer.iv_proto & IV_PROTO_AUTH_PENDING_KW,
	      "client did not announce AUTH_PENDING_KW");
	CHECK(srvsess_auth_pending(rig.srv, 100, "CR_TEXT:R,E:Enter code") == 0,
	      "srvsess_auth_pending");
	CHECK(srvsess_auth_pending(rig.srv, 100, "bad\x01extra") == -EINVAL, "bad extra taken");
	/* 70 s: beyond the client's hand-window of 60 s, within the 100 s asked for. */
	CHECK(!run(cli_over, 70), "client gave up during AUTH_PENDING (state %d)",
	      session_state(rig.cli));
	CHECK(session_auth_state(rig.cli) && !strcmp(session_auth_state(rig.cli), "AUTH_PENDING"),
	      "client auth state");
	CHECK(!strcmp(session_info_text(rig.cli), "CR_TEXT:R,E:Enter code"), "info '%s'",
	      session_info_text(rig.cli));
	CHECK(cli_stat("auth_pending") == 1, "auth_pending %llu", cli_stat("auth_pending"));
	REQUIRE(!srvsess_accept(rig.srv, &a), "srvsess_accept");
	REQUIRE(run(cli_keys, 20), "client never got keys (state %d)", session_state(rig.cli));
	keys_match(0, false, 5);
	CHECK(!session_auth_state(rig.cli), "AUTH_PENDING still shown");
	rig_down();

	printf("AUTH_FAILED,TEMP[backoff 7,advance remote]\n");
	rig_up(&su);
	to_auth();
	srvsess_reject(rig.srv, "TEMP[backoff 7,advance remote]: busy");
	REQUIRE(run(cli_over, 20), "client did not stop (state %d)", session_state(rig.cli));
	CHECK(session_state(rig.cli) == SESSION_RESTART, "client state %d, expected RESTART",
	      session_state(rig.cli));
	CHECK(session_take_auth_temp(rig.cli, &backoff) && backoff == 7, "TEMP backoff %u",
	      backoff);
	CHECK(session_take_next_remote(rig.cli), "advance remote not taken");
	rig_down();
}

/*
 * Control characters in what a client says about itself become '_' before
 * anything (scripts, files, status, logs) sees them, as stock remaps them.
 */
int main(void)
{
	make_pki();
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(getenv("SRVSESS_TEST_VERB") ? atoi(getenv("SRVSESS_TEST_VERB")) : 0, 0);
	case_push_split();
	case_reneg_client();
	case_reneg_server(W_NONE, "no wrapping");
	case_reneg_server(W_V2, "tls-crypt-v2");
	case_reneg_orders();
	case_auth_pending();
	return harness_done("srvsess_flow_test");
}
