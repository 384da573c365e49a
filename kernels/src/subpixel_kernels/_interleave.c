/* Join and split kernels for subpixel's copy engine.
 *
 * join (shuffles):  dst[d + w * L + k] = src[s + at(k) + w]
 * split (unshuffles): dst[d + at(k) + w] = src[s + w * L + k]
 *
 * for w < width and k < L, over rows start..stop of a walk of three outer axes. A lane's offset
 * is at(k) = (k / inner) * outer + (k % inner) * lane: the lanes form L / inner runs of `inner`
 * lanes `lane` apart, the runs `outer` apart (inner = L: every lane `lane` apart; channels-last
 * copies, whose lanes are a factor of two axes, have inner < L). The lane count L and the element
 * type are compile-time constants of each kernel, so the compiler turns the groups into vector
 * shuffles. Elements move as unsigned integers of their size: every dtype of that size copies
 * bit for bit.
 *
 * geometry (15 uint64): dst base, src base, width, lane step, then (count, dst step, src step) of
 * the three outer axes, outermost first, then inner and outer; offsets and steps are in elements
 * and never negative, and inner divides L.
 *
 * On x86 CPUs with SSSE3 (checked at run time) two cases take byte shuffles instead of the loops:
 * rows of one-byte elements in four lanes (the 4x4 byte transposes of shuffles and unshuffles
 * by 4; rows of 32 groups or more take AVX2's 32-byte shuffles where the CPU has them), and
 * joins' short rows (under SHORT_ROW bytes) that lie back to back in dst, copied as a periodic
 * byte gather (see plan_gather). Both write exactly the bytes the loops write.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#endif

/* SUBPIXEL_KERNELS_BASELINE builds the portable loops alone (as non-x86 compilers do), for tests. */
#if !defined(SUBPIXEL_KERNELS_BASELINE) && (defined(__GNUC__) || defined(__clang__)) &&                  \
    (defined(__x86_64__) || defined(__i386__))
#define HAVE_SSSE3_PATHS 1
#include <immintrin.h>
#define SSSE3 __attribute__((target("ssse3")))
#define AVX2 __attribute__((target("avx2")))
#else
#define HAVE_SSSE3_PATHS 0
#endif

/* The loops are compiled twice where the loader picks a variant per CPU (GCC, glibc, x86-64):
 * for AVX2 and for the baseline. Elsewhere once, for the baseline. */
#if !defined(SUBPIXEL_KERNELS_BASELINE) && defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__GLIBC__)
#define CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CLONES
#endif

/* Which byte-shuffle paths run: the best this CPU has (set when the module loads), or a lower
 * level chosen by _set_simd in tests. */
enum { SIMD_NONE, SIMD_SSSE3, SIMD_AVX2 };
static const char *const SIMD_NAMES[] = {"", "ssse3", "avx2"};
static int use_simd = SIMD_NONE;

#define ABI 2
#define GEOMETRY 15

enum { G_DST, G_SRC, G_WIDTH, G_LANE, G_N0, G_D0, G_S0, G_N1, G_D1, G_S1, G_N2, G_D2, G_S2, G_INNER, G_OUTER };

/* Whether every lane is `lane` after the one before it (at(k) = k * lane). */
static inline int
evenly_spaced(const uint64_t *g, uint64_t lanes)
{
    return g[G_INNER] == lanes || g[G_OUTER] == g[G_INNER] * g[G_LANE];
}

typedef void (*kernel_fn)(void *, const void *, const uint64_t *, uint64_t, uint64_t);

typedef void (*row_fn)(uint8_t *, const uint8_t *, uint64_t, uint64_t);

#if HAVE_SSSE3_PATHS
/* Rows of 16 or more groups of four one-byte lanes, 16 groups per step; the last step ends at the
 * row's end, overlapping the one before it where width is not a multiple of 16 (it writes the same
 * bytes again). */
#define ROW_STEP 16

/* Steps of `step` groups that cover a row of `width` (>= step) groups, and where step i starts:
 * whole steps from the row's start, the last one ending at the row's end. */
static inline uint64_t
steps_of(uint64_t width, uint64_t step)
{
    return (width + step - 1) / step;
}

static inline uint64_t
step_start(uint64_t i, uint64_t steps, uint64_t width, uint64_t step)
{
    return i + 1 < steps ? i * step : width - step;
}

SSSE3 static void
split_row_1_4(uint8_t *restrict d, const uint8_t *restrict s, uint64_t width, uint64_t lane)
{
    /* each 16 source bytes (4 groups) to 4 bytes of each lane, then a 4x4 transpose of those */
    const __m128i by_lane = _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const uint64_t steps = steps_of(width, ROW_STEP);
    for (uint64_t i = 0; i < steps; i++) {
        const uint64_t w = step_start(i, steps, width, ROW_STEP);
        const uint8_t *p = s + 4 * w;
        __m128i a = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)p), by_lane);
        __m128i b = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), by_lane);
        __m128i c = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), by_lane);
        __m128i e = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), by_lane);
        __m128i ab0 = _mm_unpacklo_epi32(a, b), ab1 = _mm_unpackhi_epi32(a, b);
        __m128i ce0 = _mm_unpacklo_epi32(c, e), ce1 = _mm_unpackhi_epi32(c, e);
        _mm_storeu_si128((__m128i *)(d + w), _mm_unpacklo_epi64(ab0, ce0));
        _mm_storeu_si128((__m128i *)(d + lane + w), _mm_unpackhi_epi64(ab0, ce0));
        _mm_storeu_si128((__m128i *)(d + 2 * lane + w), _mm_unpacklo_epi64(ab1, ce1));
        _mm_storeu_si128((__m128i *)(d + 3 * lane + w), _mm_unpackhi_epi64(ab1, ce1));
    }
}

SSSE3 static void
join_row_1_4(uint8_t *restrict d, const uint8_t *restrict s, uint64_t width, uint64_t lane)
{
    /* the reverse: a 4x4 transpose of 4-byte pieces of the lanes, then each 16 bytes regrouped */
    const __m128i by_group = _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const uint64_t steps = steps_of(width, ROW_STEP);
    for (uint64_t i = 0; i < steps; i++) {
        const uint64_t w = step_start(i, steps, width, ROW_STEP);
        __m128i a = _mm_loadu_si128((const __m128i *)(s + w));
        __m128i b = _mm_loadu_si128((const __m128i *)(s + lane + w));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + 2 * lane + w));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + 3 * lane + w));
        __m128i ab0 = _mm_unpacklo_epi32(a, b), ab1 = _mm_unpackhi_epi32(a, b);
        __m128i ce0 = _mm_unpacklo_epi32(c, e), ce1 = _mm_unpackhi_epi32(c, e);
        uint8_t *q = d + 4 * w;
        _mm_storeu_si128((__m128i *)q, _mm_shuffle_epi8(_mm_unpacklo_epi64(ab0, ce0), by_group));
        _mm_storeu_si128((__m128i *)(q + 16), _mm_shuffle_epi8(_mm_unpackhi_epi64(ab0, ce0), by_group));
        _mm_storeu_si128((__m128i *)(q + 32), _mm_shuffle_epi8(_mm_unpacklo_epi64(ab1, ce1), by_group));
        _mm_storeu_si128((__m128i *)(q + 48), _mm_shuffle_epi8(_mm_unpackhi_epi64(ab1, ce1), by_group));
    }
}

/* The same transposes 32 groups per step with AVX2, for rows of 32 groups or more. The 32-byte
 * shuffles work within each 16-byte half, so one half ends with groups 0-3, 8-11, 16-19 and
 * 24-27 of a lane and the other with groups 4-7, 12-15, 20-23 and 28-31: a permutation of
 * 4-byte pieces puts them in order (split), or deals them out so before the transpose (join). */
#define WIDE_STEP 32

AVX2 static void
split_row_1_4_wide(uint8_t *restrict d, const uint8_t *restrict s, uint64_t width, uint64_t lane)
{
    const __m256i by_lane = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                             0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m256i in_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const uint64_t steps = steps_of(width, WIDE_STEP);
    for (uint64_t i = 0; i < steps; i++) {
        const uint64_t w = step_start(i, steps, width, WIDE_STEP);
        const uint8_t *p = s + 4 * w;
        __m256i a = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)p), by_lane);
        __m256i b = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p + 32)), by_lane);
        __m256i c = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p + 64)), by_lane);
        __m256i e = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(p + 96)), by_lane);
        __m256i ab0 = _mm256_unpacklo_epi32(a, b), ab1 = _mm256_unpackhi_epi32(a, b);
        __m256i ce0 = _mm256_unpacklo_epi32(c, e), ce1 = _mm256_unpackhi_epi32(c, e);
#define STORE_LANE(K, V) _mm256_storeu_si256((__m256i *)(d + (K) * lane + w), _mm256_permutevar8x32_epi32(V, in_order))
        STORE_LANE(0, _mm256_unpacklo_epi64(ab0, ce0));
        STORE_LANE(1, _mm256_unpackhi_epi64(ab0, ce0));
        STORE_LANE(2, _mm256_unpacklo_epi64(ab1, ce1));
        STORE_LANE(3, _mm256_unpackhi_epi64(ab1, ce1));
#undef STORE_LANE
    }
}

AVX2 static void
join_row_1_4_wide(uint8_t *restrict d, const uint8_t *restrict s, uint64_t width, uint64_t lane)
{
    const __m256i by_group = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                              0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m256i dealt = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    const uint64_t steps = steps_of(width, WIDE_STEP);
    for (uint64_t i = 0; i < steps; i++) {
        const uint64_t w = step_start(i, steps, width, WIDE_STEP);
#define LOAD_LANE(K) _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)(s + (K) * lane + w)), dealt)
        __m256i a = LOAD_LANE(0), b = LOAD_LANE(1), c = LOAD_LANE(2), e = LOAD_LANE(3);
#undef LOAD_LANE
        __m256i ab0 = _mm256_unpacklo_epi32(a, b), ab1 = _mm256_unpackhi_epi32(a, b);
        __m256i ce0 = _mm256_unpacklo_epi32(c, e), ce1 = _mm256_unpackhi_epi32(c, e);
        uint8_t *q = d + 4 * w;
        _mm256_storeu_si256((__m256i *)q, _mm256_shuffle_epi8(_mm256_unpacklo_epi64(ab0, ce0), by_group));
        _mm256_storeu_si256((__m256i *)(q + 32), _mm256_shuffle_epi8(_mm256_unpackhi_epi64(ab0, ce0), by_group));
        _mm256_storeu_si256((__m256i *)(q + 64), _mm256_shuffle_epi8(_mm256_unpacklo_epi64(ab1, ce1), by_group));
        _mm256_storeu_si256((__m256i *)(q + 96), _mm256_shuffle_epi8(_mm256_unpackhi_epi64(ab1, ce1), by_group));
    }
}

/* The row kernel for one element size, lane count and direction at this row width, or NULL. */
static row_fn
fast_row(uint64_t bytes, uint64_t lanes, int join, uint64_t width)
{
    if (bytes != 1 || lanes != 4)
        return NULL;
    if (use_simd >= SIMD_AVX2 && width >= WIDE_STEP)
        return join ? join_row_1_4_wide : split_row_1_4_wide;
    if (use_simd >= SIMD_SSSE3 && width >= ROW_STEP)
        return join ? join_row_1_4 : split_row_1_4;
    return NULL;
}
#define FAST_ROW(BYTES, L, JOIN, WIDTH) fast_row(BYTES, L, JOIN, WIDTH)
#else
#define FAST_ROW(BYTES, L, JOIN, WIDTH) ((row_fn)NULL)
#endif

#define WALK_KERNEL(NAME, T, LANES, DST_AT, SRC_AT, JOIN)                                          \
    CLONES static void NAME(void *dst_, const void *src_, const uint64_t *g, uint64_t start, uint64_t stop) \
    {                                                                                              \
        T *restrict dst = (T *)dst_;                                                               \
        const T *restrict src = (const T *)src_;                                                   \
        const int even = evenly_spaced(g, LANES);                                                  \
        const row_fn fast = even ? FAST_ROW(sizeof(T), LANES, JOIN, g[G_WIDTH]) : NULL;            \
        const uint64_t n1 = g[G_N1], n2 = g[G_N2];                                                 \
        const uint64_t d0 = g[G_D0], d1 = g[G_D1], d2 = g[G_D2];                                   \
        const uint64_t s0 = g[G_S0], s1 = g[G_S1], s2 = g[G_S2];                                   \
        const uint64_t width = g[G_WIDTH], lane = g[G_LANE];                                       \
        uint64_t at[LANES];                                                                        \
        for (uint64_t k = 0; k < LANES; k++)                                                       \
            at[k] = (k / g[G_INNER]) * g[G_OUTER] + (k % g[G_INNER]) * lane;                       \
        uint64_t i2 = start % n2, i1 = (start / n2) % n1, i0 = start / n2 / n1;                    \
        uint64_t d = g[G_DST] + i0 * d0 + i1 * d1 + i2 * d2;                                       \
        uint64_t s = g[G_SRC] + i0 * s0 + i1 * s1 + i2 * s2;                                       \
        for (uint64_t row = start; row < stop; row++) {                                            \
            if (fast != NULL)                                                                      \
                fast((uint8_t *)(dst + d), (const uint8_t *)(src + s), width, lane);               \
            else if (even)                                                                         \
                for (uint64_t w = 0; w < width; w++)                                               \
                    for (uint64_t k = 0; k < LANES; k++)                                           \
                        dst[DST_AT(LANES, k * lane)] = src[SRC_AT(LANES, k * lane)];               \
            else                                                                                   \
                for (uint64_t w = 0; w < width; w++)                                               \
                    for (uint64_t k = 0; k < LANES; k++)                                           \
                        dst[DST_AT(LANES, at[k])] = src[SRC_AT(LANES, at[k])];                     \
            /* the next row: the last outer axis fastest (unsigned arithmetic wraps exactly) */    \
            i2++;                                                                                  \
            d += d2;                                                                               \
            s += s2;                                                                               \
            if (i2 == n2) {                                                                        \
                i2 = 0;                                                                            \
                i1++;                                                                              \
                d += d1 - n2 * d2;                                                                 \
                s += s1 - n2 * s2;                                                                 \
                if (i1 == n1) {                                                                    \
                    i1 = 0;                                                                        \
                    d += d0 - n1 * d1;                                                             \
                    s += s0 - n1 * s1;                                                             \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

/* Where element (w, k) of a row lies, for a lane at offset AT (see the top of this file). */
#define JOIN_DST(L, AT) d + w * (L) + k
#define JOIN_SRC(L, AT) s + (AT) + w
#define SPLIT_DST(L, AT) d + (AT) + w
#define SPLIT_SRC(L, AT) s + w * (L) + k

#define KERNELS_OF(T, BYTES, L)                                                                    \
    WALK_KERNEL(join_##BYTES##_##L, T, L, JOIN_DST, JOIN_SRC, 1)                                   \
    WALK_KERNEL(split_##BYTES##_##L, T, L, SPLIT_DST, SPLIT_SRC, 0)

#define KERNELS_OF_SIZE(T, BYTES)                                                                  \
    KERNELS_OF(T, BYTES, 2)                                                                        \
    KERNELS_OF(T, BYTES, 3)                                                                        \
    KERNELS_OF(T, BYTES, 4)                                                                        \
    KERNELS_OF(T, BYTES, 5)                                                                        \
    KERNELS_OF(T, BYTES, 6)                                                                        \
    KERNELS_OF(T, BYTES, 7)                                                                        \
    KERNELS_OF(T, BYTES, 8)

KERNELS_OF_SIZE(uint8_t, 1)
KERNELS_OF_SIZE(uint16_t, 2)
KERNELS_OF_SIZE(uint32_t, 4)
KERNELS_OF_SIZE(uint64_t, 8)

/* Kernels by element size (1, 2, 4, 8 bytes -> 0..3) for one direction and lane count. */
#define BY_SIZE(DIRECTION, L) {DIRECTION##_1_##L, DIRECTION##_2_##L, DIRECTION##_4_##L, DIRECTION##_8_##L}

/* a * b + c, or 0 with *overflow set. */
static uint64_t
mul_add(uint64_t a, uint64_t b, uint64_t c, int *overflow)
{
    if (a != 0 && b > (UINT64_MAX - c) / a) {
        *overflow = 1;
        return 0;
    }
    return a * b + c;
}

/* Whether every element the walk can reach lies in buffers of dst_len and src_len elements. */
static int
walk_fits(const uint64_t *g, int join, uint64_t lanes, uint64_t rows, uint64_t dst_len, uint64_t src_len)
{
    int overflow = 0;
    uint64_t d = g[G_DST], s = g[G_SRC];
    const uint64_t width = g[G_WIDTH], lane = g[G_LANE];
    if (rows == 0 || width == 0)
        return 1;
    /* the far corner of the walk: every step is non-negative */
    d = mul_add(g[G_N0] - 1, g[G_D0], d, &overflow);
    d = mul_add(g[G_N1] - 1, g[G_D1], d, &overflow);
    d = mul_add(g[G_N2] - 1, g[G_D2], d, &overflow);
    s = mul_add(g[G_N0] - 1, g[G_S0], s, &overflow);
    s = mul_add(g[G_N1] - 1, g[G_S1], s, &overflow);
    s = mul_add(g[G_N2] - 1, g[G_S2], s, &overflow);
    /* the far element of one row: w = width - 1, k = lanes - 1 (the far lane: at(lanes - 1)) */
    const uint64_t inner = g[G_INNER];
    uint64_t grouped = mul_add(width - 1, lanes, lanes - 1, &overflow);
    uint64_t laned = mul_add(inner - 1, lane, width - 1, &overflow);
    laned = mul_add(lanes / inner - 1, g[G_OUTER], laned, &overflow);
    uint64_t dst_last = join ? d + grouped : d + laned;
    uint64_t src_last = join ? s + laned : s + grouped;
    if (dst_last < d || src_last < s)
        overflow = 1;
    return !overflow && dst_last < dst_len && src_last < src_len;
}

/* ---- short rows: a periodic byte gather --------------------------------------------------------
 *
 * A row under SHORT_ROW bytes costs the loops more in bookkeeping than in bytes. When the join's
 * rows along the innermost outer axis lie back to back in dst (d2 = width * L), one sweep of that
 * axis writes one contiguous run of dst whose source bytes repeat with a period: each
 * P = lcm(row bytes, 16) bytes of dst read the same pattern, `step` bytes further on in src.
 * (The engine hands such short rows to the join: channels-last shuffles to a few channels, and
 * unshuffles of images a few pixels high.) Each 16-byte vector of a period is built from up to WINDOWS unaligned 16-byte loads,
 * byte shuffles whose masks are made once per call, and one store.
 */
#define SHORT_ROW 32
#define MAX_PERIOD (16 * SHORT_ROW)
#define WINDOWS 3
/* Calls moving fewer bytes than this keep the loops (making the masks costs about a microsecond). */
#define GATHER_MIN_BYTES 4096

typedef struct {
    uint64_t row;                   /* bytes of one row */
    uint64_t period;                /* P, a multiple of 16 */
    uint64_t rows;                  /* rows per period */
    uint64_t step;                  /* src bytes from one period to the next */
    uint64_t reach;                 /* src bytes from a period's start to the end of its last load */
    uint64_t vectors;               /* P / 16 */
    uint64_t low[MAX_PERIOD / 16];  /* each vector's first load, from the period's start */
    uint8_t windows[MAX_PERIOD / 16];
    uint8_t mask[MAX_PERIOD / 16][WINDOWS][16];
} gather_plan;

static uint64_t
gcd(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Make the gather for a join's geometry, or return 0 where it does not apply. */
static int
plan_gather(gather_plan *p, uint64_t lanes, uint64_t item, const uint64_t *g)
{
    const uint64_t width = g[G_WIDTH], lane = g[G_LANE], s2 = g[G_S2];
    if (width == 0 || width >= SHORT_ROW || g[G_D2] != width * lanes || !evenly_spaced(g, lanes))
        return 0;
    p->row = width * lanes * item;
    /* some vector of a period holds bytes of two rows (unless rows are 16 bytes), so its loads span
     * s2 * item bytes or more: rows further apart than the windows reach are left to the loops
     * (s2 is compared first, so that s2 * item cannot wrap) */
    if (p->row >= SHORT_ROW || s2 > 16 * WINDOWS || s2 * item > 16 * WINDOWS)
        return 0;
    p->period = p->row / gcd(p->row, 16) * 16;
    p->rows = p->period / p->row;
    p->step = p->rows * s2 * item;
    p->vectors = p->period / 16;
    p->reach = 0;
    uint64_t from[MAX_PERIOD], n = 0;
    /* the source byte of each dst byte of one period, in dst order: dst w * L + k <- src k * lane + w */
    for (uint64_t r = 0; r < p->rows; r++)
        for (uint64_t w = 0; w < width; w++)
            for (uint64_t k = 0; k < lanes; k++)
                for (uint64_t t = 0; t < item; t++)
                    from[n++] = (r * s2 + k * lane + w) * item + t;
    for (uint64_t v = 0; v < p->vectors; v++) {
        const uint64_t *f = from + 16 * v;
        uint64_t low = f[0], high = f[0];
        for (int b = 1; b < 16; b++) {
            low = f[b] < low ? f[b] : low;
            high = f[b] > high ? f[b] : high;
        }
        uint64_t windows = (high - low) / 16 + 1;
        if (windows > WINDOWS)
            return 0;
        p->low[v] = low;
        p->windows[v] = (uint8_t)windows;
        for (uint64_t w = 0; w < WINDOWS; w++)
            for (int b = 0; b < 16; b++)  /* 0x80: a zero byte, ORed with the other windows' */
                p->mask[v][w][b] = (f[b] - low) / 16 == w ? (uint8_t)((f[b] - low) % 16) : 0x80;
        if (low + 16 * windows > p->reach)
            p->reach = low + 16 * windows;
    }
    return 1;
}

#if HAVE_SSSE3_PATHS
SSSE3 static void
gather_periods(uint8_t *restrict dst, const uint8_t *restrict src, const gather_plan *p, uint64_t periods)
{
    __m128i mask[MAX_PERIOD / 16][WINDOWS];
    for (uint64_t v = 0; v < p->vectors; v++)
        for (int w = 0; w < WINDOWS; w++)
            mask[v][w] = _mm_loadu_si128((const __m128i *)p->mask[v][w]);
#define LOAD_SHUFFLE(W) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(at + 16 * (W))), mask[v][W])
    for (uint64_t j = 0; j < periods; j++, dst += p->period, src += p->step)
        for (uint64_t v = 0; v < p->vectors; v++) {
            const uint8_t *at = src + p->low[v];
            __m128i out = LOAD_SHUFFLE(0);
            if (p->windows[v] > 1)
                out = _mm_or_si128(out, LOAD_SHUFFLE(1));
            if (p->windows[v] > 2)
                out = _mm_or_si128(out, LOAD_SHUFFLE(2));
            _mm_storeu_si128((__m128i *)(dst + 16 * v), out);
        }
#undef LOAD_SHUFFLE
}
#endif

/* Copy rows start..stop: whole sweeps of the innermost outer axis by the gather where `p` is not
 * NULL, the rest (and the periods whose loads would reach past src_bytes) by the kernel. */
static void
copy_rows(kernel_fn kernel, const gather_plan *p, uint8_t *dst, const uint8_t *src, uint64_t item,
          const uint64_t *g, uint64_t start, uint64_t stop, uint64_t src_bytes)
{
#if HAVE_SSSE3_PATHS
    const uint64_t n2 = g[G_N2], n1 = g[G_N1];
    const uint64_t first = (start + n2 - 1) / n2 * n2, last = stop / n2 * n2;
    if (p != NULL && first < last && n2 >= p->rows) {
        kernel(dst, src, g, start, first);
        for (uint64_t sweep = first / n2; sweep < last / n2; sweep++) {
            const uint64_t i0 = sweep / n1, i1 = sweep % n1;
            const uint64_t d = (g[G_DST] + i0 * g[G_D0] + i1 * g[G_D1]) * item;
            const uint64_t s = (g[G_SRC] + i0 * g[G_S0] + i1 * g[G_S1]) * item;
            uint64_t periods = n2 / p->rows;
            /* the periods whose loads stay in src; a zero step (a source broadcast along the
             * innermost outer axis) reads the same bytes in every period */
            if (s + p->reach > src_bytes)
                periods = 0;
            else if (p->step != 0 && periods > (src_bytes - s - p->reach) / p->step + 1)
                periods = (src_bytes - s - p->reach) / p->step + 1;
            gather_periods(dst + d, src + s, p, periods);
            kernel(dst, src, g, sweep * n2 + periods * p->rows, (sweep + 1) * n2);
        }
        kernel(dst, src, g, last, stop);
        return;
    }
#else
    (void)p, (void)item, (void)src_bytes;
#endif
    kernel(dst, src, g, start, stop);
}

static int
read_index(PyObject *object, const char *name, uint64_t *value)
{
    PyObject *index = PyNumber_Index(object);
    if (index == NULL)
        return -1;
    *value = PyLong_AsUnsignedLongLong(index);
    Py_DECREF(index);
    if (*value == (uint64_t)-1 && PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError, "%s must be a non-negative integer below 2**64", name);
        return -1;
    }
    return 0;
}

static int
geometry_ok(const Py_buffer *view)
{
    const char *format = view->format ? view->format : "B";
    if (*format == '@' || *format == '=' || *format == '<' || *format == '!' || *format == '>')
        format++; /* one byte order is all an 8-byte unsigned format can mean here: native */
    return view->itemsize == 8 && (strcmp(format, "Q") == 0 || strcmp(format, "L") == 0) &&
           view->len == GEOMETRY * 8;
}

static PyObject *
run(const char *name, int join, uint64_t lanes, const kernel_fn kernels[4], PyObject *const *args,
    Py_ssize_t nargs)
{
    Py_buffer dst, src, geometry;
    uint64_t start, stop;
    PyObject *result = NULL;
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "%s(dst, src, geometry, start, stop) takes 5 arguments (%zd given)",
                     name, nargs);
        return NULL;
    }
    if (read_index(args[3], "start", &start) < 0 || read_index(args[4], "stop", &stop) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[0], &dst, PyBUF_WRITABLE | PyBUF_ND) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &src, PyBUF_ND) < 0)
        goto release_dst;
    if (PyObject_GetBuffer(args[2], &geometry, PyBUF_ND | PyBUF_FORMAT) < 0)
        goto release_src;
    int size = dst.itemsize == 1 ? 0 : dst.itemsize == 2 ? 1 : dst.itemsize == 4 ? 2 : dst.itemsize == 8 ? 3 : -1;
    if (size < 0 || src.itemsize != dst.itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: dst and src must have one element size of 1, 2, 4 or 8 bytes, "
                     "not %zd and %zd", name, dst.itemsize, src.itemsize);
        goto release_all;
    }
    if (!geometry_ok(&geometry)) {
        PyErr_Format(PyExc_ValueError, "%s: geometry must be %d unsigned 64-bit integers", name, GEOMETRY);
        goto release_all;
    }
    const uint64_t *g = (const uint64_t *)geometry.buf;
    if (g[G_INNER] == 0 || lanes % g[G_INNER] != 0) {
        PyErr_Format(PyExc_ValueError, "%s: inner must divide the lane count %llu, not be %llu", name,
                     (unsigned long long)lanes, (unsigned long long)g[G_INNER]);
        goto release_all;
    }
    int overflow = 0;
    uint64_t rows = mul_add(mul_add(g[G_N0], g[G_N1], 0, &overflow), g[G_N2], 0, &overflow);
    if (overflow || start > stop || stop > rows) {
        PyErr_Format(PyExc_ValueError, "%s: rows %llu to %llu are outside the walk's %llu rows", name,
                     (unsigned long long)start, (unsigned long long)stop, (unsigned long long)rows);
        goto release_all;
    }
    if (start < stop && !walk_fits(g, join, lanes, rows, (uint64_t)(dst.len / dst.itemsize),
                                   (uint64_t)(src.len / src.itemsize))) {
        PyErr_Format(PyExc_ValueError, "%s: the geometry reaches past the end of dst or src", name);
        goto release_all;
    }
    if (start < stop) {
        kernel_fn kernel = kernels[size];
        gather_plan plan;
        const uint64_t moved = (stop - start) * g[G_WIDTH] * lanes * (uint64_t)dst.itemsize;
        const int gather = use_simd && join && moved >= GATHER_MIN_BYTES &&
                           plan_gather(&plan, lanes, (uint64_t)dst.itemsize, g);
        Py_BEGIN_ALLOW_THREADS
        copy_rows(kernel, gather ? &plan : NULL, dst.buf, src.buf, (uint64_t)dst.itemsize, g, start, stop,
                  (uint64_t)src.len);
        Py_END_ALLOW_THREADS
    }
    result = Py_None;
    Py_INCREF(result);
release_all:
    PyBuffer_Release(&geometry);
release_src:
    PyBuffer_Release(&src);
release_dst:
    PyBuffer_Release(&dst);
    return result;
}

#define ENTRY(DIRECTION, JOIN, L)                                                                  \
    static const kernel_fn DIRECTION##_##L##_kernels[4] = BY_SIZE(DIRECTION, L);                   \
    static PyObject *py_##DIRECTION##_##L(PyObject *module, PyObject *const *args, Py_ssize_t nargs) \
    {                                                                                              \
        (void)module;                                                                              \
        return run(#DIRECTION "_" #L, JOIN, L, DIRECTION##_##L##_kernels, args, nargs);            \
    }

#define ENTRIES(L) ENTRY(join, 1, L) ENTRY(split, 0, L)
ENTRIES(2)
ENTRIES(3)
ENTRIES(4)
ENTRIES(5)
ENTRIES(6)
ENTRIES(7)
ENTRIES(8)

#define DOC_JOIN "join_L(dst, src, geometry, start, stop): dst[d + w*L + k] = src[s + at(k) + w]"
#define DOC_SPLIT "split_L(dst, src, geometry, start, stop): dst[d + at(k) + w] = src[s + w*L + k]"
#define METHODS(L)                                                                                 \
    {"join_" #L, (PyCFunction)(void (*)(void))py_join_##L, METH_FASTCALL, DOC_JOIN},               \
    {"split_" #L, (PyCFunction)(void (*)(void))py_split_##L, METH_FASTCALL, DOC_SPLIT},

/* The best byte-shuffle paths this CPU and build run. */
static int
simd_supported(void)
{
#if HAVE_SSSE3_PATHS
    if (__builtin_cpu_supports("avx2"))
        return SIMD_AVX2;
    return __builtin_cpu_supports("ssse3") ? SIMD_SSSE3 : SIMD_NONE;
#else
    return SIMD_NONE;
#endif
}

static PyObject *
py_set_simd(PyObject *module, PyObject *level)
{
    (void)module;
    int wanted = -1;
    if (PyBool_Check(level))
        wanted = level == Py_True ? SIMD_AVX2 : SIMD_NONE;
    else if (PyUnicode_Check(level))
        for (int i = SIMD_NONE; i <= SIMD_AVX2; i++)
            if (PyUnicode_CompareWithASCIIString(level, SIMD_NAMES[i]) == 0)
                wanted = i;
    if (wanted < 0) {
        PyErr_Format(PyExc_ValueError, "_set_simd: level must be True, False, '', 'ssse3' or 'avx2', not %R", level);
        return NULL;
    }
    PyObject *previous = PyUnicode_FromString(SIMD_NAMES[use_simd]);
    const int best = simd_supported();
    use_simd = wanted < best ? wanted : best;
    return previous;
}

static PyMethodDef methods[] = {
    METHODS(2) METHODS(3) METHODS(4) METHODS(5) METHODS(6) METHODS(7) METHODS(8)
    {"_set_simd", py_set_simd, METH_O,
     "_set_simd(level): run the byte-shuffle paths up to level ('avx2', 'ssse3'; True: the best the CPU "
     "has) where the CPU has them, or the loops only ('' or False); returns the previous level (for tests)"},
    {NULL, NULL, 0, NULL}};

static int
exec_module(PyObject *module)
{
    use_simd = simd_supported();
    PyObject *lanes = Py_BuildValue("(iiiiiii)", 2, 3, 4, 5, 6, 7, 8);
    PyObject *sizes = Py_BuildValue("(iiii)", 1, 2, 4, 8);
    int failed = lanes == NULL || sizes == NULL || PyModule_AddIntConstant(module, "ABI", ABI) < 0 ||
                 PyModule_AddObjectRef(module, "LANES", lanes) < 0 ||
                 PyModule_AddObjectRef(module, "ITEM_SIZES", sizes) < 0 ||
                 PyModule_AddStringConstant(module, "SIMD", SIMD_NAMES[use_simd]) < 0;
    Py_XDECREF(lanes);
    Py_XDECREF(sizes);
    return failed ? -1 : 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_interleave",
    "Join and split kernels of subpixel's copy engine (see subpixel_kernels).", 0, methods, slots,
    NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__interleave(void)
{
    return PyModuleDef_Init(&module_def);
}
