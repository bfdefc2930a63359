/* Minimal EXIF (TIFF) reader/editor.  Every offset read from the data is
 * range-checked against len before use; IFD chains are bounded. */
#include <math.h>
#include <string.h>

#include "err.h"
#include "exif.h"

#define TAG_MAKE 0x010f
#define TAG_MODEL 0x0110
#define TAG_ORIENTATION 0x0112
#define TAG_EXIF_IFD 0x8769
#define TAG_GPS_IFD 0x8825
#define TAG_DATETIME_ORIGINAL 0x9003
#define TAG_OFFSET_TIME_ORIGINAL 0x9011
#define TAG_MAKER_NOTE 0x927c
#define TAG_APPLE_CONTENT_ID 0x0011
#define TAG_GPS_LATREF 1
#define TAG_GPS_LAT 2
#define TAG_GPS_LONREF 3
#define TAG_GPS_LON 4

#define MAX_ENTRIES 1024

struct tiff {
    uint8_t *d;         /* writable only in the editing functions */
    size_t len;
    int le;
};

static unsigned rd16(const struct tiff *t, size_t off)
{
    const uint8_t *p = t->d + off;
    return t->le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const struct tiff *t, size_t off)
{
    const uint8_t *p = t->d + off;
    return t->le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
                 : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static void wr16(struct tiff *t, size_t off, unsigned v)
{
    uint8_t *p = t->d + off;
    if (t->le) {
        p[0] = v & 0xff;
        p[1] = (v >> 8) & 0xff;
    } else {
        p[0] = (v >> 8) & 0xff;
        p[1] = v & 0xff;
    }
}

static int open_tiff(struct tiff *t, const uint8_t *data, size_t len)
{
    if (len < 8)
        return TP_ERR_INVALIDDATA;
    t->d = (uint8_t *)(uintptr_t)data;
    t->len = len;
    if (!memcmp(data, "II*\0", 4))
        t->le = 1;
    else if (!memcmp(data, "MM\0*", 4))
        t->le = 0;
    else
        return TP_ERR_INVALIDDATA;
    return 0;
}

static const unsigned type_size[13] = { 0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8 };

/* Offset of an entry's value (inline or pointed to) if count*size fits. */
static int entry_value(const struct tiff *t, size_t entry, size_t *off_out, uint32_t *count_out,
                       unsigned *type_out)
{
    unsigned type = rd16(t, entry + 2);
    uint32_t count = rd32(t, entry + 4);
    if (type == 0 || type > 12)
        return TP_ERR_INVALIDDATA;
    uint64_t bytes = (uint64_t)count * type_size[type];
    size_t off = entry + 8;
    if (bytes > 4)
        off = rd32(t, entry + 8);
    if (off > t->len || bytes > t->len - off)
        return TP_ERR_INVALIDDATA;
    *off_out = off;
    *count_out = count;
    *type_out = type;
    return 0;
}

/* Returns the number of entries at ifd, or negative if it does not fit. */
static int ifd_count(const struct tiff *t, uint32_t ifd)
{
    if (ifd < 8 || ifd > t->len - 2)
        return TP_ERR_INVALIDDATA;
    unsigned n = rd16(t, ifd);
    if (n > MAX_ENTRIES || (uint64_t)ifd + 2 + 12ull * n > t->len)
        return TP_ERR_INVALIDDATA;
    return (int)n;
}

static size_t find_tag(const struct tiff *t, uint32_t ifd, unsigned tag)
{
    int n = ifd_count(t, ifd);
    for (int i = 0; i < n; i++) {
        size_t e = ifd + 2 + 12 * (size_t)i;
        if (rd16(t, e) == tag)
            return e;
    }
    return 0;
}

static void read_ascii(const struct tiff *t, size_t entry, char *out, size_t outlen)
{
    size_t off;
    uint32_t count;
    unsigned type;
    out[0] = '\0';
    if (entry_value(t, entry, &off, &count, &type) < 0 || type != 2)
        return;
    size_t n = count < outlen - 1 ? count : outlen - 1;
    memcpy(out, t->d + off, n);
    out[n] = '\0';
    /* trim trailing NULs and spaces, drop control characters */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 && out[i] != '\0')
            out[i] = ' ';
    n = strlen(out);
    while (n && out[n - 1] == ' ')
        out[--n] = '\0';
}

static double read_dms(const struct tiff *t, size_t entry, int *ok)
{
    size_t off;
    uint32_t count;
    unsigned type;
    *ok = 0;
    if (entry_value(t, entry, &off, &count, &type) < 0 || type != 5 || count < 3)
        return 0;
    double v = 0, scale = 1;
    for (int i = 0; i < 3; i++) {
        uint32_t num = rd32(t, off + 8 * (size_t)i), den = rd32(t, off + 8 * (size_t)i + 4);
        if (!den)
            return 0;
        v += (double)num / den / scale;
        scale *= 60;
    }
    *ok = 1;
    return v;
}

/* An integer entry of type SHORT, LONG, SSHORT or SLONG (writers differ:
 * some store Orientation as a 32-bit value). -1 if not an integer. */
static long read_int(const struct tiff *t, size_t e)
{
    switch (rd16(t, e + 2)) {
    case 3: return (long)rd16(t, e + 8);
    case 8: return (long)(int16_t)rd16(t, e + 8);
    case 4: return (long)rd32(t, e + 8);
    case 9: return (long)(int32_t)rd32(t, e + 8);
    default: return -1;
    }
}

static uint32_t pointer_tag(const struct tiff *t, uint32_t ifd, unsigned tag)
{
    size_t e = find_tag(t, ifd, tag);
    if (!e)
        return 0;
    unsigned type = rd16(t, e + 2);
    if (type != 4 && type != 13)
        return 0;
    return rd32(t, e + 8);
}

int exif_find_tiff(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i + 4 <= len && i <= 16; i++)
        if (!memcmp(data + i, "II*\0", 4) || !memcmp(data + i, "MM\0*", 4))
            return (int)i;
    return TP_ERR_INVALIDDATA;
}

/* Apple's iOS maker note: "Apple iOS\0", a 16-bit version, the byte order
 * ("MM"), then an IFD at offset 14 whose value offsets count from the start
 * of the maker note.  Reads the ContentIdentifier (tag 0x0011, ASCII) that
 * links a Live Photo's still to its clip. */
static void apple_maker_note(const struct tiff *t, size_t entry, char *out, size_t outlen)
{
    size_t off;
    uint32_t count;
    unsigned type;
    struct tiff mn;
    if (entry_value(t, entry, &off, &count, &type) < 0 || (type != 7 && type != 1) ||
        count < 16 || memcmp(t->d + off, "Apple iOS\0", 10))
        return;
    mn.d = t->d + off;
    mn.len = count;
    if (!memcmp(mn.d + 12, "MM", 2))
        mn.le = 0;
    else if (!memcmp(mn.d + 12, "II", 2))
        mn.le = 1;
    else
        return;
    size_t e = find_tag(&mn, 14, TAG_APPLE_CONTENT_ID);
    if (e)
        read_ascii(&mn, e, out, outlen);
}

int exif_parse(const uint8_t *data, size_t len, struct exif_info *info)
{
    struct tiff t;
    memset(info, 0, sizeof(*info));
    RETURN_ERR_IF(open_tiff(&t, data, len) < 0, TP_ERR_INVALIDDATA, "EXIF: no TIFF header");
    uint32_t ifd0 = rd32(&t, 4);
    RETURN_ERR_IF(ifd_count(&t, ifd0) < 0, TP_ERR_INVALIDDATA, "EXIF: IFD0 out of range");

    size_t e = find_tag(&t, ifd0, TAG_ORIENTATION);
    if (e) {
        long o = read_int(&t, e);
        info->orientation = o >= 1 && o <= 8 ? (int)o : 0;
    }
    if ((e = find_tag(&t, ifd0, TAG_MAKE)))
        read_ascii(&t, e, info->make, sizeof(info->make));
    if ((e = find_tag(&t, ifd0, TAG_MODEL)))
        read_ascii(&t, e, info->model, sizeof(info->model));
    uint32_t sub = pointer_tag(&t, ifd0, TAG_EXIF_IFD);
    if (sub && ifd_count(&t, sub) >= 0 && (e = find_tag(&t, sub, TAG_DATETIME_ORIGINAL)))
        read_ascii(&t, e, info->datetime_original, sizeof(info->datetime_original));
    if (sub && ifd_count(&t, sub) >= 0 && (e = find_tag(&t, sub, TAG_OFFSET_TIME_ORIGINAL)))
        read_ascii(&t, e, info->offset_time_original, sizeof(info->offset_time_original));
    if (sub && ifd_count(&t, sub) >= 0 && (e = find_tag(&t, sub, TAG_MAKER_NOTE)))
        apple_maker_note(&t, e, info->content_id, sizeof(info->content_id));
    uint32_t gps = pointer_tag(&t, ifd0, TAG_GPS_IFD);
    int n;
    if (gps && (n = ifd_count(&t, gps)) > 0) {
        size_t lat = find_tag(&t, gps, TAG_GPS_LAT), lon = find_tag(&t, gps, TAG_GPS_LON);
        /* An IFD holding only a version tag carries no location. */
        info->has_gps = lat || lon || n > 1;
        if (lat && lon) {
            int ok1, ok2;
            double la = read_dms(&t, lat, &ok1), lo = read_dms(&t, lon, &ok2);
            char ref[4];
            if ((e = find_tag(&t, gps, TAG_GPS_LATREF))) {
                read_ascii(&t, e, ref, sizeof(ref));
                if (ref[0] == 'S')
                    la = -la;
            }
            if ((e = find_tag(&t, gps, TAG_GPS_LONREF))) {
                read_ascii(&t, e, ref, sizeof(ref));
                if (ref[0] == 'W')
                    lo = -lo;
            }
            if (ok1 && ok2 && isfinite(la) && isfinite(lo)) {
                info->has_gps_coords = 1;
                info->gps_lat = la;
                info->gps_lon = lo;
            }
        }
    }
    return 0;
}

int exif_set_orientation(uint8_t *data, size_t len, int orientation)
{
    struct tiff t;
    if (orientation < 1 || orientation > 8)
        return TP_ERR(EINVAL);
    RETURN_ERR_IF(open_tiff(&t, data, len) < 0, TP_ERR_INVALIDDATA, "EXIF: no TIFF header");
    uint32_t ifd0 = rd32(&t, 4);
    RETURN_ERR_IF(ifd_count(&t, ifd0) < 0, TP_ERR_INVALIDDATA, "EXIF: IFD0 out of range");
    size_t e = find_tag(&t, ifd0, TAG_ORIENTATION);
    long cur = e ? read_int(&t, e) : -1;
    if (cur < 0 || cur == orientation)
        return 0;
    unsigned type = rd16(&t, e + 2);
    if (type == 3 || type == 8) {
        wr16(&t, e + 8, (unsigned)orientation);
    } else { /* 32-bit: the value sits in the first or last two bytes */
        wr16(&t, e + 8 + (t.le ? 0 : 2), (unsigned)orientation);
        wr16(&t, e + 8 + (t.le ? 2 : 0), 0);
    }
    return 1;
}

int exif_strip_gps(uint8_t *data, size_t len)
{
    struct tiff t;
    RETURN_ERR_IF(open_tiff(&t, data, len) < 0, TP_ERR_INVALIDDATA, "EXIF: no TIFF header");
    uint32_t ifd0 = rd32(&t, 4);
    int n = ifd_count(&t, ifd0);
    RETURN_ERR_IF(n < 0, TP_ERR_INVALIDDATA, "EXIF: IFD0 out of range");
    size_t e = find_tag(&t, ifd0, TAG_GPS_IFD);
    if (!e)
        return 0;
    uint32_t gps = rd32(&t, e + 8);
    /* Wipe the GPS values (pointed-to data and inline entries), then remove
     * the pointer entry from IFD0 by shifting the later entries down. */
    int gn = ifd_count(&t, gps);
    for (int i = 0; i < gn; i++) {
        size_t ge = gps + 2 + 12 * (size_t)i, off;
        uint32_t count;
        unsigned type;
        if (entry_value(&t, ge, &off, &count, &type) == 0)
            memset(t.d + off, 0, (size_t)count * type_size[type]);
        memset(t.d + ge, 0, 12);
    }
    if (gn > 0)
        wr16(&t, gps, 0);
    size_t end = ifd0 + 2 + 12 * (size_t)n;
    memmove(t.d + e, t.d + e + 12, end - (e + 12));
    /* the next-IFD offset follows the entries: move it too (it is 4 bytes
     * after the last entry; keep it when present) */
    if (end + 4 <= t.len) {
        memmove(t.d + end - 12, t.d + end, 4);
        memset(t.d + end - 8, 0, 8);
    }
    wr16(&t, ifd0, (unsigned)(n - 1));
    return 1;
}

void exif_write_minimal(uint8_t *out, int orientation)
{
    static const uint8_t tmpl[EXIF_MINIMAL_SIZE] = {
        'I', 'I', 42, 0, 8, 0, 0, 0,            /* header, IFD0 at 8 */
        1, 0,                                   /* one entry */
        0x12, 0x01, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, /* Orientation SHORT 1 */
        0, 0, 0, 0,                             /* no next IFD */
    };
    memcpy(out, tmpl, sizeof(tmpl));
    out[18] = (uint8_t)orientation;
}
