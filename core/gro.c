/*
 * gro.c - owns coalescing of TUN writes (gro.h). Pure function; called by
 * tun_tx once per burst, by the unit test against a naive model
 * (tests/unit/offload_test.c) and by the fuzzer (tests/fuzz/fuzz_gro.c).
 *
 * One pass over the burst with a small table of open groups (GRO_FLOWS),
 * each group a head packet, its chain and what the next member must look
 * like; a packet either joins its flow's group or starts a new one (closing
 * the old one of its flow: nothing is ever appended behind a packet of the
 * same flow that was not). A second pass writes the headers of each group:
 * IP length (and IPv4 header checksum), UDP length, the transport checksum
 * field set to the pseudo-header sum as NEEDS_CSUM wants it
 * (csum_tcpudp_magic without the final complement, as tcp_v4_send_check
 * leaves it), and the virtio-net header.
 */
#include "compiler.h"
#include "csum.h"
#include "gro.h"
#include "gso.h"
#include "proto.h"

/* What the first pass reads of one packet. */
struct gro_meta {
	uint8_t proto;		/* GSO_PROTO_TCP or _UDP; 0: not a transport we know */
	bool is_opaque;		/* may belong to any flow: a fragment, an IPv6 extension */
	bool is_v6;
	bool can_merge;		/* a candidate to join or head a group */
	uint8_t ip_hlen;
	uint8_t th_len;		/* TCP header or 8 (UDP) */
	uint8_t tcp_flags;
	uint32_t seq;
	uint32_t plen;		/* payload bytes */
};

struct gro_flow {
	struct pkt *head;	/* NULL: free */
	struct pkt *tail;
	bool is_closed;		/* nothing more may join */
	bool head_ok;		/* the head's checksums were verified */
	uint8_t proto;
	uint8_t ip_hlen;
	uint8_t th_len;
	uint16_t gso_size;	/* the head's payload: the most any member may have */
	uint16_t nseg;
	uint32_t next_seq;	/* TCP: the sequence number the next member must have */
	uint32_t l4_len;	/* transport header plus every payload so far */
};

/* IPv6 next headers that put an extension between the IP header and the transport. */
static bool gro_v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135 ||
	       nh == 139 || nh == 140;
}

/*
 * Reads the headers of @q. A TCP or UDP packet whose ports can be read gets
 * its proto set (so it closes its flow's group even if it cannot join);
 * can_merge says whether it may join or head one.
 */
static void gro_meta_read(const struct pkt *q, struct gro_meta *m, unsigned int flags)
{
	const uint8_t *ip = q->data;
	uint32_t len = q->len, ihl, thl;
	uint8_t proto;

	memset(m, 0, sizeof(*m));
	if (len < GSO_IPV4_HDR_MIN)
		return;
	if (ip[0] >> 4 == 4) {
		ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		proto = ip[9];
		m->is_v6 = false;
		if (ihl < GSO_IPV4_HDR_MIN || load_be16(ip + 2) != len)
			return;
	} else if (ip[0] >> 4 == 6) {
		ihl = GSO_IPV6_HDR_LEN;
		proto = ip[6];
		m->is_v6 = true;
		if (len < ihl || load_be16(ip + 4) + ihl != len)
			return;
	} else {
		return;
	}
	/* A fragment or an extension header hides the ports: it may be any flow's. */
	if ((!m->is_v6 && (load_be16(ip + 6) & 0x3fff)) || (m->is_v6 && gro_v6_ext(proto))) {
		m->is_opaque = true;
		return;
	}
	if ((proto != GSO_PROTO_TCP && proto != GSO_PROTO_UDP) || ihl + 4 > len)
		return;
	m->proto = proto;
	m->ip_hlen = (uint8_t)ihl;
	/* IPv4 options: the kernel's GRO leaves those alone too. */
	if (ihl != GSO_IPV4_HDR_MIN && !m->is_v6)
		return;
	if (proto == GSO_PROTO_TCP) {
		if (!(flags & GRO_F_TCP) || ihl + GSO_TCP_HDR_MIN > len)
			return;
		thl = (uint32_t)(ip[ihl + 12] >> 4) * 4;
		if (thl < GSO_TCP_HDR_MIN || ihl + thl > len)
			return;
		m->tcp_flags = ip[ihl + 13];
		m->seq = load_be32(ip + ihl + 4);
		/* ACK, with PSH or ECE at most: SYN, FIN, RST, URG and CWR go alone. */
		if ((m->tcp_flags & ~(GSO_TCP_PSH | GSO_TCP_ECE)) != GSO_TCP_ACK)
			return;
	} else {
		thl = GSO_UDP_HDR_LEN;
		if (!(flags & GRO_F_UDP) || ihl + thl > len || load_be16(ip + ihl + 4) != len - ihl)
			return;
		m->tcp_flags = 0;
		m->seq = 0;
	}
	m->th_len = (uint8_t)thl;
	m->plen = len - ihl - thl;
	m->can_merge = m->plen > 0;
}

/*
 * Are @a[0..n) and @b[0..n) equal? For the few header bytes compared per
 * packet here (8..32): word loads the compiler inlines, where memcmp with a
 * length known only at run time was a library call per packet (1.5% of a
 * tcp1 profile, under tun_tx).
 */
static inline bool gro_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x = 0, u, v;
	uint32_t s, t;

	for (; n >= 8; a += 8, b += 8, n -= 8) {
		memcpy(&u, a, 8);
		memcpy(&v, b, 8);
		x |= u ^ v;
	}
	if (n >= 4) {
		memcpy(&s, a, 4);
		memcpy(&t, b, 4);
		x |= s ^ t;
		a += 4, b += 4, n -= 4;
	}
	while (n--)
		x |= (uint64_t)(*a++ ^ *b++);
	return !x;
}

/* Same addresses, ports and transport as the group's head? */
static bool gro_same_flow(const struct gro_flow *f, const struct pkt *q, const struct gro_meta *m)
{
	const uint8_t *a = f->head->data, *b = q->data;
	unsigned int off = m->is_v6 ? 8 : 12, alen = m->is_v6 ? 32 : 8;

	if (f->proto != m->proto || (a[0] >> 4) != (b[0] >> 4))
		return false;
	return gro_bytes_eq(a + off, b + off, alen) && gro_bytes_eq(a + f->ip_hlen, b + m->ip_hlen, 4);
}

/* The IP fields that must match for a merge (inet_gro_receive, ipv6_gro_receive). */
static bool gro_ip_match(const uint8_t *a, const uint8_t *b, bool is_v6)
{
	if (is_v6)
		return gro_bytes_eq(a, b, 4) && a[7] == b[7];
	/* TOS, flags (DF; fragments never get here), TTL. */
	return a[1] == b[1] && a[6] == b[6] && a[8] == b[8];
}

/* May @q join @f as its next member? Checksums are checked after this. */
static bool gro_can_append(const struct gro_flow *f, const struct pkt *q, const struct gro_meta *m)
{
	const uint8_t *h = f->head->data, *b = q->data;

	if (f->is_closed || !m->can_merge || m->plen > f->gso_size || f->nseg >= GRO_SEGS_MAX)
		return false;
	if (f->l4_len + m->plen + (m->is_v6 ? 0 : m->ip_hlen) > GRO_LEN_MAX)
		return false;
	if (!gro_ip_match(h, b, m->is_v6))
		return false;
	/* IPv4 ids count up as the segments went out, so cutting the group again restores them. */
	if (!m->is_v6 && load_be16(b + 4) != (uint16_t)(load_be16(h + 4) + f->nseg))
		return false;
	if (m->proto == GSO_PROTO_UDP)
		return true;
	h += f->ip_hlen;
	b += m->ip_hlen;
	/*
	 * Next in sequence; the same ACK number, header length, flags but PSH,
	 * window, urgent pointer and options: the group keeps the head's.
	 */
	return m->seq == f->next_seq && m->th_len == f->th_len && gro_bytes_eq(h + 8, b + 8, 5) &&
	       ((h[13] ^ b[13]) & ~GSO_TCP_PSH) == 0 && gro_bytes_eq(h + 14, b + 14, 2) &&
	       gro_bytes_eq(h + 18, b + 18, (size_t)m->th_len - 18);
}

/* Are the IPv4 header and transport checksums of @q right? */
static bool gro_csum_ok(const struct pkt *q, const struct gro_meta *m)
{
	const uint8_t *ip = q->data;
	uint32_t l4_len = q->len - m->ip_hlen, sum;

	if (!m->is_v6 && csum_fold(csum_partial(ip, m->ip_hlen, 0)) != 0)
		return false;
	/*
	 * A UDP checksum field of 0: "no checksum" in IPv4 (the kernel takes it
	 * alone), invalid in IPv6 (RFC 8200 §8.1: dropped). Either way it may not
	 * join a group, whose segments come out with a computed checksum
	 * (0xffff where the sum is 0, RFC 768): written alone, as it is.
	 */
	if (m->proto == GSO_PROTO_UDP && csum_load(ip + m->ip_hlen + GSO_UDP_CHECK) == 0)
		return false;
	sum = csum_partial(ip + m->ip_hlen, l4_len, csum_pseudo(ip, m->is_v6, m->proto, l4_len));
	return csum_fold(sum) == 0;
}

void gro_csum_note(struct pkt *p, unsigned int flags)
{
	struct gro_meta m;

	/* Small: summing it on tun_tx costs less than reading its headers twice. */
	if (p->len < GRO_NOTE_MIN)
		return;
	gro_meta_read(p, &m, flags);
	if (m.can_merge && gro_csum_ok(p, &m))
		p->flags |= PKT_F_CSUM_OK;
}

/*
 * gro_csum_ok, unless the decrypt side already verified @q where it was hot.
 * @m: @q's headers, or NULL to read them only if they are needed.
 */
static bool gro_csum_known_ok(const struct pkt *q, const struct gro_meta *m)
{
	struct gro_meta own;

	if (q->flags & PKT_F_CSUM_OK)
		return true;
	if (!m) {
		gro_meta_read(q, &own, GRO_F_TCP | GRO_F_UDP);
		m = &own;
	}
	return gro_csum_ok(q, m);
}

static void gro_flow_start(struct gro_flow *f, struct pkt *q, const struct gro_meta *m)
{
	f->head = f->tail = q;
	f->head_ok = false;
	f->proto = m->proto;
	f->ip_hlen = m->ip_hlen;
	f->th_len = m->th_len;
	f->gso_size = (uint16_t)m->plen;
	f->nseg = 1;
	f->next_seq = m->seq + m->plen;
	f->l4_len = m->th_len + m->plen;
	/* A head with PSH cannot be followed: GRO keeps PSH on the last segment. */
	f->is_closed = !m->can_merge || (m->tcp_flags & GSO_TCP_PSH);
}

static void gro_flow_append(struct gro_flow *f, struct pkt *q, const struct gro_meta *m)
{
	f->tail->next = q;
	f->tail = q;
	f->nseg++;
	f->next_seq += m->plen;
	f->l4_len += m->plen;
	if (m->tcp_flags & GSO_TCP_PSH) {
		f->head->data[f->ip_hlen + 13] |= GSO_TCP_PSH;
		f->is_closed = true;
	}
	if (m->plen < f->gso_size)
		f->is_closed = true;
	(void)pkt_pull(q, (uint32_t)m->ip_hlen + m->th_len);
}

/* The group's flow slot, else a free or closed one, else the next victim. */
static struct gro_flow *gro_flow_find(struct gro_flow *ft, const struct pkt *q,
				      const struct gro_meta *m, unsigned int *victim, bool *found)
{
	struct gro_flow *spare = NULL;

	*found = false;
	for (unsigned int i = 0; i < GRO_FLOWS; i++) {
		struct gro_flow *f = &ft[i];

		if (!f->head) {
			spare = spare ? spare : f;
			continue;
		}
		if (gro_same_flow(f, q, m)) {
			*found = true;
			return f;
		}
		if (f->is_closed && !spare)
			spare = f;
	}
	if (spare)
		return spare;
	*victim = (*victim + 1) % GRO_FLOWS;
	return &ft[*victim];
}

/* One packet: joins its flow's group, or starts a group, or stays alone. */
static void gro_one(struct gro_flow *ft, unsigned int *victim, struct pkt *q,
		    const struct gro_meta *m, struct pkt **out, unsigned int *nout)
{
	struct gro_flow *f;
	bool found;

	if (!m->proto) {
		/* It may belong to any open group: none may take a packet that follows it. */
		for (unsigned int i = 0; m->is_opaque && i < GRO_FLOWS; i++)
			ft[i].is_closed = true;
		out[(*nout)++] = q;
		return;
	}
	f = gro_flow_find(ft, q, m, victim, &found);
	if (found && gro_can_append(f, q, m)) {
		if (!f->head_ok)
			f->head_ok = gro_csum_known_ok(f->head, NULL);
		if (f->head_ok && gro_csum_known_ok(q, m)) {
			gro_flow_append(f, q, m);
			return;
		}
		/* A bad checksum: this one goes alone, and nothing may pass it. */
		f->is_closed = true;
		out[(*nout)++] = q;
		return;
	}
	out[(*nout)++] = q;
	if (m->can_merge || found)
		gro_flow_start(f, q, m);
}

/* A group's IP and transport headers and its virtio-net header; singles get a zero one. */
static void gro_finish(struct pkt *h)
{
	struct vnet_hdr vh = { 0 };
	struct gro_meta m;
	uint32_t l4_len, nseg = 1;
	uint8_t *ip = h->data;

	if (h->next) {
		gro_meta_read(h, &m, GRO_F_TCP | GRO_F_UDP);
		l4_len = h->len - m.ip_hlen;
		for (struct pkt *q = h->next; q; q = q->next) {
			l4_len += q->len;
			nseg++;
		}
		if (m.is_v6) {
			store_be16(ip + 4, (uint16_t)l4_len);
		} else {
			store_be16(ip + 2, (uint16_t)(l4_len + m.ip_hlen));
			csum_store(ip + 10, csum_ipv4_hdr(ip, m.ip_hlen));
		}
		if (m.proto == GSO_PROTO_UDP)
			store_be16(ip + m.ip_hlen + 4, (uint16_t)l4_len);
		vh.flags = VNET_F_NEEDS_CSUM;
		vh.gso_type = m.proto == GSO_PROTO_UDP ? VNET_GSO_UDP_L4 :
			      m.is_v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4;
		vh.hdr_len = (uint16_t)(m.ip_hlen + m.th_len);
		vh.gso_size = (uint16_t)m.plen;
		vh.csum_start = m.ip_hlen;
		vh.csum_offset = m.proto == GSO_PROTO_UDP ? GSO_UDP_CHECK : GSO_TCP_CHECK;
		/* NEEDS_CSUM: the field holds the pseudo-header sum, not complemented. */
		csum_store(ip + m.ip_hlen + vh.csum_offset,
			   (uint16_t)~csum_fold(csum_pseudo(ip, m.is_v6, m.proto, l4_len)));
	}
	vnet_hdr_store(pkt_push(h, VNET_HDR_LEN), &vh);
}

unsigned int gro_coalesce(struct pkt **p, unsigned int n, struct pkt **out, unsigned int flags)
{
	struct gro_flow ft[GRO_FLOWS];
	unsigned int nout = 0, victim = GRO_FLOWS - 1;
	struct gro_meta m;

	memset(ft, 0, sizeof(ft));
	for (unsigned int i = 0; i < n; i++) {
		p[i]->next = NULL;
		gro_meta_read(p[i], &m, flags);
		gro_one(ft, &victim, p[i], &m, out, &nout);
	}
	for (unsigned int i = 0; i < nout; i++)
		gro_finish(out[i]);
	return nout;
}
