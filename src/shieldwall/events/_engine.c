/* The compiled engine of the events stage: EventStream.feed's loop in C.
 *
 * What it does is exactly what shieldwall/events/stream.py's EventStream.feed and
 * events/attempts.py's ConnectionTable do in Python (the differential test,
 * tests/events/test_engine_differential.py, holds both to the same events line by
 * line): the pack's one regex (the Scanner's source, unchanged) is matched with
 * PCRE2's JIT, anchored at each line start, with the Scanner's cut-back of a match
 * that ran over a newline; the timestamp, address, user and repeat groups are read
 * from the match; the clock's caches and the stream's caches (plain Python dicts,
 * shared with the Python code; blame keys have a fixed table of their own here) give
 * time and blame key, the Python functions are called only on a cache miss; connection accounting runs here on its own table
 * (same rules, same bounds); each counted line becomes the same Event struct.
 *
 * A line PCRE2 cannot decide (a match or depth limit, which Python's re does not
 * have) is handed to Python's re for that line alone (``fallback``), so the result
 * never depends on the engine.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <structmember.h>

enum { R_ATTEMPT, R_PAM, R_CONNECTION, R_EXHAUSTED, R_CONNECT, R_MARK, R_MARKED, R_REQUEST, R_OTHER };
enum { F_TS, F_IP, F_CONN, F_CONN5, F_REP, F_USER, NFIELDS };

#define CONNECTION_IDLE 600.0
#define MAX_CONNECTIONS 65536

typedef struct {
    int index;            /* pattern index, -1: not a marker */
    int fields[NFIELDS];  /* capture group numbers, 0 = absent */
    int role;
    PyObject *name;
    PyObject *kind;
} Slot;

/* A slot of the blame-key table: an address text (at most KEY_TEXT bytes) and its key. */
#define KEY_SLOTS 16384 /* a power of two */
#define KEY_TEXT 48
typedef struct {
    Py_ssize_t len;
    char text[KEY_TEXT];
    PyObject *key;
} KeySlot;

static uint64_t text_hash(const char *p, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

/* One connection's accounting state (attempts.py's _Connection). */
typedef struct {
    PyObject_HEAD
    PyObject *key;
    double last;
    long counted;
    long credit;
    int marked;
    int exhausted;
    unsigned long long order; /* insertion order, for the stable sort of a forced sweep */
} Conn;

static void Conn_dealloc(Conn *self) {
    Py_XDECREF(self->key);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject ConnType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "shieldwall.events._engine.Conn",
    .tp_basicsize = sizeof(Conn),
    .tp_dealloc = (destructor)Conn_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

typedef struct {
    PyObject_HEAD
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    int jit;
    int nslots;
    Slot *slots;
    int *markers;   /* marker group numbers */
    int nmarkers;
    long long *hits;
    int npatterns;
    PyObject *pack_name, *event_type, *key_of, *parse_time, *fallback, *clock;
    PyObject *minutes, *clf_minutes, *bsd_days, *times, *keys, *users, *seconds;
    Py_ssize_t cache_size;
    int keep;
    int to_line_end; /* a match ends at its line's end (see engine.pcre2_source) */
    long max_tries;
    /* one-entry memos in front of the dict lookups (a run of lines shares them):
     * the minute (valid until the clock parses again: only then can its table change),
     * and the address and user texts (their keys are pure functions of the text) */
    char memo_minute[13];
    double memo_base;
    int memo_minute_ok;
    char memo_clf[23];   /* the last Common Log Format minute (and zone) found, and its start */
    double memo_clf_base;
    int memo_clf_ok;
    KeySlot *key_slots;  /* KEY_SLOTS of them */
    PyObject *memo_when; /* the last line's time, and its value */
    double memo_when_value;
    char memo_ip[64];
    Py_ssize_t memo_ip_len;
    PyObject *memo_key;
    char memo_user[64];
    Py_ssize_t memo_user_len;
    PyObject *memo_user_str;
    /* connection table; ``conns_version`` changes with every change of it, so that the
     * memo of the last connection looked up (a run of lines shares one) stays exact */
    PyObject *conns;
    unsigned long long conns_version;
    char memo_conn[24];
    Py_ssize_t memo_conn_len;
    Conn *memo_conn_state; /* borrowed from conns, valid while the version holds */
    unsigned long long memo_conn_version;
    double next_sweep;
    Py_ssize_t since_sweep;
    unsigned long long order;
} Feeder;

static PyObject *str_low, *str_high, *empty_bytes;

static void Feeder_dealloc(Feeder *self) {
    if (self->md) pcre2_match_data_free(self->md);
    if (self->code) pcre2_code_free(self->code);
    if (self->mctx) pcre2_match_context_free(self->mctx);
    if (self->jit_stack) pcre2_jit_stack_free(self->jit_stack);
    if (self->slots) {
        for (int i = 0; i < self->nslots; i++) {
            Py_XDECREF(self->slots[i].name);
            Py_XDECREF(self->slots[i].kind);
        }
        PyMem_Free(self->slots);
    }
    PyMem_Free(self->markers);
    PyMem_Free(self->hits);
    if (self->key_slots) {
        for (int i = 0; i < KEY_SLOTS; i++) Py_XDECREF(self->key_slots[i].key);
        PyMem_Free(self->key_slots);
    }
    Py_XDECREF(self->pack_name); Py_XDECREF(self->event_type); Py_XDECREF(self->key_of);
    Py_XDECREF(self->parse_time); Py_XDECREF(self->fallback); Py_XDECREF(self->clock);
    Py_XDECREF(self->minutes); Py_XDECREF(self->clf_minutes); Py_XDECREF(self->bsd_days); Py_XDECREF(self->times); Py_XDECREF(self->keys);
    Py_XDECREF(self->users); Py_XDECREF(self->seconds); Py_XDECREF(self->conns);
    Py_XDECREF(self->memo_key); Py_XDECREF(self->memo_user_str); Py_XDECREF(self->memo_when);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int role_code(const char *role) {
    static const char *names[] = {"attempt", "pam", "connection", "exhausted", "connect",
                                  "mark", "marked", "request"};
    for (int i = 0; i < 8; i++)
        if (strcmp(role, names[i]) == 0) return i;
    return R_OTHER;
}

/* Feeder(source, groups, slots, npatterns, pack_name, event_type, key_of, parse_time,
 *        fallback, clock, times, keys, users, seconds, cache_size, keep, max_tries)
 * slots: list of (group, index, (6 field groups), role, name, kind) for marker groups. */
static int Feeder_init(Feeder *self, PyObject *args, PyObject *kw) {
    Py_buffer source;
    Py_ssize_t groups, cache_size;
    PyObject *slots;
    int npatterns, keep;
    long max_tries;
    PyObject *pack_name, *event_type, *key_of, *parse_time, *fallback, *clock, *times, *keys,
        *users, *seconds;
    unsigned long match_limit = 0; /* 0: PCRE2's own; tests set 1 to send every line to re */
    int to_line_end = 0;           /* the source was cut short (engine.pcre2_source) */
    if (!PyArg_ParseTuple(args, "y*nO!iUOOOOOO!O!O!O!npl|kp", &source, &groups, &PyList_Type, &slots,
                          &npatterns, &pack_name, &event_type, &key_of, &parse_time, &fallback,
                          &clock, &PyDict_Type, &times, &PyDict_Type, &keys, &PyDict_Type, &users,
                          &PyDict_Type, &seconds, &cache_size, &keep, &max_tries, &match_limit,
                          &to_line_end))
        return -1;
    self->to_line_end = to_line_end;
    int err;
    PCRE2_SIZE erroff;
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
    pcre2_set_bsr(cctx, PCRE2_BSR_ANYCRLF);
    /* Python's re: MULTILINE; bytes patterns are ASCII-only and never UTF. The whole
     * pattern anchored: matches start at a line's leading newline only. */
    self->code = pcre2_compile((PCRE2_SPTR)source.buf, source.len,
                               PCRE2_MULTILINE | PCRE2_ANCHORED, &err, &erroff, cctx);
    pcre2_compile_context_free(cctx);
    PyBuffer_Release(&source);
    if (self->code == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        PyErr_Format(PyExc_ValueError, "PCRE2 cannot compile the pack at offset %zu: %s",
                     (size_t)erroff, msg);
        return -1;
    }
    uint32_t captures = 0;
    pcre2_pattern_info(self->code, PCRE2_INFO_CAPTURECOUNT, &captures);
    if ((Py_ssize_t)captures != groups) {
        PyErr_Format(PyExc_ValueError, "PCRE2 counts %u groups where re counts %zd",
                     captures, groups);
        return -1;
    }
    self->jit = pcre2_jit_compile(self->code, PCRE2_JIT_COMPLETE) == 0;
    self->mctx = pcre2_match_context_create(NULL);
    if (match_limit) pcre2_set_match_limit(self->mctx, (uint32_t)match_limit);
    if (self->jit) {
        self->jit_stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, NULL);
        pcre2_jit_stack_assign(self->mctx, NULL, self->jit_stack);
    }
    self->md = pcre2_match_data_create_from_pattern(self->code, NULL);
    self->nslots = (int)groups + 1;
    self->slots = PyMem_Calloc(self->nslots, sizeof(Slot));
    self->markers = PyMem_Calloc(PyList_GET_SIZE(slots) + 1, sizeof(int));
    self->hits = PyMem_Calloc(npatterns + 1, sizeof(long long));
    self->key_slots = PyMem_Calloc(KEY_SLOTS, sizeof(KeySlot));
    self->npatterns = npatterns;
    if (!self->slots || !self->markers || !self->hits || !self->key_slots) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < self->nslots; i++) self->slots[i].index = -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(slots); i++) {
        int group, index;
        PyObject *fields, *name, *kind;
        const char *role;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(slots, i), "iiO!sUU", &group, &index, &PyTuple_Type,
                              &fields, &role, &name, &kind))
            return -1;
        if (group <= 0 || group >= self->nslots || PyTuple_GET_SIZE(fields) != NFIELDS) {
            PyErr_SetString(PyExc_ValueError, "bad slot");
            return -1;
        }
        Slot *s = &self->slots[group];
        s->index = index;
        for (int f = 0; f < NFIELDS; f++) {
            long g = PyLong_AsLong(PyTuple_GET_ITEM(fields, f));
            if (g < 0 || g >= self->nslots) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad field group");
                return -1;
            }
            s->fields[f] = (int)g;
        }
        s->role = role_code(role);
        Py_INCREF(name); s->name = name;
        Py_INCREF(kind); s->kind = kind;
        self->markers[self->nmarkers++] = group;
    }
    PyObject *minutes = PyObject_GetAttrString(clock, "minutes");
    if (minutes == NULL) return -1;
    if (!PyDict_Check(minutes)) {
        Py_DECREF(minutes);
        PyErr_SetString(PyExc_TypeError, "clock.minutes must be a dict");
        return -1;
    }
    self->minutes = minutes;
    PyObject *clf = PyObject_GetAttrString(clock, "_clf_minutes");
    if (clf == NULL) return -1;
    if (!PyDict_Check(clf)) {
        Py_DECREF(clf);
        PyErr_SetString(PyExc_TypeError, "clock._clf_minutes must be a dict");
        return -1;
    }
    self->clf_minutes = clf;
    PyObject *days = PyObject_GetAttrString(clock, "_bsd_days");
    if (days == NULL) return -1;
    if (!PyDict_Check(days)) {
        Py_DECREF(days);
        PyErr_SetString(PyExc_TypeError, "clock._bsd_days must be a dict");
        return -1;
    }
    self->bsd_days = days;
#define KEEP(field, value) Py_INCREF(value); self->field = value;
    KEEP(pack_name, pack_name) KEEP(event_type, event_type) KEEP(key_of, key_of)
    KEEP(parse_time, parse_time) KEEP(fallback, fallback) KEEP(clock, clock)
    KEEP(times, times) KEEP(keys, keys) KEEP(users, users) KEEP(seconds, seconds)
#undef KEEP
    self->cache_size = cache_size;
    self->keep = keep;
    self->max_tries = max_tries;
    self->conns = PyDict_New();
    return self->conns ? 0 : -1;
}

static int read_bounds(Feeder *self, double *low, double *high) {
    PyObject *l = PyObject_GetAttr(self->clock, str_low);
    if (!l) return -1;
    PyObject *h = PyObject_GetAttr(self->clock, str_high);
    if (!h) { Py_DECREF(l); return -1; }
    *low = PyFloat_AsDouble(l);
    *high = PyFloat_AsDouble(h);
    Py_DECREF(l); Py_DECREF(h);
    return PyErr_Occurred() ? -1 : 0;
}

/* ---- connection accounting (attempts.py's ConnectionTable) ------------------ */

static int cmp_conn(const void *a, const void *b) {
    const Conn *x = *(Conn *const *)a, *y = *(Conn *const *)b;
    if (x->last < y->last) return -1;
    if (x->last > y->last) return 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

static int sweep(Feeder *self, double now, int force) {
    double limit = now - CONNECTION_IDLE;
    self->conns_version++;
    PyObject *stale = PyList_New(0), *k, *v;
    Py_ssize_t pos = 0;
    if (!stale) return -1;
    while (PyDict_Next(self->conns, &pos, &k, &v))
        if (((Conn *)v)->last < limit && PyList_Append(stale, k) < 0) { Py_DECREF(stale); return -1; }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(stale); i++)
        if (PyDict_DelItem(self->conns, PyList_GET_ITEM(stale, i)) < 0) { Py_DECREF(stale); return -1; }
    Py_DECREF(stale);
    Py_ssize_t n = PyDict_GET_SIZE(self->conns);
    if (force && n >= MAX_CONNECTIONS) {
        /* Still full of live connections: drop the oldest half (sorted by last line,
         * ties in insertion order, as Python's stable sort of the dict's items). */
        Conn **all = PyMem_Malloc(n * sizeof(Conn *));
        PyObject **names = PyMem_Malloc(n * sizeof(PyObject *));
        if (!all || !names) { PyMem_Free(all); PyMem_Free(names); PyErr_NoMemory(); return -1; }
        Py_ssize_t i = 0;
        pos = 0;
        while (PyDict_Next(self->conns, &pos, &k, &v)) { all[i++] = (Conn *)v; }
        qsort(all, n, sizeof(Conn *), cmp_conn);
        /* find each dropped connection's name: walk the dict once more */
        Py_ssize_t drop = n / 2, m = 0;
        double edge_last = all[drop - 1]->last;
        unsigned long long edge_order = all[drop - 1]->order;
        pos = 0;
        while (PyDict_Next(self->conns, &pos, &k, &v)) {
            Conn *c = (Conn *)v;
            if (c->last < edge_last || (c->last == edge_last && c->order <= edge_order)) names[m++] = k;
        }
        for (i = 0; i < m; i++) Py_INCREF(names[i]);
        int rc = 0;
        for (i = 0; i < m; i++) {
            if (rc == 0 && PyDict_DelItem(self->conns, names[i]) < 0) rc = -1;
            Py_DECREF(names[i]);
        }
        PyMem_Free(all); PyMem_Free(names);
        if (rc < 0) return -1;
    }
    self->next_sweep = now + CONNECTION_IDLE;
    self->since_sweep = 0;
    return 0;
}

/* Returns 0 and sets *out_key (borrowed or NULL) and *weight; -1 on error. */
static int weigh(Feeder *self, int role, const char *conn, Py_ssize_t conn_len, PyObject *key,
                 long weight, double now, PyObject **out_key, long *out_weight) {
    *out_key = NULL;
    *out_weight = 0;
    if (conn == NULL || role == R_REQUEST) {
        if (role == R_CONNECT || key == NULL) return 0;
        if (role == R_EXHAUSTED) { *out_key = key; *out_weight = self->max_tries / 2; return 0; }
        if (role == R_MARK || role == R_MARKED) return 0;
        *out_key = key;
        *out_weight = role == R_CONNECTION ? 1 : weight;
        return 0;
    }
    self->since_sweep++;
    if (now >= self->next_sweep && self->since_sweep >= PyDict_GET_SIZE(self->conns))
        if (sweep(self, now, 0) < 0) return -1;
    PyObject *name = NULL;
    Conn *state;
    if (self->memo_conn_state && self->memo_conn_version == self->conns_version &&
        conn_len == self->memo_conn_len && memcmp(conn, self->memo_conn, conn_len) == 0) {
        state = self->memo_conn_state;
    } else {
        name = PyBytes_FromStringAndSize(conn, conn_len);
        if (!name) return -1;
        state = (Conn *)PyDict_GetItemWithError(self->conns, name);
        if (state == NULL && PyErr_Occurred()) { Py_DECREF(name); return -1; }
        if (state != NULL && conn_len <= (Py_ssize_t)sizeof self->memo_conn) {
            memcpy(self->memo_conn, conn, conn_len);
            self->memo_conn_len = conn_len;
            self->memo_conn_state = state;
            self->memo_conn_version = self->conns_version;
        }
    }
    /* A recycled process id, or another client: a new connection, which keeps the
     * old one's place in the table (as a dict value replaced in place does). */
    unsigned long long order = self->order;
    int replaced = 0;
    if (state != NULL && (now - state->last > CONNECTION_IDLE ||
                          (key != NULL && PyUnicode_GET_LENGTH(key) > 0 &&
                           PyUnicode_Compare(key, state->key) != 0))) {
        order = state->order;
        replaced = 1;
        state = NULL;
    }
    if (state == NULL) {
        if (key == NULL) { Py_XDECREF(name); return 0; }
        if (name == NULL && !(name = PyBytes_FromStringAndSize(conn, conn_len))) return -1;
        if (PyDict_GET_SIZE(self->conns) >= MAX_CONNECTIONS && sweep(self, now, 1) < 0) {
            Py_DECREF(name); return -1;
        }
        if (replaced) {
            int present = PyDict_Contains(self->conns, name);
            if (present < 0) { Py_DECREF(name); return -1; }
            replaced = present; /* a forced sweep may have taken it: then it goes last */
        }
        if (!replaced) order = self->order;
        state = PyObject_New(Conn, &ConnType);
        if (!state) { Py_DECREF(name); return -1; }
        Py_INCREF(key);
        state->key = key;
        state->last = now;
        state->counted = state->credit = 0;
        state->marked = state->exhausted = 0;
        state->order = order;
        if (!replaced) self->order++;
        self->conns_version++;
        int rc = PyDict_SetItem(self->conns, name, (PyObject *)state);
        Py_DECREF(state); /* the dict holds it */
        if (rc < 0) { Py_DECREF(name); return -1; }
    } else {
        state->last = now;
    }
    Py_XDECREF(name);
    PyObject *skey = state->key;
    switch (role) {
    case R_ATTEMPT: {
        long credit = state->credit;
        if (credit) {
            if (credit >= weight) { state->credit = credit - weight; *out_key = skey; return 0; }
            state->credit = 0;
            weight -= credit;
        }
        state->counted += weight;
        *out_key = skey; *out_weight = weight;
        return 0;
    }
    case R_PAM: {
        long credit = state->credit, counted = weight;
        if (credit) {
            long absorbed = credit < counted ? credit : counted;
            counted -= absorbed;
            credit -= absorbed;
        }
        state->counted += counted;
        state->credit = credit + weight;
        *out_key = skey; *out_weight = counted;
        return 0;
    }
    case R_CONNECTION:
        *out_key = skey;
        if (state->counted) return 0;
        state->counted = 1; state->credit = 1; *out_weight = 1;
        return 0;
    case R_EXHAUSTED: {
        *out_key = skey;
        if (state->exhausted) return 0;
        state->exhausted = 1;
        long stands_for = state->counted ? self->max_tries : self->max_tries / 2;
        long added = stands_for - state->counted;
        if (added < 0) added = 0;
        state->counted += added;
        *out_weight = added;
        return 0;
    }
    case R_MARK:
        state->marked = 1;
        return 0;
    case R_MARKED:
        *out_key = skey;
        if (!state->marked || state->counted) return 0;
        state->counted = 1; *out_weight = 1;
        return 0;
    default:
        return 0;
    }
}

/* ---- time: two of Clockless.parse's paths, taken in C ------------------------ */

static PyObject *lookup(PyObject *dict, const char *p, Py_ssize_t n, PyObject **made);

#define HALF_YEAR (183 * 86400.0)
#define CLOCK_CACHE 4096

static int two_digits(const char *p, int *out) {
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return 0;
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return 1;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (as calendar.timegm). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int month_of(const char *p) {
    static const char *names = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(p, names + 3 * i, 3) == 0) return i + 1;
    return 0;
}

static int set_clock_double(PyObject *clock, const char *name, double v) {
    PyObject *f = PyFloat_FromDouble(v);
    if (!f) return -1;
    int rc = PyObject_SetAttrString(clock, name, f);
    Py_DECREF(f);
    return rc;
}

static int put_bounded(PyObject *dict, const char *key, Py_ssize_t n, double value, Py_ssize_t bound) {
    if (PyDict_GET_SIZE(dict) >= bound) PyDict_Clear(dict);
    PyObject *k = PyBytes_FromStringAndSize(key, n);
    PyObject *v = PyFloat_FromDouble(value);
    int rc = (k && v) ? PyDict_SetItem(dict, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

/* The value of ``ts`` when one of these paths decides it exactly as Clockless.parse
 * and EventStream._parse_time would (and with the same effect on their caches):
 * 1 done (*out set), 0 ask Python, -1 error.
 *  - BSD syslog, a day seen before (Clockless._bsd's second path, then _remember);
 *  - the Common Log Format in full (Clockless._clf: no state but its caches). */
static int fast_time(Feeder *self, const char *ts, Py_ssize_t n, double low, double high, double *out) {
    double value;
    if (n == 15) {
        PyObject *made;
        PyObject *day = lookup(self->bsd_days, ts, 6, &made);
        Py_XDECREF(made);
        if (!day) return PyErr_Occurred() ? -1 : 0;
        double start = PyFloat_AsDouble(day);
        Py_DECREF(day);
        int hh, mm, ss;
        if (ts[6] != ' ' || ts[9] != ':' || ts[12] != ':' || !two_digits(ts + 7, &hh) || hh > 23 ||
            !two_digits(ts + 10, &mm) || mm > 59 || !two_digits(ts + 13, &ss) || ss > 60)
            return 0;
        value = start + hh * 3600 + mm * 60 + ss;
        if (!(low <= value && value <= high)) return 0;
        /* Clockless._remember */
        if (put_bounded(self->minutes, ts, 13, value - ss, CLOCK_CACHE) < 0 ||
            set_clock_double(self->clock, "_last_bsd", value) < 0 ||
            set_clock_double(self->clock, "low", value - HALF_YEAR) < 0 ||
            set_clock_double(self->clock, "high", value + HALF_YEAR) < 0)
            return -1;
    } else if (n == 26 && ts[2] == '/') {
        int day, hh, mm, ss, c1, c2, oh, om;
        int month = (ts[3] >= 'A' && ts[3] <= 'Z' && ts[4] >= 'a' && ts[4] <= 'z' && ts[5] >= 'a' && ts[5] <= 'z')
                        ? month_of(ts + 3) : 0;
        if (!two_digits(ts, &day) || ts[2] != '/' || !month || ts[6] != '/' || !two_digits(ts + 7, &c1) ||
            !two_digits(ts + 9, &c2) || ts[11] != ':' || !two_digits(ts + 12, &hh) || ts[14] != ':' ||
            !two_digits(ts + 15, &mm) || ts[17] != ':' || !two_digits(ts + 18, &ss) || ts[20] != ' ' ||
            (ts[21] != '+' && ts[21] != '-') || !two_digits(ts + 22, &oh) || !two_digits(ts + 24, &om))
            return 0;
        int year = c1 * 100 + c2;
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        int last = mdays[month - 1] + (month == 2 && leap);
        if (year < 1 || day < 1 || day > last || hh > 23 || mm > 59 || ss > 60) return 0; /* Python says why */
        value = (double)(days_from_civil(year, month, day) * 86400) + hh * 3600 + mm * 60 + ss;
        double offset = oh * 3600 + om * 60;
        value = ts[21] == '+' ? value - offset : value + offset;
        char minute[23];
        memcpy(minute, ts, 17);
        memcpy(minute + 17, ts + 20, 6);
        if (put_bounded(self->clf_minutes, minute, 23, value - ss, CLOCK_CACHE) < 0) return -1;
    } else {
        return 0;
    }
    /* EventStream._parse_time: the year did not change on these paths */
    if (put_bounded(self->times, ts, n, value, self->cache_size) < 0) return -1;
    *out = value;
    return 1;
}

/* ---- the loop ---------------------------------------------------------------- */

/* The blame key of a plain dotted quad, as blame_key_from_text gives it (the text
 * itself: Python's ipaddress writes an IPv4 address the same way, and refuses
 * leading zeros); NULL (no error) for anything else, which Python decides. */
static PyObject *dotted_quad(const char *p, Py_ssize_t n) {
    int dots = 0, digits = 0, value = 0;
    if (n < 7 || n > 15) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9') {
            if (digits == 1 && value == 0) return NULL; /* leading zero */
            value = value * 10 + (c - '0');
            if (++digits > 3 || value > 255) return NULL;
        } else if (c == '.') {
            if (digits == 0 || ++dots > 3) return NULL;
            digits = value = 0;
        } else {
            return NULL;
        }
    }
    if (dots != 3 || digits == 0) return NULL;
    return PyUnicode_DecodeASCII(p, n, NULL);
}

/* Cache lookup by bytes value; returns a new reference or NULL (with or without error). */
static PyObject *lookup(PyObject *dict, const char *p, Py_ssize_t n, PyObject **made) {
    PyObject *b = PyBytes_FromStringAndSize(p, n);
    *made = b;
    if (!b) return NULL;
    PyObject *v = PyDict_GetItemWithError(dict, b);
    Py_XINCREF(v);
    return v;
}

/* A float for a line's time: the one made for the line before when it is the same second
 * (lines come in bursts), else a new one, kept for the next line. */
static PyObject *time_object(Feeder *self, double value) {
    if (self->memo_when && self->memo_when_value == value) {
        Py_INCREF(self->memo_when);
        return self->memo_when;
    }
    PyObject *when = PyFloat_FromDouble(value);
    if (when) {
        Py_INCREF(when);
        Py_XSETREF(self->memo_when, when);
        self->memo_when_value = value;
    }
    return when;
}

/* Match at line start ``s`` (data[s] == '\n') as Scanner.matches does; returns the
 * match count (>0), 0 for no match, <-1 for PCRE2 trouble. ov gets the offsets. */
static int match_line(Feeder *self, const char *data, Py_ssize_t len, Py_ssize_t s, Py_ssize_t line_end) {
    int rc;
    if (self->jit)
        rc = pcre2_jit_match(self->code, (PCRE2_SPTR)data, len, s, 0, self->md, self->mctx);
    else
        rc = pcre2_match(self->code, (PCRE2_SPTR)data, len, s, 0, self->md, self->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) return -2;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(self->md);
    if ((Py_ssize_t)ov[1] > line_end) {
        /* ran over a newline: cut back to its own line */
        if (self->jit)
            rc = pcre2_jit_match(self->code, (PCRE2_SPTR)data, line_end, s, 0, self->md, self->mctx);
        else
            rc = pcre2_match(self->code, (PCRE2_SPTR)data, line_end, s, 0, self->md, self->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) return 0;
        if (rc < 0) return -2;
    }
    return rc;
}

static PyObject *Feeder_feed(Feeder *self, PyObject *arg) {
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "feed() takes bytes (a newline, then the lines)");
        return NULL;
    }
    const char *data = PyBytes_AS_STRING(arg);
    Py_ssize_t len = PyBytes_GET_SIZE(arg);
    PyObject *fb_match = NULL;
    PyObject *out = PyList_New(0);
    if (!out) return NULL;
    long long matched = 0, unaddressed = 0;
    double low, high;
    if (read_bounds(self, &low, &high) < 0) goto fail;
    Py_ssize_t s = 0, starts_seen = 0;
    while (s < len) {
        starts_seen++;
        /* data[s] is the newline in front of a line */
        const char *nl = memchr(data + s + 1, '\n', len - s - 1);
        Py_ssize_t line_end = nl ? nl - data : len;
        Py_ssize_t starts[NFIELDS], ends[NFIELDS];
        Py_ssize_t mstart, mend;
        int group = -1;
        int rc = s + 1 <= len ? match_line(self, data, len, s, line_end) : 0;
        if (rc == -2) {
            /* PCRE2 could not decide: Python's re decides this line */
            fb_match = PyObject_CallFunction(self->fallback, "On", arg, s);
            if (!fb_match) goto fail;
            if (fb_match == Py_None) { Py_CLEAR(fb_match); s = line_end; continue; }
            /* (group, start, end, ((s, e) per field)) */
            PyObject *spans;
            if (!PyArg_ParseTuple(fb_match, "innO!", &group, &mstart, &mend, &PyTuple_Type, &spans))
                goto fail;
            Slot *slot = (group > 0 && group < self->nslots) ? &self->slots[group] : NULL;
            if (!slot || slot->index < 0) { PyErr_SetString(PyExc_ValueError, "fallback group"); goto fail; }
            for (int f = 0; f < NFIELDS; f++) {
                int g = slot->fields[f];
                PyObject *sp = g ? PyTuple_GetItem(spans, g) : NULL;
                if (g && !sp) goto fail;
                starts[f] = ends[f] = -1;
                if (sp && sp != Py_None && !PyArg_ParseTuple(sp, "nn", &starts[f], &ends[f])) goto fail;
            }
            Py_CLEAR(fb_match);
        } else if (rc <= 0) {
            s = line_end;
            continue;
        } else {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(self->md);
            for (int i = 0; i < self->nmarkers; i++) {
                int g = self->markers[i];
                if (g < rc && ov[2 * g] != PCRE2_UNSET) { group = g; break; }
            }
            if (group < 0) { s = line_end; continue; } /* cannot happen: every branch has a marker */
            mstart = ov[0];
            /* a pattern cut short by (*ACCEPT) stops before the line's end, where the
             * regex as Python's re reads it ends (its trailer ends with $) */
            mend = self->to_line_end ? line_end : (Py_ssize_t)ov[1];
            Slot *slot = &self->slots[group];
            for (int f = 0; f < NFIELDS; f++) {
                int g = slot->fields[f];
                if (g && g < rc && ov[2 * g] != PCRE2_UNSET) {
                    starts[f] = ov[2 * g];
                    ends[f] = ov[2 * g + 1];
                } else {
                    starts[f] = ends[f] = -1;
                }
            }
        }
        s = line_end;
        Slot *slot = &self->slots[group];
        self->hits[slot->index]++;
        matched++;
        /* ---- time */
        const char *ts = data + starts[F_TS];
        Py_ssize_t tslen = ends[F_TS] - starts[F_TS];
        PyObject *when = NULL, *made = NULL;
        if (starts[F_TS] < 0) { tslen = 0; ts = ""; }
        if (tslen == 15) {
            int found = 0;
            double b = 0;
            if (self->memo_minute_ok && memcmp(self->memo_minute, ts, 13) == 0) {
                found = 1;
                b = self->memo_base;
            } else {
                PyObject *base = lookup(self->minutes, ts, 13, &made);
                Py_XDECREF(made);
                if (!base && PyErr_Occurred()) goto fail;
                if (base) {
                    b = PyFloat_AsDouble(base);
                    Py_DECREF(base);
                    if (b == -1.0 && PyErr_Occurred()) goto fail;
                    found = 1;
                    memcpy(self->memo_minute, ts, 13);
                    self->memo_base = b;
                    self->memo_minute_ok = 1;
                }
            }
            int sv;
            /* SECONDS: two digits up to 60 */
            if (found && low <= b && b <= high && two_digits(ts + 13, &sv) && sv <= 60) {
                when = time_object(self, b + (double)sv);
                if (!when) goto fail;
            }
        }
        if (when == NULL && tslen == 26 && self->memo_clf_ok) {
            /* The minute of the line before (the value of a minute's text never changes):
             * what the times cache, or the clock's minutes and SECONDS, would give. */
            int sv;
            char minute[23];
            memcpy(minute, ts, 17);
            memcpy(minute + 17, ts + 20, 6);
            if (memcmp(minute, self->memo_clf, 23) == 0 && two_digits(ts + 18, &sv) && sv <= 60) {
                when = time_object(self, self->memo_clf_base + (double)sv);
                if (!when) goto fail;
            }
        }
        if (when == NULL) {
            PyObject *cached = lookup(self->times, ts, tslen, &made);
            if (!cached && PyErr_Occurred()) { Py_XDECREF(made); goto fail; }
            if (!cached && tslen == 26) {
                /* Clockless.parse's first step: a Common Log Format minute (and zone)
                 * seen before, plus seconds; its value depends on the text alone. */
                char minute[23];
                memcpy(minute, ts, 17);
                memcpy(minute + 17, ts + 20, 6);
                PyObject *made2;
                PyObject *base = lookup(self->clf_minutes, minute, 23, &made2);
                Py_XDECREF(made2);
                if (!base && PyErr_Occurred()) { Py_XDECREF(made); goto fail; }
                if (base) {
                    PyObject *sec = lookup(self->seconds, ts + 18, 2, &made2);
                    Py_XDECREF(made2);
                    if (!sec && PyErr_Occurred()) { Py_DECREF(base); Py_XDECREF(made); goto fail; }
                    double b = PyFloat_AsDouble(base);
                    memcpy(self->memo_clf, minute, 23);
                    self->memo_clf_base = b;
                    self->memo_clf_ok = 1;
                    if (sec) {
                        long sv = PyLong_AsLong(sec);
                        Py_DECREF(sec);
                        cached = PyFloat_FromDouble(b + (double)sv);
                        if (!cached) { Py_DECREF(base); Py_XDECREF(made); goto fail; }
                    }
                    Py_DECREF(base);
                }
            }
            if (!cached) {
                double fast;
                self->memo_minute_ok = 0; /* the clock's tables may change now */
                int done = fast_time(self, ts, tslen, low, high, &fast);
                if (done < 0) { Py_XDECREF(made); goto fail; }
                if (done) {
                    cached = PyFloat_FromDouble(fast);
                    if (!cached) { Py_XDECREF(made); goto fail; }
                    if (read_bounds(self, &low, &high) < 0) { Py_DECREF(cached); Py_XDECREF(made); goto fail; }
                }
            }
            if (!cached) {
                if (!made) goto fail;
                self->memo_minute_ok = 0;
                cached = PyObject_CallOneArg(self->parse_time, made);
                Py_DECREF(made);
                if (!cached) goto fail;
                if (read_bounds(self, &low, &high) < 0) { Py_DECREF(cached); goto fail; }
                if (cached == Py_None) { Py_DECREF(cached); continue; }
            } else {
                Py_DECREF(made);
            }
            when = cached;
        }
        double t = PyFloat_AsDouble(when);
        /* ---- blame */
        PyObject *key = NULL; /* borrowed from the keys cache (kept alive by `held`) */
        PyObject *held = NULL;
        Py_ssize_t iplen = ends[F_IP] - starts[F_IP];
        if (starts[F_IP] >= 0 && self->memo_key && iplen == self->memo_ip_len &&
            memcmp(self->memo_ip, data + starts[F_IP], iplen) == 0) {
            held = self->memo_key;
            Py_INCREF(held);
            if (PyUnicode_GET_LENGTH(held) == 0) {
                unaddressed++;
                Py_DECREF(held); Py_DECREF(when);
                continue;
            }
            key = held;
        } else if (starts[F_IP] >= 0) {
            /* The blame key of this text: from the table of texts seen (a fixed number of
             * slots, the last text of each kept: bounded, and no object made to look one up),
             * else made as blame_key_from_text makes it. */
            const char *ipt = data + starts[F_IP];
            KeySlot *ks = NULL;
            held = NULL;
            if (iplen <= KEY_TEXT && self->key_slots) {
                ks = &self->key_slots[text_hash(ipt, iplen) & (KEY_SLOTS - 1)];
                if (ks->key && ks->len == iplen && memcmp(ks->text, ipt, iplen) == 0) {
                    held = ks->key;
                    Py_INCREF(held);
                }
            }
            if (!held) {
                held = dotted_quad(ipt, iplen);
                if (!held && !PyErr_Occurred()) {
                    made = PyBytes_FromStringAndSize(ipt, iplen);
                    if (made) {
                        held = PyObject_CallOneArg(self->key_of, made);
                        Py_DECREF(made);
                    }
                }
                if (!held) { Py_DECREF(when); goto fail; }
                if (!PyUnicode_Check(held)) {
                    PyErr_SetString(PyExc_TypeError, "key_of must return a str");
                    Py_DECREF(held); Py_DECREF(when); goto fail;
                }
                if (ks) {
                    Py_INCREF(held);
                    Py_XSETREF(ks->key, held);
                    memcpy(ks->text, ipt, iplen);
                    ks->len = iplen;
                }
            }
            if (iplen <= (Py_ssize_t)sizeof self->memo_ip) {
                memcpy(self->memo_ip, data + starts[F_IP], iplen);
                self->memo_ip_len = iplen;
                Py_INCREF(held);
                Py_XSETREF(self->memo_key, held);
            }
            if (PyUnicode_GET_LENGTH(held) == 0) {
                unaddressed++;
                Py_DECREF(held); Py_DECREF(when);
                continue;
            }
            key = held;
        }
        long weight = 1;
        if (starts[F_REP] >= 0) {
            weight = 0;
            for (Py_ssize_t i = starts[F_REP]; i < ends[F_REP]; i++) weight = weight * 10 + (data[i] - '0');
        }
        PyObject *blamed = key;
        if (slot->role != R_REQUEST) {
            const char *conn = NULL;
            Py_ssize_t conn_len = 0;
            if (starts[F_CONN] >= 0) { conn = data + starts[F_CONN]; conn_len = ends[F_CONN] - starts[F_CONN]; }
            else if (starts[F_CONN5] >= 0) { conn = data + starts[F_CONN5]; conn_len = ends[F_CONN5] - starts[F_CONN5]; }
            long w;
            if (weigh(self, slot->role, conn, conn_len, key, weight, t, &blamed, &w) < 0) {
                Py_XDECREF(held); Py_DECREF(when); goto fail;
            }
            if (blamed == NULL || w <= 0) { Py_XDECREF(held); Py_DECREF(when); continue; }
            weight = w;
        } else if (blamed == NULL) {
            Py_XDECREF(held); Py_DECREF(when);
            continue;
        }
        Py_INCREF(blamed);
        Py_XDECREF(held);
        /* ---- user */
        PyObject *user = Py_None;
        Py_INCREF(user);
        if (starts[F_USER] >= 0) {
            Py_DECREF(user);
            Py_ssize_t ulen = ends[F_USER] - starts[F_USER];
            if (self->memo_user_str && ulen == self->memo_user_len &&
                memcmp(self->memo_user, data + starts[F_USER], ulen) == 0) {
                user = self->memo_user_str;
                Py_INCREF(user);
                made = NULL;
                goto have_user;
            }
            user = lookup(self->users, data + starts[F_USER], ulen, &made);
            if (!user && PyErr_Occurred()) { Py_XDECREF(made); Py_DECREF(blamed); Py_DECREF(when); goto fail; }
            if (!user) {
                if (PyDict_GET_SIZE(self->users) >= self->cache_size) PyDict_Clear(self->users);
                Py_ssize_t cut = ulen < 64 * 4 ? ulen : 64 * 4;
                PyObject *dec = PyUnicode_DecodeUTF8(data + starts[F_USER], cut, "replace");
                if (dec && PyUnicode_GET_LENGTH(dec) > 64) {
                    PyObject *sub = PyUnicode_Substring(dec, 0, 64);
                    Py_DECREF(dec);
                    dec = sub;
                }
                if (!dec || PyDict_SetItem(self->users, made, dec) < 0) {
                    Py_XDECREF(dec); Py_DECREF(made); Py_DECREF(blamed); Py_DECREF(when); goto fail;
                }
                user = dec;
            }
            Py_DECREF(made);
            if (ulen <= (Py_ssize_t)sizeof self->memo_user) {
                memcpy(self->memo_user, data + starts[F_USER], ulen);
                self->memo_user_len = ulen;
                Py_INCREF(user);
                Py_XSETREF(self->memo_user_str, user);
            }
        have_user:;
        }
        PyObject *line = self->keep ? PyBytes_FromStringAndSize(data + mstart + 1, mend - mstart - 1)
                                    : (Py_INCREF(empty_bytes), empty_bytes);
        PyObject *w = PyLong_FromLong(weight);
        if (!line || !w) {
            Py_XDECREF(line); Py_XDECREF(w); Py_DECREF(user); Py_DECREF(blamed); Py_DECREF(when); goto fail;
        }
        PyObject *argv[8] = {when, blamed, self->pack_name, slot->name, slot->kind, w, user, line};
        PyObject *event = PyObject_Vectorcall(self->event_type, argv, 8, NULL);
        Py_DECREF(line); Py_DECREF(w); Py_DECREF(user); Py_DECREF(blamed); Py_DECREF(when);
        if (!event) goto fail;
        int rc2 = PyList_Append(out, event);
        Py_DECREF(event);
        if (rc2 < 0) goto fail;
    }
    /* lines: one per newline put in front of one, less the empty one after a final newline */
    return Py_BuildValue("NLLn", out, matched, unaddressed,
                         starts_seen - (len > 1 && data[len - 1] == '\n' ? 1 : 0));
fail:
    Py_XDECREF(fb_match);
    Py_DECREF(out);
    return NULL;
}

static PyObject *Feeder_hits(Feeder *self, PyObject *Py_UNUSED(ignored)) {
    PyObject *list = PyList_New(self->npatterns);
    if (!list) return NULL;
    for (int i = 0; i < self->npatterns; i++) {
        PyObject *n = PyLong_FromLongLong(self->hits[i]);
        if (!n) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, i, n);
    }
    return list;
}

static PyObject *Feeder_connections(Feeder *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSsize_t(PyDict_GET_SIZE(self->conns));
}

static PyObject *Feeder_get_jit(Feeder *self, void *Py_UNUSED(closure)) {
    return PyBool_FromLong(self->jit);
}

static PyMethodDef Feeder_methods[] = {
    {"feed", (PyCFunction)Feeder_feed, METH_O,
     "feed(data) -> (events, matched, unaddressed); data is b'\\n' + complete lines"},
    {"hits", (PyCFunction)Feeder_hits, METH_NOARGS, "Matched lines per pattern index so far."},
    {"connections", (PyCFunction)Feeder_connections, METH_NOARGS, "Connections held."},
    {NULL}};

static PyGetSetDef Feeder_getset[] = {
    {"jit", (getter)Feeder_get_jit, NULL, "Whether PCRE2's JIT compiled the pack.", NULL},
    {NULL}};

static PyTypeObject FeederType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "shieldwall.events._engine.Feeder",
    .tp_basicsize = sizeof(Feeder),
    .tp_dealloc = (destructor)Feeder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One pack's events loop (see shieldwall.events.engine).",
    .tp_methods = Feeder_methods,
    .tp_getset = Feeder_getset,
    .tp_init = (initproc)Feeder_init,
    .tp_new = PyType_GenericNew,
};


/* ---- detection (detection/detector.py's Detector.feed) ------------------------
 *
 * The loop of Detector.feed over the detector's own tables (the same dicts and
 * lists, so either loop can run at any time). Done here: routing, the quiet period
 * of an active detection, a counting window that does not fire, a distinct-user
 * window (its firing tail is the detector's _fire_distinct). Left to the detector's
 * Python methods, called before anything is changed: a new window, a window that
 * would fire or a time going back (_count), a new user table or a time going back
 * (_distinct), sweeps and the allowlist. */

typedef struct {
    PyObject *state, *windows, *users, *active;
    Py_ssize_t threshold;
    int distinct;
    double quiet, window;
} StateInfo;

static PyObject *s_pack, *s_kind, *s_time, *s_key, *s_weight, *s_user, *s_line, *s_count,
    *s_first_seen, *s_last_seen, *s_evidence, *s_since, *s_next, *s_budget;

/* Event's fields read straight from its slots (msgspec stores a Struct's fields as
 * members): the offsets come from the type's own member descriptors, and any other
 * type is read by attribute. */
enum { EV_PACK, EV_KIND, EV_TIME, EV_KEY, EV_WEIGHT, EV_USER, EV_LINE, EV_N };
static PyTypeObject *event_type_seen;
static Py_ssize_t event_offsets[EV_N];

/* Offsets of ``type``'s fields ``names`` when each is a slot (a member descriptor of an
 * object): 1 and the offsets in ``offsets``, else 0 and ``offsets`` untouched. */
static int learn_slots(PyTypeObject *type, PyObject *const *names, int n, Py_ssize_t *offsets) {
    Py_ssize_t found[EV_N];
    for (int i = 0; i < n; i++) {
        PyObject *d = PyObject_GetAttr((PyObject *)type, names[i]);
        if (!d) { PyErr_Clear(); return 0; }
        int ok = Py_IS_TYPE(d, &PyMemberDescr_Type) &&
                 ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX;
        if (ok) found[i] = ((PyMemberDescrObject *)d)->d_member->offset;
        Py_DECREF(d);
        if (!ok) return 0;
    }
    memcpy(offsets, found, (size_t)n * sizeof(Py_ssize_t));
    return 1;
}

static int learn_event_type(PyTypeObject *type, PyObject *const *names) {
    if (!learn_slots(type, names, EV_N, event_offsets)) return 0;
    Py_INCREF(type); /* kept for the offsets' sake (an Event type lives as long anyway) */
    Py_XDECREF(event_type_seen);
    event_type_seen = type;
    return 1;
}

/* The same for Detection (a slots dataclass): the quiet period of an active detection
 * reads and updates four of its fields per event, most of a web replay's events. */
enum { DT_COUNT, DT_FIRST, DT_LAST, DT_EVIDENCE, DT_N };
static PyTypeObject *detection_type_seen, *detection_type_refused;
static Py_ssize_t detection_offsets[DT_N];

/* The slot array of ``d`` (its fields at detection_offsets), or NULL: read by attribute. */
static PyObject **detection_slots(PyObject *d) {
    PyTypeObject *type = Py_TYPE(d);
    if (type != detection_type_seen) {
        if (type == detection_type_refused) return NULL;
        PyObject *names[DT_N] = {s_count, s_first_seen, s_last_seen, s_evidence};
        Py_ssize_t offsets[DT_N];
        if (!learn_slots(type, names, DT_N, offsets)) {
            detection_type_refused = type; /* compared only, never dereferenced */
            return NULL;
        }
        Py_INCREF(type);
        Py_XDECREF(detection_type_seen);
        detection_type_seen = type;
        memcpy(detection_offsets, offsets, sizeof offsets);
    }
    for (int i = 0; i < DT_N; i++)
        if (!*(PyObject **)((char *)d + detection_offsets[i])) return NULL; /* unset: AttributeError */
    /* Only the detector's own values (int, floats, list): no Python code runs on them here,
     * so the detection stays as read. Anything else goes the generic way. */
    if (!PyLong_CheckExact(*(PyObject **)((char *)d + detection_offsets[DT_COUNT])) ||
        !PyFloat_CheckExact(*(PyObject **)((char *)d + detection_offsets[DT_FIRST])) ||
        !PyFloat_CheckExact(*(PyObject **)((char *)d + detection_offsets[DT_LAST])) ||
        !PyList_CheckExact(*(PyObject **)((char *)d + detection_offsets[DT_EVIDENCE])))
        return NULL;
    return (PyObject **)d;
}
#define DSLOT(base, which) (*(PyObject **)((char *)(base) + detection_offsets[which]))

static PyObject *event_field(PyObject *event, int which, PyObject *name) {
    if (Py_TYPE(event) == event_type_seen) {
        PyObject *v = *(PyObject **)((char *)event + event_offsets[which]);
        if (v) { Py_INCREF(v); return v; }
    }
    return PyObject_GetAttr(event, name);
}

static int get_double(PyObject *o, PyObject *name, double *out) {
    PyObject *v = PyObject_GetAttr(o, name);
    if (!v) return -1;
    *out = PyFloat_AsDouble(v);
    Py_DECREF(v);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int set_double(PyObject *o, PyObject *name, double value) {
    PyObject *v = PyFloat_FromDouble(value);
    if (!v) return -1;
    int rc = PyObject_SetAttr(o, name, v);
    Py_DECREF(v);
    return rc;
}

/* weight-1 counting window: 1 = handled here (no detection), 2 = it fires (count_fire),
 * 0 = ask _count, -1 error */
static int count_fast(StateInfo *si, PyObject *key, PyObject *when, double t, PyObject *line,
                      Py_ssize_t max_keys) {
    PyObject *window = PyDict_GetItemWithError(si->windows, key);
    if (!window) {
        if (PyErr_Occurred()) return -1;
        if (PyDict_GET_SIZE(si->windows) >= max_keys) return 0; /* _count evicts first */
        /* what _count does first: an empty window for this key */
        window = PyList_New(0);
        if (!window) return -1;
        int rc = PyDict_SetItem(si->windows, key, window);
        Py_DECREF(window); /* the dict holds it */
        if (rc < 0) return -1;
    }
    if (!PyList_Check(window)) return 0;
    Py_ssize_t n = PyList_GET_SIZE(window);
    if (n) {
        double newest = PyFloat_AsDouble(PyTuple_GET_ITEM(PyList_GET_ITEM(window, n - 1), 0));
        if (t < newest - si->window) return 0;
    }
    if (n + 1 >= si->threshold) {
        /* the oldest of the window once this event is in (and one dropped if over) */
        Py_ssize_t index = n + 1 > si->threshold ? 1 : 0;
        double oldest = index < n ? PyFloat_AsDouble(PyTuple_GET_ITEM(PyList_GET_ITEM(window, index), 0)) : t;
        if (!(t - oldest > si->window)) {
            /* it fires: here (count_fire) when every time is a float, compared as Python's
             * min and max compare them; else the detector's _count */
            if (!PyFloat_CheckExact(when)) return 0;
            for (Py_ssize_t i = 0; i < n; i++) {
                PyObject *item = PyList_GET_ITEM(window, i);
                if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 2 ||
                    !PyFloat_CheckExact(PyTuple_GET_ITEM(item, 0)))
                    return 0;
            }
            return 2;
        }
    }
    PyObject *item = PyTuple_Pack(2, when, line);
    if (!item) return -1;
    int rc = PyList_Append(window, item);
    Py_DECREF(item);
    if (rc < 0) return -1;
    if (n + 1 > si->threshold && PySequence_DelItem(window, 0) < 0) return -1;
    return 1;
}

/* distinct users: 1 = no detection, 2 = fire (seen in *seen_out), 0 = ask _distinct, -1 error */
static int distinct_fast(StateInfo *si, PyObject *key, PyObject *when, double t, PyObject *user,
                         PyObject **seen_out, Py_ssize_t max_keys) {
    PyObject *seen = PyDict_GetItemWithError(si->users, key);
    if (!seen) {
        if (PyErr_Occurred()) return -1;
        if (PyDict_GET_SIZE(si->users) >= max_keys) return 0; /* _distinct evicts first */
        seen = PyDict_New();
        if (!seen) return -1;
        int rc = PyDict_SetItem(si->users, key, seen);
        Py_DECREF(seen);
        if (rc < 0) return -1;
    }
    if (!PyDict_CheckExact(seen)) return 0;
    Py_ssize_t pos = 0;
    PyObject *k, *v, *last = NULL;
    while (PyDict_Next(seen, &pos, &k, &v)) last = v;
    if (last && t < PyFloat_AsDouble(last) - si->window) return 0;
    if (PyDict_DelItem(seen, user) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_KeyError)) return -1;
        PyErr_Clear();
    }
    if (PyDict_SetItem(seen, user, when) < 0) return -1;
    double horizon = t - si->window;
    for (;;) {
        pos = 0;
        if (!PyDict_Next(seen, &pos, &k, &v)) break;
        if (PyFloat_AsDouble(v) >= horizon) break;
        Py_INCREF(k);
        int rc = PyDict_DelItem(seen, k);
        Py_DECREF(k);
        if (rc < 0) return -1;
    }
    if (PyDict_GET_SIZE(seen) < si->threshold) return 1;
    *seen_out = seen;
    return 2;
}

/* What Detector._count does for a weight-1 event that fills its window (count_fast said 2):
 * the event in, the oldest out if over, the window's times' min and max, the window gone,
 * a Detection(key, scenario name, pack, threshold, first, last, local block, evidence) with
 * _sample's evidence (the distinct lines in a row, the last max_evidence of them). */
static PyObject *count_fire(StateInfo *si, PyObject *key, PyObject *when, PyObject *line, PyObject *event,
                            PyObject *detection_type, int keep, Py_ssize_t max_evidence) {
    PyObject *window = PyDict_GetItemWithError(si->windows, key);
    if (!window) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "a firing window went missing");
        return NULL;
    }
    Py_INCREF(window);
    PyObject *detection = NULL, *evidence = NULL, *pack = NULL, *scenario = NULL, *name = NULL,
             *block = NULL, *count = NULL;
    PyObject *item = PyTuple_Pack(2, when, line);
    if (!item) goto done;
    int rc = PyList_Append(window, item);
    Py_DECREF(item);
    if (rc < 0) goto done;
    if (PyList_GET_SIZE(window) > si->threshold && PySequence_DelItem(window, 0) < 0) goto done;
    Py_ssize_t n = PyList_GET_SIZE(window);
    PyObject *first = PyTuple_GET_ITEM(PyList_GET_ITEM(window, 0), 0), *last = first;
    for (Py_ssize_t i = 1; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(PyList_GET_ITEM(window, i), 0);
        if (PyFloat_AS_DOUBLE(x) < PyFloat_AS_DOUBLE(first)) first = x;
        if (PyFloat_AS_DOUBLE(x) > PyFloat_AS_DOUBLE(last)) last = x;
    }
    Py_INCREF(first);
    Py_INCREF(last);
    if (PyDict_DelItem(si->windows, key) < 0) goto fired;
    evidence = PyList_New(0);
    if (!evidence) goto fired;
    if (keep) {
        PyObject *lines = evidence;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *l = PyTuple_GET_ITEM(PyList_GET_ITEM(window, i), 1);
            Py_ssize_t m = PyList_GET_SIZE(lines);
            if ((m == 0 || PyList_GET_ITEM(lines, m - 1) != l) && PyList_Append(lines, l) < 0) goto fired;
        }
        Py_ssize_t m = PyList_GET_SIZE(lines);
        evidence = PyList_GetSlice(lines, m > max_evidence ? m - max_evidence : 0, m);
        Py_DECREF(lines);
        if (!evidence) goto fired;
    }
    pack = event_field(event, EV_PACK, s_pack);
    scenario = pack ? PyObject_GetAttrString(si->state, "scenario") : NULL;
    name = scenario ? PyObject_GetAttrString(scenario, "name") : NULL;
    block = name ? PyObject_GetAttrString(si->state, "local_block") : NULL;
    count = block ? PyLong_FromSsize_t(si->threshold) : NULL;
    if (count) {
        PyObject *argv[8] = {key, name, pack, count, first, last, block, evidence};
        detection = PyObject_Vectorcall(detection_type, argv, 8, NULL);
    }
fired:
    Py_DECREF(first);
    Py_DECREF(last);
done:
    Py_XDECREF(evidence); Py_XDECREF(pack); Py_XDECREF(scenario); Py_XDECREF(name);
    Py_XDECREF(block); Py_XDECREF(count);
    Py_DECREF(window);
    return detection;
}

/* Detector.sweep over the states' tables; returns the tracked count after it (-1 error). */
static int sweep_dict(PyObject *dict, int which, double horizon, double now, double quiet) {
    PyObject *gone = PyList_New(0), *k, *v;
    if (!gone) return -1;
    Py_ssize_t pos = 0;
    while (PyDict_Next(dict, &pos, &k, &v)) {
        int drop = 0;
        if (which == 0) { /* window: its newest time before the horizon */
            Py_ssize_t n = PyList_GET_SIZE(v);
            if (n == 0) { /* never made by the detector; Python's w[-1] would raise */
                PyErr_SetString(PyExc_IndexError, "an empty detection window");
                Py_DECREF(gone);
                return -1;
            }
            drop = PyFloat_AsDouble(PyTuple_GET_ITEM(PyList_GET_ITEM(v, n - 1), 0)) < horizon;
        } else if (which == 1) { /* users: empty, or their newest before the horizon */
            Py_ssize_t p2 = 0;
            PyObject *uk, *uv;
            double newest = 0;
            int any = 0;
            while (PyDict_Next(v, &p2, &uk, &uv)) {
                double x = PyFloat_AsDouble(uv);
                if (!any || x > newest) newest = x;
                any = 1;
            }
            drop = !any || newest < horizon;
        } else { /* active: quiet period over */
            double last;
            if (detection_slots(v))
                last = PyFloat_AS_DOUBLE(DSLOT(v, DT_LAST));
            else if (get_double(v, s_last_seen, &last) < 0) { Py_DECREF(gone); return -1; }
            drop = last + quiet < now;
        }
        if (PyErr_Occurred() || (drop && PyList_Append(gone, k) < 0)) { Py_DECREF(gone); return -1; }
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(gone); i++)
        if (PyDict_DelItem(dict, PyList_GET_ITEM(gone, i)) < 0) { Py_DECREF(gone); return -1; }
    Py_DECREF(gone);
    return 0;
}

static int sweep_states(StateInfo *info, Py_ssize_t nstates, double now, double *tracked) {
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < nstates; i++) {
        StateInfo *si = &info[i];
        double horizon = now - si->window;
        if (sweep_dict(si->windows, 0, horizon, now, si->quiet) < 0 ||
            sweep_dict(si->users, 1, horizon, now, si->quiet) < 0 ||
            sweep_dict(si->active, 2, horizon, now, si->quiet) < 0)
            return -1;
    }
    for (Py_ssize_t i = 0; i < nstates; i++)
        total += PyDict_GET_SIZE(info[i].windows) + PyDict_GET_SIZE(info[i].users) +
                 PyDict_GET_SIZE(info[i].active);
    *tracked = (double)total;
    return 0;
}

/* detect(detector, events, route, states, keep, max_evidence, covers, count, distinct,
 *        fire_distinct, sweep, sweep_every, max_keys, swept_here, detection_type) -> (found, allowed)
 * detection_type: the Detection class a window that fills makes here, or None: _count makes it. */
static PyObject *engine_detect(PyObject *mod, PyObject *args) {
    PyObject *det, *events, *route, *states, *covers, *count_fn, *distinct_fn, *fire_fn, *sweep_fn,
        *detection_type;
    int keep, swept_here;
    Py_ssize_t max_evidence, max_keys;
    double sweep_every;
    if (!PyArg_ParseTuple(args, "OO!O!O!pnOOOOOdnpO", &det, &PyList_Type, &events, &PyDict_Type, &route,
                          &PyTuple_Type, &states, &keep, &max_evidence, &covers, &count_fn,
                          &distinct_fn, &fire_fn, &sweep_fn, &sweep_every, &max_keys, &swept_here,
                          &detection_type))
        return NULL;
    Py_ssize_t nstates = PyTuple_GET_SIZE(states);
    StateInfo *info = PyMem_Calloc(nstates + 1, sizeof(StateInfo));
    if (!info) return PyErr_NoMemory();
    PyObject *found = NULL;
    long long allowed = 0, since = 0;
    double next_sweep = 0.0, budget = 0.0;
    int have_next = 0;
    for (Py_ssize_t i = 0; i < nstates; i++) {
        PyObject *st = PyTuple_GET_ITEM(states, i);
        StateInfo *si = &info[i];
        int distinct;
        if (!PyArg_ParseTuple(st, "OO!O!O!npdd", &si->state, &PyDict_Type, &si->windows, &PyDict_Type,
                              &si->users, &PyDict_Type, &si->active, &si->threshold, &distinct,
                              &si->quiet, &si->window))
            goto fail;
        si->distinct = distinct;
    }
    found = PyList_New(0);
    if (!found) goto fail;
    if (PyList_GET_SIZE(events) && Py_TYPE(PyList_GET_ITEM(events, 0)) != event_type_seen) {
        PyObject *names[EV_N] = {s_pack, s_kind, s_time, s_key, s_weight, s_user, s_line};
        learn_event_type(Py_TYPE(PyList_GET_ITEM(events, 0)), names);
    }
#define SYNC_IN()                                                                  \
    do {                                                                           \
        PyObject *v_ = PyObject_GetAttr(det, s_since);                             \
        if (!v_) goto fail;                                                        \
        since = PyLong_AsLongLong(v_);                                             \
        Py_DECREF(v_);                                                             \
        v_ = PyObject_GetAttr(det, s_next);                                        \
        if (!v_) goto fail;                                                        \
        have_next = v_ != Py_None;                                                 \
        if (have_next) next_sweep = PyFloat_AsDouble(v_);                          \
        Py_DECREF(v_);                                                             \
        v_ = PyObject_GetAttr(det, s_budget);                                      \
        if (!v_) goto fail;                                                        \
        budget = PyFloat_AsDouble(v_);                                             \
        Py_DECREF(v_);                                                             \
        if (PyErr_Occurred()) goto fail;                                           \
    } while (0)
#define SYNC_OUT()                                                                 \
    do {                                                                           \
        PyObject *v_ = PyLong_FromLongLong(since);                                 \
        if (!v_ || PyObject_SetAttr(det, s_since, v_) < 0) { Py_XDECREF(v_); goto fail; } \
        Py_DECREF(v_);                                                             \
        if (have_next && set_double(det, s_next, next_sweep) < 0) goto fail;       \
    } while (0)
    SYNC_IN();
    for (Py_ssize_t e = 0; e < PyList_GET_SIZE(events); e++) {
        PyObject *event = PyList_GET_ITEM(events, e);
        PyObject *pack = event_field(event, EV_PACK, s_pack);
        if (!pack) goto fail;
        PyObject *kinds = PyDict_GetItemWithError(route, pack);
        Py_DECREF(pack);
        if (!kinds) { if (PyErr_Occurred()) goto fail; continue; }
        PyObject *kind = event_field(event, EV_KIND, s_kind);
        if (!kind) goto fail;
        PyObject *targets = PyDict_GetItemWithError(kinds, kind);
        Py_DECREF(kind);
        if (!targets) { if (PyErr_Occurred()) goto fail; continue; }
        Py_INCREF(targets);
        PyObject *when = event_field(event, EV_TIME, s_time);
        if (!when) { Py_DECREF(targets); goto fail; }
        double t = PyFloat_AsDouble(when);
        since++;
        if (!have_next) {
            have_next = 1;
            next_sweep = t + sweep_every;
        } else if (t >= next_sweep && (double)since >= budget) {
            if (swept_here) {
                /* Detector.sweep, here: same tables, same order of work */
                if (sweep_states(info, nstates, t, &budget) < 0) { Py_DECREF(when); Py_DECREF(targets); goto fail; }
                next_sweep = t + sweep_every;
                since = 0;
                PyObject *b = PyLong_FromSsize_t((Py_ssize_t)budget);
                if (!b || PyObject_SetAttr(det, s_budget, b) < 0) {
                    Py_XDECREF(b); Py_DECREF(when); Py_DECREF(targets); goto fail;
                }
                Py_DECREF(b);
            } else {
                SYNC_OUT();
                PyObject *r = PyObject_CallOneArg(sweep_fn, when);
                if (!r) { Py_DECREF(when); Py_DECREF(targets); goto fail; }
                Py_DECREF(r);
                SYNC_IN();
            }
        }
        PyObject *key = event_field(event, EV_KEY, s_key);
        if (!key) { Py_DECREF(when); Py_DECREF(targets); goto fail; }
        if (covers != Py_None) {
            PyObject *r = PyObject_CallOneArg(covers, key);
            if (!r) { Py_DECREF(key); Py_DECREF(when); Py_DECREF(targets); goto fail; }
            int yes = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (yes) { allowed++; Py_DECREF(key); Py_DECREF(when); Py_DECREF(targets); continue; }
        }
        PyObject *line = NULL, *user = NULL;
        int borrowed = 0; /* line and user are the event's own (the event held meanwhile) */
        long weight = -1;
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(targets); j++) {
            PyObject *st = PyList_GET_ITEM(targets, j);
            StateInfo *si = NULL;
            for (Py_ssize_t i = 0; i < nstates; i++)
                if (info[i].state == st) { si = &info[i]; break; }
            if (!si) { PyErr_SetString(PyExc_RuntimeError, "route names an unknown state"); goto event_fail; }
            if (weight < 0) {
                PyObject *w = event_field(event, EV_WEIGHT, s_weight);
                if (!w) goto event_fail;
                weight = PyLong_AsLong(w);
                Py_DECREF(w);
                if (weight == -1 && PyErr_Occurred()) goto event_fail;
                if (Py_TYPE(event) == event_type_seen &&
                    (line = *(PyObject **)((char *)event + event_offsets[EV_LINE])) != NULL &&
                    (user = *(PyObject **)((char *)event + event_offsets[EV_USER])) != NULL) {
                    /* Borrowed (an Event is frozen, and held here): a new reference would
                     * write to the line's object, long out of the cache, for every event,
                     * and most of them (a detection's quiet period, its evidence full)
                     * never use it. */
                    Py_INCREF(event);
                    borrowed = 1;
                } else {
                    line = event_field(event, EV_LINE, s_line);
                    if (!line) goto event_fail;
                    user = event_field(event, EV_USER, s_user);
                    if (!user) goto event_fail;
                }
            }
            PyObject *active = PyDict_GetItemWithError(si->active, key);
            if (!active && PyErr_Occurred()) goto event_fail;
            if (active && detection_slots(active)) {
                /* the generic path below, on the slots themselves */
                double last = PyFloat_AS_DOUBLE(DSLOT(active, DT_LAST));
                int quiet = t < last + si->quiet || t < PyFloat_AS_DOUBLE(DSLOT(active, DT_FIRST));
                if (quiet) {
                    PyObject *w = PyLong_FromLong(weight);
                    PyObject *sum = w ? PyNumber_Add(DSLOT(active, DT_COUNT), w) : NULL;
                    Py_XDECREF(w);
                    if (!sum) goto event_fail;
                    Py_SETREF(DSLOT(active, DT_COUNT), sum);
                    if (t > last) {
                        Py_INCREF(when);
                        Py_SETREF(DSLOT(active, DT_LAST), when);
                    }
                    if (keep) {
                        PyObject *ev = DSLOT(active, DT_EVIDENCE);
                        if (PyList_GET_SIZE(ev) < max_evidence && PyList_Append(ev, line) < 0)
                            goto event_fail;
                    }
                    continue;
                }
                if (PyDict_DelItem(si->active, key) < 0) goto event_fail;
            } else if (active) {
                double last, first;
                if (get_double(active, s_last_seen, &last) < 0 || get_double(active, s_first_seen, &first) < 0)
                    goto event_fail;
                if (t < last + si->quiet || t < first) {
                    PyObject *c = PyObject_GetAttr(active, s_count);
                    if (!c) goto event_fail;
                    PyObject *w = PyLong_FromLong(weight);
                    PyObject *sum = w ? PyNumber_Add(c, w) : NULL;
                    Py_DECREF(c); Py_XDECREF(w);
                    if (!sum) goto event_fail;
                    int rc = PyObject_SetAttr(active, s_count, sum);
                    Py_DECREF(sum);
                    if (rc < 0) goto event_fail;
                    if (t > last && PyObject_SetAttr(active, s_last_seen, when) < 0) goto event_fail;
                    if (keep) {
                        PyObject *ev = PyObject_GetAttr(active, s_evidence);
                        if (!ev) goto event_fail;
                        Py_ssize_t n = PyObject_Length(ev);
                        rc = n < 0 ? -1 : (n < max_evidence ? PyList_Append(ev, line) : 0);
                        Py_DECREF(ev);
                        if (rc < 0) goto event_fail;
                    }
                    continue;
                }
                if (PyDict_DelItem(si->active, key) < 0) goto event_fail;
            }
            PyObject *detection = NULL;
            if (si->distinct) {
                if (user == Py_None) continue;
                PyObject *seen = NULL;
                int rc = distinct_fast(si, key, when, t, user, &seen, max_keys);
                if (rc < 0) goto event_fail;
                if (rc == 1) continue;
                if (rc == 2) {
                    Py_INCREF(seen);
                    detection = PyObject_CallFunctionObjArgs(fire_fn, si->state, key, event, seen, NULL);
                    Py_DECREF(seen);
                } else {
                    detection = PyObject_CallFunctionObjArgs(distinct_fn, si->state, key, event, NULL);
                }
            } else {
                int rc = 0;
                if (weight == 1) {
                    rc = count_fast(si, key, when, t, line, max_keys);
                    if (rc < 0) goto event_fail;
                    if (rc == 1) continue;
                }
                if (rc == 2 && detection_type != Py_None)
                    detection = count_fire(si, key, when, line, event, detection_type, keep, max_evidence);
                else
                    detection = PyObject_CallFunctionObjArgs(count_fn, si->state, key, event, NULL);
            }
            if (!detection) goto event_fail;
            if (detection != Py_None) {
                if (PyDict_SetItem(si->active, key, detection) < 0 || PyList_Append(found, detection) < 0) {
                    Py_DECREF(detection);
                    goto event_fail;
                }
            }
            Py_DECREF(detection);
        }
        if (borrowed) Py_DECREF(event);
        else { Py_XDECREF(line); Py_XDECREF(user); }
        Py_DECREF(key); Py_DECREF(when); Py_DECREF(targets);
        continue;
    event_fail:
        if (borrowed) Py_DECREF(event);
        else { Py_XDECREF(line); Py_XDECREF(user); }
        Py_DECREF(key); Py_DECREF(when); Py_DECREF(targets);
        goto fail;
    }
    SYNC_OUT();
#undef SYNC_IN
#undef SYNC_OUT
    PyMem_Free(info);
    return Py_BuildValue("NL", found, allowed);
fail:
    PyMem_Free(info);
    Py_XDECREF(found);
    return NULL;
}

/* A replay reads its input in chunks of a MiB and makes two or three buffers of that
 * size from each. glibc serves such a block by mmap and gives it back at free, so every
 * chunk's pages are faulted in and zeroed again (a fifth of a web replay's CPU time).
 * Serving them from the heap, and keeping a few MiB there, reuses the same pages. */
static PyObject *engine_hold_heap(PyObject *mod, PyObject *Py_UNUSED(ignored)) {
#ifdef __GLIBC__
    if (mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024) && mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024))
        Py_RETURN_TRUE;
#endif
    Py_RETURN_FALSE;
}

/* sorted_top(events): the last event's time when the list's times never go down (the
 * reorder buffer's common case: then it needs no sort), else None. Reads Event.time
 * from its slot (see learn_event_type). */
static PyObject *engine_sorted_top(PyObject *mod, PyObject *events) {
    if (!PyList_Check(events)) {
        PyErr_SetString(PyExc_TypeError, "sorted_top() takes a list of events");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(events);
    if (n == 0) Py_RETURN_NONE;
    if (Py_TYPE(PyList_GET_ITEM(events, 0)) != event_type_seen) {
        PyObject *names[EV_N] = {s_pack, s_kind, s_time, s_key, s_weight, s_user, s_line};
        learn_event_type(Py_TYPE(PyList_GET_ITEM(events, 0)), names);
    }
    double last = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *event = PyList_GET_ITEM(events, i);
        if (Py_TYPE(event) != event_type_seen) Py_RETURN_NONE;
        PyObject *when = *(PyObject **)((char *)event + event_offsets[EV_TIME]);
        if (!when || !PyFloat_CheckExact(when)) Py_RETURN_NONE;
        double t = PyFloat_AS_DOUBLE(when);
        if (i && !(t >= last)) Py_RETURN_NONE; /* down, or NaN: Python's sort decides */
        last = t;
    }
    return PyFloat_FromDouble(last);
}

static PyMethodDef module_methods[] = {
    {"sorted_top", engine_sorted_top, METH_O,
     "The last event's time if the events' times never go down, else None."},
    {"detect", engine_detect, METH_VARARGS, "Detector.feed's loop (see detection/detector.py)."},
    {"hold_heap", engine_hold_heap, METH_NOARGS,
     "Serve MiB-sized buffers from the heap and keep them (glibc): True when it could."},
    {NULL}};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_engine", "The compiled events and detection loops (PCRE2 JIT).", -1, module_methods};

PyMODINIT_FUNC PyInit__engine(void) {
    if (PyType_Ready(&FeederType) < 0 || PyType_Ready(&ConnType) < 0) return NULL;
    str_low = PyUnicode_InternFromString("low");
    str_high = PyUnicode_InternFromString("high");
    empty_bytes = PyBytes_FromStringAndSize("", 0);
    if (!str_low || !str_high || !empty_bytes) return NULL;
#define INTERN(var, text) if (!(var = PyUnicode_InternFromString(text))) return NULL;
    INTERN(s_pack, "pack") INTERN(s_kind, "kind") INTERN(s_time, "time") INTERN(s_key, "key")
    INTERN(s_weight, "weight") INTERN(s_user, "user") INTERN(s_line, "line") INTERN(s_count, "count")
    INTERN(s_first_seen, "first_seen") INTERN(s_last_seen, "last_seen") INTERN(s_evidence, "evidence")
    INTERN(s_since, "_since_sweep") INTERN(s_next, "_next_sweep") INTERN(s_budget, "_sweep_budget")
#undef INTERN
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&FeederType);
    if (PyModule_AddObject(m, "Feeder", (PyObject *)&FeederType) < 0) return NULL;
    char version[64];
    pcre2_config(PCRE2_CONFIG_VERSION, version);
    if (PyModule_AddStringConstant(m, "PCRE2_VERSION", version) < 0) return NULL;
    return m;
}
