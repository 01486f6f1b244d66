/* ag_threads.h: (to be written) */
#ifndef AG_THREADS_H
#define AG_THREADS_H
#include "ag_core.h"
#endif
