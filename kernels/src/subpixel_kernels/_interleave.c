/* Join and split kernels for subpixel's copy engine.
 *
 * join (shuffles):  dst[d + w * L + k] = src[s + k * lane + w]
 * split (unshuffles): dst[d + k * lane + w] = src[s + w * L + k]
 *
 * for w < width and k < L, over rows start..stop of a walk of three outer axes. The lane count L
 * and the element type are compile-time constants of each kernel, so the compiler turns the
 * groups into vector shuffles. Elements move as unsigned integers of their size: every dtype of
 * that size copies bit for bit.
 *
 * geometry (13 uint64): dst base, src base, width, lane step, then (count, dst step, src step) of
 * the three outer axes, outermost first; offsets and steps are in elements and never negative.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define ABI 1
#define GEOMETRY 13

enum { G_DST, G_SRC, G_WIDTH, G_LANE, G_N0, G_D0, G_S0, G_N1, G_D1, G_S1, G_N2, G_D2, G_S2 };

typedef void (*kernel_fn)(void *, const void *, const uint64_t *, uint64_t, uint64_t);

#define WALK_KERNEL(NAME, T, LANES, DST_AT, SRC_AT)                                                \
    static void NAME(void *dst_, const void *src_, const uint64_t *g, uint64_t start, uint64_t stop) \
    {                                                                                              \
        T *dst = (T *)dst_;                                                                        \
        const T *src = (const T *)src_;                                                            \
        const uint64_t n1 = g[G_N1], n2 = g[G_N2];                                                 \
        const uint64_t d0 = g[G_D0], d1 = g[G_D1], d2 = g[G_D2];                                   \
        const uint64_t s0 = g[G_S0], s1 = g[G_S1], s2 = g[G_S2];                                   \
        const uint64_t width = g[G_WIDTH], lane = g[G_LANE];                                       \
        uint64_t i2 = start % n2, i1 = (start / n2) % n1, i0 = start / n2 / n1;                    \
        uint64_t d = g[G_DST] + i0 * d0 + i1 * d1 + i2 * d2;                                       \
        uint64_t s = g[G_SRC] + i0 * s0 + i1 * s1 + i2 * s2;                                       \
        (void)lane;                                                                                \
        for (uint64_t row = start; row < stop; row++) {                                            \
            for (uint64_t w = 0; w < width; w++)                                                   \
                for (uint64_t k = 0; k < LANES; k++)                                               \
                    dst[DST_AT] = src[SRC_AT];                                                     \
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

#define JOIN_AT(L) d + w * (L) + k
#define JOIN_FROM(L) s + k * lane + w
#define SPLIT_AT(L) d + k * lane + w
#define SPLIT_FROM(L) s + w * (L) + k

#define KERNELS_OF(T, BYTES, L)                                                                    \
    WALK_KERNEL(join_##BYTES##_##L, T, L, JOIN_AT(L), JOIN_FROM(L))                                \
    WALK_KERNEL(split_##BYTES##_##L, T, L, SPLIT_AT(L), SPLIT_FROM(L))

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
    /* the far element of one row: w = width - 1, k = lanes - 1 */
    uint64_t grouped = mul_add(width - 1, lanes, lanes - 1, &overflow);
    uint64_t laned = mul_add(lanes - 1, lane, width - 1, &overflow);
    uint64_t dst_last = join ? d + grouped : d + laned;
    uint64_t src_last = join ? s + laned : s + grouped;
    if (dst_last < d || src_last < s)
        overflow = 1;
    return !overflow && dst_last < dst_len && src_last < src_len;
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
        Py_BEGIN_ALLOW_THREADS
        kernel(dst.buf, src.buf, g, start, stop);
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

#define DOC_JOIN "join_L(dst, src, geometry, start, stop): dst[d + w*L + k] = src[s + k*lane + w]"
#define DOC_SPLIT "split_L(dst, src, geometry, start, stop): dst[d + k*lane + w] = src[s + w*L + k]"
#define METHODS(L)                                                                                 \
    {"join_" #L, (PyCFunction)(void (*)(void))py_join_##L, METH_FASTCALL, DOC_JOIN},               \
    {"split_" #L, (PyCFunction)(void (*)(void))py_split_##L, METH_FASTCALL, DOC_SPLIT},

static PyMethodDef methods[] = {METHODS(2) METHODS(3) METHODS(4) METHODS(5) METHODS(6) METHODS(7)
                                    METHODS(8){NULL, NULL, 0, NULL}};

static int
exec_module(PyObject *module)
{
    PyObject *lanes = Py_BuildValue("(iiiiiii)", 2, 3, 4, 5, 6, 7, 8);
    PyObject *sizes = Py_BuildValue("(iiii)", 1, 2, 4, 8);
    int failed = lanes == NULL || sizes == NULL || PyModule_AddIntConstant(module, "ABI", ABI) < 0 ||
                 PyModule_AddObjectRef(module, "LANES", lanes) < 0 ||
                 PyModule_AddObjectRef(module, "ITEM_SIZES", sizes) < 0;
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
