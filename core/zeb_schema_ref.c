/*  =========================================================================
    zeb_schema_ref - URIs and the identifiers of one schema document

    A schema document names its parts by URI. "$id" starts a schema
    resource, its URI resolved against the enclosing resource's; a
    reference is resolved against the base URI of the schema holding it,
    then split into the resource (before '#') and a fragment: empty for
    the resource itself, a JSON Pointer ("/$defs/a", percent-decoded, then
    "~1" for '/' and "~0" for '~'), or a name given by "$anchor" or
    "$dynamicAnchor". Only the document's own resources are known: zeb
    fetches nothing, so a reference to any other URI does not resolve.
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"

struct _zeb_schema_index_t {
    zhashx_t *resources;            //  URI -> resource's schema (borrowed json)
    zhashx_t *anchors;              //  "URI#name" -> schema, $anchor and $dynamicAnchor
    zhashx_t *dynamic;              //  "URI#name" -> schema, $dynamicAnchor only
    zhashx_t *bases;                //  "%p" of a schema object -> its base URI
};

//  ---------------------------------------------------------------------
//  URIs

//  The five parts of a URI reference (RFC 3986 appendix B); a part that
//  is absent has a NULL start
typedef struct {
    const char *scheme, *authority, *path, *query, *fragment;
    size_t scheme_len, authority_len, path_len, query_len, fragment_len;
} s_uri_t;

static void
s_uri_parse (const char *text, s_uri_t *uri)
{
    memset (uri, 0, sizeof (*uri));
    size_t span = strcspn (text, ":/?#");
    if (span > 0 && text [span] == ':' && isalpha ((unsigned char) text [0])) {
        uri->scheme = text;
        uri->scheme_len = span;
        text += span + 1;
    }
    if (text [0] == '/' && text [1] == '/') {
        uri->authority = text + 2;
        uri->authority_len = strcspn (text + 2, "/?#");
        text += 2 + uri->authority_len;
    }
    uri->path = text;
    uri->path_len = strcspn (text, "?#");
    text += uri->path_len;
    if (*text == '?') {
        uri->query = text + 1;
        uri->query_len = strcspn (text + 1, "#");
        text += 1 + uri->query_len;
    }
    if (*text == '#') {
        uri->fragment = text + 1;
        uri->fragment_len = strlen (text + 1);
    }
}

//  RFC 3986 5.2.4, in place: "/a/./b/../c" becomes "/a/c"
static void
s_remove_dots (char *path)
{
    char *in = path, *out = path;
    while (*in) {
        if (strncmp (in, "../", 3) == 0)
            in += 3;
        else
        if (strncmp (in, "./", 2) == 0)
            in += 2;
        else
        if (strncmp (in, "/./", 3) == 0)
            in += 2;
        else
        if (streq (in, "/."))
            in [1] = 0;
        else
        if (strncmp (in, "/../", 4) == 0 || streq (in, "/..")) {
            //  "/../x" reads on as "/x", "/.." as "/"
            if (in [3] == '/')
                in += 3;
            else {
                in += 2;
                *in = '/';
            }
            while (out > path && *--out != '/')
                ;
        }
        else
        if (streq (in, ".") || streq (in, ".."))
            break;
        else {
            do
                *out++ = *in++;
            while (*in && *in != '/');
        }
    }
    *out = 0;
}

static void
s_append (char **cursor, const char *prefix, const char *text, size_t len)
{
    size_t prefix_len = strlen (prefix);
    memcpy (*cursor, prefix, prefix_len);
    memcpy (*cursor + prefix_len, text, len);
    *cursor += prefix_len + len;
    **cursor = 0;
}

//  The target's path: RFC 3986 5.2.2 and 5.2.3 (merge), dots removed
static char *
s_target_path (const s_uri_t *base, const s_uri_t *ref)
{
    char *path = (char *) zmalloc (base->path_len + ref->path_len + 2);
    char *cursor = path;
    if (ref->scheme || ref->authority || (ref->path_len && ref->path [0] == '/'))
        s_append (&cursor, "", ref->path, ref->path_len);
    else
    if (ref->path_len == 0)
        s_append (&cursor, "", base->path, base->path_len);
    else
    if (base->authority && base->path_len == 0)
        s_append (&cursor, "/", ref->path, ref->path_len);
    else {
        size_t keep = base->path_len;
        while (keep > 0 && base->path [keep - 1] != '/')
            keep--;
        s_append (&cursor, "", base->path, keep);
        s_append (&cursor, "", ref->path, ref->path_len);
    }
    if (ref->path_len)
        s_remove_dots (path);
    return path;
}

char *
zeb_schema_uri_resolve (const char *base_text, const char *ref_text)
{
    s_uri_t base, ref;
    s_uri_parse (base_text, &base);
    s_uri_parse (ref_text, &ref);
    char *path = s_target_path (&base, &ref);
    char *target = (char *) zmalloc (strlen (base_text) + strlen (ref_text) + strlen (path) + 8);
    char *cursor = target;
    const s_uri_t *from = ref.scheme? &ref: &base;
    if (from->scheme) {
        s_append (&cursor, "", from->scheme, from->scheme_len);
        s_append (&cursor, ":", "", 0);
    }
    from = ref.scheme || ref.authority? &ref: &base;
    if (from->authority)
        s_append (&cursor, "//", from->authority, from->authority_len);
    s_append (&cursor, "", path, strlen (path));
    from = ref.scheme || ref.authority || ref.path_len || ref.query? &ref: &base;
    if (from->query)
        s_append (&cursor, "?", from->query, from->query_len);
    if (ref.fragment)
        s_append (&cursor, "#", ref.fragment, ref.fragment_len);
    free (path);
    return target;
}

//  Percent-decode text in place
static void
s_percent_decode (char *text)
{
    char *out = text;
    for (char *in = text; *in; in++) {
        if (in [0] == '%' && isxdigit ((unsigned char) in [1]) && isxdigit ((unsigned char) in [2])) {
            char hex [3] = { in [1], in [2], 0 };
            *out++ = (char) strtol (hex, NULL, 16);
            in += 2;
        }
        else
            *out++ = *in;
    }
    *out = 0;
}

//  ---------------------------------------------------------------------
//  The index

//  Keywords whose value is a schema, an array of schemas, or an object of
//  schemas: where identifiers are looked for
static const char *s_schema_keywords [] = {
    "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties", "contentSchema", NULL
};
static const char *s_list_keywords [] = { "allOf", "anyOf", "oneOf", "prefixItems", NULL };
static const char *s_map_keywords [] = {
    "$defs", "properties", "patternProperties", "dependentSchemas", NULL
};

static void
s_key_of (json_t *json, char *key, size_t size)
{
    snprintf (key, size, "%p", (void *) json);
}

static void
    s_index_walk (zeb_schema_index_t *self, json_t *json, const char *base);

static void
s_index_anchor (zeb_schema_index_t *self, json_t *json, const char *base, const char *keyword)
{
    const char *name = json_string_value (json_object_get (json, keyword));
    if (!name)
        return;
    char *uri = zsys_sprintf ("%s#%s", base, name);
    if (!zhashx_lookup (self->anchors, uri))
        zhashx_insert (self->anchors, uri, json);
    if (streq (keyword, "$dynamicAnchor") && !zhashx_lookup (self->dynamic, uri))
        zhashx_insert (self->dynamic, uri, json);
    zstr_free (&uri);
}

static void
s_index_children (zeb_schema_index_t *self, json_t *json, const char *base)
{
    for (const char **keyword = s_schema_keywords; *keyword; keyword++)
        s_index_walk (self, json_object_get (json, *keyword), base);
    for (const char **keyword = s_list_keywords; *keyword; keyword++) {
        size_t index;
        json_t *value;
        json_array_foreach (json_object_get (json, *keyword), index, value)
            s_index_walk (self, value, base);
    }
    for (const char **keyword = s_map_keywords; *keyword; keyword++) {
        const char *name;
        json_t *value;
        json_t *map = json_object_get (json, *keyword);
        if (json_is_object (map))
            json_object_foreach (map, name, value)
                s_index_walk (self, value, base);
    }
}

static void
s_index_walk (zeb_schema_index_t *self, json_t *json, const char *base)
{
    char key [32];
    s_key_of (json, key, sizeof (key));
    if (!json_is_object (json) || zhashx_lookup (self->bases, key))
        return;
    const char *id = json_string_value (json_object_get (json, "$id"));
    char *own = id? zeb_schema_uri_resolve (base, id): strdup (base);
    char *hash = strchr (own, '#');
    if (hash)
        *hash = 0;                  //  "$id" names a resource, not a fragment
    if (id && !zhashx_lookup (self->resources, own))
        zhashx_insert (self->resources, own, json);
    zhashx_insert (self->bases, key, own);
    s_index_anchor (self, json, own, "$anchor");
    s_index_anchor (self, json, own, "$dynamicAnchor");
    s_index_children (self, json, own);
    free (own);
}

zeb_schema_index_t *
zeb_schema_index_new (json_t *root, const char *base)
{
    zeb_schema_index_t *self = (zeb_schema_index_t *) zmalloc (sizeof (zeb_schema_index_t));
    self->resources = zhashx_new ();
    self->anchors = zhashx_new ();
    self->dynamic = zhashx_new ();
    self->bases = zhashx_new ();
    zhashx_set_destructor (self->bases, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator (self->bases, (zhashx_duplicator_fn *) strdup);
    zhashx_insert (self->resources, base, root);
    s_index_walk (self, root, base);
    //  The root is a resource by its "$id" and by the base it came with
    const char *root_base = zeb_schema_index_base (self, root);
    if (root_base && !zhashx_lookup (self->resources, root_base))
        zhashx_insert (self->resources, root_base, root);
    return self;
}

void
zeb_schema_index_destroy (zeb_schema_index_t **self_p)
{
    assert (self_p);
    zeb_schema_index_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->resources);
        zhashx_destroy (&self->anchors);
        zhashx_destroy (&self->dynamic);
        zhashx_destroy (&self->bases);
        free (self);
        *self_p = NULL;
    }
}

void
zeb_schema_index_add_document (zeb_schema_index_t *self, json_t *json, const char *uri)
{
    if (!zhashx_lookup (self->resources, uri))
        zhashx_insert (self->resources, uri, json);
    s_index_walk (self, json, uri);
}

json_t *
zeb_schema_index_document (zeb_schema_index_t *self, const char *uri)
{
    return (json_t *) zhashx_lookup (self->resources, uri);
}

void
zeb_schema_index_add (zeb_schema_index_t *self, json_t *json, const char *base)
{
    s_index_walk (self, json, base);
}

const char *
zeb_schema_index_base (zeb_schema_index_t *self, json_t *json)
{
    char key [32];
    s_key_of (json, key, sizeof (key));
    return (const char *) zhashx_lookup (self->bases, key);
}

//  Follow a JSON Pointer (already percent-decoded) from json
static json_t *
s_pointer (json_t *json, char *pointer)
{
    while (json && *pointer == '/') {
        char *token = pointer + 1;
        char *end = token + strcspn (token, "/");
        char saved = *end;
        *end = 0;
        char *out = token;
        for (char *in = token; *in; in++)
            if (in [0] == '~' && (in [1] == '0' || in [1] == '1'))
                *out++ = *++in == '0'? '~': '/';
            else
                *out++ = *in;
        *out = 0;
        if (json_is_object (json))
            json = json_object_get (json, token);
        else
        if (json_is_array (json) && *token && strspn (token, "0123456789") == strlen (token)
        &&  (token [0] != '0' || token [1] == 0))
            json = json_array_get (json, strtoul (token, NULL, 10));
        else
            json = NULL;
        *end = saved;
        pointer = end;
    }
    return *pointer? NULL: json;
}

json_t *
zeb_schema_index_resolve (zeb_schema_index_t *self, const char *base, const char *ref,
                          char **uri, bool *dynamic, zeb_fault_t *fault)
{
    *uri = zeb_schema_uri_resolve (base, ref);
    *dynamic = false;
    char *resource = strdup (*uri);
    char *fragment = strchr (resource, '#');
    if (fragment)
        *fragment++ = 0;
    json_t *root = (json_t *) zhashx_lookup (self->resources, resource);
    json_t *target = NULL;
    if (!root)
        zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema: '$ref' '%.60s' names '%.60s', which is not "
                       "this document nor one given with it (zeb fetches none)", ref, resource);
    else
    if (!fragment || !*fragment)
        target = root;
    else
    if (*fragment == '/') {
        s_percent_decode (fragment);
        target = s_pointer (root, fragment);
        if (!target)
            zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema: '$ref' '%.100s': no such location "
                           "in the document", ref);
    }
    else {
        s_percent_decode (fragment);
        char *anchor = zsys_sprintf ("%s#%s", resource, fragment);
        target = (json_t *) zhashx_lookup (self->anchors, anchor);
        *dynamic = zhashx_lookup (self->dynamic, anchor) != NULL;
        if (!target)
            zeb_fault_set (fault, ZEB_EBADSCHEMA, "schema: '$ref' '%.100s': no '$anchor' or "
                           "'$dynamicAnchor' of that name", ref);
        zstr_free (&anchor);
    }
    free (resource);
    return target;
}

int
zeb_schema_index_dynamic (zeb_schema_index_t *self, zeb_schema_anchor_fn *fn, void *arg)
{
    int rc = 0;
    for (json_t *schema = (json_t *) zhashx_first (self->dynamic); schema && rc == 0;
         schema = (json_t *) zhashx_next (self->dynamic)) {
        char *uri = strdup ((const char *) zhashx_cursor (self->dynamic));
        char *name = strrchr (uri, '#');
        *name++ = 0;
        rc = fn (arg, uri, name, schema);
        free (uri);
    }
    return rc;
}
