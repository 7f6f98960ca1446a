/* sfu._forward: the native forwarding step: one consumer's batch, or one packet to many consumers.
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
 * fanout() is the Router's call: ONE packet to every consumer of its producer in steady
 * state (sfu.consumer.Consumer.fan_out), each with its own mapper, SRTP session and
 * socket, one sendto each, the datagram handed back when it cannot be sent directly.
 * Both it and Sender.forward() rewrite through forward_step() (and mapper_vp8()), the one
 * place the per-packet rewrite lives.
 *
 * send_batch() is the floor of bench.forwarding: sendmmsg of ready packets, nothing else.
 *
 * No module state changes after init (the interned names, the exception type); every
 * read of a packet is checked against its length first (vp8_fits, the 12-byte header),
 * every write goes to a buffer of MTU bytes holding at most MAX_PLAIN plus the trailer.
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

/* SequenceMapper.rewrite_vp8_at(): the PictureID / TL0PICIDX read from ``in`` (offsets
 * checked by the caller against its length), the state updated, the rewritten values
 * written to ``out`` at the same offsets when ``out`` is not NULL (a copy of ``in`` at
 * least as long: the caller checks). NULL: a packet too long to protect, whose state
 * change and history entry the Python path still makes. */
static void mapper_vp8(MapperState *s, const unsigned char *in, unsigned char *out, long pid_at, long bits,
                       long tl0_at, long *pid_off, long *tl0_off) {
    if (pid_at >= 0) {
        long pid = bits == 15 ? (((long)(in[pid_at] & 0x7F) << 8) | in[pid_at + 1]) : (in[pid_at] & 0x7F);
        long rewritten;
        if (s->pid_offset < 0)
            s->pid_offset = (s->max_pid + 1 - pid) & 0x7FFF;
        *pid_off = s->pid_offset;
        rewritten = (pid + s->pid_offset) & 0x7FFF;
        if (((rewritten - s->max_pid) & 0x7FFF) < 0x4000)
            s->max_pid = rewritten;
        if (out != NULL) {
            if (bits == 15) {
                out[pid_at] = (unsigned char)(0x80 | (rewritten >> 8));
                out[pid_at + 1] = (unsigned char)(rewritten & 0xFF);
            } else {
                out[pid_at] = (unsigned char)(rewritten & 0x7F);
            }
        }
    } else {
        *pid_off = s->pid_offset < 0 ? 0 : s->pid_offset;
    }
    if (tl0_at >= 0) {
        long tl0 = in[tl0_at];
        long rewritten;
        if (s->tl0_offset < 0)
            s->tl0_offset = (s->max_tl0 + 1 - tl0) & 0xFF;
        *tl0_off = s->tl0_offset;
        rewritten = (tl0 + s->tl0_offset) & 0xFF;
        if (((rewritten - s->max_tl0) & 0xFF) < 0x80)
            s->max_tl0 = rewritten;
        if (out != NULL)
            out[tl0_at] = (unsigned char)rewritten;
    } else {
        *tl0_off = s->tl0_offset < 0 ? 0 : s->tl0_offset;
    }
}

/* ---- one packet for one consumer: the step forward() and fanout() share ------------- */

/* a VP8 descriptor already parsed (sfu.rtp_rewrite.vp8_descriptor): offsets, -1 absent */
typedef struct {
    int present;
    long pid_at, bits, tl0_at;
} Vp8At;

/* what became of one packet for one consumer (sfu.forwarding.Status) */
enum { ST_SENT, ST_BEFORE_SWITCH, ST_SRTP_REFUSED, ST_TOO_LONG, ST_HANDOFF, ST_READY };

/* None -> absent; (pid_at, bits, tl0_at) -> parsed. The offsets are checked against each
 * packet's length by vp8_fits() before use. */
static int vp8_parse(PyObject *obj, Vp8At *v) {
    v->present = 0;
    v->pid_at = v->tl0_at = -1;
    v->bits = 0;
    if (obj == Py_None)
        return 0;
    if (!PyArg_ParseTuple(obj, "lll", &v->pid_at, &v->bits, &v->tl0_at))
        return -1;
    if (v->pid_at < -1 || v->tl0_at < -1 || (v->pid_at >= 0 && v->bits != 7 && v->bits != 15)) {
        PyErr_SetString(PyExc_ValueError, "VP8 offsets must be -1 or positive, PictureID 7 or 15 bits");
        return -1;
    }
    v->present = 1;
    return 0;
}

static int vp8_fits(const Vp8At *v, Py_ssize_t len) {
    if (!v->present)
        return 1;
    if (v->pid_at >= 0 && v->pid_at + (v->bits == 15 ? 2 : 1) > len)
        return 0;
    return v->tl0_at < len;
}

/* Map, rewrite and protect one RTP packet ``src[0..len)`` (len >= 12, the VP8 offsets
 * checked with vp8_fits) for one consumer: its mapper state ``st``, payload type, SSRC,
 * SRTP session. Fills entry[5] (the NACK history's (out_seq, seq, out_ts, pid_off,
 * tl0_off)) unless ST_BEFORE_SWITCH; on ST_READY, out[0..*out_len) is the datagram
 * (out has MTU bytes). ST_TOO_LONG and ST_SRTP_REFUSED keep the entry and the state
 * change, as Consumer.forward does before pylibsrtp refuses. */
static int forward_step(srtp_t srtp, MapperState *st, const unsigned char *src, Py_ssize_t len, const Vp8At *vp8,
                        int payload_type, unsigned long ssrc, double now, unsigned char *out, int *out_len,
                        long entry[5]) {
    long seq = ((long)src[2] << 8) | src[3];
    long ts = ((long)src[4] << 24) | ((long)src[5] << 16) | ((long)src[6] << 8) | src[7];
    long out_seq, out_ts, pid_off = 0, tl0_off = 0;
    int fits = len <= MAX_PLAIN; /* pylibsrtp refuses longer: "packet is too long" */
    if (mapper_map(st, seq, ts, now, &out_seq, &out_ts) < 0)
        return ST_BEFORE_SWITCH;
    if (fits) {
        memcpy(out, src, (size_t)len);
        out[1] = (unsigned char)((out[1] & 0x80) | (payload_type & 0x7F));
        out[2] = (unsigned char)(out_seq >> 8);
        out[3] = (unsigned char)out_seq;
        out[4] = (unsigned char)(out_ts >> 24);
        out[5] = (unsigned char)(out_ts >> 16);
        out[6] = (unsigned char)(out_ts >> 8);
        out[7] = (unsigned char)out_ts;
        out[8] = (unsigned char)(ssrc >> 24);
        out[9] = (unsigned char)(ssrc >> 16);
        out[10] = (unsigned char)(ssrc >> 8);
        out[11] = (unsigned char)ssrc;
    }
    /* read from the copy as rewritten so far, as the Python path reads its bytearray (the
     * source when too long: nothing is written then); no descriptor: offsets 0 */
    if (vp8->present)
        mapper_vp8(st, fits ? out : src, fits ? out : NULL, vp8->pid_at, vp8->bits, vp8->tl0_at, &pid_off, &tl0_off);
    entry[0] = out_seq;
    entry[1] = seq;
    entry[2] = out_ts;
    entry[3] = pid_off;
    entry[4] = tl0_off;
    if (!fits)
        return ST_TOO_LONG;
    *out_len = (int)len;
    if (srtp_protect(srtp, out, out_len) != srtp_err_status_ok)
        return ST_SRTP_REFUSED;
    return ST_READY;
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
    int fd; /* fanout()'s direct destination (set_target), -1: none; target_len 0: connected */
    struct sockaddr_storage target;
    socklen_t target_len;
    unsigned char buf[BATCH][MTU];
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
    self->fd = -1;
    self->target_len = 0;
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
    /* tuples of their own: Python code run by an argument's conversion cannot shorten them */
    packets_fast = PySequence_Tuple(packets);
    vp8_fast = packets_fast ? PySequence_Tuple(vp8) : NULL;
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
        Py_buffer pkt;
        Vp8At at;
        long entry[5];
        int len = 0, status;
        if (vp8_parse(PySequence_Fast_GET_ITEM(vp8_fast, i), &at) < 0)
            goto fail;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(packets_fast, i), &pkt, PyBUF_SIMPLE) < 0)
            goto fail;
        if (pkt.len < 12 || !vp8_fits(&at, pkt.len)) {
            PyBuffer_Release(&pkt);
            PyErr_SetString(PyExc_ValueError, pkt.len < 12 ? "not an RTP packet" : "VP8 offsets outside the packet");
            goto fail;
        }
        status = forward_step(self->srtp, &st, (const unsigned char *)pkt.buf, pkt.len, &at, payload_type, ssrc, now,
                              self->buf[k], &len, entry);
        Py_ssize_t full_len = pkt.len;
        PyBuffer_Release(&pkt);
        if (status == ST_BEFORE_SWITCH) {
            Py_INCREF(Py_None);
            PyList_SET_ITEM(entries, i, Py_None);
            continue;
        }
        PyObject *item = Py_BuildValue("(lllll)", entry[0], entry[1], entry[2], entry[3], entry[4]);
        if (item == NULL)
            goto fail;
        PyList_SET_ITEM(entries, i, item);
        if (status != ST_READY) {
            refused += 1;
            continue;
        }
        plain_len[k] = (int)full_len;
        iov[k].iov_base = self->buf[k];
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

/* set_target(fd, address): where fanout() sends this connection's datagrams directly
 * (the nominated pair's socket and remote address; address None: a connected socket);
 * fd -1: nowhere (all handed off). */
static PyObject *Sender_set_target(Sender *self, PyObject *args) {
    int fd;
    PyObject *address, *pair;
    struct sockaddr_storage sa;
    socklen_t salen = 0;
    if (!PyArg_ParseTuple(args, "iO", &fd, &address))
        return NULL;
    if (fd >= 0 && address != Py_None) {
        pair = address_arg(address, &sa, &salen);
        if (pair == NULL)
            return NULL;
        Py_DECREF(pair);
        memcpy(&self->target, &sa, sizeof(sa));
    }
    self->target_len = salen;
    self->fd = fd < 0 ? -1 : fd;
    Py_RETURN_NONE;
}

static PyMethodDef Sender_methods[] = {
    {"protect", (PyCFunction)Sender_protect, METH_O, "SRTP-protect one RTP packet (as pylibsrtp's Session.protect)."},
    {"set_target", (PyCFunction)Sender_set_target, METH_VARARGS,
     "set_target(fd, address): the socket and address fanout() sends to directly (fd -1: none; address "
     "None: a connected socket)."},
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

/* ---- fanout: one packet to all the consumers of its producer in steady state -------- */

/* a job's parts, checked before any is done (pass 1 of fanout) */
typedef struct {
    Sender *sender;
    int direct, payload_type;
    unsigned long ssrc;
    PyObject *mapper, *body; /* borrowed from the job tuple */
} Job;

static int job_parse(PyObject *obj, Job *job) {
    PyObject *pt, *ssrc;
    long value;
    if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != 6) {
        PyErr_SetString(PyExc_TypeError, "a job is (sender, direct, mapper, body, payload_type, ssrc)");
        return -1;
    }
    if (!PyObject_TypeCheck(PyTuple_GET_ITEM(obj, 0), &SenderType)) {
        PyErr_SetString(PyExc_TypeError, "a job's sender must be a sfu._forward.Sender");
        return -1;
    }
    job->sender = (Sender *)PyTuple_GET_ITEM(obj, 0);
    if (job->sender->srtp == NULL) {
        PyErr_SetString(SrtpError, "session not initialised");
        return -1;
    }
    job->direct = PyObject_IsTrue(PyTuple_GET_ITEM(obj, 1));
    if (job->direct < 0)
        return -1;
    job->mapper = PyTuple_GET_ITEM(obj, 2);
    job->body = PyTuple_GET_ITEM(obj, 3);
    if (!PyBytes_Check(job->body) && !PyByteArray_Check(job->body)) {
        PyErr_SetString(PyExc_TypeError, "a job's body must be bytes or bytearray");
        return -1;
    }
    pt = PyTuple_GET_ITEM(obj, 4);
    value = PyLong_Check(pt) ? PyLong_AsLong(pt) : -1;
    if (value < 0 || value > 127) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "payload type must be an int in 0..127");
        return -1;
    }
    job->payload_type = (int)value;
    ssrc = PyTuple_GET_ITEM(obj, 5);
    job->ssrc = PyLong_Check(ssrc) ? PyLong_AsUnsignedLong(ssrc) : (unsigned long)-1;
    if (job->ssrc > 0xFFFFFFFFUL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "SSRC must be an int in 0..2**32-1");
        return -1;
    }
    return 0;
}

/* the job's body as it is now (a bytearray may have been resized by Python code the
 * mapper's attributes ran): pointer and length, or NULL */
static const unsigned char *job_body(PyObject *body, Py_ssize_t *len) {
    if (PyBytes_Check(body)) {
        *len = PyBytes_GET_SIZE(body);
        return (const unsigned char *)PyBytes_AS_STRING(body);
    }
    *len = PyByteArray_GET_SIZE(body);
    return (const unsigned char *)PyByteArray_AS_STRING(body);
}

/* fanout(jobs, vp8, now) -> (statuses, entries, datagrams)
 *
 * One packet (each job's body: the packet with its extension ids translated for that
 * consumer) to every consumer of a job (sender, direct, mapper, body, payload_type,
 * ssrc): mapped with its mapper, rewritten, protected with its connection's session by
 * forward_step(), the step Sender.forward() uses, then sent with one sendto(2) to its
 * sender's target when ``direct`` and the kernel takes it. Per job: statuses[i] (a
 * byte: ST_*), entries[i] (the history entry, None before the switch point) and
 * datagrams[i] (the protected datagram when ST_HANDOFF: not direct, no target, or the
 * socket refused it; the caller hands it to its transport's queue; else None).
 *
 * Every job is checked before any is done; an error after that (a mapper without its
 * attributes, no memory) leaves the earlier jobs done and their mappers written. */
static PyObject *fanout(PyObject *module, PyObject *args) {
    PyObject *jobs, *vp8_obj, *fast, *statuses = NULL, *entries = NULL, *datagrams = NULL;
    double now;
    Vp8At vp8;
    Py_ssize_t n, i;
    Job *parsed = NULL;
    unsigned char out[MTU];
    if (!PyArg_ParseTuple(args, "OOd", &jobs, &vp8_obj, &now))
        return NULL;
    if (vp8_parse(vp8_obj, &vp8) < 0)
        return NULL;
    /* a tuple of its own: Python code the mapper's attributes run cannot drop a job (and
     * its sender, mapper, body) from under the loop */
    fast = PySequence_Tuple(jobs);
    if (fast == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(fast);
    parsed = PyMem_New(Job, n > 0 ? (size_t)n : 1);
    if (parsed == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (i = 0; i < n; i++) {
        Py_ssize_t len;
        if (job_parse(PySequence_Fast_GET_ITEM(fast, i), &parsed[i]) < 0)
            goto fail;
        job_body(parsed[i].body, &len);
        if (len < 12 || !vp8_fits(&vp8, len)) {
            PyErr_SetString(PyExc_ValueError, len < 12 ? "not an RTP packet" : "VP8 offsets outside the packet");
            goto fail;
        }
    }
    statuses = PyBytes_FromStringAndSize(NULL, n);
    entries = statuses ? PyList_New(n) : NULL;
    datagrams = entries ? PyList_New(n) : NULL;
    if (datagrams == NULL)
        goto fail;
    for (i = 0; i < n; i++) { /* both lists full before anything can fail */
        Py_INCREF(Py_None);
        PyList_SET_ITEM(entries, i, Py_None);
        Py_INCREF(Py_None);
        PyList_SET_ITEM(datagrams, i, Py_None);
    }
    for (i = 0; i < n; i++) {
        Job *job = &parsed[i];
        MapperState st, was;
        Py_ssize_t len;
        const unsigned char *src;
        long entry[5];
        int out_len = 0, status;
        if (mapper_read(job->mapper, &st) < 0)
            goto fail;
        was = st;
        src = job_body(job->body, &len); /* after the attribute reads: as it is now */
        if (len < 12 || !vp8_fits(&vp8, len)) {
            PyErr_SetString(PyExc_ValueError, "a job's body changed while it was forwarded");
            goto fail;
        }
        status = forward_step(job->sender->srtp, &st, src, len, &vp8, job->payload_type, job->ssrc, now, out,
                              &out_len, entry);
        if (status == ST_READY) {
            Sender *sender = job->sender;
            status = ST_HANDOFF;
            if (job->direct && sender->fd >= 0) {
                ssize_t r;
                do
                    r = sendto(sender->fd, out, (size_t)out_len, MSG_DONTWAIT,
                               sender->target_len ? (struct sockaddr *)&sender->target : NULL, sender->target_len);
                while (r < 0 && errno == EINTR);
                if (r == out_len)
                    status = ST_SENT;
                /* else EAGAIN (full), or an error the transport reports as asyncio does */
            }
        }
        PyBytes_AS_STRING(statuses)[i] = (char)status;
        if (status != ST_BEFORE_SWITCH) {
            PyObject *item = Py_BuildValue("(lllll)", entry[0], entry[1], entry[2], entry[3], entry[4]);
            if (item == NULL)
                goto fail;
            PyList_SetItem(entries, i, item); /* steals item, releases the None */
        }
        if (status == ST_HANDOFF) {
            PyObject *datagram = PyBytes_FromStringAndSize((const char *)out, out_len);
            if (datagram == NULL)
                goto fail;
            PyList_SetItem(datagrams, i, datagram);
        }
        if (mapper_write(job->mapper, &st, &was) < 0)
            goto fail;
    }
    PyMem_Free(parsed);
    Py_DECREF(fast);
    return Py_BuildValue("(NNN)", statuses, entries, datagrams);
fail:
    PyMem_Free(parsed);
    Py_DECREF(fast);
    Py_XDECREF(statuses);
    Py_XDECREF(entries);
    Py_XDECREF(datagrams);
    return NULL;
}

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
    {"fanout", fanout, METH_VARARGS,
     "fanout(jobs, vp8, now) -> (statuses, entries, datagrams): one packet to many consumers, each job "
     "(sender, direct, mapper, body, payload_type, ssrc) mapped, rewritten, protected and sent."},
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
        PyModule_AddIntConstant(m, "BATCH", BATCH) < 0 || PyModule_AddIntConstant(m, "MAX_PLAIN", MAX_PLAIN) < 0 ||
        PyModule_AddIntConstant(m, "SENT", ST_SENT) < 0 ||
        PyModule_AddIntConstant(m, "BEFORE_SWITCH", ST_BEFORE_SWITCH) < 0 ||
        PyModule_AddIntConstant(m, "SRTP_REFUSED", ST_SRTP_REFUSED) < 0 ||
        PyModule_AddIntConstant(m, "TOO_LONG", ST_TOO_LONG) < 0 || PyModule_AddIntConstant(m, "HANDOFF", ST_HANDOFF) < 0) {
        Py_XDECREF(m);
        return NULL;
    }
    return m;
}
