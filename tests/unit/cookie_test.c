/*
 * cookie_test.c - the stateless server's session-id cookie (crypto/cookie.h,
 * openvpn-wire.md §2.7).
 *
 * 1. Address serialisation table: v4, v6 (scope id), v4-mapped v6 == v4,
 *    unknown family, short socklen.
 * 2. The cookie equals an independent one-shot HMAC-SHA256 over the
 *    documented input.
 * 3. cookie_check table: current slot, previous slot, two slots old (stale),
 *    three slots old, a future slot, forged bits, another port, another
 *    address, another client sid; slot arithmetic incl. --hand-window 0.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../crypto/cookie.h"
#include "harness.h"

static const uint8_t ckey[COOKIE_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t ckey2[COOKIE_KEY_LEN] = { 9 };
static const uint8_t csid[SID_LEN] = { 0x4f, 0x9b, 0xf9, 0x4c, 0x45, 0x74, 0xca, 0x1d };

static union sockaddr_any v4(const char *a, uint16_t port)
{
	union sockaddr_any s = { .in4 = { .sin_family = AF_INET, .sin_port = htons(port) } };

	inet_pton(AF_INET, a, &s.in4.sin_addr);
	return s;
}

static union sockaddr_any v6(const char *a, uint16_t port, uint32_t scope)
{
	union sockaddr_any s = { .in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
					  .sin6_scope_id = scope, .sin6_flowinfo = 0x1234 } };

	inet_pton(AF_INET6, a, &s.in6.sin6_addr);
	return s;
}

static void test_serialise(void)
{
	uint8_t out[COOKIE_ADDR_MAX], out2[COOKIE_ADDR_MAX];
	union sockaddr_any s;
	int n;

	/* 1 */
	s = v4("198.18.77.2", 0x1234);
	n = cookie_sockaddr_serialise(&s, sizeof(s.in4), out);
	CHECK(n == 7 && !memcmp(out, "\x04\x12\x34\xc6\x12\x4d\x02", 7), "case 1: v4 bytes (n=%d)", n);
	/* 2: v4-mapped serialises as plain v4 */
	s = v6("::ffff:198.18.77.2", 0x1234, 0);
	n = cookie_sockaddr_serialise(&s, sizeof(s.in6), out2);
	CHECK(n == 7 && !memcmp(out, out2, 7), "case 2: v4-mapped != v4 (n=%d)", n);
	/* 3: v6 with scope id; flowinfo ignored */
	s = v6("fe80::1", 443, 7);
	n = cookie_sockaddr_serialise(&s, sizeof(s.in6), out);
	CHECK(n == COOKIE_ADDR_MAX && out[0] == 6 && out[1] == 0x01 && out[2] == 0xbb &&
		      out[3] == 0xfe && out[18] == 1 && !memcmp(out + 19, "\0\0\0\7", 4),
	      "case 3: v6 bytes (n=%d)", n);
	s.in6.sin6_flowinfo = 99;
	CHECK(cookie_sockaddr_serialise(&s, sizeof(s.in6), out2) == n && !memcmp(out, out2, 23),
	      "case 4: flowinfo must not matter");
	/* 5, 6: errors */
	s.sa.sa_family = AF_UNIX;
	CHECK(cookie_sockaddr_serialise(&s, sizeof(s), out) == -EAFNOSUPPORT, "case 5: AF_UNIX");
	s = v6("::1", 1, 0);
	CHECK(cookie_sockaddr_serialise(&s, sizeof(s.in4), out) == -EINVAL, "case 6: short v6");
	CHECK(cookie_sockaddr_serialise(&s, 1, out) == -EINVAL, "case 7: socklen 1");
}

static void test_independent(struct cookie_key *k)
{
	union sockaddr_any s = v4("198.18.77.2", 51234);
	uint8_t in[8 + 7 + SID_LEN], mac[32], sid[SID_LEN];
	size_t maclen = 0;

	memcpy(in, "\0\0\0\0\x03\x2a\x9f\x8b", 8);	/* slot 0x032a9f8b */
	memcpy(in + 8, "\x04\xc8\x22\xc6\x12\x4d\x02", 7);
	memcpy(in + 15, csid, SID_LEN);
	EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, ckey, sizeof(ckey), in, sizeof(in), mac,
		  sizeof(mac), &maclen);
	CHECK(!cookie_session_id(k, 0x032a9f8b, &s, sizeof(s.in4), csid, sid), "session id");
	CHECK(maclen == 32 && !memcmp(sid, mac, SID_LEN), "cookie != first 8 bytes of the HMAC");
}

static void test_slots(void)
{
	CHECK(cookie_time_slot(59, 60) == 1 && cookie_time_slot(60, 60) == 2, "slot 60");
	CHECK(cookie_time_slot(61, 61) == 1 && cookie_time_slot(62, 61) == 2, "slot 61: 31 s");
	CHECK(cookie_time_slot(5, 0) == 5 && cookie_time_slot(5, 1) == 5, "slot 0/1: 1 s");
	CHECK(cookie_time_slot(UINT64_MAX, 60) == UINT64_MAX / 30, "slot max");
}

static void test_check(struct cookie_key *k)
{
	const uint64_t t0 = 1700000020;	/* slot start + 10 s, 30-second slots */
	union sockaddr_any src = v4("198.18.77.2", 51234), s2;
	uint8_t sid[SID_LEN], bad[SID_LEN], sid2[SID_LEN];
	int n = 0;

#define T(now, addr, client, echo, expect)                                              \
	do {                                                                             \
		n++;                                                                     \
		enum cookie_verdict v = cookie_check(k, now, 60, &(addr), sizeof(addr),  \
						     client, echo);                      \
		CHECK(v == (expect), "check case %d: got %d want %d", n, v, expect);     \
	} while (0)

	if (cookie_session_id(k, cookie_time_slot(t0, 60), &src, sizeof(src), csid, sid))
		CHECK(0, "session id");
	memcpy(bad, sid, SID_LEN);
	bad[7] ^= 0x01;
	memset(sid2, 0x77, SID_LEN);
	s2 = src;
	s2.in4.sin_port = htons(51235);
	T(t0, src, csid, sid, COOKIE_VALID);			/* 1 same slot */
	T(t0 + 19, src, csid, sid, COOKIE_VALID);		/* 2 end of slot */
	T(t0 + 20, src, csid, sid, COOKIE_VALID);		/* 3 next slot */
	T(t0 + 49, src, csid, sid, COOKIE_VALID);		/* 4 end of next slot */
	T(t0 + 50, src, csid, sid, COOKIE_STALE);		/* 5 two slots old */
	T(t0 + 79, src, csid, sid, COOKIE_STALE);		/* 6 */
	T(t0 + 80, src, csid, sid, COOKIE_INVALID);		/* 7 three slots old */
	T(t0 - 11, src, csid, sid, COOKIE_INVALID);		/* 8 issued "in the future" */
	T(t0, src, csid, bad, COOKIE_INVALID);			/* 9 forged bit */
	T(t0, s2, csid, sid, COOKIE_INVALID);			/* 10 other port */
	s2 = v4("198.18.77.3", 51234);
	T(t0, s2, csid, sid, COOKIE_INVALID);			/* 11 other address */
	T(t0, src, sid2, sid, COOKIE_INVALID);			/* 12 other client sid */
	s2 = v6("::ffff:198.18.77.2", 51234, 0);
	T(t0, s2, csid, sid, COOKIE_VALID);			/* 13 same client via v6 socket */
	s2.sa.sa_family = AF_UNIX;
	T(t0, s2, csid, sid, COOKIE_INVALID);			/* 14 unknown family */
	T(0, src, csid, sid, COOKIE_INVALID);			/* 15 slot 0 has no previous */
#undef T
}

int main(void)
{
	struct cookie_key k, k2;
	uint8_t a[SID_LEN], b[SID_LEN];
	union sockaddr_any s = v4("198.18.77.2", 1);

	if (cookie_init(&k, ckey)) {
		printf("cookie_init failed\n");
		return 1;
	}
	test_serialise();
	test_independent(&k);
	test_slots();
	test_check(&k);
	/* Another key gives another cookie. */
	if (cookie_init(&k2, ckey2)) {
		printf("cookie_init failed\n");
		return 1;
	}
	CHECK(!cookie_session_id(&k, 5, &s, sizeof(s), csid, a) &&
		      !cookie_session_id(&k2, 5, &s, sizeof(s), csid, b) && memcmp(a, b, SID_LEN),
	      "two keys, one cookie");
	cookie_free(&k2);
	cookie_free(&k);
	cookie_free(&k);	/* idempotent */
	return harness_done("cookie_test");
}
