/* sfu._forward: the native forwarding step of one Consumer, for a batch of packets.
 *
 * For each packet of the batch (an RTP packet of the consumer's source, its header
 * extension ids already translated for the consumer): map its sequence number and
 * timestamp onto the consumer's continuous output stream, rewrite the RTP header in
 * place (payload type keeping the marker bit, sequence number, timestamp, SSRC:
 * RFC 3550 section 5.1) and the VP8 PictureID / TL0PICIDX (RFC 7741 section 4.2),
 * SRTP-protect it (RFC 3711, libsrtp2), then send the whole batch with one
 * sendmmsg(2).
 *
 * The semantics are those of the Python path, exactly: sfu.rtp_rewrite.SequenceMapper's
 * map() and rewrite_vp8_at(), and the header write of sfu.consumer.Consumer.forward.
 * The mapper stays a Python SequenceMapper (the control plane switches it, the NACK
 * answer reads it): its public attributes are read once before the batch (names
 * interned at import) and those the batch changed written back once after it.
 * tests/sfu/test_native_forwarding.py checks that both paths put the same bytes on the
 * wire.
 *
 * send_batch() is the floor of bench.forwarding: sendmmsg of ready packets, nothing else.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <srtp2/srtp.h>

#define MTU 1500
/* what pylibsrtp accepts: 1500 bytes less the largest trailer (tag and MKI) */
#define MAX_PLAIN (MTU - SRTP_MAX_TRAILER_LEN)
#define BATCH 64
#define REPLAY_WINDOW 1024 /* sfu.transport.srtp.REPLAY_WINDOW */

/* ---- the SequenceMapper's state ------------------------------------------------- */

typedef struct {
    long seq_offset, ts_offset, max_seq, max_ts, floor, src_max, max_pid, max_tl0;
    long pid_offset, tl0_offset; /* -1: None (set by the first PictureID / TL0PICIDX) */
    double max_at;
} MapperState;

/* the mapper's attribute names, interned once at import (read and written per batch) */
enum { N_SEQ_OFFSET, N_TS_OFFSET, N_MAX_SEQ, N_MAX_TS, N_FLOOR, N_SRC_MAX, N_MAX_PID, N_MAX_TL0, N_PID_OFFSET,
       N_TL0_OFFSET, N_MAX_AT, N_NAMES };
static const char *const name_text[N_NAMES] = {"seq_offset", "ts_offset", "max_seq",    "max_ts",
                                               "floor",      "src_max",   "max_pid",    "max_tl0",
                                               "pid_offset", "tl0_offset", "max_at"};
static PyObject *names[N_NAMES]; /* set at module init, never changed after */

static int get_long(PyObject *obj, int name, long *out, int none_ok) {
    PyObject *v = PyObject_GetAttr(obj, names[name]);
    if (v == NULL)
        return -1;
    if (v == Py_None && none_ok) {
        *out = -1;
        Py_DECREF(v);
        return 0;
    }
    *out = PyLong_AsLong(v);
    Py_DECREF(v);
    if (*out == -1 && PyErr_Occurred())
        return -1;
    return 0;
}

static int set_long(PyObject *obj, int name, long value, int none_if_negative) {
    PyObject *v;
    int rc;
    if (value < 0 && none_if_negative) {
        Py_INCREF(Py_None);
        v = Py_None;
    } else {
        v = PyLong_FromLong(value);
        if (v == NULL)
            return -1;
    }
    rc = PyObject_SetAttr(obj, names[name], v);
    Py_DECREF(v);
    return rc;
}

static int mapper_read(PyObject *m, MapperState *s) {
    PyObject *at;
    if (get_long(m, N_SEQ_OFFSET, &s->seq_offset, 0) || get_long(m, N_TS_OFFSET, &s->ts_offset, 0) ||
        get_long(m, N_MAX_SEQ, &s->max_seq, 0) || get_long(m, N_MAX_TS, &s->max_ts, 0) ||
        get_long(m, N_FLOOR, &s->floor, 0) || get_long(m, N_SRC_MAX, &s->src_max, 0) ||
        get_long(m, N_MAX_PID, &s->max_pid, 0) || get_long(m, N_MAX_TL0, &s->max_tl0, 0) ||
        get_long(m, N_PID_OFFSET, &s->pid_offset, 1) || get_long(m, N_TL0_OFFSET, &s->tl0_offset, 1))
        return -1;
    at = PyObject_GetAttr(m, names[N_MAX_AT]);
    if (at == NULL)
        return -1;
    s->max_at = PyFloat_AsDouble(at);
    Py_DECREF(at);
    if (s->max_at == -1.0 && PyErr_Occurred())
        return -1;
    return 0;
}

/* write back what the batch changed (the offsets are the control plane's, set by
 * switch(), except a PictureID/TL0PICIDX offset a first descriptor sets) */
static int mapper_write(PyObject *m, const MapperState *s, const MapperState *was) {
    PyObject *at;
    int rc;
#define CHANGED(field, name, none) (s->field != was->field && set_long(m, name, s->field, none))
    if (CHANGED(max_seq, N_MAX_SEQ, 0) || CHANGED(max_ts, N_MAX_TS, 0) || CHANGED(floor, N_FLOOR, 0) ||
        CHANGED(src_max, N_SRC_MAX, 0) || CHANGED(max_pid, N_MAX_PID, 0) || CHANGED(max_tl0, N_MAX_TL0, 0) ||
        CHANGED(pid_offset, N_PID_OFFSET, 1) || CHANGED(tl0_offset, N_TL0_OFFSET, 1))
        return -1;
#undef CHANGED
    if (s->max_at == was->max_at)
        return 0;
    at = PyFloat_FromDouble(s->max_at);
    if (at == NULL)
        return -1;
    rc = PyObject_SetAttr(m, names[N_MAX_AT], at);
    Py_DECREF(at);
    return rc;
}

/* SequenceMapper.map(): 0 and the output (seq, ts), or -1 before the switch point */
static int mapper_map(MapperState *s, long seq, long ts, double now, long *out_seq, long *out_ts) {
    long since_floor = (seq - s->floor) & 0xFFFF;
    long d;
    if (since_floor >= 0x8000)
        return -1;
    d = (seq - s->src_max) & 0xFFFF;
    if (0 < d && d < 0x8000) {
        s->src_max = seq;
        if (since_floor > 0x4000)
            s->floor = (seq - 0x2000) & 0xFFFF;
    }
    *out_seq = (seq + s->seq_offset) & 0xFFFF;
    *out_ts = (ts + s->ts_offset) & 0xFFFFFFFFL;
    d = (*out_seq - s->max_seq) & 0xFFFF;
    if (0 < d && d < 0x8000) {
        s->max_seq = *out_seq;
        s->max_ts = *out_ts;
        s->max_at = now;
    }
    return 0;
}

/* SequenceMapper.rewrite_vp8_at(), in place */
static void mapper_vp8(MapperState *s, unsigned char *buf, long pid_at, long bits, long tl0_at, long *pid_off,
                       long *tl0_off) {
    if (pid_at >= 0) {
        long pid = bits == 15 ? (((long)(buf[pid_at] & 0x7F) << 8) | buf[pid_at + 1]) : (buf[pid_at] & 0x7F);
        long out;
        if (s->pid_offset < 0)
            s->pid_offset = (s->max_pid + 1 - pid) & 0x7FFF;
        *pid_off = s->pid_offset;
        out = (pid + s->pid_offset) & 0x7FFF;
        if (((out - s->max_pid) & 0x7FFF) < 0x4000)
            s->max_pid = out;
        if (bits == 15) {
            buf[pid_at] = (unsigned char)(0x80 | (out >> 8));
            buf[pid_at + 1] = (unsigned char)(out & 0xFF);
        } else {
            buf[pid_at] = (unsigned char)(out & 0x7F);
        }
    } else {
        *pid_off = s->pid_offset < 0 ? 0 : s->pid_offset;
    }
    if (tl0_at >= 0) {
        long tl0 = buf[tl0_at];
        long out;
        if (s->tl0_offset < 0)
            s->tl0_offset = (s->max_tl0 + 1 - tl0) & 0xFF;
        *tl0_off = s->tl0_offset;
        out = (tl0 + s->tl0_offset) & 0xFF;
        if (((out - s->max_tl0) & 0xFF) < 0x80)
            s->max_tl0 = out;
        buf[tl0_at] = (unsigned char)out;
    } else {
        *tl0_off = s->tl0_offset < 0 ? 0 : s->tl0_offset;
    }
}

/* ---- addresses and sendmmsg -------------------------------------------------------- */

static int parse_address(PyObject *address, struct sockaddr_storage *sa, socklen_t *len) {
    const char *host;
    int port;
    memset(sa, 0, sizeof(*sa));
    if (!PyArg_ParseTuple(address, "si", &host, &port)) /* (host, port[, ...]) as a 2-tuple */
        return -1;
    if (port < 0 || port > 65535) {
        PyErr_SetString(PyExc_ValueError, "port out of range");
        return -1;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    {
        /* a scoped IPv6 address (fe80::1%eth0): getaddrinfo, numeric only, reads the scope */
        struct addrinfo hints, *found = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_flags = AI_NUMERICHOST;
        hints.ai_socktype = SOCK_DGRAM;
        if (getaddrinfo(host, NULL, &hints, &found) == 0 && found != NULL &&
            found->ai_addrlen <= sizeof(*sa)) {
            memcpy(sa, found->ai_addr, found->ai_addrlen);
            *len = (socklen_t)found->ai_addrlen;
            if (sa->ss_family == AF_INET6)
                v6->sin6_port = htons((uint16_t)port);
            else
                v4->sin_port = htons((uint16_t)port);
            freeaddrinfo(found);
            return 0;
        }
        if (found != NULL)
            freeaddrinfo(found);
    }
    PyErr_SetString(PyExc_ValueError, "address must be a numeric IPv4 or IPv6 host and a port");
    return -1;
}

static PyObject *address_arg(PyObject *address, struct sockaddr_storage *sa, socklen_t *len) {
    PyObject *pair;
    if (!PyTuple_Check(address) || PyTuple_GET_SIZE(address) < 2) {
        PyErr_SetString(PyExc_TypeError, "address must be a (host, port) tuple");
        return NULL;
    }
    pair = PyTuple_GetSlice(address, 0, 2); /* an IPv6 address may come with flowinfo, scope */
    if (pair == NULL)
        return NULL;
    if (parse_address(pair, sa, len) < 0) {
        Py_DECREF(pair);
        return NULL;
    }
    return pair;
}

/* Send msgs[0..n) with sendmmsg; returns how many the kernel took. A datagram the kernel
 * refuses for itself (an ICMP error remembered on the socket) is skipped; a full socket
 * (EAGAIN) ends the batch: the rest is not sent, as the Python path drops it. */
static int send_all(int fd, struct mmsghdr *msgs, int n, int *sent_flags) {
    int off = 0, sent = 0;
    while (off < n) {
        int r;
        Py_BEGIN_ALLOW_THREADS
        r = sendmmsg(fd, msgs + off, (unsigned int)(n - off), MSG_DONTWAIT);
        Py_END_ALLOW_THREADS
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EBADF ||
                errno == ENOTSOCK)
                break;
            off += 1; /* this datagram only */
            continue;
        }
        if (r == 0)
            break;
        if (sent_flags != NULL)
            for (int i = off; i < off + r; i++)
                sent_flags[i] = 1;
        off += r;
        sent += r;
    }
    return sent;
}

/* ---- Sender: one connection's outbound SRTP session ---------------------------------- */

typedef struct {
    PyObject_HEAD
    srtp_t srtp;
    unsigned char buf[BATCH][MTU];
    int lens[BATCH];
} Sender;

static void Sender_dealloc(Sender *self) {
    if (self->srtp != NULL)
        srtp_dealloc(self->srtp);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *SrtpError; /* set at module init, never changed after */

static int Sender_init(Sender *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"profile", "key", NULL};
    int profile;
    Py_buffer key;
    srtp_policy_t policy;
    srtp_err_status_t rc;
    size_t need;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iy*", kwlist, &profile, &key))
        return -1;
    memset(&policy, 0, sizeof(policy));
    if (srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, (srtp_profile_t)profile) != srtp_err_status_ok ||
        srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp, (srtp_profile_t)profile) != srtp_err_status_ok) {
        PyBuffer_Release(&key);
        PyErr_Format(SrtpError, "SRTP profile %d not supported", profile);
        return -1;
    }
    need = srtp_profile_get_master_key_length((srtp_profile_t)profile) +
           srtp_profile_get_master_salt_length((srtp_profile_t)profile);
    if ((size_t)key.len != need) {
        PyBuffer_Release(&key);
        PyErr_Format(PyExc_ValueError, "key and salt must be %zu bytes for this profile", need);
        return -1;
    }
    policy.ssrc.type = ssrc_any_outbound;
    policy.key = (unsigned char *)key.buf;
    policy.window_size = REPLAY_WINDOW;
    policy.allow_repeat_tx = 1; /* a NACK's answer re-sends an index (sfu.transport.srtp) */
    if (self->srtp != NULL) {
        srtp_dealloc(self->srtp);
        self->srtp = NULL;
    }
    rc = srtp_create(&self->srtp, &policy);
    PyBuffer_Release(&key);
    if (rc != srtp_err_status_ok) {
        self->srtp = NULL;
        PyErr_Format(SrtpError, "srtp_create failed (%d)", (int)rc);
        return -1;
    }
    return 0;
}

static PyObject *Sender_protect(Sender *self, PyObject *arg) {
    Py_buffer pkt;
    int len;
    srtp_err_status_t rc;
    if (self->srtp == NULL) {
        PyErr_SetString(SrtpError, "session not initialised");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &pkt, PyBUF_SIMPLE) < 0)
        return NULL;
    if (pkt.len > MAX_PLAIN) {
        PyBuffer_Release(&pkt);
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return NULL;
    }
    memcpy(self->buf[0], pkt.buf, (size_t)pkt.len);
    len = (int)pkt.len;
    PyBuffer_Release(&pkt);
    rc = srtp_protect(self->srtp, self->buf[0], &len);
    if (rc != srtp_err_status_ok) {
        PyErr_Format(SrtpError, "srtp_protect failed (%d)", (int)rc);
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)self->buf[0], len);
}

/* forward(fd, address, mapper, packets, vp8, payload_type, ssrc, now)
 *   -> (entries, sent, octets, refused, unsent)
 * entries[i]: (out_seq, seq, out_ts, pid_off, tl0_off) as the Consumer's NACK history
 * records it, or None when the packet is before the mapper's switch point (not sent). */
static PyObject *Sender_forward(Sender *self, PyObject *args) {
    int fd, payload_type;
    unsigned long ssrc;
    double now;
    PyObject *address, *mapper, *packets, *vp8, *pair = NULL, *entries = NULL, *packets_fast = NULL,
                                                 *vp8_fast = NULL;
    struct sockaddr_storage sa;
    socklen_t salen;
    MapperState st, was;
    Py_ssize_t n, i;
    long sent = 0, octets = 0, refused = 0, unsent = 0;
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    int plain_len[BATCH], sent_flags[BATCH];
    int k = 0;

    if (!PyArg_ParseTuple(args, "iOOOOikd", &fd, &address, &mapper, &packets, &vp8, &payload_type, &ssrc, &now))
        return NULL;
    if (self->srtp == NULL) {
        PyErr_SetString(SrtpError, "session not initialised");
        return NULL;
    }
    pair = address_arg(address, &sa, &salen);
    if (pair == NULL)
        return NULL;
    packets_fast = PySequence_Fast(packets, "packets must be a sequence");
    vp8_fast = packets_fast ? PySequence_Fast(vp8, "vp8 must be a sequence") : NULL;
    if (vp8_fast == NULL)
        goto fail;
    n = PySequence_Fast_GET_SIZE(packets_fast);
    if (PySequence_Fast_GET_SIZE(vp8_fast) != n) {
        PyErr_SetString(PyExc_ValueError, "one vp8 entry per packet");
        goto fail;
    }
    if (mapper_read(mapper, &st) < 0)
        goto fail;
    was = st;
    entries = PyList_New(n);
    if (entries == NULL)
        goto fail;
    memset(msgs, 0, sizeof(msgs));
    for (i = 0; i <= n; i++) {
        if (k == BATCH || (i == n && k > 0)) {
            memset(sent_flags, 0, sizeof(int) * (size_t)k);
            long got = send_all(fd, msgs, k, sent_flags);
            sent += got;
            unsent += k - got;
            for (int j = 0; j < k; j++)
                if (sent_flags[j])
                    octets += plain_len[j];
            k = 0;
        }
        if (i == n)
            break;
        PyObject *pkt_obj = PySequence_Fast_GET_ITEM(packets_fast, i);
        PyObject *vp8_obj = PySequence_Fast_GET_ITEM(vp8_fast, i);
        Py_buffer pkt;
        long seq, ts, out_seq, out_ts, pid_off = 0, tl0_off = 0, pid_at = -1, bits = 0, tl0_at = -1;
        unsigned char *b;
        int len;
        if (PyObject_GetBuffer(pkt_obj, &pkt, PyBUF_SIMPLE) < 0)
            goto fail;
        if (pkt.len < 12) {
            PyBuffer_Release(&pkt);
            PyErr_SetString(PyExc_ValueError, "not an RTP packet");
            goto fail;
        }
        if (vp8_obj != Py_None) {
            if (!PyArg_ParseTuple(vp8_obj, "lll", &pid_at, &bits, &tl0_at)) {
                PyBuffer_Release(&pkt);
                goto fail;
            }
            if (pid_at + (bits == 15 ? 2 : 1) > pkt.len || tl0_at >= pkt.len) {
                PyBuffer_Release(&pkt);
                PyErr_SetString(PyExc_ValueError, "VP8 offsets outside the packet");
                goto fail;
            }
        }
        const unsigned char *src = (const unsigned char *)pkt.buf;
        seq = ((long)src[2] << 8) | src[3];
        ts = ((long)src[4] << 24) | ((long)src[5] << 16) | ((long)src[6] << 8) | src[7];
        if (mapper_map(&st, seq, ts, now, &out_seq, &out_ts) < 0) {
            PyBuffer_Release(&pkt);
            Py_INCREF(Py_None);
            PyList_SET_ITEM(entries, i, Py_None);
            continue;
        }
        b = self->buf[k];
        len = (int)(pkt.len > MAX_PLAIN ? MAX_PLAIN : pkt.len);
        memcpy(b, src, (size_t)len);
        Py_ssize_t full_len = pkt.len;
        PyBuffer_Release(&pkt);
        b[1] = (unsigned char)((b[1] & 0x80) | (payload_type & 0x7F));
        b[2] = (unsigned char)(out_seq >> 8);
        b[3] = (unsigned char)out_seq;
        b[4] = (unsigned char)(out_ts >> 24);
        b[5] = (unsigned char)(out_ts >> 16);
        b[6] = (unsigned char)(out_ts >> 8);
        b[7] = (unsigned char)out_ts;
        b[8] = (unsigned char)(ssrc >> 24);
        b[9] = (unsigned char)(ssrc >> 16);
        b[10] = (unsigned char)(ssrc >> 8);
        b[11] = (unsigned char)ssrc;
        if (vp8_obj != Py_None)
            mapper_vp8(&st, b, pid_at, bits, tl0_at, &pid_off, &tl0_off);
        /* else: no descriptor, offsets 0 (Consumer.forward records no VP8 rewrite) */
        PyObject *entry = Py_BuildValue("(lllll)", out_seq, seq, out_ts, pid_off, tl0_off);
        if (entry == NULL)
            goto fail;
        PyList_SET_ITEM(entries, i, entry);
        if (full_len > MAX_PLAIN) { /* pylibsrtp refuses it too: "packet is too long" */
            refused += 1;
            continue;
        }
        if (srtp_protect(self->srtp, b, &len) != srtp_err_status_ok) {
            refused += 1;
            continue;
        }
        plain_len[k] = (int)full_len;
        iov[k].iov_base = b;
        iov[k].iov_len = (size_t)len;
        msgs[k].msg_hdr.msg_name = &sa;
        msgs[k].msg_hdr.msg_namelen = salen;
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
        k += 1;
    }
    if (mapper_write(mapper, &st, &was) < 0)
        goto fail;
    Py_DECREF(pair);
    Py_DECREF(packets_fast);
    Py_DECREF(vp8_fast);
    return Py_BuildValue("(Nllll)", entries, sent, octets, refused, unsent);
fail:
    /* the batch did not complete: what was already sent is on the wire, and the mapper
     * keeps its state from before the batch */
    Py_XDECREF(pair);
    Py_XDECREF(packets_fast);
    Py_XDECREF(vp8_fast);
    Py_XDECREF(entries);
    return NULL;
}

static PyMethodDef Sender_methods[] = {
    {"protect", (PyCFunction)Sender_protect, METH_O, "SRTP-protect one RTP packet (as pylibsrtp's Session.protect)."},
    {"forward", (PyCFunction)Sender_forward, METH_VARARGS,
     "forward(fd, address, mapper, packets, vp8, payload_type, ssrc, now) -> (entries, sent, octets, refused, "
     "unsent): rewrite, protect and send a batch of one consumer's packets with sendmmsg."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SenderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sfu._forward.Sender",
    .tp_basicsize = sizeof(Sender),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Sender(profile, key): an outbound SRTP session (any SSRC, repeats allowed, window 1024).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Sender_init,
    .tp_dealloc = (destructor)Sender_dealloc,
    .tp_methods = Sender_methods,
};

/* send_batch(fd, address, packets) -> sent: the floor, sendmmsg of ready datagrams */
static PyObject *send_batch(PyObject *module, PyObject *args) {
    int fd;
    PyObject *address, *packets, *pair, *fast;
    struct sockaddr_storage sa;
    socklen_t salen;
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    Py_buffer bufs[BATCH];
    Py_ssize_t n, i;
    long sent = 0;
    int k = 0;
    if (!PyArg_ParseTuple(args, "iOO", &fd, &address, &packets))
        return NULL;
    pair = address_arg(address, &sa, &salen);
    if (pair == NULL)
        return NULL;
    fast = PySequence_Fast(packets, "packets must be a sequence");
    if (fast == NULL) {
        Py_DECREF(pair);
        return NULL;
    }
    n = PySequence_Fast_GET_SIZE(fast);
    memset(msgs, 0, sizeof(msgs));
    for (i = 0; i <= n; i++) {
        if (k == BATCH || (i == n && k > 0)) {
            sent += send_all(fd, msgs, k, NULL);
            for (int j = 0; j < k; j++)
                PyBuffer_Release(&bufs[j]);
            k = 0;
        }
        if (i == n)
            break;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(fast, i), &bufs[k], PyBUF_SIMPLE) < 0) {
            for (int j = 0; j < k; j++)
                PyBuffer_Release(&bufs[j]);
            Py_DECREF(fast);
            Py_DECREF(pair);
            return NULL;
        }
        iov[k].iov_base = bufs[k].buf;
        iov[k].iov_len = (size_t)bufs[k].len;
        msgs[k].msg_hdr.msg_name = &sa;
        msgs[k].msg_hdr.msg_namelen = salen;
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
        k += 1;
    }
    Py_DECREF(fast);
    Py_DECREF(pair);
    return PyLong_FromLong(sent);
}

static PyMethodDef module_methods[] = {
    {"send_batch", send_batch, METH_VARARGS,
     "send_batch(fd, address, packets) -> sent: sendmmsg of ready datagrams (the floor of bench.forwarding)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef forward_module = {
    PyModuleDef_HEAD_INIT, .m_name = "sfu._forward",
    .m_doc = "The native forwarding step of a Consumer: header rewrite, SRTP (libsrtp2), sendmmsg.", .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__forward(void) {
    PyObject *m;
    if (srtp_init() != srtp_err_status_ok) {
        PyErr_SetString(PyExc_ImportError, "srtp_init failed");
        return NULL;
    }
    if (PyType_Ready(&SenderType) < 0)
        return NULL;
    for (int i = 0; i < N_NAMES; i++)
        if (names[i] == NULL && (names[i] = PyUnicode_InternFromString(name_text[i])) == NULL)
            return NULL;
    m = PyModule_Create(&forward_module);
    if (m == NULL)
        return NULL;
    SrtpError = PyErr_NewException("sfu._forward.SrtpError", PyExc_Exception, NULL);
    if (SrtpError == NULL || PyModule_AddObjectRef(m, "SrtpError", SrtpError) < 0 ||
        PyModule_AddObjectRef(m, "Sender", (PyObject *)&SenderType) < 0 ||
        PyModule_AddIntConstant(m, "BATCH", BATCH) < 0 || PyModule_AddIntConstant(m, "MAX_PLAIN", MAX_PLAIN) < 0) {
        Py_XDECREF(m);
        return NULL;
    }
    return m;
}
