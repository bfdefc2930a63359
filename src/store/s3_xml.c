/* The S3 client's XML: error bodies, InitiateMultipartUploadResult,
 * ListObjectsV2 pages (libxml2, no network access, no entities). */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "s3_internal.h"

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS)

static xmlDocPtr parse(const uint8_t *xml, size_t len)
{
    if (!xml || !len || len > (64u << 20))
        return NULL;
    return xmlReadMemory((const char *)xml, (int)len, "s3.xml", NULL, XML_OPTS);
}

static int is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is(c, name))
            return c;
    return NULL;
}

/* The text of n's child `name` into out ("" when absent); 1 when found. */
static int child_text(const xmlNode *n, const char *name, char *out, size_t len)
{
    const xmlNode *c = child(n, name);
    xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
    if (len)
        out[0] = '\0';
    if (!t)
        return 0;
    if (len)
        snprintf(out, len, "%s", (const char *)t);
    xmlFree(t);
    return 1;
}

int s3_xml_error(const uint8_t *xml, size_t len, char *code, size_t code_len, char *msg,
                 size_t msg_len)
{
    xmlDocPtr doc = parse(xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    int found = 0;
    if (code_len)
        code[0] = '\0';
    if (msg_len)
        msg[0] = '\0';
    if (root && is(root, "Error")) {
        child_text(root, "Code", code, code_len);
        child_text(root, "Message", msg, msg_len);
        found = 1;
    }
    if (doc)
        xmlFreeDoc(doc);
    return found;
}

int s3_xml_upload_id(const uint8_t *xml, size_t len, char *out, size_t out_len)
{
    xmlDocPtr doc = parse(xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    int ret = TP_ERR(EIO);
    if (root && is(root, "InitiateMultipartUploadResult") &&
        child_text(root, "UploadId", out, out_len) && out[0])
        ret = 0;
    if (doc)
        xmlFreeDoc(doc);
    return ret;
}

int s3_xml_list(const uint8_t *xml, size_t len, s3_list_fn fn, void *ud, char **next_token)
{
    xmlDocPtr doc = parse(xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    char key[1100], num[64], when[64], trunc[16];
    int ret = 0;
    *next_token = NULL;
    if (!root || !is(root, "ListBucketResult")) {
        ret = TP_ERR(EIO);
        goto end;
    }
    for (const xmlNode *n = root->children; n; n = n->next) {
        if (!is(n, "Contents"))
            continue;
        struct s3_object o = { 0 };
        if (!child_text(n, "Key", key, sizeof(key)) || !key[0]) {
            ret = TP_ERR(EIO);
            goto end;
        }
        child_text(n, "Size", num, sizeof(num));
        o.bytes = strtoull(num, NULL, 10);
        child_text(n, "LastModified", when, sizeof(when));
        o.mtime = s3_parse_time(when);
        child_text(n, "StorageClass", o.storage_class, sizeof(o.storage_class));
        if ((ret = fn(ud, key, &o)))
            goto end;
    }
    child_text(root, "IsTruncated", trunc, sizeof(trunc));
    if (!strcmp(trunc, "true")) {
        const xmlNode *t = child(root, "NextContinuationToken");
        xmlChar *tok = t ? xmlNodeGetContent(t) : NULL;
        if (!tok || !*tok) {
            xmlFree(tok);
            ret = TP_ERR(EIO); /* truncated without a way on: refuse a silent short list */
            goto end;
        }
        *next_token = tp_strdup((const char *)tok);
        xmlFree(tok);
        if (!*next_token)
            ret = TP_ERR(ENOMEM);
    }
end:
    if (doc)
        xmlFreeDoc(doc);
    return ret;
}

int64_t s3_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end) {
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
    }
    if (!end)
        return 0;
    return (int64_t)timegm(&tm);
}

int s3_xml_uploads(const uint8_t *xml, size_t len, int64_t *count, char **next_key,
                   char **next_upload)
{
    xmlDocPtr doc = parse(xml, len);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    char trunc[16], k[1100], u[1100];
    int ret = 0;
    *next_key = *next_upload = NULL;
    if (!root || !is(root, "ListMultipartUploadsResult")) {
        ret = TP_ERR(EIO);
        goto end;
    }
    for (const xmlNode *n = root->children; n; n = n->next)
        *count += is(n, "Upload");
    child_text(root, "IsTruncated", trunc, sizeof(trunc));
    if (!strcmp(trunc, "true")) {
        child_text(root, "NextKeyMarker", k, sizeof(k));
        child_text(root, "NextUploadIdMarker", u, sizeof(u));
        if (!k[0]) {
            ret = TP_ERR(EIO);
            goto end;
        }
        *next_key = tp_strdup(k);
        *next_upload = tp_strdup(u);
        if (!*next_key || !*next_upload)
            ret = TP_ERR(ENOMEM);
    }
end:
    if (doc)
        xmlFreeDoc(doc);
    return ret;
}
