/*  =========================================================================
    schema_suite_test - zeb_schema against the official JSON Schema test
    suite (draft 2020-12, without optional/)

    schema_suite_test SUITE [-v]

    SUITE is a checkout of json-schema-org/JSON-Schema-Test-Suite (the
    folder holding tests/draft2020-12/). Each case's schema is compiled
    with zeb_schema_new and each instance converted with
    zeb_json_to_msgpack and validated; each answer is also checked against
    the full walk alone (a "valid" from the fast walk must be the full
    walk's too, with the same steps). Prints pass, fail and refused
    (schema not compiled) per file, and how many instances the fast walk
    answered, and exits 1 if any case fails or is
    refused that is not on the list of expected exceptions below; 77 (ctest
    SKIP) if SUITE is missing. -v prints every case that does not pass.
    If SUITE has a remotes/ folder, its files are documents the schemas
    may refer to, as http://localhost:1234/PATH (the suite's convention).
    =========================================================================
*/

#include "zeb_classes.h"
#include "zeb_schema_private.h"
#include <dirent.h>

//  Expected exceptions: cases that need documents from outside the one
//  schema, which the suite's remotes/ folder serves (as
//  http://localhost:1234/...). Matched as "file/group" or
//  "file/group/test" prefixes of a case's name, and excused only when
//  the folder is absent: with it, its files are handed to
//  zeb_schema_new_with as documents and every case must pass. (The
//  draft 2020-12 meta-schemas, which some cases refer to by their
//  https://json-schema.org/ URIs, are built into zeb.)
static const char *s_remote_exceptions [] = {
    "refRemote.json/",
    "dynamicRef.json/strict-tree schema, guards against misspelled properties",
    "dynamicRef.json/tests for implementation dynamic anchor and reference link",
    "dynamicRef.json/$ref and $dynamicAnchor are independent of order",
    "dynamicRef.json/$ref to $dynamicRef finds detached $dynamicAnchor",
    //  Custom meta-schemas ("$schema" naming one in remotes/), whose
    //  "$vocabulary" decides which keywords apply
    "vocabulary.json/",
    NULL
};

typedef struct {
    size_t pass, fail, refused, excused;
} s_counts_t;

static bool s_have_remotes;
static size_t s_fast_answers;       //  instances the fast walk said were valid

static bool
s_matches (const char **list, const char *name)
{
    for (const char **exception = list; *exception; exception++)
        if (strncmp (name, *exception, strlen (*exception)) == 0)
            return true;
    return false;
}

static bool
s_excused (const char *name)
{
    return !s_have_remotes && s_matches (s_remote_exceptions, name);
}

//  The documents of remotes/, every .json file below it by its URI
#define S_MAX_DOCUMENTS 256
static zeb_schema_document_t s_documents [S_MAX_DOCUMENTS];
static size_t s_document_count;

static void
s_load_remotes (const char *folder, const char *relative)
{
    char path [1400];
    snprintf (path, sizeof (path), "%s/%s", folder, relative);
    DIR *dir = opendir (path);
    struct dirent *entry;
    while (dir && (entry = readdir (dir)) && s_document_count < S_MAX_DOCUMENTS) {
        if (entry->d_name [0] == '.')
            continue;
        char name [1024];
        snprintf (name, sizeof (name), "%s%s%s", relative, *relative? "/": "", entry->d_name);
        size_t len = strlen (name);
        if (len > 5 && streq (name + len - 5, ".json")) {
            snprintf (path, sizeof (path), "%s/%s", folder, name);
            zchunk_t *chunk = zchunk_slurp (path, 0);
            if (chunk) {
                zeb_schema_document_t *document = &s_documents [s_document_count++];
                document->uri = zsys_sprintf ("http://localhost:1234/%s", name);
                document->len = zchunk_size (chunk);
                document->json = (const char *) zmalloc (document->len + 1);
                memcpy ((char *) document->json, zchunk_data (chunk), document->len);
                zchunk_destroy (&chunk);
            }
        }
        else
            s_load_remotes (folder, name);
    }
    if (dir)
        closedir (dir);
}

static void
s_free_remotes (void)
{
    for (size_t index = 0; index < s_document_count; index++) {
        free ((char *) s_documents [index].uri);
        free ((char *) s_documents [index].json);
    }
}

//  One case: 1 pass, 0 fail, -1 refused
static int
s_run_case (zeb_schema_t *schema, json_t *test)
{
    if (!schema)
        return -1;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    int result = -1;
    if (zeb_json_to_msgpack (json_object_get (test, "data"), &pk) == 0) {
        zeb_schema_error_t error;
        int rc = zeb_schema_validate (schema, buffer.data, buffer.size, &error);
        bool valid = json_is_true (json_object_get (test, "valid"));
        result = (rc == 0) == valid && (rc == 0 || rc == ZEB_ESCHEMA);
        //  The fast walk only ever says "valid", and only where the full one does
        bool fast = zeb_schema_fast_valid (schema, buffer.data, buffer.size);
        size_t steps = zeb_schema_steps (schema);
        int full = zeb_schema_walk (schema, buffer.data, buffer.size, &error);
        if (full != rc || (fast && (full != 0 || steps != zeb_schema_steps (schema))))
            result = 0;
        s_fast_answers += fast;
    }
    msgpack_sbuffer_destroy (&buffer);
    return result;
}

static void
s_count (s_counts_t *counts, int result, const char *name, const char *why, bool verbose)
{
    bool excused = result != 1 && s_excused (name);
    if (result == 1)
        counts->pass++;
    else
    if (result == 0)
        counts->fail++;
    else
        counts->refused++;
    counts->excused += excused;
    if (result != 1 && (verbose || !excused))
        printf ("  %s %s: %s%s\n", result == 0? "FAIL": "REFUSED", name, why? why: "",
                excused? " (expected)": "");
}

static void
s_run_file (const char *path, const char *file, s_counts_t *counts, bool verbose)
{
    json_error_t json_error;
    json_t *groups = json_load_file (path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &json_error);
    if (!json_is_array (groups)) {
        printf ("  %s: not a test file: %s\n", file, json_error.text);
        counts->fail++;
        json_decref (groups);
        return;
    }
    size_t index;
    json_t *group;
    json_array_foreach (groups, index, group) {
        char *text = json_dumps (json_object_get (group, "schema"), JSON_ENCODE_ANY);
        zeb_fault_t fault = { 0 };
        zeb_schema_options_t options = { .documents = s_documents, .document_count = s_document_count };
        zeb_schema_t *schema = text? zeb_schema_new_with (text, strlen (text), &options, &fault): NULL;
        free (text);
        const char *description = json_string_value (json_object_get (group, "description"));
        size_t test_index;
        json_t *test;
        json_array_foreach (json_object_get (group, "tests"), test_index, test) {
            char name [512];
            snprintf (name, sizeof (name), "%s/%s/%s", file, description? description: "?",
                      json_string_value (json_object_get (test, "description")));
            s_count (counts, s_run_case (schema, test), name, schema? NULL: fault.text, verbose);
        }
        zeb_schema_destroy (&schema);
    }
    json_decref (groups);
}

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

int
main (int argc, char *argv [])
{
    const char *suite = argc > 1 && *argv [1]? argv [1]: NULL;
    bool verbose = argc > 2 && streq (argv [2], "-v");
    char folder [1024];
    snprintf (folder, sizeof (folder), "%s/tests/draft2020-12", suite? suite: "");
    DIR *dir = suite? opendir (folder): NULL;
    if (!dir) {
        printf ("schema_suite_test: SKIPPED: no JSON Schema test suite %s%s%s "
                "(configure with -DZEB_JSON_SCHEMA_SUITE=PATH)\n", suite? "at '": "given",
                suite? folder: "", suite? "'": "");
        return 77;
    }
    char remotes [1024];
    snprintf (remotes, sizeof (remotes), "%s/remotes", suite);
    DIR *remotes_dir = opendir (remotes);
    s_have_remotes = remotes_dir != NULL;
    if (remotes_dir) {
        closedir (remotes_dir);
        s_load_remotes (remotes, "");
    }
    printf ("schema_suite_test: %s, remotes/: %s (%zu documents)\n", folder,
            s_have_remotes? "served": "absent, its cases expected to be refused", s_document_count);
    char *files [256];
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) && count < 256) {
        size_t len = strlen (entry->d_name);
        if (len > 5 && streq (entry->d_name + len - 5, ".json"))
            files [count++] = strdup (entry->d_name);
    }
    closedir (dir);
    qsort (files, count, sizeof (char *), s_compare_names);
    s_counts_t total = { 0 };
    for (size_t index = 0; index < count; index++) {
        char path [1400];
        snprintf (path, sizeof (path), "%s/%s", folder, files [index]);
        s_counts_t counts = { 0 };
        s_run_file (path, files [index], &counts, verbose);
        printf ("%-32s pass %4zu  fail %3zu  refused %3zu  (expected exceptions %zu)\n",
                files [index], counts.pass, counts.fail, counts.refused, counts.excused);
        total.pass += counts.pass;
        total.fail += counts.fail;
        total.refused += counts.refused;
        total.excused += counts.excused;
        free (files [index]);
    }
    printf ("%-32s pass %4zu  fail %3zu  refused %3zu  (expected exceptions %zu)\n", "TOTAL",
            total.pass, total.fail, total.refused, total.excused);
    printf ("the fast walk answered %zu instances, the full walk agreeing\n", s_fast_answers);
    s_free_remotes ();
    return total.fail + total.refused > total.excused? 1: 0;
}
