/*
 * tls_pem.c - owns loading the files of the TLS options into an SSL_CTX: dh
 * parameters, a PKCS#12 bundle, our certificate and its chain, extra-certs, the
 * private key (checked against the certificate), the ca file and crl-verify. Each
 * file is a path or an inline block; a file's contents are wiped after use, because
 * it may hold a key.
 *
 * Threads: ctrl only, from tls_ctx_create (tls_ctx.c), once per context.
 *
 * As 2.6's ssl_openssl.c: tls_ctx_load_ca (certs + CRLs of the ca file; client CA
 * list on servers), tls_ctx_load_cert_file (leaf, then the rest of the file as
 * chain), backend_tls_ctx_reload_crl (CRL_CHECK | CRL_CHECK_ALL), and
 * tls_ctx_load_pkcs12: the bundle is DER in a file or base64 inline; it is parsed
 * with no passphrase first and, when its MAC says it has one, with the
 * passphrase tls_conf.passphrase supplies (askpass); its certificate and key are
 * ours, its other certificates trust anchors (client CA names on servers) when no
 * ca is given, else chain certificates. An encrypted PEM key asks the same
 * callback. A missing passphrase (-ENOKEY from the callback) and a wrong one get
 * their own messages, so the person knows which it was.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/proverr.h>
#include <openssl/ssl.h>

#include "tls_int.h"

/* A ca/cert/key/crl file larger than this is a mistake, not a PEM bundle. */
#define PEM_FILE_MAX		(4 * 1024 * 1024)

/* ---- loading PEM files ---------------------------------------------------- */

static const char *pem_name(const struct tls_pem *p)
{
	return p->is_inline ? "[[INLINE]]" : p->data;
}

/*
 * Reads a whole file so a missing file gets an errno message, not a BIO one;
 * NUL-terminated, its length (binary files may hold NULs) in *@out_len.
 */
static int file_read(const char *path, char **out, size_t *out_len)
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
	*out_len = n;
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
	size_t len;
	int ret;

	*hold = NULL;
	if (!p->is_inline) {
		ret = file_read(p->data, hold, &len);
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

/* What asking for a passphrase gave: for the error message after a failed load. */
struct pass_req {
	const struct tls_conf *conf;
	int rc;			/* the callback's result; 1: never asked */
};

/* OpenSSL's pem_password_cb over tls_conf.passphrase. */
static int pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct pass_req *r = u;

	(void)rwflag;
	r->rc = r->conf->passphrase ?
		r->conf->passphrase(r->conf->passphrase_arg, buf, (size_t)size) : -ENOKEY;
	if (r->rc) {
		ERR_raise_data(ERR_LIB_PEM, PEM_R_PROBLEMS_GETTING_PASSWORD, "no passphrase");
		return -1;
	}
	return (int)strlen(buf);
}

/* The message for an encrypted file we could not open; -ENOKEY. */
static int pass_fail(const struct pass_req *r, const char *what, const struct tls_pem *p,
		     char *err, size_t errlen)
{
	if (r->rc && r->rc != 1)
		tls_err_set(err, errlen, "TLS: %s '%s' is encrypted and no passphrase was given: "
			    "use askpass FILE, or start sluice on a terminal to be asked", what,
			    pem_name(p));
	else
		tls_err_set(err, errlen, "TLS: wrong passphrase for %s '%s'", what, pem_name(p));
	ERR_clear_error();
	return -ENOKEY;
}

static int load_key(SSL_CTX *sc, const struct tls_conf *conf, char *err, size_t errlen)
{
	const struct tls_pem *p = &conf->key;
	struct pass_req req = { .conf = conf, .rc = 1 };
	EVP_PKEY *pkey;
	char *hold;
	BIO *bio;
	int ret;

	ret = pem_bio(p, "key", &bio, &hold, err, errlen);
	if (ret)
		return ret;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &req);
	/*
	 * The key asked for a passphrase and did not load: none was given, or it was
	 * wrong. A wrong one mostly fails the decryption's padding check, but about
	 * once in 256 its garbage passes that check and fails to decode instead, with
	 * an ASN.1 error; that is the same wrong passphrase to the user.
	 */
	if (!pkey && req.rc != 1) {
		ret = pass_fail(&req, "private key", p, err, errlen);
	} else if (!pkey || SSL_CTX_use_PrivateKey(sc, pkey) != 1) {
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

static int add_ca_infos(SSL_CTX *sc, STACK_OF(X509_INFO) *infos, STACK_OF(X509_NAME) *names,
			unsigned int *n_ca)
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
	*n_ca += (unsigned int)added;
	return added ? 0 : -ENOENT;
}

static int load_ca(SSL_CTX *sc, const struct tls_pem *p, bool is_server, unsigned int *n_ca,
		   char *err, size_t errlen)
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
	ret = add_ca_infos(sc, infos, names, n_ca);
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

/* ---- PKCS#12 --------------------------------------------------------------- */

/* The DER bytes of a pkcs12 option: a file as it is, inline text base64-decoded. */
static int p12_bytes(const struct tls_pem *p, uint8_t **out, size_t *out_len, char *err,
		     size_t errlen)
{
	EVP_ENCODE_CTX *ec;
	size_t len;
	uint8_t *der;
	char *raw;
	int n = 0, m = 0, ret;

	if (!p->is_inline) {
		ret = file_read(p->data, &raw, &len);
		if (ret) {
			tls_err_set(err, errlen, "TLS: cannot read pkcs12 file '%s': %s", p->data,
				    strerror(-ret));
			return ret == -ENOENT ? -ENOENT : -EIO;
		}
		*out = (uint8_t *)raw;
		*out_len = len;
		return 0;
	}
	len = strlen(p->data);
	der = malloc(len / 4 * 3 + 3);
	ec = EVP_ENCODE_CTX_new();
	if (!der || !ec) {
		free(der);
		EVP_ENCODE_CTX_free(ec);
		tls_err_set(err, errlen, "TLS: out of memory");
		return -ENOMEM;
	}
	/* EVP_Decode* skips line ends and blanks, as the BIO stock reads it through does. */
	EVP_DecodeInit(ec);
	ret = len > INT_MAX || EVP_DecodeUpdate(ec, der, &n, (const uint8_t *)p->data,
						(int)len) < 0 ||
	      EVP_DecodeFinal(ec, der + n, &m) != 1 ? -EIO : 0;
	EVP_ENCODE_CTX_free(ec);
	if (ret || n + m == 0) {
		OPENSSL_cleanse(der, len / 4 * 3 + 3);
		free(der);
		tls_err_set(err, errlen, "TLS: inline pkcs12 is not base64");
		ERR_clear_error();
		return -EIO;
	}
	*out = der;
	*out_len = (size_t)(n + m);
	return 0;
}

/* PKCS12_parse without a passphrase, then with one when its MAC asks for it. */
static int p12_parse(PKCS12 *p12, const struct tls_conf *conf, EVP_PKEY **pkey, X509 **cert,
		     STACK_OF(X509) **ca, char *err, size_t errlen)
{
	static char pass[1024];	/* ctrl only; cleansed after use */
	struct pass_req req = { .conf = conf, .rc = 1 };
	bool mac_failed;

	if (PKCS12_parse(p12, "", pkey, cert, ca) == 1)
		return 0;
	mac_failed = ERR_GET_REASON(ERR_peek_last_error()) == PKCS12_R_MAC_VERIFY_FAILURE;
	ERR_clear_error();
	if (!mac_failed)
		goto fail;
	if (pass_cb(pass, sizeof(pass), 0, &req) < 0)
		return pass_fail(&req, "pkcs12", &conf->pkcs12, err, errlen);
	*ca = NULL;
	if (PKCS12_parse(p12, pass, pkey, cert, ca) == 1) {
		OPENSSL_cleanse(pass, sizeof(pass));
		return 0;
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	if (ERR_GET_REASON(ERR_peek_last_error()) == PKCS12_R_MAC_VERIFY_FAILURE)
		return pass_fail(&req, "pkcs12", &conf->pkcs12, err, errlen);
fail:
	tls_err_set(err, errlen, "TLS: cannot decode pkcs12 '%s' (unsupported or legacy "
		    "encryption?)", pem_name(&conf->pkcs12));
	tls_err_drain(err, errlen);
	return -EIO;
}

/* The bundle's other certificates: trust anchors without ca, else chain certificates. */
static int p12_add_cas(SSL_CTX *sc, STACK_OF(X509) *ca, bool as_trust, bool is_server,
		       unsigned int *n_ca)
{
	X509_STORE *store = SSL_CTX_get_cert_store(sc);

	while (sk_X509_num(ca) > 0) {
		X509 *x = sk_X509_shift(ca);

		if (as_trust) {
			if (X509_STORE_add_cert(store, x) != 1 ||
			    (is_server && SSL_CTX_add_client_CA(sc, x) != 1)) {
				X509_free(x);
				return -EIO;
			}
			X509_free(x);
			(*n_ca)++;
		} else if (SSL_CTX_add_extra_chain_cert(sc, x) != 1) {	/* takes x */
			X509_free(x);
			return -EIO;
		}
	}
	return 0;
}

static int load_pkcs12(SSL_CTX *sc, const struct tls_conf *conf, unsigned int *n_ca, char *err,
		       size_t errlen)
{
	const struct tls_pem *p = &conf->pkcs12;
	const uint8_t *cur;
	STACK_OF(X509) *ca = NULL;
	EVP_PKEY *pkey = NULL;
	PKCS12 *p12;
	X509 *cert = NULL;
	uint8_t *der;
	size_t len;
	int ret;

	ret = p12_bytes(p, &der, &len, err, errlen);
	if (ret)
		return ret;
	cur = der;
	p12 = len <= LONG_MAX ? d2i_PKCS12(NULL, &cur, (long)len) : NULL;
	OPENSSL_cleanse(der, len);
	free(der);
	if (!p12) {
		tls_err_set(err, errlen, "TLS: '%s' is not a PKCS#12 file", pem_name(p));
		ERR_clear_error();
		return -EIO;
	}
	ret = p12_parse(p12, conf, &pkey, &cert, &ca, err, errlen);
	PKCS12_free(p12);
	if (ret)
		return ret;
	if (!cert || !pkey) {
		tls_err_set(err, errlen, "TLS: pkcs12 '%s' holds no %s", pem_name(p),
			    cert ? "private key" : "certificate");
		ret = -EINVAL;
	} else if (SSL_CTX_use_certificate(sc, cert) != 1 || SSL_CTX_use_PrivateKey(sc, pkey) != 1) {
		ret = load_fail(p, "pkcs12", err, errlen);
	} else if (SSL_CTX_check_private_key(sc) != 1) {
		tls_err_set(err, errlen, "TLS: the key in pkcs12 '%s' does not match its "
			    "certificate", pem_name(p));
		ERR_clear_error();
		ret = -EINVAL;
	} else if (ca && p12_add_cas(sc, ca, !conf->ca.data, conf->is_server, n_ca)) {
		ret = load_fail(p, "pkcs12 CA certificates", err, errlen);
	}
	sk_X509_pop_free(ca, X509_free);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return ret;
}

int tls_pem_load(SSL_CTX *sc, const struct tls_conf *conf, unsigned int *n_ca, char *err,
		 size_t errlen)
{
	int ret = 0;

	*n_ca = 0;
	if (conf->is_server && conf->dh.data)
		ret = load_dh(sc, &conf->dh, err, errlen);
	if (!ret && conf->pkcs12.data)
		ret = load_pkcs12(sc, conf, n_ca, err, errlen);
	if (!ret && conf->cert.data)
		ret = load_cert(sc, &conf->cert, err, errlen);
	if (!ret && conf->extra_certs.data)
		ret = load_extra_certs(sc, &conf->extra_certs, err, errlen);
	if (!ret && conf->key.data)
		ret = load_key(sc, conf, err, errlen);
	if (!ret && conf->ca.data)
		ret = load_ca(sc, &conf->ca, conf->is_server, n_ca, err, errlen);
	if (!ret && conf->crl.data)
		ret = load_crl(sc, &conf->crl, err, errlen);
	return ret;
}

