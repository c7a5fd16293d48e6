/* ARM semihosting (the debugger/emulator's console and exit), the only I/O this demo
   has. On a real board without a debugger attached, `bkpt` would halt the core: route
   fw_puts to a UART there instead. */
#ifndef FW_SEMIHOST_H
#define FW_SEMIHOST_H

#define FW_SYS_WRITE0 0x04
#define FW_SYS_EXIT 0x18
#define FW_EXIT_OK 0x20026   /* ADP_Stopped_ApplicationExit: qemu exits with status 0 */
#define FW_EXIT_FAIL 0x20023 /* ADP_Stopped_RunTimeErrorUnknown: qemu exits with 1 */

static inline int fw_semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static inline void fw_puts(const char *s) { fw_semihost(FW_SYS_WRITE0, s); }

static inline void fw_exit(int ok) {
    fw_semihost(FW_SYS_EXIT, (const void *)(ok ? FW_EXIT_OK : FW_EXIT_FAIL));
    for (;;) {
    }
}

#endif
