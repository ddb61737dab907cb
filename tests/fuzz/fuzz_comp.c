/*
 * fuzz_comp.c - libFuzzer harness for removing compression framing from a
 * decrypted payload (crypto/comp.c): the first input byte picks mode and
 * flags (every mode, LZ4 and LZO decompression of hostile input included),
 * the rest is the payload. Must never crash or write out of bounds; what
 * unframes is framed again, compressing it with the adaptive state too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../core/pkt.h"
#include "../../crypto/comp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pool *pool;
	static uint8_t scratch[COMP_SCRATCH_LEN] __attribute__((aligned(64)));
	static struct comp_adapt ac;
	struct pkt *p;
	uint8_t comp;

	if (!pool && (comp_global_init() || pool_create(&pool, 4, PKT_CLASS_MTU, 0)))
		return 0;
	if (size < 1 || size - 1 > PKT_MTU_DATA)
		return 0;
	comp = (uint8_t)((data[0] % (COMP_MODE_LZO + 1)) |
			 (data[0] & (COMP_F_COMPRESS | COMP_F_DECOMPRESS | COMP_F_ADAPTIVE)));
	p = pool_get(pool);
	if (!p)
		return 0;
	memcpy(p->data, data + 1, size - 1);
	p->len = (uint32_t)(size - 1);
	if (comp_unframe(comp, p, scratch) == PKT_OK)
		(void)comp_frame(comp, p, scratch, &ac);
	pkt_free(p);
	return 0;
}
