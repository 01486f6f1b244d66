/*
** png.c: the PNG writer of png.h. A PNG is a signature and chunks (length,
** type, data, CRC-32 of type and data): IHDR (size, 8-bit greyscale), one
** IDAT holding a zlib stream, IEND. The zlib stream is a 2-byte header,
** deflate blocks of type 0 (stored: each at most 65,535 bytes, with its
** length and the length's complement), and the Adler-32 of the raw data;
** the raw data is each row prefixed with filter byte 0 (none).
*/
#include "png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* One chunk: length, type, data, CRC. 0 or -1. */
static int chunk(FILE *f, const char *type, const uint8_t *data, uint32_t n)
{
    uint8_t head[8], tail[4];
    be32(head, n);
    memcpy(head + 4, type, 4);
    uint32_t crc = crc_update(0xffffffffu, head + 4, 4);
    crc = crc_update(crc, data, n) ^ 0xffffffffu;
    be32(tail, crc);
    return fwrite(head, 1, 8, f) == 8 && fwrite(data, 1, n, f) == n &&
           fwrite(tail, 1, 4, f) == 4 ? 0 : -1;
}

/* The zlib stream of raw (n bytes) in stored blocks, into z (room for
   n + 6 + 5 per 65,535 bytes); returns its length. */
static size_t zlib_stored(const uint8_t *raw, size_t n, uint8_t *z)
{
    size_t o = 0;
    uint32_t a = 1, b = 0;
    z[o++] = 0x78, z[o++] = 0x01;              /* deflate, 32 KB window, no dict */
    for (size_t i = 0; i < n || i == 0; i += 65535) {
        size_t len = n - i < 65535 ? n - i : 65535;
        z[o++] = i + len >= n;                 /* BFINAL on the last block, BTYPE 00 */
        z[o++] = (uint8_t)len, z[o++] = (uint8_t)(len >> 8);
        z[o++] = (uint8_t)~len, z[o++] = (uint8_t)(~len >> 8);
        memcpy(z + o, raw + i, len);
        o += len;
        if (n == 0) break;
    }
    for (size_t i = 0; i < n; i++) a = (a + raw[i]) % 65521, b = (b + a) % 65521;
    be32(z + o, b << 16 | a);
    return o + 4;
}

int png_write_gray(const char *path, const uint8_t *pix, int w, int h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, none[1];
    if (w < 1 || h < 1 || w > 65535 || h > 65535) return -1;
    size_t n = (size_t)h * (w + 1), cap = n + 6 + 5 * (n / 65535 + 1);
    uint8_t *raw = malloc(n), *z = malloc(cap), ihdr[13];
    FILE *f = raw && z ? fopen(path, "wb") : NULL;
    int rc = -1;
    if (f) {
        for (int y = 0; y < h; y++) {          /* filter byte 0, then the row */
            raw[(size_t)y * (w + 1)] = 0;
            memcpy(raw + (size_t)y * (w + 1) + 1, pix + (size_t)y * w, (size_t)w);
        }
        crc_init();
        be32(ihdr, (uint32_t)w), be32(ihdr + 4, (uint32_t)h);
        ihdr[8] = 8, ihdr[9] = 0, ihdr[10] = ihdr[11] = ihdr[12] = 0;   /* 8-bit grey */
        size_t zn = zlib_stored(raw, n, z);
        rc = fwrite(sig, 1, 8, f) == 8 && !chunk(f, "IHDR", ihdr, 13) &&
             !chunk(f, "IDAT", z, (uint32_t)zn) && !chunk(f, "IEND", none, 0) ? 0 : -1;
        if (fclose(f)) rc = -1;
    }
    free(raw), free(z);
    return rc;
}
