/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nh_request_decode(): every datagram a peer sends virtbus-nethelper (which holds CAP_NET_ADMIN),
 * and nh_reply_decode(), what the daemon accepts back. A decoded message must encode again and
 * decode to the same thing. */

#include "fuzz.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t buf[NH_MESSAGE_MAX];
        char err[256] = "";
        NhRequest req = {}, req2 = {};
        NhReply reply = {}, reply2 = {};
        int n;

        if (nh_request_decode(data, size, &req, err, sizeof err) == 0) {
                n = nh_request_encode(&req, buf, sizeof buf);
                FUZZ_CHECK(n > 0);
                FUZZ_CHECK(nh_request_decode(buf, (size_t) n, &req2, err, sizeof err) == 0);
                FUZZ_CHECK(req2.verb == req.verb && req2.seq == req.seq);
        } else
                FUZZ_CHECK(memchr(err, 0, sizeof err)); /* the reason is a terminated string */

        if (nh_reply_decode(data, size, &reply, err, sizeof err) == 0) {
                n = nh_reply_encode(&reply, buf, sizeof buf);
                FUZZ_CHECK(n > 0);
                FUZZ_CHECK(nh_reply_decode(buf, (size_t) n, &reply2, err, sizeof err) == 0);
        }
        return 0;
}
