/*  =========================================================================
    zeb_batch - one group commit: the PUBLISHes taken in, their events

    Private to ingest and its writer. Ingest fills a batch (requests and
    canonical events), hands it to the writer by pointer over their link
    (zeb_writer.h), and gets it back with sequences assigned and the outcome;
    only then does it reply. A batch is touched by one thread at a time:
    whoever holds the pointer.
    =========================================================================
*/

#ifndef ZEB_BATCH_H_INCLUDED
#define ZEB_BATCH_H_INCLUDED

typedef struct {
    zmq_msg_t identity;         //  ROUTER routing id of the producer
    uint8_t tag [ZEB_PROTO_MAX_TAG];
    size_t tag_size;
    bool has_tag;
    bool array;                 //  body was an array of events
    size_t first_item;          //  its events in items
    size_t item_count;
    int error;                  //  0, or the NACK's code
    int64_t index;              //  offending event of an array, or -1
    char text [200];
} zeb_batch_request_t;

typedef struct {
    size_t offset;              //  canonical event in the arena
    size_t size;
    size_t sequence_at;         //  arena offset of its sequence bytes
    size_t type_at;             //  type, in keys
    size_t type_len;
    size_t key_at;              //  dedup key, in keys
    size_t key_len;             //  0: no dedup key
    uint64_t sequence;          //  set by the writer
    bool duplicate;             //  set by the writer
} zeb_batch_item_t;

//  The application writes of one TXN request (docs/PROTOCOL.md): spans
//  into the batch's txn buffer, validated by ingest
typedef struct {
    size_t db_at, db_len;       //  the database's name
    size_t writes_at, writes_size;  //  its msgpack array of [key, value|nil]
    size_t request;             //  the request it belongs to
} zeb_batch_txn_t;

typedef struct {
    zeb_batch_request_t *requests;
    size_t request_count;
    size_t request_limit;
    zeb_batch_item_t *items;
    size_t item_count;
    size_t item_limit;
    msgpack_sbuffer arena;      //  canonical events
    msgpack_sbuffer keys;       //  types and dedup keys
    msgpack_sbuffer txn;        //  TXN requests' database names and writes
    zeb_batch_txn_t *txns;      //  at most one per request (request_limit)
    size_t txn_count;
    int64_t now;                //  wall time of the batch, ms
    int result;                 //  store outcome, set by the writer
    int64_t commit_us;          //  time the writer spent on it
} zeb_batch_t;

//  Writer's counters, sent to ingest with every batch it returns
typedef struct {
    uint64_t batches;
    uint64_t commit_failures;
    uint64_t commit_us;
    uint64_t commit_us_max;
    uint64_t retention_removed;
    uint64_t dedup_expired;
    uint64_t syncs;
    uint64_t flushes;           //  for commits: journal records, checkpoints' LMDB syncs
    uint64_t checkpoints;
} zeb_writer_counters_t;

#endif
