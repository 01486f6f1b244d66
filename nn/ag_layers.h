/* ag_layers.h: (to be written) */
#ifndef AG_LAYERS_H
#define AG_LAYERS_H
#include "ag_core.h"
#endif
