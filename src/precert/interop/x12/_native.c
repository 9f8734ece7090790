/* The native reader of clean X12: an optional accelerator for ``parser.parse``.
 *
 * It reads one interchange and returns the same ``Document`` the Python parser builds,
 * but only when that document would carry no problem at all. At the first sign of
 * anything else (a segment that fails its check, a misplaced segment, an envelope
 * count that disagrees, a warning the parser would give, a text it does not handle)
 * it declines by returning None, and the Python parser reads the input from the start
 * and explains what is wrong. So this file holds no messages and no rule of its own:
 * it interprets the tables ``native.py`` builds from the same segment specs and loop
 * grammars the Python parser uses, and mirrors the parser's clean path step by step
 * (the comments name the Python function each part mirrors). Tests hold the two
 * together on every corpus file and on fuzzed variants: whenever this reader accepts,
 * the Python parser finds no problem and builds an equal tree.
 *
 * Why C: tokenizing, checking and placing a segment in Python (even compiled by mypyc)
 * costs about five times the bare ``str.split`` of the same text, because every step
 * allocates or looks up Python objects. Here segments are examined as byte spans, and
 * only what the document keeps (element strings, lists, Segment and Loop objects) is
 * allocated.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_SIDS 64      /* distinct segment ids the tables know (41 today) */
#define MAX_LOOP_IDS 64  /* distinct loop ids, one bit each in a child mask */
#define MAX_ELEMENTS 64  /* a segment with more elements is declined */
#define MAX_DEPTH 16     /* open loops; deeper nesting is declined */
#define SID_CODES (37 * 37 * 37)

enum { OK = 0, DECLINE = 1, FAIL = -1 };
enum { AN, ID, DT, TM, N0, R, COMPOSITE };

typedef struct {
    const Py_UCS1 *p;
    Py_ssize_t n;
} Span;

/* A set of short ASCII codes, each packed into one integer (span_key) and found by
 * hashing that integer into an open-addressing table at most half full: one or two
 * integer comparisons, where a binary search over a few hundred service type codes took
 * eight dependent steps. X12 codes are at most 4 bytes; configure refuses one longer than
 * KEY_BYTES. A code's index is its place in the table's list, as given to configure. */
typedef struct {
    uint64_t key; /* EMPTY_KEY in a free slot */
    Py_ssize_t at;
} CodeSlot;

typedef struct {
    Py_ssize_t count;
    int shift; /* 64 - log2(slots) */
    uint64_t mask;
    CodeSlot *slots;
    PyObject **values; /* the tables' own str by index (borrowed: keep_alive holds them) */
} CodeSet;

#define KEY_BYTES 7
#define EMPTY_KEY UINT64_MAX /* no key: its length byte would be 255 */

typedef struct ElementRule {
    int kind, lo, hi, required, repeat;
    CodeSet *codes; /* NULL: any value of the right length */
    int ncomponents;
    struct ElementRule *components;
} ElementRule;

typedef struct {
    int nelements;
    ElementRule *elements;
    int npaired;
    int *paired_len;
    int **paired;
    int nconditional;
    int (*conditional)[2];
} SegmentRule;

typedef struct {
    CodeSet qualifiers; /* parallel to child */
    int *child;
    int fallback; /* the child opened for any other qualifier, or -1 */
} OpenTable;

typedef struct {
    int index;
    CodeSet *allowed;
} Restriction;

typedef struct {
    int is_loop;
    int sid;     /* when a segment */
    int loop_id; /* loop id number when a loop (-1: no loop has that id) */
} Requirement;

typedef struct {
    PyObject *loop_id; /* str */
    int loop_id_number;
    int is_header;
    int trigger;          /* sid or -1 */
    CodeSet *qualifiers;  /* NULL: any qualifier */
    int seg_max[MAX_SIDS];      /* 0: not a segment of this loop */
    int member_limit[MAX_SIDS]; /* -1: not a plain member */
    OpenTable *opens[MAX_SIDS];
    int ntriggers[MAX_SIDS];
    int *triggers[MAX_SIDS];
    int nrestrictions[MAX_SIDS];
    Restriction *restrictions[MAX_SIDS];
    int closer;
    int nrequired;
    Requirement *required;
} LoopRule;

typedef struct {
    Span level;
    int loop;
    CodeSet parents; /* allowed parent levels; "" = no parent */
} Placement;

typedef struct {
    Span set_id, convention, functional_id;
    int header;
    int nplacements;
    Placement *placements;
    int nrequired_levels;
    Span *required_levels;
    int nresponse_levels; /* required levels of a response (BHT02 response_purpose) */
    CodeSet purposes;
    int nresponse_only;
    int response_only[4];
    Span response_purpose;
} GrammarRule;

/* ---- the tables (set once by configure) ------------------------------------------ */

static int configured = 0;
static PyObject *keep_alive = NULL; /* every str the spans point into */
static int16_t sid_of_code[SID_CODES];
static PyObject *sid_str[MAX_SIDS];
static SegmentRule *sid_rule[MAX_SIDS];
static int nsids = 0;
static int sid_dtp = -1, sid_dmg = -1, sid_hl = -1, sid_bht = -1;
static LoopRule *loops = NULL;
static int nloops = 0;
static GrammarRule *grammars = NULL;
static int ngrammars = 0;
static CodeSet functional_ids;
static PyObject *t_document, *t_interchange, *t_group, *t_transaction, *t_loop, *t_segment;
static PyObject *s_interchanges, *s_groups, *s_transactions, *s_root, *s_segment_count,
    *s_element, *s_component, *s_repetition, *s_segment;

/* ---- small helpers ----------------------------------------------------------------- */

/* Values and codes are a few bytes long: a plain loop beats a call to memcmp. */
static inline int bytes_equal(const Py_UCS1 *a, const Py_UCS1 *b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static inline int span_eq(Span a, const char *s) {
    Py_ssize_t n = (Py_ssize_t)strlen(s);
    return a.n == n && bytes_equal(a.p, (const Py_UCS1 *)s, n);
}

static inline int spans_equal(Span a, Span b) { return a.n == b.n && bytes_equal(a.p, b.p, a.n); }

/* A code of at most KEY_BYTES bytes as one integer: the length in the top byte, then
 * the bytes, zero-padded. */
static inline uint64_t span_key(Span value) {
    uint64_t key = (uint64_t)value.n;
    for (Py_ssize_t i = 0; i < value.n; i++) key = key << 8 | value.p[i];
    return key << 8 * (KEY_BYTES - value.n);
}

static inline uint64_t first_slot(const CodeSet *set, uint64_t key) {
    return (key * 0x9E3779B97F4A7C15ULL) >> set->shift; /* Fibonacci hashing */
}

/* The index of ``value`` in the set, or -1. */
static Py_ssize_t codes_index(const CodeSet *set, Span value) {
    if (value.n > KEY_BYTES) return -1;
    uint64_t key = span_key(value);
    for (uint64_t at = first_slot(set, key);; at = (at + 1) & set->mask) {
        const CodeSlot *slot = &set->slots[at];
        if (slot->key == key) return slot->at;
        if (slot->key == EMPTY_KEY) return -1;
    }
}

static int codes_contain(const CodeSet *set, Span value) { return codes_index(set, value) >= 0; }

static int all_digits(const Py_UCS1 *p, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return 1;
}

/* Whether ``value`` is the decimal ``str`` of ``number`` >= 0, as ``str(number) == value``. */
static int is_decimal_of(Span value, Py_ssize_t number) {
    if (value.n < 1 || value.n > 18 || (value.p[0] == '0' && value.n > 1)) return 0;
    Py_ssize_t read = 0;
    for (Py_ssize_t i = 0; i < value.n; i++) {
        if (value.p[i] < '0' || value.p[i] > '9') return 0;
        read = read * 10 + (value.p[i] - '0');
    }
    return read == number;
}

static int sid_code(Span s) {
    if (s.n < 2 || s.n > 3) return -1;
    int code = 0;
    for (Py_ssize_t i = 0; i < 3; i++) {
        int c = 0;
        if (i < s.n) {
            Py_UCS1 ch = s.p[i];
            if (ch >= 'A' && ch <= 'Z') c = ch - 'A' + 1;
            else if (ch >= '0' && ch <= '9') c = ch - '0' + 27;
            else return -1;
        }
        code = code * 37 + c;
    }
    return code;
}

static int sid_of(Span s) {
    int code = sid_code(s);
    return code < 0 ? -1 : sid_of_code[code] - 1;
}

/* ---- value checks: segments.valid_date, valid_time, numeric_length, _check_value ---- */

static int valid_date(Span v) {
    static const int last_day[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (v.n != 8 || !all_digits(v.p, 8)) return 0;
    int year = (v.p[0] - '0') * 1000 + (v.p[1] - '0') * 100 + (v.p[2] - '0') * 10 + (v.p[3] - '0');
    int month = (v.p[4] - '0') * 10 + (v.p[5] - '0');
    int day = (v.p[6] - '0') * 10 + (v.p[7] - '0');
    if (month < 1 || month > 12 || day < 1 || day > last_day[month]) return 0;
    if (month == 2 && day == 29)
        return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return 1;
}

static int valid_time(Span v) {
    if (v.n < 4 || v.n > 8 || v.n == 5 || !all_digits(v.p, v.n)) return 0;
    int hh = (v.p[0] - '0') * 10 + (v.p[1] - '0');
    int mm = (v.p[2] - '0') * 10 + (v.p[3] - '0');
    if (hh > 23 || mm > 59) return 0;
    return v.n < 6 || (v.p[4] - '0') * 10 + (v.p[5] - '0') <= 59;
}

static Py_ssize_t numeric_length(Span v, int decimal) {
    const Py_UCS1 *p = v.p;
    Py_ssize_t n = v.n;
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] >= 0x80) return -1;
    if (n && p[0] == '-') { p++; n--; }
    if (n <= 0) return -1;
    if (decimal) {
        const Py_UCS1 *dot = memchr(p, '.', (size_t)n);
        if (dot) {
            Py_ssize_t whole = dot - p, fraction = n - whole - 1;
            if (!all_digits(p, whole) || !all_digits(dot + 1, fraction)) return -1;
            return whole + fraction ? whole + fraction : -1;
        }
    }
    return all_digits(p, n) ? n : -1;
}

/* Whether ``v`` is a valid value. A code found in the element's list is also given in
 * ``*code`` (when not NULL) as the tables' own string, which the element tuple then shares:
 * the strings shared are the same few for any input, so this is no cache of the input. */
static int value_ok(const ElementRule *rule, Span v, PyObject **code) {
    Py_ssize_t length;
    if (rule->kind == N0 || rule->kind == R) {
        length = numeric_length(v, rule->kind == R);
        if (length < 0) return 0;
    } else {
        length = v.n;
    }
    if (length < rule->lo || length > rule->hi) return 0;
    if (rule->kind == ID) {
        if (rule->codes == NULL) return 1;
        Py_ssize_t at = codes_index(rule->codes, v);
        if (at >= 0 && code != NULL) *code = rule->codes->values[at];
        return at >= 0;
    }
    if (rule->kind == DT) return valid_date(v);
    if (rule->kind == TM) return valid_time(v);
    return 1;
}

/* segments._check_composite */
static int composite_ok(const ElementRule *rule, Span v, Py_UCS1 component) {
    int index = 0;
    const Py_UCS1 *p = v.p, *end = v.p + v.n;
    for (;;) {
        const Py_UCS1 *stop = memchr(p, component, (size_t)(end - p));
        Span part = {p, (stop ? stop : end) - p};
        if (index >= rule->ncomponents) return 0; /* too many components */
        const ElementRule *spec = &rule->components[index++];
        if (part.n == 0 ? spec->required : !value_ok(spec, part, NULL)) return 0;
        if (!stop) break;
        p = stop + 1;
    }
    for (; index < rule->ncomponents; index++)
        if (rule->components[index].required) return 0;
    return 1;
}

/* segments._check_complex: repetitions, each a composite or a simple value */
static int complex_ok(const ElementRule *rule, Span v, Py_UCS1 component, int repetition) {
    int count = 0;
    const Py_UCS1 *p = v.p, *end = v.p + v.n;
    for (;;) {
        const Py_UCS1 *stop = (repetition >= 0 && rule->repeat > 1)
                                  ? memchr(p, repetition, (size_t)(end - p)) : NULL;
        Span item = {p, (stop ? stop : end) - p};
        if (++count > rule->repeat) return 0;
        if (item.n && !(rule->kind == COMPOSITE ? composite_ok(rule, item, component)
                                                : value_ok(rule, item, NULL)))
            return 0;
        if (!stop) break;
        p = stop + 1;
    }
    return 1;
}

/* segments.explain_segment finding nothing, plus the parser's DTP and DMG date checks
 * (parser._PLACED_CHECKS). ``e[0]`` is the segment id; ``n`` counts it too. */
static int segment_ok(int sid, const Span *e, int n, Py_UCS1 component, int repetition,
                      PyObject **codes) {
    const SegmentRule *rule = sid_rule[sid];
    if (codes != NULL) memset(codes, 0, sizeof(PyObject *) * (size_t)n);
    if (rule == NULL) return 1; /* a segment with no spec has no element check */
    int count = n - 1;
    if (count > rule->nelements) return 0;
    for (int i = 1; i <= rule->nelements; i++) {
        const ElementRule *es = &rule->elements[i - 1];
        Span v = i <= count ? e[i] : (Span){NULL, 0};
        if (v.n == 0) {
            if (es->required) return 0;
            continue;
        }
        if (es->repeat == 1 && es->kind != COMPOSITE ? !value_ok(es, v, codes ? &codes[i] : NULL)
                                                      : !complex_ok(es, v, component, repetition))
            return 0;
    }
    for (int g = 0; g < rule->npaired; g++) {
        int present = 0;
        for (int k = 0; k < rule->paired_len[g]; k++) {
            int i = rule->paired[g][k];
            present += i <= count && e[i].n > 0;
        }
        if (present && present != rule->paired_len[g]) return 0;
    }
    for (int c = 0; c < rule->nconditional; c++) {
        int first = rule->conditional[c][0], then = rule->conditional[c][1];
        if (first <= count && e[first].n && !(then <= count && e[then].n)) return 0;
    }
    if (sid == sid_dtp) { /* parser._period_ok on an accepted DTP (exactly three elements) */
        Span format = e[2], value = e[3];
        if (span_eq(format, "D8")) return valid_date(value);
        if (span_eq(format, "RD8")) {
            const Py_UCS1 *dash = memchr(value.p, '-', (size_t)value.n);
            if (!dash) return 0;
            Span start = {value.p, dash - value.p}, stop = {dash + 1, value.p + value.n - dash - 1};
            /* two valid dates are 8 digits each, so bytes order them as the parser's <= */
            return valid_date(start) && valid_date(stop) && memcmp(start.p, stop.p, 8) <= 0;
        }
        return 1;
    }
    if (sid == sid_dmg && n >= 3 && span_eq(e[1], "D8") && e[2].n) /* parser._birth_date_ok */
        return valid_date(e[2]);
    return 1;
}

/* ---- building Python objects ------------------------------------------------------- */

/* A segment's elements: a tuple of strings, which the cyclic GC never needs to visit.
 * CPython untracks such a tuple itself at its first collection; untracked now, that
 * collection has nothing of the parse tree's segments to traverse. A value segment_ok
 * found in its code list (``codes[i]``) is the tables' string, shared. */
static PyObject *element_tuple(int sid, const Span *e, int n, PyObject *const *codes) {
    PyObject *tuple = PyTuple_New(n);
    if (tuple == NULL) return NULL;
    PyTuple_SET_ITEM(tuple, 0, Py_NewRef(sid_str[sid]));
    for (int i = 1; i < n; i++) {
        PyObject *value = codes[i] != NULL
                              ? Py_NewRef(codes[i])
                              : PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, e[i].p, e[i].n);
        if (value == NULL) { Py_DECREF(tuple); return NULL; }
        PyTuple_SET_ITEM(tuple, i, value);
    }
    PyObject_GC_UnTrack(tuple);
    return tuple;
}

static PyObject *plain_list(const Span *e, int n) {
    PyObject *list = PyList_New(n);
    if (list == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *value = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, e[i].p, e[i].n);
        if (value == NULL) { Py_DECREF(list); return NULL; }
        PyList_SET_ITEM(list, i, value);
    }
    return list;
}

/* A Segment holds only its elements tuple and its position, so it can take part in no
 * reference cycle (short of assigning it a tuple that holds the segment itself, against
 * its type): untracked, the GC never traverses the parse tree's segments. */
static PyObject *new_segment(int sid, const Span *e, int n, PyObject *const *codes,
                             Py_ssize_t position) {
    PyObject *elements = element_tuple(sid, e, n, codes);
    if (elements == NULL) return NULL;
    PyObject *number = PyLong_FromSsize_t(position);
    if (number == NULL) { Py_DECREF(elements); return NULL; }
    PyObject *args[2] = {elements, number};
    PyObject *segment = PyObject_Vectorcall(t_segment, args, 2, NULL);
    Py_DECREF(elements);
    Py_DECREF(number);
    if (segment != NULL) PyObject_GC_UnTrack(segment);
    return segment;
}

/* An attribute that the owner keeps alive: returned borrowed. */
static PyObject *borrowed_attr(PyObject *owner, PyObject *name) {
    PyObject *value = PyObject_GetAttr(owner, name);
    if (value != NULL) Py_DECREF(value);
    return value;
}

/* ---- placing segments in loops: parser._LoopBuilder ----------------------------------- */

/* A loop being read: its segments and children are chained through ``Placed.next`` and
 * ``Node.next_sibling``, since a loop gains children after later loops (an HL names its
 * parent). The ``Loop`` objects are made once the set has been read (finished_tree). */
typedef struct {
    PyObject *loop_id; /* borrowed from the tables */
    int first_segment, last_segment, nsegments;
    int first_child, last_child, nchildren;
    int next_sibling;
    PyObject *loop; /* made by finished_tree, until its parent takes it */
} Node;

typedef struct {
    PyObject *segment; /* owned until its loop's tuple takes it */
    int next;          /* the next segment of the same loop */
} Placed;

typedef struct {
    int rule;
    int node; /* the loop in Builder.nodes */
    int *counts;
    uint64_t *child_loops; /* loop id numbers of child loops (header and HL loops only) */
    int hl;                /* this frame's HL entry, or -1 */
} Frame;

typedef struct {
    Span level;
    Span flag; /* HL04 */
    int node;
    int counts[MAX_SIDS];
    uint64_t child_loops;
    int rule;
    int has_child_level;
} LevelEntry;

typedef struct {
    const GrammarRule *grammar;
    int hierarchical;
    Py_UCS1 component;
    int repetition;
    Frame stack[MAX_DEPTH];
    int depth;
    int scratch[MAX_DEPTH][MAX_SIDS];
    uint64_t scratch_loops[MAX_DEPTH];
    int root_counts[MAX_SIDS];
    uint64_t root_loops;
    int root_first; /* sid of the root loop's first segment, or -1 */
    Span bht_purpose;
    int has_bht;
    int has_response_only;
    LevelEntry *levels;
    int nlevels, level_capacity;
    Node *nodes;
    int nnodes, node_capacity;
    Placed *placed;
    int nplaced, placed_capacity;
} Builder;

/* The next free entry of a growable array, or NULL (MemoryError) when it cannot grow. */
static void *grown(void **items, int *count, int *capacity, size_t size) {
    if (*count == *capacity) {
        int more = *capacity ? *capacity * 2 : 64;
        void *bigger = PyMem_Realloc(*items, size * (size_t)more);
        if (bigger == NULL) { PyErr_NoMemory(); return NULL; }
        *items = bigger;
        *capacity = more;
    }
    return (char *)*items + size * (size_t)(*count)++;
}

/* Keeps ``segment`` (a new reference, taken over) for the set being read; its index. */
static int keep_segment(Builder *b, PyObject *segment) {
    Placed *entry = grown((void **)&b->placed, &b->nplaced, &b->placed_capacity, sizeof *entry);
    if (entry == NULL) { Py_DECREF(segment); return -1; }
    *entry = (Placed){segment, -1};
    return b->nplaced - 1;
}

static void add_to_node(Builder *b, int node, int segment) {
    Node *owner = &b->nodes[node];
    if (owner->nsegments++) b->placed[owner->last_segment].next = segment;
    else owner->first_segment = segment;
    owner->last_segment = segment;
}

/* A new loop under ``parent`` (-1 for the root) with ``segment`` first; its index. */
static int new_node(Builder *b, PyObject *loop_id, int parent, int segment) {
    Node *node = grown((void **)&b->nodes, &b->nnodes, &b->node_capacity, sizeof *node);
    if (node == NULL) return -1;
    int index = b->nnodes - 1;
    *node = (Node){loop_id, -1, -1, 0, -1, -1, 0, -1, NULL};
    if (parent >= 0) {
        Node *owner = &b->nodes[parent];
        if (owner->nchildren++) b->nodes[owner->last_child].next_sibling = index;
        else owner->first_child = index;
        owner->last_child = index;
    }
    if (segment >= 0) add_to_node(b, index, segment);
    return index;
}

/* The set's loops as ``Loop`` objects, made from the last back so that a loop's children
 * exist before it; returns the root. Each tuple takes over the references the builder
 * held, so nothing is counted twice. The tree holds only tuples, strings and untracked
 * segments, so the loops and their tuples are untracked too: the GC never sees it. */
static PyObject *finished_tree(Builder *b) {
    for (int i = b->nnodes - 1; i >= 0; i--) {
        Node *node = &b->nodes[i];
        PyObject *segments = PyTuple_New(node->nsegments);
        if (segments == NULL) return NULL;
        for (int k = node->first_segment, j = 0; j < node->nsegments; k = b->placed[k].next, j++) {
            PyTuple_SET_ITEM(segments, j, b->placed[k].segment);
            b->placed[k].segment = NULL;
        }
        PyObject_GC_UnTrack(segments);
        PyObject *children = PyTuple_New(node->nchildren); /* () is a shared singleton */
        if (children == NULL) { Py_DECREF(segments); return NULL; }
        for (int k = node->first_child, j = 0; j < node->nchildren;
             k = b->nodes[k].next_sibling, j++) {
            PyTuple_SET_ITEM(children, j, b->nodes[k].loop);
            b->nodes[k].loop = NULL;
        }
        if (node->nchildren) PyObject_GC_UnTrack(children);
        PyObject *args[3] = {node->loop_id, segments, children};
        node->loop = PyObject_Vectorcall(t_loop, args, 3, NULL);
        Py_DECREF(segments);
        Py_DECREF(children);
        if (node->loop == NULL) return NULL;
        PyObject_GC_UnTrack(node->loop);
    }
    PyObject *root = b->nodes[0].loop;
    b->nodes[0].loop = NULL;
    return root;
}

/* Drops whatever a set left behind (all of it when reading it stopped half way). */
static void release_set(Builder *b) {
    for (int i = 0; i < b->nplaced; i++) Py_XDECREF(b->placed[i].segment);
    for (int i = 0; i < b->nnodes; i++) Py_XDECREF(b->nodes[i].loop);
    b->nplaced = b->nnodes = 0;
}

static int open_loop(Builder *b, int rule, Frame *parent, int segment, int hl) {
    if (b->depth >= MAX_DEPTH) return DECLINE;
    const LoopRule *spec = &loops[rule];
    int node = new_node(b, spec->loop_id, parent->node, segment);
    if (node < 0) return FAIL;
    Frame *frame = &b->stack[b->depth];
    frame->rule = rule;
    frame->node = node;
    *parent->child_loops |= (uint64_t)1 << spec->loop_id_number;
    frame->hl = hl;
    if (hl >= 0) {
        LevelEntry *entry = &b->levels[hl];
        entry->node = node;
        frame->counts = entry->counts;
        frame->child_loops = &entry->child_loops;
    } else {
        frame->counts = b->scratch[b->depth];
        memset(frame->counts, 0, sizeof b->scratch[0]);
        b->scratch_loops[b->depth] = 0;
        frame->child_loops = &b->scratch_loops[b->depth];
    }
    b->depth++;
    return OK;
}

static int trigger_fits(const LoopRule *spec, const Span *e, int n) {
    return spec->qualifiers == NULL || (n > 1 && codes_contain(spec->qualifiers, e[1]));
}

/* _after_append: maximum use, loop-specific codes, the closing segment */
static int after_append(Builder *b, int sid, const Span *e, int n, int used) {
    const LoopRule *spec = &loops[b->stack[b->depth - 1].rule];
    if (used > spec->seg_max[sid]) return DECLINE;
    for (int k = 0; k < spec->nrestrictions[sid]; k++) {
        const Restriction *r = &spec->restrictions[sid][k];
        if (r->index < n && e[r->index].n && !codes_contain(r->allowed, e[r->index]))
            return DECLINE;
    }
    if (sid == spec->closer) b->depth--;
    return OK;
}

/* One more segment of an open loop: appended and counted; the root loop's first
 * segment and first BHT are noted for the closing checks. Returns the new count. */
static int add_segment(Builder *b, Frame *frame, int sid, const Span *e, int n, int segment) {
    add_to_node(b, frame->node, segment);
    if (frame == &b->stack[0]) {
        if (b->root_first < 0) b->root_first = sid;
        if (sid == sid_bht && !b->has_bht) {
            b->has_bht = 1;
            b->bht_purpose = n > 2 ? e[2] : (Span){NULL, 0};
        }
    }
    return ++frame->counts[sid];
}

/* _place: the open loop (innermost first) the segment continues, repeats or opens a
 * child of; a segment that fits none is misplaced, which is declined. */
static int place(Builder *b, int sid, const Span *e, int n, int segment) {
    for (int depth = b->depth; depth > 0; depth--) {
        Frame *frame = &b->stack[depth - 1];
        const LoopRule *spec = &loops[frame->rule];
        if (sid == spec->trigger && depth > 1 && trigger_fits(spec, e, n) && !spec->is_header) {
            b->depth = depth - 1;
            return open_loop(b, frame->rule, &b->stack[b->depth - 1], segment, -1);
        }
        for (int k = 0; k < spec->ntriggers[sid]; k++) {
            int child = spec->triggers[sid][k];
            if (trigger_fits(&loops[child], e, n)) {
                b->depth = depth;
                return open_loop(b, child, frame, segment, -1);
            }
        }
        if (spec->seg_max[sid]) {
            b->depth = depth;
            int used = add_segment(b, frame, sid, e, n, segment);
            return after_append(b, sid, e, n, used);
        }
    }
    return DECLINE;
}

/* _place_hl, clean case only: a known level under an allowed parent, numbered in order */
static int place_level(Builder *b, const Span *e, int n, int segment) {
    Span empty = {NULL, 0};
    Span hl_id = n > 1 ? e[1] : empty, parent_id = n > 2 ? e[2] : empty;
    Span level = n > 3 ? e[3] : empty, flag = n > 4 ? e[4] : empty;
    const GrammarRule *g = b->grammar;
    const Placement *placement = NULL;
    for (int k = 0; k < g->nplacements; k++)
        if (spans_equal(g->placements[k].level, level)) placement = &g->placements[k];
    if (placement == NULL || !is_decimal_of(hl_id, b->nlevels + 1)) return DECLINE;
    int parent = -1;
    Span parent_level = empty;
    if (parent_id.n) {
        /* HL01 values are 1, 2, ... (checked above), so a parent names its entry by
         * number; "01" names none, as in the parser's dictionary. */
        if (parent_id.p[0] == '0' || parent_id.n > 9 || !all_digits(parent_id.p, parent_id.n))
            return DECLINE;
        long number = 0;
        for (Py_ssize_t k = 0; k < parent_id.n; k++) number = number * 10 + (parent_id.p[k] - '0');
        if (number > b->nlevels) return DECLINE;
        parent = (int)number - 1;
        parent_level = b->levels[parent].level;
    }
    if (!codes_contain(&placement->parents, parent_level)) return DECLINE;
    LevelEntry *entry =
        grown((void **)&b->levels, &b->nlevels, &b->level_capacity, sizeof *entry);
    if (entry == NULL) return FAIL;
    int index = b->nlevels - 1;
    memset(entry, 0, sizeof *entry);
    entry->level = level;
    entry->flag = flag;
    entry->rule = placement->loop;
    Frame parent_frame = b->stack[0]; /* the root, unless HL02 names a level */
    if (parent >= 0) {
        LevelEntry *owner = &b->levels[parent];
        owner->has_child_level = 1;
        parent_frame.node = owner->node;
        parent_frame.child_loops = &owner->child_loops;
    }
    b->depth = 1;
    return open_loop(b, placement->loop, &parent_frame, segment, index);
}

/* _check_loop: the required segments and child loops a header or HL loop holds */
static int loop_complete(int rule, const int *counts, int first_sid, uint64_t child_loops) {
    const LoopRule *spec = &loops[rule];
    for (int k = 0; k < spec->nrequired; k++) {
        const Requirement *need = &spec->required[k];
        if (need->is_loop) {
            if (need->loop_id < 0 || !(child_loops & ((uint64_t)1 << need->loop_id))) return 0;
        } else if (need->sid < 0 || !(counts[need->sid] || first_sid == need->sid)) {
            return 0;
        }
    }
    return 1;
}

/* _check_required and _check_response_only, finding nothing */
static int set_complete(Builder *b) {
    const GrammarRule *g = b->grammar;
    int response = b->has_bht && spans_equal(b->bht_purpose, g->response_purpose);
    if (g->purposes.count) {
        if (b->has_bht && !codes_contain(&g->purposes, b->bht_purpose)) return 0;
        int required = b->has_bht && response ? g->nresponse_levels : g->nrequired_levels;
        for (int k = 0; k < required; k++) {
            int seen = 0;
            for (int i = 0; i < b->nlevels && !seen; i++)
                seen = spans_equal(b->levels[i].level, g->required_levels[k]);
            if (!seen) return 0;
        }
    } else if (g->nrequired_levels) {
        return 0; /* the tables never pair required levels with no BHT; not mirrored */
    }
    if (!loop_complete(g->header, b->root_counts, b->root_first, b->root_loops)) return 0;
    for (int i = 0; i < b->nlevels; i++) {
        LevelEntry *entry = &b->levels[i];
        if (!loop_complete(entry->rule, entry->counts, sid_hl, entry->child_loops)) return 0;
        if (entry->flag.n && span_eq(entry->flag, "1") != entry->has_child_level) return 0;
    }
    if (b->has_response_only && b->has_bht && !response) return 0;
    return 1;
}

/* ---- tokenizing ---------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t count, capacity;
    Span *items;
} Segments;

/* A segment's elements as spans; -1 past MAX_ELEMENTS. Elements are a few bytes long, so
 * a plain loop beats a call to memchr per element. */
static int split_elements(Span segment, Py_UCS1 separator, Span *out) {
    int n = 0;
    const Py_UCS1 *p = segment.p, *end = segment.p + segment.n, *at = p;
    for (;; at++) {
        if (at == end || *at == separator) {
            if (n == MAX_ELEMENTS) return -1;
            out[n++] = (Span){p, at - p};
            if (at == end) return n;
            p = at + 1;
        }
    }
}

/* ---- the envelope: parser._read_interchanges, _read_groups, _read_transactions ------ */

typedef struct {
    const Segments *segments;
    Py_ssize_t at;
    Py_UCS1 element, component, terminator;
    int repetition; /* -1: none */
    PyObject *delimiters;
    Span isa13;
} Reader;

static int isa_ok(const Span *h) {
    /* parser._check_isa, clean case */
    if (!span_eq(h[12], "00501")) return 0;
    if (h[9].n != 6 || !all_digits(h[9].p, 6)) return 0;
    Py_UCS1 date[8] = {'2', '0'};
    memcpy(date + 2, h[9].p, 6);
    if (!valid_date((Span){date, 8})) return 0;
    if (h[13].n != 9 || !all_digits(h[13].p, 9)) return 0;
    return span_eq(h[15], "P") || span_eq(h[15], "T");
}

static const GrammarRule *grammar_for(Span set_id) {
    for (int k = 0; k < ngrammars; k++)
        if (spans_equal(grammars[k].set_id, set_id)) return &grammars[k];
    return NULL;
}

/* Whether a segment's id is one of parser._SET_ENDS: SE, ST, GE, GS, IEA, ISA */
static int is_set_end(Span segment, Py_UCS1 element) {
    const Py_UCS1 *p = segment.p;
    Py_ssize_t n = segment.n;
    if (n >= 2 && (n == 2 || p[2] == element))
        return (p[0] == 'S' && (p[1] == 'E' || p[1] == 'T')) ||
               (p[0] == 'G' && (p[1] == 'E' || p[1] == 'S'));
    return n >= 3 && (n == 3 || p[3] == element) && p[0] == 'I' &&
           ((p[1] == 'E' && p[2] == 'A') || (p[1] == 'S' && p[2] == 'A'));
}

/* The ST02 values of a group (the parser's set): open addressing over spans, an empty
 * slot having no bytes. A quadratic comparison of every pair cost a fifth of the reader's
 * own time at 200 sets a group. */
typedef struct {
    Py_ssize_t mask; /* capacity - 1, capacity a power of two */
    Span *slots;
} ControlSet;

/* Adds ``value`` (never empty: ST02 is required); 0 when it is there already. */
static int controls_add(ControlSet *set, Span value) {
    uint64_t hash = 14695981039346656037ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < value.n; i++) hash = (hash ^ value.p[i]) * 1099511628211ULL;
    for (Py_ssize_t at = (Py_ssize_t)(hash & (uint64_t)set->mask);; at = (at + 1) & set->mask) {
        Span *slot = &set->slots[at];
        if (slot->n == 0) { *slot = value; return 1; }
        if (spans_equal(*slot, value)) return 0;
    }
}

/* _LoopBuilder.build: the segments between ST (at ``start``) and SE (at ``end``) placed in
 * the builder's loops, each checked; DECLINE at the first thing the parser would report. */
static int build_set(Reader *r, Builder *b, const GrammarRule *g, Py_ssize_t start,
                     Py_ssize_t end) {
    Span e[MAX_ELEMENTS];
    PyObject *codes[MAX_ELEMENTS];
    const Segments *segs = r->segments;
    b->grammar = g;
    b->hierarchical = g->nplacements > 0;
    b->depth = 1;
    b->nlevels = 0;
    b->root_first = -1;
    b->has_bht = 0;
    b->has_response_only = 0;
    b->root_loops = 0;
    memset(b->root_counts, 0, sizeof b->root_counts);
    Frame *top = &b->stack[0];
    top->rule = g->header;
    top->hl = -1;
    top->counts = b->root_counts;
    top->child_loops = &b->root_loops;
    if ((top->node = new_node(b, loops[g->header].loop_id, -1, -1)) < 0) return FAIL;

    for (Py_ssize_t i = start + 1; i < end; i++) {
        int n = split_elements(segs->items[i], r->element, e);
        int sid = n < 0 ? -1 : sid_of(e[0]);
        if (sid < 0 || !segment_ok(sid, e, n, r->component, r->repetition, codes))
            return DECLINE;
        for (int k = 0; k < g->nresponse_only; k++)
            b->has_response_only |= sid == g->response_only[k];
        PyObject *made = new_segment(sid, e, n, codes, i - start + 1);
        int segment = made == NULL ? -1 : keep_segment(b, made);
        if (segment < 0) return FAIL;
        Frame *frame = &b->stack[b->depth - 1];
        const LoopRule *spec = &loops[frame->rule];
        int status;
        if (spec->member_limit[sid] >= 0) {
            int used = add_segment(b, frame, sid, e, n, segment);
            status = used <= spec->member_limit[sid] ? OK : after_append(b, sid, e, n, used);
        } else {
            int child = -1;
            const OpenTable *table = spec->opens[sid];
            if (table != NULL && sid != spec->trigger) {
                Py_ssize_t at = n > 1 ? codes_index(&table->qualifiers, e[1]) : -1;
                child = at >= 0 ? table->child[at] : table->fallback;
            } else if (sid == spec->trigger && b->depth > 1 && !spec->is_header &&
                       !(sid == sid_hl && b->hierarchical) && trigger_fits(spec, e, n)) {
                child = frame->rule; /* the loop again: a sibling */
                b->depth--;
            }
            if (child >= 0)
                status = open_loop(b, child, &b->stack[b->depth - 1], segment, -1);
            else if (sid == sid_hl && b->hierarchical)
                status = place_level(b, e, n, segment);
            else
                status = place(b, sid, e, n, segment);
        }
        if (status != OK) return status;
    }
    return OK;
}

/* parse_transaction for one ST..SE set starting at ``r->at`` */
static int read_set(Reader *r, Builder *b, const Span *gs, int ngs, PyObject *transactions,
                    ControlSet *controls) {
    Span st[MAX_ELEMENTS], e[MAX_ELEMENTS];
    const Segments *segs = r->segments;
    int nst = split_elements(segs->items[r->at], r->element, st);
    int sid_st = sid_of(st[0]);
    if (nst < 0 || sid_st < 0 ||
        !segment_ok(sid_st, st, nst, r->component, r->repetition, NULL))
        return DECLINE;
    Span set_id = st[1], control = st[2], convention = nst > 3 ? st[3] : (Span){NULL, 0};
    const GrammarRule *g = grammar_for(set_id);
    if (g == NULL || !spans_equal(convention, g->convention)) return DECLINE;
    if (!controls_add(controls, control)) return DECLINE; /* ST02 not unique */
    /* _check_group_fit */
    if (!spans_equal(gs[1], g->functional_id)) return DECLINE;
    if (ngs > 8 && gs[8].n && !spans_equal(gs[8], convention)) return DECLINE;
    /* the body: up to SE, or an envelope segment that leaves it unclosed */
    Py_ssize_t start = r->at, end = start + 1;
    while (end < segs->count && !is_set_end(segs->items[end], r->element)) end++;
    if (end == segs->count) return DECLINE;
    int nse = split_elements(segs->items[end], r->element, e);
    if (nse < 0 || !span_eq(e[0], "SE")) return DECLINE;
    Py_ssize_t body = end - start + 1;
    if (nse < 3 || !is_decimal_of(e[1], body) || !spans_equal(e[2], control)) return DECLINE;

    PyObject *set_str = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, set_id.p, set_id.n);
    PyObject *control_str = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, control.p, control.n);
    PyObject *convention_str =
        PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, convention.p, convention.n);
    PyObject *transaction = NULL;
    if (set_str && control_str && convention_str) {
        PyObject *args[4] = {set_str, control_str, convention_str, r->delimiters};
        transaction = PyObject_Vectorcall(t_transaction, args, 4, NULL);
    }
    Py_XDECREF(set_str);
    Py_XDECREF(control_str);
    Py_XDECREF(convention_str);
    if (transaction == NULL) return FAIL;
    int status = PyList_Append(transactions, transaction);
    Py_DECREF(transaction);
    if (status < 0) return FAIL;
    PyObject *count = PyLong_FromSsize_t(body);
    if (count == NULL) return FAIL;
    status = PyObject_SetAttr(transaction, s_segment_count, count);
    Py_DECREF(count);
    if (status < 0) return FAIL;
    status = build_set(r, b, g, start, end);
    if (status == OK && !set_complete(b)) status = DECLINE;
    if (status == OK) {
        PyObject *root = finished_tree(b);
        status = root == NULL || PyObject_SetAttr(transaction, s_root, root) < 0 ? FAIL : OK;
        Py_XDECREF(root);
    }
    release_set(b);
    if (status == OK) r->at = end + 1;
    return status;
}

static int read_group(Reader *r, Builder *b, PyObject *groups) {
    Span gs[MAX_ELEMENTS], e[MAX_ELEMENTS];
    const Segments *segs = r->segments;
    int ngs = split_elements(segs->items[r->at], r->element, gs);
    if (ngs < 2 || !codes_contain(&functional_ids, gs[1])) return DECLINE;
    PyObject *header = plain_list(gs, ngs);
    if (header == NULL) return FAIL;
    PyObject *group = PyObject_CallOneArg(t_group, header);
    Py_DECREF(header);
    if (group == NULL) return FAIL;
    int status = PyList_Append(groups, group);
    Py_DECREF(group);
    if (status < 0) return FAIL;
    PyObject *transactions = borrowed_attr(group, s_transactions);
    if (transactions == NULL) return FAIL;
    /* a group holds fewer sets than half its segments: the set stays under half full */
    ControlSet controls = {1, NULL};
    while (controls.mask < segs->count) controls.mask = controls.mask * 2 + 1;
    controls.slots = PyMem_Calloc((size_t)controls.mask + 1, sizeof(Span));
    if (controls.slots == NULL) { PyErr_NoMemory(); return FAIL; }
    Py_ssize_t sets = 0;
    r->at++;
    status = DECLINE;
    while (r->at < segs->count) {
        int n = split_elements(segs->items[r->at], r->element, e);
        if (n < 0) break;
        if (span_eq(e[0], "ST")) {
            status = read_set(r, b, gs, ngs, transactions, &controls);
            if (status != OK) break;
            sets++;
            status = DECLINE;
            continue;
        }
        if (span_eq(e[0], "GE")) {
            Span control = ngs > 6 ? gs[6] : (Span){NULL, 0};
            if (n > 2 && spans_equal(e[2], control) && is_decimal_of(e[1], sets)) {
                r->at++;
                status = OK;
            }
        }
        break; /* GE read, or anything else: a problem the parser reports */
    }
    PyMem_Free(controls.slots);
    return status;
}

static PyObject *read_document(Reader *r, PyObject *header) {
    const Segments *segs = r->segments;
    Span e[MAX_ELEMENTS];
    Builder *b = PyMem_Calloc(1, sizeof(Builder));
    if (b == NULL) return PyErr_NoMemory();
    b->component = r->component;
    b->repetition = r->repetition;
    PyObject *document = PyObject_CallNoArgs(t_document);
    PyObject *interchange = NULL;
    int status = FAIL;
    if (document == NULL) goto done;
    PyObject *args[2] = {header, r->delimiters};
    interchange = PyObject_Vectorcall(t_interchange, args, 2, NULL);
    if (interchange == NULL) goto done;
    PyObject *interchanges = borrowed_attr(document, s_interchanges);
    if (interchanges == NULL || PyList_Append(interchanges, interchange) < 0) goto done;
    PyObject *groups = borrowed_attr(interchange, s_groups);
    if (groups == NULL) goto done;
    Py_ssize_t ngroups = 0;
    r->at = 1;
    status = DECLINE;
    while (r->at < segs->count) {
        int n = split_elements(segs->items[r->at], r->element, e);
        if (n < 0) break;
        if (span_eq(e[0], "GS")) {
            status = read_group(r, b, groups);
            if (status != OK) break;
            ngroups++;
            status = DECLINE;
            continue;
        }
        /* IEA01 counts the groups, IEA02 repeats ISA13, and nothing follows */
        if (span_eq(e[0], "IEA") && n > 2 && is_decimal_of(e[1], ngroups) &&
            spans_equal(e[2], r->isa13) && r->at + 1 == segs->count)
            status = OK;
        break; /* IEA read, or anything else: a problem the parser reports */
    }
done:
    PyMem_Free(b->levels);
    PyMem_Free(b->nodes);
    PyMem_Free(b->placed);
    PyMem_Free(b);
    Py_XDECREF(interchange);
    if (status == OK) return document;
    Py_XDECREF(document);
    if (status == FAIL) return NULL;
    Py_RETURN_NONE;
}

/* Whether a word of eight text bytes holds one below 0x20, a 0x7F or a space: only such a
 * word needs the byte-by-byte look of ``byte_allowed``. Each test is exact about presence
 * (a borrow can only spill into bytes above one that matched). */
static inline int worth_a_look(uint64_t word) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t del = word ^ ones * 0x7F, space = word ^ ones * 0x20;
    return ((((word - ones * 0x20) & ~word) | ((del - ones) & ~del) | ((space - ones) & ~space)) &
            highs) != 0;
}

/* _holds_any for byte ``i``: a control character other than a delimiter or a line break is
 * reported by the parser (0); a line break, or a space after a terminator, switches on
 * stripping. */
static inline int byte_allowed(const Reader *r, const Py_UCS1 *data, Py_ssize_t i, int *strip) {
    Py_UCS1 c = data[i];
    if (c < 0x20 || c == 0x7F) {
        if (c == '\r' || c == '\n' || c == '\t') *strip = 1;
        else if (c != r->element && c != r->terminator && c != r->component &&
                 (r->repetition < 0 || c != r->repetition))
            return 0;
    } else if (c == ' ' && i && data[i - 1] == r->terminator) {
        *strip = 1;
    }
    return 1;
}

static int one_char(PyObject *value, Py_UCS1 *out) {
    if (!PyUnicode_Check(value) || PyUnicode_GET_LENGTH(value) != 1) return 0;
    Py_UCS4 c = PyUnicode_READ_CHAR(value, 0);
    if (c > 0xFF) return 0;
    *out = (Py_UCS1)c;
    return 1;
}

static PyObject *native_read(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "read(text: str, delimiters: Delimiters)");
        return NULL;
    }
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    PyObject *text = args[0];
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) Py_RETURN_NONE;
    Reader r = {.delimiters = args[1], .repetition = -1};
    PyObject *values[4] = {NULL, NULL, NULL, NULL};
    PyObject *names[4] = {s_element, s_component, s_repetition, s_segment};
    int fits = 1;
    for (int k = 0; k < 4; k++) {
        if ((values[k] = PyObject_GetAttr(args[1], names[k])) == NULL) fits = -1;
        else if (fits > 0 && !PyUnicode_Check(values[k])) fits = 0;
    }
    Py_UCS1 repetition = 0;
    if (fits > 0)
        fits = one_char(values[0], &r.element) && one_char(values[1], &r.component) &&
               one_char(values[3], &r.terminator) &&
               (PyUnicode_GET_LENGTH(values[2]) == 0 || one_char(values[2], &repetition));
    if (fits > 0 && PyUnicode_GET_LENGTH(values[2])) r.repetition = repetition;
    for (int k = 0; k < 4; k++) Py_XDECREF(values[k]);
    if (fits < 0) return NULL;
    if (!fits) Py_RETURN_NONE;

    const Py_UCS1 *data = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    /* _holds_any, a word at a time */
    int strip = 0;
    Py_ssize_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t word;
        memcpy(&word, data + i, 8);
        if (!worth_a_look(word)) continue;
        for (Py_ssize_t k = i; k < i + 8; k++)
            if (!byte_allowed(&r, data, k, &strip)) Py_RETURN_NONE;
    }
    for (; i < size; i++)
        if (!byte_allowed(&r, data, i, &strip)) Py_RETURN_NONE;
    /* _parse: split on the terminator, strip (if needed), drop empty segments */
    Segments segs = {0, 0, NULL};
    const Py_UCS1 *p = data, *end = data + size;
    while (p <= end) {
        const Py_UCS1 *stop = memchr(p, r.terminator, (size_t)(end - p));
        const Py_UCS1 *a = p, *z = stop ? stop : end;
        if (strip) {
            /* the parser strips " \t\r\n" except a character that is a delimiter */
#define STRIPPED(c) (((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n') && \
                     (c) != r.element && (c) != r.terminator)
            while (a < z && STRIPPED(*a)) a++;
            while (z > a && STRIPPED(z[-1])) z--;
#undef STRIPPED
        }
        if (z > a) {
            if (segs.count == segs.capacity) {
                Py_ssize_t capacity = segs.capacity ? segs.capacity * 2 : 256;
                Span *grown = PyMem_Realloc(segs.items, sizeof(Span) * (size_t)capacity);
                if (grown == NULL) { PyMem_Free(segs.items); return PyErr_NoMemory(); }
                segs.items = grown;
                segs.capacity = capacity;
            }
            segs.items[segs.count++] = (Span){a, z - a};
        }
        if (!stop) break;
        p = stop + 1;
    }
    PyObject *result = NULL;
    Span isa[MAX_ELEMENTS];
    int nisa = segs.count ? split_elements(segs.items[0], r.element, isa) : 0;
    /* one interchange whose ISA is exactly 105 characters and 16 elements long */
    if (nisa == 17 && segs.items[0].n == 105 && span_eq(isa[0], "ISA") && isa_ok(isa)) {
        PyObject *header = plain_list(isa, nisa);
        if (header != NULL) {
            r.segments = &segs;
            r.isa13 = isa[13];
            result = read_document(&r, header);
            Py_DECREF(header);
        }
    } else {
        result = Py_NewRef(Py_None);
    }
    PyMem_Free(segs.items);
    return result;
}

/* ---- configure: the tables from native.py ------------------------------------------ */

static int keep(PyObject *value) { return PyList_Append(keep_alive, value); }

static int to_span(PyObject *value, Span *out) {
    if (!PyUnicode_Check(value) || !PyUnicode_IS_ASCII(value)) {
        PyErr_SetString(PyExc_ValueError, "table strings must be ASCII str");
        return -1;
    }
    if (keep(value) < 0) return -1;
    out->p = PyUnicode_1BYTE_DATA(value);
    out->n = PyUnicode_GET_LENGTH(value);
    return 0;
}

/* A table code as its key (span_key). */
static int to_key(PyObject *value, uint64_t *out) {
    Span code;
    if (to_span(value, &code) < 0) return -1;
    if (code.n > KEY_BYTES) {
        PyErr_Format(PyExc_ValueError, "code %R is longer than %d bytes", value, KEY_BYTES);
        return -1;
    }
    *out = span_key(code);
    return 0;
}

/* Fills ``set`` with ``count`` codes by their keys; the first of equal keys keeps its index. */
static int index_codes(CodeSet *set, const uint64_t *keys, Py_ssize_t count) {
    int bits = 1;
    while (((Py_ssize_t)1 << bits) < 2 * count) bits++;
    set->count = count;
    set->shift = 64 - bits;
    set->mask = ((uint64_t)1 << bits) - 1;
    set->slots = PyMem_Malloc(sizeof(CodeSlot) << bits);
    if (set->slots == NULL) { PyErr_NoMemory(); return -1; }
    for (uint64_t at = 0; at <= set->mask; at++) set->slots[at] = (CodeSlot){EMPTY_KEY, -1};
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t at = first_slot(set, keys[i]);
        while (set->slots[at].key != EMPTY_KEY && set->slots[at].key != keys[i])
            at = (at + 1) & set->mask;
        if (set->slots[at].key == EMPTY_KEY) set->slots[at] = (CodeSlot){keys[i], i};
    }
    return 0;
}

/* A CodeSet from an iterable of exact str, each kept as the value of its index. */
static int to_codes(PyObject *iterable, CodeSet *out) {
    PyObject *items = PySequence_Tuple(iterable);
    if (items == NULL) return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(items);
    uint64_t *keys = PyMem_Calloc((size_t)(n ? n : 1), sizeof(uint64_t));
    out->values = PyMem_Calloc((size_t)(n ? n : 1), sizeof(PyObject *));
    int status = keys && out->values ? 0 : (PyErr_NoMemory(), -1);
    for (Py_ssize_t i = 0; status == 0 && i < n; i++) {
        out->values[i] = PyTuple_GET_ITEM(items, i);
        status = to_key(out->values[i], &keys[i]);
        if (status == 0 && !PyUnicode_CheckExact(out->values[i])) {
            PyErr_SetString(PyExc_ValueError, "table codes must be exact str");
            status = -1;
        }
    }
    Py_DECREF(items);
    if (status == 0) status = index_codes(out, keys, n);
    PyMem_Free(keys);
    return status;
}

static CodeSet *new_codes(PyObject *iterable) {
    CodeSet *set = PyMem_Calloc(1, sizeof(CodeSet));
    if (set == NULL) { PyErr_NoMemory(); return NULL; }
    return to_codes(iterable, set) < 0 ? NULL : set;
}

/* A tuple of non-negative ints as a new array (one spare slot, so never empty). */
static int to_ints(PyObject *tuple, int **out, int *count) {
    Py_ssize_t n = PyTuple_Size(tuple);
    if (n < 0) return -1;
    *count = (int)n;
    if ((*out = PyMem_Calloc((size_t)n + 1, sizeof(int))) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        if (((*out)[k] = (int)PyLong_AsLong(PyTuple_GET_ITEM(tuple, k))) < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "negative table index");
            return -1;
        }
    return 0;
}

static int to_element(PyObject *t, ElementRule *out) {
    PyObject *codes, *components;
    if (!PyArg_ParseTuple(t, "iiipOiO", &out->kind, &out->lo, &out->hi, &out->required,
                          &codes, &out->repeat, &components))
        return -1;
    out->codes = NULL;
    if (codes != Py_None && (out->codes = new_codes(codes)) == NULL) return -1;
    Py_ssize_t n = PyTuple_Size(components);
    if (n < 0) return -1;
    out->ncomponents = (int)n;
    out->components = PyMem_Calloc((size_t)(n ? n : 1), sizeof(ElementRule));
    if (out->components == NULL) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < n; i++)
        if (to_element(PyTuple_GET_ITEM(components, i), &out->components[i]) < 0) return -1;
    return 0;
}

static int to_segment_rule(PyObject *t) {
    int sid;
    PyObject *elements, *paired, *conditional;
    if (!PyArg_ParseTuple(t, "iO!O!O!", &sid, &PyTuple_Type, &elements, &PyTuple_Type, &paired,
                          &PyTuple_Type, &conditional))
        return -1;
    SegmentRule *rule = PyMem_Calloc(1, sizeof(SegmentRule));
    if (rule == NULL) { PyErr_NoMemory(); return -1; }
    sid_rule[sid] = rule;
    rule->nelements = (int)PyTuple_GET_SIZE(elements);
    rule->elements = PyMem_Calloc((size_t)rule->nelements + 1, sizeof(ElementRule));
    rule->npaired = (int)PyTuple_GET_SIZE(paired);
    rule->paired = PyMem_Calloc((size_t)rule->npaired + 1, sizeof(int *));
    rule->paired_len = PyMem_Calloc((size_t)rule->npaired + 1, sizeof(int));
    rule->nconditional = (int)PyTuple_GET_SIZE(conditional);
    rule->conditional = PyMem_Calloc((size_t)rule->nconditional + 1, sizeof(int[2]));
    if (!rule->elements || !rule->paired || !rule->paired_len || !rule->conditional) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < rule->nelements; i++)
        if (to_element(PyTuple_GET_ITEM(elements, i), &rule->elements[i]) < 0) return -1;
    for (int g = 0; g < rule->npaired; g++)
        if (to_ints(PyTuple_GET_ITEM(paired, g), &rule->paired[g], &rule->paired_len[g]) < 0)
            return -1;
    for (int c = 0; c < rule->nconditional; c++)
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(conditional, c), "ii", &rule->conditional[c][0],
                              &rule->conditional[c][1]))
            return -1;
    return 0;
}

static int to_loop_rule(PyObject *t, LoopRule *rule) {
    PyObject *loop_id, *qualifiers, *segments, *members, *opens, *triggers, *restrictions,
        *required;
    if (!PyArg_ParseTuple(t, "UipiOO!O!O!O!O!iO!", &loop_id, &rule->loop_id_number,
                          &rule->is_header, &rule->trigger, &qualifiers, &PyTuple_Type,
                          &segments, &PyTuple_Type, &members, &PyTuple_Type, &opens,
                          &PyTuple_Type, &triggers, &PyTuple_Type, &restrictions,
                          &rule->closer, &PyTuple_Type, &required))
        return -1;
    if (rule->loop_id_number >= MAX_LOOP_IDS) {
        PyErr_SetString(PyExc_ValueError, "too many loop ids for the child masks");
        return -1;
    }
    if (keep(loop_id) < 0) return -1;
    rule->loop_id = loop_id;
    rule->qualifiers = NULL;
    if (qualifiers != Py_None && (rule->qualifiers = new_codes(qualifiers)) == NULL) return -1;
    for (int s = 0; s < MAX_SIDS; s++) rule->member_limit[s] = -1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(segments); i++) {
        int sid, most;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(segments, i), "ii", &sid, &most)) return -1;
        rule->seg_max[sid] = most;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(members); i++) {
        int sid, limit;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(members, i), "ii", &sid, &limit)) return -1;
        rule->member_limit[sid] = limit;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(opens); i++) {
        int sid, fallback;
        PyObject *table;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(opens, i), "iO!i", &sid, &PyTuple_Type, &table,
                              &fallback))
            return -1;
        OpenTable *open = PyMem_Calloc(1, sizeof(OpenTable));
        if (open == NULL) { PyErr_NoMemory(); return -1; }
        rule->opens[sid] = open;
        open->fallback = fallback;
        /* (qualifier, child) pairs: the child at the qualifier's index */
        Py_ssize_t n = PyTuple_GET_SIZE(table);
        uint64_t *keys = PyMem_Calloc((size_t)n + 1, sizeof(uint64_t));
        open->child = PyMem_Calloc((size_t)n + 1, sizeof(int));
        int status = keys && open->child ? 0 : (PyErr_NoMemory(), -1);
        for (Py_ssize_t k = 0; status == 0 && k < n; k++) {
            PyObject *qualifier;
            status = PyArg_ParseTuple(PyTuple_GET_ITEM(table, k), "Ui", &qualifier,
                                      &open->child[k])
                         ? to_key(qualifier, &keys[k]) : -1;
        }
        if (status == 0) status = index_codes(&open->qualifiers, keys, n);
        PyMem_Free(keys);
        if (status < 0) return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(triggers); i++) {
        int sid;
        PyObject *children;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(triggers, i), "iO!", &sid, &PyTuple_Type,
                              &children))
            return -1;
        if (to_ints(children, &rule->triggers[sid], &rule->ntriggers[sid]) < 0) return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(restrictions); i++) {
        int sid;
        PyObject *pairs;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(restrictions, i), "iO!", &sid, &PyTuple_Type,
                              &pairs))
            return -1;
        Py_ssize_t n = PyTuple_GET_SIZE(pairs);
        rule->nrestrictions[sid] = (int)n;
        rule->restrictions[sid] = PyMem_Calloc((size_t)n + 1, sizeof(Restriction));
        if (rule->restrictions[sid] == NULL) { PyErr_NoMemory(); return -1; }
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *allowed;
            Restriction *r = &rule->restrictions[sid][k];
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(pairs, k), "iO", &r->index, &allowed))
                return -1;
            if ((r->allowed = new_codes(allowed)) == NULL) return -1;
        }
    }
    Py_ssize_t n = PyTuple_GET_SIZE(required);
    rule->nrequired = (int)n;
    rule->required = PyMem_Calloc((size_t)n + 1, sizeof(Requirement));
    if (rule->required == NULL) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t k = 0; k < n; k++) {
        Requirement *need = &rule->required[k];
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(required, k), "pii", &need->is_loop, &need->sid,
                              &need->loop_id))
            return -1;
    }
    return 0;
}

static int to_grammar(PyObject *t, GrammarRule *g) {
    PyObject *set_id, *convention, *functional_id, *placements, *required_levels, *purposes,
        *response_only, *response_purpose;
    if (!PyArg_ParseTuple(t, "UUUiO!O!iOO!U", &set_id, &convention, &functional_id, &g->header,
                          &PyTuple_Type, &placements, &PyTuple_Type, &required_levels,
                          &g->nresponse_levels, &purposes, &PyTuple_Type, &response_only,
                          &response_purpose))
        return -1;
    if (to_span(set_id, &g->set_id) < 0 || to_span(convention, &g->convention) < 0 ||
        to_span(functional_id, &g->functional_id) < 0 ||
        to_span(response_purpose, &g->response_purpose) < 0 ||
        to_codes(purposes, &g->purposes) < 0)
        return -1;
    g->nplacements = (int)PyTuple_GET_SIZE(placements);
    g->placements = PyMem_Calloc((size_t)g->nplacements + 1, sizeof(Placement));
    g->nrequired_levels = (int)PyTuple_GET_SIZE(required_levels);
    g->required_levels = PyMem_Calloc((size_t)g->nrequired_levels + 1, sizeof(Span));
    g->nresponse_only = (int)PyTuple_GET_SIZE(response_only);
    if (!g->placements || !g->required_levels || g->nresponse_only > 4) {
        PyErr_SetString(PyExc_ValueError, "grammar table too large");
        return -1;
    }
    for (int k = 0; k < g->nplacements; k++) {
        Placement *p = &g->placements[k];
        PyObject *level, *parents;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(placements, k), "UiO", &level, &p->loop, &parents))
            return -1;
        if (to_span(level, &p->level) < 0 || to_codes(parents, &p->parents) < 0) return -1;
    }
    for (int k = 0; k < g->nrequired_levels; k++)
        if (to_span(PyTuple_GET_ITEM(required_levels, k), &g->required_levels[k]) < 0) return -1;
    for (int k = 0; k < g->nresponse_only; k++)
        if ((g->response_only[k] = PyLong_AsLong(PyTuple_GET_ITEM(response_only, k))) < 0)
            return -1;
    return 0;
}

static PyObject *native_configure(PyObject *module, PyObject *args) {
    PyObject *sids, *segment_rules, *loop_rules, *grammar_rules, *functional, *types;
    if (configured) {
        PyErr_SetString(PyExc_RuntimeError, "configure() may be called once");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!O!O!O!OO!", &PyTuple_Type, &sids, &PyTuple_Type,
                          &segment_rules, &PyTuple_Type, &loop_rules, &PyTuple_Type,
                          &grammar_rules, &functional, &PyTuple_Type, &types))
        return NULL;
    if (!PyArg_ParseTuple(types, "OOOOOO", &t_document, &t_interchange, &t_group, &t_transaction,
                          &t_loop, &t_segment))
        return NULL;
    if ((keep_alive = PyList_New(0)) == NULL || keep(types) < 0) return NULL;
    nsids = (int)PyTuple_GET_SIZE(sids);
    if (nsids > MAX_SIDS) {
        PyErr_SetString(PyExc_ValueError, "too many segment ids");
        return NULL;
    }
    for (int s = 0; s < nsids; s++) {
        PyObject *sid = PyTuple_GET_ITEM(sids, s);
        Span span;
        if (to_span(sid, &span) < 0) return NULL;
        int code = sid_code(span);
        if (code < 0) {
            PyErr_Format(PyExc_ValueError, "segment id %R is not 2-3 letters or digits", sid);
            return NULL;
        }
        sid_of_code[code] = (int16_t)(s + 1);
        Py_INCREF(sid);
        PyUnicode_InternInPlace(&sid);
        sid_str[s] = sid;
        if (span_eq(span, "DTP")) sid_dtp = s;
        if (span_eq(span, "DMG")) sid_dmg = s;
        if (span_eq(span, "HL")) sid_hl = s;
        if (span_eq(span, "BHT")) sid_bht = s;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(segment_rules); i++)
        if (to_segment_rule(PyTuple_GET_ITEM(segment_rules, i)) < 0) return NULL;
    nloops = (int)PyTuple_GET_SIZE(loop_rules);
    if ((loops = PyMem_Calloc((size_t)nloops + 1, sizeof(LoopRule))) == NULL)
        return PyErr_NoMemory();
    for (int i = 0; i < nloops; i++)
        if (to_loop_rule(PyTuple_GET_ITEM(loop_rules, i), &loops[i]) < 0) return NULL;
    ngrammars = (int)PyTuple_GET_SIZE(grammar_rules);
    if ((grammars = PyMem_Calloc((size_t)ngrammars + 1, sizeof(GrammarRule))) == NULL)
        return PyErr_NoMemory();
    for (int i = 0; i < ngrammars; i++)
        if (to_grammar(PyTuple_GET_ITEM(grammar_rules, i), &grammars[i]) < 0) return NULL;
    if (to_codes(functional, &functional_ids) < 0) return NULL;
    configured = 1;
    Py_RETURN_NONE;
}

/* record(View, *fields): what ``tuple.__new__(View, fields)`` makes of a tuple subclass
 * (the typed views are NamedTuples), without building the ``fields`` tuple first.
 * Records stay tracked by the GC: testing every field to untrack them costs more than
 * the collections they would save (measured with the bench's inputs). */
static PyObject *native_record(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 1 || !PyType_Check(args[0]) ||
        !PyType_IsSubtype((PyTypeObject *)args[0], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "record(View, *fields): View must subclass tuple");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)args[0];
    PyObject *record = type->tp_alloc(type, nargs - 1);
    if (record == NULL) return NULL;
    for (Py_ssize_t i = 1; i < nargs; i++) PyTuple_SET_ITEM(record, i - 1, Py_NewRef(args[i]));
    return record;
}

static PyMethodDef methods[] = {
    {"record", (PyCFunction)(void (*)(void))native_record, METH_FASTCALL,
     "record(View, *fields): tuple.__new__(View, fields) without the fields tuple."},
    {"configure", native_configure, METH_VARARGS,
     "configure(sids, segments, loops, grammars, functional_ids, types): load the tables."},
    {"read", (PyCFunction)(void (*)(void))native_read, METH_FASTCALL,
     "read(text, delimiters) -> Document | None: the document, or None to decline."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_native",
    "The native reader of clean X12 interchanges (see _native.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
#define NAME(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    NAME(s_interchanges, "interchanges");
    NAME(s_groups, "groups");
    NAME(s_transactions, "transactions");
    NAME(s_root, "root");
    NAME(s_segment_count, "segment_count");
    NAME(s_element, "element");
    NAME(s_component, "component");
    NAME(s_repetition, "repetition");
    NAME(s_segment, "segment");
#undef NAME
    return module;
}
