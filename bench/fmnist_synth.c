/*
** fmnist_synth.c: synthetic stand-ins for Fashion-MNIST's training files,
** for bench/run.sh when the real data is absent: DIR/train-images-idx3-ubyte
** (60,000 images of 28x28 bytes) and DIR/train-labels-idx1-ubyte (labels
** 0-9), in the IDX format, from a fixed xorshift stream. The files have the
** real ones' shapes, so an epoch over them does the same work; the loss
** means nothing. Plain C, no library.
**
**   fmnist_synth DIR
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define COUNT 60000
#define SIDE 28

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Writes an IDX header (magic 0x0803 or 0x0801, then the dims) and n
   bytes from the stream, each below mod; 0, or -1 on an I/O error. */
static int write_idx(const char *path, int ndim, const uint32_t *dims, long n, int mod,
                     uint64_t *s)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char head[4 + 4 * 3] = {0, 0, 0x08, (unsigned char)ndim};
    for (int d = 0; d < ndim; d++)
        for (int b = 0; b < 4; b++) head[4 + 4 * d + b] = (unsigned char)(dims[d] >> (24 - 8 * b));
    int ok = fwrite(head, 1, (size_t)(4 + 4 * ndim), f) == (size_t)(4 + 4 * ndim);
    for (long i = 0; ok && i < n; i++) ok = fputc((int)(next(s) >> 33) % mod, f) != EOF;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) return fprintf(stderr, "usage: fmnist_synth DIR\n"), 2;
    char images[4096], labels[4096];
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte", argv[1]);
    snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte", argv[1]);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    if (write_idx(images, 3, (uint32_t[]){COUNT, SIDE, SIDE}, (long)COUNT * SIDE * SIDE, 256,
                  &s) ||
        write_idx(labels, 1, (uint32_t[]){COUNT}, COUNT, 10, &s)) {
        perror("fmnist_synth");
        return 1;
    }
    return 0;
}
