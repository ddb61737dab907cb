/*
 * km2.h - key-method-2 messages, the OCC options string and peer info
 * (openvpn-wire.md §4).
 *
 * After the TLS handshake of each key_id, the client writes its key-method-2
 * message as the first TLS application data and the server answers with its
 * own. Layout (all integers big-endian):
 *
 *	u32 0 | u8 0x02 | [pre_master 48, client only] | random1 32 | random2 32 |
 *	u16+ options (OCC) | u16+ username | u16+ password | u16+ peer_info
 *
 * where u16+ is a length that includes the string's NUL, then that many bytes;
 * an empty string is the length 0 and no bytes. Everything here is pure
 * (no I/O, no logging); ctrl only.
 */
#ifndef SLUICE_KM2_H
#define SLUICE_KM2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/compiler.h"
#include "../../crypto/kdf.h"

#define KM2_METHOD		2	/* KEY_METHOD_2 */
#define KM2_METHOD_MASK		0x0F	/* high nibble: flags, always 0 */
#define KM2_HDR_LEN		5	/* u32 0 + method byte */
/* TLS_OPTIONS_LEN: the OCC string, NUL included. */
#define KM2_OPTIONS_MAX		512
/* USER_PASS_LEN in builds with PKCS#11, Debian's included (128 otherwise). */
#define KM2_USER_PASS_MAX	4096
/*
 * TLS_CHANNEL_BUF_SIZE: a 2.6 peer writes its message from, and reads the
 * peer's with one call into, a 2048-byte buffer. A longer message loses its
 * tail at the receiver, so we never build one.
 */
#define KM2_MSG_MAX		2048
/* Smallest message of each side: header, key source, four empty strings. */
#define KM2_CLIENT_MIN		(KM2_HDR_LEN + KDF_PRE_MASTER_LEN + 2 * KDF_RANDOM_LEN + 8)
#define KM2_SERVER_MIN		(KM2_HDR_LEN + 2 * KDF_RANDOM_LEN + 8)

/* §4 IV_PROTO bits (ssl.h). A pull client must not set IV_PROTO_NCP_P2P. */
#define IV_PROTO_DATA_V2		(1u << 1)
#define IV_PROTO_REQUEST_PUSH		(1u << 2)
#define IV_PROTO_TLS_KEY_EXPORT		(1u << 3)
#define IV_PROTO_AUTH_PENDING_KW	(1u << 4)
#define IV_PROTO_NCP_P2P		(1u << 5)
#define IV_PROTO_DNS_OPTION		(1u << 6)
#define IV_PROTO_CC_EXIT_NOTIFY		(1u << 7)
#define IV_PROTO_AUTH_FAIL_TEMP		(1u << 8)
#define IV_PROTO_DYN_TLS_CRYPT		(1u << 9)
#define IV_PROTO_KNOWN_26		0x3FEu	/* bits 1..9: what 2.6 defines */

/*
 * IV_VER we announce. No stock 2.6 server reads IV_VER (it gates features on
 * IV_PROTO, IV_CIPHERS, IV_NCP, IV_MTU and the compression flags); it only
 * reaches scripts and plugins as an env var. We say who we are in the format
 * of OpenVPN's own development builds ("2.6_git"), so a script that parses
 * "major.minor" still sees the protocol level we implement.
 */
#define KM2_IV_VER_DEFAULT	"2.6_sluice"

/* One key-method-2 message, built or parsed. */
struct km2_msg {
	struct kdf_key_source src;	/* pre_master only in the client's message */
	/*
	 * NUL-terminated; "" when empty. After km2_parse they point into the
	 * parsed buffer; NULL is accepted by km2_build as "".
	 */
	const char *options;
	const char *username;
	const char *password;
	const char *peer_info;
	/*
	 * After km2_parse: the bytes the message took. A 2.6 peer may write a
	 * control message right behind it in the same TLS record (its
	 * plaintext buffer holds both), which the caller reads from there.
	 */
	size_t len;
};

/*
 * Fills @src with fresh random bytes (pre_master only if @is_client, zero
 * otherwise). Returns 0 or -EIO (RAND_bytes failed).
 */
int km2_source_random(struct kdf_key_source *src, bool is_client) __must_check;

/*
 * Writes @m as the client's (@from_client) or the server's message into
 * @out. The server's message has no pre_master and empty username and
 * password; it may carry peer info (a 2.6 server in server mode sends none:
 * pass NULL). Returns the length, -EINVAL (a server message with a username
 * or password), -EMSGSIZE (options > 511 characters, username/password >
 * 4095, whole message > KM2_MSG_MAX) or -ENOSPC (@cap too small).
 */
int km2_build(uint8_t *out, size_t cap, const struct km2_msg *m, bool from_client) __must_check;

/*
 * Parses the message of the peer (a client's if @from_client). Strings in
 * @m point into @buf, which must outlive them. The strings must be
 * NUL-terminated exactly at their length (no embedded NUL); a missing
 * peer_info field counts as empty, bytes after it are ignored (as OpenVPN
 * does). Returns 0, -EBADMSG (truncated, bad method byte, length field past
 * the end, missing/embedded NUL; *@why says which) or -EMSGSIZE (a field over
 * its limit: options > KM2_OPTIONS_MAX or username/password > KM2_USER_PASS_MAX,
 * which a 2.6 server answers with AUTH_FAILED). @why may be NULL.
 */
int km2_parse(struct km2_msg *m, const uint8_t *buf, size_t len, bool from_client,
	      const char **why) __must_check;

/* The 2.6 OCC "proto" names: always the IPv4 spelling, even over IPv6. */
enum km2_proto { KM2_PROTO_UDP = 0, KM2_PROTO_TCP_CLIENT, KM2_PROTO_TCP_SERVER };

/* --key-direction as OpenVPN prints it in OCC; NONE = bidirectional. */
enum km2_keydir { KM2_KEYDIR_NONE = 0, KM2_KEYDIR_0, KM2_KEYDIR_1 };

/*
 * Inputs of the OCC options string (OpenVPN options_string). Zeroed means
 * the 2.6 defaults of a tun client over UDP.
 */
struct km2_occ {
	bool is_server;			/* ",tls-server" instead of ",tls-client" */
	bool is_tap;			/* dev-type tap */
	enum km2_proto proto;
	unsigned int tun_mtu;		/* 0 = 1500 */
	unsigned int occ_mtu;		/* tun-mtu's second argument: printed instead */
	unsigned int tun_mtu_extra;	/* 0 = 32 for tap (TAP_MTU_EXTRA_DEFAULT), 0 for tun */
	/*
	 * --cipher (the pre-NCP fallback). NULL = 2.6's default BF-CBC: not
	 * announced, keysize 128, its 16-byte overhead still counted in link-mtu.
	 */
	const char *cipher;
	bool announce_cipher;		/* cipher is in data-ciphers: add ",cipher X" */
	const char *auth;		/* --auth; NULL = SHA1 */
	bool comp;			/* any compression option: ",comp-lzo" */
	bool comp_v1_framing;		/* lzo, lz4, stub (1-byte header): +1 link-mtu */
	bool fragment;			/* ",mtu-dynamic", +4 link-mtu */
	bool tls_auth;			/* ",tls-auth" */
	enum km2_keydir key_direction;	/* key-direction of tls-auth: ",keydir N" */
};

/*
 * Builds the OCC string, e.g. the observed default
 * "V4,dev-type tun,link-mtu 1541,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-client".
 * link-mtu is computed as 2.6's calc_options_string_link_mtu, including its
 * quirks (opcode without peer-id; AEAD counts the IV and CBC block size).
 * Returns the length (without NUL), -EINVAL (unknown cipher/digest, or a
 * mode OpenVPN refuses) or -ENOSPC.
 */
int km2_occ_build(char *out, size_t cap, const struct km2_occ *o) __must_check;

/* Compression flags a client announces (comp_generate_peer_info_string). */
enum km2_comp {
	KM2_COMP_STUBS = 0,	/* IV_LZO_STUB=1, IV_COMP_STUB=1, IV_COMP_STUBv2=1 (2.6 default) */
	KM2_COMP_ALL,		/* IV_LZ4=1, IV_LZ4v2=1, IV_LZO=1, IV_COMP_STUB(v2)=1 (allow yes) */
	KM2_COMP_NONE,		/* no compression lines at all */
};

/* Inputs of the client's peer info (push_peer_info, detail level 2). */
struct km2_peer_info {
	const char *version;		/* IV_VER; NULL = KM2_IV_VER_DEFAULT */
	const char *platform;		/* IV_PLAT; NULL = "linux" */
	unsigned int iv_proto;		/* IV_PROTO_* bits we implement */
	unsigned int mtu;		/* IV_MTU (tun-max-mtu) for a pull client; 0 = omit */
	const char *ciphers;		/* IV_CIPHERS (data-ciphers, ':'-separated) */
	enum km2_comp comp;
	const char *extra;		/* more "NAME=value\n" lines (UV_*, IV_GUI_VER=...), or NULL */
};

/*
 * Builds peer info in 2.6's order: IV_VER, IV_PLAT, IV_TCPNL=1, IV_MTU,
 * IV_NCP=2 (only if IV_CIPHERS has both AES-128-GCM and AES-256-GCM),
 * IV_CIPHERS, IV_PROTO, compression flags, @extra. Returns the length
 * (without NUL), -EINVAL (iv_proto with bits outside IV_PROTO_KNOWN_26,
 * NCP_P2P, or no DATA_V2; a value with ',', '\n' or control characters;
 * @extra not made of NAME=value lines) or -ENOSPC.
 */
int km2_peer_info_build(char *out, size_t cap, const struct km2_peer_info *pi) __must_check;

/* Longest IV_CIPHERS value we keep (2.6 clips data-ciphers to 127 chars). */
#define KM2_CIPHERS_MAX		256
#define KM2_IV_VER_MAX		64
#define KM2_IV_PLAT_MAX		32

/* What a server needs from a client's peer info. */
struct km2_peer {
	bool has_proto;
	unsigned int iv_proto;		/* IV_PROTO, 0 if absent */
	unsigned int iv_ncp;		/* IV_NCP, 0 if absent */
	unsigned int mtu;		/* IV_MTU, 0 if absent */
	bool has_ciphers;
	char ciphers[KM2_CIPHERS_MAX];	/* IV_CIPHERS */
	char version[KM2_IV_VER_MAX];	/* IV_VER, "" if absent */
	char platform[KM2_IV_PLAT_MAX];	/* IV_PLAT */
	bool tcpnl, lz4, lz4v2, lzo, lzo_stub, comp_stub, comp_stubv2;
	unsigned int bad_lines;		/* lines skipped: not NAME=value, bad number, too long */
};

/*
 * Parses peer info lines ("NAME=value" separated by '\n'); unknown names
 * are ignored, malformed lines are counted in bad_lines and skipped. A
 * repeated name: the first wins, as with OpenVPN's strstr() lookups. Never
 * fails; @pi may be NULL or "".
 */
void km2_peer_info_parse(struct km2_peer *p, const char *pi);

/*
 * Copies the value of the first line NAME=... of @pi into @val
 * (NUL-terminated), as OpenVPN's extract_var_peer_info but matching at line
 * starts only.
 * Returns the value length, -ENOENT or -ENOSPC (@val too small).
 */
int km2_peer_info_get(const char *pi, const char *name, char *val, size_t cap);

#endif
