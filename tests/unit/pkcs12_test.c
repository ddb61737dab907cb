/*
 * pkcs12_test.c - PKCS#12 bundles and encrypted keys in ctrl/proto/tls_pem.c,
 * with the passphrase callback askpass gives the TLS layer (tls_conf.passphrase).
 *
 * A throwaway PKI made by the openssl CLI (skip, exit 77, without it): a CA, a
 * server and a client; the client's certificate and key as PKCS#12 bundles
 * with and without a passphrase, with and without the CA inside (OpenSSL 3's
 * default encryption, as `openssl pkcs12 -export` makes them today), the
 * server's as a bundle too, and the client key as an encrypted PEM.
 * Each case builds the contexts and, when both exist, runs a handshake in
 * memory: the client bundle must authenticate to a server that requires a
 * client certificate, the server bundle to the client, and every failure
 * must say which it was: no passphrase, a wrong one, not a PKCS#12 file, no
 * CA to verify with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/proto/tls.h"
#include "harness.h"
#include "pki.h"

static const char pki_script[] =
	PKI_SCRIPT_HEAD
	"ca ca '/CN=P12 Test CA'\n"
	"leaf server '/CN=p12-server' v3_server ca 2\n"
	"leaf client '/CN=p12-client' v3_client ca 3\n"
	"openssl pkcs12 -export -in client.crt -inkey client.key -certfile ca.crt "
	"-passout pass: -out nopass.p12\n"
	"openssl pkcs12 -export -in client.crt -inkey client.key -certfile ca.crt "
	"-passout pass:s3cret -out pass.p12\n"
	"openssl pkcs12 -export -in client.crt -inkey client.key -passout pass:s3cret "
	"-out noca.p12\n"
	"openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt "
	"-passout pass:srvpass -out server.p12\n"
	"openssl base64 -in pass.p12 -out pass.p12.b64\n"
	"openssl pkey -in client.key -aes256 -passout pass:keypass -out enc.key\n"
	"printf 'not a bundle\\n' > garbage.p12\n";

/* The passphrase the callback hands out; NULL: it has none (-ENOKEY). */
static const char *pass_given;
static unsigned int pass_asked;

static int pass_cb(void *arg, char *buf, size_t len)
{
	(void)arg;
	pass_asked++;
	if (!pass_given)
		return -ENOKEY;
	if (strlen(pass_given) >= len)
		return -EMSGSIZE;
	strcpy(buf, pass_given);
	return 0;
}

static void file(struct tls_pem *p, const char *name)
{
	p->data = pki_path(name);
	p->is_inline = false;
}

static void client_p12(struct tls_conf *c, const char *p12)
{
	memset(c, 0, sizeof(*c));
	file(&c->pkcs12, p12);
	c->remote_cert_tls = TLS_CERT_TLS_SERVER;
	c->passphrase = pass_cb;
}

static void server_pem(struct tls_conf *s)
{
	memset(s, 0, sizeof(*s));
	s->is_server = true;
	file(&s->ca, "ca.crt");
	file(&s->cert, "server.crt");
	file(&s->key, "server.key");
	s->remote_cert_tls = TLS_CERT_TLS_CLIENT;
	s->client_cert = TLS_CLIENT_CERT_REQUIRE;
}

/* Moves ciphertext both ways until neither side has any; true if both finished. */
static bool handshake(struct tls_ctx *cctx, struct tls_ctx *sctx, char *why, size_t len)
{
	struct tls_conn *cli = NULL, *srv = NULL;
	int crc = TLS_HS_AGAIN, src = TLS_HS_AGAIN;
	uint8_t buf[1250];
	bool ok = false;
	size_t n;

	if (tls_conn_create(&cli, cctx) || tls_conn_create(&srv, sctx))
		goto out;
	for (int round = 0; round < 64 && (crc == TLS_HS_AGAIN || src == TLS_HS_AGAIN); round++) {
		if (crc == TLS_HS_AGAIN)
			crc = tls_conn_handshake(cli);
		while ((n = tls_conn_output(cli, buf, sizeof(buf))))
			if (tls_conn_input(srv, buf, n))
				goto out;
		if (src == TLS_HS_AGAIN)
			src = tls_conn_handshake(srv);
		while ((n = tls_conn_output(srv, buf, sizeof(buf))))
			if (tls_conn_input(cli, buf, n))
				goto out;
		if (crc < 0 || src < 0)
			break;
	}
	ok = crc == TLS_HS_DONE && src == TLS_HS_DONE && tls_conn_peer_cn(srv) &&
	     !strcmp(tls_conn_peer_cn(srv), "p12-client") && tls_conn_peer_cn(cli) &&
	     !strcmp(tls_conn_peer_cn(cli), "p12-server");
	snprintf(why, len, "client %d '%s', server %d '%s'", crc, tls_conn_error(cli), src,
		 tls_conn_error(srv));
out:
	tls_conn_free(cli);
	tls_conn_free(srv);
	return ok;
}

/*
 * P(case, client conf, server conf, passphrase, want, message): @want 0 means
 * both contexts build and the handshake succeeds; otherwise the failing
 * context's return code, and @msg must be in its error.
 */
static void p_case(int line, int no, const struct tls_conf *cc, const struct tls_conf *sc,
		   const char *pass, int want, const char *msg)
{
	static char cerr[TLS_ERR_MAX], serr[TLS_ERR_MAX], why[2 * TLS_ERR_MAX + 64];
	struct tls_ctx *cctx = NULL, *sctx = NULL;
	int crc, src;

	pass_given = pass;
	cerr[0] = serr[0] = '\0';
	crc = tls_ctx_create(&cctx, cc, cerr, sizeof(cerr));
	src = tls_ctx_create(&sctx, sc, serr, sizeof(serr));
	if (!want) {
		if (crc || src)
			harness_fail(__FILE__, line, "case %d: context failed: %d '%s' / %d '%s'",
				     no, crc, cerr, src, serr);
		else if (!handshake(cctx, sctx, why, sizeof(why)))
			harness_fail(__FILE__, line, "case %d: handshake failed: %s", no, why);
	} else {
		int got = crc ? crc : src;
		const char *err = crc ? cerr : serr;

		if (got != want || !strstr(err, msg))
			harness_fail(__FILE__, line, "case %d: got %d '%s', want %d '%s'", no, got,
				     err, want, msg);
	}
	tls_ctx_put(cctx);
	tls_ctx_put(sctx);
}

#define P(no, cc, sc, pass, want, msg)	p_case(__LINE__, (no), &(cc), &(sc), (pass), (want), (msg))

int main(void)
{
	struct tls_conf c, s;
	unsigned int asked;

	pki_make("p12", pki_script);
	server_pem(&s);

	client_p12(&c, "nopass.p12");
	pass_asked = 0;
	P(1, c, s, NULL, 0, "");			/* no passphrase, CA inside: trusted */
	CHECK(pass_asked == 0, "case 2: a bundle without passphrase asked for one");
	client_p12(&c, "pass.p12");
	P(3, c, s, "s3cret", 0, "");
	P(4, c, s, "wrong", -ENOKEY, "TLS: wrong passphrase for pkcs12 '");
	P(5, c, s, NULL, -ENOKEY, "is encrypted and no passphrase was given: use askpass");
	c.passphrase = NULL;
	P(6, c, s, "s3cret", -ENOKEY, "is encrypted and no passphrase was given");
	/* Without a CA in the bundle, ca verifies the server; without either, refused. */
	client_p12(&c, "noca.p12");
	P(7, c, s, "s3cret", -EINVAL, "no ca to verify the peer with");
	file(&c.ca, "ca.crt");
	P(8, c, s, "s3cret", 0, "");
	/* ca given and the CA in the bundle too: the bundle's copy is a chain cert. */
	client_p12(&c, "pass.p12");
	file(&c.ca, "ca.crt");
	P(9, c, s, "s3cret", 0, "");
	/* Inline: the base64 text of the bundle, line breaks and all. */
	client_p12(&c, "pass.p12");
	c.pkcs12.data = pki_slurp("pass.p12.b64");
	c.pkcs12.is_inline = true;
	REQUIRE(c.pkcs12.data, "slurp");
	P(10, c, s, "s3cret", 0, "");
	P(11, c, s, "nope", -ENOKEY, "TLS: wrong passphrase for pkcs12 '[[INLINE]]'");
	c.pkcs12.data = "%%% not base64 %%%";
	P(12, c, s, "s3cret", -EIO, "TLS: inline pkcs12 is not base64");
	client_p12(&c, "garbage.p12");
	P(13, c, s, NULL, -EIO, "is not a PKCS#12 file");
	client_p12(&c, "missing.p12");
	P(14, c, s, NULL, -ENOENT, "TLS: cannot read pkcs12 file");
	client_p12(&c, "pass.p12");
	file(&c.cert, "client.crt");
	file(&c.key, "client.key");
	P(15, c, s, "s3cret", -EINVAL, "cert and key cannot be used together with pkcs12");
	/* The server's identity from a bundle (its CA inside verifies the client). */
	client_p12(&c, "nopass.p12");
	memset(&s, 0, sizeof(s));
	s.is_server = true;
	file(&s.pkcs12, "server.p12");
	s.remote_cert_tls = TLS_CERT_TLS_CLIENT;
	s.passphrase = pass_cb;
	pass_given = "srvpass";
	P(16, c, s, "srvpass", 0, "");
	/* An encrypted PEM key asks the same callback. */
	server_pem(&s);
	memset(&c, 0, sizeof(c));
	file(&c.ca, "ca.crt");
	file(&c.cert, "client.crt");
	file(&c.key, "enc.key");
	c.remote_cert_tls = TLS_CERT_TLS_SERVER;
	c.passphrase = pass_cb;
	pass_asked = 0;
	P(17, c, s, "keypass", 0, "");
	asked = pass_asked;
	CHECK(asked == 1, "case 18: the key passphrase was asked %u times", asked);
	P(19, c, s, "wrong", -ENOKEY, "TLS: wrong passphrase for private key '");
	P(20, c, s, NULL, -ENOKEY, "TLS: private key '");
	return harness_done("pkcs12_test");
}
