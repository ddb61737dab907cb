/*
 * tlswrap_kat_test.c - control-channel wrapping (crypto/tlswrap.h) against
 * known answers captured from a stock OpenVPN 2.6.14 server in each wrapped
 * mode (tls-auth, tls-crypt, tls-crypt-v2): its packets unwrap to the
 * expected plain bytes, and the client resets it accepted are reproduced
 * byte for byte. tlswrap_test.c has the round trips, exact layouts and
 * refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../crypto/dc.h"
#include "../../crypto/tlswrap.h"
#include "../../ctrl/proto/ctlpkt.h"
#include "harness.h"

#define SEC(s)		((int64_t)(s) * NSEC_PER_SEC)

/* ---- known answers from stock OpenVPN 2.6.14 ---- */

/*
 * Captured on this machine: a stock 2.6.14 server (--tls-auth ta.key 0,
 * --tls-crypt tc.key, --tls-crypt-v2 server key) and a client built from
 * tlswrap + ctlpkt + reliable that completed the TLS handshake and got
 * PUSH_REPLY in each mode. Throwaway keys. *_s2c: the server's
 * HARD_RESET_SERVER_V2, made by OpenVPN's own code: must unwrap to the
 * plain reset acking our reset (the v2 one carries the early-negotiation
 * TLV). *_c2s: our client reset that the server accepted (replay id 1, or
 * 0x0f000001 with early negotiation): we must still produce those bytes.
 */
static const char kat_ta_key[] =
	"-----BEGIN OpenVPN Static key V1-----\n"
	"55b014b38f4e0b5ec89f627124974e9a\n"
	"2f801bcab4a8bef4d2cd7b33ba8e648f\n"
	"4fd55afd22fd507517eb579bdc3790f7\n"
	"8c01ced9b7be74746de726f549b11931\n"
	"21d7a0d6f7e363eb0cb1f3aa90547f18\n"
	"14ea83d6c32a36f7b6c6e5885185c997\n"
	"4c519ea11345995282655c048a41a338\n"
	"74fced421e08ed903306e86840c58a04\n"
	"363199b666384dd6a60b23cf22113330\n"
	"fec93ae62c1c7089711393cc900c1f9e\n"
	"10d5955fef68e10c6ff5ce20e7c2a6b1\n"
	"647fa5b4347276f6061fd5cc282c285b\n"
	"4d2fe1a4a640eb1e308b8495b956f614\n"
	"fa6dab489f628a123ca8602261f9fb6c\n"
	"6d750f613d5630ad693e0ab72885df4c\n"
	"25f9d5d126648a63e3203277c0ef3561\n"
	"-----END OpenVPN Static key V1-----\n";
static const char kat_tc_key[] =
	"-----BEGIN OpenVPN Static key V1-----\n"
	"e559b0bedc096666e7dadab22d8003aa\n"
	"57cdf2a635db0e519c7ed4ae15c94f96\n"
	"72a2158d0a03701c16d1929f0ef82fc9\n"
	"0f6ae4cfc57513a33220c41292ec2c01\n"
	"918898ade5814ce7d260bf9e8f5196af\n"
	"60b2addbd8f88ce3815c85a4e1eb212e\n"
	"e0883259382911e04d3f0a3da27001b4\n"
	"d7d16404e96c429d2b7ac697c5080f7b\n"
	"f7ae57aa004752bbcee9cc471c566699\n"
	"280888aa33a6f175abb5c9ecf68f57b9\n"
	"7605dae7e3f2dc4cc1b4e0339ec7a02a\n"
	"4866dc7432415c3b732a63c5cdf3d2f1\n"
	"232c93fea304934c14bd6f55af91d21e\n"
	"7857fa5bfa8b9b26e1b2995389305f97\n"
	"133a7f6131c559cecd09dbff2512b691\n"
	"5eb50a1737e8fa94d0823f0043b6b70a\n"
	"-----END OpenVPN Static key V1-----\n";
static const char kat_v2_key[] =
	"-----BEGIN OpenVPN tls-crypt-v2 client key-----\n"
	"XfYn/T/zBTM1MwM837GwWZq2+bDaAkw2TWDk6odwCrTOhWcbzlmb5+LMGT6Kg3Da\n"
	"lYrYb/JlqfYyBuWoJVNGDZrsvVvKP8dfpuLmnB/etF1qtDAnEj5mnk4JtDeTeX7z\n"
	"Sr40REDP6hKg9jDG0uNijnygkjXA2/562nFk/xCSGovLADrzyM/LSGMyYB/F4SzG\n"
	"j/yQQ8i44YZ4FuBzvPhy+rKjW/fFws3z7cd1TUbHgMA2/Rtz26aRMeGLNeX4JNZg\n"
	"SXTlVsUtAkkDZuS+JAZGQf8VoAMuRwSyn6i3cGgzJ4wlQpW2XTYcnEylLoNyTEX8\n"
	"IOqwfGULQRTWD+0pGh7kyAsRWljHqaMJqarjpwOpTJKrM40SpPBv7Mx8CUxN24Eb\n"
	"4H3wUCU3RNAbllSNBP/DqJwR28h+OxymIn9GWsp3NE1Cw9Ax2+Qccd4/EbtNU5/B\n"
	"mLdkSFFCbCqfufNxBrev8QqTEH6hw5ueHwLrQLSanAZT2D06R/ggy9I5ZdEr0arZ\n"
	"Z5WB4Gd2hTMmQHCALMMtNJ14AP5ac0xVg5sPxPbl7eHq0ronTcGHXjeXzXIZU6UC\n"
	"QhgMkbUHzRLDokQBo7BmTLS2OPuLlPO99iJmtO4ZPSgVGXpQIRFQmA32aun9qLLo\n"
	"GIHpckqq8FkRUc5Z0JKrtUujNVMPpsnDzll3NnXdS4elhumPTpcjOyN4PG8BsvoY\n"
	"coQDssm7gcvVz731ovbjd9RUyRU5hLyqzQEr\n"
	"-----END OpenVPN tls-crypt-v2 client key-----\n";
static const char kat_auth_c2s[] =
	"380b8834f7044d999be8883e62e128501aff3a2bb024dc41d8b1e74544000000"
	"016b07888a0000000000";
static const char kat_auth_s2c[] =
	"40be1998ef621a5edac0b877758ad8e066ceaa1c5a3ab0957eef1bcfad000000"
	"016b07888c01000000000b8834f7044d999b00000000";
static const char kat_crypt_c2s[] =
	"380278d8e9be585081000000016b07889853282e3c091b52af227519fec8c7af"
	"845acb8bc196277a914c2c8b0f5c9ff06ba38232f115";
static const char kat_crypt_s2c[] =
	"40550290cb1d446708000000016b078898f5ba4b82710e489f40a3975fc974ca"
	"63158a614bbc994c2bd151b7927c376d759e1aa153fbf35ac830a1ab3c208de6"
	"8d0d";
static const char kat_v2_c2s[] =
	"507edd931f46b151860f0000016b07889cdd516a1a10fc4ec1294f3a18cce0c7"
	"bfa47af183697d91bc42be290e5012fc20ea763355f60b115a58c7a9a309a9aa"
	"e3a703a94c92ab338d12a4f06feccc7c094c4ddb811be07df050253744d01b96"
	"548d04ffc3a89c11dbc87e3b1ca6227f465aca77344d42c3d031dbe41c71de3f"
	"11bb4d539fc198b7644851426c2a9fb9f37106b7aff10a93107ea1c39b9e1f02"
	"eb40b49a9c0653d83d3a47f820cbd23965d12bd1aad9679581e0677685332640"
	"70802cc32d349d7800fe5a734c55839b0fc4f6e5ede1ead2ba274dc1875e3797"
	"cd721953a50242180c91b507cd12c3a24401a3b0664cb4b638fb8b94f3bdf622"
	"66b4ee193d2815197a50211150980df66ae9fda8b2e81881e9724aaaf0591151"
	"ce59d092abb54ba335530fa6c9c3ce59773675dd4b87a586e98f4e97233b2378"
	"3c6f01b2fa18728403b2c9bb81cbd5cfbdf5a2f6e377d454c9153984bcaacd01"
	"2b";
static const char kat_v2_s2c[] =
	"40b9219231698bd9b7000000016b07889cfce2dcaa8a5a9e882d8307935ef8ae"
	"3361937f1267bd800ba66615d2af8ae6cfed2de511100414268b950d9fe410f5"
	"479b42308267f5be";

static void kat_one(const char *what, struct tlswrap *rx, struct tlswrap *tx, const char *s2c,
		    const char *s2c_plain, const char *c2s, const char *c2s_plain, size_t ts_off)
{
	static uint8_t wire[2048], want[2048], got[2048];
	size_t wl = harness_unhex(s2c, wire, sizeof(wire));
	size_t pl = harness_unhex(s2c_plain, want, sizeof(want));
	int rc = tlswrap_unwrap(rx, wire, wl, got, sizeof(got), SEC(1));

	CHECK(rc == (int)pl && !memcmp(got, want, pl), "%s: server packet: %s", what,
	      rc < 0 ? tlswrap_strerror(rc) : "other bytes");
	wl = harness_unhex(c2s, wire, sizeof(wire));
	pl = harness_unhex(c2s_plain, want, sizeof(want));
	rc = tlswrap_wrap(tx, want, pl, got, sizeof(got), load_be32(wire + ts_off));
	CHECK(rc == (int)wl && !memcmp(got, wire, wl), "%s: client reset bytes differ", what);
}

static void known_answers(void)
{
	uint8_t k[KEY2_LEN];
	struct tlswrap *rx, *tx;

	MUST(dc_static_key_parse(kat_ta_key, k));
	MUST(tlswrap_create_auth(&rx, k, 1, "SHA1"));
	MUST(tlswrap_create_auth(&tx, k, 1, "SHA1"));
	kat_one("2.6.14 tls-auth", rx, tx, kat_auth_s2c,
		"40be1998ef621a5eda01000000000b8834f7044d999b00000000", kat_auth_c2s,
		"380b8834f7044d999b0000000000", CTL_HDR_LEN + 20 + 4);
	tlswrap_free(rx);
	tlswrap_free(tx);

	MUST(dc_static_key_parse(kat_tc_key, k));
	MUST(tlswrap_create_crypt(&rx, k, false));
	MUST(tlswrap_create_crypt(&tx, k, false));
	kat_one("2.6.14 tls-crypt", rx, tx, kat_crypt_s2c,
		"40550290cb1d44670801000000000278d8e9be58508100000000", kat_crypt_c2s,
		"380278d8e9be5850810000000000", TLS_CRYPT_OFF_PID + 4);
	tlswrap_free(rx);
	tlswrap_free(tx);

	MUST(tlswrap_create_crypt_v2_client(&rx, kat_v2_key, true));
	MUST(tlswrap_create_crypt_v2_client(&tx, kat_v2_key, true));
	kat_one("2.6.14 tls-crypt-v2", rx, tx, kat_v2_s2c,
		"40b9219231698bd9b701000000007edd931f46b1518600000000000100020001", kat_v2_c2s,
		"507edd931f46b151860000000000", TLS_CRYPT_OFF_PID + 4);
	tlswrap_free(rx);
	tlswrap_free(tx);
}

int main(void)
{
	MUST(tlswrap_global_init());
	known_answers();
	tlswrap_global_cleanup();
	return harness_done("tlswrap_kat_test");
}
