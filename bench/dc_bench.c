/*
 * dc_bench.c - data-channel seal/open cost against raw OpenSSL EVP.
 *
 *   usage: dc_bench [run_ms]     (default 30 ms per run, 9 runs per figure)
 *
 * For each cipher and payload size (64, 512, 1400) it measures dc_seal and
 * dc_open on one thread on both of dc.c's roads through OpenSSL ("sluice":
 * the provider's functions, the default; "sluice_evp": EVP_CIPHER_CTX), and
 * next to them "raw": the textbook EVP calls on the same buffers (per
 * packet: IV set, AAD, update, final, tag) with no framing. Runs of sluice and
 * raw alternate, so drift hits both alike; the figure is the median run,
 * in thread CPU time per packet (robust against other load on the box).
 *
 * Open needs a valid ciphertext every time, and decrypting in place turns
 * it into plaintext. Both CTR-based AEADs map plaintext back to the same
 * ciphertext under the same nonce, so each packet alternates: a good open
 * (tag ok) and a forged one (the plaintext under the old tag: DROP_AUTH,
 * same work) that restores the ciphertext. Both sides do the same; the
 * bench checks that exactly half of the opens succeeded.
 *
 * Output: one key=value line per figure, then a Markdown table.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/pkt.h"
#include "../crypto/dc.h"

#define NPKTS		BURST_MAX	/* packets cycled through, like one burst */
#define RUNS		9
#define PEER_ID		1

static const enum dc_cipher ciphers[] = { DC_AES_128_GCM, DC_AES_256_GCM, DC_CHACHA20_POLY1305 };
static const uint32_t sizes[] = { 64, 512, 1400 };

enum op { OP_SEAL, OP_OPEN };
enum impl { IMPL_SLUICE, IMPL_SLUICE_EVP, IMPL_RAW, IMPL_MAX };
static const char *const impl_names[IMPL_MAX] = { "sluice", "sluice_evp", "raw_evp" };

struct bench {
	enum dc_cipher cipher;
	uint32_t size;
	struct dc_keyslot *tx, *rx;	/* the direct road */
	struct dc_keyslot *etx, *erx;	/* the EVP road: sluice_evp, and raw's contexts */
	struct pkt *p[NPKTS];
	uint32_t wire_len;
	uint64_t good, bad;		/* opens that passed / failed the tag */
	uint32_t next_pid;
};

struct figure {
	double ns[IMPL_MAX];		/* per packet, median, by impl */
};

static int64_t run_ns;
static const char *pinned = "no";
static char cpu_model[128] = "unknown";
static struct utsname uts;

static void read_cpu_model(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !v)
			continue;
		v += 2;
		v[strcspn(v, "\n")] = 0;
		snprintf(cpu_model, sizeof(cpu_model), "%s", v);
		break;
	}
	fclose(f);
}

static bool raw_seal(struct bench *b, struct pkt *p)
{
	EVP_CIPHER_CTX *ctx = b->etx->enc[0];
	uint8_t nonce[DC_NONCE_LEN], aad[8];
	uint8_t *ct = p->buf + PKT_HEADROOM;
	uint8_t tag[DC_TAG_LEN];
	int outl, finl;

	store_be32(nonce, p->pid);
	memcpy(nonce + DC_PID_LEN, b->etx->enc_iv, DC_IMPLICIT_IV_LEN);
	store_be32(aad, (uint32_t)(P_DATA_V2 << 3) << 24 | PEER_ID);
	store_be32(aad + 4, p->pid);
	return EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) &&
	       EVP_EncryptUpdate(ctx, NULL, &outl, aad, sizeof(aad)) &&
	       EVP_EncryptUpdate(ctx, ct, &outl, ct, (int)b->size) &&
	       EVP_EncryptFinal_ex(ctx, ct + outl, &finl) &&
	       EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, DC_TAG_LEN, tag);
}

static bool raw_open(struct bench *b, struct pkt *p)
{
	EVP_CIPHER_CTX *ctx = b->erx->dec[0];
	uint8_t *wire = p->buf + PKT_HEADROOM - DC_V2_OVERHEAD;
	uint8_t *ct = wire + DC_V2_OVERHEAD;
	uint8_t nonce[DC_NONCE_LEN];
	int outl, finl;

	memcpy(nonce, wire + 4, DC_PID_LEN);
	memcpy(nonce + DC_PID_LEN, b->erx->dec_iv, DC_IMPLICIT_IV_LEN);
	if (!EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) ||
	    !EVP_DecryptUpdate(ctx, NULL, &outl, wire, 8) ||
	    !EVP_DecryptUpdate(ctx, ct, &outl, ct, (int)b->size) ||
	    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, DC_TAG_LEN, wire + 8))
		return false;
	return EVP_DecryptFinal_ex(ctx, ct + outl, &finl) > 0;
}

static void seal_one(struct bench *b, struct pkt *p, enum impl impl)
{
	p->data = p->buf + PKT_HEADROOM;
	p->len = b->size;
	p->pid = b->next_pid++;
	if (impl == IMPL_RAW ? !raw_seal(b, p)
			     : !dc_seal(impl == IMPL_SLUICE ? b->tx : b->etx, 0, p, PEER_ID)) {
		fprintf(stderr, "dc_bench: seal failed\n");
		exit(1);
	}
}

static void open_one(struct bench *b, struct pkt *p, enum impl impl)
{
	bool ok;

	if (impl != IMPL_RAW) {
		p->data = p->buf + PKT_HEADROOM - DC_V2_OVERHEAD;
		p->len = b->wire_len;
		p->verdict = PKT_OK;
		p->flags = 0;
		ok = dc_open(impl == IMPL_SLUICE ? b->rx : b->erx, 0, p);
	} else {
		ok = raw_open(b, p);
	}
	if (ok)
		b->good++;
	else
		b->bad++;
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * One run of run_ns wall time; returns this thread's CPU ns per packet, so
 * time spent preempted by other work on a shared machine does not count.
 */
static double run_once(struct bench *b, enum op op, enum impl impl)
{
	int64_t start = clock_mono_ns(), cpu0 = thread_cpu_ns(), now;
	uint64_t n = 0;

	do {
		for (unsigned int i = 0; i < NPKTS; i++) {
			if (op == OP_SEAL)
				seal_one(b, b->p[i], impl);
			else
				open_one(b, b->p[i], impl);
		}
		n += NPKTS;
		now = clock_mono_ns();
	} while (now - start < run_ns);
	return (double)(thread_cpu_ns() - cpu0) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Seals every packet once so open has valid ciphertexts to start from. */
static void prepare_open(struct bench *b)
{
	for (unsigned int i = 0; i < NPKTS; i++) {
		struct pkt *p = b->p[i];

		memset(p->buf + PKT_HEADROOM, (int)i, b->size);
		seal_one(b, p, IMPL_SLUICE);
	}
	b->good = b->bad = 0;
}

static struct figure measure(struct bench *b, enum op op)
{
	double ns[IMPL_MAX][RUNS];
	struct figure fig;

	if (op == OP_OPEN)
		prepare_open(b);
	/* Warm-up: caches, branch predictors, CPU clock. */
	for (int i = 0; i < IMPL_MAX; i++)
		run_once(b, op, (enum impl)i);
	for (int r = 0; r < RUNS; r++)
		for (int i = 0; i < IMPL_MAX; i++)
			ns[i][r] = run_once(b, op, (enum impl)i);
	for (int i = 0; i < IMPL_MAX; i++) {
		qsort(ns[i], RUNS, sizeof(double), cmp_double);
		fig.ns[i] = ns[i][RUNS / 2];
	}
	/* Each open flips its packet between ciphertext and plaintext. */
	if (op == OP_OPEN && (!b->good || b->good < b->bad || b->good - b->bad > NPKTS)) {
		fprintf(stderr, "dc_bench: %llu good and %llu forged opens, expected alternation\n",
			(unsigned long long)b->good, (unsigned long long)b->bad);
		exit(1);
	}
	return fig;
}

static void print_line(const struct bench *b, enum op op, enum impl impl, double ns)
{
	printf("bench=dc op=%s impl=%s cipher=%s size=%u ns_per_pkt=%.1f gbps=%.3f pps=%.0f "
	       "runs=%d run_ms=%lld burst=%d pinned=%s cpu=\"%s\" kernel=%s openssl=\"%s\"\n",
	       op == OP_SEAL ? "seal" : "open", impl_names[impl],
	       dc_cipher_name(b->cipher), b->size, ns, b->size * 8.0 / ns, 1e9 / ns, RUNS,
	       (long long)(run_ns / NSEC_PER_MSEC), NPKTS, pinned, cpu_model, uts.release,
	       OpenSSL_version(OPENSSL_VERSION));
}

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "dc_bench: could not pin to cpu 0; figures may be noisier\n");
	else
		pinned = "cpu0";
}

int main(int argc, char **argv)
{
	struct figure figs[ARRAY_SIZE(ciphers)][ARRAY_SIZE(sizes)][2];
	uint8_t key2[KEY2_LEN];
	struct pool *pool;
	struct bench b;

	run_ns = (argc > 1 ? atoll(argv[1]) : 30) * NSEC_PER_MSEC;
	read_cpu_model();
	uname(&uts);
	pin_cpu0();
	for (unsigned int i = 0; i < KEY2_LEN; i++)
		key2[i] = (uint8_t)(i * 29 + 7);
	if (dc_global_init() || pool_create(&pool, NPKTS, PKT_CLASS_MTU, 0)) {
		fprintf(stderr, "dc_bench: setup failed\n");
		return 1;
	}
	for (unsigned int c = 0; c < ARRAY_SIZE(ciphers); c++) {
		memset(&b, 0, sizeof(b));
		b.cipher = ciphers[c];
		dc_set_direct(false);
		if (dc_keyslot_create(&b.etx, b.cipher, key2, false, 0, 1, 64, 15, false) ||
		    dc_keyslot_create(&b.erx, b.cipher, key2, true, 0, 1, 64, 15, false)) {
			fprintf(stderr, "dc_bench: %s unavailable\n", dc_cipher_name(b.cipher));
			return 1;
		}
		dc_set_direct(true);
		if (dc_keyslot_create(&b.tx, b.cipher, key2, false, 0, 1, 64, 15, false) ||
		    dc_keyslot_create(&b.rx, b.cipher, key2, true, 0, 1, 64, 15, false)) {
			fprintf(stderr, "dc_bench: %s unavailable\n", dc_cipher_name(b.cipher));
			return 1;
		}
		for (unsigned int i = 0; i < NPKTS; i++)
			b.p[i] = pool_get(pool);
		b.next_pid = 1;
		for (unsigned int s = 0; s < ARRAY_SIZE(sizes); s++) {
			b.size = sizes[s];
			b.wire_len = b.size + DC_V2_OVERHEAD;
			for (int op = OP_SEAL; op <= OP_OPEN; op++) {
				figs[c][s][op] = measure(&b, op);
				for (int i = 0; i < IMPL_MAX; i++)
					print_line(&b, op, (enum impl)i, figs[c][s][op].ns[i]);
			}
		}
		pkt_free_burst(b.p, NPKTS);
		dc_keyslot_free(b.tx);
		dc_keyslot_free(b.rx);
		dc_keyslot_free(b.etx);
		dc_keyslot_free(b.erx);
	}

	printf("\nMachine: %s, %ld cpus, kernel %s, %s; one thread, pinned: %s; "
	       "thread CPU ns, median of %d runs of %lld ms.\n\n", cpu_model, sysconf(_SC_NPROCESSORS_ONLN),
	       uts.release, OpenSSL_version(OPENSSL_VERSION), pinned, RUNS,
	       (long long)(run_ns / NSEC_PER_MSEC));
	printf("| cipher | size | op | sluice ns/pkt | sluice Gbit/s | sluice, EVP road ns/pkt | "
	       "raw EVP ns/pkt | raw EVP Gbit/s | sluice vs raw |\n");
	printf("|---|---:|---|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned int c = 0; c < ARRAY_SIZE(ciphers); c++)
		for (unsigned int s = 0; s < ARRAY_SIZE(sizes); s++)
			for (int op = OP_SEAL; op <= OP_OPEN; op++) {
				const struct figure *f = &figs[c][s][op];

				printf("| %s | %u | %s | %.1f | %.2f | %.1f | %.1f | %.2f | %+.1f%% |\n",
				       dc_cipher_name(ciphers[c]), sizes[s],
				       op == OP_SEAL ? "seal" : "open", f->ns[IMPL_SLUICE],
				       sizes[s] * 8.0 / f->ns[IMPL_SLUICE], f->ns[IMPL_SLUICE_EVP],
				       f->ns[IMPL_RAW],
				       sizes[s] * 8.0 / f->ns[IMPL_RAW],
				       (f->ns[IMPL_SLUICE] / f->ns[IMPL_RAW] - 1.0) * 100.0);
			}
	pool_destroy(pool);
	dc_global_cleanup();
	return 0;
}
