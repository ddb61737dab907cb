/*
 * tls_conn.c - owns struct tls_conn: one TLS session of the control channel
 * (one key_id of one peer) over memory BIOs, with no socket and no clock
 * (openvpn-wire.md §3), and what it reports after the handshake (version,
 * cipher, key sizes, keying-material export).
 *
 * Threads: ctrl only (OpenSSL's error queue is per thread; every entry point
 * clears it first and drains it into the error string, so no stale error
 * leaks between sessions).
 *
 * Session life: tls_conn_create -> (input/handshake/output)* -> established
 * -> (write/read/export)* -> free. Any failure marks the session dead; the
 * caller still flushes the output, which may hold the alert.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls_int.h"

/* ---- session ------------------------------------------------------------------ */

int tls_conn_create(struct tls_conn **out, struct tls_ctx *ctx)
{
	struct tls_conn *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ssl = SSL_new(ctx->ssl_ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio)
		goto err;
	/* An empty read BIO means "more later", not EOF. */
	BIO_set_mem_eof_return(c->rbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);	/* the SSL owns both now */
	SSL_set_app_data(c->ssl, c);
	if (ctx->is_server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	tls_ctx_get(ctx);
	c->ctx = ctx;
	*out = c;
	return 0;
err:
	/* Not attached to the SSL yet: free them ourselves. */
	BIO_free(c->rbio);
	BIO_free(c->wbio);
	SSL_free(c->ssl);
	free(c);
	ERR_clear_error();
	return -ENOMEM;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	free(c->subject);
	tls_ctx_put(c->ctx);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

int tls_conn_input(struct tls_conn *c, const uint8_t *data, size_t len)
{
	if (!len)
		return 0;
	if (len > TLS_INPUT_MAX || BIO_ctrl_pending(c->rbio) > TLS_INPUT_MAX - len)
		return -ENOBUFS;
	if (BIO_write(c->rbio, data, (int)len) != (int)len) {
		ERR_clear_error();
		return -ENOMEM;
	}
	return 0;
}

size_t tls_conn_pending(const struct tls_conn *c)
{
	return BIO_ctrl_pending(c->wbio);
}

size_t tls_conn_output(struct tls_conn *c, uint8_t *buf, size_t cap)
{
	int n;

	if (!cap)
		return 0;
	n = BIO_read(c->wbio, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	return n > 0 ? (size_t)n : 0;
}

/* Marks @c dead after an SSL call returned @r; keeps a verify message. */
static int conn_fail(struct tls_conn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);

	c->is_dead = true;
	if (c->has_verify_err) {
		ERR_clear_error();
		return -EPROTO;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		tls_err_set(c->err, sizeof(c->err), "TLS: %s: peer closed the session", what);
		ERR_clear_error();
		return -ECONNRESET;
	}
	tls_err_set(c->err, sizeof(c->err), "TLS: %s failed", what);
	if (ERR_peek_error())
		tls_err_drain(c->err, sizeof(c->err));
	else
		tls_str_append(c->err, sizeof(c->err), " (SSL error %d)", e);
	return -EPROTO;
}

static bool want_more(struct tls_conn *c, int r)
{
	int e = SSL_get_error(c->ssl, r);

	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return false;
	ERR_clear_error();
	return true;
}

int tls_conn_handshake(struct tls_conn *c)
{
	int r;

	if (c->is_dead)
		return -EPROTO;
	if (c->is_established)
		return TLS_HS_DONE;
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->is_established = true;
		return TLS_HS_DONE;
	}
	if (want_more(c, r))
		return TLS_HS_AGAIN;
	r = conn_fail(c, r, "handshake");
	return r == -ECONNRESET ? -EPROTO : r;
}

bool tls_conn_is_established(const struct tls_conn *c)
{
	return c->is_established && !c->is_dead;
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
	int r;

	if (c->is_dead)
		return -EPROTO;
	if (!c->is_established)
		return -ENOTCONN;
	if (!len)
		return -EINVAL;
	if (len > TLS_RECORD_MAX)
		return -EMSGSIZE;
	ERR_clear_error();
	r = SSL_write(c->ssl, data, (int)len);
	if (r == (int)len)
		return 0;
	r = conn_fail(c, r, "write");
	return r == -ECONNRESET ? -EPROTO : r;
}

ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t cap)
{
	int r;

	if (c->is_dead)
		return -EPROTO;
	if (!c->is_established)
		return -ENOTCONN;
	if (!cap)
		return 0;
	ERR_clear_error();
	r = SSL_read(c->ssl, buf, cap > INT_MAX ? INT_MAX : (int)cap);
	if (r > 0)
		return r;
	if (want_more(c, r))
		return 0;
	return conn_fail(c, r, "read");
}

int tls_conn_export(struct tls_conn *c, const char *label, size_t len, uint8_t *out)
{
	if (c->is_dead || !c->is_established)
		return -ENOTCONN;
	ERR_clear_error();
	if (SSL_export_keying_material(c->ssl, out, len, label, strlen(label), NULL, 0, 0) != 1) {
		OPENSSL_cleanse(out, len);
		tls_err_set(c->err, sizeof(c->err), "TLS: keying material export failed");
		tls_err_drain(c->err, sizeof(c->err));
		return -EIO;
	}
	return 0;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->err;
}

const char *tls_conn_version(const struct tls_conn *c)
{
	return c->is_established ? SSL_get_version(c->ssl) : "";
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
	const char *name = c->is_established ? SSL_get_cipher_name(c->ssl) : NULL;

	return name ? name : "";
}

/* print_pkey_details: "2048 bits RSA" / "256 bits ECprime256v1". */
static void describe_key(EVP_PKEY *pkey, const char *what, char *buf, size_t len)
{
	char group[64] = "";
	const char *type;
	size_t n;

	if (EVP_PKEY_is_a(pkey, "EC") &&
	    !EVP_PKEY_get_group_name(pkey, group, sizeof(group), &n))
		group[0] = '\0';
	type = EVP_PKEY_get0_type_name(pkey);
	tls_str_append(buf, len, ", %s: %d bits %s%s", what, EVP_PKEY_get_bits(pkey),
		       type ? type : "(unknown type)", group);
}

void tls_conn_describe(const struct tls_conn *c, char *buf, size_t len)
{
	const SSL_CIPHER *ciph;
	EVP_PKEY *pkey = NULL;
	X509 *peer;
	int nid;

	if (!len)
		return;
	buf[0] = '\0';
	if (!c->is_established)
		return;
	ciph = SSL_get_current_cipher(c->ssl);
	tls_str_append(buf, len, "%s, cipher %s %s", SSL_get_version(c->ssl),
		       ciph ? SSL_CIPHER_get_version(ciph) : "",
		       ciph ? SSL_CIPHER_get_name(ciph) : "");
	peer = SSL_get1_peer_certificate(c->ssl);
	if (peer) {
		EVP_PKEY *pk = X509_get0_pubkey(peer);

		if (pk)
			describe_key(pk, "peer certificate", buf, len);
		nid = X509_get_signature_nid(peer);
		if (nid != NID_undef)
			tls_str_append(buf, len, ", signature: %s", OBJ_nid2sn(nid));
		X509_free(peer);
	}
	if (SSL_get_peer_tmp_key(c->ssl, &pkey) == 1 && pkey) {
		describe_key(pkey, "peer temporary key", buf, len);
		EVP_PKEY_free(pkey);
	}
	ERR_clear_error();
}

const char *tls_conn_peer_cn(const struct tls_conn *c)
{
	return c->has_peer ? c->cn : NULL;
}

const char *tls_conn_peer_subject(const struct tls_conn *c)
{
	return c->has_peer ? c->subject : NULL;
}

int tls_conn_verify_again(struct tls_conn *c)
{
	X509_STORE *store = SSL_CTX_get_cert_store(c->ctx->ssl_ctx);
	X509 *leaf = SSL_get0_peer_certificate(c->ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
	X509_STORE_CTX *xs;
	int ok;

	if (!leaf || c->ctx->no_ca || !store)
		return 0;
	xs = X509_STORE_CTX_new();
	if (!xs || X509_STORE_CTX_init(xs, store, leaf, chain) != 1) {
		X509_STORE_CTX_free(xs);
		ERR_clear_error();
		return 0;	/* cannot tell: the next handshake checks anyway */
	}
	ok = X509_verify_cert(xs) == 1;
	if (!ok)
		tls_err_set(c->err, sizeof(c->err), "TLS: client certificate no longer valid: %s",
			    X509_verify_cert_error_string(X509_STORE_CTX_get_error(xs)));
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return ok ? 0 : -EKEYREVOKED;
}
