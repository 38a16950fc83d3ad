/*  =========================================================================
    zeb_compat - schema compatibility: what a new version breaks, and for whom

    Two directions, as in Confluent's Schema Registry:

    - BACKWARD: consumers using the NEW schema can read events written with
      the OLD one: every instance valid under the old schema must be valid
      under the new one. Broken by the new schema being stricter.
    - FORWARD: consumers still using the OLD schema can read events written
      with the NEW one: every instance valid under the new schema must be
      valid under the old one. Broken by the new schema being looser.
    - FULL: both. The _TRANSITIVE modes check against every earlier
      version, the others against the latest only. NONE checks nothing.

    The diff walks both schemas together (properties, items, $ref into
    $defs) and reports typed reasons, each with the schema location and the
    direction it breaks. Content models matter: an object is open unless
    `additionalProperties` is false. Adding a constrained property to an
    open model breaks BACKWARD (old events may carry that name with any
    value); to a closed model it does not (old events cannot carry it).

    Reasons are named after the change from the old schema to the new one.
    A reason that makes the new schema stricter breaks BACKWARD; one that
    makes it looser breaks FORWARD:

      breaks BACKWARD (stricter)       breaks FORWARD (looser)
      TYPE_NARROWED                    TYPE_WIDENED
      REQUIRED_ADDED                   REQUIRED_REMOVED
      PROPERTY_ADDED_TO_OPEN_MODEL     PROPERTY_REMOVED (from an open model)
      PROPERTY_REMOVED (closed model)  PROPERTY_ADDED_TO_CLOSED_MODEL
      ADDITIONAL_PROPERTIES_NARROWED   ADDITIONAL_PROPERTIES_WIDENED
      ENUM_NARROWED                    ENUM_WIDENED
      MAX_LENGTH_DECREASED             MAX_LENGTH_INCREASED
      MIN_LENGTH_INCREASED             MIN_LENGTH_DECREASED
      MINIMUM_INCREASED                MINIMUM_DECREASED
      MAXIMUM_DECREASED                MAXIMUM_INCREASED
      MIN_ITEMS_INCREASED              MIN_ITEMS_DECREASED
      MAX_ITEMS_DECREASED              MAX_ITEMS_INCREASED
      MIN_PROPERTIES_INCREASED         MIN_PROPERTIES_DECREASED
      MAX_PROPERTIES_DECREASED         MAX_PROPERTIES_INCREASED
      UNIQUE_ITEMS_ADDED               UNIQUE_ITEMS_REMOVED
      PATTERN_ADDED                    PATTERN_REMOVED
      FORMAT_ADDED                     FORMAT_REMOVED

    Either way, as the direction found: TYPE_CHANGED (no type in common),
    CONST_CHANGED, MULTIPLE_OF_CHANGED, PATTERN_CHANGED and FORMAT_CHANGED
    (patterns and formats are compared as text), COMBINATOR_CHANGED
    (anyOf, oneOf, allOf and not, and $ref beside other keywords, are not
    analysed: any difference counts) and KEYWORD_CHANGED, the same for
    if, then, else, dependentSchemas, dependentRequired, propertyNames,
    contains, minContains, maxContains, $dynamicRef (any schema with one,
    unless the documents are identical), patternProperties (with any
    difference in properties or additionalProperties beside it),
    unevaluatedProperties and unevaluatedItems (with any difference in
    their node), and a $ref that names nothing. "Any difference" is
    structural: references are followed on both sides, annotations
    ignored, so renaming a definition is no change. References resolve
    as zeb_schema resolves them ($id, anchors, JSON Pointers). Recursive
    schemas are compared down to 32 levels. Identical documents are
    compatible in every mode.
    =========================================================================
*/

#ifndef ZEB_COMPAT_H_INCLUDED
#define ZEB_COMPAT_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZEB_COMPAT_NONE = 0,
    ZEB_COMPAT_BACKWARD,
    ZEB_COMPAT_BACKWARD_TRANSITIVE,
    ZEB_COMPAT_FORWARD,
    ZEB_COMPAT_FORWARD_TRANSITIVE,
    ZEB_COMPAT_FULL,
    ZEB_COMPAT_FULL_TRANSITIVE
} zeb_compat_mode_t;

//  One incompatibility
typedef struct {
    char reason [40];           //  "REQUIRED_ADDED"...
    char path [160];            //  schema location, e.g. "/properties/items/items/properties/sku"
    const char *breaks;         //  "backward" or "forward"
    int version;                //  number of the earlier version it was found against
} zeb_compat_reason_t;

//  The mode for a name ("BACKWARD", case-insensitive). Returns 0 or -1.
int
    zeb_compat_mode_parse (const char *name, zeb_compat_mode_t *mode);

//  The name of a mode ("BACKWARD_TRANSITIVE"...).
const char *
    zeb_compat_mode_name (zeb_compat_mode_t mode);

//  Check a new schema against the earlier versions under mode. versions
//  holds count JSON documents, oldest first, the last one the latest;
//  numbers (parallel to versions, count entries) gives each one's version
//  number, which the reasons report: a type's history has gaps once a
//  version is deleted or trimmed. NULL numbers means versions 1..count.
//  Fills up to max reasons; returns how many were found in all (0:
//  compatible). The schemas must be valid (zeb_schema_new accepts them).
//  Everything is borrowed.
size_t
    zeb_compat_check (json_t *candidate, json_t **versions, const uint32_t *numbers, size_t count,
                      zeb_compat_mode_t mode, zeb_compat_reason_t *reasons, size_t max);

//  Self test
void
    zeb_compat_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
