/* ag_checkpoint.h: (to be written) */
#ifndef AG_CHECKPOINT_H
#define AG_CHECKPOINT_H
#include "ag_core.h"
#endif
