/*
** ag.h: the whole public API of the engine. See autograd/ag_core.h first:
** it is the manual for tensors, the tape and backward.
*/
#ifndef AG_H
#define AG_H

#include "ag_core.h"
#include "ag_unary.h"
#include "ag_binary.h"
#include "ag_reduce.h"
#include "ag_shape.h"
#include "ag_linalg.h"
#include "ag_random.h"

#endif
