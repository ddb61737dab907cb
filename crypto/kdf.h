/*
 * kdf.h - data-channel key derivation for the control channel (openvpn-wire.md §5).
 *
 * Two ways to get the 256-byte key2 (layout in core/proto.h, §5):
 *  - 2.6 default "tls-ekm": the TLS keying-material exporter with label
 *    KDF_EKM_DATAKEYS_LABEL, no context (ctrl/proto/tls.h tls_conn_export);
 *  - legacy OpenVPN PRF (§5.2) from the key-method-2 randoms, for peers that
 *    do not negotiate tls-ekm: kdf_openvpn_prf below.
 *
 * ctrl only; nothing here runs per packet.
 */
#ifndef SLUICE_KDF_H
#define SLUICE_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "../core/compiler.h"
#include "../core/proto.h"

/* §5.1 / §13: RFC 5705 exporter labels (no context) and output sizes. */
#define KDF_EKM_DATAKEYS_LABEL		"EXPORTER-OpenVPN-datakeys"
#define KDF_EKM_DATAKEYS_LEN		KEY2_LEN
#define KDF_EKM_DYN_TLS_CRYPT_LABEL	"EXPORTER-OpenVPN-dynamic-tls-crypt"
#define KDF_EKM_DYN_TLS_CRYPT_LEN	KEY2_LEN
#define KDF_EKM_P2P_PEERID_LABEL	"EXPORTER-OpenVPN-p2p-peerid"
#define KDF_EKM_P2P_PEERID_LEN		3

/* §4 / §5.2: key-method-2 key source sizes and the PRF labels (no NUL). */
#define KDF_PRE_MASTER_LEN		48
#define KDF_RANDOM_LEN			32
#define KDF_MASTER_LEN			48
#define KDF_SID_LEN			8
#define KDF_LABEL_MASTER		"OpenVPN master secret"
#define KDF_LABEL_EXPANSION		"OpenVPN key expansion"

/*
 * One side's key source as carried in its key-method-2 message (§4). The
 * server sends no pre_master; its pre_master is unused (keep it zeroed).
 */
struct kdf_key_source {
	uint8_t pre_master[KDF_PRE_MASTER_LEN];
	uint8_t random1[KDF_RANDOM_LEN];
	uint8_t random2[KDF_RANDOM_LEN];
};

/*
 * The TLS 1.0/1.1 PRF (P_MD5 xor P_SHA1, RFC 2246 §5) over @secret and
 * @seed (OpenVPN passes its label as the first bytes of the seed), via
 * OpenSSL's EVP_KDF "TLS1-PRF" with digest MD5-SHA1. Returns 0, -EINVAL
 * (empty secret or output, or lengths OpenSSL cannot take) or -EIO.
 */
int kdf_tls1_prf(const uint8_t *secret, size_t secret_len, const uint8_t *seed,
		 size_t seed_len, uint8_t *out, size_t out_len) __must_check;

/*
 * §5.2 legacy OpenVPN PRF, as generate_key_expansion_openvpn_prf:
 *   master = PRF(client.pre_master, "OpenVPN master secret" || client.random1
 *                || server.random1)                                   (48 bytes)
 *   key2   = PRF(master, "OpenVPN key expansion" || client.random2
 *                || server.random2 || client_sid || server_sid)      (256 bytes)
 * "client"/"server" are the TLS roles; the sids are the 8-byte control-channel
 * session ids (§1.4). The master secret is cleansed. Returns 0 or as
 * kdf_tls1_prf (@key2 is cleansed on failure).
 */
int kdf_openvpn_prf(const struct kdf_key_source *client, const struct kdf_key_source *server,
		    const uint8_t client_sid[KDF_SID_LEN], const uint8_t server_sid[KDF_SID_LEN],
		    uint8_t key2[KEY2_LEN]) __must_check;

#endif
