/* ag_clip.h: (to be written) */
#ifndef AG_CLIP_H
#define AG_CLIP_H
#include "ag_core.h"
#endif
