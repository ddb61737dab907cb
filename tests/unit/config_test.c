/*
 * config_test.c - ctrl/config/config.c and ctrl/config/options.c: the tokenizer against OpenVPN's
 * parse_line() quirks, loading (errors name option, file and line), inline and
 * <connection> blocks, last-wins and lists, argv, includes, finalize.
 * config_push_test.c has PUSH_REPLY.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../ctrl/config/config.h"
#include "../../ctrl/config/options.h"
#include "harness.h"
#include "pki.h"
#include "config_rig.h"

/* --- 1. tokenizer: T(line, words joined by '|' or "ERR:substring") ---------------- */

static void tokenizer_case(int n, const char *line, const char *want)
{
	struct config_src src = { "tok", 7 };
	struct config_arena a = { 0 };
	static char got[1100];
	struct config_directive d;
	int i, ret;

	got[0] = '\0';
	ret = config_parse_line(&a, line, &src, &d, err, sizeof(err));
	if (ret) {
		snprintf(got, sizeof(got), "ERR:%s", err);
	} else {
		for (i = 0; i < d.argc; i++) {
			if (i)
				strcat(got, "|");
			strcat(got, d.argv[i]);
		}
	}
	if (!strncmp(want, "ERR:", 4))
		CHECK(!strncmp(got, "ERR:", 4) && strstr(got, want + 4),
		      "tokenizer %d: '%s': expected error '%s', got '%s'", n, line, want + 4, got);
	else
		CHECK(!strcmp(got, want), "tokenizer %d: '%s': expected '%s', got '%s'", n, line,
		      want, got);
	config_arena_free(&a);
}

static void test_tokenizer(void)
{
	int n = 0;
#define T(line, want) tokenizer_case(++n, line, want)
	T("remote host 1194", "remote|host|1194");
	T("  remote\thost  \n", "remote|host");
	T("# comment", "");
	T("; comment", "");
	T("", "");
	T("remote host # comment", "remote|host");
	T("remote host ;comment", "remote|host");
	T("remote host#notacomment", "remote|host#notacomment");
	T("push \"route 10.0.0.0 255.0.0.0\"", "push|route 10.0.0.0 255.0.0.0");
	T("push 'a b\\c'", "push|a b\\c");
	T("a \"b\\\"c\"", "a|b\"c");
	T("a b\\ c", "a|b c");
	T("a \"\"", "a|");
	T("a \"b\"c", "a|b|c");
	T("a 'b'\"c\"", "a|b|c");
	T("a \\\\srv\\\\share", "a|\\srv\\share");
	T("a\"b c\"", "a\"b|c\"");
	T("\"#x\" y", "#x|y");
	T("a \\#x", "a");			/* OpenVPN: still a comment */
	T("a\r\n", "a");
	T("a b\\\n", "a|b\n");			/* escaped newline kept, as with fgets() */
	T("a b c d e f g h i j k l m n o p", "a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p");
	T("a b c d e f g h i j k l m n o p # comment", "a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p");
	T("a b c d e f g h i j k l m n o p q", "ERR:too many arguments (at most 15) at tok:7");
	T("a \"unterminated", "ERR:no closing quotation (\") at tok:7");
	T("a 'x", "ERR:no closing single quotation");
	T("a \\q", "ERR:bad backslash escape '\\q'");
	T("a b\\", "ERR:backslash at end of line");
#undef T
}

/* --- 2. loading errors: T(config text, "" for success or error substring) --------- */

static void load_case(int n, const char *text, const char *want)
{
	struct options *o = opt_new();
	int ret = load(o, text);

	if (!*want)
		CHECK(ret == 0, "load %d: expected success, got %d '%s'", n, ret, err);
	else
		CHECK(ret < 0 && strstr(err, want), "load %d: expected error '%s', got %d '%s'",
		      n, want, ret, err);
	opt_del(o);
}

static void test_load_errors(void)
{
	static char long_line[1200];
	int n = 0;

	memset(long_line, 'x', sizeof(long_line));
	memcpy(long_line, "dev tun\nsetenv X ", 17);
	long_line[sizeof(long_line) - 1] = '\0';
#define T(text, want) load_case(++n, text, want)
	T("foo bar\n", "options: unsupported option 'foo' at t.conf:1");
	T("dev tun\n\n# c\nfoo\n", "options: unsupported option 'foo' at t.conf:4");
	T("tun-mtu abc\n", "options: tun-mtu expects a number 100..65536, got 'abc' at t.conf:1");
	T("tun-mtu 99\n", "tun-mtu expects a number 100..65536, got '99'");
	T("tun-mtu\n", "options: tun-mtu expects MTU [OCC-MTU], got 0 arguments at t.conf:1");
	T("client 1\n", "options: client takes no arguments, got 1 at t.conf:1");
	T("verb 3 4\n", "verb expects a number 0..11, got 2 arguments");
	T("proto sctp\n", "proto expects a protocol");
	T("remote a 99999\n", "remote expects a number 1..65535, got '99999'");
	T("remote a 1194 sctp\n", "remote expects a protocol");
	T("remote a 1 udp x\n", "remote expects HOST [PORT [PROTO]], got 4 arguments");
	T("fragment 1300\n", "options: fragment is not supported by sluice");
	T("http-proxy p 8080\n", "http-proxy is not supported by sluice");
	T("socks-proxy p\n", "socks-proxy is not supported by sluice");
	T("secret s.key\n", "secret (static-key mode) is not supported");
	T("keysize 256\n", "keysize was removed");
	T("key-method 1\n", "key-method expects 2");
	T("ignore-unknown-option foo\nfoo 1\n", "");
	T("ignore-unknown-option --foo bar\nbar\nfoo\n", "");
	T("foo 1\nignore-unknown-option foo\n", "unsupported option 'foo' at t.conf:1");
	T("setenv opt foo 1\n", "");
	T("setenv opt\n", "setenv opt expects an option");
	T("setenv FORWARD_COMPATIBLE 1\nfoo\n", "");
	T("setenv GENERIC_CONFIG 1\n", "generic configuration");
	T("<ca>\nabc\n", "options: inline block <ca> has no </ca> at t.conf:1");
	T("dev tun\n<remote>\nx\n</remote>\n", "option 'remote' cannot be an inline <remote> "
	  "block at t.conf:2");
	T("<foo>\nx\n</foo>\n", "unsupported option 'foo' at t.conf:1");
	T("ignore-unknown-option foo\n<foo>\nx\n</foo>\ndev tun\n", "");
	T("<connection>\nproto udp\n</connection>\n",
	  "options: <connection> block without a remote at t.conf:1");
	T("\n<connection>\nremote a\nclient\n</connection>\n",
	  "option 'client' is not allowed in a <connection> block at t.conf:4");
	T("<connection>\nremote a\nfoo\n</connection>\n", "unsupported option 'foo' at t.conf:3");
	T("connection x\n", "connection must be a <connection>");
	T(long_line, "options: line too long (more than 1024 bytes) at t.conf:2");
	T("verify-x509-name x foo\n", "verify-x509-name expects subject, name or name-prefix");
	T("comp-lzo maybe\n", "comp-lzo expects yes, no or adaptive, got 'maybe'");
	T("allow-compression no\nallow-compression yes\n", "after allow-compression no");
	T("compress lz4\nallow-compression no\n", "conflicts");
	T("push-continuation 1\n", "option 'push-continuation' can only be pushed by a server");
	T("peer-id 5\nprotocol-flags cc-exit\n", "");
	T("replay-window 70000\n", "replay-window expects a number 0..65536");
	T("replay-window 64 700\n", "replay-window expects a number 0..600");
	T("redirect-gateway def1 bogus\n", "redirect-gateway: unknown flag 'bogus'");
	T("ifconfig 10.0.0.1 foo\n", "ifconfig expects two IPv4 addresses");
	T("ifconfig-ipv6 fd00::1/48 fd00::2\n", "prefix length 64..124");
	T("route 10.0.0.0 255.0.0\n", "route expects a netmask");
	T("route 10.0.0.0 255.0.0.0 default 5\n", "");
	T("route 10.0.0.0 255.0.0.0 10.0.0.1 -1\n", "route expects a number 0..");
	T("route-ipv6 2001:db8::/32 x\n", "route-ipv6 expects an IPv6 gateway");
	T("\xEF\xBB\xBF" "dev tun\n", "");
	T("--dev tun\n", "");
	T("tls-auth ta.key 2\n", "tls-auth expects a key direction 0 or 1, got '2'");
	T("peer-fingerprint zz\n", "peer-fingerprint expects a SHA-256 fingerprint");
	T("management 127.0.0.1 abc\n", "management expects a number 0..65535");
	T("management /run/s.sock unix\n", "");
	T("max-clients 0\n", "max-clients expects a number 1..16777214");
	T("topology star\n", "topology expects net30, p2p or subnet");
	T("workers 0\n", "");
	T("workers 17\n", "workers expects a number 0..16 (0: crypto on the I/O threads), got '17'");
	T("workers 16\n", "");
	T("workers -1\n", "workers expects a number 0..16");
	T("uring-fixed-buffers maybe\n", "uring-fixed-buffers expects yes or no, got 'maybe'");
	T("test-peer-id 16777215\n", "test-peer-id expects a number 0..16777214");
	T("dns server 1 address 1.1.1.1 [2606:4700::1111]:53\n", "");
	T("dns server 300 address 1.1.1.1\n", "priority 0..127");
	T("dns server -1 address 1.1.1.1\n", "priority 0..127, got '-1'");
	T("dns foo\n", "dns expects 'search-domains");
	T("push \"route 10.0.0.0 255.0.0.0,ping 1\"\n", "push expects one option without commas");
	T("up\n", "up expects 'COMMAND' (quote a command with arguments), got 0 arguments");
	T("config a b\n", "config expects FILE, got 2 arguments");
	T("tls-version-min 1.4\n", "tls-version-min expects 1.0, 1.1, 1.2 or 1.3");
	T("tls-version-min 1.4 or-highest\n", "");
#undef T
}

/* --- 3. stock interop configs ------------------------------------------------------ */

static const char stock_client[] =
	"client\ndev tun\nproto udp\nremote 198.18.77.1 1194\nnobind\n\nca ca.crt\n"
	"cert client.crt\nkey client.key\nremote-cert-tls server\n"
	"verify-x509-name ovw-server name\n\nexplicit-exit-notify 1\n\nverb 4\n";

static const char stock_server[] =
	"dev tun\nproto udp\nlocal 198.18.77.1\nport 1194\n\ntopology subnet\n"
	"server 198.19.77.0 255.255.255.0\n\nca ca.crt\ncert server.crt\nkey server.key\n"
	"dh none\nremote-cert-tls client\n\nkeepalive 10 60\nreneg-sec 30\n\n"
	"push \"route 198.19.78.0 255.255.255.0\"\npush \"dhcp-option DNS 198.19.77.53\"\n"
	"push \"redirect-gateway def1\"\n\nverb 4\n";

/* The shared file if it exists, else the embedded copy of it. */
static struct options *load_stock(const char *path, const char *copy)
{
	struct options *o = opt_new();
	int ret = access(path, R_OK) == 0 ? options_load_file(o, path, err, sizeof(err)) :
					    load(o, copy);

	if (!ret)
		ret = options_finalize(o, err, sizeof(err));
	CHECK(ret == 0, "%s: %s", path, err);
	if (ret) {
		opt_del(o);
		return NULL;
	}
	return o;
}

static void test_stock_client(void)
{
	struct options *o = load_stock("/work/shared/protocol/interop/client.conf",
				       stock_client);

	if (!o)
		return;
	CHECK(o->client && o->pull && o->tls_client && !o->tls_server, "client role");
	CHECK_STR(o->dev, "tun");
	CHECK_INT(o->dev_kind, OPT_DEV_TUN);
	CHECK_INT(o->conns.n, 1);
	CHECK_STR(o->conns.v[0].remote, "198.18.77.1");
	CHECK_INT(o->conns.v[0].remote_port, 1194);
	CHECK_INT(o->conns.v[0].proto, OPT_PROTO_UDP);
	CHECK(!o->conns.v[0].bind_local, "nobind");
	CHECK_INT(o->conns.v[0].explicit_exit_notify, 1);
	CHECK_INT(o->conns.v[0].mssfix, 1492);
	CHECK_INT(o->remote_cert_tls, OPT_CERT_TLS_SERVER);
	CHECK_STR(o->verify_x509_name, "ovw-server");
	CHECK_INT(o->verify_x509_type, OPT_X509_NAME);
	CHECK_STR(o->ca.data, "ca.crt");
	CHECK(!o->ca.is_inline, "ca is a path");
	CHECK_INT(o->verb, 4);
	CHECK_STR(o->data_ciphers, OPT_DATA_CIPHERS_DEFAULT);
	CHECK_INT(o->allow_compression, OPT_ALLOW_COMP_NO);
	CHECK_INT(o->warnings.n, 0);
	opt_del(o);
}

static void test_stock_server(void)
{
	static const char *const push[] = {
		"route 198.19.78.0 255.255.255.0", "dhcp-option DNS 198.19.77.53",
		"redirect-gateway def1", "route-gateway 198.19.77.1", "topology subnet",
		"ping 10", "ping-restart 60",
	};
	struct options *o = load_stock("/work/shared/protocol/interop/server.conf",
				       stock_server);
	size_t i;

	if (!o)
		return;
	CHECK(o->mode == OPT_MODE_SERVER && o->tls_server && !o->pull, "server role");
	CHECK_INT(o->topology, OPT_TOPOLOGY_SUBNET);
	CHECK_STR(o->ifconfig_local, "198.19.77.1");
	CHECK_STR(o->ifconfig_remote, "255.255.255.0");
	CHECK(o->has_ifconfig_pool, "pool");
	CHECK_INT(o->ifconfig_pool_start, 0xC6134D02);	/* 198.19.77.2 */
	CHECK_INT(o->ifconfig_pool_end, 0xC6134DFE);	/* 198.19.77.254 */
	/* Same order as the verified PUSH_REPLY (openvpn-wire.md §9). */
	CHECK_INT(o->push.n, ARRAY_SIZE(push));
	for (i = 0; i < o->push.n && i < ARRAY_SIZE(push); i++)
		CHECK_STR(o->push.v[i], push[i]);
	CHECK_INT(o->ping, 10);
	CHECK_INT(o->ping_rec_timeout, 120);
	CHECK_INT(o->ping_rec_action, OPT_PING_RESTART);
	CHECK(o->dh_none, "dh none");
	CHECK_INT(o->reneg_sec, 30);
	CHECK_STR(o->conns.v[0].local, "198.18.77.1");
	CHECK_INT(o->conns.v[0].local_port, 1194);
	CHECK(o->conns.v[0].bind_local, "server binds");
	CHECK_INT(o->remote_cert_tls, OPT_CERT_TLS_CLIENT);
	opt_del(o);
}

/* --- 4. semantics ----------------------------------------------------------------- */


static void test_last_wins_and_lists(void)
{
	struct options *o = load_final(CLIENT_BASE
		"verb 3\nverb 5\ncipher AES-128-GCM\ncipher AES-256-GCM\n"
		"remote a\nremote b 1195\nremote c 1196 tcp\n"
		"route 10.1.0.0 255.255.0.0\nroute 10.2.0.0 255.255.0.0 vpn_gateway 7\n"
		"push \"ping 1\"\ndhcp-option DNS 1.1.1.1\ndhcp-option DOMAIN x.org\n"
		"setenv A 1\nsetenv B\npull-filter ignore \"route\"\nport 2000\n");

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK_INT(o->verb, 5);
	CHECK_STR(o->cipher, "AES-256-GCM");
	CHECK_INT(o->remotes.n, 3);
	CHECK_INT(o->conns.n, 3);
	CHECK_STR(o->conns.v[0].remote, "a");
	CHECK_INT(o->conns.v[0].remote_port, 2000);	/* port sets the default */
	CHECK_INT(o->conns.v[1].remote_port, 1195);
	CHECK_INT(o->conns.v[2].proto, OPT_PROTO_TCP_CLIENT);	/* tcp + client */
	CHECK_INT(o->routes.n, 2);
	CHECK_STR(o->routes.v[1].gateway, "vpn_gateway");
	CHECK_STR(o->routes.v[1].metric, "7");
	CHECK_INT(o->dhcp_options.n, 2);
	CHECK_STR(o->dhcp_options.v[1].value, "x.org");
	CHECK_INT(o->setenvs.n, 2);
	CHECK_STR(o->setenvs.v[1].value, "");
	CHECK_INT(o->push.n, 1);
	CHECK_INT(o->pull_filters.n, 1);
	opt_del(o);
}

static void test_inline_blocks(void)
{
	struct options *o = load_final(
		"dev tun\nclient\nremote a\n"
		"<ca>\n-----BEGIN CERTIFICATE-----\n  indented\r\n-----END CERTIFICATE-----\n</ca>\n"
		"<cert>\nC\n   </cert> trailing text is ignored\n"
		"<key>\nK\n</key>\n"
		"key-direction 1\n<tls-auth>\nT\n</tls-auth>\n"
		"<peer-fingerprint>\n# comment\n"
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:"
		"bb:cc:dd:ee:ff\n\n"
		"FF:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:"
		"bb:cc:dd:ee:01\n</peer-fingerprint>\n"
		"<auth-user-pass>\nuser\npass\n</auth-user-pass>\n"
		"up \"/bin/echo a b\"\n");

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK_STR(o->ca.data, "-----BEGIN CERTIFICATE-----\n  indented\r\n"
		  "-----END CERTIFICATE-----\n");
	CHECK(o->ca.is_inline, "ca inline");
	CHECK_STR(o->cert.data, "C\n");
	CHECK_STR(o->key.data, "K\n");
	CHECK_STR(o->conns.v[0].tls_auth.data, "T\n");
	CHECK(o->conns.v[0].tls_auth.is_inline, "tls-auth inline");
	CHECK_INT(o->conns.v[0].key_direction, 1);
	CHECK_INT(o->peer_fingerprints.n, 2);
	CHECK_INT(o->peer_fingerprints.v[1].sha256[0], 0xFF);
	CHECK_INT(o->peer_fingerprints.v[1].sha256[31], 0x01);
	CHECK(o->has_auth_user_pass && o->auth_user_pass.is_inline, "auth-user-pass inline");
	CHECK_STR(o->auth_user_pass.data, "user\npass\n");
	CHECK_STR(o->up, "/bin/echo a b");
	opt_del(o);

	/* Line numbers go on after an inline block. */
	o = opt_new();
	CHECK(load(o, "<ca>\na\nb\n</ca>\nbogus\n") < 0 && strstr(err, "t.conf:5"),
	      "line after inline block: %s", err);
	opt_del(o);
}

static void test_connection_blocks(void)
{
	struct options *o = load_final(CLIENT_BASE
		"proto tcp-client\ntls-auth ta.key 1\n"
		"<connection>\nremote one 443\n</connection>\n"
		"\n<connection>\nremote two 1194 udp\nexplicit-exit-notify 2\n<tls-crypt>\nTC\n"
		"</tls-crypt>\n</connection>\n"
		"nobind\nremote ignored\n");

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK_INT(o->conns.n, 2);
	CHECK_STR(o->conns.v[0].remote, "one");
	CHECK_INT(o->conns.v[0].remote_port, 443);
	CHECK_INT(o->conns.v[0].proto, OPT_PROTO_TCP_CLIENT);	/* inherited from before */
	CHECK_INT(o->conns.v[0].src.line, 8);
	CHECK_STR(o->conns.v[0].tls_auth.data, "ta.key");	/* global filled in */
	CHECK_INT(o->conns.v[0].key_direction, 1);
	CHECK_STR(o->conns.v[1].remote, "two");
	CHECK_INT(o->conns.v[1].proto, OPT_PROTO_UDP);
	CHECK_INT(o->conns.v[1].explicit_exit_notify, 2);
	CHECK_STR(o->conns.v[1].tls_crypt.data, "TC\n");
	CHECK(!o->conns.v[1].tls_auth.data, "block's own tls-crypt replaces global tls-auth");
	CHECK(has_warning(o, "option 'nobind' does not apply to the <connection> blocks before "
			  "it at t.conf:19"), "nobind after blocks warns");
	CHECK(has_warning(o, "remote outside <connection> blocks is ignored"), "remote warns");
	opt_del(o);
}

static void test_finalize_errors(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "client\n", "dev is required" },
		{ "dev foo0\ntls-client\n", "dev-type tun or dev-type tap" },
		{ "dev tun\nclient\nca c\n", "client mode needs a remote" },
		{ "dev tun\nclient\nremote a\n", "you must give ca and/or peer-fingerprint" },
		{ "dev tun\nclient\nremote a\nca c\n", "no client authentication" },
		{ "dev tun\nclient\nremote a\nca c\ncert x\n", "you must use them both" },
		{ "dev tun\ntls-server\nca c\ncert c\nkey k\n", "dh FILE or 'dh none'" },
		{ "dev tun\nmode server\nca c\ncert c\nkey k\ndh none\n", "needs tls-server" },
		{ CLIENT_BASE "remote a\nkeepalive 10 15\n", "at least twice" },
		{ CLIENT_BASE "remote a\nkeepalive 10 60\nping 5\n", "keepalive conflicts" },
		{ "dev tun\ntls-client\nca c\ncert c\nkey k\nproto tcp\nremote a\n", "ambiguous" },
		{ CLIENT_BASE "remote a\nallow-compression no\ncompress lz4-v2\n",
		  "compression lz4-v2 is not allowed" },
		{ CLIENT_BASE "remote a\ntls-auth t\ntls-crypt t\n", "mutually exclusive" },
		{ "dev tun\n", "no TLS role" },
		{ "dev tun\nclient\nserver 10.0.0.0 255.255.255.0\n", "cannot be used together" },
		{ "dev tun\nserver 10.0.0.0 255.255.255.252\n", "/29 or larger" },
		{ "dev tun\nserver 10.0.0.1 255.255.255.0\n", "combination is invalid" },
		{ "dev tun\nproto tcp-client\ntls-client\nca c\ncert c\nkey k\n", "needs a remote" },
		{ CLIENT_BASE "remote a\ntest-data-key /nonexistent/key\n", "cannot open" },
	};
	struct options *o;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		o = load_final(cases[i].text);
		CHECK(!o && strstr(err, cases[i].want), "finalize %zu: expected '%s', got '%s'",
		      i + 1, cases[i].want, o ? "(success)" : err);
		if (o)
			opt_del(o);
	}
}

static void test_keepalive(void)
{
	struct options *o = load_final(CLIENT_BASE "remote a\nkeepalive 10 60\n");

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK_INT(o->ping, 10);
	CHECK_INT(o->ping_rec_timeout, 60);
	CHECK_INT(o->push.n, 0);
	opt_del(o);
}

static void test_server_net30_ipv6(void)
{
	struct options *o = load_final("dev tun\nserver 10.8.0.0 255.255.255.0\n"
		"server-ipv6 fd00:1::/64\nca c\ncert c\nkey k\ndh none\nproto tcp\n");

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK_STR(o->ifconfig_local, "10.8.0.1");
	CHECK_STR(o->ifconfig_remote, "10.8.0.2");
	CHECK_INT(o->ifconfig_pool_start, 0x0A080004);
	CHECK_INT(o->ifconfig_pool_end, 0x0A0800FB);
	CHECK_INT(o->routes.n, 1);
	CHECK_STR(o->ifconfig_ipv6_local, "fd00:1::1");
	CHECK_STR(o->ifconfig_ipv6_remote, "fd00:1::2");
	CHECK_INT(o->ifconfig_ipv6_pool_base[14], 0x10);
	CHECK_INT(o->push.n, 3);
	if (o->push.n == 3) {
		CHECK_STR(o->push.v[0], "tun-ipv6");
		CHECK_STR(o->push.v[1], "route 10.8.0.1");
		CHECK_STR(o->push.v[2], "topology net30");
	}
	CHECK_INT(o->conns.v[0].proto, OPT_PROTO_TCP_SERVER);
	opt_del(o);
}

static void test_argv(void)
{
	char *argv1[] = { "sluice", "--dev", "tun", "--remote", "a", "1194", "--client",
			  "--ca", "c", "--auth-user-pass", "--verb", "3", NULL };
	char *argv2[] = { "sluice", "remote", "a", NULL };
	char *argv3[] = { "sluice", "--bogus", "x", NULL };
	char *argv4[] = { "sluice", "--ignore-unknown-option", "bogus", "--bogus", NULL };
	char *argv5[] = { "sluice", "--tun-mtu", "x", NULL };
	struct options *o = opt_new();
	int ret;

	ret = options_load_argv(o, 12, argv1, err, sizeof(err));
	if (!ret)
		ret = options_finalize(o, err, sizeof(err));
	CHECK(ret == 0, "argv1: %s", err);
	CHECK_STR(o->conns.v[0].remote, "a");
	CHECK_INT(o->verb, 3);
	CHECK(o->has_auth_user_pass && !o->auth_user_pass.data, "auth-user-pass w/o file");
	opt_del(o);

	o = opt_new();
	CHECK(options_load_argv(o, 3, argv2, err, sizeof(err)) < 0 &&
	      strstr(err, "'remote' is not an --option") && strstr(err, "at command line"),
	      "argv2: %s", err);
	opt_del(o);
	o = opt_new();
	CHECK(options_load_argv(o, 3, argv3, err, sizeof(err)) < 0 &&
	      !strcmp(err, "options: unsupported option 'bogus' at command line"), "argv3: %s",
	      err);
	opt_del(o);
	o = opt_new();
	CHECK(options_load_argv(o, 4, argv4, err, sizeof(err)) == 0, "argv4: %s", err);
	CHECK(has_warning(o, "ignoring unsupported option 'bogus' at command line"), "warn");
	opt_del(o);
	o = opt_new();
	CHECK(options_load_argv(o, 3, argv5, err, sizeof(err)) < 0 &&
	      strstr(err, "tun-mtu expects a number 100..65536, got 'x' at command line"),
	      "argv5: %s", err);
	opt_del(o);
}

/* config includes, `sluice FILE`, --config plus overrides, --cd, the depth limit. */
static void test_files(void)
{
	static char dir[64], a[128], b[128], self[128], key[128];
	static char text[1024];
	uint8_t key_bytes[CONFIG_STATIC_KEY_LEN];
	char *argv_file[] = { "sluice", a, NULL };
	char *argv_mix[] = { "sluice", "--config", a, "--verb", "7", NULL };
	char *argv_cd[] = { "sluice", "--cd", dir, "--config", "b.conf", NULL };
	struct options *o;
	int i;

	pki_dir_make("config");
	snprintf(dir, sizeof(dir), "%s", pki_dir);
	snprintf(a, sizeof(a), "%s/a.conf", dir);
	snprintf(b, sizeof(b), "%s/b.conf", dir);
	snprintf(self, sizeof(self), "%s/self.conf", dir);
	snprintf(key, sizeof(key), "%s/k.key", dir);
	snprintf(text, sizeof(text), CLIENT_BASE "verb 2\nconfig %s\n", b);
	pki_write("a.conf", text);
	pki_write("b.conf", "remote r\n\nbogus-in-b\n");
	snprintf(text, sizeof(text), "config %s\n", self);
	pki_write("self.conf", text);
	for (i = 0; i < CONFIG_STATIC_KEY_LEN; i++)
		key_bytes[i] = i == CONFIG_STATIC_KEY_LEN - 1 ? 0xff : (uint8_t)(i % 16);
	pki_static_key_text(text, key_bytes);
	pki_write("k.key", text);

	o = opt_new();
	CHECK(options_load_argv(o, 2, argv_file, err, sizeof(err)) < 0 &&
	      strstr(err, "unsupported option 'bogus-in-b' at ") && strstr(err, "b.conf:3"),
	      "error in included file names it: %s", err);
	opt_del(o);

	pki_write("b.conf", "remote r\n");
	o = opt_new();
	CHECK(options_load_argv(o, 5, argv_mix, err, sizeof(err)) == 0, "mix: %s", err);
	CHECK_INT(o->verb, 7);
	CHECK_STR(o->config, a);
	opt_del(o);

	o = opt_new();
	CHECK(options_load_argv(o, 5, argv_cd, err, sizeof(err)) == 0, "cd: %s", err);
	CHECK_INT(o->remotes.n, 1);
	opt_del(o);

	o = opt_new();
	CHECK(options_load_file(o, self, err, sizeof(err)) < 0 &&
	      strstr(err, "nested deeper than 10"), "self include: %s", err);
	opt_del(o);

	o = opt_new();
	CHECK(options_load_file(o, "/nonexistent/x.conf", err, sizeof(err)) == -ENOENT &&
	      strstr(err, "cannot open '/nonexistent/x.conf'"), "missing file: %s", err);
	opt_del(o);

	o = opt_new();
	o->no_include = true;
	CHECK(load(o, "config /etc/passwd\n") < 0 && strstr(err, "includes are disabled"),
	      "no_include: %s", err);
	opt_del(o);

	/* test-data-key: a file with an explicit direction, and the inline form. */
	snprintf(text, sizeof(text), CLIENT_BASE "remote a\ntest-data-key %s 0\n", key);
	o = load_final(text);
	CHECK(o && o->has_test_key && o->test_data_key_direction == 0 &&
	      o->test_key[0] == 0x00 && o->test_key[15] == 0x0f && o->test_key[255] == 0xff,
	      "test-data-key file: %s", err);
	if (o)
		opt_del(o);
}

/*
 * test-data-key texts go through the one static key parser (crypto/statickey.c, table-tested in
 * aead_test); here: its reasons reach the option loader's message.
 */
static void test_static_key(void)
{
	static char text[2048];
	struct options *o;
	int i;

	strcpy(text, "dev tun\nremote 198.18.0.1\n<test-data-key>\n"
	       "-----BEGIN OpenVPN Static key V1-----\n");
	for (i = 0; i < 16; i++)
		strcat(text, "ffeeddccbbaa99887766554433221100\n");
	strcat(text, "</test-data-key>\n");
	CHECK(!load_final(text) && strstr(err, "options: static key: ") && strstr(err, "END"),
	      "no end: %s", err);
	strcpy(strstr(text, "</test-data-key>"),
	       "-----END OpenVPN Static key V1-----\n</test-data-key>\n");
	o = load_final(text);
	CHECK(o && o->has_test_key && o->test_key[0] == 0xff && o->test_key[255] == 0x00,
	      "decode: %s", err);
	if (o)
		opt_del(o);
	text[strlen("dev tun\nremote 198.18.0.1\n<test-data-key>\n") + 38 + 2] = 'g';
	CHECK(!load_final(text) && strstr(err, "non-hex") && strstr(err, "line 2"), "bad hex: %s",
	      err);
	CHECK(!load_final("dev tun\nremote 198.18.0.1\n<test-data-key>\nx\n</test-data-key>\n") &&
	      strstr(err, "BEGIN"), "no begin: %s", err);
}

static void test_test_options(void)
{
	static char text[2048];
	struct options *o;
	int i;

	strcpy(text, "dev tun\nremote 198.18.0.1\nworkers 4\nkill-switch\ntest-peer-id 7\n"
	       "test-cipher AES-256-GCM\n<test-data-key>\n"
	       "-----BEGIN OpenVPN Static key V1-----\n");
	for (i = 0; i < 16; i++)
		strcat(text, "0123456789abcdef0123456789abcdef\n");
	strcat(text, "-----END OpenVPN Static key V1-----\n</test-data-key>\n");
	o = load_final(text);
	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK_INT(o->workers, 4);
	CHECK(!o->workers_inline, "workers 4 is not inline");
	CHECK(o->kill_switch, "kill-switch");
	CHECK(o->has_test_peer_id && o->test_peer_id == 7, "test-peer-id");
	CHECK_STR(o->test_cipher, "AES-256-GCM");
	CHECK(o->has_test_key && o->test_key[0] == 0x01 && o->test_key[255] == 0xef, "key");
	CHECK_INT(o->test_data_key_direction, 1);
	opt_del(o);
}

/* The offload switches: each on unless set to no, each on its own flag. */
static void test_offload_switches(void)
{
	struct options *o = opt_new();

	CHECK(!load(o, "dev tun\n"), "load: %s", err);
	CHECK(!o->no_tun_offload && !o->no_udp_gso && !o->no_udp_gro && !o->no_uring_fixed_bufs,
	      "offload defaults");
	CHECK(!load(o, "uring-fixed-buffers no\n"), "load: %s", err);
	CHECK(o->no_uring_fixed_bufs && !o->no_tun_offload && !o->no_udp_gso && !o->no_udp_gro,
	      "uring-fixed-buffers no");
	CHECK(!load(o, "udp-gro no\nuring-fixed-buffers yes\n"), "load: %s", err);
	CHECK(o->no_udp_gro && !o->no_uring_fixed_bufs, "udp-gro no, uring-fixed-buffers yes");
	opt_del(o);
}

static void test_misc(void)
{
	struct options *o = load_final(CLIENT_BASE "remote h 1194 udp6\ntun-mtu 1400\n"
		"mssfix 1300 mtu\nreneg-sec 100 50\ntls-version-min 1.2 or-highest\n"
		"replay-window 128 30\nconnect-retry 5 60\nresolv-retry infinite\n"
		"verify-x509-name \"CN=x, O=y\" subject\nmanagement 127.0.0.1 7505 pw.txt\n"
		"status s.log 10\ndaemon name\ndaemon other\nsetenv opt block-outside-dns\n");

	CHECK(o, "load: %s", err);
	if (!o)
		return;
	CHECK_INT(o->conns.v[0].af, AF_INET6);
	CHECK_INT(o->conns.v[0].tun_mtu, 1400);
	CHECK_INT(o->conns.v[0].mssfix, 1300);
	CHECK(o->conns.v[0].mssfix_encap, "mssfix mtu");
	CHECK_INT(o->reneg_sec, 100);
	CHECK_INT(o->reneg_sec_min, 50);
	CHECK_INT(o->tls_version_min, OPT_TLS_VER_1_2);
	CHECK(o->tls_version_min_or_highest, "or-highest");
	CHECK_INT(o->replay_window, 128);
	CHECK_INT(o->replay_time, 30);
	CHECK_INT(o->conns.v[0].connect_retry, 5);
	CHECK_INT(o->conns.v[0].connect_retry_max, 60);
	CHECK_STR(o->verify_x509_name, "CN=x, O=y");
	CHECK_INT(o->management_port, 7505);
	CHECK_STR(o->management_pw_file, "pw.txt");
	CHECK_INT(o->status_interval, 10);
	CHECK_STR(o->daemon_name, "name");
	CHECK(has_warning(o, "daemon given more than once"), "daemon warning");
	CHECK(o->block_outside_dns, "setenv opt known option applies");
	opt_del(o);

	/* A tun-mtu other than 1500 makes mssfix follow it (2.6 default). */
	o = load_final(CLIENT_BASE "remote h\ntun-mtu 1400\n");
	CHECK(o && o->conns.v[0].mssfix == 1400 && o->conns.v[0].mssfix_fixed, "mssfix=tun-mtu");
	if (o)
		opt_del(o);
	o = opt_new();
	CHECK(load(o, "dev tun\0bogus\n") == 0, "NUL ends a C string: %s", err);
	CHECK(options_load_buffer(o, "n.conf", "dev tun\0x\n", 10, err, sizeof(err)) < 0 &&
	      strstr(err, "NUL byte in line at n.conf:1"), "NUL: %s", err);
	opt_del(o);
}

int main(void)
{
	test_tokenizer();
	test_load_errors();
	test_stock_client();
	test_stock_server();
	test_last_wins_and_lists();
	test_inline_blocks();
	test_connection_blocks();
	test_finalize_errors();
	test_keepalive();
	test_server_net30_ipv6();
	test_argv();
	test_files();
	test_static_key();
	test_test_options();
	test_offload_switches();
	test_misc();
	return harness_done("config_test");
}
