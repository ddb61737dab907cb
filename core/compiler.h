/* compiler.h - attributes and branch hints shared by every folder. */
#ifndef SLUICE_COMPILER_H
#define SLUICE_COMPILER_H

#include <stdalign.h>

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define __must_check	__attribute__((warn_unused_result))
#define __unused	__attribute__((unused))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define CACHELINE	64
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

/* Work per loop iteration (STYLE.md §4.3): 32 packets keeps a burst in L1. */
#define BURST_MAX	32

#endif
