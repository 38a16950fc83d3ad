/*  =========================================================================
    zeb_pack - a msgpack builder whose maps and arrays count themselves

    Replies and STATS bodies are maps whose size changes whenever a field
    is added; counting entries by hand (`msgpack_pack_map (&pk, 22)`) goes
    wrong the day someone adds the 23rd. zeb_pack opens a container, takes
    values (each with its key inside a map), and writes the container's
    header when it is closed, in the smallest msgpack form.

        zeb_pack_t pack;
        zeb_pack_init (&pack, &buffer);     //  appends to buffer
        zeb_pack_map (&pack, NULL);
          zeb_pack_str (&pack, "node", name);
          zeb_pack_uint (&pack, "stored", stored);
          zeb_pack_map (&pack, "store");      //  nested, as a value
            zeb_pack_uint (&pack, "last", last);
          zeb_pack_end (&pack);
        zeb_pack_end (&pack);

    Inside a map every value needs a key; inside an array, or at the top,
    the key is NULL. Containers nest up to ZEB_PACK_DEPTH levels; the
    buffer is borrowed and must outlive the builder. Memory failures of
    the buffer are remembered: zeb_pack_end of the outermost container
    returns -1 if any write failed. Misuse (a key where none belongs,
    closing what is not open) is a programming error and asserts.
    =========================================================================
*/

#ifndef ZEB_PACK_H_INCLUDED
#define ZEB_PACK_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

#define ZEB_PACK_DEPTH  16

typedef struct {
    msgpack_sbuffer *buffer;
    msgpack_packer pk;
    int depth;                          //  open containers
    size_t start [ZEB_PACK_DEPTH];      //  offset of each container's header
    uint32_t count [ZEB_PACK_DEPTH];    //  entries so far
    bool is_map [ZEB_PACK_DEPTH];
    bool failed;
} zeb_pack_t;

//  Start building at the end of buffer (borrowed).
void
    zeb_pack_init (zeb_pack_t *self, msgpack_sbuffer *buffer);

//  Open a map or an array, as the value of key (NULL outside a map).
void
    zeb_pack_map (zeb_pack_t *self, const char *key);
void
    zeb_pack_array (zeb_pack_t *self, const char *key);

//  The header of an array of count values that the caller appends to the
//  buffer itself after closing every container (bulk data copied as it
//  is stored). It must be the last value of the outermost container.
void
    zeb_pack_array_of (zeb_pack_t *self, const char *key, uint32_t count);

//  Close the innermost container, writing its header. Returns 0, or -1
//  if a write into the buffer failed (out of memory).
int
    zeb_pack_end (zeb_pack_t *self);

//  Values. key is NULL in arrays; str NULL packs nil.
void
    zeb_pack_str (zeb_pack_t *self, const char *key, const char *str);
void
    zeb_pack_strn (zeb_pack_t *self, const char *key, const char *str, size_t len);
void
    zeb_pack_uint (zeb_pack_t *self, const char *key, uint64_t value);
void
    zeb_pack_int (zeb_pack_t *self, const char *key, int64_t value);
void
    zeb_pack_double (zeb_pack_t *self, const char *key, double value);
void
    zeb_pack_bool (zeb_pack_t *self, const char *key, bool value);
void
    zeb_pack_nil (zeb_pack_t *self, const char *key);
//  One value already encoded as msgpack (copied as it is).
void
    zeb_pack_raw (zeb_pack_t *self, const char *key, const void *data, size_t size);

//  Self test
void
    zeb_pack_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
