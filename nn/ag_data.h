/* ag_data.h: (to be written) */
#ifndef AG_DATA_H
#define AG_DATA_H
#include "ag_core.h"
#endif
