// CPUFeatures: what the processor running riad can execute.
//
// RiadKernels is compiled for AVX-512; riad calls it only when this says the
// processor (and the operating system, which must save the wide registers)
// supports every instruction set that compilation may use.
#ifndef RIAD_CPU_FEATURES_H
#define RIAD_CPU_FEATURES_H

/// 1 when AVX-512 F/BW/DQ/VL, AVX2, FMA and BMI2 are all usable, else 0.
int riad_cpu_has_avx512(void);

/// The widest x86-64 vector level usable: 3 AVX-512 (as above), 2 AVX2 + FMA,
/// 1 AVX, 0 older or not x86-64.
int riad_cpu_isa_level(void);

#endif
