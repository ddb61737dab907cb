/*
 * tls.h - the TLS session of one key_id over memory BIOs (openvpn-wire.md §3).
 *
 * A struct tls_ctx is built once from the TLS options (OpenSSL SSL_CTX plus
 * our verification settings) and shared by every session; a struct tls_conn
 * is one TLS session (one key_id of one peer). Nothing here touches sockets
 * or the clock: the caller feeds the peer's CONTROL_V1 payload in with
 * tls_conn_input, drives tls_conn_handshake, and moves tls_conn_output bytes
 * into its own CONTROL_V1 packets. TLS records need not be aligned with
 * packets.
 *
 * Verification is OpenVPN's (ssl_verify.c, ssl_verify_openssl.c): chain to
 * --ca (+ CRLs; a missing CRL is not an error), then on the peer's own
 * certificate: common name present (last CN, <= 64 bytes), --peer-fingerprint,
 * --remote-cert-tls (keyUsage extension present + EKU), --verify-x509-name.
 * With fingerprints and no CA, the chain is not checked at all
 * (verify_hash_no_ca). Failures end the handshake with a TLS alert, so the
 * output should still be flushed to the peer after an error.
 *
 * ctrl only. Every function drains the calling thread's OpenSSL error queue.
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../core/compiler.h"

#define TLS_FP_LEN		32	/* peer-fingerprint: SHA-256 */
#define TLS_CN_MAX		64	/* TLS_USERNAME_LEN */
#define TLS_ERR_MAX		512	/* longest error string kept */
#define TLS_RECORD_MAX		16384	/* plaintext of one record: one tls_conn_write */
/* Unread ciphertext we buffer; the reliable layer delivers at most 12 x 1250 bytes. */
#define TLS_INPUT_MAX		(256 * 1024)

/* Same order as ctrl/config/options.h enum opt_tls_ver. */
enum tls_ver { TLS_VER_DEFAULT = 0, TLS_VER_1_0, TLS_VER_1_1, TLS_VER_1_2, TLS_VER_1_3 };
/* --remote-cert-tls; same order as enum opt_cert_tls. */
enum tls_cert_tls { TLS_CERT_TLS_NONE = 0, TLS_CERT_TLS_SERVER, TLS_CERT_TLS_CLIENT };
/* --verify-x509-name type; same order as enum opt_x509_type. */
enum tls_x509_type { TLS_X509_SUBJECT = 0, TLS_X509_NAME, TLS_X509_NAME_PREFIX };
/* --verify-client-cert (server); same order as enum opt_client_cert. */
enum tls_client_cert { TLS_CLIENT_CERT_REQUIRE = 0, TLS_CLIENT_CERT_OPTIONAL,
		       TLS_CLIENT_CERT_NONE };

/* A file option: a path, or with is_inline the PEM text itself. */
struct tls_pem {
	const char *data;	/* NULL: not given */
	bool is_inline;
};

/* The TLS options (OpenVPN names in comments). Zeroed = 2.6 defaults. */
struct tls_conf {
	bool is_server;			/* tls-server */
	struct tls_pem ca;		/* ca: trust anchors (CRLs in it are loaded too) */
	struct tls_pem cert;		/* cert: our certificate, then chain certs */
	struct tls_pem key;		/* key: RSA/EC/Ed25519 PEM, maybe encrypted */
	/*
	 * pkcs12: a DER file, or inline its base64 text: our certificate and
	 * key, and its other certificates as trust anchors when no ca is given
	 * (else as chain certificates), as 2.6's tls_ctx_load_pkcs12.
	 */
	struct tls_pem pkcs12;
	struct tls_pem extra_certs;	/* extra-certs */
	struct tls_pem crl;		/* crl-verify (file form, not "dir") */
	struct tls_pem dh;		/* dh (server); NULL = "dh none": ECDHE only */
	enum tls_ver version_min;	/* tls-version-min; DEFAULT = 1.2 */
	enum tls_ver version_max;	/* tls-version-max; DEFAULT = library max */
	/*
	 * tls-cipher in OpenSSL's spelling; NULL = 2.6's default list. OpenVPN
	 * also translates IANA names (TLS-ECDHE-RSA-WITH-...): not done here.
	 */
	const char *cipher_list;
	const char *ciphersuites;	/* tls-ciphersuites; NULL = OpenSSL default */
	const char *groups;		/* tls-groups; NULL = OpenSSL default */
	const char *cert_profile;	/* tls-cert-profile; NULL = "legacy" */
	enum tls_cert_tls remote_cert_tls;
	const char *verify_x509_name;	/* NULL: no check */
	enum tls_x509_type verify_x509_type;
	const uint8_t (*fingerprints)[TLS_FP_LEN];	/* peer-fingerprint list */
	size_t n_fingerprints;
	enum tls_client_cert client_cert;	/* server only */
	/*
	 * The passphrase of an encrypted key or PKCS#12 bundle, asked for only
	 * when one needs it (askpass): fills @buf (@len bytes, NUL-terminated)
	 * and returns 0, or a negative errno (-ENOKEY: none to be had). NULL:
	 * encrypted files are refused.
	 */
	int (*passphrase)(void *arg, char *buf, size_t len);
	void *passphrase_arg;
};

struct tls_ctx;
struct tls_conn;

/*
 * Builds a context (refcount 1). Loads and checks every file now, so
 * configuration mistakes surface at startup. Returns 0, -EINVAL (bad
 * option value or combination), -ENOENT/-EIO (a file could not be read or
 * parsed; @err has the OpenSSL reasons), -ENOKEY (an encrypted key or
 * PKCS#12 bundle and no passphrase, or a wrong one) or -ENOMEM. @err gets
 * a message starting "TLS: " on failure.
 */
int tls_ctx_create(struct tls_ctx **out, const struct tls_conf *conf, char *err,
		   size_t errlen) __must_check;
/*
 * SIGHUP on a server: the ca and crl-verify files of @conf read again
 * into @ctx's certificate store, so every later handshake (a
 * renegotiation of a connected client too) is checked against them. On
 * failure (@err set) @ctx keeps what it had.
 */
int tls_ctx_reload_store(struct tls_ctx *ctx, const struct tls_conf *conf, char *err,
			 size_t errlen) __must_check;
/* Takes/drops a reference; the context is freed with the last one. */
void tls_ctx_get(struct tls_ctx *ctx);
void tls_ctx_put(struct tls_ctx *ctx);

/*
 * A new TLS session on @ctx (holds a reference to it). The client role sends
 * its ClientHello on the first tls_conn_handshake. Returns 0 or -ENOMEM.
 */
int tls_conn_create(struct tls_conn **out, struct tls_ctx *ctx) __must_check;
void tls_conn_free(struct tls_conn *c);

/* Result of tls_conn_handshake. */
#define TLS_HS_DONE	1
#define TLS_HS_AGAIN	0

/*
 * Appends ciphertext from the peer. Returns 0, -ENOBUFS (over TLS_INPUT_MAX
 * unread) or -ENOMEM.
 */
int tls_conn_input(struct tls_conn *c, const uint8_t *data, size_t len) __must_check;
/* Ciphertext waiting to be sent. */
size_t tls_conn_pending(const struct tls_conn *c);
/* Moves up to @cap bytes of ciphertext into @buf; returns how many (0: none). */
size_t tls_conn_output(struct tls_conn *c, uint8_t *buf, size_t cap);

/*
 * Drives the handshake. Returns TLS_HS_DONE (also on every later call),
 * TLS_HS_AGAIN (flush output, wait for input) or -EPROTO: the session is
 * dead and tls_conn_error says why (e.g. "TLS: server certificate
 * verification failed: unable to get local issuer certificate (depth 0,
 * CN=...)"); any alert is in the output.
 */
int tls_conn_handshake(struct tls_conn *c) __must_check;
bool tls_conn_is_established(const struct tls_conn *c);

/*
 * Sends @len (1..TLS_RECORD_MAX) bytes of plaintext as one TLS record.
 * Returns 0, -ENOTCONN (handshake not done), -EMSGSIZE, -EINVAL (len 0) or
 * -EPROTO (tls_conn_error).
 */
int tls_conn_write(struct tls_conn *c, const void *data, size_t len) __must_check;
/*
 * Reads plaintext: at most one record's worth per call (a record larger
 * than @cap continues in the next call). Returns the length, 0 (nothing
 * yet), -ENOTCONN (handshake not done), -ECONNRESET (peer sent close_notify)
 * or -EPROTO (tls_conn_error; e.g. the peer rejected our certificate after
 * our side of a TLS 1.3 handshake had finished).
 */
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t cap) __must_check;

/*
 * RFC 5705 exporter without context (§5.1), e.g. KDF_EKM_DATAKEYS_LABEL
 * into 256 bytes. Returns 0, -ENOTCONN or -EIO.
 */
int tls_conn_export(struct tls_conn *c, const char *label, size_t len,
		    uint8_t *out) __must_check;

/* The last error ("" if none). Valid until the next call on @c. */
const char *tls_conn_error(const struct tls_conn *c);
/* Negotiated "TLSv1.3" / "TLS_AES_256_GCM_SHA384" ("" before the handshake). */
const char *tls_conn_version(const struct tls_conn *c);
const char *tls_conn_cipher(const struct tls_conn *c);
/*
 * OpenVPN's "Control Channel:" log line, e.g. "TLSv1.3, cipher TLSv1.3
 * TLS_AES_256_GCM_SHA384, peer certificate: 2048 bits RSA, signature:
 * sha256WithRSAEncryption, peer temporary key: 253 bits X25519".
 */
void tls_conn_describe(const struct tls_conn *c, char *buf, size_t len);
/*
 * The verified peer's common name / subject in OpenVPN's format ("C=DE,
 * O=Example, CN=server"), non-printable bytes mapped to '_'. NULL if the
 * peer sent no certificate (verify-client-cert optional|none).
 */
const char *tls_conn_peer_cn(const struct tls_conn *c);
const char *tls_conn_peer_subject(const struct tls_conn *c);
/*
 * The peer's certificate chain of an established session checked again
 * against its context's store as it is now (tls_ctx_reload_store: a new
 * CRL). 0, or -EKEYREVOKED with tls_conn_error saying why ("certificate
 * revoked"). Sessions without a peer certificate, or with peer-fingerprint
 * and no CA, pass.
 */
int tls_conn_verify_again(struct tls_conn *c);

#endif
