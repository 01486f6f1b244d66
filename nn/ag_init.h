/* ag_init.h: (to be written) */
#ifndef AG_INIT_H
#define AG_INIT_H
#include "ag_core.h"
#endif
