/*  =========================================================================
    zeb_trace - the trace format written by the zeb_trace LD_PRELOAD shim

    The shim (zeb_trace.c) is loaded into zebd with LD_PRELOAD and, when
    ZEB_TRACE=FILE and ZEB_TRACE_DIR=DIR are set, appends one record per
    file operation on a regular file under DIR to FILE. tests/crashfs_test.c
    reads the trace to rebuild the directory as a power loss at some point
    would have left it.

    A record is a zeb_trace_rec_t followed by size bytes: the path for
    ZEB_TRACE_OPEN, the bytes written for ZEB_TRACE_WRITE, nothing else.
    Records are in the order the operations completed: the shim holds one
    lock across the real call and the append, so the order is a total order
    consistent with real time, and time is taken when the call returned.
    Native byte order: the trace is read on the machine that wrote it.
    =========================================================================
*/

#ifndef ZEB_TRACE_H_INCLUDED
#define ZEB_TRACE_H_INCLUDED

#include <stdint.h>

typedef enum {
    ZEB_TRACE_OPEN = 1,         //  file opened: data is its path; flags below
    ZEB_TRACE_WRITE,            //  offset, size bytes written (only what was written)
    ZEB_TRACE_TRUNCATE,         //  file set to offset bytes (ftruncate, O_TRUNC)
    ZEB_TRACE_SYNC,             //  fsync or fdatasync returned 0: all of the file durable
    ZEB_TRACE_RANGE,            //  sync_file_range: recorded, no durability promised
    ZEB_TRACE_CLOSE,
    ZEB_TRACE_RENAME            //  data is "old\0new"; file is old's id
} zeb_trace_op_t;

#define ZEB_TRACE_DSYNC   1     //  flags: the descriptor has O_DSYNC or O_SYNC
#define ZEB_TRACE_CREATED 2     //  flags: opened with O_CREAT
#define ZEB_TRACE_TRUNC   4     //  flags: opened with O_TRUNC

typedef struct {
    uint32_t op;                //  a zeb_trace_op_t
    uint32_t file;              //  file id: one per path, from 0
    uint32_t flags;             //  ZEB_TRACE_ flags of the descriptor
    uint32_t size;              //  bytes following this header
    uint64_t offset;            //  WRITE: where; TRUNCATE: the new length
    uint64_t time_ns;           //  CLOCK_MONOTONIC when the call returned
} zeb_trace_rec_t;

#endif
