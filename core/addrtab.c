/*
 * addrtab.c - owns the endpoint -> peer id hash (see addrtab.h for the
 * design). ctrl calls everything here; udp_rx calls only addrtab_lookup(),
 * inside its epoch section.
 *
 * Lifetime: a shard is one allocation, immutable once published. A change
 * builds the replacement, publishes it with a release store (the partner of
 * the acquire in addrtab_lookup) and retires the old shard through the
 * epoch, so a reader that loaded the old pointer keeps a valid shard until
 * its section ends. ctrl reads shards without an epoch section: it is the
 * only thread that retires them. addrtab_destroy() frees directly because it
 * runs after every reader stopped.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "addrtab.h"
#include "epoch.h"

/* --- SipHash-1-3 over the 24-byte key (Aumasson and Bernstein) -------- */

#define ROTL64(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3)						\
	do {									\
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32);	\
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;			\
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;			\
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32);	\
	} while (0)

static uint64_t key_hash(const uint64_t sip[2], const struct addrtab_key *k)
{
	uint64_t v0 = sip[0] ^ 0x736f6d6570736575ULL, v1 = sip[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = sip[0] ^ 0x6c7967656e657261ULL, v3 = sip[1] ^ 0x7465646279746573ULL;
	uint64_t last = (uint64_t)sizeof(*k) << 56;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(k->w); i++) {
		v3 ^= k->w[i];
		SIPROUND(v0, v1, v2, v3);
		v0 ^= k->w[i];
	}
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* --- keys ------------------------------------------------------------- */

static bool key_from(const union sockaddr_any *sa, struct addrtab_key *k)
{
	uint8_t b[sizeof(*k)] = { 0 };
	const uint8_t *a6 = sa->in6.sin6_addr.s6_addr;

	switch (sa->sa.sa_family) {
	case AF_INET:
		memcpy(b, &sa->in4.sin_addr, 4);
		memcpy(b + 20, &sa->in4.sin_port, 2);
		b[22] = 4;
		break;
	case AF_INET6:
		if (IN6_IS_ADDR_V4MAPPED(&sa->in6.sin6_addr)) {
			/* The same client as its AF_INET form. */
			memcpy(b, a6 + 12, 4);
			b[22] = 4;
		} else {
			memcpy(b, a6, 16);
			memcpy(b + 16, &sa->in6.sin6_scope_id, 4);
			b[22] = 6;
		}
		memcpy(b + 20, &sa->in6.sin6_port, 2);
		break;
	default:
		return false;
	}
	memcpy(k->w, b, sizeof(b));
	return true;
}

static bool key_eq(const struct addrtab_key *a, const struct addrtab_key *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2])) == 0;
}

/* --- shards ----------------------------------------------------------- */

static uint32_t shard_of(const struct addrtab *t, uint64_t h)
{
	return (uint32_t)(h >> 32) & t->shard_mask;
}

static const struct addrtab_slot *shard_find(const struct addrtab_shard *s, uint64_t h,
					     const struct addrtab_key *k)
{
	uint32_t i;

	if (!s)
		return NULL;
	/* Load <= 1/2: an empty slot ends every probe. */
	for (i = (uint32_t)h & s->mask;; i = (i + 1) & s->mask) {
		const struct addrtab_slot *sl = &s->slot[i];

		if (sl->peer == ADDRTAB_NONE)
			return NULL;
		if (key_eq(&sl->key, k))
			return sl;
	}
}

uint32_t addrtab_lookup(const struct addrtab *t, const union sockaddr_any *sa)
{
	const struct addrtab_shard *s;
	const struct addrtab_slot *sl;
	struct addrtab_key k;
	uint64_t h;

	if (unlikely(!key_from(sa, &k)))
		return ADDRTAB_NONE;
	h = key_hash(t->sip, &k);
	/* Acquire pairs with the release in shard_publish(). */
	s = __atomic_load_n(&t->shard[shard_of(t, h)], __ATOMIC_ACQUIRE);
	sl = shard_find(s, h, &k);
	return sl ? sl->peer : ADDRTAB_NONE;
}

/* One change to a shard: drop @del and every slot of @del_peer, then add @add. */
struct shard_edit {
	const struct addrtab_key *del;
	uint32_t del_peer;		/* ADDRTAB_NONE: none */
	const struct addrtab_key *add;
	uint32_t add_peer;
};

static bool edit_drops(const struct shard_edit *ed, const struct addrtab_slot *sl)
{
	return sl->peer == ed->del_peer || (ed->del && key_eq(&sl->key, ed->del));
}

static void shard_put(const struct addrtab *t, struct addrtab_shard *s,
		      const struct addrtab_key *k, uint32_t peer)
{
	uint32_t i = (uint32_t)key_hash(t->sip, k) & s->mask;

	while (s->slot[i].peer != ADDRTAB_NONE)
		i = (i + 1) & s->mask;
	s->slot[i].key = *k;
	s->slot[i].peer = peer;
	s->count++;
}

/* Builds the edited copy of @old into *out (NULL when empty). */
static int shard_build(const struct addrtab *t, const struct addrtab_shard *old,
		       const struct shard_edit *ed, struct addrtab_shard **out)
{
	uint32_t i, n = ed->add ? 1 : 0, slots = 4;
	struct addrtab_shard *s;

	for (i = 0; old && i <= old->mask; i++)
		n += old->slot[i].peer != ADDRTAB_NONE && !edit_drops(ed, &old->slot[i]);
	*out = NULL;
	if (!n)
		return 0;
	while (slots < 2 * n)
		slots *= 2;
	s = malloc(sizeof(*s) + (size_t)slots * sizeof(s->slot[0]));
	if (!s)
		return -ENOMEM;
	s->mask = slots - 1;
	s->count = 0;
	for (i = 0; i < slots; i++)
		s->slot[i].peer = ADDRTAB_NONE;
	for (i = 0; old && i <= old->mask; i++)
		if (old->slot[i].peer != ADDRTAB_NONE && !edit_drops(ed, &old->slot[i]))
			shard_put(t, s, &old->slot[i].key, old->slot[i].peer);
	if (ed->add)
		shard_put(t, s, ed->add, ed->add_peer);
	*out = s;
	return 0;
}

/* Replaces shard @idx by the edited copy; updates the count. */
static int shard_publish(struct addrtab *t, uint32_t idx, const struct shard_edit *ed)
{
	struct addrtab_shard *old = t->shard[idx], *s;
	int err = shard_build(t, old, ed, &s);

	if (err)
		return err;
	/* Release pairs with the acquire in addrtab_lookup(): the copy is built. */
	__atomic_store_n(&t->shard[idx], s, __ATOMIC_RELEASE);
	t->count = t->count - (old ? old->count : 0) + (s ? s->count : 0);
	if (old && epoch_retire(old, free)) {
		/* No memory to queue it: wait out the readers instead. */
		epoch_barrier();
		free(old);
	}
	return 0;
}

int addrtab_insert(struct addrtab *t, const union sockaddr_any *sa, uint32_t peer)
{
	struct addrtab_key k;
	struct shard_edit ed = { .del = &k, .del_peer = ADDRTAB_NONE, .add = &k, .add_peer = peer };
	const struct addrtab_slot *sl;
	uint64_t h;

	if (!key_from(sa, &k))
		return -EAFNOSUPPORT;
	if (peer == ADDRTAB_NONE)
		return -EINVAL;
	h = key_hash(t->sip, &k);
	sl = shard_find(t->shard[shard_of(t, h)], h, &k);
	if (sl && sl->peer == peer)
		return 0;
	if (!sl && t->count >= t->max)
		return -ENOSPC;
	return shard_publish(t, shard_of(t, h), &ed);
}

int addrtab_remove(struct addrtab *t, const union sockaddr_any *sa)
{
	struct addrtab_key k;
	struct shard_edit ed = { .del = &k, .del_peer = ADDRTAB_NONE };
	uint64_t h;

	if (!key_from(sa, &k))
		return -ENOENT;
	h = key_hash(t->sip, &k);
	if (!shard_find(t->shard[shard_of(t, h)], h, &k))
		return -ENOENT;
	return shard_publish(t, shard_of(t, h), &ed);
}

static bool shard_has_peer(const struct addrtab_shard *s, uint32_t peer)
{
	uint32_t i;

	for (i = 0; s && i <= s->mask; i++)
		if (s->slot[i].peer == peer)
			return true;
	return false;
}

uint32_t addrtab_remove_peer(struct addrtab *t, uint32_t peer)
{
	struct shard_edit ed = { .del_peer = peer };
	uint32_t i, before = t->count;

	if (peer == ADDRTAB_NONE)
		return 0;
	for (i = 0; i <= t->shard_mask; i++) {
		/* On ENOMEM this shard keeps the peer; the count says so. */
		if (shard_has_peer(t->shard[i], peer))
			(void)shard_publish(t, i, &ed);
	}
	return before - t->count;
}

uint32_t addrtab_count(const struct addrtab *t)
{
	return t->count;
}

int addrtab_create(struct addrtab **out, uint32_t max_entries)
{
	uint32_t shards = 1;
	struct addrtab *t;
	int err;

	while (shards < max_entries / ADDRTAB_SHARD_KEYS)
		shards *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->shard = calloc(shards, sizeof(t->shard[0]));
	if (!t->shard) {
		err = -ENOMEM;
		goto err_table;
	}
	if (getrandom(t->sip, sizeof(t->sip), 0) != sizeof(t->sip)) {
		err = -EIO;
		goto err_shards;
	}
	t->shard_mask = shards - 1;
	t->max = max_entries;
	*out = t;
	return 0;

err_shards:
	free(t->shard);
err_table:
	free(t);
	return err;
}

void addrtab_destroy(struct addrtab *t)
{
	uint32_t i;

	if (!t)
		return;
	for (i = 0; i <= t->shard_mask; i++)
		free(t->shard[i]);
	free(t->shard);
	free(t);
}
