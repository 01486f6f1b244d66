/* ag_optimizers.h: (to be written) */
#ifndef AG_OPTIMIZERS_H
#define AG_OPTIMIZERS_H
#include "ag_core.h"
#endif
