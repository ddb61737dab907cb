/*
 * tls_verify.c - owns OpenVPN's peer-certificate checks (ssl_verify.c,
 * ssl_verify_openssl.c): the chain to --ca (+ CRLs; a missing CRL is not an error),
 * then on the peer's own certificate the common name, --peer-fingerprint,
 * --remote-cert-tls and --verify-x509-name, and the peer's CN and subject that
 * tls_conn_peer_cn / tls_conn_peer_subject report.
 *
 * Threads: ctrl only, inside SSL_do_handshake of a tls_conn (tls_conn.c).
 *
 * Verification runs in an SSL_CTX cert-verify callback, so it happens inside
 * the handshake (a bad peer gets an alert, as from OpenVPN) and builds one
 * clear message instead of OpenSSL's generic "certificate verify failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_int.h"

/* MAX_CERT_DEPTH in ssl_verify.h: longer chains are "convoluted". */
#define CHAIN_DEPTH_MAX		16

/* ---- peer verification ----------------------------------------------------- */

static const char *peer_role(const struct tls_ctx *ctx)
{
	return ctx->is_server ? "client" : "server";
}

/* string_mod_remap_name: control characters become '_'. */
static void remap_name(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '_';
}

/* x509_get_subject: "C=DE, O=Example, CN=name", malloc'd, or NULL. */
static char *x509_subject(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s = NULL, *p;
	BUF_MEM *mem;

	if (!bio)
		return NULL;
	X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
			   XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT |
			   ASN1_STRFLGS_ESC_CTRL);
	BIO_get_mem_ptr(bio, &mem);
	if (mem && mem->length) {
		s = strndup(mem->data, mem->length);
		if (s) {
			remap_name(s);
			for (p = s; *p == '-'; p++)	/* string_replace_leading */
				*p = '_';
		}
	}
	BIO_free(bio);
	return s;
}

/*
 * extract_x509_field_ssl for "CN": the last CN entry as UTF-8. Stricter than
 * OpenVPN, a CN with an embedded NUL is refused instead of cut at the NUL.
 */
static bool x509_cn(X509 *x, char out[TLS_CN_MAX + 1])
{
	X509_NAME *xn = X509_get_subject_name(x);
	int i = -1, last = -1, n;
	unsigned char *utf8 = NULL;
	bool ok = false;

	while ((i = X509_NAME_get_index_by_NID(xn, NID_commonName, i)) >= 0)
		last = i;
	if (last < 0)
		return false;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(xn, last)));
	if (n >= 0 && n <= TLS_CN_MAX && memchr(utf8, '\0', (size_t)n) == NULL) {
		memcpy(out, utf8, (size_t)n);
		out[n] = '\0';
		remap_name(out);
		ok = true;
	}
	OPENSSL_free(utf8);
	return ok;
}

static void fp_hex(const uint8_t *fp, char *out)
{
	int i;

	for (i = 0; i < TLS_FP_LEN; i++)
		sprintf(out + 3 * i, "%02X%s", fp[i], i + 1 < TLS_FP_LEN ? ":" : "");
}

static bool check_fingerprint(struct tls_conn *c, X509 *x)
{
	char hex[3 * TLS_FP_LEN + 1];
	uint8_t fp[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	size_t i;

	if (!X509_digest(x, EVP_sha256(), fp, &len) || len != TLS_FP_LEN) {
		tls_err_set(c->err, sizeof(c->err), "TLS: cannot hash the peer certificate");
		return false;
	}
	for (i = 0; i < c->ctx->n_fps; i++)
		if (!CRYPTO_memcmp(fp, c->ctx->fps[i], TLS_FP_LEN))
			return true;
	fp_hex(fp, hex);
	tls_err_set(c->err, sizeof(c->err),
		    "TLS: peer certificate fingerprint %s is not in peer-fingerprint", hex);
	return false;
}

/* x509_verify_cert_ku (OPENVPN_KU_REQUIRED) + x509_verify_cert_eku. */
static bool check_cert_tls(struct tls_conn *c, X509 *x)
{
	bool want_server = c->ctx->remote_cert_tls == TLS_CERT_TLS_SERVER;
	const char *opt = want_server ? "server" : "client";
	int want = want_server ? NID_server_auth : NID_client_auth;
	EXTENDED_KEY_USAGE *eku;
	ASN1_BIT_STRING *ku;
	bool found = false;
	int i;

	ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL);
	if (!ku) {
		tls_err_set(c->err, sizeof(c->err),
			    "TLS: peer certificate has no keyUsage extension (remote-cert-tls %s)",
			    opt);
		return false;
	}
	ASN1_BIT_STRING_free(ku);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (i = 0; eku && !found && i < sk_ASN1_OBJECT_num(eku); i++)
		found = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == want;
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	if (!found)
		tls_err_set(c->err, sizeof(c->err),
			    "TLS: peer certificate has no %sAuth EKU (remote-cert-tls %s)",
			    opt, opt);
	return found;
}

static bool check_x509_name(struct tls_conn *c)
{
	const struct tls_ctx *ctx = c->ctx;
	static const char *const types[] = { "subject", "name", "name-prefix" };
	bool ok;

	switch (ctx->x509_type) {
	case TLS_X509_SUBJECT:
		ok = !strcmp(ctx->x509_name, c->subject);
		break;
	case TLS_X509_NAME:
		ok = !strcmp(ctx->x509_name, c->cn);
		break;
	default:
		ok = !strncmp(ctx->x509_name, c->cn, strlen(ctx->x509_name));
		break;
	}
	if (!ok)
		tls_err_set(c->err, sizeof(c->err),
			    "TLS: peer certificate does not match verify-x509-name '%s' %s "
			    "(subject %s)", ctx->x509_name, types[ctx->x509_type], c->subject);
	return ok;
}

/* verify_cert + verify_peer_cert at depth 0, in OpenVPN's order. */
static bool check_leaf(struct tls_conn *c, X509 *x)
{
	free(c->subject);
	c->subject = x509_subject(x);
	if (!c->subject) {
		tls_err_set(c->err, sizeof(c->err),
			    "TLS: cannot read the peer certificate subject");
		return false;
	}
	if (!x509_cn(x, c->cn)) {
		tls_err_set(c->err, sizeof(c->err),
			    "TLS: peer certificate has no common name of at most %d bytes "
			    "(subject %s)", TLS_CN_MAX, c->subject);
		return false;
	}
	if (c->ctx->n_fps && !check_fingerprint(c, x))
		return false;
	if (c->ctx->remote_cert_tls != TLS_CERT_TLS_NONE && !check_cert_tls(c, x))
		return false;
	if (c->ctx->x509_name && !check_x509_name(c))
		return false;
	c->has_peer = true;
	return true;
}

/* verify_callback: a missing CRL is logged by OpenVPN, not fatal. */
static int chain_cb(int ok, X509_STORE_CTX *xs)
{
	if (!ok && X509_STORE_CTX_get_error(xs) == X509_V_ERR_UNABLE_TO_GET_CRL)
		return 1;
	return ok;
}

static void chain_error(struct tls_conn *c, X509_STORE_CTX *xs)
{
	int e = X509_STORE_CTX_get_error(xs);
	X509 *bad = X509_STORE_CTX_get_current_cert(xs);
	char *subj = bad ? x509_subject(bad) : NULL;

	tls_err_set(c->err, sizeof(c->err),
		    "TLS: %s certificate verification failed: %s (depth %d, %s)",
		    peer_role(c->ctx), X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(xs), subj ? subj : "no subject");
	free(subj);
}

int tls_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);

	(void)arg;
	if (!c || !leaf)
		return 0;
	c->has_verify_err = true;	/* cleared again on success */
	if (!c->ctx->no_ca) {
		X509_STORE_CTX_set_verify_cb(xs, chain_cb);
		if (X509_verify_cert(xs) != 1) {
			chain_error(c, xs);
			return 0;
		}
		if (sk_X509_num(X509_STORE_CTX_get0_chain(xs)) > CHAIN_DEPTH_MAX) {
			tls_err_set(c->err, sizeof(c->err),
				    "TLS: %s certificate chain is longer than %d",
				    peer_role(c->ctx), CHAIN_DEPTH_MAX);
			X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_CHAIN_TOO_LONG);
			return 0;
		}
	}
	if (!check_leaf(c, leaf)) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	c->has_verify_err = false;
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

