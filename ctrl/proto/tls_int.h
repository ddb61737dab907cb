/*
 * tls_int.h - what the files of the TLS layer share. Not an API: only ctrl/proto/tls_*.c
 * include it; the rest of ctrl uses tls.h. ctrl only.
 *
 * The layer is split by concern:
 *
 *	tls_ctx.c	struct tls_ctx: option checks, protocol and cipher settings, the
 *			verification settings, refcount; the error strings all files use
 *	tls_pem.c	loading the PEM files (dh, cert, extra-certs, key, ca, crl-verify)
 *			and PKCS#12 bundles into the SSL_CTX, with the passphrase of an
 *			encrypted one
 *	tls_verify.c	the peer-certificate checks, run in the cert-verify callback
 *	tls_conn.c	struct tls_conn: one TLS session over memory BIOs
 *
 * Threads: ctrl only (OpenSSL's error queue is per thread; every entry point
 * clears it first and drains it into the error string, so no stale error
 * leaks between sessions).
 */
#ifndef SLUICE_TLS_INT_H
#define SLUICE_TLS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "tls.h"

/*
 * Built by tls_ctx.c and immutable after tls_ctx_create, except refs. tls_verify.c reads
 * the verification settings (no_ca .. n_fps).
 */
struct tls_ctx {
	SSL_CTX *ssl_ctx;
	unsigned int refs;
	bool is_server;
	bool no_ca;			/* peer-fingerprint without ca: skip the chain */
	enum tls_cert_tls remote_cert_tls;
	char *x509_name;
	enum tls_x509_type x509_type;
	uint8_t (*fps)[TLS_FP_LEN];
	size_t n_fps;
};

/*
 * Owned by tls_conn.c. The verify callback (tls_verify.c) fills cn, subject and
 * has_peer, and sets err and has_verify_err when it refuses the peer.
 */
struct tls_conn {
	struct tls_ctx *ctx;
	SSL *ssl;
	BIO *rbio;			/* peer ciphertext in; owned by ssl */
	BIO *wbio;			/* our ciphertext out; owned by ssl */
	bool is_established;
	bool is_dead;
	bool has_verify_err;		/* err was set by the verify callback */
	bool has_peer;
	char cn[TLS_CN_MAX + 1];
	char *subject;
	char err[TLS_ERR_MAX];
};

/* tls_ctx.c: appends printf output to the string in @buf (size @len), if it fits. */
__printf(3, 4) void tls_str_append(char *buf, size_t len, const char *fmt, ...);
/* tls_ctx.c: appends ": reason (data), reason ..." for everything in the error queue. */
void tls_err_drain(char *buf, size_t len);
/* tls_ctx.c: printf into @buf (size @len, may be 0). */
__printf(3, 4) void tls_err_set(char *buf, size_t len, const char *fmt, ...);

/*
 * tls_pem.c: loads every file @conf names into @sc; *@n_ca counts the trust anchors
 * (ca, or a PKCS#12 bundle's CAs without ca). Returns 0, -EINVAL, -ENOENT, -EIO,
 * -ENOKEY (no or a wrong passphrase) or -ENOMEM with @err set.
 */
int tls_pem_load(SSL_CTX *sc, const struct tls_conf *conf, unsigned int *n_ca, char *err,
		 size_t errlen);

/*
 * tls_verify.c: the SSL_CTX cert-verify callback. Checks the chain (unless no_ca) and
 * the peer's own certificate, and on failure leaves one message in the tls_conn's err.
 */
int tls_verify_cb(X509_STORE_CTX *xs, void *arg);

#endif
