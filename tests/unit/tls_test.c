/*
 * tls_test.c - ctrl/proto/tls.h: our TLS client against our TLS server in memory.
 *
 * A throwaway PKI is made with the openssl CLI in a private temp dir (skip,
 * exit 77, if the CLI is missing): CA1 (EC P-256) signing a server (RSA-2048,
 * KU + EKU serverAuth, CN ovw-server), a client (EC, EKU clientAuth, CN
 * client1), a server without EKU, one without KU, a revoked server (+ CRL),
 * an expired server, an intermediate CA with a server under it; CA2
 * (unrelated) signing another client. Each case builds both contexts, pumps
 * bytes between the two sessions in 1250-byte chunks (tls-mtu) until neither
 * makes progress, and checks the outcome and the error strings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../crypto/kdf.h"
#include "../../ctrl/proto/tls.h"
#include "harness.h"
#include "pki.h"

static unsigned int case_no;

/* ---- PKI ---------------------------------------------------------------------- */

static const char pki_script[] =
	PKI_SCRIPT_HEAD
	"ca ca '/C=DE/O=Sluice Test/CN=Sluice Test CA'\n"
	"ca ca2 '/C=DE/O=Other/CN=Other CA'\n"
	"leaf server '/C=DE/O=Sluice Test/CN=ovw-server' v3_server ca 2 rsa\n"
	"leaf client '/C=DE/O=Sluice Test/CN=client1' v3_client ca 3\n"
	"leaf noeku '/C=DE/O=Sluice Test/CN=ovw-server' v3_noeku ca 4\n"
	"leaf noku '/C=DE/O=Sluice Test/CN=ovw-server' v3_noku ca 5\n"
	"leaf revoked '/C=DE/O=Sluice Test/CN=ovw-server' v3_server ca 6\n"
	"leaf client2 '/C=DE/O=Other/CN=client2' v3_client ca2 7\n"
	"leaf int '/C=DE/O=Sluice Test/CN=Intermediate' v3_ca ca 8\n"
	"leaf srvint '/C=DE/O=Sluice Test/CN=ovw-server' v3_server int 9\n"
	"leaf nocn '/C=DE/O=Sluice Test' v3_server ca 10\n"
	"cat srvint.crt int.crt > srvchain.crt\n"
	": > index.txt\n"
	"echo 20 > serial\n"
	"ec expired\n"
	"openssl req -new -key expired.key -out expired.csr -subj '/CN=ovw-server' -config pki.cnf\n"
	"openssl ca -batch -config pki.cnf -in expired.csr -out expired.crt -notext "
	"-startdate 20200101000000Z -enddate 20210101000000Z -extfile pki.cnf "
	"-extensions v3_server 2>/dev/null\n"
	"openssl ca -config pki.cnf -revoke revoked.crt 2>/dev/null\n"
	"openssl ca -config pki.cnf -gencrl -out crl.pem 2>/dev/null\n"
	"openssl pkey -in client.key -aes256 -passout pass:secret -out enc.key\n"
	"printf 'not a pem file\\n' > garbage.pem\n";

static void fingerprint(const char *name, uint8_t fp[TLS_FP_LEN])
{
	FILE *f = fopen(pki_path(name), "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned int len = 0;

	if (!x || !X509_digest(x, EVP_sha256(), fp, &len) || len != TLS_FP_LEN)
		CHECK(0, "cannot fingerprint %s", name);
	X509_free(x);
	if (f)
		fclose(f);
}

/* ---- configurations ---------------------------------------------------------- */

/* Points a file option at <dir>/<name> (no struct temporaries: small frames at -O0). */
static void pem_file(struct tls_pem *p, const char *name)
{
	p->data = pki_path(name);
	p->is_inline = false;
}

#define PEM(field, name)	pem_file(&(field), (name))

static void client_conf(struct tls_conf *c)
{
	memset(c, 0, sizeof(*c));
	PEM(c->ca, "ca.crt");
	PEM(c->cert, "client.crt");
	PEM(c->key, "client.key");
	c->remote_cert_tls = TLS_CERT_TLS_SERVER;
}

static void server_conf(struct tls_conf *s)
{
	memset(s, 0, sizeof(*s));
	s->is_server = true;
	PEM(s->ca, "ca.crt");
	PEM(s->cert, "server.crt");
	PEM(s->key, "server.key");
	s->remote_cert_tls = TLS_CERT_TLS_CLIENT;
}

/* ---- the pump ------------------------------------------------------------------- */

#define CHUNK		1250	/* tls-mtu: the payload we would put in one packet */
#define ROUNDS_MAX	64

struct pair {
	struct tls_conn *cli, *srv;
	int cli_rc, srv_rc;	/* last tls_conn_handshake results */
	int cli_ctx_rc, srv_ctx_rc;
	char cli_ctx_err[TLS_ERR_MAX], srv_ctx_err[TLS_ERR_MAX];
};

/* Out of line: its one-packet buffer stays out of its callers' frames. */
static __attribute__((noinline)) size_t move(struct tls_conn *from, struct tls_conn *to)
{
	uint8_t buf[CHUNK];
	size_t n, total = 0;

	while ((n = tls_conn_output(from, buf, sizeof(buf)))) {
		if (tls_conn_input(to, buf, n))
			CHECK(0, "tls_conn_input refused %zu bytes", n);
		total += n;
	}
	return total;
}

static void step(struct tls_conn *c, int *rc)
{
	if (*rc == TLS_HS_AGAIN)
		*rc = tls_conn_handshake(c);
}

static void pump(struct pair *p)
{
	int round;
	size_t moved;

	p->cli_rc = p->srv_rc = TLS_HS_AGAIN;
	for (round = 0; round < ROUNDS_MAX; round++) {
		step(p->cli, &p->cli_rc);
		moved = move(p->cli, p->srv);
		step(p->srv, &p->srv_rc);
		moved += move(p->srv, p->cli);
		if (!moved && (p->cli_rc != TLS_HS_AGAIN || p->srv_rc != TLS_HS_AGAIN) &&
		    (p->cli_rc < 0 || p->cli_rc == TLS_HS_DONE) &&
		    (p->srv_rc < 0 || p->srv_rc == TLS_HS_DONE))
			return;
		if (!moved && round > 2 && p->cli_rc == TLS_HS_AGAIN && p->srv_rc < 0)
			step(p->cli, &p->cli_rc);
		if (!moved && round > 2 && p->srv_rc == TLS_HS_AGAIN && p->cli_rc < 0)
			step(p->srv, &p->srv_rc);
	}
}

/* Builds both sides; returns false (with ctx errors kept) if a context failed. */
static bool pair_open(struct pair *p, const struct tls_conf *cc, const struct tls_conf *sc)
{
	struct tls_ctx *cctx = NULL, *sctx = NULL;
	bool ok = false;

	memset(p, 0, sizeof(*p));
	p->cli_ctx_rc = tls_ctx_create(&cctx, cc, p->cli_ctx_err, sizeof(p->cli_ctx_err));
	p->srv_ctx_rc = tls_ctx_create(&sctx, sc, p->srv_ctx_err, sizeof(p->srv_ctx_err));
	if (p->cli_ctx_rc || p->srv_ctx_rc)
		goto out;
	if (tls_conn_create(&p->cli, cctx) || tls_conn_create(&p->srv, sctx)) {
		CHECK(0, "tls_conn_create failed");
		goto out;
	}
	pump(p);
	ok = true;
out:
	/* The sessions hold their own references. */
	tls_ctx_put(cctx);
	tls_ctx_put(sctx);
	return ok;
}

static void pair_close(struct pair *p)
{
	tls_conn_free(p->cli);
	tls_conn_free(p->srv);
	p->cli = p->srv = NULL;
}

/* After a TLS 1.3 handshake the client only learns of a rejection on read. */
static int client_late_error(struct pair *p)
{
	uint8_t buf[64];
	ssize_t n;

	move(p->srv, p->cli);
	n = tls_conn_read(p->cli, buf, sizeof(buf));
	return n < 0 ? (int)n : 0;
}

/* ---- cases ------------------------------------------------------------------------ */

enum want { OK, CLI_FAIL, SRV_FAIL };

/*
 * One handshake case. @want: who detects the failure. @msg: expected start
 * of the detecting side's error (NULL: don't care).
 */
static void hs_case(int line, const struct tls_conf *cc, const struct tls_conf *sc,
		    enum want want, const char *msg)
{
	struct pair p;
	const char *err = "";
	bool ok;

	case_no++;
	if (!pair_open(&p, cc, sc)) {
		harness_fail(__FILE__, line, "case %u: context failed: %s%s", case_no,
			     p.cli_ctx_err, p.srv_ctx_err);
		return;
	}
	switch (want) {
	case OK:
		ok = p.cli_rc == TLS_HS_DONE && p.srv_rc == TLS_HS_DONE &&
		     client_late_error(&p) == 0;
		err = p.cli_rc < 0 ? tls_conn_error(p.cli) : tls_conn_error(p.srv);
		break;
	case CLI_FAIL:
		ok = p.cli_rc == -EPROTO && p.srv_rc != TLS_HS_DONE;
		err = tls_conn_error(p.cli);
		break;
	default:
		ok = p.srv_rc == -EPROTO &&
		     (p.cli_rc == -EPROTO || client_late_error(&p) == -EPROTO);
		err = tls_conn_error(p.srv);
		break;
	}
	if (ok && msg && strncmp(err, msg, strlen(msg)))
		ok = false;
	if (!ok) {
		harness_fail(__FILE__, line, "case %u: cli %d '%s' / srv %d '%s'; expected %s%s%s",
			     case_no, p.cli_rc, tls_conn_error(p.cli), p.srv_rc,
			     tls_conn_error(p.srv),
			     want == OK ? "success" :
			     want == CLI_FAIL ? "client failure" : "server failure",
			     msg ? ": " : "", msg ? msg : "");
	}
	pair_close(&p);
}

#define T(cc, sc, want, msg)	hs_case(__LINE__, &(cc), &(sc), (want), (msg))

static void test_verification(void)
{
	struct tls_conf c, s;
	uint8_t fps[2][TLS_FP_LEN];

	fingerprint("server.crt", fps[1]);
	memset(fps[0], 0x5a, TLS_FP_LEN);

	client_conf(&c), server_conf(&s);
	T(c, s, OK, NULL);						/*  1 */
	PEM(c.ca, "ca2.crt");
	/* The server sends CA1 along (OpenSSL auto-chain, as in OpenVPN). */
	T(c, s, CLI_FAIL, "TLS: server certificate verification failed: "
			  "self-signed certificate in certificate chain (depth 1, "
			  "C=DE, O=Sluice Test, CN=Sluice Test CA)");	/*  2 */
	client_conf(&c);
	PEM(s.cert, "noeku.crt"), PEM(s.key, "noeku.key");
	T(c, s, CLI_FAIL, "TLS: peer certificate has no serverAuth EKU (remote-cert-tls server)");
	c.remote_cert_tls = TLS_CERT_TLS_NONE;
	T(c, s, OK, NULL);						/*  4: check off */
	client_conf(&c);
	PEM(s.cert, "noku.crt"), PEM(s.key, "noku.key");
	T(c, s, CLI_FAIL, "TLS: peer certificate has no keyUsage extension "
			  "(remote-cert-tls server)");			/*  5 */
	/* EKU clientAuth only: OpenSSL's purpose check refuses it first, as in OpenVPN. */
	PEM(s.cert, "client.crt"), PEM(s.key, "client.key");
	T(c, s, CLI_FAIL, "TLS: server certificate verification failed: "
			  "unsuitable certificate purpose (depth 0");	/*  6 */

	/* verify-x509-name */
	server_conf(&s);
	c.verify_x509_name = "ovw-server", c.verify_x509_type = TLS_X509_NAME;
	T(c, s, OK, NULL);						/*  7 */
	c.verify_x509_name = "ovw-serve";
	T(c, s, CLI_FAIL, "TLS: peer certificate does not match verify-x509-name "
			  "'ovw-serve' name (subject C=DE, O=Sluice Test, CN=ovw-server)");
	c.verify_x509_name = "ovw-servers";
	T(c, s, CLI_FAIL, "TLS: peer certificate does not match");	/*  9 */
	c.verify_x509_name = "ovw-", c.verify_x509_type = TLS_X509_NAME_PREFIX;
	T(c, s, OK, NULL);						/* 10 */
	c.verify_x509_name = "ovx";
	T(c, s, CLI_FAIL, "TLS: peer certificate does not match verify-x509-name 'ovx' "
			  "name-prefix");				/* 11 */
	c.verify_x509_name = "C=DE, O=Sluice Test, CN=ovw-server";
	c.verify_x509_type = TLS_X509_SUBJECT;
	T(c, s, OK, NULL);						/* 12 */
	c.verify_x509_name = "CN=ovw-server";
	T(c, s, CLI_FAIL, "TLS: peer certificate does not match");	/* 13 */

	/* CRL, expiry */
	client_conf(&c);
	PEM(c.crl, "crl.pem");
	T(c, s, OK, NULL);						/* 14 */
	PEM(s.cert, "revoked.crt"), PEM(s.key, "revoked.key");
	T(c, s, CLI_FAIL, "TLS: server certificate verification failed: "
			  "certificate revoked (depth 0");		/* 15 */
	c.crl.data = NULL;
	T(c, s, OK, NULL);						/* 16: no CRL */
	PEM(s.cert, "expired.crt"), PEM(s.key, "expired.key");
	T(c, s, CLI_FAIL, "TLS: server certificate verification failed: "
			  "certificate has expired");			/* 17 */
	server_conf(&s);
	PEM(s.cert, "nocn.crt"), PEM(s.key, "nocn.key");
	T(c, s, CLI_FAIL, "TLS: peer certificate has no common name");	/* 18 */

	/* Client certificates on the server. */
	server_conf(&s);
	c.cert.data = c.key.data = NULL;
	T(c, s, SRV_FAIL, "TLS: handshake failed: peer did not return a certificate");
	s.client_cert = TLS_CLIENT_CERT_OPTIONAL;
	T(c, s, OK, NULL);						/* 20 */
	client_conf(&c);
	s.client_cert = TLS_CLIENT_CERT_NONE;
	T(c, s, OK, NULL);						/* 21 */
	server_conf(&s);
	PEM(c.cert, "client2.crt"), PEM(c.key, "client2.key");
	T(c, s, SRV_FAIL, "TLS: client certificate verification failed: "
			  "unable to get local issuer certificate");	/* 22 */
	PEM(c.cert, "server.crt"), PEM(c.key, "server.key");
	T(c, s, SRV_FAIL, "TLS: client certificate verification failed: "
			  "unsuitable certificate purpose");		/* 23 */
	PEM(c.cert, "noeku.crt"), PEM(c.key, "noeku.key");
	T(c, s, SRV_FAIL, "TLS: peer certificate has no clientAuth EKU "
			  "(remote-cert-tls client)");			/* 24 */
	s.remote_cert_tls = TLS_CERT_TLS_NONE;
	T(c, s, OK, NULL);						/* 25 */

	/* peer-fingerprint, with and without ca */
	server_conf(&s);
	client_conf(&c);
	c.ca.data = NULL;
	c.fingerprints = (const uint8_t (*)[TLS_FP_LEN])fps, c.n_fingerprints = 2;
	T(c, s, OK, NULL);						/* 26 */
	c.n_fingerprints = 1;
	T(c, s, CLI_FAIL, "TLS: peer certificate fingerprint ");	/* 27 */
	PEM(c.ca, "ca2.crt"), c.n_fingerprints = 2;
	T(c, s, CLI_FAIL, "TLS: server certificate verification failed");	/* 28 */
	PEM(c.ca, "ca.crt");
	T(c, s, OK, NULL);						/* 29 */

	/* Chains through an intermediate CA. */
	client_conf(&c);
	PEM(s.cert, "srvchain.crt"), PEM(s.key, "srvint.key");
	T(c, s, OK, NULL);						/* 30: chain in cert */
	PEM(s.cert, "srvint.crt"), PEM(s.extra_certs, "int.crt");
	T(c, s, OK, NULL);						/* 31: extra-certs */
	s.extra_certs.data = NULL;
	T(c, s, CLI_FAIL, "TLS: server certificate verification failed: "
			  "unable to get local issuer certificate");	/* 32 */
	/* No CRL from the intermediate: logged by OpenVPN, not fatal. */
	PEM(s.cert, "srvchain.crt"), PEM(c.crl, "crl.pem");
	T(c, s, OK, NULL);						/* 33 */

	/* Versions and algorithms. */
	client_conf(&c), server_conf(&s);
	c.version_max = TLS_VER_1_2, s.version_min = TLS_VER_1_3;
	T(c, s, CLI_FAIL, "TLS: handshake failed: ");			/* 34 */
	c.version_max = TLS_VER_1_3, c.version_min = TLS_VER_1_3;
	s.version_min = TLS_VER_DEFAULT, s.version_max = TLS_VER_1_2;
	T(c, s, CLI_FAIL, "TLS: handshake failed: ");			/* 35 */
	client_conf(&c), server_conf(&s);
	s.cert_profile = "preferred", c.cert_profile = "preferred";
	T(c, s, OK, NULL);						/* 36 */
	c.ciphersuites = "TLS_AES_128_GCM_SHA256", s.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
	T(c, s, SRV_FAIL, NULL);					/* 37: no common suite */
}

/* ---- a full exchange ------------------------------------------------------------- */

static void exchange(const struct tls_conf *cc, const struct tls_conf *sc, const char *version,
		     const char *cipher)
{
	static uint8_t km_c[KDF_EKM_DATAKEYS_LEN], km_s[KDF_EKM_DATAKEYS_LEN];
	static uint8_t dyn_c[KDF_EKM_DYN_TLS_CRYPT_LEN], dyn_s[KDF_EKM_DYN_TLS_CRYPT_LEN];
	static uint8_t msg[TLS_RECORD_MAX + 1], got[TLS_RECORD_MAX + 1];
	static char desc[512];
	struct pair p;
	ssize_t n;
	size_t i;

	if (!pair_open(&p, cc, sc) || p.cli_rc != TLS_HS_DONE || p.srv_rc != TLS_HS_DONE) {
		CHECK(0, "%s handshake: cli '%s' srv '%s' %s%s", version,
		      p.cli ? tls_conn_error(p.cli) : "", p.srv ? tls_conn_error(p.srv) : "",
		      p.cli_ctx_err, p.srv_ctx_err);
		pair_close(&p);
		return;
	}
	CHECK(tls_conn_is_established(p.cli) && tls_conn_is_established(p.srv), "established");
	CHECK(tls_conn_handshake(p.cli) == TLS_HS_DONE, "handshake after done");
	CHECK(!strcmp(tls_conn_version(p.cli), version) && !strcmp(tls_conn_version(p.srv), version),
	      "version %s/%s, want %s", tls_conn_version(p.cli), tls_conn_version(p.srv), version);
	CHECK(!strcmp(tls_conn_cipher(p.cli), cipher), "cipher %s, want %s",
	      tls_conn_cipher(p.cli), cipher);
	CHECK(tls_conn_peer_cn(p.cli) && !strcmp(tls_conn_peer_cn(p.cli), "ovw-server"),
	      "client sees CN %s", tls_conn_peer_cn(p.cli));
	CHECK(tls_conn_peer_cn(p.srv) && !strcmp(tls_conn_peer_cn(p.srv), "client1") &&
	      !strcmp(tls_conn_peer_subject(p.srv), "C=DE, O=Sluice Test, CN=client1"),
	      "server sees %s", tls_conn_peer_subject(p.srv));
	tls_conn_describe(p.cli, desc, sizeof(desc));
	CHECK(!strncmp(desc, version, strlen(version)) &&
	      strstr(desc, "peer certificate: 2048 bits RSA, signature: ecdsa-with-SHA256") &&
	      strstr(desc, "peer temporary key: "), "describe: %s", desc);
	tls_conn_describe(p.srv, desc, sizeof(desc));
	CHECK(strstr(desc, "peer certificate: 256 bits ECprime256v1"), "describe: %s", desc);

	/* §5.1: both sides export the same data keys; labels separate them. */
	CHECK(!tls_conn_export(p.cli, KDF_EKM_DATAKEYS_LABEL, sizeof(km_c), km_c) &&
	      !tls_conn_export(p.srv, KDF_EKM_DATAKEYS_LABEL, sizeof(km_s), km_s) &&
	      !memcmp(km_c, km_s, sizeof(km_c)), "EKM differs between the sides");
	CHECK(!tls_conn_export(p.cli, KDF_EKM_DYN_TLS_CRYPT_LABEL, sizeof(dyn_c), dyn_c) &&
	      !tls_conn_export(p.srv, KDF_EKM_DYN_TLS_CRYPT_LABEL, sizeof(dyn_s), dyn_s) &&
	      !memcmp(dyn_c, dyn_s, sizeof(dyn_c)) && memcmp(dyn_c, km_c, sizeof(dyn_c)),
	      "dyn-tls-crypt EKM");

	/* Key-method-2 sized records both ways, read back whole or in pieces. */
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	CHECK(!tls_conn_write(p.cli, msg, 399), "client write");
	CHECK(tls_conn_read(p.srv, got, sizeof(got)) == 0, "read before delivery");
	move(p.cli, p.srv);
	n = tls_conn_read(p.srv, got, sizeof(got));
	CHECK(n == 399 && !memcmp(got, msg, 399), "server read %zd", n);
	CHECK(!tls_conn_write(p.srv, msg + 1, 178) && !tls_conn_write(p.srv, "EXIT", 5),
	      "server writes");
	move(p.srv, p.cli);
	n = tls_conn_read(p.cli, got, 100);
	CHECK(n == 100 && !memcmp(got, msg + 1, 100), "partial record %zd", n);
	n = tls_conn_read(p.cli, got, sizeof(got));
	CHECK(n == 78 && !memcmp(got, msg + 101, 78), "rest of record %zd", n);
	n = tls_conn_read(p.cli, got, sizeof(got));
	CHECK(n == 5 && !memcmp(got, "EXIT", 5), "one record per read %zd", n);
	CHECK(!tls_conn_write(p.cli, msg, TLS_RECORD_MAX), "largest record");
	move(p.cli, p.srv);
	n = tls_conn_read(p.srv, got, sizeof(got));
	CHECK(n == TLS_RECORD_MAX && !memcmp(got, msg, (size_t)n), "largest read %zd", n);
	CHECK(tls_conn_write(p.cli, msg, TLS_RECORD_MAX + 1) == -EMSGSIZE, "record too big");
	CHECK(tls_conn_write(p.cli, msg, 0) == -EINVAL, "empty write");

	/* Tampered ciphertext kills the session cleanly. */
	CHECK(!tls_conn_write(p.cli, msg, 50), "write");
	n = (ssize_t)tls_conn_output(p.cli, got, sizeof(got));
	got[n - 1] ^= 1;
	CHECK(!tls_conn_input(p.srv, got, (size_t)n), "input");
	n = tls_conn_read(p.srv, got, sizeof(got));
	CHECK(n == -EPROTO && strstr(tls_conn_error(p.srv), "TLS: read failed: "),
	      "tampered record: %zd '%s'", n, tls_conn_error(p.srv));
	CHECK(tls_conn_write(p.srv, msg, 5) == -EPROTO && tls_conn_read(p.srv, got, 5) == -EPROTO &&
	      tls_conn_export(p.srv, KDF_EKM_DATAKEYS_LABEL, 16, km_s) == -ENOTCONN &&
	      tls_conn_handshake(p.srv) == -EPROTO, "dead session stays dead");
	pair_close(&p);
}

static void test_exchange(void)
{
	struct tls_conf c, s;
	static struct pair p1, p2;
	uint8_t a[32], b[32];

	client_conf(&c);
	server_conf(&s);
	exchange(&c, &s, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	c.version_max = TLS_VER_1_2;
	exchange(&c, &s, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384");
	c.cipher_list = "ECDHE-RSA-AES128-GCM-SHA256";
	exchange(&c, &s, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256");
	client_conf(&c);
	c.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
	exchange(&c, &s, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256");

	/* Two sessions never share keys. */
	client_conf(&c);
	CHECK(pair_open(&p1, &c, &s) && pair_open(&p2, &c, &s), "two sessions");
	CHECK(p1.cli && p2.cli && !tls_conn_export(p1.cli, KDF_EKM_DATAKEYS_LABEL, 32, a) &&
	      !tls_conn_export(p2.cli, KDF_EKM_DATAKEYS_LABEL, 32, b) && memcmp(a, b, 32),
	      "sessions share EKM");
	pair_close(&p1);
	pair_close(&p2);

	/* tls-groups: P-256 only. */
	static char desc[512];
	c.groups = "P-256";
	CHECK(pair_open(&p1, &c, &s) && p1.cli_rc == TLS_HS_DONE, "groups P-256");
	if (p1.cli) {
		tls_conn_describe(p1.cli, desc, sizeof(desc));
		CHECK(strstr(desc, "peer temporary key: 256 bits ECprime256v1") != NULL, "%s", desc);
	}
	pair_close(&p1);
}

/* Everything inline, as in a unified .ovpn file. */
static void test_inline(void)
{
	struct tls_conf c, s;
	struct pair p;

	client_conf(&c);
	server_conf(&s);
	c.ca = (struct tls_pem){ .data = pki_slurp("ca.crt"), .is_inline = true };
	c.cert = (struct tls_pem){ .data = pki_slurp("client.crt"), .is_inline = true };
	c.key = (struct tls_pem){ .data = pki_slurp("client.key"), .is_inline = true };
	c.crl = (struct tls_pem){ .data = pki_slurp("crl.pem"), .is_inline = true };
	CHECK(c.ca.data && c.cert.data && c.key.data && c.crl.data, "slurp");
	CHECK(pair_open(&p, &c, &s) && p.cli_rc == TLS_HS_DONE && p.srv_rc == TLS_HS_DONE,
	      "inline: %s %s", p.cli_ctx_err, p.cli ? tls_conn_error(p.cli) : "");
	pair_close(&p);
}

/* ---- context errors and API misuse ------------------------------------------------ */

static void ctx_case(int line, const struct tls_conf *conf, int want, const char *msg)
{
	char err[TLS_ERR_MAX] = "";
	struct tls_ctx *ctx = (struct tls_ctx *)&err;	/* must be reset to NULL */
	int ret = tls_ctx_create(&ctx, conf, err, sizeof(err));

	case_no++;
	if (ret != want || (ret && ctx) || (msg && !strstr(err, msg)) ||
	    (ret && strncmp(err, "TLS: ", 5))) {
		harness_fail(__FILE__, line, "ctx case %u: got %d '%s', expected %d '%s'", case_no,
			     ret, err, want, msg ? msg : "");
	}
	tls_ctx_put(ret ? NULL : ctx);
}

#define C(conf, want, msg)	ctx_case(__LINE__, &(conf), (want), (msg))

static void test_ctx_errors(void)
{
	struct tls_conf c, s;

	client_conf(&c);
	server_conf(&s);
	case_no = 0;
	c.ca.data = "/nonexistent/ca.crt";
	C(c, -ENOENT, "TLS: cannot read ca file '/nonexistent/ca.crt': No such file");	/*  1 */
	PEM(c.ca, "garbage.pem");
	C(c, -EINVAL, "TLS: no certificate in ca");				/*  2 */
	c.ca = (struct tls_pem){ .data = "", .is_inline = true };
	C(c, -EINVAL, "TLS: no certificate in ca '[[INLINE]]'");		/*  3 */
	client_conf(&c);
	PEM(c.ca, "client.key");
	C(c, -EINVAL, "TLS: no certificate in ca");				/*  4 */
	client_conf(&c);
	PEM(c.key, "server.key");
	C(c, -EINVAL, "does not match the certificate");			/*  5 */
	PEM(c.key, "enc.key");
	C(c, -ENOKEY, "is encrypted and no passphrase was given");		/*  6 */
	PEM(c.key, "garbage.pem");
	C(c, -EIO, "TLS: cannot load private key");				/*  7 */
	client_conf(&c);
	PEM(c.cert, "garbage.pem");
	C(c, -EIO, "TLS: cannot load certificate");				/*  8 */
	client_conf(&c);
	c.key.data = NULL;
	C(c, -EINVAL, "cert and key must be given together");			/*  9 */
	client_conf(&c);
	c.ca.data = NULL;
	C(c, -EINVAL, "no ca or peer-fingerprint");				/* 10 */
	s.cert.data = s.key.data = NULL;
	C(s, -EINVAL, "a server needs cert and key");				/* 11 */
	server_conf(&s);
	s.ca.data = NULL;
	C(s, -EINVAL, "no ca or peer-fingerprint");				/* 12 */
	s.client_cert = TLS_CLIENT_CERT_NONE;
	C(s, 0, NULL);								/* 13 */
	client_conf(&c);
	c.cert_profile = "paranoid";
	C(c, -EINVAL, "unknown tls-cert-profile 'paranoid'");			/* 14 */
	c.cert_profile = NULL, c.cipher_list = "NOTACIPHER";
	C(c, -EINVAL, "TLS: bad tls-cipher 'NOTACIPHER'");			/* 15 */
	c.cipher_list = NULL, c.ciphersuites = "TLS_NOPE";
	C(c, -EINVAL, "TLS: bad tls-ciphersuites");				/* 16 */
	c.ciphersuites = NULL, c.groups = "nogroup";
	C(c, -EINVAL, "TLS: bad tls-groups 'nogroup'");				/* 17 */
	c.groups = NULL, c.version_min = TLS_VER_1_3, c.version_max = TLS_VER_1_2;
	C(c, -EINVAL, "tls-version-min is above tls-version-max");		/* 18 */
	c.version_min = (enum tls_ver)9;
	C(c, -EINVAL, NULL);							/* 19 */
	client_conf(&c);
	c.verify_x509_type = (enum tls_x509_type)5;
	C(c, -EINVAL, "invalid verification option");				/* 20 */
	client_conf(&c);
	c.n_fingerprints = 1;
	C(c, -EINVAL, "invalid verification option");				/* 21 */
	/* suiteb = security level 3: an RSA-2048 certificate is too weak. */
	server_conf(&s);
	s.cert_profile = "suiteb";
	C(s, -EIO, "TLS: cannot load certificate");				/* 22 */
	client_conf(&c);
	PEM(c.crl, "garbage.pem");
	C(c, -EIO, "TLS: cannot load crl-verify");				/* 23 */
	PEM(c.crl, "ca.crt");
	C(c, -EIO, "TLS: cannot load crl-verify");				/* 24 */
	server_conf(&s);
	PEM(s.dh, "garbage.pem");
	C(s, -EIO, "TLS: cannot load dh parameters");				/* 25 */
	client_conf(&c);
	PEM(c.extra_certs, "garbage.pem");
	C(c, -EIO, "TLS: cannot load extra-certs");				/* 26 */
}

static void test_misuse(void)
{
	struct tls_conf c, s;
	struct tls_ctx *ctx;
	struct tls_conn *conn;
	static uint8_t junk[TLS_INPUT_MAX + 1];
	uint8_t buf[64];
	char err[TLS_ERR_MAX];
	size_t i;
	int ret;

	client_conf(&c);
	server_conf(&s);
	if (tls_ctx_create(&ctx, &s, err, sizeof(err)) || tls_conn_create(&conn, ctx)) {
		CHECK(0, "server ctx: %s", err);
		return;
	}
	tls_ctx_put(ctx);
	CHECK(tls_conn_write(conn, "x", 1) == -ENOTCONN, "write before handshake");
	CHECK(tls_conn_read(conn, buf, sizeof(buf)) == -ENOTCONN, "read before handshake");
	CHECK(tls_conn_export(conn, KDF_EKM_DATAKEYS_LABEL, 16, buf) == -ENOTCONN, "export");
	CHECK(!*tls_conn_version(conn) && !*tls_conn_cipher(conn) && !tls_conn_peer_cn(conn),
	      "strings before handshake");
	tls_conn_describe(conn, (char *)buf, sizeof(buf));
	CHECK(!buf[0], "describe before handshake");
	CHECK(tls_conn_handshake(conn) == TLS_HS_AGAIN && tls_conn_pending(conn) == 0,
	      "server waits for the client");
	CHECK(tls_conn_input(conn, junk, sizeof(junk)) == -ENOBUFS, "input over the limit");
	for (i = 0; i < 64; i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	CHECK(!tls_conn_input(conn, junk, 64), "input");
	ret = tls_conn_handshake(conn);
	CHECK(ret == -EPROTO && !strncmp(tls_conn_error(conn), "TLS: handshake failed: ", 23),
	      "garbage: %d '%s'", ret, tls_conn_error(conn));
	tls_conn_free(conn);
	tls_conn_free(NULL);
	tls_ctx_put(NULL);

	/* A client emits its ClientHello on the first call. */
	if (tls_ctx_create(&ctx, &c, err, sizeof(err)) || tls_conn_create(&conn, ctx)) {
		CHECK(0, "client ctx: %s", err);
		return;
	}
	tls_ctx_get(ctx);	/* the extra reference keeps it alive after the put */
	tls_ctx_put(ctx);
	CHECK(tls_conn_handshake(conn) == TLS_HS_AGAIN && tls_conn_pending(conn) > 0 &&
	      tls_conn_output(conn, buf, 0) == 0, "ClientHello");
	tls_conn_free(conn);
	if (!tls_conn_create(&conn, ctx))
		tls_conn_free(conn);
	tls_ctx_put(ctx);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pki_make("tls", pki_script);
	test_verification();
	test_exchange();
	test_inline();
	test_ctx_errors();
	test_misuse();
	return harness_done("tls_test");
}
