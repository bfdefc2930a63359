/* Reads the human-readable description of an ICC profile. */
#include <string.h>

#include "err.h"
#include "icc.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_utf8(char *out, size_t outlen, size_t *n, unsigned cp)
{
    char tmp[4];
    size_t k;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xC0 | cp >> 6);
        tmp[1] = (char)(0x80 | (cp & 0x3F));
        k = 2;
    } else {
        tmp[0] = (char)(0xE0 | cp >> 12);
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        tmp[2] = (char)(0x80 | (cp & 0x3F));
        k = 3;
    }
    if (*n + k < outlen) {
        memcpy(out + *n, tmp, k);
        *n += k;
    }
}

int icc_description(const uint8_t *icc, size_t len, char *out, size_t outlen)
{
    if (!outlen)
        return TP_ERR(EINVAL);
    out[0] = '\0';
    if (len < 132)
        return TP_ERR_INVALIDDATA;
    uint32_t count = be32(icc + 128);
    if (count > (len - 132) / 12)
        return TP_ERR_INVALIDDATA;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *t = icc + 132 + 12 * i;
        if (memcmp(t, "desc", 4))
            continue;
        uint32_t off = be32(t + 4), size = be32(t + 8);
        if (off > len || size > len - off || size < 12)
            return TP_ERR_INVALIDDATA;
        const uint8_t *d = icc + off;
        size_t n = 0;
        if (!memcmp(d, "desc", 4)) {
            uint32_t l = be32(d + 8);
            if (l > size - 12)
                l = size - 12;
            for (uint32_t k = 0; k < l && d[12 + k]; k++)
                if (n + 1 < outlen && d[12 + k] >= 0x20 && d[12 + k] < 0x7f)
                    out[n++] = (char)d[12 + k];
        } else if (!memcmp(d, "mluc", 4) && size >= 28) {
            uint32_t nrec = be32(d + 8);
            if (nrec < 1)
                return TP_ERR_INVALIDDATA;
            uint32_t l = be32(d + 20), so = be32(d + 24);
            if (so > size || l > size - so)
                return TP_ERR_INVALIDDATA;
            for (uint32_t k = 0; k + 1 < l; k += 2) {
                unsigned cp = (unsigned)d[so + k] << 8 | d[so + k + 1];
                if (!cp)
                    break;
                if (cp >= 0x20 && (cp < 0xD800 || cp > 0xDFFF))
                    put_utf8(out, outlen, &n, cp);
            }
        } else {
            return TP_ERR_UNSUPPORTED;
        }
        out[n] = '\0';
        return n ? 0 : TP_ERR_NOTFOUND;
    }
    return TP_ERR_NOTFOUND;
}
