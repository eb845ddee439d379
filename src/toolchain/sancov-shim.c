/* Linked into an extension module built for fuzzing (`pyz3 build --fuzz`): weak, empty
   definitions of the coverage callbacks that -fsanitize=fuzzer-no-link makes the module call.
   With them the module imports in a plain interpreter (tests, pyz3's signature discovery),
   where the callbacks do nothing. Inside a libFuzzer binary that exports the real ones (pyz3's
   fuzz targets link with --export-dynamic), the dynamic linker binds the module to the
   binary's definitions, which come first in the lookup order: its counters register with
   libFuzzer and its comparisons are traced. Compiled without coverage instrumentation. */
#include <stdint.h>
#define NS __attribute__((weak, no_sanitize("coverage"), visibility("default")))
__attribute__((weak, visibility("default"))) __thread uintptr_t __sancov_lowest_stack;
NS void __sanitizer_cov_8bit_counters_init(uint8_t *a, uint8_t *b) {}
NS void __sanitizer_cov_pcs_init(const uintptr_t *a, const uintptr_t *b) {}
NS void __sanitizer_cov_trace_cmp1(uint8_t a, uint8_t b) {}
NS void __sanitizer_cov_trace_cmp2(uint16_t a, uint16_t b) {}
NS void __sanitizer_cov_trace_cmp4(uint32_t a, uint32_t b) {}
NS void __sanitizer_cov_trace_cmp8(uint64_t a, uint64_t b) {}
NS void __sanitizer_cov_trace_const_cmp1(uint8_t a, uint8_t b) {}
NS void __sanitizer_cov_trace_const_cmp2(uint16_t a, uint16_t b) {}
NS void __sanitizer_cov_trace_const_cmp4(uint32_t a, uint32_t b) {}
NS void __sanitizer_cov_trace_const_cmp8(uint64_t a, uint64_t b) {}
NS void __sanitizer_cov_trace_switch(uint64_t v, uint64_t *c) {}
NS void __sanitizer_cov_trace_div4(uint32_t v) {}
NS void __sanitizer_cov_trace_div8(uint64_t v) {}
NS void __sanitizer_cov_trace_gep(uintptr_t i) {}
NS void __sanitizer_cov_trace_pc_indir(uintptr_t c) {}
