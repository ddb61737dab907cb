/*
 * tls.c - owns the OpenSSL SSL_CTX/SSL objects of the control channel, their
 * memory BIOs and OpenVPN's peer-certificate checks (openvpn-wire.md §3).
 *
 * Threads: ctrl only (OpenSSL's error queue is per thread; every entry point
 * clears it first and drains it into the error string, so no stale error
 * leaks between sessions).
 *
 * Session life: tls_conn_create -> (input/handshake/output)* -> established
 * -> (write/read/export)* -> free. Any failure marks the session dead; the
 * caller still flushes the output, which may hold the alert.
 *
 * Context settings mirror 2.6's ssl_openssl.c: tls_ctx_set_options
 * (NO_TICKET, NO_COMPRESSION, NO_RENEGOTIATION, server cipher preference,
 * session cache off), tls_ctx_restrict_ciphers (default TLS 1.2 list),
 * tls_ctx_set_cert_profile (security levels), tls_ctx_load_ca (certs + CRLs
 * of the ca file; client CA list on servers), tls_ctx_load_cert_file (leaf,
 * then the rest of the file as chain), backend_tls_ctx_reload_crl
 * (CRL_CHECK | CRL_CHECK_ALL). We also set num_tickets 0: a 2.6 peer never
 * resumes, so TLS 1.3 tickets would only cost control packets.
 *
 * Verification runs in an SSL_CTX cert-verify callback, so it happens inside
 * the handshake (a bad peer gets an alert, as from OpenVPN) and builds one
 * clear message instead of OpenSSL's generic "certificate verify failed".
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* A ca/cert/key/crl file larger than this is a mistake, not a PEM bundle. */
#define PEM_FILE_MAX		(4 * 1024 * 1024)
/* MAX_CERT_DEPTH in ssl_verify.h: longer chains are "convoluted". */
#define CHAIN_DEPTH_MAX		16
#define TLS_CIPHER_DEFAULT \
	"DEFAULT:!EXP:!LOW:!MEDIUM:!kDH:!kECDH:!DSS:!PSK:!SRP:!kRSA"

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

/* ---- error strings ------------------------------------------------------ */

static __printf(3, 4) void str_append(char *buf, size_t len, const char *fmt, ...)
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
static void drain_errors(char *buf, size_t len)
{
	const char *data, *reason;
	unsigned long e;
	bool first = true;
	int flags;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags))) {
		reason = ERR_reason_error_string(e);
		if (reason)
			str_append(buf, len, "%s%s", first ? ": " : ", ", reason);
		else
			str_append(buf, len, "%serror %08lx", first ? ": " : ", ", e);
		if ((flags & ERR_TXT_STRING) && data && *data)
			str_append(buf, len, " (%s)", data);
		first = false;
	}
}

static __printf(3, 4) void set_err(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* ---- loading PEM files ---------------------------------------------------- */

static const char *pem_name(const struct tls_pem *p)
{
	return p->is_inline ? "[[INLINE]]" : p->data;
}

/* Reads a whole file so a missing file gets an errno message, not a BIO one. */
static int file_read(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	long size;
	int ret;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		ret = -errno;
		goto out;
	}
	ret = -EFBIG;
	if (size > PEM_FILE_MAX)
		goto out;
	ret = -ENOMEM;
	buf = malloc((size_t)size + 1);
	if (!buf)
		goto out;
	n = fread(buf, 1, (size_t)size, f);
	ret = -EIO;
	if (n != (size_t)size || ferror(f))
		goto out;
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	fclose(f);
	return ret;
}

/* A read-only BIO over the PEM text; *@hold keeps file contents alive. */
static int pem_bio(const struct tls_pem *p, const char *what, BIO **bio, char **hold,
		   char *err, size_t errlen)
{
	const char *text = p->data;
	int ret;

	*hold = NULL;
	if (!p->is_inline) {
		ret = file_read(p->data, hold);
		if (ret) {
			set_err(err, errlen, "TLS: cannot read %s file '%s': %s", what, p->data,
				strerror(-ret));
			return ret == -ENOENT ? -ENOENT : -EIO;
		}
		text = *hold;
	}
	*bio = BIO_new_mem_buf(text, -1);
	if (!*bio) {
		free(*hold);
		*hold = NULL;
		set_err(err, errlen, "TLS: out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void pem_close(BIO *bio, char *hold)
{
	BIO_free(bio);
	if (hold) {
		OPENSSL_cleanse(hold, strlen(hold));	/* may be a private key */
		free(hold);
	}
}

static int load_fail(const struct tls_pem *p, const char *what, char *err, size_t errlen)
{
	set_err(err, errlen, "TLS: cannot load %s '%s'", what, pem_name(p));
	drain_errors(err, errlen);
	return -EIO;
}

/* True (and the error popped) if the last PEM read just found no more blocks. */
static bool pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();

	if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		return false;
	ERR_clear_error();
	return true;
}

/* Adds every further certificate in @bio to the chain; @need_one: at least one. */
static int add_chain_certs(SSL_CTX *sc, BIO *bio, bool need_one)
{
	X509 *x;

	for (;;) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (!x)
			return pem_at_end() && !need_one ? 0 : -EIO;
		if (SSL_CTX_add_extra_chain_cert(sc, x) != 1) {
			X509_free(x);
			return -EIO;
		}
		need_one = false;
	}
}

static int load_cert(SSL_CTX *sc, const struct tls_pem *p, char *err, size_t errlen)
{
	char *hold;
	X509 *x = NULL;
	BIO *bio;
	int ret;

	ret = pem_bio(p, "cert", &bio, &hold, err, errlen);
	if (ret)
		return ret;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!x || SSL_CTX_use_certificate(sc, x) != 1 || add_chain_certs(sc, bio, false))
		ret = load_fail(p, "certificate", err, errlen);
	X509_free(x);
	pem_close(bio, hold);
	return ret;
}

static int load_extra_certs(SSL_CTX *sc, const struct tls_pem *p, char *err, size_t errlen)
{
	char *hold;
	BIO *bio;
	int ret;

	ret = pem_bio(p, "extra-certs", &bio, &hold, err, errlen);
	if (ret)
		return ret;
	if (add_chain_certs(sc, bio, true))
		ret = load_fail(p, "extra-certs", err, errlen);
	pem_close(bio, hold);
	return ret;
}

/* Encrypted keys would need a passphrase prompt: not supported, fail clearly. */
static int no_password_cb(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	ERR_raise_data(ERR_LIB_PEM, PEM_R_PROBLEMS_GETTING_PASSWORD,
		       "encrypted private keys are not supported");
	return -1;
}

static int load_key(SSL_CTX *sc, const struct tls_pem *p, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	char *hold;
	BIO *bio;
	int ret;

	ret = pem_bio(p, "key", &bio, &hold, err, errlen);
	if (ret)
		return ret;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password_cb, NULL);
	if (!pkey || SSL_CTX_use_PrivateKey(sc, pkey) != 1) {
		ret = load_fail(p, "private key", err, errlen);
	} else if (SSL_CTX_check_private_key(sc) != 1) {
		set_err(err, errlen, "TLS: private key '%s' does not match the certificate",
			pem_name(p));
		ERR_clear_error();
		ret = -EINVAL;
	}
	EVP_PKEY_free(pkey);
	pem_close(bio, hold);
	return ret;
}

static int load_dh(SSL_CTX *sc, const struct tls_pem *p, char *err, size_t errlen)
{
	EVP_PKEY *dh;
	char *hold;
	BIO *bio;
	int ret;

	ret = pem_bio(p, "dh", &bio, &hold, err, errlen);
	if (ret)
		return ret;
	dh = PEM_read_bio_Parameters(bio, NULL);
	if (!dh || SSL_CTX_set0_tmp_dh_pkey(sc, dh) != 1) {
		EVP_PKEY_free(dh);
		ret = load_fail(p, "dh parameters", err, errlen);
	}
	pem_close(bio, hold);
	return ret;
}

static int x509_name_cmp(const X509_NAME *const *a, const X509_NAME *const *b)
{
	return X509_NAME_cmp(*a, *b);
}

/* Server: the CA names go to the client in CertificateRequest. */
static int add_ca_name(STACK_OF(X509_NAME) *names, X509 *x)
{
	X509_NAME *xn = X509_get_subject_name(x);

	if (!xn)
		return -EIO;
	if (sk_X509_NAME_find(names, xn) >= 0)
		return 0;
	xn = X509_NAME_dup(xn);
	if (!xn || !sk_X509_NAME_push(names, xn)) {
		X509_NAME_free(xn);
		return -ENOMEM;
	}
	return 0;
}

static int add_ca_infos(SSL_CTX *sc, STACK_OF(X509_INFO) *infos, STACK_OF(X509_NAME) *names)
{
	X509_STORE *store = SSL_CTX_get_cert_store(sc);
	int i, added = 0;

	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *info = sk_X509_INFO_value(infos, i);

		if (info->crl && X509_STORE_add_crl(store, info->crl) != 1)
			return -EIO;
		if (!info->x509)
			continue;
		if (X509_STORE_add_cert(store, info->x509) != 1)
			return -EIO;
		if (names && add_ca_name(names, info->x509))
			return -EIO;
		added++;
	}
	return added ? 0 : -ENOENT;
}

static int load_ca(SSL_CTX *sc, const struct tls_pem *p, bool is_server, char *err,
		   size_t errlen)
{
	STACK_OF(X509_NAME) *names = NULL;
	STACK_OF(X509_INFO) *infos;
	char *hold;
	BIO *bio;
	int ret;

	ret = pem_bio(p, "ca", &bio, &hold, err, errlen);
	if (ret)
		return ret;
	infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
	if (is_server)
		names = sk_X509_NAME_new(x509_name_cmp);
	if (!infos || (is_server && !names)) {
		ret = load_fail(p, "ca", err, errlen);
		goto out;
	}
	ret = add_ca_infos(sc, infos, names);
	if (ret == -ENOENT) {
		set_err(err, errlen, "TLS: no certificate in ca '%s'", pem_name(p));
		ret = -EINVAL;
	} else if (ret) {
		ret = load_fail(p, "ca", err, errlen);
	} else if (is_server) {
		SSL_CTX_set_client_CA_list(sc, names);	/* takes ownership */
		names = NULL;
	}
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	pem_close(bio, hold);
	return ret;
}

static int load_crl(SSL_CTX *sc, const struct tls_pem *p, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(sc);
	X509_CRL *crl;
	int ret, n = 0;
	char *hold;
	BIO *bio;

	ret = pem_bio(p, "crl-verify", &bio, &hold, err, errlen);
	if (ret)
		return ret;
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL))) {
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			break;
		}
		X509_CRL_free(crl);
		n++;
	}
	if (!n || !pem_at_end())
		ret = load_fail(p, "crl-verify", err, errlen);
	else
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	pem_close(bio, hold);
	return ret;
}

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
		set_err(c->err, sizeof(c->err), "TLS: cannot hash the peer certificate");
		return false;
	}
	for (i = 0; i < c->ctx->n_fps; i++)
		if (!CRYPTO_memcmp(fp, c->ctx->fps[i], TLS_FP_LEN))
			return true;
	fp_hex(fp, hex);
	set_err(c->err, sizeof(c->err),
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
		set_err(c->err, sizeof(c->err),
			"TLS: peer certificate has no keyUsage extension (remote-cert-tls %s)", opt);
		return false;
	}
	ASN1_BIT_STRING_free(ku);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
	for (i = 0; eku && !found && i < sk_ASN1_OBJECT_num(eku); i++)
		found = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == want;
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	if (!found)
		set_err(c->err, sizeof(c->err),
			"TLS: peer certificate has no %sAuth EKU (remote-cert-tls %s)", opt, opt);
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
		set_err(c->err, sizeof(c->err),
			"TLS: peer certificate does not match verify-x509-name '%s' %s (subject %s)",
			ctx->x509_name, types[ctx->x509_type], c->subject);
	return ok;
}

/* verify_cert + verify_peer_cert at depth 0, in OpenVPN's order. */
static bool check_leaf(struct tls_conn *c, X509 *x)
{
	free(c->subject);
	c->subject = x509_subject(x);
	if (!c->subject) {
		set_err(c->err, sizeof(c->err), "TLS: cannot read the peer certificate subject");
		return false;
	}
	if (!x509_cn(x, c->cn)) {
		set_err(c->err, sizeof(c->err),
			"TLS: peer certificate has no common name of at most %d bytes (subject %s)",
			TLS_CN_MAX, c->subject);
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

	set_err(c->err, sizeof(c->err), "TLS: %s certificate verification failed: %s (depth %d, %s)",
		peer_role(c->ctx), X509_verify_cert_error_string(e),
		X509_STORE_CTX_get_error_depth(xs), subj ? subj : "no subject");
	free(subj);
}

static int cert_verify_cb(X509_STORE_CTX *xs, void *arg)
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
			set_err(c->err, sizeof(c->err),
				"TLS: %s certificate chain is longer than %d", peer_role(c->ctx),
				CHAIN_DEPTH_MAX);
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

	if (vmin < 0 || vmax < 0 || (vmax && vmin > vmax)) {
		set_err(err, errlen, "TLS: tls-version-min is above tls-version-max");
		return -EINVAL;
	}
	if ((unsigned int)conf->remote_cert_tls > TLS_CERT_TLS_CLIENT ||
	    (unsigned int)conf->verify_x509_type > TLS_X509_NAME_PREFIX ||
	    (unsigned int)conf->client_cert > TLS_CLIENT_CERT_NONE ||
	    (conf->n_fingerprints && !conf->fingerprints)) {
		set_err(err, errlen, "TLS: invalid verification option");
		return -EINVAL;
	}
	if (!conf->cert.data != !conf->key.data || (conf->is_server && !conf->cert.data)) {
		set_err(err, errlen, "TLS: %s", conf->is_server ? "a server needs cert and key" :
			"cert and key must be given together");
		return -EINVAL;
	}
	if (needs_ca && !conf->ca.data && !conf->n_fingerprints) {
		set_err(err, errlen, "TLS: no ca or peer-fingerprint to verify the peer with");
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
		set_err(err, errlen, "TLS: unknown tls-cert-profile '%s'", profile);
		return -EINVAL;
	}
	return 0;
fail:
	set_err(err, errlen, "TLS: cannot apply tls-cert-profile '%s'", profile);
	drain_errors(err, errlen);
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
		set_err(err, errlen, "TLS: cannot set the TLS version range");
		goto fail;
	}
	if (SSL_CTX_set_cipher_list(sc, list) != 1) {
		set_err(err, errlen, "TLS: bad tls-cipher '%s'", list);
		goto fail;
	}
	if (conf->ciphersuites && SSL_CTX_set_ciphersuites(sc, conf->ciphersuites) != 1) {
		set_err(err, errlen, "TLS: bad tls-ciphersuites '%s'", conf->ciphersuites);
		goto fail;
	}
	if (set_profile(sc, conf->cert_profile, err, errlen))
		return -EINVAL;
	if (conf->groups && SSL_CTX_set1_groups_list(sc, conf->groups) != 1) {
		set_err(err, errlen, "TLS: bad tls-groups '%s'", conf->groups);
		goto fail;
	}
	return 0;
fail:
	drain_errors(err, errlen);
	return -EINVAL;
}

static int load_files(SSL_CTX *sc, const struct tls_conf *conf, char *err, size_t errlen)
{
	int ret = 0;

	if (conf->is_server && conf->dh.data)
		ret = load_dh(sc, &conf->dh, err, errlen);
	if (!ret && conf->cert.data)
		ret = load_cert(sc, &conf->cert, err, errlen);
	if (!ret && conf->extra_certs.data)
		ret = load_extra_certs(sc, &conf->extra_certs, err, errlen);
	if (!ret && conf->key.data)
		ret = load_key(sc, &conf->key, err, errlen);
	if (!ret && conf->ca.data)
		ret = load_ca(sc, &conf->ca, conf->is_server, err, errlen);
	if (!ret && conf->crl.data)
		ret = load_crl(sc, &conf->crl, err, errlen);
	return ret;
}

static int copy_verify(struct tls_ctx *ctx, const struct tls_conf *conf)
{
	ctx->is_server = conf->is_server;
	ctx->no_ca = !conf->ca.data;
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
		ret = load_files(ctx->ssl_ctx, conf, err, errlen);
	if (ret)
		goto err_ret;
	SSL_CTX_set_verify(ctx->ssl_ctx, verify_mode(conf), NULL);
	SSL_CTX_set_cert_verify_callback(ctx->ssl_ctx, cert_verify_cb, ctx);
	*out = ctx;
	return 0;
err_free:
	ctx_free(ctx);
err_nomem:
	ERR_clear_error();
	set_err(err, errlen, "TLS: out of memory");
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
		set_err(c->err, sizeof(c->err), "TLS: %s: peer closed the session", what);
		ERR_clear_error();
		return -ECONNRESET;
	}
	set_err(c->err, sizeof(c->err), "TLS: %s failed", what);
	if (ERR_peek_error())
		drain_errors(c->err, sizeof(c->err));
	else
		str_append(c->err, sizeof(c->err), " (SSL error %d)", e);
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
		set_err(c->err, sizeof(c->err), "TLS: keying material export failed");
		drain_errors(c->err, sizeof(c->err));
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
	str_append(buf, len, ", %s: %d bits %s%s", what, EVP_PKEY_get_bits(pkey),
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
	str_append(buf, len, "%s, cipher %s %s", SSL_get_version(c->ssl),
		   ciph ? SSL_CIPHER_get_version(ciph) : "", ciph ? SSL_CIPHER_get_name(ciph) : "");
	peer = SSL_get1_peer_certificate(c->ssl);
	if (peer) {
		EVP_PKEY *pk = X509_get0_pubkey(peer);

		if (pk)
			describe_key(pk, "peer certificate", buf, len);
		nid = X509_get_signature_nid(peer);
		if (nid != NID_undef)
			str_append(buf, len, ", signature: %s", OBJ_nid2sn(nid));
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
