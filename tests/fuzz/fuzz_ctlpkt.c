/*
 * fuzz_ctlpkt.c - libFuzzer harness for the unwrapped control packet
 * parser (ctrl/proto/ctlpkt.h). The input is one packet as tlswrap_unwrap would
 * return it. Accepted packets must be canonical: building the parsed
 * struct gives the input back byte for byte, a buffer one byte short is
 * refused without a write past it, and parsing the built bytes gives the
 * same struct. ASan/UBSan watch every read of the untrusted bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../ctrl/proto/ctlpkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const struct ctlpkt *a, const struct ctlpkt *b)
{
	return a->opcode == b->opcode && a->key_id == b->key_id &&
	       !memcmp(a->sid, b->sid, SID_LEN) && a->n_acks == b->n_acks &&
	       !memcmp(a->acks, b->acks, a->n_acks * sizeof(a->acks[0])) &&
	       (!a->n_acks || !memcmp(a->peer_sid, b->peer_sid, SID_LEN)) && a->mid == b->mid &&
	       a->payload_len == b->payload_len &&
	       (!a->payload_len || !memcmp(a->payload, b->payload, a->payload_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[WIRE_MAX];
	struct ctlpkt p, q;
	uint8_t *tight;
	int n;

	if (ctlpkt_parse(&p, data, size))
		return 0;
	if (p.n_acks > RELIABLE_ACK_SIZE || !ctlpkt_opcode_is_valid(p.opcode) ||
	    ctlpkt_size(&p) != size)
		abort();
	n = ctlpkt_build(&p, out, sizeof(out));
	if (size > WIRE_MAX) {
		if (n != -ENOBUFS)
			abort();
		return 0;
	}
	if (n != (int)size || memcmp(out, data, size))
		abort();
	if (ctlpkt_parse(&q, out, (size_t)n) || !same(&p, &q))
		abort();
	/* One byte short: refused, and ASan catches any write past the end. */
	tight = malloc(size ? size - 1 : 1);
	if (!tight)
		abort();
	if (ctlpkt_build(&p, tight, size - 1) != -ENOBUFS)
		abort();
	free(tight);
	return 0;
}
