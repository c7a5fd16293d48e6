/* Cortex-M startup for the ws.h firmware demo: the vector table, .data/.bss set-up and a
   painted stack, so the session can report the deepest stack it really used. No libc:
   everything the image needs is here, in session.c and in ws.h. */
#include <stdint.h>
#include "semihost.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _stack_bottom[], _stack_top[];
int main(void);

#define FW_PAINT 0x5A5A5A5Au

/* Bytes of the stack region ever written: the painted words above the deepest point
   are gone. */
uint32_t fw_stack_used(void) {
    const uint32_t *p = _stack_bottom;
    while (p < _stack_top && *p == FW_PAINT) p++;
    return (uint32_t)((uintptr_t)_stack_top - (uintptr_t)p);
}

__attribute__((noreturn)) void Reset_Handler(void) {
    uint32_t *d = _sdata, *s = _sidata;
    volatile uint32_t *w = _stack_bottom;
    while (d < _edata) *d++ = *s++;
    for (d = _sbss; d < _ebss; d++) *d = 0;
    /* Paint the stack below this frame (leave 64 bytes for it). */
    while ((uintptr_t)w < (uintptr_t)__builtin_frame_address(0) - 64) *w++ = FW_PAINT;
    fw_exit(main() == 0);
    for (;;) {
    }
}

static void fault(void) {
    fw_puts("firmware: FAULT (hard fault or unexpected exception)\n");
    fw_exit(0);
}

/* The minimum vector table: initial SP, reset, NMI, HardFault, then the other
   fixed exceptions (all fatal here). */
__attribute__((section(".vectors"), used)) void (*const fw_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)_stack_top, Reset_Handler, fault, fault, fault, fault, fault,
    0, 0, 0, 0, fault, fault, 0, fault, fault,
};
