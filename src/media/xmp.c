/* XMP location removal on the parsed XML tree (libxml2), by namespace URI
 * and property name: see xmp.h. */
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlsave.h>

#include "err.h"
#include "xmp.h"

/* A property: its namespace URI and either its exact local name or, with
 * prefix set, the start of it (any case). */
static const struct {
    const char *ns, *name;
    int prefix;
    unsigned kind;
} props[] = {
    { "http://ns.adobe.com/exif/1.0/", "GPS", 1, XMP_LOC_GPS },
    { "http://cipa.jp/exif/1.0/", "GPS", 1, XMP_LOC_GPS },
    { "http://www.dji.com/drone-dji/1.0/", "Gps", 1, XMP_LOC_GPS },
    { "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/", "Location", 0, XMP_LOC_PLACE },
    { "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/", "CountryCode", 0, XMP_LOC_PLACE },
    { "http://ns.adobe.com/photoshop/1.0/", "City", 0, XMP_LOC_PLACE },
    { "http://ns.adobe.com/photoshop/1.0/", "State", 0, XMP_LOC_PLACE },
    { "http://ns.adobe.com/photoshop/1.0/", "Country", 0, XMP_LOC_PLACE },
    { "http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "LocationCreated", 0, XMP_LOC_PLACE },
    { "http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "LocationShown", 0, XMP_LOC_PLACE },
};

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_parser(void)
{
    xmlInitParser();
}

static int is_location(const xmlNs *ns, const xmlChar *name, unsigned which)
{
    if (!ns || !ns->href || !name)
        return 0;
    for (size_t i = 0; i < TP_ARRAY_SIZE(props); i++) {
        if (!(props[i].kind & which) || strcmp((const char *)ns->href, props[i].ns))
            continue;
        if (props[i].prefix ? !strncasecmp((const char *)name, props[i].name,
                                           strlen(props[i].name))
                            : !strcmp((const char *)name, props[i].name))
            return 1;
    }
    return 0;
}

/* Counts (and with strip, removes) location properties under n: elements
 * anywhere, and attributes (the rdf:Description shorthand).  libxml2 bounds
 * the depth of what it parses (256), which bounds this recursion. */
static int walk(xmlNode *n, unsigned which, int strip)
{
    int count = 0;
    for (xmlNode *c = n, *next; c; c = next) {
        next = c->next;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (is_location(c->ns, c->name, which)) {
            count++;
            if (strip) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
            continue;
        }
        for (xmlAttr *a = c->properties, *an; a; a = an) {
            an = a->next;
            if (is_location(a->ns, a->name, which)) {
                count++;
                if (strip)
                    xmlRemoveProp(a);
            }
        }
        count += walk(c->children, which, strip);
    }
    return count;
}

/* Parses the packet.  On failure returns NULL with the reason set (nothing
 * is printed: the caller reports).  A DTD is refused: XMP has none, and
 * its entities could carry properties this walk would not see.  Caller
 * owns the result; free with xmlFreeDoc(). */
static xmlDoc *parse(const uint8_t *data, size_t len)
{
    pthread_once(&once, init_parser);
    while (len && data[len - 1] == '\0') /* NUL padding after the packet */
        len--;
    if (!len || len > INT_MAX) {
        tp_err_set("XMP packet is empty or too large (%zu bytes)", len);
        return NULL;
    }
    /* no network, no external DTD, entities left unexpanded, no messages */
    xmlDoc *doc = xmlReadMemory((const char *)data, (int)len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        tp_err_set("XMP packet is not well-formed XML");
    } else if (doc->intSubset || doc->extSubset) {
        tp_err_set("XMP packet has a DTD (entities could hide properties)");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    return doc;
}

int xmp_count_location(const uint8_t *data, size_t len, unsigned which)
{
    xmlDoc *doc = parse(data, len);
    if (!doc)
        return TP_ERR_INVALIDDATA;
    int n = walk(xmlDocGetRootElement(doc), which, 0);
    xmlFreeDoc(doc);
    return n;
}

int xmp_strip_location(struct tp_buf *x, unsigned which)
{
    xmlDoc *doc = parse(x->data, x->len);
    xmlBuffer *out = NULL;
    xmlSaveCtxt *s = NULL;
    int ret;

    if (!doc)
        return TP_ERR_INVALIDDATA;
    ret = walk(xmlDocGetRootElement(doc), which, 1);
    if (ret <= 0)
        goto end;
    /* the packet as it was (xpacket wrapper, prefixes, whitespace) minus the
     * removed properties; no XML declaration, UTF-8 kept as is */
    if (!(out = xmlBufferCreate()) || !(s = xmlSaveToBuffer(out, "UTF-8", XML_SAVE_NO_DECL))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    if (xmlSaveDoc(s, doc) < 0 || xmlSaveFlush(s) < 0) {
        tp_err_set("XMP packet could not be written back");
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    int n = ret;
    if ((ret = buf_set(x, xmlBufferContent(out), (size_t)xmlBufferLength(out))) < 0)
        goto end;
    ret = n;
end:
    if (s)
        xmlSaveClose(s);
    if (out)
        xmlBufferFree(out);
    xmlFreeDoc(doc);
    return ret;
}
