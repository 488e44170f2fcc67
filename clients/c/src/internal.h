/* Shared between the client's source files; not installed. */
#ifndef WEFT_CLIENT_INTERNAL_H
#define WEFT_CLIENT_INTERNAL_H

#include <zmq.h>

#include "weft/client.h"

/* The encoded size of the request header for these arguments; 0 if they are invalid. */
size_t weft_request_header_size(uint64_t request_id, const char *service, const char *method,
                                const weft_call_options *options);

/* Encodes the header of a cancel message for `request_id` into `out`; returns its length,
 * or 0 if it does not fit. */
size_t weft_encode_cancel_header(uint64_t request_id, uint8_t *out, size_t out_size);

/* Encodes the header of a MESSAGE, HALF_CLOSE or CREDIT (`frame`, a CallFrame value) on
 * open call `request_id`; returns its length, or 0 if it does not fit. */
size_t weft_encode_call_frame(uint64_t request_id, int frame, uint32_t credit, uint8_t *out, size_t out_size);

/* Decodes a reply message [signature][ResponseHeader][body]*. Returns 1 and moves the
 * frames into `*response` (leaving them empty in `frames`), or 0 if the message is
 * malformed or memory ran out. The caller closes `frames` either way. */
int weft_decode_reply(zmq_msg_t *frames, size_t count, const char signature[4], weft_response *response);

/* Makes a final reply the client produces itself (e.g. a deadline that passed with no
 * answer). Returns 0 if memory ran out. */
int weft_local_reply(uint64_t request_id, int status, const char *message, weft_response *response);

#endif
