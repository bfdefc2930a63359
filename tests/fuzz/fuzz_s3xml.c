/* The S3 XML response readers: Error, InitiateMultipartUpload,
 * ListObjectsV2, ListMultipartUploads. */
#include "fuzz.h"
#include "mem.h"
#include "s3_internal.h"

static int on_key(void *ud, const char *key, const struct s3_object *o)
{
    (void)key;
    (void)o;
    ++*(int *)ud;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[64], msg[256], id[256];
    char *tok = NULL, *k = NULL, *u = NULL;
    int n = 0;
    int64_t count = 0;
    s3_xml_error(data, size, code, sizeof(code), msg, sizeof(msg));
    s3_xml_upload_id(data, size, id, sizeof(id));
    s3_xml_list(data, size, on_key, &n, &tok);
    tp_free(tok);
    s3_xml_uploads(data, size, &count, &k, &u);
    tp_free(k);
    tp_free(u);
    return 0;
}
