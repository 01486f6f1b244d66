/*
** conv_portable.c: the convolution's row kernels in plain C, for any CPU
** (the template conv_rows_internal.h with the build's own flags), and the
** choice of the table conv_kernel.c runs.
*/
#include "ag_ops_internal.h"
#include "conv_internal.h"

#define CONV_ISA AGI_ISA_PORTABLE
#define CONV_TABLE agi_conv_rows_portable
#define CONV_NAME "portable"
#include "conv_rows_internal.h"

const agi_conv_rows *agi_conv_rows_now(void)
{
#if defined(AGI_ISA_X86)
    static const agi_conv_rows *const paths[AGI_ISA_COUNT] = {
        &agi_conv_rows_portable, &agi_conv_rows_avx2, &agi_conv_rows_avx512};
    return paths[agi_isa()];
#else
    return &agi_conv_rows_portable;
#endif
}
