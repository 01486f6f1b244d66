/* ag_sched.h: (to be written) */
#ifndef AG_SCHED_H
#define AG_SCHED_H
#include "ag_core.h"
#endif
