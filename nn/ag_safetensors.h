/* ag_safetensors.h: (to be written) */
#ifndef AG_SAFETENSORS_H
#define AG_SAFETENSORS_H
#include "ag_core.h"
#endif
