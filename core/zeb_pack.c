/*  =========================================================================
    zeb_pack - a msgpack builder whose maps and arrays count themselves

    A container's header is reserved at its largest (5 bytes: map32 or
    array32) when it is opened; zeb_pack_end writes the smallest header
    for the final count and moves the contents down over the slack. That
    move is one memmove of the container's bytes, which for replies and
    STATS is a few hundred bytes: bulk data (the log's EVENTS) is written
    straight with msgpack-c, not through this builder.
    =========================================================================
*/

#include "zeb_classes.h"

#define S_RESERVED  5

void
zeb_pack_init (zeb_pack_t *self, msgpack_sbuffer *buffer)
{
    assert (self);
    assert (buffer);
    memset (self, 0, sizeof (*self));
    self->buffer = buffer;
    msgpack_packer_init (&self->pk, buffer, msgpack_sbuffer_write);
}

//  Count a new entry at the current level and write its key, if any
static void
s_key (zeb_pack_t *self, const char *key)
{
    if (self->depth == 0) {
        assert (!key);
        return;
    }
    int level = self->depth - 1;
    assert (self->is_map [level] == (key != NULL));
    self->count [level]++;
    if (key && msgpack_pack_str_with_body (&self->pk, key, strlen (key)))
        self->failed = true;
}

static void
s_open (zeb_pack_t *self, const char *key, bool is_map)
{
    s_key (self, key);
    assert (self->depth < ZEB_PACK_DEPTH);
    self->start [self->depth] = self->buffer->size;
    self->count [self->depth] = 0;
    self->is_map [self->depth] = is_map;
    self->depth++;
    static const char reserved [S_RESERVED] = { 0 };
    if (msgpack_sbuffer_write (self->buffer, reserved, S_RESERVED))
        self->failed = true;
}

void
zeb_pack_map (zeb_pack_t *self, const char *key)
{
    s_open (self, key, true);
}

void
zeb_pack_array (zeb_pack_t *self, const char *key)
{
    s_open (self, key, false);
}

void
zeb_pack_array_of (zeb_pack_t *self, const char *key, uint32_t count)
{
    s_key (self, key);
    if (msgpack_pack_array (&self->pk, count))
        self->failed = true;
}

int
zeb_pack_end (zeb_pack_t *self)
{
    assert (self);
    assert (self->depth > 0);
    int level = --self->depth;
    if (self->failed) {
        self->buffer->size = self->start [level];
        return -1;
    }
    uint32_t count = self->count [level];
    bool is_map = self->is_map [level];
    uint8_t header [S_RESERVED];
    size_t header_size;
    if (count < 16) {
        header [0] = (uint8_t) ((is_map? 0x80: 0x90) | count);
        header_size = 1;
    }
    else
    if (count < 65536) {
        header [0] = is_map? 0xde: 0xdc;
        header [1] = (uint8_t) (count >> 8);
        header [2] = (uint8_t) count;
        header_size = 3;
    }
    else {
        header [0] = is_map? 0xdf: 0xdd;
        for (int index = 0; index < 4; index++)
            header [1 + index] = (uint8_t) (count >> (24 - 8 * index));
        header_size = 5;
    }
    char *start = self->buffer->data + self->start [level];
    size_t body = self->buffer->size - self->start [level] - S_RESERVED;
    memcpy (start, header, header_size);
    if (header_size < S_RESERVED) {
        memmove (start + header_size, start + S_RESERVED, body);
        self->buffer->size -= S_RESERVED - header_size;
    }
    return 0;
}

void
zeb_pack_str (zeb_pack_t *self, const char *key, const char *str)
{
    if (str)
        zeb_pack_strn (self, key, str, strlen (str));
    else
        zeb_pack_nil (self, key);
}

void
zeb_pack_strn (zeb_pack_t *self, const char *key, const char *str, size_t len)
{
    s_key (self, key);
    if (msgpack_pack_str_with_body (&self->pk, str, len))
        self->failed = true;
}

void
zeb_pack_uint (zeb_pack_t *self, const char *key, uint64_t value)
{
    s_key (self, key);
    if (msgpack_pack_uint64 (&self->pk, value))
        self->failed = true;
}

void
zeb_pack_int (zeb_pack_t *self, const char *key, int64_t value)
{
    s_key (self, key);
    if (msgpack_pack_int64 (&self->pk, value))
        self->failed = true;
}

void
zeb_pack_double (zeb_pack_t *self, const char *key, double value)
{
    s_key (self, key);
    if (msgpack_pack_double (&self->pk, value))
        self->failed = true;
}

void
zeb_pack_bool (zeb_pack_t *self, const char *key, bool value)
{
    s_key (self, key);
    if (value? msgpack_pack_true (&self->pk): msgpack_pack_false (&self->pk))
        self->failed = true;
}

void
zeb_pack_nil (zeb_pack_t *self, const char *key)
{
    s_key (self, key);
    if (msgpack_pack_nil (&self->pk))
        self->failed = true;
}

void
zeb_pack_raw (zeb_pack_t *self, const char *key, const void *data, size_t size)
{
    s_key (self, key);
    if (msgpack_sbuffer_write (self->buffer, (const char *) data, size))
        self->failed = true;
}

//  ---------------------------------------------------------------------
//  Self test

void
zeb_pack_test (bool verbose)
{
    printf (" * zeb_pack: ");
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zeb_pack_t pack;

    //  A small map: fixmap header, nested values, counted
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_str (&pack, "node", "zeb");
    zeb_pack_uint (&pack, "stored", 42);
    zeb_pack_int (&pack, "delta", -7);
    zeb_pack_bool (&pack, "ok", true);
    zeb_pack_nil (&pack, "none");
    zeb_pack_map (&pack, "store");
    zeb_pack_uint (&pack, "last", 9);
    zeb_pack_end (&pack);
    zeb_pack_array (&pack, "list");
    zeb_pack_uint (&pack, NULL, 1);
    zeb_pack_str (&pack, NULL, "two");
    zeb_pack_end (&pack);
    zeb_pack_raw (&pack, "raw", "\xa3" "abc", 4);
    zeb_pack_double (&pack, "half", 0.5);
    assert (zeb_pack_end (&pack) == 0);
    assert ((uint8_t) buffer.data [0] == 0x89);
    json_t *json = zeb_json_from_msgpack (buffer.data, buffer.size, NULL);
    assert (json);
    char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    assert (streq (text, "{\"delta\":-7,\"half\":0.5,\"list\":[1,\"two\"],\"node\":\"zeb\",\"none\":null,"
                         "\"ok\":true,\"raw\":\"abc\",\"store\":{\"last\":9},\"stored\":42}"));
    free (text);
    json_decref (json);

    //  16 and 70,000 entries take map16 and array32 headers
    msgpack_sbuffer_clear (&buffer);
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    for (int index = 0; index < 16; index++) {
        char key [8];
        snprintf (key, sizeof (key), "k%d", index);
        zeb_pack_uint (&pack, key, (uint64_t) index);
    }
    assert (zeb_pack_end (&pack) == 0);
    assert ((uint8_t) buffer.data [0] == 0xde && buffer.data [1] == 0 && buffer.data [2] == 16);
    zeb_mpk_t reader;
    zeb_mpk_init (&reader, buffer.data, buffer.size);
    assert (zeb_mpk_skip (&reader, NULL, NULL) == 0 && zeb_mpk_done (&reader));
    msgpack_sbuffer_clear (&buffer);
    zeb_pack_init (&pack, &buffer);
    zeb_pack_array (&pack, NULL);
    for (int index = 0; index < 70000; index++)
        zeb_pack_uint (&pack, NULL, 1);
    assert (zeb_pack_end (&pack) == 0);
    uint32_t count;
    zeb_mpk_init (&reader, buffer.data, buffer.size);
    assert ((uint8_t) buffer.data [0] == 0xdd);
    assert (zeb_mpk_read_array (&reader, &count) == 0 && count == 70000);

    //  Appends after what the buffer holds already
    msgpack_sbuffer_clear (&buffer);
    msgpack_sbuffer_write (&buffer, "\x01", 1);
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_end (&pack);
    assert (buffer.size == 2 && (uint8_t) buffer.data [1] == 0x80);
    //  An array whose elements follow the builder's output
    msgpack_sbuffer_clear (&buffer);
    zeb_pack_init (&pack, &buffer);
    zeb_pack_map (&pack, NULL);
    zeb_pack_uint (&pack, "count", 2);
    zeb_pack_array_of (&pack, "events", 2);
    assert (zeb_pack_end (&pack) == 0);
    msgpack_sbuffer_write (&buffer, "\x01\x02", 2);
    json = zeb_json_from_msgpack (buffer.data, buffer.size, NULL);
    text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
    assert (streq (text, "{\"count\":2,\"events\":[1,2]}"));
    free (text);
    json_decref (json);
    msgpack_sbuffer_destroy (&buffer);
    if (verbose)
        printf ("(headers 1, 3 and 5 bytes) ");
    printf ("OK\n");
}
