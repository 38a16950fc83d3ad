/*  =========================================================================
    zeb_webhook - the webhook executor: HTTP requests through libcurl

    The plugin zeb_executor_webhook (declared in zeb_executor.h) performs
    an action by one HTTP request, many at once: libcurl's multi interface
    in the host's thread, one connection cache for every request (so that
    connections to a receiver are kept alive and reused between jobs).

    How it sits on the host's loop. zeb_loop waits for readable
    descriptors only, and holds at most ZEB_LOOP_MAX of them; curl wants
    its sockets watched for reading or writing as it asks, hundreds of
    them. So the plugin keeps an epoll set of its own: curl's socket
    callback adds, changes and removes sockets there (EPOLLIN / EPOLLOUT
    as curl asks), and the epoll descriptor, which is readable whenever
    any socket in the set is ready, is the one reader the plugin adds to
    the loop. Its reader takes up to 64 ready sockets per turn to
    curl_multi_socket_action with the events that fired. curl's timer goes
    to the plugin's tick, which returns the time left to the loop and
    calls curl_multi_socket_action (CURL_SOCKET_TIMEOUT) when it is due.
    zeb_loop is unchanged.

    Node configuration (keys in the plugin's map):
      webhook/max_in_flight     requests at once, the host's credit (256)
      webhook/connect_timeout   longest to open a connection (5 s); the
                                whole request has the job's timeout
      webhook/allow, webhook/deny
                                comma-separated CIDRs (a bare address is
                                /32 or /128). Loopback (127/8, ::1),
                                private (10/8, 172.16/12, 192.168/16,
                                fc00::/7), link-local (169.254/16,
                                fe80::/10), 0.0.0.0/8 and :: are denied,
                                and so is every deny CIDR, unless an allow
                                CIDR contains the address. IPv4-mapped IPv6
                                addresses are checked as IPv4. The check is
                                on the address curl connects to (its
                                open-socket callback), after DNS, so DNS
                                rebinding cannot get past it; proxies from
                                the environment are not used.

    An action's configuration (the job's config):
      url       http:// or https:// (anything else: FAIL)
      method    POST (default), PUT, PATCH or DELETE
      headers   {name: value} strings, at most 64; names are HTTP tokens,
                values have no CR, LF or NUL. Content-Type may be set;
                Host, Content-Length, Transfer-Encoding, Connection,
                Expect and the webhook-* headers may not (FAIL).
      body      if present, any JSON value: sent as its compact JSON text
                with Content-Type application/json. If absent, the trigger
                event as CloudEvents structured JSON (zeb_event_to_json),
                application/cloudevents+json.
      secret    a Standard Webhooks 1.0 secret, "whsec_" and base64 of 24
                to 64 bytes (the prefix may be left out), or a list of up
                to 4 of them (rotation: one signature each, space-separated)

    Every request carries webhook-id (the job's key: the same on every
    attempt; with a secret it may not contain '.') and webhook-timestamp
    (Unix seconds of this attempt); with a secret, webhook-signature
    "v1,<base64 HMAC-SHA256 (key, id.timestamp.body)>". Redirects are not
    followed; only http and https are spoken; no "Expect: 100-continue".

    Results:
      2xx                   OK, result {status, body?}: body the first 1 KiB
                            of the response, if it is UTF-8 text
      3xx                   FAIL "redirect not followed"
      408, 429, 5xx         RETRY, retryAfterMs from Retry-After (seconds or
                            an HTTP date; at most 24 h)
      410                   FAIL, gone
      other 4xx and others  FAIL
      timeout, connection and TLS errors, DNS failures
                            RETRY (code 0)
      a denied destination  FAIL "destination denied: ADDRESS"
    code is the HTTP status whenever there was one; error texts of HTTP
    failures quote the start of the response body.

    STATS adds: requests, in_flight, connections (sockets opened), denied
    (connections refused by allow/deny), timeouts, responses_2xx,
    responses_3xx, responses_4xx, responses_5xx, transport_errors.

    libcurl is initialised once per process (curl_global_init under
    pthread_once, never cleaned up). Every request holds its body, its
    headers, a curl handle and at most 1 KiB of the response: the credit
    bounds them.
    =========================================================================
*/

#ifndef ZEB_WEBHOOK_H_INCLUDED
#define ZEB_WEBHOOK_H_INCLUDED

//  Bytes of a signature "v1,<base64 of 32 bytes>" with its terminator
#define ZEB_WEBHOOK_SIGNATURE_SIZE  48

//  The Standard Webhooks signature of one request into signature (at
//  least ZEB_WEBHOOK_SIGNATURE_SIZE bytes): "v1," and the base64 of
//  HMAC-SHA256 (key, id "." timestamp "." body), key the bytes secret
//  encodes ("whsec_" optional, then base64 of 24..64 bytes). Returns 0,
//  or -1 if the secret is not such a text (signature is then "").
int
    zeb_webhook_sign (const char *secret, const char *id, int64_t timestamp,
                      const void *body, size_t size, char *signature);

//  Self test
void
    zeb_webhook_test (bool verbose);

#endif
