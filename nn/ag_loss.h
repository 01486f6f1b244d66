/* ag_loss.h: (to be written) */
#ifndef AG_LOSS_H
#define AG_LOSS_H
#include "ag_core.h"
#endif
