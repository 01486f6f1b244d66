/* ag_lbfgs.h: (to be written) */
#ifndef AG_LBFGS_H
#define AG_LBFGS_H
#include "ag_core.h"
#endif
