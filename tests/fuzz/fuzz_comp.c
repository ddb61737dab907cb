/*
 * fuzz_comp.c - libFuzzer harness for removing compression framing from a
 * decrypted payload (crypto/comp.c): the first input byte picks mode and
 * flags, the rest is the payload. Must never crash or write out of bounds.
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
	static uint8_t scratch[COMP_SCRATCH_LEN];
	struct pkt *p;
	uint8_t comp;

	if (!pool && pool_create(&pool, 4, PKT_CLASS_MTU, 0))
		return 0;
	if (size < 1 || size - 1 > PKT_MTU_DATA)
		return 0;
	comp = (uint8_t)((data[0] % 6) | (data[0] & 0x30));
	p = pool_get(pool);
	if (!p)
		return 0;
	memcpy(p->data, data + 1, size - 1);
	p->len = (uint32_t)(size - 1);
	if (comp_unframe(comp, p, scratch) == PKT_OK)
		(void)comp_frame(comp, p, scratch);
	pkt_free(p);
	return 0;
}
