/*
 * km2_test.c - key-method-2 codec, OCC string, peer info (ctrl/proto/km2.h) and the
 * legacy PRF key derivation (crypto/kdf.h).
 *
 * Expected bytes come from outside our code: the OCC strings and message
 * lengths (399/178) observed on the wire from stock 2.6.14 (openvpn-wire.md
 * §4); every client OCC string of the table below as printed by the stock
 * openvpn 2.6.14 binary ("Local Options String" at --verb 7, run in an
 * empty network namespace with the matching options); OpenVPN's own
 * TLS1-PRF unit-test vector (test_crypto.c crypto_test_tls_prf), and a
 * key2 computed by the independent Python PRF in
 * shared/protocol/interop/tools/tls1prf.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../crypto/kdf.h"
#include "../../ctrl/proto/km2.h"
#include "harness.h"

static unsigned int case_no;

/* Keeps each test's locals in its own frame (clang inlines them all into main). */
#define TEST	static __attribute__((noinline)) void

/* ---- kdf ------------------------------------------------------------------ */

TEST test_tls1_prf_vector(void)
{
	/* OpenVPN tests/unit_tests/openvpn/test_crypto.c, good_prf. */
	static const uint8_t good_prf[32] = {
		0xd9, 0x8c, 0x85, 0x18, 0xc8, 0x5e, 0x94, 0x69, 0x27, 0x91, 0x6a, 0xcf, 0xc2,
		0xd5, 0x92, 0xfb, 0xb1, 0x56, 0x7e, 0x4b, 0x4b, 0x14, 0x59, 0xe6, 0xa9, 0x04,
		0xac, 0x2d, 0xda, 0xb7, 0x2d, 0x67,
	};
	const char *secret = "Lorem ipsum dolor sit amet, consectetur "
			     "adipisici elit, sed eiusmod tempor incidunt "
			     "ut labore et dolore magna aliqua.";
	const char *seed = "Quis aute iure reprehenderit in voluptate velit esse cillum dolore";
	uint8_t out[32];
	int ret;

	ret = kdf_tls1_prf((const uint8_t *)secret, strlen(secret), (const uint8_t *)seed,
			   strlen(seed), out, sizeof(out));
	CHECK(ret == 0, "kdf_tls1_prf: %d", ret);
	CHECK(!memcmp(out, good_prf, sizeof(out)), "TLS1-PRF differs from OpenVPN's vector");
	CHECK(kdf_tls1_prf((const uint8_t *)secret, 0, NULL, 0, out, 32) == -EINVAL,
	      "empty secret accepted");
}

TEST test_openvpn_prf(void)
{
	/* tls1prf.py: master, then key2, for the inputs below. */
	static const char master_hex[] =
		"9999e37f41b205a8183ce835da7daacfd52553e542564d04e4292100b00f5f1f"
		"e967f9d4f3888f285a5f119aff451e0d";
	static const char key2_hex[] =
		"5f55fce5fcbf1345f7287765e26b01f71d17712425900e1adf7f5752a3f26131"
		"49b30744c51aada7351205df906d9d17120b36b17cb64f9f0d643ecc5e53dc7a"
		"a1f4ec72dee732398cb5f701a2b3329e901ab0530dcf172c586373c763e24741"
		"cf9064a102c5907c12ff88a00b1c6fd77f52779c066fff79b16bdd6782022033"
		"72cd8a845d827854399052337a6f8cdf947255829e69473b3515b5826b0dc62f"
		"703cf374d0a73f350ac32be0eb61cf70419010456f1b574f22784767fe07db87"
		"9aeadb982a7a67672a6c0b42e6df288f50cc1798a7474c466c81f58c58f0ac0b"
		"5f630743c81e9e870ddf105e91aa4629d3b5cde61746d8e5b0c3440d1cec4058";
	static struct kdf_key_source cli, srv;
	static uint8_t key2[KEY2_LEN], want[KEY2_LEN];
	uint8_t csid[KDF_SID_LEN], ssid[KDF_SID_LEN];
	uint8_t master[KDF_MASTER_LEN], want_master[KDF_MASTER_LEN], seed[128];
	int i, ret;

	memset(&srv, 0xee, sizeof(srv));	/* server pre_master must not matter */
	for (i = 0; i < KDF_PRE_MASTER_LEN; i++)
		cli.pre_master[i] = (uint8_t)i;
	for (i = 0; i < KDF_RANDOM_LEN; i++) {
		cli.random1[i] = (uint8_t)(0x40 + i);
		cli.random2[i] = (uint8_t)(0x60 + i);
		srv.random1[i] = (uint8_t)(0x80 + i);
		srv.random2[i] = (uint8_t)(0xa0 + i);
	}
	for (i = 0; i < KDF_SID_LEN; i++) {
		csid[i] = (uint8_t)(1 + i);
		ssid[i] = (uint8_t)(0x11 + i);
	}
	ret = kdf_openvpn_prf(&cli, &srv, csid, ssid, key2);
	CHECK(ret == 0, "kdf_openvpn_prf: %d", ret);
	CHECK(harness_unhex(key2_hex, want, sizeof(want)) == KEY2_LEN, "bad key2 vector");
	CHECK(!memcmp(key2, want, KEY2_LEN), "key2 differs from tls1prf.py");

	/* The master secret step on its own, through the public PRF. */
	memcpy(seed, KDF_LABEL_MASTER, strlen(KDF_LABEL_MASTER));
	memcpy(seed + 21, cli.random1, 32);
	memcpy(seed + 53, srv.random1, 32);
	ret = kdf_tls1_prf(cli.pre_master, 48, seed, 85, master, sizeof(master));
	harness_unhex(master_hex, want_master, sizeof(want_master));
	CHECK(ret == 0 && !memcmp(master, want_master, sizeof(master)),
	      "master secret differs from tls1prf.py");

	/* Swapping the session ids must change the keys (they are in the seed). */
	ret = kdf_openvpn_prf(&cli, &srv, ssid, csid, key2);
	CHECK(ret == 0 && memcmp(key2, want, KEY2_LEN), "session ids ignored");
	CHECK(!strcmp(KDF_EKM_DATAKEYS_LABEL, "EXPORTER-OpenVPN-datakeys") &&
	      !strcmp(KDF_EKM_DYN_TLS_CRYPT_LABEL, "EXPORTER-OpenVPN-dynamic-tls-crypt"),
	      "EKM labels");
}

/* ---- OCC string ----------------------------------------------------------- */

static void occ_case(int line, const struct km2_occ *o, const char *want)
{
	static char out[KM2_OPTIONS_MAX];
	int n = km2_occ_build(out, sizeof(out), o);

	case_no++;
	if (!want) {
		if (n >= 0) {
			harness_fail(__FILE__, line, "occ case %u: accepted: %s", case_no, out);
		}
		return;
	}
	if (n < 0 || strcmp(out, want) || (size_t)n != strlen(want)) {
		harness_fail(__FILE__, line, "occ case %u: got %d '%s'\n    expected '%s'", case_no,
			     n, n < 0 ? "" : out, want);
	}
}

#define O(...)		(&(struct km2_occ){ __VA_ARGS__ })
#define T_OCC(o, w)	occ_case(__LINE__, (o), (w))
#define OCC_HEAD	"V4,dev-type tun,link-mtu "
#define OCC_TAIL	",key-method 2,tls-client"

TEST test_occ(void)
{
	case_no = 0;
	/*  1: observed default client (§4) */
	T_OCC(O(.is_server = false), "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,auth SHA1,"
		    "keysize 128,key-method 2,tls-client");
	/*  2: observed default server */
	T_OCC(O(.is_server = true), "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,"
				    "auth SHA1,keysize 128,key-method 2,tls-server");
	/*  3: observed TCP client: +2 length prefix */
	T_OCC(O(.proto = KM2_PROTO_TCP_CLIENT), OCC_HEAD "1543,tun-mtu 1500,proto TCPv4_CLIENT,"
						"auth SHA1,keysize 128" OCC_TAIL);
	/*  4: observed TCP server */
	T_OCC(O(.proto = KM2_PROTO_TCP_SERVER, .is_server = true),
	      OCC_HEAD "1543,tun-mtu 1500,proto TCPv4_SERVER,auth SHA1,keysize 128,"
		       "key-method 2,tls-server");
	/*  5: explicit BF-CBC is the default path */
	T_OCC(O(.cipher = "BF-CBC"), OCC_HEAD "1541,tun-mtu 1500,proto UDPv4,auth SHA1,"
					     "keysize 128" OCC_TAIL);
	/*  6: cipher AES-256-GCM in data-ciphers: 4 pid + 16 tag + 12 iv + 16 block */
	T_OCC(O(.cipher = "AES-256-GCM", .announce_cipher = true),
	      OCC_HEAD "1549,tun-mtu 1500,proto UDPv4,cipher AES-256-GCM,auth [null-digest],"
		       "keysize 256" OCC_TAIL);
	/*  7: lower-case name comes out in OpenVPN spelling */
	T_OCC(O(.cipher = "aes-128-gcm", .announce_cipher = true),
	      OCC_HEAD "1549,tun-mtu 1500,proto UDPv4,cipher AES-128-GCM,auth [null-digest],"
		       "keysize 128" OCC_TAIL);
	/*  8: ChaCha20: block size stays 1 (no -CBC sibling) */
	T_OCC(O(.cipher = "CHACHA20-POLY1305", .announce_cipher = true),
	      OCC_HEAD "1534,tun-mtu 1500,proto UDPv4,cipher CHACHA20-POLY1305,"
		       "auth [null-digest],keysize 256" OCC_TAIL);
	/*  9: AES-256-CBC + SHA1: the classic 1557 */
	T_OCC(O(.cipher = "AES-256-CBC", .announce_cipher = true),
	      OCC_HEAD "1557,tun-mtu 1500,proto UDPv4,cipher AES-256-CBC,auth SHA1,"
		       "keysize 256" OCC_TAIL);
	/* 10: ... with comp-lzo: the classic 1558 */
	T_OCC(O(.cipher = "AES-256-CBC", .announce_cipher = true, .comp = true,
		.comp_v1_framing = true),
	      OCC_HEAD "1558,tun-mtu 1500,proto UDPv4,comp-lzo,cipher AES-256-CBC,auth SHA1,"
		       "keysize 256" OCC_TAIL);
	/* 11: AES-128-CBC + SHA256 (OpenSSL says SHA2-256) */
	T_OCC(O(.cipher = "AES-128-CBC", .auth = "sha256", .announce_cipher = true),
	      OCC_HEAD "1569,tun-mtu 1500,proto UDPv4,cipher AES-128-CBC,auth SHA256,"
		       "keysize 128" OCC_TAIL);
	/* 12: cipher not in data-ciphers: not announced, still counted */
	T_OCC(O(.cipher = "AES-256-CBC"), OCC_HEAD "1557,tun-mtu 1500,proto UDPv4,auth SHA1,"
						  "keysize 256" OCC_TAIL);
	/* 13: tls-auth with key-direction 1, SHA256 auth on the default cipher */
	T_OCC(O(.tls_auth = true, .key_direction = KM2_KEYDIR_1, .auth = "SHA256"),
	      OCC_HEAD "1553,tun-mtu 1500,proto UDPv4,keydir 1,auth SHA256,keysize 128,"
		       "tls-auth,key-method 2,tls-client");
	/* 14: compress stub-v2 (no 1-byte header): only ",comp-lzo" */
	T_OCC(O(.comp = true), OCC_HEAD "1541,tun-mtu 1500,proto UDPv4,comp-lzo,auth SHA1,"
				       "keysize 128" OCC_TAIL);
	/* 15: tun-mtu 1400 */
	T_OCC(O(.tun_mtu = 1400), OCC_HEAD "1441,tun-mtu 1400,proto UDPv4,auth SHA1,"
					   "keysize 128" OCC_TAIL);
	/* 16: tun-mtu 1500 1400: the second argument is printed */
	T_OCC(O(.occ_mtu = 1400), OCC_HEAD "1541,tun-mtu 1400,proto UDPv4,auth SHA1,"
					   "keysize 128" OCC_TAIL);
	/* 17: tap: tun-mtu-extra 32 */
	T_OCC(O(.is_tap = true), "V4,dev-type tap,link-mtu 1573,tun-mtu 1500,proto UDPv4,"
				 "auth SHA1,keysize 128" OCC_TAIL);
	/* 18: fragment */
	T_OCC(O(.fragment = true), OCC_HEAD "1545,tun-mtu 1500,proto UDPv4,mtu-dynamic,"
					    "auth SHA1,keysize 128" OCC_TAIL);
	/* 19: cipher none (2.6 never finds "[null-cipher]" in data-ciphers) */
	T_OCC(O(.cipher = "none"), OCC_HEAD "1525,tun-mtu 1500,proto UDPv4,auth SHA1,"
					    "keysize 0" OCC_TAIL);
	/* 20: comp-lzo / compress lz4: 1-byte header */
	T_OCC(O(.comp = true, .comp_v1_framing = true),
	      OCC_HEAD "1542,tun-mtu 1500,proto UDPv4,comp-lzo,auth SHA1,keysize 128" OCC_TAIL);
	/* 21: unknown cipher */
	T_OCC(O(.cipher = "NOPE-128"), NULL);
	/* 22: a mode we do not offer (CTR) */
	T_OCC(O(.cipher = "AES-128-CTR"), NULL);
	/* 23: unknown digest */
	T_OCC(O(.auth = "MD17"), NULL);
	/* 24: bad key direction */
	T_OCC(O(.key_direction = (enum km2_keydir)3), NULL);
	/* 25: bad proto */
	T_OCC(O(.proto = (enum km2_proto)7), NULL);

	char small[20];
	CHECK(km2_occ_build(small, sizeof(small), O(.is_server = false)) == -ENOSPC, "short buffer");
}

/* ---- peer info ------------------------------------------------------------ */

static const char observed_pi[] =
	"IV_VER=2.6.14\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n"
	"IV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\nIV_PROTO=990\n"
	"IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n";

static void pi_case(int line, const struct km2_peer_info *pi, const char *want)
{
	static char out[1024];
	int n = km2_peer_info_build(out, sizeof(out), pi);

	case_no++;
	if (!want ? n >= 0 : (n < 0 || strcmp(out, want) || (size_t)n != strlen(want))) {
		harness_fail(__FILE__, line, "peer-info case %u: got %d '%s'\n    expected '%s'",
			     case_no, n, n < 0 ? "" : out, want ? want : "(error)");
	}
}

#define CIPHERS		"AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305"
#define PI(...)		(&(struct km2_peer_info){ .ciphers = CIPHERS, __VA_ARGS__ })
#define PI_OWN(...)	(&(struct km2_peer_info){ __VA_ARGS__ })	/* own .ciphers */
#define T_PI(p, w)	pi_case(__LINE__, (p), (w))

TEST test_peer_info_build(void)
{
	case_no = 0;
	/*  1: exactly what 2.6.14 sends (§4) */
	T_PI(PI(.version = "2.6.14", .iv_proto = 990, .mtu = 1600), observed_pi);
	/*  2: our defaults, §15(a) IV_PROTO 142 */
	T_PI(PI(.iv_proto = IV_PROTO_DATA_V2 | IV_PROTO_REQUEST_PUSH | IV_PROTO_TLS_KEY_EXPORT |
			    IV_PROTO_CC_EXIT_NOTIFY, .mtu = 1600),
	     "IV_VER=" KM2_IV_VER_DEFAULT "\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n"
	     "IV_CIPHERS=" CIPHERS "\nIV_PROTO=142\n"
	     "IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n");
	/*  3: allow-compression yes (LZ4 and LZO, as a stock 2.6.14 client sends them) */
	T_PI(PI(.version = "2.6.14", .iv_proto = 990, .mtu = 1600, .comp = KM2_COMP_ALL),
	     "IV_VER=2.6.14\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n"
	     "IV_CIPHERS=" CIPHERS "\nIV_PROTO=990\n"
	     "IV_LZ4=1\nIV_LZ4v2=1\nIV_LZO=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n");
	/*  4: no IV_NCP without both GCM ciphers; no IV_MTU; no compression lines */
	T_PI(PI_OWN(.ciphers = "CHACHA20-POLY1305:AES-256-GCM", .iv_proto = 2, .comp = KM2_COMP_NONE),
	     "IV_VER=" KM2_IV_VER_DEFAULT "\nIV_PLAT=linux\nIV_TCPNL=1\n"
	     "IV_CIPHERS=CHACHA20-POLY1305:AES-256-GCM\nIV_PROTO=2\n");
	/*  5: case-insensitive cipher match for IV_NCP; extra lines appended */
	T_PI(PI_OWN(.ciphers = "aes-128-gcm:AES-256-gcm", .iv_proto = 2, .comp = KM2_COMP_NONE,
		.extra = "IV_GUI_VER=sluice-test\nUV_X=1\n"),
	     "IV_VER=" KM2_IV_VER_DEFAULT "\nIV_PLAT=linux\nIV_TCPNL=1\nIV_NCP=2\n"
	     "IV_CIPHERS=aes-128-gcm:AES-256-gcm\nIV_PROTO=2\nIV_GUI_VER=sluice-test\nUV_X=1\n");
	/*  6: DYN_TLS_CRYPT only when asked */
	T_PI(PI(.iv_proto = IV_PROTO_DATA_V2 | IV_PROTO_DYN_TLS_CRYPT, .comp = KM2_COMP_NONE),
	     "IV_VER=" KM2_IV_VER_DEFAULT "\nIV_PLAT=linux\nIV_TCPNL=1\nIV_NCP=2\n"
	     "IV_CIPHERS=" CIPHERS "\nIV_PROTO=514\n");
	/*  7: NCP_P2P is for p2p peers only */
	T_PI(PI(.iv_proto = IV_PROTO_DATA_V2 | IV_PROTO_NCP_P2P), NULL);
	/*  8: 2.7 bits (DATA_EPOCH) are unknown to us */
	T_PI(PI(.iv_proto = IV_PROTO_DATA_V2 | (1u << 10)), NULL);
	/*  9: reserved bit 0 */
	T_PI(PI(.iv_proto = 1), NULL);
	/* 10: no ciphers */
	T_PI(PI_OWN(.ciphers = "", .iv_proto = 2), NULL);
	/* 11: newline in a value */
	T_PI(PI(.version = "2.6\nIV_PROTO=1023", .iv_proto = 2), NULL);
	/* 12: comma in a value */
	T_PI(PI_OWN(.ciphers = "AES-256-GCM,AES-128-GCM", .iv_proto = 2), NULL);
	/* 13: extra without the final newline */
	T_PI(PI(.iv_proto = 2, .extra = "UV_X=1"), NULL);
	/* 14: extra with a bad name */
	T_PI(PI(.iv_proto = 2, .extra = "UV X=1\n"), NULL);
	/* 15: extra with an empty line */
	T_PI(PI(.iv_proto = 2, .extra = "\n"), NULL);
	/* 16: bad compression enum */
	T_PI(PI(.iv_proto = 2, .comp = (enum km2_comp)9), NULL);

	char small[40];
	CHECK(km2_peer_info_build(small, sizeof(small), PI(.iv_proto = 2)) == -ENOSPC,
	      "short buffer");
}

TEST test_peer_info_parse(void)
{
	struct km2_peer p;
	char val[64];

	km2_peer_info_parse(&p, observed_pi);
	CHECK(p.has_proto && p.iv_proto == 990, "IV_PROTO %u", p.iv_proto);
	CHECK(p.iv_ncp == 2 && p.mtu == 1600 && p.tcpnl, "NCP/MTU/TCPNL");
	CHECK(p.has_ciphers && !strcmp(p.ciphers, CIPHERS), "ciphers '%s'", p.ciphers);
	CHECK(!strcmp(p.version, "2.6.14") && !strcmp(p.platform, "linux"), "ver/plat");
	CHECK(p.lzo_stub && p.comp_stub && p.comp_stubv2 && !p.lz4 && !p.lz4v2 && !p.lzo,
	      "compression flags");
	CHECK(p.bad_lines == 0, "bad lines %u", p.bad_lines);

	/* First line wins; malformed lines are counted and skipped. */
	km2_peer_info_parse(&p, "IV_PROTO=6\nIV_PROTO=990\nIV_MTU=-1\nIV_NCP=99999999999\n"
				"garbage\n=x\nIV_LZ4=1\nIV_LZ4v2=0\nIV_BAD\tX=1\nIV_CIPHERS=A:B");
	CHECK(p.iv_proto == 6 && p.mtu == 0 && p.iv_ncp == 0, "first wins / bad numbers");
	CHECK(p.lz4 && !p.lz4v2 && p.has_ciphers && !strcmp(p.ciphers, "A:B"), "flags/last line");
	CHECK(p.bad_lines == 5, "bad lines %u, want 5", p.bad_lines);

	km2_peer_info_parse(&p, NULL);
	CHECK(!p.has_proto && !p.has_ciphers && !p.bad_lines, "NULL peer info");
	km2_peer_info_parse(&p, "IV_PROTO=4294967295\nIV_MTU=4294967296\n");
	CHECK(p.iv_proto == 4294967295u && p.mtu == 0 && p.bad_lines == 1, "uint limits");

	/* A too-long IV_CIPHERS is dropped, not truncated. */
	static char longpi[KM2_CIPHERS_MAX + 32];
	memset(longpi, 'A', sizeof(longpi));
	memcpy(longpi, "IV_CIPHERS=", 11);
	longpi[sizeof(longpi) - 1] = '\0';
	km2_peer_info_parse(&p, longpi);
	CHECK(!p.has_ciphers && p.bad_lines == 1, "long IV_CIPHERS");

	CHECK(km2_peer_info_get(observed_pi, "IV_CIPHERS", val, sizeof(val)) ==
	      (int)strlen(CIPHERS) && !strcmp(val, CIPHERS), "get IV_CIPHERS");
	CHECK(km2_peer_info_get(observed_pi, "IV_COMP_STUB", val, sizeof(val)) == 1 &&
	      !strcmp(val, "1"), "get IV_COMP_STUB (not STUBv2)");
	CHECK(km2_peer_info_get(observed_pi, "IV_SSO", val, sizeof(val)) == -ENOENT, "absent");
	CHECK(km2_peer_info_get(observed_pi, "PROTO", val, sizeof(val)) == -ENOENT,
	      "mid-line match");
	CHECK(km2_peer_info_get(observed_pi, "IV_CIPHERS", val, 8) == -ENOSPC, "small value");
	CHECK(km2_peer_info_get("A=\n", "A", val, sizeof(val)) == 0 && !val[0], "empty value");
}

/* ---- key-method-2 messages -------------------------------------------------- */

static const char occ_client[] = "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,"
				 "auth SHA1,keysize 128,key-method 2,tls-client";
static const char occ_server[] = "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,"
				 "auth SHA1,keysize 128,key-method 2,tls-server";

static void fill_source(struct kdf_key_source *s, uint8_t base, bool client)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; client && i < KDF_PRE_MASTER_LEN; i++)
		s->pre_master[i] = (uint8_t)(base + i);
	for (i = 0; i < KDF_RANDOM_LEN; i++) {
		s->random1[i] = (uint8_t)(base + 0x30 + i);
		s->random2[i] = (uint8_t)(base + 0x50 + i);
	}
}

/* The expected wire bytes, assembled by hand from §4. */
static size_t expect_msg(uint8_t *e, const struct kdf_key_source *s, bool client,
			 const char *opt, const char *user, const char *pass, const char *pi)
{
	const char *strs[4] = { opt, user, pass, pi };
	size_t n = 0, len;
	int i;

	memcpy(e, "\0\0\0\0\2", 5);
	n = 5;
	if (client) {
		memcpy(e + n, s->pre_master, 48);
		n += 48;
	}
	memcpy(e + n, s->random1, 32);
	memcpy(e + n + 32, s->random2, 32);
	n += 64;
	for (i = 0; i < 4; i++) {
		len = strs[i] && *strs[i] ? strlen(strs[i]) + 1 : 0;
		e[n++] = (uint8_t)(len >> 8);
		e[n++] = (uint8_t)len;
		if (len)
			memcpy(e + n, strs[i], len);
		n += len;
	}
	return n;
}

TEST test_km2_roundtrip(void)
{
	static uint8_t buf[KM2_MSG_MAX], want[KM2_MSG_MAX];
	static struct kdf_key_source cs, ss, r1, r2;
	struct km2_msg m, p;
	const char *why;
	size_t wl;
	int n, ret;

	fill_source(&cs, 0x10, true);
	fill_source(&ss, 0x80, false);

	/* Client, as observed: 399 bytes. */
	m = (struct km2_msg){ .src = cs, .options = occ_client, .peer_info = observed_pi };
	n = km2_build(buf, sizeof(buf), &m, true);
	wl = expect_msg(want, &cs, true, occ_client, NULL, NULL, observed_pi);
	CHECK(n == 399 && wl == 399, "client message %d bytes, want 399", n);
	CHECK(n > 0 && (size_t)n == wl && !memcmp(buf, want, wl), "client bytes differ");
	ret = km2_parse(&p, buf, (size_t)n, true, &why);
	CHECK(ret == 0, "parse client: %d %s", ret, why ? why : "");
	CHECK(!memcmp(&p.src, &cs, sizeof(cs)), "client key source");
	CHECK(!strcmp(p.options, occ_client) && !*p.username && !*p.password &&
	      !strcmp(p.peer_info, observed_pi), "client strings");

	/* Server, as observed: 178 bytes, no pre_master, empty strings. */
	m = (struct km2_msg){ .src = ss, .options = occ_server };
	n = km2_build(buf, sizeof(buf), &m, false);
	wl = expect_msg(want, &ss, false, occ_server, NULL, NULL, NULL);
	CHECK(n == 178 && wl == 178 && !memcmp(buf, want, wl), "server message %d bytes", n);
	ret = km2_parse(&p, buf, (size_t)n, false, &why);
	CHECK(ret == 0 && !memcmp(p.src.random1, ss.random1, 32) &&
	      !memcmp(p.src.random2, ss.random2, 32) && !strcmp(p.options, occ_server) &&
	      !*p.peer_info, "parse server: %d", ret);

	/* Client with username/password (auth-user-pass). */
	m = (struct km2_msg){ .src = cs, .options = occ_client, .username = "alice",
			      .password = "s3cret pw", .peer_info = observed_pi };
	n = km2_build(buf, sizeof(buf), &m, true);
	wl = expect_msg(want, &cs, true, occ_client, "alice", "s3cret pw", observed_pi);
	CHECK(n > 0 && (size_t)n == wl && !memcmp(buf, want, wl), "user/pass bytes");
	ret = km2_parse(&p, buf, (size_t)n, true, NULL);
	CHECK(ret == 0 && !strcmp(p.username, "alice") && !strcmp(p.password, "s3cret pw"),
	      "user/pass parse");

	/* Random sources: fresh, pre_master only for clients. */
	static const uint8_t zero[KDF_PRE_MASTER_LEN];
	CHECK(km2_source_random(&r1, true) == 0 && km2_source_random(&r2, true) == 0 &&
	      memcmp(&r1, &r2, sizeof(r1)), "random sources equal");
	CHECK(km2_source_random(&r1, false) == 0 && !memcmp(r1.pre_master, zero, 48),
	      "server pre_master not zero");
}

TEST test_km2_build_limits(void)
{
	static char big[KM2_USER_PASS_MAX + 2];
	static uint8_t buf[8192];
	struct km2_msg m = { .options = occ_client };
	int n;

	memset(big, 'o', sizeof(big) - 1);
	big[KM2_OPTIONS_MAX - 1] = '\0';	/* 511 chars + NUL = 512: fits */
	m.options = big;
	n = km2_build(buf, sizeof(buf), &m, true);
	CHECK(n == KM2_CLIENT_MIN + KM2_OPTIONS_MAX, "options at the limit: %d", n);
	big[KM2_OPTIONS_MAX - 1] = 'o';
	big[KM2_OPTIONS_MAX] = '\0';
	CHECK(km2_build(buf, sizeof(buf), &m, true) == -EMSGSIZE, "options over the limit");

	/* Username at 4095 chars fits the field but not a 2048-byte message. */
	m.options = occ_client;
	memset(big, 'u', sizeof(big) - 1);
	big[KM2_USER_PASS_MAX - 1] = '\0';
	m.username = big;
	CHECK(km2_build(buf, sizeof(buf), &m, true) == -EMSGSIZE, "message over 2048");
	big[KM2_USER_PASS_MAX - 1] = 'u';
	big[KM2_USER_PASS_MAX] = '\0';
	CHECK(km2_build(buf, sizeof(buf), &m, true) == -EMSGSIZE, "username over the limit");
	m.username = "bob";
	CHECK(km2_build(buf, sizeof(buf), &m, false) == -EINVAL, "server with username");
	m.username = NULL;
	m.password = "x";
	CHECK(km2_build(buf, sizeof(buf), &m, false) == -EINVAL, "server with password");
	m.password = "";
	CHECK(km2_build(buf, 100, &m, true) == -ENOSPC, "short buffer");
	CHECK(km2_build(buf, 3, &m, true) == -ENOSPC, "tiny buffer");
	m.options = NULL;
	CHECK(km2_build(buf, sizeof(buf), &m, false) == KM2_SERVER_MIN, "all empty server");
}

/* One parse case: @buf/@len from the client (or server), expected result. */
static void parse_case(int line, const uint8_t *buf, size_t len, bool client, int want)
{
	struct km2_msg m;
	const char *why = NULL;
	int ret = km2_parse(&m, buf, len, client, &why);

	case_no++;
	if (ret != want || (ret && !why)) {
		harness_fail(__FILE__, line, "parse case %u: got %d (%s), expected %d", case_no,
			     ret, why ? why : "no reason", want);
	}
}

#define T_PARSE(b, l, c, w)	parse_case(__LINE__, (b), (l), (c), (w))

/* Writes a u16+ field at @p; @len counts the NUL. */
static size_t put_field(uint8_t *p, size_t len, char fill, bool nul)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	if (len) {
		memset(p + 2, fill, len);
		if (nul)
			p[2 + len - 1] = '\0';
	}
	return 2 + len;
}

TEST test_km2_parse_bad(void)
{
	static uint8_t b[16384], good[KM2_MSG_MAX];
	struct km2_msg m = { .options = occ_client, .peer_info = observed_pi };
	size_t n, off, i, pi_off;
	int len, ret, bad = 0;

	fill_source(&m.src, 0x10, true);
	len = km2_build(good, sizeof(good), &m, true);
	CHECK(len == 399, "build");
	case_no = 0;
	/* Every truncation fails, except right before the peer_info field. */
	pi_off = (size_t)len - 2 - sizeof(observed_pi);
	for (i = 0; i < (size_t)len; i++) {
		ret = km2_parse(&m, good, i, true, NULL);
		if ((i == pi_off) != (ret == 0))
			bad++;
	}
	CHECK(!bad, "%d truncations misjudged", bad);
	/* Trailing bytes are ignored (OpenVPN's buf_clear). */
	memcpy(b, good, (size_t)len);
	T_PARSE(b, (size_t)len + 7, true, 0);				/*  1 */
	/* The server layout is shorter: a client message read as a server's is garbage. */
	T_PARSE(good, (size_t)len, false, -EBADMSG);			/*  2 */
	T_PARSE(good, 0, true, -EBADMSG);				/*  3 */

	memcpy(b, good, (size_t)len);
	b[4] = 0x01;							/* key method 1 */
	T_PARSE(b, (size_t)len, true, -EBADMSG);			/*  4 */
	b[4] = 0x12;							/* flags nibble: ok */
	T_PARSE(b, (size_t)len, true, 0);				/*  5 */
	b[4] = 0x03;
	T_PARSE(b, (size_t)len, true, -EBADMSG);			/*  6 */
	b[4] = 0x02;
	b[0] = 0xff;							/* leading u32 ignored */
	T_PARSE(b, (size_t)len, true, 0);				/*  7 */

	/* Options field: at the limit, over it, missing NUL, embedded NUL, past the end. */
	off = KM2_HDR_LEN + KDF_PRE_MASTER_LEN + 2 * KDF_RANDOM_LEN;
	memcpy(b, good, off);
	n = off + put_field(b + off, KM2_OPTIONS_MAX, 'o', true);
	n += put_field(b + n, 0, 0, false) + put_field(b + n + 2, 0, 0, false);
	n += put_field(b + n, 0, 0, false);
	T_PARSE(b, n, true, 0);						/*  8 */
	n = off + put_field(b + off, KM2_OPTIONS_MAX + 1, 'o', true);
	n += put_field(b + n, 0, 0, false) + put_field(b + n + 2, 0, 0, false);
	T_PARSE(b, n, true, -EMSGSIZE);					/*  9 */
	n = off + put_field(b + off, 10, 'o', false);			/* no NUL */
	n += put_field(b + n, 0, 0, false) + put_field(b + n + 2, 0, 0, false);
	T_PARSE(b, n, true, -EBADMSG);					/* 10 */
	n = off + put_field(b + off, 10, 'o', true);
	b[off + 2 + 3] = '\0';						/* embedded NUL */
	n += put_field(b + n, 0, 0, false) + put_field(b + n + 2, 0, 0, false);
	T_PARSE(b, n, true, -EBADMSG);					/* 11 */
	n = off + put_field(b + off, 10, 'o', true);
	T_PARSE(b, n - 1, true, -EBADMSG);				/* 12: cut inside */
	b[off] = 0xff;
	T_PARSE(b, n, true, -EBADMSG);					/* 13: length past end */

	/* Username/password at and over USER_PASS_LEN. */
	n = off + put_field(b + off, 5, 'o', true);
	n += put_field(b + n, KM2_USER_PASS_MAX, 'u', true);
	n += put_field(b + n, KM2_USER_PASS_MAX, 'p', true);
	T_PARSE(b, n, true, 0);						/* 14 */
	n = off + put_field(b + off, 5, 'o', true);
	n += put_field(b + n, KM2_USER_PASS_MAX + 1, 'u', true);
	n += put_field(b + n, 0, 0, false);
	T_PARSE(b, n, true, -EMSGSIZE);					/* 15 */
	n = off + put_field(b + off, 5, 'o', true);
	n += put_field(b + n, 0, 0, false);
	n += put_field(b + n, KM2_USER_PASS_MAX + 1, 'p', true);
	T_PARSE(b, n, true, -EMSGSIZE);					/* 16 */
	n = off + put_field(b + off, 5, 'o', true);
	T_PARSE(b, n, true, -EBADMSG);					/* 17: no username */
	n += put_field(b + n, 0, 0, false);
	T_PARSE(b, n, true, -EBADMSG);					/* 18: no password */
	n += put_field(b + n, 0, 0, false);
	T_PARSE(b, n + 1, true, -EBADMSG);				/* 19: half a pi len */
	n += put_field(b + n, 6000, 'i', true);				/* long peer info */
	T_PARSE(b, n, true, 0);						/* 20 */
	b[n - 1] = 'i';
	T_PARSE(b, n, true, -EBADMSG);					/* 21: pi without NUL */
	/* A single NUL string (length 1) is valid and empty. */
	n = off + put_field(b + off, 1, 0, true);
	n += put_field(b + n, 1, 0, true) + put_field(b + n + 3, 1, 0, true);
	T_PARSE(b, n, true, 0);						/* 22 */

	ret = km2_parse(&m, b, n, true, NULL);
	CHECK(ret == 0 && !*m.options && !*m.username && !*m.password && !*m.peer_info,
	      "single-NUL strings read as empty");
	ret = km2_parse(&m, good, 10, true, NULL);
	CHECK(ret && m.options && !*m.options && m.peer_info && !*m.peer_info,
	      "failed parse leaves usable empty strings");
}

int main(void)
{
	test_tls1_prf_vector();
	test_openvpn_prf();
	test_occ();
	test_peer_info_build();
	test_peer_info_parse();
	test_km2_roundtrip();
	test_km2_build_limits();
	test_km2_parse_bad();
	return harness_done("km2_test");
}
