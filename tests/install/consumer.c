/*  A user's program: an embedded node in a temporary directory, one event
    published through the client and read back from the log.
    usage: consumer DATA_DIR                                                */

#include <zeb.h>

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: consumer DATA_DIR\n");
        return 2;
    }
    zeb_fault_t fault;
    zeb_node_t *node = zeb_node_new_embedded (argv [1], &fault);
    if (!node) {
        fprintf (stderr, "consumer: %s\n", fault.text);
        return 1;
    }
    zeb_client_t *client = zeb_client_new (zeb_node_endpoint (node, "ingest"));
    zeb_event_t *event = zeb_event_new ("install.checked");
    zeb_event_set (event, "source", "consumer");
    zeb_ack_t ack;
    int rc = zeb_client_connect (client);
    if (rc == 0)
        rc = zeb_client_publish (client, event, &ack);
    zeb_fetch_t result;
    if (rc == 0)
        rc = zeb_client_fetch (client, ack.sequence, 1, 0, NULL, &result);
    if (rc == 0) {
        zeb_event_t *stored = (zeb_event_t *) zlistx_first (result.events);
        if (!stored || !streq (zeb_event_type (stored), "install.checked"))
            rc = ZEB_ERROR;
        zeb_fetch_reset (&result);
    }
    if (rc == 0)
        printf ("consumer: published and read back sequence %llu\n",
                (unsigned long long) ack.sequence);
    else
        fprintf (stderr, "consumer: %s\n", zeb_strerror (rc));
    zeb_event_destroy (&event);
    zeb_client_destroy (&client);
    zeb_node_destroy (&node);
    return rc? 1: 0;
}
