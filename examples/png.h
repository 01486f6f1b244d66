/*
** png.h: writes an 8-bit greyscale PNG with no compression library: the
** image data goes into stored (uncompressed) deflate blocks, which every
** PNG reader takes, so a picture of a few hundred kilobytes needs no zlib.
** For the examples' image grids (autoencoder reconstructions).
*/
#ifndef EXAMPLES_PNG_H
#define EXAMPLES_PNG_H

#include <stdint.h>

/* Writes the w x h greyscale image pix (row-major, one byte per pixel,
   0 black) to path. Returns 0, or -1 when the file cannot be written or
   w, h are not in [1, 65535]. */
int png_write_gray(const char *path, const uint8_t *pix, int w, int h);

#endif
