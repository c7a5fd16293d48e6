/* WS_NO_STDLIB builds (firmware without libc) copy and clear with ws.h's own loops in
   place of memcpy, memmove and memset: they must give what the C library gives (C99
   §7.21.2.1-2, §7.21.6.1), overlapping moves in either direction included, since the
   output queue moves its bytes down inside one buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define WS_NO_STDLIB
#define WS_IMPLEMENTATION
#include "../ws.h"

#define SPAN 24

static void fill(unsigned char *p) {
    size_t i;
    for (i = 0; i < SPAN; i++) p[i] = (unsigned char)(0xA0 + i);
}

/* Every source and destination offset and length inside one buffer: disjoint, equal
   and overlapping from below and from above, against libc's memmove on a copy. */
static void test_move_every_overlap(void **state) {
    size_t d, s, n;
    (void)state;
    for (d = 0; d < SPAN; d++)
        for (s = 0; s < SPAN; s++)
            for (n = 0; n <= SPAN - (d > s ? d : s); n++) {
                unsigned char got[SPAN], want[SPAN];
                fill(got), fill(want);
                memmove(want + d, want + s, n);
                assert_ptr_equal(WS_MEMMOVE(got + d, got + s, n), got + d);
                assert_memory_equal(got, want, SPAN);
            }
}

/* memcpy's cases (disjoint buffers) through WS_MEMCPY, every length. */
static void test_copy_disjoint(void **state) {
    unsigned char src[SPAN], dst[SPAN + 2];
    size_t n;
    (void)state;
    fill(src);
    for (n = 0; n <= SPAN; n++) {
        memset(dst, 0x55, sizeof dst);
        assert_ptr_equal(WS_MEMCPY(dst + 1, src, n), dst + 1);
        assert_memory_equal(dst + 1, src, n);
        assert_int_equal(dst[0], 0x55);     /* nothing before */
        assert_int_equal(dst[n + 1], 0x55); /* nor after */
    }
}

static void test_set(void **state) {
    unsigned char b[SPAN + 2];
    size_t n, i;
    (void)state;
    for (n = 0; n <= SPAN; n++) {
        memset(b, 0x55, sizeof b);
        assert_ptr_equal(WS_MEMSET(b + 1, 0, n), b + 1);
        for (i = 0; i < sizeof b; i++) assert_int_equal(b[i], i >= 1 && i <= n ? 0 : 0x55);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_move_every_overlap),
        cmocka_unit_test(test_copy_disjoint),
        cmocka_unit_test(test_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
