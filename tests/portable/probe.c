/* What the cross-test runner checks before trusting a target's results: that the binary
   under qemu really is the byte order and word size it was built to test (a big-endian
   run that silently ran little-endian would prove nothing). Prints "<order> <bits>",
   then the compiler that built it. */
#include <stdio.h>
#include <stdint.h>

int main(void) {
    const uint32_t one = 1;
    const unsigned char *b = (const unsigned char *)&one;
    printf("%s %u\n", b[0] == 1 ? "little" : "big", (unsigned)(sizeof(void *) * 8));
#ifdef __clang__
    printf("%s\n", __VERSION__);
#else
    printf("gcc %s\n", __VERSION__);
#endif
    return 0;
}
