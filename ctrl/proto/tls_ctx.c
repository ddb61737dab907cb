/*
 * tls_ctx.c - owns struct tls_ctx, the OpenSSL SSL_CTX every TLS session of the
 * control channel is made from (openvpn-wire.md §3), and the error strings the other
 * tls_*.c files share (tls_int.h).
 *
 * Threads: ctrl only (OpenSSL's error queue is per thread; every entry point
 * clears it first and drains it into the error string, so no stale error
 * leaks between sessions).
 *
 * Context settings mirror 2.6's ssl_openssl.c: tls_ctx_set_options
 * (NO_TICKET, NO_COMPRESSION, NO_RENEGOTIATION, server cipher preference,
 * session cache off), tls_ctx_restrict_ciphers (default TLS 1.2 list),
 * tls_ctx_set_cert_profile (security levels). We also set num_tickets 0: a 2.6
 * peer never resumes, so TLS 1.3 tickets would only cost control packets. The
 * files are loaded by tls_pem.c and the peer is checked by tls_verify.c, whose
 * callback tls_ctx_create installs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls_int.h"

#define TLS_CIPHER_DEFAULT \
	"DEFAULT:!EXP:!LOW:!MEDIUM:!kDH:!kECDH:!DSS:!PSK:!SRP:!kRSA"

/* ---- error strings ------------------------------------------------------ */

__printf(3, 4) void tls_str_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t off = strnlen(buf, len);
	va_list ap;

	if (off + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + off, len - off, fmt, ap);
	va_end(ap);
}

/* Appends ": reason (data), reason ..." for everything in the error queue. */
void tls_err_drain(char *buf, size_t len)
{
	const char *data, *reason;
	unsigned long e;
	bool first = true;
	int flags;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags))) {
		reason = ERR_reason_error_string(e);
		if (reason)
			tls_str_append(buf, len, "%s%s", first ? ": " : ", ", reason);
		else
			tls_str_append(buf, len, "%serror %08lx", first ? ": " : ", ", e);
		if ((flags & ERR_TXT_STRING) && data && *data)
			tls_str_append(buf, len, " (%s)", data);
		first = false;
	}
}

__printf(3, 4) void tls_err_set(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- context ------------------------------------------------------------------ */

static int ssl_version(enum tls_ver v)
{
	static const int map[] = {
		[TLS_VER_DEFAULT] = 0, [TLS_VER_1_0] = TLS1_VERSION,
		[TLS_VER_1_1] = TLS1_1_VERSION, [TLS_VER_1_2] = TLS1_2_VERSION,
		[TLS_VER_1_3] = TLS1_3_VERSION,
	};

	return (unsigned int)v < ARRAY_SIZE(map) ? map[v] : -1;
}

static int conf_check(const struct tls_conf *conf, char *err, size_t errlen)
{
	int vmin = ssl_version(conf->version_min), vmax = ssl_version(conf->version_max);
	bool needs_ca = !conf->is_server || conf->client_cert != TLS_CLIENT_CERT_NONE;
	bool has_p12 = conf->pkcs12.data;

	if (vmin < 0 || vmax < 0 || (vmax && vmin > vmax)) {
		tls_err_set(err, errlen, "TLS: tls-version-min is above tls-version-max");
		return -EINVAL;
	}
	if ((unsigned int)conf->remote_cert_tls > TLS_CERT_TLS_CLIENT ||
	    (unsigned int)conf->verify_x509_type > TLS_X509_NAME_PREFIX ||
	    (unsigned int)conf->client_cert > TLS_CLIENT_CERT_NONE ||
	    (conf->n_fingerprints && !conf->fingerprints)) {
		tls_err_set(err, errlen, "TLS: invalid verification option");
		return -EINVAL;
	}
	if (has_p12 && (conf->cert.data || conf->key.data)) {
		tls_err_set(err, errlen, "TLS: cert and key cannot be used together with pkcs12");
		return -EINVAL;
	}
	if (!conf->cert.data != !conf->key.data ||
	    (conf->is_server && !conf->cert.data && !has_p12)) {
		tls_err_set(err, errlen, "TLS: %s",
			    conf->is_server ? "a server needs cert and key (or pkcs12)" :
			    "cert and key must be given together");
		return -EINVAL;
	}
	/* A PKCS#12 bundle may carry the CAs; tls_pem.c says so if it does not. */
	if (needs_ca && !conf->ca.data && !conf->n_fingerprints && !has_p12) {
		tls_err_set(err, errlen, "TLS: no ca or peer-fingerprint to verify the peer with");
		return -EINVAL;
	}
	return 0;
}

static int set_profile(SSL_CTX *sc, const char *profile, char *err, size_t errlen)
{
	if (!profile || !strcmp(profile, "legacy")) {
		SSL_CTX_set_security_level(sc, 1);
	} else if (!strcmp(profile, "preferred")) {
		SSL_CTX_set_security_level(sc, 2);
	} else if (!strcmp(profile, "suiteb")) {
		SSL_CTX_set_security_level(sc, 3);
		if (SSL_CTX_set_cipher_list(sc, "SUITEB128") != 1)
			goto fail;
	} else if (!strcmp(profile, "insecure")) {
		SSL_CTX_set_security_level(sc, 0);
	} else {
		tls_err_set(err, errlen, "TLS: unknown tls-cert-profile '%s'", profile);
		return -EINVAL;
	}
	return 0;
fail:
	tls_err_set(err, errlen, "TLS: cannot apply tls-cert-profile '%s'", profile);
	tls_err_drain(err, errlen);
	return -EINVAL;
}

/* tls_ctx_set_options, tls_ctx_restrict_ciphers[_tls13], cert profile, groups. */
static int set_protocol(SSL_CTX *sc, const struct tls_conf *conf, char *err, size_t errlen)
{
	int vmin = conf->version_min ? ssl_version(conf->version_min) : TLS1_2_VERSION;
	const char *list = conf->cipher_list ? conf->cipher_list : TLS_CIPHER_DEFAULT;

	SSL_CTX_set_options(sc, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(sc, 0) != 1 ||
	    SSL_CTX_set_min_proto_version(sc, vmin) != 1 ||
	    SSL_CTX_set_max_proto_version(sc, ssl_version(conf->version_max)) != 1) {
		tls_err_set(err, errlen, "TLS: cannot set the TLS version range");
		goto fail;
	}
	if (SSL_CTX_set_cipher_list(sc, list) != 1) {
		tls_err_set(err, errlen, "TLS: bad tls-cipher '%s'", list);
		goto fail;
	}
	if (conf->ciphersuites && SSL_CTX_set_ciphersuites(sc, conf->ciphersuites) != 1) {
		tls_err_set(err, errlen, "TLS: bad tls-ciphersuites '%s'", conf->ciphersuites);
		goto fail;
	}
	if (set_profile(sc, conf->cert_profile, err, errlen))
		return -EINVAL;
	if (conf->groups && SSL_CTX_set1_groups_list(sc, conf->groups) != 1) {
		tls_err_set(err, errlen, "TLS: bad tls-groups '%s'", conf->groups);
		goto fail;
	}
	return 0;
fail:
	tls_err_drain(err, errlen);
	return -EINVAL;
}

static int copy_verify(struct tls_ctx *ctx, const struct tls_conf *conf)
{
	ctx->is_server = conf->is_server;
	ctx->remote_cert_tls = conf->remote_cert_tls;
	ctx->x509_type = conf->verify_x509_type;
	if (conf->verify_x509_name) {
		ctx->x509_name = strdup(conf->verify_x509_name);
		if (!ctx->x509_name)
			return -ENOMEM;
	}
	if (conf->n_fingerprints) {
		ctx->fps = calloc(conf->n_fingerprints, TLS_FP_LEN);
		if (!ctx->fps)
			return -ENOMEM;
		memcpy(ctx->fps, conf->fingerprints, conf->n_fingerprints * TLS_FP_LEN);
		ctx->n_fps = conf->n_fingerprints;
	}
	return 0;
}

static void ctx_free(struct tls_ctx *ctx)
{
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx->x509_name);
	free(ctx->fps);
	free(ctx);
}

static int verify_mode(const struct tls_conf *conf)
{
	if (!conf->is_server)
		return SSL_VERIFY_PEER;
	switch (conf->client_cert) {
	case TLS_CLIENT_CERT_NONE:
		return SSL_VERIFY_NONE;
	case TLS_CLIENT_CERT_OPTIONAL:
		return SSL_VERIFY_PEER;
	default:
		return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
}

int tls_ctx_create(struct tls_ctx **out, const struct tls_conf *conf, char *err, size_t errlen)
{
	struct tls_ctx *ctx;
	unsigned int n_ca = 0;
	int ret;

	*out = NULL;
	ERR_clear_error();
	ret = conf_check(conf, err, errlen);
	if (ret)
		return ret;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		goto err_nomem;
	ctx->refs = 1;
	ctx->ssl_ctx = SSL_CTX_new(conf->is_server ? TLS_server_method() : TLS_client_method());
	if (!ctx->ssl_ctx || copy_verify(ctx, conf))
		goto err_free;
	ret = set_protocol(ctx->ssl_ctx, conf, err, errlen);
	if (!ret)
		ret = tls_pem_load(ctx->ssl_ctx, conf, &n_ca, err, errlen);
	if (ret)
		goto err_ret;
	if (!n_ca && !conf->n_fingerprints && (!conf->is_server ||
					       conf->client_cert != TLS_CLIENT_CERT_NONE)) {
		tls_err_set(err, errlen, "TLS: no ca to verify the peer with: give ca "
			    "(pkcs12 '%s' holds no CA certificate)",
			    conf->pkcs12.is_inline ? "[[INLINE]]" : conf->pkcs12.data);
		ret = -EINVAL;
		goto err_ret;
	}
	/* peer-fingerprint and no CA at all: the chain is not checked (verify_hash_no_ca). */
	ctx->no_ca = !n_ca;
	SSL_CTX_set_verify(ctx->ssl_ctx, verify_mode(conf), NULL);
	SSL_CTX_set_cert_verify_callback(ctx->ssl_ctx, tls_verify_cb, ctx);
	*out = ctx;
	return 0;
err_free:
	ctx_free(ctx);
err_nomem:
	ERR_clear_error();
	tls_err_set(err, errlen, "TLS: out of memory");
	return -ENOMEM;
err_ret:
	ctx_free(ctx);
	ERR_clear_error();
	return ret;
}

void tls_ctx_get(struct tls_ctx *ctx)
{
	ctx->refs++;
}

void tls_ctx_put(struct tls_ctx *ctx)
{
	if (ctx && !--ctx->refs)
		ctx_free(ctx);
}


/*
 * A fresh context from @conf checks and loads every file as at start-up;
 * its certificate store (CAs, CRLs, the CRL-check flags) then replaces
 * @ctx's. SSL sessions verify against their SSL_CTX's store when they
 * handshake, so sessions that exist keep working and the next handshake
 * uses the new files.
 */
int tls_ctx_reload_store(struct tls_ctx *ctx, const struct tls_conf *conf, char *err,
			 size_t errlen)
{
	struct tls_ctx *fresh;
	X509_STORE *store;
	int rc = tls_ctx_create(&fresh, conf, err, errlen);

	if (rc)
		return rc;
	store = SSL_CTX_get_cert_store(fresh->ssl_ctx);
	if (!store || X509_STORE_up_ref(store) != 1) {
		tls_ctx_put(fresh);
		tls_err_set(err, errlen, "TLS: cannot take the new certificate store");
		return -ENOMEM;
	}
	SSL_CTX_set_cert_store(ctx->ssl_ctx, store);	/* frees the old one */
	tls_ctx_put(fresh);
	return 0;
}
