/*
 * tls_pem.c - owns loading the PEM files of the TLS options into an SSL_CTX:
 * dh parameters, our certificate and its chain, extra-certs, the private key (checked
 * against the certificate), the ca file and crl-verify. Each file is a path or an
 * inline block; a file's contents are wiped after use, because it may hold a key.
 *
 * Threads: ctrl only, from tls_ctx_create (tls_ctx.c), once per context.
 *
 * As 2.6's ssl_openssl.c: tls_ctx_load_ca (certs + CRLs of the ca file; client CA
 * list on servers), tls_ctx_load_cert_file (leaf, then the rest of the file as
 * chain), backend_tls_ctx_reload_crl (CRL_CHECK | CRL_CHECK_ALL). Encrypted keys
 * are refused with a clear message, since nothing here can ask for a passphrase.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tls_int.h"

/* A ca/cert/key/crl file larger than this is a mistake, not a PEM bundle. */
#define PEM_FILE_MAX		(4 * 1024 * 1024)

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
			tls_err_set(err, errlen, "TLS: cannot read %s file '%s': %s", what, p->data,
				    strerror(-ret));
			return ret == -ENOENT ? -ENOENT : -EIO;
		}
		text = *hold;
	}
	*bio = BIO_new_mem_buf(text, -1);
	if (!*bio) {
		free(*hold);
		*hold = NULL;
		tls_err_set(err, errlen, "TLS: out of memory");
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
	tls_err_set(err, errlen, "TLS: cannot load %s '%s'", what, pem_name(p));
	tls_err_drain(err, errlen);
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
		tls_err_set(err, errlen, "TLS: private key '%s' does not match the certificate",
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
		tls_err_set(err, errlen, "TLS: no certificate in ca '%s'", pem_name(p));
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

int tls_pem_load(SSL_CTX *sc, const struct tls_conf *conf, char *err, size_t errlen)
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

