/*
 * config_push_test.c - a client's options under a PUSH_REPLY
 * (options_apply_push): every field of a verified stock reply, a reply that
 * starts over from the config, push-continuation, a table of replies against
 * route-nopull, pull-filter, compression and cipher negotiation, and the
 * fields a push may not touch. config_test.c has the loader itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "config_rig.h"

/* --- 5. PUSH_REPLY ---------------------------------------------------------------- */

static const char verified_reply[] =
	"PUSH_REPLY,route 198.19.78.0 255.255.255.0,dhcp-option DNS 198.19.77.53,"
	"redirect-gateway def1,route-gateway 198.19.77.1,topology subnet,ping 10,"
	"ping-restart 60,ifconfig 198.19.77.2 255.255.255.0,peer-id 0,cipher AES-256-GCM,"
	"protocol-flags cc-exit tls-ekm dyn-tls-crypt,tun-mtu 1500";

static int push(struct options *o, const char *msg, int *cont)
{
	err[0] = '\0';
	return options_apply_push(o, msg, strlen(msg) + 1, cont, err, sizeof(err));
}

static void test_push_verified(void)
{
	struct options *o = load_final(CLIENT_BASE "remote a\ntun-mtu 1400\n");
	int cont = -1;

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK(push(o, verified_reply, &cont) == 0, "push: %s", err);
	CHECK_INT(cont, 0);
	CHECK_INT(o->warnings.n, 0);
	CHECK_INT(o->routes.n, 1);
	CHECK_STR(o->routes.v[0].network, "198.19.78.0");
	CHECK_STR(o->routes.v[0].netmask, "255.255.255.0");
	CHECK_INT(o->dhcp_options.n, 1);
	CHECK_STR(o->dhcp_options.v[0].type, "DNS");
	CHECK_STR(o->dhcp_options.v[0].value, "198.19.77.53");
	CHECK_INT(o->redirect_gateway, OPT_RG_ENABLE | OPT_RG_REROUTE_GW | OPT_RG_DEF1);
	CHECK_STR(o->route_gateway, "198.19.77.1");
	CHECK_INT(o->topology, OPT_TOPOLOGY_SUBNET);
	CHECK_INT(o->ping, 10);
	CHECK_INT(o->ping_rec_timeout, 60);
	CHECK_INT(o->ping_rec_action, OPT_PING_RESTART);
	CHECK_STR(o->ifconfig_local, "198.19.77.2");
	CHECK_STR(o->ifconfig_remote, "255.255.255.0");
	CHECK(o->has_peer_id && o->peer_id == 0, "peer-id 0");
	CHECK_STR(o->cipher, "AES-256-GCM");
	CHECK(o->cipher_pushed, "cipher pushed");
	CHECK_INT(o->protocol_flags, OPT_PROTO_CC_EXIT | OPT_PROTO_TLS_EKM |
				     OPT_PROTO_DYN_TLS_CRYPT);
	CHECK_INT(o->conns.v[0].tun_mtu, 1500);
	options_dump(o, fopen("/dev/null", "w") ?: stderr);

	/* A lone PUSH_REPLY is valid and, as a new reply, starts from the config again. */
	CHECK(push(o, "PUSH_REPLY", &cont) == 0 && cont == 0, "empty: %s", err);
	CHECK_INT(o->routes.n, 0);
	CHECK(!o->ifconfig_local && !o->has_peer_id && !o->cipher_pushed, "restored");
	CHECK_INT(o->conns.v[0].tun_mtu, 1400);
	CHECK_INT(o->topology, OPT_TOPOLOGY_NET30);
	opt_del(o);
}

static void test_push_continuation(void)
{
	struct options *o = load_final(CLIENT_BASE "remote a\nroute 10.9.0.0 255.255.0.0\n");
	int cont = -1;

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK(push(o, "PUSH_REPLY,route 10.1.0.0 255.255.0.0,push-continuation 2", &cont) == 0 &&
	      cont == 2, "part 1: %d %s", cont, err);
	CHECK(push(o, "PUSH_REPLY,route 10.2.0.0 255.255.0.0,push-continuation 1", &cont) == 0 &&
	      cont == 1, "part 2: %d %s", cont, err);
	CHECK_INT(o->routes.n, 3);
	CHECK(push(o, "PUSH_REPLY,route 10.3.0.0 255.255.0.0", &cont) == 0 && cont == 0,
	      "new reply: %s", err);
	CHECK_INT(o->routes.n, 2);
	CHECK_STR(o->routes.v[0].network, "10.9.0.0");
	CHECK_STR(o->routes.v[1].network, "10.3.0.0");
	options_pull_reset(o);
	CHECK_INT(o->routes.n, 1);
	opt_del(o);
}

static void push_case(int n, const char *config, const char *reply, const char *want)
{
	struct options *o = load_final(config);
	int cont, ret;

	CHECK(o, "push %d: load: %s", n, err);
	if (!o)
		return;
	ret = push(o, reply, &cont);
	if (!strncmp(want, "WARN:", 5))
		CHECK(ret == 0 && has_warning(o, want + 5), "push %d: expected warning '%s', "
		      "got %d '%s' (%zu warnings)", n, want + 5, ret, err, o->warnings.n);
	else if (*want)
		CHECK(ret < 0 && strstr(err, want), "push %d: expected error '%s', got %d '%s'",
		      n, want, ret, err);
	else
		CHECK(ret == 0 && o->warnings.n == 0, "push %d: expected success, got %d '%s' %s",
		      n, ret, err, o->warnings.n ? o->warnings.v[0] : "");
	opt_del(o);
}

static void test_push_table(void)
{
	const char *cl = CLIENT_BASE "remote a\n";
	int n = 0;
#define T(config, reply, want) push_case(++n, config, reply, want)
	T(cl, "PUSH_REPLY,compress lz4-v2", "server pushed compression settings that are not "
	  "allowed (lz4-v2, but allow-compression is no)");
	T(cl, "PUSH_REPLY,comp-lzo", "not allowed");
	T(cl, "PUSH_REPLY,comp-lzo no", "");
	T(cl, "PUSH_REPLY,compress stub-v2", "");
	T(CLIENT_BASE "remote a\nallow-compression yes\n", "PUSH_REPLY,compress lz4-v2", "");
	T(CLIENT_BASE "remote a\ncomp-lzo\n", "PUSH_REPLY,compress lz4-v2", "");
	T(cl, "PUSH_REPLY,bogus-option 1,ping 5", "WARN:ignoring unsupported pushed option "
	  "'bogus-option' at PUSH_REPLY:1");
	T(cl, "PUSH_REPLY,ping 5,dev tap", "WARN:option 'dev' cannot be pushed, ignored at "
	  "PUSH_REPLY:2");
	T(cl, "PUSH_REPLY,ping abc", "WARN:ping expects a number 0..2147483647, got 'abc' at "
	  "PUSH_REPLY:1 (pushed option ignored)");
	T(cl, "PUSH_REPLY,route example.com", "WARN:route expects a network address");
	T(cl, "PUSH_REPLY,ifconfig 10.0.0.2 x", "WARN:ifconfig expects two IPv4");
	T(cl, "PUSH_REPLY,echo \"unterminated", "WARN:no closing quotation");
	T(cl, "PUSH_REPLY,block-outside-dns,dns server 0 address 10.0.0.1,auth-token SECRET,"
	  "explicit-exit-notify 3,inactive 100 1000,ping-exit 30,echo hello world,"
	  "route-ipv6 2001:db8::/64,ifconfig-ipv6 2001:db8::2/64 2001:db8::1,tun-ipv6,"
	  "redirect-gateway ipv6 !ipv4,key-derivation tls-ekm,persist-tun,verb 3,sndbuf 0", "");
	T(CLIENT_BASE "remote a\nroute-nopull\n", "PUSH_REPLY,route 10.0.0.0 255.0.0.0",
	  "WARN:option 'route' cannot be pushed");
	T(CLIENT_BASE "remote a\npull-filter reject \"route 10.\"\n",
	  "PUSH_REPLY,ping 1,route 10.0.0.0 255.0.0.0", "pushed option 'route 10.0.0.0 "
	  "255.0.0.0' rejected by pull-filter");
	T(CLIENT_BASE "remote a\npull-filter ignore route\n",
	  "PUSH_REPLY,route 10.0.0.0 255.0.0.0,route-gateway 10.0.0.1", "");
	T(CLIENT_BASE "remote a\ndata-ciphers AES-128-GCM\n", "PUSH_REPLY,cipher AES-256-GCM",
	  "server pushed cipher 'AES-256-GCM', which is not in data-ciphers AES-128-GCM");
	T(CLIENT_BASE "remote a\ndata-ciphers ?AES-128-GCM:aes-256-gcm\n",
	  "PUSH_REPLY,cipher AES-256-GCM", "");
	T(cl, "PUSH_REPLY,dns server -5 address 10.0.0.1,dns search-domains a.org b.org", "");
	T(cl, "PUSH_REPLY,dns server -129 address 10.0.0.1", "WARN:priority -128..127");
	T(cl, "PUSH_REPLY,push-continuation 3", "WARN:push-continuation expects a number 0..2");
	T(cl, "PUSH_REQUEST", "not a PUSH_REPLY");
	T(cl, "PUSH_REPLY,,  ,ping 1,", "");
#undef T
}

static void test_push_fields(void)
{
	struct options *o = load_final(CLIENT_BASE "remote a\n");
	int cont;

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK(push(o, "PUSH_REPLY,explicit-exit-notify 3,auth-token SECRET,echo a  b,"
		   "redirect-gateway ipv6 !ipv4,ping-exit 30,route-ipv6 2001:db8::/64", &cont) == 0,
	      "push: %s", err);
	CHECK_INT(o->conns.v[0].explicit_exit_notify, 3);
	CHECK_STR(o->auth_token, "SECRET");
	CHECK_INT(o->echo.n, 1);
	CHECK_STR(o->echo.v[0], "a b");
	CHECK_INT(o->redirect_gateway, OPT_RG_IPV6);
	CHECK_INT(o->ping_rec_action, OPT_PING_EXIT);
	CHECK_INT(o->routes6.n, 1);
	opt_del(o);
}

int main(void)
{
	test_push_verified();
	test_push_continuation();
	test_push_table();
	test_push_fields();
	return harness_done("config_push_test");
}
