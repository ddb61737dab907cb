/*
 * proto.h - OpenVPN 2.6 wire constants (the only place they live).
 *
 * Names follow OpenVPN's ssl_pkt.h so a reader can grep both trees.
 * Layouts are documented in ../shared/protocol/openvpn-wire.md; section
 * numbers below refer to that file. Header-only, any thread.
 */
#ifndef SLUICE_PROTO_H
#define SLUICE_PROTO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* §1.2: byte 0 = opcode << 3 | key_id. */
#define P_OPCODE_SHIFT			3
#define P_KEY_ID_MASK			0x07
#define P_CONTROL_HARD_RESET_CLIENT_V1	1
#define P_CONTROL_HARD_RESET_SERVER_V1	2
#define P_CONTROL_SOFT_RESET_V1		3
#define P_CONTROL_V1			4
#define P_ACK_V1			5
#define P_DATA_V1			6
#define P_CONTROL_HARD_RESET_CLIENT_V2	7
#define P_CONTROL_HARD_RESET_SERVER_V2	8
#define P_DATA_V2			9
#define P_CONTROL_HARD_RESET_CLIENT_V3	10
#define P_CONTROL_WKC_V1		11
#define P_OPCODE_MAX			11

#define KEY_ID_COUNT			8	/* 3-bit key_id */

/* §1.9: P_DATA_V2 header is opcode byte + 24-bit peer-id. */
#define P_DATA_V1_HDR_LEN		1
#define P_DATA_V2_HDR_LEN		4
#define PEER_ID_NONE			0xFFFFFFu
#define PEER_ID_MASK			0xFFFFFFu

/* §6.2: AEAD layout: [hdr][packet-id 4][tag 16][ciphertext]. */
#define DC_PID_LEN			4
#define DC_TAG_LEN			16
#define DC_IMPLICIT_IV_LEN		8
#define DC_NONCE_LEN			12
#define DC_V2_OVERHEAD	(P_DATA_V2_HDR_LEN + DC_PID_LEN + DC_TAG_LEN)	/* 24 */
#define DC_V1_OVERHEAD	(P_DATA_V1_HDR_LEN + DC_PID_LEN + DC_TAG_LEN)	/* 21 */

/* §6.2: 2.6 forces a renegotiation as the send packet-id nears 2^32. */
#define DC_PID_REKEY			0xFF000000u
#define DC_PID_REJECT			0xFFFFFFF0u

/* §5: 256-byte key2 = two halves of cipher[64] || hmac[64]. */
#define KEY2_LEN			256
#define KEY_HALF_LEN			128
#define KEY_CIPHER_SLOT			64
#define KEY_HMAC_SLOT			64

/* §7: in-band data-channel messages. */
#define PING_MAGIC_LEN			16
static const uint8_t PING_MAGIC[PING_MAGIC_LEN] = {
	0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb,
	0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
};
#define OCC_MAGIC_LEN			16
static const uint8_t OCC_MAGIC[OCC_MAGIC_LEN] = {
	0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81,
	0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c,
};
/* OCC opcodes: the byte after OCC_MAGIC (stock occ.h). */
#define OCC_REQUEST			0	/* send me your options string */
#define OCC_REPLY			1	/* my options string, NUL-terminated */
#define OCC_MTU_LOAD_REQUEST		2
#define OCC_MTU_LOAD			3
#define OCC_MTU_REQUEST			4
#define OCC_MTU_REPLY			5
#define OCC_EXIT			6	/* the sender leaves (explicit-exit-notify) */

/* §8: compression framing bytes. */
#define COMP_NO_COMPRESS_BYTE		0xFA	/* comp-lzo stub */
#define COMP_NO_COMPRESS_SWAP		0xFB	/* compress stub (swap form) */
#define COMP_LZ4_SWAP			0x69
#define COMP_LZO_BYTE			0x66
#define COMP_V2_ESC			0x50
#define COMP_V2_NONE			0x00
#define COMP_V2_LZ4			0x01

/* Largest datagram we accept or build. 2.6 accepts up to ~1600 control bytes. */
#define WIRE_MAX			2048

/*
 * §1.4-§1.6: control packets and their reliability layer. Names follow
 * OpenVPN's ssl_pkt.h, reliable.h, ssl.h and common.h.
 */
#define SID_LEN				8	/* session id */
#define CTL_HDR_LEN			(1 + SID_LEN)	/* opcode byte + own sid */
#define CTL_MID_LEN			4	/* message packet-id */
#define RELIABLE_ACK_SIZE		8	/* acks in one array (and in P_ACK_V1) */
#define CONTROL_SEND_ACK_MAX		4	/* acks piggybacked on a reliable packet */
/* Bytes of an ack array of @n acks: count, ids, peer sid if any (ACK_SIZE). */
#define CTL_ACK_ARRAY_LEN(n)		(1 + 4 * (n) + ((n) ? SID_LEN : 0))
#define TLS_RELIABLE_N_SEND_BUFFERS	6	/* send window */
#define TLS_RELIABLE_N_REC_BUFFERS	12	/* receive window */
#define N_ACK_RETRANSMIT		3	/* later acks that trigger a fast resend */
#define TLS_TIMEOUT_DEFAULT_SEC		2	/* --tls-timeout: first retransmit */
#define TLS_MTU_DEFAULT			1250	/* --tls-mtu: whole IP datagram */
#define TLS_CHANNEL_MTU_MIN		154
#define TLS_CHANNEL_BUF_SIZE		2048
#define UDP4_DATAGRAM_OVERHEAD		28	/* IPv4 20 + UDP 8 */
#define UDP6_DATAGRAM_OVERHEAD		48	/* IPv6 40 + UDP 8 */

/* §2.2-§2.6: control-channel wrapping (tls-auth, tls-crypt, tls-crypt-v2). */
#define TLS_WRAP_PID_LEN		8	/* replay packet-id 4 + timestamp 4 */
#define TLS_CRYPT_TAG_SIZE		32	/* HMAC-SHA256 */
#define TLS_CRYPT_OFF_PID		CTL_HDR_LEN			/*  9 */
#define TLS_CRYPT_OFF_TAG		(TLS_CRYPT_OFF_PID + TLS_WRAP_PID_LEN)	/* 17 */
#define TLS_CRYPT_OFF_CT		(TLS_CRYPT_OFF_TAG + TLS_CRYPT_TAG_SIZE)	/* 49 */
#define TLS_CRYPT_OVERHEAD		(TLS_WRAP_PID_LEN + TLS_CRYPT_TAG_SIZE)	/* 40 */
#define TLS_CRYPT_V2_CLIENT_KEY_LEN	KEY2_LEN
#define TLS_CRYPT_V2_MAX_WKC_LEN	1024
#define EARLY_NEG_START			0x0f000000u	/* first replay id - 1 */
#define EARLY_NEG_MASK			0xff000000u
#define TLV_TYPE_EARLY_NEG_FLAGS	0x0001
#define EARLY_NEG_FLAG_RESEND_WKC	0x0001

static inline uint8_t proto_opcode(uint8_t b0)
{
	return b0 >> P_OPCODE_SHIFT;
}

static inline uint8_t proto_key_id(uint8_t b0)
{
	return b0 & P_KEY_ID_MASK;
}

static inline bool proto_is_data(uint8_t op)
{
	return op == P_DATA_V2 || op == P_DATA_V1;
}

static inline bool proto_is_control(uint8_t op)
{
	return op >= P_CONTROL_SOFT_RESET_V1 && op <= P_OPCODE_MAX && !proto_is_data(op);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, sizeof(v));
}

static inline uint16_t load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Peer-id is the low 24 bits of the first big-endian word of P_DATA_V2. */
static inline uint32_t proto_peer_id(const uint8_t *hdr)
{
	return load_be32(hdr) & PEER_ID_MASK;
}

#endif
